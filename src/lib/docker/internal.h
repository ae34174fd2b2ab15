/* Shared by the files of the Docker Engine client: the client structure and
 * one HTTP exchange with the engine. Not part of the public interface. */
#ifndef BERTH_DOCKER_INTERNAL_H
#define BERTH_DOCKER_INTERNAL_H

#include <pthread.h>
#include <stdio.h>

#include "core/buf.h"
#include "docker/docker.h"

/* Size of an API version text such as "1.41", with ample room. */
#define BERTH_DOCKER_VERSION_MAX 32

struct berth_docker {
    char *endpoint;    /* as configured, for messages */
    char *base_url;    /* "http://localhost" for a unix socket, else scheme://host:port */
    char *socket_path; /* NULL unless the endpoint is unix:// */
    char *tls_ca;
    char *tls_cert;
    char *tls_key;
    bool tls_verify;
    long request_timeout_ms;
    _Atomic(const volatile sig_atomic_t *) cancel_flag;

    /* The negotiated version. version_lock serialises negotiation so that
     * concurrent first calls send one /_ping between them; a failed
     * negotiation is retried by the next call. */
    pthread_mutex_t version_lock;
    bool version_negotiated;
    char api_version[BERTH_DOCKER_VERSION_MAX];
};

/* Receives the body of a successful reply piece by piece. A negative return
 * aborts the transfer with the error the sink filled. */
typedef int (*berth_docker_body_sink)(void *user_data, const char *data, size_t length,
                                      berth_error *err);

/* One HTTP exchange. The caller fills the request part, zeroes the rest and
 * frees reply with berth_docker_call_free(). */
typedef struct berth_docker_call {
    const char *method;
    const char *path;  /* starts with '/', without the version prefix */
    const char *query; /* already escaped, or NULL */
    bool unversioned;  /* /_ping and /version during negotiation */
    bool unbounded;    /* no overall timeout: wait, stop, logs with follow, pull, load */
    bool cancellable;  /* the cancel flag aborts it: pull and load only */
    const char *content_type;
    const char *body; /* in-memory request body, or NULL */
    size_t body_length;
    FILE *upload; /* streamed request body (image load), or NULL */
    uint64_t upload_length;
    const char *registry_auth;   /* X-Registry-Auth value; never logged */
    berth_docker_body_sink sink; /* NULL: collect the reply in reply */
    void *sink_data;

    long status;                                /* HTTP status of the reply */
    berth_buf reply;                            /* body unless sink took it; error bodies */
    char api_version[BERTH_DOCKER_VERSION_MAX]; /* the API-Version header, or "" */
} berth_docker_call;

/* Sends the request and reads the whole reply. Fails with
 * BERTH_E_UNREACHABLE when the engine cannot be reached, BERTH_E_CANCELLED
 * when the cancel flag is set, and with the engine's message for any status
 * of 400 or more (see berth_docker_request for the codes). call->status is
 * set whenever a reply arrived. */
int berth_docker_perform(berth_docker *docker, berth_docker_call *call, berth_error *err);
void berth_docker_call_free(berth_docker_call *call);

/* Percent-encodes text for a query value or, with keep_slash, for a path
 * whose '/' and ':' separators must stay (image names). Caller frees. */
char *berth_docker_escape(const char *text, bool keep_slash);

/* Checks an id or name that goes into a path: non-empty. what names the
 * argument in the message ("container id"). */
int berth_docker_check_name(const char *name, const char *what, berth_error *err);

/* Parses a JSON reply body. An empty body gives *out = NULL. */
int berth_docker_parse_reply(const berth_docker_call *call, json_t **out, berth_error *err);

#endif
