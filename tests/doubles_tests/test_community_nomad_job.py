"""community.general.nomad_job, run unchanged by ansible-playbook against the double."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from .jobspecs import service_hcl

pytestmark = pytest.mark.slow

PLAYBOOK = """
- name: Submit a job with community.general.nomad_job
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Ensure the job is registered
      community.general.nomad_job:
        host: "{{ nomad_host }}"
        port: "{{ nomad_port | int }}"
        use_ssl: false
        token: "{{ nomad_token | default(omit, true) }}"
        state: present
        content: "{{ lookup('ansible.builtin.file', job_file) }}"
        timeout: 10
      register: submitted

    - name: Save the result
      check_mode: false
      ansible.builtin.copy:
        content: "{{ submitted | to_json }}"
        dest: "{{ result_file }}"
        mode: "0600"
"""


def run_playbook(
    tmp_path: Path, address: str, token: str, job_hcl: str, check: bool
) -> dict[str, Any]:
    """Run the playbook once and return the module's registered result."""
    playbook = tmp_path / "submit.yml"
    playbook.write_text(PLAYBOOK)
    job_file = tmp_path / "job.nomad.hcl"
    job_file.write_text(job_hcl)
    result_file = tmp_path / f"result-{uuid.uuid4().hex}.json"
    target = urlsplit(address)
    extra = {
        "nomad_host": target.hostname,
        "nomad_port": target.port,
        "nomad_token": token,
        "job_file": str(job_file),
        "result_file": str(result_file),
        "ansible_python_interpreter": sys.executable,
    }
    command = [
        str(Path(sys.executable).with_name("ansible-playbook")),
        "-i",
        "localhost,",
        "-c",
        "local",
        str(playbook),
        "-e",
        json.dumps(extra),
    ]
    if check:
        command.append("--check")
    environment = {
        **os.environ,
        "ANSIBLE_CONFIG": str(tmp_path / "none.cfg"),
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp"),
        "ANSIBLE_HOME": str(tmp_path / "home"),
        "ANSIBLE_NOCOLOR": "1",
    }
    completed = subprocess.run(
        command,
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return json.loads(result_file.read_text())


@pytest.fixture
def ansible_available() -> None:
    if shutil.which("ansible-playbook", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("ansible-playbook is not installed next to this Python")


def test_check_mode_plans_without_registering(
    ansible_available: None, nomad_double: Any, tmp_path: Path
) -> None:
    job_id = f"ansible-{uuid.uuid4().hex[:8]}"

    result = run_playbook(
        tmp_path,
        nomad_double.address,
        nomad_double.management_token,
        service_hcl(job_id),
        check=True,
    )

    assert result["changed"] is True
    assert result["result"]["Diff"]["Type"] == "Added"
    probe = _get(nomad_double.address, f"/v1/job/{job_id}", nomad_double.management_token)
    assert probe.status_code == 404


def test_present_registers_then_a_rerun_changes_nothing(
    ansible_available: None, nomad_double: Any, tmp_path: Path
) -> None:
    job_id = f"ansible-{uuid.uuid4().hex[:8]}"
    spec = service_hcl(job_id)

    first = run_playbook(
        tmp_path, nomad_double.address, nomad_double.management_token, spec, check=False
    )
    second = run_playbook(
        tmp_path, nomad_double.address, nomad_double.management_token, spec, check=False
    )

    assert first["changed"] is True
    assert first["result"]["EvalID"]
    assert second["changed"] is False
    stored = _get(nomad_double.address, f"/v1/job/{job_id}", nomad_double.management_token).json()
    assert stored["Version"] == 0
    assert stored["Meta"]["preview_id"] == "shop-pr-42"
    _delete(nomad_double.address, f"/v1/job/{job_id}?purge=true", nomad_double.management_token)


def test_present_with_a_changed_image_registers_a_new_version(
    ansible_available: None, nomad_double: Any, tmp_path: Path
) -> None:
    job_id = f"ansible-{uuid.uuid4().hex[:8]}"
    token = nomad_double.management_token
    run_playbook(tmp_path, nomad_double.address, token, service_hcl(job_id), check=False)

    changed = run_playbook(
        tmp_path,
        nomad_double.address,
        token,
        service_hcl(job_id, image="ghcr.io/acme/shop:1.1"),
        check=False,
    )

    assert changed["changed"] is True
    stored = _get(nomad_double.address, f"/v1/job/{job_id}", token).json()
    assert stored["Version"] == 1
    assert stored["TaskGroups"][0]["Tasks"][0]["Config"]["image"] == "ghcr.io/acme/shop:1.1"
    _delete(nomad_double.address, f"/v1/job/{job_id}?purge=true", token)


def _get(address: str, path: str, token: str) -> Any:
    return requests.get(
        address + path, headers={"X-Nomad-Token": token} if token else {}, timeout=5
    )


def _delete(address: str, path: str, token: str) -> Any:
    return requests.delete(
        address + path, headers={"X-Nomad-Token": token} if token else {}, timeout=5
    )
