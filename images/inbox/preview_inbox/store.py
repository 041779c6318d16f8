"""What the inbox keeps: captured requests in a bounded ring, optionally mirrored to Redis.

The ring holds at most `cap` captures and at most `max_bytes` of them (bodies, headers and the
objects that hold them, as `Capture.cost` estimates it); the oldest go first when a new one
arrives. The Redis mirror keeps the same list under keys prefixed with the preview ID, written
in the background, so a restarted inbox shows what it had captured.
"""

import asyncio
import base64
import contextlib
import json
import logging
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from .logtext import printable

logger = logging.getLogger(__name__)

Kind = Literal["webhook", "sms"]
KINDS: tuple[Kind, ...] = ("webhook", "sms")
# Header values that are credentials; the inbox keeps only their scheme (and a basic username).
_CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization"})
# What the objects around a capture's text take in CPython, measured and rounded up: the
# capture itself with its short strings, each header's tuple and strings, an SMS's fields.
_CAPTURE_OVERHEAD_BYTES = 512
_HEADER_OVERHEAD_BYTES = 128
_SMS_OVERHEAD_BYTES = 512
# How long one exchange with Redis may take before it counts as failed.
REDIS_TIMEOUT_SECONDS = 2.0
# Captures waiting for Redis, by cost; past this they stay in memory only.
MIRROR_QUEUE_BYTES = 4 * 1024 * 1024
WRITE_BATCH = 64
LOAD_PAGE = 64
# How long the writer waits before trying a Redis that failed again.
RETRY_SECONDS = 1.0
# How long closing waits for the queue to be written.
FLUSH_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class SmsMessage:
    """A message the app asked Twilio's Messages API to send, as the inbox answered it."""

    sid: str
    account_sid: str
    to: str
    sender: str
    body: str
    messaging_service_sid: str | None
    media_urls: tuple[str, ...]
    status: str
    error_code: int | None
    error_message: str | None
    num_segments: int


@dataclass(frozen=True, slots=True)
class Capture:
    """One request the inbox received and kept, with the answer it gave."""

    seq: int
    kind: Kind
    received: float
    method: str
    path: str
    query: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    size: int
    client: str
    response_status: int
    rule: str | None
    sms: SmsMessage | None = None

    @property
    def truncated(self) -> bool:
        """True when the request body was longer than what the inbox kept."""
        return self.size > len(self.body)

    @property
    def cost(self) -> int:
        """Roughly how many bytes of memory the capture holds; the ring's byte bound counts this."""
        text = len(self.body) + len(self.path) + len(self.query) + len(self.client)
        headers = sum(_HEADER_OVERHEAD_BYTES + len(k) + len(v) for k, v in self.headers)
        sms = 0
        if self.sms is not None:
            sms = _SMS_OVERHEAD_BYTES + len(self.sms.body) + len(self.sms.to) + len(self.sms.sender)
            sms += sum(len(url) for url in self.sms.media_urls)
        return _CAPTURE_OVERHEAD_BYTES + text + headers + sms

    def header(self, name: str) -> str | None:
        """The first value of a header, matched without regard to case."""
        name = name.lower()
        return next((value for key, value in self.headers if key.lower() == name), None)


