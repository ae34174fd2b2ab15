#!/usr/bin/env bash
# Starts or stops a second, private Docker daemon that listens on TCP with
# TLS client verification, for tests of docker.endpoint and docker.tls.*.
#
#   scripts/tls-dockerd.sh start DIR   prints the endpoint tcp://127.0.0.1:PORT
#   scripts/tls-dockerd.sh stop DIR    stops it by the pid in DIR/docker.pid
#
# DIR/certs receives a CA (ca.pem), the daemon's certificate and a client
# certificate (cert.pem, key.pem) signed by it.
#
# The daemon gets a bridge of its own (made here, removed at stop) and
# --iptables=false, so it leaves the docker0 bridge and the firewall rules
# of a daemon already running on this machine alone. --bridge none is not
# an option: a daemon started with it deletes any docker0 interface it
# finds (seen with Docker 20.10), which breaks the other daemon. Its
# exec root is a short folder under /tmp, because containerd's socket
# paths there must stay under the 108-byte unix socket limit.
set -euo pipefail

make_certs() {
    local certs=$1
    mkdir -p "$certs"
    (
        cd "$certs"
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=berth test CA" \
            -keyout ca-key.pem -out ca.pem
        openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
            -keyout server-key.pem -out server.csr
        printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >server.ext
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
            -days 2 -extfile server.ext -out server-cert.pem
        openssl req -newkey rsa:2048 -nodes -subj "/CN=berth test client" \
            -keyout key.pem -out client.csr
        printf 'extendedKeyUsage=clientAuth\n' >client.ext
        openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
            -days 2 -extfile client.ext -out cert.pem
    ) >/dev/null 2>&1
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Makes a bridge named bt<pid> on a 10.251.N.0/24 network no route uses
# yet, and records its name in DIR/bridge.
make_bridge() {
    local dir=$1 name=bt$$ n
    for n in $(shuf -i 1-254 -n 20); do
        if ! ip route | grep -q "^10\.251\.$n\."; then
            ip link add "$name" type bridge
            echo "$name" >"$dir/bridge"
            ip addr add "10.251.$n.1/24" dev "$name"
            ip link set "$name" up
            return 0
        fi
    done
    echo "no free 10.251.N.0/24 network for the daemon's bridge" >&2
    return 1
}

ping_engine() {
    curl -sf --max-time 2 --cacert "$1/certs/ca.pem" --cert "$1/certs/cert.pem" \
        --key "$1/certs/key.pem" "https://127.0.0.1:$2/_ping" >/dev/null 2>&1
}

start() {
    local dir=$1
    mkdir -p "$dir"
    make_certs "$dir/certs"
    local exec_root port
    exec_root=$(mktemp -d /tmp/btd.XXXXXX)
    echo "$exec_root" >"$dir/exec-root"
    port=$(free_port)
    make_bridge "$dir"
    setsid dockerd --host "tcp://127.0.0.1:$port" --tlsverify \
        --tlscacert "$dir/certs/ca.pem" --tlscert "$dir/certs/server-cert.pem" \
        --tlskey "$dir/certs/server-key.pem" --bridge "$(cat "$dir/bridge")" --iptables=false \
        --data-root "$dir/data" --exec-root "$exec_root" --pidfile "$dir/docker.pid" \
        --log-level warn >"$dir/dockerd.log" 2>&1 </dev/null &
    local deadline=$((SECONDS + 30))
    until ping_engine "$dir" "$port"; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "the TLS dockerd did not respond on port $port within 30 s; its log:" >&2
            tail -n 30 "$dir/dockerd.log" >&2 || true
            stop "$dir"
            exit 1
        fi
        sleep 0.2
    done
    echo "tcp://127.0.0.1:$port"
}

stop() {
    local dir=$1 pid
    if [ -f "$dir/docker.pid" ]; then
        pid=$(cat "$dir/docker.pid")
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid"
            local deadline=$((SECONDS + 30))
            while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
                sleep 0.2
            done
            kill -KILL "$pid" 2>/dev/null || true
        fi
        rm -f "$dir/docker.pid"
    fi
    if [ -f "$dir/exec-root" ]; then
        rm -rf "$(cat "$dir/exec-root")"
        rm -f "$dir/exec-root"
    fi
    if [ -f "$dir/bridge" ]; then
        ip link delete "$(cat "$dir/bridge")" 2>/dev/null || true
        rm -f "$dir/bridge"
    fi
    # The daemon's data root contains overlay mounts only while it runs; once
    # it has stopped the folder can go.
    rm -rf "$dir/data" 2>/dev/null || true
}

case "${1:-}" in
start) start "$2" ;;
stop) stop "$2" ;;
*) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
