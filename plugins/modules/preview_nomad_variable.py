#!/usr/bin/python
"""Create, update or delete one Nomad variable of a preview, such as a job's credentials."""

from __future__ import annotations

DOCUMENTATION = r"""
module: preview_nomad_variable
short_description: Create, update or delete a Nomad variable of a preview
description:
  - With O(state=present), writes the variable at O(path) in O(namespace) when it is missing,
    or, with O(overwrite=true), when its items differ from O(items). Writes are guarded by the
    variable's modify index, so a write racing another one fails instead of overwriting it.
  - With O(state=absent), deletes the variable; a variable already gone is success with no
    change.
  - A variable at C(nomad/jobs/<job id>) is readable by the tasks of that job through their
    workload identity, without any ACL policy, so a job spec can name it in a C(template) block
    instead of carrying the values.
version_added: 0.1.0
author:
  - nomad-previews maintainers
extends_documentation_fragment:
  - nomad_previews.previews.nomad
attributes:
  check_mode:
    support: full
    description:
      - Reads the variable and reports whether it would be written or deleted, writing nothing.
  diff_mode:
    support: full
    description:
      - The names of the items before and after; item values are never shown.
options:
  namespace:
    description:
      - Nomad namespace of the variable.
    type: str
    required: true
  path:
    description:
      - Path of the variable, such as V(nomad/jobs/shop-pr-42-inbox).
    type: str
    required: true
  items:
    description:
      - The variable's items, names to string values.
      - Never shown in any output; the module returns the item names only.
    type: dict
    default: {}
  generated:
    description:
      - Names of items that get a random value of 32 letters and digits when the variable is
        written, such as a password a job and its reviewers share. An item the stored variable
        already has keeps its value.
      - The values are never shown in any output.
    type: list
    elements: str
    default: []
  overwrite:
    description:
      - V(false) writes the variable only when it does not exist, so it keeps its generated
        values on every run.
      - V(true) also rewrites an existing variable whose items differ from O(items), or that
        lacks one of O(generated).
    type: bool
    default: false
  state:
    description:
      - V(present) writes the variable; V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
notes:
  - Nomad limits a variable to 64 KiB in all and its path to letters, digits, C(-), C(_), C(~) and
    C(/).
"""

EXAMPLES = r"""
- name: Give the preview inbox a reviewer password, generated once
  nomad_previews.previews.preview_nomad_variable:
    namespace: preview-shop-pr-42
    path: nomad/jobs/shop-pr-42-inbox
    items:
      username: reviewer
    generated: [password]

- name: Remove the inbox credentials
  nomad_previews.previews.preview_nomad_variable:
    namespace: preview-shop-pr-42
    path: nomad/jobs/shop-pr-42-inbox
    state: absent
"""

RETURN = r"""
path:
  description: Path of the variable.
  returned: always
  type: str
  sample: nomad/jobs/shop-pr-42-inbox
namespace:
  description: Namespace of the variable.
  returned: always
  type: str
  sample: preview-shop-pr-42
keys:
  description: Names of the variable's items after the run; empty when it does not exist.
  returned: always
  type: list
  elements: str
  sample: [password, username]
"""

import secrets
import string
from collections.abc import Mapping, Sequence
from typing import Any

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.nomad_previews.previews.plugins.module_utils.nomad import (
    CONNECTION_ARGSPEC,
    CONNECTION_REQUIRED_TOGETHER,
    HAS_NOMAD,
    NOMAD_IMPORT_ERROR,
    NomadApiError,
    NomadError,
    api_call,
    nomad_client,
    read_or_none,
    run_by_state,
)

ARGUMENT_SPEC: dict[str, dict[str, Any]] = {
    **CONNECTION_ARGSPEC,
    "namespace": {"type": "str", "required": True},
    "path": {"type": "str", "required": True, "no_log": False},
    "items": {"type": "dict", "no_log": True, "default": {}},
    "generated": {"type": "list", "elements": "str", "default": [], "no_log": False},
    "overwrite": {"type": "bool", "default": False},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
}

ARGUMENT_RULES: dict[str, Any] = {
    "required_if": [("state", "present", ("items", "generated"), True)],
    "required_together": CONNECTION_REQUIRED_TOGETHER,
}
GENERATED_LENGTH = 32
GENERATED_ALPHABET = string.ascii_letters + string.digits


