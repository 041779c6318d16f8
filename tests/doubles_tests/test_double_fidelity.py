"""Finer points of Nomad's behaviour the double reproduces; they hold against a real agent too."""

from __future__ import annotations

import uuid
from typing import Any

import nomad
import pytest
import requests
from nomad.api import exceptions

from .jobspecs import batch_json, service_hcl, service_json


def headers(target: Any, token: str | None = None) -> dict[str, str]:
    secret = target.management_token if token is None else token
    return {"X-Nomad-Token": secret} if secret else {}


@pytest.fixture
def job_id() -> str:
    return f"fidelity-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def api(nomad_double: Any) -> nomad.Nomad:
    return nomad.Nomad(
        host="127.0.0.1", port=nomad_double.port, token=nomad_double.management_token or None
    )


def purge(api: nomad.Nomad, job_id: str, namespace: str | None = None) -> None:
    api.job.deregister_job(job_id, purge=True, namespace=namespace)


def test_services_without_shutdown_delay_warn(api: nomad.Nomad, job_id: str) -> None:
    spec = service_hcl(job_id).replace('shutdown_delay = "5s"', "")
    job = api.jobs.parse(spec)

    plan = api.job.plan_job(job_id, {"Job": job})
    registered = api.jobs.register_job({"Job": job})

    expected = 'task "worker" in group "worker" defines services, but has no shutdown_delay set'
    assert plan["Warnings"] == f"1 warning:\n\n* {expected}"
    assert registered["Warnings"] == plan["Warnings"]
    purge(api, job_id)


def test_reregistering_the_same_spec_makes_no_version_but_a_new_eval(
    api: nomad.Nomad, job_id: str
) -> None:
    first = api.jobs.register_job({"Job": service_json(job_id)})
    second = api.jobs.register_job({"Job": service_json(job_id)})

    stored = api.job.get_job(job_id)
    assert stored["Version"] == 0
    assert second["EvalID"] and second["EvalID"] != first["EvalID"]
    assert stored["JobModifyIndex"] == first["JobModifyIndex"]
    purge(api, job_id)


def test_query_namespace_overrides_the_job_namespace(nomad_double: Any, job_id: str) -> None:
    admin = nomad.Nomad(
        host="127.0.0.1", port=nomad_double.port, token=nomad_double.management_token or None
    )
    namespace = f"{job_id}-ns"
    admin.namespace.create_namespace({"Name": namespace})
    scoped = nomad.Nomad(
        host="127.0.0.1",
        port=nomad_double.port,
        token=nomad_double.management_token or None,
        namespace=namespace,
    )

    scoped.jobs.register_job({"Job": service_json(job_id, Namespace="default")})

    assert scoped.job.get_job(job_id)["Namespace"] == namespace
    with pytest.raises(exceptions.URLNotFoundNomadException):
        admin.job.get_job(job_id, namespace="default")
    listed = admin.jobs.get_jobs(namespace="*", prefix=job_id)
    assert [(j["Namespace"], j["ID"]) for j in listed] == [(namespace, job_id)]
    scoped.job.deregister_job(job_id, purge=True)
    admin.namespace.delete_namespace(namespace)


def test_variables_block_namespace_deletion(api: nomad.Nomad, job_id: str) -> None:
    namespace = f"{job_id}-ns"
    api.namespace.create_namespace({"Name": namespace})
    api.variable.create_variable("app/config", {"Items": {"a": "b"}}, namespace=namespace)

    with pytest.raises(exceptions.BaseNomadException) as blocked:
        api.namespace.delete_namespace(namespace)
    api.variable.delete_variable("app/config", namespace=namespace)
    api.namespace.delete_namespace(namespace)

    assert (
        f'namespace "{namespace}" has variables associated with it' in blocked.value.nomad_resp.text
    )
    assert api.namespace.delete_namespace(namespace).status_code == 200


