"""The double's state store and the operations behind each endpoint.

Everything lives in memory behind one lock held by the HTTP layer. Raft indexes are a single
counter, bumped by each write, with the last index of each table kept for `X-Nomad-Index`.
"""

from __future__ import annotations

import base64
import copy
import datetime
import json
import random
import re
import secrets
import time
import uuid
import zoneinfo
from dataclasses import dataclass, field
from typing import Any

from . import bexpr, diff, jobs, network, scheduler, services
from .acl import Acl, Claim, PolicyError, parse_rules
from .cron import parse_cron
from .errors import ApiError, JobValidationError, MultiError, render_warnings

NAMESPACE_NAME = re.compile(r"^[a-zA-Z0-9-]{1,128}$")
VARIABLE_PATH = re.compile(r"^[a-zA-Z0-9-_~/]{1,128}$")
ZERO_TIME = "0001-01-01T00:00:00Z"
JOB_STUB_FIELDS = [
    "ID",
    "ParentID",
    "Name",
    "Namespace",
    "Datacenters",
    "NodePool",
    "Multiregion",
    "Type",
    "Priority",
    "Periodic",
    "ParameterizedJob",
    "Stop",
    "Status",
    "StatusDescription",
    "JobSummary",
    "CreateIndex",
    "ModifyIndex",
    "JobModifyIndex",
    "SubmitTime",
    "Meta",
]


