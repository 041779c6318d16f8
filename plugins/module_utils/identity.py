"""Preview identity: the one place that turns a pull request into every name a preview uses.

A preview is identified by its repository and pull-request number. From those two inputs this
module derives the preview ID (``shop-pr-42``) and every name built on it: the Nomad namespace,
job IDs, service names, hostnames, the Vault policy, KV prefix and JWT role. Nothing else in the
project builds these names, so teardown and the garbage collector find exactly what the open
playbook created.

Every derived name is valid for the strictest system it meets (a DNS label of 63 characters,
a Nomad service name ``<job>-<group>-<task>``, a lower-case Vault policy name). A name that is too
long, or whose input had to be transformed to become valid, is cut and given a short hash of the
exact input, written ``<cut>--<hash>``. Natural names never contain ``--``, so the two forms never
meet, and two different inputs never share a name (up to a 32-bit hash collision between two
inputs that also share their cut).

In a namespace, job or service name the words ``pr-<digits>`` appear only where the preview ID
ends: a repository or schedule name holding them is treated as transformed, and its cut spells
them ``pr<digits>``. So no such name of one preview starts with another preview's ID followed
by ``-``, and listing Nomad jobs by the prefix ``<preview_id>-`` finds that preview's jobs and
nothing else.
"""

from __future__ import annotations

import hashlib
import re
import string
import unicodedata
from collections.abc import Sequence
from typing import Any

COMPONENTS = ("queue", "worker", "web", "mail", "inbox", "dashboard")
SERVICES = ("queue", "worker", "web", "mail-smtp", "mail-ui", "inbox", "dashboard")
HOSTNAME_COMPONENTS = ("web", "mail", "inbox", "dashboard")
SCHEDULE_PREFIX = "cron"

# Limits of the systems the names meet.
DNS_LABEL_MAX = 63
HOSTNAME_MAX = 253
NOMAD_NAMESPACE_MAX = 128
NAMESPACE_PREFIX = "preview-"

# Group and task names in the job templates are at most this long, so that Nomad's default
# service name `<job>-<group>-<task>` stays one DNS label for every job ID built here.
TASK_NAME_BUDGET = 8
JOB_ID_MAX = DNS_LABEL_MAX - 2 * (len("-") + TASK_NAME_BUDGET)

# A cut name keeps at least one character before `--<hash>`.
HASH_LENGTH = 8
HASHED_SLUG_MIN = 1 + len("--") + HASH_LENGTH

# The preview ID is short enough for every name derived from it, a schedule job included.
PREVIEW_ID_MAX = min(
    JOB_ID_MAX - max(len(f"-{component}") for component in COMPONENTS),
    JOB_ID_MAX - len(f"-{SCHEDULE_PREFIX}-") - HASHED_SLUG_MIN,
    DNS_LABEL_MAX - max(len(f"-{service}") for service in SERVICES),
    DNS_LABEL_MAX - max(len(f"{component}-") for component in HOSTNAME_COMPONENTS),
    NOMAD_NAMESPACE_MAX - len(NAMESPACE_PREFIX),
)

# Input limits.
REPO_MAX = 100
PR_MAX = 2**31 - 1
BRANCH_MAX = 255
SCHEDULE_NAME_MAX = 64
DOMAIN_MAX = (
    HOSTNAME_MAX - max(len(f"{component}-") for component in HOSTNAME_COMPONENTS) - PREVIEW_ID_MAX
) - len(".")

_QUOTES = "\"'`"
_SHOWN_MAX = 64  # longer values are shown by their start and length
_REPO_CHARS = frozenset(f"{string.ascii_letters}{string.digits}._-")
_BRANCH_FORBIDDEN = "~^:?[\\*+"
_SCHEDULE_CHARS = frozenset(f"{string.ascii_lowercase}{string.digits}_-")
_DOMAIN_CHARS = frozenset(f"{string.ascii_lowercase}{string.digits}.-")
_DIGITS = frozenset(string.digits)
_SHA = re.compile(r"[0-9a-f]{7,40}|[0-9a-f]{64}")
_DNS_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_NON_SLUG_RUN = re.compile(r"[^a-z0-9]+")
# The word `pr` followed by a word of digits marks where a preview ID ends inside a job ID, so
# no repository or schedule slug may contain it; in a cut slug it is joined into `pr<digits>`.
_PR_MARKER = re.compile(r"(?<![a-z0-9])pr-(?=[0-9]+(?![a-z0-9]))")


