#include "driver/task_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

/* Options of the docker driver that berth implements. */
static const char *const known_options[] = {
    "image", "load", "command", "args", "labels", "privileged", "ipc_mode", "pid_mode",
    "uts_mode", "network_mode", "hostname", "dns_servers", "dns_search_domains", "SSL", "ssl",
    "port_map", "auth", "tty", "interactive", "shm_size", "work_dir", NULL};

/* Options of later Nomad versions, named so the error can report them as
 * recognised but not implemented, rather than unknown. */
static const char *const later_options[] = {
    "entrypoint", "volumes", "volume_driver", "mounts", "mount", "logging", "force_pull",
    "cap_add", "cap_drop", "security_opt", "sysctl", "ulimit", "readonly_rootfs", "pids_limit",
    "devices", "cpu_hard_limit", "cpu_cfs_period", "memory_hard_limit", "extra_hosts",
    "dns_options", "mac_address", "ipv4_address", "ipv6_address", "network_aliases",
    "userns_mode", "ports", "image_pull_timeout", "healthchecks", "init", "runtime",
    "isolation", "storage_opt", "group_add", "oom_score_adj", "cgroupns", "cpuset_cpus",
    "auth_soft_fail", "advertise_ipv6_address", "container_exists_attempts", NULL};

static bool in_list(const char *const *list, const char *name)
{
    for (size_t i = 0; list[i] != NULL; i++) {
        if (strcmp(list[i], name) == 0)
            return true;
    }
    return false;
}

static int fail_type(const berth_value *value, const char *option, const char *expected,
                     berth_error *err)
{
    char origin[512];
    berth_value_describe_origin(value, origin, sizeof(origin));
    return berth_error_set(err, BERTH_E_INVALID, "%sconfig option \"%s\" must be %s, not a %s",
                           origin, option, expected, berth_value_kind_name(value->kind));
}

static int decode_string(const berth_value *value, const char *option, char **out,
                         berth_error *err)
{
    if (value->kind == BERTH_VALUE_NUMBER) {
        /* Weak decoding, as Nomad 0.x: a number given for a string option
         * is used as its text. */
        free(*out);
        *out = value->as.number.is_integer
                   ? berth_xasprintf("%lld", (long long)value->as.number.integer)
                   : berth_xasprintf("%g", value->as.number.number);
        return 0;
    }
    if (value->kind != BERTH_VALUE_STRING)
        return fail_type(value, option, "a string", err);
    free(*out);
    *out = berth_xstrdup(value->as.string);
    return 0;
}

/* True for a string that still contains ${...}: its type can only be checked
 * once the task starts and the value is interpolated. */
static bool is_uninterpolated(const berth_value *value, bool deferred)
{
    return deferred && value->kind == BERTH_VALUE_STRING && strstr(value->as.string, "${") != NULL;
}

static int decode_bool(const berth_value *value, const char *option, bool *out, berth_error *err)
{
    if (value->kind == BERTH_VALUE_BOOL) {
        *out = value->as.boolean;
        return 0;
    }
    if (value->kind == BERTH_VALUE_STRING) {
        if (strcmp(value->as.string, "true") == 0 || strcmp(value->as.string, "1") == 0) {
            *out = true;
            return 0;
        }
        if (strcmp(value->as.string, "false") == 0 || strcmp(value->as.string, "0") == 0) {
            *out = false;
            return 0;
        }
        char origin[512];
        berth_value_describe_origin(value, origin, sizeof(origin));
        return berth_error_set(err, BERTH_E_INVALID,
                               "%sconfig option \"%s\" is \"%s\"; use true or false", origin,
                               option, value->as.string);
    }
    return fail_type(value, option, "true or false", err);
}

/* Accepts a number or a string that contains one, so interpolated values such
 * as shm_size = "${meta.shm}" work. */
