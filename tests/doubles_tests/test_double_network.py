"""Allocations carry their network: ports on the node, the full allocation read back, collisions."""

from __future__ import annotations

from typing import Any

import nomad
import pytest
import requests
from nomad.api import exceptions

from tests.doubles.nomad import NomadDouble

from .jobspecs import ported_json
from .polling import until


def api_for(target: Any, token: str | None = None) -> nomad.Nomad:
    return nomad.Nomad(host="127.0.0.1", port=target.port, token=token, timeout=5)


def full_allocations(api: nomad.Nomad, job_id: str) -> list[dict[str, Any]]:
    return [api.allocation.get_allocation(stub["ID"]) for stub in api.job.get_allocations(job_id)]


def test_dynamic_ports_are_mapped_in_range_and_unique_on_the_node(double: NomadDouble) -> None:
    api = api_for(double)
    api.jobs.register_job({"Job": ported_json("web", count=3, dynamic={"http": 8080, "admin": -1})})
    api.jobs.register_job({"Job": ported_json("mail", dynamic={"smtp": 1025})})

    allocations = full_allocations(api, "web") + full_allocations(api, "mail")

    values = []
    for allocation in allocations:
        shared = allocation["AllocatedResources"]["Shared"]
        ports = {port["Label"]: port for port in shared["Ports"]}
        network = shared["Networks"][0]
        assert all(port["HostIP"] == "127.0.0.1" for port in ports.values())
        assert all(20000 <= port["Value"] <= 32000 for port in ports.values())
        assert (network["Mode"], network["IP"]) == ("host", "127.0.0.1")
        assert {p["Label"]: p["Value"] for p in network["DynamicPorts"]} == {
            label: port["Value"] for label, port in ports.items()
        }
        values += [port["Value"] for port in ports.values()]
    web_ports = [
        {p["Label"]: p for p in a["AllocatedResources"]["Shared"]["Ports"]} for a in allocations[:3]
    ]
    assert len(allocations) == 4
    assert len(values) == len(set(values)) == 7
    assert all(ports["http"]["To"] == 8080 for ports in web_ports)
    assert all(ports["admin"]["To"] == ports["admin"]["Value"] for ports in web_ports)


def test_a_static_port_is_the_value_written(double: NomadDouble) -> None:
    api = api_for(double)
    api.jobs.register_job({"Job": ported_json("mail", static={"smtp": 1025}, dynamic={"ui": 8025})})

    allocation = full_allocations(api, "mail")[0]

    shared = allocation["AllocatedResources"]["Shared"]
    ports = {port["Label"]: port for port in shared["Ports"]}
    assert ports["smtp"] == {"Label": "smtp", "Value": 1025, "HostIP": "127.0.0.1"}
    assert ports["ui"]["To"] == 8025
    assert shared["Networks"][0]["ReservedPorts"] == [
        {"Label": "smtp", "Value": 1025, "HostNetwork": "default"}
    ]
    assert [port["Label"] for port in shared["Ports"]] == ["smtp", "ui"]


def test_the_allocation_reads_back_whole_with_its_job_and_resources(double: NomadDouble) -> None:
    api = api_for(double)
    api.jobs.register_job({"Job": ported_json("web", dynamic={"http": 8080})})
    stub = until(
        lambda: api.job.get_allocations("web")[0], lambda a: a["ClientStatus"] == "running"
    )

    allocation = api.allocation.get_allocation(stub["ID"])

    resources = allocation["AllocatedResources"]
    assert allocation["ID"] == stub["ID"]
    assert allocation["ClientStatus"] == "running"
    assert allocation["Job"]["ID"] == "web"
    assert allocation["Job"]["TaskGroups"][0]["Name"] == allocation["TaskGroup"] == "api"
    assert allocation["NodeID"] == stub["NodeID"]
    assert resources["Tasks"]["api"]["Cpu"]["CpuShares"] == 100
    assert resources["Tasks"]["api"]["Memory"]["MemoryMB"] == 64
    assert resources["Shared"]["DiskMB"] == 300
    assert allocation["Metrics"]["NodesEvaluated"] == 1
    # Nomad's Allocation struct leaves zero-valued fields out of its JSON entirely.
    assert not {"PreviousAllocation", "NextAllocation", "DesiredTransition", "Resources"} & set(
        allocation
    )
    assert not {"JobType", "JobVersion"} & set(allocation)


