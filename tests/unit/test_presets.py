"""Framework presets: the flags each worker gets and who enforces each of its time limits."""

from __future__ import annotations

from typing import Any

import pytest

from ansible_collections.nomad_previews.previews.plugins.module_utils.presets import (
    DRAIN_TIMEOUT_ENV,
    JOB_TIMEOUT_ENV,
    PRESETS,
    Preset,
)

VALUES = {"concurrency": "3", "drain": "20", "drain_ms": "20000", "job_timeout": "300"}

WORKER_SETTINGS = [
    pytest.param(
        "sidekiq", ["--concurrency", "3", "--timeout", "20"], {}, id="sidekiq-timeout-in-seconds"
    ),
    pytest.param(
        "celery", ["--concurrency", "3", "--time-limit", "300"], {}, id="celery-hard-time-limit"
    ),
    pytest.param("rq", ["--num-workers", "3"], {}, id="rq-concurrency-only"),
    pytest.param(
        "dramatiq",
        ["--processes", "1", "--threads", "3", "--worker-shutdown-timeout", "20000"],
        {},
        id="dramatiq-shutdown-in-milliseconds",
    ),
    pytest.param("bullmq", [], {"BULLMQ_CONCURRENCY": "3"}, id="bullmq-no-cli"),
    pytest.param("hangfire", [], {"Hangfire__WorkerCount": "3"}, id="hangfire-no-cli"),
    pytest.param("oban", [], {"OBAN_QUEUE_LIMIT": "3"}, id="oban-no-cli"),
    pytest.param(
        "goodjob",
        ["--max-threads", "3", "--shutdown-timeout", "20"],
        {},
        id="goodjob-shutdown-in-seconds",
    ),
]


@pytest.mark.parametrize(("framework", "flags", "env"), WORKER_SETTINGS)
def test_each_worker_gets_its_frameworks_own_flags(
    framework: str, flags: list[str], env: dict[str, str]
) -> None:
    preset = PRESETS[framework]

    given = [
        flag.format(**VALUES)
        for flag in (*preset.concurrency_flags, *preset.shutdown_flags, *preset.job_timeout_flags)
    ]

    assert given == flags
    assert {name: value.format(**VALUES) for name, value in preset.env.items()} == env


TIME_LIMITS = [
    pytest.param(
        "sidekiq",
        "left to the app, which reads PREVIEW_JOB_TIMEOUT (Sidekiq has no job timeout)",
        "set by the preset: --timeout",
        id="sidekiq",
    ),
    pytest.param(
        "celery",
        "set by the preset: --time-limit",
        "left to the app, which reads PREVIEW_DRAIN_TIMEOUT (a warm shutdown waits for running "
        "tasks without a limit; worker_soft_shutdown_timeout bounds only a cold shutdown)",
        id="celery",
    ),
    pytest.param(
        "rq",
        "left to the app, which reads PREVIEW_JOB_TIMEOUT (RQ takes a job timeout per queue or "
        "per job, in code)",
        "left to the app, which reads PREVIEW_DRAIN_TIMEOUT (RQ waits for the running job "
        "without a limit)",
        id="rq",
    ),
    pytest.param(
        "dramatiq",
        "left to the app, which reads PREVIEW_JOB_TIMEOUT (the TimeLimit middleware takes its "
        "limit in code, 10 minutes unless told)",
        "set by the preset: --worker-shutdown-timeout (in milliseconds)",
        id="dramatiq",
    ),
    pytest.param(
        "bullmq",
        "left to the app, which reads PREVIEW_JOB_TIMEOUT (BullMQ has no job timeout)",
        "left to the app, which reads PREVIEW_DRAIN_TIMEOUT (Worker.close() waits for active "
        "jobs without a limit)",
        id="bullmq",
    ),
    pytest.param(
        "hangfire",
        "left to the app, which reads PREVIEW_JOB_TIMEOUT (Hangfire has no job timeout)",
        "left to the app, which reads PREVIEW_DRAIN_TIMEOUT "
        "(BackgroundJobServerOptions.ShutdownTimeout is set in code)",
        id="hangfire",
    ),
    pytest.param(
        "oban",
        "left to the app, which reads PREVIEW_JOB_TIMEOUT (Oban takes a timeout per worker, in "
        "its timeout/1)",
        "left to the app, which reads PREVIEW_DRAIN_TIMEOUT (shutdown_grace_period is set in the "
        "app's Oban config)",
        id="oban",
    ),
    pytest.param(
        "goodjob",
        "left to the app, which reads PREVIEW_JOB_TIMEOUT (GoodJob has no job timeout)",
        "set by the preset: --shutdown-timeout",
        id="goodjob",
    ),
]


