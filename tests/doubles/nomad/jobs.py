"""Jobs as the Nomad server sees them: defaults filled in, then validated.

`canonicalize` turns a decoded API job into the stored shape (every field present, defaults of
the job type applied, implicit constraints appended). `validate` returns the go-multierror of
everything Nomad's admission chain refuses, plus its warnings. Messages keep Nomad's wording,
so a test can match the same phrase against the double and a real agent.
"""

from __future__ import annotations

import copy
import posixpath
import re
import zoneinfo
from typing import Any

from .cron import CronError, parse_cron
from .durations import HOUR, MINUTE, SECOND, format_go_duration
from .errors import MultiError
from .schema import STRUCTS, Field, ListOf, MapOf, Scalar, Struct

Job = dict[str, Any]

DEFAULT_KILL_TIMEOUT = 5 * SECOND
SERVICE_NAME = re.compile(r"^(?i:[a-z0-9]|[a-z0-9][a-z0-9\-]{0,61}[a-z0-9])$")
IDENTITY_NAME = re.compile(r"^[a-zA-Z0-9-_]{1,128}$")
ENV_REFERENCE = re.compile(r"\$\{([^}]*)\}")
JOB_TYPES = {"service", "batch", "system", "sysbatch", "_core"}
NULLABLE = {
    ("TaskGroup", "ShutdownDelay"),
    ("TaskGroup", "MaxRunDuration"),
    ("TaskGroup", "StopAfterClientDisconnect"),
    ("TaskGroup", "MaxClientDisconnect"),
    ("Template", "Uid"),
    ("Template", "Gid"),
    ("CheckRestart", "Grace"),
    ("DisconnectStrategy", "StopOnClientAfter"),
}


def update_defaults() -> dict[str, Any]:
    return {
        "Stagger": 30 * SECOND,
        "MaxParallel": 1,
        "HealthCheck": "checks",
        "MinHealthyTime": 10 * SECOND,
        "HealthyDeadline": 5 * MINUTE,
        "ProgressDeadline": 10 * MINUTE,
        "AutoRevert": False,
        "AutoPromote": False,
        "Canary": 0,
    }


def restart_defaults(job_type: str) -> dict[str, Any]:
    if job_type in {"service", "system"}:
        return {
            "Attempts": 2,
            "Interval": 30 * MINUTE,
            "Delay": 15 * SECOND,
            "Mode": "fail",
            "RenderTemplates": False,
        }
    return {
        "Attempts": 3,
        "Interval": 24 * HOUR,
        "Delay": 15 * SECOND,
        "Mode": "fail",
        "RenderTemplates": False,
    }


def reschedule_defaults(job_type: str) -> dict[str, Any]:
    if job_type == "service":
        return {
            "Attempts": 0,
            "Interval": 0,
            "Delay": 30 * SECOND,
            "DelayFunction": "exponential",
            "MaxDelay": HOUR,
            "Unlimited": True,
        }
    return {
        "Attempts": 1,
        "Interval": 24 * HOUR,
        "Delay": 5 * SECOND,
        "DelayFunction": "constant",
        "MaxDelay": 0,
        "Unlimited": False,
    }


def migrate_defaults() -> dict[str, Any]:
    return {
        "MaxParallel": 1,
        "HealthCheck": "checks",
        "MinHealthyTime": 10 * SECOND,
        "HealthyDeadline": 5 * MINUTE,
    }


def default_identity() -> dict[str, Any]:
    return full("WorkloadIdentity", {"Name": "default", "Audience": ["nomadproject.io"]})


# Shapes ----------------------------------------------------------------------------------------


def _zero(struct: str, field: Field) -> Any:
    typ = field.type
    if (struct, field.name) in NULLABLE:
        return None
    if isinstance(typ, Scalar):
        return {
            "string": "",
            "bool": False,
            "int": 0,
            "uint": 0,
            "duration": 0,
            "float": 0.0,
        }.get(typ.kind)
    return None


def full(struct: str, data: dict[str, Any] | None) -> dict[str, Any]:
    """Every field of `struct`, set from `data` or to Go's zero value; empty lists become null."""
    data = data or {}
    out: dict[str, Any] = {}
    for field in STRUCTS[struct]:
        if field.name not in data or data[field.name] is None:
            out[field.name] = _zero(struct, field)
            continue
        value = data[field.name]
        typ = field.type
        if isinstance(typ, Struct):
            value = full(typ.name, value)
        elif isinstance(typ, ListOf) and isinstance(typ.elem, Struct):
            value = [full(typ.elem.name, item) for item in value] or None
        elif isinstance(typ, (ListOf, MapOf)) and not value:
            value = None
        out[field.name] = value
    return out


def merge(base: dict[str, Any], over: dict[str, Any] | None) -> dict[str, Any]:
    """`base` with every field `over` sets replacing it."""
    merged = dict(base)
    for key, value in (over or {}).items():
        if value is not None:
            merged[key] = value
    return merged


# Canonicalize ----------------------------------------------------------------------------------


