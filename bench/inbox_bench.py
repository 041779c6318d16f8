"""Benchmark of the preview inbox: captures per second with the ring full, and its memory.

For each body size asked for (by default 1 KiB and the inbox's default of 64 KiB), starts
`python -m preview_inbox` on a free loopback port (and, with --redis, a redis-server of its
own), fills the ring to its bounds, then times a fixed number of further captures. Prints the
throughput seen by the client, the server's CPU time per capture (the figure that does not
depend on the load generator sharing the machine), the server's resident memory idle and with
the ring full, its peak while serving the longest answer the API allows, and how long the API
takes to list and to search a full ring. Every loop is bounded in count and time.
Run it as `bench/inbox` from the repository root.
"""

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import redis

from preview_inbox.app import MAX_LIMIT
from preview_inbox.settings import Settings

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
START_TIMEOUT_S = 30.0
# No phase may run longer than this, whatever the machine.
PHASE_TIMEOUT_S = 600.0


@dataclass
class Phase:
    """What one batch of captures took."""

    requests: int
    seconds: float
    server_cpu: float
    failures: int

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_us_per_capture(self) -> float:
        return self.server_cpu / self.requests * 1e6


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def rss_mib(pid: int) -> float:
    """Resident memory of a process, from /proc/<pid>/statm."""
    resident_pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return resident_pages * PAGE_SIZE / (1024 * 1024)


def peak_rss_mib(pid: int) -> float:
    """The most resident memory a process has had since its peak was last reset (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise SystemExit(f"/proc/{pid}/status has no VmHWM line")


def reset_peak_rss(pid: int) -> bool:
    """Start counting a process's peak resident memory afresh; False where Linux refuses."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def wait_for_health(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the inbox exited with {process.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise SystemExit("the inbox did not answer /healthz in time")


async def post_many(port: int, count: int, body: bytes, concurrency: int, first: int) -> int:
    """POST `count` webhooks over `concurrency` keep-alive connections; return the failures.

    A minimal HTTP/1.1 client on asyncio streams, so that the load generator costs far less
    than the server it measures (a general-purpose client would be the bottleneck here).
    """
    failures = 0
    numbers = iter(range(first, first + count))

    async def connection() -> None:
        nonlocal failures
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for number in numbers:
                writer.write(
                    f"POST /hooks/bench/{number} HTTP/1.1\r\nHost: inbox\r\n"
                    "Content-Type: application/json\r\nX-Bench: 1\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n".encode("ascii")
                    + body
                )
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                await reader.readexactly(length)
                if status != 200:
                    failures += 1
        finally:
            writer.close()
            await writer.wait_closed()

    await asyncio.wait_for(
        asyncio.gather(*(connection() for _ in range(concurrency))), timeout=PHASE_TIMEOUT_S
    )
    return failures


def run_phase(
    pid: int, port: int, count: int, body: bytes, *, concurrency: int, first: int
) -> Phase:
    cpu_before = cpu_seconds(pid)
    started = time.perf_counter()
    failures = asyncio.run(post_many(port, count, body, concurrency, first))
    seconds = time.perf_counter() - started
    return Phase(count, seconds, cpu_seconds(pid) - cpu_before, failures)


def api_latency_ms(base: str, params: dict[str, str], rounds: int) -> float:
    with httpx.Client(base_url=base, timeout=60) as client:
        started = time.perf_counter()
        for _ in range(rounds):
            response = client.get("/api/events", params=params)
            response.raise_for_status()
        return (time.perf_counter() - started) / rounds * 1000


def longest_answer(base: str) -> tuple[int, int, float]:
    """GET the longest list the API allows, reading it as it streams; (events, bytes, ms)."""
    with httpx.Client(base_url=base, timeout=PHASE_TIMEOUT_S) as client:
        started = time.perf_counter()
        size = 0
        with client.stream("GET", "/api/events", params={"limit": str(MAX_LIMIT)}) as answer:
            answer.raise_for_status()
            for chunk in answer.iter_bytes():
                size += len(chunk)
        seconds = time.perf_counter() - started
    count = httpx.get(f"{base}/api/events", params={"limit": str(MAX_LIMIT)}).json()["count"]
    return count, size, seconds * 1000


