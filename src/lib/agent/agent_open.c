/* Opening and closing the agent: state recovery, re-attaching to running
 * containers, and the monitor thread (engine health and the reaper of
 * orphaned containers). */
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent_internal.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/util.h"

#define MONITOR_PERIOD_MS 5000
#define REAP_EVERY_TICKS 6
#define DEFAULT_ORPHAN_GRACE_MS (5 * 60 * 1000)

static int make_dir(const char *path, berth_error *err)
{
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        return berth_error_set_errno(err, errno, "create folder %s", path);
    return 0;
}

/* The node id is generated once and stored in data_dir, so the reaper can
 * distinguish this agent's containers from another agent's on the host. */
static char *load_node_id(const char *data_dir)
{
    berth_autofree char *path = berth_xasprintf("%s/node-id", data_dir);
    berth_autofree char *text = NULL;
    if (berth_read_file(path, 64, &text, NULL, NULL) == 0) {
        text[strcspn(text, " \r\n")] = '\0';
        if (strlen(text) == 36)
            return berth_xstrdup(text);
    }
    char id[37];
    berth_uuid_v4(id);
    FILE *file = fopen(path, "w");
    if (file != NULL) {
        fprintf(file, "%s\n", id);
        fclose(file);
    }
    return berth_xstrdup(id);
}

/* --- Health and reaping ------------------------------------------------------- */

static void check_engine(berth_agent *agent)
{
    berth_value *attributes = NULL;
    berth_error err = BERTH_ERROR_INIT;
    int rc = berth_driver_fingerprint(agent->driver, &attributes, &err);
    pthread_mutex_lock(&agent->lock);
    bool was_healthy = agent->engine_healthy;
    if (rc == 0) {
        berth_value_free(agent->driver_attributes);
        agent->driver_attributes = attributes;
        agent->engine_healthy = true;
        snprintf(agent->health_description, sizeof(agent->health_description), "Healthy");
    } else {
        agent->engine_healthy = false;
        snprintf(agent->health_description, sizeof(agent->health_description),
                 "Failed to connect to the Docker Engine: %s", err.message);
    }
    pthread_mutex_unlock(&agent->lock);
    if (rc == 0 && !was_healthy)
        berth_log(BERTH_LOG_INFO, "docker driver healthy", "endpoint",
                  berth_docker_endpoint(agent->docker), NULL);
    else if (rc < 0 && was_healthy)
        berth_log(BERTH_LOG_WARN, "docker driver unhealthy", "error", err.message, NULL);
}

static bool container_owned(berth_agent *agent, const char *id)
{
    for (agent_alloc *alloc = agent->allocs; alloc != NULL; alloc = alloc->next) {
        for (size_t i = 0; i < alloc->task_count; i++) {
            const agent_task *task = &alloc->tasks[i];
            if (task->container_id != NULL && strcmp(task->container_id, id) == 0 &&
                task->state != AGENT_TASK_DEAD)
                return true;
        }
    }
    return false;
}

/* Removes containers carrying this agent's label that no live task owns
 * and that are older than the grace period. Containers without the label
 * are never touched. */
static void reap_orphans(berth_agent *agent)
{
    berth_autofree char *filters =
        berth_xasprintf("{\"label\":[\"berth.agent=%s\"]}", agent->node.id);
    json_t *list = NULL;
    berth_error err = BERTH_ERROR_INIT;
    if (berth_docker_container_list(agent->docker, filters, &list, &err) < 0)
        return;
    int64_t now_s = time(NULL);
    size_t index;
    json_t *container;
    json_array_foreach(list, index, container)
    {
        const char *id = json_string_value(json_object_get(container, "Id"));
        json_int_t created = json_integer_value(json_object_get(container, "Created"));
        if (id == NULL || (now_s - created) * 1000 < agent->orphan_grace_ms)
            continue;
        pthread_mutex_lock(&agent->lock);
        bool owned = container_owned(agent, id);
        pthread_mutex_unlock(&agent->lock);
        if (owned)
            continue;
        berth_error remove_err = BERTH_ERROR_INIT;
        if (berth_docker_container_remove(agent->docker, id, &remove_err) < 0)
            berth_log(BERTH_LOG_WARN, "removing an orphaned container failed", "container_id", id,
                      "error", remove_err.message, NULL);
        else
            berth_log(BERTH_LOG_INFO, "removed an orphaned container", "container_id", id, NULL);
    }
    json_decref(list);
}

