/* The docker driver: runs one task as one container.
 *
 * It takes a task the way Nomad hands one to a driver: the `config` block
 * as a generic value tree plus the task's identity, environment and
 * resources. It never depends on parser types, so job files in HCL, Nomad's JSON
 * jobs and (later) the plugin protocol all reach it the same way. */
#ifndef BERTH_DRIVER_DRIVER_H
#define BERTH_DRIVER_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/value.h"
#include "docker/docker.h"
#include "taskenv/taskenv.h"

/* Agent settings of the driver (client options docker.*). */
typedef struct berth_driver_options {
    bool allow_privileged;      /* docker.privileged.enabled, default false */
    bool cleanup_image;         /* docker.cleanup.image, default true */
    const char *selinux_label;  /* docker.volumes.selinuxlabel, e.g. "z"; NULL: none */
    const char *auth_config;    /* docker.auth.config: registry credentials file; NULL: none */
} berth_driver_options;

typedef struct berth_driver berth_driver;

/* Creates a driver on docker (borrowed; it must outlive the driver). */
int berth_driver_open(berth_docker *docker, const berth_driver_options *options,
                      berth_driver **out, berth_error *err);
void berth_driver_close(berth_driver *driver);

/* Receives progress messages ("pulling image redis:7") for a task. */
typedef void (*berth_driver_event_cb)(void *user_data, const char *message);

typedef struct berth_task_request {
    const char *alloc_id;
    const char *job_name;
    const char *group_name;
    const char *task_name;
    const berth_value *config; /* the task's config block; strings may hold ${...} */
    const berth_value *env;    /* from berth_task_env_build */
    const berth_node *node;
    int cpu_mhz;
    int memory_mb;
    const berth_port_binding *ports;
    size_t port_count;
    const char *alloc_dir;    /* host folder mounted at /alloc */
    const char *local_dir;    /* host folder mounted at /local */
    const char *secrets_dir;  /* host folder mounted at /secrets */
    const char *user;         /* the task's user, or NULL */
    int64_t kill_timeout_ms;
    const char *kill_signal;  /* NULL: the engine's stop logic */
    const berth_value *extra_labels; /* labels berth adds (map of strings), may be NULL */
    berth_driver_event_cb event;
    void *event_user_data;
} berth_task_request;

/* A started task. The driver owns nothing in it; free with
 * berth_task_handle_free(). */
typedef struct berth_task_handle {
    char *container_id;
    char *container_name;
    char *image;    /* the reference as pulled, "redis:7" */
    char *image_id; /* "sha256:..." */
    bool tty;
    bool image_counted; /* holds a reference on image_id for cleanup */
    int64_t kill_timeout_ms;
    char *kill_signal;
    berth_value *env; /* the environment the container got */
} berth_task_handle;

typedef struct berth_task_exit {
    int64_t exit_code;
    bool oom_killed;
} berth_task_exit;

/* Checks a config block without contacting the engine: option names,
 * types, the image reference, agent gates, and that every port_map label
 * is one of port_labels (the task's network ports). */
int berth_driver_validate_config(const berth_driver_options *options, const berth_value *config,
                                 const char *const *port_labels, size_t port_count,
                                 berth_error *err);

/* Interpolates and decodes the config, makes sure the image is present
 * (inspect, else pull, or with `load` the named archives, which must be
 * inside the allocation directory), creates and starts the container. On
 * failure no container is left behind. */
int berth_driver_start_task(berth_driver *driver, const berth_task_request *request,
                            berth_task_handle **out, berth_error *err);

/* Blocks until the container exits. */
int berth_driver_wait_task(berth_driver *driver, const berth_task_handle *handle,
                           berth_task_exit *exit, berth_error *err);

typedef enum berth_task_state {
    BERTH_TASK_GONE = -1,   /* the container no longer exists */
    BERTH_TASK_EXITED = 0,  /* exit is filled */
    BERTH_TASK_RUNNING = 1,
} berth_task_state;

/* Inspects the container. Fails when the engine cannot be reached (or
 * replies with an error other than "not found"). */
int berth_driver_task_state(berth_driver *driver, const berth_task_handle *handle,
                            berth_task_state *state, berth_task_exit *exit, berth_error *err);

/* Stops the container: with kill_signal, sends it and waits up to
 * kill_timeout before killing; without, the engine's stop with
 * kill_timeout. A container already stopped or gone is success. */
int berth_driver_stop_task(berth_driver *driver, const berth_task_handle *handle,
                           berth_error *err);

/* Removes the container and releases its image (removed when
 * docker.cleanup.image is on and no other task holds it). */
int berth_driver_destroy_task(berth_driver *driver, berth_task_handle *handle, berth_error *err);

/* Follows the container's output from since (unix seconds; 0: from the
 * start) until it ends. */
int berth_driver_stream_logs(berth_driver *driver, const berth_task_handle *handle, int64_t since,
                             berth_docker_output_cb output, void *user_data, berth_error *err);

void berth_task_handle_free(berth_task_handle *handle);

/* Takes a reference on an image for a task re-attached after an agent
 * restart, as berth_driver_start_task did when it started; fetched_by_berth
 * restores whether cleanup may remove the image. */
void berth_driver_retain_image(berth_driver *driver, const char *reference, const char *image_id,
                               bool fetched_by_berth);

/* Reports whether berth pulled or loaded the image, so the agent can keep
 * that across restarts. */
bool berth_driver_image_fetched(berth_driver *driver, const char *reference);

/* Fills a map of node attributes: driver.docker = "1",
 * driver.docker.version, docker.privileged.enabled when allowed, and
 * driver.docker.bridge_ip when the engine has a bridge network. */
int berth_driver_fingerprint(berth_driver *driver, berth_value **attributes, berth_error *err);

/* Builds the container create body for a decoded request; exposed for
 * tests. */
struct berth_docker_task_config;
json_t *berth_driver_create_body(const berth_driver_options *options,
                                 const berth_task_request *request,
                                 const struct berth_docker_task_config *config,
                                 const char *image, const berth_value *env, berth_error *err);

/* Encodes auth as the engine's X-Registry-Auth header value: base64url of
 * {"username","password","email","serveraddress"}. Returns a new string. */
struct berth_docker_auth;
char *berth_driver_registry_auth(const struct berth_docker_auth *auth);

#endif
