"""Per-path response rules: matching, counted answers, configuration at start and at runtime."""

import json
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from preview_inbox.rules import MAX_RULES, ResponseRule, RuleSet
from preview_inbox.settings import Settings, SettingsError

from inbox_testing import MakeClient, ReadEvents


@pytest.mark.parametrize(
    ("rule", "method", "path", "expected"),
    [
        pytest.param({"path": "/hooks/paid"}, "POST", "/hooks/paid", True, id="exact"),
        pytest.param({"path": "/hooks/paid"}, "POST", "/hooks/paid/2", False, id="exact-only"),
        pytest.param({"path": "/hooks/*"}, "POST", "/hooks/a/b", True, id="star-crosses-slash"),
        pytest.param({"path": "/hooks/?"}, "POST", "/hooks/ab", False, id="question-one-char"),
        pytest.param({"path": "*"}, "GET", "/anything", True, id="catch-all"),
        pytest.param({"path": "/h", "method": "post"}, "POST", "/h", True, id="method-any-case"),
        pytest.param({"path": "/h", "method": "PUT"}, "POST", "/h", False, id="other-method"),
    ],
)
def test_rule_matching(rule: dict[str, Any], method: str, path: str, expected: bool) -> None:
    assert ResponseRule(**rule).matches(method, path) is expected


def test_first_matching_rule_answers_and_counted_rules_step_aside() -> None:
    rules = RuleSet(
        [
            ResponseRule(path="/hooks/*", status=503, times=2),
            ResponseRule(path="/hooks/*", status=202),
        ]
    )

    answers = [rules.answer("POST", "/hooks/x") for _ in range(4)]

    assert [answer.status if answer else None for answer in answers] == [503, 503, 202, 202]
    assert [(item["answered"], item["exhausted"]) for item in rules.describe()] == [
        (2, True),
        (2, False),
    ]


def test_added_rule_goes_first_and_replaces_its_twin() -> None:
    rules = RuleSet([ResponseRule(path="/a", status=500), ResponseRule(path="/b", status=500)])

    rules.add(ResponseRule(path="/b", status=201))

    assert [(rule.path, rule.status) for rule in rules.rules] == [("/b", 201), ("/a", 500)]


