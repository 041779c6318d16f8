"""Ports and networks on the double's one node, and the resources an allocation is given.

The node is a dev agent's: one host network, `default`, at 127.0.0.1. A group's first `network`
block is the ask, as in Nomad's binpacking. Static ports are taken as given unless another live
allocation on the node holds them (then the group cannot be placed: `reserved port collision
http=8080`); dynamic ports are drawn from Nomad's default range, 20000-32000, never one the node
already uses. A port whose `to` is -1 maps to its own value.

Nomad encodes ports, port mappings and networks with every zero-valued field left out (their Go
structs carry a struct-wide `omitempty`), and the allocation itself likewise; the `encode_*`
helpers give that wire shape.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Iterable
from typing import Any

NODE_IP = "127.0.0.1"
MIN_DYNAMIC_PORT = 20000
MAX_DYNAMIC_PORT = 32000
TERMINAL = {"complete", "failed", "lost"}
ALLOCATION_FIELDS = (
    "ID",
    "Namespace",
    "EvalID",
    "Name",
    "NodeID",
    "NodeName",
    "JobID",
    "Job",
    "TaskGroup",
    "Resources",
    "SharedResources",
    "TaskResources",
    "AllocatedResources",
    "Metrics",
    "DesiredStatus",
    "DesiredDescription",
    "DesiredTransition",
    "ClientStatus",
    "ClientDescription",
    "TaskStates",
    "AllocStates",
    "PreviousAllocation",
    "NextAllocation",
    "DeploymentID",
    "DeploymentStatus",
    "RescheduleTracker",
    "NetworkStatus",
    "FollowupEvalID",
    "PreemptedAllocations",
    "PreemptedByAllocation",
    "SigningKeyID",
    "CreateIndex",
    "ModifyIndex",
    "AllocModifyIndex",
    "CreateTime",
    "ModifyTime",
)


class PlacementError(Exception):
    """The node cannot take the group; the message is Nomad's exhausted dimension."""


def used_ports(allocs: Iterable[dict[str, Any]]) -> set[int]:
    """Host ports held by allocations the scheduler still counts on the node.

    An allocation told to stop frees its ports at once, as in Nomad's proposed-allocation view.
    """
    used: set[int] = set()
    for alloc in allocs:
        if alloc["DesiredStatus"] != "run" or alloc["ClientStatus"] in {
            "complete",
            "failed",
            "lost",
        }:
            continue
        shared = (alloc.get("AllocatedResources") or {}).get("Shared") or {}
        used.update(mapping["Value"] for mapping in shared.get("Ports") or [])
    return used


