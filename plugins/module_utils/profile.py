"""Check an app profile against the rules of a preview and fill in its defaults.

The roles' argument specs check the types of ``preview_app``; this module checks the rules
that span fields: the framework preset and its queue backends, the timeout chain, schedule
names, cron specs and time zones and the PR's opt-in list, and environment that would point the
app outside its preview.
Every refusal is a ``ProfileError`` whose message names the input and the rule.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ansible_collections.nomad_previews.previews.plugins.module_utils.cron import (
    CronError,
    check_cron,
    check_time_zone,
)
from ansible_collections.nomad_previews.previews.plugins.module_utils.hcl import (
    format_duration,
    parse_duration,
)
from ansible_collections.nomad_previews.previews.plugins.module_utils.presets import (
    DRAIN_TIMEOUT_ENV,
    JOB_TIMEOUT_ENV,
    PRESETS,
    SCHEDULES_ENV,
    Preset,
)

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SCHEDULE_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
SECRET_KEY = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")

# Environment that would point the app at a queue or datastore outside its preview is refused by
# three rules, in this order:
# 1. A URL anywhere in the value whose scheme, split on '+', names a queue, broker, cache or
#    database: ``redis+sentinel://``, Celery's ``db+postgresql://``, SQLAlchemy's
#    ``postgresql+psycopg://``, ``mongodb+srv://``; a JDBC ``jdbc:`` prefix is looked through.
DATASTORE_SCHEMES = frozenset(
    {
        # Redis and its forks, and Redis Sentinel (Celery, Kombu)
        "redis", "rediss", "valkey", "valkeys", "sentinel",
        # AMQP brokers as Celery and Kombu name them
        "amqp", "amqps", "pyamqp", "librabbitmq",
        # other brokers and queues
        "sqs", "kafka", "nats", "memcached",
        # databases, including those Celery takes as a result backend
        "postgres", "postgresql", "mysql", "mariadb", "mssql", "sqlserver", "mongodb",
        "cockroachdb", "couchdb", "cassandra", "dynamodb",
    }
)  # fmt: skip
URL_SCHEME = re.compile(r"(?<![A-Za-z0-9+.:-])((?:jdbc:)?[A-Za-z][A-Za-z0-9+.-]*)://")
# 2. A key=value connection string whose server key names a host: ADO.NET (``Host=``,
#    ``Server=``, ``Data Source=``, ``Address=``) and libpq keywords (``host=``, ``hostaddr=``).
CONNECTION_KEY = re.compile(
    r"(?:^|[;\s])(host|hostaddr|hostname|server|data\s+source|address|addr|network\s+address)"
    r"\s*=\s*[^;\s%]",
    re.IGNORECASE,
)
# 3. A name that configures a connection, whatever its value: a store word anywhere in it (or a
#    short one as a whole '_'-separated part) and a connection suffix at its end, with '_'
#    between them or glued to the word (``REDIS_HOST``, ``CACHE_REDIS_URL``, ``PGHOST``); and
#    every name in .NET's ``ConnectionStrings`` section.
STORE_WORDS = (
    "REDIS", "VALKEY", "SENTINEL", "BROKER", "AMQP", "RABBITMQ", "RESULT_BACKEND", "QUEUE",
    "DATABASE", "POSTGRES", "MYSQL", "MARIADB", "MSSQL", "SQLSERVER", "MONGO", "MEMCACHE",
    "MEMCACHIER", "KAFKA",
)  # fmt: skip
STORE_PARTS = ("DB", "PG", "MQ", "SQS", "NATS")
CONNECTION_SUFFIXES = (
    "CONNECTION_STRING", "CONNECTIONSTRING", "ADDRESSES", "SENTINELS", "HOSTNAME", "HOSTADDR",
    "ENDPOINT", "ADDRESS", "SERVERS", "SERVER", "SOCKET", "HOSTS", "NODES", "HOST", "ADDR", "URLS",
    "URIS", "PORT", "URL", "URI", "DSN",
)  # fmt: skip
CONNECTION_NAME = re.compile(
    rf"^(?P<stem>.*?)(?P<separator>_*)(?P<suffix>{'|'.join(CONNECTION_SUFFIXES)})$"
)
DOTNET_CONNECTION_STRINGS = "CONNECTIONSTRINGS__"
SHARES = (
    "the preview wires the app to its own queue job, and a preview never shares a queue or a "
    "datastore"
)

# Environment the project sets itself on every app task; a profile may not override it.
RESERVED_ENV = ("PREVIEW_ENV", "PREVIEW_ID", SCHEDULES_ENV, JOB_TIMEOUT_ENV, DRAIN_TIMEOUT_ENV)
# Wired from the preview's own mail and inbox jobs.
WIRED_ENV = ("SMTP_HOST", "SMTP_PORT", "SMTP_URL", "PREVIEW_INBOX_URL")

TIMEOUT_DEFAULTS = {
    "job": "5m",
    "drain": "20s",
    "drain_margin": "5s",
    "kill": "25s",
    "max_kill": "30s",
    "idle": "48h",
    "progress_deadline": "10m",
}

WORKER_DEFAULTS: dict[str, Any] = {"count": 1, "concurrency": 2, "cpu": 200, "memory": 256}
WEB_DEFAULTS: dict[str, Any] = {
    "count": 1,
    "port": 3000,
    "health_path": "/",
    "cpu": 200,
    "memory": 256,
}


class ProfileError(ValueError):
    """An app profile breaks a rule; the message names the input and the rule."""


def check_profile(app: Mapping[str, Any], opt_in: Sequence[str] = ()) -> dict[str, Any]:
    """Return the checked profile with every default filled in.

    ``app`` is the ``preview_app`` variable; ``opt_in`` is the PR's list of schedule names to
    enable (``preview_schedules_enabled``). Durations come back as integer seconds.
    """
    framework = str(app.get("framework"))
    if framework not in PRESETS:
        raise ProfileError(
            f"preview_app.framework {app.get('framework')!r} is not supported: "
            f"choose one of {', '.join(sorted(PRESETS))}"
        )
    preset = PRESETS[framework]

    queue = _check_queue(app.get("queue") or {}, preset)
    image = app.get("image") or ""
    shared_env = _check_env("preview_app.env", app.get("env") or {}, preset)
    worker = _check_worker(app.get("worker") or {}, image, preset)
    web = _check_web(app["web"], image, preset) if app.get("web") is not None else None
    schedules = _check_schedules(app.get("schedules") or [], image, opt_in, preset)
    secrets = _check_secrets(app.get("secrets") or {}, preset)
    timeouts = check_timeouts(app.get("timeouts") or {})

    return {
        "name": app.get("name") or "",
        "framework": framework,
        "image": image,
        "env": shared_env,
        "queue": queue,
        "worker": worker,
        "web": web,
        "schedules": schedules,
        "secrets": secrets,
        "timeouts": timeouts,
        "mail": _check_mail(app.get("mail") or {}),
        "dashboard": _check_dashboard(app.get("dashboard") or {}, preset, web),
    }


def check_timeouts(given: Mapping[str, Any]) -> dict[str, int]:
    """Parse the timeouts and check that they nest; return them in seconds.

    The chain: job timeout < idle timeout; drain + margin <= kill_timeout <= max_kill_timeout,
    with a margin of at least 1s; kill_timeout <= the group's progress deadline (Nomad refuses a
    longer one for service jobs).
    A broken chain is refused with the whole chain printed and the broken link marked.
    """
    unknown = sorted(set(given) - set(TIMEOUT_DEFAULTS))
    if unknown:
        raise ProfileError(
            f"preview_app.timeouts has unknown key(s) {', '.join(unknown)}: "
            f"known keys are {', '.join(TIMEOUT_DEFAULTS)}"
        )
    seconds: dict[str, int] = {}
    for key, default in TIMEOUT_DEFAULTS.items():
        value = given.get(key, default)
        try:
            seconds[key] = parse_duration(value)
        except ValueError as err:
            raise ProfileError(f"preview_app.timeouts.{key}: {err}") from err
    for key in ("job", "kill", "max_kill", "idle"):
        if seconds[key] <= 0:
            raise ProfileError(f"preview_app.timeouts.{key} must be longer than 0s")
    if seconds["drain_margin"] < 1:
        raise ProfileError(
            "preview_app.timeouts.drain_margin must be at least 1s: the worker's drain must end "
            "before Nomad's kill_timeout sends SIGKILL"
        )
    if seconds["progress_deadline"] < 30:
        raise ProfileError(
            "preview_app.timeouts.progress_deadline must be at least 30s: a deployment needs "
            "time to start an allocation and see it healthy"
        )

    t = seconds
    links = [
        ("job < idle", t["job"] < t["idle"]),
        ("drain + drain_margin <= kill", t["drain"] + t["drain_margin"] <= t["kill"]),
        ("kill <= max_kill", t["kill"] <= t["max_kill"]),
        ("kill <= progress_deadline", t["kill"] <= t["progress_deadline"]),
    ]
    broken = [name for name, holds in links if not holds]
    if broken:
        raise ProfileError(
            f"preview_app.timeouts: the timeout chain is broken at {broken[0]!r}\n"
            + describe_chain(t, broken)
        )
    return seconds


def describe_chain(t: Mapping[str, int], broken: Sequence[str] = ()) -> str:
    """Render the timeout chain one link a line, marking the broken ones."""
    go = format_duration
    rows = [
        ("job < idle", f"job {go(t['job'])} < idle {go(t['idle'])}"),
        (
            "drain + drain_margin <= kill",
            f"drain {go(t['drain'])} + drain_margin {go(t['drain_margin'])}"
            f" = {go(t['drain'] + t['drain_margin'])} <= kill {go(t['kill'])}",
        ),
        ("kill <= max_kill", f"kill {go(t['kill'])} <= max_kill {go(t['max_kill'])}"),
        (
            "kill <= progress_deadline",
            f"kill {go(t['kill'])} <= progress_deadline {go(t['progress_deadline'])}",
        ),
    ]
    width = max(len(text) for _, text in rows)
    return "\n".join(
        f"  {text:<{width}}  {'<-- broken' if name in broken else 'ok'}" for name, text in rows
    )


def _check_queue(queue: Mapping[str, Any], preset: Preset) -> dict[str, Any]:
    backend = queue.get("backend") or preset.default_backend
    if backend not in preset.backends:
        raise ProfileError(
            f"preview_app.queue.backend {backend!r} is not supported by {preset.name}: "
            f"choose one of {', '.join(preset.backends)}"
        )
    if queue.get("url"):
        raise ProfileError(
            "preview_app.queue.url is refused: a preview always runs its own queue job and "
            f"wires {preset.queue_url_var} to it; remove the url"
        )
    return {"backend": backend, "image": queue.get("image") or "", "url_var": preset.queue_url_var}


def _check_env(where: str, env: Mapping[str, Any], preset: Preset) -> dict[str, str]:
    checked: dict[str, str] = {}
    for name, value in env.items():
        if not isinstance(name, str) or not ENV_NAME.match(name):
            raise ProfileError(
                f"{where}: variable name {name!r} is invalid: use letters, digits and '_', "
                "not starting with a digit"
            )
        if name in RESERVED_ENV or name in WIRED_ENV:
            raise ProfileError(
                f"{where}.{name} is set by the preview itself and cannot be overridden"
            )
        if name == preset.queue_url_var:
            raise ProfileError(
                f"{where}.{name} is refused: the queue URL is wired to the preview's own queue "
                "job; a preview never shares a queue"
            )
        if isinstance(value, (dict, list)) or value is None:
            raise ProfileError(f"{where}.{name} must be a string, number or boolean")
        text = str(value).lower() if isinstance(value, bool) else str(value)
        server = _names_a_server(text)
        if server:
            raise ProfileError(
                f"{where}.{name} points outside the preview: {server} names a queue or datastore "
                f"server; {SHARES}"
            )
        connection = _configures_a_connection(name)
        if connection:
            raise ProfileError(
                f"{where}.{name} is refused whatever its value: {connection} configures a queue "
                f"or datastore connection; {SHARES}"
            )
        checked[name] = text
    return checked


def _names_a_server(value: str) -> str:
    """Say what in ``value`` names a queue or datastore server, or return ``""``."""
    for match in URL_SCHEME.finditer(value):
        scheme = match.group(1)
        parts = scheme.lower().removeprefix("jdbc:").split("+")
        if DATASTORE_SCHEMES.intersection(parts):
            return f"the URL scheme {scheme}://"
    key = CONNECTION_KEY.search(value)
    if key:
        return f"the connection string key {' '.join(key.group(1).split())}"
    return ""


def _configures_a_connection(name: str) -> str:
    """Say why ``name`` configures a queue or datastore connection, or return ``""``."""
    upper = name.upper()
    if upper.startswith(DOTNET_CONNECTION_STRINGS):
        return "a name in the .NET ConnectionStrings section"
    match = CONNECTION_NAME.match(upper)
    if not match:
        return ""
    stem, suffix = match.group("stem"), match.group("suffix")

    if match.group("separator"):
        words = [word for word in STORE_WORDS if word in stem]
        words += [part for part in STORE_PARTS if part in stem.split("_")]
    else:
        # Glued to the suffix (PGHOST, MYSQLPORT): the word must end the stem's last part.
        last = stem.rsplit("_", 1)[-1]
        words = [word for word in STORE_WORDS if last.endswith(word)]
        words += [part for part in STORE_PARTS if last == part]
    if not words:
        return ""
    return f"a name with {words[0]} ending in {suffix}"


def _command(where: str, command: Any, default: Sequence[str]) -> list[str]:
    if command is None or command == []:
        return list(default)
    if isinstance(command, str):
        raise ProfileError(f"{where} must be a list of arguments, not a shell string")
    if not all(isinstance(part, str) and part for part in command):
        raise ProfileError(f"{where} must be a list of non-empty strings")
    return list(command)


def _positive(where: str, value: Any, default: int, upper: int) -> int:
    number = default if value is None else value
    if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= upper:
        raise ProfileError(f"{where} must be a whole number from 1 to {upper}, got {number!r}")
    return number


def _image(where: str, image: str) -> str:
    if not image:
        raise ProfileError(f"{where} is required (or set preview_app.image for every process)")
    if any(ch.isspace() for ch in image):
        raise ProfileError(f"{where} {image!r} must not contain whitespace")
    return image


def _check_worker(worker: Mapping[str, Any], image: str, preset: Preset) -> dict[str, Any]:
    d = WORKER_DEFAULTS
    command = _command("preview_app.worker.command", worker.get("command"), preset.default_command)
    embedded = [flag for flag in preset.scheduler.in_worker_flags if flag in command]
    if embedded:
        raise ProfileError(
            f"preview_app.worker.command starts {preset.scheduler.name} inside the worker "
            f"({embedded[0]}): a preview runs the app's schedules as Nomad periodic jobs, off "
            f"unless opted in; remove {embedded[0]}"
        )
    return {
        "image": _image("preview_app.worker.image", worker.get("image") or image),
        "command": command,
        "env": _check_env("preview_app.worker.env", worker.get("env") or {}, preset),
        "count": _positive("preview_app.worker.count", worker.get("count"), d["count"], 10),
        "concurrency": _positive(
            "preview_app.worker.concurrency", worker.get("concurrency"), d["concurrency"], 64
        ),
        "cpu": _positive("preview_app.worker.cpu", worker.get("cpu"), d["cpu"], 8000),
        "memory": _positive("preview_app.worker.memory", worker.get("memory"), d["memory"], 16384),
    }


def _check_web(web: Mapping[str, Any], image: str, preset: Preset) -> dict[str, Any]:
    d = WEB_DEFAULTS
    health_path = web.get("health_path") or d["health_path"]
    if not str(health_path).startswith("/"):
        raise ProfileError(f"preview_app.web.health_path {health_path!r} must start with '/'")
    return {
        "image": _image("preview_app.web.image", web.get("image") or image),
        "command": _command("preview_app.web.command", web.get("command"), ()),
        "env": _check_env("preview_app.web.env", web.get("env") or {}, preset),
        "count": _positive("preview_app.web.count", web.get("count"), d["count"], 10),
        "port": _positive("preview_app.web.port", web.get("port"), d["port"], 65535),
        "health_path": str(health_path),
        "cpu": _positive("preview_app.web.cpu", web.get("cpu"), d["cpu"], 8000),
        "memory": _positive("preview_app.web.memory", web.get("memory"), d["memory"], 16384),
    }


def _check_schedules(
    schedules: Sequence[Mapping[str, Any]], image: str, opt_in: Sequence[str], preset: Preset
) -> list[dict[str, Any]]:
    checked: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, schedule in enumerate(schedules):
        where = f"preview_app.schedules[{index}]"
        name = schedule.get("name")
        if not isinstance(name, str) or not SCHEDULE_NAME.match(name):
            raise ProfileError(
                f"{where}.name {name!r} is invalid: use lower-case letters, digits, '_' and '-', "
                "starting with a letter, at most 64 characters"
            )
        if name in seen:
            raise ProfileError(f"{where}.name {name!r} is used by another schedule")
        seen.add(name)
        try:
            cron = check_cron(f"{where}.cron", schedule.get("cron"))
            time_zone = check_time_zone(f"{where}.time_zone", schedule.get("time_zone") or "UTC")
        except CronError as err:
            raise ProfileError(str(err)) from err
        command = _command(f"{where}.command", schedule.get("command"), ())
        if not command:
            raise ProfileError(f"{where}.command is required")
        checked.append(
            {
                "name": name,
                "cron": cron,
                "time_zone": time_zone,
                "command": command,
                "image": _image(f"{where}.image", schedule.get("image") or image),
                "env": _check_env(f"{where}.env", schedule.get("env") or {}, preset),
                "enabled": name in opt_in,
            }
        )
    unknown = [name for name in opt_in if name not in seen]
    if unknown:
        known = ", ".join(sorted(seen)) or "none"
        raise ProfileError(
            f"preview_schedules_enabled names {', '.join(map(repr, unknown))}, which is not a "
            f"schedule of this app (schedules: {known})"
        )
    return checked


def _check_secrets(secrets: Mapping[str, Any], preset: Preset) -> dict[str, str]:
    checked: dict[str, str] = {}
    for name, key in secrets.items():
        if not isinstance(name, str) or not ENV_NAME.match(name):
            raise ProfileError(f"preview_app.secrets: variable name {name!r} is invalid")
        if name in RESERVED_ENV or name in WIRED_ENV or name == preset.queue_url_var:
            raise ProfileError(f"preview_app.secrets.{name} is set by the preview itself")
        if not isinstance(key, str) or not SECRET_KEY.match(key):
            raise ProfileError(
                f"preview_app.secrets.{name}: Vault key {key!r} is invalid: use letters, "
                "digits, '_', '.' and '-', at most 128 characters"
            )
        checked[name] = key
    return checked


def _check_mail(mail: Mapping[str, Any]) -> dict[str, str]:
    server = mail.get("server") or "mailhog"
    if server not in ("mailhog", "mailpit"):
        raise ProfileError(
            f"preview_app.mail.server {server!r} is not supported: choose mailhog or mailpit"
        )
    return {"server": server, "image": mail.get("image") or ""}


def _check_dashboard(
    given: Mapping[str, Any], preset: Preset, web: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    dashboard = preset.dashboard
    if dashboard is None:
        return None
    if dashboard.own_process:
        return {
            "name": dashboard.name,
            "own_process": True,
            "image": given.get("image") or dashboard.image,
            "command": _command(
                "preview_app.dashboard.command", given.get("command"), dashboard.command
            ),
            "port": _positive(
                "preview_app.dashboard.port", given.get("port"), dashboard.port, 65535
            ),
            "url_var": dashboard.url_var,
            "path": "/",
        }
    return {
        "name": dashboard.name,
        "own_process": False,
        "path": given.get("path") or dashboard.path,
        # Mounted in the app's web process: reachable only when the profile declares one.
        "reachable": web is not None,
    }
