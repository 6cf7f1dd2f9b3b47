# gateway: the traffic entry point. Every replica shares one view of load through Redis.
#
#   nomad job run -var image_tag=0.1.0 infra/nomad/gateway.nomad.hcl
#   nomad job run -var image_tag=0.1.0 -var mode=redirect infra/nomad/gateway.nomad.hcl   # 307 + token
#
# Traffic on a static host port (default 8080) so clients or an outer load balancer have a fixed
# address on each node: one replica per node, spread over datacenters. Admin (/health/*, /metrics)
# on a dynamic port, registered as the Nomad service "lb-gateway-admin" for Prometheus.
#
# The gateway needs Redis only: membership, loads and events are all there (it never calls the
# registry). It reaches Redis through the sentinels, follows failovers on its own, and learns new
# sentinels from the sentinels, so the address template below never restarts it (change_mode "noop").
# Secrets (Nomad Variables lb/redis and lb/redirect) restart it when an operator rotates them.

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

variable "image" {
  description = "Gateway image repository (built with infra/docker/Dockerfile, APP=gateway)."
  type        = string
  default     = "lb/gateway"
}

variable "image_tag" {
  description = "Image tag to deploy, e.g. a release or a git sha. Required: no floating default."
  type        = string
}

variable "gateway_count" {
  description = "Gateway replicas (at most one per client node: the traffic port is static)."
  type        = number
  default     = 2
}

variable "traffic_port" {
  description = "Static host port for client traffic."
  type        = number
  default     = 8080
}

variable "mode" {
  description = "proxy (forward and stream back) or redirect (307 to the chosen backend with a signed token; run backend-sim with require_gateway_token = true)."
  type        = string
  default     = "proxy"
}

variable "log_level" {
  type    = string
  default = "info"
}

variable "redis_key_prefix" {
  type    = string
  default = "lb"
}

job "gateway" {
  datacenters = var.datacenters
  node_pool   = var.node_pool
  type        = "service"

  group "gateway" {
    count = var.gateway_count

    # The static port already keeps two replicas off one node; say so, and spread them out.
    constraint {
      operator = "distinct_hosts"
      value    = "true"
    }

    spread {
      attribute = "${node.datacenter}"
    }

    network {
      port "http" {
        static = var.traffic_port
        to     = 8080
      }
      port "admin" {
        to = 9080
      }
    }

    # Nomad deregisters the services, waits this long, then sends SIGTERM: whatever discovers
    # gateways through Nomad stops sending new clients before the gateway starts draining.
    shutdown_delay = "5s"

    service {
      name     = "lb-gateway"
      provider = "nomad"
      port     = "http"
      tags     = ["lb", "traffic"]

      # Health lives on the admin listener, not on the traffic port (every traffic path belongs
      # to the backends).
      #
      # Liveness: the process works. The only check that restarts the task (check_restart); the app
      # answers it without asking Redis, so a Redis outage restarts nothing.
      check {
        name     = "gateway-live"
        type     = "http"
        port     = "admin"
        path     = "/health/live"
        interval = "10s"
        timeout  = "2s"

        check_restart {
          limit = 3
          grace = "30s"
        }
      }

      # Readiness: it can serve: it knows its backends. It stays ready while Redis is away
      # (it picks from its local view then, degraded), so a Redis outage changes nothing here.
      # No check_restart: failing it marks the allocation unhealthy (deployments wait for it) and
      # restarts nothing.
      check {
        name     = "gateway-ready"
        type     = "http"
        port     = "admin"
        path     = "/health/ready"
        interval = "5s"
        timeout  = "2s"
      }
    }

    # A scrape target for Prometheus, without checks of its own: the two above cover the task, and
    # metrics must stay reachable exactly when the gateway is not ready.
    service {
      name     = "lb-gateway-admin"
      provider = "nomad"
      port     = "admin"
      tags     = ["lb", "metrics"]
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

    # Holds the gateway back until at least one sentinel is registered, so it never starts with a
    # sentinel list that can only be a placeholder (the address template never restarts it).
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

    task "gateway" {
      driver = "docker"

      config {
        image    = "${var.image}:${var.image_tag}"
        ports    = ["http", "admin"]
        cap_drop = ["ALL"]
      }

      env {
        GATEWAY_HOST       = "0.0.0.0"
        GATEWAY_PORT       = "8080"
        GATEWAY_ADMIN_PORT = "9080"
        GATEWAY_MODE       = var.mode
        LOG_LEVEL          = var.log_level
        REDIS_KEY_PREFIX   = var.redis_key_prefix
      }

      # Secrets, rendered into secrets/ as environment (never in the job spec). A rotation restarts
      # the replicas one by one (`splay`). REDIRECT_KEYS is read in redirect mode only.
      template {
        destination = "secrets/lb.env"
        env         = true
        change_mode = "restart"
        splay       = "30s"
        data        = <<-EOT
          {{ with nomadVar "lb/redis" -}}
          REDIS_PASSWORD={{ .password }}
          REDIS_SENTINEL_PASSWORD={{ .password }}
          {{- end }}
          {{ with nomadVar "lb/redirect" -}}
          REDIRECT_KEYS={{ .keys }}
          {{- end }}
        EOT
      }

      # Where the sentinels are, read at start only: ioredis asks them for the master, follows
      # failovers and adds sentinels they report, so a move changes nothing for a running gateway
      # (noop). A restart for any other reason reads the current list.
      template {
        destination = "local/redis.env"
        env         = true
        change_mode = "noop"
        data        = <<-EOT
          REDIS_SENTINELS={{ range $i, $s := nomadService "lb-redis-sentinel" }}{{ if $i }},{{ end }}{{ $s.Address }}:{{ $s.Port }}{{ else }}lb-redis-sentinel-not-registered.invalid:26379{{ end }}
        EOT
      }

      # SIGTERM: stop accepting, drain in-flight requests (GATEWAY_DRAIN_TIMEOUT_MS, default 10s),
      # give leases back, quit Redis. 30s is Nomad's default max_kill_timeout.
      kill_signal  = "SIGTERM"
      kill_timeout = "30s"

      # Idle at about 120 MiB; memory_max (with memory oversubscription enabled) lets bursts of
      # sessions and bodies use more instead of being OOM-killed at the reservation.
      resources {
        cpu        = 500
        memory     = 256
        memory_max = 512
      }
    }
  }
}
