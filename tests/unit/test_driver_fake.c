/* The docker driver against the recording fake engine, for exact request
 * sequences a real engine cannot be made to produce on demand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "driver/driver.h"
#include "fake_engine.h"

#define JSON_HEADERS "Content-Type: application/json\r\n"

struct fixture {
    fake_engine *engine;
    berth_docker *docker;
    berth_driver *driver;
};

static int fixture_setup(void **state)
{
    struct fixture *fixture = berth_xcalloc(1, sizeof(*fixture));
    if (fake_engine_start(&fixture->engine) < 0) {
        free(fixture);
        return -1;
    }
    berth_docker_config config = {.endpoint = fake_engine_endpoint(fixture->engine)};
    berth_error err = BERTH_ERROR_INIT;
    berth_driver_options options = {.cleanup_image = true};
    if (berth_docker_open(&config, &fixture->docker, &err) < 0 ||
        berth_driver_open(fixture->docker, &options, &fixture->driver, &err) < 0) {
        fake_engine_stop(fixture->engine);
        free(fixture);
        return -1;
    }
    *state = fixture;
    return 0;
}

static int fixture_teardown(void **state)
{
    struct fixture *fixture = *state;
    berth_driver_close(fixture->driver);
    berth_docker_close(fixture->docker);
    fake_engine_stop(fixture->engine);
    free(fixture);
    return 0;
}

static void assert_target(struct fixture *fixture, size_t index, const char *method,
                          const char *target)
{
    const fake_engine_request *request = fake_engine_request_at(fixture->engine, index);
    if (request == NULL)
        fail_msg("request %zu was never sent (expected %s %s)", index, method, target);
    assert_string_equal(request->method, method);
    assert_string_equal(request->target, target);
}

static void stop_falls_back_when_signal_rejected(void **state)
{
    struct fixture *fixture = *state;
    fake_engine_reply_ping(fixture->engine, "1.41");
    fake_engine_reply(fixture->engine, 500, JSON_HEADERS,
                      "{\"message\":\"Invalid signal: SIGFOO\"}");
    fake_engine_reply(fixture->engine, 200, JSON_HEADERS, "{\"State\":{\"Running\":true}}");
    fake_engine_reply(fixture->engine, 204, "", NULL);

    berth_task_handle handle = {
        .container_id = "c0ffee",
        .container_name = "t-alloc",
        .kill_timeout_ms = 2000,
        .kill_signal = "SIGFOO",
    };
    berth_error err = BERTH_ERROR_INIT;
    assert_int_equal(berth_driver_stop_task(fixture->driver, &handle, &err), 0);
    assert_target(fixture, 1, "POST", "/v1.41/containers/c0ffee/kill?signal=SIGFOO");
    assert_target(fixture, 2, "GET", "/v1.41/containers/c0ffee/json");
    assert_target(fixture, 3, "POST", "/v1.41/containers/c0ffee/stop?t=2");
    assert_int_equal(fake_engine_request_count(fixture->engine), 4);
}

static void stop_without_signal_uses_engine_stop(void **state)
{
    struct fixture *fixture = *state;
    fake_engine_reply_ping(fixture->engine, "1.41");
    fake_engine_reply(fixture->engine, 204, "", NULL);
    berth_task_handle handle = {
        .container_id = "c0ffee",
        .container_name = "t-alloc",
        .kill_timeout_ms = 1500,
    };
    berth_error err = BERTH_ERROR_INIT;
    assert_int_equal(berth_driver_stop_task(fixture->driver, &handle, &err), 0);
    /* kill_timeout is rounded up to whole seconds. */
    assert_target(fixture, 1, "POST", "/v1.41/containers/c0ffee/stop?t=2");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(stop_falls_back_when_signal_rejected, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(stop_without_signal_uses_engine_stop, fixture_setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests_name("driver_fake", tests, NULL, NULL);
}