static void *monitor(void *argument)
{
    berth_agent *agent = argument;
    for (int tick = 1;; tick++) {
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += MONITOR_PERIOD_MS / 1000;
        pthread_mutex_lock(&agent->lock);
        while (!agent->stopping) {
            if (pthread_cond_timedwait(&agent->changed, &agent->lock, &deadline) == ETIMEDOUT)
                break;
        }
        bool stopping = agent->stopping;
        pthread_mutex_unlock(&agent->lock);
        if (stopping)
            return NULL;
        check_engine(agent);
        /* Sweep every 30 s, or at every tick when the grace period is
         * shorter than that. */
        bool reap_now = tick % REAP_EVERY_TICKS == 0 ||
                        agent->orphan_grace_ms < REAP_EVERY_TICKS * MONITOR_PERIOD_MS;
        if (reap_now && agent->engine_healthy)
            reap_orphans(agent);
    }
}

/* --- Recovery ------------------------------------------------------------------ */

static agent_task_state parse_task_state(const char *text)
{
    if (text != NULL && strcmp(text, "running") == 0)
        return AGENT_TASK_RUNNING;
    if (text != NULL && strcmp(text, "dead") == 0)
        return AGENT_TASK_DEAD;
    return AGENT_TASK_PENDING;
}

static char *copy_string(const json_t *object, const char *key)
{
    const char *text = json_string_value(json_object_get(object, key));
    return text != NULL ? berth_xstrdup(text) : NULL;
}

/* Reads a saved RFC 3339 time; Nomad's zero time and bad text give 0. */
static int64_t parse_rfc3339(const char *text)
{
    int64_t ns = 0;
    if (text == NULL || strncmp(text, "0001-", 5) == 0 ||
        !berth_parse_rfc3339_ns(text, strlen(text), &ns))
        return 0;
    return ns;
}

static void restore_task(agent_task *task, const json_t *state, const json_t *runtime)
{
    task->state = parse_task_state(json_string_value(json_object_get(state, "State")));
    task->failed = json_is_true(json_object_get(state, "Failed"));
    task->restarts = (int)json_integer_value(json_object_get(state, "Restarts"));
    task->started_at_ns = parse_rfc3339(json_string_value(json_object_get(state, "StartedAt")));
    task->finished_at_ns = parse_rfc3339(json_string_value(json_object_get(state, "FinishedAt")));
    task->container_id = copy_string(runtime, "ContainerID");
    task->image = copy_string(runtime, "Image");
    task->image_id = copy_string(runtime, "ImageID");
    task->image_fetched = json_is_true(json_object_get(runtime, "ImageFetched"));
    task->tty = json_is_true(json_object_get(runtime, "Tty"));
    task->window_start_ns = json_integer_value(json_object_get(runtime, "WindowStart"));
    task->window_restarts = (int)json_integer_value(json_object_get(runtime, "WindowRestarts"));
    const json_t *positions = json_object_get(runtime, "LogPositions");
    task->log_position_ns[0] = json_integer_value(json_array_get(positions, 0));
    task->log_position_ns[1] = json_integer_value(json_array_get(positions, 1));
    const json_t *ports = json_object_get(runtime, "Ports");
    size_t count = json_array_size(ports);
    task->ports = berth_xcalloc(count + 1, sizeof(*task->ports));
    for (size_t i = 0; i < count; i++) {
        const json_t *port = json_array_get(ports, i);
        task->ports[i].label = copy_string(port, "Label");
        task->ports[i].host_ip = copy_string(port, "HostIP");
        task->ports[i].host_port = (int)json_integer_value(json_object_get(port, "Value"));
        if (task->ports[i].label == NULL)
            task->ports[i].label = berth_xstrdup("");
        if (task->ports[i].host_ip == NULL)
            task->ports[i].host_ip = berth_xstrdup("127.0.0.1");
    }
    task->port_count = count;
}

static agent_alloc *restore_alloc(berth_agent *agent, const json_t *doc)
{
    const char *id = json_string_value(json_object_get(doc, "ID"));
    const char *job_id = json_string_value(json_object_get(doc, "JobID"));
    const char *group_name = json_string_value(json_object_get(doc, "TaskGroup"));
    json_t *job_doc = json_object_get(doc, "Job");
    if (id == NULL || job_id == NULL || group_name == NULL || job_doc == NULL)
        return NULL;
    berth_job *job = NULL;
    berth_job_diagnostics diagnostics;
    memset(&diagnostics, 0, sizeof(diagnostics));
    berth_error err = BERTH_ERROR_INIT;
    if (berth_job_load_json("saved job", job_doc, &job, &diagnostics, &err) < 0) {
        berth_job_diagnostics_free(&diagnostics);
        berth_log(BERTH_LOG_ERROR, "a saved allocation's job no longer decodes", "alloc_id", id,
                  "error", err.message, NULL);
        return NULL;
    }
    berth_job_diagnostics_free(&diagnostics);
    size_t group_index = job->group_count;
    for (size_t g = 0; g < job->group_count; g++) {
        if (strcmp(job->groups[g].name, group_name) == 0)
            group_index = g;
    }
    if (group_index == job->group_count) {
        berth_job_free(job);
        return NULL;
    }

    agent_alloc *alloc = berth_xcalloc(1, sizeof(*alloc));
    alloc->agent = agent;
    snprintf(alloc->id, sizeof(alloc->id), "%s", id);
    alloc->job_id = berth_xstrdup(job_id);
    alloc->job_modify_index = json_integer_value(json_object_get(doc, "JobModifyIndex"));
    alloc->job_doc = json_incref(job_doc);
    alloc->job = job;
    alloc->group = &job->groups[group_index];
    alloc->index = (int)json_integer_value(json_object_get(doc, "Index"));
    alloc->desired_status = copy_string(doc, "DesiredStatus");
    alloc->client_status = copy_string(doc, "ClientStatus");
    if (alloc->desired_status == NULL)
        alloc->desired_status = berth_xstrdup("run");
    if (alloc->client_status == NULL)
        alloc->client_status = berth_xstrdup("pending");
    alloc->create_time_ns = json_integer_value(json_object_get(doc, "CreateTime"));
    alloc->modify_time_ns = json_integer_value(json_object_get(doc, "ModifyTime"));
    alloc->dir = berth_xasprintf("%s/%s", agent->alloc_root, alloc->id);
    alloc->task_count = alloc->group->task_count;
    alloc->tasks = berth_xcalloc(alloc->task_count ? alloc->task_count : 1, sizeof(agent_task));
    const json_t *states = json_object_get(doc, "TaskStates");
    const json_t *runtimes = json_object_get(json_object_get(doc, "Berth"), "Tasks");
    for (size_t i = 0; i < alloc->task_count; i++) {
        agent_task *task = &alloc->tasks[i];
        task->alloc = alloc;
        task->spec = &alloc->group->tasks[i];
        task->events = json_array();
        restore_task(task, json_object_get(states, task->spec->name),
                     json_object_get(runtimes, task->spec->name));
    }
    return alloc;
}