def canonicalize(api_job: Job, namespace: str, region: str) -> Job:
    """The stored form of a decoded API job, in `namespace`."""
    src = copy.deepcopy(api_job)
    job_type = src.get("Type") or "service"
    src.setdefault("ID", "")
    src.setdefault("Name", src["ID"])
    src["Namespace"] = namespace
    src["Type"] = job_type
    if not src.get("Priority"):
        src["Priority"] = 50
    if not src.get("Region") or src["Region"] == "global":
        src["Region"] = region
    if not src.get("Datacenters"):
        src["Datacenters"] = ["*"]
    if not src.get("NodePool"):
        src["NodePool"] = "default"

    job_update = src.get("Update")
    if job_update is not None:
        job_update = merge(update_defaults(), job_update)
    elif job_type in {"service", "system"}:
        job_update = update_defaults()

    groups = [
        _canonical_group(group, src, job_type, job_update) for group in src.get("TaskGroups") or []
    ]
    src["TaskGroups"] = groups

    job = full("Job", {k: v for k, v in src.items() if k != "TaskGroups"})
    job["TaskGroups"] = groups or None
    job["Update"] = full(
        "UpdateStrategy",
        {
            "Stagger": (job_update or {}).get("Stagger", 0),
            "MaxParallel": (job_update or {}).get("MaxParallel", 0),
        },
    )
    if job["Periodic"] is not None:
        periodic = job["Periodic"]
        if src["Periodic"].get("Enabled") is None:
            periodic["Enabled"] = True
        periodic["SpecType"] = periodic["SpecType"] or "cron"
        periodic["TimeZone"] = periodic["TimeZone"] or "UTC"
    if job["ParameterizedJob"] is not None:
        job["ParameterizedJob"]["Payload"] = job["ParameterizedJob"]["Payload"] or "optional"
    if job["UI"] is not None:
        job["UI"]["Links"] = [
            {"Label": link["Label"], "Url": link["URL"]} for link in job["UI"]["Links"] or []
        ] or None
    job["Meta"] = job["Meta"] or None
    for server_field in (
        "Status",
        "StatusDescription",
        "Stable",
        "Version",
        "CreateIndex",
        "ModifyIndex",
        "JobModifyIndex",
        "ParentID",
        "NomadTokenID",
        "Dispatched",
        "DispatchIdempotencyToken",
        "SubmitTime",
    ):
        job[server_field] = _zero("Job", next(f for f in STRUCTS["Job"] if f.name == server_field))
    job["Stop"] = bool(src.get("Stop", False))
    job["Payload"] = src.get("Payload") or None
    job["VersionTag"] = None
    _imply_constraints(job)
    return job


def _canonical_group(
    group: dict[str, Any], job: Job, job_type: str, job_update: dict[str, Any] | None
) -> dict[str, Any]:
    out = full("TaskGroup", {k: v for k, v in group.items() if k not in {"Tasks", "Services"}})
    if group.get("Count") is None:
        out["Count"] = 1
    out["EphemeralDisk"] = full(
        "EphemeralDisk",
        merge({"Sticky": False, "Migrate": False, "SizeMB": 300}, group.get("EphemeralDisk")),
    )
    update = None
    if job_update is not None and group.get("Update") is not None:
        update = merge(job_update, group["Update"])
    elif job_update is not None:
        update = dict(job_update)
    elif group.get("Update") is not None:
        update = merge(update_defaults(), group["Update"])
    out["Update"] = full("UpdateStrategy", update) if update is not None else None

    reschedule = None
    if job.get("Reschedule") is not None or group.get("ReschedulePolicy") is not None:
        reschedule = merge(job.get("Reschedule") or {}, group.get("ReschedulePolicy"))
    if reschedule is None and job_type not in {"system", "sysbatch"}:
        reschedule = {}
    if reschedule is not None:
        reschedule = merge(reschedule_defaults(job_type), reschedule)
    out["ReschedulePolicy"] = (
        full("ReschedulePolicy", reschedule) if reschedule is not None else None
    )

    migrate = None
    if job.get("Migrate") is not None or group.get("Migrate") is not None:
        migrate = merge(job.get("Migrate") or {}, group.get("Migrate"))
    if migrate is None and job_type == "service":
        migrate = {}
    out["Migrate"] = (
        full("MigrateStrategy", merge(migrate_defaults(), migrate)) if migrate is not None else None
    )
    out["RestartPolicy"] = full(
        "RestartPolicy", merge(restart_defaults(job_type), group.get("RestartPolicy"))
    )

    for network in out["Networks"] or []:
        _canonical_network(network)

    tasks = [_canonical_task(task, out, job) for task in group.get("Tasks") or []]
    out["Tasks"] = tasks or None
    services = [
        _canonical_service(service, job, out["Name"], "group")
        for service in group.get("Services") or []
    ]
    out["Services"] = services or None
    out["Meta"] = out["Meta"] or None
    return out


def _canonical_network(network: dict[str, Any]) -> None:
    network["Mode"] = network["Mode"] or "host"
    for key in ("DynamicPorts", "ReservedPorts"):
        for port in network[key] or []:
            port["HostNetwork"] = port["HostNetwork"] or "default"


def _canonical_task(task: dict[str, Any], group: dict[str, Any], job: Job) -> dict[str, Any]:
    out = full("Task", {k: v for k, v in task.items() if k != "Services"})
    resources = dict(task.get("Resources") or {})
    if resources.get("CPU") is None and not resources.get("Cores"):
        resources["CPU"] = 100
    if resources.get("MemoryMB") is None:
        resources["MemoryMB"] = 300
    out["Resources"] = full("Resources", resources)
    if task.get("KillTimeout") is None:
        out["KillTimeout"] = DEFAULT_KILL_TIMEOUT
    out["LogConfig"] = full(
        "LogConfig",
        merge(
            {"MaxFiles": 10, "MaxFileSizeMB": 10, "Disabled": False, "Enabled": False},
            task.get("LogConfig"),
        ),
    )
    if out["Vault"] is not None:
        vault = out["Vault"]
        given = task["Vault"]
        vault["Policies"] = None
        vault["Cluster"] = vault["Cluster"] or "default"
        vault["Env"] = given.get("Env", True)
        vault["ChangeMode"] = given.get("ChangeMode") or "restart"
        vault["ChangeSignal"] = (given.get("ChangeSignal") or "SIGHUP").upper()
    for template, given in zip(out["Templates"] or [], task.get("Templates") or [], strict=True):
        template["ChangeMode"] = given.get("ChangeMode") or "restart"
        if template["ChangeMode"] == "signal" and given.get("ChangeSignal") is None:
            template["ChangeSignal"] = "SIGHUP"
        template["ChangeSignal"] = template["ChangeSignal"].upper()
        template["Splay"] = given.get("Splay", 5 * SECOND)
        template["Perms"] = given.get("Perms", "0644")
        template["LeftDelim"] = template["LeftDelim"] or "{{"
        template["RightDelim"] = template["RightDelim"] or "}}"
    lifecycle = out["Lifecycle"]
    if lifecycle is not None and not lifecycle["Hook"] and not lifecycle["Sidecar"]:
        out["Lifecycle"] = None
    out["RestartPolicy"] = merge(group["RestartPolicy"], task.get("RestartPolicy"))

    identities = list(out["Identities"] or [])
    for index, identity in enumerate(identities):
        if identity["Name"] == "default":
            out["Identity"] = identity
            del identities[index]
            break
    out["Identities"] = identities or None
    if out["Identity"] is None:
        out["Identity"] = default_identity()
    out["Services"] = [
        _canonical_service(service, job, group["Name"], out["Name"])
        for service in task.get("Services") or []
    ] or None
    for key in ("Env", "Meta", "Config"):
        out[key] = out[key] or None
    return out


