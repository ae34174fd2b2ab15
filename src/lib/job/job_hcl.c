/* Decodes a Nomad job file (HCL1 or HCL2) into the job model.
 *
 * Each level (job, group, task, resources, network, port) has a table of
 * the keys it accepts. A key berth implements is decoded. A key Nomad
 * accepts but berth does not act on gives a warning. Anything else is an
 * error that names the key and lists the allowed ones. Decoding continues
 * after an error so that every problem is reported at once. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/util.h"
#include "hcl/hcl.h"
#include "job/job.h"

#define MAX_JOB_FILE_SIZE (16u * 1024 * 1024)

typedef struct decoder {
    berth_job_diagnostics *diagnostics;
    berth_hcl_eval_context context;
} decoder;

__attribute__((format(printf, 5, 0))) static void
add_message(char ***list, size_t *count, size_t *capacity, berth_hcl_pos pos, const char *format,
            va_list args)
{
    char where[512];
    berth_hcl_pos_format(pos, where, sizeof(where));
    char text[1536];
    vsnprintf(text, sizeof(text), format, args);
    berth_grow((void **)list, capacity, *count + 1, sizeof(**list));
    (*list)[(*count)++] = berth_xasprintf("%s: %s", where, text);
}

__attribute__((format(printf, 3, 4))) static void report_error(decoder *d, berth_hcl_pos pos,
                                                               const char *format, ...)
{
    va_list args;
    va_start(args, format);
    add_message(&d->diagnostics->errors, &d->diagnostics->error_count,
                &d->diagnostics->error_capacity, pos, format, args);
    va_end(args);
}

__attribute__((format(printf, 3, 4))) static void report_warning(decoder *d, berth_hcl_pos pos,
                                                                 const char *format, ...)
{
    va_list args;
    va_start(args, format);
    add_message(&d->diagnostics->warnings, &d->diagnostics->warning_count,
                &d->diagnostics->warning_capacity, pos, format, args);
    va_end(args);
}

static void report_berth_error(decoder *d, const berth_error *err)
{
    berth_grow((void **)&d->diagnostics->errors, &d->diagnostics->error_capacity,
               d->diagnostics->error_count + 1, sizeof(*d->diagnostics->errors));
    d->diagnostics->errors[d->diagnostics->error_count++] = berth_xstrdup(err->message);
}

static char *format_origin(berth_hcl_pos pos)
{
    char where[512];
    berth_hcl_pos_format(pos, where, sizeof(where));
    return berth_xstrdup(where);
}

static const char *item_name(const berth_hcl_item *item)
{
    return item->is_block ? item->as.block.type : item->as.attribute.name;
}

static berth_hcl_pos item_pos(const berth_hcl_item *item)
{
    return item->is_block ? item->as.block.pos : item->as.attribute.pos;
}

/* --- Scalar values ---------------------------------------------------- */

static berth_value *evaluate(decoder *d, const berth_hcl_attribute *attribute)
{
    berth_value *value = NULL;
    berth_error err = BERTH_ERROR_INIT;
    if (berth_hcl_eval(attribute->expr, &d->context, &value, &err) < 0) {
        report_berth_error(d, &err);
        return NULL;
    }
    return value;
}

static const berth_hcl_attribute *require_attribute(decoder *d, const berth_hcl_item *item,
                                                    const char *what)
{
    if (item->is_block) {
        report_error(d, item->as.block.pos, "\"%s\" must be an attribute (%s = ...), not a block",
                     item->as.block.type, what);
        return NULL;
    }
    return &item->as.attribute;
}

static bool decode_string(decoder *d, const berth_hcl_item *item, char **out)
{
    const berth_hcl_attribute *attribute = require_attribute(d, item, "a string");
    if (attribute == NULL)
        return false;
    berth_autovalue berth_value *value = evaluate(d, attribute);
    if (value == NULL)
        return false;
    if (value->kind != BERTH_VALUE_STRING) {
        report_error(d, attribute->expr->pos, "\"%s\" must be a string, not a %s",
                     attribute->name, berth_value_kind_name(value->kind));
        return false;
    }
    free(*out);
    *out = berth_xstrdup(value->as.string);
    return true;
}

/* Accepts a number or a string holding a whole number, as Nomad's weak
 * decoding of HCL1 files does ("count = \"3\""). */
