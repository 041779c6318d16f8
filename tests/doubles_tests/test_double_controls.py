"""The controls only the double has: simulated scheduler, fault injection, request log, CLI."""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import nomad
import pytest
import requests
from nomad.api import exceptions

from tests.doubles.nomad import NomadDouble

from .jobspecs import batch_json, service_json

ROOT = Path(__file__).resolve().parents[2]


def api_for(double: NomadDouble, timeout: int = 5) -> nomad.Nomad:
    return nomad.Nomad(host="127.0.0.1", port=double.port, timeout=timeout)


@pytest.fixture
def manual() -> Any:
    """A double whose scheduler moves only when the test says so."""
    with NomadDouble(auto_advance=False, ticks_to_running=2, ticks_to_healthy=1) as double:
        yield double


def test_allocations_move_only_on_advance(manual: NomadDouble) -> None:
    api = api_for(manual)
    api.jobs.register_job({"Job": service_json("web")})

    seen = []
    for _step in range(4):
        allocation = api.job.get_allocations("web")[0]
        seen.append(
            (allocation["ClientStatus"], (allocation["DeploymentStatus"] or {}).get("Healthy"))
        )
        manual.advance()

    assert seen == [("pending", None), ("pending", None), ("running", None), ("running", True)]
    assert api.job.get_deployment("web")["Status"] == "successful"
    assert api.job.get_job("web")["Status"] == "running"


def test_failing_image_fails_the_deployment_with_task_events(manual: NomadDouble) -> None:
    manual.mark_failing(image="registry.example.com/acme/broken:1")
    api = api_for(manual)
    api.jobs.register_job(
        {
            "Job": service_json(
                "web", TaskGroups=[_group(image="registry.example.com/acme/broken:1")]
            )
        }
    )

    manual.advance(2)
    allocation = api.allocation.get_allocation(api.job.get_allocations("web")[0]["ID"])
    deployment = api.job.get_deployment("web")

    events = allocation["TaskStates"]["api"]["Events"]
    assert allocation["ClientStatus"] == "failed"
    assert allocation["TaskStates"]["api"]["Failed"] is True
    assert [e["Type"] for e in events] == [
        "Received",
        "Task Setup",
        "Driver Failure",
        "Not Restarting",
    ]
    assert "Failed to pull `registry.example.com/acme/broken:1`" in events[2]["DisplayMessage"]
    assert deployment["Status"] == "failed"
    assert deployment["StatusDescription"] == "Failed due to unhealthy allocations"


def test_failing_command_reports_exit_code_and_restart_exhaustion(manual: NomadDouble) -> None:
    manual.mark_failing(command="/bin/false")
    api = api_for(manual)
    group = _group(image="registry.example.com/acme/shop:1")
    group["Tasks"][0]["Config"]["command"] = "/bin/false"
    api.jobs.register_job({"Job": service_json("web", TaskGroups=[group])})

    manual.advance(2)
    events = api.job.get_allocations("web")[0]["TaskStates"]["api"]["Events"]

    assert [e["Type"] for e in events][-2:] == ["Terminated", "Not Restarting"]
    assert events[-2]["ExitCode"] == 1
    assert (
        'Exceeded allowed attempts 2 in interval 30m0s and mode is "fail"'
        in events[-1]["DisplayMessage"]
    )


def test_batch_allocations_complete_and_the_job_goes_dead(manual: NomadDouble) -> None:
    api = api_for(manual)
    api.jobs.register_job({"Job": batch_json("once", Periodic=None)})

    manual.advance(3)

    assert api.job.get_allocations("once")[0]["ClientStatus"] == "complete"
    assert api.job.get_job("once")["Status"] == "dead"
    assert api.job.get_deployment("once") is None


