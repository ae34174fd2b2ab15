/* Docker Engine API client on libcurl.
 *
 * Talks to a unix socket (`unix:///var/run/docker.sock`) or TCP
 * (`tcp://127.0.0.1:2376`, with or without TLS client certificates). The API
 * version is negotiated on first use: the client reads the engine's version
 * from `GET /_ping` (header `API-Version`, falling back to `GET /version`) and
 * uses min(engine version, BERTH_DOCKER_API_MAX) in every later path as
 * `/vX.Y/...`. Engines of API 1.41 (Docker 20.10) and current engines, which
 * reject versions below 1.44, both work because nothing is hard-coded.
 *
 * A berth_docker may be shared between threads: every call uses its own
 * curl handle. Ordinary calls have a bounded time; calls that wait for the
 * container (wait, stop, logs with follow, pull, load) have none, so a long
 * wait or stop is never cut short. */
#ifndef BERTH_DOCKER_DOCKER_H
#define BERTH_DOCKER_DOCKER_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/error.h"

#define BERTH_DOCKER_DEFAULT_ENDPOINT "unix:///var/run/docker.sock"
#define BERTH_DOCKER_API_MIN "1.24"
#define BERTH_DOCKER_API_MAX "1.44"

/* Maximum size of one JSON reply kept in memory (inspect, list, version). */
#define BERTH_DOCKER_MAX_REPLY (16u * 1024 * 1024)

typedef struct berth_docker berth_docker;

typedef struct berth_docker_config {
    const char *endpoint;  /* unix://PATH, tcp://HOST:PORT, http://, https://; NULL: default */
    const char *tls_ca;    /* PEM files; TLS is used when tls_cert or tls_ca is set */
    const char *tls_cert;
    const char *tls_key;
    bool tls_verify;       /* verify the engine's certificate against tls_ca */
    int request_timeout_ms; /* bound for ordinary calls; 0: 5 minutes */
} berth_docker_config;

/* Fills cfg from DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH (certs
 * ca.pem, cert.pem, key.pem; DOCKER_CERT_PATH defaults to ~/.docker). Strings
 * are written into storage, which must live as long as cfg. */
typedef struct berth_docker_env_storage {
    char endpoint[1024], ca[1024], cert[1024], key[1024];
} berth_docker_env_storage;
void berth_docker_config_from_env(berth_docker_config *cfg, berth_docker_env_storage *storage);

/* Validates the endpoint and creates a client; makes no network request. */
int berth_docker_open(const berth_docker_config *cfg, berth_docker **out, berth_error *err);
void berth_docker_close(berth_docker *docker);

/* The endpoint as configured, for messages ("cannot reach the Docker Engine
 * at unix:///var/run/docker.sock"). */
const char *berth_docker_endpoint(const berth_docker *docker);

/* Makes pulls and loads, in progress or later, fail with BERTH_E_CANCELLED
 * once *flag becomes non-zero (checked at least every 200 ms). Other calls
 * are not affected, so berth can still stop and remove its containers after
 * a Ctrl-C. flag may be NULL. */
void berth_docker_set_cancel_flag(berth_docker *docker, const volatile sig_atomic_t *flag);

/* Negotiates the API version (done once, lazily, by every other call).
 * Stores "1.41"-style text in *version (borrowed, lives with docker). */
int berth_docker_api_version(berth_docker *docker, const char **version, berth_error *err);

/* GET /version: the reply object (new reference). */
int berth_docker_version(berth_docker *docker, json_t **out, berth_error *err);
/* GET /info. */
int berth_docker_info(berth_docker *docker, json_t **out, berth_error *err);
/* GET /networks/NAME. */
int berth_docker_network_inspect(berth_docker *docker, const char *name, json_t **out,
                                 berth_error *err);

/* Generic JSON request. path starts with '/' and excludes the version
 * prefix; query may be NULL ("a=1&b=2", already escaped). body may be NULL.
 * *reply (may be NULL) receives the parsed reply or NULL for an empty one.
 * Any status >= 400 fails with BERTH_E_ENGINE (BERTH_E_NOT_FOUND for 404,
 * BERTH_E_CONFLICT for 409), http_status set, and the engine's "message". */
int berth_docker_request(berth_docker *docker, const char *method, const char *path,
                         const char *query, const json_t *body, long *status, json_t **reply,
                         berth_error *err);

/* --- Images --- */

/* GET /images/NAME/json. BERTH_E_NOT_FOUND when absent. */
int berth_docker_image_inspect(berth_docker *docker, const char *name, json_t **out,
                               berth_error *err);

