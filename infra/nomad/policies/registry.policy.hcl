# ACL policy for the job "registry": read exactly the Nomad Variables its templates read.
#
#   nomad acl policy apply -namespace default -job registry -group registry -task registry lb-registry infra/nomad/policies/registry.policy.hcl
#
# lb/registry (key token): REGISTRY_TOKEN, which it checks on every write.
# lb/redis (key password): REDIS_PASSWORD and REDIS_SENTINEL_PASSWORD.
namespace "default" {
  variables {
    path "lb/registry" {
      capabilities = ["read"]
    }
    path "lb/redis" {
      capabilities = ["read"]
    }
  }
}
