"""HCL2 literals and Go durations for the Nomad job specs the project renders.

Every value a template writes into a job spec goes through ``hcl_string`` or ``hcl_value``, so a
value is always read back by Nomad exactly as it was given: quotes, backslashes, newlines and
HCL template sequences (``${``, ``%{``) cannot end the string or start an interpolation.

Durations are whole seconds inside the project. ``parse_duration`` reads the Go forms people
write (``"1m30s"``) or plain seconds; ``format_duration`` writes the shortest Go form back, and
``duration_ns`` gives the nanoseconds Nomad's JSON API expects.
"""

from __future__ import annotations

import re
from fractions import Fraction

NANOSECONDS_PER_SECOND = 1_000_000_000
# Go durations are int64 nanoseconds: about 292 years.
MAX_SECONDS = (2**63 - 1) // NANOSECONDS_PER_SECOND

_DURATION_TEXT_MAX = 64
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_UNIT_NANOSECONDS = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,  # micro sign, as Go accepts it
    "\u03bcs": 1_000,  # Greek small letter mu, as Go accepts it
    "ms": 1_000_000,
    "s": NANOSECONDS_PER_SECOND,
    "m": 60 * NANOSECONDS_PER_SECOND,
    "h": 3600 * NANOSECONDS_PER_SECOND,
}
_DURATION_TERM = re.compile(r"(?P<number>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?P<unit>[^0-9.]*)")
_WHOLE_SECONDS = re.compile(r"[0-9]+")
_BARE_NUMBER = re.compile(r"[0-9]*\.[0-9]*")


def hcl_string(value: object) -> str:
    """Return a double-quoted HCL2 string literal whose parsed value is ``str(value)`` exactly.

    Backslash, double quote, newline, carriage return and tab get their short escapes; any
    other character that is not printable gets a ``\\uXXXX`` (or ``\\UXXXXXXXX``) escape; ``${``
    and ``%{`` are doubled to ``$${`` and ``%%{`` so the value can never start an HCL
    interpolation or directive. Booleans are written ``"true"`` and ``"false"``, as HCL itself
    converts them to strings.

    Raises ``TypeError`` for ``None`` (a missing value must not become the text ``None``) and
    for lists, tuples, sets and dicts (use ``hcl_value`` for lists), and ``ValueError`` for a
    string holding a lone surrogate, which no HCL file can carry.

    Escaping governs HCL parsing only: Nomad still interpolates ``${NOMAD_*}``, ``${attr.*}``
    and ``${meta.*}`` at run time in the fields where it does so, whatever the source form.
    """
    if value is None or isinstance(value, list | tuple | set | frozenset | dict):
        raise TypeError(
            f"hcl_string quotes single values, not {type(value).__name__}; use hcl_value for lists"
        )
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)

    escaped = "".join(_escape_character(character) for character in text)
    return '"' + escaped.replace("${", "$${").replace("%{", "%%{") + '"'


def hcl_text(value: object, indent: int = 0) -> str:
    """Return a multi-line string as an indented HCL heredoc, any other value as ``hcl_string``.

    A heredoc (``<<-EOT``) reads like the file it will become, which suits Nomad template
    bodies. It is used only when it gives back ``str(value)`` exactly: the text ends with a
    newline, has at least two lines, and no line is empty, carries a tab, a control
    character or trailing blanks, or is the marker itself. ``${`` and ``%{`` are doubled as in
    ``hcl_string``; backslashes need no escape in a heredoc. ``indent`` is the column of the
    body and of the closing marker, which ``<<-`` strips again.
    """
    quoted = hcl_string(value)  # the same refusals as a quoted string
    text = str(value)
    lines = text.split("\n")[:-1]
    plain = all(
        line
        and line == line.rstrip()
        and line.strip() != "EOT"
        and all(character == " " or character.isprintable() for character in line)
        for line in lines
    )
    # `<<-` strips the indentation all lines share, so one line must start at column 0.
    plain = plain and any(not line.startswith(" ") for line in lines)
    if isinstance(value, bool) or not (text.endswith("\n") and len(lines) >= 2 and plain):
        return quoted

    pad = " " * indent
    body = "".join(f"{pad}{line}\n" for line in lines)
    return "<<-EOT\n" + body.replace("${", "$${").replace("%{", "%%{") + f"{pad}EOT"


