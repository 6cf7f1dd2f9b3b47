# gateway: the traffic entry point. Every replica shares one view of load through Redis.
#
#   nomad job run -var image_tag=0.1.0 infra/nomad/gateway.nomad.hcl
#
# Traffic on a static host port (default 8080) so clients or an outer load balancer have a fixed
# address on each node; at most one replica per node because of it. Admin (/health/*, /metrics) on a
# dynamic port, registered as the Nomad service "lb-gateway-admin" for Prometheus (nomad_sd_configs).

variable "datacenters" {
  description = "Datacenters to run in."
  type        = list(string)
  default     = ["*"]
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
  type        = "service"

  group "gateway" {
    count = var.gateway_count

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
      # answers it without asking Redis or the registry, so an outage of either restarts nothing.
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
      # No check_restart: failing it never restarts anything. It marks the allocation unhealthy
      # (`nomad alloc checks`, deployments wait for it), but Nomad's own service catalog still lists
      # it: nomadService returns every instance whatever its checks say (Consul's `service` would not).
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
        LOG_LEVEL          = var.log_level
        REDIS_KEY_PREFIX   = var.redis_key_prefix
      }

      # The Redis password and discovered addresses, rendered into secrets/ as environment; REDIS_URL
      # carries no credentials. A missing lb-redis renders an address that cannot resolve, so the
      # gateway never runs on an in-memory store of its own; Nomad re-renders and restarts once Redis
      # is registered. It reads nomad/jobs/lb only for redis_password.
      template {
        destination = "secrets/lb.env"
        env         = true
        change_mode = "restart"
        splay       = "10s"
        data        = <<-EOT
          {{ with nomadVar "nomad/jobs/lb" -}}
          REDIS_PASSWORD={{ .redis_password }}
          {{- end }}
          {{ range $i, $s := nomadService "lb-redis" -}}
          {{ if eq $i 0 }}REDIS_URL=redis://{{ $s.Address }}:{{ $s.Port }}{{ end }}
          {{- else -}}
          REDIS_URL=redis://lb-redis-not-registered.invalid:6379
          {{- end }}
          {{ range $i, $s := nomadService "lb-registry" -}}
          {{ if eq $i 0 }}REGISTRY_URL=http://{{ $s.Address }}:{{ $s.Port }}{{ end }}
          {{- else -}}
          REGISTRY_URL=http://lb-registry-not-registered.invalid:8090
          {{- end }}
        EOT
      }

      # SIGTERM: stop accepting, drain in-flight requests (GATEWAY_DRAIN_TIMEOUT_MS, default 10s),
      # give leases back, quit Redis. 30s is Nomad's default max_kill_timeout.
      kill_signal  = "SIGTERM"
      kill_timeout = "30s"

      resources {
        cpu    = 500
        memory = 256
      }
    }
  }
}
