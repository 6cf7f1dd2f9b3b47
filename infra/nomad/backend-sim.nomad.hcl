# backend-sim: simulated backends. Scaling the pool = changing the number of allocations:
#
#   nomad job run -var image_tag=0.1.0 -var backend_count=3 infra/nomad/backend-sim.nomad.hcl
#   nomad job scale backend-sim 10        # later; `nomad job run -preserve-counts` keeps it
#
# Nobody edits an upstream list: each allocation registers itself with the registry (found through
# the Nomad service "lb-registry") under its allocation id, beats liveness and reports its load,
# and deregisters on SIGTERM. The port is dynamic and has no `to`, so the container listens on the
# host port Nomad picked and the app's ADVERTISE_URL fallback, NOMAD_IP_http:NOMAD_PORT_http, is
# the address gateways can reach.

variable "datacenters" {
  description = "Datacenters to run in."
  type        = list(string)
  default     = ["*"]
}

variable "image" {
  description = "backend-sim image repository (built with infra/docker/Dockerfile, APP=backend-sim)."
  type        = string
  default     = "lb/backend-sim"
}

variable "image_tag" {
  description = "Image tag to deploy, e.g. a release or a git sha. Required: no floating default."
  type        = string
}

variable "backend_count" {
  description = "Number of backend allocations (the pool's size). Change it, or `nomad job scale backend-sim N`."
  type        = number
  default     = 3
}

variable "pool" {
  description = "Pool the backends join (BACKEND_POOL)."
  type        = string
  default     = "default"
}

variable "weight" {
  description = "Relative capacity of each backend (BACKEND_WEIGHT)."
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

job "backend-sim" {
  datacenters = var.datacenters
  type        = "service"

  group "backend-sim" {
    count = var.backend_count

    network {
      port "http" {}
    }

    # Nomad's own view, for operators (`nomad service info lb-backend-sim`); gateways do not use it,
    # they get membership from the registry.
    service {
      name     = "lb-backend-sim"
      provider = "nomad"
      port     = "http"
      tags     = ["lb", "backend", "pool:${var.pool}"]

      # Liveness: the process works. The only check that restarts the task (check_restart); the app
      # answers it without asking Redis or the registry, so an outage of either restarts nothing.
      check {
        name     = "backend-live"
        type     = "http"
        path     = "/health/live"
        interval = "10s"
        timeout  = "2s"

        check_restart {
          limit = 3
          grace = "30s"
        }
      }

      # Readiness: it can do its job now: it is registered with the registry.
      # No check_restart: failing it never restarts anything. It marks the allocation unhealthy
      # (`nomad alloc checks`, deployments wait for it), but Nomad's own service catalog still lists
      # it: nomadService returns every instance whatever its checks say (Consul's `service` would not).
      check {
        name     = "backend-ready"
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

    task "backend-sim" {
      driver = "docker"

      config {
        image    = "${var.image}:${var.image_tag}"
        ports    = ["http"]
        cap_drop = ["ALL"]
      }

      env {
        BACKEND_HOST     = "0.0.0.0"
        BACKEND_PORT     = "${NOMAD_PORT_http}"
        BACKEND_POOL     = var.pool
        BACKEND_WEIGHT   = "${var.weight}"
        LOG_LEVEL        = var.log_level
        REDIS_KEY_PREFIX = var.redis_key_prefix
        # BACKEND_ID defaults to NOMAD_ALLOC_ID; ADVERTISE_URL to NOMAD_IP_http:NOMAD_PORT_http.
      }

      # Secrets (registry token, Redis password) and discovered addresses, rendered into secrets/;
      # REDIS_URL carries no credentials. A missing lb-registry or lb-redis renders an address that
      # cannot resolve (the backend stays unready instead of running unregistered or on an in-memory
      # store); Nomad re-renders and restarts once they exist.
      # `splay` spreads those restarts so a moved registry does not restart every backend at once.
      template {
        destination = "secrets/lb.env"
        env         = true
        change_mode = "restart"
        splay       = "30s"
        data        = <<-EOT
          {{ with nomadVar "nomad/jobs/lb" -}}
          REGISTRY_TOKEN={{ .registry_token }}
          REDIS_PASSWORD={{ .redis_password }}
          {{- end }}
          {{ range $i, $s := nomadService "lb-registry" -}}
          {{ if eq $i 0 }}REGISTRY_URL=http://{{ $s.Address }}:{{ $s.Port }}{{ end }}
          {{- else -}}
          REGISTRY_URL=http://lb-registry-not-registered.invalid:8090
          {{- end }}
          {{ range $i, $s := nomadService "lb-redis" -}}
          {{ if eq $i 0 }}REDIS_URL=redis://{{ $s.Address }}:{{ $s.Port }}{{ end }}
          {{- else -}}
          REDIS_URL=redis://lb-redis-not-registered.invalid:6379
          {{- end }}
        EOT
      }

      # SIGTERM: the agent deregisters (gateways stop picking it at once), in-flight requests and
      # long-lived sessions get up to kill_timeout to finish; 30s is Nomad's default max_kill_timeout.
      kill_signal  = "SIGTERM"
      kill_timeout = "30s"

      resources {
        cpu    = 200
        memory = 192
      }
    }
  }
}
