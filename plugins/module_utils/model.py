"""Build the render model of one preview: everything the job templates and the summary read.

The model joins the preview identity, the checked app profile and the site settings into
plain data. Templates only lay it out; every decision (which jobs exist, their IDs, the
flags a worker gets, the environment it sees, the links a reviewer follows) is made here, so
it can be tested without rendering.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from ansible_collections.nomad_previews.previews.plugins.module_utils.hcl import format_duration
from ansible_collections.nomad_previews.previews.plugins.module_utils.presets import PRESETS

# The preview's own queue, one job per preview. Credentials here are the images' public
# defaults on a queue reachable only inside the preview, never secrets.
QUEUE_BACKENDS: Mapping[str, Mapping[str, Any]] = {
    "redis": {
        "image": "redis:7.4-alpine",
        "task": "redis",
        "port": 6379,
        "command": ["redis-server", "--save", "", "--appendonly", "no"],
        "env": {},
        "url": "redis://{{ .Address }}:{{ .Port }}/0",
    },
    "postgres": {
        "image": "postgres:16-alpine",
        "task": "postgres",
        "port": 5432,
        "command": [],
        "env": {
            "POSTGRES_USER": "preview",
            "POSTGRES_DB": "preview",
            "POSTGRES_HOST_AUTH_METHOD": "trust",
        },
        "url": "postgres://preview@{{ .Address }}:{{ .Port }}/preview?sslmode=disable",
    },
    "rabbitmq": {
        "image": "rabbitmq:3.13-alpine",
        "task": "rabbitmq",
        "port": 5672,
        "command": [],
        "env": {"RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-rabbit loopback_users []"},
        "url": "amqp://guest:guest@{{ .Address }}:{{ .Port }}/",
    },
}

MAIL_SERVERS: Mapping[str, Mapping[str, Any]] = {
    "mailhog": {"label": "MailHog", "image": "mailhog/mailhog:v1.0.1", "health_path": "/"},
    "mailpit": {"label": "Mailpit", "image": "axllent/mailpit:v1.21", "health_path": "/livez"},
}
MAIL_SMTP_PORT = 1025
MAIL_UI_PORT = 8025
INBOX_PORT = 8080
INBOX_USERNAME = "reviewer"
# MB for the inbox task: its ring holds at most 32 MiB of captures (INBOX_MAX_TOTAL_BYTES) and
# the process stays near 130 MiB with the ring full and a large MailHog list being read.
INBOX_MEMORY = 256

# A disabled schedule stays registered as an enabled periodic job whose only launch time is
# the first minute of 2099: Nomad refuses to force-run a periodic job with `enabled = false`,
# and a reviewer must be able to force one run from the Nomad UI.
NEVER_CRON = "0 0 1 1 * 2099"


def build_preview(
    identity: Mapping[str, Any], profile: Mapping[str, Any], settings: Mapping[str, Any]
) -> dict[str, Any]:
    """Return the render model for one preview.

    ``settings`` holds ``created_at`` and ``now`` (ISO 8601 UTC), ``datacenters``,
    ``nomad_ui_url``, ``link_scheme``, ``vault_kv_mount``, ``inbox_image`` and
    ``shutdown_delay`` (seconds).

    ``variables`` lists the Nomad variables the jobs read, each with its ``path``, the fixed
    ``items`` and the names of the items to fill with generated secrets (``generated``) when
    the variable is first written. The model itself never holds a secret value.
    """
    preset = PRESETS[profile["framework"]]
    timeouts = profile["timeouts"]
    jobs_ids = identity["jobs"]

    now = _parse_time(settings["now"])
    created = _parse_time(settings.get("created_at") or settings["now"])
    expires = now + timedelta(seconds=timeouts["idle"])

    backend = QUEUE_BACKENDS[profile["queue"]["backend"]]
    queue = {
        **backend,
        "backend": profile["queue"]["backend"],
        "image": profile["queue"]["image"] or backend["image"],
        "service": identity["services"]["queue"],
        "url_var": profile["queue"]["url_var"],
    }
    mail_server = MAIL_SERVERS[profile["mail"]["server"]]
    mail = {
        **mail_server,
        "server": profile["mail"]["server"],
        "image": profile["mail"]["image"] or mail_server["image"],
        "smtp_service": identity["services"]["mail-smtp"],
        "ui_service": identity["services"]["mail-ui"],
        "smtp_port": MAIL_SMTP_PORT,
        "ui_port": MAIL_UI_PORT,
    }

    links = _links(identity, profile, mail, settings)
    secrets = profile["secrets"]
    kv_mount = settings.get("vault_kv_mount") or "kv"
    vault = {
        "enabled": bool(secrets),
        "role": identity["vault_jwt_role"],
        "policy": identity["vault_policy"],
        "kv_mount": kv_mount,
        "app_path": f"{kv_mount}/data/{identity['vault_kv_prefix']}/app",
        "shared_path": f"{kv_mount}/data/previews-shared",
        "preview_prefix": f"{kv_mount}/data/{identity['vault_kv_prefix']}",
        "metadata_prefix": f"{kv_mount}/metadata/{identity['vault_kv_prefix']}",
    }

    vault["template"] = secrets_template(vault, secrets) if secrets else ""
    progress = timeouts["progress_deadline"]
    healthy = min(300, progress - 10)
    deployment = {
        "healthy_deadline": format_duration(healthy),
        "min_healthy_time": format_duration(min(10, healthy // 2)),
    }

    values = {
        "concurrency": str(profile["worker"]["concurrency"]),
        "drain": str(timeouts["drain"]),
        "drain_ms": str(timeouts["drain"] * 1000),
        "job_timeout": str(timeouts["job"]),
    }
    schedules = [
        {
            **schedule,
            "job_id": identity["schedule_jobs"][schedule["name"]],
            "crons": [schedule["cron"] if schedule["enabled"] else NEVER_CRON],
        }
        for schedule in profile["schedules"]
    ]
    enabled_names = ",".join(s["name"] for s in schedules if s["enabled"])
    preview_env = {
        "PREVIEW_ENV": "1",
        "PREVIEW_ID": identity["preview_id"],
        "PREVIEW_SCHEDULES": enabled_names,
        "PREVIEW_JOB_TIMEOUT": str(timeouts["job"]),
        "PREVIEW_DRAIN_TIMEOUT": str(timeouts["drain"]),
        **preset.scheduler.disable_env,
    }
    preset_env = {name: value.format(**values) for name, value in preset.env.items()}

    worker = {
        **profile["worker"],
        "args": [
            *profile["worker"]["command"],
            *(flag.format(**values) for flag in preset.concurrency_flags),
            *(flag.format(**values) for flag in preset.shutdown_flags),
            *(flag.format(**values) for flag in preset.job_timeout_flags),
        ],
        "env": {**profile["env"], **profile["worker"]["env"], **preset_env, **preview_env},
    }
    web = None
    if profile["web"]:
        web = {
            **profile["web"],
            "args": list(profile["web"]["command"]),
            "env": {**profile["env"], **profile["web"]["env"], **preview_env},
            "service": identity["services"]["web"],
        }
    for schedule in schedules:
        schedule["env"] = {**profile["env"], **schedule["env"], **preview_env}

    dashboard = profile["dashboard"]
    if dashboard and dashboard["own_process"]:
        dashboard = {
            **dashboard,
            "service": identity["services"]["dashboard"],
            "wiring": queue_url_template(queue, dashboard["url_var"]),
        }

    wiring = _wiring(queue, mail, identity)
    meta = {
        "preview_id": identity["preview_id"],
        "preview_repo": identity["repo"],
        "preview_pr": str(identity["pr"]),
        "preview_branch": identity["branch"] or "",
        "preview_sha": identity["sha"] or "",
        "preview_created_at": _iso(created),
        "preview_last_activity_at": _iso(now),
        "preview_idle_timeout": format_duration(timeouts["idle"]),
    }

    jobs = [
        _job("queue", jobs_ids["queue"], "service"),
        _job("mail", jobs_ids["mail"], "service"),
        _job("inbox", jobs_ids["inbox"], "service"),
        _job("worker", jobs_ids["worker"], "service"),
    ]
    if web:
        jobs.append(_job("web", jobs_ids["web"], "service"))
    if dashboard and dashboard["own_process"]:
        jobs.append(_job("dashboard", jobs_ids["dashboard"], "service"))
    jobs.extend(
        {**_job("schedule", s["job_id"], "batch"), "schedule": s["name"]} for s in schedules
    )

    return {
        "preview_id": identity["preview_id"],
        "namespace": identity["namespace"],
        "identity": dict(identity),
        "framework": profile["framework"],
        "scheduler": preset.scheduler.name,
        # Who applies each limit and keeps the framework's own scheduler quiet, for reviewers.
        "enforcement": {
            "job_timeout": preset.job_timeout.describe(),
            "drain_timeout": preset.drain_timeout.describe(),
            "scheduler": preset.scheduler.describe(),
        },
        "datacenters": list(settings.get("datacenters") or ["*"]),
        "nomad_ui_url": nomad_ui_url(settings),
        "meta": meta,
        "timeouts": dict(timeouts),
        "deployment": deployment,
        "shutdown_delay": format_duration(int(settings.get("shutdown_delay", 5))),
        "timeouts_display": {key: format_duration(value) for key, value in timeouts.items()},
        "created_at": _iso(created),
        "last_activity_at": _iso(now),
        "expires_at": _iso(expires),
        "queue": queue,
        "mail": mail,
        "inbox": _inbox(identity, queue, mail, links, settings),
        "worker": worker,
        "web": web,
        "dashboard": dashboard,
        "schedules": schedules,
        "secrets": secrets,
        "vault": vault,
        "wiring": wiring,
        "links": links,
        "ui_links": _ui_links(links),
        "jobs": jobs,
        "variables": [
            {
                "path": identity["variables"]["inbox"],
                "items": {"username": INBOX_USERNAME},
                "generated": ["password"],
            }
        ],
    }


def _job(component: str, job_id: str, job_type: str) -> dict[str, Any]:
    template = "schedule" if component == "schedule" else component
    return {
        "component": component,
        "id": job_id,
        "type": job_type,
        "template": f"{template}.nomad.hcl.j2",
        "file": f"{job_id}.nomad.hcl",
    }


def nomad_ui_url(settings: Mapping[str, Any]) -> str:
    """The base URL of the Nomad UI that links point at, without a trailing slash."""
    return str(settings.get("nomad_ui_url") or "http://127.0.0.1:4646/ui").rstrip("/")


def _inbox(
    identity: Mapping[str, Any],
    queue: Mapping[str, Any],
    mail: Mapping[str, Any],
    links: Mapping[str, str],
    settings: Mapping[str, Any],
) -> dict[str, Any]:
    """The inbox job's settings: its links as plain environment, its peers' addresses wired."""
    env = {
        "INBOX_HOST": "0.0.0.0",  # noqa: S104  (inside its container, behind Nomad's port mapping)
        "INBOX_PORT": str(INBOX_PORT),
        "INBOX_PREVIEW_ID": identity["preview_id"],
        "INBOX_LINK_MAILHOG": links["mail"],
        "INBOX_LINK_NOMAD": links["nomad_namespace"],
    }
    if "dashboard" in links:
        env["INBOX_LINK_DASHBOARD"] = links["dashboard"]
    wiring = _each_instance(
        mail["ui_service"], "INBOX_MAILHOG_URL=http://{{ .Address }}:{{ .Port }}"
    )
    if queue["backend"] == "redis":
        wiring += queue_url_template(queue, "INBOX_REDIS_URL")
    variable = identity["variables"]["inbox"]
    return {
        "image": settings["inbox_image"],
        "service": identity["services"]["inbox"],
        "port": INBOX_PORT,
        "memory": INBOX_MEMORY,
        "env": env,
        "wiring": wiring,
        "credentials": {"username": INBOX_USERNAME, "variable": variable},
        # The reviewer's sign-in, read by the task's own identity; the spec names the path only.
        "auth_template": (
            f'{{{{ with nomadVar "{variable}" -}}}}\n'
            "INBOX_USERNAME={{ .username }}\n"
            "INBOX_PASSWORD={{ .password }}\n"
            "{{ end -}}\n"
        ),
    }


def _links(
    identity: Mapping[str, Any],
    profile: Mapping[str, Any],
    mail: Mapping[str, Any],
    settings: Mapping[str, Any],
) -> dict[str, str]:
    scheme = settings.get("link_scheme") or "https"
    hosts = identity["hostnames"]
    ui = nomad_ui_url(settings)
    links = {
        "mail": f"{scheme}://{hosts['mail']}/",
        "inbox": f"{scheme}://{hosts['inbox']}/",
        "nomad_namespace": f"{ui}/jobs?namespace={identity['namespace']}",
    }
    if profile["web"]:
        links["web"] = f"{scheme}://{hosts['web']}/"
    dashboard = profile["dashboard"]
    if dashboard and dashboard["own_process"]:
        links["dashboard"] = f"{scheme}://{hosts['dashboard']}/"
    elif dashboard and dashboard["reachable"]:
        links["dashboard"] = f"{scheme}://{hosts['web']}{dashboard['path']}"
    links["mail_label"] = mail["label"]
    if dashboard:
        links["dashboard_label"] = dashboard["name"]
    return links


def _ui_links(links: Mapping[str, str]) -> list[dict[str, str]]:
    """The links every job's Nomad UI page shows, in reading order."""
    rows = [
        ("web", "App"),
        ("dashboard", links.get("dashboard_label", "")),
        ("mail", links["mail_label"]),
        ("inbox", "Preview inbox"),
    ]
    return [{"label": label, "url": links[key]} for key, label in rows if key in links]


