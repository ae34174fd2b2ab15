#!/usr/bin/env bash
# Starts or stops a private Docker daemon whose files all live in one folder.
#
#   scripts/dockerd.sh start DIR   prints the endpoint (unix://DIR/docker.sock)
#   scripts/dockerd.sh stop DIR    stops the daemon by the pid in DIR/docker.pid
#   scripts/dockerd.sh remove DIR  stops it, unmounts what it left and deletes DIR
#
# The daemon uses the docker0 bridge, so only one may run at a time on a
# machine (a second one would need its own --bridge).
set -euo pipefail

command=${1:-}
dir=${2:-}
if [ -z "$command" ] || [ -z "$dir" ]; then
    echo "usage: $0 start|stop|remove DIR" >&2
    exit 2
fi

socket="$dir/docker.sock"
pidfile="$dir/docker.pid"

ping_engine() {
    curl -sf --max-time 2 --unix-socket "$socket" http://localhost/_ping >/dev/null 2>&1
}

case "$command" in
start)
    mkdir -p "$dir"
    if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null && ping_engine; then
        echo "unix://$socket"
        exit 0
    fi
    # setsid keeps the daemon out of the caller's process group, so a
    # Ctrl-C in a test run does not kill it before the stop step.
    # --live-restore keeps containers running while the daemon is down, as
    # production engines are often set up; the agent's outage tests rely on
    # it.
    setsid dockerd --host "unix://$socket" --data-root "$dir/data" --exec-root "$dir/exec" \
        --pidfile "$pidfile" --log-level warn --live-restore >>"$dir/dockerd.log" 2>&1 </dev/null &
    for _ in $(seq 1 150); do
        if ping_engine; then
            echo "unix://$socket"
            exit 0
        fi
        sleep 0.2
    done
    echo "dockerd did not respond on $socket within 30 s; its log follows:" >&2
    tail -n 30 "$dir/dockerd.log" >&2 || true
    exit 1
    ;;
stop)
    if [ ! -f "$pidfile" ]; then
        exit 0
    fi
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        for _ in $(seq 1 150); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        if kill -0 "$pid" 2>/dev/null; then
            echo "dockerd $pid did not stop within 30 s; sending SIGKILL" >&2
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$pidfile"
    ;;
remove)
    "$0" stop "$dir"
    # dockerd leaves its data-root bind mount and the default network
    # namespace mounted (and, with --live-restore, the mounts of containers
    # still running). Unmount everything under DIR, deepest first, then
    # delete it.
    awk -v prefix="$dir/" 'index($2, prefix) == 1 { print $2 }' /proc/mounts | sort -r |
        while read -r mount_point; do
            umount "$mount_point" 2>/dev/null || umount -l "$mount_point" 2>/dev/null || true
        done
    rm -rf "$dir"
    ;;
*)
    echo "usage: $0 start|stop|remove DIR" >&2
    exit 2
    ;;
esac