static bool decode_int(decoder *d, const berth_hcl_item *item, int64_t min, int64_t max,
                       int64_t *out)
{
    const berth_hcl_attribute *attribute = require_attribute(d, item, "a number");
    if (attribute == NULL)
        return false;
    berth_autovalue berth_value *value = evaluate(d, attribute);
    if (value == NULL)
        return false;
    int64_t number = 0;
    bool ok = false;
    if (value->kind == BERTH_VALUE_NUMBER && value->as.number.is_integer) {
        number = value->as.number.integer;
        ok = true;
    } else if (value->kind == BERTH_VALUE_STRING) {
        ok = berth_parse_int64(value->as.string, INT64_MIN, INT64_MAX, &number);
    }
    if (!ok) {
        report_error(d, attribute->expr->pos, "\"%s\" must be a whole number", attribute->name);
        return false;
    }
    if (number < min || number > max) {
        report_error(d, attribute->expr->pos, "\"%s\" is %lld; it must be from %lld to %lld",
                     attribute->name, (long long)number, (long long)min, (long long)max);
        return false;
    }
    *out = number;
    return true;
}

static bool decode_int_field(decoder *d, const berth_hcl_item *item, int64_t min, int64_t max,
                             int *out)
{
    int64_t number = 0;
    if (!decode_int(d, item, min, max, &number))
        return false;
    *out = (int)number;
    return true;
}

/* A duration is a string such as "5s" or a number of nanoseconds. */
static bool decode_duration(decoder *d, const berth_hcl_item *item, int64_t *out_ms)
{
    const berth_hcl_attribute *attribute = require_attribute(d, item, "a duration");
    if (attribute == NULL)
        return false;
    berth_autovalue berth_value *value = evaluate(d, attribute);
    if (value == NULL)
        return false;
    if (value->kind == BERTH_VALUE_NUMBER && value->as.number.is_integer &&
        value->as.number.integer >= 0) {
        *out_ms = value->as.number.integer / 1000000;
        return true;
    }
    if (value->kind == BERTH_VALUE_STRING && berth_parse_duration_ms(value->as.string, out_ms))
        return true;
    report_error(d, attribute->expr->pos,
                 "\"%s\" must be a duration such as \"5s\", \"250ms\" or \"1m30s\"",
                 attribute->name);
    return false;
}

/* Decodes a map given as an attribute (`meta = { ... }`) or a block
 * (`meta { ... }`); repeated blocks are merged. Values must be scalars when
 * scalars_only is set. */
static bool decode_map(decoder *d, const berth_hcl_item *item, bool scalars_only,
                       berth_value **target)
{
    berth_autovalue berth_value *value = NULL;
    berth_error err = BERTH_ERROR_INIT;
    if (item->is_block) {
        if (item->as.block.label_count > 0) {
            report_error(d, item->as.block.pos, "\"%s\" block takes no labels",
                         item->as.block.type);
            return false;
        }
        if (berth_hcl_body_to_value(item->as.block.body, &d->context, &value, &err) < 0) {
            report_berth_error(d, &err);
            return false;
        }
    } else {
        value = evaluate(d, &item->as.attribute);
        if (value == NULL)
            return false;
        if (value->kind != BERTH_VALUE_MAP) {
            report_error(d, item->as.attribute.expr->pos, "\"%s\" must be a map, not a %s",
                         item->as.attribute.name, berth_value_kind_name(value->kind));
            return false;
        }
    }
    if (scalars_only) {
        for (size_t i = 0; i < value->as.map.length; i++) {
            berth_value_kind kind = value->as.map.values[i]->kind;
            if (kind == BERTH_VALUE_LIST || kind == BERTH_VALUE_MAP || kind == BERTH_VALUE_NULL) {
                report_error(d, item_pos(item), "%s \"%s\" must be a string, number or bool",
                             item_name(item), value->as.map.keys[i]);
                return false;
            }
        }
    }
    if (*target == NULL) {
        *target = berth_steal_pointer(&value);
        return true;
    }
    for (size_t i = 0; i < value->as.map.length; i++)
        berth_value_map_set(*target, value->as.map.keys[i],
                            berth_value_clone(value->as.map.values[i]));
    return true;
}

/* --- Key tables --------------------------------------------------------- */

/* Keys of Nomad's job specification that berth reads but does not act on
 * yet, per level. They produce a warning so real job files still load. */
static const char *const ignored_job_keys[] = {
    "all_at_once", "constraint", "affinity", "spread", "update", "periodic", "parameterized",
    "vault", "migrate", "reschedule", "multiregion", "namespace", "node_pool", "consul", "ui",
    "vault_token", "consul_token", NULL};