def test_the_allocation_list_carries_resources_when_asked(double: NomadDouble) -> None:
    api = api_for(double)
    api.jobs.register_job({"Job": ported_json("web", dynamic={"http": 8080})})

    plain = api.allocations.get_allocations()[0]
    with_resources = api.allocations.get_allocations(resources=True, task_states=False)[0]
    full = api.allocation.get_allocation(plain["ID"])

    assert "AllocatedResources" not in plain
    assert plain["TaskStates"]["api"]["State"] in {"pending", "running"}
    assert with_resources["AllocatedResources"] == full["AllocatedResources"]
    assert with_resources["TaskStates"] is None
    assert {"JobType", "JobVersion", "PreemptedAllocations"} <= set(plain)
    assert "PreviousAllocation" not in plain


def test_an_unknown_allocation_is_404_alloc_not_found(nomad_double: Any) -> None:
    api = api_for(nomad_double, nomad_double.management_token or None)

    with pytest.raises(exceptions.URLNotFoundNomadException) as caught:
        api.allocation.get_allocation("5a1d6b38-0c38-4a1e-9d0f-3f7a4c2e9b11")

    assert caught.value.nomad_resp.text == "alloc not found"


def test_reading_an_allocation_needs_read_job_in_its_namespace(acl_double: NomadDouble) -> None:
    admin = api_for(acl_double, acl_double.management_token)
    for name in ("preview-a", "preview-b"):
        admin.namespace.create_namespace({"Name": name})
        job = ported_json(f"web-{name}", dynamic={"http": 8080})
        admin.jobs.register_job({"Job": {**job, "Namespace": name}})
    admin.acl.create_policy(
        "reader-a", {"Name": "reader-a", "Rules": 'namespace "preview-a" { policy = "read" }'}
    )
    token = admin.acl.create_token({"Name": "reader", "Type": "client", "Policies": ["reader-a"]})
    ids = {
        name: admin.job.get_allocations(f"web-{name}", namespace=name)[0]["ID"]
        for name in ("preview-a", "preview-b")
    }
    headers = {"X-Nomad-Token": token["SecretID"]}

    own = requests.get(f"{acl_double.address}/v1/allocation/{ids['preview-a']}", headers=headers)
    other = requests.get(f"{acl_double.address}/v1/allocation/{ids['preview-b']}", headers=headers)
    anonymous = requests.get(f"{acl_double.address}/v1/allocation/{ids['preview-a']}")

    assert own.status_code == 200
    assert own.json()["Namespace"] == "preview-a"
    assert (other.status_code, other.text) == (500, f'Unknown allocation "{ids["preview-b"]}"')
    assert anonymous.status_code == 500


def test_allocation_paths_beyond_an_action_are_404_resource_not_found(nomad_double: Any) -> None:
    base = f"{nomad_double.address}/v1/allocation/5a1d6b38-0c38-4a1e-9d0f-3f7a4c2e9b11"

    deep = requests.get(f"{base}/stop/now", timeout=5)
    unknown_action = requests.get(f"{base}/reboot", timeout=5)

    assert (deep.status_code, deep.text) == (404, "resource not found")
    assert (unknown_action.status_code, unknown_action.text) == (404, "resource not found")


def test_a_job_read_leaves_zero_valued_port_fields_out(nomad_double: Any) -> None:
    api = api_for(nomad_double, nomad_double.management_token or None)
    api.jobs.register_job({"Job": ported_json("web", dynamic={"http": 8080, "admin": 0})})

    network = api.job.get_job("web")["TaskGroups"][0]["Networks"][0]
    api.job.deregister_job("web", purge=True)

    assert network["Mode"] == "host"
    assert network["DynamicPorts"] == [
        {"Label": "http", "To": 8080, "HostNetwork": "default"},
        {"Label": "admin", "HostNetwork": "default"},
    ]
    assert "ReservedPorts" not in network


