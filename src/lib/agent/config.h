/* The agent configuration file, in the form Nomad's agent reads:
 *
 *     datacenter = "dc1"
 *     region     = "global"
 *     client {
 *       meta    { rack = "r1" }
 *       options { "docker.cleanup.image" = "false" }
 *     }
 *
 * `berth run` uses datacenter, region, name, client.node_class, client.meta
 * and the docker.* client options. data_dir, bind_addr and ports are stored
 * for the long-running agent, and no front end reads them yet. Nomad's
 * other agent keys (server, log_level, consul, ...) are accepted with a
 * warning that berth ignores them. Unknown keys, unknown docker.* options
 * and bad values are errors with the FILE:LINE:COL they were written at.
 * Several files may be loaded into one configuration: a later file's
 * settings replace an earlier file's, and meta keys are merged. */
#ifndef BERTH_AGENT_CONFIG_H
#define BERTH_AGENT_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"
#include "core/value.h"
#include "docker/docker.h"
#include "driver/driver.h"
#include "job/job.h"

typedef struct berth_agent_config {
    /* Node identity; NULL where no file set it. */
    char *datacenter;
    char *region;
    char *name;
    char *node_class;
    berth_value *meta; /* client.meta: a map of strings, never NULL */

    /* Agent settings kept for the long-running agent. */
    char *data_dir;
    char *bind_addr;
    int http_port; /* ports { http rpc serf }; 0: not set */
    int rpc_port;
    int serf_port;

    /* docker.* client options. */
    char *docker_endpoint;    /* NULL: DOCKER_HOST and friends */
    char *docker_auth_config; /* Docker config.json or legacy .dockercfg path */
    char *docker_tls_cert;
    char *docker_tls_key;
    char *docker_tls_ca;
    char *docker_tls_origin;  /* FILE:LINE:COL of the last docker.tls.* option */
    bool cleanup_image;       /* docker.cleanup.image, default true */
    bool allow_privileged;    /* docker.privileged.enabled, default false */
    char *selinux_label;      /* docker.volumes.selinuxlabel */
} berth_agent_config;

/* Sets every field to its default: nothing set, cleanup_image true. */
void berth_agent_config_init(berth_agent_config *config);
void berth_agent_config_free(berth_agent_config *config);

/* Reads the file at path into config, over what earlier files set. Every
 * problem goes to diagnostics as "FILE:LINE:COL: message"; returns -1 with
 * err summarising ("agent.hcl: 2 errors") when there was an error. On
 * failure config may hold part of the file. */
int berth_agent_config_load_file(berth_agent_config *config, const char *path,
                                 berth_job_diagnostics *diagnostics, berth_error *err);

/* The same for text in memory; filename is used in messages. */
int berth_agent_config_load(berth_agent_config *config, const char *filename, const char *text,
                            size_t length, berth_job_diagnostics *diagnostics, berth_error *err);

/* Checks settings that depend on each other, once every file is loaded:
 * docker.tls.* without docker.endpoint is a warning (they are ignored), a
 * client certificate without its key or the reverse is an error. */
int berth_agent_config_finish(const berth_agent_config *config,
                              berth_job_diagnostics *diagnostics, berth_error *err);

/* Fills options from the docker.* client options; the strings are borrowed
 * from config. */
void berth_agent_config_driver_options(const berth_agent_config *config,
                                       berth_driver_options *options);

/* Fills a Docker client configuration. With docker.endpoint set, only the
 * file's settings are used (TLS with verification when any docker.tls.*
 * file is given); without it, DOCKER_HOST, DOCKER_TLS_VERIFY and
 * DOCKER_CERT_PATH are read as berth_docker_config_from_env() does.
 * Strings are borrowed from config or written into storage. */
void berth_agent_config_docker(const berth_agent_config *config, berth_docker_config *docker,
                               berth_docker_env_storage *storage);

#endif
