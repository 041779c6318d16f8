"""What the inbox tests share beyond fixtures: helpers, test doubles and the fixtures' types.

Test modules import the types to annotate the fixtures they take; conftest.py builds the
fixtures from the helpers here.
"""

import base64
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from preview_inbox.store import Capture

# An account SID shaped like Twilio's, used as the Basic auth username as Twilio clients do.
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2


def basic(username: str, password: str) -> dict[str, str]:
    """An Authorization header for HTTP basic auth."""
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}


def stored_capture(seq: int, body: bytes = b"") -> Capture:
    """A webhook capture as the ring keeps it, for tests that fill a ring directly."""
    return Capture(
        seq=seq,
        kind="webhook",
        received=float(seq),
        method="POST",
        path=f"/hooks/{seq}",
        query="",
        headers=(("content-type", "text/plain"),),
        body=body,
        size=len(body),
        client="127.0.0.1",
        response_status=200,
        rule=None,
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until(condition: Callable[[], object], what: str, timeout: float = 15.0) -> None:
    """Poll `condition` until it holds; fail the test naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


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


# The fixtures that hand out functions, as their users call them.
MakeClient = Callable[..., TestClient]
"""make_client(transport=None, **settings): a started TestClient for a new inbox."""
StartServer = Callable[..., LiveServer]
"""live_server(**settings): a new inbox served over real HTTP."""
ReadEvents = Callable[..., list[dict[str, Any]]]
"""read_events(client, **params): the events GET /api/events returns."""
BasicAuth = Callable[[str, str], dict[str, str]]
"""basic_auth(username, password): an Authorization header."""
Poll = Callable[[Callable[[], object], str], None]
"""poll(condition, what): wait until condition() holds, or fail naming what."""
