/* Decodes the agent configuration file. The file is converted to a value
 * tree first (blocks and HCL1 `name = { ... }` objects then look the same),
 * and every value keeps the FILE:LINE:COL it was written at for messages.
 * Decoding goes on after an error so every problem is reported at once. */
#include "agent/config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/util.h"
#include "hcl/hcl.h"

#define MAX_AGENT_FILE_SIZE (4u * 1024 * 1024)

typedef struct decoder {
    berth_agent_config *config;
    berth_job_diagnostics *diagnostics;
    size_t errors_before;
} decoder;

/* Nomad agent keys berth accepts but does not act on. */
static const char *const ignored_top_keys[] = {
    "acl",          "addresses",          "advertise",      "audit",
    "autopilot",    "consul",             "disable_anonymous_signature",
    "disable_update_check",               "enable_debug",   "enable_syslog",
    "http_api_response_headers",          "leave_on_interrupt",
    "leave_on_terminate",                 "limits",         "log_file",
    "log_json",     "log_level",          "log_rotate_bytes",
    "log_rotate_duration",                "log_rotate_max_files",
    "plugin",       "plugin_dir",         "reporting",      "sentinel",
    "server",       "syslog_facility",    "telemetry",      "tls",
    "ui",           "vault",              NULL,
};

static const char *const ignored_client_keys[] = {
    "alloc_dir",           "artifact",            "bridge_network_name",
    "bridge_network_subnet", "chroot_env",        "cni_config_dir",
    "cni_path",            "cpu_total_compute",   "disable_remote_exec",
    "drain_on_shutdown",   "enabled",             "gc_disk_usage_threshold",
    "gc_inode_usage_threshold", "gc_interval",    "gc_max_allocs",
    "gc_parallel_destroys", "host_network",       "host_volume",
    "max_kill_timeout",    "memory_total_mb",     "network_interface",
    "network_speed",       "no_host_uuid",        "node_pool",
    "reserved",            "server_join",         "servers",
    "state_dir",           "template",            NULL,
};

static const char *const docker_options[] = {
    "docker.endpoint",      "docker.auth.config",          "docker.tls.cert",
    "docker.tls.key",       "docker.tls.ca",               "docker.cleanup.image",
    "docker.volumes.selinuxlabel", "docker.privileged.enabled", NULL,
};

#define DOCKER_OPTION_LIST                                                                         \
    "docker.endpoint, docker.auth.config, docker.tls.cert, docker.tls.key, docker.tls.ca, "      \
    "docker.cleanup.image, docker.volumes.selinuxlabel, docker.privileged.enabled"

static bool in_list(const char *const *list, const char *name)
{
    for (size_t i = 0; list[i] != NULL; i++) {
        if (strcmp(list[i], name) == 0)
            return true;
    }
    return false;
}

static void add_message(char ***list, size_t *count, size_t *capacity, const berth_value *at,
                        const char *format, va_list args)
{
    char text[1536];
    vsnprintf(text, sizeof(text), format, args);
    berth_grow((void **)list, capacity, *count + 1, sizeof(**list));
    (*list)[(*count)++] = at != NULL && at->origin != NULL
                              ? berth_xasprintf("%s: %s", at->origin, text)
                              : berth_xstrdup(text);
}

__attribute__((format(printf, 3, 4))) static void report_error(decoder *d, const berth_value *at,
                                                               const char *format, ...)
{
    va_list args;
    va_start(args, format);
    add_message(&d->diagnostics->errors, &d->diagnostics->error_count,
                &d->diagnostics->error_capacity, at, format, args);
    va_end(args);
}

__attribute__((format(printf, 3, 4))) static void report_warning(berth_job_diagnostics *diagnostics,
                                                                 const berth_value *at,
                                                                 const char *format, ...)
{
    va_list args;
    va_start(args, format);
    add_message(&diagnostics->warnings, &diagnostics->warning_count,
                &diagnostics->warning_capacity, at, format, args);
    va_end(args);
}

static void replace_string(char **slot, const char *text)
{
    free(*slot);
    *slot = berth_xstrdup(text);
}

/* --- Scalars -------------------------------------------------------------- */

/* Writes a string, number or bool as text into *out (a new string). Nomad
 * reads these settings as strings, so `meta { rack = 3 }` is "3". */
static bool scalar_text(const berth_value *value, char **out)
{
    switch (value->kind) {
    case BERTH_VALUE_STRING: *out = berth_xstrdup(value->as.string); return true;
    case BERTH_VALUE_BOOL: *out = berth_xstrdup(value->as.boolean ? "true" : "false"); return true;
    case BERTH_VALUE_NUMBER:
        if (value->as.number.is_integer)
            *out = berth_xasprintf("%lld", (long long)value->as.number.integer);
        else
            *out = berth_xasprintf("%g", value->as.number.number);
        return true;
    default: return false;
    }
}

