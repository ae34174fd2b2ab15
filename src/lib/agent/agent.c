/* The agent: jobs, allocations, their persistence and recovery, the HTTP
 * API queries, engine health and the orphan-container reaper. Task
 * lifecycles live in task_runner.c. */
#include "agent/agent.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "agent/agent_internal.h"
#include "agent/allocdir.h"
#include "agent/logfile.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/util.h"

int64_t agent_now_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

static json_t *rfc3339(int64_t ns)
{
    if (ns == 0)
        return json_string("0001-01-01T00:00:00Z");
    time_t seconds = (time_t)(ns / 1000000000);
    struct tm utc;
    gmtime_r(&seconds, &utc);
    char text[64];
    size_t used = strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &utc);
    snprintf(text + used, sizeof(text) - used, ".%09lldZ", (long long)(ns % 1000000000));
    return json_string(text);
}

static const char *task_state_name(agent_task_state state)
{
    switch (state) {
    case AGENT_TASK_PENDING: return "pending";
    case AGENT_TASK_RUNNING: return "running";
    case AGENT_TASK_DEAD: return "dead";
    }
    return "unknown";
}

/* --- Persistence ----------------------------------------------------------- */

static json_t *ports_to_json(const agent_task *task)
{
    json_t *ports = json_array();
    for (size_t i = 0; i < task->port_count; i++)
        json_array_append_new(ports, json_pack("{s:s, s:s, s:i}", "Label", task->ports[i].label,
                                               "HostIP", task->ports[i].host_ip, "Value",
                                               task->ports[i].host_port));
    return ports;
}

/* Nomad 0.x's TaskResources entry: the task's CPU, memory and its network
 * with the ports reserved for it. Lock held. */
static json_t *task_resources_json(const agent_task *task)
{
    const berth_job_resources *resources = &task->spec->resources;
    json_t *networks = json_array();
    if (resources->network_count > 0) {
        const berth_job_network *network = &resources->networks[0];
        json_t *reserved = json_array();
        json_t *dynamic = json_array();
        for (size_t i = 0; i < task->port_count; i++) {
            bool is_static = false;
            for (size_t j = 0; j < network->port_count; j++) {
                if (strcmp(network->ports[j].label, task->ports[i].label) == 0)
                    is_static = network->ports[j].static_port != 0;
            }
            json_array_append_new(is_static ? reserved : dynamic,
                                  json_pack("{s:s, s:i}", "Label", task->ports[i].label, "Value",
                                            task->ports[i].host_port));
        }
        json_array_append_new(
            networks,
            json_pack("{s:s, s:i, s:o, s:o}", "IP",
                      task->port_count > 0 ? task->ports[0].host_ip : task->alloc->agent->host_ip,
                      "MBits", network->mbits, "ReservedPorts", reserved, "DynamicPorts",
                      dynamic));
    }
    return json_pack("{s:i, s:i, s:o}", "CPU", resources->cpu_mhz, "MemoryMB",
                     resources->memory_mb, "Networks", networks);
}

static json_t *task_state_json(const agent_task *task, bool with_events)
{
    json_t *state = json_pack("{s:s, s:b, s:i, s:o, s:o}", "State", task_state_name(task->state),
                              "Failed", task->failed, "Restarts", task->restarts, "StartedAt",
                              rfc3339(task->started_at_ns), "FinishedAt",
                              rfc3339(task->finished_at_ns));
    json_object_set_new(state, "Events", with_events ? json_deep_copy(task->events) : json_array());
    return state;
}

/* The allocation document: Nomad's allocation fields plus "Berth", the
 * runtime facts a restarted agent needs to re-attach. Lock held. */
static json_t *alloc_to_json(const agent_alloc *alloc, bool with_events)
{
    pthread_mutex_lock(&alloc->agent->log_lock);
    int64_t *positions = berth_xcalloc(2 * alloc->task_count + 2, sizeof(int64_t));
    for (size_t i = 0; i < alloc->task_count; i++) {
        positions[2 * i] = alloc->tasks[i].log_position_ns[0];
        positions[2 * i + 1] = alloc->tasks[i].log_position_ns[1];
    }
    pthread_mutex_unlock(&alloc->agent->log_lock);
    json_t *task_states = json_object();
    json_t *task_resources = json_object();
    json_t *private_tasks = json_object();
    for (size_t i = 0; i < alloc->task_count; i++) {
        const agent_task *task = &alloc->tasks[i];
        json_object_set_new(task_states, task->spec->name, task_state_json(task, with_events));
        json_object_set_new(task_resources, task->spec->name, task_resources_json(task));
        json_t *runtime = json_pack(
            "{s:s?, s:s?, s:s?, s:b, s:b, s:o, s:I, s:i, s:[I,I]}", "ContainerID",
            task->container_id, "Image", task->image, "ImageID", task->image_id, "ImageFetched",
            task->image_fetched, "Tty", task->tty, "Ports", ports_to_json(task), "WindowStart",
            (json_int_t)task->window_start_ns, "WindowRestarts", task->window_restarts,
            "LogPositions", (json_int_t)positions[2 * i], (json_int_t)positions[2 * i + 1]);
        json_object_set_new(private_tasks, task->spec->name, runtime);
    }
    free(positions);
    char name[512];
    snprintf(name, sizeof(name), "%s.%s[%d]", alloc->job->name, alloc->group->name, alloc->index);
    return json_pack("{s:s, s:s, s:s, s:I, s:s, s:i, s:s, s:s, s:s, s:I, s:I, s:O, s:o, s:o, "
                     "s:{s:o}}",
                     "ID", alloc->id, "Name", name, "JobID", alloc->job_id, "JobModifyIndex",
                     (json_int_t)alloc->job_modify_index, "TaskGroup", alloc->group->name,
                     "Index", alloc->index, "NodeID", alloc->agent->node.id, "DesiredStatus",
                     alloc->desired_status, "ClientStatus", alloc->client_status, "CreateTime",
                     (json_int_t)alloc->create_time_ns, "ModifyTime",
                     (json_int_t)alloc->modify_time_ns, "Job", alloc->job_doc, "TaskStates",
                     task_states, "TaskResources", task_resources, "Berth", "Tasks",
                     private_tasks);
}

