"""Per-path response rules: how the inbox answers a captured request.

A rule matches a request by path (a glob where `*` also crosses `/`) and, optionally, by method.
The first matching rule in the list answers; with no match the inbox gives its default answer.
A rule with `times` answers only that many requests and then steps aside, so "fail twice, then
succeed" is two rules or one rule with `times: 2` in front of the default.
"""

import fnmatch
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator

# RFC 9110 token characters, the only ones allowed in a header name.
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
# Headers that frame the response; a rule that set them would break the HTTP exchange.
_FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding", "connection"})
# Headers the inbox puts on every answer to a captured request, rule or not, so that an answer
# never runs as a page of the inbox's own origin (where the reviewer page and its API live).
CAPTURE_ANSWER_HEADERS = {
    "Content-Security-Policy": "sandbox",
    "X-Content-Type-Options": "nosniff",
}
_INBOX_HEADERS = frozenset(name.lower() for name in CAPTURE_ANSWER_HEADERS)
# Statuses whose responses carry no body by definition.
_BODYLESS_STATUSES = frozenset({204, 304})
MAX_DELAY_MS = 60_000
# Rules live in memory as long as the inbox runs, so their number and size are bounded.
MAX_RULES = 100
MAX_RULE_BODY_CHARS = 65_536


class ResponseRule(BaseModel):
    """One configured answer, as read from INBOX_RESPONSES or the /api/responses endpoints."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: Annotated[str, Field(min_length=1, max_length=2048)]
    method: str | None = None
    status: Annotated[int, Field(ge=200, le=599)] = 200
    body: Annotated[str, Field(max_length=MAX_RULE_BODY_CHARS)] = ""
    content_type: str = "text/plain; charset=utf-8"
    headers: dict[str, str] = Field(default_factory=dict)
    delay_ms: Annotated[int, Field(ge=0, le=MAX_DELAY_MS)] = 0
    times: Annotated[int, Field(ge=1)] | None = None

    @field_validator("path")
    @classmethod
    def _path_is_absolute(cls, value: str) -> str:
        if not value.startswith(("/", "*")):
            raise ValueError("must start with '/' or be a pattern starting with '*'")
        if any(unicodedata.category(char) in ("Cc", "Cf") for char in value):
            raise ValueError("must not contain control characters (a line break, NUL, ...)")
        return value

    @field_validator("method")
    @classmethod
    def _method_is_token(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not _HEADER_NAME.match(value):
            raise ValueError("must be an HTTP method name such as POST")
        return value.upper()

    @field_validator("headers")
    @classmethod
    def _headers_are_safe(cls, value: dict[str, str]) -> dict[str, str]:
        for name, header_value in value.items():
            if not _HEADER_NAME.match(name):
                raise ValueError(f"header name {name!r} is not a valid HTTP token")
            if name.lower() == "content-type":
                raise ValueError(f"header {name!r} is set by the inbox (use content_type)")
            if name.lower() in _FRAMING_HEADERS or name.lower() in _INBOX_HEADERS:
                raise ValueError(f"header {name!r} is set by the inbox")
            if any(char in header_value for char in "\r\n\0"):
                raise ValueError(f"header {name!r} contains a line break or NUL")
        return value

    @field_validator("content_type")
    @classmethod
    def _content_type_is_one_line(cls, value: str) -> str:
        if any(char in value for char in "\r\n\0"):
            raise ValueError("contains a line break or NUL")
        return value

    @model_validator(mode="after")
    def _bodyless_status_has_no_body(self) -> "ResponseRule":
        if self.status in _BODYLESS_STATUSES and self.body:
            raise ValueError(f"status {self.status} cannot carry a body")
        return self

    def matches(self, method: str, path: str) -> bool:
        """Tell whether this rule applies to a request, ignoring how often it has answered."""
        if self.method is not None and self.method != method.upper():
            return False
        return fnmatch.fnmatchcase(path, self.path)


RULE_LIST = TypeAdapter(Annotated[list[ResponseRule], Field(max_length=MAX_RULES)])


class TooManyRules(ValueError):
    """Adding a rule would put more than MAX_RULES in force."""


@dataclass(slots=True)
class _Slot:
    rule: ResponseRule
    answered: int = 0

    @property
    def exhausted(self) -> bool:
        return self.rule.times is not None and self.answered >= self.rule.times


class RuleSet:
    """The ordered rules in force, with how often each has answered.

    Not thread-safe: the inbox uses it from its event loop only.
    """

    def __init__(self, rules: Iterable[ResponseRule] = ()) -> None:
        self._slots = [_Slot(rule) for rule in rules]

    def answer(self, method: str, path: str) -> ResponseRule | None:
        """Return the rule that answers this request and count the answer, or None."""
        for slot in self._slots:
            if not slot.exhausted and slot.rule.matches(method, path):
                slot.answered += 1
                return slot.rule
        return None

    def replace(self, rules: Sequence[ResponseRule]) -> None:
        """Put a new list of rules in force; their answer counts start at zero."""
        self._slots = [_Slot(rule) for rule in rules]

    def add(self, rule: ResponseRule) -> None:
        """Put a rule first, replacing any rule with the same path and method.

        Raises TooManyRules, changing nothing, when MAX_RULES are in force already.
        """
        kept = [
            slot
            for slot in self._slots
            if (slot.rule.path, slot.rule.method) != (rule.path, rule.method)
        ]
        if len(kept) >= MAX_RULES:
            raise TooManyRules(f"{MAX_RULES} rules are in force already; remove one first")
        self._slots = [_Slot(rule), *kept]

    def remove(self, path: str, method: str | None) -> int:
        """Remove the rules with this path and method; return how many were removed."""
        method = method.upper() if method else None
        before = len(self._slots)
        self._slots = [
            slot for slot in self._slots if (slot.rule.path, slot.rule.method) != (path, method)
        ]
        return before - len(self._slots)

    def clear(self) -> None:
        """Remove every rule."""
        self._slots = []

    @property
    def rules(self) -> list[ResponseRule]:
        """The rules in force, in matching order."""
        return [slot.rule for slot in self._slots]

    def describe(self) -> list[dict[str, Any]]:
        """The rules as JSON objects, each with how many requests it has answered."""
        described = []
        for slot in self._slots:
            item = slot.rule.model_dump()
            item["answered"] = slot.answered
            item["exhausted"] = slot.exhausted
            described.append(item)
        return described