def offer(
    group: dict[str, Any], used: set[int], rng: random.Random
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The port mappings and the shared network a group gets, or `PlacementError`.

    `used` is the node's taken ports; it is not changed.
    """
    networks = group.get("Networks") or []
    if not networks:
        return [], None
    ask = copy.deepcopy(networks[0])
    taken = set(used)
    mappings = []
    for port in ask.get("ReservedPorts") or []:
        if not port.get("IgnoreCollision") and port["Value"] in used:
            raise PlacementError(
                f"network: reserved port collision {port['Label']}={port['Value']}"
            )
        taken.add(port["Value"])
        mappings.append(_mapping(port, port["Value"], bool(port.get("IgnoreCollision"))))
    for port in ask.get("DynamicPorts") or []:
        value = _dynamic_port(taken, rng)
        taken.add(value)
        port["Value"] = value
        if port.get("To") == -1:
            port["To"] = value
        mappings.append(_mapping(port, value, False))
    ask["IP"] = NODE_IP
    return mappings, ask


def _mapping(port: dict[str, Any], value: int, ignore_collision: bool) -> dict[str, Any]:
    to = port.get("To") or 0
    return {
        "Label": port["Label"],
        "Value": value,
        "To": value if to == -1 else to,
        "HostIP": NODE_IP,
        "IgnoreCollision": ignore_collision,
    }


def _dynamic_port(taken: set[int], rng: random.Random) -> int:
    for _attempt in range(20):
        candidate = rng.randint(MIN_DYNAMIC_PORT, MAX_DYNAMIC_PORT)
        if candidate not in taken:
            return candidate
    for candidate in range(MIN_DYNAMIC_PORT, MAX_DYNAMIC_PORT + 1):
        if candidate not in taken:
            return candidate
    raise PlacementError("network: dynamic port selection failed")


def allocated_resources(
    group: dict[str, Any], ports: list[dict[str, Any]], network: dict[str, Any] | None
) -> dict[str, Any]:
    """`AllocatedResources` as the scheduler fills it for a placed group."""
    tasks: dict[str, Any] = {}
    lifecycles: dict[str, Any] = {}
    for task in group.get("Tasks") or []:
        resources = task.get("Resources") or {}
        tasks[task["Name"]] = {
            "Cpu": {"CpuShares": resources.get("CPU") or 0, "ReservedCores": None},
            "Memory": {
                "MemoryMB": (resources.get("MemoryMB") or 0) + (resources.get("SecretsMB") or 0),
                "MemoryMaxMB": 0,
            },
            "Networks": None,
            "Devices": None,
        }
        lifecycles[task["Name"]] = copy.deepcopy(task.get("Lifecycle"))
    disk = (group.get("EphemeralDisk") or {}).get("SizeMB") or 0
    return {
        "Tasks": tasks or None,
        "TaskLifecycles": lifecycles or None,
        "Shared": {
            "Networks": [network] if network is not None else None,
            "DiskMB": disk,
            "Ports": ports or None,
        },
    }


def _omit_empty(record: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in record.items() if value}


def encode_network(network: dict[str, Any]) -> dict[str, Any]:
    """A NetworkResource on the wire: zero-valued fields and ports' zero fields left out."""
    out = dict(network)
    for key in ("ReservedPorts", "DynamicPorts"):
        if out.get(key):
            out[key] = [_omit_empty(port) for port in out[key]]
    return _omit_empty(out)


def encode_networks(networks: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    if networks is None:
        return None
    return [encode_network(network) for network in networks]


def encode_job(job: dict[str, Any]) -> dict[str, Any]:
    """A stored job on the wire: its group and task networks in Nomad's sparse encoding."""
    out = copy.deepcopy(job)
    for group in out.get("TaskGroups") or []:
        group["Networks"] = encode_networks(group.get("Networks"))
        for task in group.get("Tasks") or []:
            resources = task.get("Resources")
            if resources is not None and "Networks" in resources:
                resources["Networks"] = encode_networks(resources["Networks"])
    return out


def encode_allocation(alloc: dict[str, Any]) -> dict[str, Any]:
    """A full allocation on the wire (`GET /v1/allocation/:id`).

    Nomad's Allocation struct omits every zero-valued field, so empty strings, zero indexes,
    null pointers and an unset `DesiredTransition` are absent rather than null.
    """
    out: dict[str, Any] = {}
    for key in ALLOCATION_FIELDS:
        value = alloc.get(key)
        if key == "DesiredTransition" and all(v is None for v in (value or {}).values()):
            continue
        if not value:
            continue
        out[key] = copy.deepcopy(value)
    if "Job" in out:
        out["Job"] = encode_job(out["Job"])
    if "AllocatedResources" in out:
        out["AllocatedResources"] = encode_resources(out["AllocatedResources"])
    return out


def encode_resources(resources: dict[str, Any]) -> dict[str, Any]:
    """`AllocatedResources` on the wire: shared networks and port mappings sparse."""
    out = copy.deepcopy(resources)
    shared = out["Shared"]
    shared["Networks"] = encode_networks(shared.get("Networks"))
    if shared.get("Ports"):
        shared["Ports"] = [_omit_empty(mapping) for mapping in shared["Ports"]]
    return out
