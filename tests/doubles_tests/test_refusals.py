"""What Nomad refuses, the double refuses: status codes and key phrases, row by row.

Each row is one HTTP request and the answer Nomad gives to it. The rows hold against a real
agent too (set NOMAD_ADDR; ACL rows also need NOMAD_TOKEN on an ACL-enabled agent).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from .jobspecs import batch_json, service_json

Job = dict[str, Any]


def job_with(change: Callable[[Job], None], base: Job | None = None) -> Job:
    """A valid service job with one change applied."""
    job = copy.deepcopy(base if base is not None else service_json("refused"))
    change(job)
    return job


def task(job: Job) -> dict[str, Any]:
    return job["TaskGroups"][0]["Tasks"][0]


def group(job: Job) -> dict[str, Any]:
    return job["TaskGroups"][0]


def set_task(**fields: Any) -> Callable[[Job], None]:
    return lambda job: task(job).update(fields)


def set_group(**fields: Any) -> Callable[[Job], None]:
    return lambda job: group(job).update(fields)


def set_job(**fields: Any) -> Callable[[Job], None]:
    return lambda job: job.update(fields)


def with_service(**service: Any) -> Callable[[Job], None]:
    def change(job: Job) -> None:
        group(job)["Networks"] = [{"DynamicPorts": [{"Label": "http", "To": 8080}]}]
        task(job)["Services"] = [
            {"Name": "refused", "PortLabel": "http", "Provider": "nomad", **service}
        ]

    return change


@dataclass
class Row:
    id: str
    method: str
    path: str
    body: Any = None
    status: int = 500
    phrase: str = ""
    acl: bool = False
    token: str | None = None
    raw: bytes | None = None
    existing: Job | None = field(default=None)
    empty_body: bool = False


def register(job: Job, **extra: Any) -> dict[str, Any]:
    return {"Job": job, **extra}


ROWS = [
    Row("empty-body", "POST", "/v1/jobs", raw=b"", status=400, phrase="Request body is empty"),
    Row("empty-object", "POST", "/v1/jobs", {}, 400, "Job must be specified"),
    Row("bad-json", "POST", "/v1/jobs", raw=b"{x}", status=400, phrase="invalid character"),
    Row(
        "missing-id",
        "POST",
        "/v1/jobs",
        register(job_with(lambda j: j.pop("ID"))),
        400,
        "Job ID hasn't been provided",
    ),
    Row(
        "path-body-mismatch",
        "POST",
        "/v1/job/other",
        register(service_json("refused")),
        400,
        "Job ID does not match name",
    ),
    Row(
        "plan-path-body-mismatch",
        "POST",
        "/v1/job/other/plan",
        register(service_json("refused")),
        400,
        "Job ID does not match",
    ),
    Row(
        "duration-as-string",
        "POST",
        "/v1/jobs",
        register(job_with(set_task(KillTimeout="30s"))),
        400,
        "json: cannot unmarshal string into Go struct field",
    ),
    Row(
        "duration-as-float",
        "POST",
        "/v1/jobs",
        raw=json.dumps(register(job_with(set_task(KillTimeout=30 * 1e9)))).encode(),
        status=400,
        phrase="cannot unmarshal number 30000000000.0",
    ),
    Row(
        "meta-number",
        "POST",
        "/v1/jobs",
        register(job_with(set_job(Meta={"pr": 42}))),
        400,
        "cannot unmarshal number into Go struct field",
    ),
    Row(
        "env-bool",
        "POST",
        "/v1/jobs",
        register(job_with(set_task(Env={"PREVIEW_ENV": True}))),
        400,
        "cannot unmarshal bool into Go struct field",
    ),
    Row(
        "periodic-on-service",
        "POST",
        "/v1/jobs",
        register(job_with(set_job(Periodic={"Enabled": True, "Specs": ["@daily"]}))),
        500,
        'Periodic can only be used with "batch" or "sysbatch" scheduler',
    ),
    Row(
        "update-on-batch",
        "POST",
        "/v1/jobs",
        register(
            job_with(set_job(Periodic=None, Update={"MaxParallel": 1}), batch_json("refused"))
        ),
        500,
        'Job type "batch" does not allow update block',
    ),
    Row(
        "invalid-type",
        "POST",
        "/v1/jobs",
        register(job_with(set_job(Type="web"))),
        500,
        'Invalid job type: "web"',
    ),
    Row(
        "nonexistent-namespace",
        "POST",
        "/v1/jobs?namespace=no-such-namespace",
        register(service_json("refused")),
        500,
        'job "refused" is in nonexistent namespace "no-such-namespace"',
    ),
    Row(
        "service-name-too-long",
        "POST",
        "/v1/jobs",
        register(job_with(with_service(Name="s" * 64))),
        500,
        "Service name must be valid per RFC 1123",
    ),
    Row(
        "service-name-with-dot",
        "POST",
        "/v1/jobs",
        register(job_with(with_service(Name="shop.pr-42"))),
        500,
        "can contain only alphanumeric characters or dashes",
    ),
    Row(
        "missing-port-label",
        "POST",
        "/v1/jobs",
        register(job_with(with_service(PortLabel="db"))),
        500,
        'port label "db" referenced by services refused does not exist',
    ),
    Row(
        "nomad-check-grpc",
        "POST",
        "/v1/jobs",
        register(
            job_with(
                with_service(Checks=[{"Type": "grpc", "Interval": 10**10, "Timeout": 2 * 10**9}])
            )
        ),
        500,
        'invalid check type ("grpc"), must be one of tcp, http',
    ),
    Row(
        "log-storage-vs-disk",
        "POST",
        "/v1/jobs",
        register(job_with(set_group(EphemeralDisk={"SizeMB": 100}))),
        500,
        "log storage (100 MB) must be less than requested disk capacity (100 MB)",
    ),
    Row(
        "template-without-destination",
        "POST",
        "/v1/jobs",
        register(job_with(set_task(Templates=[{"EmbeddedTmpl": "x"}]))),
        500,
        "Must specify a destination for the template",
    ),
    Row(
        "template-hcl-names-in-json",
        "POST",
        "/v1/jobs",
        register(job_with(set_task(Templates=[{"data": "x", "destination": "local/x"}]))),
        500,
        "Must specify a source path or have an embedded template",
    ),
    Row(
        "template-escapes",
        "POST",
        "/v1/jobs",
        register(job_with(set_task(Templates=[{"EmbeddedTmpl": "x", "DestPath": "../../x"}]))),
        500,
        "destination escapes allocation directory",
    ),
    Row(
        "kill-timeout-over-progress-deadline",
        "POST",
        "/v1/jobs",
        register(job_with(set_task(KillTimeout=15 * 60 * 10**9))),
        500,
        "KillTimout (15m0s) longer than the group's ProgressDeadline (10m0s)",
    ),
    Row(
        "memory-too-small",
        "POST",
        "/v1/jobs",
        register(job_with(set_task(Resources={"CPU": 100, "MemoryMB": 5}))),
        500,
        "minimum MemoryMB value is 10; got 5",
    ),
    Row(
        "task-disk",
        "POST",
        "/v1/jobs",
        register(job_with(set_task(Resources={"CPU": 100, "MemoryMB": 64, "DiskMB": 50}))),
        500,
        "Task can't ask for disk resources",
    ),
    Row(
        "vault-not-enabled",
        "POST",
        "/v1/jobs",
        register(job_with(set_task(Vault={"Role": "preview"}))),
        500,
        'Vault "default" not enabled but used in the job',
    ),
    Row(
        "invalid-cron",
        "POST",
        "/v1/jobs",
        register(batch_json("refused", Periodic={"Enabled": True, "Specs": ["* *"]})),
        500,
        'Invalid cron spec "* *"',
    ),
    Row(
        "invalid-time-zone",
        "POST",
        "/v1/jobs",
        register(
            batch_json(
                "refused", Periodic={"Enabled": True, "Specs": ["@daily"], "TimeZone": "Mars/Base"}
            )
        ),
        500,
        'Invalid time zone "Mars/Base"',
    ),
    Row(
        "enforce-index-missing-job",
        "POST",
        "/v1/jobs",
        register(service_json("refused"), EnforceIndex=True, JobModifyIndex=5),
        500,
        "Enforcing job modify index 5: job does not exist",
    ),
    Row(
        "enforce-index-create-only",
        "POST",
        "/v1/jobs",
        register(service_json("refused-existing"), EnforceIndex=True, JobModifyIndex=0),
        500,
        "Enforcing job modify index 0: job already exists",
        existing=service_json("refused-existing"),
    ),
    Row(
        "enforce-index-conflict",
        "POST",
        "/v1/jobs",
        register(service_json("refused-existing"), EnforceIndex=True, JobModifyIndex=1),
        500,
        "job exists with conflicting job modify index: ",
        existing=service_json("refused-existing"),
    ),
    Row(
        "type-change",
        "POST",
        "/v1/jobs",
        register(batch_json("refused-existing", Periodic=None)),
        500,
        'cannot update job from type "service" to "batch"',
        existing=service_json("refused-existing"),
    ),
    Row(
        "eval-priority",
        "POST",
        "/v1/jobs",
        register(service_json("refused"), EvalPriority=101),
        400,
        "Eval priority must be between 1 and 100 inclusively",
    ),
    Row("parse-empty", "POST", "/v1/jobs/parse", {"JobHCL": ""}, 400, "Job spec is empty"),
    Row(
        "parse-unknown-block",
        "POST",
        "/v1/jobs/parse",
        {"JobHCL": 'job "x" {\n  colour {\n  }\n}\n'},
        400,
        'Unsupported block type; Blocks of type "colour" are not expected here.',
    ),
    Row(
        "parse-syntax-error",
        "POST",
        "/v1/jobs/parse",
        {"JobHCL": 'job "x" {\n  type = \n}\n'},
        400,
        "Failed to parse job: ",
    ),
    Row(
        "bad-filter",
        "GET",
        "/v1/jobs?filter=Meta.pr%20%3D%3D",
        status=400,
        phrase="failed to create result paginator: failed to read filter expression",
    ),
    Row(
        "bad-per-page",
        "GET",
        "/v1/jobs?per_page=many",
        status=400,
        phrase="Expect a number for `per_page` query string parameter",
    ),
    Row(
        "bad-purge-bool",
        "DELETE",
        "/v1/job/refused?purge=maybe",
        status=500,
        phrase='Failed to parse value of "purge" (maybe) as a bool',
    ),
    Row("job-not-found", "GET", "/v1/job/refused-missing", status=404, phrase="job not found"),
    Row(
        "versions-not-found",
        "GET",
        "/v1/job/refused-missing/versions",
        status=404,
        phrase="job versions not found",
    ),
    Row(
        "force-missing-job",
        "POST",
        "/v1/job/refused-missing/periodic/force",
        status=500,
        phrase="job not found",
    ),
    Row(
        "force-non-periodic",
        "POST",
        "/v1/job/refused-existing/periodic/force",
        status=500,
        phrase="can't force launch non-periodic job",
        existing=service_json("refused-existing"),
    ),
    Row(
        "dispatch-non-parameterized",
        "POST",
        "/v1/job/refused-existing/dispatch",
        {},
        500,
        'Specified job "refused-existing" is not a parameterized job',
        existing=service_json("refused-existing"),
    ),
    Row(
        "bad-namespace-name",
        "POST",
        "/v1/namespace/bad_name",
        {"Name": "bad_name"},
        500,
        'Invalid namespace "bad_name": 1 error occurred:\n\t* invalid name "bad_name". '
        "Must match regex ^[a-zA-Z0-9-]{1,128}$",
    ),
    Row(
        "namespace-path-mismatch",
        "POST",
        "/v1/namespace/one",
        {"Name": "two"},
        400,
        "Namespace name does not match request path",
    ),
    Row(
        "delete-default-namespace",
        "DELETE",
        "/v1/namespace/default",
        status=500,
        phrase="can not delete default namespace",
    ),
    Row(
        "variable-bad-path",
        "PUT",
        "/v1/var/shop.pr-42",
        {"Items": {"a": "b"}},
        400,
        'invalid path "shop.pr-42"',
    ),
    Row(
        "variable-reserved-path",
        "PUT",
        "/v1/var/nomad/other",
        {"Items": {"a": "b"}},
        400,
        'only paths at "nomad/jobs" or "nomad/job-templates" and below are valid paths under '
        'the top-level "nomad" directory',
    ),
    Row(
        "variable-reserved-top-level",
        "PUT",
        "/v1/var/nomad",
        {"Items": {"a": "b"}},
        400,
        '"nomad" is a reserved top-level directory path',
    ),
    Row(
        "variable-reserved-job-templates",
        "PUT",
        "/v1/var/nomad/job-templates/shop/web",
        {"Items": {"a": "b"}},
        400,
        '"nomad/job-templates" is a reserved directory path',
    ),
    Row(
        "variable-missing-items",
        "PUT",
        "/v1/var/refused",
        {"Path": "refused"},
        400,
        "variable missing required Items object",
    ),
    Row(
        "variable-empty-items",
        "PUT",
        "/v1/var/refused",
        {"Items": {}},
        400,
        "variable missing required Items object",
    ),
    Row(
        "variable-items-before-path",
        "PUT",
        "/v1/var/shop.pr-42",
        {"Items": {}},
        400,
        "variable missing required Items object",
    ),
    Row(
        "variable-wildcard-namespace",
        "PUT",
        "/v1/var/refused?namespace=*",
        {"Items": {"a": "b"}},
        400,
        'can not target wildcard ("*")namespace',
    ),
    Row(
        "variable-over-64KiB-in-bytes",
        "PUT",
        "/v1/var/refused",
        {"Items": {"a": "\u00e9" * 32768}},
        400,
        "variables are limited to 64KiB in total size",
    ),
    Row(
        "variable-size-before-path",
        "PUT",
        "/v1/var/shop.pr-42",
        {"Items": {"a": "x" * 65536}},
        400,
        "variables are limited to 64KiB in total size",
    ),
    Row(
        "variable-negative-cas",
        "PUT",
        "/v1/var/refused?cas=-1",
        {"Items": {"a": "b"}},
        400,
        'can not parse cas: strconv.ParseUint: parsing "-1": invalid syntax',
    ),
    Row(
        "variable-missing-path",
        "PUT",
        "/v1/var/",
        {"Items": {"a": "b"}},
        400,
        "missing variable path",
    ),
    Row(
        "variable-items-number",
        "PUT",
        "/v1/var/refused",
        {"Items": {"a": 1}},
        400,
        "cannot unmarshal number",
    ),
    Row(
        "variable-bad-cas",
        "PUT",
        "/v1/var/refused?cas=x",
        {"Items": {"a": "b"}},
        400,
        "can not parse cas",
    ),
    Row(
        "variable-cas-conflict",
        "PUT",
        "/v1/var/refused-missing?cas=7",
        {"Items": {"a": "b"}},
        409,
        '"Path": "refused-missing"',
    ),
    Row("acl-disabled", "GET", "/v1/acl/policies", status=400, phrase="ACL support disabled"),
    Row("wrong-method", "DELETE", "/v1/jobs", status=405, phrase="Invalid method"),
    Row("wrong-method-plan", "GET", "/v1/job/refused/plan", status=405, phrase="Invalid method"),
    Row("unknown-path", "GET", "/v1/nope", status=404, empty_body=True),
    Row(
        "acl-anonymous-register",
        "POST",
        "/v1/jobs",
        register(service_json("refused")),
        403,
        "Permission denied",
        acl=True,
        token="",
    ),
    Row(
        "acl-unknown-token",
        "GET",
        "/v1/jobs",
        status=403,
        phrase="ACL token not found",
        acl=True,
        token="6f3a8a5e-0000-4000-8000-000000000000",
    ),
    Row(
        "acl-anonymous-namespace",
        "POST",
        "/v1/namespace/refused",
        {"Name": "refused"},
        403,
        "Permission denied",
        acl=True,
        token="",
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_refused_request(row: Row, request: pytest.FixtureRequest) -> None:
    target = request.getfixturevalue("nomad_acl_double" if row.acl else "nomad_double")
    admin = {"X-Nomad-Token": target.management_token} if target.management_token else {}
    headers = admin if row.token is None else ({"X-Nomad-Token": row.token} if row.token else {})
    if row.existing is not None:
        created = requests.post(
            f"{target.address}/v1/jobs", json={"Job": row.existing}, headers=admin, timeout=5
        )
        assert created.status_code == 200, created.text
        row_body = row.body
        if row.id == "enforce-index-conflict":
            current = requests.get(
                f"{target.address}/v1/job/{row.existing['ID']}", headers=admin, timeout=5
            )
            row_body = {**row.body, "JobModifyIndex": current.json()["JobModifyIndex"] + 1}
    else:
        row_body = row.body

    data = (
        row.raw
        if row.raw is not None
        else (json.dumps(row_body).encode() if row_body is not None else None)
    )
    answer = requests.request(
        row.method, f"{target.address}{row.path}", data=data, headers=headers, timeout=5
    )

    try:
        assert answer.status_code == row.status, answer.text
        if row.empty_body:
            assert answer.text == ""
        elif row.status == 409:
            assert row.phrase.replace('"Path": ', "") in json.dumps(answer.json()["Path"])
        else:
            assert row.phrase in answer.text
            assert answer.headers["Content-Type"].startswith("text/plain")
    finally:
        if row.existing is not None:
            requests.delete(
                f"{target.address}/v1/job/{row.existing['ID']}?purge=true", headers=admin, timeout=5
            )


def test_validation_errors_use_the_multierror_format(nomad_double: Any) -> None:
    job = job_with(set_task(Driver="", Resources={"CPU": 0, "MemoryMB": 64}))

    answer = requests.post(f"{nomad_double.address}/v1/jobs", json={"Job": job}, timeout=5)

    assert answer.status_code == 500
    assert answer.text.startswith("1 error occurred:\n\t* Task group api validation failed: ")
    assert "Task api validation failed: 2 errors occurred:\n\t* Missing task driver" in answer.text
    assert "minimum CPU value is 1; got 0" in answer.text
    assert answer.text.endswith("\n\n")


def test_validate_endpoint_reports_instead_of_refusing(nomad_double: Any) -> None:
    job = job_with(set_task(Resources={"CPU": 100, "MemoryMB": 5}))

    answer = requests.post(f"{nomad_double.address}/v1/validate/job", json={"Job": job}, timeout=5)

    body = answer.json()
    assert answer.status_code == 200
    assert body["DriverConfigValidated"] is True
    assert "minimum MemoryMB value is 10; got 5" in body["Error"]
    assert len(body["ValidationErrors"]) == 1