def test_list_with_meta_and_pages(api: nomad.Nomad, nomad_double: Any, job_id: str) -> None:
    for suffix in ("a", "b", "c"):
        api.jobs.register_job({"Job": service_json(f"{job_id}-{suffix}", Meta={"pr": suffix})})

    first = requests.get(
        f"{nomad_double.address}/v1/jobs",
        params={"prefix": job_id, "per_page": 2, "meta": "true"},
        headers=headers(nomad_double),
        timeout=5,
    )
    rest = requests.get(
        f"{nomad_double.address}/v1/jobs",
        params={"prefix": job_id, "per_page": 2, "next_token": first.headers["X-Nomad-NextToken"]},
        headers=headers(nomad_double),
        timeout=5,
    )

    assert [j["Meta"]["pr"] for j in first.json()] == ["a", "b"]
    assert [j["ID"] for j in rest.json()] == [f"{job_id}-c"]
    assert "X-Nomad-NextToken" not in rest.headers
    for suffix in ("a", "b", "c"):
        purge(api, f"{job_id}-{suffix}")


def test_filter_on_parent_id_finds_periodic_children(api: nomad.Nomad, job_id: str) -> None:
    api.jobs.register_job({"Job": batch_json(job_id)})
    api.job.periodic_job(job_id)

    children = api.jobs.get_jobs(filter_=f'ParentID == "{job_id}"')
    summary = api.job.get_summary(job_id)

    assert len(children) == 1
    assert children[0]["ID"].startswith(f"{job_id}/periodic-")
    assert sum(summary["Children"].values()) == 1
    purge(api, children[0]["ID"])
    purge(api, job_id)


def test_plan_of_a_periodic_job_reports_the_next_launch(api: nomad.Nomad, job_id: str) -> None:
    plan = api.job.plan_job(job_id, {"Job": batch_json(job_id)}, diff=True)
    disabled = api.job.plan_job(
        job_id,
        {"Job": batch_json(job_id, Periodic={"Enabled": False, "Specs": ["@daily"]})},
    )

    assert plan["NextPeriodicLaunch"] != "0001-01-01T00:00:00Z"
    assert plan["NextPeriodicLaunch"].endswith("Z")
    assert disabled["NextPeriodicLaunch"] == "0001-01-01T00:00:00Z"
    assert plan["Diff"]["Type"] == "Added"


def test_blocking_query_returns_when_the_index_moves(nomad_double: Any, job_id: str) -> None:
    api = nomad.Nomad(
        host="127.0.0.1", port=nomad_double.port, token=nomad_double.management_token or None
    )
    api.jobs.register_job({"Job": service_json(job_id)})
    start = requests.get(
        f"{nomad_double.address}/v1/job/{job_id}/allocations",
        headers=headers(nomad_double),
        timeout=5,
    )

    moved = requests.get(
        f"{nomad_double.address}/v1/job/{job_id}/allocations",
        params={"index": start.headers["X-Nomad-Index"], "wait": "20s"},
        headers=headers(nomad_double),
        timeout=30,
    )

    assert int(moved.headers["X-Nomad-Index"]) > int(start.headers["X-Nomad-Index"])
    purge(api, job_id)


def test_parse_needs_parse_permission_and_validate_only_read(
    nomad_acl_double: Any, job_id: str
) -> None:
    admin = nomad.Nomad(
        host="127.0.0.1", port=nomad_acl_double.port, token=nomad_acl_double.management_token
    )
    policy = f"{job_id}-list"
    admin.acl.create_policy(
        policy, {"Name": policy, "Rules": 'namespace "default" { capabilities = ["list-jobs"] }'}
    )
    token = admin.acl.create_token({"Type": "client", "Policies": [policy]})["SecretID"]
    lister = nomad.Nomad(host="127.0.0.1", port=nomad_acl_double.port, token=token)

    listed = lister.jobs.get_jobs()
    with pytest.raises(exceptions.URLNotAuthorizedNomadException):
        lister.jobs.parse(service_hcl(job_id))
    validated = requests.post(
        f"{nomad_acl_double.address}/v1/validate/job",
        json={"Job": service_json(job_id)},
        headers={"X-Nomad-Token": token},
        timeout=5,
    )
    own = lister.acl.get_self_token()

    assert listed == []
    assert validated.status_code == 403
    assert own["Policies"] == [policy]
    assert "SecretID" not in admin.acl.get_tokens()[0]
    admin.acl.delete_policy(policy)


