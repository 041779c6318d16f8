"""A simulated scheduler and client: evaluations, allocations and deployments that move.

Nothing runs. Each allocation advances one step per tick: pending, then running (or failed,
for a task whose image or command a test marked as failing), then healthy for a service job's
deployment or complete for a batch job. Stopped allocations complete on the next tick. Ticks
come from `advance()` and, in automatic mode, from every HTTP request the double serves, so a
test that polls sees progress without sleeping.
"""

from __future__ import annotations

import copy
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from .durations import format_go_duration
from .network import encode_resources

NODE_ID = "6f2b8f1c-5d6e-4b6a-9a53-1f0c0e5a7d11"
NODE_NAME = "nomad-double-dc1"
DATACENTER = "dc1"
SIGNING_KEY_ID = "0b1c6a52-8d3e-4f7a-9c21-5e4d3b2a1f09"
TERMINAL = {"complete", "failed", "lost"}


def now_ns() -> int:
    return time.time_ns()


def rfc3339(nanos: int) -> str:
    seconds, rest = divmod(nanos, 1_000_000_000)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    return f"{stamp}.{rest:09d}Z"


@dataclass
class Pace:
    """How many ticks an allocation spends in each phase."""

    ticks_to_running: int = 1
    ticks_to_healthy: int = 1
    ticks_to_stop: int = 1


@dataclass
class Failures:
    """Task images and commands a test marked as failing."""

    images: set[str] = field(default_factory=set)
    commands: set[str] = field(default_factory=set)

    def reason(self, task: dict[str, Any]) -> str:
        config = task.get("Config") or {}
        image = config.get("image")
        if isinstance(image, str) and image in self.images:
            return "image"
        command = config.get("command")
        if isinstance(command, str) and command in self.commands:
            return "command"
        return ""


def event(kind: str, message: str, **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "Type": kind,
        "Time": now_ns(),
        "Message": "",
        "DisplayMessage": message,
        "Details": {},
        "FailsTask": False,
        "ExitCode": 0,
        "Signal": 0,
        "DriverError": "",
        "KillTimeout": 0,
        "KillError": "",
        "RestartReason": "",
        "ValidationError": "",
        "DriverMessage": "",
    }
    base.update(extra)
    return base


def new_eval(
    job: dict[str, Any], triggered_by: str, index: int, priority: int | None = None
) -> dict[str, Any]:
    stamp = now_ns()
    return {
        "ID": str(uuid.uuid4()),
        "Namespace": job["Namespace"],
        "Priority": priority or job["Priority"],
        "Type": job["Type"],
        "TriggeredBy": triggered_by,
        "JobID": job["ID"],
        "JobModifyIndex": job["JobModifyIndex"],
        "NodeID": "",
        "NodeModifyIndex": 0,
        "DeploymentID": "",
        "Status": "complete",
        "StatusDescription": "",
        "Wait": 0,
        "WaitUntil": "0001-01-01T00:00:00Z",
        "NextEval": "",
        "PreviousEval": "",
        "BlockedEval": "",
        "RelatedEvals": None,
        "FailedTGAllocs": None,
        "ClassEligibility": None,
        "QueuedAllocations": {group["Name"]: 0 for group in job["TaskGroups"] or []},
        "SnapshotIndex": index,
        "CreateIndex": index,
        "ModifyIndex": index,
        "CreateTime": stamp,
        "ModifyTime": stamp,
    }


def placement_metric(job: dict[str, Any], started_ns: int) -> dict[str, Any]:
    """The `AllocMetric` of a placement on the double's one node."""
    return {
        **_metric(job),
        "ScoreMetaData": [
            {
                "NodeID": NODE_ID,
                "Scores": {"binpack": 0.5, "job-anti-affinity": 0, "node-affinity": 0},
                "NormScore": 0.5,
            }
        ],
        "AllocationTime": max(now_ns() - started_ns, 1),
    }


def failure_metric(job: dict[str, Any], dimension: str, failed: int) -> dict[str, Any]:
    """The `AllocMetric` of a group the node could not take, as in `FailedTGAllocs`."""
    return {
        **_metric(job),
        "NodesExhausted": 1,
        "DimensionExhausted": {dimension: 1},
        "CoalescedFailures": failed - 1,
    }