class IdentityError(ValueError):
    """Bad identity input; the message names the input and the rule."""


def preview_identity(
    repo: str,
    pr: int | str,
    branch: str | None = None,
    sha: str | None = None,
    *,
    domain: str = "preview.localhost",
    schedules: Sequence[str] = (),
    known_repos: Sequence[str] = (),
) -> dict[str, Any]:
    """Return the preview ID and every name derived from it, as a JSON-able dict.

    ``repo`` is the repository name without its owner; ``pr`` a positive number, as an int or a
    string of digits. ``branch`` and ``sha`` are carried through for metadata only and never
    shape a name. ``schedules`` are the app's schedule names, each given a job ID under
    ``schedule_jobs``. ``known_repos`` are the repositories of previews that already exist: a
    repository that differs from one of them only in case is refused, since reviewers could not
    tell the two previews apart.

    Every input is checked before any name is built; the first broken rule raises
    ``IdentityError`` naming the playbook variable (``preview_repo``, ``preview_pr``, ...), the
    value and the rule. The same inputs always give the same names.

    Job IDs are at most ``JOB_ID_MAX`` characters, so a template may add ``-<group>-<task>``
    with group and task names of up to ``TASK_NAME_BUDGET`` characters each and still have a
    valid Nomad service name.
    """
    repo_name = _check_repo(repo, known_repos)
    number = _check_pr(pr)
    branch_name = None if branch is None else _check_branch(branch)
    commit = None if sha is None else _check_sha(sha)
    domain_name = _check_domain(domain)
    schedule_names = _check_schedules(schedules)

    pr_suffix = f"-pr-{number}"
    preview_id = _slug(repo_name, PREVIEW_ID_MAX - len(pr_suffix)) + pr_suffix
    schedule_budget = JOB_ID_MAX - len(f"{preview_id}-{SCHEDULE_PREFIX}-")

    return {
        "preview_id": preview_id,
        "repo": repo_name,
        "pr": number,
        "branch": branch_name,
        "sha": commit,
        "namespace": f"{NAMESPACE_PREFIX}{preview_id}",
        "jobs": {component: f"{preview_id}-{component}" for component in COMPONENTS},
        # Nomad lets a job's tasks read the variables under nomad/jobs/<job id> by identity.
        "variables": {"inbox": f"nomad/jobs/{preview_id}-inbox"},
        "schedule_jobs": {
            name: f"{preview_id}-{SCHEDULE_PREFIX}-{_slug(name, schedule_budget)}"
            for name in schedule_names
        },
        "services": {service: f"{preview_id}-{service}" for service in SERVICES},
        "hostnames": {
            component: f"{component}-{preview_id}.{domain_name}"
            for component in HOSTNAME_COMPONENTS
        },
        "vault_policy": f"preview-{preview_id}",
        "vault_kv_prefix": f"previews/{preview_id}",
        "vault_jwt_role": f"preview-{preview_id}",
    }


def _slug(text: str, budget: int) -> str:
    """Return ``text`` itself when it is a natural slug within ``budget``, else ``<cut>--<hash>``.

    A natural slug is lower-case words of letters and digits joined by single hyphens, with no
    ``pr-<digits>`` marker. Anything else is hashed from the exact text, so inputs that only
    differ in case or punctuation still get different slugs.
    """
    candidate = _NON_SLUG_RUN.sub("-", text.lower()).strip("-")
    if candidate == text and len(text) <= budget and not _PR_MARKER.search(text):
        return text

    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:HASH_LENGTH]
    cut = candidate[: budget - len("--") - HASH_LENGTH].rstrip("-")
    return f"{_PR_MARKER.sub('pr', cut)}--{digest}"


