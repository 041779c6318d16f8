"""What each supported job framework needs in a preview.

A preset records how a framework is told where its queue is, how its worker is given a
concurrency, a drain (shutdown) timeout and a hard job timeout, which process runs its scheduled
jobs and whether the preview can keep it quiet, and where its job dashboard lives. Flags and
environment values are templates: ``{concurrency}``, ``{drain}`` (seconds), ``{drain_ms}`` and
``{job_timeout}`` (seconds) are filled in from the checked app profile.

Where a framework takes a timeout from its command line or its environment, the preset sets it
and records ``by="framework"``. Where it takes one only in the app's code, the preset records
``by="app"`` and the preview variable the app reads it from. A scheduler the preview keeps quiet
(its process is not started, or a variable switches it off) is recorded ``quiet_by="preset"``;
one that runs inside the worker from jobs the app's code registers is ``quiet_by="app"``, and
the app must register only the schedules named in ``PREVIEW_SCHEDULES``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

QUEUE_BACKENDS = ("redis", "postgres", "rabbitmq")

# Variables the preview gives every app task (seconds, and the opted-in schedule names); the app
# reads them where its framework takes no setting from outside.
JOB_TIMEOUT_ENV = "PREVIEW_JOB_TIMEOUT"
DRAIN_TIMEOUT_ENV = "PREVIEW_DRAIN_TIMEOUT"
SCHEDULES_ENV = "PREVIEW_SCHEDULES"


@dataclass(frozen=True)
class Limit:
    """Who holds the worker to one of the preview's time limits, and through what."""

    by: Literal["framework", "app"]
    # framework: the flag or variable the preset sets; app: the preview variable the app reads.
    setting: str
    # Why the framework cannot be told from outside, or what else a reader must know.
    note: str = ""

    def describe(self) -> str:
        """Say in one line who enforces the limit, for docs and the preview's summary."""
        if self.by == "framework":
            text = f"set by the preset: {self.setting}"
        else:
            text = f"left to the app, which reads {self.setting}"
        return f"{text} ({self.note})" if self.note else text


@dataclass(frozen=True)
class Scheduler:
    """The process that runs the framework's scheduled jobs in production."""

    name: str
    own_process: bool
    # "preset": the preview keeps it quiet; "app": it runs inside the worker from jobs the app's
    # code registers, and only the app can limit them to the schedules in PREVIEW_SCHEDULES.
    quiet_by: Literal["preset", "app"]
    note: str
    # Environment that keeps the framework's own scheduler quiet in a preview; the app's
    # schedules run as Nomad periodic jobs instead.
    disable_env: Mapping[str, str] = field(default_factory=dict)
    # Worker arguments that would start the scheduler inside the worker; refused in a preview.
    in_worker_flags: tuple[str, ...] = ()

    def describe(self) -> str:
        """Say in one line how the scheduler is kept quiet, for docs and the preview's summary."""
        if self.quiet_by == "preset":
            return f"{self.name}: kept quiet by the preview ({self.note})"
        return f"{self.name}: the app must honour {SCHEDULES_ENV} ({self.note})"


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
    job_timeout: Limit
    drain_timeout: Limit
    scheduler: Scheduler
    concurrency_flags: tuple[str, ...] = ()
    shutdown_flags: tuple[str, ...] = ()
    job_timeout_flags: tuple[str, ...] = ()
    # Variables the app's own code reads; the framework itself reads none of them.
    env: Mapping[str, str] = field(default_factory=dict)
    dashboard: Dashboard | None = None


