/* One HTTP exchange with the Docker Engine over libcurl: URL and headers,
 * timeouts, cancellation, reply collection and the mapping of transport
 * failures and error replies to berth errors. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "core/log.h"
#include "core/util.h"
#include "docker/internal.h"

/* Bound for establishing the connection on calls that have no overall
 * timeout (wait, stop, logs with follow, pull, load). */
#define CONNECT_TIMEOUT_MS 30000L

/* How long one poll of the transfer may sleep, so that the cancel flag is
 * seen within this many milliseconds even while the engine sends nothing. */
#define CANCEL_POLL_MS 200

/* libcurl before 7.87 has no name for this; any count other than the one
 * passed in aborts the transfer. */
#ifndef CURL_WRITEFUNC_ERROR
#define CURL_WRITEFUNC_ERROR 0xFFFFFFFF
#endif

/* The part of an error reply kept for the message when it is not JSON. */
#define ERROR_TEXT_MAX 512

struct transfer {
    berth_docker *docker;
    berth_docker_call *call;
    CURL *easy;
    FILE *upload;
    bool failed; /* a callback filled error */
    berth_error error;
};

/* Only calls marked cancellable (pull, load) are cut short: a stop request
 * must still let berth stop, wait for and remove its containers. */
static bool cancel_requested(berth_docker *docker, const berth_docker_call *call)
{
    if (!call->cancellable)
        return false;
    const volatile sig_atomic_t *flag = atomic_load(&docker->cancel_flag);
    return flag != NULL && *flag != 0;
}

