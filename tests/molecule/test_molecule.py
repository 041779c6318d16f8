"""Each role's molecule scenario, run as a developer runs it: ``molecule test`` in the role.

The scenarios that submit to Nomad start their own Nomad API double in ``create`` (see
``nomad_double_start.yml`` here) and stop it in ``destroy``. Their full sequence is
destroy, syntax, create, (prepare,) converge, idempotence, verify, destroy; a scenario passes
only when molecule exits 0 and its idempotence and verify steps both ran and succeeded.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import BIN, ROOT, playbook_env

ROLES = sorted(path for path in (ROOT / "roles").iterdir() if (path / "tasks").is_dir())
SCENARIOS = sorted((ROOT / "roles").glob("*/molecule/*/molecule.yml"))
DOUBLE_PLAYBOOK = "nomad_double_start.yml"
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
TAIL_LINES = 150


def scenario_id(config: Path) -> str:
    return f"{config.parents[2].name}-{config.parent.name}"


def starts_double(scenario: Path) -> bool:
    """Whether the scenario's create step starts the Nomad API double."""
    create = scenario / "create.yml"
    return create.is_file() and DOUBLE_PLAYBOOK in create.read_text(encoding="utf-8")


def molecule_env() -> dict[str, str]:
    """The playbook environment without its ansible.cfg: each scenario sets its own paths."""
    env = {key: value for key, value in playbook_env().items() if not key.startswith("MOLECULE_")}
    env.pop("ANSIBLE_CONFIG")
    env["NO_COLOR"] = "1"
    return env


def tail(output: str) -> str:
    return "\n".join(output.splitlines()[-TAIL_LINES:])


def test_every_role_has_a_molecule_scenario() -> None:
    covered = {config.parents[2] for config in SCENARIOS}
    assert [role.name for role in ROLES if role not in covered] == []


@pytest.mark.slow
@pytest.mark.parametrize("config", SCENARIOS, ids=scenario_id)
def test_scenario_passes(config: Path) -> None:
    scenario = config.parent
    role = config.parents[2]
    if os.environ.get("NOMAD_ADDR") and starts_double(scenario):
        pytest.skip(
            "the scenario starts its own Nomad API double; NOMAD_ADDR points the suite at a "
            "real agent, which molecule scenarios do not use"
        )

    result = subprocess.run(
        [str(BIN / "molecule"), "test", "--scenario-name", scenario.name],
        cwd=role,
        env=molecule_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=600,
        check=False,
    )
    output = ANSI_ESCAPE.sub("", result.stdout)

    assert result.returncode == 0, f"molecule test exited {result.returncode}:\n{tail(output)}"
    for step in ("idempotence", "verify"):
        # Molecule's final details list each step, with an arrow or with ">" when not on a tty
        done = rf"^{re.escape(scenario.name)} (➜|>) {step}: Executed: Successful\s*$"
        assert re.search(done, output, re.MULTILINE), f"no successful {step}:\n{tail(output)}"