def test_a_taken_static_port_blocks_placement_until_it_is_freed(double: NomadDouble) -> None:
    api = api_for(double)
    api.jobs.register_job({"Job": ported_json("first", static={"smtp": 1025})})
    until(lambda: api.job.get_job("first"), lambda job: job["Status"] == "running")

    plan = api.job.plan_job("second", {"Job": ported_json("second", static={"smtp": 1025})})
    registered = api.jobs.register_job({"Job": ported_json("second", static={"smtp": 1025})})
    evaluation = api.evaluation.get_evaluation(registered["EvalID"])
    queued = api.job.get_summary("second")["Summary"]["api"]["Queued"]
    placed_while_taken = api.job.get_allocations("second")
    api.job.deregister_job("first")
    placed = until(
        lambda: api.job.get_allocations("second"),
        lambda allocs: any(a["ClientStatus"] == "running" for a in allocs),
    )

    reason = "network: reserved port collision smtp=1025"
    assert plan["FailedTGAllocs"]["api"]["DimensionExhausted"] == {reason: 1}
    assert evaluation["FailedTGAllocs"]["api"]["DimensionExhausted"] == {reason: 1}
    assert evaluation["QueuedAllocations"] == {"api": 1}
    assert queued == 1
    assert placed_while_taken == []
    assert [a["EvalID"] for a in placed] == [evaluation["BlockedEval"]]
    assert api.evaluation.get_evaluation(evaluation["BlockedEval"])["Status"] == "complete"
    assert api.job.get_summary("second")["Summary"]["api"]["Queued"] == 0


def test_two_allocations_cannot_share_one_static_port(double: NomadDouble) -> None:
    api = api_for(double)

    registered = api.jobs.register_job({"Job": ported_json("mail", count=2, static={"smtp": 1025})})
    evaluation = api.evaluation.get_evaluation(registered["EvalID"])
    allocations = api.job.get_allocations("mail")

    assert len(allocations) == 1
    assert evaluation["QueuedAllocations"] == {"api": 1}
    assert evaluation["FailedTGAllocs"]["api"]["CoalescedFailures"] == 0
    assert api.job.get_deployment("mail")["TaskGroups"]["api"]["PlacedAllocs"] == 1


def test_a_static_port_may_be_shared_when_collisions_are_ignored(double: NomadDouble) -> None:
    api = api_for(double)
    job = ported_json("mail", count=2, static={"smtp": 1025})
    job["TaskGroups"][0]["Networks"][0]["ReservedPorts"][0]["IgnoreCollision"] = True

    api.jobs.register_job({"Job": job})
    allocations = full_allocations(api, "mail")

    assert len(allocations) == 2
    assert all(
        a["AllocatedResources"]["Shared"]["Ports"][0]["IgnoreCollision"] is True
        for a in allocations
    )


def test_purging_a_queued_job_cancels_its_blocked_evaluation(double: NomadDouble) -> None:
    api = api_for(double)
    api.jobs.register_job({"Job": ported_json("first", static={"smtp": 1025})})
    registered = api.jobs.register_job({"Job": ported_json("second", static={"smtp": 1025})})
    blocked_id = api.evaluation.get_evaluation(registered["EvalID"])["BlockedEval"]

    purged = api.job.deregister_job("second", purge=True)
    api.job.deregister_job("first")
    until(
        lambda: api.job.get_allocations("first")[0],
        lambda alloc: alloc["ClientStatus"] == "complete",
    )

    blocked = api.evaluation.get_evaluation(blocked_id)
    assert blocked["Status"] == "cancelled"
    assert blocked["StatusDescription"] == f'evaluation "{purged["EvalID"]}" successful'
    assert api.job.get_allocations("second") == []
