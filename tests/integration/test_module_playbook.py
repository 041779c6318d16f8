"""The modules end to end through ansible-playbook, as CI runs them.

One generated playbook opens a preview (namespace, a job, the listing) and one closes it. The
connection comes from NOMAD_ADDR and NOMAD_TOKEN in the environment, as in CI. Each run's
PLAY RECAP says what changed; Nomad is read back with a client of the test's own.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import BIN, ROOT, playbook_env
from tests.doubles.fixtures import RealNomad
from tests.doubles.nomad import NomadDouble
from tests.integration.conftest import NAMESPACE, client, job_ids, service_hcl

pytestmark = pytest.mark.slow

SENTINEL = "sentinel-token-77e0a5c3-never-printed"
JOB = "shop-pr-42-web"
COLLECTION = "nomad_previews.previews"


def open_play(spec: Path) -> list[dict[str, object]]:
    return [
        {
            "name": "Open a preview",
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [
                {
                    "name": "Ensure the preview namespace exists",
                    f"{COLLECTION}.preview_namespace": {
                        "name": NAMESPACE,
                        "refuse_if_closing": True,
                        "meta": {
                            "preview_id": "shop-pr-42",
                            "preview_state": "open",
                            "preview_idle_timeout": "48h",
                        },
                    },
                },
                {
                    "name": "Ensure the web job runs",
                    f"{COLLECTION}.preview_nomad_job": {
                        "namespace": NAMESPACE,
                        "content": f"{{{{ lookup('ansible.builtin.file', '{spec}') }}}}",
                    },
                },
                {
                    "name": "Read the previews",
                    f"{COLLECTION}.preview_info": {},
                    "register": "found",
                },
                {
                    "name": "Check the preview is listed with its job",
                    "ansible.builtin.assert": {
                        "that": [
                            "found.previews | map(attribute='preview_id') | list == ['shop-pr-42']",
                            f"found.previews[0].jobs | map(attribute='id') | list == ['{JOB}']",
                        ]
                    },
                },
            ],
        }
    ]


def close_play() -> list[dict[str, object]]:
    return [
        {
            "name": "Close a preview",
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [
                {
                    "name": "Ensure the web job is gone",
                    f"{COLLECTION}.preview_nomad_job": {
                        "namespace": NAMESPACE,
                        "job_id": JOB,
                        "state": "absent",
                    },
                },
                {
                    "name": "Ensure nothing of the preview is left",
                    f"{COLLECTION}.preview_namespace": {"name": NAMESPACE, "state": "absent"},
                    "register": "teardown",
                },
            ],
        }
    ]


def run(
    playbook: Path, target: NomadDouble | RealNomad, *args: str
) -> subprocess.CompletedProcess[str]:
    token = getattr(target, "management_token", "") or SENTINEL
    result = subprocess.run(
        [str(BIN / "ansible-playbook"), str(playbook), *args],
        cwd=ROOT,
        env=playbook_env({"NOMAD_ADDR": target.address, "NOMAD_TOKEN": token}),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    return result


def changed(result: subprocess.CompletedProcess[str]) -> int:
    found = re.search(r"localhost\s*:.*changed=(\d+)", result.stdout)
    assert found, result.stdout
    return int(found.group(1))


@pytest.fixture
def plays(tmp_path: Path) -> dict[str, Path]:
    spec = tmp_path / "web.nomad.hcl"
    spec.write_text(service_hcl(JOB), encoding="utf-8")
    paths = {"open": tmp_path / "open.yml", "close": tmp_path / "close.yml", "spec": spec}
    paths["open"].write_text(yaml.safe_dump(open_play(spec), sort_keys=False), encoding="utf-8")
    paths["close"].write_text(yaml.safe_dump(close_play(), sort_keys=False), encoding="utf-8")
    return paths


def test_open_twice_check_an_edit_then_close_twice(
    nomad_double: NomadDouble | RealNomad, plays: dict[str, Path]
) -> None:
    opened = run(plays["open"], nomad_double, "-vvv")
    reopened = run(plays["open"], nomad_double)
    plays["spec"].write_text(service_hcl(JOB, env_value="2"), encoding="utf-8")
    checked = run(plays["open"], nomad_double, "--check", "--diff")
    stored = client(nomad_double).job.get_job(JOB, namespace=NAMESPACE)
    closed = run(plays["close"], nomad_double)
    reclosed = run(plays["close"], nomad_double)

    assert (changed(opened), changed(reopened), changed(checked)) == (2, 0, 1)
    assert SENTINEL not in opened.stdout + opened.stderr
    assert '-Group "web".Task "web".Env[PREVIEW_ENV] = "1"' in checked.stdout
    assert '+Group "web".Task "web".Env[PREVIEW_ENV] = "2"' in checked.stdout
    assert (stored["Version"], stored["TaskGroups"][0]["Tasks"][0]["Env"]) == (
        0,
        {"PREVIEW_ENV": "1"},
    )
    assert (changed(closed), changed(reclosed)) == (2, 0)
    assert job_ids(nomad_double) == []
    names = [ns["Name"] for ns in client(nomad_double).namespaces.get_namespaces()]
    assert NAMESPACE not in names
