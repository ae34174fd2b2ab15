#!/usr/bin/env bash
# Starts or stops a private container registry for tests: Debian's
# docker-registry (the CNCF distribution registry) on 127.0.0.1, serving
# TLS with a self-signed certificate and requiring htpasswd logins.
#
#   scripts/registry.sh start DIR USER PASSWORD   prints the port
#   scripts/registry.sh stop DIR                  stops it by its pid
#
# DIR receives the certificate (DIR/cert.pem, also the CA a client trusts),
# the key, the htpasswd file, the config, the log and the pid. Nothing
# outside DIR is touched.
set -euo pipefail

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
    local dir=$1 user=$2 password=$3
    mkdir -p "$dir/storage"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
        -addext "subjectAltName=IP:127.0.0.1" \
        -keyout "$dir/key.pem" -out "$dir/cert.pem" >/dev/null 2>&1
    htpasswd -Bbn "$user" "$password" >"$dir/htpasswd"
    local port
    port=$(free_port)
    cat >"$dir/config.yml" <<CONFIG
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $dir/storage
http:
  addr: 127.0.0.1:$port
  tls:
    certificate: $dir/cert.pem
    key: $dir/key.pem
auth:
  htpasswd:
    realm: berth-test
    path: $dir/htpasswd
CONFIG
    docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
    echo $! >"$dir/registry.pid"
    local deadline=$((SECONDS + 20))
    # The registry replies to /v2/ with 401 until a client logs in; any HTTP
    # status means it is up.
    until curl -s -o /dev/null --cacert "$dir/cert.pem" "https://127.0.0.1:$port/v2/"; do
        if [ "$SECONDS" -ge "$deadline" ] || ! kill -0 "$(cat "$dir/registry.pid")" 2>/dev/null; then
            echo "registry did not start; its log:" >&2
            cat "$dir/registry.log" >&2
            stop "$dir"
            exit 1
        fi
        sleep 0.1
    done
    echo "$port"
}

stop() {
    local dir=$1 pid
    [ -f "$dir/registry.pid" ] || return 0
    pid=$(cat "$dir/registry.pid")
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 10))
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$dir/registry.pid"
}

case "${1:-}" in
start) start "$2" "$3" "$4" ;;
stop) stop "$2" ;;
*) echo "usage: $0 start DIR USER PASSWORD | stop DIR" >&2; exit 2 ;;
esac
