"""`python -m preview_inbox` as the job runs it: environment settings, one log line per capture."""

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from inbox_testing import BasicAuth, Poll

pytestmark = pytest.mark.slow


def inbox_environment(**variables: str) -> dict[str, str]:
    """This process's environment without its INBOX_* variables, plus `variables`."""
    environ = {key: value for key, value in os.environ.items() if not key.startswith("INBOX_")}
    environ.update(variables)
    return environ


def test_module_serves_with_settings_from_the_environment(
    tmp_path: Path, poll: Poll, basic_auth: BasicAuth, unused_port: int
) -> None:
    port = unused_port
    log = tmp_path / "inbox.log"
    environ = inbox_environment(
        INBOX_PREVIEW_ID="shop-pr-42",
        INBOX_USERNAME="reviewer",
        INBOX_PASSWORD="never-logged-pw",
        INBOX_CAP="5",
    )
    with log.open("wb") as stream:
        process = subprocess.Popen(
            [sys.executable, "-m", "preview_inbox", "--port", str(port)],
            env=environ,
            stdout=stream,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        if process.poll() is not None:
            pytest.fail(f"the inbox exited with {process.returncode}: {log.read_text()}")
        try:
            return httpx.get(f"{base}/healthz").status_code == 200
        except httpx.TransportError:
            return False

    try:
        poll(healthy, "the inbox to answer /healthz")
        captured = httpx.post(f"{base}/hooks/paid", content=b"{}")
        listed = httpx.get(f"{base}/api/events", headers=basic_auth("reviewer", "never-logged-pw"))
        health = httpx.get(f"{base}/healthz").json()
        cleared = httpx.delete(
            f"{base}/api/events", headers=basic_auth("reviewer", "never-logged-pw")
        )
    finally:
        process.terminate()
        process.wait(timeout=15)

    assert captured.status_code == 200
    assert [event["path"] for event in listed.json()["events"]] == ["/hooks/paid"]
    assert (health["preview_id"], health["cap"]) == ("shop-pr-42", 5)
    output = log.read_text()
    capture_lines = [line for line in output.splitlines() if "Captured" in line]
    assert len(capture_lines) == 1
    assert "shop-pr-42" in capture_lines[0]
    assert "/hooks/paid" in capture_lines[0]
    assert "never-logged-pw" not in output
    assert "/api/events" not in output
    assert cleared.status_code == 200
    assert "Cleared 1 captures for preview shop-pr-42" in output
    lines = output.splitlines()
    assert any("Uvicorn running" in line for line in lines)
    assert [line for line in lines if "shop-pr-42" not in line] == []


def test_module_refuses_bad_settings_with_exit_code_2() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "preview_inbox"],
        env=inbox_environment(INBOX_CAP="lots"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 2
    assert "INBOX_CAP must be an integer" in result.stderr
