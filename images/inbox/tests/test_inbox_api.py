"""The JSON API CI uses: filters, the cap, clearing, conditional reads and waiting for events."""

import asyncio
import json
import logging
import tracemalloc
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.types import Message

from preview_inbox import events
from preview_inbox.app import MAX_LIMIT, Inbox, create_app
from preview_inbox.settings import Settings
from preview_inbox.store import Capture

from inbox_testing import MakeClient, ReadEvents, stored_capture


def test_cap_keeps_only_the_newest_captures(
    make_client: MakeClient, read_events: ReadEvents
) -> None:
    client = make_client(cap=3)

    for number in range(1, 6):
        client.post(f"/hooks/{number}")

    answer = client.get("/api/events").json()
    assert [event["path"] for event in answer["events"]] == ["/hooks/5", "/hooks/4", "/hooks/3"]
    assert (answer["captures"]["stored"], answer["captures"]["cap"]) == (3, 3)
    assert client.get("/healthz").json()["captures"] == 3


def test_byte_bound_drops_the_oldest_captures_first(make_client: MakeClient) -> None:
    client = make_client(max_body_bytes=30_000, max_total_bytes=65_536)

    for number in range(1, 6):
        client.post(f"/hooks/{number}", content=b"x" * 30_000)

    answer = client.get("/api/events").json()
    assert [event["path"] for event in answer["events"]] == ["/hooks/5", "/hooks/4"]
    assert 60_000 < answer["captures"]["bytes"] <= answer["captures"]["max_bytes"] == 65_536
    assert client.get("/healthz").json()["bytes"] == answer["captures"]["bytes"]


def test_sequence_numbers_keep_counting_after_the_cap_and_a_clear(
    make_client: MakeClient, read_events: ReadEvents
) -> None:
    client = make_client(cap=2)
    for _ in range(3):
        client.post("/hooks/x")

    client.delete("/api/events")
    client.post("/hooks/after-clear")

    [event] = read_events(client)
    assert event["seq"] == 4


def test_clear_forgets_captures_and_says_so_in_the_log(
    client: TestClient, read_events: ReadEvents, caplog: pytest.LogCaptureFixture
) -> None:
    client.post("/hooks/x")

    with caplog.at_level(logging.INFO, logger="preview_inbox"):
        response = client.delete("/api/events")

    assert response.json() == {"cleared": True, "redis": None}
    assert read_events(client) == []
    assert [record.getMessage() for record in caplog.records] == [
        "Cleared 1 captures for preview shop-pr-42"
    ]


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
def test_filters(
    client: TestClient, read_events: ReadEvents, params: dict[str, Any], expected_paths: list[str]
) -> None:
    client.post("/hooks/a", content=b'{"status": "shipped"}')
    client.put("/hooks/b", content=b"{}", headers={"X-Trace": "1"})

    assert [event["path"] for event in read_events(client, **params)] == expected_paths


def test_since_filters_out_older_events(client: TestClient, read_events: ReadEvents) -> None:
    client.post("/hooks/old")
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()

    assert read_events(client, since=future) == []
    assert [event["path"] for event in read_events(client, since=past)] == ["/hooks/old"]


def test_unknown_kind_is_refused(client: TestClient) -> None:
    response = client.get("/api/events", params={"kind": "fax"})

    assert response.status_code == 422
    assert "fax" in response.json()["detail"]


def test_unchanged_timeline_answers_304_to_its_etag(client: TestClient) -> None:
    client.post("/hooks/x")
    first = client.get("/api/events")

    again = client.get("/api/events", headers={"If-None-Match": first.headers["etag"]})
    client.post("/hooks/y")
    changed = client.get("/api/events", headers={"If-None-Match": first.headers["etag"]})

    assert again.status_code == 304
    assert changed.status_code == 200
    assert changed.json()["count"] == 2


def test_wait_returns_nothing_when_nothing_arrives(client: TestClient) -> None:
    answer = client.get("/api/events", params={"wait": 0.2}).json()

    assert answer["count"] == 0


