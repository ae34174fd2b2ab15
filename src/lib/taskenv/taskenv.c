#include "taskenv/taskenv.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/util.h"
#include "taskenv/interp.h"

static void set_attribute(berth_value *map, const char *key, const char *value)
{
    berth_value_map_set(map, key, berth_value_new_string(value));
}

static char *read_machine_id(void)
{
    berth_autofree char *text = NULL;
    if (berth_read_file("/etc/machine-id", 4096, &text, NULL, NULL) < 0)
        return NULL;
    size_t length = strcspn(text, " \t\r\n");
    if (length != 32)
        return NULL;
    /* Shape the 32 hex digits like a UUID, as Nomad's node ids are. */
    return berth_xasprintf("%.8s-%.4s-%.4s-%.4s-%.12s", text, text + 8, text + 12, text + 16,
                           text + 20);
}

void berth_node_init_local(berth_node *node, const char *datacenter, const char *region)
{
    memset(node, 0, sizeof(*node));
    node->id = read_machine_id();
    if (node->id == NULL) {
        char uuid[37];
        berth_uuid_v4(uuid);
        node->id = berth_xstrdup(uuid);
    }
    char hostname[256] = "localhost";
    gethostname(hostname, sizeof(hostname) - 1);
    hostname[sizeof(hostname) - 1] = '\0';
    node->name = berth_xstrdup(hostname);
    node->datacenter = berth_xstrdup(datacenter != NULL ? datacenter : "dc1");
    node->region = berth_xstrdup(region != NULL ? region : "global");
    node->node_class = berth_xstrdup("");
    node->meta = berth_value_new_map();

    node->attributes = berth_value_new_map();
    struct utsname uts;
    if (uname(&uts) == 0) {
        berth_autofree char *lower = berth_xstrdup(uts.sysname);
        for (char *p = lower; *p != '\0'; p++)
            *p = (char)tolower((unsigned char)*p);
        set_attribute(node->attributes, "kernel.name", lower);
        set_attribute(node->attributes, "kernel.version", uts.release);
        set_attribute(node->attributes, "cpu.arch", uts.machine);
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    berth_autofree char *cores_text = berth_xasprintf("%ld", cores > 0 ? cores : 1);
    set_attribute(node->attributes, "cpu.numcores", cores_text);
    long pages = sysconf(_SC_PHYS_PAGES);
    long page_size = sysconf(_SC_PAGE_SIZE);
    if (pages > 0 && page_size > 0) {
        berth_autofree char *memory = berth_xasprintf("%lld", (long long)pages * page_size);
        set_attribute(node->attributes, "memory.totalbytes", memory);
    }
    set_attribute(node->attributes, "unique.hostname", hostname);
}

void berth_node_free(berth_node *node)
{
    free(node->id);
    free(node->name);
    free(node->datacenter);
    free(node->region);
    free(node->node_class);
    berth_value_free(node->attributes);
    berth_value_free(node->meta);
    memset(node, 0, sizeof(*node));
}

char *berth_env_sanitize_key(const char *key)
{
    char *clean = berth_xstrdup(key);
    for (char *p = clean; *p != '\0'; p++) {
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.')
            *p = '_';
    }
    return clean;
}

static char *upper_case(const char *text)
{
    char *upper = berth_xstrdup(text);
    for (char *p = upper; *p != '\0'; p++)
        *p = (char)toupper((unsigned char)*p);
    return upper;
}

static void set_env(berth_value *env, const char *key, const char *value)
{
    berth_value_map_set(env, key, berth_value_new_string(value));
}

static void set_env_int(berth_value *env, const char *key, long long value)
{
    berth_autofree char *text = berth_xasprintf("%lld", value);
    set_env(env, key, text);
}

/* Renders a meta value as text: strings as they are, numbers and bools as
 * written. */
static char *scalar_text(const berth_value *value)
{
    switch (value->kind) {
    case BERTH_VALUE_STRING:
        return berth_xstrdup(value->as.string);
    case BERTH_VALUE_BOOL:
        return berth_xstrdup(value->as.boolean ? "true" : "false");
    case BERTH_VALUE_NUMBER:
        if (value->as.number.is_integer)
            return berth_xasprintf("%lld", (long long)value->as.number.integer);
        return berth_xasprintf("%g", value->as.number.number);
    default:
        return NULL;
    }
}

static int add_meta(berth_value *merged, const berth_value *meta, berth_error *err)
{
    if (meta == NULL)
        return 0;
    for (size_t i = 0; i < meta->as.map.length; i++) {
        berth_autofree char *text = scalar_text(meta->as.map.values[i]);
        if (text == NULL) {
            char origin[512];
            berth_value_describe_origin(meta->as.map.values[i], origin, sizeof(origin));
            return berth_error_set(err, BERTH_E_INVALID,
                                   "%smeta \"%s\" must be a string, number or bool, not a %s",
                                   origin, meta->as.map.keys[i],
                                   berth_value_kind_name(meta->as.map.values[i]->kind));
        }
        set_env(merged, meta->as.map.keys[i], text);
    }
    return 0;
}

char *berth_task_lookup_name(void *user_data, const char *name)
{
    const berth_task_lookup *context = user_data;
    return berth_task_env_lookup(context->env, context->node, name);
}

int berth_task_env_build(const berth_task_env_input *input, berth_value **out, berth_error *err)
{
    berth_autovalue berth_value *env = berth_value_new_map();

    set_env(env, "NOMAD_ALLOC_DIR", "/alloc");
    set_env(env, "NOMAD_TASK_DIR", "/local");
    set_env(env, "NOMAD_SECRETS_DIR", "/secrets");
    if (input->memory_mb > 0)
        set_env_int(env, "NOMAD_MEMORY_LIMIT", input->memory_mb);
    if (input->cpu_mhz > 0)
        set_env_int(env, "NOMAD_CPU_LIMIT", input->cpu_mhz);
    set_env(env, "NOMAD_ALLOC_ID", input->alloc_id);
    berth_autofree char *short_id = berth_xstrndup(input->alloc_id, 8);
    set_env(env, "NOMAD_SHORT_ALLOC_ID", short_id);
    berth_autofree char *alloc_name =
        berth_xasprintf("%s.%s[%d]", input->job_name, input->group_name, input->alloc_index);
    set_env(env, "NOMAD_ALLOC_NAME", alloc_name);
    set_env_int(env, "NOMAD_ALLOC_INDEX", input->alloc_index);
    set_env(env, "NOMAD_TASK_NAME", input->task_name);
    set_env(env, "NOMAD_GROUP_NAME", input->group_name);
    set_env(env, "NOMAD_JOB_NAME", input->job_name);
    set_env(env, "NOMAD_JOB_ID", input->job_id != NULL ? input->job_id : input->job_name);
    if (input->node != NULL) {
        set_env(env, "NOMAD_DC", input->node->datacenter);
        set_env(env, "NOMAD_REGION", input->node->region);
    }

    for (size_t i = 0; i < input->port_count; i++) {
        const berth_port_binding *port = &input->ports[i];
        berth_autofree char *label = berth_env_sanitize_key(port->label);
        berth_autofree char *key = NULL;

        key = berth_xasprintf("NOMAD_IP_%s", label);
        set_env(env, key, port->host_ip);
        free(key);
        key = berth_xasprintf("NOMAD_PORT_%s", label);
        set_env_int(env, key, port->host_port);
        free(key);
        key = berth_xasprintf("NOMAD_HOST_PORT_%s", label);
        set_env_int(env, key, port->host_port);
        free(key);
        key = berth_xasprintf("NOMAD_ADDR_%s", label);
        berth_autofree char *address =
            strchr(port->host_ip, ':') != NULL
                ? berth_xasprintf("[%s]:%d", port->host_ip, port->host_port)
                : berth_xasprintf("%s:%d", port->host_ip, port->host_port);
        set_env(env, key, address);
    }

    berth_autovalue berth_value *meta = berth_value_new_map();
    if (add_meta(meta, input->job_meta, err) < 0 || add_meta(meta, input->group_meta, err) < 0 ||
        add_meta(meta, input->task_meta, err) < 0)
        return -1;
    for (size_t i = 0; i < meta->as.map.length; i++) {
        berth_autofree char *clean = berth_env_sanitize_key(meta->as.map.keys[i]);
        berth_autofree char *upper = upper_case(clean);
        berth_autofree char *upper_key = berth_xasprintf("NOMAD_META_%s", upper);
        berth_autofree char *exact_key = berth_xasprintf("NOMAD_META_%s", clean);
        set_env(env, upper_key, meta->as.map.values[i]->as.string);
        set_env(env, exact_key, meta->as.map.values[i]->as.string);
    }

    if (input->user_env != NULL) {
        /* User values see the NOMAD_* variables and the node, not each
         * other, so the order of the env block does not matter. */
        berth_autovalue berth_value *base = berth_value_clone(env);
        berth_task_lookup context = {base, input->node};
        for (size_t i = 0; i < input->user_env->as.map.length; i++) {
            const berth_value *value = input->user_env->as.map.values[i];
            berth_autofree char *text = scalar_text(value);
            if (text == NULL) {
                char origin[512];
                berth_value_describe_origin(value, origin, sizeof(origin));
                return berth_error_set(err, BERTH_E_INVALID,
                                       "%senv \"%s\" must be a string, number or bool, not a %s",
                                       origin, input->user_env->as.map.keys[i],
                                       berth_value_kind_name(value->kind));
            }
            berth_autofree char *key =
                berth_interpolate(input->user_env->as.map.keys[i], berth_task_lookup_name, &context);
            berth_autofree char *expanded = berth_interpolate(text, berth_task_lookup_name, &context);
            set_env(env, key, expanded);
        }
    }

    *out = berth_steal_pointer(&env);
    return 0;
}

static char *map_string(const berth_value *map, const char *key)
{
    const berth_value *value = berth_value_map_get(map, key);
    return value != NULL ? scalar_text(value) : NULL;
}

char *berth_task_env_lookup(const berth_value *env, const berth_node *node, const char *name)
{
    char *value = env != NULL ? map_string(env, name) : NULL;
    if (value != NULL || node == NULL)
        return value;

    if (strcmp(name, "node.unique.id") == 0)
        return berth_xstrdup(node->id);
    if (strcmp(name, "node.unique.name") == 0)
        return berth_xstrdup(node->name);
    if (strcmp(name, "node.datacenter") == 0)
        return berth_xstrdup(node->datacenter);
    if (strcmp(name, "node.region") == 0)
        return berth_xstrdup(node->region);
    if (strcmp(name, "node.class") == 0)
        return berth_xstrdup(node->node_class);
    if (berth_str_has_prefix(name, "attr."))
        return map_string(node->attributes, name + strlen("attr."));
    if (berth_str_has_prefix(name, "node.attr."))
        return map_string(node->attributes, name + strlen("node.attr."));
    if (berth_str_has_prefix(name, "meta."))
        return map_string(node->meta, name + strlen("meta."));
    if (berth_str_has_prefix(name, "node.meta."))
        return map_string(node->meta, name + strlen("node.meta."));
    return NULL;
}
