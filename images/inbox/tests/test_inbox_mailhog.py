"""The MailHog reader, against a message list recorded from a real MailHog."""

import asyncio
import base64
import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from preview_inbox.mailhog import MailHogError, MailHogReader, MailSnapshot, parse_messages

from inbox_testing import MakeClient, ReadEvents, RecordedMailHog

MAILHOG = "http://mailhog.preview.test:8025"


def test_recorded_list_parses_into_readable_email(mailhog_payload: bytes) -> None:
    emails, total = parse_messages(json.loads(mailhog_payload))

    assert total == 2
    newest, oldest = emails
    assert newest.subject == "Réinitialisez votre mot de passe"
    assert newest.sender == "Shop <no-reply@shop.example>"
    assert newest.recipients == ("grace@customer.example", "audit@shop.example")
    assert newest.text_type == "plain"
    assert "réinitialiser votre mot de passe : https://shop.example/reset/abc" in newest.text
    assert "\r" not in newest.text
    assert oldest.subject == "Your order #1042 has shipped"
    assert oldest.text.startswith("Hello Ada,")
    assert oldest.size == 252


def test_creation_time_keeps_microseconds_of_mailhogs_nanoseconds(mailhog_payload: bytes) -> None:
    emails, _ = parse_messages(json.loads(mailhog_payload))

    assert datetime.fromtimestamp(emails[0].received, UTC) == datetime(
        2026, 12, 3, 18, 44, 53, 304392, tzinfo=UTC
    )


def test_html_only_message_shows_its_source(mailhog_payload: bytes) -> None:
    payload = json.loads(mailhog_payload)
    item = payload["items"][1]
    item["Raw"]["Data"] = (
        "From: a@shop.example\r\nSubject: Hi\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        "<p>Hello <b>Ada</b></p>"
    )

    [email] = parse_messages({"items": [item]})[0]

    assert (email.text_type, email.text) == ("html", "<p>Hello <b>Ada</b></p>")


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param([], id="not-an-object"),
        pytest.param({"total": 1}, id="no-items"),
        pytest.param({"items": [{"Raw": {"Data": "x"}}]}, id="no-id"),
        pytest.param({"items": [{"ID": "a@b"}]}, id="no-raw"),
    ],
)
def test_unexpected_shapes_are_refused(payload: object) -> None:
    with pytest.raises(MailHogError):
        parse_messages(payload)


def read(reader: MailHogReader) -> MailSnapshot:
    """One read of MailHog, after which the reader is closed."""
    return asyncio.run(_read_and_close(reader))


async def _read_and_close(reader: MailHogReader) -> MailSnapshot:
    try:
        return await reader.recent()
    finally:
        await reader.aclose()


def test_reader_calls_the_v2_messages_endpoint_with_its_limit(
    mailhog_transport: RecordedMailHog,
) -> None:
    snapshot = read(MailHogReader(MAILHOG, 25, transport=mailhog_transport))

    assert snapshot.status == "ok"
    assert len(snapshot.emails) == 2
    [request] = mailhog_transport.requests
    assert request.url.path == "/api/v2/messages"
    assert request.url.params["limit"] == "25"


def test_reader_caches_within_its_ttl(mailhog_transport: RecordedMailHog) -> None:
    async def twice() -> tuple[MailSnapshot, MailSnapshot]:
        reader = MailHogReader(MAILHOG, 25, ttl=60, transport=mailhog_transport)
        try:
            return await reader.recent(), await reader.recent()
        finally:
            await reader.aclose()

    first, second = asyncio.run(twice())

    assert first is second
    assert len(mailhog_transport.requests) == 1


def test_reader_reports_an_error_status_without_the_url_credentials(
    mailhog_transport: RecordedMailHog,
) -> None:
    mailhog_transport.status = 500
    reader = MailHogReader(
        "http://user:hunter2@mailhog.preview.test", 5, transport=mailhog_transport
    )

    snapshot = read(reader)

    assert snapshot.status == "error"
    assert "answered 500" in snapshot.error
    assert "hunter2" not in snapshot.error
    assert snapshot.emails == ()


def test_reader_reports_an_unreachable_mailhog() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    snapshot = read(MailHogReader(MAILHOG, 5, transport=httpx.MockTransport(refuse)))

    assert snapshot.status == "error"
    assert "unreachable" in snapshot.error


def test_reader_reports_a_list_it_cannot_read() -> None:
    garbage = httpx.MockTransport(lambda request: httpx.Response(200, text="<html>proxy</html>"))

    snapshot = read(MailHogReader(MAILHOG, 5, transport=garbage))

    assert snapshot.status == "error"
    assert "unreadable" in snapshot.error


def test_email_joins_captures_in_one_timeline(
    make_client: MakeClient, mailhog_transport: RecordedMailHog, read_events: ReadEvents
) -> None:
    client = make_client(mailhog_url=MAILHOG, transport=mailhog_transport)
    client.post("/hooks/shipped", content=b"{}")

    timeline = read_events(client)

    assert [event["kind"] for event in timeline] == ["webhook", "email", "email"]
    assert timeline[1]["subject"] == "Réinitialisez votre mot de passe"
    assert timeline[2]["to"] == ["ada@customer.example"]


