#include "fake_engine.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Upper bound on a request's header block and body; the client under test
 * sends far less. */
#define REQUEST_MAX (4u * 1024 * 1024)

/* Pause between chunks of a chunked reply. */
#define CHUNK_PAUSE_MS 20

struct reply {
    int status;
    char *headers;
    bool chunked;
    char **pieces;
    size_t *lengths;
    size_t count;
};

struct fake_engine {
    char directory[48];
    char socket_path[80];
    char endpoint[96];
    int listen_fd;
    int stop_pipe[2];
    pthread_t thread;

    pthread_mutex_t lock;
    struct reply *replies;
    size_t reply_count;
    size_t reply_next;
    fake_engine_request **requests;
    size_t request_count;
};

static void *xrealloc(void *pointer, size_t size)
{
    void *grown = realloc(pointer, size);
    if (grown == NULL)
        abort();
    return grown;
}

static char *xstrndup(const char *text, size_t length)
{
    char *copy = xrealloc(NULL, length + 1);
    memcpy(copy, text, length);
    copy[length] = '\0';
    return copy;
}

static void sleep_ms(long ms)
{
    struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&pause, NULL);
}

static int send_all(int fd, const char *data, size_t length)
{
    while (length > 0) {
        ssize_t sent = send(fd, data, length, MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR)
            continue;
        if (sent <= 0)
            return -1;
        data += sent;
        length -= (size_t)sent;
    }
    return 0;
}

static int send_text(int fd, const char *text)
{
    return send_all(fd, text, strlen(text));
}

/* Reads more bytes into *buffer; returns the count, 0 at end, -1 on error. */
static ssize_t read_more(int fd, char **buffer, size_t *length, size_t *capacity)
{
    if (*length + 65536 + 1 > *capacity) {
        *capacity = *length + 65536 + 1;
        *buffer = xrealloc(*buffer, *capacity);
    }
    for (;;) {
        ssize_t got = recv(fd, *buffer + *length, 65536, 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got > 0) {
            *length += (size_t)got;
            (*buffer)[*length] = '\0';
        }
        return got;
    }
}

static char *header_value(const char *headers, const char *name)
{
    size_t name_length = strlen(name);
    for (const char *line = headers; *line != '\0';) {
        const char *end = strstr(line, "\r\n");
        if (end == NULL)
            break;
        if ((size_t)(end - line) > name_length && strncasecmp(line, name, name_length) == 0 &&
            line[name_length] == ':') {
            const char *value = line + name_length + 1;
            while (value < end && (*value == ' ' || *value == '\t'))
                value++;
            const char *value_end = end;
            while (value_end > value && isspace((unsigned char)value_end[-1]))
                value_end--;
            return xstrndup(value, (size_t)(value_end - value));
        }
        line = end + 2;
    }
    return NULL;
}

char *fake_engine_request_header(const fake_engine_request *request, const char *name)
{
    return header_value(request->headers, name);
}

/* Decodes a chunked body starting at data; returns the number of bytes
 * consumed, 0 when more input is needed, -1 on a malformed body. */
static long decode_chunked(const char *data, size_t length, char **body, size_t *body_length)
{
    size_t position = 0;
    char *decoded = NULL;
    size_t decoded_length = 0;
    for (;;) {
        const char *line_end = memmem(data + position, length - position, "\r\n", 2);
        if (line_end == NULL)
            break;
        char *end;
        unsigned long size = strtoul(data + position, &end, 16);
        if (end == data + position) {
            free(decoded);
            return -1;
        }
        size_t chunk_start = (size_t)(line_end - data) + 2;
        if (size == 0) {
            /* No trailers are expected: the body ends with "0\r\n\r\n". */
            if (length < chunk_start + 2)
                break;
            *body = decoded != NULL ? decoded : xstrndup("", 0);
            *body_length = decoded_length;
            return (long)(chunk_start + 2);
        }
        if (length < chunk_start + size + 2)
            break;
        decoded = xrealloc(decoded, decoded_length + size + 1);
        memcpy(decoded + decoded_length, data + chunk_start, size);
        decoded_length += size;
        decoded[decoded_length] = '\0';
        position = chunk_start + size + 2;
    }
    free(decoded);
    return 0;
}

/* Reads one request from fd; returns NULL when the client closed first or
 * sent something malformed. */
