#!/usr/bin/env bash
# The README's test command: installs missing packages, builds berth and
# runs every test (`make check`). Integration tests start a private Docker
# daemon unless BERTH_TEST_DOCKER_HOST names an engine to use.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
make -j"$(nproc)" all build/asan/berth
make -j"$(nproc)" check
