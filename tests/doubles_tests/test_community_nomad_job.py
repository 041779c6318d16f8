"""community.general's Nomad job modules, run unchanged by ansible-playbook against the double."""

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
from .polling import until

pytestmark = pytest.mark.slow


def kept_outcome_playbook(play: str, task: str, module: str, options: list[str]) -> str:
    """A play that runs one community.general module against the double and saves its answer.

    A failure is kept as the answer, so a test can assert on what the module refused.
    ``options`` are the module's own option lines, after the connection options.
    """
    lines = "".join(f"            {line}\n" for line in options)
    return f"""
- name: {play}
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Run the module and keep its answer, a failure included
      block:
        - name: {task}
          community.general.{module}:
            host: "{{{{ nomad_host }}}}"
            port: "{{{{ nomad_port | int }}}}"
            use_ssl: false
            token: "{{{{ nomad_token | default(omit, true) }}}}"
            timeout: 10
{lines}          register: outcome
      rescue:
        - name: Keep the failure
          ansible.builtin.set_fact:
            outcome: "{{{{ ansible_failed_result }}}}"

    - name: Save the result
      check_mode: false
      ansible.builtin.copy:
        content: "{{{{ outcome | to_json }}}}"
        dest: "{{{{ result_file }}}}"
        mode: "0600"
"""


NAME_OPTION = 'name: "{{ job_name | default(omit, true) }}"'
JOB_PLAYBOOK = kept_outcome_playbook(
    "Apply a job's state with community.general.nomad_job",
    "Ensure the job is in the wanted state",
    "nomad_job",
    [
        'state: "{{ job_state }}"',
        "content: \"{{ lookup('ansible.builtin.file', job_file) if job_file else omit }}\"",
        NAME_OPTION,
    ],
)
INFO_PLAYBOOK = kept_outcome_playbook(
    "Read jobs with community.general.nomad_job_info",
    "Read the jobs",
    "nomad_job_info",
    [NAME_OPTION],
)


def run_playbook(
    tmp_path: Path,
    address: str,
    token: str,
    job_hcl: str = "",
    check: bool = False,
    state: str = "present",
    name: str = "",
    playbook_text: str = JOB_PLAYBOOK,
    fails: bool = False,
) -> dict[str, Any]:
    """Run the playbook once and return the module's registered result.

    `fails` says whether the module is expected to fail; its failure is kept, not raised.
    """
    playbook = tmp_path / f"play-{uuid.uuid4().hex}.yml"
    playbook.write_text(playbook_text)
    job_file = tmp_path / f"job-{uuid.uuid4().hex}.nomad.hcl"
    job_file.write_text(job_hcl)
    result_file = tmp_path / f"result-{uuid.uuid4().hex}.json"
    target = urlsplit(address)
    extra = {
        "nomad_host": target.hostname,
        "nomad_port": target.port,
        "nomad_token": token,
        "job_state": state,
        "job_file": str(job_file) if job_hcl else "",
        "job_name": name,
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
    result: dict[str, Any] = json.loads(result_file.read_text())
    assert bool(result.get("failed")) is fails, result
    return result


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
        service_hcl(job_id, image="registry.example.com/acme/shop:1.1"),
        check=False,
    )

    assert changed["changed"] is True
    stored = _get(nomad_double.address, f"/v1/job/{job_id}", token).json()
    assert stored["Version"] == 1
    assert (
        stored["TaskGroups"][0]["Tasks"][0]["Config"]["image"]
        == "registry.example.com/acme/shop:1.1"
    )
    _delete(nomad_double.address, f"/v1/job/{job_id}?purge=true", token)


def test_absent_stops_the_job_without_purging_then_changes_nothing(
    ansible_available: None, nomad_double: Any, tmp_path: Path
) -> None:
    job_id = f"ansible-{uuid.uuid4().hex[:8]}"
    token = nomad_double.management_token
    spec = service_hcl(job_id)
    run_playbook(tmp_path, nomad_double.address, token, spec)

    stopped = run_playbook(tmp_path, nomad_double.address, token, spec, state="absent")
    kept = _get(nomad_double.address, f"/v1/job/{job_id}", token)
    dead = until(
        lambda: _get(nomad_double.address, f"/v1/job/{job_id}", token).json(),
        lambda job: job["Status"] == "dead",
    )
    again = run_playbook(tmp_path, nomad_double.address, token, spec, state="absent")

    assert stopped["changed"] is True
    assert stopped["result"]["EvalID"]
    assert kept.status_code == 200
    assert kept.json()["Stop"] is True
    assert dead["Status"] == "dead"
    assert again["changed"] is False
    assert again["result"]["ID"] == job_id
    assert again["result"]["Stop"] is True
    _delete(nomad_double.address, f"/v1/job/{job_id}?purge=true", token)


def test_absent_in_check_mode_leaves_the_job_running(
    ansible_available: None, nomad_double: Any, tmp_path: Path
) -> None:
    job_id = f"ansible-{uuid.uuid4().hex[:8]}"
    token = nomad_double.management_token
    spec = service_hcl(job_id)
    run_playbook(tmp_path, nomad_double.address, token, spec)

    planned = run_playbook(tmp_path, nomad_double.address, token, spec, check=True, state="absent")

    assert planned["changed"] is True
    assert planned["result"]["ID"] == job_id
    stored = _get(nomad_double.address, f"/v1/job/{job_id}", token).json()
    assert stored["Stop"] is False
    assert stored["Version"] == 0
    _delete(nomad_double.address, f"/v1/job/{job_id}?purge=true", token)


