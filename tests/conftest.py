"""Shared fixtures: running the project's playbooks as a CI job would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from tests.doubles.fixtures import (  # noqa: F401  (fixtures shared by every test folder)
    nomad_acl_double,
    nomad_addr,
    nomad_double,
    nomad_vault_double,
)

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

PlaybookRunner = Callable[..., subprocess.CompletedProcess[str]]


def playbook_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a playbook run gets: the repository's ansible.cfg, no cluster."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("NOMAD_", "VAULT_", "ANSIBLE_"))
    }
    env.update(
        {
            "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_NOCOLOR": "1",
            "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        }
    )
    env.update(extra or {})
    return env


def run_playbook(
    playbook: str,
    *args: str,
    extra_vars: Sequence[str] = (),
    env: dict[str, str] | None = None,
    cwd: Path = ROOT,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run ``ansible-playbook`` on a playbook of the repository and return the finished process.

    With ``check`` (the default) a failed run fails the test with the playbook's output.
    """
    command = [str(BIN / "ansible-playbook"), str(cwd / "playbooks" / playbook), *args]
    for extra in extra_vars:
        command += ["-e", extra]
    result = subprocess.run(
        command,
        cwd=cwd,
        env=playbook_env(env),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if check and result.returncode != 0:
        pytest.fail(
            f"{' '.join(command)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
        )
    return result


@pytest.fixture
def playbook() -> PlaybookRunner:
    """Run a playbook of the repository; see ``run_playbook``."""
    return run_playbook
