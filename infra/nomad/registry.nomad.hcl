# Registry: the control plane (register, list, drain, evict backends; dashboard).
#
#   nomad var put nomad/jobs/lb registry_token=... redis_password=...   # once, see infra/README.md
#   nomad job run -var image_tag=0.1.0 infra/nomad/registry.nomad.hcl
#
# Registered as the Nomad service "lb-registry"; backends find it with a nomadService template.
# REGISTRY_TOKEN and REDIS_PASSWORD come from the Nomad Variable nomad/jobs/lb (keys registry_token,
# redis_password) through a template into secrets/, never from this file.

variable "datacenters" {
  description = "Datacenters to run in."
  type        = list(string)
  default     = ["*"]
}

variable "image" {
  description = "Registry image repository (built with infra/docker/Dockerfile, APP=registry)."
  type        = string
  default     = "lb/registry"
}

variable "image_tag" {
  description = "Image tag to deploy, e.g. a release or a git sha. Required: no floating default."
  type        = string
}

variable "registry_count" {
  description = "Registry instances. They share all state in Redis; one is enough, two for availability."
  type        = number
  default     = 1
}

variable "log_level" {
  type    = string
  default = "info"
}

variable "redis_key_prefix" {
  type    = string
  default = "lb"
}

job "registry" {
  datacenters = var.datacenters
  type        = "service"

  group "registry" {
    count = var.registry_count

    network {
      port "http" {
        to = 8090
      }
    }

    service {
      name     = "lb-registry"
      provider = "nomad"
      port     = "http"
      tags     = ["lb", "control-plane"]

      # Liveness: the process works. The only check that restarts the task (check_restart); the app
      # answers it without asking Redis or the registry, so an outage of either restarts nothing.
      check {
        name     = "registry-live"
        type     = "http"
        path     = "/health/live"
        interval = "10s"
        timeout  = "2s"

        check_restart {
          limit = 3
          grace = "30s"
        }
      }

      # Readiness: it can do its job now: Redis answers (the registry owns membership and
      # cannot register, evict or list without it).
      # No check_restart: failing it never restarts anything. It marks the allocation unhealthy
      # (`nomad alloc checks`, deployments wait for it), but Nomad's own service catalog still lists
      # it: nomadService returns every instance whatever its checks say (Consul's `service` would not).
      check {
        name     = "registry-ready"
        type     = "http"
        path     = "/health/ready"
        interval = "5s"
        timeout  = "2s"
      }
    }

    restart {
      attempts = 3
      interval = "5m"
      delay    = "10s"
      mode     = "delay"
    }

    update {
      max_parallel      = 1
      health_check      = "checks"
      min_healthy_time  = "10s"
      healthy_deadline  = "3m"
      progress_deadline = "10m"
      auto_revert       = true
    }

    task "registry" {
      driver = "docker"

      config {
        image    = "${var.image}:${var.image_tag}"
        ports    = ["http"]
        cap_drop = ["ALL"]
      }

      env {
        REGISTRY_HOST    = "0.0.0.0"
        REGISTRY_PORT    = "8090"
        LOG_LEVEL        = var.log_level
        REDIS_KEY_PREFIX = var.redis_key_prefix
      }

      # Secrets and discovered addresses, rendered into secrets/ (never in the job spec, never in
      # `nomad job inspect`). REDIS_URL carries no credentials: the password is REDIS_PASSWORD.
      # Without a registered lb-redis the URL points at a name that cannot resolve, so the registry
      # is not ready instead of quietly running on an in-memory store; the template re-renders and
      # restarts the task once Redis is registered.
      template {
        destination = "secrets/lb.env"
        env         = true
        change_mode = "restart"
        splay       = "5s"
        data        = <<-EOT
          {{ with nomadVar "nomad/jobs/lb" -}}
          REGISTRY_TOKEN={{ .registry_token }}
          REDIS_PASSWORD={{ .redis_password }}
          {{- end }}
          {{ range $i, $s := nomadService "lb-redis" -}}
          {{ if eq $i 0 }}REDIS_URL=redis://{{ $s.Address }}:{{ $s.Port }}{{ end }}
          {{- else -}}
          REDIS_URL=redis://lb-redis-not-registered.invalid:6379
          {{- end }}
        EOT
      }

      # SIGTERM: stop accepting, finish requests, quit Redis.
      kill_signal  = "SIGTERM"
      kill_timeout = "15s"

      resources {
        cpu    = 200
        memory = 192
      }
    }
  }
}
