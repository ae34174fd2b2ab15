/* The HTTP API server against a fake backend, over real HTTP with
 * libcurl: every route, every error class, bad bodies, log reading in
 * plain and framed modes with following, and concurrent requests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <jansson.h>

#include "api/api.h"
#include "api/client.h"
#include "api/internal.h"
#include "core/util.h"

/* --- Fake backend ---------------------------------------------------------- */

typedef struct fake_backend {
    pthread_mutex_t lock;
    json_t *jobs;    /* id -> job object */
    char log_dir[64];
    atomic_bool running;
    atomic_int running_calls;
    atomic_int register_calls;
} fake_backend;

static int fake_register_job(void *context, const json_t *job, json_t **reply, berth_error *err)
{
    fake_backend *fake = context;
    atomic_fetch_add(&fake->register_calls, 1);
    json_t *id = json_object_get(job, "ID");
    if (!json_is_string(id))
        return berth_error_set(err, BERTH_E_INVALID, "job ID must be a string");
    if (strcmp(json_string_value(id), "explode") == 0)
        return berth_error_set(err, BERTH_E_IO, "state database is read-only");
    pthread_mutex_lock(&fake->lock);
    json_object_set_new(fake->jobs, json_string_value(id), json_deep_copy(job));
    pthread_mutex_unlock(&fake->lock);
    *reply = json_pack("{s:s, s:i, s:s}", "EvalID", "eval-1", "JobModifyIndex", 7, "Warnings",
                       "");
    return 0;
}

static int fake_list_jobs(void *context, json_t **reply, berth_error *err)
{
    fake_backend *fake = context;
    json_t *list = json_array();
    pthread_mutex_lock(&fake->lock);
    const char *id;
    json_t *job;
    json_object_foreach(fake->jobs, id, job)
    {
        json_array_append_new(list, json_pack("{s:s, s:s}", "ID", id, "Status", "running"));
    }
    pthread_mutex_unlock(&fake->lock);
    *reply = list;
    return 0;
}

static int fake_get_job(void *context, const char *job_id, json_t **reply, berth_error *err)
{
    fake_backend *fake = context;
    pthread_mutex_lock(&fake->lock);
    json_t *job = json_object_get(fake->jobs, job_id);
    *reply = job != NULL ? json_deep_copy(job) : NULL;
    pthread_mutex_unlock(&fake->lock);
    if (*reply == NULL)
        return berth_error_set(err, BERTH_E_NOT_FOUND, "job \"%s\" not found", job_id);
    return 0;
}

static int fake_stop_job(void *context, const char *job_id, json_t **reply, berth_error *err)
{
    fake_backend *fake = context;
    pthread_mutex_lock(&fake->lock);
    int removed = json_object_del(fake->jobs, job_id);
    pthread_mutex_unlock(&fake->lock);
    if (removed < 0)
        return berth_error_set(err, BERTH_E_NOT_FOUND, "job \"%s\" not found", job_id);
    *reply = json_pack("{s:s, s:i}", "EvalID", "eval-2", "JobModifyIndex", 8);
    return 0;
}

/* Job "web" always has allocation "a1", registered or not; other
 * registered jobs have it too. */
static int fake_job_allocations(void *context, const char *job_id, json_t **reply,
                                berth_error *err)
{
    fake_backend *fake = context;
    pthread_mutex_lock(&fake->lock);
    bool known = strcmp(job_id, "web") == 0 || json_object_get(fake->jobs, job_id) != NULL;
    pthread_mutex_unlock(&fake->lock);
    if (!known)
        return berth_error_set(err, BERTH_E_NOT_FOUND, "job \"%s\" not found", job_id);
    *reply = json_pack("[{s:s, s:s}]", "ID", "a1", "JobID", job_id);
    return 0;
}

static int fake_get_allocation(void *context, const char *alloc_id, json_t **reply,
                               berth_error *err)
{
    if (strcmp(alloc_id, "a1") != 0)
        return berth_error_set(err, BERTH_E_NOT_FOUND, "allocation \"%s\" not found", alloc_id);
    *reply = json_pack("{s:s, s:{s:{s:s}}}", "ID", "a1", "TaskStates", "t", "State", "running");
    return 0;
}

static int fake_allocation_stats(void *context, const char *alloc_id, json_t **reply,
                                 berth_error *err)
{
    if (strcmp(alloc_id, "a1") != 0)
        return berth_error_set(err, BERTH_E_NOT_FOUND, "allocation \"%s\" not found", alloc_id);
    *reply = json_pack("{s:{s:{s:i}}}", "ResourceUsage", "MemoryStats", "RSS", 4096);
    return 0;
}

/* Allocation "a1" has task "t" whose files are LOG_DIR/t.STREAM.N, listed
 * in order; allocation "broken" fails with an internal error. */
static int fake_log_files(void *context, const char *alloc_id, const char *task,
                          const char *stream, char ***paths, size_t *count, berth_error *err)
{
    fake_backend *fake = context;
    if (strcmp(alloc_id, "broken") == 0)
        return berth_error_set(err, BERTH_E_IO, "log folder unreadable");
    if (strcmp(alloc_id, "a1") != 0)
        return berth_error_set(err, BERTH_E_NOT_FOUND, "allocation \"%s\" not found", alloc_id);
    if (strcmp(task, "t") != 0)
        return berth_error_set(err, BERTH_E_NOT_FOUND, "task \"%s\" not found", task);
    char **list = berth_xcalloc(16, sizeof(char *));
    size_t n = 0;
    for (int i = 0; i < 16; i++) {
        char *path = berth_xasprintf("%s/t.%s.%d", fake->log_dir, stream, i);
        if (access(path, F_OK) != 0) {
            free(path);
            break;
        }
        list[n++] = path;
    }
    *paths = list;
    *count = n;
    return 0;
}

static bool fake_task_running(void *context, const char *alloc_id, const char *task)
{
    fake_backend *fake = context;
    atomic_fetch_add(&fake->running_calls, 1);
    return atomic_load(&fake->running);
}

static int fake_self(void *context, json_t **reply, berth_error *err)
{
    *reply = json_pack("{s:{s:s}}", "config", "Datacenter", "dc1");
    return 0;
}

static int fake_nodes(void *context, json_t **reply, berth_error *err)
{
    *reply = json_pack("[{s:s, s:s}]", "ID", "node-1", "Status", "ready");
    return 0;
}

/* --- Fixture and HTTP helpers ---------------------------------------------- */

typedef struct fixture {
    fake_backend fake;
    berth_api_server *server;
    char base_url[64];
} fixture;

static void write_file(const char *dir, const char *name, const char *text, const char *mode)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *file = fopen(path, mode);
    assert_non_null(file);
    fputs(text, file);
    fclose(file);
}

