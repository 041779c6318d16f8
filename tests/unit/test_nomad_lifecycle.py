"""The lifecycle's pure parts and its preview listing, with the client replaced at one seam."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from ansible_collections.nomad_previews.previews.plugins.module_utils import lifecycle

NAMESPACE = "preview-shop-pr-42"
NOW = datetime(2026, 12, 3, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", [], id="none"),
        pytest.param(None, [], id="null"),
        pytest.param("1 warning:\n\n* cron is deprecated", ["cron is deprecated"], id="one"),
        pytest.param(
            '2 warnings:\n\n* task "t" has no shutdown_delay set\n* Memory oversubscription',
            ['task "t" has no shutdown_delay set', "Memory oversubscription"],
            id="two",
        ),
        pytest.param("something else", ["something else"], id="unformatted"),
    ],
)
def test_split_warnings(text: str | None, expected: list[str]) -> None:
    assert lifecycle.split_warnings(text) == expected


def test_plan_summary_keeps_only_what_happens() -> None:
    plan = {
        "Annotations": {
            "DesiredTGUpdates": {
                "worker": {"Place": 0, "DestructiveUpdate": 1, "Ignore": 0},
                "web": {"Ignore": 2},
            }
        }
    }

    assert lifecycle.plan_summary(plan) == {
        "web": {"Ignore": 2},
        "worker": {"DestructiveUpdate": 1},
    }


def test_diff_lines_show_old_values_before_and_new_values_after() -> None:
    diff = {
        "Type": "Edited",
        "ID": "shop-pr-42-worker",
        "Fields": [
            {"Type": "None", "Name": "Priority", "Old": "50", "New": "50"},
            {"Type": "Added", "Name": "Meta[owner]", "Old": "", "New": "shop"},
        ],
        "TaskGroups": [
            {
                "Type": "Edited",
                "Name": "worker",
                "Fields": [{"Type": "Edited", "Name": "Count", "Old": "1", "New": "2"}],
                "Tasks": [
                    {
                        "Type": "Edited",
                        "Name": "worker",
                        "Objects": [
                            {
                                "Type": "Edited",
                                "Name": "Config",
                                "Fields": [
                                    {"Type": "Edited", "Name": "image", "Old": "a:1", "New": "a:2"},
                                    {"Type": "Deleted", "Name": "user", "Old": "app", "New": ""},
                                ],
                            }
                        ],
                    }
                ],
            }
        ],
    }

    before, after = lifecycle.diff_lines(diff)

    assert before == [
        'Group "worker".Count = "1"',
        'Group "worker".Task "worker".Config.image = "a:1"',
        'Group "worker".Task "worker".Config.user = "app"',
    ]
    assert after == [
        'Job "shop-pr-42-worker".Meta[owner] = "shop"',
        'Group "worker".Count = "2"',
        'Group "worker".Task "worker".Config.image = "a:2"',
    ]


@pytest.mark.parametrize(
    ("job", "job_id", "message"),
    [
        pytest.param({"Type": "service"}, None, "has no ID", id="no-id"),
        pytest.param({"ID": "a"}, "b", "job_id 'b' does not match", id="other-id"),
        pytest.param(
            {"ID": "a", "Namespace": "default"},
            None,
            "declares namespace 'default', but is submitted to namespace 'preview-shop-pr-42'",
            id="other-namespace",
        ),
    ],
)
def test_prepare_job_refuses_a_job_meant_elsewhere(
    job: dict[str, Any], job_id: str | None, message: str
) -> None:
    with pytest.raises(lifecycle.JobSpecError, match=message):
        lifecycle.prepare_job(job, NAMESPACE, job_id)


def test_prepare_job_places_the_job_in_its_namespace() -> None:
    job = {"ID": "a", "Namespace": None}

    assert lifecycle.prepare_job(job, NAMESPACE, "a") == {"ID": "a", "Namespace": NAMESPACE}


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(json.dumps({"ID": "a", "Type": "batch"}), id="bare"),
        pytest.param(json.dumps({"Job": {"ID": "a", "Type": "batch"}}), id="wrapped"),
    ],
)
def test_parse_job_reads_json_bare_or_wrapped(content: str) -> None:
    job = lifecycle.parse_job(
        client=None, content=content, namespace=NAMESPACE, content_format="json"
    )

    assert job == {"ID": "a", "Type": "batch"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param("{", "not valid JSON", id="broken"),
        pytest.param("[1, 2]", "JSON object holding one Nomad job", id="list"),
    ],
)
def test_parse_job_refuses_json_that_is_no_job(content: str, message: str) -> None:
    with pytest.raises(lifecycle.JobSpecError, match=message):
        lifecycle.parse_job(
            client=None, content=content, namespace=NAMESPACE, content_format="json"
        )


class FakeListing:
    """The two listing endpoints ``list_previews`` may call, recording each call."""

    def __init__(self, namespaces: list[dict[str, Any]], jobs: list[dict[str, Any]]) -> None:
        self._namespaces = namespaces
        self._jobs = jobs
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.namespaces = self
        self.jobs = self

    def get_namespaces(self, prefix: str | None = None) -> list[dict[str, Any]]:
        self.calls.append(("namespaces", {"prefix": prefix}))
        return self._namespaces

    def get_jobs(self, **params: Any) -> list[dict[str, Any]]:
        self.calls.append(("jobs", params))
        return self._jobs


def namespace(name: str, **meta: str) -> dict[str, Any]:
    return {"Name": name, "Description": "", "Meta": meta or None}


PREVIEWS = [
    namespace(
        "preview-shop-pr-42",
        preview_id="shop-pr-42",
        preview_repo="shop",
        preview_pr="42",
        preview_sha="3f9c2e1",
        preview_branch="feature/x",
        preview_state="open",
        preview_created_at="2026-12-01T09:00:00Z",
        preview_last_activity_at="2026-12-03T09:00:00Z",
        preview_idle_timeout="2h",
    ),
    namespace(
        "preview-shop-pr-43",
        preview_id="shop-pr-43",
        preview_created_at="2026-12-03T11:30:00Z",
        preview_idle_timeout="48h",
    ),
    namespace("preview-orphan"),
    namespace(
        "preview-broken",
        preview_last_activity_at="yesterday",
        preview_idle_timeout="soon",
    ),
]
JOBS = [
    {"ID": "shop-pr-42-worker", "Namespace": "preview-shop-pr-42", "Type": "service"},
    {
        "ID": "shop-pr-42-cron/periodic-1",
        "ParentID": "shop-pr-42-cron",
        "Namespace": "preview-shop-pr-42",
        "Type": "batch",
        "Status": "dead",
    },
]


def test_list_previews_reads_meta_idle_time_and_jobs_in_two_calls() -> None:
    fake = FakeListing(PREVIEWS, JOBS)

    previews = {p["namespace"]: p for p in lifecycle.list_previews(fake, now=NOW)}

    assert [call[0] for call in fake.calls] == ["namespaces", "jobs"]
    assert fake.calls[1][1]["namespace"] == "*"
    assert fake.calls[1][1]["filter_"] == 'Namespace matches "^preview-"'
    open_one = previews["preview-shop-pr-42"]
    assert open_one["repo"] == "shop"
    assert open_one["pr"] == "42"
    assert open_one["state"] == "open"
    assert open_one["idle_seconds"] == 3 * 3600
    assert open_one["expired"] is True
    assert [job["id"] for job in open_one["jobs"]] == [
        "shop-pr-42-worker",
        "shop-pr-42-cron/periodic-1",
    ]
    assert open_one["jobs"][1]["parent_id"] == "shop-pr-42-cron"


@pytest.mark.parametrize(
    ("name", "preview_id", "idle_seconds", "expired"),
    [
        pytest.param("preview-shop-pr-43", "shop-pr-43", 1800, False, id="created-only"),
        pytest.param("preview-orphan", "orphan", 0, False, id="no-meta"),
        pytest.param("preview-broken", "broken", 0, False, id="unreadable-meta"),
    ],
)
def test_list_previews_never_expires_a_preview_on_a_guess(
    name: str, preview_id: str, idle_seconds: int, expired: bool
) -> None:
    previews = {
        p["namespace"]: p for p in lifecycle.list_previews(FakeListing(PREVIEWS, []), now=NOW)
    }

    assert previews[name]["preview_id"] == preview_id
    assert previews[name]["idle_seconds"] == idle_seconds
    assert previews[name]["expired"] is expired


def test_list_previews_without_previews_lists_no_jobs() -> None:
    fake = FakeListing([], JOBS)

    assert lifecycle.list_previews(fake, now=NOW) == []
    assert [call[0] for call in fake.calls] == ["namespaces"]


def test_list_previews_carries_each_namespace_create_index() -> None:
    listed = [{**namespace("preview-a"), "CreateIndex": 17}, namespace("preview-b")]

    previews = lifecycle.list_previews(FakeListing(listed, []), now=NOW)

    assert [(p["namespace"], p["create_index"]) for p in previews] == [
        ("preview-a", 17),
        ("preview-b", None),
    ]


def listed(name: str, create_index: int | None) -> dict[str, Any]:
    return {"namespace": name, "create_index": create_index}


def test_previews_created_before_counts_only_lower_create_indexes_oldest_first() -> None:
    previews = [
        listed("preview-c", 30),
        listed("preview-late", 90),
        listed("preview-mine", 50),
        listed("preview-a", 10),
    ]

    earlier = lifecycle.previews_created_before(previews, "preview-mine")

    assert [p["namespace"] for p in earlier] == ["preview-a", "preview-c"]


def test_previews_created_before_counts_a_preview_without_index_as_earlier() -> None:
    previews = [listed("preview-mine", 50), listed("preview-unknown", None)]

    earlier = lifecycle.previews_created_before(previews, "preview-mine")

    assert [p["namespace"] for p in earlier] == ["preview-unknown"]


@pytest.mark.parametrize(
    "previews",
    [
        pytest.param([listed("preview-other", 3)], id="missing"),
        pytest.param([listed("preview-mine", None)], id="no-index"),
    ],
)
def test_previews_created_before_refuses_a_listing_without_the_namespace(
    previews: list[dict[str, Any]],
) -> None:
    with pytest.raises(ValueError, match="namespace 'preview-mine' is not in the listing"):
        lifecycle.previews_created_before(previews, "preview-mine")
