/* The task environment: the NOMAD_* variables a task gets, the user's `env`
 * block interpolated, and the node values (`node.*`, `attr.*`, `meta.*`)
 * that `${...}` references resolve against. */
#ifndef BERTH_TASKENV_TASKENV_H
#define BERTH_TASKENV_TASKENV_H

#include <stddef.h>

#include "core/error.h"
#include "core/value.h"

/* The node a task runs on. attributes and meta are maps of strings. */
typedef struct berth_node {
    char *id;
    char *name;
    char *datacenter;
    char *region;
    char *node_class;
    berth_value *attributes; /* "kernel.name" = "linux", "driver.docker" = "1", ... */
    berth_value *meta;
} berth_node;

/* Fills node with this machine's values: id from /etc/machine-id when
 * present, name from the host name, kernel and CPU attributes. datacenter
 * and region are copied. */
void berth_node_init_local(berth_node *node, const char *datacenter, const char *region);
void berth_node_free(berth_node *node);

/* One port reserved for a task. */
typedef struct berth_port_binding {
    char *label;
    char *host_ip;
    int host_port;
} berth_port_binding;

typedef struct berth_task_env_input {
    const berth_node *node;
    const char *alloc_id;
    int alloc_index;
    const char *job_id;
    const char *job_name;
    const char *group_name;
    const char *task_name;
    const berth_value *job_meta;   /* maps of strings; may be NULL */
    const berth_value *group_meta;
    const berth_value *task_meta;
    const berth_value *user_env;   /* the task's env block; values are interpolated */
    int cpu_mhz;
    int memory_mb;
    const berth_port_binding *ports;
    size_t port_count;
} berth_task_env_input;

/* Builds the environment as a map of strings, in a stable order. Meta keys
 * appear as NOMAD_META_<KEY> twice, upper-cased and as written, with task
 * meta over group meta over job meta. Port variables follow Nomad 0.6 and
 * later: NOMAD_IP_<label> is the host IP, NOMAD_PORT_<label> and
 * NOMAD_HOST_PORT_<label> the host port (the driver replaces
 * NOMAD_PORT_<label> with the container port when port_map maps it), and
 * NOMAD_ADDR_<label> is IP:host port. User env values are interpolated
 * against the NOMAD_* variables and the node. */
int berth_task_env_build(const berth_task_env_input *input, berth_value **out, berth_error *err);

/* Resolves a `${name}` reference: first the environment map, then node
 * values (node.unique.id, node.unique.name, node.datacenter, node.region,
 * node.class, attr.<key>, meta.<key>). Returns a new string, or NULL when
 * unknown. */
char *berth_task_env_lookup(const berth_value *env, const berth_node *node, const char *name);

/* The pair a `${...}` reference is resolved against, for use with
 * berth_interpolate(): pass berth_task_lookup_name as the lookup and a
 * berth_task_lookup as its user data. */
typedef struct berth_task_lookup {
    const berth_value *env;
    const berth_node *node;
} berth_task_lookup;

/* Resolves name through berth_task_env_lookup(); user_data is a
 * berth_task_lookup. Returns a new string, or NULL when unknown. */
char *berth_task_lookup_name(void *user_data, const char *name);

/* Replaces characters outside [A-Za-z0-9_.] with '_' so a port label or
 * meta key can be part of a variable name. Returns a new string. */
char *berth_env_sanitize_key(const char *key);

#endif