static void decode_string(decoder *d, const char *name, const berth_value *value, char **slot)
{
    if (value->kind != BERTH_VALUE_STRING) {
        report_error(d, value, "\"%s\" must be a string, not a %s", name,
                     berth_value_kind_name(value->kind));
        return;
    }
    replace_string(slot, value->as.string);
}

static void decode_port(decoder *d, const char *name, const berth_value *value, int *slot)
{
    int64_t number = 0;
    bool valid = false;
    if (value->kind == BERTH_VALUE_NUMBER && value->as.number.is_integer) {
        number = value->as.number.integer;
        valid = number >= 1 && number <= 65535;
    } else if (value->kind == BERTH_VALUE_STRING) {
        valid = berth_parse_int64(value->as.string, 1, 65535, &number);
    }
    if (!valid) {
        report_error(d, value, "ports.%s must be a port number from 1 to 65535", name);
        return;
    }
    *slot = (int)number;
}

/* Parses the forms Go's strconv.ParseBool accepts, which is what Nomad uses
 * for boolean client options. */
static bool parse_bool_text(const char *text, bool *out)
{
    static const char *const true_forms[] = {"1", "t", "T", "TRUE", "true", "True", NULL};
    static const char *const false_forms[] = {"0", "f", "F", "FALSE", "false", "False", NULL};
    if (in_list(true_forms, text)) {
        *out = true;
        return true;
    }
    if (in_list(false_forms, text)) {
        *out = false;
        return true;
    }
    return false;
}

/* Calls visit for every map in value: a map, or a list of maps when a block
 * was given more than once. Anything else is an error naming what. */
static void for_each_map(decoder *d, const char *what, const berth_value *value,
                         void (*visit)(decoder *, const berth_value *))
{
    if (value->kind == BERTH_VALUE_MAP) {
        visit(d, value);
        return;
    }
    if (value->kind == BERTH_VALUE_LIST) {
        for (size_t i = 0; i < value->as.list.length; i++)
            for_each_map(d, what, value->as.list.items[i], visit);
        return;
    }
    report_error(d, value, "\"%s\" must be a block or a map, not a %s", what,
                 berth_value_kind_name(value->kind));
}

/* --- client.options -------------------------------------------------------- */

static void set_docker_file(char **slot, const char *text)
{
    if (*text == '\0') {
        free(*slot);
        *slot = NULL;
        return;
    }
    replace_string(slot, text);
}

static void decode_docker_option(decoder *d, const char *name, const berth_value *value,
                                 const char *text)
{
    berth_agent_config *config = d->config;
    if (strcmp(name, "docker.endpoint") == 0) {
        if (*text != '\0' && !berth_str_has_prefix(text, "unix://") &&
            !berth_str_has_prefix(text, "tcp://") && !berth_str_has_prefix(text, "http://") &&
            !berth_str_has_prefix(text, "https://")) {
            report_error(d, value,
                         "invalid docker.endpoint \"%s\"; expected unix:///PATH or "
                         "tcp://HOST:PORT",
                         text);
            return;
        }
        set_docker_file(&config->docker_endpoint, text);
    } else if (strcmp(name, "docker.auth.config") == 0) {
        set_docker_file(&config->docker_auth_config, text);
    } else if (berth_str_has_prefix(name, "docker.tls.")) {
        char **slot = strcmp(name, "docker.tls.cert") == 0  ? &config->docker_tls_cert
                      : strcmp(name, "docker.tls.key") == 0 ? &config->docker_tls_key
                                                            : &config->docker_tls_ca;
        set_docker_file(slot, text);
        free(config->docker_tls_origin);
        config->docker_tls_origin = value->origin != NULL ? berth_xstrdup(value->origin) : NULL;
    } else if (strcmp(name, "docker.volumes.selinuxlabel") == 0) {
        set_docker_file(&config->selinux_label, text);
    } else {
        bool *slot = strcmp(name, "docker.cleanup.image") == 0 ? &config->cleanup_image
                                                                : &config->allow_privileged;
        if (!parse_bool_text(text, slot))
            report_error(d, value,
                         "invalid value \"%s\" for client option %s; use \"true\" or \"false\"",
                         text, name);
    }
}