def _refusal(variable: str, value: object, rule: str) -> IdentityError:
    """Build the error for one broken rule, in the one format every message shares.

    A value longer than ``_SHOWN_MAX`` characters is shown by its start and its length.
    """
    if isinstance(value, str):
        text = str(value)
        shown = repr(text)
        if len(text) > _SHOWN_MAX:
            shown = f"{text[:_SHOWN_MAX]!r}... ({len(text)} characters)"
    else:
        shown = repr(value)
    return IdentityError(f"{variable} {shown} is invalid: {rule}")


def _screen(variable: str, value: object) -> str:
    """Refuse what no identity input may hold, and return the value as a plain string.

    Applies to every string input before its own rules: empty values, percent-encoded forms,
    whitespace and control characters, quotes, and the path names ``.`` and ``..``.
    """
    if not isinstance(value, str):
        raise _refusal(variable, value, f"must be a string (got {type(value).__name__})")
    text = str(value)

    if not text:
        raise _refusal(variable, text, "must not be empty")
    if "%" in text:
        raise _refusal(variable, text, "must not contain percent-encoded characters (found '%')")
    for char in text:
        if char.isspace() or unicodedata.category(char).startswith("C"):
            rule = f"must not contain whitespace or control characters (found {char!r})"
            raise _refusal(variable, text, rule)
    for char in text:
        if char in _QUOTES:
            raise _refusal(variable, text, f"must not contain quotes (found {char!r})")
    if text in {".", ".."}:
        raise _refusal(variable, text, "must not be '.' or '..'")
    return text


def _first_outside(text: str, allowed: frozenset[str]) -> str | None:
    """Return the first character of ``text`` that is not in ``allowed``, if any."""
    return next((char for char in text if char not in allowed), None)


def _check_repo(repo: object, known_repos: Sequence[str]) -> str:
    """Check the repository name against GitHub's rules and the existing previews."""
    text = _screen("preview_repo", repo)

    found = _first_outside(text, _REPO_CHARS)
    if found is not None:
        rule = f"must contain only letters, digits, '.', '_' and '-' (found {found!r})"
        raise _refusal("preview_repo", text, rule)
    if len(text) > REPO_MAX:
        rule = f"must be at most {REPO_MAX} characters (got {len(text)})"
        raise _refusal("preview_repo", text, rule)
    if not any(char.isalnum() for char in text):
        raise _refusal("preview_repo", text, "must contain at least one letter or digit")

    if isinstance(known_repos, str):
        raise _refusal("known_repos", known_repos, "must be a list of repository names")
    for known in known_repos:
        if not isinstance(known, str):
            raise _refusal("known_repos", known, "must hold only repository names (strings)")
        if known != text and known.lower() == text.lower():
            rule = f"differs only in case from existing preview repository {str(known)!r}"
            raise _refusal("preview_repo", text, rule)
    return text


def _check_pr(pr: object) -> int:
    """Check the pull-request number and return it as an int."""
    if isinstance(pr, bool):
        raise _refusal("preview_pr", pr, "must be a whole number, not a boolean")
    if isinstance(pr, int):
        number = int(pr)
    elif isinstance(pr, str):
        text = _screen("preview_pr", pr)
        found = _first_outside(text, _DIGITS)
        if found is not None:
            rule = f"must contain only the digits 0-9, without sign (found {found!r})"
            raise _refusal("preview_pr", text, rule)
        if len(text) > 1 and text.startswith("0"):
            raise _refusal("preview_pr", text, "must not have leading zeros")
        if len(text) > len(str(PR_MAX)):
            raise _refusal("preview_pr", text, f"must be at most {PR_MAX}")
        number = int(text)
    else:
        rule = f"must be a whole number or a string of digits (got {type(pr).__name__})"
        raise _refusal("preview_pr", pr, rule)

    if number < 1:
        raise _refusal("preview_pr", pr, "must be a positive whole number")
    if number > PR_MAX:
        raise _refusal("preview_pr", pr, f"must be at most {PR_MAX}")
    return number


