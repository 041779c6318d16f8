"""Cron specs and time zones: what Nomad's cronexpr and Go's time package take, refused early."""

from __future__ import annotations

import zoneinfo
from typing import Any

import pytest

from ansible_collections.nomad_previews.previews.plugins.module_utils.cron import (
    CronError,
    check_cron,
    check_time_zone,
)

WHERE = "preview_app.schedules[0].cron"
ZONE = "preview_app.schedules[0].time_zone"

MINUTE = "use 0-59, *, a range (a-b), a step (*/n, a/n or a-b/n) or a comma-separated list of these"
HOUR = "use 0-23, *, a range (a-b), a step (*/n, a/n or a-b/n) or a comma-separated list of these"
DAY = "use 1-31, *, ?, a range (a-b), a step (*/n, a/n or a-b/n) or a comma-separated list of these"
MONTH = (
    "use 1-12 or JAN-DEC, *, a range (a-b), a step (*/n, a/n or a-b/n) "
    "or a comma-separated list of these"
)
WEEKDAY = (
    "use 0-6 or SUN-SAT (7 is Sunday too), *, ?, a range (a-b), a step (*/n, a/n or a-b/n) "
    "or a comma-separated list of these"
)

ACCEPTED = [
    pytest.param("0 3 * * *", "0 3 * * *", id="daily-at-three"),
    pytest.param("  */15   *  * * *  ", "*/15 * * * *", id="spaces-are-normalised"),
    pytest.param("0,30 9-17 * * 1-5", "0,30 9-17 * * 1-5", id="lists-and-ranges"),
    pytest.param("5/10 0-12/3 1-31/2 */3 */2", "5/10 0-12/3 1-31/2 */3 */2", id="every-step"),
    pytest.param("59 23 31 12 6", "59 23 31 12 6", id="every-upper-bound"),
    pytest.param("00 07 01 09 0", "00 07 01 09 0", id="leading-zeros"),
    pytest.param("0 0 ? * 7", "0 0 ? * 7", id="sunday-as-seven"),
    pytest.param("0 0 * * 5-7", "0 0 * * 5-7", id="range-to-sunday-seven"),
    pytest.param("0 0 1 JAN,jul *", "0 0 1 JAN,jul *", id="month-names"),
    pytest.param("0 8 * Jan-Mar MON-fri", "0 8 * Jan-Mar MON-fri", id="name-ranges"),
    pytest.param("0 8 * december sunday", "0 8 * december sunday", id="long-names"),
    pytest.param("0 0 * * ?", "0 0 * * ?", id="any-weekday"),
    pytest.param("@hourly", "@hourly", id="hourly"),
    pytest.param(" @daily ", "@daily", id="daily-macro"),
    pytest.param("@weekly", "@weekly", id="weekly"),
    pytest.param("@monthly", "@monthly", id="monthly"),
    pytest.param("@yearly", "@yearly", id="yearly"),
    pytest.param("@annually", "@annually", id="annually"),
]


@pytest.mark.parametrize(("spec", "expected"), ACCEPTED)
def test_specs_nomad_takes_are_accepted(spec: str, expected: str) -> None:
    assert check_cron(WHERE, spec) == expected


