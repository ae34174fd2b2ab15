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
    # Remove any container this test's job files made, found by label.
    if [ -n "${IT_JOB_LABEL:-}" ]; then
        local id
        for id in $(api GET "/containers/json?all=1&filters=$(urlencode "{\"label\":[\"berth.test=$IT_JOB_LABEL\"]}")" | jq -r '.[].Id'); do
            api DELETE "/containers/$id?force=1" >/dev/null
        done
    fi
    [ -n "$IT_TMP" ] && rm -rf "$IT_TMP"
    exit "$status"
}

it_run_test() {
    trap it_finish EXIT
    IT_TMP=$(mktemp -d "$BERTH_TEST_WORK/$1.XXXXXX")
    IT_JOB_LABEL="$1-$$"
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
            fail "timed out after ${seconds}s waiting for: $*"
        fi
        sleep 0.1
    done
}
