#!/usr/bin/env bash
# Measures how long berth takes to run N short containers to completion,
# against two peers in the same run on the same engine:
#   - the docker CLI: N `docker run --rm IMAGE true` started in parallel;
#   - raw Engine API calls with curl: create, start, wait and delete, N in
#     parallel.
# berth runs one batch job with count = N and the same command. Each
# measurement is repeated ROUNDS times and the median is kept; the result
# is the ratio berth / peer (lower is better).
#
#   DOCKER_HOST=unix:///path/docker.sock bench/start-containers.sh [N] [ROUNDS]
#
# Needs the test images (scripts/test-images.sh) and build/berth.
set -euo pipefail
cd "$(dirname "$0")/.."

count=${1:-10}
rounds=${2:-5}
host=${DOCKER_HOST:-unix:///var/run/docker.sock}
socket=${host#unix://}
image=berth-test/busybox:1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

now_ms() { date +%s%3N; }

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

run_docker_cli() {
    seq "$count" | xargs -P "$count" -I{} docker run --rm "$image" true >/dev/null
}

run_raw_api() {
    one() {
        local id
        id=$(curl -sf --unix-socket "$socket" -H 'Content-Type: application/json' \
            -d "{\"Image\":\"$image\",\"Cmd\":[\"true\"]}" http://localhost/containers/create | jq -r .Id)
        curl -sf --unix-socket "$socket" -X POST "http://localhost/containers/$id/start" >/dev/null
        curl -sf --unix-socket "$socket" -X POST "http://localhost/containers/$id/wait" >/dev/null
        curl -sf --unix-socket "$socket" -X DELETE "http://localhost/containers/$id?force=1" >/dev/null
    }
    export -f one
    export socket image
    seq "$count" | xargs -P "$count" -I{} bash -c one
}

cat >"$work/job.hcl" <<JOB
job "bench-start" {
  datacenters = ["dc1"]
  type = "batch"
  group "g" {
    count = $count
    task "t" {
      driver = "docker"
      config {
        image = "$image"
        command = "true"
      }
      resources {
        memory = 32
      }
    }
  }
}
JOB

run_berth() {
    build/berth run -data-dir "$work" "$work/job.hcl" >/dev/null 2>&1
}

measure() {
    local name=$1
    for _ in $(seq "$rounds"); do
        local start
        start=$(now_ms)
        "$name"
        echo $(($(now_ms) - start))
    done | median
}

berth_ms=$(measure run_berth)
cli_ms=$(measure run_docker_cli)
api_ms=$(measure run_raw_api)
echo "containers: $count, rounds: $rounds, median wall time in ms"
echo "berth run:   $berth_ms"
echo "docker CLI:  $cli_ms"
echo "raw API:     $api_ms"
awk -v b="$berth_ms" -v c="$cli_ms" -v a="$api_ms" \
    'BEGIN { printf "berth / docker CLI = %.2f\nberth / raw API    = %.2f\n", b / c, b / a }'
