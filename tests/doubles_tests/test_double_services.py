"""Nomad native service registrations: made when allocations run, gone when they stop."""

from __future__ import annotations

from typing import Any

import nomad
import pytest
import requests

from tests.doubles.nomad import NomadDouble

from .jobspecs import ported_json, with_nomad_services
from .polling import until


def api_for(target: Any, token: str | None = None) -> nomad.Nomad:
    return nomad.Nomad(host="127.0.0.1", port=target.port, token=token, timeout=5)


def get(target: Any, path: str, token: str | None = None, **params: str) -> requests.Response:
    headers = {"X-Nomad-Token": token} if token else {}
    return requests.get(f"{target.address}{path}", params=params, headers=headers, timeout=5)


def mail_job(job_id: str = "shop", count: int = 1) -> dict[str, Any]:
    return with_nomad_services(
        ported_json(job_id, count=count, dynamic={"http": 8080}, static={"smtp": 1025})
    )


def test_services_register_when_the_allocation_runs(stepped: NomadDouble) -> None:
    api = api_for(stepped)
    api.jobs.register_job({"Job": mail_job()})
    while_pending = get(stepped, "/v1/service/shop-http").json()

    stepped.advance()
    allocation = api.allocation.get_allocation(api.job.get_allocations("shop")[0]["ID"])
    answer = get(stepped, "/v1/service/shop-http")
    mail = get(stepped, "/v1/service/shop-mail").json()
    listed = get(stepped, "/v1/services").json()

    ports = {p["Label"]: p["Value"] for p in allocation["AllocatedResources"]["Shared"]["Ports"]}
    [http] = answer.json()
    assert while_pending == []
    assert allocation["ClientStatus"] == "running"
    assert http == {
        "ID": f"_nomad-task-{allocation['ID']}-api-shop-http-http",
        "ServiceName": "shop-http",
        "Namespace": "default",
        "NodeID": allocation["NodeID"],
        "Datacenter": "dc1",
        "JobID": "shop",
        "AllocID": allocation["ID"],
        "Tags": ["preview", "pr-42"],
        "Address": "127.0.0.1",
        "Port": ports["http"],
        "CreateIndex": http["CreateIndex"],
        "ModifyIndex": http["CreateIndex"],
    }
    assert int(answer.headers["X-Nomad-Index"]) >= http["CreateIndex"] > 0
    assert [(m["ID"], m["Port"], m["Tags"]) for m in mail] == [
        (f"_nomad-task-{allocation['ID']}-group-api-shop-mail-smtp", 1025, ["mail"])
    ]
    assert listed == [
        {
            "Namespace": "default",
            "Services": [
                {"ServiceName": "shop-http", "Tags": ["preview", "pr-42"]},
                {"ServiceName": "shop-mail", "Tags": ["mail"]},
            ],
        }
    ]


def test_services_go_when_the_job_is_purged(stepped: NomadDouble) -> None:
    api = api_for(stepped)
    api.jobs.register_job({"Job": mail_job()})
    stepped.advance()
    before = get(stepped, "/v1/services").json()

    api.job.deregister_job("shop", purge=True)
    stepped.advance()

    assert [s["ServiceName"] for s in before[0]["Services"]] == ["shop-http", "shop-mail"]
    assert get(stepped, "/v1/service/shop-http").json() == []
    assert get(stepped, "/v1/service/shop-mail").json() == []
    assert get(stepped, "/v1/services").json() == []


def test_a_new_version_moves_the_registration_to_the_new_allocation(double: NomadDouble) -> None:
    api = api_for(double)
    api.jobs.register_job({"Job": mail_job()})
    first = until(lambda: get(double, "/v1/service/shop-http").json(), bool)

    api.jobs.register_job({"Job": {**mail_job(), "Meta": {"pr": "pr-43"}}})
    second = until(
        lambda: get(double, "/v1/service/shop-http").json(),
        lambda found: bool(found) and found[0]["AllocID"] != first[0]["AllocID"],
    )

    assert len(first) == len(second) == 1
    assert second[0]["AllocID"] != first[0]["AllocID"]
    assert second[0]["Tags"] == ["preview", "pr-43"]


