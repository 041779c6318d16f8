#!/usr/bin/python
"""Submit or remove one Nomad job of a preview, planned first and registered only on a change."""

from __future__ import annotations

DOCUMENTATION = r"""
module: preview_nomad_job
short_description: Submit or remove a Nomad job of a preview, planned before it is registered
description:
  - With O(state=present), sends the job to Nomad's parser, plans it with a diff and registers
    it only when the plan shows a difference, guarded by Nomad's modify index so a job changed by
    someone else in between is never overwritten. Then waits until the job is healthy.
  - With O(state=absent), stops and purges the job together with its periodic and dispatched
    children.
version_added: 0.1.0
author:
  - nomad-previews maintainers
extends_documentation_fragment:
  - nomad_previews.previews.nomad
attributes:
  check_mode:
    support: full
    description:
      - Plans the job and reports the plan without registering, or lists what would be removed.
  diff_mode:
    support: full
    description:
      - For O(state=present), the changed fields of Nomad's plan, old values before and new
        values after.
      - For O(state=absent), the jobs that are removed.
options:
  namespace:
    description:
      - Nomad namespace of the job. A job specification that names another namespace is refused.
    type: str
    required: true
  content:
    description:
      - The job specification, in the format given by O(content_format).
      - Required when O(state=present).
    type: str
  content_format:
    description:
      - V(hcl) sends O(content) to Nomad's own parser.
      - V(json) takes O(content) as the JSON of the job object, bare or wrapped in an object whose
        only key is C(Job), as C(nomad job run -output) prints it.
    type: str
    choices: [hcl, json]
    default: hcl
  job_id:
    description:
      - ID of the job. Required when O(state=absent).
      - When O(state=present), must equal the ID in O(content) if given.
    type: str
  state:
    description:
      - V(present) submits the job; V(absent) stops and purges it and its children.
    type: str
    choices: [present, absent]
    default: present
  wait:
    description:
      - Wait until the job is healthy after submitting it.
      - A service job is healthy once its deployment is successful; a batch job once its
        allocations started without failing. Periodic and parameterized parents have nothing to
        wait for.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait for the job to become healthy before failing.
    type: int
    default: 300
  volatile_meta:
    description:
      - Job meta keys whose change alone does not make the job differ, such as the time of the
        last push or the head commit.
      - When the job exists, the plan sees the stored values of these keys, so a change limited
        to them registers nothing; a job that differs otherwise is registered with the new values.
    type: list
    elements: str
    default: []
  enforce_index:
    description:
      - Register with the job modify index the plan saw, so the register fails if the job
        changed after the plan.
    type: bool
    default: true
  refuse_if_closing:
    description:
      - Read the namespace again just before registering and fail when its C(preview_state)
        metadata is C(closing), so an open racing a close adds no job the close has already
        listed.
    type: bool
    default: false
notes:
  - Change detection is Nomad's plan. The job is registered only when the plan's diff type is not
    C(None), so an unchanged job keeps its version and its allocations.
  - When O(wait=true) the job is checked even when nothing changed, so a job whose last
    deployment failed keeps failing the task until it is fixed.
  - On a failed health check the task fails with the task events of the failing allocations
    (event type and message), which is what CI logs show.
  - The job's parse, plan and register warnings are returned in RV(job_warnings) and shown as
    Ansible warnings.
  - O(content) is a string. To pass a job object built in a playbook, use O(content_format=json)
    with C({{ job | to_json }}).
  - Removal purges the job; a purged job is gone at once instead of waiting for Nomad's garbage
    collection, and a new job with the same ID starts again at version 0.
"""