static int restore_state(berth_agent *agent, berth_error *err)
{
    json_t *snapshot = NULL;
    if (berth_state_load(agent->state, &snapshot, err) < 0)
        return -1;
    size_t index;
    json_t *doc;
    json_array_foreach(json_object_get(snapshot, "jobs"), index, doc)
    {
        const char *id = json_string_value(json_object_get(doc, "ID"));
        if (id == NULL)
            continue;
        agent_job *job = berth_xcalloc(1, sizeof(*job));
        job->id = berth_xstrdup(id);
        job->doc = json_incref(doc);
        job->modify_index = json_integer_value(json_object_get(doc, "JobModifyIndex"));
        job->stopped = json_is_true(json_object_get(doc, "Stop"));
        job->submit_time_ns = json_integer_value(json_object_get(doc, "SubmitTime"));
        job->next = agent->jobs;
        agent->jobs = job;
    }
    /* Allocations are restored in the order they were saved; prepending
     * keeps the newest first, as registration does. */
    json_array_foreach(json_object_get(snapshot, "allocs"), index, doc)
    {
        agent_alloc *alloc = restore_alloc(agent, doc);
        if (alloc == NULL)
            continue;
        alloc->next = agent->allocs;
        agent->allocs = alloc;
    }
    json_t *row;
    json_array_foreach(json_object_get(snapshot, "events"), index, row)
    {
        const char *alloc_id = json_string_value(json_object_get(row, "alloc_id"));
        const char *task_name = json_string_value(json_object_get(row, "task"));
        for (agent_alloc *alloc = agent->allocs; alloc != NULL; alloc = alloc->next) {
            if (alloc_id == NULL || strcmp(alloc->id, alloc_id) != 0)
                continue;
            for (size_t i = 0; i < alloc->task_count; i++) {
                if (task_name != NULL && strcmp(alloc->tasks[i].spec->name, task_name) == 0)
                    json_array_append(alloc->tasks[i].events, json_object_get(row, "event"));
            }
        }
    }
    json_decref(snapshot);
    return 0;
}

/* Starts a runner for every task that was not finished when the last agent
 * stopped; those with a container re-attach to it. */
static void resume_tasks(berth_agent *agent)
{
    size_t resumed = 0;
    for (agent_alloc *alloc = agent->allocs; alloc != NULL; alloc = alloc->next) {
        bool stop = strcmp(alloc->desired_status, "stop") == 0;
        for (size_t i = 0; i < alloc->task_count; i++) {
            agent_task *task = &alloc->tasks[i];
            if (task->state == AGENT_TASK_DEAD)
                continue;
            if (stop && task->container_id == NULL) {
                task->state = AGENT_TASK_DEAD;
                continue;
            }
            task->recover = task->container_id != NULL;
            berth_error err = BERTH_ERROR_INIT;
            if (agent_task_start_thread(task, &err) < 0) {
                berth_log(BERTH_LOG_ERROR, "resuming a task failed", "alloc_id", alloc->id,
                          "task", task->spec->name, "error", err.message, NULL);
                continue;
            }
            resumed++;
        }
        if (stop) {
            /* The last agent was stopping this allocation when it exited:
             * finish the job, sending the stop again to containers that
             * may still run. */
            pthread_mutex_lock(&agent->lock);
            agent_kill_alloc(alloc);
            pthread_mutex_unlock(&agent->lock);
        }
    }
    if (resumed > 0) {
        berth_autofree char *count = berth_xasprintf("%zu", resumed);
        berth_log(BERTH_LOG_INFO, "resumed tasks from the saved state", "tasks", count, NULL);
    }
}

/* Two agents on one data_dir would both re-attach to the same containers
 * and write the same logs, so the second one is refused. The lock is
 * released when the agent closes or its process ends. */
