"""The CI examples call the playbooks the way the README documents, and stay safe to copy.

A workflow cannot run here, so these read the files as the CI systems would (YAML) and check
what matters when a team copies them: which events open and close a preview, that runs of one
PR queue up, that the summary lands in one comment that is updated, and that nothing the PR's
author chooses is spliced into a shell script.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from tests.conftest import ROOT

CI = ROOT / "examples" / "ci"
# A GitHub expression inside a run: script is pasted into the shell before it runs.
EXPRESSION = re.compile(r"\$\{\{.*?\}\}")


def load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((CI / name).read_text(encoding="utf-8"))
    return loaded


def steps_of(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def test_github_opens_on_every_push_and_closes_on_close() -> None:
    workflow = load("github-actions.yml")
    # YAML 1.1 reads the bare key `on` as true.
    events = workflow.get("on") or workflow[True]
    jobs = workflow["jobs"]

    assert events["pull_request"]["types"] == ["opened", "synchronize", "reopened", "closed"]
    assert "action != 'closed'" in jobs["open"]["if"]
    assert "action == 'closed'" in jobs["close"]["if"]
    open_runs = " ".join(step.get("run", "") for step in jobs["open"]["steps"])
    close_runs = " ".join(step.get("run", "") for step in jobs["close"]["steps"])
    assert "playbooks/preview_open.yml" in open_runs
    assert "playbooks/preview_close.yml" in close_runs


def test_github_runs_of_one_pr_queue_up_instead_of_racing() -> None:
    concurrency = load("github-actions.yml")["concurrency"]

    assert "github.event.pull_request.number" in concurrency["group"]
    assert concurrency["cancel-in-progress"] is False


def test_github_splices_no_expression_into_a_shell_script() -> None:
    workflow = load("github-actions.yml")

    spliced = {
        step.get("name", "?"): EXPRESSION.findall(step["run"])
        for step in steps_of(workflow)
        if "run" in step and EXPRESSION.search(step["run"])
    }
    assert spliced == {}


def test_github_skips_forks_which_get_no_secrets() -> None:
    jobs = load("github-actions.yml")["jobs"]

    for name in ("open", "close"):
        assert "!github.event.pull_request.head.repo.fork" in jobs[name]["if"], name


def test_github_updates_one_sticky_comment_found_by_the_summary_marker() -> None:
    (comment,) = [
        step
        for step in steps_of(load("github-actions.yml"))
        if step.get("uses", "").startswith("actions/github-script")
    ]
    script = comment["with"]["script"]
    summary = (ROOT / "nomad_jobs" / "summary.md.j2").read_text(encoding="utf-8")

    assert "<!-- nomad-previews:" in summary
    assert "`<!-- nomad-previews:${preview} -->`" in script
    assert "updateComment" in script
    assert script.index("updateComment") < script.index("createComment")


def test_gitlab_opens_per_merge_request_and_stopping_the_environment_closes() -> None:
    pipeline = load("gitlab-ci.yml")
    opening, closing = pipeline["preview_open"], pipeline["preview_close"]

    assert pipeline[".nomad-previews"]["resource_group"] == "preview-$CI_MERGE_REQUEST_IID"
    assert opening["environment"]["on_stop"] == "preview_close"
    assert closing["environment"]["action"] == "stop"
    assert closing["environment"]["name"] == opening["environment"]["name"]
    assert "playbooks/preview_open.yml" in "\n".join(opening["script"])
    assert "playbooks/preview_close.yml" in "\n".join(closing["script"])
    assert "PUT" in "\n".join(opening["script"])
