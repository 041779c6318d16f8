"""Benchmark of opening, re-running and closing a preview, beside a plain nomad_job peer.

For the Sidekiq example (repository `shop`, PR 42) it times three runs of our playbooks:
`preview_open` on an empty cluster, the same run again with nothing changed, and
`preview_close`. The peer is a playbook generated here that registers the same rendered job
specs with community.general's `nomad_job` module, runs again, and removes every job by name;
its namespace is created through python-nomad before the clock starts, since `nomad_job`
cannot create one. Every measurement gets a fresh in-process Nomad double that accepts Vault
blocks; its request log gives the number of job registrations each run made. Ours and
the peer alternate so that noise on the machine hits both alike. One extra open with Ansible's
`profile_tasks` callback shows where our time goes. Our side does more than the peer (it
creates and stamps the namespace, waits for healthy deployments, reads where jobs run and
writes the summary), which is the cost the ratios put a number on.
Run it as `bench/open_close` from the repository root.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import nomad
import yaml

from tests.doubles.nomad import NomadDouble, RequestRecord

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
OPEN = ROOT / "playbooks" / "preview_open.yml"
CLOSE = ROOT / "playbooks" / "preview_close.yml"
EXAMPLE = "examples/sidekiq/preview.yml"
IDENTITY_VARS = ("-e", "preview_repo=shop", "-e", "preview_pr=42")
APP_VARS = ("-e", f"@{EXAMPLE}", *IDENTITY_VARS)
STEPS = ("full open", "no-change re-run", "close")
PROFILED_TASKS = 15
# No playbook run may take longer than this, whatever the machine.
PLAYBOOK_TIMEOUT_S = 900
# A registration: POST or PUT on /v1/jobs or /v1/job/<id> itself, never on a sub-path
# such as /plan, /periodic/force, /dispatch or /evaluate.
REGISTER_METHODS = frozenset({"POST", "PUT"})
REGISTER_PATH = re.compile(r"/v1/(?:jobs|job/[^/]+)")
# A line of the TASKS RECAP: the task name, a space, dashes up to the column, the seconds.
PROFILE_LINE = re.compile(r"(?P<name>.*?) ?-* (?P<seconds>\d+\.\d+)s")


@dataclass
class Step:
    """One timed playbook run and the job registrations it made."""

    seconds: float
    registers: int


@dataclass
class Rendered:
    """The render-only output of the example: its namespace, job IDs and spec files."""

    namespace: str
    job_ids: list[str]
    specs: list[Path]


def playbook_env(nomad_addr: str | None, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The repository's ansible.cfg, the virtualenv first on PATH, NOMAD_ADDR when given.

    The caller's own NOMAD_*, VAULT_*, ANSIBLE_* and PROFILE_TASKS_* variables are left out.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("NOMAD_", "VAULT_", "ANSIBLE_", "PROFILE_TASKS_"))
    }
    env.update(
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_NOCOLOR="1",
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
    )
    if nomad_addr:
        env["NOMAD_ADDR"] = nomad_addr
    env.update(extra or {})
    return env


def run_playbook(playbook: Path, env: dict[str, str], *args: str) -> tuple[float, str]:
    """Run one playbook to completion; return its wall time and what it printed."""
    started = time.perf_counter()
    result = subprocess.run(
        [str(BIN / "ansible-playbook"), str(playbook), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=PLAYBOOK_TIMEOUT_S,
        check=False,
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        output = "\n".join((result.stdout + result.stderr).splitlines()[-40:])
        raise SystemExit(f"{playbook.name} exited with {result.returncode}:\n{output}")
    return seconds, result.stdout


def is_register(record: RequestRecord) -> bool:
    return record.method in REGISTER_METHODS and REGISTER_PATH.fullmatch(record.path) is not None


def timed(double: NomadDouble, playbook: Path, env: dict[str, str], *args: str) -> Step:
    first = len(double.request_log)
    seconds, _ = run_playbook(playbook, env, *args)
    with double.lock:
        made = sum(is_register(record) for record in double.request_log[first:])
    return Step(seconds, made)


def expect_jobs(double: NomadDouble, rendered: Rendered, *, stopped: bool, who: str) -> None:
    """Refuse to report figures for a run that did not leave the jobs as it should."""
    found = {job["ID"]: bool(job.get("Stop")) for job in double.jobs(rendered.namespace)}
    wrong = [job_id for job_id in rendered.job_ids if found.get(job_id) is not stopped]
    if wrong:
        state = "stopped" if stopped else "registered"
        raise SystemExit(f"{who}: jobs not {state} in {rendered.namespace}: {', '.join(wrong)}")


def render(output_dir: Path) -> Rendered:
    """Render the example without a cluster and read what it wrote."""
    run_playbook(OPEN, playbook_env(None), *APP_VARS, "-e", f"preview_output_dir={output_dir}")

    summaries = list(output_dir.glob("*/summary.json"))
    if len(summaries) != 1:
        raise SystemExit(f"the render-only run wrote {len(summaries)} summaries, expected one")
    summary = json.loads(summaries[0].read_text())
    specs = sorted(summaries[0].parent.glob("*.nomad.hcl"))
    job_ids = [job["id"] for job in summary["jobs"]]
    if len(specs) != len(job_ids):
        raise SystemExit(f"{len(specs)} rendered specs for {len(job_ids)} jobs in the summary")
    return Rendered(namespace=summary["namespace"], job_ids=job_ids, specs=specs)


def peer_playbooks(rendered: Rendered, folder: Path) -> tuple[Path, Path]:
    """Write the peer's open and close playbooks; the double's port comes in as `peer_port`."""
    connection = {
        "host": "127.0.0.1",
        "port": "{{ peer_port }}",
        "use_ssl": False,
        "namespace": rendered.namespace,
    }

    def play(name: str, task: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"name": name, "hosts": "localhost", "gather_facts": False, "tasks": [task]}]

    open_play = play(
        "Register the rendered preview jobs",
        {
            "name": "Ensure each rendered job is registered",
            "community.general.nomad_job": {
                **connection,
                "content": "{{ lookup('file', item) }}",
                "state": "present",
            },
            "loop": [str(spec) for spec in rendered.specs],
        },
    )
    close_play = play(
        "Remove the preview jobs",
        {
            "name": "Ensure each preview job is stopped",
            "community.general.nomad_job": {**connection, "name": "{{ item }}", "state": "absent"},
            "loop": rendered.job_ids,
        },
    )
    paths = folder / "peer_open.yml", folder / "peer_close.yml"
    for path, plays in zip(paths, (open_play, close_play), strict=True):
        path.write_text(yaml.safe_dump(plays, sort_keys=False))
    return paths


def measure_ours(rendered: Rendered, output_dir: Path) -> list[Step]:
    with NomadDouble(vault=True) as double:
        env = playbook_env(double.address)
        open_args = (*APP_VARS, "-e", f"preview_output_dir={output_dir}")
        opened = timed(double, OPEN, env, *open_args)
        expect_jobs(double, rendered, stopped=False, who="our open")
        rerun = timed(double, OPEN, env, *open_args)
        closed = timed(double, CLOSE, env, *IDENTITY_VARS)
        if rendered.namespace in double.namespaces() or double.jobs(rendered.namespace):
            raise SystemExit(f"our close left namespace {rendered.namespace} or its jobs behind")
    return [opened, rerun, closed]


def measure_peer(rendered: Rendered, playbooks: tuple[Path, Path]) -> list[Step]:
    peer_open, peer_close = playbooks
    with NomadDouble(vault=True) as double:
        port = urlsplit(double.address).port
        client = nomad.Nomad(host="127.0.0.1", port=port, secure=False, timeout=30)
        client.namespace.create_namespace({"Name": rendered.namespace})
        env = playbook_env(double.address)
        port_var = ("-e", f"peer_port={port}")
        opened = timed(double, peer_open, env, *port_var)
        expect_jobs(double, rendered, stopped=False, who="peer open")
        rerun = timed(double, peer_open, env, *port_var)
        closed = timed(double, peer_close, env, *port_var)
        expect_jobs(double, rendered, stopped=True, who="peer close")
    return [opened, rerun, closed]


def profile_open(output_dir: Path) -> tuple[float, list[tuple[str, float]]]:
    """One more open with profile_tasks; its wall time and every task's time, slowest first."""
    extra = {
        "ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks",
        "PROFILE_TASKS_TASK_OUTPUT_LIMIT": "all",
        "PROFILE_TASKS_SORT_ORDER": "descending",
    }
    with NomadDouble(vault=True) as double:
        env = playbook_env(double.address, extra)
        seconds, stdout = run_playbook(
            OPEN, env, *APP_VARS, "-e", f"preview_output_dir={output_dir}"
        )

    lines = stdout.splitlines()
    recap = next((n for n, line in enumerate(lines) if line.startswith("TASKS RECAP")), None)
    if recap is None:
        raise SystemExit("the profiled open printed no TASKS RECAP")
    tasks = []
    for line in lines[recap + 1 :]:
        found = PROFILE_LINE.fullmatch(line.strip())
        if found:
            tasks.append((found["name"], float(found["seconds"])))
    return seconds, tasks


