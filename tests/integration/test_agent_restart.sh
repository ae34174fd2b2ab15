# The agent loses nothing: killed with SIGKILL while tasks run, or cut off
# from a restarting engine, it re-attaches to the same containers and their
# logs continue with no line missing or written twice.

# restart_agent_start DATA_DIR PORT: starts an agent in the background;
# AGENT_PID is its pid and the test's cleanup kills it.
restart_agent_start() {
    cat >"$IT_TMP/agent.hcl" <<AGENT
data_dir  = "$1"
bind_addr = "127.0.0.1"
ports {
  http = $2
}
AGENT
    "$BERTH_BIN" agent -config "$IT_TMP/agent.hcl" -log-level debug >>"$IT_TMP/agent.log" 2>&1 &
    AGENT_PID=$!
    it_cleanup "kill -KILL $AGENT_PID"
    wait_for 30 curl -sf "http://127.0.0.1:$2/v1/agent/self"
}

running_alloc_count() {
    curl -sf "http://127.0.0.1:$1/v1/job/$2/allocations" |
        jq '[.[] | select(.ClientStatus == "running")] | length'
}

alloc_count_is() {
    [ "$(running_alloc_count "$1" "$2")" = "$3" ]
}

# Checks that a log contains line-0, line-1, ... with none missing or
# twice, and prints how many lines it contains.
numbered_lines() {
    awk -v file="$1" '
        $0 != "line-" NR - 1 { printf "%s: line %d is [%s], expected [line-%d]\n", file, NR, $0, NR - 1 > "/dev/stderr"; bad = 1; exit 1 }
        END { if (!bad) print NR }' "$1"
}

# every_log_has_at_least DATA_DIR N: each allocation's stdout log has at
# least N consecutive numbered lines.
every_log_has_at_least() {
    local file count
    for file in "$1"/alloc/*/alloc/logs/t.stdout.0; do
        count=$(numbered_lines "$file") || return 1
        [ "$count" -ge "$2" ] || return 1
    done
}

write_counting_job() {
    cat >"$IT_TMP/job.hcl" <<JOB
job "$IT_JOB" {
  datacenters = ["dc1"]
  group "g" {
    count = $1
    task "t" {
      driver = "docker"
      kill_timeout = "1s"
      config {
        image = "berth-test/busybox:1"
        command = "sh"
        args = ["-c", "i=0; while true; do echo line-\$i; i=\$((i+1)); sleep 0.1; done"]
      }
      resources {
        memory = 32
      }
    }
  }
}
JOB
}

sorted_container_ids() {
    job_containers "$IT_JOB" | sort | tr '\n' ' '
}

test_agent_sigkill_reattaches_ten_tasks() {
    local port data
    port=$(free_port)
    data="$IT_TMP/data"
    restart_agent_start "$data" "$port"
    write_counting_job 10
    "$BERTH_BIN" job run -address "http://127.0.0.1:$port" "$IT_TMP/job.hcl" >"$IT_TMP/run.out"
    wait_for 90 alloc_count_is "$port" "$IT_JOB" 10
    wait_for 30 every_log_has_at_least "$data" 5

    local before
    before=$(sorted_container_ids)
    assert_eq 10 "$(wc -w <<<"$before")" "containers before the kill"
    kill -KILL "$AGENT_PID"
    wait "$AGENT_PID" 2>/dev/null || true

    # The containers run on without the agent; their logs are in the engine.
    assert_eq "$before" "$(sorted_container_ids)" "containers while the agent is down"
    local file counts_at_kill=()
    for file in "$data"/alloc/*/alloc/logs/t.stdout.0; do
        counts_at_kill+=("$(numbered_lines "$file")")
    done

    restart_agent_start "$data" "$port"
    wait_for 30 alloc_count_is "$port" "$IT_JOB" 10
    local target=$((counts_at_kill[0] + 20))
    wait_for 60 every_log_has_at_least "$data" "$target"
    assert_eq "$before" "$(sorted_container_ids)" "containers after the restart"
    local alloc_ids
    alloc_ids=$(curl -sf "http://127.0.0.1:$port/v1/job/$IT_JOB/allocations" | jq -r '.[].ID')
    local alloc_id started
    for alloc_id in $alloc_ids; do
        started=$(curl -sf "http://127.0.0.1:$port/v1/allocation/$alloc_id" |
            jq '[.TaskStates.t.Events[] | select(.Type == "Started")] | length')
        assert_eq 1 "$started" "Started events of $alloc_id"
    done

    "$BERTH_BIN" job stop -address "http://127.0.0.1:$port" "$IT_JOB" >/dev/null
    wait_for 60 job_has_no_containers "$IT_JOB"
    kill -TERM "$AGENT_PID"
}

