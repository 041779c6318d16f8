"""The reviewer page: a server-rendered shell whose script fills the timeline from the API.

Only configuration reaches the HTML, every value escaped; captured data never does. The
script puts captured data into the page as text nodes only, and the Content-Security-Policy
sent with the page allows no inline script, so a hostile body stays text on every path.
"""

import html
from importlib import resources
from string import Template

from .settings import Settings

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def asset(name: str) -> bytes:
    """A file shipped in the package's static folder."""
    return resources.files("preview_inbox").joinpath("static", name).read_bytes()


def render_page(settings: Settings) -> str:
    """The page's HTML for these settings."""
    links = [
        ("Job dashboard", settings.link_dashboard),
        ("MailHog", settings.link_mailhog),
        ("Nomad UI", settings.link_nomad),
    ]
    anchors = " ".join(
        f'<a href="{html.escape(url)}" target="_blank" rel="noopener noreferrer">'
        f"{html.escape(label)}</a>"
        for label, url in links
        if url
    )
    template = Template(asset("page.html").decode("utf-8"))
    return template.substitute(
        preview_id=html.escape(settings.preview_id),
        link_mailhog=html.escape(settings.link_mailhog),
        links=anchors or '<span class="no-links">No links configured</span>',
    )
