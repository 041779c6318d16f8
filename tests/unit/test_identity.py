"""Tests for the preview identity: names, limits, hostile inputs and injectivity."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from typing import Any

import pytest

from ansible_collections.nomad_previews.previews.plugins.module_utils.identity import (
    COMPONENTS,
    HASHED_SLUG_MIN,
    JOB_ID_MAX,
    PR_MAX,
    PREVIEW_ID_MAX,
    TASK_NAME_BUDGET,
    IdentityError,
    preview_identity,
)

# The rules of each system a name meets, written independently of the code under test.
DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
NOMAD_NAMESPACE = re.compile(r"^[a-zA-Z0-9-]{1,128}$")
NOMAD_SERVICE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", re.IGNORECASE)
NOMAD_VARIABLE_PATH = re.compile(r"^[a-zA-Z0-9-_~/]{1,128}$")
VAULT_NAME = re.compile(r"^[a-z0-9-]+$")
LONGEST_GROUP = "g" * TASK_NAME_BUDGET
LONGEST_TASK = "t" * TASK_NAME_BUDGET


def derived_names(identity: dict[str, Any]) -> set[str]:
    """Every name an identity hands to another system."""
    return {
        identity["preview_id"],
        identity["namespace"],
        identity["vault_policy"],
        identity["vault_kv_prefix"],
        identity["vault_jwt_role"],
        *identity["jobs"].values(),
        *identity["schedule_jobs"].values(),
        *identity["services"].values(),
        *identity["hostnames"].values(),
    }


def assert_names_valid(identity: dict[str, Any]) -> None:
    """Check every derived name against the rules of the systems it meets."""
    preview_id = identity["preview_id"]
    assert DNS_LABEL.match(preview_id), preview_id
    assert NOMAD_NAMESPACE.match(identity["namespace"]), identity["namespace"]

    for job_id in [*identity["jobs"].values(), *identity["schedule_jobs"].values()]:
        assert len(job_id) <= JOB_ID_MAX, job_id
        default_service = f"{job_id}-{LONGEST_GROUP}-{LONGEST_TASK}"
        assert NOMAD_SERVICE.match(default_service), default_service
        assert NOMAD_VARIABLE_PATH.match(f"nomad/jobs/{job_id}/{LONGEST_GROUP}/{LONGEST_TASK}")
    for service in identity["services"].values():
        assert NOMAD_SERVICE.match(service), service

    for hostname in identity["hostnames"].values():
        assert len(hostname) <= 253, hostname
        assert all(DNS_LABEL.match(label) for label in hostname.split(".")), hostname

    for name in (identity["vault_policy"], identity["vault_jwt_role"]):
        assert VAULT_NAME.match(name), name
    segments = identity["vault_kv_prefix"].split("/")
    assert segments[0] == "previews"
    assert all(VAULT_NAME.match(segment) for segment in segments[1:]), segments


def refusal(**kwargs: Any) -> str:
    """Call preview_identity with defaults for what the case leaves out; return the error."""
    arguments: dict[str, Any] = {"repo": "shop", "pr": 42, **kwargs}
    with pytest.raises(IdentityError) as caught:
        preview_identity(**arguments)
    return str(caught.value)


def test_natural_identity_has_every_documented_name() -> None:
    identity = preview_identity(
        "shop", 42, "feature/x", "0a1b2c3", domain="previews.example.com", schedules=["nightly"]
    )

    assert identity == {
        "preview_id": "shop-pr-42",
        "repo": "shop",
        "pr": 42,
        "branch": "feature/x",
        "sha": "0a1b2c3",
        "namespace": "preview-shop-pr-42",
        "jobs": {
            "queue": "shop-pr-42-queue",
            "worker": "shop-pr-42-worker",
            "web": "shop-pr-42-web",
            "mail": "shop-pr-42-mail",
            "inbox": "shop-pr-42-inbox",
            "dashboard": "shop-pr-42-dashboard",
        },
        "variables": {"inbox": "nomad/jobs/shop-pr-42-inbox"},
        "schedule_jobs": {"nightly": "shop-pr-42-cron-nightly"},
        "services": {
            "queue": "shop-pr-42-queue",
            "worker": "shop-pr-42-worker",
            "web": "shop-pr-42-web",
            "mail-smtp": "shop-pr-42-mail-smtp",
            "mail-ui": "shop-pr-42-mail-ui",
            "inbox": "shop-pr-42-inbox",
            "dashboard": "shop-pr-42-dashboard",
        },
        "hostnames": {
            "web": "web-shop-pr-42.previews.example.com",
            "mail": "mail-shop-pr-42.previews.example.com",
            "inbox": "inbox-shop-pr-42.previews.example.com",
            "dashboard": "dashboard-shop-pr-42.previews.example.com",
        },
        "vault_policy": "preview-shop-pr-42",
        "vault_kv_prefix": "previews/shop-pr-42",
        "vault_jwt_role": "preview-shop-pr-42",
    }
    assert_names_valid(identity)


def test_optional_inputs_default_to_none_and_the_local_domain() -> None:
    identity = preview_identity("shop", "7")

    assert identity["pr"] == 7
    assert identity["branch"] is None
    assert identity["sha"] is None
    assert identity["schedule_jobs"] == {}
    assert identity["hostnames"]["web"] == "web-shop-pr-7.preview.localhost"


def test_pr_as_string_and_as_int_give_the_same_identity() -> None:
    assert preview_identity("shop", "42") == preview_identity("shop", 42)


@pytest.mark.parametrize(
    ("sha"),
    [
        pytest.param("0a1b2c3", id="abbreviated"),
        pytest.param("0123456789abcdef0123456789abcdef01234567", id="sha1"),
        pytest.param("0123456789abcdef" * 4, id="sha256"),
    ],
)
def test_commit_shas_of_every_accepted_length_are_kept(sha: str) -> None:
    assert preview_identity("shop", 42, sha=sha)["sha"] == sha


@pytest.mark.parametrize(
    "branch",
    ["main", "feature/x", "release/2.1", "user/jo/fix-login_form", "v1.0", "ünïcode-branch"],
)
def test_branches_git_accepts_are_kept_and_never_shape_names(branch: str) -> None:
    identity = preview_identity("shop", 42, branch)

    assert identity["branch"] == branch
    assert identity["preview_id"] == "shop-pr-42"


HOSTILE_INPUTS = [
    pytest.param(
        {"repo": "a/b"},
        "preview_repo 'a/b' is invalid: must contain only letters, digits, '.', '_' and '-' "
        "(found '/')",
        id="repo-with-owner-slash",
    ),
    pytest.param({"repo": ""}, "preview_repo '' is invalid: must not be empty", id="repo-empty"),
    pytest.param(
        {"repo": "."}, "preview_repo '.' is invalid: must not be '.' or '..'", id="repo-dot"
    ),
    pytest.param(
        {"repo": ".."}, "preview_repo '..' is invalid: must not be '.' or '..'", id="repo-dotdot"
    ),
    pytest.param(
        {"repo": "shop*"},
        "preview_repo 'shop*' is invalid: must contain only letters, digits, '.', '_' and '-' "
        "(found '*')",
        id="repo-glob-star",
    ),
    pytest.param(
        {"repo": "shop+1"},
        "preview_repo 'shop+1' is invalid: must contain only letters, digits, '.', '_' and '-' "
        "(found '+')",
        id="repo-plus",
    ),
    pytest.param(
        {"repo": 'sh"op'},
        "preview_repo 'sh\"op' is invalid: must not contain quotes (found '\"')",
        id="repo-double-quote",
    ),
    pytest.param(
        {"repo": "sh'op"},
        'preview_repo "sh\'op" is invalid: must not contain quotes (found "\'")',
        id="repo-single-quote",
    ),
    pytest.param(
        {"repo": "sh`op`"},
        "preview_repo 'sh`op`' is invalid: must not contain quotes (found '`')",
        id="repo-backtick",
    ),
    pytest.param(
        {"repo": "my shop"},
        "preview_repo 'my shop' is invalid: must not contain whitespace or control characters "
        "(found ' ')",
        id="repo-space",
    ),
    pytest.param(
        {"repo": "shop\n"},
        "preview_repo 'shop\\n' is invalid: must not contain whitespace or control characters "
        "(found '\\n')",
        id="repo-trailing-newline",
    ),
    pytest.param(
        {"repo": "shop\x00"},
        "preview_repo 'shop\\x00' is invalid: must not contain whitespace or control characters "
        "(found '\\x00')",
        id="repo-nul-byte",
    ),
    pytest.param(
        {"repo": "sh\u200bop"},
        "preview_repo 'sh\\u200bop' is invalid: must not contain whitespace or control characters "
        "(found '\\u200b')",
        id="repo-zero-width-space",
    ),
    pytest.param(
        {"repo": "a%2Fb"},
        "preview_repo 'a%2Fb' is invalid: must not contain percent-encoded characters (found '%')",
        id="repo-percent-encoded-slash",
    ),
    pytest.param(
        {"repo": "%2e%2e"},
        "preview_repo '%2e%2e' is invalid: must not contain percent-encoded characters (found '%')",
        id="repo-percent-encoded-dotdot",
    ),
    pytest.param(
        {"repo": "caf\u00e9"},
        "preview_repo 'caf\u00e9' is invalid: must contain only letters, digits, '.', '_' and '-' "
        "(found '\u00e9')",
        id="repo-non-ascii-letter",
    ),
    pytest.param(
        {"repo": "a" * 101},
        f"preview_repo {'a' * 64!r}... (101 characters) is invalid: must be at most 100 "
        "characters (got 101)",
        id="repo-over-100-characters",
    ),
    pytest.param(
        {"repo": "._-"},
        "preview_repo '._-' is invalid: must contain at least one letter or digit",
        id="repo-only-punctuation",
    ),
    pytest.param(
        {"repo": "Shop", "known_repos": ["billing", "shop"]},
        "preview_repo 'Shop' is invalid: differs only in case from existing preview repository "
        "'shop'",
        id="repo-case-twin-of-existing",
    ),
    pytest.param(
        {"repo": 42}, "preview_repo 42 is invalid: must be a string (got int)", id="repo-not-string"
    ),
    pytest.param(
        {"known_repos": "shop"},
        "known_repos 'shop' is invalid: must be a list of repository names",
        id="known-repos-single-string",
    ),
    pytest.param(
        {"pr": 0}, "preview_pr 0 is invalid: must be a positive whole number", id="pr-zero"
    ),
    pytest.param(
        {"pr": -1}, "preview_pr -1 is invalid: must be a positive whole number", id="pr-negative"
    ),
    pytest.param(
        {"pr": True},
        "preview_pr True is invalid: must be a whole number, not a boolean",
        id="pr-boolean",
    ),
    pytest.param(
        {"pr": 4.0},
        "preview_pr 4.0 is invalid: must be a whole number or a string of digits (got float)",
        id="pr-float",
    ),
    pytest.param(
        {"pr": None},
        "preview_pr None is invalid: must be a whole number or a string of digits (got NoneType)",
        id="pr-missing",
    ),
    pytest.param(
        {"pr": "+42"},
        "preview_pr '+42' is invalid: must contain only the digits 0-9, without sign (found '+')",
        id="pr-signed-string",
    ),
    pytest.param(
        {"pr": "-3"},
        "preview_pr '-3' is invalid: must contain only the digits 0-9, without sign (found '-')",
        id="pr-negative-string",
    ),
    pytest.param(
        {"pr": "042"},
        "preview_pr '042' is invalid: must not have leading zeros",
        id="pr-leading-zero",
    ),
    pytest.param(
        {"pr": "0"}, "preview_pr '0' is invalid: must be a positive whole number", id="pr-zero-str"
    ),
    pytest.param(
        {"pr": " 42"},
        "preview_pr ' 42' is invalid: must not contain whitespace or control characters "
        "(found ' ')",
        id="pr-leading-space",
    ),
    pytest.param(
        {"pr": "42abc"},
        "preview_pr '42abc' is invalid: must contain only the digits 0-9, without sign (found 'a')",
        id="pr-trailing-letters",
    ),
    pytest.param(
        {"pr": "\u0664\u0662"},
        "preview_pr '\u0664\u0662' is invalid: must contain only the digits 0-9, without sign "
        "(found '\u0664')",
        id="pr-arabic-indic-digits",
    ),
    pytest.param(
        {"pr": "%34%32"},
        "preview_pr '%34%32' is invalid: must not contain percent-encoded characters (found '%')",
        id="pr-percent-encoded",
    ),
    pytest.param({"pr": ""}, "preview_pr '' is invalid: must not be empty", id="pr-empty"),
    pytest.param(
        {"pr": PR_MAX + 1},
        f"preview_pr {PR_MAX + 1} is invalid: must be at most {PR_MAX}",
        id="pr-past-int32",
    ),
    pytest.param(
        {"pr": "9" * 5000},
        f"preview_pr {'9' * 64!r}... (5000 characters) is invalid: must be at most {PR_MAX}",
        id="pr-five-thousand-digits",
    ),
    pytest.param(
        {"branch": ""}, "preview_branch '' is invalid: must not be empty", id="branch-empty"
    ),
    pytest.param(
        {"branch": ".."},
        "preview_branch '..' is invalid: must not be '.' or '..'",
        id="branch-dotdot",
    ),
    pytest.param(
        {"branch": "feature/../main"},
        "preview_branch 'feature/../main' is invalid: must not contain '..'",
        id="branch-dotdot-component",
    ),
    pytest.param(
        {"branch": "feature/./x"},
        "preview_branch 'feature/./x' is invalid: no '/'-separated part may start with '.' "
        "(found '.')",
        id="branch-dot-component",
    ),
    pytest.param(
        {"branch": "feature/.hidden"},
        "preview_branch 'feature/.hidden' is invalid: no '/'-separated part may start with '.' "
        "(found '.hidden')",
        id="branch-hidden-component",
    ),
    pytest.param(
        {"branch": "feat*"},
        "preview_branch 'feat*' is invalid: must not contain any of ~ ^ : ? [ \\ * + (found '*')",
        id="branch-glob-star",
    ),
    pytest.param(
        {"branch": "feat+x"},
        "preview_branch 'feat+x' is invalid: must not contain any of ~ ^ : ? [ \\ * + (found '+')",
        id="branch-plus",
    ),
    pytest.param(
        {"branch": "HEAD~1"},
        "preview_branch 'HEAD~1' is invalid: must not contain any of ~ ^ : ? [ \\ * + (found '~')",
        id="branch-revision-tilde",
    ),
    pytest.param(
        {"branch": "a:b"},
        "preview_branch 'a:b' is invalid: must not contain any of ~ ^ : ? [ \\ * + (found ':')",
        id="branch-refspec-colon",
    ),
    pytest.param(
        {"branch": "a\\b"},
        "preview_branch 'a\\\\b' is invalid: must not contain any of ~ ^ : ? [ \\ * + "
        "(found '\\\\')",
        id="branch-backslash",
    ),
    pytest.param(
        {"branch": "-x"},
        "preview_branch '-x' is invalid: must not start with '-'",
        id="branch-option-like",
    ),
    pytest.param(
        {"branch": "feature/"},
        "preview_branch 'feature/' is invalid: must not start or end with '/'",
        id="branch-trailing-slash",
    ),
    pytest.param(
        {"branch": "a//b"},
        "preview_branch 'a//b' is invalid: must not contain '//'",
        id="branch-double-slash",
    ),
    pytest.param(
        {"branch": "feature.lock"},
        "preview_branch 'feature.lock' is invalid: no '/'-separated part may end with '.lock' "
        "(found 'feature.lock')",
        id="branch-lock-suffix",
    ),
    pytest.param(
        {"branch": "main@{1}"},
        "preview_branch 'main@{1}' is invalid: must not be '@' or contain '@{'",
        id="branch-reflog-syntax",
    ),
    pytest.param(
        {"branch": "main."},
        "preview_branch 'main.' is invalid: must not end with '.'",
        id="branch-trailing-dot",
    ),
    pytest.param(
        {"branch": "feature%2Fx"},
        "preview_branch 'feature%2Fx' is invalid: must not contain percent-encoded characters "
        "(found '%')",
        id="branch-percent-encoded",
    ),
    pytest.param(
        {"branch": "fix\nrm -rf"},
        "preview_branch 'fix\\nrm -rf' is invalid: must not contain whitespace or control "
        "characters (found '\\n')",
        id="branch-newline",
    ),
    pytest.param(
        {"branch": "x" * 256},
        f"preview_branch {'x' * 64!r}... (256 characters) is invalid: must be at most 255 "
        "characters (got 256)",
        id="branch-over-255-characters",
    ),
    pytest.param(
        {"sha": "ABCDEF1"},
        "preview_sha 'ABCDEF1' is invalid: must be 7 to 40 lower-case hexadecimal characters, "
        "or 64 for a SHA-256 commit",
        id="sha-upper-case",
    ),
    pytest.param(
        {"sha": "abc123"},
        "preview_sha 'abc123' is invalid: must be 7 to 40 lower-case hexadecimal characters, "
        "or 64 for a SHA-256 commit",
        id="sha-too-short",
    ),
    pytest.param(
        {"sha": "a" * 41},
        f"preview_sha {'a' * 41!r} is invalid: must be 7 to 40 lower-case hexadecimal "
        "characters, or 64 for a SHA-256 commit",
        id="sha-between-sha1-and-sha256",
    ),
    pytest.param(
        {"domain": "Preview.Localhost"},
        "preview_domain 'Preview.Localhost' is invalid: must contain only lower-case letters, "
        "digits, '-' and '.' (found 'P')",
        id="domain-upper-case",
    ),
    pytest.param(
        {"domain": "previews.example.com/evil"},
        "preview_domain 'previews.example.com/evil' is invalid: must contain only lower-case "
        "letters, digits, '-' and '.' (found '/')",
        id="domain-with-path",
    ),
    pytest.param(
        {"domain": "preview..localhost"},
        "preview_domain 'preview..localhost' is invalid: each '.'-separated label must be 1 to "
        "63 letters, digits or '-', starting and ending with a letter or digit (found '')",
        id="domain-empty-label",
    ),
    pytest.param(
        {"domain": "-preview.localhost"},
        "preview_domain '-preview.localhost' is invalid: each '.'-separated label must be 1 to "
        "63 letters, digits or '-', starting and ending with a letter or digit "
        "(found '-preview')",
        id="domain-label-leading-dash",
    ),
    pytest.param(
        {"domain": ".".join(["a" * 60] * 4)},
        f"preview_domain {'a' * 60 + '.aaa'!r}... (243 characters) is invalid: must be at most "
        "214 characters so that every preview hostname fits 253 (got 243)",
        id="domain-too-long-for-hostnames",
    ),
    pytest.param(
        {"schedules": "nightly"},
        "preview_schedules 'nightly' is invalid: must be a list of schedule names (got str)",
        id="schedules-single-string",
    ),
    pytest.param(
        {"schedules": ["nightly", "Weekly"]},
        "preview_schedules[1] 'Weekly' is invalid: must start with a lower-case letter (found 'W')",
        id="schedule-upper-case",
    ),
    pytest.param(
        {"schedules": ["nightly.report"]},
        "preview_schedules[0] 'nightly.report' is invalid: must contain only lower-case letters, "
        "digits, '_' and '-' (found '.')",
        id="schedule-dot",
    ),
    pytest.param(
        {"schedules": ["night ly"]},
        "preview_schedules[0] 'night ly' is invalid: must not contain whitespace or control "
        "characters (found ' ')",
        id="schedule-space",
    ),
    pytest.param(
        {"schedules": ["a" * 65]},
        f"preview_schedules[0] {'a' * 64!r}... (65 characters) is invalid: must be at most 64 "
        "characters (got 65)",
        id="schedule-over-64-characters",
    ),
    pytest.param(
        {"schedules": ["nightly", "weekly", "nightly"]},
        "preview_schedules[2] 'nightly' is invalid: repeats preview_schedules[0]",
        id="schedule-repeated",
    ),
]


@pytest.mark.parametrize(("arguments", "message"), HOSTILE_INPUTS)
def test_hostile_input_is_refused_with_a_message_naming_input_and_rule(
    arguments: dict[str, Any], message: str
) -> None:
    assert refusal(**arguments) == message


def test_identity_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="preview_pr"):
        preview_identity("shop", 0)


def test_the_same_repository_as_an_existing_preview_is_accepted() -> None:
    identity = preview_identity("shop", 43, known_repos=["shop", "billing"])

    assert identity["preview_id"] == "shop-pr-43"


def test_budget_fits_every_name_for_the_largest_pr_number() -> None:
    shortest_repo_budget = PREVIEW_ID_MAX - len(f"-pr-{PR_MAX}")

    assert shortest_repo_budget >= HASHED_SLUG_MIN
    assert PREVIEW_ID_MAX + len(f"-cron-{'x' * HASHED_SLUG_MIN}") <= JOB_ID_MAX
    assert max(len(f"-{component}") for component in COMPONENTS) + PREVIEW_ID_MAX <= JOB_ID_MAX
    assert JOB_ID_MAX + 2 * (1 + TASK_NAME_BUDGET) <= 63


LONG_REPO = "a-very-long-repository-name-" + "x" * 72


def test_long_repository_and_pr_are_cut_and_hashed_within_every_limit() -> None:
    identity = preview_identity(LONG_REPO, 987654321, schedules=["nightly_" + "r" * 56, "hourly"])

    assert len(LONG_REPO) == 100
    assert len(identity["preview_id"]) <= PREVIEW_ID_MAX
    assert identity["preview_id"].endswith("-pr-987654321")
    assert "--" in identity["preview_id"]
    assert identity["repo"] == LONG_REPO
    assert_names_valid(identity)


def test_hashed_names_are_stable_across_calls_and_releases() -> None:
    first = preview_identity(LONG_REPO, 987654321, schedules=["nightly_report"])
    second = preview_identity(LONG_REPO, 987654321, schedules=["nightly_report"])

    assert first == second
    # Pinned: teardown and the garbage collector find existing previews by these names, so a
    # change here strands every preview opened before it.
    assert first["preview_id"] == "a-ver--6cb5c058-pr-987654321"
    assert first["schedule_jobs"] == {
        "nightly_report": "a-ver--6cb5c058-pr-987654321-cron-n--622e5384"
    }


def test_near_identical_long_repository_gets_different_names() -> None:
    twin = LONG_REPO[:-1] + "y"

    first = preview_identity(LONG_REPO, 987654321)
    second = preview_identity(twin, 987654321)

    assert derived_names(first).isdisjoint(derived_names(second))


@pytest.mark.parametrize(
    ("repo", "preview_id"),
    [
        pytest.param("myapp", "myapp-pr-1", id="natural"),
        pytest.param("MyApp", "myapp--4de339ce-pr-1", id="upper-case"),
        pytest.param("my.app", "my-app--13d7e337-pr-1", id="dot"),
        pytest.param("my_app", "my-app--3fe58225-pr-1", id="underscore"),
        pytest.param("my-app", "my-app-pr-1", id="natural-dash"),
        pytest.param("my--app", "my-app--7377d6d5-pr-1", id="double-dash"),
        pytest.param("-app", "app--5d30f2fb-pr-1", id="leading-dash"),
    ],
)
def test_transformed_repository_names_carry_the_hash_of_their_exact_input(
    repo: str, preview_id: str
) -> None:
    assert preview_identity(repo, 1)["preview_id"] == preview_id


def test_repository_name_variants_never_share_a_preview_id() -> None:
    variants = ["myapp", "MyApp", "MYAPP", "my.app", "my_app", "my-app", "my--app", "my-app-"]

    preview_ids = {preview_identity(repo, 1)["preview_id"] for repo in variants}

    assert len(preview_ids) == len(variants)


def test_pr_marker_inside_a_repository_or_schedule_cannot_forge_another_preview() -> None:
    # Without a guard, repository 'shop-pr-1-cron-b' PR 2 would own the job ID
    # 'shop-pr-1-cron-b-pr-2-queue', which is also shop PR 1's schedule 'b-pr-2-queue'.
    forger = preview_identity("shop-pr-1-cron-b", 2)
    victim = preview_identity("shop", 1, schedules=["b-pr-2-queue"])

    assert derived_names(forger).isdisjoint(derived_names(victim))
    assert "-pr-1-" not in forger["preview_id"]
    assert victim["schedule_jobs"]["b-pr-2-queue"].count("-pr-") == 1


def test_schedule_slugs_follow_the_cut_and_hash_rule() -> None:
    identity = preview_identity("shop", 42, schedules=["nightly", "send_digest", "send-digest"])

    jobs = identity["schedule_jobs"]
    assert jobs["nightly"] == "shop-pr-42-cron-nightly"
    assert jobs["send-digest"] == "shop-pr-42-cron-send-digest"
    assert re.fullmatch(r"shop-pr-42-cron-send-digest--[0-9a-f]{8}", jobs["send_digest"])


def random_repo(rng: random.Random) -> str:
    """A repository name built to provoke collisions: shared words, case, cuts, markers."""
    words = ["shop", "Shop", "pr", "1", "2", "42", "cron", "queue", "a", "x" * 30, "api"]
    separators = ["-", "_", ".", "--", ""]
    parts = [rng.choice(words)]
    for _ in range(rng.randrange(0, 6)):
        parts += [rng.choice(separators), rng.choice(words)]
    repo = "".join(parts)[:100]
    return repo if repo.strip("._-") else "r"


def random_schedule(rng: random.Random) -> str:
    """A schedule name from the same collision-prone words."""
    words = ["nightly", "pr", "1", "2", "queue", "cron", "a", "report", "r" * 20]
    name = rng.choice(["nightly", "pr", "a", "report"])
    for _ in range(rng.randrange(0, 4)):
        name += rng.choice(["-", "_", "", "--"]) + rng.choice(words)
    return name[:64]


def random_identities(seed: int, count: int) -> Iterator[dict[str, Any]]:
    """Identities from seeded random inputs, with near-twins of each repository."""
    rng = random.Random(seed)
    for _ in range(count):
        repo = random_repo(rng)
        pr = rng.choice([1, 2, 12, 42, 987654321, PR_MAX, rng.randrange(1, PR_MAX)])
        schedules = sorted({random_schedule(rng) for _ in range(rng.randrange(0, 4))})
        for variant in {repo, repo.swapcase(), repo.replace("-", "_"), repo[:-1] + "z"}:
            if variant.strip("._-"):
                yield preview_identity(variant, pr, schedules=schedules)

        # A forger: a repository that spells this preview's ID followed by one of its job
        # suffixes, so that its own job IDs would line up with this preview's schedule jobs.
        other_pr = rng.randrange(1, 100)
        schedule = rng.choice(["a", "nightly", "b-c"])
        forged = preview_identity(repo, pr, schedules=[f"{schedule}-pr-{other_pr}-queue"])
        yield forged
        forger = f"{forged['preview_id']}-cron-{schedule}"
        if len(forger) <= 100:
            yield preview_identity(forger, other_pr)


def test_no_two_previews_share_any_derived_name() -> None:
    owner: dict[str, tuple[str, int]] = {}

    for identity in random_identities(seed=20240601, count=3000):
        preview = (identity["repo"], identity["pr"])
        schedule_jobs = list(identity["schedule_jobs"].values())
        assert len(set(schedule_jobs)) == len(schedule_jobs), identity["schedule_jobs"]
        for name in derived_names(identity):
            # Vault lower-cases policy names, so names must differ in more than case.
            key = name.lower()
            assert owner.setdefault(key, preview) == preview, (name, preview, owner[key])

    assert len(set(owner.values())) > 3000


def test_listing_by_preview_id_prefix_finds_only_that_preview() -> None:
    identities = list(random_identities(seed=99, count=2000))
    preview_ids = {identity["preview_id"] for identity in identities}

    for identity in identities:
        nomad_names = [
            *identity["jobs"].values(),
            *identity["schedule_jobs"].values(),
            *identity["services"].values(),
        ]
        for name in nomad_names:
            prefixes = [name[:index] for index, char in enumerate(name) if char == "-"]
            owners = {prefix for prefix in prefixes if prefix in preview_ids}
            assert owners == {identity["preview_id"]}, (name, owners)


def test_every_random_identity_meets_every_system_limit() -> None:
    for identity in random_identities(seed=7, count=1000):
        assert_names_valid(identity)