static const char *const ignored_group_keys[] = {
    "constraint", "affinity", "spread", "update", "ephemeral_disk", "migrate", "reschedule",
    "service", "volume", "scaling", "consul", "shutdown_delay", "stop_after_client_disconnect",
    "max_client_disconnect", "disconnect", "prevent_reschedule_on_lost", "vault", NULL};
static const char *const ignored_task_keys[] = {
    "service", "constraint", "affinity", "vault", "leader", "lifecycle", "shutdown_delay",
    "identity", "kind", "dispatch_payload", "scaling", "volume_mount", "csi_plugin", "consul",
    "restart", NULL};

static bool in_list(const char *const *list, const char *name)
{
    for (size_t i = 0; list[i] != NULL; i++) {
        if (strcmp(list[i], name) == 0)
            return true;
    }
    return false;
}

static void report_unknown_key(decoder *d, const berth_hcl_item *item, const char *where,
                               const char *allowed)
{
    report_error(d, item_pos(item), "unknown key \"%s\" in %s; allowed keys are %s",
                 item_name(item), where, allowed);
}

/* --- Resources ---------------------------------------------------------- */

static void decode_port(decoder *d, const berth_hcl_block *block, berth_job_network *network)
{
    if (block->label_count != 1) {
        report_error(d, block->pos, "port block needs one label, the port name: port \"http\" {}");
        return;
    }
    const char *label = block->labels[0];
    if (*label == '\0') {
        report_error(d, block->pos, "port label must not be empty");
        return;
    }
    for (size_t i = 0; i < network->port_count; i++) {
        if (strcmp(network->ports[i].label, label) == 0) {
            report_error(d, block->pos, "port \"%s\" is declared twice", label);
            return;
        }
    }
    berth_job_port port = {0};
    for (size_t i = 0; i < block->body->length; i++) {
        const berth_hcl_item *item = &block->body->items[i];
        if (strcmp(item_name(item), "static") == 0) {
            decode_int_field(d, item, 1, 65535, &port.static_port);
        } else {
            report_unknown_key(d, item, "port", "static");
        }
    }
    port.label = berth_xstrdup(label);
    port.origin = format_origin(block->pos);
    network->ports = berth_xrealloc(network->ports, (network->port_count + 1) * sizeof(port));
    network->ports[network->port_count++] = port;
}

static void decode_network(decoder *d, const berth_hcl_item *item, berth_job_resources *resources)
{
    if (!item->is_block) {
        report_error(d, item_pos(item), "\"network\" must be a block: network { ... }");
        return;
    }
    const berth_hcl_block *block = &item->as.block;
    berth_job_network network = {0};
    network.origin = format_origin(block->pos);
    for (size_t i = 0; i < block->body->length; i++) {
        const berth_hcl_item *child = &block->body->items[i];
        const char *name = item_name(child);
        if (strcmp(name, "mbits") == 0) {
            decode_int_field(d, child, 0, 1000000, &network.mbits);
        } else if (strcmp(name, "port") == 0 && child->is_block) {
            decode_port(d, &child->as.block, &network);
        } else if (strcmp(name, "reserved_ports") == 0 || strcmp(name, "dynamic_ports") == 0) {
            report_error(d, item_pos(child),
                         "\"%s\" is the Nomad 0.1 port syntax; declare each port as "
                         "port \"label\" {} or port \"label\" { static = N }", name);
        } else {
            report_unknown_key(d, child, "network", "mbits, port");
        }
    }
    resources->networks =
        berth_xrealloc(resources->networks, (resources->network_count + 1) * sizeof(network));
    resources->networks[resources->network_count++] = network;
}

