/* The agent's HTTP API server, in the shape of Nomad's HTTP API.
 *
 * The server routes requests, decodes bodies and query parameters, and
 * encodes replies; every reply comes from a backend table. Production
 * fills the table from a berth_agent with berth_api_backend_from_agent();
 * unit tests pass a fake. Routes:
 *
 *     PUT|POST /v1/jobs                       register a job ({"Job": {...}})
 *     GET      /v1/jobs                       list jobs
 *     GET      /v1/job/:id                    one job
 *     DELETE   /v1/job/:id                    stop a job
 *     GET      /v1/job/:id/allocations        the job's allocations
 *     GET      /v1/allocation/:id             one allocation
 *     GET      /v1/client/allocation/:id/stats
 *     GET      /v1/client/fs/logs/:alloc_id   a task's stdout or stderr
 *     GET      /v1/agent/self
 *     GET      /v1/nodes
 *
 * Every GET route also takes HEAD, which gets the same status and
 * headers without the body.
 *
 * A job ID may contain '/', sent as is or as %2F: the job routes take the
 * known suffix off the end of the path and the rest is the ID, as
 * Nomad's agent does.
 *
 * Errors are plain-text bodies: 400 for bad input, 404 for unknown routes
 * and objects, 405 for a method a route does not take, 413 for a body
 * over BERTH_API_MAX_BODY, 500 for everything else. */
#ifndef BERTH_API_API_H
#define BERTH_API_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/error.h"

/* Largest request body the server reads; larger bodies get 413. */
#define BERTH_API_MAX_BODY (4 * 1024 * 1024)

struct berth_agent;

/* The queries the server builds its replies from. Each function has the signature of
 * the berth_agent_* function of the same name (agent/agent.h) with the
 * agent replaced by context, and the same reply shapes and error codes. */
typedef struct berth_api_backend {
    void *context;
    int (*register_job)(void *context, const json_t *job, json_t **reply, berth_error *err);
    int (*list_jobs)(void *context, json_t **reply, berth_error *err);
    int (*get_job)(void *context, const char *job_id, json_t **reply, berth_error *err);
    int (*stop_job)(void *context, const char *job_id, json_t **reply, berth_error *err);
    int (*job_allocations)(void *context, const char *job_id, json_t **reply, berth_error *err);
    int (*get_allocation)(void *context, const char *alloc_id, json_t **reply, berth_error *err);
    int (*allocation_stats)(void *context, const char *alloc_id, json_t **reply,
                            berth_error *err);
    int (*log_files)(void *context, const char *alloc_id, const char *task, const char *stream,
                     char ***paths, size_t *count, berth_error *err);
    bool (*task_running)(void *context, const char *alloc_id, const char *task);
    int (*self)(void *context, json_t **reply, berth_error *err);
    int (*nodes)(void *context, json_t **reply, berth_error *err);
} berth_api_backend;

/* Fills backend with functions that call the berth_agent_* queries of
 * agent. The agent must outlive every server using the table. */
void berth_api_backend_from_agent(struct berth_agent *agent, berth_api_backend *backend);

typedef struct berth_api_server_options {
    const char *bind_addr; /* an IPv4 or IPv6 address; NULL: "127.0.0.1" */
    int port;              /* 0: an ephemeral port (see berth_api_server_port) */
    /* How often a following log reader checks for new output, in
     * milliseconds; 0: 250. */
    int log_poll_ms;
    /* How long a framed log follower may stay silent before the server
     * sends an empty heartbeat frame, in milliseconds; 0: 10000. */
    int heartbeat_ms;
} berth_api_server_options;

typedef struct berth_api_server berth_api_server;

/* Starts serving on its own threads (one per connection). The backend
 * table is copied; its context must outlive the server. */
int berth_api_server_start(const berth_api_server_options *options,
                           const berth_api_backend *backend, berth_api_server **out,
                           berth_error *err);

/* The TCP port the server listens on. */
int berth_api_server_port(const berth_api_server *server);

/* Ends open log streams, stops accepting connections, waits for the
 * connection threads and frees the server. NULL is ignored. */
void berth_api_server_stop(berth_api_server *server);

#endif
