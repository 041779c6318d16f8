"""Running the preview playbooks as CI does, and reading Nomad back without them.

The playbooks run in their own ``ansible-playbook`` processes with ``NOMAD_ADDR`` (and
``NOMAD_TOKEN`` when given) in their environment, writing into a folder of the test's own.
``NomadReader`` reads what they left through Nomad's HTTP API with ``requests``, another path
than the python-nomad client the modules use, so it works against the double and a real agent
alike. The request-log helpers read the double's log and apply to the double only.
"""

from __future__ import annotations

import copy
import re
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from tests.conftest import ROOT, run_playbook
from tests.doubles.fixtures import RealNomad
from tests.doubles.nomad import NomadDouble
from tests.doubles.nomad.server import RequestRecord

Target = NomadDouble | RealNomad

SIDEKIQ_PROFILE = ROOT / "examples" / "sidekiq" / "preview.yml"
# A short Git SHA the identity accepts; tests that push again give another one.
FIRST_SHA = "0a1b2c3d4e5f"
# A small app profile: the queue, mailbox and inbox of every preview plus one worker.
SMALL_APP: dict[str, Any] = {
    "name": "notifier",
    "framework": "sidekiq",
    "image": "registry.example.com/acme/notifier:1.0.0",
    "worker": {"command": ["bundle", "exec", "sidekiq"], "concurrency": 2},
    "timeouts": {"job": "5m", "drain": "10s", "kill": "15s", "idle": "12h"},
}
# Nomad API paths that register a job: POST /v1/jobs and POST /v1/job/<id> (not its /plan).
_REGISTER_PATH = re.compile(r"^/v1/jobs$|^/v1/job/[^/]+$")
# Path segments that name one object of a run (a job or an allocation), as a pattern.
_OBJECT_PATHS = (
    (re.compile(r"^/v1/allocation/[^/]+"), "/v1/allocation/*"),
    (re.compile(r"^/v1/job/[^/]+"), "/v1/job/*"),
    (re.compile(r"^/v1/namespace/[^/]+"), "/v1/namespace/*"),
)


@dataclass(frozen=True)
class Preview:
    """One pull request's preview: who it belongs to and the names Nomad knows it by."""

    repo: str
    pr: int

    @property
    def preview_id(self) -> str:
        return f"{self.repo}-pr-{self.pr}"

    @property
    def namespace(self) -> str:
        return f"preview-{self.preview_id}"

    def identity_vars(self) -> list[str]:
        return [f"preview_repo={self.repo}", f"preview_pr={self.pr}"]


def write_profile(folder: Path, app: dict[str, Any], name: str = "preview.yml") -> Path:
    """Write an app profile (the ``preview_app`` document of examples/*/preview.yml)."""
    path = folder / name
    path.write_text(yaml.safe_dump({"preview_app": app}, sort_keys=False), encoding="utf-8")
    return path


def sidekiq_app() -> dict[str, Any]:
    """The bundled Sidekiq example's app profile, to change a copy of it."""
    loaded = yaml.safe_load(SIDEKIQ_PROFILE.read_text(encoding="utf-8"))
    app: dict[str, Any] = copy.deepcopy(loaded["preview_app"])
    return app


def playbook_env_for(target: Target, token: str | None = None) -> dict[str, str]:
    """The cluster variables CI sets for a run against ``target``."""
    env = {"NOMAD_ADDR": target.address}
    chosen = token if token is not None else target.management_token
    if chosen:
        env["NOMAD_TOKEN"] = chosen
    return env


