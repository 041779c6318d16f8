"""Fixtures for running the collection's modules against the Nomad double or a real agent.

Modules run in-process: ``run_module`` calls a module's ``main()`` with its arguments patched
in, as Ansible would pass them, and returns the JSON result the module printed together with
the raw output. With NOMAD_ADDR set the same tests run against that agent; those needing the
double's controls skip with the reason (see ``tests.doubles.fixtures``).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import nomad
import pytest
from ansible.module_utils.testing import patch_module_args

from tests.doubles.fixtures import (  # noqa: F401  fixtures are found by name
    RealNomad,
    nomad_acl_double,
    nomad_addr,
    nomad_double,
    nomad_vault_double,
)
from tests.doubles.nomad import NomadDouble

MODULES = "ansible_collections.nomad_previews.previews.plugins.modules"
NAMESPACE = "preview-shop-pr-42"


@dataclass
class ModuleRun:
    """What a module run returned: its result, whether it failed, and everything it printed."""

    result: dict[str, Any]
    failed: bool
    stdout: str
    stderr: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.result[key]

    @property
    def msg(self) -> str:
        return str(self.result.get("msg", ""))


ModuleRunner = Callable[..., ModuleRun]


@pytest.fixture
def run_module(capsys: pytest.CaptureFixture[str]) -> ModuleRunner:
    """Run a module of the collection in-process: ``run_module("preview_info", {...})``.

    ``check`` and ``diff`` switch on Ansible's check and diff modes. The run fails the test
    when the module printed nothing parseable.
    """

    def run(name: str, args: dict[str, Any], check: bool = False, diff: bool = False) -> ModuleRun:
        module = importlib.import_module(f"{MODULES}.{name}")
        arguments = {**args, "_ansible_check_mode": check, "_ansible_diff": diff}
        capsys.readouterr()
        with patch_module_args(arguments), pytest.raises(SystemExit) as finished:
            module.main()
        out, err = capsys.readouterr()
        try:
            result = json.loads(out)
        except ValueError:
            pytest.fail(f"{name} printed no JSON result:\n{out}\n{err}")
        failed = bool(result.get("failed")) or finished.value.code not in (0, None)
        return ModuleRun(result=result, failed=failed, stdout=out, stderr=err)

    return run


@pytest.fixture
def double(request: pytest.FixtureRequest) -> NomadDouble:
    """The double itself, for tests that use its controls; skips against a real agent."""
    target = request.getfixturevalue("nomad_double")
    if not isinstance(target, NomadDouble):
        pytest.skip("needs the Nomad API double's controls; NOMAD_ADDR points at a real agent")
    return target


def connection(target: NomadDouble | RealNomad, token: str | None = None) -> dict[str, Any]:
    """Module connection arguments for the Nomad the test talks to."""
    args: dict[str, Any] = {"nomad_addr": target.address, "nomad_timeout": 5}
    chosen = token if token is not None else getattr(target, "management_token", "")
    if chosen:
        args["nomad_token"] = chosen
    return args


def client(
    target: NomadDouble | RealNomad, namespace: str = NAMESPACE, token: str | None = None
) -> Any:
    """A python-nomad client for checking state another way than the module under test."""
    chosen = token if token is not None else getattr(target, "management_token", "")
    return nomad.Nomad(address=target.address, namespace=namespace, token=chosen or None, timeout=5)


@pytest.fixture
def preview_namespace(request: pytest.FixtureRequest) -> Iterator[str]:
    """The preview namespace, created for the test and removed after it on a real agent."""
    yield from _namespace(request.getfixturevalue("nomad_double"))


@pytest.fixture
def acl_namespace(request: pytest.FixtureRequest) -> Iterator[str]:
    """The preview namespace on a double that enforces ACLs."""
    yield from _namespace(request.getfixturevalue("nomad_acl_double"))


def _namespace(target: NomadDouble | RealNomad) -> Iterator[str]:
    api = client(target)
    api.namespace.create_namespace({"Name": NAMESPACE, "Description": "test preview"})
    yield NAMESPACE
    if isinstance(target, RealNomad):
        from ansible_collections.nomad_previews.previews.plugins.module_utils import lifecycle

        lifecycle.teardown_namespace(api, NAMESPACE, timeout=60)


TokenMaker = Callable[[NomadDouble | RealNomad, str, str], str]


@pytest.fixture
def restricted_token() -> Iterator[TokenMaker]:
    """Make client tokens holding one policy: ``restricted_token(target, rules, name)``.

    Returns the token's secret. Tokens and policies made on a real agent are deleted after
    the test.
    """
    made: list[tuple[Any, str, str]] = []

    def make(target: NomadDouble | RealNomad, rules: str, name: str) -> str:
        admin = client(target)
        admin.acl.create_policy(name, {"Name": name, "Rules": rules})
        created = admin.acl.create_token({"Name": name, "Type": "client", "Policies": [name]})
        if isinstance(target, RealNomad):
            made.append((admin, created["AccessorID"], name))
        return str(created["SecretID"])

    yield make
    for admin, accessor, name in made:
        admin.acl.delete_token(accessor)
        admin.acl.delete_policy(name)


def job_ids(target: NomadDouble | RealNomad, namespace: str = NAMESPACE) -> list[str]:
    """IDs of the jobs Nomad holds in the namespace, read with a client of the test's own."""
    return sorted(stub["ID"] for stub in client(target).jobs.get_jobs(namespace=namespace))


def service_hcl(
    job_id: str = "shop-pr-42-web",
    count: int = 1,
    command: str = "sleep",
    env_value: str = "1",
) -> str:
    """A small raw_exec service job with an update strategy, runnable on a dev agent."""
    return f"""
job "{job_id}" {{
  type        = "service"
  datacenters = ["*"]

  meta {{
    preview_id = "shop-pr-42"
  }}

  group "web" {{
    count = {count}

    update {{
      min_healthy_time  = "1s"
      healthy_deadline  = "1m"
      progress_deadline = "2m"
    }}

    task "web" {{
      driver = "raw_exec"

      config {{
        command = "{command}"
        args    = ["3600"]
      }}

      env {{
        PREVIEW_ENV = "{env_value}"
      }}

      resources {{
        cpu    = 50
        memory = 32
      }}
    }}
  }}
}}
"""


def batch_hcl(job_id: str = "shop-pr-42-migrate", command: str = "true") -> str:
    """A one-off raw_exec batch job."""
    return f"""
job "{job_id}" {{
  type        = "batch"
  datacenters = ["*"]

  group "run" {{
    task "run" {{
      driver = "raw_exec"

      config {{
        command = "{command}"
      }}

      resources {{
        cpu    = 50
        memory = 32
      }}
    }}
  }}
}}
"""


def periodic_hcl(job_id: str = "shop-pr-42-cron-digest") -> str:
    """A periodic batch job whose only launch is far away; runs come from forced launches."""
    return f"""
job "{job_id}" {{
  type        = "batch"
  datacenters = ["*"]

  periodic {{
    crons            = ["0 0 1 1 * 2099"]
    prohibit_overlap = true
  }}

  group "run" {{
    task "run" {{
      driver = "raw_exec"

      config {{
        command = "true"
      }}

      resources {{
        cpu    = 50
        memory = 32
      }}
    }}
  }}
}}
"""
