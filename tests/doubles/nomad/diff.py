"""The plan endpoint's job diff: a tree of typed changes between the stored and the new job.

The shape follows Nomad's JobDiff (`Type`, `Fields`, `Objects`, `TaskGroups`, `Tasks`,
`Updates`, `Annotations`), and diffs are contextual: unchanged fields are listed with type
`None`. Values are rendered as strings the way Nomad flattens them. The exact set of fields
listed may differ from Nomad's; the types at job, group and task level are what tests rely on.
"""

from __future__ import annotations

from typing import Any

ADDED, DELETED, EDITED, NONE = "Added", "Deleted", "Edited", "None"

JOB_IGNORED = {
    "ID",
    "Status",
    "StatusDescription",
    "Version",
    "Stable",
    "CreateIndex",
    "ModifyIndex",
    "JobModifyIndex",
    "Update",
    "SubmitTime",
    "NomadTokenID",
    "VersionTag",
    "TaskGroups",
}
GROUP_IGNORED = {"Name", "Tasks"}
TASK_IGNORED = {"Name"}


def job_diff(old: dict[str, Any] | None, new: dict[str, Any] | None) -> dict[str, Any]:
    """Nomad's JobDiff between the stored job `old` and the planned job `new`."""
    reference = new or old or {}
    fields, objects = _struct_diff(old, new, JOB_IGNORED)
    groups = _named_pairs((old or {}).get("TaskGroups") or [], (new or {}).get("TaskGroups") or [])
    group_diffs = [_group_diff(a, b) for a, b in groups]
    return {
        "Type": _overall(old, new, fields, objects, group_diffs),
        "ID": reference.get("ID", ""),
        "Fields": fields or None,
        "Objects": objects or None,
        "TaskGroups": group_diffs or None,
    }


def _overall(
    old: Any,
    new: Any,
    fields: list[dict[str, Any]],
    objects: list[dict[str, Any]],
    children: list[dict[str, Any]],
) -> str:
    if old is None and new is not None:
        return ADDED
    if new is None and old is not None:
        return DELETED
    if any(item["Type"] != NONE for item in [*fields, *objects, *children]):
        return EDITED
    return NONE


def _group_diff(old: dict[str, Any] | None, new: dict[str, Any] | None) -> dict[str, Any]:
    fields, objects = _struct_diff(old, new, GROUP_IGNORED)
    tasks = [
        _task_diff(a, b)
        for a, b in _named_pairs((old or {}).get("Tasks") or [], (new or {}).get("Tasks") or [])
    ]
    kind = _overall(old, new, fields, objects, tasks)
    return {
        "Type": kind,
        "Name": (new or old or {}).get("Name", ""),
        "Fields": fields or None,
        "Objects": objects or None,
        "Tasks": tasks or None,
        "Updates": _updates(kind, old, new, tasks, fields, objects),
    }


def _updates(
    kind: str,
    old: dict[str, Any] | None,
    new: dict[str, Any] | None,
    tasks: list[dict[str, Any]],
    fields: list[dict[str, Any]],
    objects: list[dict[str, Any]],
) -> dict[str, int] | None:
    new_count = (new or {}).get("Count", 0) or 0
    old_count = (old or {}).get("Count", 0) or 0
    if kind == ADDED:
        return {"create": new_count} if new_count else None
    if kind == DELETED:
        return {"destroy": old_count} if old_count else None
    updates: dict[str, int] = {}
    destructive = any(task["Type"] != NONE for task in tasks) or any(
        item["Type"] != NONE and item["Name"] != "Count" for item in [*fields, *objects]
    )
    kept = min(old_count, new_count)
    if kept:
        updates["create/destroy update" if destructive else "ignore"] = kept
    if new_count > old_count:
        updates["create"] = new_count - old_count
    elif old_count > new_count:
        updates["destroy"] = old_count - new_count
    return updates or None


def _task_diff(old: dict[str, Any] | None, new: dict[str, Any] | None) -> dict[str, Any]:
    fields, objects = _struct_diff(old, new, TASK_IGNORED)
    kind = _overall(old, new, fields, objects, [])
    annotations = {
        ADDED: ["forces create"],
        DELETED: ["forces destroy"],
        EDITED: ["forces create/destroy update"],
    }.get(kind)
    return {
        "Type": kind,
        "Name": (new or old or {}).get("Name", ""),
        "Fields": fields or None,
        "Objects": objects or None,
        "Annotations": annotations,
    }


