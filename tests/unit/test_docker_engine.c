/* Tests of the Docker client against a real Docker Engine. They run only
 * when BERTH_TEST_DOCKER_HOST names the engine (for example
 * unix:///tmp/dk/docker.sock), and skip otherwise.
 *
 * The engine must have the image berth-test/busybox:1. The load test also
 * needs the docker CLI. Every container and image a test makes is named
 * berth-unit-* and removed in the teardown, even after a failed check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/util.h"
#include "docker/docker.h"

#define TEST_IMAGE "berth-test/busybox:1"
#define MAX_CREATED 8

struct engine_fixture {
    berth_docker *docker;
    berth_error err;
    char *containers[MAX_CREATED]; /* ids to remove in the teardown */
    size_t container_count;
    char *images[MAX_CREATED]; /* names to untag in the teardown */
    size_t image_count;
    char directory[64]; /* scratch files, or "" */
};

static const char *engine_host(void)
{
    const char *host = getenv("BERTH_TEST_DOCKER_HOST");
    return host != NULL && *host != '\0' ? host : NULL;
}

static int group_setup(void **state)
{
    if (engine_host() == NULL)
        printf("test_docker_engine: BERTH_TEST_DOCKER_HOST is not set, so the tests against a "
               "real Docker Engine are skipped\n");
    return 0;
}

static int engine_setup(void **state)
{
    struct engine_fixture *fixture = calloc(1, sizeof(*fixture));
    assert_non_null(fixture);
    *state = fixture;
    if (engine_host() == NULL)
        return 0;
    berth_docker_config cfg = {.endpoint = engine_host(), .request_timeout_ms = 60000};
    berth_error err = BERTH_ERROR_INIT;
    if (berth_docker_open(&cfg, &fixture->docker, &err) < 0) {
        fprintf(stderr, "open %s: %s\n", engine_host(), err.message);
        free(fixture);
        return -1;
    }
    return 0;
}

static int engine_teardown(void **state)
{
    struct engine_fixture *fixture = *state;
    berth_error scratch = BERTH_ERROR_INIT;
    for (size_t i = 0; i < fixture->container_count; i++) {
        if (berth_docker_container_remove(fixture->docker, fixture->containers[i], &scratch) < 0)
            fprintf(stderr, "cleanup: remove container %s: %s\n", fixture->containers[i],
                    scratch.message);
        free(fixture->containers[i]);
    }
    for (size_t i = 0; i < fixture->image_count; i++) {
        if (berth_docker_image_remove(fixture->docker, fixture->images[i], false, &scratch) < 0 &&
            scratch.code != BERTH_E_NOT_FOUND)
            fprintf(stderr, "cleanup: remove image %s: %s\n", fixture->images[i], scratch.message);
        free(fixture->images[i]);
    }
    if (fixture->directory[0] != '\0') {
        char *command = berth_xasprintf("rm -rf '%s'", fixture->directory);
        if (system(command) != 0)
            fprintf(stderr, "cleanup: %s failed\n", command);
        free(command);
    }
    berth_docker_close(fixture->docker);
    free(fixture);
    return 0;
}

static struct engine_fixture *fixture_or_skip(void **state)
{
    if (engine_host() == NULL)
        skip();
    return *state;
}

static void fail_on_error(int ret, const berth_error *err, const char *step)
{
    if (ret < 0)
        fail_msg("%s: %s", step, err->message);
}

/* Creates a container of TEST_IMAGE running cmd and records it for the
 * teardown. */
static char *create_container(struct engine_fixture *fixture, const char *suffix, json_t *cmd)
{
    char name[96];
    snprintf(name, sizeof(name), "berth-unit-%ld-%s", (long)getpid(), suffix);
    json_t *body = json_pack("{s:s, s:o}", "Image", TEST_IMAGE, "Cmd", cmd);
    char *id = NULL;
    int ret = berth_docker_container_create(fixture->docker, name, body, &id, &fixture->err);
    json_decref(body);
    fail_on_error(ret, &fixture->err, "create container");
    assert_true(fixture->container_count < MAX_CREATED);
    fixture->containers[fixture->container_count++] = berth_xstrdup(id);
    return id;
}