static int lock_data_dir(berth_agent *agent, berth_error *err)
{
    berth_autofree char *path = berth_xasprintf("%s/agent.lock", agent->data_dir);
    agent->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (agent->lock_fd < 0)
        return berth_error_set_errno(err, errno, "open %s", path);
    if (flock(agent->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        int saved = errno;
        close(agent->lock_fd);
        agent->lock_fd = -1;
        if (saved == EWOULDBLOCK)
            return berth_error_set(err, BERTH_E_CONFLICT,
                                   "data_dir %s is in use by another berth agent; stop that "
                                   "agent or choose another data_dir",
                                   agent->data_dir);
        return berth_error_set_errno(err, saved, "lock %s", path);
    }
    return 0;
}

int berth_agent_open(const berth_agent_options *options, berth_agent **out, berth_error *err)
{
    if (options->data_dir == NULL || *options->data_dir == '\0')
        return berth_error_set(err, BERTH_E_INVALID, "the agent needs a data_dir");
    berth_agent *agent = berth_xcalloc(1, sizeof(*agent));
    pthread_mutex_init(&agent->lock, NULL);
    pthread_mutex_init(&agent->log_lock, NULL);
    pthread_cond_init(&agent->changed, NULL);
    agent->data_dir = berth_xstrdup(options->data_dir);
    agent->alloc_root = berth_xasprintf("%s/alloc", options->data_dir);
    agent->host_ip = berth_xstrdup(options->host_ip != NULL ? options->host_ip : "127.0.0.1");
    agent->orphan_grace_ms =
        options->orphan_grace_ms > 0 ? options->orphan_grace_ms : DEFAULT_ORPHAN_GRACE_MS;
    agent->driver_options = options->driver;

    berth_autofree char *state_path = berth_xasprintf("%s/state.db", options->data_dir);
    agent->lock_fd = -1;
    if (make_dir(options->data_dir, err) < 0 || lock_data_dir(agent, err) < 0 ||
        make_dir(agent->alloc_root, err) < 0 ||
        berth_state_open(state_path, &agent->state, err) < 0 ||
        berth_docker_open(&options->docker, &agent->docker, err) < 0 ||
        berth_driver_open(agent->docker, &options->driver, &agent->driver, err) < 0 ||
        berth_port_allocator_init(&agent->ports, BERTH_PORTS_DEFAULT_MIN,
                                  BERTH_PORTS_DEFAULT_MAX, err) < 0) {
        if (agent->lock_fd >= 0)
            close(agent->lock_fd);
        berth_state_close(agent->state);
        berth_driver_close(agent->driver);
        berth_docker_close(agent->docker);
        free(agent->data_dir);
        free(agent->alloc_root);
        free(agent->host_ip);
        free(agent);
        return -1;
    }
    /* The driver copies the options but not the strings they point to. */
    agent->driver_options.selinux_label = NULL;
    agent->driver_options.auth_config = NULL;

    berth_node_init_local(&agent->node, options->datacenter, options->region);
    free(agent->node.id);
    agent->node.id = load_node_id(options->data_dir);
    if (options->node_name != NULL) {
        free(agent->node.name);
        agent->node.name = berth_xstrdup(options->node_name);
    }
    if (options->node_meta != NULL) {
        berth_value_free(agent->node.meta);
        agent->node.meta = berth_value_clone(options->node_meta);
    }

    check_engine(agent);
    if (restore_state(agent, err) < 0) {
        berth_error_prefix(err, "read state %s", state_path);
        berth_agent_close(agent);
        return -1;
    }
    resume_tasks(agent);
    agent->monitor_started = pthread_create(&agent->monitor, NULL, monitor, agent) == 0;
    berth_log(BERTH_LOG_INFO, "agent started", "data_dir", agent->data_dir, "node_id",
              agent->node.id, NULL);
    *out = agent;
    return 0;
}

void berth_agent_close(berth_agent *agent)
{
    if (agent == NULL)
        return;
    pthread_mutex_lock(&agent->lock);
    agent->stopping = true;
    pthread_cond_broadcast(&agent->changed);
    pthread_mutex_unlock(&agent->lock);
    if (agent->monitor_started)
        pthread_join(agent->monitor, NULL);
    /* Stop every log writer, then save the positions they reached so the
     * next agent continues from there. */
    pthread_mutex_lock(&agent->log_lock);
    agent->logs_stopped = true;
    pthread_mutex_unlock(&agent->log_lock);
    pthread_mutex_lock(&agent->lock);
    agent_alloc *allocs = agent->allocs;
    pthread_mutex_unlock(&agent->lock);
    for (agent_alloc *alloc = allocs; alloc != NULL; alloc = alloc->next)
        agent_persist_alloc(alloc);
    /* NOTE: task threads may be blocked in an engine call (wait, logs), so
     * they are not joined and the agent's memory is not freed: the process
     * exits right after, and the containers keep running for the next
     * agent. */
    if (agent->lock_fd >= 0) {
        close(agent->lock_fd);
        agent->lock_fd = -1;
    }
    berth_log(BERTH_LOG_INFO, "agent stopped; containers keep running", "data_dir",
              agent->data_dir, NULL);
}