static int decode_int(const berth_value *value, const char *option, int64_t min, int64_t max,
                      int64_t *out, berth_error *err)
{
    char origin[512];
    berth_value_describe_origin(value, origin, sizeof(origin));
    int64_t number = 0;
    if (value->kind == BERTH_VALUE_NUMBER && value->as.number.is_integer) {
        number = value->as.number.integer;
    } else if (value->kind == BERTH_VALUE_STRING) {
        if (!berth_parse_int64(value->as.string, INT64_MIN, INT64_MAX, &number))
            return berth_error_set(err, BERTH_E_INVALID,
                                   "%sconfig option \"%s\" is \"%s\"; it must be a whole number",
                                   origin, option, value->as.string);
    } else {
        return fail_type(value, option, "a whole number", err);
    }
    if (number < min || number > max)
        return berth_error_set(err, BERTH_E_INVALID,
                               "%sconfig option \"%s\" is %lld; it must be from %lld to %lld",
                               origin, option, (long long)number, (long long)min,
                               (long long)max);
    *out = number;
    return 0;
}

static int decode_string_list(const berth_value *value, const char *option, bool allow_single,
                              berth_string_list *out, berth_error *err)
{
    for (size_t i = 0; i < out->length; i++)
        free(out->items[i]);
    free(out->items);
    memset(out, 0, sizeof(*out));
    if (allow_single && value->kind == BERTH_VALUE_STRING) {
        out->items = berth_xcalloc(1, sizeof(char *));
        out->items[0] = berth_xstrdup(value->as.string);
        out->length = 1;
        return 0;
    }
    if (value->kind != BERTH_VALUE_LIST)
        return fail_type(value, option, "a list of strings", err);
    out->items = berth_xcalloc(value->as.list.length, sizeof(char *));
    for (size_t i = 0; i < value->as.list.length; i++) {
        char *item = NULL;
        if (decode_string(value->as.list.items[i], option, &item, err) < 0)
            return -1;
        out->items[out->length++] = item;
    }
    return 0;
}

static void string_map_set(berth_string_map *map, const char *key, const char *value)
{
    for (size_t i = 0; i < map->length; i++) {
        if (strcmp(map->items[i].key, key) == 0) {
            free(map->items[i].value);
            map->items[i].value = berth_xstrdup(value);
            return;
        }
    }
    map->items = berth_xrealloc(map->items, (map->length + 1) * sizeof(*map->items));
    map->items[map->length].key = berth_xstrdup(key);
    map->items[map->length].value = berth_xstrdup(value);
    map->length++;
}

/* A map option may be one map or, from repeated HCL2 blocks, a list of
 * maps that are merged in order. */
static int decode_string_map(const berth_value *value, const char *option,
                             berth_string_map *out, berth_error *err)
{
    if (value->kind == BERTH_VALUE_LIST) {
        for (size_t i = 0; i < value->as.list.length; i++) {
            if (decode_string_map(value->as.list.items[i], option, out, err) < 0)
                return -1;
        }
        return 0;
    }
    if (value->kind != BERTH_VALUE_MAP)
        return fail_type(value, option, "a map", err);
    for (size_t i = 0; i < value->as.map.length; i++) {
        berth_autofree char *text = NULL;
        if (decode_string(value->as.map.values[i], option, &text, err) < 0)
            return berth_error_prefix(err, "key \"%s\"", value->as.map.keys[i]);
        string_map_set(out, value->as.map.keys[i], text);
    }
    return 0;
}

static int decode_port_map(const berth_value *value, bool deferred, berth_string_map *out,
                           berth_error *err)
{
    if (decode_string_map(value, "port_map", out, err) < 0)
        return -1;
    for (size_t i = 0; i < out->length; i++) {
        int64_t port = 0;
        if (deferred && strstr(out->items[i].value, "${") != NULL)
            continue;
        if (!berth_parse_int64(out->items[i].value, 1, 65535, &port)) {
            char origin[512];
            berth_value_describe_origin(value, origin, sizeof(origin));
            return berth_error_set(err, BERTH_E_INVALID,
                                   "%sport_map \"%s\" is \"%s\"; it must be a port number from "
                                   "1 to 65535",
                                   origin, out->items[i].key, out->items[i].value);
        }
        free(out->items[i].value);
        out->items[i].value = berth_xasprintf("%lld", (long long)port);
    }
    return 0;
}

