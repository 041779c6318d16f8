"""The door to the reviewer's side: credentials first, then a bounded request body.

`ReviewerGate` wraps the whole application. For the page and the API it checks the reviewer's
basic auth from the request headers alone, and only then reads the body, refusing one over
`INBOX_MAX_API_BODY_BYTES` with 413. A request without credentials is answered before a byte
of its body is read, so the size of what an anonymous client sends costs the inbox nothing.
Captured paths pass through untouched: they read (and bound) their own bodies.
"""

import base64
import binascii
import hmac

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .settings import Settings

# Paths under these prefixes (and the prefixes themselves) belong to the reviewer.
REVIEWER_PREFIXES = ("/_inbox", "/api")
CHALLENGE = {"WWW-Authenticate": 'Basic realm="preview inbox", charset="UTF-8"'}


def is_reviewer(settings: Settings, authorization: str) -> bool:
    """Tell whether an Authorization header carries the reviewer's username and password.

    Always true when no credentials are configured.
    """
    if not settings.auth_enabled:
        return True
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        decoded = base64.b64decode(token.strip(), validate=True)
    except binascii.Error:
        decoded = b""
    username, separator, password = decoded.partition(b":")
    # Both comparisons always run, so the time taken does not tell which one failed.
    same_user = hmac.compare_digest(username, settings.username.encode("utf-8"))
    same_password = hmac.compare_digest(password, settings.password.encode("utf-8"))
    return bool(separator) and same_user & same_password


def is_reviewer_path(path: str) -> bool:
    """Tell whether a path is the page's or the API's rather than one to capture."""
    return any(path == prefix or path.startswith(f"{prefix}/") for prefix in REVIEWER_PREFIXES)


class ReviewerGate:
    """ASGI middleware: reviewer auth, then a body bound, for the page and the API."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer 401 or 413 without calling the application, or call it with the body read."""
        if scope["type"] != "http" or not is_reviewer_path(scope["path"]):
            await self.app(scope, receive, send)
            return

        headers = Headers(scope=scope)
        if not is_reviewer(self.settings, headers.get("authorization", "")):
            refusal = JSONResponse(
                {"detail": "Authentication required"}, status_code=401, headers=CHALLENGE
            )
            await refusal(scope, receive, send)
            return

        limit = self.settings.max_api_body_bytes
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await self._too_large(scope, receive, send)
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > limit:
                await self._too_large(scope, receive, send)
                return
            more = message.get("more_body", False)

        await self.app(scope, _replay(bytes(body), receive), send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.settings.max_api_body_bytes
        refusal = JSONResponse({"detail": f"Request body over {limit} bytes"}, status_code=413)
        await refusal(scope, receive, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive channel that gives the body already read, then whatever the client sends."""
    given = False

    async def replayed() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed
