/* The HTTP server: request bodies, routing, replies and error codes. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "api/internal.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/util.h"

/* Idle keep-alive connections are closed after this many seconds. A log
 * follower waiting for output is not idle: it waits inside the content
 * callback, where the timeout does not apply. */
#define CONNECTION_TIMEOUT_SECONDS 60
#define CONNECTION_LIMIT 256

/* One request's state across the calls libmicrohttpd makes for it. */
typedef struct request_state {
    berth_buf body;
    bool too_large;
} request_state;

typedef struct request {
    berth_api_server *server;
    struct MHD_Connection *connection;
    const char *method;
    const char *url;
    request_state *state;
} request;

static enum MHD_Result queue(const request *req, unsigned int status,
                             struct MHD_Response *response, const char *error_text)
{
    char status_text[16];
    snprintf(status_text, sizeof(status_text), "%u", status);
    berth_log(BERTH_LOG_DEBUG, "http request", "method", req->method, "path", req->url, "status",
              status_text, NULL);
    if (status >= 500)
        berth_log(BERTH_LOG_ERROR, "http request failed", "method", req->method, "path",
                  req->url, "status", status_text, "error", error_text ? error_text : "", NULL);
    if (response == NULL)
        return MHD_NO;
    enum MHD_Result result = MHD_queue_response(req->connection, status, response);
    MHD_destroy_response(response);
    return result;
}

/* Sends a plain-text error body, as Nomad's agent does. */
static enum MHD_Result send_error(const request *req, unsigned int status, const char *text)
{
    size_t length = strlen(text);
    char *body = berth_xmalloc(length + 2);
    memcpy(body, text, length);
    body[length] = '\n';
    body[length + 1] = '\0';
    struct MHD_Response *response =
        MHD_create_response_from_buffer(length + 1, body, MHD_RESPMEM_MUST_FREE);
    if (response != NULL)
        MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                                "text/plain; charset=utf-8");
    else
        free(body);
    return queue(req, status, response, text);
}

static unsigned int status_for_error(const berth_error *err)
{
    switch (err->code) {
    case BERTH_E_INVALID: return MHD_HTTP_BAD_REQUEST;
    case BERTH_E_NOT_FOUND: return MHD_HTTP_NOT_FOUND;
    default: return MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
}

static enum MHD_Result send_backend_error(const request *req, const berth_error *err)
{
    const char *text = err->message[0] != '\0' ? err->message : berth_error_code_name(err->code);
    return send_error(req, status_for_error(err), text);
}

/* Sends reply (which this takes over) as a 200 JSON body. */
static enum MHD_Result send_json(const request *req, json_t *reply)
{
    char *text = json_dumps(reply, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(reply);
    if (text == NULL)
        return send_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "could not encode the reply");
    struct MHD_Response *response =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (response == NULL) {
        free(text);
        return queue(req, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, "could not create a response");
    }
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    return queue(req, MHD_HTTP_OK, response, NULL);
}

/* Sends the result of a backend query: its reply, or its error. */
static enum MHD_Result send_result(const request *req, int rc, json_t *reply,
                                   const berth_error *err)
{
    if (rc < 0) {
        json_decref(reply);
        return send_backend_error(req, err);
    }
    if (reply == NULL)
        return send_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "the backend returned no reply");
    return send_json(req, reply);
}

static enum MHD_Result send_method_not_allowed(const request *req, const char *allowed)
{
    char text[256];
    snprintf(text, sizeof(text), "method %s is not allowed on %s; use %s", req->method, req->url,
             allowed);
    size_t length = strlen(text);
    char *body = berth_xasprintf("%s\n", text);
    struct MHD_Response *response =
        MHD_create_response_from_buffer(length + 1, body, MHD_RESPMEM_MUST_FREE);
    if (response == NULL) {
        free(body);
        return queue(req, MHD_HTTP_METHOD_NOT_ALLOWED, NULL, NULL);
    }
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
    MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, allowed);
    return queue(req, MHD_HTTP_METHOD_NOT_ALLOWED, response, NULL);
}

static bool is_method(const request *req, const char *method)
{
    return strcmp(req->method, method) == 0;
}

/* GET routes take HEAD too. libmicrohttpd sends a HEAD reply's headers,
 * Content-Length included, without its body. */
static bool is_read(const request *req)
{
    return is_method(req, "GET") || is_method(req, "HEAD");
}