static long response_status(struct transfer *transfer)
{
    long status = 0;
    curl_easy_getinfo(transfer->easy, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

static size_t on_header(char *data, size_t size, size_t count, void *user_data)
{
    struct transfer *transfer = user_data;
    size_t length = size * count;
    static const char name[] = "api-version:";
    size_t name_length = sizeof(name) - 1;

    /* A new status line (after "100 Continue") starts a new header block. */
    if (length >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        transfer->call->api_version[0] = '\0';
        return length;
    }
    if (length <= name_length || strncasecmp(data, name, name_length) != 0)
        return length;

    const char *value = data + name_length;
    const char *end = data + length;
    while (value < end && (*value == ' ' || *value == '\t'))
        value++;
    while (end > value && isspace((unsigned char)end[-1]))
        end--;
    size_t value_length = (size_t)(end - value);
    if (value_length < sizeof(transfer->call->api_version)) {
        memcpy(transfer->call->api_version, value, value_length);
        transfer->call->api_version[value_length] = '\0';
    }
    return length;
}

static size_t on_body(char *data, size_t size, size_t count, void *user_data)
{
    struct transfer *transfer = user_data;
    berth_docker_call *call = transfer->call;
    size_t length = size * count;
    long status = response_status(transfer);

    if (status >= 400) {
        /* Only the start of an error reply is needed for the message, so
         * the rest of an oversized one is dropped instead of failing. */
        if (berth_buf_append(&call->reply, data, length, NULL) < 0 &&
            call->reply.length < call->reply.max)
            berth_buf_append(&call->reply, data, call->reply.max - call->reply.length, NULL);
        return length;
    }
    if (call->sink != NULL) {
        if (call->sink(call->sink_data, data, length, &transfer->error) < 0) {
            transfer->failed = true;
            return CURL_WRITEFUNC_ERROR;
        }
        return length;
    }
    if (berth_buf_append(&call->reply, data, length, &transfer->error) < 0) {
        berth_error_prefix(&transfer->error, "reply to %s %s", call->method, call->path);
        transfer->failed = true;
        return CURL_WRITEFUNC_ERROR;
    }
    return length;
}

static size_t on_upload(char *buffer, size_t size, size_t count, void *user_data)
{
    struct transfer *transfer = user_data;
    size_t got = fread(buffer, 1, size * count, transfer->upload);
    if (got == 0 && ferror(transfer->upload)) {
        berth_error_set(&transfer->error, BERTH_E_IO, "read of the request body for %s %s failed",
                        transfer->call->method, transfer->call->path);
        transfer->failed = true;
        return CURL_READFUNC_ABORT;
    }
    return got;
}

static int on_progress(void *user_data, curl_off_t download_total, curl_off_t downloaded,
                       curl_off_t upload_total, curl_off_t uploaded)
{
    struct transfer *transfer = user_data;
    return cancel_requested(transfer->docker, transfer->call) ? 1 : 0;
}

char *berth_docker_escape(const char *text, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t length = strlen(text);
    char *escaped = berth_xmalloc(length * 3 + 1);
    char *out = escaped;

    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
        bool plain = isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~' ||
                     (keep_slash && (*p == '/' || *p == ':' || *p == '@'));
        if (plain) {
            *out++ = (char)*p;
        } else {
            *out++ = '%';
            *out++ = hex[*p >> 4];
            *out++ = hex[*p & 0x0f];
        }
    }
    *out = '\0';
    return escaped;
}

int berth_docker_check_name(const char *name, const char *what, berth_error *err)
{
    if (name == NULL || *name == '\0')
        return berth_error_set(err, BERTH_E_INVALID, "missing %s", what);
    return 0;
}

int berth_docker_parse_reply(const berth_docker_call *call, json_t **out, berth_error *err)
{
    *out = NULL;
    if (call->reply.length == 0)
        return 0;
    json_error_t json_error;
    json_t *parsed = json_loadb(call->reply.data, call->reply.length, 0, &json_error);
    if (parsed == NULL)
        return berth_error_set(err, BERTH_E_ENGINE,
                               "engine sent invalid JSON for %s %s: %s at byte %d", call->method,
                               call->path, json_error.text, json_error.position);
    *out = parsed;
    return 0;
}

void berth_docker_call_free(berth_docker_call *call)
{
    berth_buf_free(&call->reply);
}

/* Fills err from an error reply: the engine's JSON "message" when there is
 * one, else the start of the raw body. */
static int set_engine_error(berth_docker_call *call, berth_error *err)
{
    json_t *reply =
        json_loadb(call->reply.data != NULL ? call->reply.data : "", call->reply.length, 0, NULL);
    const char *message = json_string_value(json_object_get(reply, "message"));
    char text[ERROR_TEXT_MAX + 1] = "";

    if (message == NULL && call->reply.length > 0) {
        size_t length = call->reply.length < ERROR_TEXT_MAX ? call->reply.length : ERROR_TEXT_MAX;
        memcpy(text, call->reply.data, length);
        text[length] = '\0';
        while (length > 0 && isspace((unsigned char)text[length - 1]))
            text[--length] = '\0';
        message = text;
    }

    enum berth_error_code code = BERTH_E_ENGINE;
    if (call->status == 404)
        code = BERTH_E_NOT_FOUND;
    else if (call->status == 409)
        code = BERTH_E_CONFLICT;
    if (message != NULL && *message != '\0')
        berth_error_set(err, code, "engine returned %ld: %s", call->status, message);
    else
        berth_error_set(err, code, "engine returned %ld with no message", call->status);
    json_decref(reply);
    if (err != NULL)
        err->http_status = (int)call->status;
    return -1;
}

/* Writes why a connection to the unix socket at path failed. For unix
 * sockets libcurl reports CURLE_COULDNT_CONNECT as "Failed to connect to
 * localhost port 80", which names neither the file nor the cause, so this
 * looks at the file itself. */
static void describe_socket_failure(const char *path, char *out, size_t size)
{
    struct stat info;
    if (stat(path, &info) != 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            snprintf(out, size, "the socket file %s does not exist; is the engine running?",
                     path);
        else if (errno == EACCES)
            snprintf(out, size,
                     "permission denied looking up the socket file %s; check the permissions "
                     "of its folders",
                     path);
        else
            snprintf(out, size, "cannot look up the socket file %s: %s", path, strerror(errno));
        return;
    }
    if (!S_ISSOCK(info.st_mode)) {
        snprintf(out, size, "%s is not a socket", path);
        return;
    }
    /* connect() on a unix socket needs write permission on its file
     * (unix(7)). */
    if (access(path, W_OK) != 0 && errno == EACCES) {
        snprintf(out, size,
                 "permission denied on the socket file %s; connecting needs write "
                 "permission on it, usually through the socket's group",
                 path);
        return;
    }
    snprintf(out, size, "nothing listens on the socket file %s; is the engine running?", path);
}

static int set_transfer_error(berth_docker *docker, struct transfer *transfer, CURLcode result,
                              const char *curl_message, berth_error *err)
{
    berth_docker_call *call = transfer->call;
    const char *reason = *curl_message != '\0' ? curl_message : curl_easy_strerror(result);

    if (transfer->failed) {
        *err = transfer->error;
        return -1;
    }
    if (result == CURLE_ABORTED_BY_CALLBACK)
        return berth_error_set(err, BERTH_E_CANCELLED, "%s %s cancelled", call->method, call->path);
    if (result == CURLE_OPERATION_TIMEDOUT && response_status(transfer) != 0)
        return berth_error_set(
            err, BERTH_E_UNREACHABLE, "the Docker Engine at %s did not finish %s %s within %ld ms",
            docker->endpoint, call->method, call->path, docker->request_timeout_ms);
    if (response_status(transfer) != 0)
        return berth_error_set(err, BERTH_E_IO,
                               "connection to the Docker Engine at %s failed during %s %s: %s",
                               docker->endpoint, call->method, call->path, reason);
    char socket_reason[512]; /* socket paths are under 108 bytes */
    if (result == CURLE_COULDNT_CONNECT && docker->socket_path != NULL) {
        describe_socket_failure(docker->socket_path, socket_reason, sizeof(socket_reason));
        reason = socket_reason;
    }
    return berth_error_set(err, BERTH_E_UNREACHABLE, "cannot reach the Docker Engine at %s: %s",
                           docker->endpoint, reason);
}

static void set_tls_options(berth_docker *docker, CURL *easy)
{
    if (docker->tls_ca != NULL)
        curl_easy_setopt(easy, CURLOPT_CAINFO, docker->tls_ca);
    if (docker->tls_cert != NULL)
        curl_easy_setopt(easy, CURLOPT_SSLCERT, docker->tls_cert);
    if (docker->tls_key != NULL)
        curl_easy_setopt(easy, CURLOPT_SSLKEY, docker->tls_key);
    if (!docker->tls_verify) {
        curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
    }
}

/* Builds the request headers. Sets *failed and returns NULL when the
 * registry auth value contains a line break. */
static struct curl_slist *build_headers(const berth_docker_call *call, berth_error *err,
                                        bool *failed)
{
    struct curl_slist *headers = NULL;
    *failed = false;

    /* An empty Expect header stops curl from waiting for "100 Continue"
     * (up to one second by default) before it sends an upload body. */
    headers = curl_slist_append(headers, "Expect:");
    if (call->content_type != NULL) {
        berth_autofree char *line = berth_xasprintf("Content-Type: %s", call->content_type);
        headers = curl_slist_append(headers, line);
    }
    if (call->registry_auth != NULL) {
        if (strpbrk(call->registry_auth, "\r\n") != NULL) {
            curl_slist_free_all(headers);
            *failed = true;
            berth_error_set(err, BERTH_E_INVALID, "registry auth contains a line break");
            return NULL;
        }
        berth_autofree char *line = berth_xasprintf("X-Registry-Auth: %s", call->registry_auth);
        headers = curl_slist_append(headers, line);
    }
    return headers;
}

static void configure(berth_docker *docker, struct transfer *transfer, const char *url,
                      struct curl_slist *headers, char *curl_message)
{
    berth_docker_call *call = transfer->call;
    CURL *easy = transfer->easy;

    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, curl_message);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, transfer);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, transfer);
    curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(easy, CURLOPT_XFERINFODATA, transfer);
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
    if (docker->socket_path != NULL)
        curl_easy_setopt(easy, CURLOPT_UNIX_SOCKET_PATH, docker->socket_path);
    set_tls_options(docker, easy);

    if (call->unbounded) {
        curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
    } else {
        curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, docker->request_timeout_ms);
    }

    if (call->upload != NULL) {
        curl_easy_setopt(easy, CURLOPT_POST, 1L);
        curl_easy_setopt(easy, CURLOPT_READFUNCTION, on_upload);
        curl_easy_setopt(easy, CURLOPT_READDATA, transfer);
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)call->upload_length);
    } else if (call->body != NULL) {
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, call->body);
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)call->body_length);
    } else if (strcmp(call->method, "POST") == 0) {
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
    }
    if (strcmp(call->method, "GET") != 0 && strcmp(call->method, "POST") != 0)
        curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, call->method);
}

/* Runs the transfer through a multi handle so that the cancel flag is
 * checked every CANCEL_POLL_MS even while no data moves. On an idle
 * connection libcurl calls the progress callback only about once a second. */
static CURLcode run_transfer(berth_docker *docker, const berth_docker_call *call, CURL *easy)
{
    CURLM *multi = curl_multi_init();
    if (multi == NULL)
        return CURLE_OUT_OF_MEMORY;
    curl_multi_add_handle(multi, easy);

    CURLcode result = CURLE_OK;
    bool done = false;
    while (!done) {
        int running = 0;
        CURLMcode multi_result = curl_multi_perform(multi, &running);
        if (multi_result != CURLM_OK) {
            result = CURLE_RECV_ERROR;
            break;
        }
        if (running == 0) {
            int queued = 0;
            CURLMsg *message = curl_multi_info_read(multi, &queued);
            result = message != NULL && message->msg == CURLMSG_DONE ? message->data.result
                                                                     : CURLE_RECV_ERROR;
            done = true;
            break;
        }
        if (cancel_requested(docker, call)) {
            result = CURLE_ABORTED_BY_CALLBACK;
            break;
        }
        curl_multi_poll(multi, NULL, 0, CANCEL_POLL_MS, NULL);
    }
    curl_multi_remove_handle(multi, easy);
    curl_multi_cleanup(multi);
    return result;
}

