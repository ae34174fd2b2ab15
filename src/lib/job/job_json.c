/* Converts between Nomad's JSON job format and the job model.
 *
 * The JSON format is the "Job" object of Nomad's HTTP API (the body of
 * PUT /v1/jobs, and what `nomad job run -output` prints). Field names are
 * Go struct field names, durations are integers in nanoseconds, and an
 * unset field is either missing or null.
 *
 * Each level has a table of the fields it recognizes. Fields berth implements
 * are decoded. Fields that Nomad has but berth does not act on produce a
 * warning when they are set to something other than an empty value, and
 * fields that would change what the task runs in a way berth cannot
 * honour are errors, matching the HCL decoder. Fields missing from the
 * tables are warnings too, because JSON from other Nomad versions carries
 * fields that berth does not list. Every message names the field's JSON
 * path. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/util.h"
#include "job/job.h"

#define MAX_JOB_JSON_FILE_SIZE (16u * 1024 * 1024)
#define NS_PER_MS 1000000LL
#define PATH_SIZE 512

typedef struct json_decoder {
    berth_job_diagnostics *diagnostics;
    const char *origin; /* message and value origin prefix, or NULL */
} json_decoder;

/* --- Messages and paths ------------------------------------------------- */

/* Returns "ORIGIN: PATH", or PATH without an origin; the caller frees it. */
static char *format_origin(const json_decoder *d, const char *path)
{
    if (d->origin == NULL || d->origin[0] == '\0')
        return berth_xstrdup(path);
    return berth_xasprintf("%s: %s", d->origin, path);
}

__attribute__((format(printf, 6, 0))) static void add_message(const json_decoder *d, char ***list,
                                                              size_t *count, size_t *capacity,
                                                              const char *path, const char *format,
                                                              va_list args)
{
    char text[1536];
    vsnprintf(text, sizeof(text), format, args);
    berth_autofree char *where = format_origin(d, path);
    berth_grow((void **)list, capacity, *count + 1, sizeof(**list));
    (*list)[(*count)++] = berth_xasprintf("%s: %s", where, text);
}

__attribute__((format(printf, 3, 4))) static void report_error(json_decoder *d, const char *path,
                                                               const char *format, ...)
{
    va_list args;
    va_start(args, format);
    add_message(d, &d->diagnostics->errors, &d->diagnostics->error_count,
                &d->diagnostics->error_capacity, path, format, args);
    va_end(args);
}

__attribute__((format(printf, 3, 4))) static void report_warning(json_decoder *d, const char *path,
                                                                 const char *format, ...)
{
    va_list args;
    va_start(args, format);
    add_message(d, &d->diagnostics->warnings, &d->diagnostics->warning_count,
                &d->diagnostics->warning_capacity, path, format, args);
    va_end(args);
}

/* Ends a path that did not fit in PATH_SIZE bytes with "...", so that a
 * message shows it was cut. */
static void mark_cut(char *out, size_t size, int written)
{
    if (written >= 0 && (size_t)written >= size && size >= 4)
        memcpy(out + size - 4, "...", 4);
}

/* Writes "PARENT.KEY" into out. */
static void field_path(char *out, size_t size, const char *parent, const char *key)
{
    mark_cut(out, size, snprintf(out, size, "%s.%s", parent, key));
}

/* Writes "PARENT.KEY[INDEX]" into out. */
static void item_path(char *out, size_t size, const char *parent, const char *key, size_t index)
{
    mark_cut(out, size, snprintf(out, size, "%s.%s[%zu]", parent, key, index));
}

