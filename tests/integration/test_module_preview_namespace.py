"""preview_namespace against the Nomad double (or the agent at NOMAD_ADDR).

Namespaces and what they hold are read back with a client of the test's own.
"""

from __future__ import annotations

from typing import Any

import pytest
from nomad.api import exceptions as nomad_exceptions

from tests.doubles.fixtures import RealNomad
from tests.doubles.nomad import NomadDouble
from tests.integration.conftest import (
    NAMESPACE,
    ModuleRunner,
    TokenMaker,
    client,
    connection,
    job_ids,
    periodic_hcl,
    service_hcl,
)

SENTINEL = "sentinel-token-0c3e8b52-never-printed"
BUSY = f'namespace "{NAMESPACE}" has non-terminal allocations in regions: [global]'
META = {
    "preview_id": "shop-pr-42",
    "preview_repo": "shop",
    "preview_pr": "42",
    "preview_state": "open",
    "preview_idle_timeout": "48h",
}
Target = NomadDouble | RealNomad


def ns_args(target: Target, **extra: Any) -> dict[str, Any]:
    return {**connection(target), "name": NAMESPACE, **extra}


def stored(target: Target) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = client(target).namespace.get_namespace(NAMESPACE)
    except nomad_exceptions.URLNotFoundNomadException:
        return None
    return found


@pytest.fixture
def clean(nomad_double: Target) -> Any:
    """No preview namespace before the test; on a real agent none after it either."""
    from ansible_collections.nomad_previews.previews.plugins.module_utils import lifecycle

    api = client(nomad_double)
    lifecycle.teardown_namespace(api, NAMESPACE, timeout=60)
    yield
    if isinstance(nomad_double, RealNomad):
        lifecycle.teardown_namespace(api, NAMESPACE, timeout=60)


# Present -------------------------------------------------------------------------------------


def test_check_create_apply_and_apply_again(
    run_module: ModuleRunner, nomad_double: Target, clean: None
) -> None:
    args = ns_args(nomad_double, meta=META, description="Preview of shop PR 42")

    checked = run_module("preview_namespace", args, check=True, diff=True)
    assert stored(nomad_double) is None
    created = run_module("preview_namespace", args)
    again = run_module("preview_namespace", args)

    assert (checked["changed"], created["changed"], again["changed"]) == (True, True, False)
    assert checked["diff"]["before"] == ""
    assert "meta.preview_state = 'open'" in checked["diff"]["after"]
    assert created["namespace"]["meta"] == META
    found = stored(nomad_double)
    assert found is not None
    assert (found["Description"], found["Meta"]) == ("Preview of shop PR 42", META)


def test_meta_merges_by_default_and_replaces_on_request(
    run_module: ModuleRunner, nomad_double: Target, clean: None
) -> None:
    run_module("preview_namespace", ns_args(nomad_double, meta=META))

    merged = run_module(
        "preview_namespace", ns_args(nomad_double, meta={"preview_state": "closing"}), diff=True
    )
    merged_meta = (stored(nomad_double) or {})["Meta"]
    replaced = run_module(
        "preview_namespace",
        ns_args(nomad_double, meta={"preview_id": "shop-pr-42"}, meta_mode="replace"),
    )

    assert merged["changed"] is True
    assert merged["diff"]["before"].count("\n") == merged["diff"]["after"].count("\n")
    assert "meta.preview_state = 'closing'" in merged["diff"]["after"]
    assert merged_meta == {**META, "preview_state": "closing"}
    assert replaced["changed"] is True
    assert (stored(nomad_double) or {})["Meta"] == {"preview_id": "shop-pr-42"}


def test_a_description_change_alone_is_a_change_and_meta_is_kept(
    run_module: ModuleRunner, nomad_double: Target, clean: None
) -> None:
    run_module("preview_namespace", ns_args(nomad_double, meta=META, description="old"))

    run = run_module("preview_namespace", ns_args(nomad_double, description="new"))

    assert run["changed"] is True
    assert (stored(nomad_double) or {})["Meta"] == META
    assert (stored(nomad_double) or {})["Description"] == "new"


def test_numbers_in_meta_are_written_as_text_and_other_values_refused(
    run_module: ModuleRunner, nomad_double: Target, clean: None
) -> None:
    written = run_module("preview_namespace", ns_args(nomad_double, meta={"preview_pr": 42}))
    refused = run_module("preview_namespace", ns_args(nomad_double, meta={"preview_open": True}))

    assert not written.failed, written.msg
    assert (stored(nomad_double) or {})["Meta"] == {"preview_pr": "42"}
    assert refused.failed
    assert refused.msg == "meta value of 'preview_open' must be a string, got bool: True"


def test_a_closing_preview_is_refused_when_asked(
    run_module: ModuleRunner, nomad_double: Target, clean: None
) -> None:
    run_module(
        "preview_namespace", ns_args(nomad_double, meta={**META, "preview_state": "closing"})
    )

    refused = run_module(
        "preview_namespace",
        ns_args(nomad_double, meta={"preview_state": "open"}, refuse_if_closing=True),
    )
    allowed = run_module(
        "preview_namespace", ns_args(nomad_double, meta={"preview_last_activity_at": "now"})
    )

    assert refused.failed
    assert refused.msg.startswith(f"Preview namespace '{NAMESPACE}' is being closed; ")
    assert (stored(nomad_double) or {})["Meta"]["preview_state"] == "closing"
    assert not allowed.failed


