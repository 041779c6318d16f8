"""The Twilio-shaped SMS endpoint: what a Twilio client sends, and what it gets back."""

import re
from datetime import timedelta
from email.utils import parsedate_to_datetime

import httpx
import pytest
from fastapi.testclient import TestClient

from preview_inbox.twilio import segment_count

from inbox_testing import MakeClient, ReadEvents

ACCOUNT = "AC" + "0123456789abcdef" * 2
MESSAGES = f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"


def send(client: TestClient, auth: dict[str, str], **fields: str) -> httpx.Response:
    """POST a form-encoded send request, as Twilio's helper libraries do."""
    response: httpx.Response = client.post(MESSAGES, data=fields, headers=auth)
    return response


def test_send_answers_201_with_a_message_resource(
    client: TestClient, twilio_auth: dict[str, str]
) -> None:
    response = send(client, twilio_auth, To="+15550100", From="+15550199", Body="Code: 1234")

    assert response.status_code == 201
    message = response.json()
    assert re.fullmatch(r"SM[0-9a-f]{32}", message["sid"])
    assert message["account_sid"] == ACCOUNT
    assert (message["to"], message["from"], message["body"]) == (
        "+15550100",
        "+15550199",
        "Code: 1234",
    )
    assert message["status"] == "queued"
    assert message["direction"] == "outbound-api"
    assert message["api_version"] == "2010-04-01"
    assert (message["num_segments"], message["num_media"]) == ("1", "0")
    assert message["uri"] == f"/2010-04-01/Accounts/{ACCOUNT}/Messages/{message['sid']}.json"
    assert message["subresource_uris"]["media"].endswith(f"/Messages/{message['sid']}/Media.json")
    assert parsedate_to_datetime(message["date_created"]).utcoffset() == timedelta(0)
    assert message["error_code"] is None


def test_sent_message_appears_as_sms(
    client: TestClient, twilio_auth: dict[str, str], read_events: ReadEvents
) -> None:
    sid = send(client, twilio_auth, To="+15550100", From="+15550199", Body="Hi Ada").json()["sid"]

    [event] = read_events(client, kind="sms")
    assert event["sms"]["sid"] == sid
    assert (event["sms"]["to"], event["sms"]["from"], event["sms"]["body"]) == (
        "+15550100",
        "+15550199",
        "Hi Ada",
    )
    assert event["response"]["status"] == 201
    assert read_events(client, kind="webhook") == []


def test_messaging_service_and_media_are_kept(
    client: TestClient, twilio_auth: dict[str, str], read_events: ReadEvents
) -> None:
    service = "MG" + "a" * 32
    response = client.post(
        MESSAGES,
        content=(
            f"To=%2B15550100&MessagingServiceSid={service}"
            "&MediaUrl=https%3A%2F%2Fshop.example%2Fa.png&MediaUrl=https%3A%2F%2Fshop.example%2Fb.png"
        ),
        headers={**twilio_auth, "Content-Type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 201
    assert response.json()["from"] is None
    assert response.json()["num_media"] == "2"
    [event] = read_events(client, kind="sms")
    assert event["sms"]["messaging_service_sid"] == service
    assert event["sms"]["media_urls"] == [
        "https://shop.example/a.png",
        "https://shop.example/b.png",
    ]


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        pytest.param({"From": "+15550199", "Body": "x"}, 21604, id="no-to"),
        pytest.param({"To": "+15550100", "Body": "x"}, 21603, id="no-from"),
        pytest.param({"To": "+15550100", "From": "+15550199"}, 21602, id="no-body"),
        pytest.param({"To": "+1", "From": "+2", "Body": "x" * 1601}, 21617, id="too-long"),
    ],
)
def test_invalid_send_gets_twilios_error(
    client: TestClient,
    twilio_auth: dict[str, str],
    read_events: ReadEvents,
    fields: dict[str, str],
    code: int,
) -> None:
    response = send(client, twilio_auth, **fields)

    assert response.status_code == 400
    error = response.json()
    assert (error["code"], error["status"]) == (code, 400)
    assert error["more_info"].endswith(f"/{code}")
    [event] = read_events(client, kind="sms")
    assert (event["sms"]["status"], event["sms"]["error_code"]) == ("rejected", code)


def test_send_without_credentials_is_refused_but_shown(
    client: TestClient, read_events: ReadEvents
) -> None:
    response = client.post(MESSAGES, data={"To": "+15550100", "From": "+1", "Body": "x"})

    assert response.status_code == 401
    assert response.json()["code"] == 20003
    assert response.headers["www-authenticate"].startswith("Basic")
    [event] = read_events(client, kind="sms")
    assert event["sms"]["error_code"] == 20003


