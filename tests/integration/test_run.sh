# berth run against the real engine: what the container gets, output,
# exit codes, and that no container survives any ending.

test_run_exit_code_propagates() {
    write_job "$IT_TMP/job.hcl" '
      config {
        image = "berth-test/busybox:1"
        command = "sh"
        args = ["-c", "echo hello from ${NOMAD_TASK_NAME}; echo oops >&2; exit 7"]
      }'
    local status=0
    timeout 60 "$BERTH_BIN" run "$IT_TMP/job.hcl" >"$IT_TMP/out" 2>"$IT_TMP/err" || status=$?
    assert_eq 7 "$status" "exit status"
    assert_contains "$(cat "$IT_TMP/out")" "| hello from t" "stdout"
    assert_contains "$(cat "$IT_TMP/err")" "| oops" "stderr"
    assert_contains "$(cat "$IT_TMP/err")" "exited with code 7" "stderr"
    assert_eq 0 "$(job_container_count "$IT_JOB")" "containers left"
}

test_run_success_exits_zero() {
    write_job "$IT_TMP/job.hcl" '
      config {
        image = "berth-test/busybox:1"
        command = "echo"
        args = ["done"]
      }' 2
    local status=0
    timeout 60 "$BERTH_BIN" run "$IT_TMP/job.hcl" >"$IT_TMP/out" 2>"$IT_TMP/err" || status=$?
    assert_eq 0 "$status" "exit status"
    assert_eq 2 "$(grep -c '| done$' "$IT_TMP/out")" "output lines of two copies"
    assert_eq 0 "$(job_container_count "$IT_JOB")" "containers left"
}

