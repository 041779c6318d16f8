"""Check a schedule's cron spec and time zone as Nomad will read them.

Nomad parses a periodic job's cron spec with cronexpr and its time zone with Go's time package,
and refuses a bad one only when the job is submitted. These checks refuse the same input before
anything is rendered, with a message that names the input, the field and what it allows.

A spec is five fields (minute, hour, day of month, month, day of week) or one of the macros
cronexpr knows. Each field is ``*``, a value, a range ``a-b``, a step ``*/n``, ``a/n`` or
``a-b/n``, or a comma-separated list of these; day of month and day of week also take ``?``.
Months and days of the week may be named (``JAN``, ``mon``, ``Sunday``). Quartz's ``L``, ``W``
and ``#`` are refused: the project supports the portable subset only.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

# cronexpr's own macros; it has no ``@midnight``.
CRON_MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@hourly")
# Files of a tz database that are not zones: each means the local time of whatever reads it.
NOT_ZONES = ("localtime", "posixrules")

_MONTH_NAMES = (
    ("jan", "january"),
    ("feb", "february"),
    ("mar", "march"),
    ("apr", "april"),
    ("may",),
    ("jun", "june"),
    ("jul", "july"),
    ("aug", "august"),
    ("sep", "september"),
    ("oct", "october"),
    ("nov", "november"),
    ("dec", "december"),
)
_DAY_NAMES = (
    ("sun", "sunday"),
    ("mon", "monday"),
    ("tue", "tuesday"),
    ("wed", "wednesday"),
    ("thu", "thursday"),
    ("fri", "friday"),
    ("sat", "saturday"),
)
_ITEM = re.compile(r"^(?P<start>[^-/]+)(?:-(?P<end>[^-/]+))?(?:/(?P<step>[^-/]*))?$")
_NUMBER = re.compile(r"^[0-9]{1,2}$")


class CronError(ValueError):
    """A cron spec or time zone Nomad would refuse; the message names the input and the rule."""


@dataclass(frozen=True)
class CronField:
    """One of the five fields of a cron spec and the values it takes."""

    name: str
    low: int
    high: int
    # Names for values, lower case: month and day-of-week names.
    names: Mapping[str, int] = field(default_factory=dict)
    # Day of month and day of week take ``?`` for "any", as ``*``.
    any_mark: bool = False
    # Day of week takes 7 for Sunday, beside 0.
    sunday_seven: bool = False
    # How the values read in a message, before the forms every field takes.
    values: str = ""

    def allowed(self) -> str:
        """Say what this field takes, for a message."""
        marks = "*, ?" if self.any_mark else "*"
        values = self.values or f"{self.low}-{self.high}"
        return (
            f"use {values}, {marks}, a range (a-b), a step (*/n, a/n or a-b/n) "
            "or a comma-separated list of these"
        )


FIELDS = (
    CronField("minute", 0, 59),
    CronField("hour", 0, 23),
    CronField("day-of-month", 1, 31, any_mark=True),
    CronField(
        "month",
        1,
        12,
        names=MappingProxyType(
            {name: number for number, names in enumerate(_MONTH_NAMES, 1) for name in names}
        ),
        values="1-12 or JAN-DEC",
    ),
    CronField(
        "day-of-week",
        0,
        6,
        names=MappingProxyType(
            {name: number for number, names in enumerate(_DAY_NAMES) for name in names}
        ),
        any_mark=True,
        sunday_seven=True,
        values="0-6 or SUN-SAT (7 is Sunday too)",
    ),
)


def check_cron(where: str, spec: Any) -> str:
    """Return ``spec`` with its fields separated by single spaces, or raise ``CronError``.

    ``where`` names the input in the message (``preview_app.schedules[0].cron``).
    """
    if not isinstance(spec, str) or not spec.strip():
        raise CronError(f"{where} is required: a cron expression such as '0 3 * * *'")
    text = spec.strip()
    if text in CRON_MACROS:
        return text
    fields = text.split()
    if len(fields) != len(FIELDS):
        raise CronError(
            f"{where} {spec!r} must have 5 fields (minute hour day-of-month month day-of-week) "
            f"or be one of {', '.join(CRON_MACROS)}"
        )

    for cron_field, value in zip(FIELDS, fields, strict=True):
        problem = _field_problem(cron_field, value)
        if problem:
            raise CronError(f"{where} {spec!r}: the {cron_field.name} field {value!r} {problem}")
    return " ".join(fields)


def check_time_zone(where: str, zone: Any) -> str:
    """Return ``zone`` when it names a time zone of the tz database, or raise ``CronError``.

    ``UTC`` needs no database. Any other name is looked up with ``zoneinfo``, which reads the
    system's tz database or, without one, the ``tzdata`` package.
    """
    if not isinstance(zone, str) or not zone:
        raise CronError(f"{where} must be a time zone name such as 'Europe/Berlin' or 'UTC'")
    if zone == "UTC":
        return zone

    if zone not in NOT_ZONES and _known_zone(zone):
        return zone
    if not zoneinfo.available_timezones():
        raise CronError(
            f"{where} {zone!r} cannot be checked: no time zone database is installed here; "
            "install the tzdata Python package"
        )
    raise CronError(
        f"{where} {zone!r} is not a time zone: use a tz database name such as "
        "'Europe/Berlin' or 'UTC'"
    )


def _known_zone(zone: str) -> bool:
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def _field_problem(cron_field: CronField, value: str) -> str:
    """Say what is wrong with one field, or return ``""`` when cronexpr will take it."""
    for item in value.split(","):
        problem = _item_problem(cron_field, item)
        if problem:
            return problem
    return ""


def _item_problem(cron_field: CronField, item: str) -> str:
    wildcards = ("*", "?") if cron_field.any_mark else ("*",)
    if item in wildcards:
        return ""
    match = _ITEM.match(item)
    bounds = _bounds(cron_field, match) if match else None
    if match is None or bounds is None:
        return f"is invalid: {cron_field.allowed()}"

    start, end = bounds
    if end < start:
        return f"has a range that runs backwards ({item}): write the lower value first"
    step_text = match.group("step")
    step = int(step_text) if step_text and _NUMBER.match(step_text) else 0
    if step_text is not None and not 1 <= step <= cron_field.high:
        return f"has a step of {step_text!r}: a step runs from 1 to {cron_field.high}"
    return ""


def _bounds(cron_field: CronField, match: re.Match[str]) -> tuple[int, int] | None:
    """The first and last value of one list item, or ``None`` when the field does not take it."""
    start_text, end_text, step_text = match.group("start", "end", "step")
    if start_text == "*":
        # ``*`` takes a step and nothing else.
        return (cron_field.low, cron_field.high) if end_text is None and step_text else None
    start = _value(cron_field, start_text)
    end = start if end_text is None else _value(cron_field, end_text)
    if start is None or end is None:
        return None
    return start, end


def _value(cron_field: CronField, text: str) -> int | None:
    """The value ``text`` names in this field, or ``None`` when the field does not take it."""
    lowered = text.lower()
    if lowered in cron_field.names:
        return cron_field.names[lowered]
    if not _NUMBER.match(text):
        return None
    number = int(text)
    high = 7 if cron_field.sunday_seven else cron_field.high
    if not cron_field.low <= number <= high:
        return None
    return number