static void decode_options(decoder *d, const berth_value *options)
{
    for (size_t i = 0; i < options->as.map.length; i++) {
        const char *name = options->as.map.keys[i];
        const berth_value *value = options->as.map.values[i];
        berth_autofree char *text = NULL;
        if (!scalar_text(value, &text)) {
            report_error(d, value, "client option %s must be a string, not a %s", name,
                         berth_value_kind_name(value->kind));
            continue;
        }
        if (berth_str_has_prefix(name, "docker.")) {
            if (!in_list(docker_options, name)) {
                report_error(d, value,
                             "unknown client option %s; the docker options berth supports are "
                             "%s",
                             name, DOCKER_OPTION_LIST);
                continue;
            }
            decode_docker_option(d, name, value, text);
            continue;
        }
        report_warning(d->diagnostics, value,
                       "client option %s is not a docker driver option; berth ignores it", name);
    }
}

static void decode_meta(decoder *d, const berth_value *meta)
{
    for (size_t i = 0; i < meta->as.map.length; i++) {
        const berth_value *value = meta->as.map.values[i];
        char *text = NULL;
        if (!scalar_text(value, &text)) {
            report_error(d, value, "client meta \"%s\" must be a string, not a %s",
                         meta->as.map.keys[i], berth_value_kind_name(value->kind));
            continue;
        }
        berth_value *entry = berth_value_new_string(text);
        free(text);
        berth_value_set_origin(entry, value->origin);
        berth_value_map_set(d->config->meta, meta->as.map.keys[i], entry);
    }
}

/* --- client ---------------------------------------------------------------- */

static void decode_client(decoder *d, const berth_value *client)
{
    for (size_t i = 0; i < client->as.map.length; i++) {
        const char *key = client->as.map.keys[i];
        const berth_value *value = client->as.map.values[i];
        if (strcmp(key, "meta") == 0) {
            for_each_map(d, "client.meta", value, decode_meta);
        } else if (strcmp(key, "options") == 0) {
            for_each_map(d, "client.options", value, decode_options);
        } else if (strcmp(key, "node_class") == 0) {
            decode_string(d, "client.node_class", value, &d->config->node_class);
        } else if (in_list(ignored_client_keys, key)) {
            report_warning(d->diagnostics, value, "client \"%s\" is not used by berth; ignored",
                           key);
        } else {
            report_error(d, value,
                         "unknown client key \"%s\"; berth reads meta, options and node_class, "
                         "and accepts Nomad's other client keys",
                         key);
        }
    }
}

static void decode_ports(decoder *d, const berth_value *ports)
{
    for (size_t i = 0; i < ports->as.map.length; i++) {
        const char *key = ports->as.map.keys[i];
        const berth_value *value = ports->as.map.values[i];
        if (strcmp(key, "http") == 0)
            decode_port(d, key, value, &d->config->http_port);
        else if (strcmp(key, "rpc") == 0)
            decode_port(d, key, value, &d->config->rpc_port);
        else if (strcmp(key, "serf") == 0)
            decode_port(d, key, value, &d->config->serf_port);
        else
            report_error(d, value, "unknown ports key \"%s\"; use http, rpc or serf", key);
    }
}

static void decode_top(decoder *d, const berth_value *root)
{
    static const struct {
        const char *key;
        size_t offset;
    } strings[] = {
        {"datacenter", offsetof(berth_agent_config, datacenter)},
        {"region", offsetof(berth_agent_config, region)},
        {"name", offsetof(berth_agent_config, name)},
        {"data_dir", offsetof(berth_agent_config, data_dir)},
        {"bind_addr", offsetof(berth_agent_config, bind_addr)},
    };
    for (size_t i = 0; i < root->as.map.length; i++) {
        const char *key = root->as.map.keys[i];
        const berth_value *value = root->as.map.values[i];
        bool done = false;
        for (size_t s = 0; s < sizeof(strings) / sizeof(strings[0]) && !done; s++) {
            if (strcmp(key, strings[s].key) == 0) {
                decode_string(d, key, value, (char **)((char *)d->config + strings[s].offset));
                done = true;
            }
        }
        if (done)
            continue;
        if (strcmp(key, "client") == 0)
            for_each_map(d, "client", value, decode_client);
        else if (strcmp(key, "ports") == 0)
            for_each_map(d, "ports", value, decode_ports);
        else if (in_list(ignored_top_keys, key))
            report_warning(d->diagnostics, value, "agent key \"%s\" is not used by berth; ignored",
                           key);
        else
            report_error(d, value,
                         "unknown agent key \"%s\"; berth reads datacenter, region, name, "
                         "data_dir, bind_addr, ports and client",
                         key);
    }
}

/* --- Public ---------------------------------------------------------------- */

void berth_agent_config_init(berth_agent_config *config)
{
    memset(config, 0, sizeof(*config));
    config->meta = berth_value_new_map();
    config->cleanup_image = true;
}

