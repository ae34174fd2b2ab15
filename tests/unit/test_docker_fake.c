/* Exact-request checks of the Docker client against the recording fake
 * engine: version negotiation, error replies, pull and load streams,
 * container calls and log demultiplexing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/log.h"
#include "docker/docker.h"
#include "fake_engine.h"

#define JSON_HEADERS "Content-Type: application/json\r\n"

struct fixture {
    fake_engine *engine;
    berth_docker *docker;
    berth_error err;
};

static int fixture_setup(void **state)
{
    struct fixture *fixture = calloc(1, sizeof(*fixture));
    assert_non_null(fixture);
    if (fake_engine_start(&fixture->engine) < 0) {
        free(fixture);
        return -1;
    }
    berth_docker_config cfg = {.endpoint = fake_engine_endpoint(fixture->engine)};
    berth_error err = BERTH_ERROR_INIT;
    if (berth_docker_open(&cfg, &fixture->docker, &err) < 0) {
        fprintf(stderr, "open: %s\n", err.message);
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
    berth_docker_close(fixture->docker);
    fake_engine_stop(fixture->engine);
    free(fixture);
    return 0;
}

static const fake_engine_request *request_at(struct fixture *fixture, size_t index)
{
    const fake_engine_request *request = fake_engine_request_at(fixture->engine, index);
    if (request == NULL)
        fail_msg("the fake engine received no request number %zu", index);
    return request;
}

static void assert_request(struct fixture *fixture, size_t index, const char *method,
                           const char *target)
{
    const fake_engine_request *request = request_at(fixture, index);
    assert_string_equal(request->method, method);
    assert_string_equal(request->target, target);
}

/* --- Version negotiation --- */

static void negotiation_uses_engine_version(void **state)
{
    struct fixture *fixture = *state;
    fake_engine_reply_ping(fixture->engine, "1.41");
    fake_engine_reply(fixture->engine, 200, JSON_HEADERS, "{\"ApiVersion\":\"1.41\"}");
    json_t *reply = NULL;

    assert_int_equal(berth_docker_version(fixture->docker, &reply, &fixture->err), 0);
    assert_string_equal(json_string_value(json_object_get(reply, "ApiVersion")), "1.41");
    assert_request(fixture, 0, "GET", "/_ping");
    assert_request(fixture, 1, "GET", "/v1.41/version");
    json_decref(reply);
}

static void negotiation_caps_at_maximum(void **state)
{
    struct fixture *fixture = *state;
    fake_engine_reply_ping(fixture->engine, "1.45");
    fake_engine_reply(fixture->engine, 200, JSON_HEADERS, "{}");
    json_t *reply = NULL;
    const char *version = NULL;

    assert_int_equal(berth_docker_info(fixture->docker, &reply, &fixture->err), 0);
    assert_request(fixture, 1, "GET", "/v" BERTH_DOCKER_API_MAX "/info");
    assert_int_equal(berth_docker_api_version(fixture->docker, &version, &fixture->err), 0);
    assert_string_equal(version, BERTH_DOCKER_API_MAX);
    json_decref(reply);
}

static void negotiation_rejects_old_engine(void **state)
{
    struct fixture *fixture = *state;
    fake_engine_reply_ping(fixture->engine, "1.20");
    json_t *reply = NULL;

    assert_int_equal(berth_docker_info(fixture->docker, &reply, &fixture->err), -1);
    assert_int_equal(fixture->err.code, BERTH_E_ENGINE);
    assert_non_null(strstr(fixture->err.message, "API 1.20"));
    assert_non_null(strstr(fixture->err.message, "minimum " BERTH_DOCKER_API_MIN));
    assert_int_equal(fake_engine_request_count(fixture->engine), 1);
}

static void negotiation_falls_back_to_version(void **state)
{
    struct fixture *fixture = *state;
    fake_engine_reply_ping(fixture->engine, NULL);
    fake_engine_reply(fixture->engine, 200, JSON_HEADERS,
                      "{\"Version\":\"20.10.24\",\"ApiVersion\":\"1.41\"}");
    fake_engine_reply(fixture->engine, 200, JSON_HEADERS, "{}");
    json_t *reply = NULL;

    assert_int_equal(berth_docker_info(fixture->docker, &reply, &fixture->err), 0);
    assert_request(fixture, 0, "GET", "/_ping");
    assert_request(fixture, 1, "GET", "/version");
    assert_request(fixture, 2, "GET", "/v1.41/info");
    json_decref(reply);
}

