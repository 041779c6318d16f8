"""A subset of go-bexpr, the filter language of Nomad's list endpoints.

Supported: `==`, `!=`, `in`, `not in`, `contains`, `not contains`, `matches`, `not matches`,
`is empty`, `is not empty`, `is nil`, `is not nil`, `and`, `or`, `not`, parentheses, selectors
such as `Meta.pr`, `Meta["preview-id"]` or `ParentID`, and values in double quotes, backticks,
numbers and booleans. Anything else is refused as a bad expression. A selector naming a field
the datum does not have is an evaluation error; a missing map key simply does not match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<raw>`[^`]*`)
      | (?P<op>==|!=|\(|\)|\[|\]|\.)
      | (?P<number>-?[0-9]+(?:\.[0-9]+)?(?![A-Za-z_]))
      | (?P<word>[A-Za-z_][A-Za-z0-9_-]*)
    )""",
    re.VERBOSE,
)
KEYWORDS = {"and", "or", "not", "in", "contains", "matches", "is", "empty", "nil", "true", "false"}


class FilterSyntaxError(ValueError):
    """The expression cannot be parsed."""


class FilterEvalError(ValueError):
    """The expression names something the datum does not have."""


@dataclass(frozen=True)
class Selector:
    parts: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class Match:
    op: str
    selector: Selector
    value: Any = None


@dataclass(frozen=True)
class Not:
    inner: Node


@dataclass(frozen=True)
class Bool:
    op: str
    left: Node
    right: Node


Node = Match | Not | Bool


def _tokens(text: str) -> list[tuple[str, str, int]]:
    tokens: list[tuple[str, str, int]] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        found = TOKEN.match(text, position)
        if not found or found.end() == position:
            raise FilterSyntaxError(f"1:{position + 1} ({position}): no match found")
        kind = found.lastgroup or ""
        tokens.append((kind, found.group(kind), found.start(kind)))
        position = found.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.index = 0

    def peek(self, offset: int = 0) -> tuple[str, str, int] | None:
        at = self.index + offset
        return self.tokens[at] if at < len(self.tokens) else None

    def take(self) -> tuple[str, str, int]:
        token = self.peek()
        if token is None:
            raise FilterSyntaxError("unexpected end of expression")
        self.index += 1
        return token

    def word(self, value: str) -> bool:
        token = self.peek()
        if token is not None and token[0] == "word" and token[1] == value:
            self.index += 1
            return True
        return False

    def fail(self) -> FilterSyntaxError:
        token = self.peek()
        if token is None:
            return FilterSyntaxError("unexpected end of expression")
        return FilterSyntaxError(
            f"1:{token[2] + 1} ({token[2]}): no match found, near {token[1]!r}"
        )

    def parse(self) -> Node:
        if not self.tokens:
            raise FilterSyntaxError("1:1 (0): no match found, expected: an expression")
        node = self.or_expr()
        if self.peek() is not None:
            raise self.fail()
        return node

    def or_expr(self) -> Node:
        node = self.and_expr()
        while self.word("or"):
            node = Bool("or", node, self.and_expr())
        return node

    def and_expr(self) -> Node:
        node = self.not_expr()
        while self.word("and"):
            node = Bool("and", node, self.not_expr())
        return node

    def not_expr(self) -> Node:
        if self.word("not"):
            return Not(self.not_expr())
        token = self.peek()
        if token is not None and token[1] == "(":
            self.take()
            node = self.or_expr()
            closing = self.peek()
            if closing is None or closing[1] != ")":
                raise self.fail()
            self.take()
            return node
        return self.match()

    def match(self) -> Node:
        token = self.peek()
        if token is None:
            raise self.fail()
        if token[0] in {"string", "raw", "number"} or token[1] in {"true", "false"}:
            value = self.value()
            negate = self.word("not")
            if not self.word("in"):
                raise self.fail()
            selector = self.selector()
            node: Node = Match("in", selector, value)
            return Not(node) if negate else node
        selector = self.selector()
        op_token = self.peek()
        if op_token is None:
            raise self.fail()
        if op_token[1] in {"==", "!="}:
            self.take()
            return Match(op_token[1], selector, self.value())
        if self.word("is"):
            negate = self.word("not")
            if self.word("empty"):
                node = Match("empty", selector)
            elif self.word("nil"):
                node = Match("nil", selector)
            else:
                raise self.fail()
            return Not(node) if negate else node
        negate = self.word("not")
        for op in ("contains", "matches", "in"):
            if self.word(op):
                if op == "in":
                    raise self.fail()
                value = self.value()
                if op == "matches":
                    try:
                        re.compile(str(value))
                    except re.error as exc:
                        raise FilterSyntaxError(f"invalid regular expression: {exc}") from exc
                node = Match(op, selector, value)
                return Not(node) if negate else node
        raise self.fail()

    def selector(self) -> Selector:
        token = self.take()
        if token[0] != "word" or token[1] in KEYWORDS:
            self.index -= 1
            raise self.fail()
        parts = [token[1]]
        start = token[2]
        end = start + len(token[1])
        while True:
            nxt = self.peek()
            if nxt is None:
                break
            if nxt[1] == ".":
                self.take()
                part = self.take()
                if part[0] not in {"word", "number"}:
                    raise self.fail()
                parts.append(part[1])
                end = part[2] + len(part[1])
            elif nxt[1] == "[":
                self.take()
                key = self.take()
                if key[0] not in {"string", "raw"}:
                    raise self.fail()
                closing = self.take()
                if closing[1] != "]":
                    raise self.fail()
                parts.append(str(_literal(key)))
                end = closing[2] + 1
            else:
                break
        return Selector(tuple(parts), f"{start}:{end}")

    def value(self) -> Any:
        token = self.take()
        if token[0] in {"string", "raw", "number"}:
            return _literal(token)
        if token[0] == "word" and token[1] in {"true", "false"}:
            return token[1]
        self.index -= 1
        raise self.fail()


