# berth agent and the CLI commands on its HTTP API against the real
# engine: a job's whole life through the CLI, and bad input on every
# route, which gets a 4xx while the agent keeps running.

# start_agent: starts berth agent with a private data_dir on a free port
# and waits until its API replies; sets AGENT_ADDR.
start_agent() {
    local port
    port=$(free_port)
    cat >"$IT_TMP/agent.hcl" <<AGENT
data_dir  = "$IT_TMP/data"
bind_addr = "127.0.0.1"
ports {
  http = $port
}
client {
  meta {
    rack = "r1"
  }
}
AGENT
    start_berth agent -config "$IT_TMP/agent.hcl" -log-level debug
    AGENT_ADDR="http://127.0.0.1:$port"
    export BERTH_ADDR=$AGENT_ADDR
    wait_for 30 curl -sf "$AGENT_ADDR/v1/agent/self"
}

# stop_agent: stops the agent by its pid and checks that it exits 0.
stop_agent() {
    kill -TERM "$BERTH_PID"
    wait_berth 30
    assert_eq 0 "$BERTH_STATUS" "agent exit status"
}

agent_alive() {
    kill -0 "$BERTH_PID" 2>/dev/null || fail "the agent exited; its stderr: $(tail -n 20 "$IT_TMP/err")"
}

# http METHOD PATH [CURL ARGS...]: prints "STATUS BODY" for one request.
http() {
    local method=$1 path=$2
    shift 2
    curl -sS -o "$IT_TMP/body" -w '%{http_code}' -X "$method" "$@" "$AGENT_ADDR$path" >"$IT_TMP/status"
    echo "$(cat "$IT_TMP/status") $(cat "$IT_TMP/body")"
}

# expect_reply METHOD PATH STATUS TEXT [CURL ARGS...]
expect_reply() {
    local method=$1 path=$2 status=$3 text=$4
    shift 4
    local reply
    reply=$(http "$method" "$path" "$@")
    assert_eq "$status" "${reply%% *}" "status of $method $path"
    assert_contains "$reply" "$text" "reply to $method $path"
    agent_alive
}

alloc_status_is() {
    "$BERTH_BIN" alloc status "$1" | grep -q "Client Status *= $2"
}

test_agent_api_job_lifecycle() {
    start_agent
    write_job "$IT_TMP/job.hcl" '
      kill_timeout = "1s"
      config {
        image = "berth-test/busybox:1"
        command = "sh"
        args = ["-c", "echo hello from ${NOMAD_TASK_NAME}; echo oops >&2; exec sleep 300"]
      }'
    sed -i 's/type = "batch"/type = "service"/' "$IT_TMP/job.hcl"

    local out
    out=$("$BERTH_BIN" job run "$IT_TMP/job.hcl")
    assert_contains "$out" "Job \"$IT_JOB\" registered" "job run output"
    assert_contains "$out" "Allocation \"" "job run output"

    out=$("$BERTH_BIN" job status)
    assert_contains "$out" "$IT_JOB" "job list"

    local alloc_id
    alloc_id=$(curl -sf "$AGENT_ADDR/v1/job/$IT_JOB/allocations" | jq -r '.[0].ID')
    [ -n "$alloc_id" ] && [ "$alloc_id" != null ] || fail "no allocation for $IT_JOB"
    wait_for 60 alloc_status_is "${alloc_id:0:8}" running

    out=$("$BERTH_BIN" job status "$IT_JOB")
    assert_contains "$out" "ID            = $IT_JOB" "job status"
    assert_contains "$out" "${alloc_id:0:8}" "job status allocations"

    out=$("$BERTH_BIN" alloc status "${alloc_id:0:8}")
    assert_contains "$out" "ID                  = $alloc_id" "alloc status"
    assert_contains "$out" 'Task "t" is "running"' "alloc status"
    assert_contains "$out" "Started" "alloc status events"
    assert_contains "$out" "Recent Events:" "alloc status events"

    wait_for 30 bash -c "'$BERTH_BIN' alloc logs '$alloc_id' t | grep -q 'hello from t'"
    out=$("$BERTH_BIN" alloc logs "$alloc_id" t)
    assert_eq "hello from t" "$out" "alloc logs"
    out=$("$BERTH_BIN" alloc logs -stderr "$alloc_id" t 2>&1)
    assert_eq "oops" "$out" "alloc logs -stderr"

    # A follower stays open while the task runs and ends when it stops.
    "$BERTH_BIN" alloc logs -f "$alloc_id" t >"$IT_TMP/follow" 2>&1 &
    local follower=$!
    it_cleanup "kill -KILL $follower"
    wait_for 30 grep -q "hello from t" "$IT_TMP/follow"
    kill -0 "$follower" || fail "alloc logs -f ended while the task runs"

    out=$("$BERTH_BIN" node status)
    assert_contains "$out" "healthy" "node status"

    out=$("$BERTH_BIN" job stop "$IT_JOB")
    assert_contains "$out" "Job \"$IT_JOB\" stopped" "job stop output"
    wait_for 30 bash -c "! kill -0 $follower 2>/dev/null"
    assert_contains "$(cat "$IT_TMP/follow")" "hello from t" "followed logs"
    wait_for 30 alloc_status_is "${alloc_id:0:8}" complete
    [ -z "$(first_running_container "$IT_JOB")" ] || fail "a container still runs after job stop"
    wait_for 30 job_has_no_containers "$IT_JOB"

    stop_agent
}