def test_a_failed_allocation_registers_nothing(double: NomadDouble) -> None:
    double.mark_failing(image="nginx:1.27")
    api = api_for(double)
    api.jobs.register_job({"Job": mail_job()})

    allocation = until(
        lambda: api.job.get_allocations("shop")[0], lambda a: a["ClientStatus"] == "failed"
    )

    assert allocation["ClientStatus"] == "failed"
    assert get(double, "/v1/service/shop-http").json() == []
    assert get(double, "/v1/services").json() == []


def test_services_only_register_for_the_nomad_provider(double: NomadDouble) -> None:
    api = api_for(double)
    job = mail_job()
    job["TaskGroups"][0]["Services"][0]["Provider"] = "consul"
    job["TaskGroups"][0]["Tasks"][0]["Services"][0]["Provider"] = "consul"
    api.jobs.register_job({"Job": job})

    until(lambda: api.job.get_job("shop"), lambda j: j["Status"] == "running")

    assert get(double, "/v1/services").json() == []


def test_registrations_read_through_the_job_and_the_allocation(double: NomadDouble) -> None:
    api = api_for(double)
    api.jobs.register_job({"Job": mail_job()})
    until(lambda: get(double, "/v1/service/shop-http").json(), bool)
    alloc_id = api.job.get_allocations("shop")[0]["ID"]

    by_job = get(double, "/v1/job/shop/services").json()
    by_alloc = get(double, f"/v1/allocation/{alloc_id}/services").json()
    unknown_job = get(double, "/v1/job/nope/services")
    unknown_alloc = get(double, "/v1/allocation/5a1d6b38-0c38-4a1e-9d0f-3f7a4c2e9b11/services")

    assert sorted(r["ServiceName"] for r in by_job) == ["shop-http", "shop-mail"]
    assert by_alloc == by_job
    assert (unknown_job.status_code, unknown_job.text) == (404, "job not found")
    assert (unknown_alloc.status_code, unknown_alloc.text) == (404, "allocation not found")


def test_service_reads_page_filter_and_choose(double: NomadDouble) -> None:
    api = api_for(double)
    job = ported_json("shop", count=3, dynamic={"http": 8080, "smtp": 1025})
    api.jobs.register_job({"Job": with_nomad_services(job)})
    everything = until(
        lambda: get(double, "/v1/service/shop-http").json(), lambda found: len(found) == 3
    )

    first_page = get(double, "/v1/service/shop-http", per_page="2")
    next_token = first_page.headers.get("X-Nomad-NextToken", "")
    second_page = get(double, "/v1/service/shop-http", next_token=next_token)
    one = get(double, "/v1/service/shop-http", filter=f'AllocID == "{everything[1]["AllocID"]}"')
    chosen = get(double, "/v1/service/shop-http", choose="2|reviewer-7").json()
    chosen_again = get(double, "/v1/service/shop-http", choose="2|reviewer-7").json()
    malformed = get(double, "/v1/service/shop-http", choose="two")
    bad_filter = get(double, "/v1/service/shop-http", filter="AllocID ==")

    assert [r["ID"] for r in everything] == sorted(r["ID"] for r in everything)
    assert [r["ID"] for r in first_page.json()] == [r["ID"] for r in everything[:2]]
    assert first_page.headers["X-Nomad-NextToken"] == f"default.{everything[2]['ID']}"
    assert [r["ID"] for r in second_page.json()] == [everything[2]["ID"]]
    assert [r["AllocID"] for r in one.json()] == [everything[1]["AllocID"]]
    assert len(chosen) == 2
    assert chosen == chosen_again
    assert malformed.status_code == 400
    assert malformed.text == (
        "failed to choose services: Parameter for choose must be in form '<number>|<key>'"
    )
    assert bad_filter.status_code == 400
    assert bad_filter.text.startswith("failed to create result paginator: ")