_OWN_PROCESS = "a process of its own, which the preview does not start"


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
            job_timeout=Limit("app", JOB_TIMEOUT_ENV, "Sidekiq has no job timeout"),
            drain_timeout=Limit("framework", "--timeout"),
            scheduler=Scheduler(
                "sidekiq-cron",
                own_process=False,
                quiet_by="app",
                note="it runs in every Sidekiq process and has no switch outside the app's code",
            ),
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
            job_timeout=Limit("framework", "--time-limit"),
            drain_timeout=Limit(
                "app",
                DRAIN_TIMEOUT_ENV,
                "a warm shutdown waits for running tasks without a limit; "
                "worker_soft_shutdown_timeout bounds only a cold shutdown",
            ),
            scheduler=Scheduler(
                "celery beat",
                own_process=True,
                quiet_by="preset",
                note=f"{_OWN_PROCESS}; -B in the worker command is refused",
                in_worker_flags=("-B", "--beat"),
            ),
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
            job_timeout=Limit(
                "app", JOB_TIMEOUT_ENV, "RQ takes a job timeout per queue or per job, in code"
            ),
            drain_timeout=Limit(
                "app", DRAIN_TIMEOUT_ENV, "RQ waits for the running job without a limit"
            ),
            scheduler=Scheduler(
                "rq-scheduler", own_process=True, quiet_by="preset", note=_OWN_PROCESS
            ),
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
            job_timeout=Limit(
                "app",
                JOB_TIMEOUT_ENV,
                "the TimeLimit middleware takes its limit in code, 10 minutes unless told",
            ),
            drain_timeout=Limit("framework", "--worker-shutdown-timeout", "in milliseconds"),
            scheduler=Scheduler("periodiq", own_process=True, quiet_by="preset", note=_OWN_PROCESS),
            dashboard=Dashboard("dramatiq_dashboard", own_process=False, path="/drama"),
        ),
        "bullmq": Preset(
            name="bullmq",
            backends=("redis",),
            default_backend="redis",
            queue_url_var="REDIS_URL",
            default_command=("node", "worker.js"),
            env={"BULLMQ_CONCURRENCY": "{concurrency}"},
            job_timeout=Limit("app", JOB_TIMEOUT_ENV, "BullMQ has no job timeout"),
            drain_timeout=Limit(
                "app", DRAIN_TIMEOUT_ENV, "Worker.close() waits for active jobs without a limit"
            ),
            scheduler=Scheduler(
                "BullMQ job schedulers",
                own_process=False,
                quiet_by="app",
                note="the app's code registers them and any worker runs them",
            ),
            dashboard=Dashboard("Bull Board", own_process=False, path="/admin/queues"),
        ),
        "hangfire": Preset(
            name="hangfire",
            backends=("postgres", "redis"),
            default_backend="postgres",
            queue_url_var="ConnectionStrings__Hangfire",
            default_command=("dotnet", "App.dll"),
            env={"Hangfire__WorkerCount": "{concurrency}"},
            job_timeout=Limit("app", JOB_TIMEOUT_ENV, "Hangfire has no job timeout"),
            drain_timeout=Limit(
                "app",
                DRAIN_TIMEOUT_ENV,
                "BackgroundJobServerOptions.ShutdownTimeout is set in code",
            ),
            scheduler=Scheduler(
                "Hangfire recurring jobs",
                own_process=False,
                quiet_by="app",
                note="the app's code registers them and every Hangfire server runs them",
            ),
            dashboard=Dashboard("Hangfire Dashboard", own_process=False, path="/hangfire"),
        ),
        "oban": Preset(
            name="oban",
            backends=("postgres",),
            default_backend="postgres",
            queue_url_var="DATABASE_URL",
            default_command=("bin/app", "start"),
            env={"OBAN_QUEUE_LIMIT": "{concurrency}"},
            job_timeout=Limit(
                "app", JOB_TIMEOUT_ENV, "Oban takes a timeout per worker, in its timeout/1"
            ),
            drain_timeout=Limit(
                "app", DRAIN_TIMEOUT_ENV, "shutdown_grace_period is set in the app's Oban config"
            ),
            scheduler=Scheduler(
                "Oban.Plugins.Cron",
                own_process=False,
                quiet_by="app",
                note="its crontab is in the app's Oban config",
            ),
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
            job_timeout=Limit("app", JOB_TIMEOUT_ENV, "GoodJob has no job timeout"),
            drain_timeout=Limit("framework", "--shutdown-timeout"),
            scheduler=Scheduler(
                "GoodJob cron",
                own_process=False,
                quiet_by="preset",
                note=(
                    "GOOD_JOB_ENABLE_CRON=false; a config.good_job.enable_cron set in the app's "
                    "code wins over it"
                ),
                disable_env={"GOOD_JOB_ENABLE_CRON": "false"},
            ),
            dashboard=Dashboard("GoodJob dashboard", own_process=False, path="/good_job"),
        ),
    }
)