static int decode_auth(const berth_value *value, berth_docker_auth *auth, berth_error *err)
{
    if (value->kind == BERTH_VALUE_LIST) {
        if (value->as.list.length != 1) {
            char origin[512];
            berth_value_describe_origin(value, origin, sizeof(origin));
            return berth_error_set(err, BERTH_E_INVALID,
                                   "%sconfig option \"auth\" is given %zu times; give it once",
                                   origin, value->as.list.length);
        }
        value = value->as.list.items[0];
    }
    if (value->kind != BERTH_VALUE_MAP)
        return fail_type(value, "auth", "a block", err);
    auth->present = true;
    for (size_t i = 0; i < value->as.map.length; i++) {
        const char *key = value->as.map.keys[i];
        const berth_value *item = value->as.map.values[i];
        char **target = NULL;
        if (strcmp(key, "username") == 0)
            target = &auth->username;
        else if (strcmp(key, "password") == 0)
            target = &auth->password;
        else if (strcmp(key, "email") == 0)
            target = &auth->email;
        else if (strcmp(key, "server_address") == 0)
            target = &auth->server_address;
        if (target == NULL) {
            char origin[512];
            berth_value_describe_origin(item, origin, sizeof(origin));
            return berth_error_set(err, BERTH_E_INVALID,
                                   "%sunknown auth option \"%s\"; allowed options are username, "
                                   "password, email, server_address",
                                   origin, key);
        }
        char option[64];
        snprintf(option, sizeof(option), "auth.%s", key);
        if (decode_string(item, option, target, err) < 0)
            return -1;
    }
    return 0;
}

static int decode_option(const char *key, const berth_value *value, bool deferred,
                         berth_docker_task_config *out, berth_error *err)
{
    static const char *const typed_options[] = {"privileged", "SSL", "ssl", "tty", "interactive",
                                                "shm_size", NULL};
    if (in_list(typed_options, key) && is_uninterpolated(value, deferred))
        return 0;
    if (strcmp(key, "image") == 0)
        return decode_string(value, key, &out->image, err);
    if (strcmp(key, "load") == 0)
        return decode_string_list(value, key, true, &out->load, err);
    if (strcmp(key, "command") == 0)
        return decode_string(value, key, &out->command, err);
    if (strcmp(key, "args") == 0) {
        out->has_args = true;
        return decode_string_list(value, key, false, &out->args, err);
    }
    if (strcmp(key, "labels") == 0)
        return decode_string_map(value, key, &out->labels, err);
    if (strcmp(key, "privileged") == 0)
        return decode_bool(value, key, &out->privileged, err);
    if (strcmp(key, "ipc_mode") == 0)
        return decode_string(value, key, &out->ipc_mode, err);
    if (strcmp(key, "pid_mode") == 0)
        return decode_string(value, key, &out->pid_mode, err);
    if (strcmp(key, "uts_mode") == 0)
        return decode_string(value, key, &out->uts_mode, err);
    if (strcmp(key, "network_mode") == 0)
        return decode_string(value, key, &out->network_mode, err);
    if (strcmp(key, "hostname") == 0)
        return decode_string(value, key, &out->hostname, err);
    if (strcmp(key, "dns_servers") == 0)
        return decode_string_list(value, key, false, &out->dns_servers, err);
    if (strcmp(key, "dns_search_domains") == 0)
        return decode_string_list(value, key, false, &out->dns_search_domains, err);
    if (strcmp(key, "SSL") == 0 || strcmp(key, "ssl") == 0)
        return decode_bool(value, key, &out->ssl, err);
    if (strcmp(key, "port_map") == 0)
        return decode_port_map(value, deferred, &out->port_map, err);
    if (strcmp(key, "auth") == 0)
        return decode_auth(value, &out->auth, err);
    if (strcmp(key, "tty") == 0)
        return decode_bool(value, key, &out->tty, err);
    if (strcmp(key, "interactive") == 0)
        return decode_bool(value, key, &out->interactive, err);
    if (strcmp(key, "shm_size") == 0)
        return decode_int(value, key, 0, INT64_MAX, &out->shm_size, err);
    if (strcmp(key, "work_dir") == 0)
        return decode_string(value, key, &out->work_dir, err);
    return berth_error_set(err, BERTH_E_INTERNAL, "option \"%s\" has no decoder", key);
}