test_run_container_matches_spec() {
    cat >"$IT_TMP/job.hcl" <<JOB
job "$IT_JOB" {
  datacenters = ["dc1"]
  meta {
    owner = "team-a"
  }
  group "g" {
    task "t" {
      driver = "docker"
      kill_timeout = "1s"
      env {
        GREETING = "hello"
        LISTEN = "\${NOMAD_ADDR_http}"
      }
      config {
        image = "berth-test/busybox:1"
        command = "sh"
        args = ["-c", "exec sleep 300", "\${NOMAD_TASK_NAME}", "\${node.datacenter}", "\${unknown.name}"]
        labels {
          team = "platform"
          task = "\${NOMAD_TASK_NAME}"
        }
        port_map {
          http = 8080
        }
      }
      resources {
        cpu = 250
        memory = 64
        network {
          mbits = 10
          port "http" {}
          port "admin" {}
        }
      }
    }
  }
}
JOB
    start_berth run -data-dir "$IT_TMP/data" "$IT_TMP/job.hcl"
    wait_for 30 job_has_running_container "$IT_JOB"
    local id inspect
    id=$(first_running_container "$IT_JOB")
    inspect=$(api GET "/containers/$id/json")

    local alloc_id
    alloc_id=$(jq -r '.Config.Labels["com.hashicorp.nomad.alloc_id"]' <<<"$inspect")
    assert_eq "/t-$alloc_id" "$(jq -r .Name <<<"$inspect")" "container name"
    assert_eq 36 "${#alloc_id}" "alloc id length"
    assert_eq platform "$(jq -r '.Config.Labels.team' <<<"$inspect")" "label team"
    assert_eq t "$(jq -r '.Config.Labels.task' <<<"$inspect")" "interpolated label"
    assert_eq '["sh","-c","exec sleep 300","t","dc1","${unknown.name}"]' \
        "$(jq -c .Config.Cmd <<<"$inspect")" "Cmd"

    local env host_port admin_port
    env=$(jq -r '.Config.Env[]' <<<"$inspect")
    host_port=$(jq -r '.HostConfig.PortBindings["8080/tcp"][0].HostPort' <<<"$inspect")
    admin_port=$(grep '^NOMAD_HOST_PORT_admin=' <<<"$env" | cut -d= -f2)
    [ "$host_port" -ge 20000 ] && [ "$host_port" -lt 32000 ] || fail "http host port $host_port is outside 20000-31999"
    assert_contains "$env" "NOMAD_PORT_http=8080" "env"
    assert_contains "$env" "NOMAD_HOST_PORT_http=$host_port" "env"
    assert_contains "$env" "NOMAD_ADDR_http=127.0.0.1:$host_port" "env"
    assert_contains "$env" "NOMAD_IP_http=127.0.0.1" "env"
    assert_contains "$env" "NOMAD_PORT_admin=$admin_port" "env"
    assert_contains "$env" "NOMAD_CPU_LIMIT=250" "env"
    assert_contains "$env" "NOMAD_MEMORY_LIMIT=64" "env"
    assert_contains "$env" "NOMAD_ALLOC_ID=$alloc_id" "env"
    assert_contains "$env" "NOMAD_ALLOC_INDEX=0" "env"
    assert_contains "$env" "NOMAD_ALLOC_NAME=$IT_JOB.g[0]" "env"
    assert_contains "$env" "NOMAD_TASK_NAME=t" "env"
    assert_contains "$env" "NOMAD_GROUP_NAME=g" "env"
    assert_contains "$env" "NOMAD_JOB_NAME=$IT_JOB" "env"
    assert_contains "$env" "NOMAD_DC=dc1" "env"
    assert_contains "$env" "NOMAD_REGION=global" "env"
    assert_contains "$env" "NOMAD_ALLOC_DIR=/alloc" "env"
    assert_contains "$env" "NOMAD_TASK_DIR=/local" "env"
    assert_contains "$env" "NOMAD_SECRETS_DIR=/secrets" "env"
    assert_contains "$env" "NOMAD_META_OWNER=team-a" "env"
    assert_contains "$env" "GREETING=hello" "env"
    assert_contains "$env" "LISTEN=127.0.0.1:$host_port" "env"

    local protocol
    for protocol in tcp udp; do
        assert_eq "127.0.0.1 $host_port" \
            "$(jq -r ".HostConfig.PortBindings[\"8080/$protocol\"][0] | \"\(.HostIp) \(.HostPort)\"" <<<"$inspect")" \
            "PortBindings 8080/$protocol"
        assert_eq "127.0.0.1 $admin_port" \
            "$(jq -r ".HostConfig.PortBindings[\"$admin_port/$protocol\"][0] | \"\(.HostIp) \(.HostPort)\"" <<<"$inspect")" \
            "PortBindings $admin_port/$protocol (unmapped)"
        assert_eq '{}' "$(jq -c ".Config.ExposedPorts[\"8080/$protocol\"]" <<<"$inspect")" "ExposedPorts 8080/$protocol"
    done
    assert_eq 250 "$(jq -r .HostConfig.CpuShares <<<"$inspect")" "CpuShares"
    assert_eq $((64 * 1024 * 1024)) "$(jq -r .HostConfig.Memory <<<"$inspect")" "Memory"
    assert_eq $((64 * 1024 * 1024)) "$(jq -r .HostConfig.MemorySwap <<<"$inspect")" "MemorySwap"

    local binds
    binds=$(jq -r '.HostConfig.Binds[]' <<<"$inspect")
    assert_contains "$binds" "$IT_TMP/data/" "Binds"
    assert_contains "$binds" "/$alloc_id/alloc:/alloc" "Binds"
    assert_contains "$binds" "/$alloc_id/t/local:/local" "Binds"
    assert_contains "$binds" "/$alloc_id/t/secrets:/secrets" "Binds"
    local mount
    for mount in /alloc /local /secrets; do
        assert_eq true "$(jq -r ".Mounts[] | select(.Destination == \"$mount\") | .RW" <<<"$inspect")" "mount $mount"
    done

    kill -TERM "$BERTH_PID"
    wait_berth 30
    assert_eq 143 "$BERTH_STATUS" "exit status after SIGTERM"
    assert_eq 0 "$(job_container_count "$IT_JOB")" "containers left"
    assert_eq "" "$(ls -A "$IT_TMP/data")" "allocation folders left"
}

