"""Run an API double on its own: `python -m tests.doubles nomad --port 4646 [--acl]`."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    doubles = {"nomad": "tests.doubles.nomad.cli"}
    if not argv or argv[0] not in doubles:
        print(
            f"usage: python -m tests.doubles {{{','.join(sorted(doubles))}}} [options]",
            file=sys.stderr,
        )
        return 2
    module = __import__(doubles[argv[0]], fromlist=["main"])
    return int(module.main(argv[1:]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
