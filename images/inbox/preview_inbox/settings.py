"""Settings of the preview inbox: INBOX_* environment variables, overridden by command-line flags.

Every setting has one name: the environment variable is `INBOX_` plus the name in upper case,
the flag is `--` plus the name with dashes. Values are checked here, once, so the server never
starts half-configured. Error messages name the setting and never echo a secret value.
"""

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from urllib.parse import urlsplit

from pydantic import ValidationError

from .rules import RULE_LIST, ResponseRule

ENV_PREFIX = "INBOX_"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
# MailHog's v2 API serves at most this many messages per call.
MAILHOG_MAX_LIMIT = 250


class SettingsError(ValueError):
    """A setting is missing, malformed or inconsistent with another one."""


@dataclass(frozen=True)
class Settings:
    """The inbox's configuration. Secrets are left out of repr()."""

    host: str = "127.0.0.1"
    port: int = 8080
    cap: int = 1000
    max_body_bytes: int = 65_536
    max_total_bytes: int = 32 * 1024 * 1024
    max_api_body_bytes: int = 1024 * 1024
    username: str = ""
    password: str = field(default="", repr=False)
    redis_url: str = field(default="", repr=False)
    mailhog_url: str = field(default="", repr=False)
    mailhog_limit: int = 100
    mailhog_max_bytes: int = 8 * 1024 * 1024
    mailhog_max_text_bytes: int = 65_536
    preview_id: str = "local"
    link_dashboard: str = ""
    link_mailhog: str = ""
    link_nomad: str = ""
    responses: tuple[ResponseRule, ...] = ()
    log_level: str = "INFO"

    @property
    def auth_enabled(self) -> bool:
        """True when the page and the API require basic auth."""
        return bool(self.username)

    @classmethod
    def load(
        cls, environ: Mapping[str, str], overrides: Mapping[str, str | None] | None = None
    ) -> "Settings":
        """Read settings from INBOX_* variables in `environ`, then apply `overrides`.

        `overrides` maps setting names (`max_body_bytes`) to raw strings, as given on the
        command line; a None value means "not given". Raises SettingsError on bad input.
        """
        raw: dict[str, str] = {}
        for setting in fields(cls):
            value = environ.get(env_name(setting.name))
            if value is not None and value != "":
                raw[setting.name] = value
        for name, value in (overrides or {}).items():
            if name not in {setting.name for setting in fields(cls)}:
                raise SettingsError(f"unknown setting {name!r}")
            if value is not None:
                raw[name] = value

        return cls._from_raw(raw)

    @classmethod
    def _from_raw(cls, raw: Mapping[str, str]) -> "Settings":
        defaults = cls()
        username = raw.get("username", "")
        password = raw.get("password", "")
        if bool(username) != bool(password):
            raise SettingsError(
                f"{env_name('username')} and {env_name('password')} must be set together"
            )

        max_body_bytes = _integer(
            raw, "max_body_bytes", defaults.max_body_bytes, low=0, high=64 * 1024 * 1024
        )
        max_total_bytes = _integer(
            raw, "max_total_bytes", defaults.max_total_bytes, low=65_536, high=4 * 1024**3
        )
        if max_total_bytes < max_body_bytes:
            raise SettingsError(
                f"{env_name('max_total_bytes')} ({max_total_bytes}) must be at least "
                f"{env_name('max_body_bytes')} ({max_body_bytes}), so one capture fits"
            )

        return cls(
            host=raw.get("host", defaults.host),
            port=_integer(raw, "port", defaults.port, low=0, high=65_535),
            cap=_integer(raw, "cap", defaults.cap, low=1, high=1_000_000),
            max_body_bytes=max_body_bytes,
            max_total_bytes=max_total_bytes,
            max_api_body_bytes=_integer(
                raw, "max_api_body_bytes", defaults.max_api_body_bytes, low=1024, high=64 * 1024**2
            ),
            username=username,
            password=password,
            redis_url=_url(raw, "redis_url", ("redis", "rediss", "unix")),
            mailhog_url=_url(raw, "mailhog_url", ("http", "https")).rstrip("/"),
            mailhog_limit=_integer(
                raw, "mailhog_limit", defaults.mailhog_limit, low=1, high=MAILHOG_MAX_LIMIT
            ),
            mailhog_max_bytes=_integer(
                raw, "mailhog_max_bytes", defaults.mailhog_max_bytes, low=65_536, high=1024**3
            ),
            mailhog_max_text_bytes=_integer(
                raw,
                "mailhog_max_text_bytes",
                defaults.mailhog_max_text_bytes,
                low=1024,
                high=64 * 1024**2,
            ),
            preview_id=raw.get("preview_id", defaults.preview_id),
            link_dashboard=_url(raw, "link_dashboard", ("http", "https")),
            link_mailhog=_url(raw, "link_mailhog", ("http", "https")),
            link_nomad=_url(raw, "link_nomad", ("http", "https")),
            responses=_responses(raw),
            log_level=_log_level(raw, defaults.log_level),
        )


def env_name(setting: str) -> str:
    """The environment variable that holds a setting: `cap` is read from INBOX_CAP."""
    return f"{ENV_PREFIX}{setting.upper()}"


def _integer(raw: Mapping[str, str], name: str, default: int, *, low: int, high: int) -> int:
    if name not in raw:
        return default
    try:
        value = int(raw[name])
    except ValueError:
        raise SettingsError(f"{env_name(name)} must be an integer, got {raw[name]!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{env_name(name)} must be between {low} and {high}, got {value}")
    return value


def _url(raw: Mapping[str, str], name: str, schemes: tuple[str, ...]) -> str:
    # The value may carry credentials (redis://:password@host), so messages never echo it.
    value = raw.get(name, "")
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in schemes:
        allowed = ", ".join(f"{scheme}://" for scheme in schemes)
        raise SettingsError(f"{env_name(name)} must be a URL starting with {allowed}")
    if parts.scheme != "unix" and not parts.hostname:
        raise SettingsError(f"{env_name(name)} must name a host")
    return value


def _responses(raw: Mapping[str, str]) -> tuple[ResponseRule, ...]:
    text = raw.get("responses", "")
    if not text:
        return ()
    try:
        return tuple(RULE_LIST.validate_python(json.loads(text)))
    except json.JSONDecodeError as error:
        raise SettingsError(f"{env_name('responses')} is not valid JSON: {error}") from None
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}"
            for problem in error.errors()
        )
        raise SettingsError(f"{env_name('responses')} has invalid rules: {problems}") from None


def _log_level(raw: Mapping[str, str], default: str) -> str:
    level = raw.get("log_level", default).upper()
    if level not in LOG_LEVELS:
        raise SettingsError(f"{env_name('log_level')} must be one of {', '.join(LOG_LEVELS)}")
    return level


def log_level_number(settings: Settings) -> int:
    """The logging module's number for the configured level."""
    return logging.getLevelNamesMapping()[settings.log_level]