def _wiring(queue: Mapping[str, Any], mail: Mapping[str, Any], identity: Mapping[str, Any]) -> str:
    """Nomad template text that points an app task at its preview's queue, mail and inbox.

    The addresses come from Nomad's service catalogue at run time, so no address is baked
    into the spec and a moved allocation is followed.
    """
    inbox = identity["services"]["inbox"]
    return (
        queue_url_template(queue, queue["url_var"])
        + _each_instance(
            mail["smtp_service"],
            "SMTP_HOST={{ .Address }}\n"
            "SMTP_PORT={{ .Port }}\n"
            "SMTP_URL=smtp://{{ .Address }}:{{ .Port }}",
        )
        + _each_instance(inbox, "PREVIEW_INBOX_URL=http://{{ .Address }}:{{ .Port }}")
    )


def _each_instance(service: str, lines: str) -> str:
    """Nomad template text that writes ``lines`` once per instance of a Nomad service."""
    return f'{{{{ range nomadService "{service}" -}}}}\n{lines}\n{{{{ end -}}}}\n'


def queue_url_template(queue: Mapping[str, Any], variable: str) -> str:
    """Nomad template text that sets ``variable`` to the preview's queue URL."""
    return _each_instance(queue["service"], f"{variable}={queue['url']}")


def secrets_template(vault: Mapping[str, Any], secrets: Mapping[str, str]) -> str:
    """Nomad template text that reads the app's secrets from the preview's Vault path.

    It names the path and the keys; the values exist only inside the running task.
    """
    lines = "".join(
        f'{name}={{{{ index .Data.data "{key}" }}}}\n' for name, key in sorted(secrets.items())
    )
    return f'{{{{ with secret "{vault["app_path"]}" -}}}}\n{lines}{{{{ end -}}}}\n'