def test_search_and_kind_filters_apply_to_email(
    make_client: MakeClient, mailhog_transport: RecordedMailHog, read_events: ReadEvents
) -> None:
    client = make_client(mailhog_url=MAILHOG, transport=mailhog_transport)
    client.post("/hooks/order", content=b"order 1042 paid")

    found = read_events(client, q="1042")
    only_email = read_events(client, q="1042", kind="email")
    by_path = read_events(client, path="/hooks/*")

    assert [event["kind"] for event in found] == ["webhook", "email"]
    assert [event["subject"] for event in only_email] == ["Your order #1042 has shipped"]
    assert [event["kind"] for event in by_path] == ["webhook"]


def test_mailhog_failure_shows_in_the_api_and_captures_still_list(
    make_client: MakeClient, read_events: ReadEvents
) -> None:
    down = httpx.MockTransport(lambda request: httpx.Response(502, text="bad gateway"))
    client = make_client(mailhog_url=MAILHOG, transport=down)
    client.post("/hooks/x")

    answer = client.get("/api/events").json()

    assert answer["mail"]["status"] == "error"
    assert "502" in answer["mail"]["error"]
    assert [event["kind"] for event in answer["events"]] == ["webhook"]


class CountedStream(httpx.AsyncByteStream):
    """An answer body of `chunks` pieces of 64 KiB, counting how many were read."""

    def __init__(self, chunks: int) -> None:
        self.chunks = chunks
        self.read = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.chunks):
            self.read += 1
            yield b" " * 65_536


def test_reader_stops_reading_a_list_over_its_byte_limit(caplog: pytest.LogCaptureFixture) -> None:
    stream = CountedStream(chunks=200)
    endless = httpx.MockTransport(lambda request: httpx.Response(200, stream=stream))
    reader = MailHogReader(MAILHOG, 5, max_bytes=1024 * 1024, transport=endless)

    with caplog.at_level(logging.WARNING, logger="preview_inbox"):
        snapshot = read(reader)

    assert snapshot.status == "error"
    assert "over 1,048,576 bytes" in snapshot.error
    assert stream.read <= 17
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert "INBOX_MAILHOG_LIMIT" in record.getMessage()


def test_reader_refuses_a_list_announced_over_its_byte_limit() -> None:
    stream = CountedStream(chunks=200)
    announced = httpx.MockTransport(
        lambda request: httpx.Response(
            200, stream=stream, headers={"Content-Length": str(200 * 65_536)}
        )
    )

    snapshot = read(MailHogReader(MAILHOG, 5, max_bytes=1024 * 1024, transport=announced))

    assert snapshot.status == "error"
    assert "announced 13,107,200" in snapshot.error
    assert stream.read == 0


def test_long_text_is_cut_with_a_note(mailhog_payload: bytes) -> None:
    payload = json.loads(mailhog_payload)
    item = payload["items"][1]
    item["Raw"]["Data"] = _long_message("é" * 5_000)

    [email] = parse_messages({"items": [item]}, max_text_bytes=2_000)[0]

    assert email.truncated is True
    assert email.text.startswith("é" * 1_000)
    assert "é" * 1_001 not in email.text
    assert email.text.endswith("[cut: the text is 10,000 bytes; the inbox shows the first 2,000]")


def test_cut_text_is_flagged_in_the_timeline(
    make_client: MakeClient, mailhog_transport: RecordedMailHog, read_events: ReadEvents
) -> None:
    payload = json.loads(mailhog_transport.payload)
    payload["items"][0]["Raw"]["Data"] = _long_message("x" * 3_000)
    mailhog_transport.payload = json.dumps(payload).encode()
    client = make_client(
        mailhog_url=MAILHOG, transport=mailhog_transport, mailhog_max_text_bytes=1024
    )

    emails = read_events(client, kind="email")

    assert [event["truncated"] for event in emails] == [True, False]
    assert emails[0]["body"].startswith("x" * 1024 + "\n\n[cut:")


def _long_message(text: str) -> str:
    """A raw message whose plain text is `text`, base64-encoded as mail clients send it."""
    encoded = base64.encodebytes(text.encode("utf-8")).decode("ascii").replace("\n", "\r\n")
    return (
        "From: a@shop.example\r\nSubject: Export\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + encoded
    )


def test_mailhog_outage_and_recovery_are_logged_with_the_preview(
    mailhog_transport: RecordedMailHog, caplog: pytest.LogCaptureFixture
) -> None:
    async def down_then_up() -> MailSnapshot:
        reader = MailHogReader(
            MAILHOG, 5, preview_id="shop-pr-42", ttl=0, transport=mailhog_transport
        )
        try:
            mailhog_transport.status = 502
            await reader.recent()
            await reader.recent()
            mailhog_transport.status = 200
            return await reader.recent()
        finally:
            await reader.aclose()

    with caplog.at_level(logging.INFO, logger="preview_inbox"):
        snapshot = asyncio.run(down_then_up())

    lines = [record.getMessage() for record in caplog.records]
    assert snapshot.status == "ok"
    assert len(lines) == 2
    assert "answered 502" in lines[0]
    assert "answers again" in lines[1]
    assert all("shop-pr-42" in line for line in lines)
