"""preview_info against the Nomad double (or the agent at NOMAD_ADDR)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.doubles.fixtures import RealNomad
from tests.doubles.nomad import NomadDouble
from tests.integration.conftest import ModuleRunner, client, connection, service_hcl

SENTINEL = "sentinel-token-9b27d4e1-never-printed"
IDLE = timedelta(hours=3)
Target = NomadDouble | RealNomad


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def previews(nomad_double: Target) -> Iterator[datetime]:
    """Two previews idle for three hours, one with a 2h idle timeout and one with 48h."""
    from ansible_collections.nomad_previews.previews.plugins.module_utils import lifecycle

    last_activity = datetime.now(UTC) - IDLE
    api = client(nomad_double)
    for pr, timeout in ((42, "2h"), (43, "48h")):
        api.namespace.create_namespace(
            {
                "Name": f"preview-shop-pr-{pr}",
                "Meta": {
                    "preview_id": f"shop-pr-{pr}",
                    "preview_repo": "shop",
                    "preview_pr": str(pr),
                    "preview_state": "open",
                    "preview_created_at": stamp(last_activity - IDLE),
                    "preview_last_activity_at": stamp(last_activity),
                    "preview_idle_timeout": timeout,
                },
            }
        )
    worker = client(nomad_double, "preview-shop-pr-42")
    worker.job.register_job(
        "shop-pr-42-web", {"Job": worker.jobs.parse(service_hcl("shop-pr-42-web"))}
    )
    api.namespace.create_namespace({"Name": "team-tools"})
    yield last_activity
    if isinstance(nomad_double, RealNomad):
        for namespace in ("preview-shop-pr-42", "preview-shop-pr-43", "team-tools"):
            lifecycle.teardown_namespace(api, namespace, timeout=60)


def info(run_module: ModuleRunner, target: Target, check: bool = False, **extra: Any) -> Any:
    run = run_module("preview_info", {**connection(target), **extra}, check=check)
    assert not run.failed, run.msg
    return run


def test_previews_carry_their_meta_idle_time_and_jobs(
    run_module: ModuleRunner, nomad_double: Target, previews: datetime
) -> None:
    run = info(run_module, nomad_double)

    assert run["changed"] is False
    found = {p["preview_id"]: p for p in run["previews"]}
    assert sorted(found) == ["shop-pr-42", "shop-pr-43"]
    expired, fresh = found["shop-pr-42"], found["shop-pr-43"]
    assert (expired["repo"], expired["pr"], expired["state"]) == ("shop", "42", "open")
    assert expired["last_activity_at"] == stamp(previews)
    assert expired["idle_timeout"] == "2h"
    assert IDLE.total_seconds() <= expired["idle_seconds"] < IDLE.total_seconds() + 600
    assert (expired["expired"], fresh["expired"]) == (True, False)
    assert [job["id"] for job in expired["jobs"]] == ["shop-pr-42-web"]
    assert expired["jobs"][0]["type"] == "service"
    assert fresh["jobs"] == []


def test_one_preview_by_id_and_the_same_in_check_mode(
    run_module: ModuleRunner, nomad_double: Target, previews: datetime
) -> None:
    run = info(run_module, nomad_double, preview_id="shop-pr-43")
    checked = info(run_module, nomad_double, check=True, preview_id="shop-pr-43")

    assert [p["namespace"] for p in run["previews"]] == ["preview-shop-pr-43"]
    assert [p["namespace"] for p in checked["previews"]] == ["preview-shop-pr-43"]


def test_the_prefix_decides_what_is_a_preview(
    run_module: ModuleRunner, nomad_double: Target, previews: datetime
) -> None:
    run = info(run_module, nomad_double, prefix="team-")

    assert [p["namespace"] for p in run["previews"]] == ["team-tools"]
    assert run["previews"][0]["preview_id"] == "tools"
    assert run["previews"][0]["expired"] is False


def test_listing_takes_two_calls_whatever_the_number_of_previews(
    run_module: ModuleRunner, double: NomadDouble, previews: datetime
) -> None:
    before = len(double.request_log)

    info(run_module, double)

    assert [(r.method, r.path) for r in double.request_log[before:]] == [
        ("GET", "/v1/namespaces"),
        ("GET", "/v1/jobs"),
    ]


def test_a_failed_listing_names_what_it_listed(
    run_module: ModuleRunner, double: NomadDouble, previews: datetime
) -> None:
    double.fail_next("GET", "/v1/jobs", status=500, body="rpc error: no leader")

    run = run_module("preview_info", connection(double))

    assert run.failed
    assert run.msg == (
        "Nomad failed listing jobs of the namespaces starting with 'preview-' (HTTP 500): "
        "rpc error: no leader"
    )


def test_the_token_never_reaches_any_output(
    run_module: ModuleRunner, double: NomadDouble, previews: datetime
) -> None:
    listed = run_module("preview_info", {**connection(double), "nomad_token": SENTINEL})
    double.fail_next("GET", "/v1/namespaces", status=403, body="Permission denied")
    denied = run_module("preview_info", {**connection(double), "nomad_token": SENTINEL})

    assert (listed.failed, denied.failed) == (False, True)
    for run in (listed, denied):
        assert SENTINEL not in run.stdout
        assert SENTINEL not in run.stderr