test_run_example_serves_page() {
    sed "s/job \"webservice\"/job \"$IT_JOB\"/" examples/webservice.hcl >"$IT_TMP/job.hcl"
    start_berth run "$IT_TMP/job.hcl"
    wait_for 30 grep -q 'started; port http: 127.0.0.1:' "$IT_TMP/err"
    local address
    address=$(grep -o 'port http: 127.0.0.1:[0-9]*' "$IT_TMP/err" | head -n 1 | cut -d' ' -f3)
    local page=""
    local deadline=$((SECONDS + 15))
    until page=$(curl -sf --max-time 2 "http://$address/"); do
        [ "$SECONDS" -lt "$deadline" ] || fail "no page at http://$address/ within 15 s"
        sleep 0.1
    done
    assert_contains "$page" "Hello from berth" "page"
    kill -INT "$BERTH_PID"
    wait_berth 30
    assert_eq 130 "$BERTH_STATUS" "exit status after SIGINT"
    assert_eq 0 "$(job_container_count "$IT_JOB")" "containers left"
}

test_run_start_failure_leaves_nothing() {
    cat >"$IT_TMP/job.hcl" <<JOB
job "$IT_JOB" {
  datacenters = ["dc1"]
  group "g" {
    task "good" {
      driver = "docker"
      kill_timeout = "1s"
      config {
        image = "berth-test/busybox:1"
        command = "sleep"
        args = ["300"]
      }
    }
    task "bad" {
      driver = "docker"
      config {
        image = "berth-test/busybox:1"
        command = "/no/such/program"
      }
    }
  }
}
JOB
    local status=0
    timeout 60 "$BERTH_BIN" run "$IT_TMP/job.hcl" >"$IT_TMP/out" 2>"$IT_TMP/err" || status=$?
    assert_eq 1 "$status" "exit status"
    assert_contains "$(cat "$IT_TMP/err")" "task bad: start container bad-" "error"
    assert_contains "$(cat "$IT_TMP/err")" "/no/such/program" "error"
    assert_eq 0 "$(job_container_count "$IT_JOB")" "containers left"
}

test_run_missing_image_fails_cleanly() {
    write_job "$IT_TMP/job.hcl" '
      config {
        image = "127.0.0.1:1/berth/absent:1"
      }'
    local status=0
    timeout 60 "$BERTH_BIN" run "$IT_TMP/job.hcl" >"$IT_TMP/out" 2>"$IT_TMP/err" || status=$?
    assert_eq 1 "$status" "exit status"
    assert_contains "$(cat "$IT_TMP/err")" "pull 127.0.0.1:1/berth/absent:1" "error"
    assert_eq 0 "$(job_container_count "$IT_JOB")" "containers left"
}

test_run_sigterm_removes_every_container() {
    write_job "$IT_TMP/job.hcl" '
      kill_timeout = "2s"
      config {
        image = "berth-test/busybox:1"
        command = "sh"
        args = ["-c", "trap \"echo got TERM; exit 0\" TERM; echo ready; while true; do sleep 1; done"]
      }' 3
    start_berth run -data-dir "$IT_TMP/data" "$IT_TMP/job.hcl"
    wait_for 30 output_lines_equal '| ready$' "$IT_TMP/out" 3
    assert_eq 3 "$(job_container_count "$IT_JOB")" "containers while running"
    kill -TERM "$BERTH_PID"
    wait_berth 30
    assert_eq 143 "$BERTH_STATUS" "exit status"
    assert_eq 3 "$(grep -c '| got TERM$' "$IT_TMP/out")" "tasks that saw SIGTERM"
    assert_eq 0 "$(job_container_count "$IT_JOB")" "containers left"
    assert_eq "" "$(ls -A "$IT_TMP/data")" "allocation folders left"
}

test_run_writes_shared_alloc_dir() {
    cat >"$IT_TMP/job.hcl" <<JOB
job "$IT_JOB" {
  datacenters = ["dc1"]
  type = "batch"
  group "g" {
    task "t" {
      driver = "docker"
      config {
        image = "berth-test/busybox:1"
        command = "sh"
        args = ["-c", "echo shared > /alloc/data/f && cat /alloc/data/f && test -d /local && test -d /secrets && echo dirs-ok"]
      }
    }
  }
}
JOB
    local status=0
    timeout 60 "$BERTH_BIN" run "$IT_TMP/job.hcl" >"$IT_TMP/out" 2>"$IT_TMP/err" || status=$?
    assert_eq 0 "$status" "exit status"
    assert_contains "$(cat "$IT_TMP/out")" "| shared" "stdout"
    assert_contains "$(cat "$IT_TMP/out")" "| dirs-ok" "stdout"
}

