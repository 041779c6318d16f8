#!/usr/bin/python
"""Create, update or tear down the Nomad namespace of a preview."""

from __future__ import annotations

DOCUMENTATION = r"""
module: preview_namespace
short_description: Create, update or tear down the Nomad namespace of a preview
description:
  - With O(state=present), creates the namespace or updates its description and metadata,
    writing only when they differ from what Nomad holds.
  - With O(state=absent), tears the preview down - marks the namespace closing, stops and purges
    every job of it, periodic and dispatched children included, deletes its variables, then
    deletes the namespace - and returns a receipt of what was removed. Whatever an open racing
    the teardown adds meanwhile is removed too.
version_added: 0.1.0
author:
  - nomad-previews maintainers
extends_documentation_fragment:
  - nomad_previews.previews.nomad
attributes:
  check_mode:
    support: full
    description:
      - Reports the namespace it would write, or the jobs and variables a teardown would remove,
        without changing anything.
  diff_mode:
    support: full
    description:
      - Description and metadata before and after; for O(state=absent), the jobs and variables
        removed.
options:
  name:
    description:
      - Name of the namespace, such as V(preview-shop-pr-42).
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the namespace; V(absent) tears it down with everything in it.
    type: str
    choices: [present, absent]
    default: present
  meta:
    description:
      - Metadata to write, such as the C(preview_*) keys the garbage collector reads.
      - Values must be strings; numbers are written as their decimal text.
    type: dict
  meta_mode:
    description:
      - V(merge) adds O(meta) to the keys the namespace already has, replacing equal keys.
      - V(replace) makes O(meta) the whole metadata of the namespace.
    type: str
    choices: [merge, replace]
    default: merge
  description:
    description:
      - Description of the namespace; left as it is when not given.
    type: str
  refuse_if_closing:
    description:
      - Fail when the existing namespace's C(preview_state) metadata is C(closing), so a run that
        opens or updates a preview never races the run that tears it down.
    type: bool
    default: false
  teardown_timeout:
    description:
      - With O(state=absent), seconds to keep retrying the namespace delete while Nomad still
        reports jobs, allocations or variables in it.
    type: int
    default: 120
notes:
  - Writing a namespace needs a Nomad management token; with a narrower token the task fails
    with a message saying so.
  - Teardown is idempotent. A namespace that does not exist gives an empty receipt and
    C(changed=false); a preview left half-created by a failed run is torn down like any other.
  - An update sends the namespace's other settings (capabilities, quota, node pool, Vault and
    Consul configuration) back as Nomad holds them, so they are kept.
"""

EXAMPLES = r"""
- name: Ensure the preview namespace exists, refusing a preview that is being closed
  nomad_previews.previews.preview_namespace:
    nomad_addr: "{{ nomad_addr }}"
    nomad_token: "{{ nomad_management_token }}"
    name: preview-shop-pr-42
    description: Preview of shop pull request 42
    refuse_if_closing: true
    meta:
      preview_id: shop-pr-42
      preview_repo: shop
      preview_pr: "42"
      preview_state: open
      preview_idle_timeout: 48h
      preview_last_activity_at: "2026-12-03T18:55:03Z"

- name: Mark the preview as closing before tearing it down
  nomad_previews.previews.preview_namespace:
    nomad_addr: "{{ nomad_addr }}"
    nomad_token: "{{ nomad_management_token }}"
    name: preview-shop-pr-42
    meta:
      preview_state: closing

- name: Tear the preview down
  nomad_previews.previews.preview_namespace:
    nomad_addr: "{{ nomad_addr }}"
    nomad_token: "{{ nomad_management_token }}"
    name: preview-shop-pr-42
    state: absent
  register: preview_teardown
"""

