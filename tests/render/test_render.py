"""Render every job template through the real playbook and read the result as Nomad would."""

from __future__ import annotations

import copy
import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
import yaml

from preview_inbox.settings import Settings, env_name
from tests.conftest import ROOT, run_playbook
from tests.render.hclread import block, blocks, read_hcl

NOW = "2026-11-30T09:00:00Z"
SENTINEL = "s3cr3t-sentinel-value-never-rendered"
EXAMPLES = {
    name: ROOT / "examples" / name / "preview.yml" for name in ("sidekiq", "celery", "bullmq")
}
GOLDEN = ROOT / "tests" / "render" / "golden" / "sidekiq"


def example(name: str) -> dict[str, Any]:
    loaded = yaml.safe_load(EXAMPLES[name].read_text())
    app: dict[str, Any] = loaded["preview_app"]
    return app


def edge_cases() -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """Profiles and extra variables of the edge cases, by name."""
    no_web = example("sidekiq")
    del no_web["web"]
    goodjob = {
        "framework": "goodjob",
        "image": "registry.example.com/acme/ledger:2",
        "worker": {"concurrency": 1},
        "schedules": [{"name": "close_books", "cron": "0 0 1 * *", "command": ["rake", "close"]}],
    }
    rq = {
        "framework": "rq",
        "image": "registry.example.com/acme/thumbs:3",
        "mail": {"server": "mailpit"},
        "worker": {"command": ["rq", "worker-pool", "--url", "redis://unused"]},
    }
    dramatiq = {
        "framework": "dramatiq",
        "image": "registry.example.com/acme/mailer:4",
        "queue": {"backend": "rabbitmq"},
    }
    hangfire = {
        "framework": "hangfire",
        "image": "registry.example.com/acme/billing:5",
        "web": {"port": 8080, "health_path": "/health"},
    }
    oban = {
        "framework": "oban",
        "image": "registry.example.com/acme/events:6",
        "web": {"port": 4000},
        "schedules": [{"name": "prune", "cron": "@hourly", "command": ["bin/app", "prune"]}],
    }
    return {
        "no-web": (no_web, {}),
        "rabbitmq-queue": (dramatiq, {}),
        "hangfire": (hangfire, {}),
        "oban": (oban, {}),
        "postgres-queue": (goodjob, {}),
        "opted-in": (example("sidekiq"), {"preview_schedules_enabled": ["nightly_digest"]}),
        "long-name": (
            example("bullmq"),
            {"preview_repo": "a" * 80 + "-Service.API", "preview_pr": 987654321},
        ),
        "own-dashboard": (rq, {}),
    }