static int fixture_setup(void **state)
{
    fixture *f = berth_xcalloc(1, sizeof(*f));
    pthread_mutex_init(&f->fake.lock, NULL);
    f->fake.jobs = json_object();
    snprintf(f->fake.log_dir, sizeof(f->fake.log_dir), "/tmp/berth-api-test.XXXXXX");
    if (mkdtemp(f->fake.log_dir) == NULL)
        return -1;
    atomic_init(&f->fake.running, false);

    berth_api_backend backend = {
        .context = &f->fake,
        .register_job = fake_register_job,
        .list_jobs = fake_list_jobs,
        .get_job = fake_get_job,
        .stop_job = fake_stop_job,
        .job_allocations = fake_job_allocations,
        .get_allocation = fake_get_allocation,
        .allocation_stats = fake_allocation_stats,
        .log_files = fake_log_files,
        .task_running = fake_task_running,
        .self = fake_self,
        .nodes = fake_nodes,
    };
    berth_api_server_options options = {
        .bind_addr = "127.0.0.1", .port = 0, .log_poll_ms = 20, .heartbeat_ms = 100};
    berth_error err = BERTH_ERROR_INIT;
    if (berth_api_server_start(&options, &backend, &f->server, &err) < 0) {
        fprintf(stderr, "server start: %s\n", err.message);
        return -1;
    }
    snprintf(f->base_url, sizeof(f->base_url), "http://127.0.0.1:%d",
             berth_api_server_port(f->server));
    *state = f;
    return 0;
}

static int fixture_teardown(void **state)
{
    fixture *f = *state;
    berth_api_server_stop(f->server);
    char command[128];
    snprintf(command, sizeof(command), "rm -rf '%s'", f->fake.log_dir);
    if (system(command) != 0)
        fprintf(stderr, "could not remove %s\n", f->fake.log_dir);
    json_decref(f->fake.jobs);
    pthread_mutex_destroy(&f->fake.lock);
    free(f);
    return 0;
}

typedef struct reply {
    long status;
    char *body;
    size_t length;
    char content_type[128];
    char allow[128];
} reply;

static size_t collect_body(char *data, size_t size, size_t count, void *user_data)
{
    reply *r = user_data;
    size_t length = size * count;
    r->body = berth_xrealloc(r->body, r->length + length + 1);
    memcpy(r->body + r->length, data, length);
    r->length += length;
    r->body[r->length] = '\0';
    return length;
}

static size_t collect_header(char *data, size_t size, size_t count, void *user_data)
{
    reply *r = user_data;
    size_t length = size * count;
    if (strncasecmp(data, "Allow: ", 7) == 0) {
        size_t value_length = length - 7;
        while (value_length > 0 && (data[7 + value_length - 1] == '\r' ||
                                    data[7 + value_length - 1] == '\n'))
            value_length--;
        snprintf(r->allow, sizeof(r->allow), "%.*s", (int)value_length, data + 7);
    }
    return length;
}

/* Sends one request; body may be NULL. chunked sends the body with
 * Transfer-Encoding: chunked so that no length is declared. */
static reply *http_request_full(const fixture *f, const char *method, const char *path,
                                const char *body, size_t body_length, bool chunked)
{
    reply *r = berth_xcalloc(1, sizeof(*r));
    r->body = berth_xstrdup("");
    char url[1024];
    snprintf(url, sizeof(url), "%s%s", f->base_url, path);
    CURL *curl = curl_easy_init();
    assert_non_null(curl);
    struct curl_slist *headers = NULL;
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, collect_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 20L);
    if (body != NULL) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_length);
        headers = curl_slist_append(headers, "Content-Type: application/json");
        if (chunked)
            headers = curl_slist_append(headers, "Transfer-Encoding: chunked");
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    }
    CURLcode code = curl_easy_perform(curl);
    if (code != CURLE_OK)
        fail_msg("%s %s failed: %s", method, path, curl_easy_strerror(code));
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
    char *type = NULL;
    curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &type);
    snprintf(r->content_type, sizeof(r->content_type), "%s", type != NULL ? type : "");
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return r;
}

static reply *http_request(const fixture *f, const char *method, const char *path,
                           const char *body)
{
    return http_request_full(f, method, path, body, body != NULL ? strlen(body) : 0, false);
}

static void reply_free(reply *r)
{
    free(r->body);
    free(r);
}

static void assert_status(const reply *r, long status)
{
    if (r->status != status)
        fail_msg("expected HTTP %ld, got %ld with body: %s", status, r->status, r->body);
}

static void assert_body_contains(const reply *r, const char *text)
{
    if (strstr(r->body, text) == NULL)
        fail_msg("body does not contain \"%s\": %s", text, r->body);
}

static json_t *reply_json(const reply *r)
{
    json_error_t error;
    json_t *value = json_loads(r->body, JSON_DECODE_ANY, &error);
    if (value == NULL)
        fail_msg("reply is not JSON (%s): %s", error.text, r->body);
    return value;
}

/* Sends a request and checks its status and that the body contains text. */
static void expect(const fixture *f, const char *method, const char *path, const char *body,
                   long status, const char *text)
{
    reply *r = http_request(f, method, path, body);
    assert_status(r, status);
    assert_body_contains(r, text);
    reply_free(r);
}

static void register_web(const fixture *f)
{
    reply *r = http_request(f, "PUT", "/v1/jobs", "{\"Job\": {\"ID\": \"web\", \"Name\": \"web\"}}");
    assert_status(r, 200);
    reply_free(r);
}

/* --- Jobs ------------------------------------------------------------------ */

static void register_job_with_put(void **state)
{
    fixture *f = *state;
    reply *r = http_request(f, "PUT", "/v1/jobs", "{\"Job\": {\"ID\": \"web\"}}");
    assert_status(r, 200);
    assert_string_equal(r->content_type, "application/json");
    json_t *value = reply_json(r);
    assert_string_equal(json_string_value(json_object_get(value, "EvalID")), "eval-1");
    assert_int_equal(json_integer_value(json_object_get(value, "JobModifyIndex")), 7);
    json_decref(value);
    reply_free(r);
    assert_non_null(json_object_get(f->fake.jobs, "web"));
}

static void register_job_with_post(void **state)
{
    fixture *f = *state;
    expect(f, "POST", "/v1/jobs", "{\"Job\": {\"ID\": \"api\"}}", 200, "\"EvalID\"");
    assert_non_null(json_object_get(f->fake.jobs, "api"));
}

static void list_and_get_jobs(void **state)
{
    fixture *f = *state;
    register_web(f);
    reply *r = http_request(f, "GET", "/v1/jobs", NULL);
    assert_status(r, 200);
    json_t *list = reply_json(r);
    assert_true(json_is_array(list));
    assert_int_equal(json_array_size(list), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "ID")), "web");
    json_decref(list);
    reply_free(r);

    r = http_request(f, "GET", "/v1/job/web", NULL);
    assert_status(r, 200);
    json_t *job = reply_json(r);
    assert_string_equal(json_string_value(json_object_get(job, "Name")), "web");
    json_decref(job);
    reply_free(r);
}

static void job_ids_are_url_decoded(void **state)
{
    fixture *f = *state;
    expect(f, "PUT", "/v1/jobs", "{\"Job\": {\"ID\": \"my job\"}}", 200, "EvalID");
    expect(f, "GET", "/v1/job/my%20job", NULL, 200, "\"my job\"");
}

static void job_ids_may_contain_slashes(void **state)
{
    fixture *f = *state;
    expect(f, "PUT", "/v1/jobs", "{\"Job\": {\"ID\": \"team/web\"}}", 200, "EvalID");
    expect(f, "PUT", "/v1/jobs", "{\"Job\": {\"ID\": \"my job/with spaces\"}}", 200,
           "EvalID");

    /* libmicrohttpd decodes %2F to '/', so both spellings reach the job. */
    expect(f, "GET", "/v1/job/team%2Fweb", NULL, 200, "\"team/web\"");
    expect(f, "GET", "/v1/job/team/web", NULL, 200, "\"team/web\"");
    expect(f, "GET", "/v1/job/my%20job%2Fwith%20spaces", NULL, 200,
           "\"my job/with spaces\"");
    expect(f, "GET", "/v1/job/my%20job/with%20spaces", NULL, 200,
           "\"my job/with spaces\"");

    expect(f, "GET", "/v1/job/team%2Fweb/allocations", NULL, 200, "\"JobID\":\"team/web\"");
    expect(f, "GET", "/v1/job/team/web/allocations", NULL, 200, "\"JobID\":\"team/web\"");
    expect(f, "GET", "/v1/job/team/nope/allocations", NULL, 404, "job \"team/nope\" not found");
    expect(f, "GET", "/v1/job/team/web/summary", NULL, 404, "unknown API path");

    expect(f, "DELETE", "/v1/job/team%2Fweb", NULL, 200, "\"eval-2\"");
    assert_null(json_object_get(f->fake.jobs, "team/web"));
    expect(f, "DELETE", "/v1/job/my%20job/with%20spaces", NULL, 200, "\"eval-2\"");
    assert_null(json_object_get(f->fake.jobs, "my job/with spaces"));
    expect(f, "DELETE", "/v1/job/team/web", NULL, 404, "job \"team/web\" not found");
}

static void client_reaches_job_with_slash(void **state)
{
    fixture *f = *state;
    expect(f, "PUT", "/v1/jobs", "{\"Job\": {\"ID\": \"team/web\"}}", 200, "EvalID");
    berth_api_client *client = NULL;
    berth_error err = BERTH_ERROR_INIT;
    assert_int_equal(berth_api_client_open(f->base_url, &client, &err), 0);

    /* The path the CLI builds: the ID as one escaped segment. */
    char *escaped = berth_api_escape("team/web");
    char *path = berth_xasprintf("/v1/job/%s", escaped);
    json_t *response = NULL;
    assert_int_equal(berth_api_client_request(client, "GET", path, NULL, &response, &err), 0);
    assert_string_equal(json_string_value(json_object_get(response, "ID")), "team/web");
    json_decref(response);
    response = NULL;
    assert_int_equal(berth_api_client_request(client, "DELETE", path, NULL, &response, &err), 0);
    json_decref(response);
    assert_null(json_object_get(f->fake.jobs, "team/web"));

    free(path);
    free(escaped);
    berth_api_client_close(client);
}

static void unknown_job_is_404(void **state)
{
    fixture *f = *state;
    reply *r = http_request(f, "GET", "/v1/job/nope", NULL);
    assert_status(r, 404);
    assert_string_equal(r->content_type, "text/plain; charset=utf-8");
    assert_body_contains(r, "job \"nope\" not found");
    reply_free(r);
}

static void stop_job_with_delete(void **state)
{
    fixture *f = *state;
    register_web(f);
    expect(f, "DELETE", "/v1/job/web", NULL, 200, "\"eval-2\"");
    assert_null(json_object_get(f->fake.jobs, "web"));
    expect(f, "DELETE", "/v1/job/web", NULL, 404, "not found");
}

static void job_allocations_route(void **state)
{
    fixture *f = *state;
    reply *r = http_request(f, "GET", "/v1/job/web/allocations", NULL);
    assert_status(r, 200);
    json_t *list = reply_json(r);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "ID")), "a1");
    json_decref(list);
    reply_free(r);
    expect(f, "GET", "/v1/job/other/allocations", NULL, 404, "not found");
}

/* --- Allocations, node, agent ---------------------------------------------- */

static void allocation_and_stats_routes(void **state)
{
    fixture *f = *state;
    expect(f, "GET", "/v1/allocation/a1", NULL, 200, "\"TaskStates\"");
    expect(f, "GET", "/v1/allocation/zz", NULL, 404, "allocation \"zz\" not found");
    expect(f, "GET", "/v1/client/allocation/a1/stats", NULL, 200, "\"ResourceUsage\"");
    expect(f, "GET", "/v1/client/allocation/zz/stats", NULL, 404, "not found");
}

static void agent_self_and_nodes_routes(void **state)
{
    fixture *f = *state;
    expect(f, "GET", "/v1/agent/self", NULL, 200, "\"Datacenter\":\"dc1\"");
    expect(f, "GET", "/v1/nodes", NULL, 200, "\"node-1\"");
}

/* --- Routing and body errors ----------------------------------------------- */

static void unknown_routes_are_404(void **state)
{
    fixture *f = *state;
    const char *paths[] = {"/",
                           "/v2/jobs",
                           "/v1/",
                           "/v1/job/",
                           "/v1/job/web/versions",
                           "/v1/job//allocations",
                           "/v1/allocation/",
                           "/v1/allocation/a1/extra",
                           "/v1/client/allocation/a1",
                           "/v1/client/allocation/a1/other",
                           "/v1/client/fs/logs/",
                           "/v1/agent/selfish",
                           "/v1/nodesx"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        reply *r = http_request(f, "GET", paths[i], NULL);
        if (r->status != 404)
            fail_msg("GET %s: expected 404, got %ld", paths[i], r->status);
        assert_body_contains(r, "unknown API path");
        reply_free(r);
    }
}

