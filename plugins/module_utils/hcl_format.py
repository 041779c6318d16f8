"""Lay out rendered HCL the way a person would write it.

Templates emit correct HCL with loose spacing; ``format_hcl`` aligns the ``=`` of adjacent
one-line attributes at the same depth, drops trailing whitespace, keeps at most one blank
line in a row and none just inside braces. It never changes a value: text inside quoted
strings and heredocs is left as it is.
"""

from __future__ import annotations

import re

WIDTH = 100
STRING = r'"(?:[^"\\]|\\.)*"'
LIST_ITEM = re.compile(rf"{STRING}|[0-9]+|true|false")
ONE_LINE_LIST = re.compile(
    rf"^\[(?:\s*(?:{LIST_ITEM.pattern})\s*,)*\s*(?:{LIST_ITEM.pattern})\s*\]$"
)
ATTRIBUTE = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z_][A-Za-z0-9_-]*)\s*=\s*(?P<value>.*)$")
HEREDOC = re.compile(r"<<-?(?P<marker>[A-Za-z_][A-Za-z0-9_]*)$")


def format_hcl(text: str) -> str:
    """Return ``text`` with aligned attributes and tidy blank lines."""
    lines = _tidy_blank_lines(_wrap_long_lists([line.rstrip() for line in text.splitlines()]))
    out: list[str] = []
    run: list[tuple[str, str, str]] = []
    heredoc_end: str | None = None

    def flush() -> None:
        if run:
            width = max(len(key) for _, key, _ in run)
            out.extend(f"{indent}{key:<{width}} = {value}" for indent, key, value in run)
            run.clear()

    for line in lines:
        if heredoc_end is not None:
            out.append(line)
            if line.strip() == heredoc_end:
                heredoc_end = None
            continue
        match = ATTRIBUTE.match(line)
        if match is None:
            flush()
            out.append(line)
            continue
        indent, key, value = match.group("indent", "key", "value")
        if run and run[0][0] != indent:
            flush()
        run.append((indent, key, value))
        heredoc = HEREDOC.search(value)
        if heredoc or value.endswith(("[", "{", "(")):
            # The value goes on over the next lines: it closes the run.
            flush()
            if heredoc:
                heredoc_end = heredoc.group("marker")
    flush()
    return "\n".join(out).strip("\n") + "\n"


def _wrap_long_lists(lines: list[str]) -> list[str]:
    """Spread a one-line list wider than WIDTH over lines, packing its items."""
    wrapped: list[str] = []
    for line in lines:
        match = ATTRIBUTE.match(line)
        if len(line) <= WIDTH or not match or not ONE_LINE_LIST.match(match["value"]):
            wrapped.append(line)
            continue
        indent, key = match["indent"], match["key"]
        items = LIST_ITEM.findall(match["value"])
        wrapped.append(f"{indent}{key} = [")
        row = ""
        for item in items:
            piece = f"{item},"
            if row and len(indent) + 2 + len(row) + 1 + len(piece) > WIDTH:
                wrapped.append(f"{indent}  {row}")
                row = ""
            row = f"{row} {piece}" if row else piece
        wrapped.append(f"{indent}  {row}")
        wrapped.append(f"{indent}]")
    return wrapped


def _tidy_blank_lines(lines: list[str]) -> list[str]:
    tidy: list[str] = []
    for line in lines:
        if not line and (not tidy or not tidy[-1] or tidy[-1].endswith("{")):
            continue
        if line.strip() == "}" and tidy and not tidy[-1]:
            tidy.pop()
        tidy.append(line)
    return tidy
