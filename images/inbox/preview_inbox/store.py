"""What the inbox keeps: captured requests in a bounded ring, optionally mirrored to Redis.

The ring holds at most `cap` captures and at most `max_bytes` of them (bodies, headers and the
objects that hold them, as `Capture.cost` estimates it); the oldest go first when a new one
arrives. The Redis mirror keeps the same list under keys prefixed with the preview ID, so a
restarted inbox shows what it had captured.
"""

import base64
import json
import logging
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import redis.asyncio as aioredis
from redis.exceptions import RedisError

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
    """Keeps a copy of the ring in the preview's Redis.

    Keys: `preview-inbox:<preview ID>:captures` (a list, newest first, trimmed to the cap) and
    `preview-inbox:<preview ID>:seq` (the last sequence number). A Redis that
    stops answering never stops a capture: the failure is logged once, when it starts, and
    once more when Redis answers again.
    """

    def __init__(self, url: str, preview_id: str, cap: int) -> None:
        self._client = aioredis.Redis.from_url(
            url, socket_timeout=2.0, socket_connect_timeout=2.0, decode_responses=False
        )
        self._prefix = f"preview-inbox:{preview_id}:"
        self._cap = cap
        self.healthy = True

    @property
    def captures_key(self) -> str:
        """The Redis list that holds the captures."""
        return f"{self._prefix}captures"

    async def load(self) -> tuple[list[Capture], int]:
        """Read the captures (oldest first) and the last sequence number.

        Raises RedisError when Redis cannot be read; skips records it cannot parse.
        """
        async with self._client.pipeline(transaction=False) as pipe:
            pipe.lrange(self.captures_key, 0, self._cap - 1)
            pipe.get(f"{self._prefix}seq")
            records, last_seq = await pipe.execute()

        captures = []
        for record in reversed(records):
            try:
                captures.append(from_record(record))
            except (ValueError, KeyError, TypeError) as error:
                logger.warning("Skipping an unreadable capture in Redis: %s", error)
        return captures, int(last_seq or 0)

    async def append(self, capture: Capture) -> bool:
        """Push a capture and trim the list to the cap; return False if Redis did not answer."""
        try:
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.lpush(self.captures_key, to_record(capture))
                pipe.ltrim(self.captures_key, 0, self._cap - 1)
                pipe.set(f"{self._prefix}seq", capture.seq)
                await pipe.execute()
        except RedisError as error:
            self._note_failure("storing a capture", error)
            return False
        self._note_success()
        return True

    async def clear(self) -> bool:
        """Delete the stored captures; return False if Redis did not answer."""
        try:
            await self._client.delete(self.captures_key)
        except RedisError as error:
            self._note_failure("clearing captures", error)
            return False
        self._note_success()
        return True

    async def ping(self) -> bool:
        """Tell whether Redis answers right now."""
        try:
            return bool(await self._client.ping())
        except RedisError:
            return False

    async def close(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()  # type: ignore[attr-defined]  # types-redis 4.6 predates aclose()

    def _note_failure(self, action: str, error: RedisError) -> None:
        if self.healthy:
            logger.warning("Redis stopped answering while %s: %s", action, error)
        self.healthy = False

    def _note_success(self) -> None:
        if not self.healthy:
            logger.info("Redis answers again; captures are persisted")
        self.healthy = True