def test_variable_acl_is_per_path(nomad_acl_double: Any, job_id: str) -> None:
    admin = nomad.Nomad(
        host="127.0.0.1", port=nomad_acl_double.port, token=nomad_acl_double.management_token
    )
    policy = f"{job_id}-vars"
    rules = (
        'namespace "default" {\n'
        "  variables {\n"
        f'    path "{job_id}/*" {{ capabilities = ["read", "list"] }}\n'
        "  }\n"
        "}\n"
    )
    admin.acl.create_policy(policy, {"Name": policy, "Rules": rules})
    token = admin.acl.create_token({"Type": "client", "Policies": [policy]})["SecretID"]
    reader = nomad.Nomad(host="127.0.0.1", port=nomad_acl_double.port, token=token)
    admin.variable.create_variable(f"{job_id}/app", {"Items": {"k": "v"}}, namespace="default")
    admin.variable.create_variable("other/app", {"Items": {"k": "v"}}, namespace="default")

    readable = reader.variable.get_variable(f"{job_id}/app", namespace="default")
    with pytest.raises(exceptions.URLNotAuthorizedNomadException):
        reader.variable.get_variable("other/app", namespace="default")
    with pytest.raises(exceptions.URLNotAuthorizedNomadException):
        reader.variable.create_variable(f"{job_id}/app", {"Items": {"k": "w"}}, namespace="default")

    assert readable["Items"] == {"k": "v"}
    for path in (f"{job_id}/app", "other/app"):
        admin.variable.delete_variable(path, namespace="default")
    admin.acl.delete_policy(policy)


def test_variable_write_does_not_grant_read_and_a_conflict_hides_the_items(
    nomad_acl_double: Any, job_id: str
) -> None:
    admin = nomad.Nomad(
        host="127.0.0.1", port=nomad_acl_double.port, token=nomad_acl_double.management_token
    )
    policy = f"{job_id}-writer"
    rules = (
        'namespace "default" {\n'
        "  variables {\n"
        f'    path "{job_id}/*" {{ capabilities = ["write"] }}\n'
        "  }\n"
        "}\n"
    )
    admin.acl.create_policy(policy, {"Name": policy, "Rules": rules})
    token = admin.acl.create_token({"Type": "client", "Policies": [policy]})["SecretID"]
    writer = nomad.Nomad(host="127.0.0.1", port=nomad_acl_double.port, token=token)
    path = f"{job_id}/inbox"

    written = writer.variable.create_variable(path, {"Items": {"k": "v"}}, cas=0)
    with pytest.raises(exceptions.VariableConflict) as conflict:
        writer.variable.create_variable(path, {"Items": {"k": "w"}}, cas=0)
    with pytest.raises(exceptions.URLNotAuthorizedNomadException):
        writer.variable.get_variable(path)
    listed = writer.variables.get_variables(prefix=job_id)

    assert written["Items"] == {"k": "v"}
    assert conflict.value.nomad_resp.json()["ModifyIndex"] == written["ModifyIndex"]
    assert "Items" not in conflict.value.nomad_resp.json()
    assert listed == []
    assert admin.variable.get_variable(path)["Items"] == {"k": "v"}
    admin.variable.delete_variable(path)
    admin.acl.delete_policy(policy)


def test_variable_read_grants_list(nomad_acl_double: Any, job_id: str) -> None:
    admin = nomad.Nomad(
        host="127.0.0.1", port=nomad_acl_double.port, token=nomad_acl_double.management_token
    )
    policy = f"{job_id}-reader"
    rules = (
        'namespace "default" {\n'
        f'  variables {{ path "{job_id}/*" {{ capabilities = ["read"] }} }}\n'
        "}\n"
    )
    admin.acl.create_policy(policy, {"Name": policy, "Rules": rules})
    token = admin.acl.create_token({"Type": "client", "Policies": [policy]})["SecretID"]
    reader = nomad.Nomad(host="127.0.0.1", port=nomad_acl_double.port, token=token)
    for path in (f"{job_id}/app", "other/app"):
        admin.variable.create_variable(path, {"Items": {"k": "v"}})

    listed = reader.variables.get_variables()

    assert [v["Path"] for v in listed] == [f"{job_id}/app"]
    for path in (f"{job_id}/app", "other/app"):
        admin.variable.delete_variable(path)
    admin.acl.delete_policy(policy)


