/* The node agent: a long-running process that owns allocations, runs each
 * task with a task runner (start, wait, restart policy, log files), keeps
 * its state in SQLite under data_dir, and re-attaches to running
 * containers after a restart.
 *
 * Every berth_agent_* query returns JSON shaped like the matching Nomad
 * HTTP API reply, so the HTTP layer only routes and encodes. All functions
 * are safe to call from several threads at once. Errors use the usual
 * codes: BERTH_E_INVALID for bad input (HTTP 400), BERTH_E_NOT_FOUND
 * (404), anything else is a server-side failure (500). */
#ifndef BERTH_AGENT_AGENT_H
#define BERTH_AGENT_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/error.h"
#include "core/value.h"
#include "docker/docker.h"
#include "driver/driver.h"

typedef struct berth_agent berth_agent;

typedef struct berth_agent_options {
    const char *data_dir;    /* state database and allocation folders; created if missing */
    const char *node_name;   /* NULL: the host name */
    const char *datacenter;  /* NULL: "dc1" */
    const char *region;      /* NULL: "global" */
    const berth_value *node_meta; /* map of strings, may be NULL */
    const char *host_ip;     /* where task ports are published; NULL: "127.0.0.1" */
    berth_docker_config docker;
    berth_driver_options driver;
    /* Containers labelled as berth's that no allocation owns are removed
     * once they are older than this; 0: the default of 5 minutes. */
    int64_t orphan_grace_ms;
} berth_agent_options;

/* Opens the state in data_dir, contacts the engine (an engine that is down
 * is not an error: the driver is reported unhealthy and the agent retries),
 * and re-attaches to the containers of every allocation still running. */
int berth_agent_open(const berth_agent_options *options, berth_agent **out, berth_error *err);

/* Stops watching tasks and closes the state, leaving containers running so
 * that the next agent re-attaches to them. */
void berth_agent_close(berth_agent *agent);

/* --- Jobs ------------------------------------------------------------------ */

/* Registers (or updates) a job given as Nomad's JSON job object (the value
 * of "Job" in a PUT /v1/jobs body). Allocations are created and started;
 * a changed job replaces the old allocations. Reply:
 * {"EvalID": "...", "JobModifyIndex": N, "Warnings": "..."} */
int berth_agent_register_job(berth_agent *agent, const json_t *job, json_t **reply,
                             berth_error *err);

/* GET /v1/jobs: [{"ID","Name","Type","Status","Priority","JobSummary"...}] */
int berth_agent_list_jobs(berth_agent *agent, json_t **reply, berth_error *err);

/* GET /v1/job/:id: the job object as registered, with "Status". */
int berth_agent_get_job(berth_agent *agent, const char *job_id, json_t **reply,
                        berth_error *err);

/* DELETE /v1/job/:id: stops every allocation of the job (each task within
 * its kill_timeout). Reply: {"EvalID": "...", "JobModifyIndex": N} */
int berth_agent_stop_job(berth_agent *agent, const char *job_id, json_t **reply,
                         berth_error *err);

/* GET /v1/job/:id/allocations: allocation stubs. */
int berth_agent_job_allocations(berth_agent *agent, const char *job_id, json_t **reply,
                                berth_error *err);

/* --- Allocations ----------------------------------------------------------- */

/* GET /v1/allocation/:id (a unique prefix of the id is accepted): the
 * allocation with "TaskStates": {task: {"State", "Failed", "Restarts",
 * "StartedAt", "FinishedAt", "Events": [{"Type", "Time", "DisplayMessage",
 * "ExitCode", ...}]}}. */
int berth_agent_get_allocation(berth_agent *agent, const char *alloc_id, json_t **reply,
                               berth_error *err);

/* GET /v1/client/allocation/:id/stats: {"ResourceUsage": {...}, "Tasks":
 * {task: {"ResourceUsage": {"CpuStats": {...}, "MemoryStats": {...}}}}}. */
int berth_agent_allocation_stats(berth_agent *agent, const char *alloc_id, json_t **reply,
                                 berth_error *err);

/* The log files of one task stream, oldest first, as absolute paths (the
 * caller frees each and the array). stream is "stdout" or "stderr". Fails
 * with BERTH_E_NOT_FOUND for an unknown allocation or task. */
int berth_agent_log_files(berth_agent *agent, const char *alloc_id, const char *task,
                          const char *stream, char ***paths, size_t *count, berth_error *err);

/* Reports whether the task is still running, for log followers that must
 * know when to stop waiting for more output. */
bool berth_agent_task_running(berth_agent *agent, const char *alloc_id, const char *task);

/* --- Node ------------------------------------------------------------------ */

/* GET /v1/agent/self: {"config": {...}, "stats": {...}, "member": {...}}
 * with the node's attributes under "stats"."client"... and
 * "config"."Client"."Meta". */
int berth_agent_self(berth_agent *agent, json_t **reply, berth_error *err);

/* GET /v1/nodes: [{"ID","Name","Datacenter","Status","Drivers":{"docker":
 * {"Detected","Healthy","HealthDescription","Attributes"}}}] */
int berth_agent_nodes(berth_agent *agent, json_t **reply, berth_error *err);

#endif
