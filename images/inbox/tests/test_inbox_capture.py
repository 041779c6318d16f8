"""Webhook capture over HTTP: what is kept, what is answered, and which paths are not captured."""

import base64
import logging

import pytest
from fastapi.testclient import TestClient

from preview_inbox.logtext import printable
from preview_inbox.store import CaptureLog

from inbox_testing import MakeClient, ReadEvents, stored_capture


def test_capture_keeps_method_path_query_headers_and_body(
    client: TestClient, read_events: ReadEvents
) -> None:
    response = client.post(
        "/hooks/orders/paid?attempt=2&source=worker",
        content=b'{"order": 1042}',
        headers={"Content-Type": "application/json", "X-Signature": "t=1,v1=abc"},
    )

    assert response.status_code == 200
    [event] = read_events(client)
    assert response.json() == {"captured": event["seq"]}
    assert event["kind"] == "webhook"
    assert event["method"] == "POST"
    assert event["path"] == "/hooks/orders/paid"
    assert event["query"] == "attempt=2&source=worker"
    assert event["query_params"] == [["attempt", "2"], ["source", "worker"]]
    assert ["x-signature", "t=1,v1=abc"] in event["headers"]
    assert event["content_type"] == "application/json"
    assert event["body"] == '{"order": 1042}'
    assert event["body_encoding"] == "utf-8"
    assert event["size"] == 15
    assert event["truncated"] is False
    assert event["response"] == {"status": 200, "rule": None}


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"])
def test_every_common_method_is_captured(
    client: TestClient, read_events: ReadEvents, method: str
) -> None:
    response = client.request(method, "/hooks/any")

    assert response.status_code == 200
    [event] = read_events(client)
    assert (event["method"], event["path"]) == (method, "/hooks/any")


def test_body_over_the_limit_is_cut_and_its_full_size_recorded(
    make_client: MakeClient, read_events: ReadEvents
) -> None:
    client = make_client(max_body_bytes=10)

    client.post("/hooks/big", content=b"0123456789abcdefghij")

    [event] = read_events(client)
    assert event["body"] == "0123456789"
    assert event["size"] == 20
    assert event["truncated"] is True


def test_binary_body_is_returned_as_base64(client: TestClient, read_events: ReadEvents) -> None:
    payload = bytes([0xFF, 0x00, 0xFE, 0x80])

    client.post("/hooks/binary", content=payload)

    [event] = read_events(client)
    assert event["body_encoding"] == "base64"
    assert base64.b64decode(event["body"]) == payload


@pytest.mark.parametrize(
    ("header", "shown"),
    [
        pytest.param(
            "Basic " + base64.b64encode(b"hook-user:s3cret").decode(),
            "Basic hook-user:(hidden)",
            id="basic",
        ),
        pytest.param("Bearer s3cret-token", "Bearer (hidden)", id="bearer"),
    ],
)
def test_credentials_in_captured_headers_are_hidden(
    client: TestClient, read_events: ReadEvents, header: str, shown: str
) -> None:
    client.post("/hooks/secured", headers={"Authorization": header})

    [event] = read_events(client)
    assert ["authorization", shown] in event["headers"]
    assert "s3cret" not in client.get("/api/events").text


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/api/hooks", id="api-prefix"),
        pytest.param("/_inbox/hooks", id="page-prefix"),
    ],
)
def test_reserved_prefixes_are_not_captured(
    client: TestClient, read_events: ReadEvents, path: str
) -> None:
    response = client.post(path, content=b"x")

    assert response.status_code == 404
    assert read_events(client) == []


def test_health_is_not_captured(client: TestClient, read_events: ReadEvents) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert read_events(client) == []


def test_browser_at_root_is_sent_to_the_page_and_other_root_requests_are_captured(
    client: TestClient, read_events: ReadEvents
) -> None:
    browser = client.get("/", headers={"Accept": "text/html"}, follow_redirects=False)
    posted = client.post("/", content=b"ping")

    assert browser.status_code == 307
    assert browser.headers["location"] == "/_inbox/"
    assert posted.status_code == 200
    assert [event["path"] for event in read_events(client)] == ["/"]


def test_one_log_line_per_capture_names_the_preview(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="preview_inbox"):
        client.post("/hooks/a?token=hidden-in-query", content=b"1")
        client.post("/hooks/b", content=b"2")

    lines = [record.getMessage() for record in caplog.records if "Captured" in record.getMessage()]
    assert len(lines) == 2
    assert all("shop-pr-42" in line for line in lines)
    assert "/hooks/a" in lines[0]
    assert "hidden-in-query" not in lines[0]


def test_ring_is_bounded_by_bytes_as_well_as_by_count() -> None:
    ring = CaptureLog(cap=100, max_bytes=12_000)

    for seq in range(1, 11):
        ring.add(stored_capture(seq, b"x" * 3_000))

    assert [capture.seq for capture in ring.newest_first()] == [10, 9, 8]
    assert ring.bytes == sum(capture.cost for capture in ring.newest_first()) <= 12_000
    assert ring.clear() == 3
    assert (len(ring), ring.bytes) == (0, 0)


def test_ring_keeps_the_newest_capture_even_over_the_byte_bound() -> None:
    ring = CaptureLog(cap=100, max_bytes=1_000)
    ring.add(stored_capture(1, b"small"))

    ring.add(stored_capture(2, b"x" * 5_000))

    assert [capture.seq for capture in ring.newest_first()] == [2]


def test_path_with_an_encoded_line_break_is_captured_and_logged_escaped(
    client: TestClient, read_events: ReadEvents, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="preview_inbox"):
        response = client.post("/hooks/a%0AForged: 200 OK%0D%1B[31m", content=b"x")

    assert response.status_code == 200
    [event] = read_events(client)
    assert event["path"] == "/hooks/a\nForged: 200 OK\r\x1b[31m"
    [line] = [record.getMessage() for record in caplog.records if "Captured" in record.getMessage()]
    assert "/hooks/a\\nForged: 200 OK\\r\\x1b[31m" in line
    assert not any(char in line for char in "\n\r\x1b")


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/api/a%0Ab", id="api"),
        pytest.param("/_inbox/a%0Ab", id="page"),
        pytest.param("/2010-04-01/a%0Ab", id="twilio"),
        pytest.param("/api", id="api-itself"),
    ],
)
def test_reserved_paths_with_line_breaks_are_not_captured(
    client: TestClient, read_events: ReadEvents, path: str
) -> None:
    response = client.post(path, content=b"x")

    assert response.status_code == 404
    assert read_events(client) == []


@pytest.mark.parametrize(
    ("value", "logged"),
    [
        pytest.param("/hooks/plain", "/hooks/plain", id="plain"),
        pytest.param("/a\nb", "/a\\nb", id="line-feed"),
        pytest.param("/a\\nb", "/a\\\\nb", id="backslash"),
        pytest.param("/a\x00\x7f\x85", "/a\\x00\\x7f\\x85", id="c0-del-c1"),
        pytest.param("/a\u202eb\u2028", "/a\\u202eb\\u2028", id="bidi-and-separator"),
        pytest.param("/café/ü", "/café/ü", id="letters-stay"),
    ],
)
def test_printable_escapes_what_would_not_print(value: str, logged: str) -> None:
    assert printable(value) == logged