static fake_engine_request *read_request(int fd)
{
    char *buffer = NULL;
    size_t length = 0, capacity = 0;
    char *header_end = NULL;
    while ((header_end = buffer != NULL ? strstr(buffer, "\r\n\r\n") : NULL) == NULL) {
        if (length > REQUEST_MAX || read_more(fd, &buffer, &length, &capacity) <= 0) {
            free(buffer);
            return NULL;
        }
    }

    fake_engine_request *request = calloc(1, sizeof(*request));
    if (request == NULL)
        abort();
    const char *line_end = strstr(buffer, "\r\n");
    const char *space = memchr(buffer, ' ', (size_t)(line_end - buffer));
    const char *second =
        space != NULL ? memchr(space + 1, ' ', (size_t)(line_end - space - 1)) : NULL;
    if (space == NULL || second == NULL) {
        free(buffer);
        free(request);
        return NULL;
    }
    request->method = xstrndup(buffer, (size_t)(space - buffer));
    request->target = xstrndup(space + 1, (size_t)(second - space - 1));
    request->headers = xstrndup(line_end + 2, (size_t)(header_end + 2 - (line_end + 2)));

    size_t body_start = (size_t)(header_end - buffer) + 4;
    char *content_length = header_value(request->headers, "Content-Length");
    char *transfer_encoding = header_value(request->headers, "Transfer-Encoding");
    bool chunked = transfer_encoding != NULL && strcasecmp(transfer_encoding, "chunked") == 0;
    size_t expected_length = content_length != NULL ? strtoul(content_length, NULL, 10) : 0;
    free(content_length);
    free(transfer_encoding);

    for (;;) {
        if (chunked) {
            long used = decode_chunked(buffer + body_start, length - body_start, &request->body,
                                       &request->body_length);
            if (used > 0)
                break;
            if (used < 0)
                goto malformed;
        } else if (length - body_start >= expected_length) {
            request->body = xstrndup(buffer + body_start, expected_length);
            request->body_length = expected_length;
            break;
        }
        if (length > REQUEST_MAX || read_more(fd, &buffer, &length, &capacity) <= 0)
            goto malformed;
    }
    free(buffer);
    return request;

malformed:
    free(buffer);
    free(request->method);
    free(request->target);
    free(request->headers);
    free(request->body);
    free(request);
    return NULL;
}

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 409: return "Conflict";
    case 500: return "Internal Server Error";
    }
    return "Status";
}

static void send_reply(int fd, const struct reply *reply)
{
    char head[256];
    snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\nConnection: close\r\n", reply->status,
             reason_phrase(reply->status));
    if (send_text(fd, head) < 0 || send_text(fd, reply->headers) < 0)
        return;

    if (!reply->chunked) {
        size_t length = reply->count > 0 ? reply->lengths[0] : 0;
        snprintf(head, sizeof(head), "Content-Length: %zu\r\n\r\n", length);
        if (send_text(fd, head) < 0)
            return;
        if (length > 0)
            send_all(fd, reply->pieces[0], length);
        return;
    }

    if (send_text(fd, "Transfer-Encoding: chunked\r\n\r\n") < 0)
        return;
    for (size_t i = 0; i < reply->count; i++) {
        if (reply->lengths[i] == 0)
            continue; /* a zero-size chunk would end the body */
        snprintf(head, sizeof(head), "%zx\r\n", reply->lengths[i]);
        if (send_text(fd, head) < 0 || send_all(fd, reply->pieces[i], reply->lengths[i]) < 0 ||
            send_text(fd, "\r\n") < 0)
            return;
        sleep_ms(CHUNK_PAUSE_MS);
    }
    send_text(fd, "0\r\n\r\n");
}

static void serve_connection(fake_engine *engine, int fd)
{
    fake_engine_request *request = read_request(fd);
    if (request == NULL)
        return;

    char missing_body[] = "{\"message\":\"fake engine: no reply queued\"}";
    char *missing_pieces[] = {missing_body};
    size_t missing_lengths[] = {strlen(missing_body)};
    char missing_headers[] = "Content-Type: application/json\r\n";
    struct reply missing = {
        .status = 500,
        .headers = missing_headers,
        .pieces = missing_pieces,
        .lengths = missing_lengths,
        .count = 1,
    };
    /* A copy, because queueing another reply may move the array while this
     * one is being sent; the pieces it points to stay put. */
    struct reply reply = missing;

    pthread_mutex_lock(&engine->lock);
    engine->requests =
        xrealloc(engine->requests, (engine->request_count + 1) * sizeof(*engine->requests));
    engine->requests[engine->request_count++] = request;
    if (engine->reply_next < engine->reply_count)
        reply = engine->replies[engine->reply_next++];
    pthread_mutex_unlock(&engine->lock);

    send_reply(fd, &reply);
    /* Let the client read everything before the connection closes. */
    shutdown(fd, SHUT_WR);
    char drain[256];
    while (recv(fd, drain, sizeof(drain), 0) > 0)
        ;
}

static void *serve(void *user_data)
{
    fake_engine *engine = user_data;
    for (;;) {
        struct pollfd fds[2] = {
            {.fd = engine->listen_fd, .events = POLLIN},
            {.fd = engine->stop_pipe[0], .events = POLLIN},
        };
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (fds[1].revents != 0)
            break;
        int fd = accept(engine->listen_fd, NULL, NULL);
        if (fd < 0)
            continue;
        serve_connection(engine, fd);
        close(fd);
    }
    return NULL;
}