REFUSED = [
    pytest.param(
        "a b c d e",
        f"{WHERE} 'a b c d e': the minute field 'a' is invalid: {MINUTE}",
        id="letters",
    ),
    pytest.param(
        "60 * * * *",
        f"{WHERE} '60 * * * *': the minute field '60' is invalid: {MINUTE}",
        id="minute-60",
    ),
    pytest.param(
        "0 24 * * *", f"{WHERE} '0 24 * * *': the hour field '24' is invalid: {HOUR}", id="hour-24"
    ),
    pytest.param(
        "0 0 0 * *",
        f"{WHERE} '0 0 0 * *': the day-of-month field '0' is invalid: {DAY}",
        id="day-of-month-0",
    ),
    pytest.param(
        "0 0 32 * *",
        f"{WHERE} '0 0 32 * *': the day-of-month field '32' is invalid: {DAY}",
        id="day-of-month-32",
    ),
    pytest.param(
        "0 0 1 13 *",
        f"{WHERE} '0 0 1 13 *': the month field '13' is invalid: {MONTH}",
        id="month-13",
    ),
    pytest.param(
        "0 0 1 JANUAR *",
        f"{WHERE} '0 0 1 JANUAR *': the month field 'JANUAR' is invalid: {MONTH}",
        id="month-misspelt",
    ),
    pytest.param(
        "0 0 * * 8",
        f"{WHERE} '0 0 * * 8': the day-of-week field '8' is invalid: {WEEKDAY}",
        id="day-of-week-8",
    ),
    pytest.param(
        "0 0 * * MON-FUN",
        f"{WHERE} '0 0 * * MON-FUN': the day-of-week field 'MON-FUN' is invalid: {WEEKDAY}",
        id="day-name-misspelt",
    ),
    pytest.param(
        "0 ? * * *",
        f"{WHERE} '0 ? * * *': the hour field '?' is invalid: {HOUR}",
        id="question-mark-outside-days",
    ),
    pytest.param(
        "0 0 L * *",
        f"{WHERE} '0 0 L * *': the day-of-month field 'L' is invalid: {DAY}",
        id="quartz-last-day",
    ),
    pytest.param(
        "0 0 * * 5#3",
        f"{WHERE} '0 0 * * 5#3': the day-of-week field '5#3' is invalid: {WEEKDAY}",
        id="quartz-nth-weekday",
    ),
    pytest.param(
        "0 0 15W * *",
        f"{WHERE} '0 0 15W * *': the day-of-month field '15W' is invalid: {DAY}",
        id="quartz-weekday-nearest",
    ),
    pytest.param(
        "0,,30 * * * *",
        f"{WHERE} '0,,30 * * * *': the minute field '0,,30' is invalid: {MINUTE}",
        id="empty-list-item",
    ),
    pytest.param(
        "*-5 * * * *",
        f"{WHERE} '*-5 * * * *': the minute field '*-5' is invalid: {MINUTE}",
        id="star-range",
    ),
    pytest.param(
        "1-2-3 * * * *",
        f"{WHERE} '1-2-3 * * * *': the minute field '1-2-3' is invalid: {MINUTE}",
        id="double-range",
    ),
    pytest.param(
        "0 17-9 * * *",
        f"{WHERE} '0 17-9 * * *': the hour field '17-9' has a range that runs backwards (17-9): "
        "write the lower value first",
        id="backwards-range",
    ),
    pytest.param(
        "*/0 * * * *",
        f"{WHERE} '*/0 * * * *': the minute field '*/0' has a step of '0': a step runs from 1 to "
        "59",
        id="step-zero",
    ),
    pytest.param(
        "0 */24 * * *",
        f"{WHERE} '0 */24 * * *': the hour field '*/24' has a step of '24': a step runs from 1 to "
        "23",
        id="step-over-the-field",
    ),
    pytest.param(
        "0 0 * * */7",
        f"{WHERE} '0 0 * * */7': the day-of-week field '*/7' has a step of '7': a step runs from "
        "1 to 6",
        id="weekday-step-7",
    ),
    pytest.param(
        "*/x * * * *",
        f"{WHERE} '*/x * * * *': the minute field '*/x' has a step of 'x': a step runs from 1 to "
        "59",
        id="step-not-a-number",
    ),
    pytest.param(
        "0 3 * *",
        f"{WHERE} '0 3 * *' must have 5 fields (minute hour day-of-month month day-of-week) or be "
        "one of @yearly, @annually, @monthly, @weekly, @daily, @hourly",
        id="four-fields",
    ),
    pytest.param(
        "0 0 3 * * *",
        f"{WHERE} '0 0 3 * * *' must have 5 fields (minute hour day-of-month month day-of-week) "
        "or be one of @yearly, @annually, @monthly, @weekly, @daily, @hourly",
        id="seconds-field",
    ),
    pytest.param(
        "@midnight",
        f"{WHERE} '@midnight' must have 5 fields (minute hour day-of-month month day-of-week) or "
        "be one of @yearly, @annually, @monthly, @weekly, @daily, @hourly",
        id="macro-cronexpr-lacks",
    ),
    pytest.param(
        "@Daily",
        f"{WHERE} '@Daily' must have 5 fields (minute hour day-of-month month day-of-week) or be "
        "one of @yearly, @annually, @monthly, @weekly, @daily, @hourly",
        id="macro-case",
    ),
    pytest.param("", f"{WHERE} is required: a cron expression such as '0 3 * * *'", id="empty"),
    pytest.param(None, f"{WHERE} is required: a cron expression such as '0 3 * * *'", id="none"),
    pytest.param(300, f"{WHERE} is required: a cron expression such as '0 3 * * *'", id="number"),
]


