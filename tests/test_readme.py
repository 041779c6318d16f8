"""The README's first command works from a copy of the repository, as a newcomer runs it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

from tests.conftest import ROOT, playbook_env

README = ROOT / "README.md"


def readme_commands() -> list[str]:
    """The commands of the README's first shell block, comments dropped."""
    block = re.search(r"```sh\n(.*?)```", README.read_text(), re.DOTALL)
    assert block, "the README starts with a shell block"
    return [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_the_readme_starts_with_the_render_and_the_test_command() -> None:
    assert readme_commands() == ["make preview", "make test"]


def test_the_render_command_renders_the_example_in_a_fresh_copy(tmp_path: Path) -> None:
    copy = tmp_path / "nomad-previews"
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    for name in filter(None, tracked.split("\0")):
        target = copy / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    # The copy reuses this checkout's virtual environment, which the test command has just
    # installed; `-o` tells make to take it as it is instead of installing it again.
    (copy / ".venv").symlink_to(ROOT / ".venv")

    result = subprocess.run(
        [*readme_commands()[0].split(), "-o", ".venv/.installed"],
        cwd=copy,
        env=playbook_env({"ANSIBLE_CONFIG": str(copy / "ansible.cfg")}),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    folder = copy / "build" / "previews" / "shop-pr-42"
    assert f"Preview shop-pr-42 rendered into {folder}" in result.stdout
    assert "Nothing was submitted" in result.stdout
    summary = json.loads((folder / "summary.json").read_text())
    assert all((folder / job["file"]).is_file() for job in summary["jobs"])
    assert (folder / "vault-policy.hcl").is_file()
    assert (copy / "build" / "collections").is_dir()
