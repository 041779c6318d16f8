"""Filters for preview names, HCL literals, Go durations and preview listings.

Thin wrappers over ``module_utils.identity``, ``module_utils.hcl`` and ``module_utils.lifecycle``:
each returns what the core
returns, and turns the core's ``ValueError`` or ``TypeError`` into ``AnsibleFilterError`` with
the same message, raised from the original error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.nomad_previews.previews.plugins.module_utils.hcl import (
    format_duration,
    hcl_string,
    hcl_text,
    hcl_value,
    parse_duration,
)
from ansible_collections.nomad_previews.previews.plugins.module_utils.identity import (
    preview_identity,
)
from ansible_collections.nomad_previews.previews.plugins.module_utils.lifecycle import (
    previews_created_before,
)


@contextmanager
def _filter_errors() -> Iterator[None]:
    """Re-raise the core's input errors as ``AnsibleFilterError``, message unchanged."""
    try:
        yield
    except (ValueError, TypeError) as err:
        raise AnsibleFilterError(str(err)) from err


def preview_identity_filter(
    repo: str,
    pr: int | str,
    branch: str | None = None,
    sha: str | None = None,
    *,
    domain: str = "preview.localhost",
    schedules: Sequence[str] | None = None,
    known_repos: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Return the preview ID and every name derived from it.

    name: preview_identity
    input: repo (str), the repository name without its owner.
    positional: pr (int or string of digits), branch (str, optional), sha (str, optional).
    keywords:
      domain: hostname suffix, lower-case DNS labels; default ``preview.localhost``.
      schedules: the app's schedule names; each gets a job ID under ``schedule_jobs``.
      known_repos: repositories of existing previews; a name differing only in case is refused.
    returns: dict with preview_id, repo, pr, branch, sha, namespace, jobs, schedule_jobs,
      services, hostnames, vault_policy, vault_kv_prefix and vault_jwt_role.
    errors: a message naming the variable (``preview_repo``, ``preview_pr``, ...) and the rule.
    example: ``{{ preview_repo | nomad_previews.previews.preview_identity(preview_pr) }}``
    """
    with _filter_errors():
        return preview_identity(
            repo,
            pr,
            branch,
            sha,
            domain=domain,
            schedules=() if schedules is None else schedules,
            known_repos=() if known_repos is None else known_repos,
        )


def hcl_string_filter(value: object) -> str:
    """Return ``value`` as a double-quoted HCL string literal that parses back to it exactly.

    name: hcl_string
    input: any single value; it is quoted as ``str(value)``, booleans as ``"true"``/``"false"``.
    returns: the literal, quotes included, with ``${`` and ``%{`` doubled so HCL never
      interpolates them.
    errors: ``None`` and containers are refused (use hcl_value for lists).
    example: ``image = {{ preview_worker_image | nomad_previews.previews.hcl_string }}``
    """
    with _filter_errors():
        return hcl_string(value)


def hcl_value_filter(value: object) -> str:
    """Return ``value`` as an HCL expression: ``true``/``false``, digits, a string or a list.

    name: hcl_value
    input: a bool, int, str, or a list of these.
    returns: the HCL expression text, strings quoted as by hcl_string.
    errors: maps, floats and ``None`` are refused; write maps as blocks in the template.
    example: ``args = {{ preview_worker_args | nomad_previews.previews.hcl_value }}``
    """
    with _filter_errors():
        return hcl_value(value)


def hcl_text_filter(value: object, indent: int = 0) -> str:
    """Return a multi-line string as an indented heredoc, anything else as by hcl_string.

    name: hcl_text
    input: a single value, and the column of the heredoc body.
    returns: ``<<-EOT`` text when that gives the value back exactly, else a quoted literal.
    errors: as hcl_string.
    example: ``data = {{ body | nomad_previews.previews.hcl_text(8) }}``
    """
    with _filter_errors():
        return hcl_text(value, indent)


def duration_seconds_filter(value: str | int) -> int:
    """Return a Go duration (``"1m30s"``) or a number of seconds as whole seconds.

    name: duration_seconds
    input: a Go duration string with units h, m, s, ms, us or ns, digits, or an int.
    returns: int seconds.
    errors: empty, negative, unit-less fractions, unknown units and sub-second remainders.
    example: ``{{ '1m30s' | nomad_previews.previews.duration_seconds }}`` gives ``90``.
    """
    with _filter_errors():
        return parse_duration(value)


def go_duration_filter(seconds: int) -> str:
    """Return whole seconds as the shortest Go duration string.

    name: go_duration
    input: int seconds, zero or more.
    returns: str such as ``"1m30s"``, ``"1h"`` or ``"0s"``.
    errors: negative values and anything but an int.
    example: ``{{ 90 | nomad_previews.previews.go_duration }}`` gives ``"1m30s"``.
    """
    with _filter_errors():
        return format_duration(seconds)


def previews_created_before_filter(previews: Sequence[Any], namespace: str) -> list[Any]:
    """Return the previews of a ``preview_info`` listing that Nomad created before ``namespace``.

    name: previews_created_before
    input: the ``previews`` list that ``preview_info`` returned, read after ``namespace`` was
        created.
    returns: list of those previews, oldest first; ``namespace`` itself is left out.
    errors: ``namespace`` missing from the listing or without a ``create_index``.
    example: ``{{ listed.previews | nomad_previews.previews.previews_created_before(name) }}``.
    """
    with _filter_errors():
        return previews_created_before(previews, namespace)


class FilterModule:
    """Naming, HCL quoting, duration and preview listing filters for nomad_previews."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        """Map each filter name to its function."""
        return {
            "preview_identity": preview_identity_filter,
            "hcl_string": hcl_string_filter,
            "hcl_value": hcl_value_filter,
            "hcl_text": hcl_text_filter,
            "duration_seconds": duration_seconds_filter,
            "go_duration": go_duration_filter,
            "previews_created_before": previews_created_before_filter,
        }
