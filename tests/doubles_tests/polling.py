"""Poll the double instead of sleeping: every request moves its scheduler one step."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def until(read: Callable[[], T], done: Callable[[T], bool], attempts: int = 30) -> T:
    """Call `read` until `done` holds for its answer or `attempts` run out; return the last."""
    answer = read()
    for _attempt in range(attempts):
        if done(answer):
            break
        answer = read()
    return answer