def render(tmp: Path, app: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Run preview_open in render-only mode; return the output folder and the run."""
    variables = {
        "preview_app": app,
        "preview_repo": "shop",
        "preview_pr": 42,
        "preview_branch": "feature/checkout",
        "preview_sha": "0123456789abcdef0123456789abcdef01234567",
        "preview_now": NOW,
        "preview_output_dir": str(tmp),
        **extra,
    }
    vars_file = tmp / "vars.json"
    vars_file.write_text(json.dumps(variables))
    result = run_playbook(
        "preview_open.yml",
        extra_vars=[f"@{vars_file}"],
        env={"NOMAD_TOKEN": SENTINEL, "VAULT_TOKEN": SENTINEL},
    )
    summary = json.loads(next(tmp.glob("*/summary.json")).read_text())
    folder = tmp / summary["preview_id"]
    return {"folder": folder, "summary": summary, "stdout": result.stdout + result.stderr}


CASES = {
    **{name: (example(name), {}) for name in EXAMPLES},
    **edge_cases(),
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Every case rendered once for the whole module, two playbook runs at a time."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {
            name: pool.submit(render, tmp_path_factory.mktemp(name), copy.deepcopy(app), extra)
            for name, (app, extra) in CASES.items()
        }
        return {name: future.result() for name, future in futures.items()}


def jobs_of(case: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each rendered job spec of a case, parsed, by component (schedules by job ID)."""
    parsed = {}
    for job in case["summary"]["jobs"]:
        text = (case["folder"] / job["file"]).read_text()
        (spec,) = read_hcl(text)["job"]
        key = job["id"] if job["component"] == "schedule" else job["component"]
        parsed[key] = spec
    return parsed


def task_of(spec: dict[str, Any]) -> dict[str, Any]:
    (group,) = blocks(spec, "group")
    (task,) = blocks(group, "task")
    return task


@pytest.mark.parametrize("case", list(CASES))
def test_every_rendered_file_parses_and_names_its_job(
    rendered: dict[str, dict[str, Any]], case: str
) -> None:
    summary = rendered[case]["summary"]

    for job in summary["jobs"]:
        text = (rendered[case]["folder"] / job["file"]).read_text()
        (spec,) = read_hcl(text)["job"]
        assert spec["label"] == job["id"]
        assert spec["namespace"] == summary["namespace"]
        assert spec["type"] == job["type"]
        assert text.startswith(
            f"# {job['component']}.nomad.hcl.j2 for preview {spec['meta'][0]['preview_id']}"
        )
        assert not [line for line in text.splitlines() if line != line.rstrip()]
    read_hcl((rendered[case]["folder"] / "vault-policy.hcl").read_text())


@pytest.mark.parametrize("case", list(CASES))
def test_every_job_carries_the_preview_meta_and_ui_links(
    rendered: dict[str, dict[str, Any]], case: str
) -> None:
    summary = rendered[case]["summary"]

    for spec in jobs_of(rendered[case]).values():
        meta = block(spec, "meta")
        assert meta["preview_id"] == summary["preview_id"]
        assert meta["preview_pr"] == str(summary["pr"])
        assert meta["preview_sha"] == "0123456789abcdef0123456789abcdef01234567"
        assert meta["preview_created_at"] == NOW
        assert meta["preview_last_activity_at"] == NOW
        assert meta["preview_idle_timeout"] == summary["idle_timeout"]
        ui = block(spec, "ui")
        urls = {link["url"] for link in blocks(ui, "link")}
        assert summary["links"]["mail"] in urls
        assert summary["links"]["inbox"] in urls


@pytest.mark.parametrize("case", list(CASES))
def test_the_worker_stops_inside_kill_timeout_and_knows_it_is_a_preview(
    rendered: dict[str, dict[str, Any]], case: str
) -> None:
    summary = rendered[case]["summary"]
    worker = task_of(jobs_of(rendered[case])["worker"])

    assert worker["kill_signal"] == "SIGTERM"
    assert worker["kill_timeout"] == summary["timeouts"]["kill"]["display"]
    assert worker["shutdown_delay"] == "5s"
    env = block(worker, "env")
    assert env["PREVIEW_ENV"] == "1"
    assert env["PREVIEW_ID"] == summary["preview_id"]
    assert env["PREVIEW_JOB_TIMEOUT"] == str(summary["timeouts"]["job"]["seconds"])
    assert env["PREVIEW_DRAIN_TIMEOUT"] == str(summary["timeouts"]["drain"]["seconds"])
    enabled = [s["name"] for s in summary["schedules"] if s["enabled"]]
    assert env["PREVIEW_SCHEDULES"] == ",".join(enabled)
    wiring = blocks(worker, "template")[0]
    queue_service = jobs_of(rendered[case])["queue"]
    service = block(task_of(queue_service), "service")
    assert f'nomadService "{service["name"]}"' in wiring["data"]
    assert wiring["env"] is True


def test_sidekiq_worker_gets_reduced_concurrency_and_drain_flags(
    rendered: dict[str, dict[str, Any]],
) -> None:
    worker = task_of(jobs_of(rendered["sidekiq"])["worker"])
    config = block(worker, "config")

    assert config["command"] == "bundle"
    assert config["args"][-4:] == ["--concurrency", "3", "--timeout", "20"]
    assert "REDIS_URL=redis://{{ .Address }}:{{ .Port }}/0" in blocks(worker, "template")[0]["data"]


def test_secrets_name_vault_paths_and_keys_never_values(
    rendered: dict[str, dict[str, Any]],
) -> None:
    worker = task_of(jobs_of(rendered["sidekiq"])["worker"])

    assert block(worker, "vault")["role"] == "preview-shop-pr-42"
    secrets = blocks(worker, "template")[1]
    assert secrets["destination"] == "secrets/app.env"
    assert secrets["data"].startswith('{{ with secret "kv/data/previews/shop-pr-42/app" -}}\n')
    assert 'STRIPE_API_KEY={{ index .Data.data "stripe_test_key" }}' in secrets["data"]


@pytest.mark.parametrize("case", list(CASES))
def test_no_secret_value_reaches_any_output(rendered: dict[str, dict[str, Any]], case: str) -> None:
    assert SENTINEL not in rendered[case]["stdout"]
    for path in rendered[case]["folder"].iterdir():
        assert SENTINEL not in path.read_text(), path.name


def test_a_profile_without_secrets_has_no_vault_block(
    rendered: dict[str, dict[str, Any]],
) -> None:
    worker = task_of(jobs_of(rendered["bullmq"])["worker"])

    assert "vault" not in worker
    assert len(blocks(worker, "template")) == 1


def test_disabled_schedules_never_fire_but_stay_forceable(
    rendered: dict[str, dict[str, Any]],
) -> None:
    summary = rendered["sidekiq"]["summary"]

    for schedule in summary["schedules"]:
        spec = jobs_of(rendered["sidekiq"])[schedule["job_id"]]
        periodic = block(spec, "periodic")
        assert schedule["enabled"] is False
        assert periodic["crons"] == ["0 0 1 1 * 2099"]
        assert "enabled" not in periodic
        assert block(spec, "meta")["preview_schedule_enabled"] == "false"
        assert block(spec, "meta")["preview_schedule_cron"] == schedule["cron"]


@pytest.mark.parametrize("case", ["sidekiq", "opted-in"])
def test_every_schedule_run_is_stopped_at_the_hard_job_timeout(
    rendered: dict[str, dict[str, Any]], case: str
) -> None:
    summary = rendered[case]["summary"]

    assert summary["schedules"]
    for schedule in summary["schedules"]:
        (group,) = blocks(jobs_of(rendered[case])[schedule["job_id"]], "group")
        assert group["max_run_duration"] == summary["timeouts"]["job"]["display"]


@pytest.mark.parametrize("case", list(CASES))
def test_every_inbox_setting_the_job_gives_is_one_the_inbox_reads(
    rendered: dict[str, dict[str, Any]], case: str
) -> None:
    inbox = task_of(jobs_of(rendered[case])["inbox"])
    given = set(block(inbox, "env"))
    for template in blocks(inbox, "template"):
        given |= set(re.findall(r"^(INBOX_[A-Z_]+)=", template["data"], re.MULTILINE))

    known = {env_name(setting.name) for setting in fields(Settings)}
    assert given - known == set()
    assert {"INBOX_PREVIEW_ID", "INBOX_USERNAME", "INBOX_PASSWORD", "INBOX_MAILHOG_URL"} <= given


@pytest.mark.parametrize("case", list(CASES))
def test_the_inbox_reads_its_sign_in_from_its_own_nomad_variable(
    rendered: dict[str, dict[str, Any]], case: str
) -> None:
    summary = rendered[case]["summary"]
    inbox = task_of(jobs_of(rendered[case])["inbox"])
    variable = f"nomad/jobs/{summary['preview_id']}-inbox"

    (auth,) = [t for t in blocks(inbox, "template") if "INBOX_PASSWORD" in t["data"]]
    assert auth["destination"].startswith("secrets/")
    assert auth["env"] is True
    assert f'{{{{ with nomadVar "{variable}" -}}}}' in auth["data"]
    assert "INBOX_PASSWORD={{ .password }}" in auth["data"]
    assert not any(name.startswith("INBOX_PASS") for name in block(inbox, "env"))
    assert summary["inbox"] == {"username": "reviewer", "variable": variable}
    assert summary["variables"] == [
        {"path": variable, "items": {"username": "reviewer"}, "generated": ["password"]}
    ]


def test_opted_in_schedules_run_on_the_apps_cron(rendered: dict[str, dict[str, Any]]) -> None:
    summary = rendered["opted-in"]["summary"]
    by_name = {s["name"]: s for s in summary["schedules"]}

    assert by_name["nightly_digest"]["enabled"] is True
    assert by_name["abandoned_carts"]["enabled"] is False
    spec = jobs_of(rendered["opted-in"])[by_name["nightly_digest"]["job_id"]]
    assert block(spec, "periodic")["crons"] == ["0 3 * * *"]
    assert block(spec, "periodic")["time_zone"] == "Europe/Berlin"
    env = block(task_of(spec), "env")
    assert env["PREVIEW_SCHEDULES"] == "nightly_digest"


def test_no_web_process_means_no_web_job_and_no_dashboard_link(
    rendered: dict[str, dict[str, Any]],
) -> None:
    summary = rendered["no-web"]["summary"]

    assert "web" not in {job["component"] for job in summary["jobs"]}
    assert "web" not in summary["links"]
    assert "dashboard" not in summary["links"]


def test_postgres_queue_is_the_previews_own(rendered: dict[str, dict[str, Any]]) -> None:
    jobs = jobs_of(rendered["postgres-queue"])
    queue = task_of(jobs["queue"])

    assert queue["label"] == "postgres"
    assert block(queue, "config")["image"].startswith("postgres:")
    worker = task_of(jobs["worker"])
    assert "DATABASE_URL=postgres://preview@{{ .Address }}" in blocks(worker, "template")[0]["data"]
    assert block(worker, "env")["GOOD_JOB_ENABLE_CRON"] == "false"
    assert block(worker, "config")["args"][-4:] == [
        "--max-threads",
        "1",
        "--shutdown-timeout",
        "20",
    ]


def test_rabbitmq_queue_is_the_previews_own(rendered: dict[str, dict[str, Any]]) -> None:
    jobs = jobs_of(rendered["rabbitmq-queue"])
    queue = task_of(jobs["queue"])
    worker = task_of(jobs["worker"])

    assert queue["label"] == "rabbitmq"
    assert block(queue, "config")["image"].startswith("rabbitmq:")
    wiring = blocks(worker, "template")[0]["data"]
    assert "DRAMATIQ_BROKER_URL=amqp://guest:guest@{{ .Address }}:{{ .Port }}/" in wiring
    assert block(worker, "config")["args"][-2:] == ["--worker-shutdown-timeout", "20000"]


@pytest.mark.parametrize(
    ("case", "limits"),
    [
        ("sidekiq", {"job_timeout": "app", "drain_timeout": "preset"}),
        ("celery", {"job_timeout": "preset", "drain_timeout": "app"}),
        ("hangfire", {"job_timeout": "app", "drain_timeout": "app"}),
    ],
)
def test_the_summary_says_who_applies_each_limit(
    rendered: dict[str, dict[str, Any]], case: str, limits: dict[str, str]
) -> None:
    enforcement = rendered[case]["summary"]["enforcement"]
    markdown = (rendered[case]["folder"] / "summary.md").read_text()

    for key, who in limits.items():
        lead = "set by the preset" if who == "preset" else "left to the app, which reads"
        assert enforcement[key].startswith(lead), enforcement
    assert f"- drain: {enforcement['drain_timeout']}" in markdown


def test_a_dashboard_with_its_own_process_gets_a_job(rendered: dict[str, dict[str, Any]]) -> None:
    jobs = jobs_of(rendered["own-dashboard"])
    dash = task_of(jobs["dashboard"])

    assert "RQ_DASHBOARD_REDIS_URL=redis://" in blocks(dash, "template")[0]["data"]
    assert block(dash, "service")["provider"] == "nomad"
    mail = task_of(jobs["mail"])
    assert mail["label"] == "mailpit"
    assert rendered["own-dashboard"]["summary"]["links"]["dashboard"].startswith(
        "https://dashboard-"
    )


def test_a_long_name_is_cut_and_hashed_and_every_service_name_fits(
    rendered: dict[str, dict[str, Any]],
) -> None:
    summary = rendered["long-name"]["summary"]

    assert "--" in summary["preview_id"]
    for key, spec in jobs_of(rendered["long-name"]).items():
        (group,) = blocks(spec, "group")
        task = task_of(spec)
        assert len(f"{spec['label']}-{group['label']}-{task['label']}") <= 63, key
        for service in blocks(task, "service"):
            assert len(service["name"]) <= 63


def test_summary_holds_the_keys_ci_relies_on(rendered: dict[str, dict[str, Any]]) -> None:
    summary = rendered["sidekiq"]["summary"]

    assert {
        "preview_id",
        "namespace",
        "jobs",
        "links",
        "idle_timeout",
        "expires_at",
        "timeouts",
        "schedules",
    } <= set(summary)
    assert summary["expires_at"] == "2026-12-02T09:00:00Z"
    assert {job["type"] for job in summary["jobs"]} == {"service", "batch"}
    assert all({"id", "file", "type"} <= set(job) for job in summary["jobs"])


def test_the_run_says_nothing_was_submitted_and_how_to_submit(
    rendered: dict[str, dict[str, Any]],
) -> None:
    out = rendered["sidekiq"]["stdout"]

    assert "Nothing was submitted: no Nomad address is configured." in out
    assert "set NOMAD_ADDR" in out
    assert (
        "Rendered only: nothing was submitted to Nomad."
        in (rendered["sidekiq"]["folder"] / "summary.md").read_text()
    )


def test_sidekiq_example_matches_the_reviewed_golden_files(
    rendered: dict[str, dict[str, Any]],
) -> None:
    folder = rendered["sidekiq"]["folder"]
    produced = {
        path.name: path.read_text().replace(str(folder.parent), "<output>")
        for path in sorted(folder.iterdir())
    }
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.mkdir(parents=True, exist_ok=True)
        for old in GOLDEN.iterdir():
            old.unlink()
        for name, text in produced.items():
            (GOLDEN / name).write_text(text)

    expected = {path.name: path.read_text() for path in sorted(GOLDEN.iterdir())}
    assert produced == expected, "run with UPDATE_GOLDEN=1 and review the diff"


def test_check_mode_writes_nothing(tmp_path: Path) -> None:
    variables = {
        "preview_app": example("celery"),
        "preview_repo": "newsroom",
        "preview_pr": 7,
        "preview_output_dir": str(tmp_path / "out"),
    }
    vars_file = tmp_path / "vars.json"
    vars_file.write_text(json.dumps(variables))

    result = run_playbook("preview_open.yml", "--check", "--diff", extra_vars=[f"@{vars_file}"])

    assert not (tmp_path / "out").exists()
    assert "newsroom-pr-7-worker.nomad.hcl" in result.stdout
    folder = tmp_path / "out" / "newsroom-pr-7"
    assert f"would be rendered into {folder} (check mode: nothing was written)" in result.stdout
    assert f"rendered into {folder}\n" not in result.stdout


def test_bad_input_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    variables = {
        "preview_app": example("sidekiq"),
        "preview_repo": "shop",
        "preview_pr": "42/../43",
        "preview_output_dir": str(tmp_path / "out"),
    }
    vars_file = tmp_path / "vars.json"
    vars_file.write_text(json.dumps(variables))

    result = run_playbook("preview_open.yml", extra_vars=[f"@{vars_file}"], check=False)

    assert result.returncode != 0
    assert "preview_pr" in result.stdout
    assert not (tmp_path / "out").exists()
