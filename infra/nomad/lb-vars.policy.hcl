# ACL policy: lets a job read the shared Nomad Variable nomad/jobs/lb (keys registry_token and
# redis_password).
#
# A task may read nomad/jobs/<its own job> without a policy; nomad/jobs/lb is shared by the four jobs
# (redis and the gateway read redis_password; registry and backend-sim read both keys), so each of
# them gets this policy through its workload identity. Only needed on clusters with ACLs enabled:
#
#   for job in redis registry backend-sim gateway; do
#     nomad acl policy apply -namespace default -job $job lb-vars-$job infra/nomad/lb-vars.policy.hcl
#   done
#
# The gateway can read registry_token too (a variable is read whole). Splitting it off would not
# narrow much: whoever holds the Redis password can already rewrite the membership the token guards.
namespace "default" {
  variables {
    path "nomad/jobs/lb" {
      capabilities = ["read"]
    }
  }
}