void agent_persist_alloc(agent_alloc *alloc)
{
    berth_agent *agent = alloc->agent;
    pthread_mutex_lock(&agent->lock);
    alloc->modify_time_ns = agent_now_ns();
    json_t *doc = alloc_to_json(alloc, false);
    pthread_mutex_unlock(&agent->lock);
    berth_error err = BERTH_ERROR_INIT;
    if (berth_state_put_alloc(agent->state, alloc->id, alloc->job_id, doc, &err) < 0)
        berth_log(BERTH_LOG_ERROR, "saving the allocation failed", "alloc_id", alloc->id,
                  "error", err.message, NULL);
    json_decref(doc);
}

void agent_task_event(agent_task *task, const char *type, const char *message, int64_t exit_code,
                      bool has_exit_code)
{
    berth_agent *agent = task->alloc->agent;
    json_t *event = json_pack("{s:s, s:I, s:s, s:s}", "Type", type, "Time",
                              (json_int_t)agent_now_ns(), "DisplayMessage", message, "Message",
                              message);
    if (has_exit_code)
        json_object_set_new(event, "ExitCode", json_integer(exit_code));
    pthread_mutex_lock(&agent->lock);
    json_array_append(task->events, event);
    pthread_cond_broadcast(&agent->changed);
    pthread_mutex_unlock(&agent->lock);

    berth_error err = BERTH_ERROR_INIT;
    if (berth_state_add_event(agent->state, task->alloc->id, task->spec->name, event, &err) < 0)
        berth_log(BERTH_LOG_ERROR, "saving a task event failed", "alloc_id", task->alloc->id,
                  "error", err.message, NULL);
    enum berth_log_level level = strcmp(type, "Driver Failure") == 0 ||
                                         strcmp(type, "Not Restarting") == 0 ||
                                         strcmp(type, "Setup Failure") == 0
                                     ? BERTH_LOG_WARN
                                     : BERTH_LOG_INFO;
    berth_log(level, "task event", "alloc_id", task->alloc->id, "task", task->spec->name, "type",
              type, "message", message, NULL);
    json_decref(event);
}

void agent_alloc_update_status(agent_alloc *alloc)
{
    size_t dead = 0, failed = 0, running = 0;
    for (size_t i = 0; i < alloc->task_count; i++) {
        const agent_task *task = &alloc->tasks[i];
        if (task->state == AGENT_TASK_DEAD) {
            dead++;
            failed += task->failed;
        } else if (task->state == AGENT_TASK_RUNNING) {
            running++;
        }
    }
    const char *status = "pending";
    if (dead == alloc->task_count)
        status = failed > 0 ? "failed" : "complete";
    else if (running > 0)
        status = "running";
    if (strcmp(alloc->client_status, status) != 0) {
        free(alloc->client_status);
        alloc->client_status = berth_xstrdup(status);
    }
}

/* --- Allocations ------------------------------------------------------------- */

static agent_alloc *new_alloc(berth_agent *agent, const char *id, const char *job_id,
                              int64_t modify_index, json_t *job_doc, berth_job *job,
                              size_t group_index, int index)
{
    agent_alloc *alloc = berth_xcalloc(1, sizeof(*alloc));
    alloc->agent = agent;
    snprintf(alloc->id, sizeof(alloc->id), "%s", id);
    alloc->job_id = berth_xstrdup(job_id);
    alloc->job_modify_index = modify_index;
    alloc->job_doc = json_incref(job_doc);
    alloc->job = job;
    alloc->group = &job->groups[group_index];
    alloc->index = index;
    alloc->desired_status = berth_xstrdup("run");
    alloc->client_status = berth_xstrdup("pending");
    alloc->create_time_ns = agent_now_ns();
    alloc->modify_time_ns = alloc->create_time_ns;
    alloc->dir = berth_xasprintf("%s/%s", agent->alloc_root, alloc->id);
    alloc->task_count = alloc->group->task_count;
    alloc->tasks = berth_xcalloc(alloc->task_count ? alloc->task_count : 1, sizeof(agent_task));
    for (size_t i = 0; i < alloc->task_count; i++) {
        alloc->tasks[i].alloc = alloc;
        alloc->tasks[i].spec = &alloc->group->tasks[i];
        alloc->tasks[i].events = json_array();
    }
    return alloc;
}

