# inbox.nomad.hcl.j2 for preview shop-pr-42; rendered by nomad-previews, edit the template instead.

# The preview inbox: catches webhooks and SMS and shows them beside the captured email.
job "shop-pr-42-inbox" {
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
    description = "Preview inbox (webhooks, SMS, email) of preview shop-pr-42"

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

  group "inbox" {
    count = 1

    network {
      port "http" {
        to = 8080
      }
    }

    update {
      min_healthy_time  = "10s"
      healthy_deadline  = "5m"
      progress_deadline = "10m"
    }

    task "inbox" {
      driver         = "docker"
      shutdown_delay = "5s"

      config {
        image = "nomad-previews/preview-inbox:0.1.0"
        ports = ["http"]
      }

      env {
        INBOX_HOST           = "0.0.0.0"
        INBOX_LINK_DASHBOARD = "https://web-shop-pr-42.preview.localhost/sidekiq"
        INBOX_LINK_MAILHOG   = "https://mail-shop-pr-42.preview.localhost/"
        INBOX_LINK_NOMAD     = "http://127.0.0.1:4646/ui/jobs?namespace=preview-shop-pr-42"
        INBOX_PORT           = "8080"
        INBOX_PREVIEW_ID     = "shop-pr-42"
      }

      template {
        destination = "local/inbox.env"
        env         = true
        change_mode = "restart"
        data        = <<-EOT
          {{ range nomadService "shop-pr-42-mail-ui" -}}
          INBOX_MAILHOG_URL=http://{{ .Address }}:{{ .Port }}
          {{ end -}}
          {{ range nomadService "shop-pr-42-queue" -}}
          INBOX_REDIS_URL=redis://{{ .Address }}:{{ .Port }}/0
          {{ end -}}
          EOT
      }

      template {
        destination = "secrets/inbox-auth.env"
        env         = true
        change_mode = "restart"
        data        = <<-EOT
          {{ with nomadVar "nomad/jobs/shop-pr-42-inbox" -}}
          INBOX_USERNAME={{ .username }}
          INBOX_PASSWORD={{ .password }}
          {{ end -}}
          EOT
      }

      service {
        name     = "shop-pr-42-inbox"
        provider = "nomad"
        port     = "http"

        check {
          type     = "http"
          path     = "/healthz"
          interval = "10s"
          timeout  = "2s"
        }
      }

      resources {
        cpu    = 100
        memory = 256
      }
    }
  }
}
