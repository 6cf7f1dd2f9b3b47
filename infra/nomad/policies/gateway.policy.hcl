# ACL policy for the job "gateway": read exactly the Nomad Variables its templates read.
#
#   nomad acl policy apply -namespace default -job gateway -group gateway -task gateway lb-gateway infra/nomad/policies/gateway.policy.hcl
#
# lb/redis (key password): REDIS_PASSWORD and REDIS_SENTINEL_PASSWORD.
# lb/redirect (key keys): REDIRECT_KEYS, which sign redirect tokens in redirect mode.
# Not lb/registry: the gateway never calls the registry.
namespace "default" {
  variables {
    path "lb/redis" {
      capabilities = ["read"]
    }
    path "lb/redirect" {
      capabilities = ["read"]
    }
  }
}