def redact_headers(headers: list[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """Drop credentials from request headers, keeping enough to see which scheme was used.

    `Authorization: Basic <AC...:token>` becomes `Basic AC... (password hidden)`; any other
    scheme keeps only its name.
    """
    kept = []
    for name, value in headers:
        shown = _redacted_credentials(value) if name.lower() in _CREDENTIAL_HEADERS else value
        kept.append((name, shown))
    return tuple(kept)


def basic_username(value: str) -> str | None:
    """The username of a Basic Authorization header value, or None if it is not one."""
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "basic" or not token.strip():
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    username, separator, _ = decoded.partition(":")
    return username if separator else None


def _redacted_credentials(value: str) -> str:
    scheme = value.partition(" ")[0]
    username = basic_username(value)
    if username is not None:
        return f"{scheme} {username}:(hidden)"
    return f"{scheme} (hidden)"


class CaptureLog:
    """The ring of captures, newest last, bounded by count and by bytes.

    Sequence numbers never repeat within the ring's life: clearing keeps counting up, and a
    restore or `continue_after` only ever moves the counter forward.
    """

    def __init__(self, cap: int, max_bytes: int) -> None:
        self._ring: deque[Capture] = deque()
        self._cap = cap
        self._max_bytes = max_bytes
        self._bytes = 0
        self._last_seq = 0
        self.generation = 0

    @property
    def cap(self) -> int:
        """How many captures the ring keeps at most."""
        return self._cap

    @property
    def max_bytes(self) -> int:
        """How many bytes of captures (as `Capture.cost` counts them) the ring keeps at most."""
        return self._max_bytes

    @property
    def bytes(self) -> int:
        """The cost of the captures the ring holds now."""
        return self._bytes

    @property
    def last_seq(self) -> int:
        """The sequence number given last (0 before the first)."""
        return self._last_seq

    def next_seq(self) -> int:
        """Reserve the sequence number of the next capture."""
        self._last_seq += 1
        return self._last_seq

    def continue_after(self, seq: int) -> None:
        """Make the next sequence number larger than `seq` (and than any given before)."""
        self._last_seq = max(self._last_seq, seq)

    def add(self, capture: Capture) -> None:
        """Keep a capture, dropping the oldest ones past the cap or the byte bound.

        The newest capture always stays, even when it alone is over the byte bound.
        """
        self._ring.append(capture)
        self._bytes += capture.cost
        while len(self._ring) > 1 and (
            len(self._ring) > self._cap or self._bytes > self._max_bytes
        ):
            self._bytes -= self._ring.popleft().cost
        self.generation += 1

    def restore(self, captures: list[Capture], last_seq: int) -> None:
        """Load captures read back from the mirror (oldest first) into the ring."""
        for capture in captures:
            self.add(capture)
        self.continue_after(max(last_seq, *(c.seq for c in captures), 0))
        self.generation += 1

    def clear(self) -> int:
        """Forget every capture and return how many there were; sequence numbers keep counting."""
        forgotten = len(self._ring)
        self._ring.clear()
        self._bytes = 0
        self.generation += 1
        return forgotten

    def newest_first(self) -> Iterator[Capture]:
        """The captures from newest to oldest."""
        return reversed(self._ring)

    def find_sms(self, sid: str) -> Capture | None:
        """The capture of the SMS with this SID, if the ring still holds it."""
        return next(
            (c for c in self.newest_first() if c.sms is not None and c.sms.sid == sid), None
        )

    def __len__(self) -> int:
        return len(self._ring)


def to_record(capture: Capture) -> str:
    """Serialise a capture for the Redis mirror (the body as base64)."""
    record: dict[str, Any] = {
        "seq": capture.seq,
        "kind": capture.kind,
        "received": capture.received,
        "method": capture.method,
        "path": capture.path,
        "query": capture.query,
        "headers": [list(pair) for pair in capture.headers],
        "body": base64.b64encode(capture.body).decode("ascii"),
        "size": capture.size,
        "client": capture.client,
        "response_status": capture.response_status,
        "rule": capture.rule,
        "sms": None,
    }
    if capture.sms is not None:
        sms = capture.sms
        record["sms"] = {
            "sid": sms.sid,
            "account_sid": sms.account_sid,
            "to": sms.to,
            "sender": sms.sender,
            "body": sms.body,
            "messaging_service_sid": sms.messaging_service_sid,
            "media_urls": list(sms.media_urls),
            "status": sms.status,
            "error_code": sms.error_code,
            "error_message": sms.error_message,
            "num_segments": sms.num_segments,
        }
    return json.dumps(record, separators=(",", ":"))


def from_record(text: str | bytes) -> Capture:
    """Read back a capture written by to_record. Raises ValueError or KeyError if malformed."""
    record = json.loads(text)
    sms_record = record["sms"]
    sms = None
    if sms_record is not None:
        sms = SmsMessage(
            sid=str(sms_record["sid"]),
            account_sid=str(sms_record["account_sid"]),
            to=str(sms_record["to"]),
            sender=str(sms_record["sender"]),
            body=str(sms_record["body"]),
            messaging_service_sid=sms_record["messaging_service_sid"],
            media_urls=tuple(sms_record["media_urls"]),
            status=str(sms_record["status"]),
            error_code=sms_record["error_code"],
            error_message=sms_record["error_message"],
            num_segments=int(sms_record["num_segments"]),
        )
    kind = record["kind"]
    if kind not in KINDS:
        raise ValueError(f"unknown capture kind {kind!r}")
    return Capture(
        seq=int(record["seq"]),
        kind=kind,
        received=float(record["received"]),
        method=str(record["method"]),
        path=str(record["path"]),
        query=str(record["query"]),
        headers=tuple((str(name), str(value)) for name, value in record["headers"]),
        body=base64.b64decode(record["body"]),
        size=int(record["size"]),
        client=str(record["client"]),
        response_status=int(record["response_status"]),
        rule=record["rule"],
        sms=sms,
    )


class RedisMirror:
    """Keeps a copy of the ring in the preview's Redis, written in the background.

    Keys: `preview-inbox:<preview ID>:captures` (a list, newest first, trimmed to the cap) and
    `preview-inbox:<preview ID>:seq` (the last sequence number given). A capture is queued,
    never awaited: one writer task sends the queue in batches, so a slow or hung Redis never
    slows an answer. The queue holds at most MIRROR_QUEUE_BYTES of captures; past that a
    capture stays in memory only, with one warning per run of such drops. Failures are logged
    when they start and once more when Redis answers again.

    Redis is written only after it has been read once: before that its counter is unknown,
    and writing would hand out its numbers again. Until then the writer keeps trying to read
    it; captures taken meanwhile stay in memory only, and numbering continues above the
    stored counter once it is known.
    """

    def __init__(
        self,
        url: str,
        preview_id: str,
        log: CaptureLog,
        *,
        on_restore: Callable[[], None] = lambda: None,
    ) -> None:
        self._client = aioredis.Redis.from_url(
            url,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            decode_responses=False,
        )
        self._prefix = f"preview-inbox:{preview_id}:"
        self._preview_id = preview_id
        self._log = log
        self._on_restore = on_restore
        self._queue: deque[Capture] = deque()
        self._queued_bytes = 0
        self._queue_limit = MIRROR_QUEUE_BYTES
        self._dropped = 0
        self._wake = asyncio.Event()
        # One exchange with Redis at a time, so a clear never overtakes a write queued before it.
        self._exchange = asyncio.Lock()
        self._writer: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()
        # Whether anything was captured or cleared before Redis was read.
        self._touched = False
        self._clear_on_load = False
        self.loaded = False
        self.healthy = True

    @property
    def captures_key(self) -> str:
        """The Redis list that holds the captures."""
        return f"{self._prefix}captures"

    @property
    def seq_key(self) -> str:
        """The Redis string that holds the last sequence number given."""
        return f"{self._prefix}seq"

    async def start(self) -> None:
        """Read Redis once (waiting for it, within its timeouts), then start the writer."""
        await self._try_load()
        self._writer = asyncio.create_task(self._run(), name=f"redis mirror {self._preview_id}")

    async def load(self) -> tuple[list[Capture], int]:
        """Read the stored captures (oldest first) and the last sequence number.

        Reads newest first, a page at a time, and stops once the ring's byte bound is full, so
        a large list never arrives whole. Raises RedisError when Redis cannot be read; skips
        records it cannot parse.
        """
        async with self._client.pipeline(transaction=False) as pipe:
            pipe.get(self.seq_key)
            pipe.lrange(self.captures_key, 0, LOAD_PAGE - 1)
            last_seq, records = await pipe.execute()

        newest_first: list[Capture] = []
        budget = self._log.max_bytes
        start = 0
        while records:
            for record in records:
                try:
                    capture = from_record(record)
                except (ValueError, KeyError, TypeError) as error:
                    logger.warning(
                        "Skipping an unreadable capture in Redis for preview %s: %s",
                        self._preview_id,
                        printable(error),
                    )
                    continue
                budget -= capture.cost
                if budget < 0 or len(newest_first) >= self._log.cap:
                    return newest_first[::-1], int(last_seq or 0)
                newest_first.append(capture)
            start += LOAD_PAGE
            if start >= self._log.cap:
                break
            records = await self._client.lrange(self.captures_key, start, start + LOAD_PAGE - 1)
        return newest_first[::-1], int(last_seq or 0)

    def submit(self, capture: Capture) -> str:
        """Queue a capture for Redis; return "" or why it stays in memory only."""
        if not self.loaded:
            self._touched = True
            return "Redis not read yet"
        cost = capture.cost
        if self._queue and self._queued_bytes + cost > self._queue_limit:
            if not self._dropped:
                logger.warning(
                    "Redis is behind for preview %s: its queue is full, so new captures stay "
                    "in memory only until it catches up",
                    self._preview_id,
                )
            self._dropped += 1
            return "Redis queue full"
        if self._dropped:
            logger.info(
                "Redis queue for preview %s has room again; %d captures were not persisted",
                self._preview_id,
                self._dropped,
            )
            self._dropped = 0
        self._queue.append(capture)
        self._queued_bytes += cost
        self._wake.set()
        return ""

    async def clear(self) -> bool:
        """Delete the stored captures (and what is queued); return False if Redis did not answer.

        Before Redis has been read, the stored list is deleted as soon as it is.
        """
        if not self.loaded:
            self._touched = True
            self._clear_on_load = True
            return False
        async with self._exchange:
            self._queue.clear()
            self._queued_bytes = 0
            try:
                await self._client.delete(self.captures_key)
            except RedisError as error:
                self._note_failure("clearing captures", error)
                return False
        self._note_success()
        return True

    async def close(self) -> None:
        """Give the writer a moment to send what is queued, stop it, close the connections."""
        if self._writer is not None:
            self._closing.set()
            self._wake.set()
            try:
                await asyncio.wait_for(asyncio.shield(self._writer), FLUSH_SECONDS)
            except TimeoutError:
                self._writer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._writer
        await self._client.aclose()  # type: ignore[attr-defined]  # types-redis 4.6 predates aclose()

    async def _run(self) -> None:
        while not self.loaded:
            if await self._closed_within(RETRY_SECONDS):
                return
            await self._try_load()
        while True:
            if not self._queue:
                if self._closing.is_set():
                    return
                self._wake.clear()
                await self._wake.wait()
            elif not await self._write_batch() and await self._closed_within(RETRY_SECONDS):
                return

    async def _closed_within(self, seconds: float) -> bool:
        """Wait up to `seconds`; tell whether the mirror is closing."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)
        return self._closing.is_set()

    async def _try_load(self) -> None:
        async with self._exchange:
            try:
                captures, stored_seq = await self.load()
                if self._clear_on_load:
                    await self._client.delete(self.captures_key)
            except RedisError as error:
                self._note_failure("reading persisted captures", error)
                return
            # Nothing is awaited from here on, so no capture can slip in between.
            if self._touched:
                self._log.continue_after(stored_seq)
                logger.info(
                    "Redis read for preview %s; captures taken before stay in memory only, "
                    "numbering continues after %d",
                    self._preview_id,
                    self._log.last_seq,
                )
            else:
                self._log.restore(captures, stored_seq)
                logger.info(
                    "Reloaded %d captures for preview %s from Redis",
                    len(captures),
                    self._preview_id,
                )
                self._on_restore()
            self.loaded = True
        self._note_success()

    async def _write_batch(self) -> bool:
        """Send up to WRITE_BATCH queued captures in one transaction; False if Redis failed."""
        async with self._exchange:
            batch = [self._queue.popleft() for _ in range(min(WRITE_BATCH, len(self._queue)))]
            self._queued_bytes -= sum(capture.cost for capture in batch)
            if not batch:
                return True
            try:
                async with self._client.pipeline(transaction=True) as pipe:
                    # LPUSH puts its last value first, so the oldest goes first.
                    pipe.lpush(self.captures_key, *(to_record(capture) for capture in batch))
                    pipe.ltrim(self.captures_key, 0, self._log.cap - 1)
                    pipe.set(self.seq_key, self._log.last_seq)
                    await pipe.execute()
            except RedisError as error:
                self._note_failure(f"storing {len(batch)} captures (kept in memory only)", error)
                return False
        self._note_success()
        return True

    def _note_failure(self, action: str, error: RedisError) -> None:
        if self.healthy:
            logger.warning(
                "Redis stopped answering for preview %s while %s: %s",
                self._preview_id,
                action,
                printable(error),
            )
        self.healthy = False

    def _note_success(self) -> None:
        if not self.healthy:
            logger.info("Redis answers again for preview %s", self._preview_id)
        self.healthy = True
