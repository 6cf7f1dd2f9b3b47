# Redis for the load balancer's shared state, highly available under Redis Sentinel:
#
#   group "redis"     two instances (master + replica) on static port 6379, one per node, each on the
#                     node's host volume "lb-redis" (the append-only file lives there: Redis runs where
#                     its data is)
#   group "sentinel"  three sentinels on static port 26379, one per node; a quorum of two promotes the
#                     replica when the master is gone and turns the old master into a replica when it
#                     comes back
#
#   nomad var put lb/redis password="$(openssl rand -hex 32)"    # once, see infra/README.md
#   nomad job run infra/nomad/redis.nomad.hcl
#
# The apps are given the sentinels (REDIS_SENTINELS), never a Redis address: they ask the sentinels
# which instance is the master and follow a failover on their own, and learn sentinels that join
# from the sentinels themselves. So neither a failover nor a rescheduled Redis or sentinel restarts
# any app (their templates use change_mode = "noop").
#
# Which instance starts as what is decided at each start by local/start.sh (below): the master the
# sentinels name if any answers, else the instance with allocation index 0 (first deployment). The
# data is soft state (loads and leases heal from reports, beats and lease deadlines; agent backends
# re-register); the append-only file keeps backends registered through the API (agentless) across
# restarts.
#
# One password (key `password` of the Nomad Variable lb/redis) guards Redis (requirepass; masterauth
# for replication) and the sentinels (requirepass; auth-pass towards Redis). It is rendered into files
# under secrets/, so it is on no command line (`ps`, `docker inspect` and `nomad alloc status` show the
# arguments) and not in this file. infra/nomad/policies/redis.policy.hcl lets this job read it.

variable "datacenters" {
  description = "Datacenters to run in."
  type        = list(string)
  default     = ["*"]
}

variable "node_pool" {
  description = "Node pool to run in (Nomad 1.6+); \"default\" holds every node that names no other."
  type        = string
  default     = "default"
}

variable "redis_image" {
  description = "Redis image for Redis and the sentinels (7.x: redis-cli, redis-sentinel and docker-entrypoint.sh)."
  type        = string
  default     = "redis:7.4-bookworm"
}

variable "redis_count" {
  description = "Redis instances: one master, the rest replicas. Each needs its own node with the host volume."
  type        = number
  default     = 2
}

variable "sentinel_count" {
  description = "Sentinels, one per node. Three tolerate the loss of one (quorum 2)."
  type        = number
  default     = 3
}

variable "redis_port" {
  description = "Static host port of Redis. Static, so the addresses the sentinels hand out survive a restart in place."
  type        = number
  default     = 6379
}

variable "sentinel_port" {
  description = "Static host port of the sentinels."
  type        = number
  default     = 26379
}

variable "data_volume" {
  description = "Host volume (client config `host_volume`) that holds Redis's append-only file. Redis is placed only on nodes that have it."
  type        = string
  default     = "lb-redis"
}

variable "memory_mb" {
  description = "Memory reserved for each Redis instance, in MB; maxmemory is set a little below it."
  type        = number
  default     = 256
}

locals {
  # The apps' REDIS_SENTINEL_NAME default: the master group the sentinels watch.
  master_name = "mymaster"

  # requirepass guards the instance; masterauth is what a replica (any instance, after a failover)
  # authenticates to its master with. Fails closed: without a usable password the file holds a line Redis rejects ("Bad directive"),
  # so neither Redis nor a sentinel ever runs open, and the value is never printed. Letters, digits
  # and ._~+/=- only (hex or base64): the value sits in a quoted config line and in a shell variable.
  auth_conf = <<-EOT
    {{- $pw := "" -}}
    {{- with nomadVar "lb/redis" }}{{ with .password }}{{ $pw = .Value }}{{ end }}{{ end -}}
    {{- if regexMatch "^[A-Za-z0-9._~+/=-]+$" $pw }}
    requirepass "{{ $pw }}"
    masterauth "{{ $pw }}"
    {{- else }}
    no-usable-password-in-nomad-variable-lb/redis
    {{- end }}
  EOT

  # Who is there, for the start scripts only (re-read at each start, never a reason to restart).
  # nomadService lists every registered instance, healthy or not: the scripts ask each one.
  peers_env = <<-EOT
    SENTINELS="{{ range nomadService "lb-redis-sentinel" }}{{ .Address }}:{{ .Port }} {{ end }}"
    REDIS_NODES="{{ range nomadService "lb-redis" }}{{ .Address }}:{{ .Port }} {{ end }}"
    FIRST_MASTER="{{ range nomadService "lb-redis" }}{{ if .Tags | contains "alloc-index-0" }}{{ .Address }}:{{ .Port }}{{ end }}{{ end }}"
  EOT

  # Shell helpers both start scripts source: the password for redis-cli (REDISCLI_AUTH, never -a)
  # and `ask HOST:PORT COMMAND...`, which prints the answer's lines on one line.
  lib_sh = <<-EOT
    REDISCLI_AUTH="$(awk '$1 == "requirepass" { gsub(/"/, "", $2); print $2 }' /secrets/auth.conf)"
    export REDISCLI_AUTH
    ask() {
      addr="$1"; shift
      timeout 3 redis-cli -h "$${addr%:*}" -p "$${addr##*:}" --no-auth-warning --raw "$@" 2>/dev/null | tr '\n' ' '
    }
  EOT
}

