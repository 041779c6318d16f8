"""The preview playbooks end to end, as CI runs them, against the Nomad double or a real agent.

Each test runs playbooks/preview_open.yml, preview_close.yml or preview_touch.yml in its own
``ansible-playbook`` process and then reads Nomad back over its HTTP API: what a run printed
is never taken as proof of what it did. Counting register calls needs the double's request
log; everything else also holds against a real agent (see ``tests.doubles.fixtures``).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from tests.doubles.nomad import NomadDouble
from tests.integration.playbooks_helpers import (
    FIRST_SHA,
    NOTHING_LEFT,
    SIDEKIQ_PROFILE,
    SMALL_APP,
    NomadReader,
    Preview,
    Target,
    close_after_test,
    close_preview,
    open_preview,
    output_of,
    read_summary,
    register_calls,
    sidekiq_app,
    summary_job_ids,
    touch_preview,
    write_profile,
)

pytestmark = pytest.mark.slow


SHOP = Preview("shop", 42)
NOTIFIER = Preview("notifier", 7)
OPENED_AT = "2026-12-01T09:00:00Z"
PUSHED_AT = "2026-12-01T10:30:00Z"
TOUCHED_AT = "2026-12-02T08:15:00Z"
SECOND_SHA = "9f8e7d6c5b4a"
SENTINEL = "sentinel-token-3c9d41e2-never-printed"
HOST_PORT = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}:\d+\b")


def changed_count(output: str) -> int:
    """The ``changed=`` count of the run's PLAY RECAP."""
    found = re.search(r"localhost\s*:.*changed=(\d+)", output)
    assert found, output
    return int(found.group(1))


def live_allocation_ids(nomad: NomadReader, preview: Preview, job_id: str) -> list[str]:
    return sorted(a["ID"] for a in nomad.live_allocations(preview.namespace, job_id))


@pytest.fixture
def small_profile(tmp_path: Path) -> Path:
    return write_profile(tmp_path, SMALL_APP, "small.yml")