static void wrong_methods_are_405(void **state)
{
    fixture *f = *state;
    struct {
        const char *method;
        const char *path;
        const char *allow;
    } cases[] = {
        {"DELETE", "/v1/jobs", "GET, HEAD, PUT, POST"},
        {"PATCH", "/v1/jobs", "GET, HEAD, PUT, POST"},
        {"POST", "/v1/job/web", "GET, HEAD, DELETE"},
        {"PUT", "/v1/job/web/allocations", "GET, HEAD"},
        {"DELETE", "/v1/allocation/a1", "GET, HEAD"},
        {"POST", "/v1/client/allocation/a1/stats", "GET, HEAD"},
        {"PUT", "/v1/client/fs/logs/a1", "GET, HEAD"},
        {"POST", "/v1/agent/self", "GET, HEAD"},
        {"DELETE", "/v1/nodes", "GET, HEAD"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        reply *r = http_request(f, cases[i].method, cases[i].path, NULL);
        if (r->status != 405)
            fail_msg("%s %s: expected 405, got %ld", cases[i].method, cases[i].path, r->status);
        assert_body_contains(r, "is not allowed");
        assert_string_equal(r->allow, cases[i].allow);
        reply_free(r);
    }
}

/* Sends request_text on a new connection and returns everything the
 * server sends until it closes the connection (at most 5 s). */
static char *raw_exchange(const fixture *f, const char *request_text)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct timeval timeout = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    struct sockaddr_in address = {.sin_family = AF_INET,
                                  .sin_port = htons((uint16_t)berth_api_server_port(f->server))};
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&address, sizeof(address)), 0);
    size_t length = strlen(request_text);
    assert_int_equal(write(fd, request_text, length), (ssize_t)length);

    size_t size = 0;
    char *received = berth_xstrdup("");
    char buffer[4096];
    ssize_t count;
    while ((count = read(fd, buffer, sizeof(buffer))) > 0) {
        received = berth_xrealloc(received, size + (size_t)count + 1);
        memcpy(received + size, buffer, (size_t)count);
        size += (size_t)count;
        received[size] = '\0';
    }
    if (count < 0)
        fail_msg("no end of reply within 5 s; received so far: %s", received);
    close(fd);
    return received;
}

