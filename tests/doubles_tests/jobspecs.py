"""Job specs shaped like the ones the project renders, for the double's tests."""

from __future__ import annotations

from typing import Any


def service_hcl(
    job_id: str = "shop-pr-42-worker", image: str = "registry.example.com/acme/shop:1.0"
) -> str:
    """A docker service job with a nomad-provider service, a template and a UI link."""
    return f"""
job "{job_id}" {{
  datacenters = ["dc1"]
  type        = "service"

  meta {{
    preview_id = "shop-pr-42"
    pr         = 42
  }}

  ui {{
    description = "Preview of pull request 42"

    link {{
      label = "MailHog"
      url   = "https://mail.shop-pr-42.preview.test"
    }}
  }}

  group "worker" {{
    count = 1

    network {{
      port "http" {{
        to = 8080
      }}
    }}

    task "worker" {{
      driver         = "docker"
      kill_timeout   = "25s"
      kill_signal    = "SIGTERM"
      shutdown_delay = "5s"

      config {{
        image   = "{image}"
        command = "bundle"
        args    = ["exec", "sidekiq"]
        ports   = ["http"]
      }}

      env {{
        PREVIEW_ENV = "true"
      }}

      template {{
        data        = <<EOT
REDIS_URL={{{{ with nomadVar "nomad/jobs/{job_id}" }}}}{{{{ .redis_url }}}}{{{{ end }}}}
EOT
        destination = "secrets/app.env"
        env         = true
      }}

      service {{
        name     = "{job_id}"
        port     = "http"
        provider = "nomad"

        check {{
          type     = "http"
          path     = "/health"
          interval = "10s"
          timeout  = "2s"
        }}
      }}

      resources {{
        cpu    = 200
        memory = 256
      }}
    }}
  }}
}}
"""


def batch_json(job_id: str = "shop-pr-42-gc", **overrides: object) -> dict[str, object]:
    """A periodic batch job as API JSON, disabled schedules switched on."""
    job: dict[str, object] = {
        "ID": job_id,
        "Name": job_id,
        "Type": "batch",
        "Datacenters": ["dc1"],
        "Meta": {"preview_id": "shop-pr-42"},
        "Periodic": {"Enabled": True, "Specs": ["*/15 * * * *"], "ProhibitOverlap": True},
        "TaskGroups": [
            {
                "Name": "gc",
                "Count": 1,
                "Tasks": [
                    {
                        "Name": "gc",
                        "Driver": "raw_exec",
                        "Config": {"command": "/bin/true"},
                        "Resources": {"CPU": 100, "MemoryMB": 64},
                    }
                ],
            }
        ],
    }
    job.update(overrides)
    return job


def service_json(job_id: str = "api", **overrides: object) -> dict[str, object]:
    """A minimal docker service job as API JSON."""
    job: dict[str, object] = {
        "ID": job_id,
        "Name": job_id,
        "Type": "service",
        "Datacenters": ["dc1"],
        "TaskGroups": [
            {
                "Name": "api",
                "Count": 1,
                "Tasks": [
                    {
                        "Name": "api",
                        "Driver": "docker",
                        "Config": {"image": "nginx:1.27"},
                        "Resources": {"CPU": 100, "MemoryMB": 64},
                    }
                ],
            }
        ],
    }
    job.update(overrides)
    return job


def ported_json(
    job_id: str = "web",
    count: int = 1,
    dynamic: dict[str, int] | None = None,
    static: dict[str, int] | None = None,
) -> dict[str, Any]:
    """A docker service job whose group asks for ports.

    `dynamic` maps a port label to its `to`; `static` maps a label to its fixed host port.
    """
    job: dict[str, Any] = service_json(job_id)
    group = job["TaskGroups"][0]
    group["Count"] = count
    group["Networks"] = [
        {
            "DynamicPorts": [{"Label": label, "To": to} for label, to in (dynamic or {}).items()]
            or None,
            "ReservedPorts": [
                {"Label": label, "Value": value} for label, value in (static or {}).items()
            ]
            or None,
        }
    ]
    return job


def with_nomad_services(job: dict[str, Any]) -> dict[str, Any]:
    """Give a `ported_json` job a group service on `smtp` and a task service on `http`."""
    group = job["TaskGroups"][0]
    group["Services"] = [
        {"Name": f"{job['ID']}-mail", "Provider": "nomad", "PortLabel": "smtp", "Tags": ["mail"]}
    ]
    group["Tasks"][0]["Services"] = [
        {
            "Name": f"{job['ID']}-http",
            "Provider": "nomad",
            "PortLabel": "http",
            "Tags": ["preview", "${NOMAD_META_pr}"],
        }
    ]
    job["Meta"] = {"pr": "pr-42"}
    return job