def test_open_records_the_preview_and_runs_every_job(
    nomad_vault_double: Target, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    close_after_test(request, nomad_vault_double, SHOP)
    open_preview(
        nomad_vault_double,
        SHOP,
        SIDEKIQ_PROFILE,
        tmp_path,
        extra_vars=[f"preview_now={OPENED_AT}", "preview_branch=fix-checkout"],
    )

    nomad = NomadReader(nomad_vault_double)
    namespace = nomad.namespace(SHOP.namespace)
    assert namespace is not None, f"{SHOP.namespace} was not created"
    expected_meta = {
        "preview_id": "shop-pr-42",
        "preview_state": "open",
        "preview_repo": "shop",
        "preview_pr": "42",
        "preview_sha": FIRST_SHA,
        "preview_branch": "fix-checkout",
        "preview_created_at": OPENED_AT,
        "preview_last_activity_at": OPENED_AT,
        "preview_idle_timeout": "48h",
    }
    meta = namespace.get("Meta") or {}
    assert {key: meta.get(key) for key in expected_meta} == expected_meta

    rendered = summary_job_ids(tmp_path, SHOP)
    jobs = nomad.jobs(SHOP.namespace)
    assert len(rendered) == 7
    assert sorted(jobs) == sorted(rendered)
    assert {job_id: stub["Status"] for job_id, stub in jobs.items()} == dict.fromkeys(
        rendered, "running"
    )
    services = [job_id for job_id, stub in jobs.items() if stub["Type"] == "service"]
    assert sorted(services) == sorted(
        f"shop-pr-42-{c}" for c in ("queue", "mail", "inbox", "worker", "web")
    )
    for job_id in services:
        assert live_allocation_ids(nomad, SHOP, job_id), f"{job_id} has no running allocation"


def test_summary_lists_the_addresses_nomad_gave(
    nomad_vault_double: Target, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    close_after_test(request, nomad_vault_double, SHOP)
    open_preview(nomad_vault_double, SHOP, SIDEKIQ_PROFILE, tmp_path)

    nomad = NomadReader(nomad_vault_double)
    summary = read_summary(tmp_path, SHOP)
    listed = {
        job["id"]: set(HOST_PORT.findall(json.dumps(job.get("addresses") or [])))
        for job in summary["jobs"]
    }
    allocated = {job_id: nomad.ports(SHOP.namespace, job_id) for job_id in listed}
    assert listed == allocated
    assert allocated["shop-pr-42-queue"], "the queue's allocation has no port"
    assert allocated["shop-pr-42-mail"], "the mailbox's allocation has no port"


def test_rerun_without_a_change_registers_nothing(
    nomad_vault_double: Target, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    close_after_test(request, nomad_vault_double, SHOP)
    nomad = NomadReader(nomad_vault_double)
    open_preview(
        nomad_vault_double, SHOP, SIDEKIQ_PROFILE, tmp_path, extra_vars=[f"preview_now={OPENED_AT}"]
    )
    before = nomad.versions(SHOP.namespace)
    allocations = {job: live_allocation_ids(nomad, SHOP, job) for job in before}
    logged = (
        len(nomad_vault_double.request_log) if isinstance(nomad_vault_double, NomadDouble) else 0
    )

    open_preview(
        nomad_vault_double, SHOP, SIDEKIQ_PROFILE, tmp_path, extra_vars=[f"preview_now={PUSHED_AT}"]
    )

    assert nomad.versions(SHOP.namespace) == before
    assert {job: live_allocation_ids(nomad, SHOP, job) for job in before} == allocations
    meta = (nomad.namespace(SHOP.namespace) or {}).get("Meta") or {}
    assert (meta.get("preview_created_at"), meta.get("preview_last_activity_at")) == (
        OPENED_AT,
        PUSHED_AT,
    )
    if isinstance(nomad_vault_double, NomadDouble):
        assert register_calls(nomad_vault_double.request_log[logged:]) == []


def test_push_to_the_worker_registers_only_the_worker(
    nomad_vault_double: Target, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    close_after_test(request, nomad_vault_double, SHOP)
    nomad = NomadReader(nomad_vault_double)
    open_preview(
        nomad_vault_double, SHOP, SIDEKIQ_PROFILE, tmp_path, extra_vars=[f"preview_now={OPENED_AT}"]
    )
    before = nomad.versions(SHOP.namespace)
    kept = {
        job: live_allocation_ids(nomad, SHOP, job)
        for job in ("shop-pr-42-queue", "shop-pr-42-mail")
    }
    worker_allocations = live_allocation_ids(nomad, SHOP, "shop-pr-42-worker")
    logged = (
        len(nomad_vault_double.request_log) if isinstance(nomad_vault_double, NomadDouble) else 0
    )
    app = sidekiq_app()
    app["worker"]["concurrency"] = app["worker"]["concurrency"] + 2
    pushed = write_profile(tmp_path, app, "pushed.yml")

    open_preview(
        nomad_vault_double,
        SHOP,
        pushed,
        tmp_path,
        sha=SECOND_SHA,
        extra_vars=[f"preview_now={PUSHED_AT}"],
    )

    after = nomad.versions(SHOP.namespace)
    assert sorted(job for job in after if after[job] != before[job]) == ["shop-pr-42-worker"]
    assert after["shop-pr-42-worker"][0] == before["shop-pr-42-worker"][0] + 1
    assert {job: live_allocation_ids(nomad, SHOP, job) for job in kept} == kept
    assert live_allocation_ids(nomad, SHOP, "shop-pr-42-worker") != worker_allocations
    worker = nomad.job(SHOP.namespace, "shop-pr-42-worker") or {}
    queue = nomad.job(SHOP.namespace, "shop-pr-42-queue") or {}
    # The head SHA alone re-registers nothing; a job registered for a change carries the new one.
    assert (worker["Meta"]["preview_sha"], queue["Meta"]["preview_sha"]) == (SECOND_SHA, FIRST_SHA)
    if isinstance(nomad_vault_double, NomadDouble):
        assert register_calls(nomad_vault_double.request_log[logged:]) == [
            "/v1/job/shop-pr-42-worker"
        ]


def test_check_mode_on_a_new_preview_writes_nothing(
    nomad_vault_double: Target, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    close_after_test(request, nomad_vault_double, SHOP)

    open_preview(nomad_vault_double, SHOP, SIDEKIQ_PROFILE, tmp_path, "--check")

    assert NomadReader(nomad_vault_double).leftovers(SHOP) == NOTHING_LEFT
    if isinstance(nomad_vault_double, NomadDouble):
        writes = {
            (r.method, r.path)
            for r in nomad_vault_double.request_log
            if r.method != "GET" and r.path != "/v1/jobs/parse" and not r.path.endswith("/plan")
        }
        assert writes == set()


def test_close_removes_everything_and_can_run_again(
    nomad_vault_double: Target, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    close_after_test(request, nomad_vault_double, SHOP)
    nomad = NomadReader(nomad_vault_double)
    open_preview(nomad_vault_double, SHOP, SIDEKIQ_PROFILE, tmp_path)
    schedule = next(job for job in nomad.jobs(SHOP.namespace) if "-cron-" in job)
    nomad.post(f"/v1/job/{schedule}/periodic/force", namespace=SHOP.namespace)
    variable = "nomad/jobs/shop-pr-42-worker"
    nomad.put(
        f"/v1/var/{variable}",
        {"Namespace": SHOP.namespace, "Path": variable, "Items": {"cursor": "17"}},
        namespace=SHOP.namespace,
    )
    present = sorted(nomad.jobs(SHOP.namespace))
    assert any(job.startswith(f"{schedule}/periodic-") for job in present), present

    closed = close_preview(nomad_vault_double, SHOP)
    closed_again = close_preview(nomad_vault_double, SHOP)

    assert nomad.leftovers(SHOP) == NOTHING_LEFT
    for removed in [f"{SHOP.namespace}: deleted", *present, variable]:
        assert removed in closed.stdout, f"{removed} is missing from the receipt:\n{closed.stdout}"
    assert changed_count(closed_again.stdout) == 0


def test_close_of_a_preview_that_never_existed_succeeds(nomad_double: Target) -> None:
    never = Preview("shop", 4040)

    closed = close_preview(nomad_double, never)

    assert changed_count(closed.stdout) == 0
    assert NomadReader(nomad_double).leftovers(never) == NOTHING_LEFT


def test_open_is_refused_while_the_preview_is_closing(
    nomad_double: Target, small_profile: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    close_after_test(request, nomad_double, NOTIFIER)
    nomad = NomadReader(nomad_double)
    closing_meta = {
        "preview_id": NOTIFIER.preview_id,
        "preview_repo": NOTIFIER.repo,
        "preview_pr": str(NOTIFIER.pr),
        "preview_created_at": OPENED_AT,
        "preview_last_activity_at": OPENED_AT,
        "preview_idle_timeout": "12h",
        "preview_state": "closing",
    }
    nomad.put(
        f"/v1/namespace/{NOTIFIER.namespace}",
        {"Name": NOTIFIER.namespace, "Description": "closing", "Meta": closing_meta},
    )

    refused = open_preview(nomad_double, NOTIFIER, small_profile, tmp_path, check=False)

    assert refused.returncode != 0
    assert "is being closed" in output_of(refused), output_of(refused)
    assert (nomad.namespace(NOTIFIER.namespace) or {}).get("Meta") == closing_meta
    assert nomad.jobs(NOTIFIER.namespace) == {}


def test_touch_moves_last_activity_and_nothing_else(
    nomad_double: Target, small_profile: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    close_after_test(request, nomad_double, NOTIFIER)
    nomad = NomadReader(nomad_double)
    open_preview(
        nomad_double,
        NOTIFIER,
        small_profile,
        tmp_path,
        extra_vars=[f"preview_now={OPENED_AT}"],
    )
    namespace = nomad.namespace(NOTIFIER.namespace) or {}
    versions = nomad.versions(NOTIFIER.namespace)
    allocations = {job: live_allocation_ids(nomad, NOTIFIER, job) for job in versions}

    touch_preview(nomad_double, NOTIFIER, TOUCHED_AT)

    touched = nomad.namespace(NOTIFIER.namespace) or {}
    assert touched["Meta"] == {**namespace["Meta"], "preview_last_activity_at": TOUCHED_AT}
    assert touched["Description"] == namespace["Description"]
    assert nomad.versions(NOTIFIER.namespace) == versions
    assert {job: live_allocation_ids(nomad, NOTIFIER, job) for job in versions} == allocations


def test_touch_of_a_missing_preview_fails_and_creates_nothing(nomad_double: Target) -> None:
    missing = Preview("notifier", 404)

    touched = touch_preview(nomad_double, missing, TOUCHED_AT, check=False)

    assert touched.returncode != 0
    output = output_of(touched)
    assert missing.namespace in output, output
    assert "no such preview is open" in output, output
    assert NomadReader(nomad_double).leftovers(missing) == NOTHING_LEFT


def test_cap_refuses_a_new_preview_but_updates_an_open_one(
    nomad_double: Target, small_profile: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    first, second = Preview("notifier", 1), Preview("notifier", 2)
    close_after_test(request, nomad_double, first)
    close_after_test(request, nomad_double, second)
    idle_since = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=90)
    open_preview(
        nomad_double,
        first,
        small_profile,
        tmp_path,
        extra_vars=[f"preview_now={idle_since:%Y-%m-%dT%H:%M:%SZ}"],
    )
    cap = json.dumps({"preview_max_previews": 1})

    refused = open_preview(
        nomad_double, second, small_profile, tmp_path, extra_vars=[cap], check=False
    )
    updated = open_preview(nomad_double, first, small_profile, tmp_path, extra_vars=[cap])

    assert refused.returncode != 0
    # The open preview is listed with how long it has been idle: 90 minutes and the run's time.
    listing = re.compile(rf"{re.escape(first.namespace)} \(1h3\dm(\d+s)?\)")
    assert listing.search(output_of(refused)), output_of(refused)
    nomad = NomadReader(nomad_double)
    assert nomad.leftovers(second) == NOTHING_LEFT
    assert updated.returncode == 0
    assert (nomad.namespace(first.namespace) or {})["Meta"]["preview_state"] == "open"


def test_a_failing_worker_fails_the_open_with_its_task_events(
    nomad_double: Target, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    close_after_test(request, nomad_double, NOTIFIER)
    broken = "registry.example.com/acme/notifier:broken"
    nomad_double.mark_failing(image=broken)
    app = {**SMALL_APP, "worker": {**SMALL_APP["worker"], "image": broken}}
    profile = write_profile(tmp_path, app, "broken.yml")

    failed = open_preview(nomad_double, NOTIFIER, profile, tmp_path, check=False)

    assert failed.returncode != 0
    output = output_of(failed)
    assert "notifier-pr-7-worker" in output
    assert "Driver Failure" in output, output
    queue = NomadReader(nomad_double).job(NOTIFIER.namespace, "notifier-pr-7-queue")
    assert queue is not None, "the queue registered before the worker is gone"


def test_the_token_never_appears_in_any_output(
    nomad_double: Target, small_profile: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    close_after_test(request, nomad_double, NOTIFIER)
    token = nomad_double.management_token or SENTINEL

    opened = open_preview(nomad_double, NOTIFIER, small_profile, tmp_path, "-vvv", token=token)
    touched = touch_preview(nomad_double, NOTIFIER, TOUCHED_AT, "-vvv", token=token)
    closed = close_preview(nomad_double, NOTIFIER, "-vvv", token=token)

    for run in (opened, touched, closed):
        assert token not in output_of(run)
    assert NomadReader(nomad_double).leftovers(NOTIFIER) == NOTHING_LEFT


def test_the_management_token_is_used_and_never_printed(
    nomad_acl_double: Target, small_profile: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    close_after_test(request, nomad_acl_double, NOTIFIER)
    token = nomad_acl_double.management_token

    opened = open_preview(nomad_acl_double, NOTIFIER, small_profile, tmp_path, "-vvv", token=token)
    denied = close_preview(nomad_acl_double, NOTIFIER, token="", check=False)
    closed = close_preview(nomad_acl_double, NOTIFIER, "-vvv", token=token)

    assert denied.returncode != 0
    assert "Permission denied" in output_of(denied), output_of(denied)
    for run in (opened, denied, closed):
        assert token not in output_of(run)
    assert NomadReader(nomad_acl_double).leftovers(NOTIFIER) == NOTHING_LEFT


def test_cap_given_on_the_command_line_as_text_is_a_number(
    nomad_double: Target, small_profile: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    close_after_test(request, nomad_double, NOTIFIER)

    opened = open_preview(
        nomad_double,
        NOTIFIER,
        small_profile,
        tmp_path,
        extra_vars=["preview_max_previews=5"],
        check=False,
    )

    assert opened.returncode == 0, output_of(opened)
    assert (NomadReader(nomad_double).namespace(NOTIFIER.namespace) or {})["Meta"][
        "preview_state"
    ] == "open"


def test_the_inbox_password_is_generated_once_and_never_printed(
    nomad_double: Target, small_profile: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    close_after_test(request, nomad_double, NOTIFIER)
    nomad = NomadReader(nomad_double)
    path = f"nomad/jobs/{NOTIFIER.preview_id}-inbox"

    opened = open_preview(nomad_double, NOTIFIER, small_profile, tmp_path, "-vvv")
    items = nomad.get(f"/v1/var/{path}", namespace=NOTIFIER.namespace)["Items"]
    again = open_preview(nomad_double, NOTIFIER, small_profile, tmp_path, "-vvv")
    kept = nomad.get(f"/v1/var/{path}", namespace=NOTIFIER.namespace)["Items"]

    password = items["password"]
    assert items["username"] == "reviewer"
    assert len(password) == 32
    assert kept == items
    written = "".join(p.read_text() for p in (tmp_path / NOTIFIER.preview_id).iterdir())
    for text in (output_of(opened), output_of(again), written):
        assert password not in text
    inbox = nomad.job(NOTIFIER.namespace, f"{NOTIFIER.preview_id}-inbox") or {}
    templates = [t["EmbeddedTmpl"] for t in inbox["TaskGroups"][0]["Tasks"][0]["Templates"]]
    assert any(f'nomadVar "{path}"' in template for template in templates), templates
    assert read_summary(tmp_path, NOTIFIER)["inbox"] == {"username": "reviewer", "variable": path}


def test_an_inbox_reads_its_own_sign_in_and_not_another_previews(
    nomad_acl_double: Target, small_profile: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if not isinstance(nomad_acl_double, NomadDouble):
        pytest.skip("needs the double's workload identities; NOMAD_ADDR points at a real agent")
    token = nomad_acl_double.management_token
    other = Preview("notifier", 8)
    for preview in (NOTIFIER, other):
        close_after_test(request, nomad_acl_double, preview)
        open_preview(
            nomad_acl_double, preview, small_profile, tmp_path / preview.preview_id, token=token
        )
    nomad = NomadReader(nomad_acl_double)
    (allocation,) = nomad.live_allocations(NOTIFIER.namespace, f"{NOTIFIER.preview_id}-inbox")
    identity = nomad_acl_double.workload_token(allocation["ID"], "inbox")

    def read(preview: Preview) -> int:
        answer = requests.get(
            f"{nomad_acl_double.address}/v1/var/nomad/jobs/{preview.preview_id}-inbox",
            params={"namespace": preview.namespace},
            headers={"X-Nomad-Token": identity},
            timeout=10,
        )
        return answer.status_code

    assert read(NOTIFIER) == 200
    assert read(other) == 403