static void decode_resources(decoder *d, const berth_hcl_item *item, berth_job_resources *resources)
{
    if (!item->is_block) {
        report_error(d, item_pos(item), "\"resources\" must be a block: resources { ... }");
        return;
    }
    const berth_hcl_body *body = item->as.block.body;
    for (size_t i = 0; i < body->length; i++) {
        const berth_hcl_item *child = &body->items[i];
        const char *name = item_name(child);
        if (strcmp(name, "cpu") == 0) {
            decode_int_field(d, child, 1, 10000000, &resources->cpu_mhz);
        } else if (strcmp(name, "memory") == 0) {
            decode_int_field(d, child, BERTH_JOB_MIN_MEMORY_MB, 100000000, &resources->memory_mb);
        } else if (strcmp(name, "network") == 0) {
            decode_network(d, child, resources);
        } else if (strcmp(name, "disk") == 0 || strcmp(name, "iops") == 0) {
            report_warning(d, item_pos(child), "resources \"%s\" is accepted and ignored", name);
            int64_t ignored = 0;
            decode_int(d, child, 0, INT64_MAX, &ignored);
        } else if (strcmp(name, "memory_max") == 0 || strcmp(name, "cores") == 0 ||
                   strcmp(name, "device") == 0 || strcmp(name, "numa") == 0) {
            report_error(d, item_pos(child), "resources \"%s\" is not supported by berth yet",
                         name);
        } else {
            report_unknown_key(d, child, "resources", "cpu, memory, network, disk, iops");
        }
    }
}

/* --- Task --------------------------------------------------------------- */

static void decode_logs(decoder *d, const berth_hcl_item *item, berth_job_task *task)
{
    if (!item->is_block) {
        report_error(d, item_pos(item), "\"logs\" must be a block: logs { ... }");
        return;
    }
    const berth_hcl_body *body = item->as.block.body;
    for (size_t i = 0; i < body->length; i++) {
        const berth_hcl_item *child = &body->items[i];
        const char *name = item_name(child);
        if (strcmp(name, "max_files") == 0)
            decode_int_field(d, child, 1, 1000, &task->log_max_files);
        else if (strcmp(name, "max_file_size") == 0)
            decode_int_field(d, child, 1, 100000, &task->log_max_file_size_mb);
        else if (strcmp(name, "disabled") == 0)
            report_warning(d, item_pos(child), "logs \"disabled\" is accepted and ignored");
        else
            report_unknown_key(d, child, "logs", "max_files, max_file_size");
    }
}

/* Accepts `options { archive = false }`, which matches what berth does
 * anyway (files are saved as they are); any other getter option fails. */
static void check_artifact_options(decoder *d, const berth_hcl_item *item)
{
    berth_autovalue berth_value *options = NULL;
    if (!decode_map(d, item, true, &options) || options == NULL)
        return;
    for (size_t i = 0; i < options->as.map.length; i++) {
        const char *key = options->as.map.keys[i];
        const berth_value *value = options->as.map.values[i];
        bool archive_off = strcmp(key, "archive") == 0 &&
                           ((value->kind == BERTH_VALUE_BOOL && !value->as.boolean) ||
                            (value->kind == BERTH_VALUE_STRING &&
                             strcmp(value->as.string, "false") == 0));
        if (!archive_off)
            report_error(d, item_pos(item),
                         "artifact option \"%s\" is not supported by berth yet; berth saves "
                         "the file as it is, which only options { archive = false } describes",
                         key);
    }
}

static bool has_parent_component(const char *path)
{
    for (const char *p = path; (p = strstr(p, "..")) != NULL; p += 2) {
        if ((p == path || p[-1] == '/') && (p[2] == '\0' || p[2] == '/'))
            return true;
    }
    return false;
}

static void decode_artifact(decoder *d, const berth_hcl_item *item, berth_job_task *task)
{
    if (!item->is_block) {
        report_error(d, item_pos(item), "\"artifact\" must be a block: artifact { source = \"...\" }");
        return;
    }
    berth_job_artifact artifact = {0};
    artifact.origin = format_origin(item->as.block.pos);
    const berth_hcl_body *body = item->as.block.body;
    for (size_t i = 0; i < body->length; i++) {
        const berth_hcl_item *child = &body->items[i];
        const char *name = item_name(child);
        if (strcmp(name, "source") == 0) {
            decode_string(d, child, &artifact.source);
        } else if (strcmp(name, "destination") == 0) {
            if (decode_string(d, child, &artifact.destination) &&
                (artifact.destination[0] == '/' || has_parent_component(artifact.destination)))
                report_error(d, item_pos(child),
                             "artifact destination \"%s\" must be a folder inside the task's "
                             "folder, such as \"local/\", without \"..\"",
                             artifact.destination);
        } else if (strcmp(name, "options") == 0) {
            check_artifact_options(d, child);
        } else if (strcmp(name, "mode") == 0 || strcmp(name, "headers") == 0 ||
                   strcmp(name, "chown") == 0) {
            report_error(d, item_pos(child), "artifact \"%s\" is not supported by berth yet",
                         name);
        } else {
            report_unknown_key(d, child, "artifact", "source, destination, options");
        }
    }
    if (artifact.source == NULL || artifact.source[0] == '\0')
        report_error(d, item->as.block.pos,
                     "artifact in task \"%s\" has no source; set source = \"https://...\" or "
                     "an absolute path",
                     task->name);
    if (artifact.destination == NULL)
        artifact.destination = berth_xstrdup("local/");
    task->artifacts =
        berth_xrealloc(task->artifacts, (task->artifact_count + 1) * sizeof(artifact));
    task->artifacts[task->artifact_count++] = artifact;
}