int berth_docker_perform(berth_docker *docker, berth_docker_call *call, berth_error *err)
{
    const char *version = NULL;
    if (!call->unversioned && berth_docker_api_version(docker, &version, err) < 0)
        return -1;
    if (cancel_requested(docker, call))
        return berth_error_set(err, BERTH_E_CANCELLED, "%s %s cancelled", call->method, call->path);

    berth_autofree char *url =
        berth_xasprintf("%s%s%s%s%s%s", docker->base_url, version != NULL ? "/v" : "",
                        version != NULL ? version : "", call->path, call->query != NULL ? "?" : "",
                        call->query != NULL ? call->query : "");
    if (call->reply.max == 0)
        berth_buf_init(&call->reply, BERTH_DOCKER_MAX_REPLY);
    call->status = 0;
    call->api_version[0] = '\0';

    bool header_failed = false;
    struct curl_slist *headers = build_headers(call, err, &header_failed);
    if (header_failed)
        return -1;
    CURL *easy = curl_easy_init();
    if (easy == NULL) {
        curl_slist_free_all(headers);
        return berth_error_set(err, BERTH_E_NO_MEMORY, "cannot create a curl handle");
    }

    struct transfer transfer = {
        .docker = docker, .call = call, .easy = easy, .upload = call->upload};
    char curl_message[CURL_ERROR_SIZE] = "";
    configure(docker, &transfer, url, headers, curl_message);
    CURLcode result = run_transfer(docker, call, easy);
    call->status = response_status(&transfer);

    int ret = 0;
    if (result != CURLE_OK || transfer.failed)
        ret = set_transfer_error(docker, &transfer, result, curl_message, err);
    curl_easy_cleanup(easy);
    curl_slist_free_all(headers);

    if (berth_log_enabled(BERTH_LOG_DEBUG)) {
        char status_text[24];
        snprintf(status_text, sizeof(status_text), "%ld", call->status);
        berth_log(BERTH_LOG_DEBUG, "docker request", "method", call->method, "path", call->path,
                  "query", call->query != NULL ? call->query : "", "status", status_text, NULL);
    }
    if (ret < 0)
        return -1;
    if (call->status >= 400)
        return set_engine_error(call, err);
    return 0;
}
