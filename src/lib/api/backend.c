/* The backend table filled from a berth_agent: each entry forwards to the
 * berth_agent_* query of the same name. */
#include "agent/agent.h"
#include "api/api.h"

static int register_job(void *context, const json_t *job, json_t **reply, berth_error *err)
{
    return berth_agent_register_job(context, job, reply, err);
}

static int list_jobs(void *context, json_t **reply, berth_error *err)
{
    return berth_agent_list_jobs(context, reply, err);
}

static int get_job(void *context, const char *job_id, json_t **reply, berth_error *err)
{
    return berth_agent_get_job(context, job_id, reply, err);
}

static int stop_job(void *context, const char *job_id, json_t **reply, berth_error *err)
{
    return berth_agent_stop_job(context, job_id, reply, err);
}

static int job_allocations(void *context, const char *job_id, json_t **reply, berth_error *err)
{
    return berth_agent_job_allocations(context, job_id, reply, err);
}

static int get_allocation(void *context, const char *alloc_id, json_t **reply, berth_error *err)
{
    return berth_agent_get_allocation(context, alloc_id, reply, err);
}

static int allocation_stats(void *context, const char *alloc_id, json_t **reply,
                            berth_error *err)
{
    return berth_agent_allocation_stats(context, alloc_id, reply, err);
}

static int log_files(void *context, const char *alloc_id, const char *task, const char *stream,
                     char ***paths, size_t *count, berth_error *err)
{
    return berth_agent_log_files(context, alloc_id, task, stream, paths, count, err);
}

static bool task_running(void *context, const char *alloc_id, const char *task)
{
    return berth_agent_task_running(context, alloc_id, task);
}

static int self(void *context, json_t **reply, berth_error *err)
{
    return berth_agent_self(context, reply, err);
}

static int nodes(void *context, json_t **reply, berth_error *err)
{
    return berth_agent_nodes(context, reply, err);
}

void berth_api_backend_from_agent(struct berth_agent *agent, berth_api_backend *backend)
{
    *backend = (berth_api_backend){
        .context = agent,
        .register_job = register_job,
        .list_jobs = list_jobs,
        .get_job = get_job,
        .stop_job = stop_job,
        .job_allocations = job_allocations,
        .get_allocation = get_allocation,
        .allocation_stats = allocation_stats,
        .log_files = log_files,
        .task_running = task_running,
        .self = self,
        .nodes = nodes,
    };
}
