# ACL policy: lets a job read the shared Nomad Variable nomad/jobs/lb (key registry_token).
#
# A task may read nomad/jobs/<its own job> without a policy; the registry token is shared by two
# jobs (registry and backend-sim), so it lives at nomad/jobs/lb and each of those jobs gets this
# policy through its workload identity. Only needed on clusters with ACLs enabled:
#
#   nomad acl policy apply -namespace default -job registry    lb-vars-registry    infra/nomad/lb-vars.policy.hcl
#   nomad acl policy apply -namespace default -job backend-sim lb-vars-backend-sim infra/nomad/lb-vars.policy.hcl
#
# The gateway does not get it: it needs no registry token.
namespace "default" {
  variables {
    path "nomad/jobs/lb" {
      capabilities = ["read"]
    }
  }
}
