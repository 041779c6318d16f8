"""Fixtures for the inbox tests: app clients, a recorded MailHog, a real Redis, a live server."""

import base64
import json
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from preview_inbox.app import create_app
from preview_inbox.settings import Settings

FIXTURES = Path(__file__).parent / "fixtures"
REDIS_SERVER = "/usr/bin/redis-server"
# An account SID shaped like Twilio's, used as the Basic auth username as Twilio clients do.
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2


def basic(username: str, password: str) -> dict[str, str]:
    """An Authorization header for HTTP basic auth."""
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}


@pytest.fixture
def twilio_auth() -> dict[str, str]:
    """The credentials a Twilio client sends: the account SID and an auth token."""
    return basic(ACCOUNT_SID, "test-auth-token")


@pytest.fixture
def make_client() -> Iterator[Callable[..., TestClient]]:
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
def client(make_client: Callable[..., TestClient]) -> TestClient:
    """An inbox with default settings: no auth, no Redis, no MailHog."""
    return make_client(preview_id="shop-pr-42")


@pytest.fixture
def mailhog_payload() -> bytes:
    """GET /api/v2/messages as answered by a real MailHog holding two messages."""
    return (FIXTURES / "mailhog_v2_messages.json").read_bytes()


@pytest.fixture
def mailhog_transport(mailhog_payload: bytes) -> "RecordedMailHog":
    """A stand-in for MailHog's API that answers with the recorded fixture."""
    return RecordedMailHog(mailhog_payload)


class RecordedMailHog(httpx.MockTransport):
    """Serves the recorded message list on /api/v2/messages and counts the calls."""

    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.status = 200
        self.requests: list[httpx.Request] = []
        super().__init__(self._answer)

    def _answer(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path != "/api/v2/messages":
            return httpx.Response(404, text="404 page not found")
        # MailHog labels its JSON as text/json.
        return httpx.Response(
            self.status, content=self.payload, headers={"Content-Type": "text/json"}
        )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    """Poll `condition` until it holds; fail the test naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


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


class LiveServer:
    """An inbox served by uvicorn in a thread, on a loopback port of its own."""

    def __init__(self, app: FastAPI) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self.port: int = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_config=None, access_log=False, timeout_graceful_shutdown=2)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def start(self) -> None:
        self._thread.start()
        wait_until(lambda: self._server.started, "the inbox to start")

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)
        self._socket.close()


@pytest.fixture
def live_server() -> Iterator[Callable[..., LiveServer]]:
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
def read_events() -> Callable[..., list[dict[str, Any]]]:
    """Call as read_events(client, **params): the events /api/events returns."""
    return _read_events


@pytest.fixture
def basic_auth() -> Callable[[str, str], dict[str, str]]:
    """Call as basic_auth(username, password): an Authorization header."""
    return basic


@pytest.fixture
def unused_port() -> int:
    """A loopback TCP port that nothing listened on when the test started."""
    return free_port()


@pytest.fixture
def poll() -> Callable[..., None]:
    """Call as poll(condition, what): wait until condition() holds, or fail naming what."""
    return wait_until
