# Docker driver options as the engine reports them: each option is checked in
# the container's inspect, and each rejection fails before any container
# exists.

# inspect_job_container SECONDS: waits for the job's container to run and
# stores its inspect in INSPECT, then stops berth.
inspect_job_container() {
    wait_for "$1" job_has_running_container "$IT_JOB"
    INSPECT=$(api GET "/containers/$(first_running_container "$IT_JOB")/json")
}

stop_berth() {
    kill -TERM "$BERTH_PID"
    wait_berth 30
    assert_eq 0 "$(job_container_count "$IT_JOB")" "containers left"
}

# expect_rejection BODY MESSAGE [BERTH_ARGS...]: runs a one-task job with
# BODY and checks that berth fails with MESSAGE and made no container.
expect_rejection() {
    local body=$1 message=$2
    shift 2
    write_job "$IT_TMP/job.hcl" "$body"
    local status=0
    timeout 60 "$BERTH_BIN" run "$@" "$IT_TMP/job.hcl" >"$IT_TMP/out" 2>"$IT_TMP/err" || status=$?
    assert_eq 1 "$status" "exit status for [$message]"
    assert_contains "$(cat "$IT_TMP/err")" "$message" "stderr"
    assert_eq 0 "$(job_container_count "$IT_JOB")" "containers made for [$message]"
}

allow_privileged_config() {
    cat >"$IT_TMP/agent.hcl" <<'CONFIG'
client {
  options {
    "docker.privileged.enabled" = "true"
  }
}
CONFIG
}

test_options_defaults_in_inspect() {
    write_job "$IT_TMP/job.hcl" '
      config {
        image = "berth-test/busybox:1"
        command = "sleep"
        args = ["300"]
      }'
    start_berth run "$IT_TMP/job.hcl"
    inspect_job_container 30
    assert_eq bridge "$(jq -r .HostConfig.NetworkMode <<<"$INSPECT")" "NetworkMode"
    assert_eq false "$(jq -r .HostConfig.Privileged <<<"$INSPECT")" "Privileged"
    assert_eq false "$(jq -r .Config.Tty <<<"$INSPECT")" "Tty"
    assert_eq false "$(jq -r .Config.OpenStdin <<<"$INSPECT")" "OpenStdin"
    assert_eq "" "$(jq -r '.HostConfig.Dns // [] | join(",")' <<<"$INSPECT")" "Dns"
    stop_berth
}

test_options_container_settings_in_inspect() {
    # shm_size and a port_map value come from interpolation as strings.
    write_job "$IT_TMP/job.hcl" '
      meta {
        SHM = "67108864"
        WEB_PORT = "8080"
      }
      config {
        image = "berth-test/busybox:1"
        command = "sleep"
        args = ["300"]
        hostname = "berth-box"
        dns_servers = ["192.0.2.1", "192.0.2.2"]
        dns_search_domains = ["example.internal"]
        shm_size = "${NOMAD_META_SHM}"
        work_dir = "/tmp"
        interactive = true
        SSL = true
        port_map {
          web = "${NOMAD_META_WEB_PORT}"
        }
      }
      resources {
        network {
          port "web" {}
        }
      }' 2
    start_berth run "$IT_TMP/job.hcl"
    wait_for 30 output_lines_equal "started" "$IT_TMP/err" 2
    local id inspect
    for id in $(job_containers "$IT_JOB"); do
        inspect=$(api GET "/containers/$id/json")
        assert_eq berth-box "$(jq -r .Config.Hostname <<<"$inspect")" "Hostname of $id"
        assert_eq "192.0.2.1,192.0.2.2" "$(jq -r '.HostConfig.Dns | join(",")' <<<"$inspect")" "Dns"
        assert_eq example.internal "$(jq -r '.HostConfig.DnsSearch | join(",")' <<<"$inspect")" "DnsSearch"
        assert_eq 67108864 "$(jq -r .HostConfig.ShmSize <<<"$inspect")" "ShmSize"
        assert_eq /tmp "$(jq -r .Config.WorkingDir <<<"$inspect")" "WorkingDir"
        assert_eq true "$(jq -r .Config.OpenStdin <<<"$inspect")" "OpenStdin"
        assert_eq 1 "$(jq -r '.HostConfig.PortBindings | keys | map(select(. == "8080/tcp")) | length' <<<"$inspect")" "port 8080/tcp bound"
        assert_contains "$(jq -r '.Config.Env | join(" ")' <<<"$inspect")" "NOMAD_PORT_web=8080" "Env"
    done
    stop_berth
}

test_options_tty_output_is_raw() {
    write_job "$IT_TMP/job.hcl" '
      config {
        image = "berth-test/busybox:1"
        command = "sh"
        args = ["-c", "echo on the tty; sleep 300"]
        tty = true
      }'
    start_berth run "$IT_TMP/job.hcl"
    inspect_job_container 30
    assert_eq true "$(jq -r .Config.Tty <<<"$INSPECT")" "Tty"
    wait_for 10 grep -q "| on the tty" "$IT_TMP/out"
    stop_berth
}