def test_variable_zero_value_conflict_has_no_items(nomad_double: Any, job_id: str) -> None:
    answer = requests.put(
        f"{nomad_double.address}/v1/var/{job_id}/app?cas=7",
        json={"Items": {"k": "v"}},
        headers=headers(nomad_double),
        timeout=5,
    )

    assert answer.status_code == 409
    assert answer.json() == {
        "Namespace": "default",
        "Path": f"{job_id}/app",
        "CreateIndex": 0,
        "CreateTime": 0,
        "ModifyIndex": 0,
        "ModifyTime": 0,
    }
    assert answer.headers["X-Nomad-Index"] == "0"


def test_variable_body_namespace_wins_over_the_query(api: nomad.Nomad, job_id: str) -> None:
    namespace = f"{job_id}-ns"
    api.namespace.create_namespace({"Name": namespace})

    written = api.variable.create_variable(
        f"{job_id}/app", {"Namespace": namespace, "Items": {"k": "v"}}, namespace="default"
    )
    in_default = api.variables.get_variables(prefix=job_id, namespace="default")
    api.variable.delete_variable(f"{job_id}/app", namespace=namespace)
    api.namespace.delete_namespace(namespace)

    assert written["Namespace"] == namespace
    assert in_default == []


def test_variable_delete_does_not_validate_the_path(nomad_double: Any) -> None:
    answers = [
        requests.delete(
            f"{nomad_double.address}/v1/var/{path}", headers=headers(nomad_double), timeout=5
        )
        for path in ("nomad", "nomad/other", "shop.pr-42")
    ]

    assert [answer.status_code for answer in answers] == [204, 204, 204]


def test_variable_empty_cas_is_a_plain_write(nomad_double: Any, job_id: str) -> None:
    url = f"{nomad_double.address}/v1/var/{job_id}/app"
    first = requests.put(url, json={"Items": {"k": "v"}}, headers=headers(nomad_double), timeout=5)

    second = requests.put(
        f"{url}?cas=", json={"Items": {"k": "w"}}, headers=headers(nomad_double), timeout=5
    )
    requests.delete(url, headers=headers(nomad_double), timeout=5)

    assert first.status_code == 200
    assert second.status_code == 200, second.text
    assert second.json()["Items"] == {"k": "w"}
    assert second.json()["ModifyIndex"] > first.json()["ModifyIndex"]


def test_invalid_policy_rules_are_refused(nomad_acl_double: Any) -> None:
    answer = requests.post(
        f"{nomad_acl_double.address}/v1/acl/policy/broken",
        json={"Name": "broken", "Rules": 'namespace "default" { policy = "admin" }'},
        headers=headers(nomad_acl_double),
        timeout=5,
    )

    assert answer.status_code == 400
    assert "failed to parse rules: Invalid namespace policy" in answer.text


def test_json_keys_match_case_insensitively_and_unknown_keys_are_dropped(
    nomad_double: Any, job_id: str
) -> None:
    body = {
        "job": {
            "id": job_id,
            "type": "batch",
            "datacenters": ["dc1"],
            "colour": "blue",
            "taskgroups": [
                {
                    "name": "g",
                    "tasks": [
                        {
                            "name": "t",
                            "driver": "raw_exec",
                            "config": {"command": "/bin/true"},
                            "killtimeout": 3_000_000_000,
                        }
                    ],
                }
            ],
        }
    }

    answer = requests.post(
        f"{nomad_double.address}/v1/jobs", json=body, headers=headers(nomad_double), timeout=5
    )
    stored = requests.get(
        f"{nomad_double.address}/v1/job/{job_id}", headers=headers(nomad_double), timeout=5
    ).json()

    assert answer.status_code == 200, answer.text
    assert stored["TaskGroups"][0]["Tasks"][0]["KillTimeout"] == 3_000_000_000
    assert "colour" not in stored
    requests.delete(
        f"{nomad_double.address}/v1/job/{job_id}?purge=true",
        headers=headers(nomad_double),
        timeout=5,
    )
