# queue.nomad.hcl.j2 for preview shop-pr-42; rendered by nomad-previews, edit the template instead.

# The preview's own redis: ephemeral, never shared with another preview.
job "shop-pr-42-queue" {
  namespace   = "preview-shop-pr-42"
  type        = "service"
  datacenters = ["*"]

  meta {
    preview_branch           = "feature/checkout"
    preview_created_at       = "2026-11-30T09:00:00Z"
    preview_id               = "shop-pr-42"
    preview_idle_timeout     = "48h"
    preview_last_activity_at = "2026-11-30T09:00:00Z"
    preview_pr               = "42"
    preview_repo             = "shop"
    preview_sha              = "0123456789abcdef0123456789abcdef01234567"
  }

  ui {
    description = "Queue backend (redis) of preview shop-pr-42"

    link {
      label = "App"
      url   = "https://web-shop-pr-42.preview.localhost/"
    }

    link {
      label = "Sidekiq Web"
      url   = "https://web-shop-pr-42.preview.localhost/sidekiq"
    }

    link {
      label = "MailHog"
      url   = "https://mail-shop-pr-42.preview.localhost/"
    }

    link {
      label = "Preview inbox"
      url   = "https://inbox-shop-pr-42.preview.localhost/"
    }
  }

  group "queue" {
    count = 1

    network {
      port "db" {
        to = 6379
      }
    }

    update {
      min_healthy_time  = "10s"
      healthy_deadline  = "5m"
      progress_deadline = "10m"
    }

    task "redis" {
      driver         = "docker"
      shutdown_delay = "5s"

      config {
        image   = "redis:7.4-alpine"
        command = "redis-server"
        args    = ["--save", "", "--appendonly", "no"]
        ports   = ["db"]
      }

      service {
        name     = "shop-pr-42-queue"
        provider = "nomad"
        port     = "db"

        check {
          type     = "tcp"
          interval = "10s"
          timeout  = "2s"
        }
      }

      resources {
        cpu    = 200
        memory = 256
      }
    }
  }
}
