/* The job model: a Nomad job with its groups and tasks, independent of the
 * format it was read from. berth_job_load_hcl() fills it from a job file;
 * later loaders (Nomad's JSON job format) fill the same structures. */
#ifndef BERTH_JOB_JOB_H
#define BERTH_JOB_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/value.h"

#define BERTH_JOB_DEFAULT_CPU_MHZ 100
#define BERTH_JOB_DEFAULT_MEMORY_MB 300
#define BERTH_JOB_DEFAULT_KILL_TIMEOUT_MS 5000
#define BERTH_JOB_DEFAULT_LOG_MAX_FILES 10
#define BERTH_JOB_DEFAULT_LOG_MAX_FILE_SIZE_MB 10
#define BERTH_JOB_MAX_COUNT 1000

typedef struct berth_job_port {
    char *label;
    int static_port; /* 0: dynamic */
    char *origin;
} berth_job_port;

typedef struct berth_job_network {
    int mbits;
    berth_job_port *ports;
    size_t port_count;
    char *origin;
} berth_job_network;

typedef struct berth_job_resources {
    int cpu_mhz;
    int memory_mb;
    berth_job_network *networks; /* only the first one is used, as in Nomad 0.x */
    size_t network_count;
} berth_job_resources;

typedef struct berth_job_restart {
    int attempts;
    int64_t interval_ms;
    int64_t delay_ms;
    char *mode; /* "fail" or "delay" */
} berth_job_restart;

/* A file the agent fetches into the task's folder before the task starts.
 * berth saves the file as it is: archives are not unpacked. */
typedef struct berth_job_artifact {
    char *source;      /* an absolute path, file:// URL, or http(s):// URL */
    char *destination; /* a folder relative to the task's folder; "local/" by default */
    char *origin;
} berth_job_artifact;

typedef struct berth_job_task {
    char *name;
    char *driver;
    char *user;
    /* The driver's config block as a value tree. Strings keep `${...}` as
     * written; the driver interpolates them when the task starts. */
    berth_value *config;
    berth_value *env;  /* map of strings (numbers and bools kept as such) */
    berth_value *meta;
    int64_t kill_timeout_ms;
    char *kill_signal; /* NULL: the engine's default (the image's STOPSIGNAL or SIGTERM) */
    berth_job_resources resources;
    int log_max_files;
    int log_max_file_size_mb;
    berth_job_artifact *artifacts;
    size_t artifact_count;
    char *origin;
} berth_job_task;

typedef struct berth_job_group {
    char *name;
    int count;
    berth_value *meta;
    berth_job_restart restart;
    berth_job_task *tasks;
    size_t task_count;
    char *origin;
} berth_job_group;

typedef struct berth_job {
    char *id;
    char *name;
    char *type; /* service, batch or system */
    char *region;
    char **datacenters;
    size_t datacenter_count;
    int priority;
    berth_value *meta;
    berth_job_group *groups;
    size_t group_count;
    char *origin;
} berth_job;

/* Problems found while loading, each "FILE:LINE:COL: message". Loading goes
 * on after an error where it can, so `berth validate` shows them all.
 * Warnings (keys berth accepts but ignores) are kept apart. */
typedef struct berth_job_diagnostics {
    char **errors;
    size_t error_count, error_capacity;
    char **warnings;
    size_t warning_count, warning_capacity;
} berth_job_diagnostics;

void berth_job_diagnostics_free(berth_job_diagnostics *diagnostics);

/* Resolves a root name in bare HCL2 references inside a job file (`meta`,
 * `node`, `attr`); NULL when unknown. See berth_hcl_lookup. */
typedef berth_value *(*berth_job_lookup)(void *user_data, const char *name);

typedef struct berth_job_load_options {
    berth_job_lookup lookup; /* may be NULL */
    void *user_data;
} berth_job_load_options;

/* Reads and decodes the job file at path. On success returns 0 with a new
 * job in *out. On failure returns -1; diagnostics lists every problem and
 * err summarises ("job.hcl: 3 errors"). Warnings are added either way. */
int berth_job_load_hcl_file(const char *path, const berth_job_load_options *options,
                            berth_job **out, berth_job_diagnostics *diagnostics, berth_error *err);

/* The same for text already in memory; filename is used in messages. */
int berth_job_load_hcl(const char *filename, const char *text, size_t length,
                       const berth_job_load_options *options, berth_job **out,
                       berth_job_diagnostics *diagnostics, berth_error *err);

void berth_job_free(berth_job *job);

/* Minimum task memory in MB, as Nomad enforces; the engine itself refuses
 * limits under 6 MB. */
#define BERTH_JOB_MIN_MEMORY_MB 10

/* Reports whether a task name can be part of a container name and a folder
 * name: 1 to 128 letters, digits, '_', '.' or '-', starting with a letter
 * or digit. */
bool berth_task_name_valid(const char *name);

#define BERTH_TASK_NAME_RULE                                                                  \
    "use 1 to 128 letters, digits, '_', '.' or '-', starting with a letter or digit, "       \
    "because the name becomes part of the container's name"

/* Reports whether name is a signal name the engine accepts for a kill:
 * "SIG" followed by a Linux signal's abbreviation ("SIGINT", "SIGUSR1"). */
bool berth_signal_name_valid(const char *name);

/* Parses a Go-style duration ("5s", "1m30s", "250ms", "2h") into
 * milliseconds. Sub-millisecond units are accepted and rounded down. */
bool berth_parse_duration_ms(const char *text, int64_t *out);

/* Decodes a job in Nomad's JSON job format: the "Job" object of a
 * PUT /v1/jobs body, or a whole {"Job": {...}} document as
 * `nomad job run -output` prints it. origin (a file name or "job web", may
 * be NULL) starts every message and every config value's origin, followed
 * by the JSON path ("job.json: Job.TaskGroups[0].Tasks[0].Config.image").
 * Returns 0 with a new job in *out, or -1 with every problem in
 * diagnostics and a summary in err, as berth_job_load_hcl() does. */
int berth_job_load_json(const char *origin, const json_t *job, berth_job **out,
                        berth_job_diagnostics *diagnostics, berth_error *err);

/* Reads the JSON job file at path (at most 16 MiB) and decodes it with
 * berth_job_load_json(), using path as the origin. */
int berth_job_load_json_file(const char *path, berth_job **out,
                             berth_job_diagnostics *diagnostics, berth_error *err);

/* Encodes job in Nomad's JSON job format (the "Job" object, durations in
 * nanoseconds); berth_job_load_json() reads it back into an equal job.
 * Returns a new reference. */
json_t *berth_job_to_json(const berth_job *job);

#endif