/* Names the JSON type of a value for "must be X, not Y" messages. */
static const char *json_kind_name(const json_t *value)
{
    switch (json_typeof(value)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "a whole number";
    case JSON_REAL: return "a fractional number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "an unknown type";
}

/* Returns the field's value, or NULL when it is missing or null: Nomad
 * treats both as unset. */
static const json_t *get_field(const json_t *object, const char *key)
{
    const json_t *value = json_object_get(object, key);
    return value == NULL || json_is_null(value) ? NULL : value;
}

/* The values Go's encoder writes for an unset field: null, false, 0, "",
 * [] and {}. default_text, when not NULL, is one more string that means
 * the same as unset ("default" for a namespace). */
static bool is_empty(const json_t *value, const char *default_text)
{
    switch (json_typeof(value)) {
    case JSON_NULL:
    case JSON_FALSE: return true;
    case JSON_TRUE: return false;
    case JSON_INTEGER: return json_integer_value(value) == 0;
    case JSON_REAL: return json_real_value(value) == 0.0;
    case JSON_STRING:
        return json_string_length(value) == 0 ||
               (default_text != NULL && strcmp(json_string_value(value), default_text) == 0);
    case JSON_ARRAY: return json_array_size(value) == 0;
    case JSON_OBJECT: return json_object_size(value) == 0;
    }
    return false;
}

/* --- Field tables ------------------------------------------------------- */

typedef enum field_kind {
    FIELD_DECODED,     /* berth reads it */
    FIELD_STATE,       /* server state such as ModifyIndex; ignored without a word */
    FIELD_IGNORED,     /* a warning when set */
    FIELD_UNSUPPORTED, /* an error when set, as in the HCL decoder */
} field_kind;

typedef struct field_rule {
    const char *name;
    field_kind kind;
    const char *default_text; /* a string value that counts as unset, or NULL */
    const char *hint;         /* for FIELD_UNSUPPORTED: what to do instead, or NULL */
} field_rule;

#define DECODED(name)                                                                              \
    {                                                                                              \
        name, FIELD_DECODED, NULL, NULL                                                            \
    }
#define STATE(name)                                                                                \
    {                                                                                              \
        name, FIELD_STATE, NULL, NULL                                                              \
    }
#define IGNORED(name)                                                                              \
    {                                                                                              \
        name, FIELD_IGNORED, NULL, NULL                                                            \
    }
#define END_OF_RULES                                                                               \
    {                                                                                              \
        NULL, FIELD_DECODED, NULL, NULL                                                            \
    }

static const field_rule job_rules[] = {DECODED("ID"),
                                       DECODED("Name"),
                                       DECODED("Type"),
                                       DECODED("Region"),
                                       DECODED("Datacenters"),
                                       DECODED("Priority"),
                                       DECODED("Meta"),
                                       DECODED("TaskGroups"),
                                       STATE("Status"),
                                       STATE("StatusDescription"),
                                       STATE("Stable"),
                                       STATE("Version"),
                                       STATE("VersionTag"),
                                       STATE("SubmitTime"),
                                       STATE("CreateIndex"),
                                       STATE("ModifyIndex"),
                                       STATE("JobModifyIndex"),
                                       STATE("ParentID"),
                                       STATE("Dispatched"),
                                       STATE("DispatchIdempotencyToken"),
                                       STATE("NomadTokenID"),
                                       IGNORED("AllAtOnce"),
                                       IGNORED("Constraints"),
                                       IGNORED("Affinities"),
                                       IGNORED("Spreads"),
                                       IGNORED("Update"),
                                       IGNORED("Periodic"),
                                       IGNORED("ParameterizedJob"),
                                       IGNORED("Migrate"),
                                       IGNORED("Reschedule"),
                                       IGNORED("Multiregion"),
                                       IGNORED("ConsulToken"),
                                       IGNORED("VaultToken"),
                                       IGNORED("ConsulNamespace"),
                                       IGNORED("VaultNamespace"),
                                       IGNORED("Consul"),
                                       IGNORED("Vault"),
                                       IGNORED("UI"),
                                       IGNORED("Stop"),
                                       IGNORED("Payload"),
                                       {"Namespace", FIELD_IGNORED, "default", NULL},
                                       {"NodePool", FIELD_IGNORED, "default", NULL},
                                       END_OF_RULES};

static const field_rule group_rules[] = {
    DECODED("Name"),
    DECODED("Count"),
    DECODED("Meta"),
    DECODED("RestartPolicy"),
    DECODED("Tasks"),
    IGNORED("Constraints"),
    IGNORED("Affinities"),
    IGNORED("Spreads"),
    IGNORED("Volumes"),
    IGNORED("Disconnect"),
    IGNORED("ReschedulePolicy"),
    IGNORED("EphemeralDisk"),
    IGNORED("Update"),
    IGNORED("Migrate"),
    IGNORED("Services"),
    IGNORED("ShutdownDelay"),
    IGNORED("StopAfterClientDisconnect"),
    IGNORED("MaxClientDisconnect"),
    IGNORED("PreventRescheduleOnLost"),
    IGNORED("Scaling"),
    IGNORED("Consul"),
    {"Networks", FIELD_UNSUPPORTED, NULL, "declare ports in the task's Resources.Networks instead"},
    END_OF_RULES};

static const field_rule restart_rules[] = {DECODED("Attempts"),        DECODED("Interval"),
                                           DECODED("Delay"),           DECODED("Mode"),
                                           IGNORED("RenderTemplates"), END_OF_RULES};

static const field_rule task_rules[] = {DECODED("Name"),
                                        DECODED("Driver"),
                                        DECODED("User"),
                                        DECODED("Config"),
                                        DECODED("Env"),
                                        DECODED("Meta"),
                                        DECODED("KillTimeout"),
                                        DECODED("KillSignal"),
                                        DECODED("Resources"),
                                        DECODED("LogConfig"),
                                        DECODED("Artifacts"),
                                        IGNORED("Constraints"),
                                        IGNORED("Affinities"),
                                        IGNORED("Services"),
                                        IGNORED("Vault"),
                                        IGNORED("DispatchPayload"),
                                        IGNORED("VolumeMounts"),
                                        IGNORED("CSIPluginConfig"),
                                        IGNORED("Leader"),
                                        IGNORED("ShutdownDelay"),
                                        IGNORED("Kind"),
                                        IGNORED("ScalingPolicies"),
                                        IGNORED("Identity"),
                                        IGNORED("Identities"),
                                        IGNORED("Lifecycle"),
                                        IGNORED("RestartPolicy"),
                                        IGNORED("Consul"),
                                        IGNORED("Actions"),
                                        IGNORED("Schedule"),
                                        {"Templates", FIELD_UNSUPPORTED, NULL, NULL},
                                        END_OF_RULES};

static const field_rule resources_rules[] = {DECODED("CPU"),
                                             DECODED("MemoryMB"),
                                             DECODED("Networks"),
                                             IGNORED("DiskMB"),
                                             IGNORED("IOPS"),
                                             IGNORED("SecretsMB"),
                                             {"MemoryMaxMB", FIELD_UNSUPPORTED, NULL, NULL},
                                             {"Cores", FIELD_UNSUPPORTED, NULL, NULL},
                                             {"Devices", FIELD_UNSUPPORTED, NULL, NULL},
                                             {"NUMA", FIELD_UNSUPPORTED, NULL, NULL},
                                             END_OF_RULES};

static const field_rule network_rules[] = {
    DECODED("MBits"),  DECODED("ReservedPorts"), DECODED("DynamicPorts"),
    IGNORED("Device"), IGNORED("CIDR"),          IGNORED("IP"),
    IGNORED("DNS"),    IGNORED("Hostname"),      {"Mode", FIELD_IGNORED, "host", NULL},
    END_OF_RULES};

static const field_rule port_rules[] = {
    DECODED("Label"),
    DECODED("Value"),
    {"HostNetwork", FIELD_IGNORED, "default", NULL},
    {"To", FIELD_UNSUPPORTED, NULL, "map the port with the docker config's port_map instead"},
    END_OF_RULES};

static const field_rule log_rules[] = {DECODED("MaxFiles"), DECODED("MaxFileSizeMB"),
                                       DECODED("Enabled"), IGNORED("Disabled"), END_OF_RULES};

static const field_rule artifact_rules[] = {DECODED("GetterSource"),
                                            DECODED("RelativeDest"),
                                            DECODED("GetterOptions"),
                                            DECODED("GetterMode"),
                                            {"GetterHeaders", FIELD_UNSUPPORTED, NULL, NULL},
                                            {"Chown", FIELD_UNSUPPORTED, NULL, NULL},
                                            END_OF_RULES};

/* Checks that value is an object and reports every field that berth does
 * not decode, as its rule sets. Returns false when value is no object. */
static bool check_object(json_decoder *d, const json_t *value, const char *path,
                         const field_rule *rules)
{
    if (!json_is_object(value)) {
        report_error(d, path, "must be an object, not %s", json_kind_name(value));
        return false;
    }
    const char *key;
    const json_t *field;
    json_object_foreach((json_t *)value, key, field)
    {
        const field_rule *rule = NULL;
        for (size_t i = 0; rules[i].name != NULL && rule == NULL; i++) {
            if (strcmp(rules[i].name, key) == 0)
                rule = &rules[i];
        }
        char child[PATH_SIZE];
        field_path(child, sizeof(child), path, key);
        if (rule == NULL) {
            report_warning(d, child, "unknown field, ignored");
            continue;
        }
        if (rule->kind == FIELD_DECODED || rule->kind == FIELD_STATE ||
            is_empty(field, rule->default_text))
            continue;
        if (rule->kind == FIELD_IGNORED)
            report_warning(d, child, "accepted and ignored; berth does not act on it");
        else if (rule->hint != NULL)
            report_error(d, child, "not supported by berth yet; %s", rule->hint);
        else
            report_error(d, child, "not supported by berth yet");
    }
    return true;
}

/* --- Scalar fields ------------------------------------------------------ */

/* Reads an optional string field into *out (replacing it). Returns true
 * when the field was set to a string. */
static bool read_string(json_decoder *d, const json_t *object, const char *key, const char *parent,
                        char **out)
{
    const json_t *value = get_field(object, key);
    if (value == NULL)
        return false;
    if (!json_is_string(value)) {
        char path[PATH_SIZE];
        field_path(path, sizeof(path), parent, key);
        report_error(d, path, "must be a string, not %s", json_kind_name(value));
        return false;
    }
    free(*out);
    *out = berth_xstrdup(json_string_value(value));
    return true;
}

/* Reads an optional whole number in [min, max]. Go's decoder rejects a
 * fraction or a string for an int field, and so does berth. */
static bool read_int64(json_decoder *d, const json_t *object, const char *key, const char *parent,
                       int64_t min, int64_t max, int64_t *out)
{
    const json_t *value = get_field(object, key);
    if (value == NULL)
        return false;
    char path[PATH_SIZE];
    field_path(path, sizeof(path), parent, key);
    if (!json_is_integer(value)) {
        report_error(d, path, "must be a whole number, not %s", json_kind_name(value));
        return false;
    }
    json_int_t number = json_integer_value(value);
    if (number < min || number > max) {
        report_error(d, path, "is %lld; it must be from %lld to %lld", (long long)number,
                     (long long)min, (long long)max);
        return false;
    }
    *out = number;
    return true;
}

static bool read_int(json_decoder *d, const json_t *object, const char *key, const char *parent,
                     int64_t min, int64_t max, int *out)
{
    int64_t number = 0;
    if (!read_int64(d, object, key, parent, min, max, &number))
        return false;
    *out = (int)number;
    return true;
}

/* Reads a duration given in nanoseconds, as Go encodes time.Duration, into
 * milliseconds (rounded down). */
static bool read_duration_ms(json_decoder *d, const json_t *object, const char *key,
                             const char *parent, int64_t *out_ms)
{
    int64_t nanoseconds = 0;
    if (!read_int64(d, object, key, parent, 0, INT64_MAX, &nanoseconds))
        return false;
    *out_ms = nanoseconds / NS_PER_MS;
    return true;
}

/* Reads an optional object of strings (Meta, Env) into *out. Numbers and
 * booleans are kept as such, as the HCL decoder keeps them, and null
 * entries are skipped. */
static void read_scalar_map(json_decoder *d, const json_t *object, const char *key,
                            const char *parent, berth_value **out)
{
    const json_t *value = get_field(object, key);
    if (value == NULL)
        return;
    char path[PATH_SIZE];
    field_path(path, sizeof(path), parent, key);
    if (!json_is_object(value)) {
        report_error(d, path, "must be an object of strings, not %s", json_kind_name(value));
        return;
    }
    berth_value *map = berth_value_new_map();
    const char *entry_key;
    const json_t *entry;
    json_object_foreach((json_t *)value, entry_key, entry)
    {
        if (json_is_null(entry))
            continue;
        if (json_is_object(entry) || json_is_array(entry)) {
            char entry_path[PATH_SIZE];
            field_path(entry_path, sizeof(entry_path), path, entry_key);
            report_error(d, entry_path, "must be a string, not %s", json_kind_name(entry));
            continue;
        }
        berth_value_map_set(map, entry_key, berth_value_from_json(entry));
    }
    berth_value_free(*out);
    *out = map;
}

/* Returns the field when it is an array, NULL when it is unset; reports
 * any other type. */
static const json_t *get_array(json_decoder *d, const json_t *object, const char *key,
                               const char *parent)
{
    const json_t *value = get_field(object, key);
    if (value == NULL || json_is_array(value))
        return value;
    char path[PATH_SIZE];
    field_path(path, sizeof(path), parent, key);
    report_error(d, path, "must be an array, not %s", json_kind_name(value));
    return NULL;
}

/* --- Resources ---------------------------------------------------------- */

static bool port_exists(const berth_job_network *network, const char *label)
{
    for (size_t i = 0; i < network->port_count; i++) {
        if (strcmp(network->ports[i].label, label) == 0)
            return true;
    }
    return false;
}

/* ReservedPorts become static ports and need a Value. The Value of a
 * dynamic port is chosen when the task is placed, so a given one is
 * ignored. */
static void decode_port(json_decoder *d, const json_t *json, const char *path, bool reserved,
                        berth_job_network *network)
{
    if (!check_object(d, json, path, port_rules))
        return;
    char label_path[PATH_SIZE];
    field_path(label_path, sizeof(label_path), path, "Label");
    berth_autofree char *label = NULL;
    if (!read_string(d, json, "Label", path, &label)) {
        if (get_field(json, "Label") == NULL)
            report_error(d, label_path, "missing; every port needs a label such as \"http\"");
        return;
    }
    if (label[0] == '\0') {
        report_error(d, label_path, "must not be empty");
        return;
    }
    if (port_exists(network, label)) {
        report_error(d, label_path, "port \"%s\" is declared twice", label);
        return;
    }

    berth_job_port port = {0};
    if (reserved) {
        bool has_value = read_int(d, json, "Value", path, 1, 65535, &port.static_port);
        if (!has_value && get_field(json, "Value") == NULL) {
            char value_path[PATH_SIZE];
            field_path(value_path, sizeof(value_path), path, "Value");
            report_error(d, value_path, "missing; a reserved port needs its port number");
        }
        if (!has_value)
            return;
    } else {
        int ignored = 0;
        read_int(d, json, "Value", path, 0, 65535, &ignored);
    }
    port.label = berth_steal_pointer(&label);
    port.origin = format_origin(d, path);
    network->ports = berth_xrealloc(network->ports, (network->port_count + 1) * sizeof(port));
    network->ports[network->port_count++] = port;
}

static void decode_ports(json_decoder *d, const json_t *json, const char *key, const char *path,
                         bool reserved, berth_job_network *network)
{
    const json_t *ports = get_array(d, json, key, path);
    if (ports == NULL)
        return;
    size_t index;
    const json_t *port;
    json_array_foreach(ports, index, port)
    {
        char port_path[PATH_SIZE];
        item_path(port_path, sizeof(port_path), path, key, index);
        decode_port(d, port, port_path, reserved, network);
    }
}

static void decode_network(json_decoder *d, const json_t *json, const char *path,
                           berth_job_resources *resources)
{
    if (!check_object(d, json, path, network_rules))
        return;
    berth_job_network network = {0};
    network.origin = format_origin(d, path);
    read_int(d, json, "MBits", path, 0, 1000000, &network.mbits);
    decode_ports(d, json, "ReservedPorts", path, true, &network);
    decode_ports(d, json, "DynamicPorts", path, false, &network);
    resources->networks =
        berth_xrealloc(resources->networks, (resources->network_count + 1) * sizeof(network));
    resources->networks[resources->network_count++] = network;
}

static void decode_resources(json_decoder *d, const json_t *task, const char *task_path,
                             berth_job_resources *resources)
{
    const json_t *json = get_field(task, "Resources");
    if (json == NULL)
        return;
    char path[PATH_SIZE];
    field_path(path, sizeof(path), task_path, "Resources");
    if (!check_object(d, json, path, resources_rules))
        return;
    read_int(d, json, "CPU", path, 1, 10000000, &resources->cpu_mhz);
    read_int(d, json, "MemoryMB", path, BERTH_JOB_MIN_MEMORY_MB, 100000000,
             &resources->memory_mb);

    const json_t *networks = get_array(d, json, "Networks", path);
    if (networks == NULL)
        return;
    size_t index;
    const json_t *network;
    json_array_foreach(networks, index, network)
    {
        char network_path[PATH_SIZE];
        item_path(network_path, sizeof(network_path), path, "Networks", index);
        decode_network(d, network, network_path, resources);
    }
    if (resources->network_count > 1) {
        char networks_path[PATH_SIZE];
        field_path(networks_path, sizeof(networks_path), path, "Networks");
        report_warning(d, networks_path, "has %zu networks; only the first is used",
                       resources->network_count);
    }
}

/* --- Task --------------------------------------------------------------- */

static void decode_log_config(json_decoder *d, const json_t *task, const char *task_path,
                              berth_job_task *out)
{
    const json_t *json = get_field(task, "LogConfig");
    if (json == NULL)
        return;
    char path[PATH_SIZE];
    field_path(path, sizeof(path), task_path, "LogConfig");
    if (!check_object(d, json, path, log_rules))
        return;
    read_int(d, json, "MaxFiles", path, 1, 1000, &out->log_max_files);
    read_int(d, json, "MaxFileSizeMB", path, 1, 100000, &out->log_max_file_size_mb);
    /* Older Nomad versions turn log collection off with Enabled: false. */
    if (json_is_false(json_object_get(json, "Enabled"))) {
        char enabled_path[PATH_SIZE];
        field_path(enabled_path, sizeof(enabled_path), path, "Enabled");
        report_warning(d, enabled_path, "accepted and ignored; berth does not act on it");
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

/* Accepts "archive": "false", which matches what berth does anyway (the
 * file is saved as it is); any other getter option is an error. */
static void check_getter_options(json_decoder *d, const json_t *json, const char *path)
{
    const json_t *options = get_field(json, "GetterOptions");
    if (options == NULL)
        return;
    char options_path[PATH_SIZE];
    field_path(options_path, sizeof(options_path), path, "GetterOptions");
    if (!json_is_object(options)) {
        report_error(d, options_path, "must be an object of strings, not %s",
                     json_kind_name(options));
        return;
    }
    const char *key;
    const json_t *value;
    json_object_foreach((json_t *)options, key, value)
    {
        bool archive_off =
            strcmp(key, "archive") == 0 &&
            (json_is_false(value) ||
             (json_is_string(value) && strcmp(json_string_value(value), "false") == 0));
        if (archive_off)
            continue;
        char option_path[PATH_SIZE];
        field_path(option_path, sizeof(option_path), options_path, key);
        report_error(d, option_path,
                     "not supported by berth yet; berth saves the file as it is, which only "
                     "\"archive\": \"false\" describes");
    }
}

static void decode_artifact(json_decoder *d, const json_t *json, const char *path,
                            berth_job_task *task)
{
    if (!check_object(d, json, path, artifact_rules))
        return;
    berth_job_artifact artifact = {0};
    artifact.origin = format_origin(d, path);

    char source_path[PATH_SIZE];
    field_path(source_path, sizeof(source_path), path, "GetterSource");
    read_string(d, json, "GetterSource", path, &artifact.source);
    if ((artifact.source == NULL || artifact.source[0] == '\0') &&
        (get_field(json, "GetterSource") == NULL ||
         json_is_string(json_object_get(json, "GetterSource"))))
        report_error(d, source_path, "missing; set it to an https:// URL or an absolute path");

    if (read_string(d, json, "RelativeDest", path, &artifact.destination) &&
        (artifact.destination[0] == '/' || has_parent_component(artifact.destination))) {
        char destination_path[PATH_SIZE];
        field_path(destination_path, sizeof(destination_path), path, "RelativeDest");
        report_error(d, destination_path,
                     "\"%s\" must be a folder inside the task's folder, such as \"local/\", "
                     "without \"..\"",
                     artifact.destination);
    }
    if (artifact.destination == NULL || artifact.destination[0] == '\0') {
        free(artifact.destination);
        artifact.destination = berth_xstrdup("local/");
    }

    check_getter_options(d, json, path);
    berth_autofree char *mode = NULL;
    if (read_string(d, json, "GetterMode", path, &mode) && mode[0] != '\0' &&
        strcmp(mode, "any") != 0) {
        char mode_path[PATH_SIZE];
        field_path(mode_path, sizeof(mode_path), path, "GetterMode");
        report_error(d, mode_path, "\"%s\" is not supported by berth yet; use \"any\"", mode);
    }

    task->artifacts =
        berth_xrealloc(task->artifacts, (task->artifact_count + 1) * sizeof(artifact));
    task->artifacts[task->artifact_count++] = artifact;
}

/* Sets the origin of value and of everything inside it to its JSON path,
 * so that driver errors name where a bad config value came from. */
static void set_origins(const json_decoder *d, berth_value *value, const char *path)
{
    berth_autofree char *origin = format_origin(d, path);
    berth_value_set_origin(value, origin);
    if (value->kind == BERTH_VALUE_MAP) {
        for (size_t i = 0; i < value->as.map.length; i++) {
            berth_autofree char *child = berth_xasprintf("%s.%s", path, value->as.map.keys[i]);
            set_origins(d, value->as.map.values[i], child);
        }
    } else if (value->kind == BERTH_VALUE_LIST) {
        for (size_t i = 0; i < value->as.list.length; i++) {
            berth_autofree char *child = berth_xasprintf("%s[%zu]", path, i);
            set_origins(d, value->as.list.items[i], child);
        }
    }
}

static void decode_config(json_decoder *d, const json_t *task_json, const char *task_path,
                          berth_job_task *task)
{
    char path[PATH_SIZE];
    field_path(path, sizeof(path), task_path, "Config");
    const json_t *json = get_field(task_json, "Config");
    if (json == NULL) {
        report_error(d, path, "missing; the docker driver needs at least {\"image\": \"...\"}");
        return;
    }
    if (!json_is_object(json)) {
        report_error(d, path, "must be an object, not %s", json_kind_name(json));
        return;
    }
    char image_path[PATH_SIZE];
    field_path(image_path, sizeof(image_path), path, "image");
    const json_t *image = get_field(json, "image");
    if (image == NULL)
        report_error(d, image_path,
                     "missing; the docker driver needs an image such as "
                     "\"redis:7\"");
    else if (!json_is_string(image))
        report_error(d, image_path, "must be a string, not %s", json_kind_name(image));
    else if (json_string_length(image) == 0)
        report_error(d, image_path, "must not be empty");

    task->config = berth_value_from_json(json);
    set_origins(d, task->config, path);
}

static bool task_exists(const berth_job_group *group, const char *name)
{
    for (size_t i = 0; i < group->task_count; i++) {
        if (strcmp(group->tasks[i].name, name) == 0)
            return true;
    }
    return false;
}

/* Reads the required, non-empty Name of a group or task into *out; an
 * empty string is used after an error so later checks can compare. */
static void read_name(json_decoder *d, const json_t *json, const char *path, const char *what,
                      char **out)
{
    char name_path[PATH_SIZE];
    field_path(name_path, sizeof(name_path), path, "Name");
    const json_t *value = get_field(json, "Name");
    if (read_string(d, json, "Name", path, out) && (*out)[0] == '\0')
        report_error(d, name_path, "must not be empty");
    else if (value == NULL)
        report_error(d, name_path, "missing; every %s needs a name", what);
    if (*out == NULL)
        *out = berth_xstrdup("");
}

static void decode_task(json_decoder *d, const json_t *json, const char *path,
                        berth_job_group *group)
{
    if (!check_object(d, json, path, task_rules))
        return;
    berth_job_task task = {0};
    read_name(d, json, path, "task", &task.name);
    if (task.name[0] != '\0' && !berth_task_name_valid(task.name)) {
        char name_path[PATH_SIZE];
        field_path(name_path, sizeof(name_path), path, "Name");
        report_error(d, name_path, "task name \"%s\" is invalid; " BERTH_TASK_NAME_RULE,
                     task.name);
    }
    if (task.name[0] != '\0' && task_exists(group, task.name)) {
        char name_path[PATH_SIZE];
        field_path(name_path, sizeof(name_path), path, "Name");
        report_error(d, name_path, "task \"%s\" is declared twice in group \"%s\"", task.name,
                     group->name);
    }
    task.origin = format_origin(d, path);
    task.kill_timeout_ms = BERTH_JOB_DEFAULT_KILL_TIMEOUT_MS;
    task.resources.cpu_mhz = BERTH_JOB_DEFAULT_CPU_MHZ;
    task.resources.memory_mb = BERTH_JOB_DEFAULT_MEMORY_MB;
    task.log_max_files = BERTH_JOB_DEFAULT_LOG_MAX_FILES;
    task.log_max_file_size_mb = BERTH_JOB_DEFAULT_LOG_MAX_FILE_SIZE_MB;

    char driver_path[PATH_SIZE];
    field_path(driver_path, sizeof(driver_path), path, "Driver");
    if (read_string(d, json, "Driver", path, &task.driver)) {
        if (strcmp(task.driver, "docker") != 0)
            report_error(d, driver_path, "\"%s\" is not supported; berth runs only \"docker\"",
                         task.driver);
        else
            decode_config(d, json, path, &task);
    } else if (get_field(json, "Driver") == NULL) {
        report_error(d, driver_path, "missing; set it to \"docker\"");
    }

    /* Go's encoder writes "" for an unset User or KillSignal. */
    if (read_string(d, json, "User", path, &task.user) && task.user[0] == '\0')
        berth_freep(&task.user);
    if (read_string(d, json, "KillSignal", path, &task.kill_signal) && task.kill_signal[0] == '\0')
        berth_freep(&task.kill_signal);
    if (task.kill_signal != NULL && !berth_signal_name_valid(task.kill_signal)) {
        char signal_path[PATH_SIZE];
        field_path(signal_path, sizeof(signal_path), path, "KillSignal");
        report_error(d, signal_path,
                     "\"%s\" is not a signal name; use one such as \"SIGINT\", \"SIGTERM\" or "
                     "\"SIGUSR1\"",
                     task.kill_signal);
    }
    read_scalar_map(d, json, "Env", path, &task.env);
    read_scalar_map(d, json, "Meta", path, &task.meta);
    read_duration_ms(d, json, "KillTimeout", path, &task.kill_timeout_ms);
    decode_resources(d, json, path, &task.resources);
    decode_log_config(d, json, path, &task);

    const json_t *artifacts = get_array(d, json, "Artifacts", path);
    size_t index;
    const json_t *artifact;
    json_array_foreach(artifacts, index, artifact)
    {
        char artifact_path[PATH_SIZE];
        item_path(artifact_path, sizeof(artifact_path), path, "Artifacts", index);
        decode_artifact(d, artifact, artifact_path, &task);
    }

    group->tasks = berth_xrealloc(group->tasks, (group->task_count + 1) * sizeof(task));
    group->tasks[group->task_count++] = task;
}

/* --- Group -------------------------------------------------------------- */

static void decode_restart(json_decoder *d, const json_t *group, const char *group_path,
                           berth_job_restart *restart)
{
    const json_t *json = get_field(group, "RestartPolicy");
    if (json == NULL)
        return;
    char path[PATH_SIZE];
    field_path(path, sizeof(path), group_path, "RestartPolicy");
    if (!check_object(d, json, path, restart_rules))
        return;
    read_int(d, json, "Attempts", path, 0, 1000000, &restart->attempts);
    read_duration_ms(d, json, "Interval", path, &restart->interval_ms);
    read_duration_ms(d, json, "Delay", path, &restart->delay_ms);
    berth_autofree char *mode = NULL;
    if (read_string(d, json, "Mode", path, &mode)) {
        if (strcmp(mode, "fail") == 0 || strcmp(mode, "delay") == 0) {
            free(restart->mode);
            restart->mode = berth_steal_pointer(&mode);
        } else {
            char mode_path[PATH_SIZE];
            field_path(mode_path, sizeof(mode_path), path, "Mode");
            report_error(d, mode_path, "\"%s\" is invalid; use \"fail\" or \"delay\"", mode);
        }
    }
}

static bool group_exists(const berth_job *job, const char *name)
{
    for (size_t i = 0; i < job->group_count; i++) {
        if (strcmp(job->groups[i].name, name) == 0)
            return true;
    }
    return false;
}

static void decode_group(json_decoder *d, const json_t *json, const char *path, berth_job *job)
{
    if (!check_object(d, json, path, group_rules))
        return;
    berth_job_group group = {0};
    read_name(d, json, path, "task group", &group.name);
    if (group.name[0] != '\0' && group_exists(job, group.name)) {
        char name_path[PATH_SIZE];
        field_path(name_path, sizeof(name_path), path, "Name");
        report_error(d, name_path, "group \"%s\" is declared twice", group.name);
    }
    group.origin = format_origin(d, path);
    group.count = 1;
    /* The same defaults as the HCL decoder (Nomad's): batch jobs retry 3
     * times in 24h, others 2 times in 30m, each after 15s, then fail. */
    bool batch = job->type != NULL && strcmp(job->type, "batch") == 0;
    group.restart.attempts = batch ? 3 : 2;
    group.restart.interval_ms = batch ? 24 * 3600 * 1000LL : 30 * 60 * 1000LL;
    group.restart.delay_ms = 15000;
    group.restart.mode = berth_xstrdup("fail");

    read_int(d, json, "Count", path, 0, BERTH_JOB_MAX_COUNT, &group.count);
    read_scalar_map(d, json, "Meta", path, &group.meta);
    decode_restart(d, json, path, &group.restart);

    const json_t *tasks = get_array(d, json, "Tasks", path);
    size_t index;
    const json_t *task;
    json_array_foreach(tasks, index, task)
    {
        char task_path[PATH_SIZE];
        item_path(task_path, sizeof(task_path), path, "Tasks", index);
        decode_task(d, task, task_path, &group);
    }
    if (json_array_size(tasks) == 0) {
        char tasks_path[PATH_SIZE];
        field_path(tasks_path, sizeof(tasks_path), path, "Tasks");
        if (tasks != NULL || get_field(json, "Tasks") == NULL)
            report_error(d, tasks_path, "group \"%s\" has no tasks", group.name);
    }

    job->groups = berth_xrealloc(job->groups, (job->group_count + 1) * sizeof(group));
    job->groups[job->group_count++] = group;
}

/* --- Job ---------------------------------------------------------------- */

static void decode_datacenters(json_decoder *d, const json_t *json, berth_job *job)
{
    const json_t *list = get_array(d, json, "Datacenters", "Job");
    if (list == NULL)
        return;
    job->datacenters = berth_xcalloc(json_array_size(list) + 1, sizeof(char *));
    size_t index;
    const json_t *item;
    json_array_foreach(list, index, item)
    {
        if (!json_is_string(item)) {
            char path[PATH_SIZE];
            item_path(path, sizeof(path), "Job", "Datacenters", index);
            report_error(d, path, "must be a string, not %s", json_kind_name(item));
            continue;
        }
        job->datacenters[job->datacenter_count++] = berth_xstrdup(json_string_value(item));
    }
}

static void decode_job(json_decoder *d, const json_t *json, berth_job *job)
{
    job->origin = format_origin(d, "Job");
    job->priority = 50;
    if (!check_object(d, json, "Job", job_rules))
        return;

    if (!read_string(d, json, "ID", "Job", &job->id) && get_field(json, "ID") == NULL)
        report_error(d, "Job.ID", "missing; set it to the job's name, such as \"example\"");
    else if (job->id != NULL && job->id[0] == '\0')
        report_error(d, "Job.ID", "must not be empty");
    if (!read_string(d, json, "Name", "Job", &job->name) || job->name[0] == '\0') {
        free(job->name);
        job->name = berth_xstrdup(job->id != NULL ? job->id : "");
    }
    if (read_string(d, json, "Type", "Job", &job->type) && strcmp(job->type, "service") != 0 &&
        strcmp(job->type, "batch") != 0 && strcmp(job->type, "system") != 0)
        report_error(d, "Job.Type", "\"%s\" is invalid; use \"service\", \"batch\" or \"system\"",
                     job->type);
    if (job->type == NULL)
        job->type = berth_xstrdup("service");
    if (!read_string(d, json, "Region", "Job", &job->region) || job->region[0] == '\0') {
        free(job->region);
        job->region = berth_xstrdup("global");
    }
    decode_datacenters(d, json, job);
    read_int(d, json, "Priority", "Job", 1, 100, &job->priority);
    read_scalar_map(d, json, "Meta", "Job", &job->meta);

    const json_t *groups = get_array(d, json, "TaskGroups", "Job");
    size_t index;
    const json_t *group;
    json_array_foreach(groups, index, group)
    {
        char path[PATH_SIZE];
        item_path(path, sizeof(path), "Job", "TaskGroups", index);
        decode_group(d, group, path, job);
    }
    if (json_array_size(groups) == 0 && (groups != NULL || get_field(json, "TaskGroups") == NULL))
        report_error(d, "Job.TaskGroups", "job has no task groups");
}

static int finish(const char *origin, berth_job_diagnostics *diagnostics, berth_job *job,
                  berth_job **out, berth_error *err)
{
    if (diagnostics->error_count > 0) {
        berth_job_free(job);
        if (diagnostics->error_count == 1)
            return berth_error_set(err, BERTH_E_INVALID, "%s", diagnostics->errors[0]);
        return berth_error_set(err, BERTH_E_INVALID, "%s: %zu errors, the first: %s",
                               origin != NULL ? origin : "job", diagnostics->error_count,
                               diagnostics->errors[0]);
    }
    *out = job;
    return 0;
}

int berth_job_load_json(const char *origin, const json_t *job_json, berth_job **out,
                        berth_job_diagnostics *diagnostics, berth_error *err)
{
    json_decoder d = {.diagnostics = diagnostics, .origin = origin};
    /* A whole request body or `nomad job run -output` document wraps the
     * job as {"Job": {...}}; a job object itself has an ID instead. */
    const json_t *inner = json_is_object(job_json) ? json_object_get(job_json, "Job") : NULL;
    if (json_is_object(inner) && json_object_get(job_json, "ID") == NULL)
        job_json = inner;

    berth_job *job = berth_xcalloc(1, sizeof(*job));
    decode_job(&d, job_json, job);
    return finish(origin, diagnostics, job, out, err);
}

int berth_job_load_json_file(const char *path, berth_job **out, berth_job_diagnostics *diagnostics,
                             berth_error *err)
{
    berth_autofree char *text = NULL;
    size_t length = 0;
    if (berth_read_file(path, MAX_JOB_JSON_FILE_SIZE, &text, &length, err) < 0) {
        berth_grow((void **)&diagnostics->errors, &diagnostics->error_capacity,
                   diagnostics->error_count + 1, sizeof(*diagnostics->errors));
        diagnostics->errors[diagnostics->error_count++] = berth_xstrdup(err->message);
        return -1;
    }
    json_error_t json_error;
    json_t *json = json_loadb(text, length, JSON_REJECT_DUPLICATES, &json_error);
    if (json == NULL) {
        berth_error_set(err, BERTH_E_INVALID, "%s:%d:%d: invalid JSON: %s", path, json_error.line,
                        json_error.column, json_error.text);
        berth_grow((void **)&diagnostics->errors, &diagnostics->error_capacity,
                   diagnostics->error_count + 1, sizeof(*diagnostics->errors));
        diagnostics->errors[diagnostics->error_count++] = berth_xstrdup(err->message);
        return -1;
    }
    int rc = berth_job_load_json(path, json, out, diagnostics, err);
    json_decref(json);
    return rc;
}

/* --- Encoding ----------------------------------------------------------- */

static json_t *string_or_null(const char *text)
{
    return text != NULL ? json_string(text) : json_null();
}

static json_t *value_or_null(const berth_value *value)
{
    return value != NULL ? berth_value_to_json(value) : json_null();
}

/* Converts milliseconds to nanoseconds, saturating where int64 ends
 * (about 292 years). */
static json_t *duration_json(int64_t milliseconds)
{
    if (milliseconds > INT64_MAX / NS_PER_MS)
        return json_integer(INT64_MAX / NS_PER_MS * NS_PER_MS);
    return json_integer(milliseconds * NS_PER_MS);
}

static json_t *network_to_json(const berth_job_network *network)
{
    json_t *reserved = json_array();
    json_t *dynamic = json_array();
    for (size_t i = 0; i < network->port_count; i++) {
        const berth_job_port *port = &network->ports[i];
        json_t *item = json_pack("{s:s, s:i}", "Label", port->label, "Value", port->static_port);
        json_array_append_new(port->static_port != 0 ? reserved : dynamic, item);
    }
    return json_pack("{s:i, s:o, s:o}", "MBits", network->mbits, "ReservedPorts", reserved,
                     "DynamicPorts", dynamic);
}

static json_t *task_to_json(const berth_job_task *task)
{
    json_t *networks = json_array();
    for (size_t i = 0; i < task->resources.network_count; i++)
        json_array_append_new(networks, network_to_json(&task->resources.networks[i]));
    json_t *artifacts = json_array();
    for (size_t i = 0; i < task->artifact_count; i++)
        json_array_append_new(artifacts,
                              json_pack("{s:s?, s:s?}", "GetterSource", task->artifacts[i].source,
                                        "RelativeDest", task->artifacts[i].destination));

    json_t *json = json_object();
    json_object_set_new(json, "Name", json_string(task->name));
    json_object_set_new(json, "Driver", string_or_null(task->driver));
    json_object_set_new(json, "User", string_or_null(task->user));
    json_object_set_new(json, "Config", value_or_null(task->config));
    json_object_set_new(json, "Env", value_or_null(task->env));
    json_object_set_new(json, "Meta", value_or_null(task->meta));
    json_object_set_new(json, "KillTimeout", duration_json(task->kill_timeout_ms));
    json_object_set_new(json, "KillSignal", string_or_null(task->kill_signal));
    json_object_set_new(json, "Resources",
                        json_pack("{s:i, s:i, s:o}", "CPU", task->resources.cpu_mhz, "MemoryMB",
                                  task->resources.memory_mb, "Networks", networks));
    json_object_set_new(json, "LogConfig",
                        json_pack("{s:i, s:i}", "MaxFiles", task->log_max_files, "MaxFileSizeMB",
                                  task->log_max_file_size_mb));
    json_object_set_new(json, "Artifacts", artifacts);
    return json;
}

static json_t *group_to_json(const berth_job_group *group)
{
    json_t *tasks = json_array();
    for (size_t i = 0; i < group->task_count; i++)
        json_array_append_new(tasks, task_to_json(&group->tasks[i]));
    json_t *restart = json_object();
    json_object_set_new(restart, "Attempts", json_integer(group->restart.attempts));
    json_object_set_new(restart, "Interval", duration_json(group->restart.interval_ms));
    json_object_set_new(restart, "Delay", duration_json(group->restart.delay_ms));
    json_object_set_new(restart, "Mode", string_or_null(group->restart.mode));

    json_t *json = json_object();
    json_object_set_new(json, "Name", json_string(group->name));
    json_object_set_new(json, "Count", json_integer(group->count));
    json_object_set_new(json, "Meta", value_or_null(group->meta));
    json_object_set_new(json, "RestartPolicy", restart);
    json_object_set_new(json, "Tasks", tasks);
    return json;
}

json_t *berth_job_to_json(const berth_job *job)
{
    json_t *datacenters = json_array();
    for (size_t i = 0; i < job->datacenter_count; i++)
        json_array_append_new(datacenters, json_string(job->datacenters[i]));
    json_t *groups = json_array();
    for (size_t i = 0; i < job->group_count; i++)
        json_array_append_new(groups, group_to_json(&job->groups[i]));

    json_t *json = json_object();
    json_object_set_new(json, "ID", string_or_null(job->id));
    json_object_set_new(json, "Name", string_or_null(job->name));
    json_object_set_new(json, "Type", string_or_null(job->type));
    json_object_set_new(json, "Region", string_or_null(job->region));
    json_object_set_new(json, "Datacenters", datacenters);
    json_object_set_new(json, "Priority", json_integer(job->priority));
    json_object_set_new(json, "Meta", value_or_null(job->meta));
    json_object_set_new(json, "TaskGroups", groups);
    return json;
}