/* One progress line of a pull or load, as the engine sent it. */
typedef void (*berth_docker_progress_cb)(void *user_data, const json_t *line);

/* POST /images/create?fromImage=REPO&tag=TAG. registry_auth is the value of
 * the X-Registry-Auth header (base64url JSON) or NULL; it is never logged.
 * Reads the progress stream to its end; a line with "error" fails the pull
 * with the engine's message. tag may be a digest ("sha256:..."). */
int berth_docker_image_pull(berth_docker *docker, const char *repository, const char *tag,
                            const char *registry_auth, berth_docker_progress_cb progress,
                            void *user_data, berth_error *err);

/* POST /images/load with the archive at path as the body. */
int berth_docker_image_load(berth_docker *docker, const char *path,
                            berth_docker_progress_cb progress, void *user_data,
                            berth_error *err);

/* DELETE /images/NAME[?force=1]. */
int berth_docker_image_remove(berth_docker *docker, const char *name, bool force,
                              berth_error *err);

/* --- Containers --- */

/* POST /containers/create?name=NAME; stores the new id (caller frees). */
int berth_docker_container_create(berth_docker *docker, const char *name, const json_t *body,
                                  char **id, berth_error *err);
int berth_docker_container_start(berth_docker *docker, const char *id, berth_error *err);
/* POST /containers/ID/wait?condition=not-running; blocks with no timeout. */
int berth_docker_container_wait(berth_docker *docker, const char *id, int64_t *exit_code,
                                berth_error *err);
/* POST /containers/ID/stop?t=SECONDS. A container already stopped (304) or
 * gone (404) is success. */
int berth_docker_container_stop(berth_docker *docker, const char *id, int timeout_seconds,
                                berth_error *err);
/* POST /containers/ID/kill?signal=NAME. */
int berth_docker_container_kill(berth_docker *docker, const char *id, const char *signal,
                                berth_error *err);
/* DELETE /containers/ID?force=1&v=1. A container already gone is success. */
int berth_docker_container_remove(berth_docker *docker, const char *id, berth_error *err);
int berth_docker_container_inspect(berth_docker *docker, const char *id, json_t **out,
                                   berth_error *err);
/* GET /containers/json?all=1&filters=FILTERS (filters is JSON text or NULL). */
int berth_docker_container_list(berth_docker *docker, const char *filters, json_t **out,
                                berth_error *err);

/* Receives container output. stream is 1 for stdout, 2 for stderr (a TTY
 * container sends everything as 1). data is not NUL-terminated. */
typedef void (*berth_docker_output_cb)(void *user_data, int stream, const char *data,
                                       size_t length);

typedef struct berth_docker_logs_options {
    bool follow;
    bool tty;      /* the container has a TTY: the stream is raw, not framed */
    int64_t since; /* unix seconds; 0: from the start */
    /* Unix nanoseconds, sent as "SECONDS.NANOSECONDS"; when non-zero it
     * replaces since. The engine returns entries at or after that time. */
    int64_t since_ns;
    /* Prefix each line with its RFC 3339 time stamp with nanoseconds and a
     * space, so a reader can resume exactly where it stopped. */
    bool timestamps;
} berth_docker_logs_options;

/* GET /containers/ID/logs?stdout=1&stderr=1[&follow=1][&since=N]. Without a
 * TTY the engine frames the stream: an 8-byte header (stream type byte, three
 * zero bytes, big-endian uint32 payload length) before each payload. Frame
 * headers are reassembled across reads; a payload reaches output as it
 * arrives, possibly in several pieces. Returns when the stream ends (with
 * follow: when the container stops). */
int berth_docker_container_logs(berth_docker *docker, const char *id,
                                const berth_docker_logs_options *options,
                                berth_docker_output_cb output, void *user_data, berth_error *err);

/* Incremental demultiplexer for the framed stream, exposed for tests. */
typedef struct berth_docker_demux {
    unsigned char header[8];
    size_t header_length;
    uint32_t remaining; /* payload bytes still expected in the current frame */
    int stream;
} berth_docker_demux;

void berth_docker_demux_init(berth_docker_demux *demux);
/* Feeds length bytes; calls output for each payload piece. Fails on a
 * stream type other than 0, 1 or 2. */
int berth_docker_demux_feed(berth_docker_demux *demux, const char *data, size_t length,
                            berth_docker_output_cb output, void *user_data, berth_error *err);

#endif
