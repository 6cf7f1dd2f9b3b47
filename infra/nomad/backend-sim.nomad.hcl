# backend-sim: simulated backends. Scaling the pool = changing the number of allocations:
#
#   nomad job run -var image_tag=0.1.0 infra/nomad/backend-sim.nomad.hcl
#   nomad job scale backend-sim 10        # within scaling { min max }; `nomad job run -preserve-counts` keeps it
#
# Nobody edits an upstream list: each allocation registers itself with the registry under its
# allocation id, beats liveness and reports its load, and deregisters on SIGTERM. It reaches the
# registry through the registry-proxy on its own node (a fixed address, http://<node ip>:8091, that
# follows the registry wherever it runs), so a rescheduled registry restarts no backend. The port is
# dynamic and has no `to`: the container listens on the host port Nomad picked, and the app's
# ADVERTISE_URL fallback, NOMAD_IP_http:NOMAD_PORT_http, is the address gateways can reach.
#
# A backend that cannot register (registry unreachable, token refused) stays live but not ready:
# its readiness check fails, `nomad alloc checks` shows it, and a deployment waits for it and then
# reverts. The registry never sends it traffic, since it holds no record of it.

variable "datacenters" {
  description = "Datacenters to run in."
  type        = list(string)
  default     = ["*"]
}

variable "node_pool" {
  description = "Node pool to run in (Nomad 1.6+)."
  type        = string
  default     = "default"
}

variable "node_class" {
  description = "Run backends only on client nodes of this node class (client `node_class`); empty: any node."
  type        = string
  default     = ""
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
  description = "Number of backend allocations (the pool's size) at `nomad job run`; between backend_min and backend_max."
  type        = number
  default     = 3
}

variable "backend_min" {
  description = "Fewest backends `nomad job scale` (or an autoscaler) may leave."
  type        = number
  default     = 1
}

variable "backend_max" {
  description = "Most backends `nomad job scale` may ask for; keep it below the registry's REGISTRY_MAX_BACKENDS_PER_POOL (1000)."
  type        = number
  default     = 50
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

variable "max_work_seconds" {
  description = "Longest /work or /cpu request a backend accepts (BACKEND_MAX_WORK_MS). On SIGTERM it gets this long plus 10 s to finish: raise the clients' max_kill_timeout (default 30s) before raising this above 20."
  type        = number
  default     = 20
}

variable "require_gateway_token" {
  description = "Redirect mode: serve only requests that carry a gateway's signed token (run the gateway with mode = \"redirect\")."
  type        = bool
  default     = false
}

variable "registry_proxy_port" {
  description = "Static port of the registry-proxy system job on every node (its `port` variable)."
  type        = number
  default     = 8091
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
  node_pool   = var.node_pool
  type        = "service"

  group "backend-sim" {
    count = var.backend_count

    # `nomad job scale backend-sim N` is refused outside these bounds.
    scaling {
      enabled = true
      min     = var.backend_min
      max     = var.backend_max
    }

    # Backends only on the nodes meant for them, when a class is given.
    dynamic "constraint" {
      for_each = var.node_class == "" ? [] : [var.node_class]
      content {
        attribute = "${node.class}"
        value     = constraint.value
      }
    }

    spread {
      attribute = "${node.unique.id}"
    }

    network {
      port "http" {}
    }

    # Nomad's own view, for operators (`nomad service info lb-backend-sim`); gateways do not use it,
    # they get membership from the registry (through Redis).
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

      # Readiness: it is registered with the registry. No check_restart: failing it marks the
      # allocation unhealthy (deployments wait for it) and restarts nothing.
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

    # Holds the backend back until at least one sentinel is registered (see gateway.nomad.hcl).
    task "await-redis" {
      driver = "docker"

      lifecycle {
        hook    = "prestart"
        sidecar = false
      }

      config {
        image   = "${var.image}:${var.image_tag}"
        command = "sh"
        args    = ["-c", "until grep -q : /local/sentinels; do echo 'waiting for the Nomad service lb-redis-sentinel' >&2; sleep 3; done"]
      }

      template {
        destination = "local/sentinels"
        change_mode = "noop"
        data        = "{{ range nomadService \"lb-redis-sentinel\" }}{{ .Address }}:{{ .Port }}\n{{ end }}"
      }

      resources {
        cpu    = 20
        memory = 32
      }
    }

    task "backend-sim" {
      driver = "docker"

      config {
        image    = "${var.image}:${var.image_tag}"
        ports    = ["http"]
        cap_drop = ["ALL"]
      }

      env {
        BACKEND_HOST          = "0.0.0.0"
        BACKEND_PORT          = "${NOMAD_PORT_http}"
        BACKEND_POOL          = var.pool
        BACKEND_WEIGHT        = "${var.weight}"
        BACKEND_MAX_WORK_MS   = "${var.max_work_seconds * 1000}"
        REQUIRE_GATEWAY_TOKEN = "${var.require_gateway_token}"
        REGISTRY_URL          = "http://${NOMAD_IP_http}:${var.registry_proxy_port}"
        LOG_LEVEL             = var.log_level
        REDIS_KEY_PREFIX      = var.redis_key_prefix
        # BACKEND_ID defaults to NOMAD_ALLOC_ID; ADVERTISE_URL to NOMAD_IP_http:NOMAD_PORT_http.
      }

      # Secrets, rendered into secrets/ as environment (never in the job spec). A rotation restarts
      # the backends one by one (`splay`).
      template {
        destination = "secrets/lb.env"
        env         = true
        change_mode = "restart"
        splay       = "60s"
        data        = <<-EOT
          {{ with nomadVar "lb/registry" -}}
          REGISTRY_TOKEN={{ .token }}
          {{- end }}
          {{ with nomadVar "lb/redis" -}}
          REDIS_PASSWORD={{ .password }}
          REDIS_SENTINEL_PASSWORD={{ .password }}
          {{- end }}
          {{ with nomadVar "lb/redirect" -}}
          REDIRECT_KEYS={{ .keys }}
          {{- end }}
        EOT
      }

      # Where the sentinels are, read at start only (see gateway.nomad.hcl): a move restarts nothing.
      template {
        destination = "local/redis.env"
        env         = true
        change_mode = "noop"
        data        = <<-EOT
          REDIS_SENTINELS={{ range $i, $s := nomadService "lb-redis-sentinel" }}{{ if $i }},{{ end }}{{ $s.Address }}:{{ $s.Port }}{{ else }}lb-redis-sentinel-not-registered.invalid:26379{{ end }}
        EOT
      }

      # SIGTERM: the agent deregisters (gateways stop picking it at once), then in-flight requests get
      # up to kill_timeout to finish: the longest request it accepts (BACKEND_MAX_WORK_MS) plus 10 s
      # for deregistering and closing. WebSocket and SSE sessions have no such bound: those still open
      # then are cut, and their clients reconnect through a gateway to another backend.
      kill_signal  = "SIGTERM"
      kill_timeout = "${var.max_work_seconds + 10}s"

      # Idle at about 105 MiB.
      resources {
        cpu        = 200
        memory     = 192
        memory_max = 384
      }
    }
  }
}