static agent_alloc *find_alloc(berth_agent *agent, const char *id_or_prefix, berth_error *err)
{
    agent_alloc *found = NULL;
    size_t length = strlen(id_or_prefix);
    if (length == 0) {
        berth_error_set(err, BERTH_E_INVALID, "missing allocation id");
        return NULL;
    }
    for (agent_alloc *alloc = agent->allocs; alloc != NULL; alloc = alloc->next) {
        if (strncmp(alloc->id, id_or_prefix, length) != 0)
            continue;
        if (strlen(alloc->id) == length)
            return alloc;
        if (found != NULL) {
            berth_error_set(err, BERTH_E_INVALID,
                            "allocation id prefix \"%s\" matches more than one allocation; "
                            "give more characters",
                            id_or_prefix);
            return NULL;
        }
        found = alloc;
    }
    if (found == NULL)
        berth_error_set(err, BERTH_E_NOT_FOUND, "allocation \"%s\" not found", id_or_prefix);
    return found;
}

static agent_job *find_job(berth_agent *agent, const char *job_id)
{
    for (agent_job *job = agent->jobs; job != NULL; job = job->next) {
        if (strcmp(job->id, job_id) == 0)
            return job;
    }
    return NULL;
}

typedef struct kill_order {
    berth_agent *agent;
    berth_task_handle handle; /* a copy: the task may free its own while this runs */
    char *alloc_id;
    char *task;
} kill_order;

static void *kill_container(void *argument)
{
    kill_order *order = argument;
    berth_error err = BERTH_ERROR_INIT;
    if (berth_driver_stop_task(order->agent->driver, &order->handle, &err) < 0)
        berth_log(BERTH_LOG_ERROR, "stopping the container failed", "alloc_id", order->alloc_id,
                  "task", order->task, "error", err.message, NULL);
    free(order->handle.container_id);
    free(order->handle.container_name);
    free(order->handle.kill_signal);
    free(order->alloc_id);
    free(order->task);
    free(order);
    return NULL;
}

void agent_kill_alloc(agent_alloc *alloc)
{
    berth_agent *agent = alloc->agent;
    if (strcmp(alloc->desired_status, "stop") != 0) {
        free(alloc->desired_status);
        alloc->desired_status = berth_xstrdup("stop");
    }
    for (size_t i = 0; i < alloc->task_count; i++) {
        agent_task *task = &alloc->tasks[i];
        if (task->kill_requested || task->state == AGENT_TASK_DEAD)
            continue;
        task->kill_requested = true;
        if (task->state != AGENT_TASK_RUNNING || task->container_id == NULL)
            continue;
        kill_order *order = berth_xcalloc(1, sizeof(*order));
        order->agent = agent;
        order->handle.container_id = berth_xstrdup(task->container_id);
        order->handle.container_name = berth_xasprintf("%s-%s", task->spec->name, alloc->id);
        order->handle.kill_timeout_ms = task->spec->kill_timeout_ms;
        order->handle.kill_signal =
            task->spec->kill_signal != NULL ? berth_xstrdup(task->spec->kill_signal) : NULL;
        order->alloc_id = berth_xstrdup(alloc->id);
        order->task = berth_xstrdup(task->spec->name);
        pthread_t thread;
        if (pthread_create(&thread, NULL, kill_container, order) == 0)
            pthread_detach(thread);
        else
            kill_container(order);
    }
    pthread_cond_broadcast(&agent->changed);
}

/* --- Jobs -------------------------------------------------------------------- */

/* Checks every task's driver config, as `berth validate` does. */
static int validate_job(berth_agent *agent, const berth_job *job, berth_error *err)
{
    for (size_t g = 0; g < job->group_count; g++) {
        for (size_t t = 0; t < job->groups[g].task_count; t++) {
            const berth_job_task *task = &job->groups[g].tasks[t];
            int rc = berth_task_validate_config(&agent->driver_options, task, err);
            if (rc < 0)
                return berth_error_prefix(err, "group \"%s\" task \"%s\"", job->groups[g].name,
                                          task->name);
        }
    }
    return 0;
}