static void decode_config(decoder *d, const berth_hcl_item *item, berth_job_task *task)
{
    if (task->config != NULL) {
        report_error(d, item_pos(item), "\"config\" is set twice in task \"%s\"", task->name);
        return;
    }
    decode_map(d, item, false, &task->config);
}

static void decode_task(decoder *d, const berth_hcl_block *block, berth_job_group *group)
{
    if (block->label_count != 1) {
        report_error(d, block->pos, "task block needs one label, the task name: task \"web\" {}");
        return;
    }
    for (size_t i = 0; i < group->task_count; i++) {
        if (strcmp(group->tasks[i].name, block->labels[0]) == 0) {
            report_error(d, block->pos, "task \"%s\" is declared twice in group \"%s\"",
                         block->labels[0], group->name);
            return;
        }
    }
    if (!berth_task_name_valid(block->labels[0]))
        report_error(d, block->pos, "task name \"%s\" is invalid; " BERTH_TASK_NAME_RULE,
                     block->labels[0]);
    berth_job_task task = {0};
    task.name = berth_xstrdup(block->labels[0]);
    task.origin = format_origin(block->pos);
    task.kill_timeout_ms = BERTH_JOB_DEFAULT_KILL_TIMEOUT_MS;
    task.resources.cpu_mhz = BERTH_JOB_DEFAULT_CPU_MHZ;
    task.resources.memory_mb = BERTH_JOB_DEFAULT_MEMORY_MB;
    task.log_max_files = BERTH_JOB_DEFAULT_LOG_MAX_FILES;
    task.log_max_file_size_mb = BERTH_JOB_DEFAULT_LOG_MAX_FILE_SIZE_MB;

    bool seen_resources = false;
    for (size_t i = 0; i < block->body->length; i++) {
        const berth_hcl_item *item = &block->body->items[i];
        const char *name = item_name(item);
        if (strcmp(name, "driver") == 0) {
            decode_string(d, item, &task.driver);
        } else if (strcmp(name, "config") == 0) {
            decode_config(d, item, &task);
        } else if (strcmp(name, "env") == 0) {
            decode_map(d, item, true, &task.env);
        } else if (strcmp(name, "meta") == 0) {
            decode_map(d, item, true, &task.meta);
        } else if (strcmp(name, "user") == 0) {
            decode_string(d, item, &task.user);
        } else if (strcmp(name, "kill_timeout") == 0) {
            decode_duration(d, item, &task.kill_timeout_ms);
        } else if (strcmp(name, "kill_signal") == 0) {
            if (decode_string(d, item, &task.kill_signal) &&
                !berth_signal_name_valid(task.kill_signal))
                report_error(d, item->as.attribute.expr->pos,
                             "kill_signal \"%s\" is not a signal name; use one such as "
                             "\"SIGINT\", \"SIGTERM\" or \"SIGUSR1\"",
                             task.kill_signal);
        } else if (strcmp(name, "resources") == 0) {
            if (seen_resources)
                report_error(d, item_pos(item), "\"resources\" is set twice in task \"%s\"",
                             task.name);
            else
                decode_resources(d, item, &task.resources);
            seen_resources = true;
        } else if (strcmp(name, "logs") == 0) {
            decode_logs(d, item, &task);
        } else if (strcmp(name, "artifact") == 0) {
            decode_artifact(d, item, &task);
        } else if (strcmp(name, "template") == 0) {
            report_error(d, item_pos(item), "task \"%s\" blocks are not supported by berth yet",
                         name);
        } else if (in_list(ignored_task_keys, name)) {
            report_warning(d, item_pos(item), "task \"%s\": \"%s\" is accepted and ignored",
                           task.name, name);
        } else {
            report_unknown_key(d, item, "task",
                               "driver, config, env, meta, user, kill_timeout, kill_signal, "
                               "resources, logs, artifact");
        }
    }

    if (task.driver == NULL) {
        report_error(d, block->pos, "task \"%s\" has no driver; set driver = \"docker\"",
                     task.name);
    } else if (strcmp(task.driver, "docker") != 0) {
        report_error(d, block->pos,
                     "task \"%s\" uses driver \"%s\"; berth runs only driver \"docker\"",
                     task.name, task.driver);
    }
    if (task.config == NULL && task.driver != NULL && strcmp(task.driver, "docker") == 0)
        report_error(d, block->pos, "task \"%s\" has no config block; the docker driver needs "
                                    "at least config { image = \"...\" }",
                     task.name);
    if (task.resources.network_count > 1)
        report_warning(d, block->pos,
                       "task \"%s\" has %zu network blocks; only the first is used",
                       task.name, task.resources.network_count);

    group->tasks = berth_xrealloc(group->tasks, (group->task_count + 1) * sizeof(task));
    group->tasks[group->task_count++] = task;
}

