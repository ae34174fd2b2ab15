# The Docker Engine client's own tests against the real engine, run here
# because this is where the engine exists (as unit tests they skip).

test_engine_client_unit_suite() {
    local output
    output=$(BERTH_TEST_DOCKER_HOST=$DOCKER_HOST build/asan/tests/test_docker_engine 2>&1) ||
        fail "test_docker_engine failed: $output"
    assert_not_contains "$output" "SKIPPED" "test_docker_engine output"
    assert_contains "$output" "PASSED" "test_docker_engine output"
}