static void head_works_on_get_routes(void **state)
{
    fixture *f = *state;
    register_web(f);
    write_file(f->fake.log_dir, "t.stdout.0", "one\n", "w");
    /* A following log request would stay open while the task runs. */
    atomic_store(&f->fake.running, true);
    const char *paths[] = {"/v1/jobs",
                           "/v1/job/web",
                           "/v1/job/web/allocations",
                           "/v1/allocation/a1",
                           "/v1/client/allocation/a1/stats",
                           "/v1/client/fs/logs/a1?task=t&type=stdout&plain=true",
                           "/v1/client/fs/logs/a1?task=t&type=stdout&plain=true&follow=true",
                           "/v1/agent/self",
                           "/v1/nodes"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        char *request_text = berth_xasprintf(
            "HEAD %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", paths[i]);
        char *received = raw_exchange(f, request_text);
        if (strncmp(received, "HTTP/1.1 200 ", 13) != 0)
            fail_msg("HEAD %s: expected HTTP 200, got: %s", paths[i], received);
        const char *end_of_headers = strstr(received, "\r\n\r\n");
        if (end_of_headers == NULL)
            fail_msg("HEAD %s: headers do not end: %s", paths[i], received);
        if (end_of_headers[4] != '\0')
            fail_msg("HEAD %s: reply has a body: %s", paths[i], end_of_headers + 4);
        free(received);
        free(request_text);
    }

    /* The headers are those of the GET reply, Content-Length included. */
    char *received =
        raw_exchange(f, "HEAD /v1/job/web HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    reply *r = http_request(f, "GET", "/v1/job/web", NULL);
    char *length_header = berth_xasprintf("Content-Length: %zu\r\n", r->length);
    if (strcasestr(received, length_header) == NULL)
        fail_msg("HEAD /v1/job/web: expected \"%s\" in: %s", length_header, received);
    assert_non_null(strcasestr(received, "Content-Type: application/json\r\n"));
    free(length_header);
    reply_free(r);
    free(received);

    /* Errors keep their status. */
    received = raw_exchange(
        f, "HEAD /v1/job/nope HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    assert_int_equal(strncmp(received, "HTTP/1.1 404 ", 13), 0);
    free(received);
}

static void malformed_json_is_400(void **state)
{
    fixture *f = *state;
    expect(f, "PUT", "/v1/jobs", "{\"Job\": {\"ID\": ", 400, "invalid JSON in request body");
    expect(f, "PUT", "/v1/jobs", "{\"Job\": }", 400, "line 1, column");
    expect(f, "PUT", "/v1/jobs", "not json", 400, "invalid JSON");
    expect(f, "PUT", "/v1/jobs", "", 400, "request body is empty");
    assert_int_equal(atomic_load(&f->fake.register_calls), 0);
}

static void wrong_body_types_are_400(void **state)
{
    fixture *f = *state;
    expect(f, "PUT", "/v1/jobs", "[1, 2]", 400, "must be a JSON object");
    expect(f, "PUT", "/v1/jobs", "\"Job\"", 400, "not a string");
    expect(f, "PUT", "/v1/jobs", "{}", 400, "has no \"Job\" object");
    expect(f, "PUT", "/v1/jobs", "{\"Job\": null}", 400, "has no \"Job\" object");
    expect(f, "PUT", "/v1/jobs", "{\"Job\": \"web\"}", 400, "\"Job\" must be a JSON object, not a string");
    expect(f, "PUT", "/v1/jobs", "{\"Job\": [1]}", 400, "not an array");
    expect(f, "PUT", "/v1/jobs", "{\"Job\": 3}", 400, "not a number");
    /* The backend's own checks: BERTH_E_INVALID is a 400 with its text. */
    expect(f, "PUT", "/v1/jobs", "{\"Job\": {\"ID\": 5}}", 400, "job ID must be a string");
}

static void backend_failure_is_500(void **state)
{
    fixture *f = *state;
    expect(f, "PUT", "/v1/jobs", "{\"Job\": {\"ID\": \"explode\"}}", 500,
           "state database is read-only");
    expect(f, "GET", "/v1/client/fs/logs/broken?task=t&type=stdout", NULL, 500,
           "log folder unreadable");
    /* The server keeps serving. */
    expect(f, "GET", "/v1/nodes", NULL, 200, "node-1");
}

static char *big_body(size_t size)
{
    char *body = berth_xmalloc(size + 1);
    memset(body, ' ', size);
    memcpy(body, "{\"Job\": {\"ID\": \"big\", \"Pad\": \"", 30);
    memcpy(body + size - 3, "\"}}", 3);
    body[size] = '\0';
    return body;
}

static void oversized_body_is_413(void **state)
{
    fixture *f = *state;
    char *body = big_body(BERTH_API_MAX_BODY + 1);
    reply *r = http_request_full(f, "PUT", "/v1/jobs", body, BERTH_API_MAX_BODY + 1, false);
    assert_status(r, 413);
    assert_body_contains(r, "larger than the limit");
    reply_free(r);

    /* Without a declared length the limit is checked while reading. */
    r = http_request_full(f, "PUT", "/v1/jobs", body, BERTH_API_MAX_BODY + 1, true);
    assert_status(r, 413);
    assert_body_contains(r, "larger than the limit");
    reply_free(r);
    free(body);
    assert_int_equal(atomic_load(&f->fake.register_calls), 0);

    /* A body at the limit is read, and the server keeps serving. */
    body = big_body(BERTH_API_MAX_BODY);
    r = http_request_full(f, "PUT", "/v1/jobs", body, BERTH_API_MAX_BODY, true);
    assert_status(r, 200);
    reply_free(r);
    free(body);
    expect(f, "GET", "/v1/job/big", NULL, 200, "\"big\"");
}

static void oversized_body_on_get_is_413(void **state)
{
    fixture *f = *state;
    char *body = big_body(BERTH_API_MAX_BODY + 10);
    reply *r = http_request_full(f, "GET", "/v1/nodes", body, BERTH_API_MAX_BODY + 10, true);
    assert_status(r, 413);
    reply_free(r);
    free(body);
    expect(f, "GET", "/v1/nodes", NULL, 200, "node-1");
}

/* --- Logs ------------------------------------------------------------------ */

static void write_two_log_files(const fixture *f)
{
    write_file(f->fake.log_dir, "t.stdout.0", "first\n", "w");
    write_file(f->fake.log_dir, "t.stdout.1", "second\n", "w");
    write_file(f->fake.log_dir, "t.stderr.0", "oops\n", "w");
}

static void logs_plain_reads_files_in_order(void **state)
{
    fixture *f = *state;
    write_two_log_files(f);
    reply *r = http_request(f, "GET", "/v1/client/fs/logs/a1?task=t&type=stdout&plain=true", NULL);
    assert_status(r, 200);
    assert_string_equal(r->body, "first\nsecond\n");
    reply_free(r);

    r = http_request(f, "GET", "/v1/client/fs/logs/a1?task=t&type=stderr&plain=1", NULL);
    assert_status(r, 200);
    assert_string_equal(r->body, "oops\n");
    reply_free(r);
}

static void logs_offset_from_start(void **state)
{
    fixture *f = *state;
    write_two_log_files(f);
    const struct {
        const char *query;
        const char *expected;
    } cases[] = {
        {"origin=start&offset=0", "first\nsecond\n"},
        {"offset=3", "st\nsecond\n"},
        {"origin=start&offset=6", "second\n"},
        {"origin=start&offset=8", "cond\n"},
        {"origin=start&offset=13", ""},
        {"origin=start&offset=500", ""},
        {"origin=end&offset=0", ""},
        {"origin=end&offset=4", "ond\n"},
        {"origin=end&offset=7", "second\n"},
        {"origin=end&offset=9", "t\nsecond\n"},
        {"origin=end&offset=500", "first\nsecond\n"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char path[256];
        snprintf(path, sizeof(path), "/v1/client/fs/logs/a1?task=t&type=stdout&plain=true&%s",
                 cases[i].query);
        reply *r = http_request(f, "GET", path, NULL);
        assert_status(r, 200);
        if (strcmp(r->body, cases[i].expected) != 0)
            fail_msg("%s: expected \"%s\", got \"%s\"", cases[i].query, cases[i].expected,
                     r->body);
        reply_free(r);
    }
}

static char *base64_decode(const char *text, size_t *length)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(text);
    char *out = berth_xmalloc(n + 1);
    size_t o = 0;
    uint32_t bits = 0;
    int count = 0;
    for (size_t i = 0; i < n && text[i] != '='; i++) {
        const char *at = strchr(alphabet, text[i]);
        assert_non_null(at);
        bits = bits << 6 | (uint32_t)(at - alphabet);
        count += 6;
        if (count >= 8) {
            count -= 8;
            out[o++] = (char)(bits >> count & 0xff);
        }
    }
    out[o] = '\0';
    *length = o;
    return out;
}

/* Decodes a framed reply: concatenates the data of every frame, counts
 * heartbeats and checks each frame's fields. */
static char *decode_frames(const char *body, int *heartbeats, json_t **frames_out)
{
    json_t *frames = json_array();
    char *data = berth_xstrdup("");
    size_t data_length = 0;
    const char *at = body;
    while (*at != '\0') {
        json_error_t error;
        json_t *frame = json_loads(at, JSON_DISABLE_EOF_CHECK, &error);
        if (frame == NULL)
            fail_msg("bad frame at \"%.40s\": %s", at, error.text);
        at += error.position;
        assert_true(json_is_object(frame));
        if (json_object_size(frame) == 0) {
            (*heartbeats)++;
        } else if (json_object_get(frame, "Data") != NULL) {
            assert_true(json_is_string(json_object_get(frame, "File")));
            assert_true(json_is_integer(json_object_get(frame, "Offset")));
            size_t length = 0;
            char *chunk = base64_decode(json_string_value(json_object_get(frame, "Data")), &length);
            data = berth_xrealloc(data, data_length + length + 1);
            memcpy(data + data_length, chunk, length);
            data_length += length;
            data[data_length] = '\0';
            free(chunk);
        }
        json_array_append_new(frames, frame);
    }
    if (frames_out != NULL)
        *frames_out = frames;
    else
        json_decref(frames);
    return data;
}

static void logs_framed_json(void **state)
{
    fixture *f = *state;
    write_two_log_files(f);
    reply *r = http_request(f, "GET", "/v1/client/fs/logs/a1?task=t&type=stdout&offset=2", NULL);
    assert_status(r, 200);
    assert_string_equal(r->content_type, "application/json");
    int heartbeats = 0;
    json_t *frames = NULL;
    char *data = decode_frames(r->body, &heartbeats, &frames);
    assert_string_equal(data, "rst\nsecond\n");
    assert_int_equal(json_array_size(frames), 2);
    json_t *first = json_array_get(frames, 0);
    assert_string_equal(json_string_value(json_object_get(first, "File")), "t.stdout.0");
    assert_int_equal(json_integer_value(json_object_get(first, "Offset")), 2);
    json_t *second = json_array_get(frames, 1);
    assert_string_equal(json_string_value(json_object_get(second, "File")), "t.stdout.1");
    assert_int_equal(json_integer_value(json_object_get(second, "Offset")), 0);
    json_decref(frames);
    free(data);
    reply_free(r);
}

static void logs_binary_data_framed(void **state)
{
    fixture *f = *state;
    char path[256];
    snprintf(path, sizeof(path), "%s/t.stdout.0", f->fake.log_dir);
    FILE *file = fopen(path, "wb");
    assert_non_null(file);
    unsigned char bytes[256];
    for (int i = 0; i < 256; i++)
        bytes[i] = (unsigned char)i;
    fwrite(bytes, 1, sizeof(bytes), file);
    fclose(file);
    reply *r = http_request(f, "GET", "/v1/client/fs/logs/a1?task=t&type=stdout&plain=false", NULL);
    assert_status(r, 200);
    int heartbeats = 0;
    json_t *frames = NULL;
    char *data = decode_frames(r->body, &heartbeats, &frames);
    json_t *frame = json_array_get(frames, 0);
    size_t length = 0;
    char *decoded = base64_decode(json_string_value(json_object_get(frame, "Data")), &length);
    assert_int_equal(length, 256);
    assert_memory_equal(decoded, bytes, 256);
    free(decoded);
    free(data);
    json_decref(frames);
    reply_free(r);
}

static void logs_bad_parameters_are_400(void **state)
{
    fixture *f = *state;
    const struct {
        const char *query;
        const char *reason;
    } cases[] = {
        {"type=stdout", "missing query parameter \"task\""},
        {"task=t", "missing query parameter \"type\""},
        {"task=t&type=stdin", "invalid value \"stdin\" for query parameter \"type\""},
        {"task=t&type=stdout&follow=maybe", "\"follow\"; use true or false"},
        {"task=t&type=stdout&plain=yes", "\"plain\"; use true or false"},
        {"task=t&type=stdout&origin=middle", "\"origin\"; use start or end"},
        {"task=t&type=stdout&offset=-1", "\"offset\""},
        {"task=t&type=stdout&offset=abc", "\"offset\""},
        {"task=t&type=stdout&offset=99999999999999999999", "\"offset\""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char path[256];
        snprintf(path, sizeof(path), "/v1/client/fs/logs/a1?%s", cases[i].query);
        reply *r = http_request(f, "GET", path, NULL);
        if (r->status != 400)
            fail_msg("%s: expected 400, got %ld: %s", cases[i].query, r->status, r->body);
        assert_body_contains(r, cases[i].reason);
        reply_free(r);
    }
}

static void logs_unknown_allocation_or_task_is_404(void **state)
{
    fixture *f = *state;
    expect(f, "GET", "/v1/client/fs/logs/zz?task=t&type=stdout", NULL, 404,
           "allocation \"zz\" not found");
    expect(f, "GET", "/v1/client/fs/logs/a1?task=nope&type=stdout", NULL, 404,
           "task \"nope\" not found");
}

typedef struct writer_args {
    fixture *f;
} writer_args;

/* Appends to the log while a follower reads: more data in the first file,
 * then a rotated second file, then the task stops. */
static void *write_while_following(void *arg)
{
    fixture *f = ((writer_args *)arg)->f;
    usleep(150 * 1000);
    write_file(f->fake.log_dir, "t.stdout.0", "two\n", "a");
    usleep(150 * 1000);
    write_file(f->fake.log_dir, "t.stdout.1", "three\n", "w");
    usleep(150 * 1000);
    write_file(f->fake.log_dir, "t.stdout.1", "four\n", "a");
    atomic_store(&f->fake.running, false);
    return NULL;
}

/* Truncates the log while a follower reads, writes anew, then stops the
 * task. */
static void *truncate_while_following(void *arg)
{
    fixture *f = arg;
    usleep(150 * 1000);
    write_file(f->fake.log_dir, "t.stdout.0", "new\n", "w");
    usleep(150 * 1000);
    atomic_store(&f->fake.running, false);
    return NULL;
}

static void logs_follow_until_task_stops(void **state)
{
    fixture *f = *state;
    write_file(f->fake.log_dir, "t.stdout.0", "one\n", "w");
    atomic_store(&f->fake.running, true);
    writer_args args = {f};
    pthread_t writer;
    assert_int_equal(pthread_create(&writer, NULL, write_while_following, &args), 0);
    reply *r = http_request(f, "GET", "/v1/client/fs/logs/a1?task=t&type=stdout&plain=true&follow=true", NULL);
    pthread_join(writer, NULL);
    assert_status(r, 200);
    assert_string_equal(r->body, "one\ntwo\nthree\nfour\n");
    reply_free(r);
}

static void logs_follow_framed_sends_heartbeats(void **state)
{
    fixture *f = *state;
    write_file(f->fake.log_dir, "t.stdout.0", "one\n", "w");
    atomic_store(&f->fake.running, true);
    writer_args args = {f};
    pthread_t writer;
    assert_int_equal(pthread_create(&writer, NULL, write_while_following, &args), 0);
    reply *r = http_request(f, "GET", "/v1/client/fs/logs/a1?task=t&type=stdout&follow=true", NULL);
    pthread_join(writer, NULL);
    assert_status(r, 200);
    int heartbeats = 0;
    char *data = decode_frames(r->body, &heartbeats, NULL);
    assert_string_equal(data, "one\ntwo\nthree\nfour\n");
    /* The writer pauses 150 ms between writes and the fixture's heartbeat
     * interval is 100 ms. */
    assert_true(heartbeats >= 1);
    free(data);
    reply_free(r);
}

static void logs_follow_waits_for_first_file(void **state)
{
    fixture *f = *state;
    atomic_store(&f->fake.running, true);
    writer_args args = {f};
    pthread_t writer;
    assert_int_equal(pthread_create(&writer, NULL, write_while_following, &args), 0);
    reply *r = http_request(f, "GET", "/v1/client/fs/logs/a1?task=t&type=stdout&plain=true&follow=true&origin=end", NULL);
    pthread_join(writer, NULL);
    assert_status(r, 200);
    assert_string_equal(r->body, "two\nthree\nfour\n");
    reply_free(r);
}

static void logs_follow_stopped_task_ends(void **state)
{
    fixture *f = *state;
    write_file(f->fake.log_dir, "t.stdout.0", "0123456789\n", "w");
    atomic_store(&f->fake.running, false);
    /* A stopped task is read to its end and the stream closes. */
    reply *r = http_request(f, "GET", "/v1/client/fs/logs/a1?task=t&type=stdout&plain=true&follow=true&origin=end&offset=3", NULL);
    assert_status(r, 200);
    assert_string_equal(r->body, "89\n");
    reply_free(r);
}

/* Opens a raw connection, starts a following request and closes the
 * socket without reading it all. */
static void start_and_abandon_follow(const fixture *f)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in address = {.sin_family = AF_INET,
                                  .sin_port = htons((uint16_t)berth_api_server_port(f->server))};
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&address, sizeof(address)), 0);
    const char request[] = "GET /v1/client/fs/logs/a1?task=t&type=stdout&plain=true&follow=true "
                           "HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    assert_int_equal(write(fd, request, sizeof(request) - 1), (ssize_t)(sizeof(request) - 1));
    char buffer[512];
    assert_true(read(fd, buffer, sizeof(buffer)) > 0);
    close(fd);
}

