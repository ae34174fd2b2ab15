/* Pieces shared by the API server's files; not part of the public API. */
#ifndef BERTH_API_INTERNAL_H
#define BERTH_API_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <microhttpd.h>

#include "api/api.h"

struct berth_api_server {
    struct MHD_Daemon *daemon;
    berth_api_backend backend;
    int port;
    int log_poll_ms;
    int heartbeat_ms;
    /* Set before the daemon stops so that log followers end instead of
     * holding their connection threads open. */
    atomic_bool stopping;
};

/* Query parameters of GET /v1/client/fs/logs/:alloc_id. */
typedef struct berth_api_log_request {
    const char *alloc_id;
    const char *task;
    const char *stream; /* "stdout" or "stderr" */
    bool follow;
    bool from_end; /* origin=end: offset counts back from the end */
    int64_t offset;
    bool plain; /* raw bytes instead of framed JSON objects */
} berth_api_log_request;

/* Builds the streaming response for a log request. Fails with the
 * backend's error (BERTH_E_NOT_FOUND for an unknown allocation or task)
 * before any byte is sent. */
int berth_api_log_response(berth_api_server *server, struct MHD_Connection *connection,
                           const berth_api_log_request *request, struct MHD_Response **out,
                           berth_error *err);

/* Encodes length bytes as standard base64 with padding; the caller frees
 * the result. */
char *berth_api_base64(const unsigned char *data, size_t length);

#endif
