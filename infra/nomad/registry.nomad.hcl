# Registry: the control plane (register, list, drain, evict backends; dashboard).
#
#   nomad job run -var image_tag=0.1.0 infra/nomad/registry.nomad.hcl
#
# Registered as the Nomad service "lb-registry". Backends reach it through the registry-proxy on
# their own node, which follows this service, so the registry's port can stay dynamic and a
# rescheduled registry restarts nobody. Two instances on two nodes by default: they share all state in
# Redis, and the proxy skips one that refuses connections or answers 502/503.
# REGISTRY_TOKEN (Nomad Variable lb/registry) and the Redis password (lb/redis) come through a
# template into secrets/, never from this file.

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
  description = "Registry image repository (built with infra/docker/Dockerfile, APP=registry)."
  type        = string
  default     = "lb/registry"
}

variable "image_tag" {
  description = "Image tag to deploy, e.g. a release or a git sha. Required: no floating default."
  type        = string
}

variable "registry_count" {
  description = "Registry instances, one per node. They share all state in Redis; two keep the control plane up through the loss of a node."
  type        = number
  default     = 2
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
  node_pool   = var.node_pool
  type        = "service"

  group "registry" {
    count = var.registry_count

    # Two registries on one node would fail together.
    constraint {
      operator = "distinct_hosts"
      value    = "true"
    }

    spread {
      attribute = "${node.datacenter}"
    }

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
      # answers it without asking Redis, so a Redis outage restarts nothing.
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

      # Readiness: Redis answers (the registry owns membership and cannot register, evict or list
      # without it). No check_restart: failing it marks the allocation unhealthy (deployments wait
      # for it) and restarts nothing.
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

    # Holds the registry back until at least one sentinel is registered (see gateway.nomad.hcl).
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

      # Secrets, rendered into secrets/ as environment (never in the job spec, never in
      # `nomad job inspect`). A rotation restarts the instances one by one (`splay`).
      template {
        destination = "secrets/lb.env"
        env         = true
        change_mode = "restart"
        splay       = "30s"
        data        = <<-EOT
          {{ with nomadVar "lb/registry" -}}
          REGISTRY_TOKEN={{ .token }}
          {{- end }}
          {{ with nomadVar "lb/redis" -}}
          REDIS_PASSWORD={{ .password }}
          REDIS_SENTINEL_PASSWORD={{ .password }}
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

      # SIGTERM: stop accepting, finish requests, quit Redis.
      kill_signal  = "SIGTERM"
      kill_timeout = "15s"

      # Idle at about 100 MiB.
      resources {
        cpu        = 200
        memory     = 192
        memory_max = 384
      }
    }
  }
}