EXAMPLES = r"""
- name: Submit the preview's worker and wait until it is healthy
  nomad_previews.previews.preview_nomad_job:
    nomad_addr: "{{ nomad_addr }}"
    nomad_token: "{{ nomad_token }}"
    namespace: preview-shop-pr-42
    content: "{{ lookup('ansible.builtin.file', worker_spec_path) }}"

- name: Submit a job given as JSON without waiting
  nomad_previews.previews.preview_nomad_job:
    nomad_addr: http://127.0.0.1:4646
    namespace: preview-shop-pr-42
    content: "{{ job_spec | to_json }}"
    content_format: json
    wait: false

- name: Remove a schedule and every run it launched
  nomad_previews.previews.preview_nomad_job:
    nomad_addr: http://127.0.0.1:4646
    namespace: preview-shop-pr-42
    job_id: shop-pr-42-cron-nightly-digest--1131db41
    state: absent
"""

RETURN = r"""
job_id:
  description: ID of the job.
  returned: always
  type: str
  sample: shop-pr-42-worker
namespace:
  description: Namespace of the job.
  returned: always
  type: str
  sample: preview-shop-pr-42
diff_type:
  description:
    - Type of Nomad's plan diff, V(Added), V(Edited) or V(None).
    - For O(state=absent), V(Deleted) when something was (or in check mode would be) removed,
      V(None) otherwise.
  returned: always
  type: str
  sample: Edited
registered:
  description: Whether the job was registered by this run.
  returned: always
  type: bool
  sample: true
version:
  description:
    - Version of the job stored in Nomad after this run; in check mode the current one.
    - V(null) when the job does not exist, and for O(state=absent).
  returned: always
  type: int
  sample: 3
job_modify_index:
  description:
    - Nomad's job modify index after the register, or the stored job's index when nothing was
      registered (0 for a new job).
  returned: when O(state=present)
  type: int
  sample: 1841
eval_id:
  description: ID of the evaluation the register created; V(null) when none was created.
  returned: when O(state=present)
  type: str
  sample: 5e6b2f0a-1d0c-4c4e-9d57-2b3f4bb0b1a9
plan:
  description:
    - What the plan does to each task group, from Nomad's C(DesiredTGUpdates), zero counts left out.
  returned: when O(state=present)
  type: dict
  sample: {"worker": {"DestructiveUpdate": 1}}
job_warnings:
  description: Warnings Nomad gave while planning and registering, one string each.
  returned: when O(state=present)
  type: list
  elements: str
  sample:
    - task "web" in group "web" defines services, but has no shutdown_delay set
healthy:
  description:
    - V(true) once the job was found healthy.
    - V(null) when not waited for, in check mode, for O(state=absent), and for periodic or
      parameterized parents.
  returned: always
  type: bool
  sample: true
removed:
  description:
    - IDs of the jobs removed (or, in check mode, that would be removed), the job first, then its
      children.
  returned: when O(state=absent)
  type: list
  elements: str
  sample:
    - shop-pr-42-cron-nightly-digest--1131db41
    - shop-pr-42-cron-nightly-digest--1131db41/periodic-1767225600
allocations:
  description: The failing allocations and their task events, when the job did not become healthy.
  returned: on a failed health check
  type: list
  elements: dict
  sample:
    - id: 0b3c2a1e-8d4f-4c1b-9e2a-7f6d5c4b3a21
      name: shop-pr-42-worker.worker[0]
      client_status: failed
      tasks:
        - task: worker
          state: dead
          failed: true
          events:
            - type: Driver Failure
              message: "Failed to pull `registry.example.com/acme/shop:bad`: manifest unknown"
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.nomad_previews.previews.plugins.module_utils import lifecycle
from ansible_collections.nomad_previews.previews.plugins.module_utils.nomad import (
    CONNECTION_ARGSPEC,
    CONNECTION_REQUIRED_TOGETHER,
    HAS_NOMAD,
    NOMAD_IMPORT_ERROR,
    nomad_client,
    run_by_state,
)

ARGUMENT_SPEC: dict[str, dict[str, Any]] = {
    **CONNECTION_ARGSPEC,
    "namespace": {"type": "str", "required": True},
    "content": {"type": "str"},
    "content_format": {"type": "str", "choices": ["hcl", "json"], "default": "hcl"},
    "job_id": {"type": "str"},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "wait": {"type": "bool", "default": True},
    "wait_timeout": {"type": "int", "default": 300},
    "volatile_meta": {"type": "list", "elements": "str", "default": []},
    "enforce_index": {"type": "bool", "default": True},
    "refuse_if_closing": {"type": "bool", "default": False},
}

ARGUMENT_RULES: dict[str, Any] = {
    "required_if": [("state", "present", ("content",)), ("state", "absent", ("job_id",))],
    "required_together": CONNECTION_REQUIRED_TOGETHER,
}


def present(module: AnsibleModule, client: Any, result: dict[str, Any]) -> None:
    """Parse, plan, register on a difference, wait; fills ``result`` as it goes."""
    params = module.params
    namespace = params["namespace"]

    parsed = lifecycle.parse_job(client, params["content"], namespace, params["content_format"])
    job = lifecycle.prepare_job(parsed, namespace, params["job_id"])
    result["job_id"] = job["ID"]

    outcome = lifecycle.plan_and_register(
        client,
        job,
        namespace,
        module.check_mode,
        params["enforce_index"],
        volatile_meta=params["volatile_meta"],
        refuse_closing=params["refuse_if_closing"],
    )
    result.update(
        changed=outcome["changed"],
        diff_type=outcome["diff_type"],
        registered=outcome["registered"],
        version=outcome["version"],
        job_modify_index=outcome["job_modify_index"],
        eval_id=outcome["eval_id"],
        plan=outcome["plan"],
        job_warnings=outcome["warnings"],
    )
    for warning in outcome["warnings"]:
        module.warn(f"Job '{job['ID']}' in namespace '{namespace}': {warning}")
    if module._diff and outcome["changed"]:
        result["diff"] = plan_diff(job["ID"], namespace, outcome)

    if params["wait"] and not module.check_mode:
        waited = lifecycle.wait_healthy(
            client, namespace, job["ID"], job.get("Type"), params["wait_timeout"]
        )
        result["healthy"] = True if waited["waited_for"] != "nothing" else None


def plan_diff(job_id: str, namespace: str, outcome: dict[str, Any]) -> dict[str, str]:
    """Ansible's before/after diff of the plan's changed fields."""
    before, after = lifecycle.diff_lines(outcome["diff"])
    summary = [
        f"# group {group}: {', '.join(f'{count} {kind}' for kind, count in counts.items())}"
        for group, counts in outcome["plan"].items()
        if counts
    ]
    return {
        "before_header": f"job '{job_id}' in namespace '{namespace}' (stored)",
        "after_header": f"job '{job_id}' in namespace '{namespace}' (plan: {outcome['diff_type']})",
        "before": "".join(f"{line}\n" for line in before),
        "after": "".join(f"{line}\n" for line in [*after, *summary]),
    }


def absent(module: AnsibleModule, client: Any, result: dict[str, Any]) -> None:
    """Stop and purge the job and its children; fills ``result``."""
    namespace = module.params["namespace"]
    job_id = module.params["job_id"]

    if module.check_mode:
        removed = lifecycle.find_job_family(client, namespace, job_id)
    else:
        removed = lifecycle.remove_job(client, namespace, job_id)

    result.update(
        changed=bool(removed), removed=removed, diff_type="Deleted" if removed else "None"
    )
    if module._diff and removed:
        result["diff"] = {
            "before_header": f"jobs in namespace '{namespace}'",
            "after_header": f"jobs in namespace '{namespace}'",
            "before": "".join(f"{job}\n" for job in removed),
            "after": "",
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
        "job_id": module.params["job_id"],
        "namespace": namespace,
        "diff_type": "None",
        "registered": False,
        "version": None,
        "healthy": None,
    }

    run_by_state(module, result, lambda: nomad_client(module.params, namespace), present, absent)


if __name__ == "__main__":
    main()
