"""The double's parsers on their own: HCL job specs, filter expressions, cron specs, durations."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from tests.doubles.nomad import bexpr, hcl
from tests.doubles.nomad.cron import CronError, parse_cron
from tests.doubles.nomad.durations import format_go_duration, parse_go_duration
from tests.doubles.nomad.errors import ApiError


def parse(body: str) -> Any:
    return hcl.parse_job(f'job "j" {{\n{body}\n}}\n')


def first_task(job: Any) -> Any:
    return job["TaskGroups"][0]["Tasks"][0]


def test_hcl_keeps_runtime_interpolation_and_unescapes_literals() -> None:
    job = parse(
        'group "g" {\n task "t" {\n driver = "raw_exec"\n'
        ' config { command = "${NOMAD_TASK_DIR}/run" args = ["$${literal}", "a\\tb"] }\n'
        " env { NODE = attr.unique.hostname }\n } }"
    )

    task = first_task(job)
    assert task["Config"] == {"command": "${NOMAD_TASK_DIR}/run", "args": ["${literal}", "a\tb"]}
    assert task["Env"] == {"NODE": "${attr.unique.hostname}"}


def test_hcl_heredoc_keeps_its_trailing_newline_and_flush_strips_indent() -> None:
    job = parse(
        'group "g" {\n task "t" {\n driver = "docker"\n'
        '  template {\n    destination = "local/a"\n    data = <<-EOT\n'
        "      line one\n        line two\n      EOT\n  }\n } }"
    )

    assert first_task(job)["Templates"][0]["EmbeddedTmpl"] == "line one\n  line two\n"


def test_hcl_maps_names_and_moves_static_ports_to_reserved() -> None:
    job = parse(
        'type = "batch"\n periodic {\n crons = ["@daily"]\n time_zone = "Europe/Berlin"\n'
        " prohibit_overlap = true\n }\n"
        'group "g" {\n network {\n port "http" { static = 8080 }\n port "metrics" {}\n }\n'
        " ephemeral_disk { size = 500 }\n"
        ' restart { attempts = 1 delay = "10s" interval = "1m" mode = "fail" }\n'
        ' task "t" {\n driver = "docker"\n logs { max_files = 2 max_file_size = 5 }\n'
        ' lifecycle { hook = "prestart" }\n identity { aud = ["vault.io"] }\n } }'
    )

    group = job["TaskGroups"][0]
    assert job["Periodic"] == {
        "Specs": ["@daily"],
        "TimeZone": "Europe/Berlin",
        "ProhibitOverlap": True,
        "SpecType": "cron",
    }
    assert group["Networks"][0]["ReservedPorts"] == [{"Label": "http", "Value": 8080}]
    assert group["Networks"][0]["DynamicPorts"] == [{"Label": "metrics"}]
    assert group["EphemeralDisk"] == {"SizeMB": 500}
    assert group["RestartPolicy"]["Delay"] == 10_000_000_000
    task = group["Tasks"][0]
    assert task["LogConfig"] == {"MaxFiles": 2, "MaxFileSizeMB": 5}
    assert task["Lifecycle"] == {"Hook": "prestart"}
    assert task["Identity"] == {"Audience": ["vault.io"]}
    assert "Identities" not in task


def test_hcl_job_level_vault_reaches_every_task() -> None:
    job = parse('vault { role = "preview" }\n group "g" {\n task "t" { driver = "docker" } }')

    assert first_task(job)["Vault"] == {
        "Role": "preview",
        "Env": True,
        "DisableFile": False,
        "ChangeMode": "restart",
    }


@pytest.mark.parametrize(
    ("body", "phrase"),
    [
        (
            'colour = "blue"',
            'Unsupported argument; An argument named "colour" is not expected here.',
        ),
        ("colour {\n}", 'Unsupported block type; Blocks of type "colour" are not expected here.'),
        ('meta = 1\ngroup "g" {}', 'Inappropriate value for attribute "meta"'),
        ("group {\n}", "Missing name for group; All group blocks must have 1 labels (name)."),
        (
            'group "g" {\n task "t" {\n kill_timeout = "soon" } }',
            'Unsuitable duration value: time: invalid duration "soon"',
        ),
        ('group "g" {\n count = 1.5 }', "Unsuitable value: value must be a whole number"),
        (
            'group "g" {\n task "t" {\n driver = var.driver } }',
            'This object does not have an attribute named "driver".',
        ),
        (
            'ui {\n link { label = "a" href = "b" } }',
            'An argument named "href" is not expected here.',
        ),
        ("update = { max_parallel = 1 }", 'Did you mean to define a block of type "update"?'),
    ],
    ids=[
        "unknown-argument",
        "unknown-block",
        "map-as-number",
        "missing-label",
        "bad-duration",
        "fractional-count",
        "input-variable",
        "ui-link-attribute",
        "block-as-attribute",
    ],
)
def test_hcl_refusals(body: str, phrase: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse(body)

    assert caught.value.status == 400
    assert caught.value.message.startswith("Failed to parse job: input.hcl:")
    assert phrase in caught.value.message


@pytest.mark.parametrize(
    ("spec", "phrase"),
    [
        ("# nothing here\n", "Missing job block; A job block is required"),
        ('job "a" {}\njob "b" {}\n', "Duplicate job block"),
        ('variable "image" {}\njob "a" {}\n', 'Blocks of type "variable" are not evaluated'),
    ],
    ids=["no-job", "two-jobs", "variables"],
)
def test_hcl_top_level_refusals(spec: str, phrase: str) -> None:
    with pytest.raises(ApiError) as caught:
        hcl.parse_job(spec)

    assert phrase in caught.value.message


JOB = {
    "ID": "shop-pr-42-worker",
    "ParentID": "",
    "Status": "running",
    "Datacenters": ["dc1"],
    "Meta": {"pr": "42", "preview-id": "shop-pr-42"},
    "Priority": 50,
    "Stop": False,
}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('Meta.pr == "42"', True),
        ('Meta["preview-id"] == `shop-pr-42`', True),
        ('Meta.pr != "42"', False),
        ('Meta.missing == "x"', False),
        ('Meta.missing != "x"', True),
        ('"pr" in Meta', True),
        ('"dc2" not in Datacenters', True),
        ('Datacenters contains "dc1"', True),
        ('ID matches "^shop-pr-[0-9]+-"', True),
        ("ParentID is empty", True),
        ("Meta is not empty", True),
        ("Priority == 50", True),
        ("Stop == false", True),
        ('not (Status == "dead") and (Meta.pr == "41" or Meta.pr == "42")', True),
    ],
)
def test_filter_expressions(expression: str, expected: bool) -> None:
    assert bexpr.evaluate(bexpr.parse(expression), JOB) is expected


@pytest.mark.parametrize(
    "expression",
    ["Meta.pr ==", 'Meta.pr = "42"', '"42" == Meta.pr', "(Status", "Meta.pr == 42 junk", ""],
)
def test_filter_syntax_errors(expression: str) -> None:
    with pytest.raises(bexpr.FilterSyntaxError):
        bexpr.parse(expression)


def test_filter_unknown_field_is_an_evaluation_error() -> None:
    with pytest.raises(
        bexpr.FilterEvalError, match='couldn\'t find struct field with name "Colour"'
    ):
        bexpr.evaluate(bexpr.parse('Colour == "blue"'), JOB)


@pytest.mark.parametrize(
    ("spec", "after", "expected"),
    [
        ("*/15 * * * *", "2026-03-01T10:07:30", "2026-03-01T10:15:00"),
        ("0 3 * * 1-5", "2026-03-06T04:00:00", "2026-03-09T03:00:00"),
        ("@daily", "2026-03-01T10:00:00", "2026-03-02T00:00:00"),
        ("30 2 1 jan *", "2026-03-01T00:00:00", "2027-01-01T02:30:00"),
        ("0 0 * * sun 2027", "2026-03-01T00:00:00", "2027-01-03T00:00:00"),
    ],
)
def test_cron_next_launch(spec: str, after: str, expected: str) -> None:
    moment = datetime.datetime.fromisoformat(after).replace(tzinfo=datetime.UTC)

    launch = parse_cron(spec).next_after(moment)

    assert launch is not None
    assert launch.strftime("%Y-%m-%dT%H:%M:%S") == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("* * *", "missing field(s)"),
        ("61 * * * *", "minute"),
        ("@often", "missing field(s)"),
        ("@midnight", "missing field(s)"),
    ],
)
def test_cron_refusals(spec: str, message: str) -> None:
    with pytest.raises(CronError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_cron(spec)


@pytest.mark.parametrize(
    ("text", "nanos", "printed"),
    [
        ("30s", 30_000_000_000, "30s"),
        ("15m", 900_000_000_000, "15m0s"),
        ("1h30m", 5_400_000_000_000, "1h30m0s"),
        ("1.5s", 1_500_000_000, "1.5s"),
        ("250ms", 250_000_000, "250ms"),
        ("0", 0, "0s"),
    ],
)
def test_go_durations(text: str, nanos: int, printed: str) -> None:
    assert parse_go_duration(text) == nanos
    assert format_go_duration(nanos) == printed


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("30", "missing unit"),
        ("5 s", 'unknown unit " s"'),
        ("s", "invalid duration"),
        ("3d", "unknown unit"),
    ],
)
def test_go_duration_refusals(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_go_duration(text)


def test_hcl_constraint_operator_shortcuts() -> None:
    job = parse(
        "constraint {\n distinct_hosts = true\n}\n"
        'constraint {\n attribute = "${attr.os.version}"\n semver = ">= 22.04"\n}\n'
        'group "g" {\n task "t" { driver = "docker" } }'
    )

    assert job["Constraints"] == [
        {"Operand": "distinct_hosts"},
        {"LTarget": "${attr.os.version}", "Operand": "semver", "RTarget": ">= 22.04"},
    ]
