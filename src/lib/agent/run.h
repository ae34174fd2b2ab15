/* Runs a whole job in the foreground, as `berth run` does: one allocation
 * per group copy (count), each task started by the driver, output passed on
 * line by line, and every container, port and folder released at the end,
 * on success, failure or a stop request alike. */
#ifndef BERTH_AGENT_RUN_H
#define BERTH_AGENT_RUN_H

#include <signal.h>
#include <stddef.h>

#include "agent/ports.h"
#include "core/error.h"
#include "driver/driver.h"
#include "job/job.h"
#include "taskenv/taskenv.h"

/* Identifies the task an output line or event belongs to. */
typedef struct berth_run_task_info {
    const char *job_name;
    const char *group_name;
    const char *task_name;
    const char *alloc_id;
    int alloc_index;
} berth_run_task_info;

typedef struct berth_run_callbacks {
    /* One line of task output without its newline; stream 1 is stdout and
     * 2 is stderr. A line longer than 64 KiB arrives in pieces. */
    void (*output)(void *user_data, const berth_run_task_info *task, int stream, const char *line,
                   size_t length);
    /* A progress message: image pulls, container started, ports, exits. */
    void (*event)(void *user_data, const berth_run_task_info *task, const char *message);
    void *user_data;
} berth_run_callbacks;

typedef struct berth_run_options {
    berth_driver *driver;
    const berth_node *node;
    berth_port_allocator *ports;
    const char *host_ip;   /* where ports are published; "127.0.0.1" when NULL */
    const char *data_dir;  /* allocation folders are made under it, and removed after */
    /* Becomes non-zero when the user asks to stop (SIGINT, SIGTERM,
     * SIGHUP): tasks get their kill_signal and kill_timeout. */
    const volatile sig_atomic_t *stop_requested;
    /* Becomes non-zero on a second request: containers are killed at once. */
    const volatile sig_atomic_t *force_requested;
    berth_run_callbacks callbacks;
} berth_run_options;

typedef struct berth_run_result {
    int exit_code;   /* the first failing task's exit code, 1 for a task that failed to
                        start, 0 when all succeeded */
    bool stopped;    /* the run ended because a stop was requested */
    size_t tasks_started;
} berth_run_result;

/* Runs job to the end. Returns 0 when the run itself worked (tasks may
 * still have failed: see result->exit_code); -1 with err when berth could
 * not run it (a task failed to start, the engine was unreachable). Either
 * way no container berth made is left. */
int berth_run_job(const berth_job *job, const berth_run_options *options, berth_run_result *result,
                  berth_error *err);

#endif