def open_preview(
    target: Target,
    preview: Preview,
    profile: Path,
    output: Path,
    *args: str,
    extra_vars: Sequence[str] = (),
    sha: str = FIRST_SHA,
    token: str | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run playbooks/preview_open.yml for ``preview`` with an app profile, writing into ``output``.

    With ``check`` (the default) a failed run fails the test with the playbook's output.
    """
    return run_playbook(
        "preview_open.yml",
        *args,
        extra_vars=[
            f"@{profile}",
            *preview.identity_vars(),
            f"preview_sha={sha}",
            f"preview_output_dir={output}",
            *extra_vars,
        ],
        env=playbook_env_for(target, token),
        check=check,
    )


def close_preview(
    target: Target,
    preview: Preview,
    *args: str,
    token: str | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run playbooks/preview_close.yml for ``preview``."""
    return run_playbook(
        "preview_close.yml",
        *args,
        extra_vars=preview.identity_vars(),
        env=playbook_env_for(target, token),
        check=check,
    )


def touch_preview(
    target: Target,
    preview: Preview,
    now: str,
    *args: str,
    token: str | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run playbooks/preview_touch.yml for ``preview`` at the pinned time ``now``."""
    return run_playbook(
        "preview_touch.yml",
        *args,
        extra_vars=[*preview.identity_vars(), f"preview_now={now}"],
        env=playbook_env_for(target, token),
        check=check,
    )


def output_of(result: subprocess.CompletedProcess[str]) -> str:
    """Everything a playbook run printed."""
    return f"{result.stdout}\n{result.stderr}"


def summary_job_ids(output: Path, preview: Preview) -> list[str]:
    """IDs of the jobs the rendered summary.json of ``preview`` lists, in its order."""
    return [job["id"] for job in read_summary(output, preview)["jobs"]]


def read_summary(output: Path, preview: Preview) -> dict[str, Any]:
    """The summary.json a run wrote for ``preview``."""
    path = output / preview.preview_id / "summary.json"
    loaded: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded


class NomadReader:
    """Reads Nomad's state over its HTTP API, independently of the code under test."""

    def __init__(self, target: Target) -> None:
        self.address = target.address.rstrip("/")
        self.headers = {"X-Nomad-Token": target.management_token} if target.management_token else {}

    def get(self, path: str, **params: str) -> Any:
        """GET ``path`` and return the decoded answer; None on 404."""
        answer = requests.get(
            f"{self.address}{path}", params=params, headers=self.headers, timeout=10
        )
        if answer.status_code == 404:
            return None
        answer.raise_for_status()
        return answer.json()

    def put(self, path: str, body: dict[str, Any], **params: str) -> Any:
        """PUT ``body`` as JSON to ``path`` and return the decoded answer."""
        answer = requests.put(
            f"{self.address}{path}", params=params, json=body, headers=self.headers, timeout=10
        )
        answer.raise_for_status()
        return answer.json() if answer.content else None

    def post(self, path: str, body: dict[str, Any] | None = None, **params: str) -> Any:
        """POST ``body`` as JSON to ``path`` and return the decoded answer."""
        answer = requests.post(
            f"{self.address}{path}", params=params, json=body, headers=self.headers, timeout=10
        )
        answer.raise_for_status()
        return answer.json() if answer.content else None

    def namespace(self, name: str) -> dict[str, Any] | None:
        """GET /v1/namespace/:name, or None when it does not exist."""
        found: dict[str, Any] | None = self.get(f"/v1/namespace/{name}")
        return found

    def namespace_names(self) -> list[str]:
        """Names of every namespace (GET /v1/namespaces)."""
        return sorted(ns["Name"] for ns in self.get("/v1/namespaces") or [])

    def jobs(self, namespace: str) -> dict[str, dict[str, Any]]:
        """Every job of the namespace, parents and children, by ID (GET /v1/jobs)."""
        stubs = self.get("/v1/jobs", namespace="*") or []
        return {stub["ID"]: stub for stub in stubs if stub.get("Namespace") == namespace}

    def job(self, namespace: str, job_id: str) -> dict[str, Any] | None:
        """GET /v1/job/:id in the namespace, or None when it does not exist."""
        found: dict[str, Any] | None = self.get(f"/v1/job/{job_id}", namespace=namespace)
        return found

    def versions(self, namespace: str) -> dict[str, tuple[int, int]]:
        """Each job's ``(Version, JobModifyIndex)``: a register of any kind moves the index."""
        found = {}
        for job_id in self.jobs(namespace):
            job = self.job(namespace, job_id) or {}
            found[job_id] = (int(job.get("Version") or 0), int(job.get("JobModifyIndex") or 0))
        return found

    def live_allocations(self, namespace: str, job_id: str) -> list[dict[str, Any]]:
        """The job's allocations that should run and do, in full (GET /v1/allocation/:id)."""
        stubs = self.get(f"/v1/job/{job_id}/allocations", namespace=namespace) or []
        return [
            self.get(f"/v1/allocation/{stub['ID']}", namespace=namespace)
            for stub in stubs
            if stub.get("DesiredStatus") == "run" and stub.get("ClientStatus") == "running"
        ]

    def ports(self, namespace: str, job_id: str) -> set[str]:
        """``host:port`` of every port of the job's running allocations."""
        found = set()
        for allocation in self.live_allocations(namespace, job_id):
            shared = (allocation.get("AllocatedResources") or {}).get("Shared") or {}
            for port in shared.get("Ports") or []:
                found.add(f"{port.get('HostIP')}:{port.get('Value')}")
        return found

    def variables(self, namespace: str) -> list[str]:
        """Paths of the namespace's variables (GET /v1/vars)."""
        items = self.get("/v1/vars", namespace="*") or []
        return sorted(item["Path"] for item in items if item.get("Namespace") == namespace)

    def leftovers(self, preview: Preview) -> dict[str, Any]:
        """Whatever of ``preview`` Nomad still holds; every value is empty once it is closed."""
        return {
            "namespace": self.namespace(preview.namespace),
            "jobs": sorted(self.jobs(preview.namespace)),
            "jobs elsewhere": sorted(
                f"{stub['Namespace']}/{stub['ID']}"
                for stub in self.get("/v1/jobs", namespace="*") or []
                if stub["ID"].startswith(f"{preview.preview_id}-")
                and stub.get("Namespace") != preview.namespace
            ),
            "variables": self.variables(preview.namespace),
        }


NOTHING_LEFT: dict[str, Any] = {
    "namespace": None,
    "jobs": [],
    "jobs elsewhere": [],
    "variables": [],
}


def register_calls(records: Iterable[RequestRecord]) -> list[str]:
    """Paths of the requests that registered a job (POST /v1/jobs or /v1/job/:id)."""
    return [r.path for r in records if r.method == "POST" and _REGISTER_PATH.match(r.path)]


def path_pattern(path: str) -> str:
    """A request path with the object it names (job, allocation, namespace) as ``*``."""
    for regex, pattern in _OBJECT_PATHS:
        if regex.match(path):
            return regex.sub(pattern, path, count=1)
    return path


@dataclass(frozen=True)
class ApiStep:
    """One kind of call a playbook makes, and the concrete request of it a fault is aimed at."""

    method: str
    pattern: str
    target: str

    @property
    def label(self) -> str:
        return f"{self.method} {self.pattern}"


def api_steps(records: Iterable[RequestRecord]) -> list[ApiStep]:
    """The distinct (method, path pattern) pairs of a run, in the order they first occurred.

    Each step aims at the last distinct path of its pattern in the run (the last job planned,
    the last allocation read), so a fault there leaves as much half-done as that step can.
    Allocation IDs differ between runs, so their step aims at the pattern itself; a fault
    there hits the first allocation read.
    """
    last_path: dict[tuple[str, str], str] = {}
    for record in records:
        last_path[(record.method, path_pattern(record.path))] = record.path
    steps = []
    for (method, pattern), path in last_path.items():
        aimed = pattern if pattern.startswith("/v1/allocation/") else path
        steps.append(ApiStep(method, pattern, aimed))
    return steps


def close_after_test(request: pytest.FixtureRequest, target: Target, preview: Preview) -> None:
    """On a real agent, close ``preview`` once the test is over; a double goes away by itself."""
    if isinstance(target, RealNomad):
        request.addfinalizer(lambda: close_preview(target, preview, check=False))