RETURN = r"""
name:
  description: Name of the namespace.
  returned: always
  type: str
  sample: preview-shop-pr-42
namespace:
  description:
    - The namespace as written, or in check mode as it would be written.
  returned: when O(state=present)
  type: dict
  contains:
    name:
      description: Name of the namespace.
      type: str
    description:
      description: Description of the namespace.
      type: str
    meta:
      description: Metadata of the namespace.
      type: dict
  sample:
    name: preview-shop-pr-42
    description: Preview of shop pull request 42
    meta: {"preview_id": "shop-pr-42", "preview_state": "open"}
receipt:
  description:
    - What the teardown removed. In check mode, the jobs and variables it would remove, with
      C(namespace_deleted) false.
  returned: when O(state=absent)
  type: dict
  contains:
    namespace:
      description: Name of the namespace.
      type: str
    jobs:
      description: IDs of the jobs stopped and purged, parents before children.
      type: list
      elements: str
    variables:
      description: Paths of the variables deleted.
      type: list
      elements: str
    namespace_deleted:
      description: Whether this run deleted the namespace.
      type: bool
  sample:
    namespace: preview-shop-pr-42
    jobs: [shop-pr-42-queue, shop-pr-42-worker]
    variables: [nomad/jobs/shop-pr-42-worker]
    namespace_deleted: true
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.nomad_previews.previews.plugins.module_utils import lifecycle
from ansible_collections.nomad_previews.previews.plugins.module_utils.nomad import (
    CONNECTION_ARGSPEC,
    CONNECTION_REQUIRED_TOGETHER,
    HAS_NOMAD,
    NOMAD_IMPORT_ERROR,
    NomadApiError,
    NomadError,
    nomad_client,
    run_by_state,
)

ARGUMENT_SPEC: dict[str, dict[str, Any]] = {
    **CONNECTION_ARGSPEC,
    "name": {"type": "str", "required": True},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "meta": {"type": "dict"},
    "meta_mode": {"type": "str", "choices": ["merge", "replace"], "default": "merge"},
    "description": {"type": "str"},
    "refuse_if_closing": {"type": "bool", "default": False},
    "teardown_timeout": {"type": "int", "default": lifecycle.DEFAULT_TEARDOWN_TIMEOUT},
}

MANAGEMENT_HINT = (
    " Writing or deleting a namespace needs a Nomad management token; give one in nomad_token, "
    "or use a shared namespace that CI's token is confined to."
)

ARGUMENT_RULES: dict[str, Any] = {"required_together": CONNECTION_REQUIRED_TOGETHER}


def meta_strings(meta: dict[str, Any] | None) -> dict[str, str] | None:
    """``meta`` with every value as a string; numbers become their text, anything else fails."""
    if meta is None:
        return None
    out = {}
    for key, value in meta.items():
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise NomadError(
                f"meta value of '{key}' must be a string, got {type(value).__name__}: {value!r}"
            )
        out[str(key)] = str(value)
    return out


def present(module: AnsibleModule, client: Any, result: dict[str, Any]) -> None:
    """Create or update the namespace when its description or metadata differ."""
    params = module.params
    name = params["name"]
    meta = meta_strings(params["meta"])

    existing = lifecycle.read_namespace(client, name)
    if params["refuse_if_closing"]:
        lifecycle.check_not_closing(existing, name, "open or update it")
    current_meta: dict[str, str] = dict((existing or {}).get("Meta") or {})

    wanted_meta = current_meta if meta is None else meta
    if meta is not None and params["meta_mode"] == "merge":
        wanted_meta = {**current_meta, **meta}
    current_description = (existing or {}).get("Description") or ""
    wanted_description = params["description"]
    if wanted_description is None:
        wanted_description = current_description
    changed = (
        existing is None or wanted_meta != current_meta or wanted_description != current_description
    )

    result["changed"] = changed
    result["namespace"] = {"name": name, "description": wanted_description, "meta": wanted_meta}
    if module._diff and changed:
        result["diff"] = {
            "before_header": f"namespace '{name}'",
            "after_header": f"namespace '{name}'",
            "before": "" if existing is None else _text(current_description, current_meta),
            "after": _text(wanted_description, wanted_meta),
        }
    if not changed or module.check_mode:
        return

    try:
        lifecycle.write_namespace(client, name, wanted_description, wanted_meta, existing)
    except NomadApiError as exc:
        if exc.status == 403:
            raise NomadError(f"{exc}.{MANAGEMENT_HINT}") from exc
        raise


def _text(description: str, meta: dict[str, str]) -> str:
    lines = [f"description = {description!r}"]
    lines.extend(f"meta.{key} = {value!r}" for key, value in sorted(meta.items()))
    return "".join(f"{line}\n" for line in lines)


def absent(module: AnsibleModule, client: Any, result: dict[str, Any]) -> None:
    """Tear the namespace down, or in check mode list what a teardown would remove."""
    name = module.params["name"]

    if module.check_mode:
        receipt: dict[str, Any] = {
            "namespace": name,
            "jobs": [],
            "variables": [],
            "namespace_deleted": False,
        }
        exists = lifecycle.read_namespace(client, name) is not None
        if exists:
            jobs = lifecycle.list_namespace_jobs(client, name)
            ordered = sorted(jobs, key=lambda stub: (bool(stub.get("ParentID")), stub["ID"]))
            receipt["jobs"] = [stub["ID"] for stub in ordered]
            receipt["variables"] = lifecycle.list_namespace_variables(client, name)
        changed = exists
    else:
        try:
            receipt = lifecycle.teardown_namespace(client, name, module.params["teardown_timeout"])
        except NomadApiError as exc:
            if exc.status == 403:
                raise NomadError(f"{exc}.{MANAGEMENT_HINT}") from exc
            raise
        changed = bool(receipt["namespace_deleted"] or receipt["jobs"] or receipt["variables"])

    result["changed"] = changed
    result["receipt"] = receipt
    if module._diff and changed:
        removed = [f"job {job}" for job in receipt["jobs"]]
        removed += [f"variable {path}" for path in receipt["variables"]]
        result["diff"] = {
            "before_header": f"namespace '{name}'",
            "after_header": f"namespace '{name}' (removed)",
            "before": "".join(f"{line}\n" for line in [f"namespace {name}", *removed]),
            "after": "",
        }


def main() -> None:
    run(AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True, **ARGUMENT_RULES))


def run(module: Any) -> None:
    """Do the module's work; ``module`` is an AnsibleModule or the controller's stand-in."""
    if not HAS_NOMAD:
        module.fail_json(msg=missing_required_lib("python-nomad"), exception=NOMAD_IMPORT_ERROR)
    name = module.params["name"]
    result: dict[str, Any] = {"changed": False, "name": name}

    run_by_state(module, result, lambda: nomad_client(module.params, name), present, absent)


if __name__ == "__main__":
    main()