/* --- Group -------------------------------------------------------------- */

static void decode_restart(decoder *d, const berth_hcl_item *item, berth_job_restart *restart)
{
    if (!item->is_block) {
        report_error(d, item_pos(item), "\"restart\" must be a block: restart { ... }");
        return;
    }
    const berth_hcl_body *body = item->as.block.body;
    for (size_t i = 0; i < body->length; i++) {
        const berth_hcl_item *child = &body->items[i];
        const char *name = item_name(child);
        if (strcmp(name, "attempts") == 0) {
            decode_int_field(d, child, 0, 1000000, &restart->attempts);
        } else if (strcmp(name, "interval") == 0) {
            decode_duration(d, child, &restart->interval_ms);
        } else if (strcmp(name, "delay") == 0) {
            decode_duration(d, child, &restart->delay_ms);
        } else if (strcmp(name, "mode") == 0) {
            if (decode_string(d, child, &restart->mode) && strcmp(restart->mode, "fail") != 0 &&
                strcmp(restart->mode, "delay") != 0)
                report_error(d, child->as.attribute.expr->pos,
                             "restart mode \"%s\" is invalid; use \"fail\" or \"delay\"",
                             restart->mode);
        } else if (strcmp(name, "render_templates") == 0) {
            report_warning(d, item_pos(child), "restart \"%s\" is accepted and ignored", name);
        } else {
            report_unknown_key(d, child, "restart", "attempts, interval, delay, mode");
        }
    }
}

static void init_group(berth_job_group *group, const char *name, berth_hcl_pos pos,
                       const char *job_type)
{
    memset(group, 0, sizeof(*group));
    group->name = berth_xstrdup(name);
    group->count = 1;
    group->origin = format_origin(pos);
    /* Nomad's defaults: batch jobs retry 3 times in 24h after 15s and then
     * fail. Service jobs retry 2 times in 30m after 15s and then fail. */
    bool batch = job_type != NULL && strcmp(job_type, "batch") == 0;
    group->restart.attempts = batch ? 3 : 2;
    group->restart.interval_ms = batch ? 24 * 3600 * 1000LL : 30 * 60 * 1000LL;
    group->restart.delay_ms = 15000;
    group->restart.mode = berth_xstrdup("fail");
}

static bool group_exists(const berth_job *job, const char *name)
{
    for (size_t i = 0; i < job->group_count; i++) {
        if (strcmp(job->groups[i].name, name) == 0)
            return true;
    }
    return false;
}

static void decode_group(decoder *d, const berth_hcl_block *block, berth_job *job)
{
    if (block->label_count != 1) {
        report_error(d, block->pos, "group block needs one label, the group name: group \"web\" {}");
        return;
    }
    if (group_exists(job, block->labels[0])) {
        report_error(d, block->pos, "group \"%s\" is declared twice", block->labels[0]);
        return;
    }
    berth_job_group group;
    init_group(&group, block->labels[0], block->pos, job->type);

    for (size_t i = 0; i < block->body->length; i++) {
        const berth_hcl_item *item = &block->body->items[i];
        const char *name = item_name(item);
        if (strcmp(name, "count") == 0) {
            decode_int_field(d, item, 0, BERTH_JOB_MAX_COUNT, &group.count);
        } else if (strcmp(name, "meta") == 0) {
            decode_map(d, item, true, &group.meta);
        } else if (strcmp(name, "task") == 0 && item->is_block) {
            decode_task(d, &item->as.block, &group);
        } else if (strcmp(name, "restart") == 0) {
            decode_restart(d, item, &group.restart);
        } else if (strcmp(name, "network") == 0) {
            report_error(d, item_pos(item),
                         "group-level network blocks are not supported by berth yet; declare "
                         "ports in the task's resources { network { port \"label\" {} } }");
        } else if (in_list(ignored_group_keys, name)) {
            report_warning(d, item_pos(item), "group \"%s\": \"%s\" is accepted and ignored",
                           group.name, name);
        } else {
            report_unknown_key(d, item, "group", "count, meta, task, restart");
        }
    }
    if (group.task_count == 0)
        report_error(d, block->pos, "group \"%s\" has no tasks", group.name);

    job->groups = berth_xrealloc(job->groups, (job->group_count + 1) * sizeof(group));
    job->groups[job->group_count++] = group;
}