job "redis" {
  datacenters = var.datacenters
  node_pool   = var.node_pool
  type        = "service"

  group "redis" {
    count = var.redis_count

    # One instance per node: a master and its replica on one machine fail together.
    constraint {
      operator = "distinct_hosts"
      value    = "true"
    }

    # Pinned where its data lives: only nodes with this host volume are eligible.
    volume "data" {
      type   = "host"
      source = var.data_volume
    }

    network {
      port "redis" {
        static = var.redis_port
        to     = 6379
      }
    }

    service {
      name     = "lb-redis"
      provider = "nomad"
      port     = "redis"
      # The start script of a new replica looks for the first deployment's master by this tag.
      tags = ["lb", "redis", "alloc-index-${NOMAD_ALLOC_INDEX}"]

      # A TCP connect needs no password. No check_restart: Nomad restarts Redis when it exits, and a
      # Redis that is slow to answer must not be killed in the middle of a failover.
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

    # One at a time, so a master and its replica are never down together during a deployment.
    update {
      max_parallel     = 1
      min_healthy_time = "15s"
      healthy_deadline = "3m"
      auto_revert      = true
    }

    task "redis" {
      driver = "docker"

      config {
        image   = var.redis_image
        ports   = ["redis"]
        command = "sh"
        args    = ["/local/start.sh"]
      }

      volume_mount {
        volume      = "data"
        destination = "/data"
      }

      env {
        MASTER_NAME = local.master_name
        MAXMEMORY   = "${floor(var.memory_mb * 0.8)}mb"
      }

      # Changing the password restarts Redis with the new one (the apps restart with theirs, see the
      # app jobs): a deliberate rotation, never a side effect of a move.
      template {
        destination = "secrets/auth.conf"
        change_mode = "restart"
        data        = local.auth_conf
      }

      template {
        destination = "local/peers.env"
        change_mode = "noop"
        data        = local.peers_env
      }

      template {
        destination = "local/lib.sh"
        change_mode = "noop"
        data        = local.lib_sh
      }

      # The role is decided here, at each start: the master the sentinels name (a replica of it, or the
      # master itself); with no sentinel answering, allocation 0 is the master and the others
      # replicate it. The config file (requirepass, masterauth) is redis-server's first argument; the
      # rest are not secret. docker-entrypoint.sh drops to the redis user.
      template {
        destination = "local/start.sh"
        change_mode = "noop"
        data        = <<-EOT
          set -eu
          . /local/lib.sh
          . /local/peers.env
          me="$NOMAD_IP_redis:$NOMAD_HOST_PORT_redis"
          master=""
          for s in $SENTINELS; do
            set -- $(ask "$s" SENTINEL get-master-addr-by-name "$MASTER_NAME")
            if [ $# -eq 2 ]; then master="$1:$2"; break; fi
          done
          if [ -z "$master" ] && [ "$NOMAD_ALLOC_INDEX" != 0 ]; then
            until [ -n "$FIRST_MASTER" ]; do
              echo "no sentinel names a master yet: waiting for allocation 0 of lb-redis" >&2
              sleep 3
              . /local/peers.env
            done
            master="$FIRST_MASTER"
          fi
          if [ -n "$master" ] && [ "$master" != "$me" ]; then
            echo "starting as a replica of $master" >&2
            set -- --replicaof "$${master%:*}" "$${master##*:}"
          else
            echo "starting as the master" >&2
            set --
          fi
          exec docker-entrypoint.sh redis-server /secrets/auth.conf \
            --dir /data --appendonly yes --save "" \
            --maxmemory "$MAXMEMORY" --maxmemory-policy noeviction \
            --replica-announce-ip "$NOMAD_IP_redis" --replica-announce-port "$NOMAD_HOST_PORT_redis" \
            "$@"
        EOT
      }

      kill_signal  = "SIGTERM"
      kill_timeout = "10s"

      resources {
        cpu        = 300
        memory     = var.memory_mb
        memory_max = var.memory_mb * 2
      }
    }
  }

  group "sentinel" {
    count = var.sentinel_count

    constraint {
      operator = "distinct_hosts"
      value    = "true"
    }

    network {
      port "sentinel" {
        static = var.sentinel_port
        to     = 26379
      }
    }

    service {
      name     = "lb-redis-sentinel"
      provider = "nomad"
      port     = "sentinel"
      tags     = ["lb", "redis-sentinel"]

      check {
        name     = "sentinel-tcp"
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
      min_healthy_time = "15s"
      healthy_deadline = "3m"
      auto_revert      = true
    }

    task "sentinel" {
      driver = "docker"

      config {
        image   = var.redis_image
        ports   = ["sentinel"]
        command = "sh"
        args    = ["/local/start.sh"]
      }

      env {
        MASTER_NAME = local.master_name
        QUORUM      = "${floor(var.sentinel_count / 2) + 1}"
      }

      template {
        destination = "secrets/auth.conf"
        change_mode = "restart"
        data        = local.auth_conf
      }

      template {
        destination = "local/peers.env"
        change_mode = "noop"
        data        = local.peers_env
      }

      template {
        destination = "local/lib.sh"
        change_mode = "noop"
        data        = local.lib_sh
      }

      # A sentinel starts with a fresh configuration and learns the replicas and the other sentinels
      # in seconds. The master it monitors: the one the other sentinels name; else the Redis instance
      # that says it is master; else the master a replica follows (it may be down: the sentinels, told
      # the replicas, then promote one). The configuration holds the password and Sentinel rewrites
      # it, so it sits in a directory under secrets/ that the redis user owns (docker-entrypoint.sh
      # drops to that user for `redis-server ... --sentinel`, not for `redis-sentinel`).
      template {
        destination = "local/start.sh"
        change_mode = "noop"
        data        = <<-EOT
          set -eu
          . /local/lib.sh
          me="$NOMAD_IP_sentinel:$NOMAD_HOST_PORT_sentinel"
          master=""
          while [ -z "$master" ]; do
            . /local/peers.env
            for s in $SENTINELS; do
              [ "$s" = "$me" ] && continue
              set -- $(ask "$s" SENTINEL get-master-addr-by-name "$MASTER_NAME")
              if [ $# -eq 2 ]; then master="$1:$2"; break; fi
            done
            followed=""
            replicas=""
            if [ -z "$master" ]; then
              for r in $REDIS_NODES; do
                set -- $(ask "$r" ROLE)
                if [ "$${1:-}" = master ]; then master="$r"; break; fi
                if [ "$${1:-}" = slave ] && [ $# -ge 3 ]; then followed="$2:$3"; replicas="$replicas $r"; fi
              done
            fi
            if [ -z "$master" ]; then master="$followed"; fi
            if [ -z "$master" ]; then echo "no Redis instance answers yet: waiting for lb-redis" >&2; sleep 3; fi
          done
          echo "monitoring master $master" >&2
          mkdir -p /secrets/sentinel
          {
            echo "port 26379"
            echo "sentinel announce-ip $NOMAD_IP_sentinel"
            echo "sentinel announce-port $NOMAD_HOST_PORT_sentinel"
            grep '^requirepass ' /secrets/auth.conf
            echo "sentinel monitor $MASTER_NAME $${master%:*} $${master##*:} $QUORUM"
            echo "sentinel auth-pass $MASTER_NAME $REDISCLI_AUTH"
            echo "sentinel down-after-milliseconds $MASTER_NAME 5000"
            echo "sentinel failover-timeout $MASTER_NAME 60000"
            echo "sentinel parallel-syncs $MASTER_NAME 1"
            # A master that is down cannot tell a fresh sentinel its replicas: name them.
            for r in $replicas; do echo "sentinel known-replica $MASTER_NAME $${r%:*} $${r##*:}"; done
          } > /secrets/sentinel/sentinel.conf
          chown -R redis:redis /secrets/sentinel
          chmod 700 /secrets/sentinel
          exec docker-entrypoint.sh redis-server /secrets/sentinel/sentinel.conf --sentinel
        EOT
      }

      kill_signal  = "SIGTERM"
      kill_timeout = "10s"

      resources {
        cpu        = 100
        memory     = 64
        memory_max = 128
      }
    }
  }
}