def test_creating_a_namespace_without_a_management_token_says_so(
    run_module: ModuleRunner, nomad_acl_double: Target, restricted_token: TokenMaker
) -> None:
    ci = restricted_token(
        nomad_acl_double, 'namespace "preview-*" { policy = "write" }', "preview-ci"
    )

    run = run_module(
        "preview_namespace", {**ns_args(nomad_acl_double), **connection(nomad_acl_double, ci)}
    )

    assert run.failed
    assert run.msg.startswith(
        f"Permission denied creating namespace '{NAMESPACE}': Permission denied."
    )
    assert "needs a Nomad management token" in run.msg
    assert stored(nomad_acl_double) is None


# Absent --------------------------------------------------------------------------------------


def half_created_preview(target: Target) -> None:
    """What a failed open leaves: a namespace, a job still starting, a schedule run, a variable."""
    api = client(target)
    api.namespace.create_namespace({"Name": NAMESPACE, "Meta": META})
    api.job.register_job("shop-pr-42-web", {"Job": api.jobs.parse(service_hcl())})
    api.job.register_job("shop-pr-42-cron-digest", {"Job": api.jobs.parse(periodic_hcl())})
    api.job.periodic_job("shop-pr-42-cron-digest")
    api.variable.create_variable(
        "nomad/jobs/shop-pr-42-web", {"Items": {"redis_url": "redis://x"}}, namespace=NAMESPACE
    )


def test_teardown_of_a_half_created_preview_leaves_nothing(
    run_module: ModuleRunner, nomad_double: Target, clean: None
) -> None:
    half_created_preview(nomad_double)
    jobs = job_ids(nomad_double)

    checked = run_module("preview_namespace", ns_args(nomad_double, state="absent"), check=True)
    assert job_ids(nomad_double) == jobs
    removed = run_module("preview_namespace", ns_args(nomad_double, state="absent"), diff=True)
    again = run_module("preview_namespace", ns_args(nomad_double, state="absent"))

    assert checked["changed"] is True
    assert checked["receipt"]["namespace_deleted"] is False
    assert sorted(checked["receipt"]["jobs"]) == jobs
    assert not removed.failed, removed.msg
    receipt = removed["receipt"]
    assert receipt["namespace_deleted"] is True
    assert sorted(receipt["jobs"]) == jobs
    assert receipt["jobs"][-1].startswith("shop-pr-42-cron-digest/periodic-")
    assert receipt["variables"] == ["nomad/jobs/shop-pr-42-web"]
    assert "job shop-pr-42-web" in removed["diff"]["before"]
    assert stored(nomad_double) is None
    assert (again["changed"], again["receipt"]) == (
        False,
        {"namespace": NAMESPACE, "jobs": [], "variables": [], "namespace_deleted": False},
    )


def test_teardown_retries_while_nomad_reports_allocations_on_their_way_out(
    run_module: ModuleRunner, double: NomadDouble, clean: None
) -> None:
    half_created_preview(double)
    double.fail_next("DELETE", f"/v1/namespace/{NAMESPACE}", times=2, body=BUSY)

    run = run_module("preview_namespace", ns_args(double, state="absent"))

    assert not run.failed, run.msg
    assert run["receipt"]["namespace_deleted"] is True
    deletes = double.requests("DELETE", f"/v1/namespace/{NAMESPACE}")
    assert [record.status for record in deletes] == [500, 500, 200]


def test_teardown_gives_up_after_its_timeout_with_nomads_reason(
    run_module: ModuleRunner, double: NomadDouble, clean: None
) -> None:
    half_created_preview(double)
    double.fail_next("DELETE", f"/v1/namespace/{NAMESPACE}", times=1000, body=BUSY)

    run = run_module("preview_namespace", ns_args(double, state="absent", teardown_timeout=1))

    assert run.failed
    assert run.msg == f"Nomad failed deleting namespace '{NAMESPACE}' (HTTP 500): {BUSY}"
    assert stored(double) is not None


def test_a_teardown_error_names_the_variable(
    run_module: ModuleRunner, double: NomadDouble, clean: None
) -> None:
    half_created_preview(double)
    double.fail_next("DELETE", "/v1/var/*", status=409, body="cas conflict")

    run = run_module("preview_namespace", ns_args(double, state="absent"))

    assert run.failed
    assert run.msg == (
        f"Conflict deleting variable 'nomad/jobs/shop-pr-42-web' in namespace '{NAMESPACE}': "
        "cas conflict"
    )


def test_deleting_without_a_management_token_says_so(
    run_module: ModuleRunner, nomad_acl_double: Target, restricted_token: TokenMaker
) -> None:
    client(nomad_acl_double).namespace.create_namespace({"Name": NAMESPACE})
    ci = restricted_token(
        nomad_acl_double, 'namespace "preview-*" { policy = "write" }', "preview-ci"
    )

    run = run_module(
        "preview_namespace",
        {**ns_args(nomad_acl_double, state="absent"), **connection(nomad_acl_double, ci)},
    )

    assert run.failed
    # The teardown's first write is the closing mark on the namespace.
    assert f"Permission denied updating namespace '{NAMESPACE}'" in run.msg
    assert "needs a Nomad management token" in run.msg
    assert stored(nomad_acl_double) is not None


# Secrets -------------------------------------------------------------------------------------


def test_the_token_never_reaches_any_output(
    run_module: ModuleRunner, double: NomadDouble, clean: None
) -> None:
    with_token = {"nomad_token": SENTINEL}
    runs = [
        run_module("preview_namespace", ns_args(double, meta=META, **with_token), diff=True),
        run_module("preview_namespace", ns_args(double, meta={"x": [1]}, **with_token)),
        run_module("preview_namespace", ns_args(double, state="absent", **with_token), diff=True),
    ]

    assert [run.failed for run in runs] == [False, True, False]
    for run in runs:
        assert SENTINEL not in run.stdout
        assert SENTINEL not in run.stderr
