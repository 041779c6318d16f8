"""The page shell as served: escaped configuration, links, and the headers that guard it."""

import pytest
from fastapi.testclient import TestClient

from inbox_testing import MakeClient


def test_page_shows_the_preview_and_its_links(make_client: MakeClient) -> None:
    client = make_client(
        preview_id="shop-pr-42",
        link_dashboard="https://jobs.preview.test/",
        link_mailhog="https://mail.preview.test/",
        link_nomad="https://nomad.preview.test/ui/jobs?namespace=shop-pr-42&region=global",
    )

    page = client.get("/_inbox/")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "shop-pr-42" in page.text
    assert 'href="https://jobs.preview.test/"' in page.text
    assert 'href="https://mail.preview.test/"' in page.text
    assert (
        'href="https://nomad.preview.test/ui/jobs?namespace=shop-pr-42&amp;region=global"'
        in page.text
    )


def test_page_links_its_own_icon_so_browsers_skip_favicon_ico(client: TestClient) -> None:
    assert '<link rel="icon" href="favicon.svg"' in client.get("/_inbox/").text


def test_page_without_links_says_so(client: TestClient) -> None:
    assert "No links configured" in client.get("/_inbox/").text


def test_configuration_is_escaped_in_the_page(make_client: MakeClient) -> None:
    client = make_client(preview_id='<script>alert("id")</script>')

    page = client.get("/_inbox/").text

    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&quot;id&quot;)&lt;/script&gt;" in page


def test_captured_data_never_reaches_the_html(client: TestClient) -> None:
    client.post("/hooks/x", content=b"<script>window.pwned=1</script>")

    assert "pwned" not in client.get("/_inbox/").text


def test_page_forbids_inline_script(client: TestClient) -> None:
    policy = client.get("/_inbox/").headers["content-security-policy"]

    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy


def test_script_writes_captured_data_as_text_only(client: TestClient) -> None:
    script = client.get("/_inbox/app.js")

    assert script.headers["content-type"].startswith("text/javascript")
    assert "textContent" in script.text
    assert "innerHTML" not in script.text
    assert "insertAdjacentHTML" not in script.text


@pytest.mark.parametrize(
    ("path", "status", "location"),
    [
        pytest.param("/_inbox", 307, "/_inbox/", id="no-slash"),
        pytest.param("/_inbox/style.css", 200, None, id="stylesheet"),
        pytest.param("/_inbox/favicon.svg", 200, None, id="icon"),
        pytest.param("/_inbox/missing", 404, None, id="unknown"),
    ],
)
def test_page_routes(client: TestClient, path: str, status: int, location: str | None) -> None:
    response = client.get(path, follow_redirects=False)

    assert response.status_code == status
    assert response.headers.get("location") == location