/* --- Job ---------------------------------------------------------------- */

static void decode_datacenters(decoder *d, const berth_hcl_item *item, berth_job *job)
{
    const berth_hcl_attribute *attribute = require_attribute(d, item, "a list of strings");
    if (attribute == NULL)
        return;
    berth_autovalue berth_value *value = evaluate(d, attribute);
    if (value == NULL)
        return;
    if (value->kind != BERTH_VALUE_LIST) {
        report_error(d, attribute->expr->pos, "\"datacenters\" must be a list of strings");
        return;
    }
    for (size_t i = 0; i < value->as.list.length; i++) {
        if (value->as.list.items[i]->kind != BERTH_VALUE_STRING) {
            report_error(d, attribute->expr->pos, "\"datacenters\" must be a list of strings");
            return;
        }
    }
    for (size_t i = 0; i < job->datacenter_count; i++)
        free(job->datacenters[i]);
    free(job->datacenters);
    job->datacenter_count = value->as.list.length;
    job->datacenters = berth_xcalloc(value->as.list.length, sizeof(char *));
    for (size_t i = 0; i < value->as.list.length; i++)
        job->datacenters[i] = berth_xstrdup(value->as.list.items[i]->as.string);
}

/* The job type must be known before groups are decoded, because it sets
 * the default restart policy. */
static void decode_job_type(decoder *d, const berth_hcl_body *body, berth_job *job)
{
    for (size_t i = 0; i < body->length; i++) {
        const berth_hcl_item *item = &body->items[i];
        if (strcmp(item_name(item), "type") != 0)
            continue;
        if (decode_string(d, item, &job->type) && strcmp(job->type, "service") != 0 &&
            strcmp(job->type, "batch") != 0 && strcmp(job->type, "system") != 0)
            report_error(d, item->as.attribute.expr->pos,
                         "job type \"%s\" is invalid; use \"service\", \"batch\" or \"system\"",
                         job->type);
    }
}

static void decode_job(decoder *d, const berth_hcl_block *block, berth_job *job)
{
    job->id = berth_xstrdup(block->labels[0]);
    job->name = berth_xstrdup(block->labels[0]);
    job->origin = format_origin(block->pos);
    job->priority = 50;
    job->type = berth_xstrdup("service");
    job->region = berth_xstrdup("global");
    decode_job_type(d, block->body, job);

    for (size_t i = 0; i < block->body->length; i++) {
        const berth_hcl_item *item = &block->body->items[i];
        const char *name = item_name(item);
        if (strcmp(name, "type") == 0) {
            continue;
        } else if (strcmp(name, "name") == 0) {
            decode_string(d, item, &job->name);
        } else if (strcmp(name, "id") == 0) {
            decode_string(d, item, &job->id);
        } else if (strcmp(name, "region") == 0) {
            decode_string(d, item, &job->region);
        } else if (strcmp(name, "datacenters") == 0) {
            decode_datacenters(d, item, job);
        } else if (strcmp(name, "priority") == 0) {
            decode_int_field(d, item, 1, 100, &job->priority);
        } else if (strcmp(name, "meta") == 0) {
            decode_map(d, item, true, &job->meta);
        } else if (strcmp(name, "group") == 0 && item->is_block) {
            decode_group(d, &item->as.block, job);
        } else if (strcmp(name, "task") == 0 && item->is_block) {
            /* A task directly in the job gets a group of its own name, as
             * in Nomad 0.x. */
            const berth_hcl_block *task_block = &item->as.block;
            if (task_block->label_count != 1) {
                report_error(d, task_block->pos,
                             "task block needs one label, the task name: task \"web\" {}");
                continue;
            }
            if (group_exists(job, task_block->labels[0])) {
                report_error(d, task_block->pos, "group \"%s\" is declared twice",
                             task_block->labels[0]);
                continue;
            }
            berth_job_group group;
            init_group(&group, task_block->labels[0], task_block->pos, job->type);
            decode_task(d, task_block, &group);
            job->groups = berth_xrealloc(job->groups, (job->group_count + 1) * sizeof(group));
            job->groups[job->group_count++] = group;
        } else if (in_list(ignored_job_keys, name)) {
            report_warning(d, item_pos(item), "job \"%s\": \"%s\" is accepted and ignored",
                           job->name, name);
        } else {
            report_unknown_key(d, item, "job",
                               "name, id, type, region, datacenters, priority, meta, group, task");
        }
    }
    if (job->group_count == 0)
        report_error(d, block->pos, "job \"%s\" has no groups or tasks", job->name);
}