static int decode_job(const json_t *doc, berth_job **out, berth_error *err)
{
    berth_job_diagnostics diagnostics;
    memset(&diagnostics, 0, sizeof(diagnostics));
    int rc = berth_job_load_json("job", doc, out, &diagnostics, err);
    if (rc < 0 && diagnostics.error_count > 1) {
        /* Every problem, one per line, so an API user sees them all. */
        berth_buf text;
        berth_buf_init(&text, BERTH_ERROR_MESSAGE_MAX - 1);
        for (size_t i = 0; i < diagnostics.error_count; i++)
            if (berth_buf_printf(&text, NULL, "%s%s", i > 0 ? "\n" : "",
                                 diagnostics.errors[i]) < 0)
                break;
        berth_error_set(err, BERTH_E_INVALID, "%s", text.data != NULL ? text.data : "");
        berth_buf_free(&text);
    }
    berth_job_diagnostics_free(&diagnostics);
    return rc;
}

/* Fields the agent adds to a registered job document. */
static const char *const agent_job_fields[] = {"JobModifyIndex", "ModifyIndex", "Stop",
                                               "SubmitTime", "Status", NULL};

/* Reports whether a submitted job equals the registered document, apart
 * from the fields the agent adds. */
static bool same_job(const json_t *registered, const json_t *submitted)
{
    json_t *left = json_deep_copy(registered);
    json_t *right = json_deep_copy(submitted);
    for (size_t i = 0; agent_job_fields[i] != NULL; i++) {
        json_object_del(left, agent_job_fields[i]);
        json_object_del(right, agent_job_fields[i]);
    }
    bool same = json_equal(left, right);
    json_decref(left);
    json_decref(right);
    return same;
}

/* A job runs on this node only when one of its datacenters (a glob
 * pattern, as Nomad allows: "dc*", "*") matches the node's and the job is
 * in the node's region, as Nomad's scheduler requires. */
static int check_placement(berth_agent *agent, const berth_job *job, berth_error *err)
{
    if (job->region != NULL && strcmp(job->region, agent->node.region) != 0)
        return berth_error_set(err, BERTH_E_INVALID,
                               "job \"%s\" is in region \"%s\"; this agent is in region \"%s\"",
                               job->id, job->region, agent->node.region);
    bool listed = job->datacenter_count == 0;
    for (size_t i = 0; i < job->datacenter_count; i++)
        listed |= fnmatch(job->datacenters[i], agent->node.datacenter, 0) == 0;
    if (!listed)
        return berth_error_set(err, BERTH_E_INVALID,
                               "job \"%s\" does not list this agent's datacenter \"%s\" in its "
                               "datacenters",
                               job->id, agent->node.datacenter);
    return 0;
}

