"""What each supported job framework needs in a preview.

A preset records how a framework is told where its queue is, how its worker is given a
concurrency and a shutdown timeout, which process runs its scheduled jobs, and where its job
dashboard lives. Flags and environment values are templates: ``{concurrency}``,
``{drain}`` (seconds), ``{drain_ms}`` and ``{job_timeout}`` (seconds) are filled in from the
checked app profile.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

QUEUE_BACKENDS = ("redis", "postgres", "rabbitmq")


@dataclass(frozen=True)
class Scheduler:
    """The process that runs the framework's scheduled jobs in production."""

    name: str
    own_process: bool
    # Environment that keeps the framework's own scheduler quiet in a preview; the app's
    # schedules run as Nomad periodic jobs instead.
    disable_env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Dashboard:
    """The framework's job dashboard and whether it needs a process of its own."""

    name: str
    own_process: bool
    # Own process: the image and command that serve it, listening on ``port``.
    image: str = ""
    command: tuple[str, ...] = ()
    port: int = 0
    # Own process: the variable that tells it where the queue is.
    url_var: str = ""
    # Mounted in the web process: the path under the web process's address.
    path: str = ""


@dataclass(frozen=True)
class Preset:
    """How one framework runs in a preview."""

    name: str
    backends: tuple[str, ...]
    default_backend: str
    queue_url_var: str
    default_command: tuple[str, ...]
    concurrency_flags: tuple[str, ...] = ()
    shutdown_flags: tuple[str, ...] = ()
    job_timeout_flags: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    scheduler: Scheduler = Scheduler("none", own_process=False)
    dashboard: Dashboard | None = None


PRESETS: Mapping[str, Preset] = MappingProxyType(
    {
        "sidekiq": Preset(
            name="sidekiq",
            backends=("redis",),
            default_backend="redis",
            queue_url_var="REDIS_URL",
            default_command=("bundle", "exec", "sidekiq"),
            concurrency_flags=("--concurrency", "{concurrency}"),
            shutdown_flags=("--timeout", "{drain}"),
            scheduler=Scheduler("sidekiq-cron", own_process=False),
            dashboard=Dashboard("Sidekiq Web", own_process=False, path="/sidekiq"),
        ),
        "celery": Preset(
            name="celery",
            backends=("redis", "rabbitmq"),
            default_backend="redis",
            queue_url_var="CELERY_BROKER_URL",
            default_command=("celery", "--app", "app", "worker"),
            concurrency_flags=("--concurrency", "{concurrency}"),
            job_timeout_flags=("--time-limit", "{job_timeout}"),
            scheduler=Scheduler("celery beat", own_process=True),
            dashboard=Dashboard(
                "Flower",
                own_process=True,
                image="mher/flower:2.0",
                command=("celery", "flower", "--port=5555"),
                port=5555,
                url_var="CELERY_BROKER_URL",
            ),
        ),
        "rq": Preset(
            name="rq",
            backends=("redis",),
            default_backend="redis",
            queue_url_var="REDIS_URL",
            default_command=("rq", "worker-pool"),
            concurrency_flags=("--num-workers", "{concurrency}"),
            scheduler=Scheduler("rq-scheduler", own_process=True),
            dashboard=Dashboard(
                "RQ dashboard",
                own_process=True,
                image="eoranged/rq-dashboard:v0.8.2",
                command=("rq-dashboard", "--port", "9181"),
                port=9181,
                url_var="RQ_DASHBOARD_REDIS_URL",
            ),
        ),
        "dramatiq": Preset(
            name="dramatiq",
            backends=("redis", "rabbitmq"),
            default_backend="redis",
            queue_url_var="DRAMATIQ_BROKER_URL",
            default_command=("dramatiq", "app.tasks"),
            concurrency_flags=("--processes", "1", "--threads", "{concurrency}"),
            shutdown_flags=("--worker-shutdown-timeout", "{drain_ms}"),
            scheduler=Scheduler("periodiq", own_process=True),
            dashboard=Dashboard("dramatiq_dashboard", own_process=False, path="/drama"),
        ),
        "bullmq": Preset(
            name="bullmq",
            backends=("redis",),
            default_backend="redis",
            queue_url_var="REDIS_URL",
            default_command=("node", "worker.js"),
            env={"BULLMQ_CONCURRENCY": "{concurrency}"},
            scheduler=Scheduler("BullMQ job schedulers", own_process=False),
            dashboard=Dashboard("Bull Board", own_process=False, path="/admin/queues"),
        ),
        "hangfire": Preset(
            name="hangfire",
            backends=("postgres", "redis"),
            default_backend="postgres",
            queue_url_var="ConnectionStrings__Hangfire",
            default_command=("dotnet", "App.dll"),
            env={
                "Hangfire__WorkerCount": "{concurrency}",
                "Hangfire__ShutdownTimeout": "{drain}",
            },
            scheduler=Scheduler("Hangfire recurring jobs", own_process=False),
            dashboard=Dashboard("Hangfire Dashboard", own_process=False, path="/hangfire"),
        ),
        "oban": Preset(
            name="oban",
            backends=("postgres",),
            default_backend="postgres",
            queue_url_var="DATABASE_URL",
            default_command=("bin/app", "start"),
            env={
                "OBAN_QUEUE_LIMIT": "{concurrency}",
                "OBAN_SHUTDOWN_GRACE_PERIOD_MS": "{drain_ms}",
            },
            scheduler=Scheduler("Oban.Plugins.Cron", own_process=False),
            dashboard=Dashboard("Oban Web", own_process=False, path="/oban"),
        ),
        "goodjob": Preset(
            name="goodjob",
            backends=("postgres",),
            default_backend="postgres",
            queue_url_var="DATABASE_URL",
            default_command=("bundle", "exec", "good_job", "start"),
            concurrency_flags=("--max-threads", "{concurrency}"),
            shutdown_flags=("--shutdown-timeout", "{drain}"),
            scheduler=Scheduler(
                "GoodJob cron", own_process=False, disable_env={"GOOD_JOB_ENABLE_CRON": "false"}
            ),
            dashboard=Dashboard("GoodJob dashboard", own_process=False, path="/good_job"),
        ),
    }
)
