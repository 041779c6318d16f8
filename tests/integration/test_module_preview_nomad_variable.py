"""preview_nomad_variable against the Nomad double (or the agent at NOMAD_ADDR).

What the module wrote is read back with a python-nomad client of the test's own.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.doubles.fixtures import RealNomad
from tests.doubles.nomad import NomadDouble
from tests.integration.conftest import NAMESPACE, ModuleRunner, client, connection

PATH = "nomad/jobs/shop-pr-42-inbox"
Target = NomadDouble | RealNomad


def var_args(target: Target, **extra: Any) -> dict[str, Any]:
    return {**connection(target), "namespace": NAMESPACE, "path": PATH, **extra}


def stored_items(target: Target) -> dict[str, str] | None:
    found = client(target).variables.get_variables(prefix=PATH, namespace=NAMESPACE) or []
    if not any(item["Path"] == PATH for item in found):
        return None
    items: dict[str, str] = client(target).variable.get_variable(PATH, namespace=NAMESPACE)["Items"]
    return items


def credentials(target: Target) -> dict[str, Any]:
    return var_args(target, items={"username": "reviewer"}, generated=["password"])


def test_check_mode_reports_the_write_without_writing(
    run_module: ModuleRunner, nomad_double: Target, preview_namespace: str
) -> None:
    run = run_module("preview_nomad_variable", credentials(nomad_double), check=True, diff=True)

    assert not run.failed, run.msg
    assert run["changed"] is True
    assert run["keys"] == ["password", "username"]
    assert run["diff"]["after"] == "password = (hidden)\nusername = (hidden)\n"
    assert stored_items(nomad_double) is None


def test_generated_items_are_written_once_and_never_shown(
    run_module: ModuleRunner, nomad_double: Target, preview_namespace: str
) -> None:
    first = run_module("preview_nomad_variable", credentials(nomad_double), diff=True)
    written = stored_items(nomad_double)
    second = run_module("preview_nomad_variable", credentials(nomad_double))

    assert not first.failed, first.msg
    assert (first["changed"], second["changed"]) == (True, False)
    assert written is not None
    assert written["username"] == "reviewer"
    assert len(written["password"]) == 32
    assert written["password"].isalnum()
    assert stored_items(nomad_double) == written
    for run in (first, second):
        assert written["password"] not in run.stdout + run.stderr


def test_each_preview_gets_its_own_generated_value(
    run_module: ModuleRunner, nomad_double: Target, preview_namespace: str
) -> None:
    run_module("preview_nomad_variable", credentials(nomad_double))
    other = "nomad/jobs/shop-pr-42-other"
    run_module("preview_nomad_variable", {**credentials(nomad_double), "path": other})

    first = stored_items(nomad_double) or {}
    second = client(nomad_double).variable.get_variable(other, namespace=NAMESPACE)["Items"]
    assert first["password"] != second["password"]


def test_overwrite_rewrites_changed_items_and_keeps_generated_ones(
    run_module: ModuleRunner, nomad_double: Target, preview_namespace: str
) -> None:
    run_module("preview_nomad_variable", credentials(nomad_double))
    before = stored_items(nomad_double) or {}

    kept = run_module("preview_nomad_variable", {**credentials(nomad_double), "overwrite": True})
    renamed = run_module(
        "preview_nomad_variable",
        {**credentials(nomad_double), "items": {"username": "qa"}, "overwrite": True},
    )
    after = stored_items(nomad_double) or {}

    assert kept["changed"] is False
    assert renamed["changed"] is True
    assert after == {"username": "qa", "password": before["password"]}


def test_absent_deletes_and_a_missing_variable_is_no_change(
    run_module: ModuleRunner, nomad_double: Target, preview_namespace: str
) -> None:
    run_module("preview_nomad_variable", credentials(nomad_double))

    checked = run_module("preview_nomad_variable", var_args(nomad_double, state="absent"), True)
    still = stored_items(nomad_double)
    removed = run_module("preview_nomad_variable", var_args(nomad_double, state="absent"))
    again = run_module("preview_nomad_variable", var_args(nomad_double, state="absent"))

    assert checked["changed"] is True
    assert still is not None
    assert (removed["changed"], again["changed"]) == (True, False)
    assert stored_items(nomad_double) is None


def test_a_write_racing_another_one_is_refused_and_leaves_it(
    run_module: ModuleRunner, double: NomadDouble, preview_namespace: str
) -> None:
    # Someone else creates the variable between the module's read and its write.
    double.fail_next("GET", f"/v1/var/{PATH}", status=404, body="variable not found")
    theirs = {"username": "someone", "password": "their-password-0f3b9c"}
    client(double).variable.create_variable(PATH, {"Items": theirs}, namespace=NAMESPACE)

    run = run_module("preview_nomad_variable", credentials(double))

    assert run.failed
    assert f"Variable '{PATH}' in namespace '{NAMESPACE}' was written by someone else" in run.msg
    assert theirs["password"] not in run.stdout + run.stderr
    assert stored_items(double) == theirs


def test_an_item_that_is_not_a_string_is_refused(
    run_module: ModuleRunner, nomad_double: Target, preview_namespace: str
) -> None:
    run = run_module("preview_nomad_variable", var_args(nomad_double, items={"nested": {"a": 1}}))

    assert run.failed
    assert run.msg == "item 'nested' must be a string, got dict"
    assert stored_items(nomad_double) is None


@pytest.mark.parametrize("state", ["present", "absent"])
def test_the_token_is_never_printed(
    run_module: ModuleRunner, nomad_acl_double: Target, state: str
) -> None:
    sentinel = "sentinel-token-5d0c7a9e-never-printed"
    args = {**credentials(nomad_acl_double), "nomad_token": sentinel, "state": state}

    run = run_module("preview_nomad_variable", args)

    assert run.failed
    assert "ACL token not found" in run.msg
    assert sentinel not in run.stdout + run.stderr
