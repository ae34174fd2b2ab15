/* The docker driver's task options, decoded from the task's `config` value
 * tree after interpolation. Field names follow the job specification. */
#ifndef BERTH_DRIVER_TASK_CONFIG_H
#define BERTH_DRIVER_TASK_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/value.h"

typedef struct berth_string_list {
    char **items;
    size_t length;
} berth_string_list;

typedef struct berth_string_pair {
    char *key;
    char *value;
} berth_string_pair;

typedef struct berth_string_map {
    berth_string_pair *items;
    size_t length;
} berth_string_map;

typedef struct berth_docker_auth {
    char *username;
    char *password;
    char *email;
    char *server_address;
    bool present;
} berth_docker_auth;

typedef struct berth_docker_task_config {
    char *image;
    berth_string_list load;
    char *command;
    berth_string_list args;
    bool has_args;
    berth_string_map labels;
    bool privileged;
    char *ipc_mode;
    char *pid_mode;
    char *uts_mode;
    char *network_mode;
    char *hostname;
    berth_string_list dns_servers;
    berth_string_list dns_search_domains;
    bool ssl;
    berth_string_map port_map; /* label -> container port, as decimal text */
    berth_docker_auth auth;
    bool tty;
    bool interactive;
    int64_t shm_size;
    char *work_dir;
} berth_docker_task_config;

/* Decodes config (a map) into out. Every problem is an error naming the
 * option, the bad value and what is allowed; the first one is returned. */
int berth_docker_task_config_decode(const berth_value *config, berth_docker_task_config *out,
                                    berth_error *err);
/* Decodes as berth_docker_task_config_decode does, for a config that is
 * not interpolated yet: a bool, number or port_map value given as a string
 * with ${...} is skipped (left at its default), because only the
 * interpolated value can be checked. */
int berth_docker_task_config_check(const berth_value *config, berth_docker_task_config *out,
                                   berth_error *err);
void berth_docker_task_config_free(berth_docker_task_config *config);

/* Returns the container port mapped to label, or 0 when port_map does not
 * name it. */
int berth_docker_task_config_mapped_port(const berth_docker_task_config *config,
                                         const char *label);

#endif