test_options_network_modes() {
    local network="berth-it-${IT_JOB}"
    api POST /networks/create "{\"Name\":\"$network\"}" >/dev/null
    it_cleanup "api DELETE /networks/$network"
    local peer="berth-it-peer-${IT_JOB}"
    api POST "/containers/create?name=$peer" '{"Image":"berth-test/busybox:1","Cmd":["sleep","300"]}' >/dev/null
    it_cleanup "api DELETE /containers/$peer?force=1"
    api POST "/containers/$peer/start" >/dev/null

    local mode
    for mode in host none "container:$peer" "$network"; do
        write_job "$IT_TMP/job.hcl" "
      config {
        image = \"berth-test/busybox:1\"
        command = \"sleep\"
        args = [\"300\"]
        network_mode = \"$mode\"
      }"
        start_berth run "$IT_TMP/job.hcl"
        inspect_job_container 30
        local expected=$mode
        if [ "$mode" = "container:$peer" ]; then
            # The engine stores the peer by id.
            expected="container:$(api GET "/containers/$peer/json" | jq -r .Id)"
        fi
        assert_eq "$expected" "$(jq -r .HostConfig.NetworkMode <<<"$INSPECT")" "NetworkMode"
        stop_berth
    done
}

test_options_namespace_modes_when_allowed() {
    allow_privileged_config
    write_job "$IT_TMP/job.hcl" '
      config {
        image = "berth-test/busybox:1"
        command = "sleep"
        args = ["300"]
        ipc_mode = "host"
        pid_mode = "host"
        uts_mode = "host"
        network_mode = "none"
      }'
    start_berth run -config "$IT_TMP/agent.hcl" "$IT_TMP/job.hcl"
    inspect_job_container 30
    assert_eq host "$(jq -r .HostConfig.IpcMode <<<"$INSPECT")" "IpcMode"
    assert_eq host "$(jq -r .HostConfig.PidMode <<<"$INSPECT")" "PidMode"
    assert_eq host "$(jq -r .HostConfig.UTSMode <<<"$INSPECT")" "UTSMode"
    stop_berth
}

test_options_privileged_when_allowed() {
    allow_privileged_config
    write_job "$IT_TMP/job.hcl" '
      config {
        image = "berth-test/busybox:1"
        command = "sleep"
        args = ["300"]
        privileged = true
        network_mode = "none"
      }'
    start_berth run -config "$IT_TMP/agent.hcl" "$IT_TMP/job.hcl"
    # NOTE: an engine inside a sandbox without all capabilities cannot
    # start privileged containers. Then the test checks that berth passed
    # the option on and reports the engine's error, with no container left.
    wait_for 30 job_has_running_container_or_exited
    if kill -0 "$BERTH_PID" 2>/dev/null; then
        INSPECT=$(api GET "/containers/$(first_running_container "$IT_JOB")/json")
        assert_eq true "$(jq -r .HostConfig.Privileged <<<"$INSPECT")" "Privileged"
        stop_berth
    else
        wait_berth 10
        assert_eq 1 "$BERTH_STATUS" "exit status"
        assert_contains "$(cat "$IT_TMP/err")" "start container" "stderr"
        assert_not_contains "$(cat "$IT_TMP/err")" "privileged containers are disabled" "stderr"
        assert_eq 0 "$(job_container_count "$IT_JOB")" "containers left"
    fi
}

job_has_running_container_or_exited() {
    job_has_running_container "$IT_JOB" || ! kill -0 "$BERTH_PID" 2>/dev/null
}

test_options_privileged_rejected_by_default() {
    expect_rejection '
      config {
        image = "berth-test/busybox:1"
        privileged = true
      }' 'config option "privileged" is true, but privileged containers are disabled on this agent'
    local option
    for option in ipc_mode pid_mode uts_mode; do
        expect_rejection "
      config {
        image = \"berth-test/busybox:1\"
        $option = \"host\"
      }" "config option \"$option\" = \"host\" needs privileged containers, which are disabled on this agent"
    done
}

test_options_engine_conflicts_rejected() {
    expect_rejection '
      config {
        image = "berth-test/busybox:1"
        network_mode = "host"
        hostname = "box"
      }' 'config option "hostname" cannot be used with network_mode "host"'
    expect_rejection '
      config {
        image = "berth-test/busybox:1"
        network_mode = "container:some-peer"
        hostname = "box"
      }' 'config option "hostname" cannot be used with network_mode "container:some-peer"'
    expect_rejection '
      config {
        image = "berth-test/busybox:1"
        network_mode = "container:some-peer"
        dns_servers = ["192.0.2.1"]
      }' 'cannot be used with network_mode "container:some-peer"'
    expect_rejection '
      config {
        image = "berth-test/busybox:1"
        network_mode = "host"
        dns_search_domains = ["example.internal"]
      }' 'config options "dns_servers" and "dns_search_domains" cannot be used with network_mode "host"'
}

test_options_bad_values_rejected() {
    expect_rejection '
      meta {
        SHM = "lots"
      }
      config {
        image = "berth-test/busybox:1"
        shm_size = "${NOMAD_META_SHM}"
      }' 'config option "shm_size" is "lots"; it must be a whole number'
    expect_rejection '
      config {
        image = "berth-test/busybox:1"
        shm_size = -1
      }' 'config option "shm_size" is -1'
    expect_rejection '
      config {
        image = "berth-test/busybox:1"
        tty = "maybe"
      }' 'config option "tty" is "maybe"; use true or false'
    expect_rejection '
      meta {
        WEB_PORT = "eighty"
      }
      config {
        image = "berth-test/busybox:1"
        port_map {
          web = "${NOMAD_META_WEB_PORT}"
        }
      }
      resources {
        network {
          port "web" {}
        }
      }' 'port_map "web" is "eighty"; it must be a port number from 1 to 65535'
}
