"""The inbox's HTTP application: capture routes, the Twilio-shaped SMS API, the page and the API.

Routes, in the order they are matched:

- `GET /healthz`: open, for Nomad's check.
- `/_inbox/...`: the reviewer page and its assets (basic auth when configured).
- `/api/...`: the JSON API (basic auth when configured).
- `/2010-04-01/...`: the Twilio Messages API; reading messages back takes the reviewer's
  credentials when configured; anything else under this prefix is a Twilio 404.
- everything else: captured as a webhook and answered by the first matching response rule,
  or with 200 and the capture's ID. A browser's `GET /` is sent to the page instead.

The page's and the API's credentials are checked by `gate.ReviewerGate` in front of the
routes, before any request body is read.
"""

import asyncio
import hashlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Body, FastAPI, HTTPException, Query, Request
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.convertors import Convertor, register_url_convertor

from . import twilio
from .events import EVENT_KINDS, EventKind, EventQuery, encode_answer, select
from .gate import ReviewerGate, is_reviewer
from .logtext import printable
from .mailhog import MailHogReader, MailSnapshot
from .page import CONTENT_SECURITY_POLICY, asset, render_page
from .rules import CAPTURE_ANSWER_HEADERS, MAX_RULES, ResponseRule, RuleSet, TooManyRules
from .settings import Settings
from .store import Capture, CaptureLog, Kind, RedisMirror, basic_username
from .store import redact_headers as redact

logger = logging.getLogger(__name__)

PAGE_PREFIX = "/_inbox"
API_PREFIX = "/api"
TWILIO_PREFIX = f"/{twilio.API_VERSION}"
CAPTURED_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
MAX_WAIT_SECONDS = 60.0
# The most events one answer may list: the whole ring at the default cap. Answers are streamed
# an event at a time, so a long list costs time rather than memory.
MAX_LIMIT = 1000
# How often a waiting API call looks at MailHog again; captures wake it at once.
MAIL_RECHECK_SECONDS = 1.0


class _AnyPath(Convertor[str]):
    """Like Starlette's `path`, but also across line breaks a client sent percent-encoded."""

    regex = "(?s:.*)"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("anypath", _AnyPath())