@dataclass
class Store:
    """All state of one double, and the operations the endpoints run on it."""

    region: str = "global"
    datacenter: str = "dc1"
    vault_enabled: bool = False
    acl_enabled: bool = False
    pace: scheduler.Pace = field(default_factory=scheduler.Pace)
    failures: scheduler.Failures = field(default_factory=scheduler.Failures)
    index: int = 1
    tables: dict[str, int] = field(default_factory=dict)
    jobs: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    versions: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    evals: dict[str, dict[str, Any]] = field(default_factory=dict)
    allocs: dict[str, dict[str, Any]] = field(default_factory=dict)
    deployments: dict[str, dict[str, Any]] = field(default_factory=dict)
    namespaces: dict[str, dict[str, Any]] = field(default_factory=dict)
    variables: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    policies: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    identities: dict[str, tuple[str, str]] = field(default_factory=dict)
    services: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    blocked: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    rng: random.Random = field(default_factory=random.Random)
    bootstrapped: bool = False

    def __post_init__(self) -> None:
        self.namespaces["default"] = self._namespace_record(
            {"Name": "default", "Description": "Default shared namespace"}, self.bump("namespaces")
        )

    # Indexes -------------------------------------------------------------------------------

    def bump(self, *tables: str) -> int:
        self.index += 1
        for table in tables:
            self.tables[table] = self.index
        return self.index

    def table_index(self, *tables: str) -> int:
        return max([self.tables.get(table, 1) for table in tables] + [1])

    # ACL -----------------------------------------------------------------------------------

    def resolve(self, secret: str) -> Acl:
        """The ACL of the request's token; everything is allowed when ACLs are off."""
        if not self.acl_enabled:
            return Acl(management=True, policies=[])
        if not secret:
            return self._acl_for(self.anonymous_token())
        if secret in self.identities:
            return self._workload_acl(*self.identities[secret])
        for token in self.tokens.values():
            if token["SecretID"] == secret:
                expiry = token.get("_expires_ns")
                if expiry is not None and expiry < time.time_ns():
                    raise ApiError(403, "ACL token expired")
                return self._acl_for(token)
        raise ApiError(403, "ACL token not found")

    def anonymous_token(self) -> dict[str, Any]:
        return {"Type": "client", "Policies": ["anonymous"]}

    def _acl_for(self, token: dict[str, Any]) -> Acl:
        if token["Type"] == "management":
            return Acl(management=True, policies=[])
        policies = []
        for name in token.get("Policies") or []:
            record = self.policies.get(name)
            if record is not None:
                policies.append(parse_rules(record["Rules"]))
        return Acl(management=False, policies=policies)

    def workload_token(self, alloc_id: str, task: str) -> str:
        """A JWT-shaped workload identity for `task` of the allocation, as Nomad signs one."""
        alloc = self.allocs[alloc_id]
        group = next(g for g in alloc["Job"]["TaskGroups"] if g["Name"] == alloc["TaskGroup"])
        if task not in {t["Name"] for t in group["Tasks"] or []}:
            raise KeyError(f"allocation {alloc_id} has no task {task!r}")
        claim = _claim(alloc, task)
        now = int(time.time())
        claims = {
            "aud": ["nomadproject.io"],
            "iat": now,
            "nbf": now,
            "jti": str(uuid.uuid4()),
            "sub": ":".join(
                [self.region, claim.namespace, claim.job, claim.group, task, "default"]
            ),
            "nomad_namespace": claim.namespace,
            "nomad_job_id": claim.job,
            "nomad_allocation_id": alloc_id,
            "nomad_task": task,
        }
        header = {"alg": "RS256", "kid": str(uuid.uuid4()), "typ": "JWT"}
        parts = [json.dumps(header).encode(), json.dumps(claims).encode(), secrets.token_bytes(64)]
        secret = ".".join(_b64url(part) for part in parts)
        self.identities[secret] = (alloc_id, task)
        return secret

    def _workload_acl(self, alloc_id: str, task: str) -> Acl:
        """No policies, only the claim; an allocation that is gone or finished is refused."""
        alloc = self.allocs.get(alloc_id)
        if alloc is None or alloc["ClientStatus"] in scheduler.TERMINAL:
            raise ApiError(403, "Permission denied")
        return Acl(management=False, policies=[], claim=_claim(alloc, task))

    def token_for(self, secret: str) -> dict[str, Any] | None:
        return next((t for t in self.tokens.values() if t["SecretID"] == secret), None)

    def bootstrap(self) -> dict[str, Any]:
        if not self.acl_enabled:
            raise ApiError(400, "ACL support disabled")
        if self.bootstrapped:
            raise ApiError(
                400, f"ACL bootstrap already done (reset index: {self.tables['acl_bootstrap']})"
            )
        self.bootstrapped = True
        token = self.create_token(
            {"Name": "Bootstrap Token", "Type": "management", "Global": True}, bootstrap=True
        )
        self.tables["acl_bootstrap"] = self.index
        return token

    def create_token(self, body: dict[str, Any], bootstrap: bool = False) -> dict[str, Any]:
        kind = body.get("Type") or "client"
        problems = MultiError()
        if kind not in {"client", "management"}:
            problems.add("token type must be client or management")
        if kind == "client" and not body.get("Policies") and not body.get("Roles"):
            problems.add("client token missing policies or roles")
        if kind == "management" and (body.get("Policies") or body.get("Roles")):
            problems.add("management token cannot be associated with policies or roles")
        if len(body.get("Name") or "") > 256:
            problems.add("token name too long")
        if problems:
            raise ApiError(400, f"token 0 invalid: {problems.render()}")
        index = self.bump("acl_token")
        stamp = time.time_ns()
        ttl: int = body.get("ExpirationTTL") or 0
        accessor: str = body.get("AccessorID") or str(uuid.uuid4())
        token: dict[str, Any] = {
            "AccessorID": accessor,
            "SecretID": str(uuid.uuid4()),
            "Name": body.get("Name") or "",
            "Type": kind,
            "Policies": body.get("Policies") or None,
            "Roles": body.get("Roles") or None,
            "Global": bool(body.get("Global")),
            "Hash": base64.b64encode(secrets.token_bytes(32)).decode(),
            "CreateTime": scheduler.rfc3339(stamp),
            "ExpirationTime": None,
            "ExpirationTTL": ttl,
            "CreateIndex": index,
            "ModifyIndex": index,
        }
        if ttl:
            token["_expires_ns"] = stamp + ttl
            token["ExpirationTime"] = scheduler.rfc3339(stamp + ttl)
        self.tokens[accessor] = token
        return public(token)

    def upsert_policy(self, name: str, body: dict[str, Any]) -> None:
        if not self.acl_enabled:
            raise ApiError(400, "ACL support disabled")
        problems = MultiError()
        if not re.fullmatch(r"[a-zA-Z0-9-]{1,128}", name):
            problems.add(f"invalid name '{name}'")
        try:
            parse_rules(body.get("Rules") or "")
        except PolicyError as exc:
            problems.add(f"failed to parse rules: {exc}")
        if len(body.get("Description") or "") > 256:
            problems.add("description longer than 256")
        if problems:
            raise ApiError(400, f"policy 0 invalid: {problems.render()}")
        index = self.bump("acl_policy")
        existing = self.policies.get(name)
        self.policies[name] = {
            "Name": name,
            "Description": body.get("Description") or "",
            "Rules": body.get("Rules") or "",
            "JobACL": None,
            "Hash": base64.b64encode(secrets.token_bytes(32)).decode(),
            "CreateIndex": existing["CreateIndex"] if existing else index,
            "ModifyIndex": index,
        }

    # Namespaces ----------------------------------------------------------------------------

    def _namespace_record(self, body: dict[str, Any], index: int) -> dict[str, Any]:
        existing = self.namespaces.get(body["Name"])
        return {
            "Name": body["Name"],
            "Description": body.get("Description") or "",
            "Quota": body.get("Quota") or "",
            "Capabilities": body.get("Capabilities"),
            "NodePoolConfiguration": body.get("NodePoolConfiguration"),
            "VaultConfiguration": body.get("VaultConfiguration"),
            "ConsulConfiguration": body.get("ConsulConfiguration"),
            "Meta": body.get("Meta") or None,
            "Hash": base64.b64encode(secrets.token_bytes(32)).decode(),
            "CreateIndex": existing["CreateIndex"] if existing else index,
            "ModifyIndex": index,
        }

    def upsert_namespace(self, body: dict[str, Any]) -> int:
        name = body.get("Name") or ""
        problems = MultiError()
        if not NAMESPACE_NAME.match(name):
            problems.add(f'invalid name "{name}". Must match regex ^[a-zA-Z0-9-]{{1,128}}$')
        if len(body.get("Description") or "") > 256:
            problems.add("description longer than 256")
        if problems:
            raise ApiError(500, f'Invalid namespace "{name}": {problems.render()}')
        index = self.bump("namespaces")
        self.namespaces[name] = self._namespace_record(body, index)
        return index

    def delete_namespace(self, name: str) -> int:
        if name == "default":
            raise ApiError(500, "can not delete default namespace")
        if name not in self.namespaces:
            return self.bump("namespaces")
        live = [
            job for (ns, _id), job in self.jobs.items() if ns == name and job["Status"] != "dead"
        ]
        if live:
            raise ApiError(
                500, f'namespace "{name}" has non-terminal jobs in regions: [{self.region}]'
            )
        running = [
            alloc
            for alloc in self.allocs.values()
            if alloc["Namespace"] == name and alloc["ClientStatus"] not in scheduler.TERMINAL
        ]
        if running:
            raise ApiError(
                500, f'namespace "{name}" has non-terminal allocations in regions: [{self.region}]'
            )
        if any(ns == name for ns, _path in self.variables):
            raise ApiError(500, f'namespace "{name}" has variables associated with it')
        del self.namespaces[name]
        return self.bump("namespaces")

    # Jobs: admission -----------------------------------------------------------------------

    def admit(self, api_job: dict[str, Any], namespace: str) -> tuple[dict[str, Any], list[str]]:
        """Canonicalize and validate a job as the admission chain does; 500 with the errors."""
        job = jobs.canonicalize(api_job, namespace, self.region)
        errors = MultiError()
        if not self.vault_enabled:
            for group in job["TaskGroups"] or []:
                for task in group["Tasks"] or []:
                    if task["Vault"] is not None:
                        errors.add(
                            f'Vault "{task["Vault"]["Cluster"]}" not enabled but used in the job'
                        )
                        break
                if errors:
                    break
        record = self.namespaces.get(namespace)
        if record is None:
            errors.add(f'job "{job["ID"]}" is in nonexistent namespace "{namespace}"')
        else:
            self._namespace_capabilities(job, record, errors)
        problems, warnings = jobs.validate(job, vault_enabled=True)
        errors.extend(problems)
        if errors:
            raise JobValidationError(errors)
        return job, warnings

    def _namespace_capabilities(
        self, job: dict[str, Any], record: dict[str, Any], errors: MultiError
    ) -> None:
        capabilities = record.get("Capabilities") or {}
        enabled = capabilities.get("EnabledTaskDrivers") or []
        disabled = capabilities.get("DisabledTaskDrivers") or []
        refused = [
            task["Driver"]
            for group in job["TaskGroups"] or []
            for task in group["Tasks"] or []
            if (enabled and task["Driver"] not in enabled) or task["Driver"] in disabled
        ]
        if len(refused) == 1:
            errors.add(
                f'used task driver "{refused[0]}" is not allowed in namespace "{record["Name"]}"'
            )
        elif refused:
            quoted = " ".join(f'"{driver}"' for driver in refused)
            errors.add(
                f'used task drivers [{quoted}] are not allowed in namespace "{record["Name"]}"'
            )

    # Jobs: writes --------------------------------------------------------------------------

    def register(
        self,
        api_job: dict[str, Any],
        namespace: str,
        enforce_index: bool = False,
        job_modify_index: int = 0,
        eval_priority: int = 0,
        token_accessor: str = "",
        triggered_by: str = "job-register",
        parent_id: str = "",
        payload: bytes | None = None,
    ) -> dict[str, Any]:
        """POST /v1/jobs: the register semantics of Nomad's Job.Register.

        `payload` registers a dispatched child: `Dispatched` is set before the evaluation is
        decided, so the child of a parameterized job is evaluated as Nomad evaluates it.
        """
        job, warnings = self.admit(api_job, namespace)
        job["NomadTokenID"] = token_accessor
        job["ParentID"] = parent_id
        if payload is not None:
            job["Dispatched"] = True
            job["Payload"] = base64.b64encode(payload).decode() if payload else None
        key = (namespace, job["ID"])
        existing = self.jobs.get(key)
        if enforce_index:
            self._enforce(existing, job_modify_index)
        transition = jobs.transition_error(existing, job)
        if transition:
            raise ApiError(500, transition)

        version = api_job.get("Version") or 0
        if existing is not None:
            version = max(version, existing["Version"] + 1)
        job["Version"] = version
        job["SubmitTime"] = time.time_ns()
        reply: dict[str, Any] = {
            "EvalID": "",
            "EvalCreateIndex": 0,
            "JobModifyIndex": 0,
            "Warnings": render_warnings(warnings),
        }
        creates_eval = not (jobs.is_periodic(job) or jobs.is_parameterized(job))

        if existing is not None and jobs.spec_equal(existing, job):
            reply["JobModifyIndex"] = existing["ModifyIndex"]
            if creates_eval:
                index = self.bump("evals")
                evaluation = scheduler.new_eval(
                    existing, triggered_by, index, eval_priority or None
                )
                self.evals[evaluation["ID"]] = evaluation
                reply["EvalID"] = evaluation["ID"]
                reply["EvalCreateIndex"] = index
                reply["Index"] = index
            else:
                reply["Index"] = existing["ModifyIndex"]
            return reply

        index = self.bump("jobs", "job_summary", "job_version")
        job["CreateIndex"] = existing["CreateIndex"] if existing else index
        job["ModifyIndex"] = index
        job["JobModifyIndex"] = index
        self.jobs[key] = job
        history = self.versions.setdefault(key, [])
        history.append(copy.deepcopy(job))
        del history[:-6]
        reply["JobModifyIndex"] = index
        reply["Index"] = index
        if creates_eval:
            evaluation = scheduler.new_eval(job, triggered_by, index, eval_priority or None)
            self.evals[evaluation["ID"]] = evaluation
            reply["EvalID"] = evaluation["ID"]
            reply["EvalCreateIndex"] = index
            self._schedule(job, existing, evaluation)
        self._refresh_job(job)
        return reply

    def _enforce(self, existing: dict[str, Any] | None, index: int) -> None:
        if existing is None:
            if index != 0:
                raise ApiError(500, f"Enforcing job modify index {index}: job does not exist")
            return
        if index == 0:
            raise ApiError(500, "Enforcing job modify index 0: job already exists")
        if existing["JobModifyIndex"] != index:
            raise ApiError(
                500,
                f"Enforcing job modify index {index}: job exists with conflicting job modify "
                f"index: {existing['JobModifyIndex']}",
            )

    def _schedule(
        self, job: dict[str, Any], previous: dict[str, Any] | None, evaluation: dict[str, Any]
    ) -> None:
        """Place allocations for a new job version and retire the previous ones.

        A group the node cannot take (a static port another allocation holds) stays queued
        behind a blocked evaluation, which places it once an allocation ends and frees room.
        """
        key = (job["Namespace"], job["ID"])
        index = self.bump("allocs", "deployment")
        for deployment in self.deployments.values():
            if (deployment["Namespace"], deployment["JobID"]) == key and deployment[
                "Status"
            ] == "running":
                deployment["Status"] = "cancelled"
                deployment["StatusDescription"] = "Cancelled due to newer version of job"
                deployment["ModifyIndex"] = index
        description = (
            "alloc not needed as job is stopped"
            if job["Stop"]
            else "alloc is being updated due to job update"
        )
        for alloc in self.job_allocs_raw(job["Namespace"], job["ID"], all_versions=True):
            if alloc["DesiredStatus"] == "run":
                alloc["DesiredStatus"] = "stop"
                alloc["DesiredDescription"] = description
                alloc["_ticks"] = 0
                alloc["ModifyIndex"] = index
        if job["Stop"]:
            self._cancel_blocked(key, f'evaluation "{evaluation["ID"]}" successful')
            return
        deployment_id = ""
        if scheduler.needs_deployment(job):
            deployment = scheduler.new_deployment(job, evaluation["Priority"], index)
            self.deployments[deployment["ID"]] = deployment
            deployment_id = deployment["ID"]
            evaluation["DeploymentID"] = deployment_id
        used = network.used_ports(self.allocs.values())
        queued: dict[str, list[int]] = {}
        failed: dict[str, dict[str, Any]] = {}
        for group in job["TaskGroups"] or []:
            for slot in range(group["Count"]):
                try:
                    self._place(job, group, slot, evaluation["ID"], deployment_id, index, used)
                except network.PlacementError as exc:
                    slots = queued.setdefault(group["Name"], [])
                    slots.append(slot)
                    failed[group["Name"]] = scheduler.failure_metric(job, str(exc), len(slots))
        if queued:
            self._cancel_blocked(key, f'existing blocked evaluation exists for job "{job["ID"]}"')
            self._block(job, evaluation, queued, failed, deployment_id)
        else:
            self._cancel_blocked(key, f'evaluation "{evaluation["ID"]}" successful')
        if deployment_id:
            scheduler.refresh_deployment(
                self.deployments[deployment_id], list(self.allocs.values())
            )

    def _place(
        self,
        job: dict[str, Any],
        group: dict[str, Any],
        slot: int,
        eval_id: str,
        deployment_id: str,
        index: int | None,
        used: set[int],
    ) -> dict[str, Any]:
        """Create one allocation with its ports on the node; `used` gains its ports.

        Without an `index`, a fit takes a new one; a `PlacementError` writes nothing.
        """
        ports, shared_network = network.offer(group, used, self.rng)
        if index is None:
            index = self.bump("allocs")
        resources = network.allocated_resources(group, ports, shared_network)
        alloc = scheduler.new_alloc(
            job, group, slot, eval_id, deployment_id, index, self.failures, resources
        )
        self.allocs[alloc["ID"]] = alloc
        used.update(mapping["Value"] for mapping in ports)
        return alloc

    def _block(
        self,
        job: dict[str, Any],
        evaluation: dict[str, Any],
        queued: dict[str, list[int]],
        failed: dict[str, dict[str, Any]],
        deployment_id: str,
    ) -> None:
        """Record unplaced allocations on the evaluation and queue them behind a blocked one."""
        blocked = scheduler.new_eval(job, "queued-allocs", self.bump("evals"))
        blocked.update(
            {
                "Status": "blocked",
                "PreviousEval": evaluation["ID"],
                "FailedTGAllocs": copy.deepcopy(failed),
                "QueuedAllocations": None,
                "Priority": evaluation["Priority"],
            }
        )
        self.evals[blocked["ID"]] = blocked
        evaluation["FailedTGAllocs"] = failed
        evaluation["BlockedEval"] = blocked["ID"]
        evaluation["QueuedAllocations"] = {
            group["Name"]: len(queued.get(group["Name"], [])) for group in job["TaskGroups"] or []
        }
        self.blocked[(job["Namespace"], job["ID"])] = {
            "eval": blocked["ID"],
            "queued": queued,
            "deployment": deployment_id,
        }

    def _cancel_blocked(self, key: tuple[str, str], description: str) -> None:
        """Cancel the job's blocked evaluation, which a newer evaluation supersedes."""
        record = self.blocked.pop(key, None)
        if record is None:
            return
        blocked = self.evals[record["eval"]]
        blocked["Status"] = "cancelled"
        blocked["StatusDescription"] = description
        blocked["ModifyIndex"] = self.bump("evals")

    def _unblock(self) -> bool:
        """Place queued allocations that now fit; True when any was placed."""
        placed = False
        for key, record in list(self.blocked.items()):
            job = self.jobs[key]
            blocked = self.evals[record["eval"]]
            groups = {group["Name"]: group for group in job["TaskGroups"] or []}
            used = network.used_ports(self.allocs.values())
            failed: dict[str, dict[str, Any]] = {}
            for name, slots in record["queued"].items():
                remaining = []
                for slot in slots:
                    try:
                        self._place(
                            job, groups[name], slot, blocked["ID"], record["deployment"], None, used
                        )
                        placed = True
                    except network.PlacementError as exc:
                        remaining.append(slot)
                        failed[name] = scheduler.failure_metric(job, str(exc), len(remaining))
                record["queued"][name] = remaining
            if failed == blocked["FailedTGAllocs"]:
                continue
            if not failed:
                del self.blocked[key]
                blocked["Status"] = "complete"
            blocked["FailedTGAllocs"] = failed or None
            blocked["ModifyIndex"] = self.bump("evals")
        return placed

    def queued_count(self, namespace: str, job_id: str, group: str) -> int:
        record = self.blocked.get((namespace, job_id))
        return len(record["queued"].get(group, [])) if record else 0

    def placement_failures(self, job: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """The groups of `job` the node could not take now, as a plan reports them.

        The job's own allocations are left out: an update replaces them.
        """
        key = (job["Namespace"], job["ID"])
        used = network.used_ports(
            alloc for alloc in self.allocs.values() if (alloc["Namespace"], alloc["JobID"]) != key
        )
        rng = random.Random(key[1])
        failed: dict[str, dict[str, Any]] = {}
        for group in job["TaskGroups"] or []:
            count = 0
            for _slot in range(group["Count"]):
                try:
                    ports, _shared = network.offer(group, used, rng)
                except network.PlacementError as exc:
                    count += 1
                    failed[group["Name"]] = scheduler.failure_metric(job, str(exc), count)
                    continue
                used.update(mapping["Value"] for mapping in ports)
        return failed

    def deregister(
        self, namespace: str, job_id: str, purge: bool, eval_priority: int = 0
    ) -> dict[str, Any]:
        """DELETE /v1/job/:id: stop (a new version with Stop) or purge."""
        key = (namespace, job_id)
        existing = self.jobs.get(key)
        reply: dict[str, Any] = {
            "EvalID": "",
            "EvalCreateIndex": 0,
            "JobModifyIndex": 0,
            "VolumeEvalID": "",
            "VolumeEvalIndex": 0,
        }
        if existing is None:
            reply["Index"] = self.index
            return reply
        index = self.bump("jobs", "job_summary", "job_version")
        if purge:
            del self.jobs[key]
            self.versions.pop(key, None)
            stopped = existing
        else:
            stopped = copy.deepcopy(existing)
            stopped["Stop"] = True
            stopped["Version"] = existing["Version"] + 1
            stopped["ModifyIndex"] = index
            stopped["JobModifyIndex"] = index
            stopped["SubmitTime"] = time.time_ns()
            self.jobs[key] = stopped
            self.versions.setdefault(key, []).append(copy.deepcopy(stopped))
        reply["JobModifyIndex"] = index
        reply["Index"] = index
        if not (jobs.is_periodic(existing) or jobs.is_parameterized(existing)):
            evaluation = scheduler.new_eval(stopped, "job-deregister", index, eval_priority or None)
            self.evals[evaluation["ID"]] = evaluation
            reply["EvalID"] = evaluation["ID"]
            reply["EvalCreateIndex"] = index
            retired = copy.deepcopy(stopped)
            retired["Stop"] = True
            self._schedule(retired, existing, evaluation)
        if not purge:
            self._refresh_job(stopped)
        return reply

    # Jobs: plan ----------------------------------------------------------------------------

    def plan(self, api_job: dict[str, Any], namespace: str, want_diff: bool) -> dict[str, Any]:
        """POST /v1/job/:id/plan: a dry run that never persists."""
        job, warnings = self.admit(api_job, namespace)
        existing = self.jobs.get((namespace, job["ID"]))
        transition = jobs.transition_error(existing, job)
        if transition:
            raise ApiError(500, transition)
        job_diff = diff.job_diff(existing, job)
        desired = {}
        for group in job["TaskGroups"] or []:
            desired[group["Name"]] = {
                "Ignore": 0,
                "Place": 0,
                "Migrate": 0,
                "Stop": 0,
                "InPlaceUpdate": 0,
                "DestructiveUpdate": 0,
                "Canary": 0,
                "Preemptions": 0,
                "Disconnect": 0,
                "Reconnect": 0,
                "RescheduleNow": 0,
                "RescheduleLater": 0,
            }
        for group_diff in job_diff["TaskGroups"] or []:
            updates = group_diff["Updates"] or {}
            counts = desired.get(group_diff["Name"])
            if counts is None:
                continue
            counts["Ignore"] = updates.get("ignore", 0)
            counts["Place"] = updates.get("create", 0)
            counts["Stop"] = updates.get("destroy", 0)
            counts["DestructiveUpdate"] = updates.get("create/destroy update", 0)
        if jobs.is_periodic(job) and job["Periodic"]["Enabled"]:
            for group in job["TaskGroups"] or []:
                desired[group["Name"]]["Place"] = group["Count"]
        next_launch = ZERO_TIME
        if jobs.is_tracked_periodic(job):
            launch = self.next_launch(job)
            if launch is not None:
                next_launch = launch.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        failed = None
        if not (job["Stop"] or jobs.is_periodic(job) or jobs.is_parameterized(job)):
            failed = self.placement_failures(job) or None
        return {
            "Annotations": {"DesiredTGUpdates": desired, "PreemptedAllocs": None},
            "FailedTGAllocs": failed,
            "JobModifyIndex": existing["JobModifyIndex"] if existing else 0,
            "CreatedEvals": None,
            "Diff": job_diff if want_diff else None,
            "NextPeriodicLaunch": next_launch,
            "Warnings": render_warnings(warnings),
            "Index": self.index,
        }

    def next_launch(self, job: dict[str, Any]) -> datetime.datetime | None:
        periodic = job["Periodic"]
        zone = zoneinfo.ZoneInfo(periodic["TimeZone"] or "UTC")
        moment = datetime.datetime.now(zone)
        specs = [periodic["Spec"]] if periodic["Spec"] else list(periodic["Specs"] or [])
        launches = [parse_cron(spec).next_after(moment) for spec in specs]
        found = [launch for launch in launches if launch is not None]
        return min(found) if found else None

    def validate_job(self, api_job: dict[str, Any], namespace: str) -> dict[str, Any]:
        """POST /v1/validate/job: the admission chain, reported instead of refused."""
        try:
            _job, warnings = self.admit(api_job, namespace)
        except JobValidationError as exc:
            return {
                "DriverConfigValidated": True,
                "ValidationErrors": exc.errors.lines(),
                "Error": exc.message,
                "Warnings": "",
            }
        return {
            "DriverConfigValidated": True,
            "ValidationErrors": None,
            "Error": "",
            "Warnings": render_warnings(warnings),
        }

    # Jobs: periodic, dispatch, evaluate ----------------------------------------------------

    def periodic_force(self, namespace: str, job_id: str) -> dict[str, Any]:
        parent = self.jobs.get((namespace, job_id))
        if parent is None:
            raise ApiError(500, "job not found")
        if not jobs.is_periodic(parent):
            raise ApiError(500, "can't force launch non-periodic job")
        if not jobs.is_tracked_periodic(parent):
            raise ApiError(
                500,
                f'force launch for job "{job_id}" failed: can\'t force run non-tracked job '
                f'"{job_id}" ({namespace})',
            )
        child_id = f"{job_id}/periodic-{int(time.time())}"
        child = _child_spec(parent, child_id)
        child["Periodic"] = None
        reply = self.register(child, namespace, triggered_by="periodic-job", parent_id=job_id)
        return {
            "EvalID": reply["EvalID"],
            "EvalCreateIndex": reply["EvalCreateIndex"],
            "Index": reply["Index"],
        }

    def dispatch(
        self, namespace: str, job_id: str, body: dict[str, Any], id_prefix: str
    ) -> dict[str, Any]:
        parent = self.jobs.get((namespace, job_id))
        if parent is None:
            raise ApiError(500, "parameterized job not found")
        if parent["ParameterizedJob"] is None or parent["Dispatched"]:
            raise ApiError(500, f'Specified job "{job_id}" is not a parameterized job')
        if parent["Stop"]:
            raise ApiError(500, f'Specified job "{job_id}" is stopped')
        config = parent["ParameterizedJob"]
        payload = body.get("Payload") or b""
        if config["Payload"] == "required" and not payload:
            raise ApiError(500, "Payload is not provided but required by parameterized job")
        if config["Payload"] == "forbidden" and payload:
            raise ApiError(500, "Payload provided but forbidden by parameterized job")
        if len(payload) > 16 * 1024:
            raise ApiError(500, f"Payload exceeds maximum size; {len(payload)} > 16384")
        meta = body.get("Meta") or {}
        allowed = set(config["MetaRequired"] or []) | set(config["MetaOptional"] or [])
        unpermitted = sorted(key for key in meta if key not in allowed)
        if unpermitted:
            raise ApiError(
                500, f"Dispatch request included unpermitted metadata keys: {_go_list(unpermitted)}"
            )
        missing = sorted(key for key in config["MetaRequired"] or [] if key not in meta)
        if missing:
            raise ApiError(500, f"Dispatch did not provide required meta keys: {_go_list(missing)}")
        template = body.get("IdPrefixTemplate") or ""
        suffix = f"{int(time.time())}-{secrets.token_hex(4)}"
        child_id = f"{job_id}/dispatch-{template + '-' if template else ''}{suffix}"
        child = _child_spec(parent, child_id)
        child["Meta"] = {**(parent["Meta"] or {}), **meta} or None
        if body.get("Priority"):
            child["Priority"] = body["Priority"]
        reply = self.register(child, namespace, parent_id=job_id, payload=payload)
        stored = self.jobs[(namespace, child_id)]
        return {
            "DispatchedJobID": child_id,
            "EvalID": reply["EvalID"],
            "EvalCreateIndex": reply["EvalCreateIndex"],
            "JobCreateIndex": stored["CreateIndex"],
            "Index": reply["Index"],
        }

    def evaluate(self, namespace: str, job_id: str) -> dict[str, Any]:
        job = self.jobs.get((namespace, job_id))
        if job is None:
            raise ApiError(500, "job not found")
        if jobs.is_periodic(job):
            raise ApiError(500, "can't evaluate periodic job")
        if jobs.is_parameterized(job):
            raise ApiError(500, "can't evaluate parameterized job")
        index = self.bump("evals")
        evaluation = scheduler.new_eval(job, "job-register", index)
        self.evals[evaluation["ID"]] = evaluation
        return {
            "EvalID": evaluation["ID"],
            "EvalCreateIndex": index,
            "JobModifyIndex": job["JobModifyIndex"],
            "Index": index,
        }

    # Jobs: reads ---------------------------------------------------------------------------

    def job(self, namespace: str, job_id: str) -> dict[str, Any]:
        found = self.jobs.get((namespace, job_id))
        if found is None:
            raise ApiError(404, "job not found")
        return found

    def job_allocs_raw(
        self, namespace: str, job_id: str, all_versions: bool
    ) -> list[dict[str, Any]]:
        current = self.jobs.get((namespace, job_id))
        found = [
            alloc
            for alloc in self.allocs.values()
            if alloc["Namespace"] == namespace and alloc["JobID"] == job_id
        ]
        if current is not None and not all_versions:
            found = [a for a in found if a["_job_create_index"] == current["CreateIndex"]]
        return sorted(found, key=lambda a: (a["CreateIndex"], a["Name"]))

    def job_deployments(self, namespace: str, job_id: str) -> list[dict[str, Any]]:
        found = [
            d
            for d in self.deployments.values()
            if d["Namespace"] == namespace and d["JobID"] == job_id
        ]
        return sorted(found, key=lambda d: d["CreateIndex"], reverse=True)

    def summary(self, namespace: str, job_id: str) -> dict[str, Any]:
        job = self.job(namespace, job_id)
        groups: dict[str, dict[str, int]] = {}
        for group in job["TaskGroups"] or []:
            groups[group["Name"]] = {
                "Queued": self.queued_count(namespace, job_id, group["Name"]),
                "Complete": 0,
                "Failed": 0,
                "Running": 0,
                "Starting": 0,
                "Lost": 0,
                "Unknown": 0,
            }
        for alloc in self.job_allocs_raw(namespace, job_id, all_versions=False):
            counts = groups.get(alloc["TaskGroup"])
            if counts is None:
                continue
            status = alloc["ClientStatus"]
            key = {
                "pending": "Starting",
                "running": "Running",
                "complete": "Complete",
                "failed": "Failed",
                "lost": "Lost",
            }.get(status, "Unknown")
            counts[key] += 1
        children = {"Pending": 0, "Running": 0, "Dead": 0}
        for (ns, _id), child in self.jobs.items():
            if ns == namespace and child["ParentID"] == job_id:
                children[
                    {"pending": "Pending", "running": "Running"}.get(child["Status"], "Dead")
                ] += 1
        return {
            "JobID": job_id,
            "Namespace": namespace,
            "Summary": groups,
            "Children": children,
            "CreateIndex": job["CreateIndex"],
            "ModifyIndex": job["ModifyIndex"],
        }

    def list_jobs(
        self, namespace: str, prefix: str, expression: str, with_meta: bool, allowed: Acl
    ) -> list[dict[str, Any]]:
        node = None
        if expression:
            try:
                node = bexpr.parse(expression)
            except bexpr.FilterSyntaxError as exc:
                raise ApiError(
                    400,
                    f"failed to create result paginator: failed to read filter expression: {exc}",
                ) from exc
        found = []
        for (ns, job_id), job in sorted(self.jobs.items()):
            if namespace not in ("*", ns):
                continue
            if namespace == "*" and not allowed.allows(ns, "list-jobs"):
                continue
            if prefix and not job_id.startswith(prefix):
                continue
            if node is not None:
                try:
                    if not bexpr.evaluate(node, job):
                        continue
                except bexpr.FilterEvalError as exc:
                    raise ApiError(400, f"failed to read result page: {exc}") from exc
            found.append(self.job_stub(job, with_meta))
        return found

    def job_stub(self, job: dict[str, Any], with_meta: bool) -> dict[str, Any]:
        stub: dict[str, Any] = {}
        for key in JOB_STUB_FIELDS:
            if key == "Periodic":
                stub[key] = job["Periodic"] is not None
            elif key == "ParameterizedJob":
                stub[key] = job["ParameterizedJob"] is not None
            elif key == "JobSummary":
                stub[key] = self.summary(job["Namespace"], job["ID"])
            elif key == "Meta":
                if with_meta:
                    stub[key] = job["Meta"]
            else:
                stub[key] = job[key]
        return stub

    # Variables -----------------------------------------------------------------------------

    def put_variable(
        self, namespace: str, path: str, items: dict[str, str], cas: int | None
    ) -> tuple[int, dict[str, Any]]:
        """PUT /v1/var/:path: (200, the variable written) or (409, the current variable).

        Validated as Nomad's VariableDecrypted.Validate: namespace, size, then path.
        """
        if namespace == "*":
            raise ApiError(400, 'can not target wildcard ("*")namespace')
        size = sum(len(k.encode()) + len(v.encode()) for k, v in items.items())
        if size > 64 * 1024:
            raise ApiError(400, "variables are limited to 64KiB in total size")
        problem = variable_path_problem(path)
        if problem:
            raise ApiError(400, problem)
        key = (namespace, path)
        existing = self.variables.get(key)
        conflict = self._cas_conflict(existing, namespace, path, cas)
        if conflict is not None:
            return 409, conflict
        index = self.bump("variables")
        stamp = time.time_ns()
        record = {
            "Namespace": namespace,
            "Path": path,
            "CreateIndex": existing["CreateIndex"] if existing else index,
            "CreateTime": existing["CreateTime"] if existing else stamp,
            "ModifyIndex": index,
            "ModifyTime": stamp,
            "Items": dict(items),
        }
        self.variables[key] = record
        return 200, copy.deepcopy(record)

    def delete_variable(
        self, namespace: str, path: str, cas: int | None
    ) -> tuple[int, dict[str, Any] | None]:
        key = (namespace, path)
        existing = self.variables.get(key)
        conflict = self._cas_conflict(existing, namespace, path, cas)
        if conflict is not None:
            return 409, conflict
        self.variables.pop(key, None)
        self.bump("variables")
        return 204, None

    def _cas_conflict(
        self, existing: dict[str, Any] | None, namespace: str, path: str, cas: int | None
    ) -> dict[str, Any] | None:
        """The variable a `cas` mismatch answers with; a zero value when there is none."""
        if cas is None:
            return None
        current = existing["ModifyIndex"] if existing else 0
        if cas == current:
            return None
        if existing is None:
            return {
                "Namespace": namespace,
                "Path": path,
                "CreateIndex": 0,
                "CreateTime": 0,
                "ModifyIndex": 0,
                "ModifyTime": 0,
            }
        return copy.deepcopy(existing)

    # Scheduler -----------------------------------------------------------------------------

    def tick(self, times: int = 1) -> None:
        """Advance every allocation and deployment `times` steps."""
        for _ in range(times):
            changed = False
            ended = False
            for alloc in list(self.allocs.values()):
                deployment = (
                    self.deployments.get(alloc["DeploymentID"]) if alloc["DeploymentID"] else None
                )
                live = alloc["ClientStatus"] not in scheduler.TERMINAL
                if scheduler.advance_alloc(alloc, self.pace, deployment):
                    changed = True
                    ended = ended or (live and alloc["ClientStatus"] in scheduler.TERMINAL)
                    alloc["ModifyIndex"] = self.bump("allocs")
                    alloc["ModifyTime"] = scheduler.now_ns()
            if ended and self.blocked:
                changed = self._unblock() or changed
            changed = self._sync_services() or changed
            allocs = list(self.allocs.values())
            for deployment in self.deployments.values():
                if scheduler.refresh_deployment(deployment, allocs):
                    deployment["ModifyIndex"] = self.bump("deployment")
                    deployment["ModifyTime"] = scheduler.now_ns()
                    changed = True
            if changed:
                for job in list(self.jobs.values()):
                    self._refresh_job(job)

    # Service registrations -----------------------------------------------------------------

    def _sync_services(self) -> bool:
        """Register the nomad services of allocations now running; drop those of stopping ones.

        As on a Nomad client, registration follows the allocation's start and deregistration
        comes first when it is told to stop (before any shutdown delay), or when it ends.
        """
        changed = False
        for alloc in self.allocs.values():
            running = alloc["DesiredStatus"] == "run" and alloc["ClientStatus"] == "running"
            if running and alloc["_services"] == "unregistered":
                alloc["_services"] = "registered"
                changed = self._register_services(alloc) or changed
            elif not running and alloc["_services"] == "registered":
                alloc["_services"] = "deregistered"
                changed = self.deregister_alloc_services(alloc["ID"]) or changed
        return changed

    def _register_services(self, alloc: dict[str, Any]) -> bool:
        group = next(g for g in alloc["Job"]["TaskGroups"] if g["Name"] == alloc["TaskGroup"])
        records = services.registrations(
            alloc, group, scheduler.NODE_ID, self.datacenter, self.region
        )
        if not records:
            return False
        index = self.bump("service_registrations")
        for record in records:
            record["CreateIndex"] = record["ModifyIndex"] = index
            self.services[(record["Namespace"], record["ID"])] = record
        return True

    def deregister_alloc_services(self, alloc_id: str) -> bool:
        """Remove every registration of one allocation; True when any was there."""
        keys = [key for key, record in self.services.items() if record["AllocID"] == alloc_id]
        for key in keys:
            del self.services[key]
        if keys:
            self.bump("service_registrations")
        return bool(keys)

    def delete_service(self, namespace: str, service_id: str) -> int:
        """DELETE /v1/service/:name/:id: one registration, looked up by namespace and ID."""
        if self.services.pop((namespace, service_id), None) is None:
            raise ApiError(500, "service registration not found")
        return self.bump("service_registrations")

    def service_registrations(self, namespace: str, name: str) -> list[dict[str, Any]]:
        found = [
            record
            for (ns, _id), record in self.services.items()
            if ns == namespace and record["ServiceName"] == name
        ]
        return sorted(found, key=lambda record: record["ID"])

    def _refresh_job(self, job: dict[str, Any]) -> None:
        """Recompute a job's Status from its allocations; a change moves ModifyIndex only."""
        if jobs.is_periodic(job) or jobs.is_parameterized(job):
            status = "dead" if job["Stop"] else "running"
        else:
            allocs = self.job_allocs_raw(job["Namespace"], job["ID"], all_versions=False)
            live = [a for a in allocs if a["ClientStatus"] not in scheduler.TERMINAL]
            if live:
                status = (
                    "running" if any(a["ClientStatus"] == "running" for a in live) else "pending"
                )
            elif allocs or job["Stop"]:
                status = "dead"
            else:
                counts = sum(group["Count"] for group in job["TaskGroups"] or [])
                status = (
                    "dead"
                    if counts == 0 and job["Type"] == "batch"
                    else "running"
                    if counts == 0
                    else "pending"
                )
        if job["Status"] != status:
            job["Status"] = status
            job["ModifyIndex"] = self.bump("jobs", "job_summary")


def _child_spec(parent: dict[str, Any], child_id: str) -> dict[str, Any]:
    """The stored parent turned back into a submittable child job."""
    child = copy.deepcopy(parent)
    for key in (
        "Status",
        "StatusDescription",
        "Stable",
        "Version",
        "CreateIndex",
        "ModifyIndex",
        "JobModifyIndex",
        "SubmitTime",
    ):
        child.pop(key, None)
    child["ID"] = child_id
    child["Name"] = child_id
    child["Stop"] = False
    child["Payload"] = None
    update = parent["Update"] or {}
    child["Update"] = (
        {"Stagger": update["Stagger"], "MaxParallel": update["MaxParallel"]}
        if update.get("MaxParallel")
        else None
    )
    for group in child["TaskGroups"] or []:
        for service in group["Services"] or []:
            service.pop("Namespace", None)
        for task in group["Tasks"] or []:
            for service in task["Services"] or []:
                service.pop("Namespace", None)
    if child.get("UI"):
        child["UI"] = {
            "Description": child["UI"]["Description"],
            "Links": [{"Label": x["Label"], "URL": x["Url"]} for x in child["UI"]["Links"] or []]
            or None,
        }
    return child


def _claim(alloc: dict[str, Any], task: str) -> Claim:
    job = alloc["Job"]
    return Claim(
        namespace=alloc["Namespace"],
        job=job["ParentID"] or job["ID"],
        group=alloc["TaskGroup"],
        task=task,
    )


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def variable_path_problem(path: str) -> str:
    """Nomad's ValidatePath: the error text for a path it refuses, else ""."""
    if not VARIABLE_PATH.match(path):
        return f'invalid path "{path}"'
    parts = path.split("/")
    if parts[0] != "nomad":
        return ""
    if len(parts) == 1:
        return (
            '"nomad" is a reserved top-level directory path, but you may write variables to '
            '"nomad/jobs", "nomad/job-templates", "nomad/sentinel", or below'
        )
    if parts[1] in {"jobs", "sentinel"} or (parts[1] == "job-templates" and len(parts) == 3):
        return ""
    if parts[1] == "job-templates":
        return (
            '"nomad/job-templates" is a reserved directory path, but you may write variables at '
            'the level below it, for example, "nomad/job-templates/template-name"'
        )
    return (
        'only paths at "nomad/jobs" or "nomad/job-templates" and below are valid paths under '
        'the top-level "nomad" directory'
    )


def _go_list(items: list[str]) -> str:
    """A string slice as Go's `%v` prints it: `[a b]`."""
    return "[" + " ".join(items) + "]"


def public(record: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in record.items() if not key.startswith("_")}