def _named_pairs(
    old: list[dict[str, Any]], new: list[dict[str, Any]]
) -> list[tuple[dict[str, Any] | None, dict[str, Any] | None]]:
    old_by_name = {item.get("Name"): item for item in old}
    new_by_name = {item.get("Name"): item for item in new}
    names = sorted(set(old_by_name) | set(new_by_name), key=str)
    return [(old_by_name.get(name), new_by_name.get(name)) for name in names]


def _struct_diff(
    old: dict[str, Any] | None, new: dict[str, Any] | None, ignored: set[str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Primitive fields of two structs as FieldDiffs, nested values as ObjectDiffs."""
    old = old or {}
    new = new or {}
    fields: list[dict[str, Any]] = []
    objects: list[dict[str, Any]] = []
    for key in sorted(set(old) | set(new)):
        if key in ignored:
            continue
        a, b = old.get(key), new.get(key)
        if _is_primitive(a) and _is_primitive(b):
            field = _field(key, a, b)
            if field is not None:
                fields.append(field)
        elif _is_string_map(a) and _is_string_map(b):
            for sub in sorted(set(a or {}) | set(b or {})):
                field = _field(f"{key}[{sub}]", (a or {}).get(sub), (b or {}).get(sub))
                if field is not None:
                    fields.append(field)
        else:
            objects.extend(_object_diffs(key, a, b))
    return fields, objects


def _is_primitive(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _is_string_map(value: Any) -> bool:
    return value is None or (
        isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
    )


def _render(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _field(name: str, old: Any, new: Any) -> dict[str, Any] | None:
    if old is None and new is None:
        return None
    if old is None:
        kind = ADDED
    elif new is None:
        kind = DELETED
    elif old == new:
        kind = NONE
    else:
        kind = EDITED
    return {
        "Type": kind,
        "Name": name,
        "Old": _render(old),
        "New": _render(new),
        "Annotations": None,
    }


def _object_diffs(name: str, old: Any, new: Any) -> list[dict[str, Any]]:
    if isinstance(old, list) or isinstance(new, list):
        return _list_diffs(name, old or [], new or [])
    if old is None and new is None:
        return []
    fields, objects = _struct_diff(
        old if isinstance(old, dict) else None, new if isinstance(new, dict) else None, set()
    )
    kind = _overall(old, new, fields, objects, [])
    return [{"Type": kind, "Name": name, "Fields": fields or None, "Objects": objects or None}]


def _list_diffs(name: str, old: list[Any], new: list[Any]) -> list[dict[str, Any]]:
    if all(_is_primitive(item) for item in [*old, *new]):
        fields = []
        for value in sorted({_render(v) for v in [*old, *new]}):
            in_old = value in {_render(v) for v in old}
            in_new = value in {_render(v) for v in new}
            kind = NONE if in_old and in_new else ADDED if in_new else DELETED
            fields.append(
                {
                    "Type": kind,
                    "Name": name,
                    "Old": value if in_old else "",
                    "New": value if in_new else "",
                    "Annotations": None,
                }
            )
        if not fields:
            return []
        kind = EDITED if any(f["Type"] != NONE for f in fields) else NONE
        if not old:
            kind = ADDED
        elif not new:
            kind = DELETED
        return [{"Type": kind, "Name": name, "Fields": fields, "Objects": None}]
    diffs = []
    unmatched_new = list(new)
    for item in old:
        match = _match(item, unmatched_new)
        if match is not None:
            unmatched_new.remove(match)
        diffs.extend(_object_diffs(name, item, match))
    for item in unmatched_new:
        diffs.extend(_object_diffs(name, None, item))
    return diffs


def _match(item: Any, candidates: list[Any]) -> Any:
    if item in candidates:
        return item
    if isinstance(item, dict):
        for key in ("Name", "DestPath", "Label", "LTarget"):
            if item.get(key):
                for candidate in candidates:
                    if isinstance(candidate, dict) and candidate.get(key) == item.get(key):
                        return candidate
    return None
