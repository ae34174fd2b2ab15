# The Docker Engine client's own tests against the real engine, run here
# because this is where the engine exists (as unit tests they skip).

test_engine_client_unit_suite() {
    local output
    output=$(BERTH_TEST_DOCKER_HOST=$DOCKER_HOST build/asan/tests/test_docker_engine 2>&1) ||
        fail "test_docker_engine failed: $output"
    assert_not_contains "$output" "SKIPPED" "test_docker_engine output"
    assert_contains "$output" "PASSED" "test_docker_engine output"
}

# The agent core's own suite: runs to completion, restart policy, log
# files, stop, and re-attaching after the agent is closed and reopened.
# Leak checking is off because a closed agent deliberately leaves its
# runner threads to the exiting process.
test_agent_core_suite() {
    local output
    output=$(ASAN_OPTIONS=detect_leaks=0 BERTH_TEST_DOCKER_HOST=$DOCKER_HOST \
        timeout 240 build/asan/tests/test_agent_engine 2>&1) ||
        fail "test_agent_engine failed: $output"
    assert_not_contains "$output" "SKIPPED" "test_agent_engine output"
    assert_contains "$output" "PASSED" "test_agent_engine output"
}
