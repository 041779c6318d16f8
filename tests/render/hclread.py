"""Read rendered HCL into plain Python values, the way Nomad would see them.

python-hcl2 keeps string literals as written (quotes and escapes included) and marks blocks
with ``__is_block__``. ``read_hcl`` turns that into plain data: strings unquoted and
unescaped (``$${`` and ``%%{`` become the literal ``${`` and ``%{``), labelled blocks keyed by
their label, repeated blocks as lists.
"""

from __future__ import annotations

import re
from typing import Any

import hcl2

ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)|\$\$\{|%%\{")
SIMPLE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}


def unquote(literal: str) -> str:
    """Return the value of one HCL string literal, with its quotes."""
    if not (len(literal) >= 2 and literal[0] == '"' and literal[-1] == '"'):
        raise ValueError(f"not a quoted HCL string: {literal!r}")

    def replace(match: re.Match[str]) -> str:
        text = match.group(0)
        if text == "$${":
            return "${"
        if text == "%%{":
            return "%{"
        code = match.group(1)
        if code[0] in "uU":
            return chr(int(code[1:], 16))
        if code not in SIMPLE_ESCAPES:
            raise ValueError(f"unknown escape \\{code} in {literal!r}")
        return SIMPLE_ESCAPES[code]

    return ESCAPE.sub(replace, literal[1:-1])


def heredoc(literal: str) -> str:
    """Return the value of one heredoc as python-hcl2 keeps it (``"<<-EOT ... EOT"``)."""
    opener, *body, closer = literal[1:-1].split("\n")
    marker = opener.lstrip("<-")
    if closer.strip() != marker:
        raise ValueError(f"heredoc {marker} is not closed by its marker: {closer!r}")
    if opener.startswith("<<-"):
        width = min(len(line) - len(line.lstrip(" ")) for line in body if line.strip())
        body = [line[width:] for line in body]
    text = "".join(f"{line}\n" for line in body)
    return text.replace("$${", "${").replace("%%{", "%{")


def _value(value: Any) -> Any:
    if isinstance(value, str) and value.startswith('"<<'):
        return heredoc(value)
    if isinstance(value, str):
        return unquote(value) if value.startswith('"') else value
    if isinstance(value, list):
        return [_value(item) for item in value]
    if isinstance(value, dict):
        return _block(value)
    return value


def _block(body: dict[str, Any]) -> dict[str, Any]:
    plain: dict[str, Any] = {}
    for key, value in body.items():
        if key.startswith("__"):
            continue
        if (
            isinstance(value, list)
            and value
            and all(isinstance(item, dict) and _is_block(item) for item in value)
        ):
            plain[key] = [_labelled(item) for item in value]
        else:
            plain[key] = _value(value)
    return plain


def _is_block(item: dict[str, Any]) -> bool:
    if item.get("__is_block__"):
        return True
    # A labelled block: one key (the quoted label) whose value is the block.
    return len(item) == 1 and isinstance(next(iter(item.values())), dict)


def _labelled(item: dict[str, Any]) -> dict[str, Any]:
    if item.get("__is_block__"):
        return _block(item)
    (label, body), *_ = item.items()
    return {"label": unquote(label), **_block(body)}


def read_hcl(text: str) -> dict[str, Any]:
    """Parse HCL text and return plain data (raises on a syntax error)."""
    return _block(hcl2.loads(text))


def blocks(parent: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """Every block called ``name`` directly inside ``parent``."""
    found = parent.get(name, [])
    assert isinstance(found, list), f"{name} is an attribute, not a block"
    return found


def block(parent: dict[str, Any], name: str, label: str | None = None) -> dict[str, Any]:
    """The one block called ``name`` (with ``label``) directly inside ``parent``."""
    found = [b for b in blocks(parent, name) if label is None or b.get("label") == label]
    assert len(found) == 1, f"expected one {name} {label or ''} block, found {len(found)}"
    return found[0]
