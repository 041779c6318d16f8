"""The preview_state lookup reads what the namespace meta says about a preview."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import run_playbook

PLAY = """\
- name: Read preview state
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Print the state of one preview that exists and one that does not
      ansible.builtin.debug:
        msg: "{{ lookup('nomad_previews.previews.preview_state', 'shop-pr-42', 'gone-pr-1',
                        wantlist=true) | to_json }}"
"""


@pytest.mark.slow
def test_lookup_returns_the_meta_of_existing_previews_and_nothing_else(
    nomad_double: Any, tmp_path: Path
) -> None:
    meta = {
        "preview_id": "shop-pr-42",
        "preview_repo": "shop",
        "preview_pr": "42",
        "preview_state": "open",
        "preview_last_activity_at": "2026-12-01T09:00:00Z",
        "preview_idle_timeout": "48h",
    }
    created = requests.post(
        f"{nomad_double.address}/v1/namespace/preview-shop-pr-42",
        json={"Name": "preview-shop-pr-42", "Meta": meta},
        timeout=5,
    )
    assert created.status_code == 200
    playbook = tmp_path / "playbooks" / "state.yml"
    playbook.parent.mkdir()
    playbook.write_text(PLAY)

    result = run_playbook(
        "state.yml",
        "-e",
        "ansible_callback_format_pretty=false",
        cwd=tmp_path,
        env={"NOMAD_ADDR": nomad_double.address, "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json"},
    )

    output = json.loads(result.stdout)
    (task,) = output["plays"][0]["tasks"]
    found = json.loads(task["hosts"]["localhost"]["msg"])
    assert [entry.get("preview_id") for entry in found] == ["shop-pr-42", None]
    assert found[0]["state"] == "open"
    assert found[0]["repo"] == "shop"
    assert found[1] == {}
