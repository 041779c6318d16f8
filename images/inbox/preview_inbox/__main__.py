"""Run the inbox: `python -m preview_inbox --port 8080`.

Settings come from INBOX_* environment variables; a flag given here overrides its variable.
The password is read from INBOX_PASSWORD only, so it never shows in a process list.
"""

import argparse
import logging
import os
import sys
from collections.abc import Sequence

import uvicorn

from .app import create_app
from .logtext import printable
from .settings import Settings, SettingsError, env_name, log_level_number

# Settings that have a flag; the password deliberately has none.
_FLAGS = {
    "host": "address to listen on",
    "port": "port to listen on",
    "cap": "how many captures to keep in memory",
    "max_body_bytes": "how much of each request body to keep",
    "max_total_bytes": "how many bytes of captures to keep in memory, all together",
    "max_api_body_bytes": "the largest request body the API accepts",
    "username": "username for the page and the API (password: INBOX_PASSWORD only)",
    "redis_url": "Redis to persist captures in",
    "mailhog_url": "MailHog whose API to read email from",
    "mailhog_limit": "how many recent emails to show",
    "mailhog_max_bytes": "the largest message list to read from MailHog",
    "mailhog_max_text_bytes": "how much of each email's text to show",
    "preview_id": "the preview's ID, shown on the page and in every log line",
    "link_dashboard": "link to the job dashboard",
    "link_mailhog": "link to MailHog's web UI",
    "link_nomad": "link to the Nomad UI",
    "responses": "response rules as JSON",
    "log_level": "DEBUG, INFO, WARNING or ERROR",
}


class PreviewFormatter(logging.Formatter):
    """Puts the preview ID on every line of the log.

    The inbox's own lines name it themselves; lines from uvicorn and other libraries (start,
    stop, errors) get it appended to their first line.
    """

    def __init__(self, preview_id: str) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self._tag = f" (preview {printable(preview_id)})"

    def formatMessage(self, record: logging.LogRecord) -> str:
        """The line without its traceback, tagged when another library wrote it."""
        line = super().formatMessage(record)
        if record.name.partition(".")[0] == "preview_inbox":
            return line
        return line + self._tag


def parse_args(argv: Sequence[str]) -> dict[str, str | None]:
    """The flags given on the command line, as raw strings keyed by setting name."""
    parser = argparse.ArgumentParser(
        prog="python -m preview_inbox",
        description="Capture webhooks and SMS for a preview and show them beside its email.",
    )
    for name, help_text in _FLAGS.items():
        parser.add_argument(
            f"--{name.replace('_', '-')}",
            dest=name,
            metavar="VALUE",
            help=f"{help_text} (environment: {env_name(name)})",
        )
    given: dict[str, str | None] = vars(parser.parse_args(argv))
    return given


def main(argv: Sequence[str] | None = None) -> int:
    """Read the settings, configure logging and serve until stopped."""
    overrides = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        settings = Settings.load(os.environ, overrides)
    except SettingsError as error:
        print(f"preview_inbox: {error}", file=sys.stderr)
        return 2

    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(PreviewFormatter(settings.preview_id))
    logging.basicConfig(level=log_level_number(settings), handlers=[handler])
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # Named for the package: run with -m, this module's own name is "__main__".
    logging.getLogger("preview_inbox").info(
        "Inbox for preview %s listening on %s:%d (cap %d captures or %d bytes, auth %s, "
        "redis %s, mailhog %s)",
        settings.preview_id,
        settings.host,
        settings.port,
        settings.cap,
        settings.max_total_bytes,
        "on" if settings.auth_enabled else "off",
        "on" if settings.redis_url else "off",
        "on" if settings.mailhog_url else "off",
    )

    # The inbox logs one line per capture itself, so uvicorn's access log stays off.
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        access_log=False,
        log_config=None,
        proxy_headers=False,
        server_header=False,
        # Nomad kills the task a few seconds after asking it to stop; waiting API calls end here.
        timeout_graceful_shutdown=3,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
