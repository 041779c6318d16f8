"""Benchmark of the preview inbox: captures per second with the cap filled, and memory at the cap.

Starts `python -m preview_inbox` on a free loopback port (and, with --redis, a redis-server
of its own), fills the ring to its cap, then times a fixed number of further captures. Prints
the throughput seen by the client, the server's CPU time per capture (the figure that does not
depend on the load generator sharing the machine), the server's resident memory, and how long
the API takes to list and to search a full ring. Every loop is bounded in count and time.
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
    parser = argparse.ArgumentParser(prog="bench/inbox", description=__doc__.split("\n")[0])
    parser.add_argument("--cap", type=int, default=10_000, help="ring size (default 10000)")
    parser.add_argument("--body-bytes", type=int, default=1024, help="body size (default 1024)")
    parser.add_argument("--requests", type=int, default=20_000, help="timed captures at the cap")
    parser.add_argument("--batches", type=int, default=4, help="timed batches (default 4)")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight")
    parser.add_argument("--redis", action="store_true", help="persist captures in a redis-server")
    parser.add_argument("--api-rounds", type=int, default=20, help="GETs per API latency figure")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    if min(args.cap, args.batches, args.concurrency) < 1 or args.requests < args.batches:
        raise SystemExit(
            "--cap, --batches and --concurrency must be positive, --requests >= --batches"
        )
    body = (b'{"pad":"' + b"x" * args.body_bytes)[: max(args.body_bytes - 2, 0)] + b'"}'
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    redis_process = None
    environ = {key: value for key, value in os.environ.items() if not key.startswith("INBOX_")}
    environ.update(
        INBOX_CAP=str(args.cap),
        INBOX_MAX_BODY_BYTES=str(max(args.body_bytes, 1)),
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
        stored = httpx.get(f"{base}/healthz").json()["captures"]
        list_ms = api_latency_ms(base, {"limit": "100"}, args.api_rounds)
        search_ms = api_latency_ms(base, {"q": "no-such-text", "limit": "100"}, args.api_rounds)
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
    report = [
        f"preview inbox benchmark: cap {args.cap}, body {len(body)} B, "
        f"{args.concurrency} connections, redis {'on' if args.redis else 'off'}, "
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
        f"  captures stored  {stored} (cap {args.cap})",
        f"  resident memory  {idle:.1f} MiB idle, {at_cap:.1f} MiB at cap, "
        f"{after:.1f} MiB after the timed phase",
        f"  memory per item  {(after - idle) * 1024 / args.cap:.2f} KiB above idle",
        f"  GET /api/events  {list_ms:.1f} ms for the newest 100, "
        f"{search_ms:.1f} ms to search the whole ring",
    ]
    print("\n".join(report))
    return 1 if fill.failures + steady.failures else 0


if __name__ == "__main__":
    sys.exit(main())
