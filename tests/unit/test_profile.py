"""App profile rules: presets, queue isolation, schedules, the timeout chain."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ansible_collections.nomad_previews.previews.plugins.module_utils.presets import PRESETS
from ansible_collections.nomad_previews.previews.plugins.module_utils.profile import (
    ProfileError,
    check_profile,
    check_timeouts,
)

BASE: dict[str, Any] = {
    "framework": "sidekiq",
    "image": "registry.example.com/acme/shop:1",
    "schedules": [{"name": "digest", "cron": "0 3 * * *", "command": ["rake", "digest"]}],
}


def profile(**changes: Any) -> dict[str, Any]:
    app = copy.deepcopy(BASE)
    app.update(changes)
    return app


def test_defaults_are_filled_and_smaller_than_production() -> None:
    checked = check_profile(profile())

    assert checked["queue"] == {"backend": "redis", "image": "", "url_var": "REDIS_URL"}
    assert checked["worker"]["count"] == 1
    assert checked["worker"]["concurrency"] == 2
    assert checked["worker"]["command"] == ["bundle", "exec", "sidekiq"]
    assert checked["web"] is None
    assert checked["mail"]["server"] == "mailhog"
    assert checked["timeouts"] == {
        "job": 300,
        "drain": 20,
        "drain_margin": 5,
        "kill": 25,
        "max_kill": 30,
        "idle": 48 * 3600,
        "progress_deadline": 600,
    }


def test_schedules_are_disabled_unless_opted_in() -> None:
    app = profile(
        schedules=[
            {"name": "digest", "cron": "0 3 * * *", "command": ["rake", "digest"]},
            {"name": "cleanup", "cron": "@daily", "command": ["rake", "cleanup"]},
        ]
    )

    checked = check_profile(app, ["cleanup"])

    assert [(s["name"], s["enabled"]) for s in checked["schedules"]] == [
        ("digest", False),
        ("cleanup", True),
    ]


def test_a_schedule_keeps_its_time_zone_and_defaults_to_utc() -> None:
    app = profile(
        schedules=[
            {"name": "digest", "cron": "0  3 * * *", "command": ["rake", "digest"]},
            {
                "name": "report",
                "cron": "0 7 * * MON",
                "time_zone": "Europe/Berlin",
                "command": ["rake", "report"],
            },
        ]
    )

    checked = check_profile(app)

    assert [(s["cron"], s["time_zone"]) for s in checked["schedules"]] == [
        ("0 3 * * *", "UTC"),
        ("0 7 * * MON", "Europe/Berlin"),
    ]


DEFAULT_QUEUES = [
    pytest.param("sidekiq", "redis", "REDIS_URL", id="sidekiq"),
    pytest.param("celery", "redis", "CELERY_BROKER_URL", id="celery"),
    pytest.param("rq", "redis", "REDIS_URL", id="rq"),
    pytest.param("dramatiq", "redis", "DRAMATIQ_BROKER_URL", id="dramatiq"),
    pytest.param("bullmq", "redis", "REDIS_URL", id="bullmq"),
    pytest.param("hangfire", "postgres", "ConnectionStrings__Hangfire", id="hangfire"),
    pytest.param("oban", "postgres", "DATABASE_URL", id="oban"),
    pytest.param("goodjob", "postgres", "DATABASE_URL", id="goodjob"),
]


@pytest.mark.parametrize(("framework", "backend", "url_var"), DEFAULT_QUEUES)
def test_every_preset_checks_with_its_default_backend(
    framework: str, backend: str, url_var: str
) -> None:
    checked = check_profile(profile(framework=framework))

    assert checked["queue"] == {"backend": backend, "image": "", "url_var": url_var}


def test_the_table_of_default_queues_covers_every_preset() -> None:
    assert sorted(case.values[0] for case in DEFAULT_QUEUES) == sorted(PRESETS)


REFUSALS = [
    pytest.param(
        {"framework": "resque"},
        (),
        "preview_app.framework 'resque' is not supported: choose one of bullmq, celery, "
        "dramatiq, goodjob, hangfire, oban, rq, sidekiq",
        id="unknown-framework",
    ),
    pytest.param(
        {"queue": {"backend": "postgres"}},
        (),
        "preview_app.queue.backend 'postgres' is not supported by sidekiq: choose one of redis",
        id="backend-not-in-preset",
    ),
    pytest.param(
        {"queue": {"url": "redis://shared-redis:6379/3"}},
        (),
        "preview_app.queue.url is refused: a preview always runs its own queue job and wires "
        "REDIS_URL to it; remove the url",
        id="queue-url-given",
    ),
    pytest.param(
        {"env": {"CACHE_URL": "redis://shared-redis.internal:6379/0"}},
        (),
        "preview_app.env.CACHE_URL points outside the preview: the URL scheme redis:// names a "
        "queue or datastore server; the preview wires the app to its own queue job, and a "
        "preview never shares a queue or a datastore",
        id="env-points-at-shared-redis",
    ),
    pytest.param(
        {"worker": {"env": {"REDIS_URL": "redis://localhost"}}},
        (),
        "preview_app.worker.env.REDIS_URL is refused: the queue URL is wired to the preview's "
        "own queue job; a preview never shares a queue",
        id="env-sets-queue-var",
    ),
    pytest.param(
        {"env": {"PREVIEW_ENV": "0"}},
        (),
        "preview_app.env.PREVIEW_ENV is set by the preview itself and cannot be overridden",
        id="env-overrides-preview-flag",
    ),
    pytest.param(
        {"worker": {"env": {"PREVIEW_DRAIN_TIMEOUT": "60"}}},
        (),
        "preview_app.worker.env.PREVIEW_DRAIN_TIMEOUT is set by the preview itself and cannot be "
        "overridden",
        id="env-overrides-drain-timeout",
    ),
    pytest.param(
        {"secrets": {"PREVIEW_DRAIN_TIMEOUT": "drain"}},
        (),
        "preview_app.secrets.PREVIEW_DRAIN_TIMEOUT is set by the preview itself",
        id="secret-overrides-drain-timeout",
    ),
    pytest.param(
        {"framework": "celery", "worker": {"command": ["celery", "--app", "shop", "worker", "-B"]}},
        (),
        "preview_app.worker.command starts celery beat inside the worker (-B): a preview runs the "
        "app's schedules as Nomad periodic jobs, off unless opted in; remove -B",
        id="celery-beat-in-the-worker",
    ),
    pytest.param(
        {
            "framework": "celery",
            "worker": {"command": ["celery", "-A", "shop", "worker", "--beat"]},
        },
        (),
        "preview_app.worker.command starts celery beat inside the worker (--beat): a preview runs "
        "the app's schedules as Nomad periodic jobs, off unless opted in; remove --beat",
        id="celery-beat-long-flag",
    ),
    pytest.param(
        {"env": {"BAD-NAME": "x"}},
        (),
        "preview_app.env: variable name 'BAD-NAME' is invalid: use letters, digits and '_', "
        "not starting with a digit",
        id="env-name",
    ),
    pytest.param(
        {"image": ""},
        (),
        "preview_app.worker.image is required (or set preview_app.image for every process)",
        id="no-image",
    ),
    pytest.param(
        {"worker": {"command": "bundle exec sidekiq"}},
        (),
        "preview_app.worker.command must be a list of arguments, not a shell string",
        id="shell-string-command",
    ),
    pytest.param(
        {"worker": {"concurrency": 0}},
        (),
        "preview_app.worker.concurrency must be a whole number from 1 to 64, got 0",
        id="zero-concurrency",
    ),
    pytest.param(
        {"schedules": [{"name": "Digest", "cron": "0 3 * * *", "command": ["x"]}]},
        (),
        "preview_app.schedules[0].name 'Digest' is invalid: use lower-case letters, digits, "
        "'_' and '-', starting with a letter, at most 64 characters",
        id="schedule-name",
    ),
    pytest.param(
        {
            "schedules": [
                {"name": "a", "cron": "0 3 * * *", "command": ["x"]},
                {"name": "a", "cron": "0 4 * * *", "command": ["y"]},
            ]
        },
        (),
        "preview_app.schedules[1].name 'a' is used by another schedule",
        id="schedule-duplicate",
    ),
    pytest.param(
        {"schedules": [{"name": "a", "cron": "0 3 * *", "command": ["x"]}]},
        (),
        "preview_app.schedules[0].cron '0 3 * *' must have 5 fields (minute hour day-of-month "
        "month day-of-week) or be one of @yearly, @annually, @monthly, @weekly, @daily, @hourly",
        id="schedule-cron-fields",
    ),
    pytest.param(
        {"schedules": [{"name": "a", "cron": "a b c d e", "command": ["x"]}]},
        (),
        "preview_app.schedules[0].cron 'a b c d e': the minute field 'a' is invalid: use 0-59, "
        "*, a range (a-b), a step (*/n, a/n or a-b/n) or a comma-separated list of these",
        id="schedule-cron-field-value",
    ),
    pytest.param(
        {
            "schedules": [
                {"name": "a", "cron": "0 3 * * *", "command": ["x"]},
                {"name": "b", "cron": "0 4 * * *", "time_zone": "Mars/Olympus", "command": ["y"]},
            ]
        },
        (),
        "preview_app.schedules[1].time_zone 'Mars/Olympus' is not a time zone: use a tz "
        "database name such as 'Europe/Berlin' or 'UTC'",
        id="schedule-time-zone",
    ),
    pytest.param(
        {},
        ("nightly",),
        "preview_schedules_enabled names 'nightly', which is not a schedule of this app "
        "(schedules: digest)",
        id="opt-in-unknown",
    ),
    pytest.param(
        {"secrets": {"API_KEY": "../prod/key"}},
        (),
        "preview_app.secrets.API_KEY: Vault key '../prod/key' is invalid: use letters, digits, "
        "'_', '.' and '-', at most 128 characters",
        id="secret-key-path",
    ),
    pytest.param(
        {"mail": {"server": "postfix"}},
        (),
        "preview_app.mail.server 'postfix' is not supported: choose mailhog or mailpit",
        id="mail-server",
    ),
]


@pytest.mark.parametrize(("changes", "opt_in", "message"), REFUSALS)
def test_profile_refusals_name_the_input_and_the_rule(
    changes: dict[str, Any], opt_in: tuple[str, ...], message: str
) -> None:
    with pytest.raises(ProfileError) as caught:
        check_profile(profile(**changes), opt_in)

    assert str(caught.value) == message


SHARES = (
    "the preview wires the app to its own queue job, and a preview never shares a queue or a "
    "datastore"
)


def outside(variable: str, because: str) -> str:
    """The refusal of a value that names a server: ``because`` says what in the value does."""
    return (
        f"{variable} points outside the preview: {because} names a queue or datastore server; "
        f"{SHARES}"
    )


def named(variable: str, because: str) -> str:
    """The refusal of a name that configures a connection, whatever its value."""
    return (
        f"{variable} is refused whatever its value: {because} configures a queue or datastore "
        f"connection; {SHARES}"
    )


def with_env(place: str, env: dict[str, str]) -> dict[str, Any]:
    """A profile whose env map at ``place`` (env, worker, web or schedule) is ``env``."""
    if place == "env":
        return profile(env=env)
    if place == "schedule":
        return profile(
            schedules=[{"name": "digest", "cron": "0 3 * * *", "command": ["x"], "env": env}]
        )
    return profile(**{place: {"env": env}})


ENV_REFUSALS = [
    pytest.param(
        "worker",
        "REDIS_HOST",
        "prod-redis.internal",
        named("preview_app.worker.env.REDIS_HOST", "a name with REDIS ending in HOST"),
        id="bare-redis-host",
    ),
    pytest.param(
        "env",
        "CACHE_URL",
        "redis+sentinel://prod:26379",
        outside("preview_app.env.CACHE_URL", "the URL scheme redis+sentinel://"),
        id="redis-sentinel-url",
    ),
    pytest.param(
        "worker",
        "CELERY_RESULT_BACKEND",
        "db+postgresql://prod/app",
        outside("preview_app.worker.env.CELERY_RESULT_BACKEND", "the URL scheme db+postgresql://"),
        id="celery-result-backend-url",
    ),
    pytest.param(
        "web",
        "REPORTING",
        "mysql://reports@prod/reports",
        outside("preview_app.web.env.REPORTING", "the URL scheme mysql://"),
        id="mysql-url",
    ),
    pytest.param(
        "schedule",
        "ARCHIVE",
        "mongodb+srv://prod.example.net/app",
        outside("preview_app.schedules[0].env.ARCHIVE", "the URL scheme mongodb+srv://"),
        id="mongodb-srv-url",
    ),
    pytest.param(
        "env",
        "JOBS",
        "sqs://",
        outside("preview_app.env.JOBS", "the URL scheme sqs://"),
        id="sqs-url",
    ),
    pytest.param(
        "web",
        "EVENTS",
        "amqps://prod-rabbit",
        outside("preview_app.web.env.EVENTS", "the URL scheme amqps://"),
        id="amqps-url",
    ),
    pytest.param(
        "env",
        "TASKS",
        "pyamqp://guest@prod//",
        outside("preview_app.env.TASKS", "the URL scheme pyamqp://"),
        id="pyamqp-url",
    ),
    pytest.param(
        "env",
        "SESSION_STORE",
        "memcached://prod:11211",
        outside("preview_app.env.SESSION_STORE", "the URL scheme memcached://"),
        id="memcached-url",
    ),
    pytest.param(
        "worker",
        "REPORTS",
        "jdbc:postgresql://prod:5432/app",
        outside("preview_app.worker.env.REPORTS", "the URL scheme jdbc:postgresql://"),
        id="jdbc-url",
    ),
    pytest.param(
        "env",
        "UPSTREAMS",
        "https://api.example.com,redis://prod:6379",
        outside("preview_app.env.UPSTREAMS", "the URL scheme redis://"),
        id="url-inside-a-list",
    ),
    pytest.param(
        "schedule",
        "DATABASE_URL",
        "postgres://prod/app",
        outside("preview_app.schedules[0].env.DATABASE_URL", "the URL scheme postgres://"),
        id="database-url-in-a-schedule",
    ),
    pytest.param(
        "worker",
        "REDIS_SOCKET",
        "unix:///var/run/redis.sock",
        named("preview_app.worker.env.REDIS_SOCKET", "a name with REDIS ending in SOCKET"),
        id="redis-unix-socket",
    ),
    pytest.param(
        "env",
        "CACHE_REDIS_URL",
        "unix:///var/run/redis.sock",
        named("preview_app.env.CACHE_REDIS_URL", "a name with REDIS ending in URL"),
        id="redis-unix-url",
    ),
    pytest.param(
        "env",
        "ConnectionStrings__Default",
        "Host=prod-db;Database=app",
        outside("preview_app.env.ConnectionStrings__Default", "the connection string key Host"),
        id="ado-net-host",
    ),
    pytest.param(
        "web",
        "REPORTS_CONNECTION",
        "Data Source=prod-sql;Initial Catalog=reports",
        outside("preview_app.web.env.REPORTS_CONNECTION", "the connection string key Data Source"),
        id="ado-net-data-source",
    ),
    pytest.param(
        "worker",
        "LIBPQ_CONNINFO",
        "host=prod dbname=app",
        outside("preview_app.worker.env.LIBPQ_CONNINFO", "the connection string key host"),
        id="libpq-keywords",
    ),
    pytest.param(
        "env",
        "ConnectionStrings__Redis",
        "prod-redis:6379,abortConnect=false",
        named(
            "preview_app.env.ConnectionStrings__Redis",
            "a name in the .NET ConnectionStrings section",
        ),
        id="dotnet-connection-strings-section",
    ),
    pytest.param(
        "env",
        "PGHOST",
        "prod",
        named("preview_app.env.PGHOST", "a name with PG ending in HOST"),
        id="libpq-pghost",
    ),
    pytest.param(
        "worker",
        "MYSQLPORT",
        "3306",
        named("preview_app.worker.env.MYSQLPORT", "a name with MYSQL ending in PORT"),
        id="mysql-port-glued",
    ),
    pytest.param(
        "env",
        "DB_HOST",
        "prod-db",
        named("preview_app.env.DB_HOST", "a name with DB ending in HOST"),
        id="db-host",
    ),
    pytest.param(
        "env",
        "KAFKA_BOOTSTRAP_SERVERS",
        "prod-kafka:9092",
        named("preview_app.env.KAFKA_BOOTSTRAP_SERVERS", "a name with KAFKA ending in SERVERS"),
        id="kafka-servers",
    ),
    pytest.param(
        "env",
        "SQS_QUEUE_URL",
        "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs",
        named("preview_app.env.SQS_QUEUE_URL", "a name with QUEUE ending in URL"),
        id="sqs-queue-url-over-https",
    ),
    pytest.param(
        "env",
        "REDIS_SENTINELS",
        "prod-1:26379,prod-2:26379",
        named("preview_app.env.REDIS_SENTINELS", "a name with REDIS ending in SENTINELS"),
        id="redis-sentinels",
    ),
    pytest.param(
        "web",
        "Redis__Host",
        "prod-redis",
        named("preview_app.web.env.Redis__Host", "a name with REDIS ending in HOST"),
        id="dotnet-nested-name",
    ),
]


@pytest.mark.parametrize(("place", "name", "value", "message"), ENV_REFUSALS)
def test_env_that_reaches_a_queue_or_datastore_outside_the_preview_is_refused(
    place: str, name: str, value: str, message: str
) -> None:
    with pytest.raises(ProfileError) as caught:
        check_profile(with_env(place, {name: value}))

    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("place", "where"),
    [
        pytest.param("env", "preview_app.env", id="shared"),
        pytest.param("worker", "preview_app.worker.env", id="worker"),
        pytest.param("web", "preview_app.web.env", id="web"),
        pytest.param("schedule", "preview_app.schedules[0].env", id="schedule"),
    ],
)
def test_every_env_map_of_the_profile_is_checked(place: str, where: str) -> None:
    with pytest.raises(ProfileError) as caught:
        check_profile(with_env(place, {"BROKER_HOST": "prod-rabbit"}))

    assert str(caught.value) == named(f"{where}.BROKER_HOST", "a name with BROKER ending in HOST")


ORDINARY_ENV = {
    "API_URL": "https://api.example.com",
    "LOG_LEVEL": "info",
    "REDIS_POOL_SIZE": "5",
    "REDIS_DB": "2",
    "FEATURE_X": "true",
    "DATABASE_POOL": "10",
    "FEEDBACK_URL": "https://feedback.example.com/form",
    "SENTRY_DSN": "https://public@sentry.example.com/1",
    "API_SERVER": "https://api.example.com",
    "QUEUES": "critical,default",
    "LOG_FORMAT": "host=%h method=%m status=%s",
    "CELERY_BROKER_TRANSPORT_OPTIONS": '{"visibility_timeout": 3600}',
    "CELERY_BROKER_TRANSPORT": "redis",
    "REDIS_REPORT_EMAIL": "ops@example.com",
    "WEBHOOK_URL": "http://hooks.example.com/orders",
    "DJANGO_SETTINGS_MODULE": "newsroom.settings.preview",
}


@pytest.mark.parametrize("place", ["env", "worker", "web", "schedule"])
def test_ordinary_env_is_kept_as_given(place: str) -> None:
    checked = check_profile(with_env(place, ORDINARY_ENV))

    maps = {
        "env": checked["env"],
        "worker": checked["worker"]["env"],
        "web": checked["web"] and checked["web"]["env"],
        "schedule": checked["schedules"][0]["env"],
    }
    assert maps[place] == ORDINARY_ENV


def test_a_broken_chain_prints_the_whole_chain_and_marks_the_link() -> None:
    with pytest.raises(ProfileError) as caught:
        check_timeouts({"drain": "28s", "kill": "30s"})

    assert str(caught.value) == (
        "preview_app.timeouts: the timeout chain is broken at 'drain + drain_margin <= kill'\n"
        "  job 5m < idle 48h                              ok\n"
        "  drain 28s + drain_margin 5s = 33s <= kill 30s  <-- broken\n"
        "  kill 30s <= max_kill 30s                       ok\n"
        "  kill 30s <= progress_deadline 10m              ok"
    )


CHAIN_BREAKS = [
    pytest.param({"job": "48h"}, "job < idle", id="job-not-shorter-than-idle"),
    pytest.param({"kill": "45s", "drain": "20s"}, "kill <= max_kill", id="kill-over-max-kill"),
    pytest.param(
        {"kill": "15m", "max_kill": "20m", "progress_deadline": "10m"},
        "kill <= progress_deadline",
        id="kill-over-progress-deadline",
    ),
    pytest.param({"drain": "21s"}, "drain + drain_margin <= kill", id="drain-too-close"),
]


@pytest.mark.parametrize(("timeouts", "link"), CHAIN_BREAKS)
def test_each_link_of_the_chain_is_checked(timeouts: dict[str, str], link: str) -> None:
    with pytest.raises(ProfileError, match="the timeout chain is broken at") as caught:
        check_timeouts(timeouts)

    first_line = str(caught.value).splitlines()[0]
    assert first_line.endswith(f"{link!r}")


def test_a_drain_margin_of_one_second_is_enough() -> None:
    seconds = check_timeouts({"drain": "24s", "drain_margin": "1s", "kill": "25s"})

    assert (seconds["drain"], seconds["drain_margin"], seconds["kill"]) == (24, 1, 25)


def test_a_chain_that_just_nests_is_accepted() -> None:
    seconds = check_timeouts(
        {"job": "47h59m59s", "drain": "25s", "drain_margin": "5s", "kill": "30s"}
    )

    assert (seconds["drain"] + seconds["drain_margin"], seconds["kill"]) == (30, 30)


@pytest.mark.parametrize(
    ("timeouts", "message"),
    [
        (
            {"kill": "soon"},
            "preview_app.timeouts.kill: duration 'soon' is invalid: expected a number at 'soon'",
        ),
        (
            {"retries": "3"},
            "preview_app.timeouts has unknown key(s) retries: known keys are job, drain, "
            "drain_margin, kill, max_kill, idle, progress_deadline",
        ),
        (
            {"progress_deadline": "20s", "kill": "10s", "drain": "5s"},
            "preview_app.timeouts.progress_deadline must be at least 30s: a deployment needs "
            "time to start an allocation and see it healthy",
        ),
        (
            {"drain_margin": "0s"},
            "preview_app.timeouts.drain_margin must be at least 1s: the worker's drain must end "
            "before Nomad's kill_timeout sends SIGKILL",
        ),
    ],
    ids=["unparsable", "unknown-key", "progress-deadline-too-short", "no-drain-margin"],
)
def test_bad_timeout_values_are_refused(timeouts: dict[str, str], message: str) -> None:
    with pytest.raises(ProfileError) as caught:
        check_timeouts(timeouts)

    assert str(caught.value) == message
