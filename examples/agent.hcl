# An agent configuration file for `berth agent -config agent.hcl`,
# `berth run -config agent.hcl JOBFILE` and `berth fingerprint -config
# agent.hcl`, in the form Nomad's agent reads.
# Several -config files may be given; a later file's settings replace an
# earlier file's, and client meta keys are merged.

# The node's identity. A job runs here only when its datacenters list this
# datacenter and its region is this region. Tasks see them as NOMAD_DC and
# NOMAD_REGION, and job files as ${node.datacenter}, ${node.unique.name}.
datacenter = "dc1"
region     = "global"
name       = "berth-example"

client {
  # Node meta: job files and task config read it as ${meta.rack}. (The
  # NOMAD_META_* variables come from the job's, group's and task's meta.)
  meta {
    rack = "r1"
  }

  # docker.* options take string values, as in Nomad. An unknown docker.*
  # option or a bad value stops berth with the FILE:LINE:COL of the value.
  options {
    # The engine to use. Without it berth reads DOCKER_HOST,
    # DOCKER_TLS_VERIFY and DOCKER_CERT_PATH; with it only this file counts.
    # "docker.endpoint" = "tcp://127.0.0.1:2376"

    # Client certificate, key and CA for a TLS endpoint. They are ignored,
    # with a warning, unless docker.endpoint is set.
    # "docker.tls.cert" = "/etc/berth/docker/cert.pem"
    # "docker.tls.key"  = "/etc/berth/docker/key.pem"
    # "docker.tls.ca"   = "/etc/berth/docker/ca.pem"

    # Registry credentials for tasks without an auth block: a Docker
    # config.json (auths, credHelpers, credsStore) or a legacy .dockercfg.
    # "docker.auth.config" = "/etc/berth/docker-auth.json"

    # Remove images berth pulled once no task uses them (default "true").
    "docker.cleanup.image" = "true"

    # SELinux label for the /alloc, /local and /secrets bind mounts.
    # "docker.volumes.selinuxlabel" = "z"

    # Allow tasks to set privileged = true (default "false").
    "docker.privileged.enabled" = "false"
  }
}