engine_healthy_is() {
    [ "$(curl -sf "http://127.0.0.1:$1/v1/nodes" | jq -r '.[0].Drivers.docker.Healthy')" = "$2" ]
}

test_agent_survives_engine_restart() {
    if [ -z "${BERTH_TEST_DOCKERD_DIR:-}" ]; then
        echo "skipped: needs the private dockerd that run.sh starts"
        return 0
    fi
    local port data
    port=$(free_port)
    data="$IT_TMP/data"
    restart_agent_start "$data" "$port"
    write_counting_job 2
    "$BERTH_BIN" job run -address "http://127.0.0.1:$port" "$IT_TMP/job.hcl" >"$IT_TMP/run.out"
    wait_for 60 alloc_count_is "$port" "$IT_JOB" 2
    wait_for 30 every_log_has_at_least "$data" 5
    wait_for 30 engine_healthy_is "$port" true
    local before
    before=$(sorted_container_ids)

    scripts/dockerd.sh stop "$BERTH_TEST_DOCKERD_DIR"
    it_cleanup "scripts/dockerd.sh start '$BERTH_TEST_DOCKERD_DIR'"
    wait_for 30 engine_healthy_is "$port" false
    assert_eq 2 "$(running_alloc_count "$port" "$IT_JOB")" "allocations during the outage"
    scripts/dockerd.sh start "$BERTH_TEST_DOCKERD_DIR" >/dev/null
    wait_for 30 engine_healthy_is "$port" true

    local file count
    for file in "$data"/alloc/*/alloc/logs/t.stdout.0; do
        count=$(numbered_lines "$file")
        wait_for 60 every_log_has_at_least "$data" $((count + 20))
    done
    assert_eq "$before" "$(sorted_container_ids)" "containers after the engine restart"
    assert_eq 2 "$(running_alloc_count "$port" "$IT_JOB")" "allocations after the outage"

    "$BERTH_BIN" job stop -address "http://127.0.0.1:$port" "$IT_JOB" >/dev/null
    wait_for 60 job_has_no_containers "$IT_JOB"
    kill -TERM "$AGENT_PID"
}

test_agent_finishes_stop_after_restart() {
    local port data
    port=$(free_port)
    data="$IT_TMP/data"
    restart_agent_start "$data" "$port"
    # sleep as PID 1 ignores SIGTERM, so the stop takes the whole
    # kill_timeout and the agent exits in the middle of it.
    cat >"$IT_TMP/job.hcl" <<JOB
job "$IT_JOB" {
  datacenters = ["dc1"]
  group "g" {
    task "t" {
      driver = "docker"
      kill_timeout = "4s"
      config {
        image = "berth-test/busybox:1"
        command = "sleep"
        args = ["300"]
      }
    }
  }
}
JOB
    "$BERTH_BIN" job run -address "http://127.0.0.1:$port" "$IT_TMP/job.hcl" >"$IT_TMP/run.out"
    wait_for 60 alloc_count_is "$port" "$IT_JOB" 1
    "$BERTH_BIN" job stop -address "http://127.0.0.1:$port" "$IT_JOB" >/dev/null
    kill -TERM "$AGENT_PID"
    wait "$AGENT_PID" 2>/dev/null || true
    assert_eq 1 "$(job_container_count "$IT_JOB")" "containers right after the agent exits"

    restart_agent_start "$data" "$port"
    wait_for 60 job_has_no_containers "$IT_JOB"
    local alloc_id
    alloc_id=$(curl -sf "http://127.0.0.1:$port/v1/job/$IT_JOB/allocations" | jq -r '.[0].ID')
    assert_eq dead "$(curl -sf "http://127.0.0.1:$port/v1/allocation/$alloc_id" | jq -r .TaskStates.t.State)" "task state"
    kill -TERM "$AGENT_PID"
}
