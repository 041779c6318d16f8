"""The timeline: captures and email as JSON events, filtered and merged newest first."""

import base64
import fnmatch
import heapq
import itertools
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import parse_qsl

from .mailhog import Email
from .store import Capture

EventKind = Literal["webhook", "sms", "email"]
EVENT_KINDS: tuple[EventKind, ...] = ("webhook", "sms", "email")


@dataclass(frozen=True)
class EventQuery:
    """Which events a caller wants. Every condition given must hold."""

    kinds: frozenset[EventKind] = frozenset(EVENT_KINDS)
    text: str = ""
    path: str = ""
    method: str = ""
    since: float | None = None
    limit: int = 100

    def wants_capture(self, capture: Capture) -> bool:
        """Tell whether a capture passes every condition."""
        if capture.kind not in self.kinds:
            return False
        if self.since is not None and capture.received < self.since:
            return False
        if self.path and not fnmatch.fnmatchcase(capture.path, self.path):
            return False
        if self.method and capture.method != self.method.upper():
            return False
        return not self.text or self.text.lower() in _capture_text(capture)

    def wants_email(self, message: Email) -> bool:
        """Tell whether an email passes every condition; path and method filters exclude it."""
        if "email" not in self.kinds or self.path or self.method:
            return False
        if self.since is not None and message.received < self.since:
            return False
        return not self.text or self.text.lower() in _email_text(message)


def iso_time(timestamp: float) -> str:
    """A UTC timestamp with milliseconds, as the API writes times."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def decode_body(body: bytes) -> tuple[str, str]:
    """A body as text when it is UTF-8, as base64 otherwise; returns (text, encoding)."""
    try:
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(body).decode("ascii"), "base64"


def capture_event(capture: Capture) -> dict[str, Any]:
    """A capture as a JSON event."""
    body, encoding = decode_body(capture.body)
    event: dict[str, Any] = {
        "kind": capture.kind,
        "id": str(capture.seq),
        "seq": capture.seq,
        "time": iso_time(capture.received),
        "method": capture.method,
        "path": capture.path,
        "query": capture.query,
        "query_params": parse_qsl(capture.query, keep_blank_values=True),
        "headers": [list(pair) for pair in capture.headers],
        "content_type": capture.header("content-type"),
        "body": body,
        "body_encoding": encoding,
        "size": capture.size,
        "truncated": capture.truncated,
        "client": capture.client,
        "response": {"status": capture.response_status, "rule": capture.rule},
    }
    if capture.sms is not None:
        sms = capture.sms
        event["sms"] = {
            "sid": sms.sid,
            "account_sid": sms.account_sid,
            "to": sms.to,
            "from": sms.sender,
            "body": sms.body,
            "messaging_service_sid": sms.messaging_service_sid,
            "media_urls": list(sms.media_urls),
            "status": sms.status,
            "error_code": sms.error_code,
            "error_message": sms.error_message,
            "num_segments": sms.num_segments,
        }
    return event


def email_event(message: Email) -> dict[str, Any]:
    """An email as a JSON event."""
    return {
        "kind": "email",
        "id": message.id,
        "time": iso_time(message.received),
        "from": message.sender,
        "to": list(message.recipients),
        "subject": message.subject,
        "body": message.text,
        "body_type": message.text_type,
        "size": message.size,
        "truncated": message.truncated,
    }


def select(
    captures: Iterable[Capture], emails: Iterable[Email], query: EventQuery
) -> list[Capture | Email]:
    """The captures and emails a query asks for, newest first, at most `query.limit` of them.

    `captures` and `emails` must each come newest first (as the ring and MailHog give them).
    The list holds the items themselves, not copies; `event` turns one into JSON when needed.
    """
    wanted_captures = (
        (capture.received, capture) for capture in captures if query.wants_capture(capture)
    )
    wanted_emails = (
        (message.received, message) for message in emails if query.wants_email(message)
    )
    merged: Iterator[tuple[float, Capture | Email]] = heapq.merge(
        wanted_captures, wanted_emails, key=lambda entry: entry[0], reverse=True
    )
    return [item for _, item in itertools.islice(merged, query.limit)]


def event(item: Capture | Email) -> dict[str, Any]:
    """A capture or an email as a JSON event."""
    return capture_event(item) if isinstance(item, Capture) else email_event(item)


def encode_answer(
    head: dict[str, Any], items: Iterable[Capture | Email], chunk_bytes: int = 65_536
) -> Iterator[bytes]:
    """The JSON object `head` with an "events" list added last, in chunks of about `chunk_bytes`.

    Each event is built and encoded on its own, just before it is needed, so serving a long
    list holds one event and one chunk at a time instead of copies of the whole answer.
    """
    opening = json.dumps(head, separators=(",", ":"), ensure_ascii=False)
    if not opening.endswith("}") or opening == "{}":
        raise ValueError("head must be a non-empty JSON object")
    buffer = bytearray(opening[:-1].encode("utf-8"))
    buffer += b',"events":['
    for index, item in enumerate(items):
        if index:
            buffer += b","
        buffer += json.dumps(event(item), separators=(",", ":"), ensure_ascii=False).encode()
        if len(buffer) >= chunk_bytes:
            yield bytes(buffer)
            buffer.clear()
    buffer += b"]}"
    yield bytes(buffer)


def _capture_text(capture: Capture) -> str:
    parts = [capture.method, capture.path, capture.query, capture.client]
    parts.extend(f"{name}: {value}" for name, value in capture.headers)
    parts.append(capture.body.decode("utf-8", errors="replace"))
    if capture.sms is not None:
        parts.extend([capture.sms.to, capture.sms.sender, capture.sms.sid, capture.sms.body])
    return "\n".join(parts).lower()


def _email_text(message: Email) -> str:
    parts = [message.sender, *message.recipients, message.subject, message.text]
    return "\n".join(parts).lower()
