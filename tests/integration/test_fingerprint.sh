# berth fingerprint against the engine and against no engine.

test_fingerprint_reports_engine() {
    local status=0
    timeout 30 "$BERTH_BIN" fingerprint >"$IT_TMP/out" 2>"$IT_TMP/err" || status=$?
    assert_eq 0 "$status" "exit status (stderr: $(cat "$IT_TMP/err"))"
    assert_contains "$(cat "$IT_TMP/out")" "driver.docker = 1" "stdout"
    assert_contains "$(cat "$IT_TMP/out")" "driver.docker.version = " "stdout"
}

test_fingerprint_engine_down_unhealthy() {
    local status=0
    DOCKER_HOST="unix://$IT_TMP/no-engine.sock" timeout 30 "$BERTH_BIN" fingerprint \
        >"$IT_TMP/out" 2>"$IT_TMP/err" || status=$?
    assert_eq 1 "$status" "exit status"
    assert_contains "$(cat "$IT_TMP/err")" "docker driver unhealthy (not detected)" "stderr"
    assert_contains "$(cat "$IT_TMP/err")" "unix://$IT_TMP/no-engine.sock" "stderr"
    assert_eq "" "$(cat "$IT_TMP/out")" "stdout"
}
