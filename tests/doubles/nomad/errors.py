"""Errors as the Nomad HTTP API reports them: a status code and a plain-text body."""

from __future__ import annotations

from dataclasses import dataclass, field


class ApiError(Exception):
    """An error answer: `status` and the plain-text `message` Nomad would send."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class JobValidationError(ApiError):
    """A job the admission chain refuses: a 500 whose body is the rendered `errors`."""

    def __init__(self, errors: MultiError) -> None:
        super().__init__(500, errors.render())
        self.errors = errors


PERMISSION_DENIED = "Permission denied"


def denied() -> ApiError:
    """The 403 Nomad answers for a token without the needed capability."""
    return ApiError(403, PERMISSION_DENIED)


@dataclass
class MultiError:
    """A go-multierror list: items are plain messages or nested lists with a prefix.

    Rendering follows go-multierror's list format, including the way a nested list is
    embedded whole after its prefix ("Task group web validation failed: 1 error occurred: ...").
    """

    items: list[str | tuple[str, MultiError]] = field(default_factory=list)

    def add(self, message: str) -> None:
        self.items.append(message)

    def nest(self, prefix: str, inner: MultiError) -> None:
        """Add `inner` under `prefix` when it holds anything."""
        if inner:
            self.items.append((prefix, inner))

    def extend(self, other: MultiError) -> None:
        """Flatten `other` into this list, as multierror.Append does."""
        self.items.extend(other.items)

    def __bool__(self) -> bool:
        return bool(self.items)

    def lines(self) -> list[str]:
        """One string per top-level error, nested lists rendered inline."""
        out = []
        for item in self.items:
            if isinstance(item, tuple):
                prefix, inner = item
                out.append(f"{prefix}{inner.render()}")
            else:
                out.append(item)
        return out

    def render(self) -> str:
        points = self.lines()
        if len(points) == 1:
            return f"1 error occurred:\n\t* {points[0]}\n\n"
        joined = "\n\t".join(f"* {point}" for point in points)
        return f"{len(points)} errors occurred:\n\t{joined}\n\n"


def render_warnings(warnings: list[str]) -> str:
    """Nomad's `Warnings` string: empty, or the multierror warning list format."""
    if not warnings:
        return ""
    noun = "warning" if len(warnings) == 1 else "warnings"
    points = "\n".join(f"* {warning}" for warning in warnings)
    return f"{len(warnings)} {noun}:\n\n{points}"
