"""Go `time.Duration` parsing and printing, as Nomad's messages and HCL decoder use them."""

from __future__ import annotations

import re

UNITS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "μs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
PART = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)")

SECOND = 1_000_000_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE


def parse_go_duration(text: str) -> int:
    """Nanoseconds of a Go duration string such as `30s` or `1h30m`; ValueError like Go's."""
    original = text
    sign = 1
    if text[:1] in {"-", "+"}:
        sign = -1 if text[0] == "-" else 1
        text = text[1:]
    if text == "0":
        return 0
    if not text:
        raise ValueError(f'time: invalid duration "{original}"')
    total = 0.0
    position = 0
    while position < len(text):
        match = PART.match(text, position)
        if not match or match.group(1) in {"", "."}:
            if re.match(r"[0-9.]+$", text[position:]):
                raise ValueError(f'time: missing unit in duration "{original}"')
            unit = re.match(r"[0-9.]*([^0-9.]*)", text[position:])
            if unit and unit.group(1) and not PART.match(text, position):
                raise ValueError(f'time: unknown unit "{unit.group(1)}" in duration "{original}"')
            raise ValueError(f'time: invalid duration "{original}"')
        total += float(match.group(1)) * UNITS[match.group(2)]
        position = match.end()
    return sign * round(total)


def format_go_duration(nanos: int) -> str:
    """Go's `Duration.String()`: `5s`, `15m0s`, `1h0m0s`, `1.5s`, `250ms`, `0s`."""
    if nanos == 0:
        return "0s"
    sign = "-" if nanos < 0 else ""
    nanos = abs(nanos)
    if nanos < SECOND:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if nanos >= size:
                return sign + _decimal(nanos, size) + unit
    hours, rest = divmod(nanos, HOUR)
    minutes, rest = divmod(rest, MINUTE)
    seconds = _decimal(rest, SECOND) + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{seconds}"
    if minutes:
        return f"{sign}{minutes}m{seconds}"
    return sign + seconds


def _decimal(value: int, size: int) -> str:
    whole, fraction = divmod(value, size)
    if not fraction:
        return str(whole)
    digits = len(str(size)) - 1
    return f"{whole}.{str(fraction).rjust(digits, '0').rstrip('0')}"
