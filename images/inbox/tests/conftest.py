"""Fixtures for the inbox tests: app clients, a recorded MailHog, a real Redis, a live server."""

import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from fastapi.testclient import TestClient

from preview_inbox.app import create_app
from preview_inbox.settings import Settings

from inbox_testing import (
    ACCOUNT_SID,
    BasicAuth,
    LiveServer,
    MakeClient,
    Poll,
    ReadEvents,
    RecordedMailHog,
    StartServer,
    basic,
    free_port,
    wait_until,
)

FIXTURES = Path(__file__).parent / "fixtures"
REDIS_SERVER = "/usr/bin/redis-server"


@pytest.fixture
def twilio_auth() -> dict[str, str]:
    """The credentials a Twilio client sends: the account SID and an auth token."""
    return basic(ACCOUNT_SID, "test-auth-token")


@pytest.fixture
def make_client() -> Iterator[MakeClient]:
    """Build an inbox with the given settings and return a started TestClient for it."""
    clients: list[TestClient] = []

    def build(transport: httpx.AsyncBaseTransport | None = None, **settings: Any) -> TestClient:
        app = create_app(Settings(**settings), mail_transport=transport)
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: MakeClient) -> TestClient:
    """An inbox with default settings: no auth, no Redis, no MailHog."""
    return make_client(preview_id="shop-pr-42")


@pytest.fixture
def mailhog_payload() -> bytes:
    """GET /api/v2/messages as answered by a real MailHog holding two messages."""
    return (FIXTURES / "mailhog_v2_messages.json").read_bytes()


@pytest.fixture
def mailhog_transport(mailhog_payload: bytes) -> RecordedMailHog:
    """A stand-in for MailHog's API that answers with the recorded fixture."""
    return RecordedMailHog(mailhog_payload)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real redis-server on a free loopback port, without persistence, stopped by its PID."""
    if not Path(REDIS_SERVER).exists() and shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (CI installs Debian's redis-server)")
    executable = REDIS_SERVER if Path(REDIS_SERVER).exists() else str(shutil.which("redis-server"))
    port = free_port()
    process = subprocess.Popen(
        [
            executable,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"

    def answers() -> bool:
        if process.poll() is not None:
            pytest.fail(f"redis-server exited with {process.returncode}")
        try:
            return bool(redis.Redis.from_url(url, socket_timeout=0.5).ping())
        except redis.RedisError:
            return False

    try:
        wait_until(answers, "redis-server to answer PING")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def preview_id() -> str:
    """A preview ID of its own for each test, so tests sharing one Redis never meet."""
    return f"pr-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def live_server() -> Iterator[StartServer]:
    """Start inboxes with the given settings over real HTTP; all are stopped afterwards."""
    servers: list[LiveServer] = []

    def start(**settings: Any) -> LiveServer:
        server = LiveServer(create_app(Settings(**settings)))
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def _read_events(client: TestClient | httpx.Client, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/api/events", params=params)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = json.loads(response.text)["events"]
    return found


@pytest.fixture
def read_events() -> ReadEvents:
    """Call as read_events(client, **params): the events /api/events returns."""
    return _read_events


@pytest.fixture
def basic_auth() -> BasicAuth:
    """Call as basic_auth(username, password): an Authorization header."""
    return basic


@pytest.fixture
def unused_port() -> int:
    """A loopback TCP port that nothing listened on when the test started."""
    return free_port()


@pytest.fixture
def poll() -> Poll:
    """Call as poll(condition, what): wait until condition() holds, or fail naming what."""
    return wait_until