def read_variable(client: Any, namespace: str, path: str) -> dict[str, Any] | None:
    """The stored variable with its items (GET /v1/var/:path), or None when it is missing."""
    found: dict[str, Any] | None = read_or_none(
        lambda: client.variable.get_variable(path, namespace=namespace),
        f"variable '{path}'",
        namespace,
    )
    return found


def item_strings(items: Mapping[str, Any]) -> dict[str, str]:
    """``items`` with string values, as Nomad stores them; anything else but numbers fails."""
    out: dict[str, str] = {}
    for key, value in items.items():
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise NomadError(f"item '{key}' must be a string, got {type(value).__name__}")
        out[str(key)] = str(value)
    return out


def generate(names: Sequence[str], stored: Mapping[str, str]) -> dict[str, str]:
    """A value for each of ``names``: the stored one when there is one, else a random one."""
    return {
        name: stored.get(name)
        or "".join(secrets.choice(GENERATED_ALPHABET) for _ in range(GENERATED_LENGTH))
        for name in names
    }


def present(module: AnsibleModule, client: Any, result: dict[str, Any]) -> None:
    """Write the variable when it is missing, or differs and may be overwritten."""
    params = module.params
    namespace, path = params["namespace"], params["path"]
    fixed = item_strings(params["items"])

    stored = read_variable(client, namespace, path)
    stored_items: dict[str, str] = dict((stored or {}).get("Items") or {})
    items = {**fixed, **generate(params["generated"], stored_items)}
    changed = stored is None or (params["overwrite"] and stored_items != items)

    result["changed"] = changed
    result["keys"] = sorted(items if changed else stored_items)
    if module._diff and changed:
        result["diff"] = key_diff(path, namespace, stored_items if stored else None, items)
    if not changed or module.check_mode:
        return

    cas = 0 if stored is None else int(stored["ModifyIndex"])
    try:
        with api_call("writing", f"variable '{path}'", namespace):
            client.variable.create_variable(
                path, {"Path": path, "Items": items}, namespace=namespace, cas=cas
            )
    except NomadApiError as exc:
        if exc.status == 409:
            # Nomad answers a conflict with the stored variable, values included: drop it.
            raise NomadError(
                f"Variable '{path}' in namespace '{namespace}' was written by someone else "
                "during this run, so it was left as they wrote it; run again to compare "
                "against it"
            ) from None
        raise


def absent(module: AnsibleModule, client: Any, result: dict[str, Any]) -> None:
    """Delete the variable when it exists."""
    namespace, path = module.params["namespace"], module.params["path"]

    stored = read_variable(client, namespace, path)
    result["changed"] = stored is not None
    result["keys"] = []
    if module._diff and stored is not None:
        result["diff"] = key_diff(path, namespace, dict(stored.get("Items") or {}), None)
    if stored is None or module.check_mode:
        return

    with api_call("deleting", f"variable '{path}'", namespace):
        client.variable.delete_variable(path, namespace=namespace)


def key_diff(
    path: str, namespace: str, before: Mapping[str, str] | None, after: Mapping[str, str] | None
) -> dict[str, str]:
    """Ansible's diff of a variable by item names; values are never shown."""

    def text(items: Mapping[str, str] | None) -> str:
        return "" if items is None else "".join(f"{key} = (hidden)\n" for key in sorted(items))

    header = f"variable '{path}' in namespace '{namespace}'"
    return {
        "before_header": header,
        "after_header": header,
        "before": text(before),
        "after": text(after),
    }


def main() -> None:
    run(AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True, **ARGUMENT_RULES))


def run(module: Any) -> None:
    """Do the module's work; ``module`` is an AnsibleModule or the controller's stand-in."""
    if not HAS_NOMAD:
        module.fail_json(msg=missing_required_lib("python-nomad"), exception=NOMAD_IMPORT_ERROR)
    namespace = module.params["namespace"]
    result: dict[str, Any] = {
        "changed": False,
        "path": module.params["path"],
        "namespace": namespace,
        "keys": [],
    }

    run_by_state(module, result, lambda: nomad_client(module.params, namespace), present, absent)


if __name__ == "__main__":
    main()