@pytest.mark.parametrize(("spec", "message"), REFUSED)
def test_specs_nomad_refuses_name_the_field_and_what_it_takes(spec: Any, message: str) -> None:
    with pytest.raises(CronError) as caught:
        check_cron(WHERE, spec)

    assert str(caught.value) == message


@pytest.mark.parametrize(
    "zone",
    ["UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires", "Etc/GMT+5", "Asia/Kolkata"],
)
def test_time_zones_of_the_tz_database_are_accepted(zone: str) -> None:
    assert check_time_zone(ZONE, zone) == zone


NOT_A_ZONE = "is not a time zone: use a tz database name such as 'Europe/Berlin' or 'UTC'"

BAD_ZONES = [
    pytest.param("Mars/Olympus", f"{ZONE} 'Mars/Olympus' {NOT_A_ZONE}", id="unknown"),
    pytest.param("europe/berlin", f"{ZONE} 'europe/berlin' {NOT_A_ZONE}", id="wrong-case"),
    pytest.param("Europe", f"{ZONE} 'Europe' {NOT_A_ZONE}", id="a-region-only"),
    pytest.param("Europe/Berlin ", f"{ZONE} 'Europe/Berlin ' {NOT_A_ZONE}", id="trailing-space"),
    pytest.param("Local", f"{ZONE} 'Local' {NOT_A_ZONE}", id="the-servers-local-zone"),
    pytest.param("localtime", f"{ZONE} 'localtime' {NOT_A_ZONE}", id="a-tz-database-file"),
    pytest.param("../../etc/passwd", f"{ZONE} '../../etc/passwd' {NOT_A_ZONE}", id="a-path"),
    pytest.param("/etc/localtime", f"{ZONE} '/etc/localtime' {NOT_A_ZONE}", id="absolute-path"),
    pytest.param(
        "", f"{ZONE} must be a time zone name such as 'Europe/Berlin' or 'UTC'", id="empty"
    ),
    pytest.param(
        2, f"{ZONE} must be a time zone name such as 'Europe/Berlin' or 'UTC'", id="number"
    ),
]


@pytest.mark.parametrize(("zone", "message"), BAD_ZONES)
def test_unknown_time_zones_are_refused_with_the_input_named(zone: Any, message: str) -> None:
    with pytest.raises(CronError) as caught:
        check_time_zone(ZONE, zone)

    assert str(caught.value) == message


def test_without_a_tz_database_a_zone_is_refused_with_the_cure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(zoneinfo, "available_timezones", set)
    monkeypatch.setattr(zoneinfo, "ZoneInfo", _no_database)

    with pytest.raises(CronError) as caught:
        check_time_zone(ZONE, "Europe/Berlin")

    assert str(caught.value) == (
        f"{ZONE} 'Europe/Berlin' cannot be checked: no time zone database is installed here; "
        "install the tzdata Python package"
    )
    assert check_time_zone(ZONE, "UTC") == "UTC"


def _no_database(key: str) -> zoneinfo.ZoneInfo:
    raise zoneinfo.ZoneInfoNotFoundError(f"No time zone found with key {key}")