struct output_record {
    berth_buf stdout_text;
    berth_buf stderr_text;
};

static void record_output(void *user_data, int stream, const char *data, size_t length)
{
    struct output_record *record = user_data;
    berth_buf_append(stream == 2 ? &record->stderr_text : &record->stdout_text, data, length, NULL);
}

static void output_record_init(struct output_record *record)
{
    berth_buf_init(&record->stdout_text, 1 << 20);
    berth_buf_init(&record->stderr_text, 1 << 20);
    berth_buf_append(&record->stdout_text, "", 0, NULL);
    berth_buf_append(&record->stderr_text, "", 0, NULL);
}

static void output_record_free(struct output_record *record)
{
    berth_buf_free(&record->stdout_text);
    berth_buf_free(&record->stderr_text);
}

static void engine_version_negotiated(void **state)
{
    struct engine_fixture *fixture = fixture_or_skip(state);
    const char *version = NULL;
    json_t *reply = NULL;

    fail_on_error(berth_docker_api_version(fixture->docker, &version, &fixture->err), &fixture->err,
                  "api version");
    assert_non_null(version);
    fail_on_error(berth_docker_version(fixture->docker, &reply, &fixture->err), &fixture->err,
                  "version");
    const char *engine_version = json_string_value(json_object_get(reply, "ApiVersion"));
    assert_non_null(engine_version);
    /* The client uses the engine's version unless it is above the maximum. */
    if (strcmp(version, BERTH_DOCKER_API_MAX) != 0)
        assert_string_equal(version, engine_version);
    json_decref(reply);
}

static void engine_image_inspect(void **state)
{
    struct engine_fixture *fixture = fixture_or_skip(state);
    json_t *reply = NULL;

    fail_on_error(berth_docker_image_inspect(fixture->docker, TEST_IMAGE, &reply, &fixture->err),
                  &fixture->err, "inspect " TEST_IMAGE);
    const char *id = json_string_value(json_object_get(reply, "Id"));
    assert_non_null(id);
    assert_true(berth_str_has_prefix(id, "sha256:"));
    json_decref(reply);

    assert_int_equal(berth_docker_image_inspect(fixture->docker, "berth-unit/no-such-image:1",
                                                &reply, &fixture->err),
                     -1);
    assert_null(reply);
    assert_int_equal(fixture->err.code, BERTH_E_NOT_FOUND);
    assert_int_equal(fixture->err.http_status, 404);
    assert_non_null(strstr(fixture->err.message, "engine returned 404: "));
    assert_non_null(strstr(fixture->err.message, "berth-unit/no-such-image:1"));
}

static void engine_container_exit_and_logs(void **state)
{
    struct engine_fixture *fixture = fixture_or_skip(state);
    json_t *cmd = json_pack("[s,s,s]", "sh", "-c", "echo out; echo err >&2; exit 3");
    berth_autofree char *id = create_container(fixture, "exit", cmd);

    fail_on_error(berth_docker_container_start(fixture->docker, id, &fixture->err), &fixture->err,
                  "start");
    int64_t exit_code = -1;
    fail_on_error(berth_docker_container_wait(fixture->docker, id, &exit_code, &fixture->err),
                  &fixture->err, "wait");
    assert_int_equal(exit_code, 3);

    struct output_record record;
    output_record_init(&record);
    berth_docker_logs_options options = {0};
    int ret = berth_docker_container_logs(fixture->docker, id, &options, record_output, &record,
                                          &fixture->err);
    fail_on_error(ret, &fixture->err, "logs");
    assert_string_equal(record.stdout_text.data, "out\n");
    assert_string_equal(record.stderr_text.data, "err\n");
    output_record_free(&record);

    json_t *inspect = NULL;
    fail_on_error(berth_docker_container_inspect(fixture->docker, id, &inspect, &fixture->err),
                  &fixture->err, "inspect");
    json_t *container_state = json_object_get(inspect, "State");
    assert_int_equal(json_integer_value(json_object_get(container_state, "ExitCode")), 3);
    assert_false(json_is_true(json_object_get(container_state, "Running")));
    json_decref(inspect);

    /* The second removal finds no container, which is a success. */
    fail_on_error(berth_docker_container_remove(fixture->docker, id, &fixture->err), &fixture->err,
                  "remove");
    fail_on_error(berth_docker_container_remove(fixture->docker, id, &fixture->err), &fixture->err,
                  "remove again");
    assert_int_equal(berth_docker_container_inspect(fixture->docker, id, &inspect, &fixture->err),
                     -1);
    assert_int_equal(fixture->err.code, BERTH_E_NOT_FOUND);
}