test_run_sighup_removes_containers() {
    write_job "$IT_TMP/job.hcl" '
      kill_timeout = "1s"
      config {
        image = "berth-test/busybox:1"
        command = "sleep"
        args = ["300"]
      }' 2
    start_berth run "$IT_TMP/job.hcl"
    wait_for 30 output_lines_equal "started" "$IT_TMP/err" 2
    kill -HUP "$BERTH_PID"
    wait_berth 30
    assert_eq 129 "$BERTH_STATUS" "exit status after SIGHUP"
    assert_eq 0 "$(job_container_count "$IT_JOB")" "containers left"
}

test_run_second_interrupt_forces_stop() {
    # sleep as PID 1 ignores SIGTERM, so only the forced stop ends it
    # before the 60 s kill_timeout.
    write_job "$IT_TMP/job.hcl" '
      kill_timeout = "60s"
      config {
        image = "berth-test/busybox:1"
        command = "sleep"
        args = ["300"]
      }'
    start_berth run "$IT_TMP/job.hcl"
    wait_for 30 grep -q "started" "$IT_TMP/err"
    kill -INT "$BERTH_PID"
    wait_for 10 grep -q "press Ctrl-C again to stop at once" "$IT_TMP/err"
    assert_contains "$(cat "$IT_TMP/err")" "waiting up to 60s" "stop message"
    kill -INT "$BERTH_PID"
    wait_berth 20
    assert_eq 130 "$BERTH_STATUS" "exit status after two interrupts"
    assert_contains "$(cat "$IT_TMP/err")" "stopping at once" "forced stop message"
    assert_eq 0 "$(job_container_count "$IT_JOB")" "containers left"
}

test_run_survives_engine_restart() {
    if [ -z "${BERTH_TEST_DOCKERD_DIR:-}" ]; then
        echo "skipped: needs the private dockerd that run.sh starts"
        return 0
    fi
    write_job "$IT_TMP/job.hcl" '
      kill_timeout = "1s"
      config {
        image = "berth-test/busybox:1"
        command = "sh"
        args = ["-c", "i=0; while true; do echo tick-$i; i=$((i+1)); sleep 0.2; done"]
      }'
    start_berth run "$IT_TMP/job.hcl"
    wait_for 30 grep -q "| tick-3$" "$IT_TMP/out"
    local before
    before=$(job_containers "$IT_JOB")

    scripts/dockerd.sh stop "$BERTH_TEST_DOCKERD_DIR"
    it_cleanup "scripts/dockerd.sh start '$BERTH_TEST_DOCKERD_DIR'"
    wait_for 30 grep -q "lost contact with the engine" "$IT_TMP/err"
    kill -0 "$BERTH_PID" || fail "berth run exited during the engine outage: $(cat "$IT_TMP/err")"
    scripts/dockerd.sh start "$BERTH_TEST_DOCKERD_DIR" >/dev/null
    wait_for 30 grep -q "the engine is back" "$IT_TMP/err"
    assert_eq "$before" "$(job_containers "$IT_JOB")" "container after the engine restart"
    local ticks
    ticks=$(grep -c "| tick-" "$IT_TMP/out")
    wait_for 30 more_ticks_than "$ticks"

    kill -TERM "$BERTH_PID"
    wait_berth 30
    assert_eq 143 "$BERTH_STATUS" "exit status"
    assert_eq 0 "$(job_container_count "$IT_JOB")" "containers left"
}

more_ticks_than() {
    [ "$(grep -c "| tick-" "$IT_TMP/out")" -gt "$1" ]
}

test_run_stops_when_output_reader_exits() {
    write_job "$IT_TMP/job.hcl" '
      kill_timeout = "1s"
      config {
        image = "berth-test/busybox:1"
        command = "sh"
        args = ["-c", "i=0; while true; do echo line-$i; i=$((i+1)); sleep 0.05; done"]
      }'
    local status=0
    timeout 60 bash -c "set -o pipefail; '$BERTH_BIN' run '$IT_TMP/job.hcl' 2>'$IT_TMP/err' | head -n 3 >'$IT_TMP/out'" || status=$?
    assert_eq 141 "$status" "exit status of berth run (SIGPIPE convention)"
    assert_eq 3 "$(wc -l <"$IT_TMP/out")" "lines read"
    assert_eq 0 "$(job_container_count "$IT_JOB")" "containers left"
}
