/* Agent structures shared by agent.c (jobs, allocations, queries, recovery)
 * and task_runner.c (one thread per task). Everything mutable is guarded by
 * agent->lock unless a field's comment states otherwise. */
#ifndef BERTH_AGENT_AGENT_INTERNAL_H
#define BERTH_AGENT_AGENT_INTERNAL_H

#include <pthread.h>

#include "agent/agent.h"
#include "agent/ports.h"
#include "agent/state.h"
#include "job/job.h"
#include "taskenv/taskenv.h"

typedef struct agent_alloc agent_alloc;

typedef enum agent_task_state {
    AGENT_TASK_PENDING,
    AGENT_TASK_RUNNING,
    AGENT_TASK_DEAD,
} agent_task_state;

typedef struct agent_task {
    agent_alloc *alloc;
    const berth_job_task *spec; /* inside alloc->job */

    /* Persisted with the allocation. */
    agent_task_state state;
    bool failed;
    int restarts;
    int64_t started_at_ns;
    int64_t finished_at_ns;
    int64_t window_start_ns; /* start of the current restart interval */
    int window_restarts;     /* restarts within that interval */
    char *container_id;
    char *image;
    char *image_id;
    bool image_fetched;
    bool tty;
    berth_port_binding *ports;
    size_t port_count;
    /* Time stamp of the last line written, stdout and stderr; guarded by
     * agent->log_lock. */
    int64_t log_position_ns[2];
    json_t *events;             /* the task's events, oldest first */

    /* Runtime only. */
    pthread_t thread;
    bool thread_started;
    bool kill_requested;
    bool recover; /* the thread re-attaches to container_id first */
    berth_task_handle *handle;
    berth_value *env;
} agent_task;

struct agent_alloc {
    berth_agent *agent;
    char id[37];
    char *job_id;
    int64_t job_modify_index;
    json_t *job_doc;  /* the job as registered */
    berth_job *job;   /* decoded from job_doc */
    const berth_job_group *group;
    int index;
    char *desired_status; /* "run" or "stop" */
    char *client_status;  /* "pending", "running", "complete", "failed" */
    int64_t create_time_ns;
    int64_t modify_time_ns;
    char *dir;
    agent_task *tasks;
    size_t task_count;
    agent_alloc *next;
};

typedef struct agent_job {
    char *id;
    json_t *doc;
    int64_t modify_index;
    int64_t submit_time_ns;
    bool stopped;
    struct agent_job *next;
} agent_job;

struct berth_agent {
    pthread_mutex_t lock;
    pthread_cond_t changed; /* task state changes, kill requests, shutdown */
    char *data_dir;
    char *alloc_root;
    char *host_ip;
    int64_t orphan_grace_ms;
    berth_state *state;
    berth_docker *docker;
    berth_driver *driver;
    berth_driver_options driver_options;
    berth_node node;
    berth_port_allocator ports;
    agent_job *jobs;
    agent_alloc *allocs;

    bool engine_healthy;
    char health_description[BERTH_ERROR_MESSAGE_MAX + 64];
    berth_value *driver_attributes;

    bool stopping;
    int lock_fd; /* data_dir/agent.lock, held with flock while the agent runs */
    /* Guards every task's log_position_ns and log writes, so closing the
     * agent can stop all writers before it saves their positions. */
    pthread_mutex_t log_lock;
    bool logs_stopped;
    pthread_t monitor;
    bool monitor_started;
};

int64_t agent_now_ns(void);

/* Appends an event to the task and stores it. Called without the lock. */
void agent_task_event(agent_task *task, const char *type, const char *message, int64_t exit_code,
                      bool has_exit_code);

/* Stores the allocation document (task states included). Takes the lock. */
void agent_persist_alloc(agent_alloc *alloc);

/* Starts a task's runner thread. */
int agent_task_start_thread(agent_task *task, berth_error *err);

/* Asks every task of the allocation to stop; running containers get the
 * task's kill_signal and kill_timeout on a thread of their own. Lock held. */
void agent_kill_alloc(agent_alloc *alloc);

/* Recomputes the allocation's client status from its tasks; lock held. */
void agent_alloc_update_status(agent_alloc *alloc);

#endif
