# berth run and berth fingerprint with an agent configuration file
# (-config): node identity, docker.* options, a TLS engine on TCP, and
# errors with their FILE:LINE:COL.

# Starts a second daemon on TCP with TLS client verification and loads the
# test image into it; sets TLS_ENDPOINT and TLS_DIR.
setup_tls_engine() {
    TLS_DIR=$IT_TMP/tls-engine
    it_cleanup "scripts/tls-dockerd.sh stop '$TLS_DIR'"
    TLS_ENDPOINT=$(scripts/tls-dockerd.sh start "$TLS_DIR")
    local reply
    reply=$(api GET /images/berth-test/busybox:1/get | tls_api POST /images/load -H 'Content-Type: application/x-tar' --data-binary @-)
    assert_contains "$reply" "Loaded image: berth-test/busybox:1" "image load on the TLS engine"
}

# tls_api METHOD PATH [CURL_ARGS...]: one call to the TLS engine.
tls_api() {
    local method=$1 path=$2
    shift 2
    curl -sS --cacert "$TLS_DIR/certs/ca.pem" --cert "$TLS_DIR/certs/cert.pem" \
        --key "$TLS_DIR/certs/key.pem" -X "$method" "$@" "https://${TLS_ENDPOINT#tcp://}$path"
}

write_tls_agent() {
    cat >"$IT_TMP/agent.hcl" <<AGENT
client {
  options = {
    "docker.endpoint"           = "$TLS_ENDPOINT"
    "docker.tls.ca"             = "$TLS_DIR/certs/ca.pem"
    "docker.tls.cert"           = "$TLS_DIR/certs/cert.pem"
    "docker.tls.key"            = "$TLS_DIR/certs/key.pem"
    "docker.privileged.enabled" = "true"
  }
}
AGENT
}

test_agent_tls_engine_fingerprint() {
    setup_tls_engine
    write_tls_agent
    local output status=0
    # DOCKER_HOST names the other engine: with docker.endpoint set, berth
    # must use only the file's settings.
    output=$("$BERTH_BIN" fingerprint -config "$IT_TMP/agent.hcl" 2>&1) || status=$?
    assert_eq 0 "$status" "fingerprint status ($output)"
    assert_contains "$output" "driver.docker = 1" "fingerprint"
    assert_contains "$output" "docker.privileged.enabled = 1" "fingerprint"
    # That engine's bridge is on 10.251.N.0/24, the other engine's is not.
    assert_contains "$output" "driver.docker.bridge_ip = 10.251." "fingerprint of the TLS engine"

    # The same endpoint without the client certificate is rejected.
    cat >"$IT_TMP/plain.hcl" <<AGENT
client {
  options {
    "docker.endpoint" = "$TLS_ENDPOINT"
  }
}
AGENT
    status=0
    output=$("$BERTH_BIN" fingerprint -config "$IT_TMP/plain.hcl" 2>&1) || status=$?
    assert_eq 1 "$status" "fingerprint status without TLS ($output)"
    assert_contains "$output" "Client sent an HTTP request to an HTTPS server" "fingerprint without TLS"

    # A CA alone is not enough: the daemon verifies the client.
    cat >"$IT_TMP/ca-only.hcl" <<AGENT
client {
  options {
    "docker.endpoint" = "$TLS_ENDPOINT"
    "docker.tls.ca"   = "$TLS_DIR/certs/ca.pem"
  }
}
AGENT
    status=0
    output=$("$BERTH_BIN" fingerprint -config "$IT_TMP/ca-only.hcl" 2>&1) || status=$?
    assert_eq 1 "$status" "fingerprint status without a client certificate ($output)"
}