static void engine_logs_follow_until_exit(void **state)
{
    struct engine_fixture *fixture = fixture_or_skip(state);
    json_t *cmd = json_pack("[s,s,s]", "sh", "-c", "echo first; sleep 1; echo second >&2");
    berth_autofree char *id = create_container(fixture, "follow", cmd);

    fail_on_error(berth_docker_container_start(fixture->docker, id, &fixture->err), &fixture->err,
                  "start");
    struct output_record record;
    output_record_init(&record);
    berth_docker_logs_options options = {.follow = true};
    int ret = berth_docker_container_logs(fixture->docker, id, &options, record_output, &record,
                                          &fixture->err);
    fail_on_error(ret, &fixture->err, "logs with follow");
    assert_string_equal(record.stdout_text.data, "first\n");
    assert_string_equal(record.stderr_text.data, "second\n");
    output_record_free(&record);

    json_t *list = NULL;
    char filters[160];
    snprintf(filters, sizeof(filters), "{\"id\":[\"%s\"]}", id);
    fail_on_error(berth_docker_container_list(fixture->docker, filters, &list, &fixture->err),
                  &fixture->err, "list");
    assert_int_equal(json_array_size(list), 1);
    json_decref(list);
}

static void engine_stop_within_bound(void **state)
{
    struct engine_fixture *fixture = fixture_or_skip(state);
    json_t *cmd = json_pack("[s,s]", "sleep", "30");
    berth_autofree char *id = create_container(fixture, "stop", cmd);

    fail_on_error(berth_docker_container_start(fixture->docker, id, &fixture->err), &fixture->err,
                  "start");
    fail_on_error(berth_docker_container_start(fixture->docker, id, &fixture->err), &fixture->err,
                  "start while running");

    /* sleep as PID 1 ignores SIGTERM, so the engine kills it after t=1. */
    int64_t started = berth_now_ms();
    fail_on_error(berth_docker_container_stop(fixture->docker, id, 1, &fixture->err), &fixture->err,
                  "stop");
    int64_t elapsed = berth_now_ms() - started;
    assert_true(elapsed < 15000);

    json_t *inspect = NULL;
    fail_on_error(berth_docker_container_inspect(fixture->docker, id, &inspect, &fixture->err),
                  &fixture->err, "inspect");
    assert_false(json_is_true(json_object_get(json_object_get(inspect, "State"), "Running")));
    json_decref(inspect);

    /* Stopping a stopped container is a success (the engine sends 304). */
    fail_on_error(berth_docker_container_stop(fixture->docker, id, 1, &fixture->err), &fixture->err,
                  "stop again");
}

struct load_record {
    berth_buf streams;
};

static void record_load(void *user_data, const json_t *line)
{
    struct load_record *record = user_data;
    const char *text = json_string_value(json_object_get(line, "stream"));
    if (text != NULL)
        berth_buf_append_str(&record->streams, text, NULL);
}