static const char *json_type_name(const json_t *value)
{
    switch (json_typeof(value)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

/* PUT|POST /v1/jobs with {"Job": {...}}. */
static enum MHD_Result register_job(const request *req)
{
    const berth_buf *body = &req->state->body;
    if (body->length == 0)
        return send_error(req, MHD_HTTP_BAD_REQUEST,
                          "request body is empty; expected {\"Job\": {...}}");
    json_error_t parse_error;
    json_t *document = json_loadb(body->data, body->length, JSON_DECODE_ANY, &parse_error);
    if (document == NULL) {
        char text[512];
        snprintf(text, sizeof(text), "invalid JSON in request body at line %d, column %d: %s",
                 parse_error.line, parse_error.column, parse_error.text);
        return send_error(req, MHD_HTTP_BAD_REQUEST, text);
    }
    char text[256];
    if (!json_is_object(document)) {
        snprintf(text, sizeof(text),
                 "request body must be a JSON object with a \"Job\" object, not %s",
                 json_type_name(document));
        json_decref(document);
        return send_error(req, MHD_HTTP_BAD_REQUEST, text);
    }
    json_t *job = json_object_get(document, "Job");
    if (job == NULL || json_is_null(job)) {
        json_decref(document);
        return send_error(req, MHD_HTTP_BAD_REQUEST, "request body has no \"Job\" object");
    }
    if (!json_is_object(job)) {
        snprintf(text, sizeof(text), "\"Job\" must be a JSON object, not %s",
                 json_type_name(job));
        json_decref(document);
        return send_error(req, MHD_HTTP_BAD_REQUEST, text);
    }
    const berth_api_backend *backend = &req->server->backend;
    json_t *reply = NULL;
    berth_error err = BERTH_ERROR_INIT;
    int rc = backend->register_job(backend->context, job, &reply, &err);
    json_decref(document);
    return send_result(req, rc, reply, &err);
}

typedef int (*id_query)(void *context, const char *id, json_t **reply, berth_error *err);

static enum MHD_Result answer_id_query(const request *req, id_query query, const char *id)
{
    json_t *reply = NULL;
    berth_error err = BERTH_ERROR_INIT;
    int rc = query(req->server->backend.context, id, &reply, &err);
    return send_result(req, rc, reply, &err);
}

typedef int (*plain_query)(void *context, json_t **reply, berth_error *err);

static enum MHD_Result answer_query(const request *req, plain_query query)
{
    json_t *reply = NULL;
    berth_error err = BERTH_ERROR_INIT;
    int rc = query(req->server->backend.context, &reply, &err);
    return send_result(req, rc, reply, &err);
}

/* Parses a boolean query parameter the way Go's strconv.ParseBool does,
 * which is what Nomad's agent uses. */
static bool parse_bool(const char *text, bool *out)
{
    static const char *const true_words[] = {"1", "t", "T", "true", "TRUE", "True"};
    static const char *const false_words[] = {"0", "f", "F", "false", "FALSE", "False"};
    for (size_t i = 0; i < sizeof(true_words) / sizeof(true_words[0]); i++) {
        if (strcmp(text, true_words[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcmp(text, false_words[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

static const char *query_value(const request *req, const char *name)
{
    return MHD_lookup_connection_value(req->connection, MHD_GET_ARGUMENT_KIND, name);
}

static bool read_bool_parameter(const request *req, const char *name, bool *out, char *text,
                                size_t text_size)
{
    const char *value = query_value(req, name);
    if (value == NULL || value[0] == '\0')
        return true;
    if (parse_bool(value, out))
        return true;
    snprintf(text, text_size, "invalid value \"%.64s\" for query parameter \"%s\"; use true or false",
             value, name);
    return false;
}

/* GET /v1/client/fs/logs/:alloc_id?task=&type=&follow=&origin=&offset=&plain= */
static enum MHD_Result stream_logs(const request *req, const char *alloc_id)
{
    berth_api_log_request log_request = {.alloc_id = alloc_id};
    char text[256];

    log_request.task = query_value(req, "task");
    if (log_request.task == NULL || log_request.task[0] == '\0')
        return send_error(req, MHD_HTTP_BAD_REQUEST, "missing query parameter \"task\"");

    log_request.stream = query_value(req, "type");
    if (log_request.stream == NULL || log_request.stream[0] == '\0')
        return send_error(req, MHD_HTTP_BAD_REQUEST,
                          "missing query parameter \"type\"; use stdout or stderr");
    if (strcmp(log_request.stream, "stdout") != 0 && strcmp(log_request.stream, "stderr") != 0) {
        snprintf(text, sizeof(text),
                 "invalid value \"%.64s\" for query parameter \"type\"; use stdout or stderr",
                 log_request.stream);
        return send_error(req, MHD_HTTP_BAD_REQUEST, text);
    }

    if (!read_bool_parameter(req, "follow", &log_request.follow, text, sizeof(text)) ||
        !read_bool_parameter(req, "plain", &log_request.plain, text, sizeof(text)))
        return send_error(req, MHD_HTTP_BAD_REQUEST, text);

    const char *origin = query_value(req, "origin");
    if (origin != NULL && origin[0] != '\0') {
        if (strcmp(origin, "end") == 0) {
            log_request.from_end = true;
        } else if (strcmp(origin, "start") != 0) {
            snprintf(text, sizeof(text),
                     "invalid value \"%.64s\" for query parameter \"origin\"; use start or end",
                     origin);
            return send_error(req, MHD_HTTP_BAD_REQUEST, text);
        }
    }

    const char *offset = query_value(req, "offset");
    if (offset != NULL && offset[0] != '\0' &&
        !berth_parse_int64(offset, 0, INT64_MAX, &log_request.offset)) {
        snprintf(text, sizeof(text),
                 "invalid value \"%.64s\" for query parameter \"offset\"; use a byte count of 0 "
                 "or more",
                 offset);
        return send_error(req, MHD_HTTP_BAD_REQUEST, text);
    }

    struct MHD_Response *response = NULL;
    berth_error err = BERTH_ERROR_INIT;
    if (berth_api_log_response(req->server, req->connection, &log_request, &response, &err) < 0)
        return send_backend_error(req, &err);
    /* The log stream has no length, so libmicrohttpd 0.9.75 sends it in
     * chunked encoding and, for HEAD too, ends it with the last-chunk
     * marker, which is a body. Without chunked encoding a HEAD reply is
     * headers only; the connection closes after it. */
    if (is_method(req, "HEAD"))
        MHD_set_response_options(response, MHD_RF_HTTP_VERSION_1_0_ONLY, MHD_RO_END);
    return queue(req, MHD_HTTP_OK, response, NULL);
}

/* Splits "ID" or "ID/SUFFIX" after a route prefix. Returns false when id
 * is empty. */
static bool split_id(const char *rest, char **id, const char **suffix)
{
    const char *slash = strchr(rest, '/');
    size_t length = slash != NULL ? (size_t)(slash - rest) : strlen(rest);
    if (length == 0)
        return false;
    *id = berth_xstrndup(rest, length);
    *suffix = slash != NULL ? slash : "";
    return true;
}

static enum MHD_Result send_unknown_path(const request *req)
{
    char text[256];
    snprintf(text, sizeof(text), "unknown API path %.200s", req->url);
    return send_error(req, MHD_HTTP_NOT_FOUND, text);
}

/* Returns a copy of the first length bytes of text, or NULL when length
 * is 0, so that an empty id is an unknown path. */
static char *copy_id(const char *text, size_t length)
{
    return length > 0 ? berth_xstrndup(text, length) : NULL;
}

/* Splits rest into an id and a known suffix: when rest ends in suffix,
 * *id gets what comes before it and the function returns true. */
static bool take_suffix(const char *rest, const char *suffix, char **id)
{
    size_t rest_length = strlen(rest);
    size_t suffix_length = strlen(suffix);
    if (rest_length < suffix_length ||
        strcmp(rest + rest_length - suffix_length, suffix) != 0)
        return false;
    *id = copy_id(rest, rest_length - suffix_length);
    return true;
}

/* Job sub-resources of Nomad's HTTP API that berth does not serve. They
 * stay unknown paths, as in Nomad, instead of being read as part of a job
 * ID. */
static const char *const unserved_job_suffixes[] = {
    "/evaluate", "/evaluations", "/periodic/force", "/plan",       "/summary",
    "/dispatch", "/versions",    "/revert",         "/deployments", "/deployment",
    "/stable",   "/scale",       "/services",       "/submission", "/actions",
    "/action",
};

/* /v1/job/:id and /v1/job/:id/allocations. libmicrohttpd decodes the
 * path before the handler gets it, so %2F arrives as '/' and a job ID may
 * contain '/'. Like Nomad's agent, the route checks for a known suffix at
 * the end and takes everything before it as the ID, so a job whose ID
 * itself ends in one of these suffixes cannot be addressed. */
static enum MHD_Result route_job(const request *req, const char *rest)
{
    const berth_api_backend *backend = &req->server->backend;
    berth_autofree char *id = NULL;

    if (take_suffix(rest, "/allocations", &id)) {
        if (id == NULL)
            return send_unknown_path(req);
        if (!is_read(req))
            return send_method_not_allowed(req, "GET, HEAD");
        return answer_id_query(req, backend->job_allocations, id);
    }
    for (size_t i = 0; i < sizeof(unserved_job_suffixes) / sizeof(unserved_job_suffixes[0]);
         i++) {
        berth_autofree char *ignored = NULL;
        if (take_suffix(rest, unserved_job_suffixes[i], &ignored))
            return send_unknown_path(req);
    }

    id = copy_id(rest, strlen(rest));
    if (id == NULL)
        return send_unknown_path(req);
    if (is_read(req))
        return answer_id_query(req, backend->get_job, id);
    if (is_method(req, "DELETE"))
        return answer_id_query(req, backend->stop_job, id);
    return send_method_not_allowed(req, "GET, HEAD, DELETE");
}

static enum MHD_Result route(const request *req)
{
    const berth_api_backend *backend = &req->server->backend;
    if (!berth_str_has_prefix(req->url, "/v1/"))
        return send_unknown_path(req);
    const char *path = req->url + strlen("/v1/");
    berth_autofree char *id = NULL;
    const char *suffix = NULL;

    if (strcmp(path, "jobs") == 0) {
        if (is_read(req))
            return answer_query(req, backend->list_jobs);
        if (is_method(req, "PUT") || is_method(req, "POST"))
            return register_job(req);
        return send_method_not_allowed(req, "GET, HEAD, PUT, POST");
    }
    if (berth_str_has_prefix(path, "job/"))
        return route_job(req, path + strlen("job/"));
    /* Allocation IDs are UUIDs (or prefixes of one), which never contain
     * '/', so the ID ends at the first '/'. */
    if (berth_str_has_prefix(path, "allocation/")) {
        if (!split_id(path + strlen("allocation/"), &id, &suffix) || suffix[0] != '\0')
            return send_unknown_path(req);
        if (!is_read(req))
            return send_method_not_allowed(req, "GET, HEAD");
        return answer_id_query(req, backend->get_allocation, id);
    }
    if (berth_str_has_prefix(path, "client/allocation/")) {
        if (!split_id(path + strlen("client/allocation/"), &id, &suffix) ||
            strcmp(suffix, "/stats") != 0)
            return send_unknown_path(req);
        if (!is_read(req))
            return send_method_not_allowed(req, "GET, HEAD");
        return answer_id_query(req, backend->allocation_stats, id);
    }
    if (berth_str_has_prefix(path, "client/fs/logs/")) {
        if (!split_id(path + strlen("client/fs/logs/"), &id, &suffix) || suffix[0] != '\0')
            return send_unknown_path(req);
        if (!is_read(req))
            return send_method_not_allowed(req, "GET, HEAD");
        return stream_logs(req, id);
    }
    if (strcmp(path, "agent/self") == 0) {
        if (!is_read(req))
            return send_method_not_allowed(req, "GET, HEAD");
        return answer_query(req, backend->self);
    }
    if (strcmp(path, "nodes") == 0) {
        if (!is_read(req))
            return send_method_not_allowed(req, "GET, HEAD");
        return answer_query(req, backend->nodes);
    }
    return send_unknown_path(req);
}

static const char too_large_text[] = "request body is larger than the limit of 4194304 bytes";

/* libmicrohttpd calls this once when the headers are in, once for each
 * piece of the body, and once more when the body is complete. */
static enum MHD_Result handle_request(void *cls, struct MHD_Connection *connection,
                                      const char *url, const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **con_cls)
{
    request req = {cls, connection, method, url, *con_cls};

    if (req.state == NULL) {
        request_state *state = berth_xcalloc(1, sizeof(*state));
        berth_buf_init(&state->body, BERTH_API_MAX_BODY);
        *con_cls = state;
        /* A declared length over the limit gets its 413 before the body is
         * read; libmicrohttpd then closes the connection. */
        const char *declared = MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
                                                           MHD_HTTP_HEADER_CONTENT_LENGTH);
        int64_t length = 0;
        if (declared != NULL && berth_parse_int64(declared, 0, INT64_MAX, &length) &&
            length > BERTH_API_MAX_BODY) {
            req.state = state;
            return send_error(&req, MHD_HTTP_CONTENT_TOO_LARGE, too_large_text);
        }
        return MHD_YES;
    }

    if (*upload_data_size > 0) {
        /* Chunked bodies have no declared length, so the limit is checked
         * as they arrive; the rest of an oversized body is discarded. */
        if (!req.state->too_large &&
            berth_buf_append(&req.state->body, upload_data, *upload_data_size, NULL) < 0) {
            req.state->too_large = true;
            berth_buf_free(&req.state->body);
        }
        *upload_data_size = 0;
        return MHD_YES;
    }

    if (req.state->too_large)
        return send_error(&req, MHD_HTTP_CONTENT_TOO_LARGE, too_large_text);
    return route(&req);
}

static void request_completed(void *cls, struct MHD_Connection *connection, void **con_cls,
                              enum MHD_RequestTerminationCode code)
{
    request_state *state = *con_cls;
    if (state == NULL)
        return;
    berth_buf_free(&state->body);
    free(state);
    *con_cls = NULL;
}

static int parse_bind_address(const char *text, int port, struct sockaddr_storage *address,
                              bool *ipv6, berth_error *err)
{
    memset(address, 0, sizeof(*address));
    struct sockaddr_in *v4 = (struct sockaddr_in *)address;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)address;
    if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        *ipv6 = false;
        return 0;
    }
    if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        *ipv6 = true;
        return 0;
    }
    return berth_error_set(err, BERTH_E_INVALID,
                           "invalid bind address \"%s\": not an IPv4 or IPv6 address", text);
}

int berth_api_server_start(const berth_api_server_options *options,
                           const berth_api_backend *backend, berth_api_server **out,
                           berth_error *err)
{
    const char *bind_addr = options->bind_addr != NULL ? options->bind_addr : "127.0.0.1";
    if (options->port < 0 || options->port > 65535)
        return berth_error_set(err, BERTH_E_INVALID, "invalid HTTP port %d: use 0 to 65535",
                               options->port);
    struct sockaddr_storage address;
    bool ipv6 = false;
    if (parse_bind_address(bind_addr, options->port, &address, &ipv6, err) < 0)
        return -1;

    berth_api_server *server = berth_xcalloc(1, sizeof(*server));
    server->backend = *backend;
    server->log_poll_ms = options->log_poll_ms > 0 ? options->log_poll_ms : 250;
    server->heartbeat_ms = options->heartbeat_ms > 0 ? options->heartbeat_ms : 10000;
    atomic_init(&server->stopping, false);

    /* A thread per connection lets a log follower wait for output inside
     * its content callback without holding up other requests. */
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                         MHD_USE_POLL | (ipv6 ? MHD_USE_IPv6 : 0);
    server->daemon = MHD_start_daemon(
        flags, (uint16_t)options->port, NULL, NULL, handle_request, server,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&address, MHD_OPTION_NOTIFY_COMPLETED,
        request_completed, NULL, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned int)CONNECTION_TIMEOUT_SECONDS, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned int)CONNECTION_LIMIT, MHD_OPTION_END);
    if (server->daemon == NULL) {
        free(server);
        return berth_error_set(err, BERTH_E_IO,
                               "listen on %s port %d failed (is the port in use?)", bind_addr,
                               options->port);
    }
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(server->daemon, MHD_DAEMON_INFO_BIND_PORT);
    server->port = info != NULL ? info->port : options->port;
    char port_text[16];
    snprintf(port_text, sizeof(port_text), "%d", server->port);
    berth_log(BERTH_LOG_INFO, "http api listening", "address", bind_addr, "port", port_text,
              NULL);
    *out = server;
    return 0;
}

int berth_api_server_port(const berth_api_server *server)
{
    return server->port;
}

void berth_api_server_stop(berth_api_server *server)
{
    if (server == NULL)
        return;
    atomic_store(&server->stopping, true);
    MHD_stop_daemon(server->daemon);
    berth_log(BERTH_LOG_INFO, "http api stopped", NULL);
    free(server);
}