def _canonical_service(service: dict[str, Any], job: Job, group: str, task: str) -> dict[str, Any]:
    out = full("Service", service)
    if not out["Name"]:
        out["Name"] = (
            f"{job['Name']}-{group}" if task == "group" else f"{job['Name']}-{group}-{task}"
        )
    if not out["TaskName"] and task != "group":
        out["TaskName"] = task
    replacements = {
        "JOB": job["Name"],
        "TASKGROUP": group,
        "TASK": task,
        "BASE": f"{job['Name']}-{group}-{task}",
    }
    out["Name"] = ENV_REFERENCE.sub(lambda m: replacements.get(m.group(1), m.group(0)), out["Name"])
    out["AddressMode"] = out["AddressMode"] or "auto"
    out["OnUpdate"] = out["OnUpdate"] or "require_healthy"
    out["Provider"] = out["Provider"] or "consul"
    out["Cluster"] = out["Cluster"] or "default"
    out["Namespace"] = job["Namespace"] if out["Provider"] == "nomad" else "default"
    for check in out["Checks"] or []:
        if not check["Name"]:
            check["Name"] = f'service: "{out["Name"]}" check'
        if not check["TaskName"] and task != "group":
            check["TaskName"] = out["TaskName"]
        check["OnUpdate"] = check["OnUpdate"] or "require_healthy"
    return out


def _imply_constraints(job: Job) -> None:
    """Append the constraints Nomad adds for signals, service discovery and Vault."""
    for group in job["TaskGroups"] or []:
        constraints = list(group["Constraints"] or [])
        targets = {c["LTarget"] for c in constraints}

        def add(
            ltarget: str,
            rtarget: str,
            operand: str,
            pool: list[dict[str, Any]] = constraints,
            seen: set[str] = targets,
        ) -> None:
            if ltarget not in seen:
                pool.append({"LTarget": ltarget, "RTarget": rtarget, "Operand": operand})
                seen.add(ltarget)

        tasks = group["Tasks"] or []
        if any(task["Vault"] is not None for task in tasks):
            add("${attr.vault.version}", ">= 0.6.1", "semver")
        signals = sorted(
            {task["KillSignal"] for task in tasks if task["KillSignal"]}
            | {
                template["ChangeSignal"]
                for task in tasks
                for template in task["Templates"] or []
                if template["ChangeMode"] == "signal" and template["ChangeSignal"]
            }
        )
        if signals:
            add("${attr.os.signals}", ",".join(signals), "set_contains")
        services = list(group["Services"] or []) + [
            service for task in tasks for service in task["Services"] or []
        ]
        if any(service["Provider"] == "nomad" for service in services):
            add("${attr.nomad.service_discovery}", "true", "=")
            if any(service["Checks"] for service in services if service["Provider"] == "nomad"):
                add("${attr.nomad.version}", ">= 1.4.0", "semver")
        if any(service["Provider"] == "consul" for service in services):
            add("${attr.consul.version}", ">= 1.8.0", "semver")
        group["Constraints"] = constraints or None


# Validate --------------------------------------------------------------------------------------


def validate(job: Job, vault_enabled: bool) -> tuple[MultiError, list[str]]:
    """Everything Nomad's admission chain refuses in `job`, and its warnings."""
    errors = MultiError()
    if not vault_enabled:
        for group in job["TaskGroups"] or []:
            for task in group["Tasks"] or []:
                if task["Vault"] is not None:
                    cluster = task["Vault"]["Cluster"] or "default"
                    errors.add(f'Vault "{cluster}" not enabled but used in the job')
                    return errors, []
    _validate_job(job, errors)
    if job["Type"] == "_core":
        errors.add("job type cannot be core")
    if job["Payload"]:
        errors.add("job can't be submitted with a payload, only dispatched")
    if not 1 <= job["Priority"] <= 100:
        errors.add("job priority must be between [1, 100]")
    return errors, warnings(job)


