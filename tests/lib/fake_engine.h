/* A recording fake Docker Engine for unit tests that check the exact
 * requests the client sends, and its handling of replies a real engine
 * cannot be made to give (old API versions, error replies).
 *
 * A thread serves HTTP/1.1 on a unix socket in a new temporary directory,
 * one request per connection. Each request takes the next queued reply in
 * order (a 500 with a "no reply queued" message when the queue is empty)
 * and is recorded before its reply is written, so a test can read the
 * record as soon as the client call returns. */
#ifndef BERTH_TESTS_FAKE_ENGINE_H
#define BERTH_TESTS_FAKE_ENGINE_H

#include <stddef.h>

typedef struct fake_engine fake_engine;

typedef struct fake_engine_request {
    char *method;
    char *target;  /* path and query, as sent */
    char *headers; /* the header lines, each ending in "\r\n" */
    char *body;    /* NUL-terminated; chunked bodies are decoded */
    size_t body_length;
} fake_engine_request;

/* Starts the server; returns 0, or -1 with a message on stderr. */
int fake_engine_start(fake_engine **out);
/* Stops the thread and removes the socket and its directory. */
void fake_engine_stop(fake_engine *engine);

/* "unix:///tmp/.../engine.sock" */
const char *fake_engine_endpoint(const fake_engine *engine);

/* Queues a reply with a Content-Length body. headers is NULL or lines of
 * "Name: value\r\n"; body may be NULL for none. */
void fake_engine_reply(fake_engine *engine, int status, const char *headers, const char *body);
/* Queues a reply sent with chunked transfer encoding, one HTTP chunk per
 * piece with a short pause between them, so that the client usually reads
 * them separately. lengths gives each piece's size (pieces may hold NUL). */
void fake_engine_reply_chunks(fake_engine *engine, int status, const char *headers,
                              const char *const *pieces, const size_t *lengths, size_t count);
/* Queues the reply to GET /_ping: "OK" with an API-Version header, or with
 * none when api_version is NULL. */
void fake_engine_reply_ping(fake_engine *engine, const char *api_version);

size_t fake_engine_request_count(fake_engine *engine);
/* The index-th request received, or NULL; valid until fake_engine_stop(). */
const fake_engine_request *fake_engine_request_at(fake_engine *engine, size_t index);
/* The value of header name (case-insensitive) in request, or NULL; the
 * caller frees it. */
char *fake_engine_request_header(const fake_engine_request *request, const char *name);

#endif
