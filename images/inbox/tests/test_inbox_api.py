"""The JSON API CI uses: filters, the cap, clearing, conditional reads and waiting for events."""

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from preview_inbox.app import create_app
from preview_inbox.settings import Settings


def test_cap_keeps_only_the_newest_captures(make_client, read_events):
    client = make_client(cap=3)

    for number in range(1, 6):
        client.post(f"/hooks/{number}")

    answer = client.get("/api/events").json()
    assert [event["path"] for event in answer["events"]] == ["/hooks/5", "/hooks/4", "/hooks/3"]
    assert (answer["captures"]["stored"], answer["captures"]["cap"]) == (3, 3)
    assert client.get("/healthz").json()["captures"] == 3


def test_byte_bound_drops_the_oldest_captures_first(make_client):
    client = make_client(max_body_bytes=30_000, max_total_bytes=65_536)

    for number in range(1, 6):
        client.post(f"/hooks/{number}", content=b"x" * 30_000)

    answer = client.get("/api/events").json()
    assert [event["path"] for event in answer["events"]] == ["/hooks/5", "/hooks/4"]
    assert 60_000 < answer["captures"]["bytes"] <= answer["captures"]["max_bytes"] == 65_536
    assert client.get("/healthz").json()["bytes"] == answer["captures"]["bytes"]


def test_sequence_numbers_keep_counting_after_the_cap_and_a_clear(make_client, read_events):
    client = make_client(cap=2)
    for _ in range(3):
        client.post("/hooks/x")

    client.delete("/api/events")
    client.post("/hooks/after-clear")

    [event] = read_events(client)
    assert event["seq"] == 4


def test_clear_forgets_captures(client, read_events):
    client.post("/hooks/x")

    response = client.delete("/api/events")

    assert response.json() == {"cleared": True, "redis": None}
    assert read_events(client) == []


@pytest.mark.parametrize(
    ("params", "expected_paths"),
    [
        pytest.param({"kind": "webhook"}, ["/hooks/b", "/hooks/a"], id="kind"),
        pytest.param({"kind": "webhook,sms"}, ["/hooks/b", "/hooks/a"], id="kind-list"),
        pytest.param({"path": "/hooks/a"}, ["/hooks/a"], id="path"),
        pytest.param({"method": "put"}, ["/hooks/b"], id="method"),
        pytest.param({"q": "SHIPPED"}, ["/hooks/a"], id="text-any-case"),
        pytest.param({"q": "x-trace"}, ["/hooks/b"], id="text-in-headers"),
        pytest.param({"limit": 1}, ["/hooks/b"], id="limit"),
    ],
)
def test_filters(client, read_events, params, expected_paths):
    client.post("/hooks/a", content=b'{"status": "shipped"}')
    client.put("/hooks/b", content=b"{}", headers={"X-Trace": "1"})

    assert [event["path"] for event in read_events(client, **params)] == expected_paths


def test_since_filters_out_older_events(client, read_events):
    client.post("/hooks/old")
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()

    assert read_events(client, since=future) == []
    assert [event["path"] for event in read_events(client, since=past)] == ["/hooks/old"]


def test_unknown_kind_is_refused(client):
    response = client.get("/api/events", params={"kind": "fax"})

    assert response.status_code == 422
    assert "fax" in response.json()["detail"]


def test_unchanged_timeline_answers_304_to_its_etag(client):
    client.post("/hooks/x")
    first = client.get("/api/events")

    again = client.get("/api/events", headers={"If-None-Match": first.headers["etag"]})
    client.post("/hooks/y")
    changed = client.get("/api/events", headers={"If-None-Match": first.headers["etag"]})

    assert again.status_code == 304
    assert changed.status_code == 200
    assert changed.json()["count"] == 2


def test_wait_returns_nothing_when_nothing_arrives(client):
    answer = client.get("/api/events", params={"wait": 0.2}).json()

    assert answer["count"] == 0


def test_wait_holds_the_answer_until_a_capture_arrives():
    inbox_app = create_app(Settings(preview_id="wait-test"))
    inbox = inbox_app.state.inbox

    async def scenario():
        transport = httpx.ASGITransport(app=inbox_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://inbox") as client:
            waiting = asyncio.create_task(
                client.get("/api/events", params={"wait": 30, "path": "/hooks/late"})
            )
            for _ in range(3000):
                if inbox.waiting or waiting.done():
                    break
                await asyncio.sleep(0.01)
            assert inbox.waiting == 1, "the API call never started waiting"
            await client.post("/hooks/early")
            assert not waiting.done()
            await client.post("/hooks/late")
            return await asyncio.wait_for(waiting, 30)

    answer = asyncio.run(scenario()).json()

    assert [event["path"] for event in answer["events"]] == ["/hooks/late"]


def test_openapi_description_lists_the_api(client):
    paths = client.get("/api/openapi.json").json()["paths"]

    assert {"/api/events", "/api/responses"} <= set(paths)
    assert not any(path.startswith("/{") for path in paths)