def _validate_job(job: Job, errors: MultiError) -> None:
    if not job["Region"]:
        errors.add("Missing job region")
    if not job["ID"]:
        errors.add("Missing job ID")
    elif " " in job["ID"]:
        errors.add("Job ID contains a space")
    elif "\0" in job["ID"]:
        errors.add("Job ID contains a null character")
    if not job["Name"]:
        errors.add("Missing job name")
    elif "\0" in job["Name"]:
        errors.add("Job Name contains a null character")
    if job["Type"] not in JOB_TYPES:
        errors.add(f'Invalid job type: "{job["Type"]}"')
    for datacenter in job["Datacenters"] or []:
        if not datacenter:
            errors.add("Job datacenter must be non-empty string")
    groups = job["TaskGroups"] or []
    if not groups:
        errors.add("Missing job task groups")
    for index, constraint in enumerate(job["Constraints"] or [], start=1):
        problem = _constraint_problem(constraint)
        if problem:
            errors.add(f"Constraint {index} validation failed: {problem}")
    if job["UI"] is not None and len(job["UI"]["Description"]) > 1000:
        length = len(job["UI"]["Description"])
        errors.add(f"UI description must be under 1000 characters, currently {length}")
    seen: dict[str, int] = {}
    for index, group in enumerate(groups, start=1):
        if not group["Name"]:
            errors.add(f"Job task group {index} missing name")
        elif group["Name"] in seen:
            first = seen[group["Name"]]
            errors.add(f"Job task group {index} redefines '{group['Name']}' from group {first}")
        else:
            seen[group["Name"]] = index
        if group["ShutdownDelay"] is not None and group["ShutdownDelay"] < 0:
            errors.add("ShutdownDelay must be a positive value")
        if job["Type"] == "system" and group["Count"] > 1:
            errors.add(
                f"Job task group {group['Name']} has count {group['Count']}. "
                "Count cannot exceed 1 with system scheduler"
            )
    for group in groups:
        errors.nest(f"Task group {group['Name']} validation failed: ", _validate_group(job, group))

    periodic = job["Periodic"]
    if periodic is not None and periodic["Enabled"]:
        if job["Type"] not in {"batch", "sysbatch"}:
            errors.add('Periodic can only be used with "batch" or "sysbatch" scheduler')
        inner = _validate_periodic(periodic)
        if inner:
            errors.items.append(("", inner))
    parameterized = job["ParameterizedJob"]
    if parameterized is not None:
        if job["Type"] not in {"batch", "sysbatch"}:
            errors.add('Parameterized job can only be used with "batch" or "sysbatch" scheduler')
        if parameterized["Payload"] not in {"optional", "required", "forbidden"}:
            errors.add(f"Unknown payload requirement: {parameterized['Payload']!r}")


def _constraint_problem(constraint: dict[str, Any]) -> str:
    operand = constraint["Operand"]
    known = {
        "=", "==", "is", "!=", "not", "<", "<=", ">", ">=", "distinct_hosts", "distinct_property",
        "regexp", "version", "semver", "set_contains", "set_contains_all", "set_contains_any",
        "is_set", "is_not_set",
    }  # fmt: skip
    if operand not in known:
        return f'Unknown constraint type "{operand}"'
    if operand in {"=", "==", "is", "!=", "not", "<", "<=", ">", ">="} and (
        not constraint["LTarget"] or not constraint["RTarget"]
    ):
        return "No LTarget or RTarget provided"
    return ""


