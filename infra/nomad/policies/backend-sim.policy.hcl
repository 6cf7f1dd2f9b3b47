# ACL policy for the job "backend-sim": read exactly the Nomad Variables its templates read.
#
#   nomad acl policy apply -namespace default -job backend-sim -group backend-sim -task backend-sim lb-backend-sim infra/nomad/policies/backend-sim.policy.hcl
#
# lb/registry (key token): REGISTRY_TOKEN, to register, beat and deregister.
# lb/redis (key password): REDIS_PASSWORD and REDIS_SENTINEL_PASSWORD (load reports go to Redis).
# lb/redirect (key keys): REDIRECT_KEYS, which verify gateway tokens with REQUIRE_GATEWAY_TOKEN.
namespace "default" {
  variables {
    path "lb/registry" {
      capabilities = ["read"]
    }
    path "lb/redis" {
      capabilities = ["read"]
    }
    path "lb/redirect" {
      capabilities = ["read"]
    }
  }
}
