"""Tests for HCL quoting and Go durations."""

from __future__ import annotations

from typing import Any

import hcl2
import pytest
from hcl2.utils import SerializationOptions

from ansible_collections.nomad_previews.previews.plugins.module_utils.hcl import (
    MAX_SECONDS,
    duration_ns,
    format_duration,
    hcl_string,
    hcl_value,
    parse_duration,
)

# Ask python-hcl2 for string values rather than their source form.
VALUES = SerializationOptions(strip_string_quotes=True, with_comments=False)


def hcl_template_unescape(text: str) -> str:
    """Resolve HCL's template escapes, `$${` and `%%{`, leftmost first as HCL's scanner does.

    python-hcl2 8.1.4 resolves backslash escapes when asked for values but hands `$${` and
    `%%{` back verbatim, so the tests finish that step to compare against what HCL means.
    """
    return text.replace("$${", "${").replace("%%{", "%{")


def parsed(expression: str) -> Any:
    """Parse `value = <expression>` with python-hcl2 and return the value HCL gives it."""
    return hcl2.loads(f"value = {expression}\n", serialization_options=VALUES)["value"]


ROUND_TRIP_VALUES = [
    pytest.param("", id="empty"),
    pytest.param("plain text", id="plain"),
    pytest.param('say "hi"', id="double-quotes"),
    pytest.param('"', id="lone-quote"),
    pytest.param("C:\\path\\to", id="backslashes"),
    pytest.param("ends with backslash\\", id="trailing-backslash"),
    pytest.param('\\"', id="backslash-then-quote"),
    pytest.param("\\n is not a newline", id="escaped-looking-n"),
    pytest.param("${var.secret}", id="interpolation"),
    pytest.param("%{ if true }x%{ endif }", id="directive"),
    pytest.param("$${already}", id="escaped-interpolation"),
    pytest.param("${a}${b}", id="two-interpolations"),
    pytest.param("$ {not one}", id="dollar-space-brace"),
    pytest.param("100% {done}", id="percent-space-brace"),
    pytest.param("cost: 5$", id="trailing-dollar"),
    pytest.param("line one\nline two", id="newline"),
    pytest.param("crlf\r\n", id="carriage-return"),
    pytest.param("a\tb", id="tab"),
    pytest.param("bell\x07 nul\x00 del\x7f", id="control-characters"),
    pytest.param("\u0085\u00a0\u2028\u200b", id="unicode-spacing-and-separators"),
    pytest.param("caf\u00e9 \u65e5\u672c \U0001f680", id="unicode-text"),
    pytest.param('"}\n}\njob "evil" {', id="block-injection"),
]


@pytest.mark.parametrize("value", ROUND_TRIP_VALUES)
def test_hcl_string_parses_back_to_the_exact_value(value: str) -> None:
    literal = hcl_string(value)

    assert hcl_template_unescape(parsed(literal)) == value


@pytest.mark.parametrize("value", ROUND_TRIP_VALUES)
def test_hcl_string_is_one_line_with_only_its_outer_quotes_unescaped(value: str) -> None:
    literal = hcl_string(value)
    inner = literal[1:-1]

    assert literal[0] == literal[-1] == '"'
    assert "\n" not in literal
    assert "\r" not in literal
    assert '"' not in inner.replace('\\"', "").replace("\\\\", "")


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        pytest.param("${x}", '"$${x}"', id="interpolation"),
        pytest.param("%{x}", '"%%{x}"', id="directive"),
        pytest.param("$${x}", '"$$${x}"', id="escaped-interpolation"),
        # python-hcl2 8.1.4 cannot lex four dollars before a brace or three percent signs, so
        # these runs are checked in their source form: HCL un-doubles only the last two.
        pytest.param("$$${x}", '"$$$${x}"', id="three-dollars"),
        pytest.param("%%{x}", '"%%%{x}"', id="two-percents"),
        pytest.param('a"b\\c', '"a\\"b\\\\c"', id="quote-and-backslash"),
        pytest.param("a\nb\rc\td", '"a\\nb\\rc\\td"', id="newline-return-tab"),
        pytest.param("\x01", '"\\u0001"', id="control-character"),
        pytest.param("\U000e0001", '"\\U000e0001"', id="unprintable-outside-the-bmp"),
    ],
)
def test_hcl_string_writes_the_documented_escapes(value: str, literal: str) -> None:
    assert hcl_string(value) == literal


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        pytest.param(42, '"42"', id="int"),
        pytest.param(True, '"true"', id="true"),
        pytest.param(False, '"false"', id="false"),
        pytest.param(1.5, '"1.5"', id="float"),
    ],
)
def test_hcl_string_always_quotes(value: object, literal: str) -> None:
    assert hcl_string(value) == literal
    assert parsed(literal) == literal[1:-1]


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(None, id="none"),
        pytest.param(["a"], id="list"),
        pytest.param({"a": "b"}, id="dict"),
    ],
)
def test_hcl_string_refuses_missing_and_container_values(value: object) -> None:
    with pytest.raises(TypeError, match="hcl_string quotes single values"):
        hcl_string(value)


