"""The render model: which jobs a preview gets and what each process is told."""

from __future__ import annotations

from typing import Any

import pytest

from ansible_collections.nomad_previews.previews.plugins.module_utils.identity import (
    preview_identity,
)
from ansible_collections.nomad_previews.previews.plugins.module_utils.model import (
    NEVER_CRON,
    build_preview,
    summary,
)
from ansible_collections.nomad_previews.previews.plugins.module_utils.profile import (
    check_profile,
)

SETTINGS = {
    "now": "2026-11-30T09:00:00Z",
    "created_at": "2026-11-29T08:00:00Z",
    "inbox_image": "nomad-previews/preview-inbox:test",
}


def model_of(app: dict[str, Any], opt_in: tuple[str, ...] = ()) -> dict[str, Any]:
    schedules = [s["name"] for s in app.get("schedules", [])]
    identity = preview_identity("shop", 42, schedules=schedules)
    return build_preview(identity, check_profile(app, opt_in), SETTINGS)


def test_jobs_follow_the_profile() -> None:
    model = model_of(
        {
            "framework": "celery",
            "image": "app:1",
            "web": {"port": 8000},
            "schedules": [{"name": "report", "cron": "@daily", "command": ["report"]}],
        }
    )

    assert [(j["component"], j["type"]) for j in model["jobs"]] == [
        ("queue", "service"),
        ("mail", "service"),
        ("inbox", "service"),
        ("worker", "service"),
        ("web", "service"),
        ("dashboard", "service"),
        ("schedule", "batch"),
    ]
    assert model["jobs"][-1]["file"] == f"{model['jobs'][-1]['id']}.nomad.hcl"


def test_the_worker_gets_the_presets_flags_filled_from_the_profile() -> None:
    model = model_of(
        {
            "framework": "dramatiq",
            "image": "app:1",
            "worker": {"concurrency": 3},
            "timeouts": {"drain": "12s", "kill": "20s"},
        }
    )

    assert model["worker"]["args"] == [
        "dramatiq",
        "app.tasks",
        "--processes",
        "1",
        "--threads",
        "3",
        "--worker-shutdown-timeout",
        "12000",
    ]


def test_preview_environment_wins_over_the_profiles_and_schedules_are_listed() -> None:
    model = model_of(
        {
            "framework": "bullmq",
            "image": "app:1",
            "env": {"NODE_ENV": "production"},
            "schedules": [
                {"name": "a", "cron": "* * * * *", "command": ["a"]},
                {"name": "b", "cron": "* * * * *", "command": ["b"]},
            ],
        },
        ("b",),
    )

    env = model["worker"]["env"]
    assert env["NODE_ENV"] == "production"
    assert env["BULLMQ_CONCURRENCY"] == "2"
    assert (env["PREVIEW_ENV"], env["PREVIEW_ID"], env["PREVIEW_SCHEDULES"]) == (
        "1",
        "shop-pr-42",
        "b",
    )
    crons = {s["name"]: s["crons"] for s in model["schedules"]}
    assert crons == {"a": [NEVER_CRON], "b": ["* * * * *"]}


@pytest.mark.parametrize(
    ("backend", "url"),
    [
        ("redis", "DRAMATIQ_BROKER_URL=redis://{{ .Address }}:{{ .Port }}/0"),
        ("rabbitmq", "DRAMATIQ_BROKER_URL=amqp://guest:guest@{{ .Address }}:{{ .Port }}/"),
    ],
)
def test_the_queue_url_comes_from_the_previews_own_service(backend: str, url: str) -> None:
    model = model_of({"framework": "dramatiq", "image": "app:1", "queue": {"backend": backend}})

    assert model["wiring"].startswith('{{ range nomadService "shop-pr-42-queue" -}}\n' + url + "\n")


def test_expiry_is_last_activity_plus_the_idle_timeout() -> None:
    model = model_of({"framework": "rq", "image": "app:1", "timeouts": {"idle": "90m"}})

    assert (model["created_at"], model["expires_at"]) == (
        "2026-11-29T08:00:00Z",
        "2026-11-30T10:30:00Z",
    )
    assert summary(model)["idle_timeout"] == "1h30m"


def test_a_dashboard_in_the_web_process_is_linked_only_when_there_is_one() -> None:
    without_web = model_of({"framework": "sidekiq", "image": "app:1"})
    with_web = model_of({"framework": "sidekiq", "image": "app:1", "web": {}})

    assert "dashboard" not in without_web["links"]
    assert with_web["links"]["dashboard"] == "https://web-shop-pr-42.preview.localhost/sidekiq"
    assert [link["label"] for link in with_web["ui_links"]] == [
        "App",
        "Sidekiq Web",
        "MailHog",
        "Preview inbox",
    ]