def _metric(job: dict[str, Any]) -> dict[str, Any]:
    return {
        "NodesEvaluated": 1,
        "NodesFiltered": 0,
        "NodesInPool": 1,
        "NodePool": job.get("NodePool") or "default",
        "NodesAvailable": {DATACENTER: 1},
        "ClassFiltered": None,
        "ConstraintFiltered": None,
        "NodesExhausted": 0,
        "ClassExhausted": None,
        "DimensionExhausted": None,
        "QuotaExhausted": None,
        "ResourcesExhausted": None,
        "Scores": None,
        "ScoreMetaData": None,
        "AllocationTime": 0,
        "CoalescedFailures": 0,
    }


def new_alloc(
    job: dict[str, Any],
    group: dict[str, Any],
    slot: int,
    eval_id: str,
    deployment_id: str,
    index: int,
    failures: Failures,
    resources: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A placed allocation, pending, holding `resources` (its `AllocatedResources`)."""
    stamp = now_ns()
    reasons = {task["Name"]: failures.reason(task) for task in group["Tasks"] or []}
    return {
        "ID": str(uuid.uuid4()),
        "EvalID": eval_id,
        "Name": f"{job['ID']}.{group['Name']}[{slot}]",
        "Namespace": job["Namespace"],
        "NodeID": NODE_ID,
        "NodeName": NODE_NAME,
        "JobID": job["ID"],
        "JobType": job["Type"],
        "JobVersion": job["Version"],
        "TaskGroup": group["Name"],
        "DesiredStatus": "run",
        "DesiredDescription": "",
        "ClientStatus": "pending",
        "ClientDescription": "No tasks have started",
        "DesiredTransition": {"Migrate": None, "Reschedule": None, "ForceReschedule": None},
        "TaskStates": {
            task["Name"]: {
                "State": "pending",
                "Failed": False,
                "Restarts": 0,
                "LastRestart": "0001-01-01T00:00:00Z",
                "StartedAt": "0001-01-01T00:00:00Z",
                "FinishedAt": "0001-01-01T00:00:00Z",
                "Events": [event("Received", "Task received by client")],
            }
            for task in group["Tasks"] or []
        },
        "DeploymentID": deployment_id,
        "DeploymentStatus": None,
        "FollowupEvalID": "",
        "NextAllocation": "",
        "PreviousAllocation": "",
        "RescheduleTracker": None,
        "Resources": None,
        "SharedResources": None,
        "TaskResources": None,
        "AllocatedResources": resources,
        "Metrics": placement_metric(job, stamp),
        "AllocStates": None,
        "NetworkStatus": None,
        "PreemptedAllocations": None,
        "PreemptedByAllocation": "",
        "SigningKeyID": SIGNING_KEY_ID,
        "CreateIndex": index,
        "ModifyIndex": index,
        "AllocModifyIndex": index,
        "CreateTime": stamp,
        "ModifyTime": stamp,
        "Job": copy.deepcopy(job),
        "_ticks": 0,
        "_failures": reasons,
        "_job_create_index": job["CreateIndex"],
        "_tasks": {task["Name"]: task for task in group["Tasks"] or []},
        "_restart": group["RestartPolicy"],
        "_services": "unregistered",
    }


def new_deployment(job: dict[str, Any], eval_priority: int, index: int) -> dict[str, Any]:
    stamp = now_ns()
    groups = {}
    for group in job["TaskGroups"] or []:
        update = group["Update"] or {}
        groups[group["Name"]] = {
            "AutoRevert": update.get("AutoRevert", False),
            "AutoPromote": update.get("AutoPromote", False),
            "ProgressDeadline": update.get("ProgressDeadline", 0),
            "RequireProgressBy": rfc3339(stamp + update.get("ProgressDeadline", 0)),
            "Promoted": False,
            "PlacedCanaries": None,
            "DesiredCanaries": update.get("Canary", 0),
            "DesiredTotal": group["Count"],
            "PlacedAllocs": 0,
            "HealthyAllocs": 0,
            "UnhealthyAllocs": 0,
        }
    return {
        "ID": str(uuid.uuid4()),
        "Namespace": job["Namespace"],
        "JobID": job["ID"],
        "JobVersion": job["Version"],
        "JobModifyIndex": job["JobModifyIndex"],
        "JobSpecModifyIndex": job["JobModifyIndex"],
        "JobCreateIndex": job["CreateIndex"],
        "IsMultiregion": False,
        "TaskGroups": groups,
        "Status": "running",
        "StatusDescription": "Deployment is running",
        "EvalPriority": eval_priority,
        "CreateIndex": index,
        "ModifyIndex": index,
        "CreateTime": stamp,
        "ModifyTime": stamp,
    }


def needs_deployment(job: dict[str, Any]) -> bool:
    return job["Type"] == "service" and any(
        group["Update"] is not None for group in job["TaskGroups"] or []
    )


def advance_alloc(alloc: dict[str, Any], pace: Pace, deployment: dict[str, Any] | None) -> bool:
    """Move one allocation one tick forward; True when anything changed."""
    status = alloc["ClientStatus"]
    if status in TERMINAL:
        return False
    alloc["_ticks"] += 1
    if alloc["DesiredStatus"] != "run":
        if alloc["_ticks"] < pace.ticks_to_stop:
            return False
        _stop(alloc)
        return True
    if status == "pending":
        if alloc["_ticks"] < pace.ticks_to_running:
            return False
        _start(alloc)
        alloc["_ticks"] = 0
        return True
    if alloc["_ticks"] < pace.ticks_to_healthy:
        return False
    if alloc["JobType"] in {"batch", "sysbatch"}:
        _finish(alloc)
        return True
    if deployment is not None and alloc["DeploymentStatus"] is None:
        alloc["DeploymentStatus"] = {
            "Healthy": True,
            "Timestamp": rfc3339(now_ns()),
            "Canary": False,
            "ModifyIndex": 0,
        }
        return True
    return False


def _start(alloc: dict[str, Any]) -> None:
    failed = False
    for name, state in alloc["TaskStates"].items():
        reason = alloc["_failures"].get(name, "")
        task = alloc["_tasks"][name]
        state["Events"].append(event("Task Setup", "Building Task Directory"))
        if reason == "image":
            image = (task.get("Config") or {}).get("image", "")
            message = (
                f"Failed to pull `{image}`: API error (404): manifest for {image} not found: "
                "manifest unknown: manifest unknown"
            )
            state["Events"].append(event("Driver Failure", message, DriverError=message))
            state["Events"].append(
                event("Not Restarting", "Error was unrecoverable", FailsTask=True)
            )
            _dead(state, failed=True)
            failed = True
            continue
        state["State"] = "running"
        state["StartedAt"] = rfc3339(now_ns())
        state["Events"].append(event("Started", "Task started by client"))
        if reason == "command":
            policy = alloc["_restart"]
            state["Events"].append(
                event("Terminated", "Exit Code: 1", ExitCode=1, Details={"exit_code": "1"})
            )
            attempts = policy["Attempts"]
            state["Restarts"] = attempts
            state["Events"].append(
                event(
                    "Not Restarting",
                    f"Exceeded allowed attempts {attempts} in interval "
                    f'{format_go_duration(policy["Interval"])} and mode is "{policy["Mode"]}"',
                    FailsTask=True,
                )
            )
            _dead(state, failed=True)
            failed = True
    if failed:
        alloc["ClientStatus"] = "failed"
        alloc["ClientDescription"] = "Failed tasks"
        alloc["DeploymentStatus"] = {
            "Healthy": False,
            "Timestamp": rfc3339(now_ns()),
            "Canary": False,
            "ModifyIndex": 0,
        }
        for state in alloc["TaskStates"].values():
            if state["State"] == "running":
                state["Events"].append(event("Sibling Task Failed", "Task's sibling failed"))
                _dead(state, failed=False)
    else:
        alloc["ClientStatus"] = "running"
        alloc["ClientDescription"] = "Tasks are running"


def _finish(alloc: dict[str, Any]) -> None:
    for state in alloc["TaskStates"].values():
        state["Events"].append(event("Terminated", "Exit Code: 0", Details={"exit_code": "0"}))
        _dead(state, failed=False)
    alloc["ClientStatus"] = "complete"
    alloc["ClientDescription"] = "All tasks have completed"


def _stop(alloc: dict[str, Any]) -> None:
    for name, state in alloc["TaskStates"].items():
        if state["State"] == "dead":
            continue
        task = alloc["_tasks"][name]
        if state["State"] == "running":
            delay = task.get("ShutdownDelay") or 0
            if delay:
                state["Events"].append(
                    event(
                        "Waiting for shutdown delay",
                        f"Waiting for shutdown_delay of {format_go_duration(delay)} before killing "
                        "the task.",
                    )
                )
            timeout = min(task.get("KillTimeout") or 0, 30_000_000_000)
            state["Events"].append(
                event(
                    "Killing",
                    f"Sent interrupt. Waiting {format_go_duration(timeout)} before force killing",
                    KillTimeout=timeout,
                )
            )
            state["Events"].append(event("Killed", "Task successfully killed"))
        _dead(state, failed=False)
    if alloc["ClientStatus"] != "failed":
        alloc["ClientStatus"] = "complete"
        alloc["ClientDescription"] = "All tasks have completed"


def _dead(state: dict[str, Any], failed: bool) -> None:
    state["State"] = "dead"
    state["Failed"] = failed
    state["FinishedAt"] = rfc3339(now_ns())


def refresh_deployment(deployment: dict[str, Any], allocs: list[dict[str, Any]]) -> bool:
    """Recount a deployment's allocations and settle its status; True when it changed."""
    if deployment["Status"] != "running":
        return False
    before = copy.deepcopy(deployment["TaskGroups"])
    for name, group in deployment["TaskGroups"].items():
        mine = [
            a for a in allocs if a["DeploymentID"] == deployment["ID"] and a["TaskGroup"] == name
        ]
        group["PlacedAllocs"] = len(mine)
        group["HealthyAllocs"] = sum(
            1 for a in mine if (a["DeploymentStatus"] or {}).get("Healthy") is True
        )
        group["UnhealthyAllocs"] = sum(
            1 for a in mine if (a["DeploymentStatus"] or {}).get("Healthy") is False
        )
    groups = deployment["TaskGroups"].values()
    status = deployment["Status"]
    if any(group["UnhealthyAllocs"] > 0 for group in groups):
        deployment["Status"] = "failed"
        deployment["StatusDescription"] = "Failed due to unhealthy allocations"
    elif all(group["HealthyAllocs"] >= group["DesiredTotal"] for group in groups):
        deployment["Status"] = "successful"
        deployment["StatusDescription"] = "Deployment completed successfully"
    return bool(status != deployment["Status"] or before != deployment["TaskGroups"])


def public(alloc: dict[str, Any]) -> dict[str, Any]:
    """An allocation without the double's bookkeeping keys."""
    return {key: value for key, value in alloc.items() if not key.startswith("_")}


STUB_FIELDS = [
    "ID",
    "EvalID",
    "Name",
    "Namespace",
    "NodeID",
    "NodeName",
    "JobID",
    "JobType",
    "JobVersion",
    "TaskGroup",
    "DesiredStatus",
    "DesiredDescription",
    "ClientStatus",
    "ClientDescription",
    "DesiredTransition",
    "TaskStates",
    "DeploymentStatus",
    "FollowupEvalID",
    "NextAllocation",
    "RescheduleTracker",
    "PreemptedAllocations",
    "PreemptedByAllocation",
    "CreateIndex",
    "ModifyIndex",
    "CreateTime",
    "ModifyTime",
]


def stub(
    alloc: dict[str, Any], resources: bool = False, task_states: bool = True
) -> dict[str, Any]:
    """The allocation list stub; `resources` adds `AllocatedResources`, as `?resources=true`."""
    out = {key: copy.deepcopy(alloc[key]) for key in STUB_FIELDS}
    out["JobVersion"] = alloc["JobVersion"]
    if resources and alloc["AllocatedResources"] is not None:
        out["AllocatedResources"] = encode_resources(alloc["AllocatedResources"])
    if not task_states:
        out["TaskStates"] = None
    return out
