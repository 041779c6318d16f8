"""Reads the email the preview's MailHog caught, through MailHog's v2 HTTP API.

The inbox keeps no copy of email: MailHog does. Each read lists the newest messages (MailHog
returns them newest first) and parses each raw message with the standard library, so encoded
subjects, quoted-printable bodies and multipart messages read as a person would read them.
Reads are cached for a second so a room full of reviewers does not hammer MailHog.

Both ends are bounded: a list larger than `max_bytes` is refused (and logged) while it is
being read, never held whole, and each message's text is cut to `max_text_bytes` with a note.
"""

import asyncio
import email
import email.policy
import json
import logging
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from typing import Any, Literal

import httpx

from .logtext import printable

logger = logging.getLogger(__name__)

MailStatus = Literal["ok", "error", "off"]
# Go writes nanoseconds; Python reads at most microseconds.
_EXTRA_FRACTION = re.compile(r"(\.\d{6})\d+")
MAX_BYTES = 8 * 1024 * 1024
MAX_TEXT_BYTES = 65_536
_ADVICE = "lower INBOX_MAILHOG_LIMIT or raise INBOX_MAILHOG_MAX_BYTES"


class MailHogError(RuntimeError):
    """MailHog could not be read, or answered something that is not its message list."""


class MailHogTooLarge(MailHogError):
    """MailHog's answer is longer than the inbox is willing to read."""


@dataclass(frozen=True, slots=True)
class Email:
    """One message as a reviewer reads it."""

    id: str
    received: float
    sender: str
    recipients: tuple[str, ...]
    subject: str
    text: str
    text_type: str
    size: int
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class MailSnapshot:
    """The outcome of one read: the messages, or why there are none."""

    status: MailStatus
    emails: tuple[Email, ...] = ()
    error: str = ""
    total: int = 0
    fetched_at: float = field(default=0.0)


