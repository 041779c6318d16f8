#!/usr/bin/python
"""Write a preview's rendered files: job specs, Vault policy and PR summary (action plugin)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: preview_render
short_description: Write a preview's job specs, Vault policy and PR summary in one step
description:
  - Renders every Nomad job template of a preview, its Vault policy and its PR summary on the
    controller, lays out the HCL, and writes into O(dest) only the files whose content changed.
  - Runs on the controller as an action plugin; the files are the controller's, for the CI job
    that runs the playbook.
version_added: 0.1.0
author:
  - nomad-previews maintainers
attributes:
  check_mode:
    support: full
    description: Reports which files would change and writes nothing.
  diff_mode:
    support: full
    description: Shows each changed file before and after.
options:
  model:
    description:
      - The render model of the preview, as the C(preview_model) filter builds it.
    type: dict
    required: true
  summary:
    description:
      - The preview's summary, written as C(summary.json) and rendered into C(summary.md).
    type: dict
    required: true
  status:
    description:
      - The first line of the PR comment under its heading.
    type: str
    required: true
  templates:
    description:
      - Folder of the job templates (C(<component>.nomad.hcl.j2), C(vault-policy.hcl.j2),
        C(summary.md.j2) and C(macros.j2)).
    type: path
    required: true
  dest:
    description:
      - Folder that receives the files; created when missing.
    type: path
    required: true
  jobs:
    description:
      - Write the job specs and the Vault policy. V(false) writes only the summary files.
    type: bool
    default: true
notes:
  - Files of O(dest) that the preview no longer has (a schedule that was removed) are deleted,
    so the folder always holds exactly what would be submitted.
"""

EXAMPLES = r"""
- name: Render the preview's files
  nomad_previews.previews.preview_render:
    model: "{{ preview__model }}"
    summary: "{{ preview__summary }}"
    status: Rendered only, nothing was submitted to Nomad.
    templates: "{{ role_path }}/../../nomad_jobs"
    dest: build/previews/shop-pr-42
"""

RETURN = r"""
files:
  description: Every file the preview has, by name.
  returned: always
  type: list
  elements: str
  sample: [shop-pr-42-queue.nomad.hcl, vault-policy.hcl, summary.json, summary.md]
changed_files:
  description: The files written (or, in check mode, that would be written).
  returned: always
  type: list
  elements: str
jobs:
  description:
    - The preview's jobs (C(id), C(file), C(type), C(component)) with the C(content) of their
      rendered spec, so they can be submitted in check mode too, when no file was written.
  returned: always
  type: list
  elements: dict
removed_files:
  description: Files of an earlier render that the preview no longer has, deleted.
  returned: always
  type: list
  elements: str
"""

from typing import Any

ARGUMENT_SPEC: dict[str, dict[str, Any]] = {
    "model": {"type": "dict", "required": True},
    "summary": {"type": "dict", "required": True},
    "status": {"type": "str", "required": True},
    "templates": {"type": "path", "required": True},
    "dest": {"type": "path", "required": True},
    "jobs": {"type": "bool", "default": True},
}