@pytest.mark.parametrize(
    ("method", "path", "status", "text"),
    [
        pytest.param("GET", "/v1/service/", 400, "missing service name", id="no-name"),
        pytest.param("DELETE", "/v1/service/web", 405, "Invalid method", id="delete-by-name"),
        pytest.param("GET", "/v1/service/web/abc", 405, "Invalid method", id="get-by-id"),
        pytest.param("DELETE", "/v1/service/web/", 400, "missing service id", id="no-id"),
        pytest.param("GET", "/v1/service/web/abc/def", 400, "invalid URI", id="too-deep"),
        pytest.param("POST", "/v1/services", 405, "Invalid method", id="post-list"),
    ],
)
def test_service_paths_are_refused_as_nomad_refuses_them(
    nomad_double: Any, method: str, path: str, status: int, text: str
) -> None:
    headers = (
        {"X-Nomad-Token": nomad_double.management_token} if nomad_double.management_token else {}
    )

    answer = requests.request(method, f"{nomad_double.address}{path}", headers=headers, timeout=5)

    assert (answer.status_code, answer.text) == (status, text)


def test_an_unknown_service_is_an_empty_list(nomad_double: Any) -> None:
    token = nomad_double.management_token or None

    answer = get(nomad_double, "/v1/service/no-such-service", token)

    assert answer.status_code == 200
    assert answer.json() == []
    assert int(answer.headers["X-Nomad-Index"]) >= 1


def test_service_reads_and_deletes_follow_namespace_acls(acl_double: NomadDouble) -> None:
    admin_token = acl_double.management_token
    admin = api_for(acl_double, admin_token)
    admin.namespace.create_namespace({"Name": "preview-a"})
    admin.jobs.register_job({"Job": {**mail_job(), "Namespace": "preview-a"}})
    admin.acl.create_policy(
        "reader-a", {"Name": "reader-a", "Rules": 'namespace "preview-a" { policy = "read" }'}
    )
    reader = admin.acl.create_token({"Name": "r", "Type": "client", "Policies": ["reader-a"]})
    token = reader["SecretID"]
    found = until(
        lambda: get(acl_double, "/v1/service/shop-http", admin_token, namespace="preview-a").json(),
        bool,
    )
    path = f"/v1/service/shop-http/{found[0]['ID']}?namespace=preview-a"

    own = get(acl_double, "/v1/services", token, namespace="preview-a")
    default = get(acl_double, "/v1/services", token)
    every = get(acl_double, "/v1/services", token, namespace="*")
    anonymous_every = get(acl_double, "/v1/services", None, namespace="*")
    denied = requests.delete(
        f"{acl_double.address}{path}", headers={"X-Nomad-Token": token}, timeout=5
    )
    deleted = requests.delete(
        f"{acl_double.address}{path}", headers={"X-Nomad-Token": admin_token}, timeout=5
    )
    again = requests.delete(
        f"{acl_double.address}{path}", headers={"X-Nomad-Token": admin_token}, timeout=5
    )

    assert [n["Namespace"] for n in own.json()] == ["preview-a"]
    assert (default.status_code, default.text) == (403, "Permission denied")
    assert [n["Namespace"] for n in every.json()] == ["preview-a"]
    assert anonymous_every.json() == []
    assert (denied.status_code, denied.text) == (403, "Permission denied")
    assert (deleted.status_code, deleted.text) == (200, "")
    assert int(deleted.headers["X-Nomad-Index"]) > found[0]["ModifyIndex"]
    assert (again.status_code, again.text) == (500, "service registration not found")
    assert get(acl_double, "/v1/service/shop-http", token, namespace="preview-a").json() == []