def hcl_value(value: object) -> str:
    """Return ``value`` as an HCL2 expression: bool, whole number, string or list of these.

    Booleans become ``true``/``false``, integers their digits, strings an ``hcl_string``
    literal, and lists or tuples ``["a", "b"]`` with each item rendered the same way.

    Raises ``TypeError`` for dicts (write the block or map in the template, where its keys are
    visible), for ``None`` and for any other type, floats included: a value that cannot be
    written exactly is refused rather than rounded.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, str):
        return hcl_string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(hcl_value(item) for item in value) + "]"
    if isinstance(value, dict):
        raise TypeError(
            "hcl_value does not render maps; write the block or map in the template "
            f"(got dict with keys {sorted(map(str, value))})"
        )
    raise TypeError(
        f"hcl_value renders bool, int, str and lists of them, not {type(value).__name__}"
    )


def parse_duration(value: str | int) -> int:
    """Return a duration as whole seconds, from a Go duration string or a number of seconds.

    Accepts an int of seconds, a string of digits (seconds), or a Go duration: numbers with
    units ``h``, ``m``, ``s``, ``ms``, ``us`` (``µs``) and ``ns``, in any combination such as
    ``"1h30m"`` or ``"1.5h"``. The result must be a whole number of seconds.

    Raises ``ValueError``, naming the value, for anything else: other types (bool and float
    included), empty text, a sign, whitespace, a number without a unit that is not whole, an
    unknown unit, a sub-second remainder, or more than Go can hold (about 292 years).
    """
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(
            f"duration {value!r} is invalid: must be a Go duration such as '90s' or a whole "
            f"number of seconds (got {type(value).__name__})"
        )
    if isinstance(value, int):
        return _checked_seconds(value, int(value))
    text = str(value)

    _check_duration_text(text)
    if _WHOLE_SECONDS.fullmatch(text):
        return _checked_seconds(text, int(text))
    if _BARE_NUMBER.fullmatch(text):
        raise _duration_error(text, "a number without a unit must be a whole number of seconds")

    nanoseconds = _go_nanoseconds(text)
    if nanoseconds.denominator != 1 or nanoseconds.numerator % NANOSECONDS_PER_SECOND:
        raise _duration_error(text, "must be a whole number of seconds")
    return _checked_seconds(text, nanoseconds.numerator // NANOSECONDS_PER_SECOND)


def format_duration(seconds: int) -> str:
    """Return the shortest Go duration for whole seconds: ``90`` is ``"1m30s"``, ``0`` is ``"0s"``.

    Zero parts are left out (``3600`` is ``"1h"``, not Go's own ``"1h0m0s"``); Go and Nomad
    parse both. Raises ``TypeError`` for a non-int (bool included) and ``ValueError`` for a
    negative value or one past Go's limit.
    """
    total = _checked_seconds(seconds, _whole(seconds))

    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    parts = ((hours, "h"), (minutes, "m"), (secs, "s"))
    return "".join(f"{amount}{unit}" for amount, unit in parts if amount) or "0s"


def duration_ns(seconds: int) -> int:
    """Return whole seconds as integer nanoseconds, the unit of durations in Nomad's JSON API.

    Raises ``TypeError`` for a non-int (bool included) and ``ValueError`` for a negative value
    or one past Go's int64 limit.
    """
    return _checked_seconds(seconds, _whole(seconds)) * NANOSECONDS_PER_SECOND


def _escape_character(character: str) -> str:
    """Return one character as it must appear inside a quoted HCL string."""
    if character in _ESCAPES:
        return _ESCAPES[character]
    if character.isprintable():
        return character
    code = ord(character)
    if 0xD800 <= code <= 0xDFFF:
        raise ValueError(f"hcl_string cannot write the lone surrogate \\u{code:04x}")
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _duration_error(text: str, rule: str) -> ValueError:
    """Build the error for a duration text that breaks ``rule``."""
    return ValueError(f"duration {text!r} is invalid: {rule}")


def _check_duration_text(text: str) -> None:
    """Refuse duration text that is empty, too long, signed or holds whitespace."""
    if not text:
        raise _duration_error(text, "must not be empty")
    if len(text) > _DURATION_TEXT_MAX:
        raise _duration_error(text, f"must be at most {_DURATION_TEXT_MAX} characters")
    if text[0] == "-":
        raise _duration_error(text, "must not be negative")
    if text[0] == "+":
        raise _duration_error(text, "must not carry a sign")
    if any(character.isspace() for character in text):
        raise _duration_error(text, "must not contain whitespace")


def _go_nanoseconds(text: str) -> Fraction:
    """Return the exact nanoseconds of a Go duration made of number-and-unit terms."""
    nanoseconds = Fraction(0)
    position = 0
    while position < len(text):
        term = _DURATION_TERM.match(text, position)
        if term is None:
            raise _duration_error(text, f"expected a number at {text[position:]!r}")
        unit = term["unit"]
        if not unit:
            raise _duration_error(text, f"missing unit after {term['number']!r}")
        if unit not in _UNIT_NANOSECONDS:
            raise _duration_error(text, f"unknown unit {unit!r} (use h, m, s, ms, us or ns)")
        nanoseconds += Fraction(term["number"]) * _UNIT_NANOSECONDS[unit]
        position = term.end()
    return nanoseconds


def _whole(seconds: object) -> int:
    """Return ``seconds`` as a plain int, refusing bools and every other type."""
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        raise TypeError(f"duration must be whole seconds as an int (got {seconds!r})")
    return int(seconds)


def _checked_seconds(shown: object, seconds: int) -> int:
    """Refuse a negative number of seconds or one Go cannot hold; ``shown`` names the input."""
    if seconds < 0:
        raise ValueError(f"duration {shown!r} is invalid: must not be negative")
    if seconds > MAX_SECONDS:
        raise ValueError(
            f"duration {shown!r} is invalid: must be at most {MAX_SECONDS} seconds "
            "(Go durations stop at about 292 years)"
        )
    return seconds