test_agent_api_job_id_with_slash() {
    # Cleanup finds leftover containers by this label, so the odd ID is
    # the test's job name itself.
    IT_JOB="team/$IT_JOB with space"
    start_agent
    write_job "$IT_TMP/job.hcl" '
      kill_timeout = "1s"
      config {
        image = "berth-test/busybox:1"
        command = "sleep"
        args = ["300"]
      }'
    sed -i 's/type = "batch"/type = "service"/' "$IT_TMP/job.hcl"

    local out
    out=$("$BERTH_BIN" job run "$IT_TMP/job.hcl")
    assert_contains "$out" "Job \"$IT_JOB\" registered" "job run output"
    out=$("$BERTH_BIN" job status "$IT_JOB")
    assert_contains "$out" "ID            = $IT_JOB" "job status"
    expect_reply GET "/v1/job/$(urlencode "$IT_JOB")" 200 "\"ID\":\"$IT_JOB\""
    expect_reply HEAD /v1/jobs 200 "" --head
    local alloc_id
    alloc_id=$(curl -sf "$AGENT_ADDR/v1/job/$(urlencode "$IT_JOB")/allocations" | jq -r '.[0].ID')
    [ -n "$alloc_id" ] && [ "$alloc_id" != null ] || fail "no allocation for $IT_JOB"
    wait_for 60 alloc_status_is "${alloc_id:0:8}" running
    out=$("$BERTH_BIN" job stop "$IT_JOB")
    assert_contains "$out" "Job \"$IT_JOB\" stopped" "job stop output"
    wait_for 60 job_has_no_containers "$IT_JOB"
    stop_agent
}

test_agent_api_unreachable_agent() {
    local port status=0 out
    port=$(free_port)
    out=$("$BERTH_BIN" job status -address "http://127.0.0.1:$port" 2>&1) || status=$?
    assert_eq 1 "$status" "exit status"
    assert_contains "$out" "cannot reach the berth agent at http://127.0.0.1:$port" "error"
}

