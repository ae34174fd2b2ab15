#!/usr/bin/env bash
# Installs the Debian 12 packages berth needs to build and test, skipping
# what is already installed. Needs root (or sudo) only when something is
# missing.
set -euo pipefail

packages=(
    build-essential pkg-config clang
    libcurl4-openssl-dev libjansson-dev libsqlite3-dev libmicrohttpd-dev libcmocka-dev
    docker.io busybox-static curl ca-certificates openssl file jq python3
    docker-registry apache2-utils
)

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$package")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi

echo "Installing: ${missing[*]}" >&2
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
    sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