static int finish(const char *filename, berth_job_diagnostics *diagnostics, berth_job *job,
                  berth_job **out, berth_error *err)
{
    if (diagnostics->error_count > 0) {
        berth_job_free(job);
        if (diagnostics->error_count == 1)
            return berth_error_set(err, BERTH_E_INVALID, "%s", diagnostics->errors[0]);
        return berth_error_set(err, BERTH_E_INVALID, "%s: %zu errors, the first: %s", filename,
                               diagnostics->error_count, diagnostics->errors[0]);
    }
    *out = job;
    return 0;
}

int berth_job_load_hcl(const char *filename, const char *text, size_t length,
                       const berth_job_load_options *options, berth_job **out,
                       berth_job_diagnostics *diagnostics, berth_error *err)
{
    berth_hcl_file *file = NULL;
    if (berth_hcl_parse(filename, text, length, &file, err) < 0) {
        berth_grow((void **)&diagnostics->errors, &diagnostics->error_capacity,
                   diagnostics->error_count + 1, sizeof(*diagnostics->errors));
        diagnostics->errors[diagnostics->error_count++] = berth_xstrdup(err->message);
        return -1;
    }

    decoder d = {
        .diagnostics = diagnostics,
        .context =
            {
                .lookup = options != NULL ? options->lookup : NULL,
                .user_data = options != NULL ? options->user_data : NULL,
                .keep_templates = true,
            },
    };

    berth_job *job = berth_xcalloc(1, sizeof(*job));
    const berth_hcl_block *job_block = NULL;
    for (size_t i = 0; i < file->body->length; i++) {
        const berth_hcl_item *item = &file->body->items[i];
        if (item->is_block && strcmp(item->as.block.type, "job") == 0) {
            if (job_block != NULL) {
                report_error(&d, item->as.block.pos,
                             "a job file holds one job; this is the second job block");
                continue;
            }
            if (item->as.block.label_count != 1) {
                report_error(&d, item->as.block.pos,
                             "job block needs one label, the job name: job \"example\" {}");
                continue;
            }
            job_block = &item->as.block;
        } else {
            report_error(&d, item_pos(item),
                         "unexpected \"%s\" at the top level; a job file contains one job "
                         "\"NAME\" { ... } block",
                         item_name(item));
        }
    }
    if (job_block != NULL) {
        decode_job(&d, job_block, job);
    } else if (diagnostics->error_count == 0) {
        berth_hcl_pos start = {file->filename, 1, 1};
        report_error(&d, start, "no job block found; a job file contains job \"NAME\" { ... }");
    }
    berth_hcl_file_free(file);
    return finish(filename, diagnostics, job, out, err);
}

int berth_job_load_hcl_file(const char *path, const berth_job_load_options *options,
                            berth_job **out, berth_job_diagnostics *diagnostics, berth_error *err)
{
    berth_autofree char *text = NULL;
    size_t length = 0;
    if (berth_read_file(path, MAX_JOB_FILE_SIZE, &text, &length, err) < 0) {
        berth_grow((void **)&diagnostics->errors, &diagnostics->error_capacity,
                   diagnostics->error_count + 1, sizeof(*diagnostics->errors));
        diagnostics->errors[diagnostics->error_count++] = berth_xstrdup(err->message);
        return -1;
    }
    return berth_job_load_hcl(path, text, length, options, out, diagnostics, err);
}
