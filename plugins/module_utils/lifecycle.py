"""The life of a preview on Nomad: submit a job, wait for it, remove it, tear a preview down.

Plain functions over a python-nomad client (see ``nomad.nomad_client``) that return data, so the
modules and the garbage collector share one implementation. Every Nomad failure surfaces as a
``NomadApiError`` naming the action, the object and Nomad's answer; a job that does not become
healthy raises ``JobHealthError`` carrying the failing allocations' task events.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ansible_collections.nomad_previews.previews.plugins.module_utils.hcl import parse_duration
from ansible_collections.nomad_previews.previews.plugins.module_utils.identity import (
    NAMESPACE_PREFIX,
)
from ansible_collections.nomad_previews.previews.plugins.module_utils.nomad import (
    NomadApiError,
    NomadError,
    api_call,
    read_or_none,
)

PREVIEW_PREFIX = NAMESPACE_PREFIX
# The namespace meta keys a preview is described by; all values are strings.
META_KEYS = (
    "preview_id",
    "preview_repo",
    "preview_pr",
    "preview_sha",
    "preview_branch",
    "preview_created_at",
    "preview_last_activity_at",
    "preview_idle_timeout",
    "preview_state",
)
STATE_OPEN = "open"
STATE_CLOSING = "closing"

DEFAULT_POLL_INTERVAL = 1.0
FIRST_POLL_INTERVAL = 0.05
DEFAULT_TEARDOWN_TIMEOUT = 120

# Deployment states that end a wait.
_DEPLOYMENT_DONE = {"successful"}
_DEPLOYMENT_BROKEN = {"failed", "cancelled"}
# Nomad's answers while a namespace still holds jobs or allocations on their way out.
_NAMESPACE_BUSY = (
    "has non-terminal jobs",
    "has non-terminal allocations",
    "has variables associated",
)
# Settings of a namespace an update must send back unchanged.
KEPT_NAMESPACE_SETTINGS = (
    "Quota",
    "Capabilities",
    "NodePoolConfiguration",
    "VaultConfiguration",
    "ConsulConfiguration",
)
_WARNING_ITEM = re.compile(r"^\* (.*)$", re.MULTILINE)


class JobSpecError(NomadError):
    """The job content cannot be submitted as given (not a job, wrong ID or namespace)."""


class PreviewClosingError(NomadError):
    """The preview is being closed; nothing may be opened or registered in it."""


class JobHealthError(NomadError):
    """A job that failed or did not become healthy in time.

    The message names the job and carries the task events of its failing allocations;
    ``allocations`` holds the same as data: ``[{id, name, client_status, tasks: [...]}]``.
    """

    def __init__(self, message: str, allocations: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.allocations = allocations

    def result_fields(self) -> dict[str, Any]:
        """A failed health check returns the failing allocations and ``healthy: false``."""
        return {"allocations": self.allocations, "healthy": False}


def job_label(job_id: str) -> str:
    """How messages name a job."""
    return f"job '{job_id}'"


# Submitting a job --------------------------------------------------------------------------------


def parse_job(
    client: Any, content: str, namespace: str, content_format: str = "hcl"
) -> dict[str, Any]:
    """Return the API job object for ``content`` (HCL, or JSON of the job object).

    HCL goes to Nomad's parser (POST /v1/jobs/parse, not canonicalized), so the spec is read
    exactly as ``nomad job run`` would read it. JSON may be the bare job object or the
    ``{"Job": {...}}`` wrapper that ``nomad job run -output`` prints.
    """
    if content_format == "json":
        try:
            decoded = json.loads(content)
        except ValueError as exc:
            raise JobSpecError(f"content is not valid JSON: {exc}") from exc
        if isinstance(decoded, dict) and set(decoded) == {"Job"}:
            decoded = decoded["Job"]
        if not isinstance(decoded, dict):
            raise JobSpecError("content must be a JSON object holding one Nomad job")
        job: dict[str, Any] = decoded
        return job

    with api_call("parsing", "the job specification", namespace):
        parsed: dict[str, Any] = client.jobs.parse(content, canonicalize=False)
    return parsed


def prepare_job(
    job: Mapping[str, Any], namespace: str, job_id: str | None = None
) -> dict[str, Any]:
    """Check a parsed job against the namespace and ID it is meant for; return it placed there.

    The spec's own ``Namespace``, when set, must be ``namespace``: Nomad would otherwise move
    the job silently. ``job_id``, when given, must be the spec's ``ID``.
    """
    spec_id = job.get("ID")
    if not isinstance(spec_id, str) or not spec_id:
        raise JobSpecError("the job specification has no ID")
    if job_id and job_id != spec_id:
        raise JobSpecError(
            f"job_id '{job_id}' does not match the job specification's ID '{spec_id}'"
        )
    spec_namespace = job.get("Namespace")
    if spec_namespace and spec_namespace != namespace:
        raise JobSpecError(
            f"{job_label(spec_id)} declares namespace '{spec_namespace}', but is submitted to "
            f"namespace '{namespace}'"
        )
    placed = dict(job)
    placed["Namespace"] = namespace
    return placed


def plan_and_register(
    client: Any,
    job_json: Mapping[str, Any],
    namespace: str,
    check_mode: bool,
    enforce_index: bool = True,
    *,
    volatile_meta: Sequence[str] = (),
    refuse_closing: bool = False,
) -> dict[str, Any]:
    """Plan a job with its diff and register it only when the plan shows a difference.

    GET /v1/job/:id reads the stored job, POST /v1/job/:id/plan plans with ``Diff``; when
    ``Diff.Type`` is not ``None`` and not in check mode, POST /v1/job/:id registers with
    ``EnforceIndex`` and the plan's ``JobModifyIndex``, so a job changed by someone else in
    between is refused (``NomadIndexConflict``) instead of overwritten.

    In check mode a job whose namespace does not exist yet (it would be created by an earlier
    task) is reported as added without a plan, with a warning saying so.

    ``volatile_meta`` names job meta keys that alone never make the job differ (the time of the
    last push, the head SHA): the plan sees the stored job's values of those keys, and only a
    job that differs otherwise is registered, then with the new values.

    With ``refuse_closing``, the namespace is read again just before registering, and a
    namespace marked closing refuses the job (``PreviewClosingError``), so an open that races a
    close stops instead of adding jobs the close has already listed.

    Returns ``changed``, ``registered``, ``diff_type``, ``plan`` (the changes per task group,
    from ``DesiredTGUpdates``, zero counts left out), ``diff`` (Nomad's own diff tree),
    ``job_modify_index``, ``eval_id``, ``version`` (the stored version after the run, None when
    the job does not exist) and ``warnings`` (a list of strings).
    """
    job_id = str(job_json["ID"])
    label = job_label(job_id)

    stored = read_job(client, namespace, job_id)
    if stored is None and check_mode and read_namespace(client, namespace) is None:
        # Nomad plans only into an existing namespace; in check mode it was not created.
        return {
            "changed": True,
            "registered": False,
            "diff_type": "Added",
            "plan": {},
            "diff": {},
            "job_modify_index": 0,
            "eval_id": None,
            "version": None,
            "warnings": [
                f"namespace '{namespace}' does not exist yet, so {label} was not planned; "
                "it would be added"
            ],
        }
    planned = _with_stored_meta(job_json, stored, volatile_meta)

    with api_call("planning", label, namespace):
        plan = client.job.plan_job(job_id, {"Job": planned}, diff=True)
    diff = plan.get("Diff") or {}
    diff_type = diff.get("Type") or "None"
    changed = diff_type != "None"
    warnings = split_warnings(plan.get("Warnings"))
    job_modify_index = plan.get("JobModifyIndex") or 0
    version = None if stored is None else stored.get("Version")

    eval_id = None
    registered = changed and not check_mode
    if registered:
        if refuse_closing:
            refuse_if_closing(client, namespace, f"register {label}")
        request: dict[str, Any] = {"Job": dict(job_json)}
        if enforce_index:
            request["EnforceIndex"] = True
            request["JobModifyIndex"] = job_modify_index
        with api_call("registering", label, namespace):
            reply = client.job.register_job(job_id, request)
        job_modify_index = reply.get("JobModifyIndex") or job_modify_index
        eval_id = reply.get("EvalID") or None
        warnings += [w for w in split_warnings(reply.get("Warnings")) if w not in warnings]
        registered_job = read_job(client, namespace, job_id)
        version = None if registered_job is None else registered_job.get("Version")

    return {
        "changed": changed,
        "registered": registered,
        "diff_type": diff_type,
        "plan": plan_summary(plan),
        "diff": diff,
        "job_modify_index": job_modify_index,
        "eval_id": eval_id,
        "version": version,
        "warnings": warnings,
    }


def read_job(client: Any, namespace: str, job_id: str) -> dict[str, Any] | None:
    """The stored job (GET /v1/job/:id), or None when it does not exist."""
    found: dict[str, Any] | None = read_or_none(
        lambda: client.job.get_job(job_id, namespace=namespace), job_label(job_id), namespace
    )
    return found


def _with_stored_meta(
    job: Mapping[str, Any], stored: Mapping[str, Any] | None, volatile: Sequence[str]
) -> dict[str, Any]:
    """The job to plan: ``job`` with the stored job's values of the ``volatile`` meta keys."""
    planned = dict(job)
    if stored is None or not volatile:
        return planned
    meta = dict(planned.get("Meta") or {})
    kept = stored.get("Meta") or {}
    for key in volatile:
        if key in kept:
            meta[key] = kept[key]
        else:
            meta.pop(key, None)
    planned["Meta"] = meta or None
    return planned


def split_warnings(text: str | None) -> list[str]:
    """Nomad's ``Warnings`` text (``1 warning:\\n\\n* ...``) as a list of messages."""
    if not text:
        return []
    found = _WARNING_ITEM.findall(text)
    return [item.strip() for item in found] or [text.strip()]


def plan_summary(plan: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    """What the plan would do to each task group: ``{"worker": {"DestructiveUpdate": 1}}``."""
    updates = (plan.get("Annotations") or {}).get("DesiredTGUpdates") or {}
    return {
        group: {kind: count for kind, count in (counts or {}).items() if count}
        for group, counts in sorted(updates.items())
    }


def diff_lines(diff: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """The changed fields of a plan diff as ``(before, after)`` lines for a text diff.

    Each changed field becomes ``Path.To.Field = "value"`` on the side(s) it exists on, so a
    unified diff of the two shows ``-``/``+`` per changed field. Unchanged fields are left out.
    """
    before: list[str] = []
    after: list[str] = []
    job_id = diff.get("ID") or ""
    _walk_diff(f'Job "{job_id}"', diff, before, after)
    for group in diff.get("TaskGroups") or []:
        group_path = f'Group "{group.get("Name")}"'
        _walk_diff(group_path, group, before, after)
        for task in group.get("Tasks") or []:
            _walk_diff(f'{group_path}.Task "{task.get("Name")}"', task, before, after)
    return before, after


def _walk_diff(path: str, node: Mapping[str, Any], before: list[str], after: list[str]) -> None:
    for field in node.get("Fields") or []:
        kind = field.get("Type")
        if kind == "None":
            continue
        line = f"{path}.{field.get('Name')} = "
        if kind in {"Deleted", "Edited"}:
            before.append(line + json.dumps(field.get("Old", "")))
        if kind in {"Added", "Edited"}:
            after.append(line + json.dumps(field.get("New", "")))
    for obj in node.get("Objects") or []:
        if obj.get("Type") != "None":
            _walk_diff(f"{path}.{obj.get('Name')}", obj, before, after)


# Waiting for health ------------------------------------------------------------------------------


def wait_healthy(  # noqa: PLR0917  # the documented call takes six positional parameters
    client: Any,
    namespace: str,
    job_id: str,
    job_type: str | None = None,
    timeout: float = 300,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
) -> dict[str, Any]:
    """Wait until the job's current version is healthy; return what was waited for.

    Reads the job once (GET /v1/job/:id) to learn its version, type and whether it is a
    periodic or parameterized parent; ``job_type`` is only a fallback. Then:

    - service jobs: the deployment of this version (GET /v1/job/:id/deployment) must be
      ``successful``, or every group must have ``HealthyAllocs == DesiredTotal`` while it runs;
      a service job without deployments counts as healthy once all its allocations run;
    - periodic and parameterized parents and stopped jobs: nothing to wait for;
    - other batch jobs: every allocation (GET /v1/job/:id/allocations) must start and none fail.

    Polls quickly at first and then every ``poll_interval`` seconds at most. Raises
    ``JobHealthError`` when the deployment fails, an allocation fails or ``timeout`` passes;
    the message carries each failing allocation's task events.

    Returns ``{healthy: True, waited_for: "deployment"|"allocations"|"nothing", deployment_id}``.
    """
    label = job_label(job_id)
    with api_call("reading", label, namespace):
        job = client.job.get_job(job_id, namespace=namespace)
    kind = job.get("Type") or job_type or "service"
    result: dict[str, Any] = {"healthy": True, "waited_for": "nothing", "deployment_id": None}
    if job.get("Periodic") or job.get("ParameterizedJob") or job.get("Stop"):
        return result
    if kind not in {"service", "batch"}:
        return result

    version = int(job.get("Version") or 0)
    expected = sum(int(group.get("Count") or 0) for group in job.get("TaskGroups") or [])
    deadline = time.monotonic() + timeout
    interval = min(FIRST_POLL_INTERVAL, poll_interval)
    while True:
        if kind == "service":
            progress = _service_progress(client, namespace, job_id, version, expected)
            result.update(waited_for="deployment", deployment_id=progress.deployment_id)
        else:
            progress = _batch_progress(client, namespace, job_id, version, expected)
            result["waited_for"] = "allocations"
        if progress.done:
            return result
        if time.monotonic() >= deadline:
            allocations = _failing_allocations(client, namespace, job_id, version)
            raise JobHealthError(
                f"{label} in namespace '{namespace}' did not become healthy within "
                f"{timeout:g}s ({progress.detail}){_describe_allocations(allocations)}",
                allocations,
            )
        time.sleep(interval)
        interval = min(interval * 2, poll_interval)


@dataclass
class _Progress:
    """One look at a job on its way to health."""

    done: bool
    detail: str
    deployment_id: str | None = None


def _service_progress(
    client: Any, namespace: str, job_id: str, version: int, expected: int
) -> _Progress:
    """Whether the service job's version is healthy yet, and the deployment that says so."""
    label = job_label(job_id)
    with api_call("reading the latest deployment of", label, namespace):
        deployment = client.job.get_deployment(job_id)
    deployed_version = (deployment or {}).get("JobVersion")
    if deployment is None or deployed_version is None or deployed_version < version:
        # No deployment for this version (yet): Nomad creates one when it processes the
        # evaluation, and none at all for a job without an update strategy.
        running = _running(client, namespace, job_id, version)
        return _Progress(
            running >= expected,
            f"{running} of {expected} allocations running, no deployment of version {version}",
        )

    deployment_id = str(deployment.get("ID") or "")
    if deployed_version > version:
        raise JobHealthError(
            f"{label} in namespace '{namespace}' was replaced by version {deployed_version} "
            f"while waiting for version {version} to become healthy",
            [],
        )
    status = deployment.get("Status")
    if status in _DEPLOYMENT_BROKEN:
        allocations = _failing_allocations(client, namespace, job_id, version)
        raise JobHealthError(
            f"Deployment {deployment_id[:8]} of {label} in namespace '{namespace}' is "
            f"{status}: {deployment.get('StatusDescription') or status}"
            f"{_describe_allocations(allocations)}",
            allocations,
        )
    groups = (deployment.get("TaskGroups") or {}).values()
    healthy = sum(group.get("HealthyAllocs") or 0 for group in groups)
    desired = sum(group.get("DesiredTotal") or 0 for group in groups)
    done = status in _DEPLOYMENT_DONE or (
        status == "running"
        and all((g.get("HealthyAllocs") or 0) >= (g.get("DesiredTotal") or 0) for g in groups)
    )
    detail = (
        f"deployment {deployment_id[:8]} is {status}, {healthy} of {desired} allocations healthy"
    )
    return _Progress(done, detail, deployment_id)


def _running(client: Any, namespace: str, job_id: str, version: int) -> int:
    """How many allocations of this version run; a failed one raises."""
    allocations = _current_allocations(client, namespace, job_id, version)
    _raise_on_failed(allocations, namespace, job_id)
    return sum(1 for a in allocations if a.get("ClientStatus") == "running")


def _batch_progress(
    client: Any, namespace: str, job_id: str, version: int, expected: int
) -> _Progress:
    allocations = _current_allocations(client, namespace, job_id, version)
    _raise_on_failed(allocations, namespace, job_id)
    started = sum(1 for a in allocations if a.get("ClientStatus") in {"running", "complete"})
    return _Progress(started >= expected, f"{started} of {expected} allocations started")


def _current_allocations(
    client: Any, namespace: str, job_id: str, version: int
) -> list[dict[str, Any]]:
    with api_call("listing the allocations of", job_label(job_id), namespace):
        allocations = client.job.get_allocations(job_id, namespace=namespace) or []
    return [
        a for a in allocations if a.get("JobVersion") == version and a.get("DesiredStatus") == "run"
    ]


def _raise_on_failed(allocations: list[dict[str, Any]], namespace: str, job_id: str) -> None:
    failed = [_allocation_report(a) for a in allocations if a.get("ClientStatus") == "failed"]
    if failed:
        raise JobHealthError(
            f"{job_label(job_id)} in namespace '{namespace}' has failed allocations"
            f"{_describe_allocations(failed)}",
            failed,
        )


def _failing_allocations(
    client: Any, namespace: str, job_id: str, version: int
) -> list[dict[str, Any]]:
    """Allocations of this version that failed or were found unhealthy, as reports."""
    with api_call("listing the allocations of", job_label(job_id), namespace):
        allocations = client.job.get_allocations(job_id, namespace=namespace) or []
    failing = [
        a
        for a in allocations
        if a.get("JobVersion") == version
        and (
            a.get("ClientStatus") in {"failed", "lost"}
            or (a.get("DeploymentStatus") or {}).get("Healthy") is False
            or any(state.get("Failed") for state in (a.get("TaskStates") or {}).values())
        )
    ]
    return [_allocation_report(a) for a in failing]


def _allocation_report(allocation: Mapping[str, Any]) -> dict[str, Any]:
    tasks = []
    for name, state in sorted((allocation.get("TaskStates") or {}).items()):
        events = [
            {
                "type": event.get("Type") or "",
                "message": event.get("DisplayMessage") or event.get("Message") or "",
            }
            for event in state.get("Events") or []
        ]
        tasks.append(
            {
                "task": name,
                "state": state.get("State"),
                "failed": state.get("Failed"),
                "events": events,
            }
        )
    return {
        "id": allocation.get("ID"),
        "name": allocation.get("Name"),
        "client_status": allocation.get("ClientStatus"),
        "tasks": tasks,
    }


def _describe_allocations(reports: Iterable[Mapping[str, Any]]) -> str:
    """Task events of each reported allocation, one line per event, for a failure message."""
    lines: list[str] = []
    for report in reports:
        lines.append(
            f"allocation {str(report['id'])[:8]} ({report['name']}) is {report['client_status']}:"
        )
        for task in report["tasks"]:
            lines.append(f"  task '{task['task']}' ({task['state']}):")
            lines.extend(f"    {e['type']}: {e['message']}" for e in task["events"])
    if not lines:
        return ""
    return "\n" + "\n".join(lines)


# Removing jobs and previews ----------------------------------------------------------------------


def find_job_family(client: Any, namespace: str, job_id: str) -> list[str]:
    """IDs of the job and its periodic/dispatch children that exist (GET /v1/jobs?prefix=)."""
    with api_call("listing", f"{job_label(job_id)} and its children", namespace):
        stubs = client.jobs.get_jobs(prefix=job_id, namespace=namespace) or []
    return [
        stub["ID"]
        for stub in stubs
        if stub.get("ID") == job_id or str(stub.get("ID", "")).startswith(f"{job_id}/")
    ]


def remove_job(client: Any, namespace: str, job_id: str) -> list[str]:
    """Stop and purge a job and its periodic/dispatch children; return the IDs removed.

    The parent goes first (DELETE /v1/job/:id?purge=true), so it launches no new child, then
    every job listed under the prefix ``<id>/``. A job that does not exist gives ``[]``.
    """
    removed: list[str] = []
    if job_id in find_job_family(client, namespace, job_id):
        _purge(client, namespace, job_id)
        removed.append(job_id)

    with api_call("listing the children of", job_label(job_id), namespace):
        children = client.jobs.get_jobs(prefix=f"{job_id}/", namespace=namespace) or []
    for child in children:
        _purge(client, namespace, child["ID"])
        removed.append(child["ID"])
    return removed


def _purge(client: Any, namespace: str, job_id: str) -> None:
    with api_call("deregistering", job_label(job_id), namespace):
        client.job.deregister_job(job_id, namespace=namespace, purge=True)


def teardown_namespace(
    client: Any,
    namespace: str,
    timeout: float = DEFAULT_TEARDOWN_TIMEOUT,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
) -> dict[str, Any]:
    """Mark a namespace closing, remove every job and variable of it, then the namespace.

    The mark comes first, so an open that reads the namespace afterwards refuses. Parents are
    purged before children so no periodic job launches a new child meanwhile. While Nomad
    refuses the delete because of jobs, allocations or variables (an open that raced the
    close may have registered a job, or written its state over the mark), the mark is set
    again and whatever is there is removed again, until ``timeout`` seconds. A namespace that
    does not exist gives an empty receipt.

    Returns ``{namespace, jobs: [...], variables: [...], namespace_deleted}``.
    """
    receipt: dict[str, Any] = {
        "namespace": namespace,
        "jobs": [],
        "variables": [],
        "namespace_deleted": False,
    }
    if not mark_closing(client, namespace):
        return receipt

    deadline = time.monotonic() + timeout
    interval = min(FIRST_POLL_INTERVAL, poll_interval)
    while True:
        _purge_namespace_jobs(client, namespace, receipt, deadline)
        for path in list_namespace_variables(client, namespace):
            with api_call("deleting", f"variable '{path}'", namespace):
                client.variable.delete_variable(path, namespace=namespace)
            if path not in receipt["variables"]:
                receipt["variables"].append(path)

        try:
            with api_call("deleting", f"namespace '{namespace}'"):
                client.namespace.delete_namespace(namespace)
        except NomadApiError as exc:
            busy = any(text in exc.text for text in _NAMESPACE_BUSY)
            if not busy or time.monotonic() >= deadline:
                raise
            time.sleep(interval)
            interval = min(interval * 2, poll_interval)
            if not mark_closing(client, namespace):
                break
            continue
        break
    receipt["namespace_deleted"] = True
    return receipt


def _purge_namespace_jobs(
    client: Any, namespace: str, receipt: dict[str, Any], deadline: float
) -> None:
    """Purge the namespace's jobs, parents first, until a listing comes back empty."""
    jobs = list_namespace_jobs(client, namespace)
    while jobs:
        for job in sorted(jobs, key=lambda stub: (bool(stub.get("ParentID")), stub["ID"])):
            _purge(client, namespace, job["ID"])
            if job["ID"] not in receipt["jobs"]:
                receipt["jobs"].append(job["ID"])
        jobs = list_namespace_jobs(client, namespace)
        if jobs and time.monotonic() >= deadline:
            raise NomadError(
                f"Jobs kept appearing in namespace '{namespace}' while it was torn down: "
                f"{', '.join(sorted(job['ID'] for job in jobs))}"
            )


def mark_closing(client: Any, namespace: str) -> bool:
    """Set the namespace's ``preview_state`` meta to closing; False when it does not exist.

    Reads the namespace (GET /v1/namespace/:name) and writes it back only when the mark is
    missing, keeping its description, other meta and settings.
    """
    existing = read_namespace(client, namespace)
    if existing is None:
        return False
    meta = dict(existing.get("Meta") or {})
    if meta.get("preview_state") != STATE_CLOSING:
        meta["preview_state"] = STATE_CLOSING
        write_namespace(client, namespace, existing.get("Description") or "", meta, existing)
    return True


def write_namespace(
    client: Any,
    name: str,
    description: str,
    meta: Mapping[str, str],
    existing: Mapping[str, Any] | None,
) -> None:
    """Create or update a namespace (POST /v1/namespace or /v1/namespace/:name).

    Nomad replaces a namespace whole on update, so the settings of ``existing`` that the
    project does not manage (quota, capabilities, node pool, Vault and Consul settings) are
    sent back as they were.
    """
    body: dict[str, Any] = {
        key: existing[key] for key in KEPT_NAMESPACE_SETTINGS if existing and key in existing
    }
    body.update(Name=name, Description=description, Meta=dict(meta) or None)
    action = "creating" if existing is None else "updating"
    with api_call(action, f"namespace '{name}'"):
        if existing is None:
            client.namespace.create_namespace(body)
        else:
            client.namespace.update_namespace(name, body)


def refuse_if_closing(client: Any, namespace: str, action: str) -> None:
    """Raise ``PreviewClosingError`` when the namespace is marked closing (GET /v1/namespace)."""
    check_not_closing(read_namespace(client, namespace), namespace, action)


def check_not_closing(found: Mapping[str, Any] | None, namespace: str, action: str) -> None:
    """Raise ``PreviewClosingError`` when the namespace read as ``found`` is marked closing."""
    if found and (found.get("Meta") or {}).get("preview_state") == STATE_CLOSING:
        raise PreviewClosingError(
            f"Preview namespace '{namespace}' is being closed; refusing to {action}. "
            "Wait until the close finishes, then run again."
        )


def read_namespace(client: Any, name: str) -> dict[str, Any] | None:
    """The namespace (GET /v1/namespace/:name), or None when it does not exist."""
    found: dict[str, Any] | None = read_or_none(
        lambda: client.namespace.get_namespace(name), f"namespace '{name}'"
    )
    return found


def list_namespace_jobs(client: Any, namespace: str) -> list[dict[str, Any]]:
    """Every job of the namespace, parents and children (GET /v1/jobs?namespace=)."""
    with api_call("listing", "jobs", namespace):
        stubs: list[dict[str, Any]] = client.jobs.get_jobs(namespace=namespace) or []
    return stubs


def list_namespace_variables(client: Any, namespace: str) -> list[str]:
    """Paths of every variable of the namespace (GET /v1/vars?namespace=)."""
    with api_call("listing", "variables", namespace):
        found = client.variables.get_variables(namespace=namespace) or []
    return [item["Path"] for item in found]


# Listing previews --------------------------------------------------------------------------------


def list_previews(
    client: Any, prefix: str = PREVIEW_PREFIX, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Every preview namespace with its metadata, idle time and jobs, in two API calls.

    GET /v1/namespaces?prefix= for the namespaces and their ``preview_*`` meta, then one
    GET /v1/jobs?namespace=* filtered to those namespaces. ``idle_seconds`` counts from
    ``preview_last_activity_at`` (or ``preview_created_at``) to ``now`` (default: the current
    time); ``expired`` is true once it exceeds ``preview_idle_timeout``. Missing or unreadable
    metadata gives None for that key, 0 idle seconds and ``expired`` false.
    """
    moment = (now or datetime.now(UTC)).astimezone(UTC)

    with api_call("listing", f"namespaces starting with '{prefix}'"):
        namespaces = client.namespaces.get_namespaces(prefix=prefix) or []
    namespaces = [ns for ns in namespaces if str(ns.get("Name", "")).startswith(prefix)]
    if not namespaces:
        return []
    # Namespace names hold only letters, digits and dashes; a dash needs no escape.
    pattern = "^" + re.escape(prefix).replace("\\-", "-")
    expression = f"Namespace matches {json.dumps(pattern)}"
    with api_call("listing", f"jobs of the namespaces starting with '{prefix}'"):
        stubs = client.jobs.get_jobs(namespace="*", filter_=expression) or []

    jobs_by_namespace: dict[str, list[dict[str, Any]]] = {}
    for stub in stubs:
        jobs_by_namespace.setdefault(stub.get("Namespace") or "default", []).append(
            {
                "id": stub.get("ID"),
                "type": stub.get("Type"),
                "status": stub.get("Status"),
                "parent_id": stub.get("ParentID") or None,
            }
        )
    return [
        _preview(ns, prefix, moment, jobs_by_namespace.get(ns["Name"], []))
        for ns in sorted(namespaces, key=lambda ns: str(ns["Name"]))
    ]


def previews_created_before(
    previews: Sequence[Mapping[str, Any]], namespace: str
) -> list[Mapping[str, Any]]:
    """The previews of a ``list_previews`` listing that Nomad created before ``namespace``.

    Ordered by ``create_index``, the raft index of each namespace's creation: every namespace
    created before ``namespace`` has a lower one and shows in a listing read after it, and every
    namespace created later has a higher one, so opens running at once agree on who came first.
    A preview without an index counts as created before, so a doubt refuses rather than
    admits. Raises ``ValueError`` when ``namespace`` is not in the listing or has no index.
    """
    own = next((p for p in previews if p.get("namespace") == namespace), None)
    if own is None or not isinstance(own.get("create_index"), int):
        raise ValueError(
            f"namespace '{namespace}' is not in the listing with a create_index, so the "
            "previews created before it cannot be told"
        )
    earlier = [
        p
        for p in previews
        if p.get("namespace") != namespace
        and (not isinstance(p.get("create_index"), int) or p["create_index"] < own["create_index"])
    ]
    return sorted(earlier, key=lambda p: (p.get("create_index") or 0, str(p.get("namespace"))))


def _preview(
    namespace: Mapping[str, Any], prefix: str, now: datetime, jobs: list[dict[str, Any]]
) -> dict[str, Any]:
    meta = namespace.get("Meta") or {}
    name = str(namespace["Name"])
    last_activity = _parse_time(meta.get("preview_last_activity_at")) or _parse_time(
        meta.get("preview_created_at")
    )
    idle_seconds = max(0, int((now - last_activity).total_seconds())) if last_activity else 0
    idle_timeout = meta.get("preview_idle_timeout") or None
    timeout_seconds = _parse_seconds(idle_timeout)
    return {
        "namespace": name,
        "preview_id": meta.get("preview_id") or name.removeprefix(prefix),
        "repo": meta.get("preview_repo") or None,
        "pr": meta.get("preview_pr") or None,
        "sha": meta.get("preview_sha") or None,
        "branch": meta.get("preview_branch") or None,
        "state": meta.get("preview_state") or None,
        "created_at": meta.get("preview_created_at") or None,
        "last_activity_at": meta.get("preview_last_activity_at") or None,
        "create_index": namespace.get("CreateIndex"),
        "idle_timeout": idle_timeout,
        "idle_seconds": idle_seconds,
        "expired": bool(
            last_activity is not None
            and timeout_seconds is not None
            and idle_seconds > timeout_seconds
        ),
        "jobs": jobs,
    }


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _parse_seconds(value: Any) -> int | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_duration(value)
    except ValueError:
        return None


def job_addresses(client: Any, namespace: str, job_id: str) -> list[dict[str, Any]]:
    """The running allocations of a job with the address of each of their ports.

    GET /v1/job/:id/allocations, then GET /v1/allocation/:id for each allocation that should
    run (the stub carries no network). Ports come from ``AllocatedResources.Shared.Ports``, as
    ``{label: "host:port"}``. ``client`` must be bound to ``namespace``: python-nomad sends the
    client's namespace on allocation reads.
    """
    with api_call("listing the allocations of", job_label(job_id), namespace):
        stubs = client.job.get_allocations(job_id, namespace=namespace) or []

    found = []
    for stub in stubs:
        if stub.get("DesiredStatus") != "run" or stub.get("ClientStatus") not in (
            "pending",
            "running",
        ):
            continue
        with api_call(
            "reading allocation", f"'{stub.get('ID')}' of {job_label(job_id)}", namespace
        ):
            allocation = client.allocation.get_allocation(stub["ID"])
        shared = (allocation.get("AllocatedResources") or {}).get("Shared") or {}
        found.append(
            {
                "id": allocation.get("ID"),
                "client_status": allocation.get("ClientStatus"),
                "healthy": (allocation.get("DeploymentStatus") or {}).get("Healthy"),
                "ports": {
                    port["Label"]: f"{port.get('HostIP')}:{port.get('Value')}"
                    for port in shared.get("Ports") or []
                },
            }
        )
    return found