static void logs_follow_stops_when_client_leaves(void **state)
{
    fixture *f = *state;
    write_file(f->fake.log_dir, "t.stdout.0", "one\n", "w");
    atomic_store(&f->fake.running, true);
    start_and_abandon_follow(f);
    /* The follower notices within a few poll intervals (20 ms each) and
     * stops asking whether the task runs. */
    usleep(300 * 1000);
    int calls = atomic_load(&f->fake.running_calls);
    usleep(300 * 1000);
    assert_int_equal(atomic_load(&f->fake.running_calls), calls);
    expect(f, "GET", "/v1/nodes", NULL, 200, "node-1");
}

static void server_stop_ends_open_followers(void **state)
{
    fixture *f = *state;
    write_file(f->fake.log_dir, "t.stdout.0", "one\n", "w");
    atomic_store(&f->fake.running, true);
    /* The teardown stops the server while this follower is open; it must
     * return instead of waiting for the task. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in address = {.sin_family = AF_INET,
                                  .sin_port = htons((uint16_t)berth_api_server_port(f->server))};
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&address, sizeof(address)), 0);
    const char request[] = "GET /v1/client/fs/logs/a1?task=t&type=stdout&plain=true&follow=true "
                           "HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    assert_int_equal(write(fd, request, sizeof(request) - 1), (ssize_t)(sizeof(request) - 1));
    char buffer[512];
    assert_true(read(fd, buffer, sizeof(buffer)) > 0);
    int64_t start = berth_now_ms();
    berth_api_server_stop(f->server);
    f->server = NULL;
    assert_true(berth_now_ms() - start < 5000);
    close(fd);
}

/* --- Concurrency ----------------------------------------------------------- */

typedef struct worker {
    fixture *f;
    int index;
    int failures;
} worker;

static void *run_requests(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < 20; i++) {
        char body[128];
        snprintf(body, sizeof(body), "{\"Job\": {\"ID\": \"job-%d-%d\"}}", w->index, i);
        reply *r = http_request(w->f, "PUT", "/v1/jobs", body);
        if (r->status != 200)
            w->failures++;
        reply_free(r);
        r = http_request(w->f, "GET", "/v1/jobs", NULL);
        if (r->status != 200)
            w->failures++;
        reply_free(r);
        r = http_request(w->f, "PUT", "/v1/jobs", "{\"Job\": ");
        if (r->status != 400)
            w->failures++;
        reply_free(r);
    }
    return NULL;
}

