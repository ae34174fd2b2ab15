#!/usr/bin/env bash
# Runs each cmocka test binary given as an argument, each in its own process
# with a time limit, and prints one closing "N passed, N failed" line.
set -u
passed=0
failed=0
for binary in "$@"; do
    if timeout 120 "$binary"; then
        passed=$((passed + 1))
    else
        echo "FAILED: $binary" >&2
        failed=$((failed + 1))
    fi
done
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