def spread(values: Sequence[float]) -> tuple[float, float]:
    return statistics.median(values), min(values)


def counts(steps: Sequence[Step]) -> str:
    found = sorted({step.registers for step in steps})
    return str(found[0]) if len(found) == 1 else f"{found[0]}-{found[-1]}"


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def report(
    ours: list[list[Step]],
    peer: list[list[Step]],
    profiled: tuple[float, list[tuple[str, float]]],
) -> list[str]:
    lines = [
        f"  {'':18}{'ours median / min':>22}{'regs':>6}{'peer median / min':>22}{'regs':>6}"
        f"{'ours/peer median / min':>26}",
    ]
    ratios = []
    for index, step in enumerate(STEPS):
        our_steps = [run[index] for run in ours]
        peer_steps = [run[index] for run in peer]
        our_median, our_min = spread([s.seconds for s in our_steps])
        peer_median, peer_min = spread([s.seconds for s in peer_steps])
        ratios.append((our_median / peer_median, our_min / peer_min))
        lines.append(
            f"  {step:18}{our_median:>13.2f} / {our_min:5.2f} s{counts(our_steps):>6}"
            f"{peer_median:>13.2f} / {peer_min:5.2f} s{counts(peer_steps):>6}"
            f"{ratios[-1][0]:>17.2f}x / {ratios[-1][1]:.2f}x"
        )

    rerun_registers = max(run[1].registers for run in ours)
    open_ratio, rerun_ratio, close_ratio = (median for median, _ in ratios)
    lines += ["", "  each run in seconds, in the order run"]
    for index, step in enumerate(STEPS):
        our_runs = ", ".join(f"{run[index].seconds:.2f}" for run in ours)
        peer_runs = ", ".join(f"{run[index].seconds:.2f}" for run in peer)
        lines.append(f"    {step:18}ours {our_runs}   peer {peer_runs}")
    lines += [
        "",
        "  targets (on the median ratio)",
        f"    full open         <= 1.5x the peer: {open_ratio:.2f}x, {verdict(open_ratio <= 1.5)}",
        f"    no-change re-run  0 register calls: {rerun_registers} at most, "
        f"{verdict(rerun_registers == 0)}",
        f"    no-change re-run  <= 1.0x the peer: {rerun_ratio:.2f}x, "
        f"{verdict(rerun_ratio <= 1.0)}",
        f"    close             no target: {close_ratio:.2f}x the peer",
    ]

    seconds, tasks = profiled
    in_tasks = sum(task_seconds for _, task_seconds in tasks)
    slowest = tasks[:PROFILED_TASKS]
    lines += [
        "",
        f"  where our open spends its time: one more open with profile_tasks took {seconds:.2f} s",
        f"    {len(tasks)} tasks ran for {in_tasks:.2f} s; starting and ending "
        f"ansible-playbook took the other {seconds - in_tasks:.2f} s",
        f"    the {len(slowest)} slowest tasks, {sum(t for _, t in slowest):.2f} s between them:",
    ]
    lines += [f"    {task_seconds:7.2f} s  {name}" for name, task_seconds in slowest]
    return lines


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/open_close", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="measurements per side (default 3)")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    if args.runs < 1:
        raise SystemExit("--runs must be positive")
    load_before = os.getloadavg()[0]

    with tempfile.TemporaryDirectory(prefix="open-close-") as scratch:
        folder = Path(scratch)
        rendered = render(folder / "render")
        playbooks = peer_playbooks(rendered, folder)
        ours: list[list[Step]] = []
        peer: list[list[Step]] = []
        for run in range(args.runs):
            # Alternate who goes first so that a warm cache or a busy moment favours neither.
            for side in ("ours", "peer") if run % 2 == 0 else ("peer", "ours"):
                if side == "ours":
                    ours.append(measure_ours(rendered, folder / f"ours-{run}"))
                else:
                    peer.append(measure_peer(rendered, playbooks))
        profiled = profile_open(folder / "profiled")

    header = [
        f"open/close benchmark: {EXAMPLE} as shop PR 42, {len(rendered.job_ids)} jobs",
        f"  {args.runs} runs per side, ours and the peer interleaved, "
        "a fresh Nomad double (Vault on) for each",
        "  peer: community.general.nomad_job present for each rendered spec, the same again,",
        "  then absent by name for each job; its namespace is made before the clock starts",
        f"  {os.cpu_count()} CPUs, load average {load_before:.2f} at the start and "
        f"{os.getloadavg()[0]:.2f} at the end (other work here slows both sides)",
        "",
    ]
    print("\n".join(header + report(ours, peer, profiled)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