int berth_agent_register_job(berth_agent *agent, const json_t *job, json_t **reply,
                             berth_error *err)
{
    if (!json_is_object(job))
        return berth_error_set(err, BERTH_E_INVALID, "the job must be a JSON object");
    const json_t *inner = json_object_get(job, "Job");
    if (json_is_object(inner))
        job = inner;
    berth_job *decoded = NULL;
    if (decode_job(job, &decoded, err) < 0)
        return -1;
    if (validate_job(agent, decoded, err) < 0 || check_placement(agent, decoded, err) < 0) {
        berth_job_free(decoded);
        err->code = BERTH_E_INVALID;
        return -1;
    }

    /* Registering the same job again changes nothing, as in Nomad: the
     * running allocations stay. */
    pthread_mutex_lock(&agent->lock);
    agent_job *existing = find_job(agent, decoded->id);
    if (existing != NULL && !existing->stopped && same_job(existing->doc, job)) {
        int64_t unchanged_index = existing->modify_index;
        pthread_mutex_unlock(&agent->lock);
        berth_job_free(decoded);
        char eval_id[37];
        berth_uuid_v4(eval_id);
        *reply = json_pack("{s:s, s:I, s:s, s:I, s:b}", "EvalID", eval_id, "JobModifyIndex",
                           (json_int_t)unchanged_index, "Warnings", "", "Index",
                           (json_int_t)unchanged_index, "JobUnchanged", 1);
        return 0;
    }
    pthread_mutex_unlock(&agent->lock);
    int64_t index = 0;
    if (berth_state_next_index(agent->state, &index, err) < 0) {
        berth_job_free(decoded);
        return -1;
    }
    json_t *doc = json_deep_copy(job);
    json_object_set_new(doc, "ID", json_string(decoded->id));
    json_object_set_new(doc, "JobModifyIndex", json_integer(index));
    json_object_set_new(doc, "ModifyIndex", json_integer(index));
    json_object_set_new(doc, "Stop", json_false());
    int64_t submit_time = agent_now_ns();
    json_object_set_new(doc, "SubmitTime", json_integer(submit_time));

    pthread_mutex_lock(&agent->lock);
    agent_job *entry = find_job(agent, decoded->id);
    if (entry == NULL) {
        entry = berth_xcalloc(1, sizeof(*entry));
        entry->id = berth_xstrdup(decoded->id);
        entry->next = agent->jobs;
        agent->jobs = entry;
    } else {
        json_decref(entry->doc);
        /* An update replaces the job's allocations, as a destructive
         * update in Nomad does. */
        for (agent_alloc *alloc = agent->allocs; alloc != NULL; alloc = alloc->next) {
            if (strcmp(alloc->job_id, entry->id) == 0)
                agent_kill_alloc(alloc);
        }
    }
    entry->doc = doc;
    entry->modify_index = index;
    entry->submit_time_ns = submit_time;
    entry->stopped = false;

    size_t created_count = 0;
    /* Every allocation gets its own decoded copy of the job, so an
     * allocation never points into a job that a later update replaced. */
    for (size_t g = 0; g < decoded->group_count; g++) {
        for (int copy = 0; copy < decoded->groups[g].count; copy++) {
            berth_job *own = NULL;
            berth_error decode_err = BERTH_ERROR_INIT;
            if (decode_job(doc, &own, &decode_err) < 0)
                continue;
            char id[37];
            berth_uuid_v4(id);
            agent_alloc *alloc = new_alloc(agent, id, entry->id, index, doc, own, g, copy);
            alloc->next = agent->allocs;
            agent->allocs = alloc;
            created_count++;
        }
    }
    pthread_mutex_unlock(&agent->lock);
    berth_job_free(decoded);

    berth_error state_err = BERTH_ERROR_INIT;
    if (berth_state_put_job(agent->state, entry->id, doc, &state_err) < 0)
        berth_log(BERTH_LOG_ERROR, "saving the job failed", "job_id", entry->id, "error",
                  state_err.message, NULL);
    berth_log(BERTH_LOG_INFO, "job registered", "job_id", entry->id, NULL);

    /* Start the new allocations: those at the head of the list with this
     * modify index. */
    pthread_mutex_lock(&agent->lock);
    agent_alloc *alloc = agent->allocs;
    pthread_mutex_unlock(&agent->lock);
    for (size_t i = 0; i < created_count && alloc != NULL; i++, alloc = alloc->next) {
        agent_persist_alloc(alloc);
        for (size_t t = 0; t < alloc->task_count; t++) {
            agent_task_event(&alloc->tasks[t], "Received", "Task received by client", 0, false);
            berth_error thread_err = BERTH_ERROR_INIT;
            if (agent_task_start_thread(&alloc->tasks[t], &thread_err) < 0)
                berth_log(BERTH_LOG_ERROR, "starting a task runner failed", "alloc_id",
                          alloc->id, "error", thread_err.message, NULL);
        }
    }

    char eval_id[37];
    berth_uuid_v4(eval_id);
    *reply = json_pack("{s:s, s:I, s:s, s:I}", "EvalID", eval_id, "JobModifyIndex",
                       (json_int_t)index, "Warnings", "", "Index", (json_int_t)index);
    return 0;
}

static const char *job_status(berth_agent *agent, const agent_job *job)
{
    if (job->stopped)
        return "dead";
    bool any = false, live = false, pending = false;
    for (agent_alloc *alloc = agent->allocs; alloc != NULL; alloc = alloc->next) {
        if (strcmp(alloc->job_id, job->id) != 0 || alloc->job_modify_index != job->modify_index)
            continue;
        any = true;
        if (strcmp(alloc->client_status, "running") == 0)
            live = true;
        else if (strcmp(alloc->client_status, "pending") == 0)
            pending = true;
    }
    if (live)
        return "running";
    if (pending || !any)
        return "pending";
    return "dead";
}

int berth_agent_list_jobs(berth_agent *agent, json_t **reply, berth_error *err)
{
    (void)err;
    json_t *list = json_array();
    pthread_mutex_lock(&agent->lock);
    for (agent_job *job = agent->jobs; job != NULL; job = job->next) {
        json_t *name = json_object_get(job->doc, "Name");
        json_t *type = json_object_get(job->doc, "Type");
        json_t *priority = json_object_get(job->doc, "Priority");
        json_array_append_new(
            list, json_pack("{s:s, s:O, s:O, s:O, s:s, s:b, s:I, s:I}", "ID", job->id, "Name",
                            name != NULL ? name : json_string(job->id), "Type",
                            type != NULL ? type : json_string("service"), "Priority",
                            priority != NULL ? priority : json_integer(50), "Status",
                            job_status(agent, job), "Stop", job->stopped, "JobModifyIndex",
                            (json_int_t)job->modify_index, "SubmitTime",
                            (json_int_t)job->submit_time_ns));
    }
    pthread_mutex_unlock(&agent->lock);
    *reply = list;
    return 0;
}

int berth_agent_get_job(berth_agent *agent, const char *job_id, json_t **reply, berth_error *err)
{
    pthread_mutex_lock(&agent->lock);
    agent_job *job = find_job(agent, job_id);
    if (job == NULL) {
        pthread_mutex_unlock(&agent->lock);
        return berth_error_set(err, BERTH_E_NOT_FOUND, "job \"%s\" not found", job_id);
    }
    json_t *doc = json_deep_copy(job->doc);
    json_object_set_new(doc, "Status", json_string(job_status(agent, job)));
    json_object_set_new(doc, "Stop", json_boolean(job->stopped));
    pthread_mutex_unlock(&agent->lock);
    *reply = doc;
    return 0;
}