def _check_branch(branch: object) -> str:
    """Check a branch name against git's ref rules, tightened by the house rules."""
    text = _screen("preview_branch", branch)

    def refuse(rule: str) -> IdentityError:
        return _refusal("preview_branch", text, rule)

    if len(text) > BRANCH_MAX:
        raise refuse(f"must be at most {BRANCH_MAX} characters (got {len(text)})")
    found = next((char for char in text if char in _BRANCH_FORBIDDEN), None)
    if found is not None:
        raise refuse(f"must not contain any of ~ ^ : ? [ \\ * + (found {found!r})")
    if text.startswith("-"):
        raise refuse("must not start with '-'")
    if text.startswith("/") or text.endswith("/"):
        raise refuse("must not start or end with '/'")
    if "//" in text:
        raise refuse("must not contain '//'")
    if ".." in text:
        raise refuse("must not contain '..'")
    if text == "@" or "@{" in text:
        raise refuse("must not be '@' or contain '@{'")
    for part in text.split("/"):
        if part.startswith("."):
            raise refuse(f"no '/'-separated part may start with '.' (found {part!r})")
        if part.endswith(".lock"):
            raise refuse(f"no '/'-separated part may end with '.lock' (found {part!r})")
    if text.endswith("."):
        raise refuse("must not end with '.'")
    return text


def _check_sha(sha: object) -> str:
    """Check a commit SHA: abbreviated or full SHA-1, or full SHA-256, in lower-case hex."""
    text = _screen("preview_sha", sha)

    if not _SHA.fullmatch(text):
        rule = "must be 7 to 40 lower-case hexadecimal characters, or 64 for a SHA-256 commit"
        raise _refusal("preview_sha", text, rule)
    return text


def _check_domain(domain: object) -> str:
    """Check the hostname suffix: lower-case DNS labels short enough for every hostname."""
    text = _screen("preview_domain", domain)

    found = _first_outside(text, _DOMAIN_CHARS)
    if found is not None:
        rule = f"must contain only lower-case letters, digits, '-' and '.' (found {found!r})"
        raise _refusal("preview_domain", text, rule)
    if len(text) > DOMAIN_MAX:
        rule = (
            f"must be at most {DOMAIN_MAX} characters so that every preview hostname fits "
            f"{HOSTNAME_MAX} (got {len(text)})"
        )
        raise _refusal("preview_domain", text, rule)
    for label in text.split("."):
        if not _DNS_LABEL.fullmatch(label):
            rule = (
                "each '.'-separated label must be 1 to 63 letters, digits or '-', "
                f"starting and ending with a letter or digit (found {label!r})"
            )
            raise _refusal("preview_domain", text, rule)
    return text


def _check_schedules(schedules: object) -> list[str]:
    """Check the schedule names: each a lower-case word of at most 64 characters, no repeats."""
    if isinstance(schedules, str) or not isinstance(schedules, Sequence):
        rule = f"must be a list of schedule names (got {type(schedules).__name__})"
        raise _refusal("preview_schedules", schedules, rule)

    names: list[str] = []
    for index, schedule in enumerate(schedules):
        variable = f"preview_schedules[{index}]"
        text = _screen(variable, schedule)
        if not "a" <= text[0] <= "z":
            rule = f"must start with a lower-case letter (found {text[0]!r})"
            raise _refusal(variable, text, rule)
        found = _first_outside(text, _SCHEDULE_CHARS)
        if found is not None:
            rule = f"must contain only lower-case letters, digits, '_' and '-' (found {found!r})"
            raise _refusal(variable, text, rule)
        if len(text) > SCHEDULE_NAME_MAX:
            rule = f"must be at most {SCHEDULE_NAME_MAX} characters (got {len(text)})"
            raise _refusal(variable, text, rule)
        if text in names:
            raise _refusal(variable, text, f"repeats preview_schedules[{names.index(text)}]")
        names.append(text)
    return names