def test_hcl_string_refuses_a_lone_surrogate() -> None:
    with pytest.raises(ValueError, match="lone surrogate"):
        hcl_string("a\ud800b")


@pytest.mark.parametrize(
    ("value", "expression"),
    [
        pytest.param(True, "true", id="true"),
        pytest.param(False, "false", id="false"),
        pytest.param(0, "0", id="zero"),
        pytest.param(8080, "8080", id="int"),
        pytest.param(-1, "-1", id="negative-int"),
        pytest.param("redis:7", '"redis:7"', id="string"),
        pytest.param("${x}", '"$${x}"', id="string-with-interpolation"),
        pytest.param([], "[]", id="empty-list"),
        pytest.param(["a", "b"], '["a", "b"]', id="list"),
        pytest.param(("a", 1, True), '["a", 1, true]', id="tuple-mixed"),
        pytest.param([["x"], []], '[["x"], []]', id="nested-list"),
    ],
)
def test_hcl_value_renders_each_supported_type(value: object, expression: str) -> None:
    assert hcl_value(value) == expression


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(True, True, id="bool"),
        pytest.param(8080, 8080, id="int"),
        pytest.param(['a"b', "${x}", "line\nbreak"], ['a"b', "${x}", "line\nbreak"], id="list"),
    ],
)
def test_hcl_value_parses_back_to_the_value(value: object, expected: object) -> None:
    result = parsed(hcl_value(value))

    if isinstance(result, list):
        result = [hcl_template_unescape(item) for item in result]
    assert result == expected


def test_hcl_value_refuses_maps_and_names_the_keys() -> None:
    with pytest.raises(TypeError) as caught:
        hcl_value({"b": 1, "a": 2})

    assert str(caught.value) == (
        "hcl_value does not render maps; write the block or map in the template "
        "(got dict with keys ['a', 'b'])"
    )