void berth_agent_config_free(berth_agent_config *config)
{
    if (config == NULL)
        return;
    free(config->datacenter);
    free(config->region);
    free(config->name);
    free(config->node_class);
    berth_value_free(config->meta);
    free(config->data_dir);
    free(config->bind_addr);
    free(config->docker_endpoint);
    free(config->docker_auth_config);
    free(config->docker_tls_cert);
    free(config->docker_tls_key);
    free(config->docker_tls_ca);
    free(config->docker_tls_origin);
    free(config->selinux_label);
    memset(config, 0, sizeof(*config));
}

int berth_agent_config_load(berth_agent_config *config, const char *filename, const char *text,
                            size_t length, berth_job_diagnostics *diagnostics, berth_error *err)
{
    berth_hcl_file *file = NULL;
    if (berth_hcl_parse(filename, text, length, &file, err) < 0) {
        berth_grow((void **)&diagnostics->errors, &diagnostics->error_capacity,
                   diagnostics->error_count + 1, sizeof(*diagnostics->errors));
        diagnostics->errors[diagnostics->error_count++] = berth_xstrdup(err->message);
        return -1;
    }
    berth_hcl_eval_context context = {NULL, NULL, false};
    berth_autovalue berth_value *root = NULL;
    int rc = berth_hcl_body_to_value(file->body, &context, &root, err);
    berth_hcl_file_free(file);
    if (rc < 0) {
        berth_grow((void **)&diagnostics->errors, &diagnostics->error_capacity,
                   diagnostics->error_count + 1, sizeof(*diagnostics->errors));
        diagnostics->errors[diagnostics->error_count++] = berth_xstrdup(err->message);
        return -1;
    }

    decoder d = {config, diagnostics, diagnostics->error_count};
    decode_top(&d, root);
    size_t errors = diagnostics->error_count - d.errors_before;
    if (errors > 0)
        return berth_error_set(err, BERTH_E_INVALID, "%s: %zu error%s", filename, errors,
                               errors == 1 ? "" : "s");
    return 0;
}

int berth_agent_config_load_file(berth_agent_config *config, const char *path,
                                 berth_job_diagnostics *diagnostics, berth_error *err)
{
    berth_autofree char *text = NULL;
    size_t length = 0;
    if (berth_read_file(path, MAX_AGENT_FILE_SIZE, &text, &length, err) < 0)
        return berth_error_prefix(err, "read agent configuration");
    return berth_agent_config_load(config, path, text, length, diagnostics, err);
}

int berth_agent_config_finish(const berth_agent_config *config,
                              berth_job_diagnostics *diagnostics, berth_error *err)
{
    bool any_tls = config->docker_tls_cert != NULL || config->docker_tls_key != NULL ||
                   config->docker_tls_ca != NULL;
    if (!any_tls)
        return 0;
    berth_autovalue berth_value *at = berth_value_new_null();
    berth_value_set_origin(at, config->docker_tls_origin);
    if (config->docker_endpoint == NULL) {
        report_warning(diagnostics, at,
                       "docker.tls.cert, docker.tls.key and docker.tls.ca are ignored because "
                       "docker.endpoint is not set; set docker.endpoint = \"tcp://HOST:PORT\" "
                       "to use them");
        return 0;
    }
    if ((config->docker_tls_cert == NULL) != (config->docker_tls_key == NULL)) {
        decoder d = {(berth_agent_config *)config, diagnostics, diagnostics->error_count};
        report_error(&d, at,
                     "docker.tls.cert and docker.tls.key must be set together: the client "
                     "certificate needs its private key");
        return berth_error_set(err, BERTH_E_INVALID, "invalid docker.tls settings");
    }
    return 0;
}

void berth_agent_config_driver_options(const berth_agent_config *config,
                                       berth_driver_options *options)
{
    memset(options, 0, sizeof(*options));
    options->allow_privileged = config->allow_privileged;
    options->cleanup_image = config->cleanup_image;
    options->selinux_label = config->selinux_label;
    options->auth_config = config->docker_auth_config;
}

void berth_agent_config_docker(const berth_agent_config *config, berth_docker_config *docker,
                               berth_docker_env_storage *storage)
{
    if (config->docker_endpoint == NULL) {
        berth_docker_config_from_env(docker, storage);
        return;
    }
    memset(docker, 0, sizeof(*docker));
    memset(storage, 0, sizeof(*storage));
    docker->endpoint = config->docker_endpoint;
    docker->tls_cert = config->docker_tls_cert;
    docker->tls_key = config->docker_tls_key;
    docker->tls_ca = config->docker_tls_ca;
    /* Nomad builds a verifying TLS client from these files; there is no
     * agent option to turn verification off. */
    docker->tls_verify = config->docker_tls_cert != NULL || config->docker_tls_key != NULL ||
                         config->docker_tls_ca != NULL;
}
