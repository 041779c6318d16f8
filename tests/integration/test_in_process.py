"""The Nomad modules run in the controller's process on a local connection, as shipped ones do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import run_playbook

SENTINEL = "s3cr3t-token-sentinel-never-printed"

PLAY = """\
- name: Use the Nomad modules in process
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Ensure a namespace exists
      nomad_previews.previews.preview_namespace:
        name: preview-inproc-pr-1
        meta: {preview_id: inproc-pr-1, preview_state: open}
      register: created

    - name: Ensure it exists again
      nomad_previews.previews.preview_namespace:
        name: preview-inproc-pr-1
        meta: {preview_id: inproc-pr-1, preview_state: open}
      register: again

    - name: Check the first run changed it and the second did not
      ansible.builtin.assert:
        that:
          - created is changed
          - again is not changed

    - name: Submit a job spec that does not parse
      block:
        - name: Ensure a broken job spec runs
          nomad_previews.previews.preview_nomad_job:
            namespace: preview-inproc-pr-1
            content: "job {"

        - name: Stop here, the broken spec was accepted
          ansible.builtin.fail:
            msg: accepted
      rescue:
        - name: Check the failure names the job spec error
          ansible.builtin.assert:
            that:
              - "'Failed to parse job' in ansible_failed_result.msg"
"""


@pytest.mark.slow
def test_modules_run_in_process_with_check_diff_and_no_token_in_output(
    nomad_double: Any, tmp_path: Path
) -> None:
    playbook = tmp_path / "playbooks" / "in_process.yml"
    playbook.parent.mkdir()
    playbook.write_text(PLAY)

    result = run_playbook(
        "in_process.yml",
        "-vvv",
        cwd=tmp_path,
        env={"NOMAD_ADDR": nomad_double.address, "NOMAD_TOKEN": SENTINEL},
    )

    assert "failed=0" in result.stdout
    assert SENTINEL not in result.stdout + result.stderr
    answer = requests.get(f"{nomad_double.address}/v1/namespace/preview-inproc-pr-1", timeout=5)
    assert answer.status_code == 200
    assert answer.json()["Meta"]["preview_state"] == "open"