static int decode_config(const berth_value *config, bool deferred, berth_docker_task_config *out,
                         berth_error *err)
{
    memset(out, 0, sizeof(*out));
    out->ssl = true;
    if (config == NULL || config->kind != BERTH_VALUE_MAP)
        return berth_error_set(err, BERTH_E_INVALID,
                               "the docker driver needs a config block with at least image");

    for (size_t i = 0; i < config->as.map.length; i++) {
        const char *key = config->as.map.keys[i];
        const berth_value *value = config->as.map.values[i];
        char origin[512];
        berth_value_describe_origin(value, origin, sizeof(origin));
        if (in_list(later_options, key))
            return berth_error_set(err, BERTH_E_INVALID,
                                   "%sconfig option \"%s\" is not supported by berth yet", origin,
                                   key);
        if (!in_list(known_options, key))
            return berth_error_set(
                err, BERTH_E_INVALID,
                "%sunknown config option \"%s\" for the docker driver; allowed options are "
                "image, load, command, args, labels, privileged, ipc_mode, pid_mode, uts_mode, "
                "network_mode, hostname, dns_servers, dns_search_domains, SSL, port_map, auth, "
                "tty, interactive, shm_size, work_dir",
                origin, key);
        if (decode_option(key, value, deferred, out, err) < 0)
            return -1;
    }

    if (out->image == NULL || *out->image == '\0') {
        char origin[512];
        berth_value_describe_origin(config, origin, sizeof(origin));
        return berth_error_set(err, BERTH_E_INVALID,
                               "%sthe docker driver needs an image: config { image = \"...\" }",
                               origin);
    }
    if (out->command != NULL) {
        size_t length = strlen(out->command);
        if (length == 0 || strspn(out->command, " \t\r\n") == length)
            return berth_error_set(err, BERTH_E_INVALID,
                                   "config option \"command\" is empty; remove it to use the "
                                   "image's command");
        if (strchr(" \t\r\n", out->command[0]) != NULL ||
            strchr(" \t\r\n", out->command[length - 1]) != NULL)
            return berth_error_set(err, BERTH_E_INVALID,
                                   "config option \"command\" is \"%s\"; it has white space at "
                                   "the start or end (put arguments in args)",
                                   out->command);
    }
    return 0;
}

int berth_docker_task_config_decode(const berth_value *config, berth_docker_task_config *out,
                                    berth_error *err)
{
    return decode_config(config, false, out, err);
}

int berth_docker_task_config_check(const berth_value *config, berth_docker_task_config *out,
                                   berth_error *err)
{
    return decode_config(config, true, out, err);
}

static void free_list(berth_string_list *list)
{
    for (size_t i = 0; i < list->length; i++)
        free(list->items[i]);
    free(list->items);
}

static void free_map(berth_string_map *map)
{
    for (size_t i = 0; i < map->length; i++) {
        free(map->items[i].key);
        free(map->items[i].value);
    }
    free(map->items);
}

void berth_docker_task_config_free(berth_docker_task_config *config)
{
    free(config->image);
    free_list(&config->load);
    free(config->command);
    free_list(&config->args);
    free_map(&config->labels);
    free(config->ipc_mode);
    free(config->pid_mode);
    free(config->uts_mode);
    free(config->network_mode);
    free(config->hostname);
    free_list(&config->dns_servers);
    free_list(&config->dns_search_domains);
    free_map(&config->port_map);
    free(config->auth.username);
    free(config->auth.password);
    free(config->auth.email);
    free(config->auth.server_address);
    free(config->work_dir);
    memset(config, 0, sizeof(*config));
}

int berth_docker_task_config_mapped_port(const berth_docker_task_config *config,
                                         const char *label)
{
    for (size_t i = 0; i < config->port_map.length; i++) {
        if (strcmp(config->port_map.items[i].key, label) == 0)
            return atoi(config->port_map.items[i].value);
    }
    return 0;
}