@pytest.mark.parametrize(("framework", "job_timeout", "drain_timeout"), TIME_LIMITS)
def test_each_preset_says_who_enforces_the_job_and_drain_timeouts(
    framework: str, job_timeout: str, drain_timeout: str
) -> None:
    preset = PRESETS[framework]

    assert preset.job_timeout.describe() == job_timeout
    assert preset.drain_timeout.describe() == drain_timeout


SCHEDULERS = [
    pytest.param(
        "sidekiq",
        "app",
        {},
        "sidekiq-cron: the app must honour PREVIEW_SCHEDULES (it runs in every Sidekiq process "
        "and has no switch outside the app's code)",
        id="sidekiq-cron",
    ),
    pytest.param(
        "celery",
        "preset",
        {},
        "celery beat: kept quiet by the preview (a process of its own, which the preview does "
        "not start; -B in the worker command is refused)",
        id="celery-beat",
    ),
    pytest.param(
        "rq",
        "preset",
        {},
        "rq-scheduler: kept quiet by the preview (a process of its own, which the preview does "
        "not start)",
        id="rq-scheduler",
    ),
    pytest.param(
        "dramatiq",
        "preset",
        {},
        "periodiq: kept quiet by the preview (a process of its own, which the preview does not "
        "start)",
        id="periodiq",
    ),
    pytest.param(
        "bullmq",
        "app",
        {},
        "BullMQ job schedulers: the app must honour PREVIEW_SCHEDULES (the app's code registers "
        "them and any worker runs them)",
        id="bullmq-job-schedulers",
    ),
    pytest.param(
        "hangfire",
        "app",
        {},
        "Hangfire recurring jobs: the app must honour PREVIEW_SCHEDULES (the app's code "
        "registers them and every Hangfire server runs them)",
        id="hangfire-recurring-jobs",
    ),
    pytest.param(
        "oban",
        "app",
        {},
        "Oban.Plugins.Cron: the app must honour PREVIEW_SCHEDULES (its crontab is in the app's "
        "Oban config)",
        id="oban-cron-plugin",
    ),
    pytest.param(
        "goodjob",
        "preset",
        {"GOOD_JOB_ENABLE_CRON": "false"},
        "GoodJob cron: kept quiet by the preview (GOOD_JOB_ENABLE_CRON=false; a "
        "config.good_job.enable_cron set in the app's code wins over it)",
        id="goodjob-cron",
    ),
]


@pytest.mark.parametrize(("framework", "quiet_by", "disable_env", "described"), SCHEDULERS)
def test_each_preset_says_how_its_own_scheduler_is_kept_quiet(
    framework: str, quiet_by: str, disable_env: dict[str, str], described: str
) -> None:
    scheduler = PRESETS[framework].scheduler

    assert scheduler.quiet_by == quiet_by
    assert dict(scheduler.disable_env) == disable_env
    assert scheduler.describe() == described


@pytest.mark.parametrize(
    "table", [WORKER_SETTINGS, TIME_LIMITS, SCHEDULERS], ids=["flags", "limits", "schedulers"]
)
def test_every_table_covers_every_preset(table: list[Any]) -> None:
    assert sorted(case.values[0] for case in table) == sorted(PRESETS)


@pytest.mark.parametrize("preset", PRESETS.values(), ids=list(PRESETS))
def test_a_timeout_the_framework_enforces_is_a_flag_the_preset_passes(preset: Preset) -> None:
    for limit, flags, template, app_env in (
        (preset.job_timeout, preset.job_timeout_flags, "{job_timeout}", JOB_TIMEOUT_ENV),
        (preset.drain_timeout, preset.shutdown_flags, "{drain", DRAIN_TIMEOUT_ENV),
    ):
        if limit.by == "framework":
            assert flags[:1] == (limit.setting,)
        else:
            assert (flags, limit.setting) == ((), app_env)
        assert not any(template in value for value in preset.env.values())


@pytest.mark.parametrize("preset", PRESETS.values(), ids=list(PRESETS))
def test_a_scheduler_the_preset_keeps_quiet_is_never_started_or_is_switched_off(
    preset: Preset,
) -> None:
    scheduler = preset.scheduler

    quiet = scheduler.own_process or bool(scheduler.disable_env)

    assert (scheduler.quiet_by == "preset") == quiet