def test_stop_completes_allocations_with_kill_events(manual: NomadDouble) -> None:
    api = api_for(manual)
    job = service_json("web")
    job["TaskGroups"][0]["Tasks"][0].update({"KillTimeout": 20 * 10**9, "ShutdownDelay": 5 * 10**9})
    api.jobs.register_job({"Job": job})
    manual.advance(3)

    api.job.deregister_job("web")
    status_before = api.job.get_job("web")["Status"]
    manual.advance()
    allocation = api.job.get_allocations("web")[0]

    kinds = [e["Type"] for e in allocation["TaskStates"]["api"]["Events"]]
    assert status_before == "running"
    assert allocation["DesiredStatus"] == "stop"
    assert allocation["ClientStatus"] == "complete"
    assert kinds[-3:] == ["Waiting for shutdown delay", "Killing", "Killed"]
    assert api.job.get_job("web")["Status"] == "dead"


def test_a_new_version_cancels_the_running_deployment(manual: NomadDouble) -> None:
    api = api_for(manual)
    api.jobs.register_job({"Job": service_json("web")})
    api.jobs.register_job({"Job": service_json("web", Meta={"sha": "b"})})

    deployments = api.job.get_deployments("web")

    assert [d["Status"] for d in deployments] == ["running", "cancelled"]
    assert deployments[1]["StatusDescription"] == "Cancelled due to newer version of job"
    assert [d["JobVersion"] for d in deployments] == [1, 0]


def test_fail_next_answers_with_the_injected_status(double: NomadDouble) -> None:
    api = api_for(double)
    double.fail_next("POST", "/v1/job/*/plan", times=2, status=503)

    for _attempt in range(2):
        with pytest.raises(exceptions.BaseNomadException) as caught:
            api.job.plan_job("web", {"Job": service_json("web")})
        assert caught.value.nomad_resp.status_code == 503
    plan = api.job.plan_job("web", {"Job": service_json("web")})

    assert plan["JobModifyIndex"] == 0
    injected = [r.injected for r in double.requests("POST", "/v1/job/*/plan")]
    assert injected == ["status 503", "status 503", None]


def test_fail_next_hang_outlasts_the_client_timeout(double: NomadDouble) -> None:
    double.fail_next("GET", "/v1/jobs", hang=True)

    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(f"{double.address}/v1/jobs", timeout=0.3)
    answer = requests.get(f"{double.address}/v1/jobs", timeout=5)

    assert answer.status_code == 200
    assert [r.injected for r in double.requests("GET", "/v1/jobs")] == ["hang", None]


def test_fail_next_delay_still_answers(double: NomadDouble) -> None:
    double.fail_next("GET", "/v1/namespaces", delay=0.2)

    answer = requests.get(f"{double.address}/v1/namespaces", timeout=5)

    assert answer.status_code == 200
    assert [ns["Name"] for ns in answer.json()] == ["default"]
    assert double.requests("GET", "/v1/namespaces")[0].injected == "delay"


def test_request_log_records_method_path_query_status_and_body(double: NomadDouble) -> None:
    api = api_for(double)
    api.jobs.register_job({"Job": service_json("web")})
    api.job.deregister_job("web", purge=True)

    log = [(r.method, r.path, r.query, r.status) for r in double.request_log]

    assert log == [
        ("POST", "/v1/jobs", {}, 200),
        ("DELETE", "/v1/job/web", {"purge": "True"}, 200),
    ]
    assert double.request_log[0].body["Job"]["ID"] == "web"


def test_state_inspection_helpers(double: NomadDouble) -> None:
    api = api_for(double)
    api.namespace.create_namespace({"Name": "shop-pr-42", "Meta": {"pr": "42"}})
    api.job.register_job("web", {"Job": service_json("web", Namespace="shop-pr-42")})
    api.variable.create_variable("nomad/jobs/web", {"Items": {"a": "b"}}, namespace="shop-pr-42")

    assert double.job("web", namespace="shop-pr-42")["Namespace"] == "shop-pr-42"
    assert double.namespaces()["shop-pr-42"]["Meta"] == {"pr": "42"}
    assert double.variables("shop-pr-42")["nomad/jobs/web"]["Items"] == {"a": "b"}
    assert len(double.allocations("web")) == 1
    assert len(double.deployments("web")) == 1


