/* The HTTP API client: one libcurl easy handle per request. */
#include "api/client.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/util.h"

/* Error bodies are plain text; this much of one is kept for the message. */
#define ERROR_TEXT_MAX 4096

struct berth_api_client {
    char *address; /* without a trailing slash */
};

int berth_api_client_open(const char *address, berth_api_client **out, berth_error *err)
{
    if (!berth_str_has_prefix(address, "http://") && !berth_str_has_prefix(address, "https://"))
        return berth_error_set(err, BERTH_E_INVALID,
                               "invalid agent address \"%s\": use a URL such as %s", address,
                               BERTH_API_DEFAULT_ADDRESS);
    size_t length = strlen(address);
    while (length > 0 && address[length - 1] == '/')
        length--;
    berth_api_client *client = berth_xcalloc(1, sizeof(*client));
    client->address = berth_xstrndup(address, length);
    *out = client;
    return 0;
}

void berth_api_client_close(berth_api_client *client)
{
    if (client == NULL)
        return;
    free(client->address);
    free(client);
}

char *berth_api_escape(const char *text)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t length = strlen(text);
    char *out = berth_xmalloc(length * 3 + 1);
    size_t o = 0;
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)text[i];
        bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                          (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
        if (unreserved) {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
    return out;
}

/* One transfer's state, shared by the libcurl callbacks. */
typedef struct transfer {
    CURL *curl;
    berth_buf body;       /* the reply (JSON requests) or the error text (any) */
    bool stream;          /* hand 2xx bytes to write instead of keeping them */
    berth_api_stream_fn write;
    void *user_data;
    bool too_large;
    bool write_failed;
    bool cut_short; /* a streamed 2xx reply ended when the server closed the connection */
} transfer;

static size_t receive(char *data, size_t size, size_t count, void *user_data)
{
    transfer *t = user_data;
    size_t length = size * count;
    long status = 0;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
    if (t->stream && status >= 200 && status < 300) {
        if (t->write(t->user_data, data, length) < 0) {
            t->write_failed = true;
            return 0;
        }
        return length;
    }
    if (status >= 300 && t->body.length + length > ERROR_TEXT_MAX) {
        /* Only the start of a long error text is kept. */
        size_t room = ERROR_TEXT_MAX - t->body.length;
        berth_buf_append(&t->body, data, length < room ? length : room, NULL);
        return length;
    }
    if (berth_buf_append(&t->body, data, length, NULL) < 0) {
        t->too_large = true;
        return 0;
    }
    return length;
}

static int set_status_error(long status, berth_buf *text, berth_error *err)
{
    while (text->length > 0 &&
           (text->data[text->length - 1] == '\n' || text->data[text->length - 1] == '\r'))
        text->data[--text->length] = '\0';
    enum berth_error_code code = BERTH_E_INTERNAL;
    if (status == 400 || status == 405 || status == 413)
        code = BERTH_E_INVALID;
    else if (status == 404)
        code = BERTH_E_NOT_FOUND;
    if (text->length == 0)
        return berth_error_set(err, code, "the agent replied with HTTP %ld", status);
    return berth_error_set(err, code, "%s", text->data);
}

static int perform(berth_api_client *client, const char *method, const char *path,
                   const char *body, transfer *t, berth_error *err)
{
    char *url = berth_xasprintf("%s%s", client->address, path);
    t->curl = curl_easy_init();
    if (t->curl == NULL) {
        free(url);
        return berth_error_set(err, BERTH_E_NO_MEMORY, "could not create an HTTP client");
    }
    char curl_message[CURL_ERROR_SIZE] = "";
    struct curl_slist *headers = NULL;
    curl_easy_setopt(t->curl, CURLOPT_URL, url);
    /* Job ids such as "." or ".." are valid; keep libcurl from collapsing
     * them as path segments. */
    curl_easy_setopt(t->curl, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(t->curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(t->curl, CURLOPT_WRITEFUNCTION, receive);
    curl_easy_setopt(t->curl, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(t->curl, CURLOPT_ERRORBUFFER, curl_message);
    curl_easy_setopt(t->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(t->curl, CURLOPT_CONNECTTIMEOUT, 10L);
    if (body != NULL) {
        curl_easy_setopt(t->curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(t->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
        headers = curl_slist_append(headers, "Content-Type: application/json");
        curl_easy_setopt(t->curl, CURLOPT_HTTPHEADER, headers);
    }

    CURLcode code = curl_easy_perform(t->curl);
    long status = 0;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(t->curl);
    t->curl = NULL;

    int rc = 0;
    if (t->write_failed) {
        rc = berth_error_set(err, BERTH_E_IO, "could not write the reply of %s %s", method, path);
    } else if (t->too_large) {
        rc = berth_error_set(err, BERTH_E_TOO_LARGE,
                             "the reply to %s %s is larger than %d bytes", method, path,
                             BERTH_API_MAX_REPLY);
    } else if (code != CURLE_OK && status == 0) {
        rc = berth_error_set(err, BERTH_E_UNREACHABLE, "cannot reach the berth agent at %s: %s",
                             client->address,
                             curl_message[0] != '\0' ? curl_message : curl_easy_strerror(code));
    } else if (status >= 300) {
        rc = set_status_error(status, &t->body, err);
    } else if (t->stream && (code == CURLE_PARTIAL_FILE || code == CURLE_RECV_ERROR)) {
        /* libcurl's "transfer closed with outstanding read data
         * remaining": the agent closed the connection mid-reply, as it
         * does to open log streams when it stops. */
        t->cut_short = true;
    } else if (code != CURLE_OK) {
        rc = berth_error_set(err, BERTH_E_UNREACHABLE, "%s %s at %s failed: %s", method, path,
                             client->address,
                             curl_message[0] != '\0' ? curl_message : curl_easy_strerror(code));
    }
    free(url);
    return rc;
}

int berth_api_client_request(berth_api_client *client, const char *method, const char *path,
                             const json_t *body, json_t **reply, berth_error *err)
{
    char *body_text = NULL;
    if (body != NULL) {
        body_text = json_dumps(body, JSON_COMPACT);
        if (body_text == NULL)
            return berth_error_set(err, BERTH_E_INVALID, "could not encode the request body");
    }
    transfer t = {0};
    berth_buf_init(&t.body, BERTH_API_MAX_REPLY);
    int rc = perform(client, method, path, body_text, &t, err);
    free(body_text);
    if (rc < 0) {
        berth_buf_free(&t.body);
        return -1;
    }
    json_error_t parse_error;
    *reply = json_loadb(t.body.data != NULL ? t.body.data : "", t.body.length, JSON_DECODE_ANY,
                        &parse_error);
    berth_buf_free(&t.body);
    if (*reply == NULL)
        return berth_error_set(err, BERTH_E_INVALID, "invalid JSON in the reply to %s %s: %s",
                               method, path, parse_error.text);
    return 0;
}

int berth_api_client_stream(berth_api_client *client, const char *path,
                            berth_api_stream_fn write, void *user_data, berth_error *err)
{
    transfer t = {.stream = true, .write = write, .user_data = user_data};
    berth_buf_init(&t.body, ERROR_TEXT_MAX);
    int rc = perform(client, "GET", path, NULL, &t, err);
    berth_buf_free(&t.body);
    if (rc == 0 && t.cut_short)
        return 1;
    return rc;
}
