"""Cron specs as Nomad reads them (hashicorp/cronexpr): parse, and find the next launch.

Five fields are minute, hour, day of month, month, day of week; a sixth is the year; seven
fields put seconds first. `@hourly`, `@daily`, `@weekly`, `@monthly`, `@yearly` and
`@annually` are accepted; no other macro is (cronexpr has no `@midnight`). The double
supports `*`, `?`, numbers, names, ranges, steps and lists; `L`, `W` and `#` are refused as
syntax errors rather than guessed.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

MONTHS = {name: index for index, name in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1
)}  # fmt: skip
DAYS = {name: index for index, name in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}
MACROS = {
    "@yearly": "0 0 0 1 1 * *",
    "@annually": "0 0 0 1 1 * *",
    "@monthly": "0 0 0 1 * * *",
    "@weekly": "0 0 0 * * 0 *",
    "@daily": "0 0 0 * * * *",
    "@hourly": "0 0 * * * * *",
}
FIELDS = [
    ("second", 0, 59, {}),
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day-of-month", 1, 31, {}),
    ("month", 1, 12, MONTHS),
    ("day-of-week", 0, 7, DAYS),
    ("year", 1970, 2099, {}),
]


class CronError(ValueError):
    """A cron spec cronexpr would refuse."""


@dataclass(frozen=True)
class Cron:
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    years: frozenset[int]
    any_day: bool
    any_weekday: bool

    def matches_day(self, day: datetime.date) -> bool:
        if day.month not in self.months or day.year not in self.years:
            return False
        weekday = (day.weekday() + 1) % 7
        if self.any_day and self.any_weekday:
            return True
        if self.any_day:
            return weekday in self.weekdays
        if self.any_weekday:
            return day.day in self.days
        return day.day in self.days or weekday in self.weekdays

    def next_after(self, moment: datetime.datetime) -> datetime.datetime | None:
        """The first matching instant strictly after `moment` (aware), within ten years."""
        candidate = moment.replace(microsecond=0) + datetime.timedelta(seconds=1)
        limit = moment + datetime.timedelta(days=3660)
        while candidate < limit:
            if not self.matches_day(candidate.date()):
                candidate = (candidate + datetime.timedelta(days=1)).replace(
                    hour=0, minute=0, second=0
                )
                continue
            if candidate.hour not in self.hours:
                candidate = (candidate + datetime.timedelta(hours=1)).replace(minute=0, second=0)
                continue
            if candidate.minute not in self.minutes:
                candidate = (candidate + datetime.timedelta(minutes=1)).replace(second=0)
                continue
            if candidate.second not in self.seconds:
                candidate += datetime.timedelta(seconds=1)
                continue
            return candidate
        return None


def parse_cron(spec: str) -> Cron:
    """Parse `spec`; CronError with cronexpr-like wording when it is not valid."""
    text = spec.strip()
    # cronexpr swaps in the macros it knows; any other `@word` is one field of too few.
    text = MACROS.get(text, text)
    fields = text.split()
    if len(fields) < 5:
        raise CronError("missing field(s)")
    fields = fields[:7]
    if len(fields) == 5:
        fields = ["0", *fields, "*"]
    elif len(fields) == 6:
        fields = ["0", *fields]
    values = []
    for (name, low, high, names), field in zip(FIELDS, fields, strict=True):
        values.append(_field(field, name, low, high, names))
    return Cron(
        seconds=values[0],
        minutes=values[1],
        hours=values[2],
        days=values[3],
        months=values[4],
        weekdays=values[5],
        years=values[6],
        any_day=fields[3] in {"*", "?"},
        any_weekday=fields[5] in {"*", "?"},
    )


def _field(text: str, name: str, low: int, high: int, names: dict[str, int]) -> frozenset[int]:
    found: set[int] = set()
    for item in text.split(","):
        step = 1
        part = item
        if "/" in item:
            part, _, step_text = item.partition("/")
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"syntax error in {name} field: '{text}'")
            step = int(step_text)
        if part in {"*", "?"}:
            start, end = low, high
        elif "-" in part:
            first, _, last = part.partition("-")
            start, end = _number(first, name, text, names), _number(last, name, text, names)
        else:
            start = _number(part, name, text, names)
            end = high if step > 1 else start
        if not (low <= start <= high and low <= end <= high) or start > end:
            raise CronError(f"syntax error in {name} field: '{text}'")
        found.update(range(start, end + 1, step))
    if name == "day-of-week" and 7 in found:
        found = (found - {7}) | {0}
    return frozenset(found)


def _number(text: str, name: str, whole: str, names: dict[str, int]) -> int:
    lowered = text.lower()
    if lowered[:3] in names and lowered in {lowered[:3], *(_long_names(names, lowered[:3]))}:
        return names[lowered[:3]]
    if not text.isdigit():
        raise CronError(f"syntax error in {name} field: '{whole}'")
    return int(text)


def _long_names(names: dict[str, int], short: str) -> set[str]:
    long = {
        "jan": "january", "feb": "february", "mar": "march", "apr": "april", "jun": "june",
        "jul": "july", "aug": "august", "sep": "september", "oct": "october", "nov": "november",
        "dec": "december", "sun": "sunday", "mon": "monday", "tue": "tuesday",
        "wed": "wednesday", "thu": "thursday", "fri": "friday", "sat": "saturday",
    }  # fmt: skip
    return {long[short]} if short in long else set()
