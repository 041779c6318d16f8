"""Each module's documentation matches its argument spec, and its examples and returns parse.

No collection sanity test runs in this project, so this is where a documented option that the
module does not accept (or the other way round) is caught.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from ansible_collections.nomad_previews.previews.plugins.doc_fragments.nomad import (
    ModuleDocFragment,
)

COLLECTION = "nomad_previews.previews"
NOMAD_MODULES = (
    "preview_nomad_job",
    "preview_namespace",
    "preview_info",
    "preview_nomad_variable",
)
# Runs on the controller as an action plugin and talks to no server: no connection options.
MODULES = (*NOMAD_MODULES, "preview_render")
FRAGMENT = f"{COLLECTION}.nomad"
SECRETS = {"nomad_token"}
# Options that carry secret values of the objects a module writes, beyond its credentials.
OBJECT_SECRETS = {"preview_nomad_variable": {"items"}}


def load(name: str) -> ModuleType:
    return importlib.import_module(f"ansible_collections.{COLLECTION}.plugins.modules.{name}")


def documentation(module: ModuleType) -> dict[str, Any]:
    """The module's DOCUMENTATION with the options of its doc fragments merged in."""
    doc: dict[str, Any] = yaml.safe_load(module.DOCUMENTATION)
    options = dict(doc.get("options") or {})
    fragments = doc.get("extends_documentation_fragment") or []
    if FRAGMENT in fragments:
        options.update(yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"])
    doc["options"] = options
    return doc


def spec_view(spec: dict[str, Any]) -> dict[str, Any]:
    """What the documentation states about an option, read from its argument spec."""
    return {
        "type": spec.get("type", "str"),
        "default": spec.get("default"),
        "choices": spec.get("choices"),
        "required": bool(spec.get("required", False)),
        "elements": spec.get("elements"),
    }


def doc_view(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": doc.get("type", "str"),
        "default": doc.get("default"),
        "choices": doc.get("choices"),
        "required": bool(doc.get("required", False)),
        "elements": doc.get("elements"),
    }


@pytest.mark.parametrize("name", MODULES)
def test_documented_options_equal_the_argument_spec(name: str) -> None:
    module = load(name)
    documented = documentation(module)["options"]
    spec = module.ARGUMENT_SPEC

    assert sorted(documented) == sorted(spec)
    for option, option_spec in spec.items():
        assert doc_view(documented[option]) == spec_view(option_spec), option


@pytest.mark.parametrize("name", MODULES)
def test_only_credentials_are_hidden_and_look_alikes_say_so(name: str) -> None:
    spec = load(name).ARGUMENT_SPEC

    hidden = {option for option, option_spec in spec.items() if option_spec.get("no_log")}
    look_alikes = {
        option
        for option in spec
        if any(word in option for word in ("token", "key", "cert", "secret", "password"))
    }

    expected = SECRETS if name in NOMAD_MODULES else set()
    assert hidden == expected | OBJECT_SECRETS.get(name, set())
    for option in look_alikes - SECRETS:
        assert spec[option].get("no_log") is False, option


@pytest.mark.parametrize("name", MODULES)
def test_fallback_variables_are_documented(name: str) -> None:
    module = load(name)
    documented = documentation(module)["options"]

    for option, option_spec in module.ARGUMENT_SPEC.items():
        fallback = option_spec.get("fallback")
        if fallback is None:
            continue
        description = " ".join(documented[option]["description"])
        for variable in fallback[1]:
            assert f"E({variable})" in description, option


@pytest.mark.parametrize("name", MODULES)
def test_docs_come_in_order_and_state_check_and_diff_support(name: str) -> None:
    module = load(name)
    source = Path(str(module.__file__)).read_text(encoding="utf-8")
    doc = documentation(module)

    positions = [source.index(f"\n{block} = ") for block in ("DOCUMENTATION", "EXAMPLES", "RETURN")]
    assert positions == sorted(positions)
    assert doc["module"] == name
    if name in NOMAD_MODULES:
        assert FRAGMENT in doc["extends_documentation_fragment"]
    assert doc["notes"]
    for attribute in ("check_mode", "diff_mode"):
        assert doc["attributes"][attribute]["support"] in {"full", "partial", "none"}


@pytest.mark.parametrize("name", MODULES)
def test_examples_parse_and_use_the_fully_qualified_name_with_known_options(name: str) -> None:
    module = load(name)
    options = set(module.ARGUMENT_SPEC)

    tasks = yaml.safe_load(module.EXAMPLES)

    assert isinstance(tasks, list)
    assert tasks
    own = [task for task in tasks if f"{COLLECTION}.{name}" in task]
    assert own, "no example calls the module by its fully qualified name"
    assert all(f"{COLLECTION}.{name}" in task or "ansible.builtin.debug" in task for task in tasks)
    for task in own:
        assert task["name"]
        assert set(task[f"{COLLECTION}.{name}"]) <= options


@pytest.mark.parametrize("name", MODULES)
def test_return_parses_and_describes_every_key(name: str) -> None:
    returned = yaml.safe_load(load(name).RETURN)

    assert isinstance(returned, dict)
    for key, value in returned.items():
        assert value["description"], key
        assert value["returned"], key
        assert value["type"], key


def test_the_lookup_takes_the_modules_connection_options_from_the_same_environment() -> None:
    from ansible_collections.nomad_previews.previews.plugins.lookup import preview_state
    from ansible_collections.nomad_previews.previews.plugins.module_utils.nomad import (
        CONNECTION_ARGSPEC,
    )

    doc: dict[str, Any] = yaml.safe_load(preview_state.DOCUMENTATION)
    assert doc["extends_documentation_fragment"] == [FRAGMENT]
    connection = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]

    assert sorted(connection) == sorted(CONNECTION_ARGSPEC)
    for option, option_spec in CONNECTION_ARGSPEC.items():
        fallback = option_spec.get("fallback")
        documented_env = [entry["name"] for entry in connection[option].get("env", [])]
        assert documented_env == (list(fallback[1]) if fallback else []), option