int berth_agent_stop_job(berth_agent *agent, const char *job_id, json_t **reply, berth_error *err)
{
    int64_t index = 0;
    if (berth_state_next_index(agent->state, &index, err) < 0)
        return -1;
    pthread_mutex_lock(&agent->lock);
    agent_job *job = find_job(agent, job_id);
    if (job == NULL) {
        pthread_mutex_unlock(&agent->lock);
        return berth_error_set(err, BERTH_E_NOT_FOUND, "job \"%s\" not found", job_id);
    }
    job->stopped = true;
    json_object_set_new(job->doc, "Stop", json_true());
    for (agent_alloc *alloc = agent->allocs; alloc != NULL; alloc = alloc->next) {
        if (strcmp(alloc->job_id, job_id) == 0)
            agent_kill_alloc(alloc);
    }
    json_t *doc = json_incref(job->doc);
    pthread_mutex_unlock(&agent->lock);
    berth_error state_err = BERTH_ERROR_INIT;
    if (berth_state_put_job(agent->state, job_id, doc, &state_err) < 0)
        berth_log(BERTH_LOG_ERROR, "saving the job failed", "job_id", job_id, "error",
                  state_err.message, NULL);
    json_decref(doc);
    pthread_mutex_lock(&agent->lock);
    for (agent_alloc *alloc = agent->allocs; alloc != NULL; alloc = alloc->next) {
        if (strcmp(alloc->job_id, job_id) == 0) {
            pthread_mutex_unlock(&agent->lock);
            agent_persist_alloc(alloc);
            pthread_mutex_lock(&agent->lock);
        }
    }
    pthread_mutex_unlock(&agent->lock);
    berth_log(BERTH_LOG_INFO, "job stopped", "job_id", job_id, NULL);
    char eval_id[37];
    berth_uuid_v4(eval_id);
    *reply = json_pack("{s:s, s:I}", "EvalID", eval_id, "JobModifyIndex", (json_int_t)index);
    return 0;
}

static json_t *alloc_stub(const agent_alloc *alloc)
{
    json_t *full = alloc_to_json(alloc, true);
    json_object_del(full, "Job");
    json_object_del(full, "Berth");
    return full;
}

int berth_agent_job_allocations(berth_agent *agent, const char *job_id, json_t **reply,
                                berth_error *err)
{
    pthread_mutex_lock(&agent->lock);
    if (find_job(agent, job_id) == NULL) {
        pthread_mutex_unlock(&agent->lock);
        return berth_error_set(err, BERTH_E_NOT_FOUND, "job \"%s\" not found", job_id);
    }
    json_t *list = json_array();
    for (agent_alloc *alloc = agent->allocs; alloc != NULL; alloc = alloc->next) {
        if (strcmp(alloc->job_id, job_id) == 0)
            json_array_append_new(list, alloc_stub(alloc));
    }
    pthread_mutex_unlock(&agent->lock);
    *reply = list;
    return 0;
}

int berth_agent_get_allocation(berth_agent *agent, const char *alloc_id, json_t **reply,
                               berth_error *err)
{
    pthread_mutex_lock(&agent->lock);
    agent_alloc *alloc = find_alloc(agent, alloc_id, err);
    if (alloc == NULL) {
        pthread_mutex_unlock(&agent->lock);
        return -1;
    }
    json_t *doc = alloc_to_json(alloc, true);
    json_object_del(doc, "Berth");
    pthread_mutex_unlock(&agent->lock);
    *reply = doc;
    return 0;
}

/* --- Stats ----------------------------------------------------------------------- */

static json_int_t stat_integer(const json_t *object, const char *path)
{
    char copy[256];
    snprintf(copy, sizeof(copy), "%s", path);
    const json_t *value = object;
    for (char *part = strtok(copy, "."); part != NULL && value != NULL; part = strtok(NULL, "."))
        value = json_object_get(value, part);
    return json_is_integer(value) ? json_integer_value(value) : 0;
}

/* Turns one engine stats reply into Nomad's ResourceUsage. A counter that
 * went backwards (a restarted cgroup) gives 0 rather than a huge value. */
