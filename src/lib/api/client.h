/* A client for the agent's HTTP API, used by the CLI commands. It never
 * prints: failures come back as errors whose message is ready to show
 * ("cannot reach the berth agent at http://127.0.0.1:4646: ..." or the
 * server's own error text for a 4xx). */
#ifndef BERTH_API_CLIENT_H
#define BERTH_API_CLIENT_H

#include <stddef.h>

#include <jansson.h>

#include "core/error.h"

#define BERTH_API_DEFAULT_ADDRESS "http://127.0.0.1:4646"

/* Largest JSON reply the client reads. */
#define BERTH_API_MAX_REPLY (64 * 1024 * 1024)

typedef struct berth_api_client berth_api_client;

/* Checks address (an http:// or https:// URL, a trailing slash allowed)
 * and makes a client for it. The caller frees it with
 * berth_api_client_close(). */
int berth_api_client_open(const char *address, berth_api_client **out, berth_error *err);
void berth_api_client_close(berth_api_client *client);

/* Sends method on path (which starts with "/v1/"), with body encoded as
 * JSON when not NULL, and parses a 2xx reply into *reply (the caller
 * frees it). A 4xx or 5xx fails with the server's text: 400 as
 * BERTH_E_INVALID, 404 as BERTH_E_NOT_FOUND, others BERTH_E_INTERNAL.
 * A connection failure is BERTH_E_UNREACHABLE. */
int berth_api_client_request(berth_api_client *client, const char *method, const char *path,
                             const json_t *body, json_t **reply, berth_error *err);

/* Receives body bytes of a streamed reply; a negative return ends the
 * transfer. */
typedef int (*berth_api_stream_fn)(void *user_data, const char *data, size_t length);

/* Sends GET path and hands a 2xx body to write as it arrives, for as long
 * as the server keeps the reply open. Returns 0 when the reply ends
 * normally and 1 when the server closes the connection before the end of
 * a 2xx reply (as the agent does to log streams when it stops). Errors as
 * berth_api_client_request. */
int berth_api_client_stream(berth_api_client *client, const char *path,
                            berth_api_stream_fn write, void *user_data, berth_error *err);

/* Percent-encodes text for use as one path segment or query value; the
 * caller frees the result. */
char *berth_api_escape(const char *text);

#endif
