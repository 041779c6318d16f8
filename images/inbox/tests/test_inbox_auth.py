"""Basic auth: the page and the API are closed when credentials are set; capture stays open."""

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from preview_inbox.app import create_app
from preview_inbox.settings import Settings

from inbox_testing import BasicAuth, MakeClient

ACCOUNT = "AC" + "0123456789abcdef" * 2
REVIEWER = ("reviewer", "correct horse battery")


@pytest.fixture
def locked(make_client: MakeClient) -> TestClient:
    """An inbox whose page and API take the reviewer's credentials."""
    return make_client(username=REVIEWER[0], password=REVIEWER[1], preview_id="locked")


@pytest.mark.parametrize("path", ["/_inbox/", "/_inbox/app.js", "/api/events", "/api/responses"])
def test_page_and_api_ask_for_credentials(locked: TestClient, path: str) -> None:
    response = locked.get(path)

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith('Basic realm="preview inbox"')


@pytest.mark.parametrize(
    "credentials",
    [
        pytest.param(("reviewer", "wrong"), id="wrong-password"),
        pytest.param(("someone", REVIEWER[1]), id="wrong-user"),
        pytest.param(("reviewer", ""), id="empty-password"),
    ],
)
def test_wrong_credentials_are_refused(
    locked: TestClient, basic_auth: BasicAuth, credentials: tuple[str, str]
) -> None:
    assert locked.get("/api/events", headers=basic_auth(*credentials)).status_code == 401


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("Basic !!!not-base64", id="not-base64"),
        pytest.param("Basic cmV2aWV3ZXI=", id="no-colon"),
        pytest.param("Bearer correct horse battery", id="other-scheme"),
    ],
)
def test_malformed_credentials_are_refused(locked: TestClient, header: str) -> None:
    assert locked.get("/api/events", headers={"Authorization": header}).status_code == 401


def test_right_credentials_open_page_and_api(locked: TestClient, basic_auth: BasicAuth) -> None:
    auth = basic_auth(*REVIEWER)

    assert locked.get("/_inbox/", headers=auth).status_code == 200
    assert locked.get("/api/events", headers=auth).status_code == 200
    assert locked.put("/api/responses", json=[], headers=auth).status_code == 200


def test_capture_twilio_and_health_stay_open(
    locked: TestClient, basic_auth: BasicAuth, twilio_auth: dict[str, str]
) -> None:
    webhook = locked.post("/hooks/paid", content=b"{}")
    sms = locked.post(
        f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json",
        data={"To": "+15550100", "From": "+15550199", "Body": "x"},
        headers=twilio_auth,
    )
    health = locked.get("/healthz")

    assert (webhook.status_code, sms.status_code, health.status_code) == (200, 201, 200)
    listed = locked.get("/api/events", headers=basic_auth(*REVIEWER)).json()
    assert [event["kind"] for event in listed["events"]] == ["sms", "webhook"]


def test_without_credentials_configured_the_api_is_open(client: TestClient) -> None:
    assert client.get("/api/events").status_code == 200


class CountedBody:
    """A request body sent in chunks, counting how many the server asked for."""

    def __init__(self, chunks: int, chunk_bytes: int = 65_536) -> None:
        self.chunks = chunks
        self.chunk = b"[" + b" " * (chunk_bytes - 1)
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.chunks):
            self.pulled += 1
            yield self.chunk


def _send_rules(
    app: FastAPI, method: str, body: CountedBody, headers: dict[str, str] | None = None
) -> httpx.Response:
    """Send a rule list to the API in chunks, through the ASGI interface."""

    async def scenario() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://inbox") as client:
            return await client.request(
                method, "/api/responses", content=body, headers=headers or {}
            )

    return asyncio.run(scenario())


@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_api_refuses_an_anonymous_body_before_reading_it(method: str) -> None:
    app = create_app(Settings(username=REVIEWER[0], password=REVIEWER[1], preview_id="locked"))
    body = CountedBody(chunks=40)

    response = _send_rules(app, method, body)

    assert response.status_code == 401
    assert body.pulled <= 1


def test_api_refuses_a_body_over_its_limit_while_reading_it(basic_auth: BasicAuth) -> None:
    settings = Settings(
        username=REVIEWER[0], password=REVIEWER[1], preview_id="locked", max_api_body_bytes=100_000
    )
    body = CountedBody(chunks=40)

    response = _send_rules(create_app(settings), "PUT", body, basic_auth(*REVIEWER))

    assert response.status_code == 413
    assert "100000 bytes" in response.json()["detail"]
    assert body.pulled <= 3


def test_api_refuses_a_declared_length_over_its_limit(make_client: MakeClient) -> None:
    client = make_client(max_api_body_bytes=1024)

    json_type = {"Content-Type": "application/json"}
    refused = client.put("/api/responses", content=b"[" + b" " * 2000 + b"]", headers=json_type)
    accepted = client.put("/api/responses", content=b"[" + b" " * 900 + b"]", headers=json_type)

    assert refused.status_code == 413
    assert accepted.status_code == 200


MESSAGES = f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"


def test_twilio_reads_need_the_reviewer_when_auth_is_on(
    locked: TestClient, basic_auth: BasicAuth, twilio_auth: dict[str, str]
) -> None:
    sent = locked.post(
        MESSAGES,
        data={"To": "+15550100", "From": "+15550199", "Body": "Code 7731"},
        headers=twilio_auth,
    )
    sid = sent.json()["sid"]
    one = f"/2010-04-01/Accounts/{ACCOUNT}/Messages/{sid}.json"
    reviewer = basic_auth(*REVIEWER)

    refused = [
        locked.get(path, headers=headers)
        for path in (MESSAGES, one)
        for headers in (twilio_auth, basic_auth(ACCOUNT, "anything"), {})
    ]
    listed = locked.get(MESSAGES, headers=reviewer)
    fetched = locked.get(one, headers=reviewer)

    assert sent.status_code == 201
    assert [(r.status_code, r.json()["code"]) for r in refused] == [(401, 20003)] * 6
    assert all("Code 7731" not in r.text for r in refused)
    assert [message["sid"] for message in listed.json()["messages"]] == [sid]
    assert fetched.json()["body"] == "Code 7731"


def test_twilio_reads_take_any_basic_credentials_when_auth_is_off(
    client: TestClient, basic_auth: BasicAuth
) -> None:
    sent = client.post(
        MESSAGES,
        data={"To": "+15550100", "From": "+15550199", "Body": "x"},
        headers=basic_auth(ACCOUNT, "token"),
    )

    listed = client.get(MESSAGES, headers=basic_auth(ACCOUNT, "anything"))
    anonymous = client.get(MESSAGES)

    assert [message["sid"] for message in listed.json()["messages"]] == [sent.json()["sid"]]
    assert anonymous.status_code == 401
