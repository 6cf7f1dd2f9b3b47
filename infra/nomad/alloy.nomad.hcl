# alloy: ships the apps' logs to Loki. Grafana Alloy on every client node (a system job) tails the log
# files Nomad writes for each allocation and gives the lines the labels the Grafana dashboards use
# (job="lb", service, level, kind, stream; see infra/observability/alloy/lb-logs.alloy).
#
#   nomad job run -var loki_push_url=http://loki.example:3100/loki/api/v1/push infra/nomad/alloy.nomad.hcl
#
# Run it from the repository root: the Alloy configuration is read from
# infra/observability/alloy/*.alloy when the job is submitted (HCL's file() reads relative to the
# working directory), the same files docker-compose uses.
#
# Each client needs a read-only host volume on its alloc directory (the client's data_dir + /alloc):
#
#   client {
#     host_volume "nomad-alloc" {
#       path      = "/opt/nomad/data/alloc"
#       read_only = true
#     }
#   }

variable "datacenters" {
  description = "Datacenters to run in."
  type        = list(string)
  default     = ["*"]
}

variable "node_pool" {
  description = "Node pool to run in: where the apps run (\"all\" for every pool)."
  type        = string
  default     = "default"
}

variable "alloy_image" {
  description = "Grafana Alloy image (1.4+: sys.env)."
  type        = string
  default     = "grafana/alloy:v1.10.0"
}

variable "loki_push_url" {
  description = "Loki's push endpoint, e.g. http://loki.example:3100/loki/api/v1/push."
  type        = string
}

variable "alloc_volume" {
  description = "Host volume (client config) on the client's alloc directory."
  type        = string
  default     = "nomad-alloc"
}

job "alloy" {
  datacenters = var.datacenters
  node_pool   = var.node_pool
  type        = "system"

  group "alloy" {
    volume "alloc" {
      type      = "host"
      source    = var.alloc_volume
      read_only = true
    }

    # Where each file was read up to (positions), kept across restarts and updates on the node.
    ephemeral_disk {
      size   = 300
      sticky = true
    }

    network {
      port "http" {
        to = 12345
      }
    }

    service {
      name     = "lb-alloy"
      provider = "nomad"
      port     = "http"
      tags     = ["lb", "logs"]

      check {
        name     = "alloy-ready"
        type     = "http"
        path     = "/-/ready"
        interval = "10s"
        timeout  = "2s"

        check_restart {
          limit = 3
          grace = "30s"
        }
      }
    }

    restart {
      attempts = 10
      interval = "5m"
      delay    = "10s"
      mode     = "delay"
    }

    update {
      max_parallel     = 1
      min_healthy_time = "10s"
      healthy_deadline = "2m"
      auto_revert      = true
    }

    task "alloy" {
      driver = "docker"

      config {
        image = var.alloy_image
        ports = ["http"]
        args = [
          "run",
          "--server.http.listen-addr=0.0.0.0:12345",
          "--storage.path=/alloc/data/alloy",
          "--disable-reporting",
          "/local/alloy",
        ]
      }

      volume_mount {
        volume      = "alloc"
        destination = "/nomad/alloc"
        read_only   = true
      }

      env {
        LOKI_PUSH_URL = var.loki_push_url
      }

      # Alloy loads every *.alloy file of the directory as one configuration. Its own template stage
      # uses {{ }}, so Nomad's template delimiters are moved out of the way.
      template {
        destination     = "local/alloy/lb-logs.alloy"
        data            = file("infra/observability/alloy/lb-logs.alloy")
        left_delimiter  = "[["
        right_delimiter = "]]"
      }

      template {
        destination     = "local/alloy/nomad.alloy"
        data            = file("infra/observability/alloy/nomad.alloy")
        left_delimiter  = "[["
        right_delimiter = "]]"
      }

      kill_signal  = "SIGTERM"
      kill_timeout = "10s"

      resources {
        cpu        = 100
        memory     = 128
        memory_max = 256
      }
    }
  }
}