static void negotiation_happens_once(void **state)
{
    struct fixture *fixture = *state;
    fake_engine_reply_ping(fixture->engine, "1.41");
    fake_engine_reply(fixture->engine, 200, JSON_HEADERS, "{}");
    fake_engine_reply(fixture->engine, 200, JSON_HEADERS, "{}");
    json_t *reply = NULL;

    assert_int_equal(berth_docker_info(fixture->docker, &reply, &fixture->err), 0);
    json_decref(reply);
    assert_int_equal(berth_docker_info(fixture->docker, &reply, &fixture->err), 0);
    json_decref(reply);
    assert_int_equal(fake_engine_request_count(fixture->engine), 3);
    assert_request(fixture, 2, "GET", "/v1.41/info");
}

struct concurrent_call {
    berth_docker *docker;
    int ret;
    berth_error err;
};

static void *call_info(void *user_data)
{
    struct concurrent_call *call = user_data;
    json_t *reply = NULL;
    call->ret = berth_docker_info(call->docker, &reply, &call->err);
    json_decref(reply);
    return NULL;
}

static void negotiation_once_across_threads(void **state)
{
    struct fixture *fixture = *state;
    enum { THREADS = 4 };
    fake_engine_reply_ping(fixture->engine, "1.41");
    for (int i = 0; i < THREADS; i++)
        fake_engine_reply(fixture->engine, 200, JSON_HEADERS, "{}");
    pthread_t threads[THREADS];
    struct concurrent_call calls[THREADS];

    for (int i = 0; i < THREADS; i++) {
        calls[i] = (struct concurrent_call){.docker = fixture->docker};
        assert_int_equal(pthread_create(&threads[i], NULL, call_info, &calls[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
        if (calls[i].ret < 0)
            fail_msg("thread %d: %s", i, calls[i].err.message);
    }
    assert_int_equal(fake_engine_request_count(fixture->engine), THREADS + 1);
    assert_request(fixture, 0, "GET", "/_ping");
    for (int i = 1; i <= THREADS; i++)
        assert_request(fixture, (size_t)i, "GET", "/v1.41/info");
}

/* --- Error replies --- */

static void error_404_message(void **state)
{
    struct fixture *fixture = *state;
    fake_engine_reply_ping(fixture->engine, "1.41");
    fake_engine_reply(fixture->engine, 404, JSON_HEADERS, "{\"message\":\"No such image: foo:1\"}");
    json_t *reply = NULL;

    assert_int_equal(berth_docker_image_inspect(fixture->docker, "foo:1", &reply, &fixture->err),
                     -1);
    assert_null(reply);
    assert_int_equal(fixture->err.code, BERTH_E_NOT_FOUND);
    assert_int_equal(fixture->err.http_status, 404);
    assert_string_equal(fixture->err.message, "engine returned 404: No such image: foo:1");
    assert_request(fixture, 1, "GET", "/v1.41/images/foo:1/json");
}

static void error_409_conflict_on_create(void **state)
{
    struct fixture *fixture = *state;
    fake_engine_reply_ping(fixture->engine, "1.41");
    fake_engine_reply(fixture->engine, 409, JSON_HEADERS,
                      "{\"message\":\"Conflict. The container name \\\"/berth-unit-a\\\" is "
                      "already in use\"}");
    json_t *body = json_pack("{s:s, s:[s]}", "Image", "berth-test/busybox:1", "Cmd", "true");
    char *id = NULL;

    assert_int_equal(
        berth_docker_container_create(fixture->docker, "berth-unit-a", body, &id, &fixture->err),
        -1);
    assert_null(id);
    assert_int_equal(fixture->err.code, BERTH_E_CONFLICT);
    assert_int_equal(fixture->err.http_status, 409);
    assert_string_equal(fixture->err.message,
                        "engine returned 409: Conflict. The container name \"/berth-unit-a\" is "
                        "already in use");

    const fake_engine_request *request = request_at(fixture, 1);
    assert_string_equal(request->method, "POST");
    assert_string_equal(request->target, "/v1.41/containers/create?name=berth-unit-a");
    char *content_type = fake_engine_request_header(request, "Content-Type");
    assert_non_null(content_type);
    assert_string_equal(content_type, "application/json");
    free(content_type);
    json_t *sent = json_loadb(request->body, request->body_length, 0, NULL);
    assert_non_null(sent);
    assert_true(json_equal(sent, body));
    json_decref(sent);
    json_decref(body);
}

static void error_500_plain_text_body(void **state)
{
    struct fixture *fixture = *state;
    fake_engine_reply_ping(fixture->engine, "1.41");
    fake_engine_reply(fixture->engine, 500, "Content-Type: text/plain\r\n", "boom\n");
    json_t *reply = NULL;

    assert_int_equal(berth_docker_info(fixture->docker, &reply, &fixture->err), -1);
    assert_int_equal(fixture->err.code, BERTH_E_ENGINE);
    assert_int_equal(fixture->err.http_status, 500);
    assert_string_equal(fixture->err.message, "engine returned 500: boom");
}

static void error_500_empty_body(void **state)
{
    struct fixture *fixture = *state;
    fake_engine_reply_ping(fixture->engine, "1.41");
    fake_engine_reply(fixture->engine, 500, NULL, NULL);
    json_t *reply = NULL;

    assert_int_equal(berth_docker_info(fixture->docker, &reply, &fixture->err), -1);
    assert_int_equal(fixture->err.code, BERTH_E_ENGINE);
    assert_string_equal(fixture->err.message, "engine returned 500 with no message");
}

static void invalid_json_reply(void **state)
{
    struct fixture *fixture = *state;
    fake_engine_reply_ping(fixture->engine, "1.41");
    fake_engine_reply(fixture->engine, 200, JSON_HEADERS, "{\"Id\":");
    json_t *reply = NULL;

    assert_int_equal(berth_docker_info(fixture->docker, &reply, &fixture->err), -1);
    assert_null(reply);
    assert_int_equal(fixture->err.code, BERTH_E_ENGINE);
    assert_non_null(strstr(fixture->err.message, "invalid JSON for GET /info"));
}

/* --- Pull and load --- */

struct progress_record {
    size_t lines;
    berth_buf statuses; /* "status" or "stream" of each line, one per line */
    volatile sig_atomic_t *cancel_on_first_line;
};

static void record_progress(void *user_data, const json_t *line)
{
    struct progress_record *record = user_data;
    record->lines++;
    const char *text = json_string_value(json_object_get(line, "status"));
    if (text == NULL)
        text = json_string_value(json_object_get(line, "stream"));
    if (text != NULL) {
        berth_buf_append_str(&record->statuses, text, NULL);
        berth_buf_append_str(&record->statuses, "|", NULL);
    }
    if (record->cancel_on_first_line != NULL)
        *record->cancel_on_first_line = 1;
}

static void pull_sends_auth_and_query(void **state)
{
    struct fixture *fixture = *state;
    const char *auth = "eyJ1c2VybmFtZSI6InUiLCJwYXNzd29yZCI6InAifQ==";
    fake_engine_reply_ping(fixture->engine, "1.41");
    fake_engine_reply(fixture->engine, 200, JSON_HEADERS,
                      "{\"status\":\"Pulling from app\",\"id\":\"1\"}\r\n"
                      "{\"status\":\"Digest: sha256:00\"}\r\n"
                      "{\"status\":\"Status: Downloaded newer image for 127.0.0.1:5000/app:1\"}"
                      "\r\n");
    struct progress_record record = {0};
    berth_buf_init(&record.statuses, 4096);

    assert_int_equal(berth_docker_image_pull(fixture->docker, "127.0.0.1:5000/app", "1", auth,
                                             record_progress, &record, &fixture->err),
                     0);
    assert_int_equal(record.lines, 3);
    assert_string_equal(record.statuses.data,
                        "Pulling from app|Digest: sha256:00|Status: Downloaded newer image for "
                        "127.0.0.1:5000/app:1|");

    const fake_engine_request *request = request_at(fixture, 1);
    assert_string_equal(request->method, "POST");
    assert_string_equal(request->target,
                        "/v1.41/images/create?fromImage=127.0.0.1%3A5000%2Fapp&tag=1");
    char *sent_auth = fake_engine_request_header(request, "X-Registry-Auth");
    assert_non_null(sent_auth);
    assert_string_equal(sent_auth, auth);
    free(sent_auth);
    assert_int_equal(request->body_length, 0);
    berth_buf_free(&record.statuses);
}

static void pull_without_auth_or_tag(void **state)
{
    struct fixture *fixture = *state;
    fake_engine_reply_ping(fixture->engine, "1.41");
    fake_engine_reply(fixture->engine, 200, JSON_HEADERS, "{\"status\":\"done\"}\r\n");

    assert_int_equal(
        berth_docker_image_pull(fixture->docker, "busybox", NULL, NULL, NULL, NULL, &fixture->err),
        0);
    const fake_engine_request *request = request_at(fixture, 1);
    assert_string_equal(request->target, "/v1.41/images/create?fromImage=busybox&tag=latest");
    char *sent_auth = fake_engine_request_header(request, "X-Registry-Auth");
    assert_null(sent_auth);
}

static void pull_error_line_fails(void **state)
{
    struct fixture *fixture = *state;
    fake_engine_reply_ping(fixture->engine, "1.41");
    fake_engine_reply(fixture->engine, 200, JSON_HEADERS,
                      "{\"status\":\"Pulling from app\"}\r\n"
                      "{\"errorDetail\":{\"message\":\"manifest for 127.0.0.1:5000/app:9 not "
                      "found\"},\"error\":\"short form\"}\r\n");
    struct progress_record record = {0};
    berth_buf_init(&record.statuses, 4096);

    assert_int_equal(berth_docker_image_pull(fixture->docker, "127.0.0.1:5000/app", "9", NULL,
                                             record_progress, &record, &fixture->err),
                     -1);
    assert_int_equal(fixture->err.code, BERTH_E_ENGINE);
    assert_string_equal(fixture->err.message, "manifest for 127.0.0.1:5000/app:9 not found");
    assert_int_equal(record.lines, 2);
    berth_buf_free(&record.statuses);
}

static void pull_error_without_detail(void **state)
{
    struct fixture *fixture = *state;
    fake_engine_reply_ping(fixture->engine, "1.41");
    fake_engine_reply(fixture->engine, 200, JSON_HEADERS,
                      "{\"error\":\"unauthorized: authentication required\"}");

    assert_int_equal(
        berth_docker_image_pull(fixture->docker, "app", "1", NULL, NULL, NULL, &fixture->err), -1);
    assert_string_equal(fixture->err.message, "unauthorized: authentication required");
}

static void pull_lines_split_across_chunks(void **state)
{
    struct fixture *fixture = *state;
    const char *const pieces[] = {
        "{\"status\":\"Pul",
        "ling\"}\r",
        "\n{\"status\":\"one\"}\r\n{\"sta",
        "tus\":\"two\"}\r\n",
        "{\"status\":\"last, with no newline\"}",
    };
    size_t lengths[5];
    for (size_t i = 0; i < 5; i++)
        lengths[i] = strlen(pieces[i]);
    fake_engine_reply_ping(fixture->engine, "1.41");
    fake_engine_reply_chunks(fixture->engine, 200, JSON_HEADERS, pieces, lengths, 5);
    struct progress_record record = {0};
    berth_buf_init(&record.statuses, 4096);

    assert_int_equal(berth_docker_image_pull(fixture->docker, "app", "1", NULL, record_progress,
                                             &record, &fixture->err),
                     0);
    assert_int_equal(record.lines, 4);
    assert_string_equal(record.statuses.data, "Pulling|one|two|last, with no newline|");
    berth_buf_free(&record.statuses);
}

static void pull_error_line_split_across_chunks(void **state)
{
    struct fixture *fixture = *state;
    const char *const pieces[] = {
        "{\"status\":\"Pulling\"}\r\n{\"errorDetail\":{\"mess",
        "age\":\"toomanyrequests: rate limit\"},\"error\":\"x\"}\r\n",
    };
    size_t lengths[] = {strlen(pieces[0]), strlen(pieces[1])};
    fake_engine_reply_ping(fixture->engine, "1.41");
    fake_engine_reply_chunks(fixture->engine, 200, JSON_HEADERS, pieces, lengths, 2);

    assert_int_equal(
        berth_docker_image_pull(fixture->docker, "app", "1", NULL, NULL, NULL, &fixture->err), -1);
    assert_int_equal(fixture->err.code, BERTH_E_ENGINE);
    assert_string_equal(fixture->err.message, "toomanyrequests: rate limit");
}

static void pull_rejects_line_break_in_auth(void **state)
{
    struct fixture *fixture = *state;
    fake_engine_reply_ping(fixture->engine, "1.41");

    assert_int_equal(berth_docker_image_pull(fixture->docker, "app", "1", "abc\r\nX-Other: 1", NULL,
                                             NULL, &fixture->err),
                     -1);
    assert_int_equal(fixture->err.code, BERTH_E_INVALID);
    assert_int_equal(fake_engine_request_count(fixture->engine), 1);
}

static void pull_cancelled_mid_stream(void **state)
{
    struct fixture *fixture = *state;
    const char *const pieces[] = {
        "{\"status\":\"one\"}\r\n",  "{\"status\":\"two\"}\r\n",  "{\"status\":\"three\"}\r\n",
        "{\"status\":\"four\"}\r\n", "{\"status\":\"five\"}\r\n",
    };
    size_t lengths[5];
    for (size_t i = 0; i < 5; i++)
        lengths[i] = strlen(pieces[i]);
    fake_engine_reply_ping(fixture->engine, "1.41");
    fake_engine_reply_chunks(fixture->engine, 200, JSON_HEADERS, pieces, lengths, 5);
    volatile sig_atomic_t cancel = 0;
    berth_docker_set_cancel_flag(fixture->docker, &cancel);
    struct progress_record record = {.cancel_on_first_line = &cancel};
    berth_buf_init(&record.statuses, 4096);

    assert_int_equal(berth_docker_image_pull(fixture->docker, "app", "1", NULL, record_progress,
                                             &record, &fixture->err),
                     -1);
    assert_int_equal(fixture->err.code, BERTH_E_CANCELLED);
    assert_true(record.lines < 5);

    /* A later pull fails at once without a request. */
    size_t sent = fake_engine_request_count(fixture->engine);
    assert_int_equal(berth_docker_image_pull(fixture->docker, "app", "1", NULL, NULL, NULL,
                                             &fixture->err),
                     -1);
    assert_int_equal(fixture->err.code, BERTH_E_CANCELLED);
    assert_int_equal(fake_engine_request_count(fixture->engine), sent);

    /* Other calls still go through, so containers can be stopped and
     * removed after a stop request. */
    fake_engine_reply(fixture->engine, 200, JSON_HEADERS, "{\"ID\":\"engine\"}");
    json_t *reply = NULL;
    assert_int_equal(berth_docker_info(fixture->docker, &reply, &fixture->err), 0);
    assert_string_equal(json_string_value(json_object_get(reply, "ID")), "engine");
    json_decref(reply);
    berth_docker_set_cancel_flag(fixture->docker, NULL);
    berth_buf_free(&record.statuses);
}

struct captured_log {
    berth_buf lines;
};

static void capture_log(void *user_data, enum berth_log_level level, const char *line)
{
    struct captured_log *captured = user_data;
    berth_buf_append_str(&captured->lines, line, NULL);
    berth_buf_append_str(&captured->lines, "\n", NULL);
}

static void pull_never_logs_auth(void **state)
{
    struct fixture *fixture = *state;
    const char *auth = "c2VjcmV0LXRva2VuLWZvci10ZXN0";
    struct captured_log captured;
    berth_buf_init(&captured.lines, 1 << 20);
    berth_log_set_sink(capture_log, &captured, BERTH_LOG_DEBUG, BERTH_LOG_TEXT);
    fake_engine_reply_ping(fixture->engine, "1.41");
    fake_engine_reply(fixture->engine, 200, JSON_HEADERS, "{\"status\":\"done\"}\r\n");

    int ret = berth_docker_image_pull(fixture->docker, "app", "1", auth, NULL, NULL, &fixture->err);
    berth_log_set_sink(NULL, NULL, BERTH_LOG_INFO, BERTH_LOG_TEXT);
    assert_int_equal(ret, 0);
    assert_non_null(captured.lines.data);
    assert_non_null(strstr(captured.lines.data, "path=/images/create"));
    assert_non_null(strstr(captured.lines.data, "status=200"));
    assert_null(strstr(captured.lines.data, auth));
    berth_buf_free(&captured.lines);
}

static void load_missing_file(void **state)
{
    struct fixture *fixture = *state;

    assert_int_equal(berth_docker_image_load(fixture->docker, "/nonexistent/berth-unit.tar", NULL,
                                             NULL, &fixture->err),
                     -1);
    assert_int_equal(fixture->err.code, BERTH_E_NOT_FOUND);
    assert_non_null(strstr(fixture->err.message, "/nonexistent/berth-unit.tar"));
    assert_int_equal(fake_engine_request_count(fixture->engine), 0);
}

static void load_streams_file_as_body(void **state)
{
    struct fixture *fixture = *state;
    char path[] = "/tmp/berth-unit-load-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    /* Bigger than one curl read, with NUL bytes as in a real tar. */
    size_t length = 200000;
    char *content = malloc(length);
    assert_non_null(content);
    for (size_t i = 0; i < length; i++)
        content[i] = (char)(i % 251);
    assert_int_equal(write(fd, content, length), (ssize_t)length);
    close(fd);
    fake_engine_reply_ping(fixture->engine, "1.41");
    fake_engine_reply(fixture->engine, 200, JSON_HEADERS,
                      "{\"stream\":\"Loaded image: berth-unit/load:1\\n\"}\r\n");
    struct progress_record record = {0};
    berth_buf_init(&record.statuses, 4096);

    int ret =
        berth_docker_image_load(fixture->docker, path, record_progress, &record, &fixture->err);
    unlink(path);
    assert_int_equal(ret, 0);
    assert_string_equal(record.statuses.data, "Loaded image: berth-unit/load:1\n|");
    const fake_engine_request *request = request_at(fixture, 1);
    assert_string_equal(request->method, "POST");
    assert_string_equal(request->target, "/v1.41/images/load");
    char *content_type = fake_engine_request_header(request, "Content-Type");
    assert_non_null(content_type);
    assert_string_equal(content_type, "application/x-tar");
    free(content_type);
    assert_int_equal(request->body_length, length);
    assert_memory_equal(request->body, content, length);
    free(content);
    berth_buf_free(&record.statuses);
}

static void load_error_line_fails(void **state)
{
    struct fixture *fixture = *state;
    char path[] = "/tmp/berth-unit-load-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "not a tar", 9), 9);
    close(fd);
    fake_engine_reply_ping(fixture->engine, "1.41");
    fake_engine_reply(fixture->engine, 200, JSON_HEADERS,
                      "{\"errorDetail\":{\"message\":\"unexpected EOF\"},\"error\":\"unexpected "
                      "EOF\"}\r\n");

    int ret = berth_docker_image_load(fixture->docker, path, NULL, NULL, &fixture->err);
    unlink(path);
    assert_int_equal(ret, -1);
    assert_int_equal(fixture->err.code, BERTH_E_ENGINE);
    assert_non_null(strstr(fixture->err.message, path));
    assert_non_null(strstr(fixture->err.message, "unexpected EOF"));
}

/* --- Containers --- */

static void create_returns_id(void **state)
{
    struct fixture *fixture = *state;
    fake_engine_reply_ping(fixture->engine, "1.41");
    fake_engine_reply(fixture->engine, 201, JSON_HEADERS,
                      "{\"Id\":\"4f2a\",\"Warnings\":[\"no swap limit\"]}");
    json_t *body = json_pack("{s:s}", "Image", "berth-test/busybox:1");
    char *id = NULL;

    assert_int_equal(
        berth_docker_container_create(fixture->docker, "berth unit&a=b", body, &id, &fixture->err),
        0);
    assert_string_equal(id, "4f2a");
    assert_request(fixture, 1, "POST", "/v1.41/containers/create?name=berth%20unit%26a%3Db");
    free(id);
    json_decref(body);
}

static void start_already_started(void **state)
{
    struct fixture *fixture = *state;
    fake_engine_reply_ping(fixture->engine, "1.41");
    fake_engine_reply(fixture->engine, 304, NULL, NULL);

    assert_int_equal(berth_docker_container_start(fixture->docker, "4f2a", &fixture->err), 0);
    assert_request(fixture, 1, "POST", "/v1.41/containers/4f2a/start");
}

static void wait_returns_status_code(void **state)
{
    struct fixture *fixture = *state;
    fake_engine_reply_ping(fixture->engine, "1.41");
    fake_engine_reply(fixture->engine, 200, JSON_HEADERS, "{\"Error\":null,\"StatusCode\":3}");
    int64_t exit_code = -1;

    assert_int_equal(
        berth_docker_container_wait(fixture->docker, "4f2a", &exit_code, &fixture->err), 0);
    assert_int_equal(exit_code, 3);
    assert_request(fixture, 1, "POST", "/v1.41/containers/4f2a/wait?condition=not-running");
}

static void wait_error_message_fails(void **state)
{
    struct fixture *fixture = *state;
    fake_engine_reply_ping(fixture->engine, "1.41");
    fake_engine_reply(fixture->engine, 200, JSON_HEADERS,
                      "{\"Error\":{\"Message\":\"container removed\"},\"StatusCode\":0}");
    int64_t exit_code = -1;

    assert_int_equal(
        berth_docker_container_wait(fixture->docker, "4f2a", &exit_code, &fixture->err), -1);
    assert_int_equal(fixture->err.code, BERTH_E_ENGINE);
    assert_string_equal(fixture->err.message, "wait for container 4f2a: container removed");
    assert_int_equal(exit_code, -1);
}

static void wait_without_status_code_fails(void **state)
{
    struct fixture *fixture = *state;
    fake_engine_reply_ping(fixture->engine, "1.41");
    fake_engine_reply(fixture->engine, 200, JSON_HEADERS, "{}");
    int64_t exit_code = -1;

    assert_int_equal(
        berth_docker_container_wait(fixture->docker, "4f2a", &exit_code, &fixture->err), -1);
    assert_int_equal(fixture->err.code, BERTH_E_ENGINE);
    assert_non_null(strstr(fixture->err.message, "StatusCode"));
}

static void stop_treats_304_and_404_as_success(void **state)
{
    struct fixture *fixture = *state;
    fake_engine_reply_ping(fixture->engine, "1.41");
    fake_engine_reply(fixture->engine, 304, NULL, NULL);
    fake_engine_reply(fixture->engine, 404, JSON_HEADERS,
                      "{\"message\":\"No such container: 4f2a\"}");
    fake_engine_reply(fixture->engine, 500, JSON_HEADERS,
                      "{\"message\":\"cannot stop container: permission denied\"}");

    assert_int_equal(berth_docker_container_stop(fixture->docker, "4f2a", 10, &fixture->err), 0);
    assert_request(fixture, 1, "POST", "/v1.41/containers/4f2a/stop?t=10");
    assert_int_equal(berth_docker_container_stop(fixture->docker, "4f2a", 0, &fixture->err), 0);
    assert_request(fixture, 2, "POST", "/v1.41/containers/4f2a/stop?t=0");
    assert_int_equal(berth_docker_container_stop(fixture->docker, "4f2a", 10, &fixture->err), -1);
    assert_int_equal(fixture->err.http_status, 500);
    assert_string_equal(fixture->err.message,
                        "engine returned 500: cannot stop container: permission denied");
}

static void kill_sends_signal(void **state)
{
    struct fixture *fixture = *state;
    fake_engine_reply_ping(fixture->engine, "1.41");
    fake_engine_reply(fixture->engine, 204, NULL, NULL);

    assert_int_equal(berth_docker_container_kill(fixture->docker, "4f2a", "SIGTERM", &fixture->err),
                     0);
    assert_request(fixture, 1, "POST", "/v1.41/containers/4f2a/kill?signal=SIGTERM");
}

static void remove_treats_404_as_success(void **state)
{
    struct fixture *fixture = *state;
    fake_engine_reply_ping(fixture->engine, "1.41");
    fake_engine_reply(fixture->engine, 404, JSON_HEADERS,
                      "{\"message\":\"No such container: 4f2a\"}");
    fake_engine_reply(fixture->engine, 409, JSON_HEADERS,
                      "{\"message\":\"removal of container 4f2a is already in progress\"}");

    assert_int_equal(berth_docker_container_remove(fixture->docker, "4f2a", &fixture->err), 0);
    assert_request(fixture, 1, "DELETE", "/v1.41/containers/4f2a?force=1&v=1");
    assert_int_equal(berth_docker_container_remove(fixture->docker, "4f2a", &fixture->err), -1);
    assert_int_equal(fixture->err.code, BERTH_E_CONFLICT);
}

static void list_escapes_filters(void **state)
{
    struct fixture *fixture = *state;
    fake_engine_reply_ping(fixture->engine, "1.41");
    fake_engine_reply(fixture->engine, 200, JSON_HEADERS, "[]");
    json_t *reply = NULL;

    assert_int_equal(berth_docker_container_list(fixture->docker,
                                                 "{\"label\":[\"berth.alloc=a1\"]}", &reply,
                                                 &fixture->err),
                     0);
    assert_true(json_is_array(reply));
    assert_request(fixture, 1, "GET",
                   "/v1.41/containers/json?all=1&filters=%7B%22label%22%3A%5B%22berth.alloc%"
                   "3Da1%22%5D%7D");
    json_decref(reply);
}

static void empty_id_is_invalid(void **state)
{
    struct fixture *fixture = *state;

    assert_int_equal(berth_docker_container_start(fixture->docker, "", &fixture->err), -1);
    assert_int_equal(fixture->err.code, BERTH_E_INVALID);
    assert_int_equal(fake_engine_request_count(fixture->engine), 0);
}

/* --- Logs --- */

struct output_record {
    berth_buf stdout_text;
    berth_buf stderr_text;
};

static void record_output(void *user_data, int stream, const char *data, size_t length)
{
    struct output_record *record = user_data;
    berth_buf_append(stream == 2 ? &record->stderr_text : &record->stdout_text, data, length, NULL);
}

static void logs_demultiplexed_across_chunks(void **state)
{
    struct fixture *fixture = *state;
    /* Frames "out\n" (stdout), "err\n" (stderr) and "more out\n" (stdout),
     * cut inside headers and payloads. */
    static const char stream[] = "\x01\0\0\0\0\0\0\x04out\n"
                                 "\x02\0\0\0\0\0\0\x04"
                                 "err\n"
                                 "\x01\0\0\0\0\0\0\x09more out\n";
    const size_t cuts[] = {3, 10, 14, 21, 27, sizeof(stream) - 1};
    const char *pieces[6];
    size_t lengths[6];
    size_t start = 0;
    for (size_t i = 0; i < 6; i++) {
        pieces[i] = stream + start;
        lengths[i] = cuts[i] - start;
        start = cuts[i];
    }
    fake_engine_reply_ping(fixture->engine, "1.41");
    fake_engine_reply_chunks(fixture->engine, 200,
                             "Content-Type: application/vnd.docker.multiplexed-stream\r\n", pieces,
                             lengths, 6);
    struct output_record record;
    berth_buf_init(&record.stdout_text, 4096);
    berth_buf_init(&record.stderr_text, 4096);
    berth_docker_logs_options options = {.follow = true, .since = 5};

    assert_int_equal(berth_docker_container_logs(fixture->docker, "4f2a", &options, record_output,
                                                 &record, &fixture->err),
                     0);
    assert_string_equal(record.stdout_text.data, "out\nmore out\n");
    assert_string_equal(record.stderr_text.data, "err\n");
    assert_request(fixture, 1, "GET",
                   "/v1.41/containers/4f2a/logs?stdout=1&stderr=1&follow=1&since=5");
    berth_buf_free(&record.stdout_text);
    berth_buf_free(&record.stderr_text);
}

static void logs_tty_stream_is_raw(void **state)
{
    struct fixture *fixture = *state;
    fake_engine_reply_ping(fixture->engine, "1.41");
    fake_engine_reply(fixture->engine, 200, "Content-Type: application/vnd.docker.raw-stream\r\n",
                      "\x01 raw tty text\n");
    struct output_record record;
    berth_buf_init(&record.stdout_text, 4096);
    berth_buf_init(&record.stderr_text, 4096);
    berth_docker_logs_options options = {.tty = true};

    assert_int_equal(berth_docker_container_logs(fixture->docker, "4f2a", &options, record_output,
                                                 &record, &fixture->err),
                     0);
    assert_string_equal(record.stdout_text.data, "\x01 raw tty text\n");
    assert_null(record.stderr_text.data);
    assert_request(fixture, 1, "GET", "/v1.41/containers/4f2a/logs?stdout=1&stderr=1");
    berth_buf_free(&record.stdout_text);
    berth_buf_free(&record.stderr_text);
}

static void logs_truncated_frame_fails(void **state)
{
    struct fixture *fixture = *state;
    const char *pieces[] = {"\x01\0\0\0\0\0\0\x08half"};
    size_t lengths[] = {12};
    fake_engine_reply_ping(fixture->engine, "1.41");
    fake_engine_reply_chunks(fixture->engine, 200, NULL, pieces, lengths, 1);
    struct output_record record;
    berth_buf_init(&record.stdout_text, 4096);
    berth_buf_init(&record.stderr_text, 4096);

    assert_int_equal(berth_docker_container_logs(fixture->docker, "4f2a", NULL, record_output,
                                                 &record, &fixture->err),
                     -1);
    assert_int_equal(fixture->err.code, BERTH_E_ENGINE);
    assert_non_null(strstr(fixture->err.message, "ended inside a frame"));
    berth_buf_free(&record.stdout_text);
    berth_buf_free(&record.stderr_text);
}

#define FAKE_TEST(name) cmocka_unit_test_setup_teardown(name, fixture_setup, fixture_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        FAKE_TEST(negotiation_uses_engine_version),
        FAKE_TEST(negotiation_caps_at_maximum),
        FAKE_TEST(negotiation_rejects_old_engine),
        FAKE_TEST(negotiation_falls_back_to_version),
        FAKE_TEST(negotiation_happens_once),
        FAKE_TEST(negotiation_once_across_threads),
        FAKE_TEST(error_404_message),
        FAKE_TEST(error_409_conflict_on_create),
        FAKE_TEST(error_500_plain_text_body),
        FAKE_TEST(error_500_empty_body),
        FAKE_TEST(invalid_json_reply),
        FAKE_TEST(pull_sends_auth_and_query),
        FAKE_TEST(pull_without_auth_or_tag),
        FAKE_TEST(pull_error_line_fails),
        FAKE_TEST(pull_error_without_detail),
        FAKE_TEST(pull_lines_split_across_chunks),
        FAKE_TEST(pull_error_line_split_across_chunks),
        FAKE_TEST(pull_rejects_line_break_in_auth),
        FAKE_TEST(pull_cancelled_mid_stream),
        FAKE_TEST(pull_never_logs_auth),
        FAKE_TEST(load_missing_file),
        FAKE_TEST(load_streams_file_as_body),
        FAKE_TEST(load_error_line_fails),
        FAKE_TEST(create_returns_id),
        FAKE_TEST(start_already_started),
        FAKE_TEST(wait_returns_status_code),
        FAKE_TEST(wait_error_message_fails),
        FAKE_TEST(wait_without_status_code_fails),
        FAKE_TEST(stop_treats_304_and_404_as_success),
        FAKE_TEST(kill_sends_signal),
        FAKE_TEST(remove_treats_404_as_success),
        FAKE_TEST(list_escapes_filters),
        FAKE_TEST(empty_id_is_invalid),
        FAKE_TEST(logs_demultiplexed_across_chunks),
        FAKE_TEST(logs_tty_stream_is_raw),
        FAKE_TEST(logs_truncated_frame_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