def start_redis() -> tuple[subprocess.Popen[bytes], str]:
    executable = shutil.which("redis-server")
    if executable is None:
        raise SystemExit("--redis needs redis-server on the PATH")
    port = free_port()
    process = subprocess.Popen(
        [
            executable,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            if redis.Redis.from_url(url, socket_timeout=1).ping():
                return process, url
        except redis.RedisError:
            time.sleep(0.05)
    process.terminate()
    raise SystemExit("redis-server did not answer PING in time")


def parse_args() -> argparse.Namespace:
    defaults = Settings()
    parser = argparse.ArgumentParser(prog="bench/inbox", description=__doc__.split("\n")[0])
    parser.add_argument("--cap", type=int, default=10_000, help="ring size (default 10000)")
    parser.add_argument(
        "--max-total-bytes",
        type=int,
        default=defaults.max_total_bytes,
        help=f"the ring's byte bound (default the inbox's, {defaults.max_total_bytes})",
    )
    parser.add_argument(
        "--body-bytes",
        type=int,
        nargs="+",
        default=[1024, defaults.max_body_bytes],
        help=f"body sizes, one run each (default 1024 and the inbox's {defaults.max_body_bytes})",
    )
    parser.add_argument("--requests", type=int, default=20_000, help="timed captures at the cap")
    parser.add_argument("--batches", type=int, default=4, help="timed batches (default 4)")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight")
    parser.add_argument("--redis", action="store_true", help="persist captures in a redis-server")
    parser.add_argument("--api-rounds", type=int, default=20, help="GETs per API latency figure")
    return parser.parse_args()


def run(args: argparse.Namespace, body_bytes: int) -> tuple[list[str], int]:
    """One benchmark at one body size: the report's lines and the number of failed captures."""
    body = (b'{"pad":"' + b"x" * body_bytes)[: max(body_bytes - 2, 0)] + b'"}'
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    redis_process = None
    environ = {key: value for key, value in os.environ.items() if not key.startswith("INBOX_")}
    environ.update(
        INBOX_CAP=str(args.cap),
        INBOX_MAX_BODY_BYTES=str(max(body_bytes, 1)),
        INBOX_MAX_TOTAL_BYTES=str(max(args.max_total_bytes, body_bytes)),
        INBOX_PREVIEW_ID="bench",
    )
    if args.redis:
        redis_process, environ["INBOX_REDIS_URL"] = start_redis()

    load_before = os.getloadavg()[0]
    inbox = subprocess.Popen(
        [sys.executable, "-m", "preview_inbox", "--port", str(port)],
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_health(base, inbox)
        idle = rss_mib(inbox.pid)
        fill = run_phase(inbox.pid, port, args.cap, body, concurrency=args.concurrency, first=0)
        at_cap = rss_mib(inbox.pid)
        batch = args.requests // args.batches
        batches = [
            run_phase(
                inbox.pid,
                port,
                batch,
                body,
                concurrency=args.concurrency,
                first=args.cap + number * batch,
            )
            for number in range(args.batches)
        ]
        after = rss_mib(inbox.pid)
        health = httpx.get(f"{base}/healthz").json()
        list_ms = api_latency_ms(base, {"limit": "100"}, args.api_rounds)
        search_ms = api_latency_ms(base, {"q": "no-such-text", "limit": "100"}, args.api_rounds)
        peak_is_fresh = reset_peak_rss(inbox.pid)
        before_answer = rss_mib(inbox.pid)
        listed, answer_bytes, answer_ms = longest_answer(base)
        answer_peak = peak_rss_mib(inbox.pid)
    finally:
        inbox.terminate()
        inbox.wait(timeout=30)
        if redis_process is not None:
            redis_process.terminate()
            redis_process.wait(timeout=30)

    steady = Phase(
        requests=sum(phase.requests for phase in batches),
        seconds=sum(phase.seconds for phase in batches),
        server_cpu=sum(phase.server_cpu for phase in batches),
        failures=sum(phase.failures for phase in batches),
    )
    rates = sorted(phase.per_second for phase in batches)
    stored = health["captures"]
    peak_note = "" if peak_is_fresh else " (the process's lifetime peak: no reset here)"
    report = [
        f"preview inbox benchmark: cap {args.cap} or {health['max_bytes']:,} B, "
        f"body {len(body)} B, {args.concurrency} connections, "
        f"redis {'on' if args.redis else 'off'}, "
        f"{os.cpu_count()} CPUs shared by server and load generator",
        f"  load average     {load_before:.2f} at the start (other work here lowers the rates)",
        f"  fill to cap      {fill.requests} captures in {fill.seconds:.2f} s, "
        f"{fill.per_second:,.0f}/s",
        f"  at cap (timed)   {steady.requests} captures in {steady.seconds:.2f} s, "
        f"{steady.per_second:,.0f}/s overall",
        f"  per batch        {', '.join(f'{rate:,.0f}' for rate in rates)} captures/s "
        f"(median {statistics.median(rates):,.0f}, best {rates[-1]:,.0f})",
        f"  server CPU       {steady.cpu_us_per_capture:,.0f} us per capture at cap, "
        f"{1e6 / steady.cpu_us_per_capture:,.0f} captures/s per core",
        f"  failures         {fill.failures + steady.failures}",
        f"  captures stored  {stored} (cap {args.cap}), {health['bytes']:,} B "
        f"of {health['max_bytes']:,} B",
        f"  resident memory  {idle:.1f} MiB idle, {at_cap:.1f} MiB at cap, "
        f"{after:.1f} MiB after the timed phase",
        f"  memory per item  {(after - idle) * 1024 / max(stored, 1):.2f} KiB above idle",
        f"  GET /api/events  {list_ms:.1f} ms for the newest 100, "
        f"{search_ms:.1f} ms to search the whole ring",
        f"  longest answer   {listed} events (limit {MAX_LIMIT}), {answer_bytes / 2**20:.1f} MiB "
        f"in {answer_ms:.0f} ms",
        f"  serving it       resident memory {before_answer:.1f} MiB before, "
        f"peak {answer_peak:.1f} MiB while serving{peak_note}",
    ]
    return report, fill.failures + steady.failures


def main() -> int:
    args = parse_args()
    if min(args.cap, args.batches, args.concurrency, *args.body_bytes) < 1 or (
        args.requests < args.batches
    ):
        raise SystemExit(
            "--cap, --batches, --concurrency and --body-bytes must be positive, "
            "--requests >= --batches"
        )
    failures = 0
    for number, body_bytes in enumerate(args.body_bytes):
        report, failed = run(args, body_bytes)
        failures += failed
        print(("\n" if number else "") + "\n".join(report), flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