def parse_messages(
    payload: Any, max_text_bytes: int = MAX_TEXT_BYTES
) -> tuple[tuple[Email, ...], int]:
    """Turn the body of GET /api/v2/messages into emails and MailHog's total count.

    Raises MailHogError when the payload is not shaped like MailHog's answer.
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("items"), list):
        raise MailHogError("the answer has no 'items' list")
    emails = tuple(parse_message(item, max_text_bytes) for item in payload["items"])
    total = payload.get("total")
    return emails, total if isinstance(total, int) else len(emails)


def parse_message(item: Any, max_text_bytes: int = MAX_TEXT_BYTES) -> Email:
    """Turn one MailHog message object into an Email. Raises MailHogError if malformed.

    Text past `max_text_bytes` (in UTF-8) is cut, with a note saying how much there was.
    """
    if not isinstance(item, dict) or not isinstance(item.get("ID"), str):
        raise MailHogError("a message has no ID")
    raw = item.get("Raw") or {}
    content = item.get("Content") or {}
    data = raw.get("Data") if isinstance(raw, dict) else None
    if not isinstance(data, str):
        raise MailHogError(f"message {item['ID']} has no raw data")

    message = email.message_from_string(data, policy=email.policy.default)
    if not isinstance(message, EmailMessage):
        raise MailHogError(f"message {item['ID']} did not parse as an email")
    text, text_type = _readable_body(message)
    text, truncated = _cut(text, max_text_bytes)
    envelope = raw.get("To")
    envelope_to = envelope if isinstance(envelope, list) else []
    size = content.get("Size") if isinstance(content, dict) else None

    return Email(
        id=item["ID"],
        received=_created(item.get("Created")),
        sender=str(message.get("From") or raw.get("From") or ""),
        recipients=tuple(str(address) for address in envelope_to),
        subject=str(message.get("Subject") or ""),
        text=text,
        text_type=text_type,
        size=size if isinstance(size, int) else len(data),
        truncated=truncated,
    )


def _cut(text: str, max_bytes: int) -> tuple[str, bool]:
    if len(text) <= max_bytes // 4:  # short enough however it encodes
        return text, False
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text, False
    kept = encoded[:max_bytes].decode("utf-8", errors="ignore")
    note = f"\n\n[cut: the text is {len(encoded):,} bytes; the inbox shows the first {max_bytes:,}]"
    return kept + note, True


def _readable_body(message: EmailMessage) -> tuple[str, str]:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return "", "none"
    try:
        content = part.get_content()
    except (LookupError, ValueError) as error:  # an unknown charset or a broken encoding
        return f"(the body could not be decoded: {error})", "none"
    if not isinstance(content, str):
        return "", "none"
    return content.replace("\r\n", "\n"), part.get_content_subtype()


def _created(value: Any) -> float:
    if not isinstance(value, str):
        return 0.0
    try:
        return datetime.fromisoformat(_EXTRA_FRACTION.sub(r"\1", value)).timestamp()
    except ValueError:
        return 0.0


class MailHogReader:
    """Lists recent email from one MailHog, caching each read for `ttl` seconds."""

    def __init__(
        self,
        base_url: str,
        limit: int,
        *,
        preview_id: str = "local",
        max_bytes: int = MAX_BYTES,
        max_text_bytes: int = MAX_TEXT_BYTES,
        ttl: float = 1.0,
        timeout: float = 3.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._url = f"{base_url.rstrip('/')}/api/v2/messages"
        self._host = httpx.URL(base_url).host
        self._limit = limit
        self._preview_id = preview_id
        self._max_bytes = max_bytes
        self._max_text_bytes = max_text_bytes
        self._ttl = ttl
        self._client = httpx.AsyncClient(timeout=timeout, transport=transport)
        self._lock = asyncio.Lock()
        self._snapshot = MailSnapshot(status="off")
        self._failing = False

    async def recent(self) -> MailSnapshot:
        """The newest messages; on failure, a snapshot whose status is "error" and says why.

        Calls GET /api/v2/messages?limit=<limit> at most once per `ttl` seconds, and stops
        reading an answer that grows past `max_bytes`.
        """
        async with self._lock:
            if time.monotonic() - self._snapshot.fetched_at < self._ttl:
                return self._snapshot
            self._snapshot = await self._fetch()
            return self._snapshot

    async def _fetch(self) -> MailSnapshot:
        now = time.monotonic()
        try:
            payload = json.loads(await self._read_list())
            emails, total = parse_messages(payload, self._max_text_bytes)
        except httpx.HTTPStatusError as error:
            return self._failed(f"MailHog at {self._host} answered {error.response.status_code}")
        except httpx.HTTPError as error:
            return self._failed(f"MailHog at {self._host} is unreachable: {type(error).__name__}")
        except MailHogTooLarge as error:
            reason = f"MailHog at {self._host} sent a list over {self._max_bytes:,} bytes: {error}"
            return self._failed(reason, level=logging.ERROR)
        except (ValueError, MailHogError) as error:
            return self._failed(f"MailHog at {self._host} sent an unreadable list: {error}")

        if self._failing:
            logger.info("MailHog at %s answers again for preview %s", self._host, self._preview_id)
        self._failing = False
        return MailSnapshot(status="ok", emails=emails, total=total, fetched_at=now)

    async def _read_list(self) -> bytearray:
        """GET the message list, refusing it as soon as it is known to be over `max_bytes`."""
        async with self._client.stream("GET", self._url, params={"limit": self._limit}) as answer:
            answer.raise_for_status()
            declared = answer.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self._max_bytes:
                raise MailHogTooLarge(f"it announced {int(declared):,}; {_ADVICE}")
            data = bytearray()
            async for chunk in answer.aiter_bytes():
                data += chunk
                if len(data) > self._max_bytes:
                    raise MailHogTooLarge(f"reading stopped there; {_ADVICE}")
        return data

    def _failed(self, reason: str, level: int = logging.WARNING) -> MailSnapshot:
        if not self._failing:
            logger.log(
                level, "Cannot read email for preview %s: %s", self._preview_id, printable(reason)
            )
        self._failing = True
        return MailSnapshot(status="error", error=reason, fetched_at=time.monotonic())

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()