int fake_engine_start(fake_engine **out)
{
    fake_engine *engine = calloc(1, sizeof(*engine));
    if (engine == NULL)
        abort();
    snprintf(engine->directory, sizeof(engine->directory), "/tmp/berth-fake-engine-XXXXXX");
    if (mkdtemp(engine->directory) == NULL) {
        fprintf(stderr, "fake engine: mkdtemp: %s\n", strerror(errno));
        free(engine);
        return -1;
    }
    snprintf(engine->socket_path, sizeof(engine->socket_path), "%s/engine.sock", engine->directory);
    snprintf(engine->endpoint, sizeof(engine->endpoint), "unix://%s", engine->socket_path);

    struct sockaddr_un address = {.sun_family = AF_UNIX};
    snprintf(address.sun_path, sizeof(address.sun_path), "%s", engine->socket_path);
    engine->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (engine->listen_fd < 0 ||
        bind(engine->listen_fd, (struct sockaddr *)&address, sizeof(address)) < 0 ||
        listen(engine->listen_fd, 16) < 0 || pipe(engine->stop_pipe) < 0) {
        fprintf(stderr, "fake engine: listen on %s: %s\n", engine->socket_path, strerror(errno));
        if (engine->listen_fd >= 0)
            close(engine->listen_fd);
        unlink(engine->socket_path);
        rmdir(engine->directory);
        free(engine);
        return -1;
    }
    pthread_mutex_init(&engine->lock, NULL);
    if (pthread_create(&engine->thread, NULL, serve, engine) != 0) {
        fprintf(stderr, "fake engine: cannot start the server thread\n");
        abort();
    }
    *out = engine;
    return 0;
}

void fake_engine_stop(fake_engine *engine)
{
    if (engine == NULL)
        return;
    if (write(engine->stop_pipe[1], "x", 1) != 1)
        abort();
    pthread_join(engine->thread, NULL);
    close(engine->stop_pipe[0]);
    close(engine->stop_pipe[1]);
    close(engine->listen_fd);
    unlink(engine->socket_path);
    rmdir(engine->directory);

    for (size_t i = 0; i < engine->reply_count; i++) {
        struct reply *reply = &engine->replies[i];
        for (size_t j = 0; j < reply->count; j++)
            free(reply->pieces[j]);
        free(reply->pieces);
        free(reply->lengths);
        free(reply->headers);
    }
    free(engine->replies);
    for (size_t i = 0; i < engine->request_count; i++) {
        fake_engine_request *request = engine->requests[i];
        free(request->method);
        free(request->target);
        free(request->headers);
        free(request->body);
        free(request);
    }
    free(engine->requests);
    pthread_mutex_destroy(&engine->lock);
    free(engine);
}

const char *fake_engine_endpoint(const fake_engine *engine)
{
    return engine->endpoint;
}

static void queue_reply(fake_engine *engine, int status, const char *headers, bool chunked,
                        const char *const *pieces, const size_t *lengths, size_t count)
{
    struct reply reply = {
        .status = status,
        .headers = xstrndup(headers != NULL ? headers : "", headers != NULL ? strlen(headers) : 0),
        .chunked = chunked,
        .pieces = xrealloc(NULL, (count + 1) * sizeof(char *)),
        .lengths = xrealloc(NULL, (count + 1) * sizeof(size_t)),
        .count = count,
    };
    for (size_t i = 0; i < count; i++) {
        reply.pieces[i] = xstrndup(pieces[i], lengths[i]);
        reply.lengths[i] = lengths[i];
    }
    pthread_mutex_lock(&engine->lock);
    engine->replies = xrealloc(engine->replies, (engine->reply_count + 1) * sizeof(reply));
    engine->replies[engine->reply_count++] = reply;
    pthread_mutex_unlock(&engine->lock);
}

void fake_engine_reply(fake_engine *engine, int status, const char *headers, const char *body)
{
    size_t length = body != NULL ? strlen(body) : 0;
    queue_reply(engine, status, headers, false, &body, &length, body != NULL ? 1 : 0);
}

void fake_engine_reply_chunks(fake_engine *engine, int status, const char *headers,
                              const char *const *pieces, const size_t *lengths, size_t count)
{
    queue_reply(engine, status, headers, true, pieces, lengths, count);
}

void fake_engine_reply_ping(fake_engine *engine, const char *api_version)
{
    char headers[128] = "Content-Type: text/plain; charset=utf-8\r\n";
    if (api_version != NULL)
        snprintf(headers, sizeof(headers),
                 "Content-Type: text/plain; charset=utf-8\r\nAPI-Version: %s\r\n", api_version);
    fake_engine_reply(engine, 200, headers, "OK");
}

size_t fake_engine_request_count(fake_engine *engine)
{
    pthread_mutex_lock(&engine->lock);
    size_t count = engine->request_count;
    pthread_mutex_unlock(&engine->lock);
    return count;
}

const fake_engine_request *fake_engine_request_at(fake_engine *engine, size_t index)
{
    pthread_mutex_lock(&engine->lock);
    const fake_engine_request *request =
        index < engine->request_count ? engine->requests[index] : NULL;
    pthread_mutex_unlock(&engine->lock);
    return request;
}