def test_vault_blocks_are_accepted_when_vault_is_enabled(nomad_vault_double: Any) -> None:
    job = service_json("web")
    job["TaskGroups"][0]["Tasks"][0]["Vault"] = {"Role": "shop-pr-42"}

    answer = requests.post(f"{nomad_vault_double.address}/v1/jobs", json={"Job": job}, timeout=5)
    stored = requests.get(f"{nomad_vault_double.address}/v1/job/web", timeout=5).json()

    assert answer.status_code == 200, answer.text
    vault = stored["TaskGroups"][0]["Tasks"][0]["Vault"]
    assert (vault["Role"], vault["Cluster"], vault["ChangeMode"]) == (
        "shop-pr-42",
        "default",
        "restart",
    )
    requests.delete(f"{nomad_vault_double.address}/v1/job/web?purge=true", timeout=5)


def test_command_line_prints_address_and_management_token() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.doubles", "nomad", "--port", "0", "--acl"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        address_line = process.stdout.readline()
        token_line = process.stdout.readline()
        address = re.search(r"http://127\.0\.0\.1:\d+", address_line)
        token = token_line.split(": ", 1)[-1].strip()
        assert address is not None, address_line
        denied = requests.get(f"{address.group(0)}/v1/jobs", timeout=5)
        allowed = requests.get(
            f"{address.group(0)}/v1/jobs", headers={"X-Nomad-Token": token}, timeout=5
        )
        assert denied.status_code == 403
        assert allowed.status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)
    assert process.returncode == 0


def _start_with_files(tmp_path: Path, *options: str) -> tuple[subprocess.Popen[str], Path, Path]:
    address_file = tmp_path / "nomad.addr"
    pid_file = tmp_path / "nomad.pid"
    files = ["--address-file", str(address_file), "--pid-file", str(pid_file)]
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.doubles", "nomad", "--port", "0", *options, *files],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not address_file.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    return process, address_file, pid_file


def _terminate(process: subprocess.Popen[str], pid_file: Path) -> str:
    """SIGTERM the double by the PID it wrote (by the child's own PID if it wrote none)."""
    if process.poll() is None:
        written = pid_file.read_text(encoding="utf-8") if pid_file.exists() else ""
        os.kill(int(written) if written else process.pid, signal.SIGTERM)
    stdout, _stderr = process.communicate(timeout=30)
    return stdout


def test_command_line_writes_its_files_and_removes_them_on_sigterm(tmp_path: Path) -> None:
    process, address_file, pid_file = _start_with_files(tmp_path, "--acl")
    try:
        address, token = address_file.read_text(encoding="utf-8").splitlines()
        pid = int(pid_file.read_text(encoding="utf-8"))
        modes = {stat.S_IMODE(path.stat().st_mode) for path in (address_file, pid_file)}
        allowed = requests.get(f"{address}/v1/jobs", headers={"X-Nomad-Token": token}, timeout=5)
        denied = requests.get(f"{address}/v1/jobs", timeout=5)
    finally:
        stdout = _terminate(process, pid_file)

    assert pid == process.pid
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", address)
    assert modes == {0o600}
    assert (allowed.status_code, denied.status_code) == (200, 403)
    assert process.returncode == 0
    assert not address_file.exists()
    assert not pid_file.exists()
    assert token not in stdout
    assert list(tmp_path.iterdir()) == []


def test_command_line_address_file_holds_only_the_address_without_acls(tmp_path: Path) -> None:
    process, address_file, pid_file = _start_with_files(tmp_path)
    try:
        lines = address_file.read_text(encoding="utf-8").splitlines()
        reachable = requests.get(f"{lines[0]}/v1/status/leader", timeout=5)
    finally:
        _terminate(process, pid_file)

    assert len(lines) == 1
    assert reachable.status_code == 200
    assert process.returncode == 0
    assert not address_file.exists()
    assert not pid_file.exists()


def test_command_line_refuses_an_unknown_double() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "tests.doubles", "consul"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert completed.returncode == 2
    assert "usage: python -m tests.doubles" in completed.stderr


def _group(image: str) -> dict[str, Any]:
    return {
        "Name": "api",
        "Count": 1,
        "Tasks": [
            {
                "Name": "api",
                "Driver": "docker",
                "Config": {"image": image},
                "Resources": {"CPU": 100, "MemoryMB": 64},
            }
        ],
    }
