"""A task's workload identity and the variables Nomad lets it read without any policy."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import nomad
import pytest
from nomad.api import exceptions

from tests.doubles.nomad import NomadDouble

from .jobspecs import batch_json, service_json
from .polling import until


def client(double: NomadDouble, token: str, namespace: str | None = None) -> nomad.Nomad:
    return nomad.Nomad(
        host="127.0.0.1", port=double.port, token=token, namespace=namespace, timeout=5
    )


@pytest.fixture
def preview(acl_double: NomadDouble) -> str:
    """A preview namespace of its own."""
    name = f"preview-{uuid.uuid4().hex[:8]}"
    client(acl_double, acl_double.management_token).namespace.create_namespace({"Name": name})
    return name


def running_alloc(admin: nomad.Nomad, job_id: str, namespace: str) -> dict[str, Any]:
    allocs = until(
        lambda: admin.job.get_allocations(job_id, namespace=namespace),
        lambda found: bool(found) and found[0]["ClientStatus"] == "running",
    )
    assert allocs[0]["ClientStatus"] == "running"
    return allocs[0]


def test_a_task_reads_its_own_job_variables_and_nothing_else(
    acl_double: NomadDouble, preview: str
) -> None:
    admin = client(acl_double, acl_double.management_token)
    own = [
        "nomad/jobs",
        "nomad/jobs/inbox",
        "nomad/jobs/inbox/api",
        "nomad/jobs/inbox/api/api",
    ]
    others = ["nomad/jobs/inbox-other", "nomad/jobs/inbox/web", "nomad/jobs/inbox/api/sidecar"]
    for path in own + others:
        admin.variable.create_variable(path, {"Items": {"password": path}}, namespace=preview)
    admin.variable.create_variable("nomad/jobs/inbox", {"Items": {"password": "x"}})
    admin.jobs.register_job({"Job": service_json("inbox", Namespace=preview)})
    alloc = running_alloc(admin, "inbox", preview)
    task = client(acl_double, acl_double.workload_token(alloc["ID"], "api"))

    read = [task.variable.get_variable(path, namespace=preview)["Items"] for path in own]
    listed = task.variables.get_variables(namespace=preview)

    assert read == [{"password": path} for path in own]
    assert [v["Path"] for v in listed] == own
    for path in others:
        with pytest.raises(exceptions.URLNotAuthorizedNomadException):
            task.variable.get_variable(path, namespace=preview)
    with pytest.raises(exceptions.URLNotAuthorizedNomadException):
        task.variable.get_variable("nomad/jobs/inbox", namespace="default")
    with pytest.raises(exceptions.URLNotAuthorizedNomadException):
        task.variable.create_variable(
            "nomad/jobs/inbox", {"Items": {"password": "y"}}, namespace=preview
        )
    with pytest.raises(exceptions.URLNotAuthorizedNomadException):
        task.variable.delete_variable("nomad/jobs/inbox", namespace=preview)
    with pytest.raises(exceptions.URLNotAuthorizedNomadException):
        task.jobs.get_jobs(namespace=preview)


def test_a_missing_own_variable_is_not_found_and_a_foreign_one_is_denied(
    acl_double: NomadDouble, preview: str
) -> None:
    admin = client(acl_double, acl_double.management_token)
    admin.jobs.register_job({"Job": service_json("inbox", Namespace=preview)})
    alloc = running_alloc(admin, "inbox", preview)
    task = client(acl_double, acl_double.workload_token(alloc["ID"], "api"))

    with pytest.raises(exceptions.URLNotFoundNomadException) as missing:
        task.variable.get_variable("nomad/jobs/inbox", namespace=preview)
    with pytest.raises(exceptions.URLNotAuthorizedNomadException) as foreign:
        task.variable.get_variable("nomad/jobs/web", namespace=preview)

    assert missing.value.nomad_resp.text == "variable not found"
    assert foreign.value.nomad_resp.text == "Permission denied"


def test_a_dispatched_child_speaks_for_its_parent_until_it_finishes() -> None:
    with NomadDouble(acl=True, auto_advance=False) as double:
        admin = client(double, double.management_token)
        admin.variable.create_variable("nomad/jobs/report", {"Items": {"password": "p"}})
        parent = batch_json("report", Periodic=None, ParameterizedJob={})
        admin.jobs.register_job({"Job": parent})
        child_id = admin.job.dispatch_job("report")["DispatchedJobID"]
        double.advance()
        alloc = double.allocations(child_id)[0]
        token = double.workload_token(alloc["ID"], "gc")
        task = client(double, token)

        read = task.variable.get_variable("nomad/jobs/report")
        double.advance(2)
        with pytest.raises(exceptions.URLNotAuthorizedNomadException) as finished:
            task.variable.get_variable("nomad/jobs/report")
        ended = double.allocations(child_id)[0]

    assert alloc["ClientStatus"] == "running"
    assert read["Items"] == {"password": "p"}
    assert ended["ClientStatus"] == "complete"
    assert finished.value.nomad_resp.text == "Permission denied"
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["nomad_job_id"] == "report"
    assert claims["nomad_namespace"] == "default"
    assert claims["nomad_allocation_id"] == alloc["ID"]
    assert claims["nomad_task"] == "gc"


def test_a_workload_token_names_a_task_of_the_allocation(acl_double: NomadDouble) -> None:
    admin = client(acl_double, acl_double.management_token)
    admin.jobs.register_job({"Job": service_json("inbox")})
    alloc = running_alloc(admin, "inbox", "default")

    with pytest.raises(KeyError):
        acl_double.workload_token(alloc["ID"], "nope")
