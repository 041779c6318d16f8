"""`python -m tests.doubles nomad`: run the Nomad double on its own until interrupted.

For a caller that starts it in the background (a molecule create step, a shell script):
`--port 0` picks a free port, `--address-file` receives the address once the double listens
(and, with `--acl`, the management token on a second line, which is then not printed),
`--pid-file` receives the process ID. Both files are readable by their owner only, written whole
or not at all, and removed again when the double stops on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import tempfile
import threading
from pathlib import Path
from types import FrameType

from .server import NomadDouble


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.doubles nomad", description=__doc__)
    parser.add_argument(
        "--port", type=int, default=4646, help="port on 127.0.0.1 (0 picks a free one)"
    )
    parser.add_argument("--acl", action="store_true", help="enforce ACLs with a management token")
    parser.add_argument("--vault", action="store_true", help="accept vault blocks in jobs")
    parser.add_argument(
        "--address-file",
        type=Path,
        metavar="PATH",
        help="write the address (and with --acl the management token) here once listening",
    )
    parser.add_argument(
        "--pid-file", type=Path, metavar="PATH", help="write this process's ID here"
    )
    args = parser.parse_args(argv)

    stopping = threading.Event()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    double = NomadDouble(port=args.port, acl=args.acl, vault=args.vault)
    written: list[tuple[Path, str]] = []
    try:
        if args.pid_file is not None:
            written.append(_write_atomically(args.pid_file, f"{os.getpid()}\n"))
        if args.address_file is not None:
            lines = [double.address]
            if args.acl:
                lines.append(double.management_token)
            written.append(_write_atomically(args.address_file, "\n".join(lines) + "\n"))
        print(f"Nomad API double listening on {double.address}", flush=True)
        if args.acl and args.address_file is None:
            print(f"Management token: {double.management_token}", flush=True)
        while not stopping.wait(timeout=1.0):
            continue
        print("Stopping the Nomad API double", flush=True)
    finally:
        double.stop()
        for path, content in written:
            _remove_if_ours(path, content)
    return 0


def _write_atomically(path: Path, content: str) -> tuple[Path, str]:
    """Write `content` to a private temporary file beside `path`, then rename it into place."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return path, content


def _remove_if_ours(path: Path, content: str) -> None:
    """Remove a file this process wrote, unless something else has replaced it since."""
    try:
        if path.read_text(encoding="utf-8") == content:
            path.unlink()
    except FileNotFoundError:
        return