def test_no_rule_means_no_answer() -> None:
    assert RuleSet().answer("POST", "/hooks") is None


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        pytest.param({"path": "hooks"}, "must start with", id="relative-path"),
        pytest.param({"path": "/h", "status": 99}, "greater than or equal to 200", id="status-low"),
        pytest.param({"path": "/h", "status": 600}, "less than or equal to 599", id="status-high"),
        pytest.param({"path": "/h", "status": 204, "body": "x"}, "cannot carry a body", id="204"),
        pytest.param({"path": "/h", "delay_ms": 600_000}, "less than or equal to", id="delay"),
        pytest.param({"path": "/h", "times": 0}, "greater than or equal to 1", id="times"),
        pytest.param({"path": "/h", "headers": {"Content-Length": "1"}}, "set by", id="framing"),
        pytest.param(
            {"path": "/h", "headers": {"content-security-policy": "default-src *"}},
            "set by the inbox",
            id="policy",
        ),
        pytest.param({"path": "/h", "headers": {"X-A": "1\r\nX-B: 2"}}, "line break", id="crlf"),
        pytest.param({"path": "/h", "stauts": 500}, "Extra inputs", id="typo"),
        pytest.param({"path": "/h\nX"}, "control characters", id="line-break-in-path"),
        pytest.param({"path": "/h\u202e"}, "control characters", id="bidi-in-path"),
    ],
)
def test_invalid_rules_are_refused(rule: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        ResponseRule(**rule)


def test_rule_sets_status_body_type_and_headers(client: TestClient) -> None:
    client.post(
        "/api/responses",
        json={
            "path": "/hooks/paid",
            "status": 409,
            "body": '{"error": "duplicate"}',
            "content_type": "application/json",
            "headers": {"Retry-After": "30"},
        },
    )

    response = client.post("/hooks/paid", content=b"{}")

    assert response.status_code == 409
    assert response.json() == {"error": "duplicate"}
    assert response.headers["content-type"] == "application/json"
    assert response.headers["retry-after"] == "30"


def test_capture_records_the_answer_given(client: TestClient, read_events: ReadEvents) -> None:
    client.put("/api/responses", json=[{"path": "/hooks/*", "status": 500, "times": 1}])

    client.post("/hooks/retry", content=b"1")
    client.post("/hooks/retry", content=b"1")

    answers = [event["response"] for event in read_events(client)]
    assert answers == [{"status": 200, "rule": None}, {"status": 500, "rule": "/hooks/*"}]


def test_delay_is_applied_before_answering(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    delays: list[float] = []

    async def record_sleep(seconds: float) -> None:
        delays.append(seconds)

    monkeypatch.setattr("preview_inbox.app.asyncio.sleep", record_sleep)
    client.post("/api/responses", json={"path": "/slow", "status": 504, "delay_ms": 1500})

    response = client.post("/slow")

    assert response.status_code == 504
    assert delays == [1.5]


def test_rules_from_settings_are_in_force_at_start(make_client: MakeClient) -> None:
    client = make_client(responses=(ResponseRule(path="/hooks/*", status=503),))

    assert client.post("/hooks/x").status_code == 503
    assert client.get("/api/responses").json()["rules"][0]["path"] == "/hooks/*"


def test_runtime_rules_can_be_listed_replaced_and_removed(client: TestClient) -> None:
    client.put(
        "/api/responses",
        json=[{"path": "/a", "status": 500}, {"path": "/b", "method": "POST", "status": 502}],
    )
    removed = client.delete("/api/responses", params={"path": "/b", "method": "post"}).json()

    assert removed["removed"] == 1
    assert [rule["path"] for rule in client.get("/api/responses").json()["rules"]] == ["/a"]
    assert client.delete("/api/responses").json()["removed"] == 1
    assert client.get("/api/responses").json()["rules"] == []
    assert client.post("/a").status_code == 200


def test_invalid_runtime_rule_is_refused_and_changes_nothing(client: TestClient) -> None:
    client.put("/api/responses", json=[{"path": "/a", "status": 500}])

    response = client.put("/api/responses", json=[{"path": "/b", "status": 700}])

    assert response.status_code == 422
    assert json.dumps(response.json()).count("599") >= 1
    assert [rule["path"] for rule in client.get("/api/responses").json()["rules"]] == ["/a"]


ACCOUNT = "AC" + "0123456789abcdef" * 2


Answer = Callable[[TestClient, dict[str, str]], httpx.Response]


def _sms(client: TestClient, twilio_auth: dict[str, str], **fields: str) -> httpx.Response:
    messages = f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    response: httpx.Response = client.post(messages, data=fields, headers=twilio_auth)
    return response


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(lambda client, auth: client.post("/x", content=b"{}"), id="default"),
        pytest.param(lambda client, auth: client.get("/page.html"), id="html-rule"),
        pytest.param(
            lambda client, auth: _sms(client, auth, To="+15550100", From="+1", Body="x"),
            id="sms-sent",
        ),
        pytest.param(lambda client, auth: _sms(client, auth, To="+15550100"), id="sms-refused"),
    ],
)
def test_every_answer_to_a_capture_is_sandboxed(
    client: TestClient, twilio_auth: dict[str, str], answer: Answer
) -> None:
    client.post(
        "/api/responses",
        json={
            "path": "/page.html",
            "body": "<script>fetch('/api/events')</script>",
            "content_type": "text/html",
        },
    )

    response = answer(client, twilio_auth)

    assert response.headers["content-security-policy"] == "sandbox"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_rule_changes_are_logged_with_the_preview_and_escaped(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="preview_inbox"):
        client.post("/api/responses", json={"path": "/hooks/*", "status": 503})
        client.put("/api/responses", json=[{"path": "/a"}])
        client.delete("/api/responses", params={"path": "/a\nForged line", "method": "post"})
        refused = client.post("/api/responses", json={"path": "/x\nForged line"})

    lines = [record.getMessage() for record in caplog.records]
    assert refused.status_code == 422
    assert len(lines) == 3
    assert all("shop-pr-42" in line and "\n" not in line for line in lines)
    assert "/hooks/* answers 503" in lines[0]
    assert "POST /a\\nForged line" in lines[2]


def test_rules_in_force_are_bounded_in_number_and_size(client: TestClient) -> None:
    many = [{"path": f"/hooks/{number}"} for number in range(MAX_RULES)]
    client.put("/api/responses", json=many)

    one_more = client.post("/api/responses", json={"path": "/hooks/extra"})
    twin = client.post("/api/responses", json={"path": "/hooks/0", "status": 500})
    too_many = client.put("/api/responses", json=[*many, {"path": "/hooks/extra"}])
    too_long = client.post("/api/responses", json={"path": "/big", "body": "x" * 65_537})

    assert one_more.status_code == 422
    assert f"{MAX_RULES} rules are in force" in one_more.json()["detail"]
    assert twin.status_code == 201
    assert (too_many.status_code, too_long.status_code) == (422, 422)
    rules = client.get("/api/responses").json()["rules"]
    assert len(rules) == MAX_RULES
    assert (rules[0]["path"], rules[0]["status"]) == ("/hooks/0", 500)


def test_rules_from_settings_are_bounded_in_number() -> None:
    rules = json.dumps([{"path": f"/hooks/{number}"} for number in range(MAX_RULES + 1)])

    with pytest.raises(SettingsError, match="at most 100"):
        Settings.load({"INBOX_RESPONSES": rules})
