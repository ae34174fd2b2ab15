#!/usr/bin/env bash
# Builds berth's small test images into the engine at DOCKER_HOST (default
# unix:///var/run/docker.sock) without any registry: a root filesystem of
# busybox-static and its applet links is imported as an image, as
# `docker import` does.
#
#   berth-test/busybox:1   sh, echo, sleep, cat, env, httpd, nc, id, ...
#   berth-test/web:1       the same, plus /www/index.html, serving on 8080
set -euo pipefail

host=${DOCKER_HOST:-unix:///var/run/docker.sock}
case "$host" in
unix://*) curl_target=(--unix-socket "${host#unix://}" http://localhost) ;;
tcp://*) curl_target=("http://${host#tcp://}") ;;
*) echo "unsupported DOCKER_HOST: $host" >&2; exit 2 ;;
esac

busybox=$(command -v busybox || true)
if [ -z "$busybox" ] || ! file -L "$busybox" 2>/dev/null | grep -q 'statically linked'; then
    busybox=/bin/busybox
fi

image_exists() {
    curl -sf "${curl_target[@]}/images/$1/json" >/dev/null 2>&1
}

import_rootfs() {
    local rootfs=$1 repo=$2 tag=$3 cmd=$4
    local reply
    reply=$(tar -C "$rootfs" -c . | curl -sS -X POST -H 'Content-Type: application/x-tar' \
        --data-binary @- "${curl_target[@]}/images/create?fromSrc=-&repo=$repo&tag=$tag&changes=$cmd")
    if ! grep -q '"status":"sha256:' <<<"$reply"; then
        echo "importing $repo:$tag failed: $reply" >&2
        exit 1
    fi
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

make_rootfs() {
    local rootfs=$1
    mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp" "$rootfs/www"
    cp "$busybox" "$rootfs/bin/busybox"
    for applet in sh echo sleep cat env httpd nc id hostname ls printf true false kill \
        wget ps grep test mkdir rm touch head tail wc seq date uname dd; do
        ln -sf busybox "$rootfs/bin/$applet"
    done
    echo 'root:x:0:0:root:/:/bin/sh' >"$rootfs/etc/passwd"
    echo 'root:x:0:' >"$rootfs/etc/group"
}

if ! image_exists berth-test/busybox:1; then
    make_rootfs "$work/busybox"
    # changes= sets the image's CMD, URL-encoded: CMD ["sh"]
    import_rootfs "$work/busybox" berth-test/busybox 1 'CMD%20%5B%22sh%22%5D'
fi

if ! image_exists berth-test/web:1; then
    make_rootfs "$work/web"
    printf '<html><body><h1>Hello from berth</h1></body></html>\n' >"$work/web/www/index.html"
    import_rootfs "$work/web" berth-test/web 1 \
        'CMD%20%5B%22httpd%22%2C%22-f%22%2C%22-v%22%2C%22-p%22%2C%228080%22%2C%22-h%22%2C%22%2Fwww%22%5D'
fi
