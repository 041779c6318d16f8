"""Basic auth: the page and the API are closed when credentials are set; capture stays open."""

import pytest

ACCOUNT = "AC" + "0123456789abcdef" * 2
REVIEWER = ("reviewer", "correct horse battery")


@pytest.fixture
def locked(make_client):
    return make_client(username=REVIEWER[0], password=REVIEWER[1], preview_id="locked")


@pytest.mark.parametrize("path", ["/_inbox/", "/_inbox/app.js", "/api/events", "/api/responses"])
def test_page_and_api_ask_for_credentials(locked, path):
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
def test_wrong_credentials_are_refused(locked, basic_auth, credentials):
    assert locked.get("/api/events", headers=basic_auth(*credentials)).status_code == 401


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("Basic !!!not-base64", id="not-base64"),
        pytest.param("Basic cmV2aWV3ZXI=", id="no-colon"),
        pytest.param("Bearer correct horse battery", id="other-scheme"),
    ],
)
def test_malformed_credentials_are_refused(locked, header):
    assert locked.get("/api/events", headers={"Authorization": header}).status_code == 401


def test_right_credentials_open_page_and_api(locked, basic_auth):
    auth = basic_auth(*REVIEWER)

    assert locked.get("/_inbox/", headers=auth).status_code == 200
    assert locked.get("/api/events", headers=auth).status_code == 200
    assert locked.put("/api/responses", json=[], headers=auth).status_code == 200


def test_capture_twilio_and_health_stay_open(locked, basic_auth, twilio_auth):
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


def test_without_credentials_configured_the_api_is_open(client):
    assert client.get("/api/events").status_code == 200