class Inbox:
    """Everything the routes share: settings, the capture ring, rules, Redis and MailHog."""

    def __init__(
        self, settings: Settings, *, mail_transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.settings = settings
        self.captures = CaptureLog(settings.cap, settings.max_total_bytes)
        self.rules = RuleSet(settings.responses)
        self.mirror = (
            RedisMirror(
                settings.redis_url,
                settings.preview_id,
                self.captures,
                on_restore=self._wake_waiters,
            )
            if settings.redis_url
            else None
        )
        self.mail = (
            MailHogReader(
                settings.mailhog_url,
                settings.mailhog_limit,
                preview_id=settings.preview_id,
                max_bytes=settings.mailhog_max_bytes,
                max_text_bytes=settings.mailhog_max_text_bytes,
                transport=mail_transport,
            )
            if settings.mailhog_url
            else None
        )
        self._changed = asyncio.Event()
        self.waiting = 0
        # Part of every ETag, so a restarted inbox never matches a tag handed out before.
        self._instance = secrets.token_hex(8)

    async def start(self) -> None:
        """Reload persisted captures, if Redis is configured and answers, and start writing."""
        if self.mirror is not None:
            await self.mirror.start()

    async def stop(self) -> None:
        """Close the connections to Redis and MailHog."""
        if self.mirror is not None:
            await self.mirror.close()
        if self.mail is not None:
            await self.mail.aclose()

    def keep(self, capture: Capture) -> None:
        """Add a capture to the ring, queue it for Redis, wake waiting API calls, log one line."""
        self.captures.add(capture)
        unsaved = self.mirror.submit(capture) if self.mirror is not None else ""
        self._wake_waiters()

        note = f", not persisted ({unsaved})" if unsaved else ""
        sms = f", sms {capture.sms.sid} {capture.sms.status}" if capture.sms else ""
        logger.info(
            "Captured %s #%d for preview %s: %s %s answered %d, %d bytes%s%s",
            capture.kind,
            capture.seq,
            self.settings.preview_id,
            printable(capture.method),
            printable(capture.path),
            capture.response_status,
            capture.size,
            sms,
            note,
        )

    async def clear(self) -> bool | None:
        """Forget every capture; return whether Redis was cleared too (None without Redis)."""
        forgotten = self.captures.clear()
        cleared = await self.mirror.clear() if self.mirror is not None else None
        self._wake_waiters()

        redis = {None: "", True: ", Redis too", False: ", not yet in Redis"}[cleared]
        logger.info(
            "Cleared %d captures for preview %s%s", forgotten, self.settings.preview_id, redis
        )
        return cleared

    def _wake_waiters(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def changed(self, timeout: float) -> None:
        """Return when a capture arrives or after `timeout` seconds, whichever is first.

        `waiting` counts the calls inside this method, so tests can see a caller is parked.
        """
        event = self._changed
        self.waiting += 1
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            return
        finally:
            self.waiting -= 1

    async def mail_snapshot(self, wanted: bool) -> MailSnapshot:
        """The recent email, or an "off" snapshot when MailHog is not configured or not wanted."""
        if self.mail is None or not wanted:
            return MailSnapshot(status="off")
        return await self.mail.recent()

    def etag(self, query: EventQuery, mail: MailSnapshot) -> str:
        """The ETag of the answer to `query`, from what the answer depends on, not from its body.

        The ring's generation changes with every capture, eviction and clear; the mail part
        changes when MailHog's list does; the query decides what is picked from both.
        """
        state = (
            self._instance,
            self.captures.generation,
            sorted(query.kinds),
            query.text,
            query.path,
            query.method,
            query.since,
            query.limit,
            mail.status,
            mail.error,
            mail.total,
            [message.id for message in mail.emails],
        )
        digest = hashlib.blake2b(repr(state).encode("utf-8"), digest_size=16).hexdigest()
        return f'"{digest}"'

    def redis_status(self) -> str:
        """Return "off" without Redis, else "ok" or "error" as its last exchange went."""
        if self.mirror is None:
            return "off"
        return "ok" if self.mirror.healthy else "error"


def create_app(
    settings: Settings, *, mail_transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    """Build the inbox application. `mail_transport` lets tests stand in for MailHog."""
    inbox = Inbox(settings, mail_transport=mail_transport)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await inbox.start()
        try:
            yield
        finally:
            await inbox.stop()

    app = FastAPI(
        title="Preview inbox",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.inbox = inbox
    app.add_middleware(ReviewerGate, settings=settings)

    @app.get("/healthz", include_in_schema=False)
    async def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "preview_id": settings.preview_id,
            "captures": len(inbox.captures),
            "cap": inbox.captures.cap,
            "bytes": inbox.captures.bytes,
            "max_bytes": inbox.captures.max_bytes,
            "redis": inbox.redis_status(),
        }

    app.include_router(_page_router(inbox))
    app.include_router(_api_router(inbox))
    app.include_router(_twilio_router(inbox))
    app.include_router(_capture_router(inbox))
    return app


def _page_router(inbox: Inbox) -> APIRouter:
    router = APIRouter(prefix=PAGE_PREFIX, include_in_schema=False)
    page_headers = {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }
    page = render_page(inbox.settings)
    script = asset("app.js")
    stylesheet = asset("style.css")
    icon = asset("favicon.svg")

    @router.api_route("", methods=CAPTURED_METHODS)
    async def page_without_slash(request: Request) -> Response:
        if request.method != "GET":
            return JSONResponse({"detail": f"No page {PAGE_PREFIX}"}, status_code=404)
        return RedirectResponse(f"{PAGE_PREFIX}/", status_code=307)

    @router.get("/")
    async def show_page() -> HTMLResponse:
        return HTMLResponse(page, headers=page_headers)

    @router.get("/app.js")
    async def show_script() -> Response:
        return Response(script, media_type="text/javascript; charset=utf-8", headers=page_headers)

    @router.get("/style.css")
    async def show_stylesheet() -> Response:
        return Response(stylesheet, media_type="text/css; charset=utf-8", headers=page_headers)

    @router.get("/favicon.svg")
    async def show_icon() -> Response:
        # Linked from the page so browsers do not ask for /favicon.ico, which would be captured.
        return Response(icon, media_type="image/svg+xml", headers=page_headers)

    @router.api_route("/{rest:anypath}", methods=CAPTURED_METHODS)
    async def page_not_found(rest: str) -> Response:
        return JSONResponse({"detail": f"No page {PAGE_PREFIX}/{rest}"}, status_code=404)

    return router


def _api_router(inbox: Inbox) -> APIRouter:
    router = APIRouter(prefix=API_PREFIX)

    @router.get("/events")
    async def list_events(
        request: Request,
        *,
        kind: Annotated[list[str] | None, Query(description="webhook, sms, email")] = None,
        q: Annotated[str, Query(max_length=500)] = "",
        path: Annotated[str, Query(max_length=2048)] = "",
        method: Annotated[str, Query(max_length=20)] = "",
        since: Annotated[datetime | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
        wait: Annotated[float, Query(ge=0, le=MAX_WAIT_SECONDS)] = 0,
        at_least: Annotated[int, Query(alias="min", ge=1)] = 1,
    ) -> Response:
        """The timeline, newest first. With `wait`, hold the answer until `min` events match."""
        query = EventQuery(
            kinds=_kinds(kind),
            text=q,
            path=path,
            method=method,
            since=since.timestamp() if since is not None else None,
            limit=limit,
        )
        known = request.headers.get("if-none-match")
        deadline = time.monotonic() + wait
        while True:
            mail = await inbox.mail_snapshot("email" in query.kinds)
            etag = inbox.etag(query, mail)
            remaining = deadline - time.monotonic()
            if remaining <= 0 and known == etag:
                return Response(status_code=304, headers=_etag_headers(etag))
            items = select(inbox.captures.newest_first(), mail.emails, query)
            if len(items) >= at_least or remaining <= 0:
                break
            recheck = MAIL_RECHECK_SECONDS if inbox.mail is not None else remaining
            await inbox.changed(min(remaining, recheck))

        if known == etag:
            return Response(status_code=304, headers=_etag_headers(etag))
        head = {
            "preview_id": inbox.settings.preview_id,
            "count": len(items),
            "captures": {
                "stored": len(inbox.captures),
                "cap": inbox.captures.cap,
                "bytes": inbox.captures.bytes,
                "max_bytes": inbox.captures.max_bytes,
            },
            "mail": {"status": mail.status, "error": mail.error, "total": mail.total},
        }
        return StreamingResponse(
            _yielding(encode_answer(head, items)),
            media_type="application/json",
            headers=_etag_headers(etag),
        )

    @router.delete("/events")
    async def clear_events() -> dict[str, Any]:
        """Forget every captured webhook and SMS (email stays in MailHog)."""
        redis_cleared = await inbox.clear()
        return {"cleared": True, "redis": redis_cleared}

    @router.get("/responses")
    async def list_rules() -> dict[str, Any]:
        """The response rules in force, in matching order, with their answer counts."""
        return {"rules": inbox.rules.describe()}

    @router.put("/responses")
    async def replace_rules(
        rules: Annotated[list[ResponseRule], Body(max_length=MAX_RULES)],
    ) -> dict[str, Any]:
        """Put a new list of rules in force."""
        inbox.rules.replace(rules)
        logger.info(
            "Response rules replaced for preview %s: %d in force",
            inbox.settings.preview_id,
            len(rules),
        )
        return {"rules": inbox.rules.describe()}

    @router.post("/responses", status_code=201)
    async def add_rule(rule: ResponseRule) -> dict[str, Any]:
        """Put a rule first, replacing a rule with the same path and method."""
        try:
            inbox.rules.add(rule)
        except TooManyRules as error:
            raise HTTPException(status_code=422, detail=str(error)) from None
        logger.info(
            "Response rule added for preview %s: %s %s answers %d",
            inbox.settings.preview_id,
            rule.method or "any method",
            printable(rule.path),
            rule.status,
        )
        return {"rules": inbox.rules.describe()}

    @router.delete("/responses")
    async def remove_rules(
        path: Annotated[str | None, Query(max_length=2048)] = None,
        method: Annotated[str | None, Query(max_length=20)] = None,
    ) -> dict[str, Any]:
        """Remove the rules for one path (and method), or every rule when no path is given."""
        if path is None:
            removed = len(inbox.rules.rules)
            inbox.rules.clear()
            which = "every rule"
        else:
            removed = inbox.rules.remove(path, method)
            which = f"{printable(method.upper()) if method else 'any method'} {printable(path)}"
        logger.info(
            "Response rules removed for preview %s (%s): %d",
            inbox.settings.preview_id,
            which,
            removed,
        )
        return {"removed": removed, "rules": inbox.rules.describe()}

    @router.get("/openapi.json", include_in_schema=False)
    async def openapi(request: Request) -> dict[str, Any]:
        """The API's OpenAPI description."""
        schema: dict[str, Any] = request.app.openapi()
        return schema

    @router.api_route("", methods=CAPTURED_METHODS, include_in_schema=False)
    @router.api_route("/{rest:anypath}", methods=CAPTURED_METHODS, include_in_schema=False)
    async def api_not_found(request: Request) -> Response:
        return JSONResponse({"detail": f"No API endpoint {request.scope['path']}"}, status_code=404)

    return router


def _kinds(raw: list[str] | None) -> frozenset[EventKind]:
    if not raw:
        return frozenset(EVENT_KINDS)
    names = {name.strip() for item in raw for name in item.split(",") if name.strip()}
    unknown = names - set(EVENT_KINDS)
    if unknown:
        raise HTTPException(
            status_code=422,
            detail=f"unknown kind {', '.join(sorted(unknown))}; use {', '.join(EVENT_KINDS)}",
        )
    return frozenset(kind for kind in EVENT_KINDS if kind in names)


def _etag_headers(etag: str) -> dict[str, str]:
    return {"ETag": etag, "Cache-Control": "no-cache"}


async def _yielding(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """Hand each chunk on and let captures be answered between chunks of a long answer."""
    for chunk in chunks:
        yield chunk
        await asyncio.sleep(0)


def _twilio_router(inbox: Inbox) -> APIRouter:
    router = APIRouter(prefix=TWILIO_PREFIX, include_in_schema=False)
    messages = "/Accounts/{account_sid}/Messages"

    @router.post(f"{messages}.json")
    async def send_message(account_sid: str, request: Request) -> Response:
        body, size = await _read_body(request, twilio.MAX_FORM_BYTES)
        fields = twilio.form_fields(request.headers.get("content-type"), body)
        credentials = basic_username(request.headers.get("authorization", "")) is not None
        error = twilio.check_send_request(fields, credentials, truncated=size > len(body))
        message = twilio.build_message(account_sid, fields, error)
        rule = inbox.rules.answer(request.method, request.scope["path"])
        if rule is not None and rule.status >= 400:
            message = replace(message, status="rejected")
        status = rule.status if rule is not None else (error.status if error else 201)

        capture = _capture(
            inbox, request, kind="sms", body=body, size=size, status=status, rule=rule
        )
        capture = replace(capture, sms=message)
        inbox.keep(capture)

        if rule is not None:
            return await _rule_response(rule)
        if error is not None:
            return _guarded(_twilio_error(error))
        return _guarded(JSONResponse(twilio.message_resource(capture), status_code=201))

    def may_read(request: Request) -> bool:
        # Reading gives away the codes sent by SMS: with reviewer auth on, only the reviewer
        # may; without it, any Basic credentials do, as any would for sending.
        authorization = request.headers.get("authorization", "")
        if inbox.settings.auth_enabled:
            return is_reviewer(inbox.settings, authorization)
        return basic_username(authorization) is not None

    @router.get(f"{messages}.json")
    async def list_messages(account_sid: str, request: Request) -> Response:
        if not may_read(request):
            return _twilio_error(twilio.NOT_AUTHENTICATED)
        sent = [
            capture
            for capture in inbox.captures.newest_first()
            if capture.sms is not None
            and capture.sms.account_sid == account_sid
            and capture.sms.status != "rejected"
        ]
        return JSONResponse(twilio.message_list(account_sid, sent))

    @router.get(f"{messages}/{{message_sid}}.json")
    async def fetch_message(account_sid: str, message_sid: str, request: Request) -> Response:
        if not may_read(request):
            return _twilio_error(twilio.NOT_AUTHENTICATED)
        capture = inbox.captures.find_sms(message_sid)
        if (
            capture is None
            or capture.sms is None
            or capture.sms.account_sid != account_sid
            or capture.sms.status == "rejected"
        ):
            return _twilio_error(twilio.not_found(request.scope["path"]))
        return JSONResponse(twilio.message_resource(capture))

    @router.api_route("/{rest:anypath}", methods=CAPTURED_METHODS)
    async def twilio_not_found(request: Request) -> Response:
        return _twilio_error(twilio.not_found(request.scope["path"]))

    return router


def _twilio_error(error: twilio.TwilioError) -> Response:
    headers = {"WWW-Authenticate": 'Basic realm="Twilio API"'} if error.status == 401 else None
    return JSONResponse(error.as_json(), status_code=error.status, headers=headers)


def _capture_router(inbox: Inbox) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.api_route("/{path:anypath}", methods=CAPTURED_METHODS)
    async def capture_webhook(request: Request) -> Response:
        if _is_browser_at_root(request):
            return RedirectResponse(f"{PAGE_PREFIX}/", status_code=307)
        body, size = await _read_body(request, inbox.settings.max_body_bytes)
        rule = inbox.rules.answer(request.method, request.scope["path"])
        status = rule.status if rule is not None else 200

        capture = _capture(
            inbox, request, kind="webhook", body=body, size=size, status=status, rule=rule
        )
        inbox.keep(capture)

        if rule is not None:
            return await _rule_response(rule)
        return _guarded(JSONResponse({"captured": capture.seq}))

    return router


def _is_browser_at_root(request: Request) -> bool:
    return (
        request.method == "GET"
        and request.scope["path"] == "/"
        and "text/html" in request.headers.get("accept", "")
    )


async def _read_body(request: Request, limit: int) -> tuple[bytes, int]:
    """Read the whole request body; keep its first `limit` bytes and count all of them."""
    kept = bytearray()
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        room = limit - len(kept)
        if room > 0:
            kept += chunk[:room]
    return bytes(kept), size


def _capture(
    inbox: Inbox,
    request: Request,
    *,
    kind: Kind,
    body: bytes,
    size: int,
    status: int,
    rule: ResponseRule | None,
) -> Capture:
    return Capture(
        seq=inbox.captures.next_seq(),
        kind=kind,
        received=time.time(),
        method=request.method,
        # The decoded path as the client sent it; request.url would drop a decoded line break.
        path=request.scope["path"],
        query=request.url.query,
        headers=redact(request.headers.items()),
        body=body,
        size=size,
        client=request.client.host if request.client else "",
        response_status=status,
        rule=rule.path if rule is not None else None,
    )


async def _rule_response(rule: ResponseRule) -> Response:
    if rule.delay_ms:
        await asyncio.sleep(rule.delay_ms / 1000)
    return _guarded(
        Response(
            rule.body if rule.body else None,
            status_code=rule.status,
            headers=rule.headers,
            media_type=rule.content_type if rule.body else None,
        )
    )


def _guarded(response: Response) -> Response:
    """Keep an answer to a captured request from acting as a page of the inbox's own origin.

    A rule may answer with any HTML, and the inbox shares its origin with the reviewer page:
    `sandbox` gives such a document an opaque origin of its own, with no script, and
    `nosniff` stops a browser from reading another type into the answer.
    """
    response.headers.update(CAPTURE_ANSWER_HEADERS)
    return response
