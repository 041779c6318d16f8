"""Persistence in a real Redis: captures survive a restart, the list keeps to the cap.

Captures are written to Redis in the background, so tests wait for a write to land before
they restart an inbox.
"""

import logging
import socket
import time
from collections.abc import Callable, Iterator

import pytest
import redis

from preview_inbox import store
from preview_inbox.store import Capture, RedisMirror, from_record

from inbox_testing import MakeClient, Poll, ReadEvents

ACCOUNT = "AC" + "0123456789abcdef" * 2
StoredPaths = Callable[[], list[str]]
"""stored_paths(): the paths of the captures in Redis, newest first."""


@pytest.fixture
def stored_paths(redis_url: str, preview_id: str) -> StoredPaths:
    """Call as stored_paths(): the paths of the captures in Redis, newest first."""
    connection = redis.Redis.from_url(redis_url)

    def read() -> list[str]:
        records = connection.lrange(f"preview-inbox:{preview_id}:captures", 0, -1)
        return [from_record(record).path for record in records]

    return read


@pytest.fixture
def silent_redis_url() -> Iterator[str]:
    """A socket on loopback that accepts connections and never answers a byte."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"


def test_captures_survive_a_restart(
    make_client: MakeClient,
    redis_url: str,
    preview_id: str,
    twilio_auth: dict[str, str],
    read_events: ReadEvents,
    poll: Poll,
    stored_paths: StoredPaths,
) -> None:
    first = make_client(redis_url=redis_url, preview_id=preview_id)
    first.post("/hooks/paid?id=7", content=b'{"order": 7}', headers={"X-Kind": "paid"})
    sid = first.post(
        f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json",
        data={"To": "+15550100", "From": "+15550199", "Body": "Shipped"},
        headers=twilio_auth,
    ).json()["sid"]
    before = read_events(first)
    poll(lambda: len(stored_paths()) == 2, "both captures to reach Redis")

    restarted = make_client(redis_url=redis_url, preview_id=preview_id)

    assert read_events(restarted) == before
    assert [event["kind"] for event in before] == ["sms", "webhook"]
    assert before[0]["sms"]["sid"] == sid
    fetched = restarted.get(
        f"/2010-04-01/Accounts/{ACCOUNT}/Messages/{sid}.json", headers=twilio_auth
    )
    assert fetched.json()["body"] == "Shipped"


def test_sequence_continues_after_a_restart(
    make_client: MakeClient,
    redis_url: str,
    preview_id: str,
    read_events: ReadEvents,
    poll: Poll,
    stored_paths: StoredPaths,
) -> None:
    make_client(redis_url=redis_url, preview_id=preview_id).post("/hooks/a")
    poll(lambda: stored_paths() == ["/hooks/a"], "the capture to reach Redis")

    restarted = make_client(redis_url=redis_url, preview_id=preview_id)
    restarted.post("/hooks/b")

    assert [event["seq"] for event in read_events(restarted)] == [2, 1]


def test_redis_list_is_trimmed_to_the_cap(
    make_client: MakeClient, redis_url: str, preview_id: str, poll: Poll, stored_paths: StoredPaths
) -> None:
    client = make_client(redis_url=redis_url, preview_id=preview_id, cap=2)

    for number in range(4):
        client.post(f"/hooks/{number}")

    poll(lambda: stored_paths() == ["/hooks/3", "/hooks/2"], "the list trimmed to the newest two")


def test_clear_empties_redis_too(
    make_client: MakeClient,
    redis_url: str,
    preview_id: str,
    read_events: ReadEvents,
    poll: Poll,
    stored_paths: StoredPaths,
) -> None:
    client = make_client(redis_url=redis_url, preview_id=preview_id)
    client.post("/hooks/a")
    poll(lambda: stored_paths() == ["/hooks/a"], "the capture to reach Redis")

    assert client.delete("/api/events").json() == {"cleared": True, "redis": True}
    assert read_events(make_client(redis_url=redis_url, preview_id=preview_id)) == []


def test_previews_sharing_a_redis_do_not_see_each_other(
    make_client: MakeClient,
    redis_url: str,
    preview_id: str,
    read_events: ReadEvents,
    poll: Poll,
    stored_paths: StoredPaths,
) -> None:
    make_client(redis_url=redis_url, preview_id=preview_id).post("/hooks/mine")
    poll(lambda: stored_paths() == ["/hooks/mine"], "the capture to reach Redis")

    other = make_client(redis_url=redis_url, preview_id=f"{preview_id}-other")

    assert read_events(other) == []


def test_capture_goes_on_when_redis_is_down(
    make_client: MakeClient, read_events: ReadEvents, caplog: pytest.LogCaptureFixture
) -> None:
    # Port 1 on loopback: nothing listens there, so every connection is refused at once.
    with caplog.at_level(logging.INFO, logger="preview_inbox"):
        client = make_client(redis_url="redis://127.0.0.1:1/0", preview_id="no-redis")
        response = client.post("/hooks/a", content=b"kept in memory")

    assert response.status_code == 200
    assert [event["body"] for event in read_events(client)] == ["kept in memory"]
    assert client.get("/healthz").json()["redis"] == "error"
    lines = [record.getMessage() for record in caplog.records]
    assert any("Redis stopped answering" in line for line in lines)
    assert all("no-redis" in line for line in lines)


def test_unreadable_record_is_skipped_and_logged_with_the_preview(
    make_client: MakeClient,
    redis_url: str,
    preview_id: str,
    read_events: ReadEvents,
    caplog: pytest.LogCaptureFixture,
) -> None:
    connection = redis.Redis.from_url(redis_url)
    connection.lpush(f"preview-inbox:{preview_id}:captures", b"not json\n2024 forged line")

    with caplog.at_level(logging.INFO, logger="preview_inbox"):
        client = make_client(redis_url=redis_url, preview_id=preview_id)

    assert read_events(client) == []
    lines = [record.getMessage() for record in caplog.records]
    assert any("Skipping an unreadable capture" in line for line in lines)
    assert all(preview_id in line and "\n" not in line for line in lines)


def test_capture_answers_at_once_when_redis_never_replies(
    make_client: MakeClient, silent_redis_url: str, read_events: ReadEvents
) -> None:
    client = make_client(redis_url=silent_redis_url, preview_id="silent-redis")

    started = time.monotonic()
    answers = [client.post(f"/hooks/{number}", content=b"{}") for number in range(3)]
    elapsed = time.monotonic() - started

    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert elapsed < 0.5
    assert len(read_events(client)) == 3
    assert client.get("/healthz").json()["redis"] == "error"


def test_capture_answers_at_once_while_redis_is_stalled(
    make_client: MakeClient, redis_url: str, preview_id: str, poll: Poll, stored_paths: StoredPaths
) -> None:
    client = make_client(redis_url=redis_url, preview_id=preview_id)
    client.post("/hooks/before")
    poll(lambda: stored_paths() == ["/hooks/before"], "the first capture to reach Redis")
    redis.Redis.from_url(redis_url).execute_command("CLIENT", "PAUSE", "1500", "ALL")

    started = time.monotonic()
    answer = client.post("/hooks/during", content=b"{}")
    elapsed = time.monotonic() - started

    assert answer.status_code == 200
    assert elapsed < 0.5
    poll(lambda: stored_paths()[0] == "/hooks/during", "the capture to reach Redis afterwards")


def test_full_redis_queue_keeps_captures_in_memory_and_warns_once(
    make_client: MakeClient,
    redis_url: str,
    preview_id: str,
    read_events: ReadEvents,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    poll: Poll,
    stored_paths: StoredPaths,
) -> None:
    monkeypatch.setattr(store, "MIRROR_QUEUE_BYTES", 10_000)
    client = make_client(redis_url=redis_url, preview_id=preview_id)
    redis.Redis.from_url(redis_url).execute_command("CLIENT", "PAUSE", "1000", "ALL")

    with caplog.at_level(logging.INFO, logger="preview_inbox"):
        for number in range(10):
            client.post(f"/hooks/{number}", content=b"x" * 3_000)

    lines = [record.getMessage() for record in caplog.records]
    warnings = [
        record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING
    ]
    dropped = [line for line in lines if "not persisted (Redis queue full)" in line]
    assert len(warnings) == 1
    assert "queue is full" in warnings[0]
    assert preview_id in warnings[0]
    assert 1 <= len(dropped) < 10
    assert len(read_events(client)) == 10
    poll(lambda: len(stored_paths()) == 10 - len(dropped), "the queued captures to reach Redis")


def test_sequence_numbers_never_repeat_after_redis_was_unreadable_at_start(
    make_client: MakeClient,
    redis_url: str,
    preview_id: str,
    read_events: ReadEvents,
    monkeypatch: pytest.MonkeyPatch,
    poll: Poll,
    stored_paths: StoredPaths,
) -> None:
    first = make_client(redis_url=redis_url, preview_id=preview_id)
    first.post("/hooks/a")
    first.post("/hooks/b")
    poll(lambda: len(stored_paths()) == 2, "the first two captures to reach Redis")
    _fail_first_load(monkeypatch)

    second = make_client(redis_url=redis_url, preview_id=preview_id)
    second.post("/hooks/while-unread")
    poll(lambda: second.get("/healthz").json()["redis"] == "ok", "Redis to be read at last")
    second.post("/hooks/after-read")
    poll(lambda: stored_paths()[0] == "/hooks/after-read", "the late capture to reach Redis")
    third = make_client(redis_url=redis_url, preview_id=preview_id)

    for inbox in (second, third):
        seqs = [event["seq"] for event in read_events(inbox)]
        assert len(seqs) == len(set(seqs)), seqs
    after_read = read_events(second, path="/hooks/after-read")[0]["seq"]
    assert after_read > 2
    assert third.post("/hooks/next").json()["captured"] > after_read


def test_clear_before_redis_was_read_empties_it_once_read(
    make_client: MakeClient,
    redis_url: str,
    preview_id: str,
    read_events: ReadEvents,
    monkeypatch: pytest.MonkeyPatch,
    poll: Poll,
    stored_paths: StoredPaths,
) -> None:
    make_client(redis_url=redis_url, preview_id=preview_id).post("/hooks/old")
    poll(lambda: stored_paths() == ["/hooks/old"], "the capture to reach Redis")
    _fail_first_load(monkeypatch)

    second = make_client(redis_url=redis_url, preview_id=preview_id)
    cleared = second.delete("/api/events").json()
    poll(lambda: second.get("/healthz").json()["redis"] == "ok", "Redis to be read at last")

    assert cleared == {"cleared": True, "redis": False}
    assert stored_paths() == []


def _fail_first_load(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the next inbox's first read of Redis fail, as when Redis starts after the inbox."""
    original = RedisMirror.load
    failed: list[bool] = []

    async def fail_once(mirror: RedisMirror) -> tuple[list[Capture], int]:
        if not failed:
            failed.append(True)
            raise redis.ConnectionError("Redis is still starting")
        return await original(mirror)

    monkeypatch.setattr(RedisMirror, "load", fail_once)