test_agent_tls_engine_run() {
    setup_tls_engine
    write_tls_agent
    write_job "$IT_TMP/job.hcl" '
      config {
        image = "berth-test/busybox:1"
        network_mode = "none"
        command = "sh"
        args = ["-c", "echo ran on the tls engine; test -d /alloc && echo alloc mounted"]
      }'
    local status=0
    timeout 60 "$BERTH_BIN" run -config "$IT_TMP/agent.hcl" "$IT_TMP/job.hcl" \
        >"$IT_TMP/out" 2>"$IT_TMP/err" || status=$?
    assert_eq 0 "$status" "exit status (stderr: $(tail -n 5 "$IT_TMP/err"))"
    assert_contains "$(cat "$IT_TMP/out")" "| ran on the tls engine" "stdout"
    assert_contains "$(cat "$IT_TMP/out")" "| alloc mounted" "stdout"
    local left
    left=$(tls_api GET "/containers/json?all=1&filters=$(urlencode "{\"label\":[\"berth.job=$IT_JOB\"]}")" | jq length)
    assert_eq 0 "$left" "containers left on the TLS engine"
    assert_eq 0 "$(job_container_count "$IT_JOB")" "containers on the other engine"
}

test_agent_file_errors_positions() {
    cat >"$IT_TMP/agent.hcl" <<'AGENT'
datacenter = "dc1"
colour = "blue"
client {
  options {
    "docker.cleanup.image" = "maybe"
    "docker.no.such.option" = "1"
  }
}
AGENT
    write_job "$IT_TMP/job.hcl" '
      config {
        image = "berth-test/busybox:1"
        command = "true"
      }'
    local status=0
    "$BERTH_BIN" run -config "$IT_TMP/agent.hcl" "$IT_TMP/job.hcl" >"$IT_TMP/out" 2>"$IT_TMP/err" || status=$?
    assert_eq 1 "$status" "exit status"
    local err
    err=$(cat "$IT_TMP/err")
    assert_contains "$err" "$IT_TMP/agent.hcl:2:10: unknown agent key \"colour\"" "stderr"
    assert_contains "$err" "$IT_TMP/agent.hcl:5:30: invalid value \"maybe\" for client option docker.cleanup.image; use \"true\" or \"false\"" "stderr"
    assert_contains "$err" "$IT_TMP/agent.hcl:6:31: unknown client option docker.no.such.option; the docker options berth supports are docker.endpoint," "stderr"
    assert_eq 0 "$(job_container_count "$IT_JOB")" "containers"

    # A missing agent file names its path.
    status=0
    "$BERTH_BIN" run -config "$IT_TMP/missing.hcl" "$IT_TMP/job.hcl" >"$IT_TMP/out" 2>"$IT_TMP/err" || status=$?
    assert_eq 1 "$status" "exit status with a missing file"
    assert_contains "$(cat "$IT_TMP/err")" "$IT_TMP/missing.hcl" "stderr"
}

test_agent_example_file_loads() {
    local output status=0
    output=$("$BERTH_BIN" fingerprint -config examples/agent.hcl 2>&1) || status=$?
    assert_eq 0 "$status" "fingerprint status ($output)"
    assert_contains "$output" "driver.docker = 1" "fingerprint"
    assert_not_contains "$output" "warning" "fingerprint"
}

test_agent_tls_without_endpoint_warns() {
    cat >"$IT_TMP/agent.hcl" <<'AGENT'
client {
  options {
    "docker.tls.cert" = "/nonexistent/cert.pem"
    "docker.tls.key"  = "/nonexistent/key.pem"
  }
}
AGENT
    local output status=0
    output=$("$BERTH_BIN" fingerprint -config "$IT_TMP/agent.hcl" 2>&1) || status=$?
    assert_eq 0 "$status" "fingerprint status ($output)"
    assert_contains "$output" "$IT_TMP/agent.hcl:4:25: docker.tls.cert, docker.tls.key and docker.tls.ca are ignored because docker.endpoint is not set" "warning"
    assert_contains "$output" "(warning)" "warning"
    assert_contains "$output" "driver.docker = 1" "fingerprint through DOCKER_HOST"
}

test_agent_node_identity() {
    cat >"$IT_TMP/agent.hcl" <<'AGENT'
datacenter = "east-1"
region     = "europe"
name       = "berth-node-7"
data_dir   = "/var/lib/berth"
log_level  = "DEBUG"
client {
  node_class = "edge"
  meta {
    rack = "r12"
  }
}
AGENT
    # A second file adds meta and overrides the name.
    cat >"$IT_TMP/override.hcl" <<'AGENT'
name = "berth-node-8"
client {
  meta = {
    zone = "z3"
  }
}
AGENT
    cat >"$IT_TMP/job.hcl" <<JOB
job "$IT_JOB" {
  datacenters = ["dc1", "east-1"]
  region = "europe"
  type = "batch"
  group "g" {
    task "t" {
      driver = "docker"
      config {
        image = "berth-test/busybox:1"
        command = "sh"
        args = ["-c", "echo dc=\$NOMAD_DC region=\$NOMAD_REGION rack=\${meta.rack} zone=\${meta.zone} node=\${node.unique.name} class=\${node.class}"]
      }
    }
  }
}
JOB
    local status=0
    timeout 60 "$BERTH_BIN" run -config "$IT_TMP/agent.hcl" -config "$IT_TMP/override.hcl" \
        "$IT_TMP/job.hcl" >"$IT_TMP/out" 2>"$IT_TMP/err" || status=$?
    assert_eq 0 "$status" "exit status (stderr: $(tail -n 5 "$IT_TMP/err"))"
    assert_contains "$(cat "$IT_TMP/out")" "| dc=east-1 region=europe rack=r12 zone=z3 node=berth-node-8 class=edge" "stdout"
    assert_contains "$(cat "$IT_TMP/err")" "agent key \"log_level\" is not used by berth; ignored (warning)" "stderr"

    # A job whose datacenters leave out the agent's is not run here.
    sed -i 's/"dc1", "east-1"/"dc1"/' "$IT_TMP/job.hcl"
    status=0
    timeout 60 "$BERTH_BIN" run -config "$IT_TMP/agent.hcl" "$IT_TMP/job.hcl" \
        >"$IT_TMP/out" 2>"$IT_TMP/err" || status=$?
    assert_eq 1 "$status" "exit status for another datacenter"
    assert_contains "$(cat "$IT_TMP/err")" "does not list this agent's datacenter \"east-1\"" "stderr"
    assert_eq 0 "$(job_container_count "$IT_JOB")" "containers"
}

test_agent_selinux_label_binds() {
    cat >"$IT_TMP/agent.hcl" <<'AGENT'
client {
  options {
    "docker.volumes.selinuxlabel" = "z"
  }
}
AGENT
    write_job "$IT_TMP/job.hcl" '
      kill_timeout = "1s"
      config {
        image = "berth-test/busybox:1"
        command = "sleep"
        args = ["300"]
      }'
    start_berth run -config "$IT_TMP/agent.hcl" -data-dir "$IT_TMP/data" "$IT_TMP/job.hcl"
    wait_for 30 job_has_running_container "$IT_JOB"
    local binds
    binds=$(api GET "/containers/$(first_running_container "$IT_JOB")/json" | jq -r '.HostConfig.Binds[]')
    assert_eq 3 "$(grep -c ':z$' <<<"$binds")" "binds ending in :z ($binds)"
    assert_contains "$binds" ":/alloc:z" "binds"
    assert_contains "$binds" ":/local:z" "binds"
    assert_contains "$binds" ":/secrets:z" "binds"
    kill -TERM "$BERTH_PID"
    wait_berth 30
    assert_eq 0 "$(job_container_count "$IT_JOB")" "containers left"
}
