"""A close that overlaps an open: the close wins, and nothing of the preview is left.

An open and a close of the same preview may run at once (a push lands as the PR closes, or
the garbage collector expires a preview CI is updating). The double holds one side's request
back while the other goes on, so each overlap happens in the same order every run.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.doubles.nomad import NomadDouble
from tests.integration.conftest import NAMESPACE, client, service_hcl
from tests.integration.playbooks_helpers import (
    NOTHING_LEFT,
    SMALL_APP,
    NomadReader,
    Preview,
    close_preview,
    open_preview,
    output_of,
    write_profile,
)

# Seconds the double holds a request back; long enough for the other side to act meanwhile.
HELD = 2.0
# Seconds a playbook's request is held: time for the other playbook to start and act.
PLAYBOOK_HELD = 8.5
# Seconds an overlapping playbook may take to reach the held step.
REACH_TIMEOUT = 60.0


def lifecycle() -> Any:
    from ansible_collections.nomad_previews.previews.plugins.module_utils import lifecycle

    return lifecycle


def register(api: Any, job_id: str) -> None:
    """Register a small service job the way an open would, through Nomad's parser."""
    job = api.jobs.parse(service_hcl(job_id))
    api.job.register_job(job_id, {"Job": job})


def wait_for_request(double: NomadDouble, method: str, path: str, after: int = 0) -> int:
    """Block until the double has answered ``method path`` past log entry ``after``.

    Returns the position of that answer in the request log.
    """
    deadline = time.monotonic() + REACH_TIMEOUT
    while time.monotonic() < deadline:
        for index, record in enumerate(double.request_log[after:], start=after):
            if record.method == method and record.path == path:
                return index
        time.sleep(0.02)
    pytest.fail(f"the double never saw {method} {path}")


def test_a_job_registered_after_the_last_listing_is_removed_too(double: NomadDouble) -> None:
    api = client(double)
    api.namespace.create_namespace({"Name": NAMESPACE, "Meta": {"preview_state": "open"}})
    register(api, "first")
    # The teardown lists the variables after its job listing came back empty; hold that.
    double.fail_next("GET", "/v1/vars", delay=HELD)

    def late_open() -> None:
        purged = wait_for_request(double, "DELETE", "/v1/job/first")
        wait_for_request(double, "GET", "/v1/jobs", after=purged)
        register(api, "late")

    opener = threading.Thread(target=late_open)
    opener.start()
    receipt = lifecycle().teardown_namespace(client(double), NAMESPACE, timeout=30)
    opener.join()

    assert sorted(receipt["jobs"]) == ["first", "late"]
    assert receipt["namespace_deleted"] is True
    assert [ns["Name"] for ns in api.namespaces.get_namespaces()] == ["default"]


def test_an_open_writing_over_the_closing_mark_is_refused_at_its_next_job(
    double: NomadDouble,
) -> None:
    life = lifecycle()
    api = client(double)
    api.namespace.create_namespace({"Name": NAMESPACE, "Meta": {"preview_state": "open"}})
    register(api, "first")
    # The close is slow to purge; then Nomad refuses the first delete while the allocation
    # winds down, and is slow to answer the second.
    double.fail_next("DELETE", "/v1/job/first", delay=HELD)
    double.fail_next(
        "DELETE",
        f"/v1/namespace/{NAMESPACE}",
        body=f'namespace "{NAMESPACE}" has non-terminal allocations in regions: [global]',
    )
    double.fail_next("DELETE", f"/v1/namespace/{NAMESPACE}", delay=HELD)
    outcome: dict[str, Any] = {}

    def racing_open() -> None:
        # The open read the namespace before the close marked it, and writes its state back.
        wait_for_request(double, "POST", f"/v1/namespace/{NAMESPACE}")
        life.write_namespace(
            client(double), NAMESPACE, "", {"preview_state": "open"}, {"Name": NAMESPACE}
        )
        # The close's retry marks the namespace again before the open's next job.
        refused = wait_for_request(double, "DELETE", f"/v1/namespace/{NAMESPACE}")
        wait_for_request(double, "POST", f"/v1/namespace/{NAMESPACE}", after=refused)
        job = api.jobs.parse(service_hcl("late"))
        try:
            life.plan_and_register(client(double), job, NAMESPACE, False, refuse_closing=True)
        except life.PreviewClosingError as exc:
            outcome["refused"] = str(exc)

    opener = threading.Thread(target=racing_open)
    opener.start()
    receipt = life.teardown_namespace(client(double), NAMESPACE, timeout=30, poll_interval=0.5)
    opener.join()

    assert "is being closed; refusing to register job 'late'" in outcome.get("refused", ""), outcome
    assert receipt["namespace_deleted"] is True
    assert [ns["Name"] for ns in api.namespaces.get_namespaces()] == ["default"]


@pytest.mark.slow
def test_an_open_that_overlaps_a_close_is_refused_and_leaves_nothing(
    double: NomadDouble, tmp_path: Path
) -> None:
    preview = Preview("notifier", 7)
    profile = write_profile(tmp_path, SMALL_APP, "small.yml")
    # The open stalls on its first plan, after it wrote the namespace; the close, started
    # then, stalls on the namespace delete, after it marked and emptied it. The open wakes up
    # in between. Both holds stay under the playbooks' 10 s client timeout.
    double.fail_next("POST", "/v1/job/*/plan", delay=PLAYBOOK_HELD)
    double.fail_next("DELETE", f"/v1/namespace/{preview.namespace}", delay=PLAYBOOK_HELD)

    with ThreadPoolExecutor(max_workers=1) as pool:
        opening = pool.submit(open_preview, double, preview, profile, tmp_path, check=False)
        wait_for_request(double, "POST", "/v1/namespace")
        closed = close_preview(double, preview, check=False)
        opened = opening.result()

    assert closed.returncode == 0, output_of(closed)
    assert opened.returncode != 0, output_of(opened)
    assert "is being closed" in output_of(opened), output_of(opened)
    assert NomadReader(double).leftovers(preview) == NOTHING_LEFT