@pytest.mark.parametrize(
    "value",
    [pytest.param(None, id="none"), pytest.param(1.5, id="float"), pytest.param([{}], id="nested")],
)
def test_hcl_value_refuses_what_it_cannot_write_exactly(value: object) -> None:
    with pytest.raises(TypeError):
        hcl_value(value)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        pytest.param("30s", 30, id="seconds"),
        pytest.param("1m30s", 90, id="minutes-and-seconds"),
        pytest.param("2h", 7200, id="hours"),
        pytest.param("1h30m", 5400, id="hours-and-minutes"),
        pytest.param("1.5h", 5400, id="fractional-hours"),
        pytest.param(".5m", 30, id="leading-dot"),
        pytest.param("2000ms", 2, id="whole-milliseconds"),
        pytest.param("1s500ms500000us", 2, id="mixed-units-summing-to-whole"),
        pytest.param("3000000000ns", 3, id="nanoseconds"),
        pytest.param("2000000\u00b5s", 2, id="micro-sign"),
        pytest.param("2000000\u03bcs", 2, id="greek-mu"),
        pytest.param("0", 0, id="zero-string"),
        pytest.param("0s", 0, id="zero-seconds"),
        pytest.param("45", 45, id="digits-as-seconds"),
        pytest.param(45, 45, id="int-seconds"),
        pytest.param(0, 0, id="int-zero"),
    ],
)
def test_parse_duration_reads_go_durations_and_seconds(value: str | int, seconds: int) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param("", "duration '' is invalid: must not be empty", id="empty"),
        pytest.param(
            "500ms",
            "duration '500ms' is invalid: must be a whole number of seconds",
            id="sub-second",
        ),
        pytest.param(
            "1m0.5s",
            "duration '1m0.5s' is invalid: must be a whole number of seconds",
            id="sub-second-remainder",
        ),
        pytest.param(
            "1.5",
            "duration '1.5' is invalid: a number without a unit must be a whole number of seconds",
            id="float-string-without-unit",
        ),
        pytest.param(
            "1d",
            "duration '1d' is invalid: unknown unit 'd' (use h, m, s, ms, us or ns)",
            id="unknown-unit-day",
        ),
        pytest.param(
            "30S",
            "duration '30S' is invalid: unknown unit 'S' (use h, m, s, ms, us or ns)",
            id="upper-case-unit",
        ),
        pytest.param(
            "1h30", "duration '1h30' is invalid: missing unit after '30'", id="missing-last-unit"
        ),
        pytest.param("s", "duration 's' is invalid: expected a number at 's'", id="unit-only"),
        pytest.param("-30s", "duration '-30s' is invalid: must not be negative", id="negative"),
        pytest.param("+30s", "duration '+30s' is invalid: must not carry a sign", id="plus-sign"),
        pytest.param(
            "1h 30m", "duration '1h 30m' is invalid: must not contain whitespace", id="space"
        ),
        pytest.param(
            "9" * 65, f"duration {'9' * 65!r} is invalid: must be at most 64 characters", id="long"
        ),
        pytest.param(
            f"{MAX_SECONDS + 1}s",
            f"duration '{MAX_SECONDS + 1}s' is invalid: must be at most {MAX_SECONDS} seconds "
            "(Go durations stop at about 292 years)",
            id="past-go-limit",
        ),
        pytest.param(-5, "duration -5 is invalid: must not be negative", id="negative-int"),
        pytest.param(
            1.5,
            "duration 1.5 is invalid: must be a Go duration such as '90s' or a whole number of "
            "seconds (got float)",
            id="float",
        ),
        pytest.param(
            True,
            "duration True is invalid: must be a Go duration such as '90s' or a whole number of "
            "seconds (got bool)",
            id="bool",
        ),
        pytest.param(
            None,
            "duration None is invalid: must be a Go duration such as '90s' or a whole number of "
            "seconds (got NoneType)",
            id="none",
        ),
    ],
)
def test_parse_duration_refuses_with_a_message_naming_the_value(value: Any, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_duration(value)

    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        pytest.param(0, "0s", id="zero"),
        pytest.param(30, "30s", id="seconds"),
        pytest.param(60, "1m", id="minute"),
        pytest.param(90, "1m30s", id="minute-and-a-half"),
        pytest.param(3600, "1h", id="hour"),
        pytest.param(3601, "1h1s", id="hour-and-a-second"),
        pytest.param(5400, "1h30m", id="hour-and-a-half"),
        pytest.param(86400, "24h", id="day-in-hours"),
    ],
)
def test_format_duration_writes_the_shortest_go_form(seconds: int, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    "seconds", [0, 1, 59, 60, 61, 3599, 3600, 3661, 86399, 123456, MAX_SECONDS]
)
def test_format_and_parse_are_inverse(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


def test_duration_ns_gives_nomad_api_nanoseconds() -> None:
    assert duration_ns(0) == 0
    assert duration_ns(5) == 5_000_000_000
    assert duration_ns(MAX_SECONDS) <= 2**63 - 1


@pytest.mark.parametrize("function", [format_duration, duration_ns])
@pytest.mark.parametrize(
    ("value", "error"),
    [
        pytest.param(-1, ValueError, id="negative"),
        pytest.param(MAX_SECONDS + 1, ValueError, id="past-go-limit"),
        pytest.param(True, TypeError, id="bool"),
        pytest.param(1.0, TypeError, id="float"),
        pytest.param("30s", TypeError, id="string"),
    ],
)
def test_seconds_to_go_refuse_what_is_not_whole_non_negative_seconds(
    function: Any, value: object, error: type[Exception]
) -> None:
    with pytest.raises(error):
        function(value)
