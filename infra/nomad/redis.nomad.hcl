# Redis: the load balancer's shared state (loads, leases, membership, events).
#
#   nomad job run infra/nomad/redis.nomad.hcl
#
# Registered as the Nomad service "lb-redis"; the other jobs find it with a nomadService template,
# no Consul needed. One instance: the data is soft state (loads and leases heal from reports, beats
# and lease deadlines; agent backends re-register), so a lost Redis costs seconds, not data. The
# append-only file on a sticky ephemeral disk keeps API-registered (agentless) backends across a
# restart on the same node.

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
        args = [
          "redis-server",
          "--dir", "/alloc/data",
          "--appendonly", "yes",
          "--save", "",
          "--maxmemory", "${floor(var.memory_mb * 0.8)}mb",
          "--maxmemory-policy", "noeviction",
        ]
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
