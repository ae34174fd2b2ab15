#!/usr/bin/env bash
# Runs berth's integration tests against a real Docker Engine.
#
# The engine is the one at BERTH_TEST_DOCKER_HOST when that is set;
# otherwise this script starts a private dockerd under a temporary folder
# and stops it (by its pid) when the run ends. Test images are built
# locally by scripts/test-images.sh; nothing is pulled from the internet.
#
# Each test_* function in tests/integration/test_*.sh runs in its own
# subshell with a time limit. Pass names to run only some:
#   tests/integration/run.sh test_run_exit_code
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"

work=$(mktemp -d /tmp/berth-it.XXXXXX)
started_daemon=0
cleanup() {
    if [ "$started_daemon" -eq 1 ]; then
        # The daemon keeps containers running after it stops (live
        # restore), so remove any a failed test left before stopping it.
        local socket="$work/dockerd/docker.sock" id
        for id in $(curl -sf --unix-socket "$socket" "http://localhost/containers/json?all=1" | jq -r '.[].Id' 2>/dev/null); do
            echo "integration: removing leftover container $id" >&2
            curl -sf -X DELETE --unix-socket "$socket" "http://localhost/containers/$id?force=1" >/dev/null || true
        done
        scripts/dockerd.sh remove "$work/dockerd" || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -n "${BERTH_TEST_DOCKER_HOST:-}" ]; then
    export DOCKER_HOST=$BERTH_TEST_DOCKER_HOST
else
    if ! DOCKER_HOST=$(scripts/dockerd.sh start "$work/dockerd"); then
        echo "integration: could not start a private dockerd" >&2
        echo "integration: 0 passed, 1 failed"
        exit 1
    fi
    started_daemon=1
    export DOCKER_HOST
    # Tests that stop and restart the engine may do so only with this
    # run's own daemon.
    export BERTH_TEST_DOCKERD_DIR="$work/dockerd"
fi
export BERTH_TEST_WORK=$work
scripts/test-images.sh || { echo "integration: 0 passed, 1 failed"; exit 1; }

export BERTH_BIN=${BERTH_BIN:-$top/build/asan/berth}
# LeakSanitizer is checked by the unit tests; here the binary must simply
# not crash, and libcurl's global state at exit would add noise.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}

passed=0
failed=0
failed_names=()
selected=("$@")

for file in tests/integration/test_*.sh; do
    mapfile -t names < <(grep -oE '^test_[A-Za-z0-9_]+\(\)' "$file" | tr -d '()')
    for name in "${names[@]}"; do
        if [ "${#selected[@]}" -gt 0 ] && [[ " ${selected[*]} " != *" $name "* ]]; then
            continue
        fi
        log="$work/$name.log"
        start=$(date +%s)
        if timeout -k 10 180 bash -c "source tests/integration/lib.sh; source '$file'; it_run_test $name" >"$log" 2>&1; then
            passed=$((passed + 1))
            echo "ok   $name ($(($(date +%s) - start)) s)"
        else
            failed=$((failed + 1))
            failed_names+=("$name")
            echo "FAIL $name ($(($(date +%s) - start)) s)"
            sed "s/^/    /" "$log" | tail -n 40
        fi
    done
done

if [ "$failed" -gt 0 ]; then
    echo "failed: ${failed_names[*]}"
fi
echo "integration: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