static void concurrent_requests(void **state)
{
    fixture *f = *state;
    /* A follower keeps one connection open for the whole test. */
    write_file(f->fake.log_dir, "t.stdout.0", "one\n", "w");
    atomic_store(&f->fake.running, true);
    start_and_abandon_follow(f);

    enum { WORKERS = 8 };
    pthread_t threads[WORKERS];
    worker workers[WORKERS];
    for (int i = 0; i < WORKERS; i++) {
        workers[i] = (worker){f, i, 0};
        assert_int_equal(pthread_create(&threads[i], NULL, run_requests, &workers[i]), 0);
    }
    for (int i = 0; i < WORKERS; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(workers[i].failures, 0);
    }
    assert_int_equal(json_object_size(f->fake.jobs), WORKERS * 20);
}

/* --- Server options and encoding ------------------------------------------- */

static void start_rejects_bad_address(void **state)
{
    berth_api_backend backend = {0};
    berth_api_server *server = NULL;
    berth_error err = BERTH_ERROR_INIT;
    berth_api_server_options options = {.bind_addr = "localhost", .port = 0};
    assert_int_equal(berth_api_server_start(&options, &backend, &server, &err), -1);
    assert_int_equal(err.code, BERTH_E_INVALID);
    assert_non_null(strstr(err.message, "invalid bind address \"localhost\""));

    options = (berth_api_server_options){.bind_addr = "127.0.0.1", .port = 70000};
    assert_int_equal(berth_api_server_start(&options, &backend, &server, &err), -1);
    assert_non_null(strstr(err.message, "invalid HTTP port 70000"));
}

static void start_fails_on_busy_port(void **state)
{
    fixture *f = *state;
    berth_api_server *server = NULL;
    berth_error err = BERTH_ERROR_INIT;
    berth_api_backend backend = {0};
    berth_api_server_options options = {.bind_addr = "127.0.0.1",
                                        .port = berth_api_server_port(f->server)};
    assert_int_equal(berth_api_server_start(&options, &backend, &server, &err), -1);
    assert_non_null(strstr(err.message, "is the port in use"));
}