static json_t *resource_usage(const json_t *stats, long cores)
{
    json_int_t cpu_total = stat_integer(stats, "cpu_stats.cpu_usage.total_usage");
    json_int_t cpu_before = stat_integer(stats, "precpu_stats.cpu_usage.total_usage");
    json_int_t system_total = stat_integer(stats, "cpu_stats.system_cpu_usage");
    json_int_t system_before = stat_integer(stats, "precpu_stats.system_cpu_usage");
    json_int_t kernel = stat_integer(stats, "cpu_stats.cpu_usage.usage_in_kernelmode");
    json_int_t kernel_before = stat_integer(stats, "precpu_stats.cpu_usage.usage_in_kernelmode");
    json_int_t user = stat_integer(stats, "cpu_stats.cpu_usage.usage_in_usermode");
    json_int_t user_before = stat_integer(stats, "precpu_stats.cpu_usage.usage_in_usermode");
    json_int_t online = stat_integer(stats, "cpu_stats.online_cpus");
    if (online > 0)
        cores = (long)online;
    double cpu_delta = (double)(cpu_total - cpu_before);
    double system_delta = (double)(system_total - system_before);
    double percent = 0, system_mode = 0, user_mode = 0;
    if (cpu_delta > 0 && system_delta > 0) {
        percent = cpu_delta / system_delta * (double)cores * 100.0;
        if (kernel - kernel_before > 0)
            system_mode = (double)(kernel - kernel_before) / cpu_delta * percent;
        if (user - user_before > 0)
            user_mode = (double)(user - user_before) / cpu_delta * percent;
    }

    json_int_t usage = stat_integer(stats, "memory_stats.usage");
    json_int_t rss = stat_integer(stats, "memory_stats.stats.rss");
    bool cgroup_v2 = false;
    if (rss == 0 && stat_integer(stats, "memory_stats.stats.anon") > 0) {
        rss = stat_integer(stats, "memory_stats.stats.anon");
        cgroup_v2 = true;
    }
    json_int_t cache = stat_integer(stats, "memory_stats.stats.cache");
    if (cache == 0)
        cache = stat_integer(stats, "memory_stats.stats.file");
    json_t *measured = json_pack("[s,s,s,s]", "RSS", "Cache", "Swap", "Usage");
    if (!cgroup_v2)
        json_array_append_new(measured, json_string("Max Usage"));
    return json_pack(
        "{s:{s:f, s:f, s:f, s:I, s:I, s:f, s:[s,s,s]}, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:o}}",
        "CpuStats", "Percent", percent, "SystemMode", system_mode, "UserMode", user_mode,
        "ThrottledPeriods", stat_integer(stats, "cpu_stats.throttling_data.throttled_periods"),
        "ThrottledTime", stat_integer(stats, "cpu_stats.throttling_data.throttled_time"),
        "TotalTicks", 0.0, "Measured", "Throttled Periods", "Throttled Time", "Percent",
        "MemoryStats", "RSS", rss, "Cache", cache, "Swap",
        stat_integer(stats, "memory_stats.stats.swap"), "Usage", usage, "MaxUsage",
        stat_integer(stats, "memory_stats.max_usage"), "MappedFile",
        stat_integer(stats, "memory_stats.stats.mapped_file"), "Measured", measured);
}

int berth_agent_allocation_stats(berth_agent *agent, const char *alloc_id, json_t **reply,
                                 berth_error *err)
{
    pthread_mutex_lock(&agent->lock);
    agent_alloc *alloc = find_alloc(agent, alloc_id, err);
    if (alloc == NULL) {
        pthread_mutex_unlock(&agent->lock);
        return -1;
    }
    size_t count = alloc->task_count;
    char **names = berth_xcalloc(count + 1, sizeof(char *));
    char **containers = berth_xcalloc(count + 1, sizeof(char *));
    for (size_t i = 0; i < count; i++) {
        names[i] = berth_xstrdup(alloc->tasks[i].spec->name);
        if (alloc->tasks[i].state == AGENT_TASK_RUNNING && alloc->tasks[i].container_id != NULL)
            containers[i] = berth_xstrdup(alloc->tasks[i].container_id);
    }
    pthread_mutex_unlock(&agent->lock);

    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    json_t *tasks = json_object();
    double cpu_sum = 0;
    json_int_t rss_sum = 0;
    json_int_t usage_sum = 0;
    for (size_t i = 0; i < count; i++) {
        if (containers[i] == NULL)
            continue;
        berth_autofree char *path = berth_xasprintf("/containers/%s/stats", containers[i]);
        json_t *stats = NULL;
        berth_error stats_err = BERTH_ERROR_INIT;
        if (berth_docker_request(agent->docker, "GET", path, "stream=0", NULL, NULL, &stats,
                                 &stats_err) < 0) {
            berth_log(BERTH_LOG_WARN, "reading container stats failed", "alloc_id", alloc_id,
                      "task", names[i], "error", stats_err.message, NULL);
            continue;
        }
        json_t *usage = resource_usage(stats, cores > 0 ? cores : 1);
        json_decref(stats);
        cpu_sum += json_real_value(json_object_get(json_object_get(usage, "CpuStats"), "Percent"));
        rss_sum += json_integer_value(json_object_get(json_object_get(usage, "MemoryStats"), "RSS"));
        usage_sum +=
            json_integer_value(json_object_get(json_object_get(usage, "MemoryStats"), "Usage"));
        json_object_set_new(tasks, names[i],
                            json_pack("{s:o, s:I, s:n}", "ResourceUsage", usage, "Timestamp",
                                      (json_int_t)agent_now_ns(), "Pids"));
    }
    for (size_t i = 0; i < count; i++) {
        free(names[i]);
        free(containers[i]);
    }
    free(names);
    free(containers);
    *reply = json_pack("{s:{s:{s:f}, s:{s:I, s:I}}, s:o, s:I}", "ResourceUsage", "CpuStats",
                       "Percent", cpu_sum, "MemoryStats", "RSS", rss_sum, "Usage", usage_sum,
                       "Tasks", tasks, "Timestamp", (json_int_t)agent_now_ns());
    return 0;
}

