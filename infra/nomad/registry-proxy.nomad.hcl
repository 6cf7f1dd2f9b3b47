# registry-proxy: nginx on every client node, on a static port (default 8091), in front of every
# registry instance. It gives the registry a fixed address on each node, http://<node ip>:8091:
#
# - backends use it as REGISTRY_URL (backend-sim reads REGISTRY_URL once, at start). When a
#   registry moves, the upstream list below re-renders and nginx reloads on SIGHUP: open connections
#   finish, nothing restarts.
# - nomadService lists registries whatever their checks say; nginx skips one that refuses the
#   connection or answers 502/503 (not ready: Redis away) and tries the next, and leaves it out for
#   fail_timeout.
# - operators reach the API and the dashboard on any node: http://<node ip>:8091/dashboard.
#
#   nomad job run infra/nomad/registry-proxy.nomad.hcl
#
# No secret passes through this job's configuration: the token travels in each request's header.

variable "datacenters" {
  description = "Datacenters to run in."
  type        = list(string)
  default     = ["*"]
}

variable "node_pool" {
  description = "Node pool to run in: the pool the backends run in (\"all\" for every pool)."
  type        = string
  default     = "default"
}

variable "nginx_image" {
  description = "nginx image (any 1.2x)."
  type        = string
  default     = "nginx:1.28.0-alpine"
}

variable "port" {
  description = "Static host port on every node; backend-sim's registry_proxy_port must match."
  type        = number
  default     = 8091
}

job "registry-proxy" {
  datacenters = var.datacenters
  node_pool   = var.node_pool
  type        = "system"

  group "registry-proxy" {
    network {
      port "http" {
        static = var.port
        to     = 8091
      }
    }

    service {
      name     = "lb-registry-proxy"
      provider = "nomad"
      port     = "http"
      tags     = ["lb", "control-plane"]

      # nginx itself, not the registry behind it: restart it only when it stops answering.
      check {
        name     = "registry-proxy-live"
        type     = "http"
        path     = "/proxy-health"
        interval = "10s"
        timeout  = "2s"

        check_restart {
          limit = 3
          grace = "10s"
        }
      }
    }

    restart {
      attempts = 10
      interval = "5m"
      delay    = "5s"
      mode     = "delay"
    }

    update {
      max_parallel     = 1
      min_healthy_time = "5s"
      healthy_deadline = "2m"
      auto_revert      = true
    }

    task "nginx" {
      driver = "docker"

      config {
        image = var.nginx_image
        ports = ["http"]
        # A path inside the task directory: allowed even where the client disables docker volumes.
        volumes = ["local/registry-proxy.conf:/etc/nginx/conf.d/default.conf"]
      }

      # Every registered registry, healthy or not; nginx's own failure accounting does the rest.
      # Registrations and heartbeats are safe to send again (same id), hence non_idempotent.
      template {
        destination   = "local/registry-proxy.conf"
        change_mode   = "signal"
        change_signal = "SIGHUP"
        data          = <<-EOT
          upstream lb_registry {
          {{- range nomadService "lb-registry" }}
            server {{ .Address }}:{{ .Port }} max_fails=1 fail_timeout=5s;
          {{- else }}
            # No registry registered yet: answer 502 until one is.
            server 127.0.0.1:9 down;
          {{- end }}
            keepalive 16;
          }

          server {
            listen 8091;
            access_log off;

            location = /proxy-health {
              return 200 "ok\n";
            }

            location / {
              proxy_pass http://lb_registry;
              proxy_http_version 1.1;
              proxy_set_header Connection "";
              proxy_set_header Host $host;
              proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
              proxy_next_upstream error timeout http_502 http_503 non_idempotent;
              proxy_next_upstream_tries 3;
              proxy_connect_timeout 1s;
              # The dashboard's event stream stays open; heartbeats are short.
              proxy_buffering off;
              proxy_read_timeout 1h;
              client_max_body_size 64k;
            }
          }
        EOT
      }

      kill_signal  = "SIGQUIT"
      kill_timeout = "10s"

      resources {
        cpu        = 50
        memory     = 32
        memory_max = 64
      }
    }
  }
}
