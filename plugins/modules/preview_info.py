#!/usr/bin/python
"""List the previews running on Nomad, with their metadata, idle time and jobs."""

from __future__ import annotations

DOCUMENTATION = r"""
module: preview_info
short_description: List the previews on Nomad with their metadata, idle time and jobs
description:
  - Reads every preview namespace and its C(preview_*) metadata, computes how long each preview
    has been idle and whether its idle timeout has passed, and lists its jobs.
  - Two API calls in all, whatever the number of previews - one for the namespaces, one for the
    jobs of all of them.
version_added: 0.1.0
author:
  - nomad-previews maintainers
extends_documentation_fragment:
  - nomad_previews.previews.nomad
attributes:
  check_mode:
    support: full
    description: Read-only; runs the same in check mode.
  diff_mode:
    support: none
options:
  preview_id:
    description:
      - Return only the preview with this ID, such as V(shop-pr-42).
    type: str
  prefix:
    description:
      - Namespaces whose name starts with this prefix are previews.
    type: str
    default: preview-
  addresses:
    description:
      - Also read where each job of the preview runs - its allocations and the host address of
        each of their ports. Needs O(preview_id); two more API calls per allocation.
    type: bool
    default: false
notes:
  - Idle time counts from C(preview_last_activity_at), or C(preview_created_at) when that is
    missing. A preview whose times or idle timeout cannot be read has RV(previews[].idle_seconds)
    0 and is never RV(previews[].expired), so nothing is torn down on a guess.
  - The token needs C(list-jobs) on the preview namespaces; namespaces it cannot see are left out.
"""

EXAMPLES = r"""
- name: List every preview
  nomad_previews.previews.preview_info:
    nomad_addr: "{{ nomad_addr }}"
    nomad_token: "{{ nomad_token }}"
  register: previews

- name: Read one preview
  nomad_previews.previews.preview_info:
    nomad_addr: http://127.0.0.1:4646
    preview_id: shop-pr-42
  register: preview

- name: Show the previews past their idle timeout
  ansible.builtin.debug:
    msg: "{{ previews.previews | selectattr('expired') | map(attribute='preview_id') | list }}"
"""

RETURN = r"""
previews:
  description: One entry per preview namespace, sorted by namespace.
  returned: always
  type: list
  elements: dict
  contains:
    namespace:
      description: Name of the namespace.
      type: str
    preview_id:
      description: C(preview_id) metadata, or the namespace name without the prefix.
      type: str
    repo:
      description: C(preview_repo) metadata.
      type: str
    pr:
      description: C(preview_pr) metadata, as text.
      type: str
    sha:
      description: C(preview_sha) metadata.
      type: str
    branch:
      description: C(preview_branch) metadata.
      type: str
    state:
      description: C(preview_state) metadata, C(open) or C(closing).
      type: str
    created_at:
      description: C(preview_created_at) metadata, ISO 8601 in UTC.
      type: str
    last_activity_at:
      description: C(preview_last_activity_at) metadata, ISO 8601 in UTC.
      type: str
    create_index:
      description:
        - Nomad's raft index at the namespace's creation. It orders previews by when Nomad
          created them, which no clock on a CI runner can do.
      type: int
    idle_timeout:
      description: C(preview_idle_timeout) metadata, a Go duration such as C(48h).
      type: str
    idle_seconds:
      description: Whole seconds since the last activity.
      type: int
    expired:
      description: Whether the preview has been idle longer than its idle timeout.
      type: bool
    jobs:
      description: Jobs of the namespace, periodic and dispatched children included.
      type: list
      elements: dict
      contains:
        id:
          description: Job ID.
          type: str
        type:
          description: Job type, such as C(service) or C(batch).
          type: str
        status:
          description: Job status, C(pending), C(running) or C(dead).
          type: str
        parent_id:
          description: ID of the parent job of a periodic or dispatched child, else V(null).
          type: str
        allocations:
          description:
            - With O(addresses), the job's allocations that should run, with the host address
              of each port by label.
          type: list
          elements: dict
          returned: when O(addresses) is true
  sample:
    - namespace: preview-shop-pr-42
      preview_id: shop-pr-42
      repo: shop
      pr: "42"
      sha: 3f9c2e1
      branch: feature/checkout
      state: open
      created_at: "2026-12-01T09:00:00Z"
      last_activity_at: "2026-12-03T18:55:03Z"
      create_index: 1187
      idle_timeout: 48h
      idle_seconds: 5400
      expired: false
      jobs:
        - {id: shop-pr-42-worker, type: service, status: running, parent_id: null}
        - id: shop-pr-42-queue
          type: service
          status: running
          parent_id: null
          allocations:
            - {id: 0b7c1e4a, client_status: running, healthy: true, ports: {db: "10.0.0.7:24817"}}
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.nomad_previews.previews.plugins.module_utils import lifecycle
from ansible_collections.nomad_previews.previews.plugins.module_utils.nomad import (
    CONNECTION_ARGSPEC,
    CONNECTION_REQUIRED_TOGETHER,
    HAS_NOMAD,
    NOMAD_IMPORT_ERROR,
    NomadError,
    nomad_client,
)

ARGUMENT_SPEC: dict[str, dict[str, Any]] = {
    **CONNECTION_ARGSPEC,
    "preview_id": {"type": "str"},
    "prefix": {"type": "str", "default": lifecycle.PREVIEW_PREFIX},
    "addresses": {"type": "bool", "default": False},
}

ARGUMENT_RULES: dict[str, Any] = {
    "required_together": CONNECTION_REQUIRED_TOGETHER,
    "required_if": [("addresses", True, ("preview_id",))],
}


def main() -> None:
    run(AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True, **ARGUMENT_RULES))


def run(module: Any) -> None:
    """Do the module's work; ``module`` is an AnsibleModule or the controller's stand-in."""
    if not HAS_NOMAD:
        module.fail_json(msg=missing_required_lib("python-nomad"), exception=NOMAD_IMPORT_ERROR)
    preview_id = module.params["preview_id"]

    try:
        client = nomad_client(module.params)
        previews = lifecycle.list_previews(client, module.params["prefix"])
    except NomadError as exc:
        module.fail_json(msg=str(exc), previews=[])

    if preview_id:
        previews = [p for p in previews if p["preview_id"] == preview_id]
    try:
        for preview in previews if module.params["addresses"] else []:
            bound = nomad_client(module.params, preview["namespace"])
            for job in preview["jobs"]:
                job["allocations"] = lifecycle.job_addresses(bound, preview["namespace"], job["id"])
    except NomadError as exc:
        module.fail_json(msg=str(exc), previews=previews)
    module.exit_json(changed=False, previews=previews)


if __name__ == "__main__":
    main()