test_agent_api_bad_input() {
    start_agent
    local json=(-H 'Content-Type: application/json')

    # Register: malformed JSON, wrong types, a job the agent rejects.
    expect_reply PUT /v1/jobs 400 "invalid JSON in request body" "${json[@]}" -d '{"Job": {'
    expect_reply POST /v1/jobs 400 "invalid JSON" "${json[@]}" -d 'nonsense'
    expect_reply PUT /v1/jobs 400 "request body is empty" "${json[@]}"
    expect_reply PUT /v1/jobs 400 "must be a JSON object" "${json[@]}" -d '[1, 2]'
    expect_reply PUT /v1/jobs 400 "has no \"Job\" object" "${json[@]}" -d '{"job": {}}'
    expect_reply PUT /v1/jobs 400 "\"Job\" must be a JSON object, not a string" "${json[@]}" -d '{"Job": "web"}'
    local reply
    reply=$(http PUT /v1/jobs "${json[@]}" -d '{"Job": {"ID": 5, "TaskGroups": "none"}}')
    assert_eq 400 "${reply%% *}" "status of a job with wrong field types"
    agent_alive
    reply=$(http PUT /v1/jobs "${json[@]}" -d '{"Job": {"ID": "x", "TaskGroups": [{"Name": "g", "Count": "two"}]}}')
    assert_eq 400 "${reply%% *}" "status of a group with a string count"
    agent_alive

    # Oversized bodies, with and without a declared length.
    head -c $((4 * 1024 * 1024 + 1)) /dev/zero | tr '\0' ' ' >"$IT_TMP/big.json"
    expect_reply PUT /v1/jobs 413 "larger than the limit" "${json[@]}" --data-binary "@$IT_TMP/big.json"
    expect_reply PUT /v1/jobs 413 "larger than the limit" "${json[@]}" -H 'Transfer-Encoding: chunked' --data-binary "@$IT_TMP/big.json"
    expect_reply GET /v1/nodes 413 "larger than the limit" -H 'Transfer-Encoding: chunked' --data-binary "@$IT_TMP/big.json"

    # Unknown objects and routes, wrong methods.
    expect_reply GET /v1/job/no-such-job 404 "not found"
    expect_reply DELETE /v1/job/no-such-job 404 "not found"
    expect_reply GET /v1/job/no-such-job/allocations 404 "not found"
    expect_reply GET /v1/allocation/no-such-alloc 404 "not found"
    expect_reply GET /v1/client/allocation/no-such-alloc/stats 404 "not found"
    expect_reply GET "/v1/client/fs/logs/no-such-alloc?task=t&type=stdout" 404 "not found"
    expect_reply GET /v1/no-such-route 404 "unknown API path"
    expect_reply GET /v1/job/x/versions 404 "unknown API path"
    expect_reply DELETE /v1/jobs 405 "is not allowed"
    expect_reply POST /v1/job/x 405 "is not allowed"
    expect_reply PUT /v1/job/x/allocations 405 "is not allowed"
    expect_reply DELETE /v1/allocation/x 405 "is not allowed"
    expect_reply POST /v1/client/allocation/x/stats 405 "is not allowed"
    expect_reply PUT /v1/client/fs/logs/x 405 "is not allowed"
    expect_reply POST /v1/agent/self 405 "is not allowed"
    expect_reply PUT /v1/nodes 405 "is not allowed"

    # Log query parameters of the wrong type.
    expect_reply GET "/v1/client/fs/logs/x?type=stdout" 400 "missing query parameter \"task\""
    expect_reply GET "/v1/client/fs/logs/x?task=t&type=stdin" 400 "use stdout or stderr"
    expect_reply GET "/v1/client/fs/logs/x?task=t&type=stdout&follow=perhaps" 400 "use true or false"
    expect_reply GET "/v1/client/fs/logs/x?task=t&type=stdout&offset=-5" 400 "\"offset\""
    expect_reply GET "/v1/client/fs/logs/x?task=t&type=stdout&origin=middle" 400 "use start or end"

    # The CLI shows the server's reason for a 4xx.
    echo '{"Job": "web"}' >"$IT_TMP/bad.json"
    local status=0 out
    out=$("$BERTH_BIN" job run "$IT_TMP/bad.json" 2>&1) || status=$?
    assert_eq 1 "$status" "job run exit status"
    assert_contains "$out" "\"Job\" must be a JSON object, not a string" "job run error"
    out=$("$BERTH_BIN" job stop no-such-job 2>&1) || true
    assert_contains "$out" "not found" "job stop error"

    # Still serving after all of it.
    expect_reply GET /v1/nodes 200 '"Status":"ready"'
    expect_reply GET /v1/jobs 200 '['
    stop_agent
}

test_agent_api_example_page_address() {
    start_agent
    sed "s/job \"webservice\"/job \"$IT_JOB\"/" examples/webservice.hcl >"$IT_TMP/job.hcl"
    "$BERTH_BIN" job run "$IT_TMP/job.hcl" >/dev/null
    local alloc_id
    alloc_id=$(curl -sf "$AGENT_ADDR/v1/job/$IT_JOB/allocations" | jq -r '.[0].ID')
    wait_for 60 alloc_status_is "${alloc_id:0:8}" running

    local out address page=""
    out=$("$BERTH_BIN" alloc status "${alloc_id:0:8}")
    address=$(grep -oE 'http: 127\.0\.0\.1:[0-9]+' <<<"$out" | cut -d' ' -f2)
    [ -n "$address" ] || fail "alloc status shows no http address: $out"
    local deadline=$((SECONDS + 15))
    until page=$(curl -sf --max-time 2 "http://$address/"); do
        [ "$SECONDS" -lt "$deadline" ] || fail "no page at http://$address/ within 15 s"
        sleep 0.1
    done
    assert_contains "$page" "Hello from berth" "page"

    "$BERTH_BIN" job stop "$IT_JOB" >/dev/null
    wait_for 60 job_has_no_containers "$IT_JOB"
    stop_agent
}
