"""Tests for the preview filters: direct calls, error mapping, and one run through Ansible."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.nomad_previews.previews.plugins.filter.preview import FilterModule
from ansible_collections.nomad_previews.previews.plugins.module_utils.hcl import (
    format_duration,
    hcl_string,
    hcl_value,
    parse_duration,
)
from ansible_collections.nomad_previews.previews.plugins.module_utils.identity import (
    IdentityError,
    preview_identity,
)
from ansible_collections.nomad_previews.previews.plugins.module_utils.lifecycle import (
    previews_created_before,
)

REPOSITORY = Path(__file__).resolve().parents[2]
ANSIBLE = REPOSITORY / ".venv" / "bin" / "ansible"
FILTERS = FilterModule().filters()


def test_filter_module_exposes_exactly_the_documented_filters() -> None:
    assert set(FILTERS) == {
        "preview_identity",
        "hcl_string",
        "hcl_value",
        "hcl_text",
        "duration_seconds",
        "go_duration",
        "previews_created_before",
    }
    for function in FILTERS.values():
        assert function.__doc__, function.__name__
        assert "example:" in function.__doc__, function.__name__


def test_preview_identity_filter_passes_every_argument_to_the_core() -> None:
    result = FILTERS["preview_identity"](
        "shop",
        "42",
        "feature/x",
        "0a1b2c3",
        domain="previews.example.com",
        schedules=["nightly"],
        known_repos=["shop", "billing"],
    )

    assert result == preview_identity(
        "shop",
        42,
        "feature/x",
        "0a1b2c3",
        domain="previews.example.com",
        schedules=["nightly"],
    )
    assert result["hostnames"]["web"] == "web-shop-pr-42.previews.example.com"
    assert result["schedule_jobs"] == {"nightly": "shop-pr-42-cron-nightly"}


def test_preview_identity_filter_treats_missing_lists_as_empty() -> None:
    result = FILTERS["preview_identity"]("shop", 42, schedules=None, known_repos=None)

    assert result["schedule_jobs"] == {}
    assert result["branch"] is None


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        pytest.param("hcl_string", 'a"${b}', hcl_string('a"${b}'), id="hcl-string"),
        pytest.param("hcl_value", ["a", True, 3], hcl_value(["a", True, 3]), id="hcl-value"),
        pytest.param("duration_seconds", "1m30s", 90, id="duration-seconds"),
        pytest.param("go_duration", 5400, "1h30m", id="go-duration"),
    ],
)
def test_value_filters_return_what_the_core_returns(name: str, value: Any, expected: Any) -> None:
    assert FILTERS[name](value) == expected


def core_error(function: Any, *args: Any) -> Exception:
    """Call a core function that must fail and return its error."""
    with pytest.raises((IdentityError, ValueError, TypeError)) as caught:
        function(*args)
    return caught.value


@pytest.mark.parametrize(
    ("name", "args", "core"),
    [
        pytest.param("preview_identity", ("a/b", 42), preview_identity, id="identity-error"),
        pytest.param("preview_identity", ("shop", True), preview_identity, id="identity-bool-pr"),
        pytest.param("hcl_string", (None,), hcl_string, id="hcl-string-type-error"),
        pytest.param("hcl_string", ("\ud800",), hcl_string, id="hcl-string-value-error"),
        pytest.param("hcl_value", ({"a": 1},), hcl_value, id="hcl-value-map"),
        pytest.param("duration_seconds", ("500ms",), parse_duration, id="sub-second-duration"),
        pytest.param("go_duration", (-1,), format_duration, id="negative-seconds"),
        pytest.param("go_duration", ("30s",), format_duration, id="seconds-as-string"),
        pytest.param(
            "previews_created_before",
            ([{"namespace": "preview-a", "create_index": 1}], "preview-b"),
            previews_created_before,
            id="namespace-not-listed",
        ),
    ],
)
def test_core_errors_become_ansible_filter_errors_with_the_same_message(
    name: str, args: tuple[Any, ...], core: Any
) -> None:
    expected = core_error(core, *args)

    with pytest.raises(AnsibleFilterError) as caught:
        FILTERS[name](*args)

    assert caught.value.message == str(expected)
    assert type(caught.value.__cause__) is type(expected)
    assert str(caught.value.__cause__) == str(expected)


def test_identity_filter_error_names_the_playbook_variable() -> None:
    with pytest.raises(AnsibleFilterError) as caught:
        FILTERS["preview_identity"]("Shop", 42, known_repos=["shop"])

    assert caught.value.message == (
        "preview_repo 'Shop' is invalid: differs only in case from existing preview repository "
        "'shop'"
    )


def run_adhoc_debug(expression: str) -> dict[str, Any]:
    """Template ``expression`` with a real ansible run and return the debug task's result."""
    environment = {
        **os.environ,
        "ANSIBLE_CONFIG": str(REPOSITORY / "ansible.cfg"),
        "ANSIBLE_COLLECTIONS_PATH": str(REPOSITORY / "build" / "collections"),
        "ANSIBLE_INVENTORY_ENABLED": "host_list",
        "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
        "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json",
    }
    completed = subprocess.run(
        [
            str(ANSIBLE),
            "localhost",
            "--inventory",
            "localhost,",
            "--connection",
            "local",
            "--module-name",
            "ansible.builtin.debug",
            "--args",
            f"msg={expression}",
        ],
        cwd=REPOSITORY,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.stdout.startswith("{"), completed.stderr
    report = json.loads(completed.stdout)
    result: dict[str, Any] = report["plays"][0]["tasks"][0]["hosts"]["localhost"]
    return result


needs_ansible = pytest.mark.skipif(
    not ANSIBLE.exists(),
    reason="runs the ansible command from the project virtualenv, which `make setup` creates",
)


@pytest.mark.slow
@needs_ansible
def test_filters_run_through_a_real_ansible_templar() -> None:
    result = run_adhoc_debug(
        "{{ {"
        "'identity': 'shop' | nomad_previews.previews.preview_identity(42, schedules=['nightly']),"
        "'literal': 'x${y}' | nomad_previews.previews.hcl_string,"
        "'list': ['a', true, 3] | nomad_previews.previews.hcl_value,"
        "'seconds': '1m30s' | nomad_previews.previews.duration_seconds,"
        "'go': 3600 | nomad_previews.previews.go_duration"
        "} }}"
    )

    assert result.get("failed") is not True, result
    assert result["msg"] == {
        "identity": preview_identity("shop", 42, schedules=["nightly"]),
        "literal": '"x$${y}"',
        "list": '["a", true, 3]',
        "seconds": 90,
        "go": "1h",
    }


@pytest.mark.slow
@needs_ansible
def test_a_refused_input_fails_the_ansible_task_with_the_core_message() -> None:
    result = run_adhoc_debug("{{ 'a/b' | nomad_previews.previews.preview_identity(42) }}")

    assert result["failed"] is True
    assert (
        "preview_repo 'a/b' is invalid: must contain only letters, digits, '.', '_' and '-' "
        "(found '/')"
    ) in result["msg"]
