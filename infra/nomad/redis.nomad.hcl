# Redis: the load balancer's shared state (loads, leases, membership, events).
#
#   nomad var put nomad/jobs/lb registry_token=... redis_password=...   # once, see infra/README.md
#   nomad job run infra/nomad/redis.nomad.hcl
#
# Registered as the Nomad service "lb-redis"; the other jobs find it with a nomadService template,
# no Consul needed. One instance: the data is soft state (loads and leases heal from reports, beats
# and lease deadlines; agent backends re-register), so a lost Redis costs seconds, not data. The
# append-only file on a sticky ephemeral disk keeps API-registered (agentless) backends across a
# restart on the same node.
#
# Redis requires a password (requirepass): the key redis_password of the Nomad Variable nomad/jobs/lb,
# rendered by a template into a config file under secrets/, so it is on no command line (`ps`,
# `docker inspect`, `nomad alloc status` show the arguments) and not in the job spec. The apps get the
# same key as REDIS_PASSWORD. Reading nomad/jobs/lb needs infra/nomad/lb-vars.policy.hcl on ACL clusters.

variable "datacenters" {
  description = "Datacenters to run in."
  type        = list(string)
  default     = ["*"]
}

variable "redis_image" {
  description = "Redis image (7.x)."
  type        = string
  default     = "redis:7.4-bookworm"
}

variable "memory_mb" {
  description = "Memory for Redis, in MB; maxmemory is set a little below it."
  type        = number
  default     = 256
}

job "redis" {
  datacenters = var.datacenters
  type        = "service"

  group "redis" {
    count = 1

    network {
      # Dynamic host port mapped to 6379 in the container; the service registers the host address.
      port "redis" {
        to = 6379
      }
    }

    ephemeral_disk {
      size    = 300
      sticky  = true
      migrate = true
    }

    service {
      name     = "lb-redis"
      provider = "nomad"
      port     = "redis"

      # A TCP connect needs no password. No check_restart: Nomad restarts Redis when it exits.
      check {
        name     = "redis-tcp"
        type     = "tcp"
        interval = "10s"
        timeout  = "2s"
      }
    }

    restart {
      attempts = 5
      interval = "5m"
      delay    = "5s"
      mode     = "delay"
    }

    update {
      max_parallel     = 1
      min_healthy_time = "10s"
      healthy_deadline = "2m"
      auto_revert      = true
    }

    task "redis" {
      driver = "docker"

      config {
        image = var.redis_image
        ports = ["redis"]
        # The first argument is the rendered config (requirepass); the rest are not secret. The image's
        # entrypoint starts redis-server as the redis user, which can read secrets/ (task-private).
        args = [
          "redis-server",
          "${NOMAD_SECRETS_DIR}/redis.conf",
          "--dir", "/alloc/data",
          "--appendonly", "yes",
          "--save", "",
          "--maxmemory", "${floor(var.memory_mb * 0.8)}mb",
          "--maxmemory-policy", "noeviction",
        ]
      }

      # Fails closed: without a usable redis_password the file holds a line Redis rejects ("Bad
      # directive"), so Redis never runs without a password and never prints it. Letters, digits and
      # ._~+/=- only (hex or base64): the value sits in a quoted config line. Changing the variable
      # re-renders the file and restarts Redis with the new password (the apps restart with it too).
      template {
        destination = "secrets/redis.conf"
        change_mode = "restart"
        data        = <<-EOT
          {{- $pw := "" -}}
          {{- with nomadVar "nomad/jobs/lb" }}{{ with .redis_password }}{{ $pw = .Value }}{{ end }}{{ end -}}
          {{- if regexMatch "^[A-Za-z0-9._~+/=-]+$" $pw }}
          requirepass "{{ $pw }}"
          {{- else }}
          no-usable-redis_password-in-nomad-variable-nomad/jobs/lb
          {{- end }}
        EOT
      }

      kill_signal  = "SIGTERM"
      kill_timeout = "10s"

      resources {
        cpu    = 300
        memory = var.memory_mb
      }
    }
  }
}
