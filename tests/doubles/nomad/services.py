"""Nomad's native service discovery: the registrations a client makes for `provider = "nomad"`.

When an allocation starts running, each nomad-provider service of its group and of its tasks is
registered under the ID Nomad's client builds (`_nomad-task-<alloc>-<task>-<service>-<port>`,
with `group-<group>` in place of the task for group services), at the port mapping named by the
service's `port`. The registration goes when the allocation is told to stop or ends.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from .errors import ApiError
from .network import NODE_IP

ENV_REFERENCE = re.compile(r"\$\{([^}]*)\}")
MALFORMED_CHOOSE = "Parameter for choose must be in form '<number>|<key>'"


def registrations(
    alloc: dict[str, Any], group: dict[str, Any], node_id: str, datacenter: str, region: str
) -> list[dict[str, Any]]:
    """The registrations of every nomad-provider service of a running allocation."""
    shared = (alloc.get("AllocatedResources") or {}).get("Shared") or {}
    ports = shared.get("Ports") or []
    networks = shared.get("Networks") or []
    job = alloc["Job"]
    found = []
    workloads: list[tuple[str, dict[str, Any] | None, list[dict[str, Any]]]] = [
        (f"group-{group['Name']}", None, group.get("Services") or [])
    ]
    workloads += [(task["Name"], task, task.get("Services") or []) for task in group["Tasks"] or []]
    for workload, task, services in workloads:
        env = _environment(alloc, job, group, task, ports, datacenter, region, node_id)
        try:
            found += [
                _registration(alloc, workload, service, ports, networks, env)
                for service in services
                if service.get("Provider") == "nomad"
            ]
        except UnresolvedPort:
            continue
    return found


class UnresolvedPort(LookupError):
    """A service names a port the allocation does not have; its workload registers nothing."""


def _registration(
    alloc: dict[str, Any],
    workload: str,
    service: dict[str, Any],
    ports: list[dict[str, Any]],
    networks: list[dict[str, Any]],
    env: dict[str, str],
) -> dict[str, Any]:
    name = _interpolate(service["Name"], env)
    label = _interpolate(service.get("PortLabel") or "", env)
    address, port = _address(service, label, ports, networks, env)
    return {
        "ID": f"_nomad-task-{alloc['ID']}-{workload}-{name}-{label}",
        "ServiceName": name,
        "Namespace": alloc["Namespace"],
        "NodeID": env["node.unique.id"],
        "Datacenter": env["node.datacenter"],
        "JobID": alloc["JobID"],
        "AllocID": alloc["ID"],
        "Tags": [_interpolate(tag, env) for tag in service.get("Tags") or []],
        "Address": address,
        "Port": port,
        "CreateIndex": 0,
        "ModifyIndex": 0,
    }


def _environment(
    alloc: dict[str, Any],
    job: dict[str, Any],
    group: dict[str, Any],
    task: dict[str, Any] | None,
    ports: list[dict[str, Any]],
    datacenter: str,
    region: str,
    node_id: str,
) -> dict[str, str]:
    """The part of the task environment a service block may interpolate."""
    env = {
        "NOMAD_JOB_ID": job["ID"],
        "NOMAD_JOB_NAME": job["Name"],
        "NOMAD_GROUP_NAME": group["Name"],
        "NOMAD_ALLOC_ID": alloc["ID"],
        "NOMAD_SHORT_ALLOC_ID": alloc["ID"][:8],
        "NOMAD_ALLOC_NAME": alloc["Name"],
        "NOMAD_ALLOC_INDEX": alloc["Name"].rsplit("[", 1)[-1].rstrip("]"),
        "NOMAD_NAMESPACE": alloc["Namespace"],
        "NOMAD_DC": datacenter,
        "NOMAD_REGION": region,
        "node.unique.id": node_id,
        "node.datacenter": datacenter,
        "node.region": region,
    }
    if task is not None:
        env["NOMAD_TASK_NAME"] = task["Name"]
    meta = {**(job.get("Meta") or {}), **(group.get("Meta") or {})}
    if task is not None:
        meta.update(task.get("Meta") or {})
    for key, value in meta.items():
        env[f"NOMAD_META_{key}"] = value
        env[f"NOMAD_META_{key.upper()}"] = value
    for mapping in ports:
        label = mapping["Label"]
        env[f"NOMAD_HOST_PORT_{label}"] = str(mapping["Value"])
        env[f"NOMAD_PORT_{label}"] = str(mapping["To"] or mapping["Value"])
        env[f"NOMAD_IP_{label}"] = mapping["HostIP"]
        env[f"NOMAD_ADDR_{label}"] = f"{mapping['HostIP']}:{mapping['Value']}"
    return env


def _interpolate(text: str, env: dict[str, str]) -> str:
    """Replace known `${...}` references; unknown ones stay as written, as on a Nomad client."""
    return ENV_REFERENCE.sub(lambda match: env.get(match.group(1), match.group(0)), text)


def _address(
    service: dict[str, Any],
    label: str,
    ports: list[dict[str, Any]],
    networks: list[dict[str, Any]],
    env: dict[str, str],
) -> tuple[str, int]:
    """The advertised address and port for a service's `address_mode`.

    The double has no driver or allocation network, so `driver` and `alloc` modes advertise the
    mapped port's `to` (as Nomad does) at the node's address.
    """
    mapping = next((m for m in ports if m["Label"] == label), None)
    mode = service.get("AddressMode") or "auto"
    custom = _interpolate(service.get("Address") or "", env)
    if mode == "auto" and custom:
        if not label:
            return custom, 0
        if mapping is not None:
            return custom, mapping["Value"]
        return custom, _numeric(label)
    if mode in {"driver", "alloc", "alloc_ipv6"}:
        if mapping is not None:
            inner = mapping["To"] or (mapping["Value"] if mode != "driver" else 0)
            return NODE_IP, inner
        return NODE_IP, _numeric(label)
    if not label:
        return (networks[0].get("IP") or "", 0) if len(networks) == 1 else ("", 0)
    if mapping is not None:
        return mapping["HostIP"], mapping["Value"]
    return "", _numeric(label)


def _numeric(label: str) -> int:
    if label.isdigit() and int(label) > 0:
        return int(label)
    raise UnresolvedPort(label)


def list_stubs(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`GET /v1/services`: per namespace, each service name once with the union of its tags."""
    grouped: dict[str, dict[str, list[str]]] = {}
    for record in records:
        tags = grouped.setdefault(record["Namespace"], {}).setdefault(record["ServiceName"], [])
        tags.extend(tag for tag in record["Tags"] if tag not in tags)
    return [
        {
            "Namespace": namespace,
            "Services": [
                {"ServiceName": name, "Tags": tags} for name, tags in sorted(services.items())
            ],
        }
        for namespace, services in sorted(grouped.items())
    ]


def choose(records: list[dict[str, Any]], parameter: str) -> list[dict[str, Any]]:
    """`?choose=<n>|<key>`: n registrations picked by rendezvous hashing, as Nomad does."""
    count_text, separator, key = parameter.partition("|")
    if not separator or not key or not re.fullmatch(r"[+-]?[0-9]+", count_text):
        raise ApiError(400, f"failed to choose services: {MALFORMED_CHOOSE}")
    count = min(max(int(count_text), 0), len(records))
    ranked = sorted(records, key=lambda record: _rendezvous_hash(record, key))
    return ranked[:count]


def _rendezvous_hash(record: dict[str, Any], key: str) -> str:
    digest = hashlib.sha256()
    digest.update(int(record["Port"]).to_bytes(8, "big"))
    for part in (
        record["AllocID"],
        record["ID"],
        record["Namespace"],
        record["Address"],
        record["ServiceName"],
        *record["Tags"],
        key,
    ):
        digest.update(part.encode())
    return digest.hexdigest()
