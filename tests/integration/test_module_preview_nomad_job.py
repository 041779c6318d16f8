"""preview_nomad_job against the Nomad double (or the agent at NOMAD_ADDR).

Every outcome is checked another way than through the module: by reading Nomad with a client
of the test's own, or the double's request log and state.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from typing import Any

import pytest
from nomad.api.job import Job

from tests.doubles.fixtures import RealNomad
from tests.doubles.nomad import NomadDouble
from tests.integration.conftest import (
    NAMESPACE,
    ModuleRunner,
    TokenMaker,
    batch_hcl,
    client,
    connection,
    job_ids,
    periodic_hcl,
    service_hcl,
)

JOB = "shop-pr-42-web"
SENTINEL = "sentinel-token-4f1d9a7c-never-printed"
BROKEN = "preview-broken-command"
Target = NomadDouble | RealNomad


def job_args(target: Target, content: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        **connection(target),
        "namespace": NAMESPACE,
        "content": content if content is not None else service_hcl(),
        **extra,
    }


def registers(double: NomadDouble) -> int:
    """How many register calls the double has served (POST or PUT /v1/jobs and /v1/job/:id)."""
    return sum(
        1
        for record in double.request_log
        if record.method in {"POST", "PUT"} and record.path in {"/v1/jobs", f"/v1/job/{JOB}"}
    )


# Check, apply, apply again, edit ------------------------------------------------------------


def test_check_mode_reports_the_plan_and_writes_nothing(
    run_module: ModuleRunner, nomad_double: Target, preview_namespace: str
) -> None:
    run = run_module("preview_nomad_job", job_args(nomad_double), check=True, diff=True)

    assert not run.failed, run.msg
    assert run["changed"] is True
    assert run["registered"] is False
    assert run["diff_type"] == "Added"
    assert run["healthy"] is None
    assert run["plan"] == {"web": {"Place": 1}}
    assert 'Group "web".Task "web".Env[PREVIEW_ENV] = "1"' in run["diff"]["after"]
    assert "plan: Added" in run["diff"]["after_header"]
    assert job_ids(nomad_double) == []


def test_apply_registers_and_waits_then_apply_again_changes_nothing(
    run_module: ModuleRunner, nomad_double: Target, preview_namespace: str
) -> None:
    first = run_module("preview_nomad_job", job_args(nomad_double))
    second = run_module("preview_nomad_job", job_args(nomad_double))

    assert not first.failed, first.msg
    assert (first["changed"], first["registered"], first["diff_type"]) == (True, True, "Added")
    assert first["version"] == 0
    assert first["healthy"] is True
    assert first["eval_id"]
    assert not second.failed, second.msg
    assert (second["changed"], second["registered"], second["diff_type"]) == (False, False, "None")
    assert second["version"] == 0
    assert second["healthy"] is True
    stored = client(nomad_double).job.get_job(JOB, namespace=NAMESPACE)
    assert (stored["Version"], stored["Stop"]) == (0, False)
    assert stored["JobModifyIndex"] == first["job_modify_index"] == second["job_modify_index"]


def test_apply_again_sends_no_register(
    run_module: ModuleRunner, double: NomadDouble, preview_namespace: str
) -> None:
    run_module("preview_nomad_job", job_args(double))
    before = registers(double)

    again = run_module("preview_nomad_job", job_args(double))

    assert not again.failed, again.msg
    assert registers(double) == before == 1
    assert double.requests("POST", f"/v1/job/{JOB}/plan")


def test_an_edit_is_planned_as_edited_and_registered_as_a_new_version(
    run_module: ModuleRunner, nomad_double: Target, preview_namespace: str
) -> None:
    run_module("preview_nomad_job", job_args(nomad_double))

    edited = run_module(
        "preview_nomad_job", job_args(nomad_double, service_hcl(env_value="2")), diff=True
    )

    assert not edited.failed, edited.msg
    assert (edited["changed"], edited["diff_type"], edited["version"]) == (True, "Edited", 1)
    assert edited["diff"]["before"] == 'Group "web".Task "web".Env[PREVIEW_ENV] = "1"\n'
    assert edited["diff"]["after"].startswith('Group "web".Task "web".Env[PREVIEW_ENV] = "2"\n')
    stored = client(nomad_double).job.get_job(JOB, namespace=NAMESPACE)
    assert stored["TaskGroups"][0]["Tasks"][0]["Env"] == {"PREVIEW_ENV": "2"}
    assert stored["Version"] == 1


def with_meta(content: str, value: str) -> str:
    return content.replace(
        'preview_id = "shop-pr-42"',
        f'preview_id = "shop-pr-42"\n    preview_last_activity_at = "{value}"',
    )


def test_volatile_meta_alone_never_registers(
    run_module: ModuleRunner, nomad_double: Target, preview_namespace: str
) -> None:
    volatile = ["preview_last_activity_at"]
    run_module(
        "preview_nomad_job",
        job_args(nomad_double, with_meta(service_hcl(), "2026-12-03T10:00:00Z")),
    )

    touched = run_module(
        "preview_nomad_job",
        job_args(
            nomad_double,
            with_meta(service_hcl(), "2026-12-03T11:00:00Z"),
            volatile_meta=volatile,
        ),
    )
    edited = run_module(
        "preview_nomad_job",
        job_args(
            nomad_double,
            with_meta(service_hcl(env_value="2"), "2026-12-03T12:00:00Z"),
            volatile_meta=volatile,
        ),
    )

    assert (touched["changed"], touched["version"]) == (False, 0)
    assert (edited["changed"], edited["version"]) == (True, 1)
    stored = client(nomad_double).job.get_job(JOB, namespace=NAMESPACE)
    assert stored["Meta"]["preview_last_activity_at"] == "2026-12-03T12:00:00Z"


def test_json_content_is_submitted_like_hcl(
    run_module: ModuleRunner, nomad_double: Target, preview_namespace: str
) -> None:
    parsed = client(nomad_double).jobs.parse(service_hcl())

    run = run_module(
        "preview_nomad_job",
        job_args(nomad_double, json.dumps({"Job": parsed}), content_format="json", job_id=JOB),
    )

    assert not run.failed, run.msg
    assert run["registered"] is True
    assert job_ids(nomad_double) == [JOB]


# The register race -------------------------------------------------------------------------


@pytest.fixture
def race_next_plan(monkeypatch: pytest.MonkeyPatch, nomad_double: Target) -> Callable[[], None]:
    """Arm a race: right after the next plan, another run registers the job with other env.

    That is what a concurrent CI job pushing the same preview does between our plan and our
    register.
    """
    armed: list[bool] = []
    plan_job = Job.plan_job

    def plan_then_lose_the_race(self: Job, id_: str, job: dict[str, Any], **kwargs: Any) -> Any:
        plan = plan_job(self, id_, job, **kwargs)
        if armed:
            armed.clear()
            other = client(nomad_double)
            other.job.register_job(id_, {"Job": other.jobs.parse(service_hcl(env_value="other"))})
        return plan

    monkeypatch.setattr(Job, "plan_job", plan_then_lose_the_race)
    return lambda: armed.append(True)


def test_a_job_changed_between_plan_and_register_is_never_overwritten(
    run_module: ModuleRunner,
    nomad_double: Target,
    preview_namespace: str,
    race_next_plan: Callable[[], None],
) -> None:
    run_module("preview_nomad_job", job_args(nomad_double, wait=False))
    race_next_plan()

    lost = run_module(
        "preview_nomad_job", job_args(nomad_double, service_hcl(env_value="2"), wait=False)
    )

    assert lost.failed
    assert f"Job '{JOB}' in namespace '{NAMESPACE}' was changed by someone else" in lost.msg
    assert "Enforcing job modify index" in lost.msg
    assert lost["registered"] is False
    stored = client(nomad_double).job.get_job(JOB, namespace=NAMESPACE)
    assert stored["TaskGroups"][0]["Tasks"][0]["Env"] == {"PREVIEW_ENV": "other"}


def test_without_enforce_index_the_last_register_wins(
    run_module: ModuleRunner,
    nomad_double: Target,
    preview_namespace: str,
    race_next_plan: Callable[[], None],
) -> None:
    run_module("preview_nomad_job", job_args(nomad_double, wait=False))
    race_next_plan()

    won = run_module(
        "preview_nomad_job",
        job_args(nomad_double, service_hcl(env_value="2"), wait=False, enforce_index=False),
    )

    assert not won.failed, won.msg
    stored = client(nomad_double).job.get_job(JOB, namespace=NAMESPACE)
    assert stored["TaskGroups"][0]["Tasks"][0]["Env"] == {"PREVIEW_ENV": "2"}
    assert stored["Version"] == 2


# Errors ------------------------------------------------------------------------------------


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    ("content", "extra", "message"),
    [
        pytest.param(
            'job "x" {\n  group "g" {\n    nonsense\n  }\n}\n',
            {},
            f"Bad request parsing the job specification in namespace '{NAMESPACE}': "
            "Failed to parse job",
            id="400-unparsable",
        ),
        pytest.param(
            service_hcl().replace("memory = 32", "memory = 5"),
            {},
            f"Nomad failed planning job '{JOB}' in namespace '{NAMESPACE}' (HTTP 500): "
            "1 error occurred",
            id="500-validation",
        ),
        pytest.param(
            service_hcl().replace(
                'type        = "service"', 'namespace = "default"\n  type = "service"'
            ),
            {},
            f"job '{JOB}' declares namespace 'default', "
            f"but is submitted to namespace '{NAMESPACE}'",
            id="other-namespace",
        ),
        pytest.param(
            service_hcl(),
            {"job_id": "shop-pr-42-worker"},
            f"job_id 'shop-pr-42-worker' does not match the job specification's ID '{JOB}'",
            id="other-id",
        ),
    ],
)
def test_refused_jobs_fail_with_action_object_and_nomads_text(
    run_module: ModuleRunner,
    nomad_double: Target,
    preview_namespace: str,
    content: str,
    extra: dict[str, Any],
    message: str,
) -> None:
    run = run_module("preview_nomad_job", job_args(nomad_double, content, **extra))

    assert run.failed
    assert message in run.msg
    assert run["registered"] is False
    assert job_ids(nomad_double) == []


def test_validation_errors_carry_nomads_own_reason(
    run_module: ModuleRunner, nomad_double: Target, preview_namespace: str
) -> None:
    content = service_hcl().replace("memory = 32", "memory = 5")

    run = run_module("preview_nomad_job", job_args(nomad_double, content))

    assert "minimum MemoryMB value is 10" in run.msg


@pytest.mark.parametrize(
    ("method", "path", "status", "body", "message"),
    [
        pytest.param(
            "POST",
            f"/v1/job/{JOB}/plan",
            404,
            "job not found",
            f"Not found planning job '{JOB}' in namespace '{NAMESPACE}': job not found",
            id="404",
        ),
        pytest.param(
            "POST",
            f"/v1/job/{JOB}",
            409,
            "conflict",
            f"Conflict registering job '{JOB}' in namespace '{NAMESPACE}': conflict",
            id="409",
        ),
        pytest.param(
            "POST",
            f"/v1/job/{JOB}",
            503,
            "No cluster leader",
            f"Nomad failed registering job '{JOB}' in namespace '{NAMESPACE}' (HTTP 503): "
            "No cluster leader",
            id="503",
        ),
    ],
)
def test_each_api_failure_gives_its_message(
    run_module: ModuleRunner,
    double: NomadDouble,
    preview_namespace: str,
    method: str,
    path: str,
    status: int,
    body: str,
    message: str,
) -> None:
    double.fail_next(method, path, status=status, body=body)

    run = run_module("preview_nomad_job", job_args(double))

    assert run.failed
    assert run.msg == message


def test_a_hanging_nomad_times_out_with_a_message(
    run_module: ModuleRunner, double: NomadDouble, preview_namespace: str
) -> None:
    double.fail_next("POST", f"/v1/job/{JOB}/plan", hang=True)

    run = run_module("preview_nomad_job", job_args(double, nomad_timeout=1))

    assert run.failed
    assert run.msg.startswith(f"Timed out planning job '{JOB}' in namespace '{NAMESPACE}': ")


def test_an_unreachable_nomad_is_named(run_module: ModuleRunner) -> None:
    address = f"http://127.0.0.1:{unused_port()}"

    run = run_module(
        "preview_nomad_job", {"nomad_addr": address, "namespace": NAMESPACE, "content": "{}"}
    )

    assert run.failed
    assert run.msg.startswith(
        f"Could not reach Nomad parsing the job specification in namespace '{NAMESPACE}': "
    )


def test_a_token_without_submit_rights_is_denied_by_name(
    run_module: ModuleRunner,
    nomad_acl_double: Target,
    acl_namespace: str,
    restricted_token: TokenMaker,
) -> None:
    reviewer = restricted_token(
        nomad_acl_double, 'namespace "preview-*" { policy = "read" }', "preview-reviewer"
    )

    run = run_module(
        "preview_nomad_job",
        {**job_args(nomad_acl_double), **connection(nomad_acl_double, reviewer)},
    )

    assert run.failed
    assert run.msg == (
        f"Permission denied planning job '{JOB}' in namespace '{NAMESPACE}': Permission denied"
    )
    assert job_ids(nomad_acl_double) == []


# Health --------------------------------------------------------------------------------------


def test_a_failing_deployment_fails_with_the_task_events(
    run_module: ModuleRunner, double: NomadDouble, preview_namespace: str
) -> None:
    double.mark_failing(command=BROKEN)

    run = run_module("preview_nomad_job", job_args(double, service_hcl(command=BROKEN)))

    assert run.failed
    assert run["registered"] is True
    assert run["healthy"] is False
    assert f"of job '{JOB}' in namespace '{NAMESPACE}' is failed" in run.msg
    assert "Terminated: Exit Code: 1" in run.msg
    assert "Not Restarting: Exceeded allowed attempts 2" in run.msg
    events = run["allocations"][0]["tasks"][0]["events"]
    assert {"type": "Not Restarting", "message": events[-1]["message"]} in events
    assert double.deployments(JOB)[0]["Status"] == "failed"


def test_a_failing_batch_job_fails_with_the_task_events(
    run_module: ModuleRunner, double: NomadDouble, preview_namespace: str
) -> None:
    double.mark_failing(command=BROKEN)

    run = run_module("preview_nomad_job", job_args(double, batch_hcl(command=BROKEN)))

    assert run.failed
    assert "job 'shop-pr-42-migrate' in namespace 'preview-shop-pr-42' has failed allocations" in (
        run.msg
    )
    assert "Not Restarting: Exceeded allowed attempts 3" in run.msg


def test_a_batch_job_is_healthy_once_its_allocations_started(
    run_module: ModuleRunner, double: NomadDouble, preview_namespace: str
) -> None:
    run = run_module("preview_nomad_job", job_args(double, batch_hcl()))

    assert not run.failed, run.msg
    assert run["healthy"] is True
    assert all(a["ClientStatus"] != "failed" for a in double.allocations("shop-pr-42-migrate"))


def test_a_deployment_that_never_settles_times_out_naming_the_job(
    run_module: ModuleRunner, double: NomadDouble, preview_namespace: str
) -> None:
    double.auto_advance = False

    run = run_module("preview_nomad_job", job_args(double, wait_timeout=1))

    assert run.failed
    assert run.msg.startswith(
        f"job '{JOB}' in namespace '{NAMESPACE}' did not become healthy within 1s (deployment "
    )
    assert run.msg.endswith("is running, 0 of 1 allocations healthy)")
    assert run["registered"] is True


def test_a_periodic_parent_has_nothing_to_wait_for(
    run_module: ModuleRunner, nomad_double: Target, preview_namespace: str
) -> None:
    run = run_module("preview_nomad_job", job_args(nomad_double, periodic_hcl()))

    assert not run.failed, run.msg
    assert (run["registered"], run["healthy"]) == (True, None)
    assert job_ids(nomad_double) == ["shop-pr-42-cron-digest"]


# Removal -------------------------------------------------------------------------------------


def absent_args(target: Target, job_id: str = JOB) -> dict[str, Any]:
    return {**connection(target), "namespace": NAMESPACE, "job_id": job_id, "state": "absent"}


def test_absent_removes_the_job_and_twice_changes_nothing(
    run_module: ModuleRunner, nomad_double: Target, preview_namespace: str
) -> None:
    run_module("preview_nomad_job", job_args(nomad_double))

    checked = run_module("preview_nomad_job", absent_args(nomad_double), check=True, diff=True)
    assert job_ids(nomad_double) == [JOB]
    first = run_module("preview_nomad_job", absent_args(nomad_double))
    second = run_module("preview_nomad_job", absent_args(nomad_double))

    assert (checked["changed"], checked["removed"]) == (True, [JOB])
    assert checked["diff"]["before"] == f"{JOB}\n"
    assert (first["changed"], first["removed"], first["diff_type"]) == (True, [JOB], "Deleted")
    assert (second["changed"], second["removed"], second["diff_type"]) == (False, [], "None")
    assert not second.failed
    assert job_ids(nomad_double) == []


def test_absent_removes_periodic_children_too(
    run_module: ModuleRunner, nomad_double: Target, preview_namespace: str
) -> None:
    parent = "shop-pr-42-cron-digest"
    run_module("preview_nomad_job", job_args(nomad_double, periodic_hcl(parent)))
    client(nomad_double).job.periodic_job(parent)
    children = [job for job in job_ids(nomad_double) if job.startswith(f"{parent}/periodic-")]
    assert len(children) == 1

    run = run_module("preview_nomad_job", absent_args(nomad_double, parent))

    assert not run.failed, run.msg
    assert run["removed"] == [parent, *children]
    assert job_ids(nomad_double) == []


# Secrets -------------------------------------------------------------------------------------


def test_the_token_never_reaches_any_output(
    run_module: ModuleRunner, double: NomadDouble, preview_namespace: str
) -> None:
    with_token = {"nomad_token": SENTINEL}
    runs = [
        run_module("preview_nomad_job", job_args(double, **with_token), check=True, diff=True),
        run_module("preview_nomad_job", job_args(double, **with_token), diff=True),
        run_module("preview_nomad_job", job_args(double, "job {", **with_token)),
        run_module("preview_nomad_job", {**absent_args(double), **with_token}, diff=True),
    ]

    assert [run.failed for run in runs] == [False, False, True, False]
    for run in runs:
        assert SENTINEL not in run.stdout
        assert SENTINEL not in run.stderr
        assert run["invocation"]["module_args"]["nomad_token"] != SENTINEL


def test_an_unknown_token_is_refused_without_being_shown(
    run_module: ModuleRunner, nomad_acl_double: Target, acl_namespace: str
) -> None:
    run = run_module(
        "preview_nomad_job",
        {**job_args(nomad_acl_double), **connection(nomad_acl_double, SENTINEL)},
    )

    assert run.failed
    assert "Permission denied parsing the job specification" in run.msg
    assert SENTINEL not in run.stdout


def test_check_mode_before_the_namespace_exists_reports_an_addition(
    run_module: ModuleRunner, nomad_double: Target
) -> None:
    run = run_module("preview_nomad_job", job_args(nomad_double), check=True)

    assert not run.failed, run.msg
    assert (run["changed"], run["diff_type"], run["registered"]) == (True, "Added", False)
    assert run["job_warnings"] == [
        f"namespace '{NAMESPACE}' does not exist yet, so job '{JOB}' was not planned; "
        "it would be added"
    ]
    assert NAMESPACE not in [ns["Name"] for ns in client(nomad_double).namespaces.get_namespaces()]


def test_outside_check_mode_a_missing_namespace_is_nomads_error(
    run_module: ModuleRunner, nomad_double: Target
) -> None:
    run = run_module("preview_nomad_job", job_args(nomad_double))

    assert run.failed
    assert f'job "{JOB}" is in nonexistent namespace "{NAMESPACE}"' in run.msg


def test_an_unchanged_job_whose_deployment_failed_keeps_failing(
    run_module: ModuleRunner, double: NomadDouble, preview_namespace: str
) -> None:
    double.mark_failing(command=BROKEN)
    run_module("preview_nomad_job", job_args(double, service_hcl(command=BROKEN)))

    again = run_module("preview_nomad_job", job_args(double, service_hcl(command=BROKEN)))

    assert again.failed
    assert (again["changed"], again["registered"]) == (False, False)
    assert "is failed: Failed due to unhealthy allocations" in again.msg