def test_absent_of_a_missing_job_fails(
    ansible_available: None, nomad_double: Any, tmp_path: Path
) -> None:
    job_id = f"ansible-{uuid.uuid4().hex[:8]}"

    result = run_playbook(
        tmp_path,
        nomad_double.address,
        nomad_double.management_token,
        service_hcl(job_id),
        state="absent",
        fails=True,
    )

    assert "URLNotFoundNomadException" in result["msg"]
    assert "job not found" in result["msg"]


def test_absent_looks_the_job_up_by_name_not_id(
    ansible_available: None, nomad_double: Any, tmp_path: Path
) -> None:
    job_id = f"ansible-{uuid.uuid4().hex[:8]}"
    token = nomad_double.management_token
    spec = _named(service_hcl(job_id), f"{job_id}-shown")
    run_playbook(tmp_path, nomad_double.address, token, spec)

    result = run_playbook(tmp_path, nomad_double.address, token, spec, state="absent", fails=True)

    assert "job not found" in result["msg"]
    stored = _get(nomad_double.address, f"/v1/job/{job_id}", token).json()
    assert stored["Name"] == f"{job_id}-shown"
    assert stored["Stop"] is False
    _delete(nomad_double.address, f"/v1/job/{job_id}?purge=true", token)


def test_job_info_lists_then_reads_every_job(
    ansible_available: None, nomad_double: Any, tmp_path: Path
) -> None:
    job_ids = sorted(f"ansible-{uuid.uuid4().hex[:8]}" for _ in range(2))
    token = nomad_double.management_token
    for job_id in job_ids:
        run_playbook(tmp_path, nomad_double.address, token, service_hcl(job_id))

    listed = run_playbook(
        tmp_path, nomad_double.address, token, playbook_text=INFO_PLAYBOOK, check=True
    )

    assert listed["changed"] is False
    mine = [job for job in listed["result"] if job["ID"] in job_ids]
    assert [job["ID"] for job in mine] == job_ids
    for job in mine:
        assert (
            job["TaskGroups"][0]["Tasks"][0]["Config"]["image"]
            == "registry.example.com/acme/shop:1.0"
        )
        assert job["Meta"]["preview_id"] == "shop-pr-42"
    for job_id in job_ids:
        _delete(nomad_double.address, f"/v1/job/{job_id}?purge=true", token)


def test_job_info_filters_by_id_and_fails_on_a_missing_one(
    ansible_available: None, nomad_double: Any, tmp_path: Path
) -> None:
    job_id = f"ansible-{uuid.uuid4().hex[:8]}"
    token = nomad_double.management_token
    run_playbook(
        tmp_path, nomad_double.address, token, _named(service_hcl(job_id), f"{job_id}-shown")
    )

    by_id = run_playbook(
        tmp_path, nomad_double.address, token, name=job_id, playbook_text=INFO_PLAYBOOK
    )
    by_name = run_playbook(
        tmp_path,
        nomad_double.address,
        token,
        name=f"{job_id}-shown",
        playbook_text=INFO_PLAYBOOK,
        fails=True,
    )

    assert [job["ID"] for job in by_id["result"]] == [job_id]
    assert by_id["result"][0]["Name"] == f"{job_id}-shown"
    assert by_name["msg"] == f"Couldn't find Job with id {job_id}-shown"
    _delete(nomad_double.address, f"/v1/job/{job_id}?purge=true", token)


def test_job_info_reads_each_listed_job_once(
    ansible_available: None, double: Any, tmp_path: Path
) -> None:
    job_ids = sorted(f"ansible-{uuid.uuid4().hex[:8]}" for _ in range(2))
    for job_id in job_ids:
        _post(double.address, "/v1/jobs", double.management_token, {"Job": _json(double, job_id)})
    before = len(double.request_log)

    run_playbook(tmp_path, double.address, double.management_token, playbook_text=INFO_PLAYBOOK)

    calls = [(r.method, r.path) for r in double.request_log[before:]]
    assert calls == [("GET", "/v1/jobs")] + [("GET", f"/v1/job/{job_id}") for job_id in job_ids]


def _named(job_hcl: str, name: str) -> str:
    """The job spec with a `name` that differs from its ID."""
    return job_hcl.replace(
        '  type        = "service"', f'  type        = "service"\n  name = "{name}"', 1
    )


def _json(double: Any, job_id: str) -> dict[str, Any]:
    """The API JSON of `service_hcl(job_id)`, as the parse endpoint gives it."""
    answer = _post(
        double.address, "/v1/jobs/parse", double.management_token, {"JobHCL": service_hcl(job_id)}
    )
    parsed: dict[str, Any] = answer.json()
    return parsed


def _get(address: str, path: str, token: str) -> Any:
    return requests.get(
        address + path, headers={"X-Nomad-Token": token} if token else {}, timeout=5
    )


def _delete(address: str, path: str, token: str) -> Any:
    return requests.delete(
        address + path, headers={"X-Nomad-Token": token} if token else {}, timeout=5
    )


def _post(address: str, path: str, token: str, body: dict[str, Any]) -> Any:
    answer = requests.post(
        address + path, json=body, headers={"X-Nomad-Token": token} if token else {}, timeout=5
    )
    assert answer.status_code == 200, answer.text
    return answer