def _literal(token: tuple[str, str, int]) -> str:
    kind, text, _position = token
    if kind == "string":
        return bytes(text[1:-1], "utf-8").decode("unicode_escape")
    if kind == "raw":
        return text[1:-1]
    return text


def parse(text: str) -> Node:
    """Parse a filter; FilterSyntaxError when go-bexpr would refuse it."""
    return _Parser(text).parse()


_MISSING = object()


def _resolve(datum: Any, selector: Selector) -> Any:
    value = datum
    for depth, part in enumerate(selector.parts):
        if depth == 0:
            if part not in value:
                raise FilterEvalError(
                    f"error finding value in datum: /{'/'.join(selector.parts)} at part {depth}: "
                    f'couldn\'t find struct field with name "{part}"'
                )
            value = value[part]
        elif isinstance(value, dict):
            if part not in value:
                return _MISSING
            value = value[part]
        elif value is None:
            return _MISSING
        else:
            raise FilterEvalError(
                f"error finding value in datum: /{'/'.join(selector.parts)} at part {depth}: "
                "cannot select into a value"
            )
    return value


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


def evaluate(node: Node, datum: dict[str, Any]) -> bool:
    """Evaluate against a stored object (a dict keyed by Go field names)."""
    if isinstance(node, Not):
        return not evaluate(node.inner, datum)
    if isinstance(node, Bool):
        if node.op == "and":
            return evaluate(node.left, datum) and evaluate(node.right, datum)
        return evaluate(node.left, datum) or evaluate(node.right, datum)
    value = _resolve(datum, node.selector)
    if node.op == "empty":
        return (
            value is _MISSING
            or value is None
            or (isinstance(value, (str, list, dict)) and len(value) == 0)
        )
    if node.op == "nil":
        return value is _MISSING or value is None
    if value is _MISSING:
        return node.op == "!="
    if node.op in {"==", "!="}:
        if isinstance(value, (dict, list)):
            raise FilterEvalError(
                f"unable to compare a collection at {'.'.join(node.selector.parts)} with a value"
            )
        equal = _text(value) == str(node.value)
        return equal if node.op == "==" else not equal
    if node.op in {"in", "contains"}:
        if isinstance(value, dict):
            return str(node.value) in value
        if isinstance(value, list):
            return str(node.value) in [_text(item) for item in value]
        if isinstance(value, str):
            return str(node.value) in value
        return False
    if node.op == "matches":
        return isinstance(value, str) and re.search(str(node.value), value) is not None
    raise FilterEvalError(f"unknown operator {node.op}")
