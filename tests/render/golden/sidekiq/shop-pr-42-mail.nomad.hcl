# mail.nomad.hcl.j2 for preview shop-pr-42; rendered by nomad-previews, edit the template instead.

# MailHog catches every email the preview sends; reviewers read it in its web UI.
job "shop-pr-42-mail" {
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
    description = "MailHog for preview shop-pr-42"

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

  group "mail" {
    count = 1

    network {
      port "smtp" {
        to = 1025
      }

      port "ui" {
        to = 8025
      }
    }

    update {
      min_healthy_time  = "10s"
      healthy_deadline  = "5m"
      progress_deadline = "10m"
    }

    task "mailhog" {
      driver         = "docker"
      shutdown_delay = "5s"

      config {
        image = "mailhog/mailhog:v1.0.1"
        ports = ["smtp", "ui"]
      }

      service {
        name     = "shop-pr-42-mail-smtp"
        provider = "nomad"
        port     = "smtp"

        check {
          type     = "tcp"
          interval = "10s"
          timeout  = "2s"
        }
      }

      service {
        name     = "shop-pr-42-mail-ui"
        provider = "nomad"
        port     = "ui"

        check {
          type     = "http"
          path     = "/"
          interval = "10s"
          timeout  = "2s"
        }
      }

      resources {
        cpu    = 100
        memory = 128
      }
    }
  }
}