def summary(model: Mapping[str, Any]) -> dict[str, Any]:
    """The machine-readable summary of a preview (``summary.json``)."""
    ui = model["nomad_ui_url"]
    namespace = model["namespace"]
    return {
        "preview_id": model["preview_id"],
        "namespace": namespace,
        "repo": model["identity"]["repo"],
        "pr": model["identity"]["pr"],
        "branch": model["identity"]["branch"],
        "sha": model["identity"]["sha"],
        "framework": model["framework"],
        "enforcement": dict(model["enforcement"]),
        "jobs": [
            {
                "id": job["id"],
                "file": job["file"],
                "type": job["type"],
                "component": job["component"],
                "nomad_ui": f"{ui}/jobs/{job['id']}@{namespace}",
            }
            for job in model["jobs"]
        ],
        "links": {k: v for k, v in model["links"].items() if not k.endswith("_label")},
        "inbox": dict(model["inbox"]["credentials"]),
        "variables": [dict(variable) for variable in model["variables"]],
        "idle_timeout": model["timeouts_display"]["idle"],
        "created_at": model["created_at"],
        "last_activity_at": model["last_activity_at"],
        "expires_at": model["expires_at"],
        "timeouts": {
            key: {"seconds": value, "display": model["timeouts_display"][key]}
            for key, value in model["timeouts"].items()
        },
        "schedules": [
            {
                "name": s["name"],
                "job_id": s["job_id"],
                "cron": s["cron"],
                "enabled": s["enabled"],
            }
            for s in model["schedules"]
        ],
    }


def _parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def submitted_summary(
    rendered: Mapping[str, Any], running: Mapping[str, Any], registered: list[str]
) -> dict[str, Any]:
    """The summary of a submitted preview: the rendered one plus what runs on Nomad.

    ``running`` is the preview as ``preview_info`` reads it with addresses; each job of the
    summary gains its ``status`` and ``addresses`` (``label: host:port`` of every running
    allocation), and ``registered`` lists the jobs this run registered.
    """
    by_id = {job["id"]: job for job in running.get("jobs") or []}
    jobs = []
    for job in rendered["jobs"]:
        found = by_id.get(job["id"], {})
        addresses = [
            f"{label} {address}"
            for allocation in found.get("allocations") or []
            for label, address in sorted(allocation["ports"].items())
        ]
        jobs.append({**job, "status": found.get("status") or "missing", "addresses": addresses})
    return {
        **rendered,
        "jobs": jobs,
        "submitted": True,
        "registered": list(registered),
        "state": running.get("state"),
        "last_activity_at": running.get("last_activity_at") or rendered["last_activity_at"],
    }