def test_wait_holds_the_answer_until_a_capture_arrives() -> None:
    inbox_app = create_app(Settings(preview_id="wait-test"))
    inbox = inbox_app.state.inbox

    async def scenario() -> httpx.Response:
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


def test_openapi_description_lists_the_api(client: TestClient) -> None:
    paths = client.get("/api/openapi.json").json()["paths"]

    assert {"/api/events", "/api/responses"} <= set(paths)
    assert not any(path.startswith("/{") for path in paths)


def test_unchanged_poll_is_answered_before_any_event_is_built(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.post("/hooks/x", content=b"{}")
    first = client.get("/api/events")
    built: list[Capture] = []
    original = events.capture_event

    def counted(capture: Capture) -> dict[str, Any]:
        built.append(capture)
        return original(capture)

    monkeypatch.setattr(events, "capture_event", counted)

    again = client.get("/api/events", headers={"If-None-Match": first.headers["etag"]})

    assert again.status_code == 304
    assert again.headers["etag"] == first.headers["etag"]
    assert built == []


def test_etag_follows_the_query_and_the_ring(client: TestClient) -> None:
    client.post("/hooks/x", content=b"{}")

    everything = client.get("/api/events").headers["etag"]
    same = client.get("/api/events").headers["etag"]
    webhooks = client.get("/api/events", params={"kind": "webhook"}).headers["etag"]
    limited = client.get("/api/events", params={"limit": 5}).headers["etag"]
    client.post("/hooks/y", content=b"{}")
    later = client.get("/api/events").headers["etag"]

    assert everything == same
    assert len({everything, webhooks, limited, later}) == 4


@pytest.mark.parametrize(("limit", "status"), [(MAX_LIMIT, 200), (MAX_LIMIT + 1, 422)])
def test_limit_is_bounded(client: TestClient, limit: int, status: int) -> None:
    assert client.get("/api/events", params={"limit": limit}).status_code == status


def test_encoded_answer_is_the_head_with_every_event(
    client: TestClient, read_events: ReadEvents
) -> None:
    client.post("/hooks/a", content="é".encode())
    client.post("/hooks/b", content=bytes([0xFF]))
    inbox: Inbox = client.app.state.inbox  # type: ignore[attr-defined]  # typed as any ASGI app
    items = list(inbox.captures.newest_first())

    encoded = b"".join(events.encode_answer({"count": 2}, items, chunk_bytes=8))

    assert json.loads(encoded) == {"count": 2, "events": read_events(client)}


def test_serving_a_full_ring_holds_one_event_at_a_time_not_the_whole_answer() -> None:
    app = create_app(Settings(preview_id="memory", cap=200, max_total_bytes=64 * 1024 * 1024))
    ring = app.state.inbox.captures
    for seq in range(1, 101):
        ring.add(stored_capture(seq, bytes([0x61 + seq % 26]) * 65_536))

    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        status, sent = asyncio.run(_get_discarding_body(app, "/api/events", b"limit=1000"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert status == 200
    assert sent > 100 * 65_536
    # The ring holds 6.4 MiB of bodies; an answer built whole would need several copies of it.
    assert peak - before < 2 * 1024 * 1024


async def _get_discarding_body(app: FastAPI, path: str, query_string: bytes) -> tuple[int, int]:
    """GET through the ASGI interface, counting the answer's bytes without keeping them."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query_string,
        "headers": [(b"host", b"inbox")],
        "client": ("127.0.0.1", 50000),
        "server": ("inbox", 80),
    }
    status = 0
    sent = 0
    requested = False
    never = asyncio.Event()

    async def receive() -> Message:
        nonlocal requested
        if requested:
            # The client stays connected until the answer is complete.
            await never.wait()
        requested = True
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        nonlocal status, sent
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            sent += len(message.get("body", b""))

    await app(scope, receive, send)
    return status, sent
