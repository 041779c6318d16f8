"""What a preview survives: a failure at any step of an open, closes that overlap, many opens.

A clean open's request log names every kind of call preview_open.yml makes. Each one is then
made to fail once on a fresh double: whatever that open did, opening again must converge, and
closing instead must leave nothing of the preview behind. Nomad is read back over its HTTP API.

A step's fault hits the first request of its kind, aimed at the last job or namespace the clean
open called it for; later requests of the same kind in the same run (the listing that the
report reads again, say) are not faulted separately.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.doubles.nomad import NomadDouble
from tests.integration.playbooks_helpers import (
    NOTHING_LEFT,
    SMALL_APP,
    ApiStep,
    NomadReader,
    Preview,
    Target,
    api_steps,
    close_after_test,
    close_preview,
    open_preview,
    output_of,
    register_calls,
    summary_job_ids,
    write_profile,
)

pytestmark = pytest.mark.slow


PREVIEW = Preview("notifier", 7)
# The small profile with a Vault secret and a schedule, so every kind of job is submitted.
FAULT_APP: dict[str, Any] = {
    **SMALL_APP,
    "secrets": {"API_KEY": "api_key"},
    "schedules": [{"name": "digest", "cron": "0 3 * * *", "command": ["bin/digest"]}],
}
# Fresh doubles working at once in the fault sweep; ansible-playbook keeps a core busy.
SWEEP_WORKERS = 2
# Previews opened at once against one double, each by an ansible-playbook process of its own.
PARALLEL_PREVIEWS = 20
# New previews racing for the places left under the cap, and how late Nomad answers each
# namespace creation: long enough for every racing open to read the listing before any exists.
RACING_PREVIEWS = 4
# Seconds a slowed answer takes: well under the playbooks' 10 s client timeout.
SLOW_ANSWER = 2.0
RACE_CAP = 2
CREATE_DELAY = 8.0


@pytest.fixture
def small_profile(tmp_path: Path) -> Path:
    return write_profile(tmp_path, SMALL_APP, "small.yml")


@pytest.fixture
def fault_profile(tmp_path: Path) -> Path:
    return write_profile(tmp_path, FAULT_APP, "faults.yml")


def faulted_open(step: ApiStep, profile: Path, output: Path, double: NomadDouble) -> list[str]:
    """Open with ``step`` failing once; the problems found, none when it behaved."""
    double.fail_next(step.method, step.target, times=1, status=500)
    opened = open_preview(double, PREVIEW, profile, output, check=False)
    hit = [r for r in double.request_log if r.injected]
    if not hit:
        return [f"{step.label}: the fault was never hit"]
    if opened.returncode != 0 and "injected failure" not in output_of(opened):
        return [f"{step.label}: the open failed without Nomad's answer:\n{output_of(opened)}"]
    return []


def converge_after(step: ApiStep, profile: Path, output: Path, expected: list[str]) -> list[str]:
    """Fault ``step`` once in an open, then open again: the preview must be whole and open."""
    with NomadDouble(vault=True) as double:
        problems = faulted_open(step, profile, output, double)
        again = open_preview(double, PREVIEW, profile, output, check=False)
        if again.returncode != 0:
            return [*problems, f"{step.label}: open again failed:\n{output_of(again)}"]
        nomad = NomadReader(double)
        state = (nomad.namespace(PREVIEW.namespace) or {}).get("Meta", {}).get("preview_state")
        jobs = sorted(nomad.jobs(PREVIEW.namespace))
        if (state, jobs) != ("open", expected):
            problems.append(f"{step.label}: open again left state {state!r} and jobs {jobs}")
        return problems


def close_after(step: ApiStep, profile: Path, output: Path) -> list[str]:
    """Fault ``step`` once in an open, then close: nothing of the preview may be left."""
    with NomadDouble(vault=True) as double:
        problems = faulted_open(step, profile, output, double)
        closed = close_preview(double, PREVIEW, check=False)
        if closed.returncode != 0:
            return [*problems, f"{step.label}: close failed:\n{output_of(closed)}"]
        left = NomadReader(double).leftovers(PREVIEW)
        if left != NOTHING_LEFT:
            problems.append(f"{step.label}: close left {left}")
        return problems


def test_a_failure_at_any_step_of_an_open_converges_or_closes_cleanly(
    nomad_vault_double: Target, fault_profile: Path, tmp_path: Path
) -> None:
    logged = len(nomad_vault_double.request_log)
    open_preview(nomad_vault_double, PREVIEW, fault_profile, tmp_path / "clean")
    steps = api_steps(nomad_vault_double.request_log[logged:])
    expected = sorted(summary_job_ids(tmp_path / "clean", PREVIEW))
    labels = [step.label for step in steps]
    for kind in ("POST /v1/namespace", "POST /v1/job/*/plan", "POST /v1/job/*"):
        assert kind in labels, labels

    runs: list[tuple[Callable[..., list[str]], tuple[Any, ...]]] = []
    for number, step in enumerate(steps):
        runs.append((converge_after, (step, fault_profile, tmp_path / f"{number}-a", expected)))
        runs.append((close_after, (step, fault_profile, tmp_path / f"{number}-b")))
    with ThreadPoolExecutor(max_workers=SWEEP_WORKERS) as pool:
        found = list(pool.map(lambda run: run[0](*run[1]), runs))

    problems = [problem for step_problems in found for problem in step_problems]
    assert problems == [], f"{len(steps)} steps faulted:\n" + "\n\n".join(problems)


def test_two_closes_at_once_both_succeed(
    nomad_double: Target, small_profile: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    close_after_test(request, nomad_double, PREVIEW)
    open_preview(nomad_double, PREVIEW, small_profile, tmp_path)

    with ThreadPoolExecutor(max_workers=2) as pool:
        closes = list(
            pool.map(lambda _: close_preview(nomad_double, PREVIEW, check=False), range(2))
        )
    closed_again = close_preview(nomad_double, PREVIEW, check=False)

    for run in [*closes, closed_again]:
        assert run.returncode == 0, output_of(run)
    assert NomadReader(nomad_double).leftovers(PREVIEW) == NOTHING_LEFT


def test_closing_a_preview_that_never_existed_leaves_the_others_alone(
    nomad_double: Target, small_profile: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    close_after_test(request, nomad_double, PREVIEW)
    open_preview(nomad_double, PREVIEW, small_profile, tmp_path)
    nomad = NomadReader(nomad_double)
    namespace = nomad.namespace(PREVIEW.namespace)
    versions = nomad.versions(PREVIEW.namespace)

    closed = close_preview(nomad_double, Preview("notifier", 70))

    assert closed.returncode == 0
    assert nomad.namespace(PREVIEW.namespace) == namespace
    assert nomad.versions(PREVIEW.namespace) == versions


def test_an_interrupted_close_refuses_opens_until_it_is_finished(
    nomad_double: Target, small_profile: Path, tmp_path: Path
) -> None:
    nomad_double.fail_next("DELETE", f"/v1/namespace/{PREVIEW.namespace}", status=500)
    open_preview(nomad_double, PREVIEW, small_profile, tmp_path)
    nomad = NomadReader(nomad_double)

    interrupted = close_preview(nomad_double, PREVIEW, check=False)
    meta = (nomad.namespace(PREVIEW.namespace) or {}).get("Meta") or {}
    logged = len(nomad_double.request_log)
    refused = open_preview(nomad_double, PREVIEW, small_profile, tmp_path, check=False)
    registered_meanwhile = register_calls(nomad_double.request_log[logged:])
    jobs_meanwhile = nomad.jobs(PREVIEW.namespace)
    finished = close_preview(nomad_double, PREVIEW, check=False)
    left = nomad.leftovers(PREVIEW)
    reopened = open_preview(nomad_double, PREVIEW, small_profile, tmp_path, check=False)

    assert interrupted.returncode != 0
    assert meta.get("preview_state") == "closing"
    assert refused.returncode != 0
    assert "is being closed" in output_of(refused), output_of(refused)
    assert (registered_meanwhile, jobs_meanwhile) == ([], {})
    assert finished.returncode == 0, output_of(finished)
    assert left == NOTHING_LEFT
    assert reopened.returncode == 0, output_of(reopened)


def test_twenty_previews_opened_at_once_stay_apart(
    nomad_double: Target, small_profile: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    previews = [Preview("fleet", number) for number in range(1, PARALLEL_PREVIEWS + 1)]
    for preview in previews:
        close_after_test(request, nomad_double, preview)

    def opened(preview: Preview) -> Any:
        return open_preview(
            nomad_double, preview, small_profile, tmp_path / preview.preview_id, check=False
        )

    with ThreadPoolExecutor(max_workers=PARALLEL_PREVIEWS) as pool:
        runs = list(pool.map(opened, previews))

    failed = [output_of(run) for run in runs if run.returncode != 0]
    assert failed == [], "\n\n".join(failed)
    nomad = NomadReader(nomad_double)
    fleet = [name for name in nomad.namespace_names() if name.startswith("preview-fleet-")]
    assert sorted(fleet) == sorted(preview.namespace for preview in previews)
    for preview in previews:
        meta = (nomad.namespace(preview.namespace) or {}).get("Meta") or {}
        jobs = sorted(nomad.jobs(preview.namespace))
        rendered = sorted(summary_job_ids(tmp_path / preview.preview_id, preview))
        assert meta.get("preview_id") == preview.preview_id
        assert jobs == rendered
        assert len(jobs) == 4
        assert all(job.startswith(f"{preview.preview_id}-") for job in jobs), jobs


def test_opens_racing_past_the_cap_keep_only_the_previews_nomad_created_first(
    nomad_double: Target, small_profile: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    previews = [Preview("race", number) for number in range(1, RACING_PREVIEWS + 1)]
    for preview in previews:
        close_after_test(request, nomad_double, preview)
    # Every open lists the previews (none yet) long before Nomad applies any namespace creation.
    nomad_double.fail_next("POST", "/v1/namespace", times=RACING_PREVIEWS, delay=CREATE_DELAY)

    def opened(preview: Preview) -> Any:
        return open_preview(
            nomad_double,
            preview,
            small_profile,
            tmp_path / preview.preview_id,
            extra_vars=[f"preview_max_previews={RACE_CAP}"],
            check=False,
        )

    with ThreadPoolExecutor(max_workers=RACING_PREVIEWS) as pool:
        runs = dict(zip(previews, pool.map(opened, previews), strict=True))

    kept = [preview for preview, run in runs.items() if run.returncode == 0]
    refused = [preview for preview, run in runs.items() if run.returncode != 0]
    assert len(kept) == RACE_CAP, [output_of(run) for run in runs.values()]
    for preview in refused:
        assert f"the cap is {RACE_CAP}" in output_of(runs[preview]), output_of(runs[preview])
    nomad = NomadReader(nomad_double)
    racing = [name for name in nomad.namespace_names() if name.startswith("preview-race-")]
    assert racing == sorted(preview.namespace for preview in kept)
    for preview in refused:
        assert nomad.leftovers(preview) == NOTHING_LEFT


def test_a_register_that_hangs_times_out_by_name_and_the_next_open_converges(
    nomad_double: Target, small_profile: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    close_after_test(request, nomad_double, PREVIEW)
    queue = f"{PREVIEW.preview_id}-queue"
    nomad_double.fail_next("POST", f"/v1/job/{queue}", hang=True)

    hung = open_preview(nomad_double, PREVIEW, small_profile, tmp_path, check=False)
    again = open_preview(nomad_double, PREVIEW, small_profile, tmp_path, check=False)

    assert hung.returncode != 0
    assert f"Timed out registering job '{queue}' in namespace '{PREVIEW.namespace}'" in (
        output_of(hung)
    ), output_of(hung)
    assert again.returncode == 0, output_of(again)
    jobs = NomadReader(nomad_double).jobs(PREVIEW.namespace)
    assert sorted(jobs) == sorted(summary_job_ids(tmp_path, PREVIEW))
    assert {stub["Status"] for stub in jobs.values()} == {"running"}


def test_slow_answers_at_every_kind_of_step_only_slow_the_open_down(
    nomad_double: Target, small_profile: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    close_after_test(request, nomad_double, PREVIEW)
    for method, pattern in (
        ("GET", "/v1/namespaces"),
        ("POST", "/v1/namespace*"),
        ("POST", "/v1/jobs/parse"),
        ("POST", "/v1/job/*/plan"),
        ("POST", "/v1/job/*"),
        ("GET", "/v1/job/*/deployment"),
    ):
        nomad_double.fail_next(method, pattern, delay=SLOW_ANSWER)

    opened = open_preview(nomad_double, PREVIEW, small_profile, tmp_path, check=False)

    assert opened.returncode == 0, output_of(opened)
    slowed = [r for r in nomad_double.request_log if r.injected == "delay"]
    assert len(slowed) == 6, [f"{r.method} {r.path}" for r in slowed]
    assert sorted(NomadReader(nomad_double).jobs(PREVIEW.namespace)) == sorted(
        summary_job_ids(tmp_path, PREVIEW)
    )
