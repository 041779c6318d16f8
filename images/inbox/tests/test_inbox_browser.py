"""The reviewer page in real headless Chromium: live updates, search, and hostile bodies."""

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from inbox_testing import LiveServer, StartServer

if TYPE_CHECKING:
    # Imported where used at run time, so the module loads (and skips) without Playwright.
    from playwright.sync_api import Browser, HttpCredentials, Page

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--headless",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[3] / "build" / "test-artifacts"
ACCOUNT = "AC" + "0123456789abcdef" * 2
REVIEWER: "HttpCredentials" = {"username": "reviewer", "password": "page-test-pw"}
# Web-first assertions poll the page; give a loaded CI machine room before failing.
UI_TIMEOUT_MS = 15_000


@pytest.fixture
def browser() -> Iterator["Browser"]:
    """Debian's Chromium, headless, driven by Playwright."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Debian's chromium is not installed at {CHROMIUM} (CI installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def inbox(live_server: StartServer) -> LiveServer:
    """An inbox over real HTTP, with reviewer auth and the preview's links."""
    return live_server(
        preview_id="shop-pr-42",
        username=REVIEWER["username"],
        password=REVIEWER["password"],
        link_dashboard="https://jobs.shop-pr-42.preview.test/",
        link_mailhog="https://mail.shop-pr-42.preview.test/",
        link_nomad="https://nomad.preview.test/ui/jobs?namespace=shop-pr-42",
    )


@pytest.fixture
def page(browser: "Browser", inbox: LiveServer) -> Iterator["Page"]:
    """The reviewer page, opened with the reviewer's credentials, its first poll answered."""
    from playwright.sync_api import expect

    expect.set_options(timeout=UI_TIMEOUT_MS)
    context = browser.new_context(
        http_credentials=REVIEWER, viewport={"width": 1280, "height": 900}
    )
    opened = context.new_page()
    opened.goto(f"{inbox.url}/_inbox/")
    # The first poll has answered once the page says the timeline is empty.
    expect(opened.locator("#empty")).to_be_visible()
    yield opened
    context.close()


def send_sms(inbox: LiveServer, body: str) -> None:
    """Send an SMS through the inbox's Twilio API, as the app would."""
    response = httpx.post(
        f"{inbox.url}/2010-04-01/Accounts/{ACCOUNT}/Messages.json",
        data={"To": "+15550100", "From": "+15550199", "Body": body},
        auth=(ACCOUNT, "test-auth-token"),
    )
    assert response.status_code == 201, response.text


def test_webhook_and_sms_appear_without_a_reload(page: "Page", inbox: LiveServer) -> None:
    from playwright.sync_api import expect

    page.evaluate("window.sameDocument = true")

    hook = httpx.post(
        f"{inbox.url}/hooks/orders/paid?attempt=1",
        json={"order": 1042, "status": "paid"},
    )
    send_sms(inbox, "Your order 1042 has shipped")

    assert hook.status_code == 200
    webhook = page.locator("li.kind-webhook")
    sms = page.locator("li.kind-sms")
    expect(webhook).to_contain_text("POST /hooks/orders/paid?attempt=1")
    expect(sms).to_contain_text("+15550100")
    expect(sms).to_contain_text("Your order 1042 has shipped")
    expect(page.locator("#timeline > li")).to_have_count(2)
    expect(page.locator("#timeline > li").first).to_have_class("event kind-sms")
    assert page.evaluate("window.sameDocument") is True

    webhook.locator("summary").click()
    expect(webhook.locator("pre").last).to_contain_text('"order": 1042')
    expect(page.get_by_role("link", name="Nomad UI")).to_have_attribute(
        "href", "https://nomad.preview.test/ui/jobs?namespace=shop-pr-42"
    )

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screenshot = ARTIFACTS / "inbox-timeline.png"
    screenshot.unlink(missing_ok=True)
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.exists()
    assert screenshot.stat().st_size > 0


def test_search_narrows_the_timeline(page: "Page", inbox: LiveServer) -> None:
    from playwright.sync_api import expect

    httpx.post(f"{inbox.url}/hooks/invoice", content=b"invoice 77 created")
    send_sms(inbox, "Your parcel is out for delivery")
    expect(page.locator("#timeline > li")).to_have_count(2)

    page.fill("#search", "parcel")

    expect(page.locator("#timeline > li")).to_have_count(1)
    expect(page.locator("#timeline > li")).to_contain_text("out for delivery")


def test_script_in_a_captured_body_is_shown_as_text(page: "Page", inbox: LiveServer) -> None:
    from playwright.sync_api import expect

    hostile = '<script>window.pwned = 1</script><img src="x" onerror="window.pwned = 2">'
    httpx.post(
        f"{inbox.url}/hooks/<b>bold</b>",
        content=hostile.encode(),
        headers={"Content-Type": "text/html", "X-Note": "<i>header</i>"},
    )
    send_sms(inbox, hostile)

    webhook = page.locator("li.kind-webhook")
    webhook.locator("summary").click()
    expect(webhook.locator("pre").last).to_have_text(hostile)
    expect(webhook.locator("pre").first).to_contain_text("x-note: <i>header</i>")
    expect(page.locator("li.kind-sms")).to_contain_text(hostile[:40])
    assert page.evaluate("window.pwned") is None
    assert page.locator("#timeline script, #timeline img, #timeline b, #timeline i").count() == 0