/* --- Logs ------------------------------------------------------------------------ */

int berth_agent_log_files(berth_agent *agent, const char *alloc_id, const char *task,
                          const char *stream, char ***paths, size_t *count, berth_error *err)
{
    if (strcmp(stream, "stdout") != 0 && strcmp(stream, "stderr") != 0)
        return berth_error_set(err, BERTH_E_INVALID,
                               "invalid log type \"%s\"; use stdout or stderr", stream);
    pthread_mutex_lock(&agent->lock);
    agent_alloc *alloc = find_alloc(agent, alloc_id, err);
    bool task_found = false;
    berth_autofree char *dir = NULL;
    if (alloc != NULL) {
        for (size_t i = 0; i < alloc->task_count; i++)
            task_found |= strcmp(alloc->tasks[i].spec->name, task) == 0;
        dir = berth_xasprintf("%s/alloc/logs", alloc->dir);
    }
    pthread_mutex_unlock(&agent->lock);
    if (alloc == NULL)
        return -1;
    if (!task_found)
        return berth_error_set(err, BERTH_E_NOT_FOUND, "task \"%s\" not found in allocation %s",
                               task, alloc_id);
    if (berth_log_files_list(dir, task, stream, paths, count, err) < 0) {
        if (err->code != BERTH_E_NOT_FOUND)
            return -1;
        *paths = berth_xcalloc(1, sizeof(char *));
        *count = 0;
    }
    return 0;
}

bool berth_agent_task_running(berth_agent *agent, const char *alloc_id, const char *task)
{
    pthread_mutex_lock(&agent->lock);
    berth_error err = BERTH_ERROR_INIT;
    agent_alloc *alloc = find_alloc(agent, alloc_id, &err);
    bool running = false;
    for (size_t i = 0; alloc != NULL && i < alloc->task_count; i++) {
        if (strcmp(alloc->tasks[i].spec->name, task) == 0)
            running = alloc->tasks[i].state != AGENT_TASK_DEAD;
    }
    pthread_mutex_unlock(&agent->lock);
    return running;
}

/* --- Node ------------------------------------------------------------------------ */

static json_t *node_attributes(berth_agent *agent)
{
    json_t *attributes = berth_value_to_json(agent->node.attributes);
    if (agent->driver_attributes != NULL && agent->engine_healthy) {
        json_t *driver = berth_value_to_json(agent->driver_attributes);
        json_object_update(attributes, driver);
        json_decref(driver);
    }
    return attributes;
}

static json_t *driver_info(berth_agent *agent)
{
    json_t *attributes = agent->driver_attributes != NULL
                             ? berth_value_to_json(agent->driver_attributes)
                             : json_object();
    return json_pack("{s:{s:b, s:b, s:s, s:o}}", "docker", "Detected",
                     agent->driver_attributes != NULL, "Healthy", agent->engine_healthy,
                     "HealthDescription", agent->health_description, "Attributes", attributes);
}

int berth_agent_self(berth_agent *agent, json_t **reply, berth_error *err)
{
    (void)err;
    pthread_mutex_lock(&agent->lock);
    *reply = json_pack(
        "{s:{s:s, s:s, s:s, s:{s:b, s:o}, s:s}, s:{s:{s:s, s:o, s:o}}, s:{s:s, s:s}}", "config",
        "Datacenter", agent->node.datacenter, "Region", agent->node.region, "NodeName",
        agent->node.name, "Client", "Enabled", 1, "Meta", berth_value_to_json(agent->node.meta),
        "DataDir", agent->data_dir, "stats", "client", "node_id", agent->node.id, "attributes",
        node_attributes(agent), "drivers", driver_info(agent), "member", "Name", agent->node.name,
        "Status", "alive");
    pthread_mutex_unlock(&agent->lock);
    return 0;
}

int berth_agent_nodes(berth_agent *agent, json_t **reply, berth_error *err)
{
    (void)err;
    pthread_mutex_lock(&agent->lock);
    *reply = json_pack("[{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o}]", "ID", agent->node.id,
                       "Name", agent->node.name, "Datacenter", agent->node.datacenter, "Region",
                       agent->node.region, "Status", "ready", "SchedulingEligibility",
                       "eligible", "Drivers", driver_info(agent), "Attributes",
                       node_attributes(agent), "Meta", berth_value_to_json(agent->node.meta));
    pthread_mutex_unlock(&agent->lock);
    return 0;
}
