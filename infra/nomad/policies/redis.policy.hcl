# ACL policy for the job "redis": read exactly the Nomad Variables its templates read.
#
#   nomad acl policy apply -namespace default -job redis lb-redis infra/nomad/policies/redis.policy.hcl
#
# lb/redis (key password): requirepass and masterauth of Redis, requirepass and auth-pass of the sentinels.
namespace "default" {
  variables {
    path "lb/redis" {
      capabilities = ["read"]
    }
  }
}