def _validate_periodic(periodic: dict[str, Any]) -> MultiError:
    errors = MultiError()
    if periodic["Spec"] and periodic["Specs"]:
        errors.add("Only cron or crons may be used")
    if not periodic["Spec"] and not periodic["Specs"]:
        errors.add("Must specify a spec")
    zone = periodic["TimeZone"]
    if zone:
        try:
            zoneinfo.ZoneInfo(zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            errors.add(f'Invalid time zone "{zone}": unknown time zone {zone}')
    if periodic["SpecType"] == "cron":
        for spec in ([periodic["Spec"]] if periodic["Spec"] else []) + list(
            periodic["Specs"] or []
        ):
            try:
                parse_cron(spec)
            except CronError as exc:
                errors.add(f'Invalid cron spec "{spec}": {exc}')
    elif periodic["SpecType"] != "test":
        errors.add(f'Unknown periodic specification type "{periodic["SpecType"]}"')
    return errors


def _validate_group(job: Job, group: dict[str, Any]) -> MultiError:
    errors = MultiError()
    job_type = job["Type"]
    if group["Count"] < 0:
        errors.add("Task group count can't be negative")
    if not group["Tasks"]:
        errors.add("Missing tasks for task group")
    if group["MaxRunDuration"] is not None:
        if job_type not in {"batch", "sysbatch"}:
            errors.add(f'Job type "{job_type}" does not allow max_run_duration')
        elif group["MaxRunDuration"] <= 0:
            errors.add("MaxRunDuration must be a positive value")
    for index, constraint in enumerate(group["Constraints"] or [], start=1):
        problem = _constraint_problem(constraint)
        if problem:
            errors.add(f"Constraint {index} validation failed: {problem}")
    errors.extend(_validate_restart(group["RestartPolicy"]))
    if job_type in {"system", "sysbatch"}:
        if group["ReschedulePolicy"] is not None:
            errors.add("System or sysbatch jobs should not have a reschedule policy")
    elif group["ReschedulePolicy"] is not None:
        errors.extend(_validate_reschedule(group["ReschedulePolicy"]))
    if group["EphemeralDisk"]["SizeMB"] < 10:
        errors.add(f"minimum DiskMB value is 10; got {group['EphemeralDisk']['SizeMB']}")
    update = group["Update"]
    if update is not None:
        if job_type not in {"service", "system"}:
            errors.add(f'Job type "{job_type}" does not allow update block')
        errors.extend(_validate_update(update))
    if group["Migrate"] is not None and job_type != "service":
        errors.add(f'Job type "{job_type}" does not allow migrate block')

    tasks = group["Tasks"] or []
    seen: dict[str, int] = {}
    leaders = 0
    mains = 0
    for index, task in enumerate(tasks, start=1):
        if not task["Name"]:
            errors.add(f"Task {index} missing name")
        elif task["Name"] in seen:
            errors.add(f"Task {index} redefines '{task['Name']}' from task {seen[task['Name']]}")
        else:
            seen[task["Name"]] = index
        leaders += 1 if task["Leader"] else 0
        if task["Lifecycle"] is None or (
            task["Lifecycle"]["Hook"] == "" and not task["Lifecycle"]["Sidecar"]
        ):
            mains += 1
    if leaders > 1:
        errors.add("Only one task may be marked as leader")
    if tasks and mains == 0:
        errors.add(f"Task group {group['Name']} must have at least one main task")

    errors.nest("Task group network validation failed: ", _validate_networks(group))
    errors.nest("Task group service validation failed: ", _validate_group_services(job, group))
    for task in tasks:
        errors.nest(f"Task {task['Name']} validation failed: ", _validate_task(job, group, task))
    return errors


def _validate_restart(policy: dict[str, Any]) -> MultiError:
    errors = MultiError()
    if policy["Mode"] not in {"delay", "fail"}:
        errors.add(f'Unsupported restart mode: "{policy["Mode"]}"')
    if policy["Attempts"] == 0 and policy["Mode"] != "fail":
        errors.add(f'Restart policy "{policy["Mode"]}" with 0 attempts is ambiguous')
    if policy["Interval"] < 5 * SECOND:
        errors.add(
            f"Interval can not be less than 5s (got {format_go_duration(policy['Interval'])})"
        )
    if policy["Attempts"] * policy["Delay"] > policy["Interval"]:
        errors.add(
            f"Nomad can't restart the TaskGroup {policy['Attempts']} times in an interval of "
            f"{format_go_duration(policy['Interval'])} with a delay of "
            f"{format_go_duration(policy['Delay'])}"
        )
    return errors


def _validate_reschedule(policy: dict[str, Any]) -> MultiError:
    errors = MultiError()
    if not (policy["Attempts"] > 0 or policy["Unlimited"]):
        return errors
    fmt = format_go_duration
    if policy["Attempts"] > 0:
        if policy["Interval"] <= 0:
            errors.add("Interval must be a non zero value if Attempts > 0")
        if policy["Unlimited"]:
            errors.add(
                f"Reschedule Policy with Attempts = {policy['Attempts']}, Interval = "
                f"{fmt(policy['Interval'])}, and Unlimited = true is ambiguous"
            )
            errors.add("If Attempts >0, Unlimited cannot also be set to true")
    if policy["Delay"] < 5 * SECOND:
        errors.add(f"Delay cannot be less than 5s (got {fmt(policy['Delay'])})")
    functions = ["constant", "exponential", "fibonacci"]
    if policy["DelayFunction"] not in functions:
        errors.add(
            f'Invalid delay function "{policy["DelayFunction"]}", must be one of '
            '["constant" "exponential" "fibonacci"]'
        )
    if policy["DelayFunction"] != "constant":
        if policy["MaxDelay"] < 5 * SECOND:
            errors.add(f"Max Delay cannot be less than 5s (got {fmt(policy['Delay'])})")
        if policy["MaxDelay"] < policy["Delay"]:
            errors.add(
                f"Max Delay cannot be less than Delay {fmt(policy['Delay'])} "
                f"(got {fmt(policy['MaxDelay'])})"
            )
    if not policy["Unlimited"] and policy["Interval"] < 15 * SECOND:
        errors.add(f"Interval cannot be less than 15s (got {fmt(policy['Interval'])})")
    return errors


def _validate_update(update: dict[str, Any]) -> MultiError:
    errors = MultiError()
    fmt = format_go_duration
    if update["HealthCheck"] not in {"checks", "task_states", "manual"}:
        errors.add(f'Invalid health check given: "{update["HealthCheck"]}"')
    if update["MaxParallel"] < 0:
        errors.add(f"Max parallel can not be less than zero: {update['MaxParallel']} < 0")
    if update["Canary"] < 0:
        errors.add(f"Canary count can not be less than zero: {update['Canary']} < 0")
    if update["Canary"] == 0 and update["AutoPromote"]:
        errors.add("Auto Promote requires a Canary count greater than zero")
    if update["MinHealthyTime"] < 0:
        errors.add(
            f"Minimum healthy time may not be less than zero: {fmt(update['MinHealthyTime'])}"
        )
    if update["HealthyDeadline"] <= 0:
        errors.add(f"Healthy deadline must be greater than zero: {fmt(update['HealthyDeadline'])}")
    if update["ProgressDeadline"] < 0:
        errors.add(f"Progress deadline must be zero or greater: {fmt(update['ProgressDeadline'])}")
    if update["MinHealthyTime"] >= update["HealthyDeadline"]:
        errors.add(
            "Minimum healthy time must be less than healthy deadline: "
            f"{fmt(update['MinHealthyTime'])} > {fmt(update['HealthyDeadline'])}"
        )
    if update["ProgressDeadline"] != 0 and update["HealthyDeadline"] >= update["ProgressDeadline"]:
        errors.add(
            "Healthy deadline must be less than progress deadline: "
            f"{fmt(update['HealthyDeadline'])} > {fmt(update['ProgressDeadline'])}"
        )
    if update["Stagger"] <= 0:
        errors.add(f"Stagger must be greater than zero: {fmt(update['Stagger'])}")
    return errors


def _validate_networks(group: dict[str, Any]) -> MultiError:
    errors = MultiError()
    labels: dict[str, str] = {}
    static: dict[str, dict[int, str]] = {}
    for network in group["Networks"] or []:
        for port in (network["ReservedPorts"] or []) + (network["DynamicPorts"] or []):
            if port["Label"] in labels:
                errors.add(f"Port label {port['Label']} already in use by {labels[port['Label']]}")
            else:
                labels[port["Label"]] = "taskgroup network"
            if port["Value"]:
                used = static.setdefault(port["HostNetwork"] or "default", {})
                if port["Value"] in used:
                    if not port["IgnoreCollision"]:
                        errors.add(
                            f"Static port {port['Value']} already reserved by {used[port['Value']]}"
                        )
                elif port["Value"] > 65535:
                    errors.add(
                        f"Port {port['Label']} ({port['Value']}) cannot be greater than 65535"
                    )
                else:
                    used[port["Value"]] = f"taskgroup network:{port['Label']}"
            if port["To"] < -1:
                errors.add(
                    f'Port "{port["Label"]}" cannot be mapped to negative value {port["To"]}'
                )
            elif port["To"] > 65535:
                errors.add(
                    f'Port "{port["Label"]}" cannot be mapped to a port ({port["To"]}) '
                    "greater than 65535"
                )
        hostname = network["Hostname"]
        if hostname and "${" not in hostname and not _dns_name(hostname):
            errors.add("Hostname is not a valid DNS name")
    return errors


def _dns_name(name: str) -> bool:
    labels = name.rstrip(".").split(".")
    return len(name) <= 253 and all(
        0 < len(label) <= 63 and not label.startswith("-") and not label.endswith("-")
        for label in labels
    )


def _validate_group_services(job: Job, group: dict[str, Any]) -> MultiError:
    errors = MultiError()
    providers: set[str] = set()
    seen: set[tuple[str, str, str]] = set()
    task_names = {task["Name"] for task in group["Tasks"] or []}
    for service in group["Services"] or []:
        providers.add(service["Provider"])
        key = (service["Name"], service["TaskName"], service["PortLabel"])
        if key in seen:
            errors.add(
                f"Services are not unique: {service['TaskName'] or 'group'}->"
                f"{service['Name']}:{service['PortLabel']}"
            )
        seen.add(key)
        if service["TaskName"] and service["TaskName"] not in task_names:
            errors.add(
                f"Service {service['Name']} is attempting to use task "
                f"{service['TaskName']} which does not exist"
            )
        inner = _validate_service(service)
        if inner:
            errors.nest(f"Service[0] {service['Name']} validation failed: ", inner)
    for task in group["Tasks"] or []:
        for service in task["Services"] or []:
            providers.add(service["Provider"])
    if len(providers) > 1:
        errors.add(
            "Multiple service providers used: task group services must use the same provider"
        )
    return errors


def _validate_service(service: dict[str, Any]) -> MultiError:
    errors = MultiError()
    stripped = ENV_REFERENCE.sub("ENV-VAR", service["Name"])
    if not SERVICE_NAME.match(stripped):
        errors.add(
            "Service name must be valid per RFC 1123 and can contain only alphanumeric characters "
            "or dashes and must be no longer than 63 characters: "
            f'"{service["Name"]}"'
        )
    if service["AddressMode"] not in {"", "auto", "host", "driver", "alloc", "alloc_ipv6"}:
        errors.add(
            'Service address_mode must be "auto", "host", or "driver"; '
            f'not "{service["AddressMode"]}"'
        )
    if service["OnUpdate"] not in {"", "ignore", "require_healthy", "ignore_warnings"}:
        errors.add(
            'Service on_update must be "require_healthy", "ignore_warnings", or "ignore"; '
            f'not "{service["OnUpdate"]}"'
        )
    provider = service["Provider"]
    if provider not in {"consul", "nomad"}:
        errors.add(f'Service provider must be "consul", or "nomad"; not "{provider}"')
        return errors
    allowed = ["tcp", "http"] if provider == "nomad" else ["grpc", "tcp", "http", "script"]
    for check in service["Checks"] or []:
        requires_port = check["Type"].lower() in {"http", "tcp", "grpc"}
        if not service["PortLabel"] and not check["PortLabel"] and requires_port:
            errors.add(
                f"Check {check['Name']} invalid: check requires a port but neither check nor "
                f'service "{service["Name"]}" have a port'
            )
            continue
        problem = _check_problem(check, allowed, provider)
        if problem:
            errors.add(
                problem if provider == "nomad" else f"Check {check['Name']} invalid: {problem}"
            )
    if service["Connect"] is not None and provider == "nomad":
        errors.add("Service with provider nomad cannot include Connect blocks")
    return errors


def _check_problem(check: dict[str, Any], allowed: list[str], provider: str) -> str:
    kind = check["Type"].lower()
    if kind not in allowed:
        return f'invalid check type ("{kind}"), must be one of {", ".join(allowed)}'
    if kind == "http":
        if not check["Path"]:
            return "http type must have http path"
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", check["Path"]):
            return "http type must have relative http path"
    if kind == "script" and not check["Command"]:
        return "script type must have a valid script path"
    fmt = format_go_duration
    if check["Interval"] == 0:
        return "missing required value interval. Interval cannot be less than 1s"
    if check["Interval"] < SECOND:
        return f"interval ({fmt(check['Interval'])}) cannot be lower than 1s"
    if check["Timeout"] == 0:
        return "missing required value timeout. Timeout cannot be less than 1s"
    if check["Timeout"] < SECOND:
        return f"timeout ({fmt(check['Timeout'])}) is lower than required minimum timeout 1s"
    if provider == "nomad":
        if check["Expose"]:
            return "expose may only be set for Consul service checks"
        if check["AddressMode"] == "driver":
            return "address_mode = driver may only be set for Consul service checks"
        for field, hcl in (
            ("SuccessBeforePassing", "success_before_passing"),
            ("FailuresBeforeCritical", "failures_before_critical"),
            ("FailuresBeforeWarning", "failures_before_warning"),
        ):
            if check[field]:
                return f"{hcl} may only be set for Consul service checks"
        if check["TLSServerName"]:
            return "tls_server_name may only be set for Consul service checks"
    return ""


def _validate_task(job: Job, group: dict[str, Any], task: dict[str, Any]) -> MultiError:
    errors = MultiError()
    fmt = format_go_duration
    name = task["Name"]
    if not name:
        errors.add("Missing task name")
    if name == "alloc":
        errors.add('Task cannot be named "alloc"')
    if "/" in name or "\\" in name:
        errors.add("Task name cannot include slashes")
    elif "\0" in name:
        errors.add("Task name cannot include null characters")
    if not task["Driver"]:
        errors.add("Missing task driver")
    update = group["Update"]
    if task["KillTimeout"] < 0:
        errors.add("KillTimeout must be a positive value")
    elif (
        job["Type"] == "service"
        and update is not None
        and update["ProgressDeadline"] > 0
        and task["KillTimeout"] > update["ProgressDeadline"]
    ):
        errors.add(
            f"KillTimout ({fmt(task['KillTimeout'])}) longer than the group's ProgressDeadline "
            f"({fmt(update['ProgressDeadline'])})"
        )
    if task["ShutdownDelay"] < 0:
        errors.add("ShutdownDelay must be a positive value")

    resources = MultiError()
    res = task["Resources"]
    if res["Cores"] > 0 and res["CPU"] > 0:
        resources.add("Task can only ask for 'cpu' or 'cores' resource, not both.")
    if res["Cores"] < 0:
        resources.add(f"cores value ({res['Cores']}) cannot be negative")
    if res["Cores"] == 0 and res["CPU"] < 1:
        resources.add(f"minimum CPU value is 1; got {res['CPU']}")
    if res["MemoryMB"] < 10:
        resources.add(f"minimum MemoryMB value is 10; got {res['MemoryMB']}")
    if res["DiskMB"] > 0:
        resources.add(
            "Task can't ask for disk resources, they have to be specified at the task group level."
        )
    if res["MemoryMaxMB"] not in {0, -1} and res["MemoryMaxMB"] < res["MemoryMB"]:
        resources.add(
            f"MemoryMaxMB value ({res['MemoryMaxMB']}) should be larger than MemoryMB value "
            f"({res['MemoryMB']})"
        )
    if resources:
        errors.items.append(("", resources))

    logs = task["LogConfig"]
    log_errors = MultiError()
    if logs["MaxFiles"] < 1:
        log_errors.add(f"minimum number of files is 1; got {logs['MaxFiles']}")
    if logs["MaxFileSizeMB"] < 1:
        log_errors.add(f"minimum file size is 1MB; got {logs['MaxFileSizeMB']}")
    usage = logs["MaxFiles"] * logs["MaxFileSizeMB"]
    disk = group["EphemeralDisk"]["SizeMB"]
    if disk <= usage:
        log_errors.add(
            f"log storage ({usage} MB) must be less than requested disk capacity ({disk} MB)"
        )
    if log_errors:
        errors.items.append(("", log_errors))

    for index, constraint in enumerate(task["Constraints"] or [], start=1):
        problem = _constraint_problem(constraint)
        if problem:
            errors.add(f"Constraint {index} validation failed: {problem}")
        if constraint["Operand"] in {"distinct_hosts", "distinct_property"}:
            errors.add(
                f"Constraint {index} has disallowed Operand at task level: {constraint['Operand']}"
            )

    errors.extend(_validate_task_services(task, group))

    vault = task["Vault"]
    if vault is not None:
        vault_errors = MultiError()
        if vault["ChangeMode"] == "signal":
            if not vault["ChangeSignal"]:
                vault_errors.add('Signal must be specified when using change mode "signal"')
        elif vault["ChangeMode"] not in {"noop", "restart"}:
            vault_errors.add(f'Unknown change mode "{vault["ChangeMode"]}"')
        errors.nest("Vault validation failed: ", vault_errors)

    destinations: dict[str, int] = {}
    for index, template in enumerate(task["Templates"] or [], start=1):
        problems = _template_problems(template)
        if problems:
            errors.add(f"Template {index} validation failed: {problems.render()}")
        if template["DestPath"] in destinations:
            errors.add(
                f"Template {index} has same destination as {destinations[template['DestPath']]}"
            )
        else:
            destinations[template["DestPath"]] = index

    lifecycle = task["Lifecycle"]
    if lifecycle is not None and lifecycle["Hook"] not in {"prestart", "poststart", "poststop"}:
        errors.add(f"Lifecycle validation failed: invalid hook: {lifecycle['Hook']}")

    for identity in [task["Identity"], *(task["Identities"] or [])]:
        if identity is None:
            continue
        if identity is not task["Identity"] and identity["Name"] == "default":
            errors.add("Duplicate default identities found")
        problem = _identity_problem(identity)
        if problem:
            errors.add(f'Identity "{identity["Name"]}" is invalid: {problem}')
    return errors


def _validate_task_services(task: dict[str, Any], group: dict[str, Any]) -> MultiError:
    errors = MultiError()
    ports: dict[str, set[str]] = {}
    known: set[str] = set()
    for index, service in enumerate(task["Services"] or []):
        inner = _validate_service(service)
        if inner:
            errors.add(f'service[{index}] "{service["Name"]}" validation failed: {inner.render()}')
        if service["AddressMode"] in {"alloc", "alloc_ipv6"}:
            errors.add(
                f'service "{service["Name"]}" cannot use address_mode="{service["AddressMode"]}", '
                'only services defined in a "group" block can use this mode'
            )
        if service["Name"] + service["PortLabel"] in known:
            errors.add(f'service "{service["Name"]}" is duplicate')
        known.add(service["Name"] + service["PortLabel"])
        if service["PortLabel"] and not (
            service["AddressMode"] == "driver" and service["PortLabel"].isdigit()
        ):
            ports.setdefault(service["PortLabel"], set()).add(service["Name"])
        if service["Connect"] is not None:
            errors.add(
                f'service "{service["Name"]}" cannot have "connect" block, only services defined '
                'in a "group" block can'
            )
        check_names: set[str] = set()
        for check in service["Checks"] or []:
            if check["Name"] in check_names:
                errors.add(f'check "{check["Name"]}" is duplicate')
            check_names.add(check["Name"])
            if check["Type"].lower() not in {"http", "tcp", "grpc"}:
                continue
            effective = check["PortLabel"] or service["PortLabel"]
            if not effective:
                errors.add(f'check "{check["Name"]}" is missing a port')
                continue
            if effective.isdigit():
                if check["AddressMode"] != "driver":
                    errors.add(
                        f'check "{check["Name"]}" cannot use a numeric port {int(effective)} '
                        'without setting address_mode="driver"'
                    )
                continue
            ports.setdefault(effective, set()).add(service["Name"])
    labels: set[str] = set()
    networks = group["Networks"] or []
    if networks:
        labels = {
            port["Label"]
            for port in (networks[0]["ReservedPorts"] or []) + (networks[0]["DynamicPorts"] or [])
        }
    for label in sorted(ports):
        if label not in labels:
            names = ", ".join(sorted(ports[label]))
            errors.add(f'port label "{label}" referenced by services {names} does not exist')
    return errors


def _template_problems(template: dict[str, Any]) -> MultiError:
    errors = MultiError()
    if not template["SourcePath"] and not template["EmbeddedTmpl"]:
        errors.add("Must specify a source path or have an embedded template")
    if not template["DestPath"]:
        errors.add("Must specify a destination for the template")
    if _escapes_alloc(template["DestPath"]):
        errors.add("destination escapes allocation directory")
    mode = template["ChangeMode"]
    if mode == "signal":
        if not template["ChangeSignal"]:
            errors.add("Must specify signal value when change mode is signal")
        if template["Envvars"]:
            errors.add("cannot use signals with env var templates")
    elif mode == "script":
        if template["ChangeScript"] is None:
            errors.add("must specify change script configuration value when change mode is script")
    elif mode not in {"noop", "restart"}:
        errors.add(
            "Invalid change mode. Must be one of the following: noop, signal, script, restart"
        )
    if template["Splay"] < 0:
        errors.add("Must specify positive splay value")
    perms = template["Perms"]
    if perms and not re.fullmatch(r"[0-7]{1,4}", perms):
        errors.add(
            f'Failed to parse "{perms}" as octal: strconv.ParseUint: parsing "{perms}": '
            "invalid syntax"
        )
    wait = template["Wait"]
    if wait is not None and wait["Min"] and wait["Max"] and wait["Min"] > wait["Max"]:
        errors.add(
            f"wait min {format_go_duration(wait['Min'])} is greater than max "
            f"{format_go_duration(wait['Max'])}"
        )
    return errors


def _escapes_alloc(destination: str) -> bool:
    """Whether a template destination leaves the allocation directory once joined to the task."""
    if not destination:
        return False
    if destination.startswith("/"):
        return False
    joined = posixpath.normpath(posixpath.join("/alloc-root/task", destination))
    return not (joined == "/alloc-root" or joined.startswith("/alloc-root/"))


def _identity_problem(identity: dict[str, Any]) -> str:
    if not IDENTITY_NAME.match(identity["Name"]):
        return f'invalid name "{identity["Name"]}". Must match regex ^[a-zA-Z0-9-_]{{1,128}}$'
    if identity["Name"] == "default" and identity["TTL"] > 0:
        return "ttl for default identity not yet supported"
    if identity["Filepath"] and not identity["File"]:
        return "file parameter must be true in order to specify filepath"
    if identity["ChangeMode"] == "signal" and not identity["ChangeSignal"]:
        return 'change_signal must be specified when using change_mode="signal"'
    return ""


def warnings(job: Job) -> list[str]:
    """Nomad's submit warnings for `job` that the double reproduces."""
    found: list[str] = []
    for group in job["TaskGroups"] or []:
        group_warnings = []
        update = group["Update"]
        if update is not None and group["Count"] > 1 and update["MaxParallel"] > group["Count"]:
            group_warnings.append(
                f"Update max parallel count is greater than task group count "
                f"({update['MaxParallel']} > {group['Count']}). A destructive change would result "
                "in the simultaneous replacement of all allocations."
            )
        if group_warnings:
            inner = MultiError(list[str | tuple[str, MultiError]](group_warnings))
            found.append(f'Group "{group["Name"]}" has warnings: {inner.render()}')
    for group in job["TaskGroups"] or []:
        found.extend(_shutdown_delay_warnings(group))
    if job["Periodic"] is not None and job["Periodic"]["Spec"]:
        found.append("cron is deprecated and may be removed in a future release. Use crons instead")
    return found


def _shutdown_delay_warnings(group: dict[str, Any]) -> list[str]:
    found = []
    referenced = set()
    unscoped = False
    any_task_delay = False
    group_delay = group["ShutdownDelay"] is not None and group["ShutdownDelay"] > 0
    for service in group["Services"] or []:
        if service["TaskName"]:
            referenced.add(service["TaskName"])
            continue
        unscoped = True
    for task in group["Tasks"] or []:
        if task["Name"] in referenced and task["ShutdownDelay"] == 0:
            found.append(
                f'group "{group["Name"]}" references task "{task["Name"]}" in a service '
                "definition, but the task has no shutdown_delay set"
            )
        if task["ShutdownDelay"] > 0:
            any_task_delay = True
        elif task["Services"]:
            found.append(
                f'task "{task["Name"]}" in group "{group["Name"]}" defines services, but has no '
                "shutdown_delay set"
            )
    if unscoped and not group_delay and not any_task_delay:
        found.append(
            f'group "{group["Name"]}" defines services, but neither the group nor any of its '
            "tasks have shutdown_delay set"
        )
    return found


def transition_error(existing: Job | None, new: Job) -> str:
    """The refusal Nomad gives for changing a job's type, periodic or parameterized nature."""
    if existing is None:
        return ""
    if existing["Type"] != new["Type"]:
        return f'cannot update job from type "{existing["Type"]}" to "{new["Type"]}"'
    if is_periodic(existing) and not is_periodic(new):
        return "cannot update periodic job to being non-periodic"
    if not is_periodic(existing) and is_periodic(new):
        return "cannot update non-periodic job to being periodic"
    if existing["ParameterizedJob"] is not None and new["ParameterizedJob"] is None:
        return "cannot update parameterized job to being non-parameterized"
    if existing["ParameterizedJob"] is None and new["ParameterizedJob"] is not None:
        return "cannot update non-parameterized job to being parameterized"
    return ""


def is_periodic(job: Job) -> bool:
    return job["Periodic"] is not None


def is_tracked_periodic(job: Job) -> bool:
    return job["Periodic"] is not None and bool(job["Periodic"]["Enabled"]) and not job["Stop"]


def is_parameterized(job: Job) -> bool:
    return job["ParameterizedJob"] is not None and not job["Dispatched"]


SPEC_IGNORED = {
    "Status",
    "StatusDescription",
    "Stable",
    "Version",
    "CreateIndex",
    "ModifyIndex",
    "JobModifyIndex",
    "SubmitTime",
    "VersionTag",
}


def spec_equal(stored: Job, new: Job) -> bool:
    """Deep equality of two stored jobs, ignoring status, index and version fields."""
    left = {k: v for k, v in stored.items() if k not in SPEC_IGNORED}
    right = {k: v for k, v in new.items() if k not in SPEC_IGNORED}
    return left == right
