"""`python -m tests.doubles nomad`: run the Nomad double on its own until interrupted."""

from __future__ import annotations

import argparse
import threading

from .server import NomadDouble


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.doubles nomad", description=__doc__)
    parser.add_argument(
        "--port", type=int, default=4646, help="port on 127.0.0.1 (0 picks a free one)"
    )
    parser.add_argument(
        "--acl", action="store_true", help="enforce ACLs; prints a management token"
    )
    parser.add_argument("--vault", action="store_true", help="accept vault blocks in jobs")
    args = parser.parse_args(argv)

    double = NomadDouble(port=args.port, acl=args.acl, vault=args.vault)
    print(f"Nomad API double listening on {double.address}", flush=True)
    if args.acl:
        print(f"Management token: {double.management_token}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        print("Stopping the Nomad API double", flush=True)
    finally:
        double.stop()
    return 0
