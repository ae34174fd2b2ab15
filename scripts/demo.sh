#!/usr/bin/env bash
# The README's first command: installs missing packages, builds berth,
# makes sure a Docker Engine answers (starting a private dockerd when none
# does), builds the example's image locally and runs the example job in the
# foreground. Press Ctrl-C to stop it; berth then removes its container, and
# this script stops the private dockerd if it started one.
#
#   scripts/demo.sh [JOBFILE]     (default: examples/webservice.hcl)
set -euo pipefail
cd "$(dirname "$0")/.."
# When the output goes through a pipe (`scripts/demo.sh | tee log`), Ctrl-C
# ends the reader too; a write to the dead pipe must not kill this script
# before it stops the private dockerd.
trap '' PIPE
job=${1:-examples/webservice.hcl}

scripts/deps.sh
make -j"$(nproc)" build/berth >/dev/null

engine_answers() {
    local host=$1
    case "$host" in
    unix://*) curl -sf --max-time 2 --unix-socket "${host#unix://}" http://localhost/_ping >/dev/null 2>&1 ;;
    tcp://*) curl -sf --max-time 2 "http://${host#tcp://}/_ping" >/dev/null 2>&1 ;;
    *) return 1 ;;
    esac
}

private_dir=""
if [ -n "${DOCKER_HOST:-}" ] && engine_answers "$DOCKER_HOST"; then
    echo "Using the Docker Engine at $DOCKER_HOST" >&2
elif engine_answers unix:///var/run/docker.sock; then
    export DOCKER_HOST=unix:///var/run/docker.sock
    echo "Using the Docker Engine at $DOCKER_HOST" >&2
else
    private_dir=/tmp/berth-demo-dockerd
    echo "No Docker Engine responds; starting a private dockerd in $private_dir" >&2
    DOCKER_HOST=$(scripts/dockerd.sh start "$private_dir")
    export DOCKER_HOST
fi

stop_private_daemon() {
    if [ -n "$private_dir" ]; then
        echo "Stopping the private dockerd" >&2 || true
        scripts/dockerd.sh remove "$private_dir" >/dev/null 2>&1 || true
    fi
}
trap stop_private_daemon EXIT

scripts/test-images.sh
echo "Running $job; fetch the page with curl at the 127.0.0.1 port printed below." >&2
echo "Press Ctrl-C to stop." >&2
status=0
build/berth run "$job" || status=$?
exit "$status"
