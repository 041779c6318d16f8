"""Render a preview's files on the controller and write only what changed."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.plugins.loader import lookup_loader

from ansible_collections.nomad_previews.previews.plugins.module_utils.hcl_format import format_hcl
from ansible_collections.nomad_previews.previews.plugins.modules.preview_render import (
    ARGUMENT_SPEC,
)

# Files a render writes besides one spec per job; anything else in the folder is left alone.
OWN_SUFFIX = ".nomad.hcl"


class ActionModule(ActionBase):  # type: ignore[misc]  # ActionBase is untyped
    """Render every file of a preview in one pass, with check and diff mode."""

    TRANSFERS_FILES = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result: dict[str, Any] = super().run(tmp, task_vars)
        _, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        variables = task_vars or {}
        templates = Path(args["templates"])
        dest = Path(args["dest"])
        model = args["model"]

        wanted: dict[str, str] = {}
        if args["jobs"]:
            for job in model["jobs"]:
                text = self._render(templates / job["template"], variables, model=model, job=job)
                wanted[job["file"]] = format_hcl(text)
            policy = self._render(templates / "vault-policy.hcl.j2", variables, model=model)
            wanted["vault-policy.hcl"] = format_hcl(policy)
        wanted["summary.json"] = json.dumps(args["summary"], indent=2, sort_keys=True) + "\n"
        wanted["summary.md"] = self._render(
            templates / "summary.md.j2", variables, summary=args["summary"], status=args["status"]
        )

        current = {path.name: path.read_text() for path in _own_files(dest, args["jobs"])}
        changed = sorted(name for name, text in wanted.items() if current.get(name) != text)
        removed = sorted(set(current) - set(wanted)) if args["jobs"] else []

        if not self._task.check_mode:
            dest.mkdir(parents=True, exist_ok=True)
            for name in changed:
                _write(dest / name, wanted[name])
            for name in removed:
                (dest / name).unlink()

        result.update(
            jobs=[
                {**job, "content": wanted[job["file"]]}
                for job in (model["jobs"] if args["jobs"] else [])
            ],
            changed=bool(changed or removed),
            files=sorted(wanted),
            changed_files=changed,
            removed_files=removed,
        )
        if self._task.diff:
            result["diff"] = [
                {
                    "before_header": str(dest / name),
                    "after_header": str(dest / name),
                    "before": current.get(name, ""),
                    "after": wanted.get(name, ""),
                }
                for name in [*changed, *removed]
            ]
        return result

    def _render(self, path: Path, variables: dict[str, Any], **template_vars: Any) -> str:
        """Render one template through Ansible's template lookup (it honours #jinja2 headers)."""
        if not path.is_file():
            raise AnsibleActionFail(f"Template {path} does not exist")
        lookup = lookup_loader.get(
            "ansible.builtin.template", loader=self._loader, templar=self._templar
        )
        rendered: list[str] = lookup.run([str(path)], variables, template_vars=template_vars)
        return rendered[0]


def _own_files(dest: Path, jobs: bool) -> list[Path]:
    """The files of ``dest`` that a render wrote and may rewrite or remove."""
    if not dest.is_dir():
        return []
    names = {"summary.json", "summary.md"}
    if jobs:
        names.add("vault-policy.hcl")
    return [
        path
        for path in dest.iterdir()
        if path.is_file() and (path.name in names or (jobs and path.name.endswith(OWN_SUFFIX)))
    ]


def _write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file, so a reader never sees half of it."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text)
    os.chmod(partial, 0o644)
    partial.replace(path)