static void engine_image_load(void **state)
{
    struct engine_fixture *fixture = fixture_or_skip(state);
    char repository[64];
    snprintf(repository, sizeof(repository), "berth-unit/load-%ld", (long)getpid());
    char name[80];
    snprintf(name, sizeof(name), "%s:1", repository);

    /* Tag the test image under a test-only name, save that tag with the
     * docker CLI, untag it, then load the archive through the client. */
    berth_autofree char *tag_query = berth_xasprintf("repo=%s&tag=1", repository);
    fail_on_error(berth_docker_request(fixture->docker, "POST", "/images/" TEST_IMAGE "/tag",
                                       tag_query, NULL, NULL, NULL, &fixture->err),
                  &fixture->err, "tag");
    fixture->images[fixture->image_count++] = berth_xstrdup(name);

    snprintf(fixture->directory, sizeof(fixture->directory), "/tmp/berth-unit-load-XXXXXX");
    assert_non_null(mkdtemp(fixture->directory));
    berth_autofree char *archive = berth_xasprintf("%s/image.tar", fixture->directory);
    berth_autofree char *command =
        berth_xasprintf("DOCKER_HOST='%s' docker save -o '%s' '%s'", engine_host(), archive, name);
    if (system(command) != 0)
        fail_msg("%s failed", command);
    fail_on_error(berth_docker_image_remove(fixture->docker, name, false, &fixture->err),
                  &fixture->err, "untag");
    json_t *reply = NULL;
    assert_int_equal(berth_docker_image_inspect(fixture->docker, name, &reply, &fixture->err), -1);
    assert_int_equal(fixture->err.code, BERTH_E_NOT_FOUND);

    struct load_record record;
    berth_buf_init(&record.streams, 1 << 16);
    int ret =
        berth_docker_image_load(fixture->docker, archive, record_load, &record, &fixture->err);
    fail_on_error(ret, &fixture->err, "load");
    char expected[128];
    snprintf(expected, sizeof(expected), "Loaded image: %s\n", name);
    assert_non_null(record.streams.data);
    assert_non_null(strstr(record.streams.data, expected));
    berth_buf_free(&record.streams);

    fail_on_error(berth_docker_image_inspect(fixture->docker, name, &reply, &fixture->err),
                  &fixture->err, "inspect the loaded image");
    json_decref(reply);
}

static void engine_image_load_not_a_tar(void **state)
{
    struct engine_fixture *fixture = fixture_or_skip(state);
    snprintf(fixture->directory, sizeof(fixture->directory), "/tmp/berth-unit-load-XXXXXX");
    assert_non_null(mkdtemp(fixture->directory));
    berth_autofree char *archive = berth_xasprintf("%s/broken.tar", fixture->directory);
    FILE *file = fopen(archive, "w");
    assert_non_null(file);
    fputs("this is not a tar archive\n", file);
    fclose(file);

    assert_int_equal(berth_docker_image_load(fixture->docker, archive, NULL, NULL, &fixture->err),
                     -1);
    assert_non_null(strstr(fixture->err.message, archive));
}

static void engine_pull_unreachable_registry(void **state)
{
    struct engine_fixture *fixture = fixture_or_skip(state);

    /* Nothing is expected to listen on port 1 of the loopback address, so
     * the engine fails the pull. */
    assert_int_equal(berth_docker_image_pull(fixture->docker, "127.0.0.1:1/berth-unit/none", "1",
                                             NULL, NULL, NULL, &fixture->err),
                     -1);
    assert_int_equal(fixture->err.code, BERTH_E_ENGINE);
    assert_non_null(strstr(fixture->err.message, "127.0.0.1:1"));
}

#define ENGINE_TEST(name) cmocka_unit_test_setup_teardown(name, engine_setup, engine_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        ENGINE_TEST(engine_version_negotiated),      ENGINE_TEST(engine_image_inspect),
        ENGINE_TEST(engine_container_exit_and_logs), ENGINE_TEST(engine_logs_follow_until_exit),
        ENGINE_TEST(engine_stop_within_bound),       ENGINE_TEST(engine_image_load),
        ENGINE_TEST(engine_image_load_not_a_tar),    ENGINE_TEST(engine_pull_unreachable_registry),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
