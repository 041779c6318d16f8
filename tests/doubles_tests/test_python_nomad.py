"""The python-nomad calls the project makes, run unchanged against the double (or a real agent)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import nomad
import pytest
import requests
from nomad.api import exceptions

from tests.doubles.nomad import NomadDouble

from .jobspecs import batch_json, service_hcl, service_json
from .polling import until


def client(target: Any, token: str | None = None, namespace: str | None = None) -> nomad.Nomad:
    return nomad.Nomad(
        host=target.host if hasattr(target, "host") else "127.0.0.1",
        port=target.port,
        token=token,
        namespace=namespace,
        timeout=5,
    )


@pytest.fixture
def api(nomad_double: Any) -> nomad.Nomad:
    return client(nomad_double, token=nomad_double.management_token or None)


@pytest.fixture
def job_id() -> str:
    """A job ID of its own, so tests against a shared real agent do not collide."""
    return f"double-{uuid.uuid4().hex[:8]}"


def test_parse_maps_hcl_names_to_api_json(api: nomad.Nomad, job_id: str) -> None:
    job = api.jobs.parse(service_hcl(job_id))

    task = job["TaskGroups"][0]["Tasks"][0]
    assert job["ID"] == job_id
    assert job["Meta"] == {"preview_id": "shop-pr-42", "pr": "42"}
    assert job["UI"]["Links"][0]["Label"] == "MailHog"
    port = job["TaskGroups"][0]["Networks"][0]["DynamicPorts"][0]
    assert (port["Label"], port["To"]) == ("http", 8080)
    assert task["KillTimeout"] == 25_000_000_000
    assert task["ShutdownDelay"] == 5_000_000_000
    assert task["Templates"][0]["DestPath"] == "secrets/app.env"
    assert task["Templates"][0]["Envvars"] is True
    assert task["Templates"][0]["EmbeddedTmpl"].startswith("REDIS_URL={{ with nomadVar")
    assert task["Services"][0]["PortLabel"] == "http"
    assert task["Services"][0]["Checks"][0]["Interval"] == 10_000_000_000
    assert task["Resources"]["MemoryMB"] == 256


def test_parse_refuses_unknown_attribute_with_hcl_diagnostic(api: nomad.Nomad, job_id: str) -> None:
    spec = service_hcl(job_id).replace(
        'driver         = "docker"', 'driver = "docker"\n      colour = "blue"'
    )

    with pytest.raises(exceptions.BadRequestNomadException) as caught:
        api.jobs.parse(spec)

    text = caught.value.nomad_resp.text
    assert text.startswith("Failed to parse job: ")
    assert 'Unsupported argument; An argument named "colour" is not expected here.' in text


def test_plan_register_with_enforce_index_then_plan_shows_none(
    api: nomad.Nomad, job_id: str
) -> None:
    job = api.jobs.parse(service_hcl(job_id))

    plan = api.job.plan_job(job_id, {"Job": job}, diff=True)
    assert plan["Diff"]["Type"] == "Added"
    assert plan["JobModifyIndex"] == 0
    registered = api.jobs.register_job(
        {"Job": job, "EnforceIndex": True, "JobModifyIndex": plan["JobModifyIndex"]}
    )
    replan = api.job.plan_job(job_id, {"Job": job}, diff=True)

    assert registered["EvalID"]
    assert replan["Diff"]["Type"] == "None"
    assert replan["JobModifyIndex"] == registered["JobModifyIndex"]
    stored = api.job.get_job(job_id)
    assert stored["Version"] == 0
    assert stored["UI"]["Links"][0]["Url"] == "https://mail.shop-pr-42.preview.test"
    api.job.deregister_job(job_id, purge=True)


def test_enforce_index_conflict_is_a_500(api: nomad.Nomad, job_id: str) -> None:
    job = service_json(job_id)
    api.jobs.register_job({"Job": job})

    with pytest.raises(exceptions.BaseNomadException) as caught:
        api.jobs.register_job({"Job": job, "EnforceIndex": True, "JobModifyIndex": 0})

    assert caught.value.nomad_resp.status_code == 500
    assert "Enforcing job modify index 0: job already exists" in caught.value.nomad_resp.text
    api.job.deregister_job(job_id, purge=True)


def test_edit_plans_as_edited_and_register_adds_a_version(api: nomad.Nomad, job_id: str) -> None:
    api.jobs.register_job({"Job": service_json(job_id)})
    changed = service_json(job_id, Meta={"sha": "abc123"})

    plan = api.job.plan_job(job_id, {"Job": changed}, diff=True)
    api.jobs.register_job(
        {"Job": changed, "EnforceIndex": True, "JobModifyIndex": plan["JobModifyIndex"]}
    )
    versions = api.job.get_versions(job_id)["Versions"]

    assert plan["Diff"]["Type"] == "Edited"
    assert [v["Version"] for v in versions] == [1, 0]
    assert versions[0]["Meta"] == {"sha": "abc123"}
    api.job.deregister_job(job_id, purge=True)


def test_list_by_prefix_filter_and_all_namespaces(api: nomad.Nomad, job_id: str) -> None:
    api.jobs.register_job({"Job": service_json(f"{job_id}-a", Meta={"preview_id": job_id})})
    api.jobs.register_job({"Job": service_json(f"{job_id}-b", Meta={"preview_id": "other"})})

    by_prefix = api.jobs.get_jobs(prefix=job_id)
    by_filter = api.jobs.get_jobs(filter_=f'Meta["preview_id"] == "{job_id}"')
    by_dotted = api.jobs.get_jobs(filter_=f'Meta.preview_id == "{job_id}"', namespace="*")

    assert [j["ID"] for j in by_prefix] == [f"{job_id}-a", f"{job_id}-b"]
    assert [j["ID"] for j in by_filter] == [f"{job_id}-a"]
    assert [j["ID"] for j in by_dotted] == [f"{job_id}-a"]
    assert "Meta" not in by_prefix[0]
    for suffix in ("a", "b"):
        api.job.deregister_job(f"{job_id}-{suffix}", purge=True)


def test_stop_keeps_the_job_and_purge_removes_it(api: nomad.Nomad, job_id: str) -> None:
    api.jobs.register_job({"Job": service_json(job_id)})

    api.job.deregister_job(job_id)
    stopped = api.job.get_job(job_id)
    api.job.deregister_job(job_id, purge=True)

    assert stopped["Stop"] is True
    assert stopped["Version"] == 1
    with pytest.raises(exceptions.URLNotFoundNomadException):
        api.job.get_job(job_id)
    assert api.job.deregister_job(job_id, purge=True)["EvalID"] == ""


def test_summary_allocations_and_deployment_reach_healthy(
    api: nomad.Nomad, double: NomadDouble, job_id: str
) -> None:
    api.jobs.register_job({"Job": service_json(job_id)})

    statuses = []
    for _poll in range(5):
        deployment = api.job.get_deployment(job_id)
        statuses.append(deployment["Status"])
        if deployment["Status"] == "successful":
            break
    allocations = api.job.get_allocations(job_id)
    summary = api.job.get_summary(job_id)

    assert statuses[-1] == "successful"
    assert len(allocations) == 1
    assert allocations[0]["ClientStatus"] == "running"
    assert allocations[0]["DeploymentStatus"]["Healthy"] is True
    assert summary["Summary"]["api"]["Running"] == 1
    assert api.job.get_job(job_id)["Status"] == "running"


def test_unknown_job_reads(api: nomad.Nomad, job_id: str) -> None:
    assert api.job.get_allocations(job_id) == []
    assert api.job.get_evaluations(job_id) == []
    assert api.job.get_deployments(job_id) == []
    assert api.job.get_deployment(job_id) is None
    with pytest.raises(exceptions.URLNotFoundNomadException):
        api.job.get_summary(job_id)
    with pytest.raises(exceptions.URLNotFoundNomadException):
        api.job.get_versions(job_id)


def test_periodic_force_creates_an_independent_child(api: nomad.Nomad, job_id: str) -> None:
    registered = api.jobs.register_job({"Job": batch_json(job_id)})

    forced = api.job.periodic_job(job_id)
    children = api.jobs.get_jobs(prefix=f"{job_id}/periodic-")
    api.job.deregister_job(job_id, purge=True)
    after_parent_purge = api.jobs.get_jobs(prefix=f"{job_id}/periodic-")

    assert registered["EvalID"] == ""
    assert forced["EvalID"]
    assert len(children) == 1
    assert re.fullmatch(rf"{job_id}/periodic-\d+", children[0]["ID"])
    assert children[0]["ParentID"] == job_id
    assert [c["ID"] for c in after_parent_purge] == [children[0]["ID"]]
    child = api.job.get_job(children[0]["ID"])
    assert child["Periodic"] is None
    api.job.deregister_job(children[0]["ID"], purge=True)


def test_periodic_force_on_stopped_parent_is_refused(api: nomad.Nomad, job_id: str) -> None:
    api.jobs.register_job({"Job": batch_json(job_id)})
    api.job.deregister_job(job_id)

    with pytest.raises(exceptions.BaseNomadException) as caught:
        api.job.periodic_job(job_id)

    assert caught.value.nomad_resp.status_code == 500
    assert "can't force run non-tracked job" in caught.value.nomad_resp.text
    api.job.deregister_job(job_id, purge=True)


def test_dispatch_a_parameterized_job(api: nomad.Nomad, job_id: str) -> None:
    config = {"Payload": "forbidden", "MetaRequired": ["pr"], "MetaOptional": None}
    parameterized = batch_json(job_id, Periodic=None, ParameterizedJob=config)
    registered = api.jobs.register_job({"Job": parameterized})

    dispatched = api.job.dispatch_job(job_id, meta={"pr": "42"})
    child_id = dispatched["DispatchedJobID"]
    child = api.job.get_job(child_id)
    evaluations = api.job.get_evaluations(child_id)
    allocations = until(lambda: api.job.get_allocations(child_id), lambda found: len(found) == 1)
    finished = until(lambda: api.job.get_job(child_id), lambda job: job["Status"] == "dead")

    assert registered["EvalID"] == ""
    assert child_id.startswith(f"{job_id}/dispatch-")
    assert dispatched["EvalID"]
    assert dispatched["JobCreateIndex"] == child["CreateIndex"]
    assert dispatched["EvalCreateIndex"] >= dispatched["JobCreateIndex"] > 0
    assert dispatched["Index"] == dispatched["EvalCreateIndex"]
    assert child["ParentID"] == job_id
    assert child["Dispatched"] is True
    assert child["ParameterizedJob"] == config
    assert child["Meta"]["pr"] == "42"
    assert [e["ID"] for e in evaluations] == [dispatched["EvalID"]]
    assert evaluations[0]["TriggeredBy"] == "job-register"
    assert allocations[0]["EvalID"] == dispatched["EvalID"]
    assert allocations[0]["JobID"] == child_id
    assert finished["Status"] == "dead"
    api.job.deregister_job(child_id, purge=True)
    api.job.deregister_job(job_id, purge=True)


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        (
            {"pr": "42", "other": "1"},
            "Dispatch request included unpermitted metadata keys: [other]",
        ),
        ({}, "Dispatch did not provide required meta keys: [pr]"),
    ],
    ids=["unpermitted", "missing"],
)
def test_dispatch_meta_errors_print_keys_as_go_does(
    api: nomad.Nomad, job_id: str, meta: dict[str, str], message: str
) -> None:
    config = {"Payload": "optional", "MetaRequired": ["pr"]}
    api.jobs.register_job({"Job": batch_json(job_id, Periodic=None, ParameterizedJob=config)})

    with pytest.raises(exceptions.BaseNomadException) as caught:
        api.job.dispatch_job(job_id, meta=meta)

    assert caught.value.nomad_resp.status_code == 500
    assert message in caught.value.nomad_resp.text
    assert api.jobs.get_jobs(prefix=f"{job_id}/dispatch-") == []
    api.job.deregister_job(job_id, purge=True)


def test_namespaces_with_meta_and_delete_rules(api: nomad.Nomad, job_id: str) -> None:
    name = f"{job_id}-ns"
    created = api.namespace.create_namespace(
        {"Name": name, "Description": "preview", "Meta": {"pr": "42"}}
    )
    fetched = api.namespace.get_namespace(name)
    api.job.register_job(job_id, {"Job": service_json(job_id, Namespace=name)})

    with pytest.raises(exceptions.BaseNomadException) as blocked:
        api.namespace.delete_namespace(name)
    api.job.deregister_job(job_id, namespace=name, purge=True)
    deleted = api.namespace.delete_namespace(name)

    assert created.status_code == 200
    assert created.text == ""
    assert fetched["Meta"] == {"pr": "42"}
    assert "has non-terminal jobs" in blocked.value.nomad_resp.text
    assert deleted.status_code == 200
    with pytest.raises(exceptions.URLNotFoundNomadException):
        api.namespace.get_namespace(name)


def test_variables_with_cas(api: nomad.Nomad, job_id: str) -> None:
    path = f"nomad/jobs/{job_id}"

    created = api.variable.create_variable(path, {"Items": {"redis_url": "redis://x"}}, cas=0)
    with pytest.raises(exceptions.VariableConflict) as conflict:
        api.variable.create_variable(path, {"Items": {"redis_url": "redis://y"}}, cas=0)
    updated = api.variable.create_variable(
        path, {"Items": {"redis_url": "redis://y"}}, cas=created["ModifyIndex"]
    )
    listed = api.variables.get_variables(prefix=f"nomad/jobs/{job_id}")
    deleted = api.variable.delete_variable(path, cas=updated["ModifyIndex"])

    assert conflict.value.nomad_resp.status_code == 409
    assert conflict.value.nomad_resp.json()["Items"] == {"redis_url": "redis://x"}
    assert api_items(updated) == {"redis_url": "redis://y"}
    assert [v["Path"] for v in listed] == [path]
    assert "Items" not in listed[0]
    assert deleted.status_code == 204
    with pytest.raises(exceptions.URLNotFoundNomadException):
        api.variable.get_variable(path)


def test_create_if_absent_with_cas_zero_in_a_preview_namespace(
    api: nomad.Nomad, job_id: str
) -> None:
    namespace = f"{job_id}-ns"
    path = f"nomad/jobs/{job_id}-inbox"
    api.namespace.create_namespace({"Name": namespace})

    created = api.variable.create_variable(
        path, {"Items": {"password": "first"}}, namespace=namespace, cas=0
    )
    with pytest.raises(exceptions.VariableConflict) as conflict:
        api.variable.create_variable(
            path, {"Items": {"password": "second"}}, namespace=namespace, cas=0
        )
    stored = api.variable.get_variable(path, namespace=namespace)
    elsewhere = api.variables.get_variables(prefix=path)
    deleted = api.variable.delete_variable(path, namespace=namespace, cas=created["ModifyIndex"])
    api.namespace.delete_namespace(namespace)

    assert created["Namespace"] == namespace
    assert created["Path"] == path
    assert created["Items"] == {"password": "first"}
    assert created["CreateIndex"] == created["ModifyIndex"] > 0
    assert conflict.value.nomad_resp.status_code == 409
    assert conflict.value.nomad_resp.json() == created
    assert conflict.value.nomad_resp.headers["X-Nomad-Index"] == str(created["ModifyIndex"])
    assert stored == created
    assert elsewhere == []
    assert deleted.status_code == 204


def test_a_template_reading_its_job_variable_registers(api: nomad.Nomad, job_id: str) -> None:
    namespace = f"{job_id}-ns"
    path = f"nomad/jobs/{job_id}"
    block = (
        "      template {\n"
        '        destination = "secrets/auth.env"\n'
        "        env         = true\n"
        "        data        = <<-EOT\n"
        f'          {{{{ with nomadVar "{path}" -}}}}\n'
        "          SMTP_PASSWORD={{ .password }}\n"
        "          {{ end -}}\n"
        "          EOT\n"
        "      }\n\n"
    )
    template = (
        f'{{{{ with nomadVar "{path}" -}}}}\nSMTP_PASSWORD={{{{ .password }}}}\n{{{{ end -}}}}\n'
    )
    api.namespace.create_namespace({"Name": namespace})
    api.variable.create_variable(
        path, {"Items": {"password": "s3cret"}}, namespace=namespace, cas=0
    )
    job = api.jobs.parse(
        service_hcl(job_id).replace("      service {", block + "      service {", 1)
    )
    job["Namespace"] = namespace

    registered = api.jobs.register_job({"Job": job})
    stored = api.job.get_job(job_id, namespace=namespace)
    api.job.deregister_job(job_id, namespace=namespace, purge=True)
    api.variable.delete_variable(path, namespace=namespace)
    api.namespace.delete_namespace(namespace)

    assert job["TaskGroups"][0]["Tasks"][0]["Templates"][1]["EmbeddedTmpl"] == template
    assert registered["EvalID"]
    assert registered["Warnings"] == ""
    assert stored["Namespace"] == namespace
    templates = stored["TaskGroups"][0]["Tasks"][0]["Templates"]
    assert [t["DestPath"] for t in templates] == ["secrets/app.env", "secrets/auth.env"]
    assert templates[1]["EmbeddedTmpl"] == template
    assert "s3cret" not in str(stored)


def api_items(variable: dict[str, Any]) -> dict[str, str]:
    return dict(variable["Items"])


def test_acl_denies_a_read_only_token(nomad_acl_double: Any, job_id: str) -> None:
    admin = client(nomad_acl_double, token=nomad_acl_double.management_token)
    admin.acl.create_policy(
        f"{job_id}-reviewer",
        {"Name": f"{job_id}-reviewer", "Rules": 'namespace "default" { policy = "read" }'},
    )
    reviewer_token = admin.acl.create_token({"Type": "client", "Policies": [f"{job_id}-reviewer"]})
    reviewer = client(nomad_acl_double, token=reviewer_token["SecretID"])
    admin.jobs.register_job({"Job": service_json(job_id)})

    read_back = reviewer.job.get_job(job_id)
    with pytest.raises(exceptions.URLNotAuthorizedNomadException) as caught:
        reviewer.jobs.register_job({"Job": service_json(job_id)})
    with pytest.raises(exceptions.URLNotAuthorizedNomadException):
        client(nomad_acl_double).jobs.get_jobs()

    assert read_back["ID"] == job_id
    assert caught.value.nomad_resp.status_code == 403
    assert caught.value.nomad_resp.text == "Permission denied"
    admin.job.deregister_job(job_id, purge=True)
    admin.acl.delete_token(reviewer_token["AccessorID"])
    admin.acl.delete_policy(f"{job_id}-reviewer")


def test_index_header_moves_with_writes(api: nomad.Nomad, nomad_double: Any, job_id: str) -> None:
    before = requests.get(f"{nomad_double.address}/v1/jobs", timeout=5)
    api.jobs.register_job({"Job": service_json(job_id)})
    after = requests.get(f"{nomad_double.address}/v1/jobs", timeout=5)

    assert int(after.headers["X-Nomad-Index"]) > int(before.headers["X-Nomad-Index"])
    assert after.headers["X-Nomad-KnownLeader"] == "true"
    api.job.deregister_job(job_id, purge=True)