static void base64_matches_rfc4648_vectors(void **state)
{
    const char *cases[][2] = {{"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},
                              {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
                              {"foobar", "Zm9vYmFy"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *encoded = berth_api_base64((const unsigned char *)cases[i][0], strlen(cases[i][0]));
        assert_string_equal(encoded, cases[i][1]);
        free(encoded);
    }
}

/* --- Client ---------------------------------------------------------------- */

static int append_to_buffer(void *user_data, const char *data, size_t length)
{
    char **text = user_data;
    size_t old = strlen(*text);
    *text = berth_xrealloc(*text, old + length + 1);
    memcpy(*text + old, data, length);
    (*text)[old + length] = '\0';
    return 0;
}

static void client_round_trip(void **state)
{
    fixture *f = *state;
    berth_api_client *client = NULL;
    berth_error err = BERTH_ERROR_INIT;
    char *address = berth_xasprintf("%s/", f->base_url);
    assert_int_equal(berth_api_client_open(address, &client, &err), 0);
    free(address);

    json_t *body = json_pack("{s:{s:s}}", "Job", "ID", "web");
    json_t *response = NULL;
    assert_int_equal(berth_api_client_request(client, "PUT", "/v1/jobs", body, &response, &err), 0);
    assert_string_equal(json_string_value(json_object_get(response, "EvalID")), "eval-1");
    json_decref(response);
    json_decref(body);

    response = NULL;
    assert_int_equal(berth_api_client_request(client, "GET", "/v1/job/nope", NULL, &response, &err),
                     -1);
    assert_int_equal(err.code, BERTH_E_NOT_FOUND);
    assert_string_equal(err.message, "job \"nope\" not found");
    assert_null(response);

    assert_int_equal(berth_api_client_request(client, "PATCH", "/v1/jobs", NULL, &response, &err),
                     -1);
    assert_int_equal(err.code, BERTH_E_INVALID);
    assert_non_null(strstr(err.message, "is not allowed"));

    write_file(f->fake.log_dir, "t.stdout.0", "streamed\n", "w");
    char *text = berth_xstrdup("");
    assert_int_equal(berth_api_client_stream(client,
                                             "/v1/client/fs/logs/a1?task=t&type=stdout&plain=true",
                                             append_to_buffer, &text, &err),
                     0);
    assert_string_equal(text, "streamed\n");
    free(text);
    berth_api_client_close(client);
}

/* A one-shot HTTP server that sends reply_text to the first request and
 * closes the connection, cutting a streamed reply short. */
typedef struct cut_server {
    int listener;
    int port;
    const char *reply_text;
} cut_server;

static void *serve_cut_reply(void *argument)
{
    cut_server *server = argument;
    int fd = accept(server->listener, NULL, NULL);
    if (fd < 0)
        return NULL;
    char request_text[4096];
    ssize_t count = read(fd, request_text, sizeof(request_text));
    (void)count;
    size_t length = strlen(server->reply_text);
    if (write(fd, server->reply_text, length) != (ssize_t)length)
        fprintf(stderr, "cut server: short write\n");
    close(fd);
    return NULL;
}

static void start_cut_server(cut_server *server, const char *reply_text)
{
    server->reply_text = reply_text;
    server->listener = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(server->listener >= 0);
    struct sockaddr_in address = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    assert_int_equal(bind(server->listener, (struct sockaddr *)&address, sizeof(address)), 0);
    assert_int_equal(listen(server->listener, 1), 0);
    socklen_t address_length = sizeof(address);
    assert_int_equal(
        getsockname(server->listener, (struct sockaddr *)&address, &address_length), 0);
    server->port = ntohs(address.sin_port);
}

static void client_stream_cut_short(void **state)
{
    const char *replies[] = {
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nhello\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhello\n",
    };
    for (size_t i = 0; i < sizeof(replies) / sizeof(replies[0]); i++) {
        cut_server server;
        start_cut_server(&server, replies[i]);
        pthread_t thread;
        assert_int_equal(pthread_create(&thread, NULL, serve_cut_reply, &server), 0);

        char *address = berth_xasprintf("http://127.0.0.1:%d", server.port);
        berth_api_client *client = NULL;
        berth_error err = BERTH_ERROR_INIT;
        assert_int_equal(berth_api_client_open(address, &client, &err), 0);
        char *text = berth_xstrdup("");
        int rc = berth_api_client_stream(client, "/v1/client/fs/logs/a1?task=t&type=stdout",
                                         append_to_buffer, &text, &err);
        if (rc != 1)
            fail_msg("reply %zu: expected 1 for a reply cut short, got %d: %s", i, rc,
                     err.message);
        assert_string_equal(text, "hello\n");

        pthread_join(thread, NULL);
        close(server.listener);
        free(text);
        free(address);
        berth_api_client_close(client);
    }
}

static void client_reports_unreachable_agent(void **state)
{
    fixture *f = *state;
    int port = berth_api_server_port(f->server);
    berth_api_server_stop(f->server);
    f->server = NULL;

    berth_api_client *client = NULL;
    berth_error err = BERTH_ERROR_INIT;
    char *address = berth_xasprintf("http://127.0.0.1:%d", port);
    assert_int_equal(berth_api_client_open(address, &client, &err), 0);
    json_t *response = NULL;
    assert_int_equal(berth_api_client_request(client, "GET", "/v1/nodes", NULL, &response, &err), -1);
    assert_int_equal(err.code, BERTH_E_UNREACHABLE);
    char *expected = berth_xasprintf("cannot reach the berth agent at %s: ", address);
    assert_non_null(strstr(err.message, expected));
    free(expected);
    free(address);
    berth_api_client_close(client);

    assert_int_equal(berth_api_client_open("127.0.0.1:4646", &client, &err), -1);
    assert_non_null(strstr(err.message, "invalid agent address"));
}

static void client_escapes_path_segments(void **state)
{
    char *escaped = berth_api_escape("my job/1?x=y&z");
    assert_string_equal(escaped, "my%20job%2F1%3Fx%3Dy%26z");
    free(escaped);
}

static void logs_truncated_file_restarts(void **state)
{
    fixture *f = *state;
    write_file(f->fake.log_dir, "t.stdout.0", "0123456789\n", "w");
    atomic_store(&f->fake.running, true);
    pthread_t writer;
    assert_int_equal(pthread_create(&writer, NULL, truncate_while_following, f), 0);
    reply *r = http_request(f, "GET", "/v1/client/fs/logs/a1?task=t&type=stdout&follow=true", NULL);
    pthread_join(writer, NULL);
    assert_status(r, 200);
    int heartbeats = 0;
    json_t *frames = NULL;
    char *data = decode_frames(r->body, &heartbeats, &frames);
    assert_string_equal(data, "0123456789\nnew\n");
    bool truncation_seen = false;
    size_t i;
    json_t *frame;
    json_array_foreach(frames, i, frame)
    {
        const char *event = json_string_value(json_object_get(frame, "FileEvent"));
        if (event != NULL && strcmp(event, "file truncated") == 0)
            truncation_seen = true;
    }
    assert_true(truncation_seen);
    json_decref(frames);
    free(data);
    reply_free(r);
}

#define FIXTURE_TEST(name) cmocka_unit_test_setup_teardown(name, fixture_setup, fixture_teardown)

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        FIXTURE_TEST(register_job_with_put),
        FIXTURE_TEST(register_job_with_post),
        FIXTURE_TEST(list_and_get_jobs),
        FIXTURE_TEST(job_ids_are_url_decoded),
        FIXTURE_TEST(job_ids_may_contain_slashes),
        FIXTURE_TEST(client_reaches_job_with_slash),
        FIXTURE_TEST(unknown_job_is_404),
        FIXTURE_TEST(stop_job_with_delete),
        FIXTURE_TEST(job_allocations_route),
        FIXTURE_TEST(allocation_and_stats_routes),
        FIXTURE_TEST(agent_self_and_nodes_routes),
        FIXTURE_TEST(unknown_routes_are_404),
        FIXTURE_TEST(wrong_methods_are_405),
        FIXTURE_TEST(head_works_on_get_routes),
        FIXTURE_TEST(malformed_json_is_400),
        FIXTURE_TEST(wrong_body_types_are_400),
        FIXTURE_TEST(backend_failure_is_500),
        FIXTURE_TEST(oversized_body_is_413),
        FIXTURE_TEST(oversized_body_on_get_is_413),
        FIXTURE_TEST(logs_plain_reads_files_in_order),
        FIXTURE_TEST(logs_offset_from_start),
        FIXTURE_TEST(logs_framed_json),
        FIXTURE_TEST(logs_binary_data_framed),
        FIXTURE_TEST(logs_bad_parameters_are_400),
        FIXTURE_TEST(logs_unknown_allocation_or_task_is_404),
        FIXTURE_TEST(logs_follow_until_task_stops),
        FIXTURE_TEST(logs_follow_framed_sends_heartbeats),
        FIXTURE_TEST(logs_follow_waits_for_first_file),
        FIXTURE_TEST(logs_follow_stopped_task_ends),
        FIXTURE_TEST(logs_follow_stops_when_client_leaves),
        FIXTURE_TEST(server_stop_ends_open_followers),
        FIXTURE_TEST(concurrent_requests),
        cmocka_unit_test(start_rejects_bad_address),
        FIXTURE_TEST(start_fails_on_busy_port),
        cmocka_unit_test(base64_matches_rfc4648_vectors),
        FIXTURE_TEST(logs_truncated_file_restarts),
        FIXTURE_TEST(client_round_trip),
        FIXTURE_TEST(client_reports_unreachable_agent),
        cmocka_unit_test(client_stream_cut_short),
        cmocka_unit_test(client_escapes_path_segments),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return failed;
}
