# schedule.nomad.hcl.j2 for preview shop-pr-42; rendered by nomad-previews, edit the template instead.

# Schedule abandoned_carts, disabled in this preview: its only launch is in 2099, so it never
# runs by itself, yet a reviewer can still force one run from the Nomad UI.
job "shop-pr-42-cron-abandoned-carts--61d28f8d" {
  namespace   = "preview-shop-pr-42"
  type        = "batch"
  datacenters = ["*"]

  meta {
    preview_branch           = "feature/checkout"
    preview_created_at       = "2026-11-30T09:00:00Z"
    preview_id               = "shop-pr-42"
    preview_idle_timeout     = "48h"
    preview_last_activity_at = "2026-11-30T09:00:00Z"
    preview_pr               = "42"
    preview_repo             = "shop"
    preview_schedule         = "abandoned_carts"
    preview_schedule_cron    = "*/30 * * * *"
    preview_schedule_enabled = "false"
    preview_sha              = "0123456789abcdef0123456789abcdef01234567"
  }

  ui {
    description = "Schedule abandoned_carts (disabled; force a run to try it) of preview shop-pr-42"

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

  periodic {
    crons            = ["0 0 1 1 * 2099"]
    time_zone        = "UTC"
    prohibit_overlap = true
  }

  group "run" {
    count = 1

    # The hard job timeout: Nomad stops a run that is still going after it.
    max_run_duration = "10m"

    restart {
      attempts = 0
      mode     = "fail"
    }

    reschedule {
      attempts  = 0
      unlimited = false
    }

    task "run" {
      driver         = "docker"
      kill_signal    = "SIGTERM"
      kill_timeout   = "25s"
      shutdown_delay = "5s"

      config {
        image   = "registry.example.com/acme/shop:latest"
        command = "bundle"
        args    = ["exec", "rails", "runner", "AbandonedCartJob.perform_now"]
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
