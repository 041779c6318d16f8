# worker.nomad.hcl.j2 for preview shop-pr-42; rendered by nomad-previews, edit the template instead.

# The app's sidekiq worker: reduced concurrency, a hard job timeout, and a drain
# that ends before Nomad's kill_timeout does.
job "shop-pr-42-worker" {
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
    description = "sidekiq worker of preview shop-pr-42"

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

  group "worker" {
    count = 1

    update {
      min_healthy_time  = "10s"
      healthy_deadline  = "5m"
      progress_deadline = "10m"
    }

    task "worker" {
      driver         = "docker"
      kill_signal    = "SIGTERM"
      kill_timeout   = "25s"
      shutdown_delay = "5s"

      config {
        image   = "registry.example.com/acme/shop:latest"
        command = "bundle"
        args    = [
          "exec", "sidekiq", "--queue", "critical", "--queue", "default", "--queue", "mailers",
          "--concurrency", "3", "--timeout", "20",
        ]
      }

      env {
        PREVIEW_DRAIN_TIMEOUT = "20"
        PREVIEW_ENV           = "1"
        PREVIEW_ID            = "shop-pr-42"
        PREVIEW_JOB_TIMEOUT   = "600"
        PREVIEW_SCHEDULES     = ""
        RAILS_ENV             = "production"
        RAILS_LOG_TO_STDOUT   = "1"
      }

      template {
        destination = "local/preview.env"
        env         = true
        change_mode = "restart"
        data        = <<-EOT
          {{ range nomadService "shop-pr-42-queue" -}}
          REDIS_URL=redis://{{ .Address }}:{{ .Port }}/0
          {{ end -}}
          {{ range nomadService "shop-pr-42-mail-smtp" -}}
          SMTP_HOST={{ .Address }}
          SMTP_PORT={{ .Port }}
          SMTP_URL=smtp://{{ .Address }}:{{ .Port }}
          {{ end -}}
          {{ range nomadService "shop-pr-42-inbox" -}}
          PREVIEW_INBOX_URL=http://{{ .Address }}:{{ .Port }}
          {{ end -}}
          EOT
      }

      vault {
        role        = "preview-shop-pr-42"
        change_mode = "restart"
      }

      template {
        destination = "secrets/app.env"
        env         = true
        change_mode = "restart"
        data        = <<-EOT
          {{ with secret "kv/data/previews/shop-pr-42/app" -}}
          SECRET_KEY_BASE={{ index .Data.data "secret_key_base" }}
          STRIPE_API_KEY={{ index .Data.data "stripe_test_key" }}
          {{ end -}}
          EOT
      }

      resources {
        cpu    = 200
        memory = 512
      }
    }
  }
}
