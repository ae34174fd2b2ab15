# Helpers for integration tests; sourced by run.sh into each test's shell.
#
# A test is a function test_NAME. It makes a scratch folder with it_tmpdir,
# registers anything it creates with it_cleanup, and fails through the
# assert_* helpers (which print what was expected and what was seen).

set -u

IT_CLEANUP=()
IT_TMP=""

it_cleanup() {
    IT_CLEANUP+=("$*")
}

it_finish() {
    local status=$?
    local i
    for ((i = ${#IT_CLEANUP[@]} - 1; i >= 0; i--)); do
        eval "${IT_CLEANUP[$i]}" >/dev/null 2>&1 || true
    done
    # Remove any container this test's jobs left, found by their job label,
    # and report each one, because a leftover is a bug the test should also
    # have caught.
    if [ -n "${IT_JOB:-}" ]; then
        local id
        for id in $(job_containers "$IT_JOB"); do
            echo "cleanup: removing leftover container $id" >&2
            api DELETE "/containers/$id?force=1" >/dev/null
        done
    fi
    [ -n "$IT_TMP" ] && rm -rf "$IT_TMP"
    exit "$status"
}

it_run_test() {
    trap it_finish EXIT
    IT_TMP=$(mktemp -d "$BERTH_TEST_WORK/$1.XXXXXX")
    # Job names are unique per test run so containers can be found by the
    # berth.job label berth puts on them.
    IT_JOB="it-${1#test_}-$$"
    IT_JOB=${IT_JOB//_/-}
    set -e
    "$1"
}

urlencode() {
    jq -rn --arg v "$1" '$v|@uri'
}

# api METHOD PATH [BODY]: one Engine API call; prints the reply body.
api() {
    local method=$1 path=$2 body=${3:-}
    local target
    case "$DOCKER_HOST" in
    unix://*) target=(--unix-socket "${DOCKER_HOST#unix://}" "http://localhost$path") ;;
    tcp://*) target=("http://${DOCKER_HOST#tcp://}$path") ;;
    esac
    if [ -n "$body" ]; then
        curl -sS -X "$method" -H 'Content-Type: application/json' -d "$body" "${target[@]}"
    else
        curl -sS -X "$method" "${target[@]}"
    fi
}

# Lists ids of all containers (running or not) whose name starts with prefix.
containers_named() {
    api GET "/containers/json?all=1" | jq -r --arg p "/$1" '.[] | select(any(.Names[]; startswith($p))) | .Id'
}

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

assert_eq() {
    local expected=$1 actual=$2 what=${3:-value}
    if [ "$expected" != "$actual" ]; then
        fail "$what: expected [$expected], got [$actual]"
    fi
}

assert_contains() {
    local haystack=$1 needle=$2 what=${3:-output}
    if [[ "$haystack" != *"$needle"* ]]; then
        fail "$what does not contain [$needle]; it is: $haystack"
    fi
}

assert_not_contains() {
    local haystack=$1 needle=$2 what=${3:-output}
    if [[ "$haystack" == *"$needle"* ]]; then
        fail "$what contains [$needle]; it is: $haystack"
    fi
}

# wait_for SECONDS COMMAND...: polls the command every 0.1 s until it
# succeeds, failing the test when the bound passes.
wait_for() {
    local seconds=$1
    shift
    local deadline=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            if [ -f "$IT_TMP/err" ]; then
                echo "berth's stderr so far:" >&2
                tail -n 20 "$IT_TMP/err" >&2
            fi
            fail "timed out after ${seconds}s waiting for: $*"
        fi
        sleep 0.1
    done
}

# Lists ids of all containers (running or not) that berth made for job.
job_containers() {
    api GET "/containers/json?all=1&filters=$(urlencode "{\"label\":[\"berth.job=$1\"]}")" | jq -r '.[].Id'
}

job_container_count() {
    job_containers "$1" | grep -c . || true
}

# start_berth ARGS...: runs berth in the background with output in
# $IT_TMP/out and $IT_TMP/err; BERTH_PID is its pid. The test's cleanup
# kills it if it is still running.
start_berth() {
    "$BERTH_BIN" "$@" >"$IT_TMP/out" 2>"$IT_TMP/err" &
    BERTH_PID=$!
    it_cleanup "kill -KILL $BERTH_PID"
}

# wait_berth SECONDS: waits for the background berth to exit and sets
# BERTH_STATUS to its exit status.
wait_berth() {
    local seconds=$1
    local deadline=$((SECONDS + seconds))
    while kill -0 "$BERTH_PID" 2>/dev/null; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            cat "$IT_TMP/err" >&2
            fail "berth did not exit within ${seconds}s"
        fi
        sleep 0.1
    done
    BERTH_STATUS=0
    wait "$BERTH_PID" || BERTH_STATUS=$?
}

# running_container JOB: prints the id of the job's first running
# container, failing when there is none.
job_has_running_container() {
    [ -n "$(api GET "/containers/json?filters=$(urlencode "{\"label\":[\"berth.job=$1\"]}")" | jq -r '.[0].Id // empty')" ]
}

first_running_container() {
    api GET "/containers/json?filters=$(urlencode "{\"label\":[\"berth.job=$1\"]}")" | jq -r '.[0].Id // empty'
}

# write_job FILE TASK_CONFIG_AND_RESOURCES: writes a one-group, one-task
# job named $IT_JOB whose task body is the second argument.
write_job() {
    local file=$1 body=$2 count=${3:-1}
    cat >"$file" <<JOB
job "$IT_JOB" {
  datacenters = ["dc1"]
  type = "batch"
  group "g" {
    count = $count
    task "t" {
      driver = "${DRIVER:-docker}"
$body
    }
  }
}
JOB
}

# output_lines_equal PATTERN FILE COUNT: true when FILE has COUNT lines
# matching the grep pattern; for polling with wait_for.
output_lines_equal() {
    [ "$(grep -c -- "$1" "$2")" -eq "$3" ]
}

# job_has_no_containers JOB: true once no container of the job is left;
# for polling with wait_for.
job_has_no_containers() {
    [ "$(job_container_count "$1")" -eq 0 ]
}

# Prints a TCP port on 127.0.0.1 that nothing listens on now. The range
# 10000-19999 is below berth's dynamic task ports (20000-31999) and the
# kernel's ephemeral ports (32768 and up), where an outgoing connection may
# hold a port without listening on it.
free_port() {
    local port
    for _ in $(seq 1 200); do
        port=$((10000 + RANDOM % 10000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    fail "no free port found"
}