def test_json_body_reads_as_no_parameters_as_at_twilio(
    client: TestClient, twilio_auth: dict[str, str]
) -> None:
    response = client.post(
        MESSAGES, json={"To": "+15550100", "From": "+15550199", "Body": "x"}, headers=twilio_auth
    )

    assert response.status_code == 400
    assert response.json()["code"] == 21604


def test_auth_token_is_not_kept(client: TestClient, twilio_auth: dict[str, str]) -> None:
    send(client, twilio_auth, To="+15550100", From="+15550199", Body="x")

    page = client.get("/api/events").text
    assert ACCOUNT in page
    assert "test-auth-token" not in page


def test_message_can_be_fetched_and_listed(client: TestClient, twilio_auth: dict[str, str]) -> None:
    sid = send(client, twilio_auth, To="+15550100", From="+15550199", Body="x").json()["sid"]
    send(client, twilio_auth, To="+15550100", Body="refused: no sender")

    fetched = client.get(f"/2010-04-01/Accounts/{ACCOUNT}/Messages/{sid}.json", headers=twilio_auth)
    listed = client.get(MESSAGES, headers=twilio_auth)

    assert fetched.status_code == 200
    assert fetched.json()["sid"] == sid
    assert [message["sid"] for message in listed.json()["messages"]] == [sid]


def test_unknown_message_and_resource_are_twilio_404s(
    client: TestClient, twilio_auth: dict[str, str], read_events: ReadEvents
) -> None:
    missing = client.get(
        f"/2010-04-01/Accounts/{ACCOUNT}/Messages/SM{'0' * 32}.json", headers=twilio_auth
    )
    calls = client.post(f"/2010-04-01/Accounts/{ACCOUNT}/Calls.json", headers=twilio_auth)

    assert (missing.status_code, missing.json()["code"]) == (404, 20404)
    assert (calls.status_code, calls.json()["code"]) == (404, 20404)
    assert read_events(client) == []


def test_rule_on_the_twilio_path_simulates_an_outage(
    client: TestClient, twilio_auth: dict[str, str], read_events: ReadEvents
) -> None:
    client.post(
        "/api/responses",
        json={"path": "/2010-04-01/*/Messages.json", "status": 503, "times": 1},
    )

    first = send(client, twilio_auth, To="+15550100", From="+15550199", Body="retry me")
    second = send(client, twilio_auth, To="+15550100", From="+15550199", Body="retry me")

    assert (first.status_code, second.status_code) == (503, 201)
    statuses = [event["sms"]["status"] for event in read_events(client, kind="sms")]
    assert statuses == ["queued", "rejected"]


@pytest.mark.parametrize(
    ("body", "segments"),
    [
        pytest.param("a" * 160, 1, id="gsm-one"),
        pytest.param("a" * 161, 2, id="gsm-two"),
        pytest.param("[" * 80, 1, id="gsm-extended-counts-twice"),
        pytest.param("[" * 81, 2, id="gsm-extended-over"),
        pytest.param("é" * 160, 1, id="gsm-accent"),
        pytest.param("ł" * 70, 1, id="ucs2-one"),
        pytest.param("ł" * 71, 2, id="ucs2-two"),
        pytest.param("😀" * 35, 1, id="ucs2-surrogates"),
        pytest.param("😀" * 36, 2, id="ucs2-surrogates-over"),
    ],
)
def test_segment_count(body: str, segments: int) -> None:
    assert segment_count(body) == segments


def test_sms_form_is_read_whole_whatever_the_webhook_body_limit(
    make_client: MakeClient, twilio_auth: dict[str, str], read_events: ReadEvents
) -> None:
    client = make_client(max_body_bytes=16)
    body = "Your code is 4242. " + "é" * 1_500

    response = send(client, twilio_auth, To="+15550100", From="+15550199", Body=body)

    assert response.status_code == 201
    assert response.json()["body"] == body
    [event] = read_events(client, kind="sms")
    assert event["sms"]["body"] == body
    assert event["truncated"] is False


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        pytest.param({"Body": "x" * 70_000}, 21617, id="body-cut-short-is-still-too-long"),
        pytest.param(
            {"StatusCallback": "https://shop.example/" + "x" * 70_000, "Body": "x"},
            21658,
            id="other-parameter-too-long",
        ),
    ],
)
def test_form_over_its_bound_is_refused_by_what_is_too_long(
    client: TestClient, twilio_auth: dict[str, str], fields: dict[str, str], code: int
) -> None:
    response = send(client, twilio_auth, To="+15550100", From="+15550199", **fields)

    assert response.status_code == 400
    assert response.json()["code"] == code
