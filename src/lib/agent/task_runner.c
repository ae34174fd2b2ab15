/* One thread per task: start the container, write its output to rotated
 * log files, wait for it, apply the group's restart policy, and ride out an
 * engine outage by re-attaching to the same container once the engine is
 * back. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "agent/agent_internal.h"
#include "agent/allocdir.h"
#include "agent/artifact.h"
#include "agent/logfile.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/util.h"

#define MAX_LOG_LINE (256 * 1024)

/* --- Setup ----------------------------------------------------------------- */

static char *task_path(const agent_task *task, const char *leaf)
{
    return berth_xasprintf("%s/%s/%s", task->alloc->dir, task->spec->name, leaf);
}

/* Reserves the task's ports: the ones recorded earlier when re-attaching or
 * restarting, else new ones. */
static int reserve_ports(agent_task *task, berth_error *err)
{
    berth_agent *agent = task->alloc->agent;
    if (task->port_count > 0) {
        for (size_t i = 0; i < task->port_count; i++) {
            berth_error ignored = BERTH_ERROR_INIT;
            /* A port still bound by the running container cannot be bound
             * here; the reservation is what matters. */
            if (berth_port_reserve_static(&agent->ports, task->ports[i].host_ip,
                                          task->ports[i].host_port, &ignored) < 0 &&
                ignored.code == BERTH_E_CONFLICT) {
                pthread_mutex_lock(&agent->ports.lock);
                agent->ports.reserved[task->ports[i].host_port] = 1;
                pthread_mutex_unlock(&agent->ports.lock);
            }
        }
        return 0;
    }
    berth_port_binding *ports = NULL;
    size_t count = 0;
    if (berth_task_ports_reserve(&agent->ports, agent->host_ip, &task->spec->resources, &ports,
                                 &count, err) < 0)
        return -1;
    pthread_mutex_lock(&agent->lock);
    task->ports = ports;
    task->port_count = count;
    pthread_mutex_unlock(&agent->lock);
    return 0;
}

static int build_env(agent_task *task, berth_error *err)
{
    const agent_alloc *alloc = task->alloc;
    berth_value_free(task->env);
    task->env = NULL;
    return berth_task_env_for_job(&alloc->agent->node, alloc->id, alloc->index, alloc->job,
                                  alloc->group, task->spec, task->ports, task->port_count,
                                  &task->env, err);
}

/* --- Log files ------------------------------------------------------------- */

typedef struct log_writer {
    agent_task *task;
    berth_log_rotator rotators[2];
    int position_fd[2];
    berth_buf pending[2];
    bool open;
} log_writer;

/* The position file keeps the time stamp of the last line written to a
 * stream, next to the log. It is rewritten after every line without fsync:
 * it survives the agent being killed (not a power loss), so a restarted
 * agent resumes where this one stopped. */
static char *position_path(const agent_task *task, int index)
{
    return berth_xasprintf("%s/alloc/logs/.%s.%s.position", task->alloc->dir, task->spec->name,
                           index == 0 ? "stdout" : "stderr");
}

static int64_t read_position(const agent_task *task, int index)
{
    berth_autofree char *path = position_path(task, index);
    berth_autofree char *text = NULL;
    int64_t position = 0;
    if (berth_read_file(path, 64, &text, NULL, NULL) == 0) {
        text[strcspn(text, " \n")] = '\0';
        if (!berth_parse_int64(text, 0, INT64_MAX, &position))
            position = 0;
    }
    return position;
}

/* Writes one time-stamped line, skipping lines at or before the recorded
 * position so re-attaching after a restart writes nothing twice. */
static void write_line(log_writer *writer, int index, const char *line, size_t length)
{
    agent_task *task = writer->task;
    berth_agent *agent = task->alloc->agent;
    const char *space = memchr(line, ' ', length);
    int64_t stamp = 0;
    const char *content = line;
    size_t content_length = length;
    if (space != NULL && berth_parse_rfc3339_ns(line, (size_t)(space - line), &stamp)) {
        content = space + 1;
        content_length = length - (size_t)(space - line) - 1;
    }
    pthread_mutex_lock(&agent->log_lock);
    if (agent->logs_stopped || (stamp > 0 && stamp <= task->log_position_ns[index])) {
        pthread_mutex_unlock(&agent->log_lock);
        return;
    }
    berth_error err = BERTH_ERROR_INIT;
    if (berth_log_rotator_write(&writer->rotators[index], content, content_length, &err) < 0 ||
        berth_log_rotator_write(&writer->rotators[index], "\n", 1, &err) < 0) {
        pthread_mutex_unlock(&agent->log_lock);
        berth_log(BERTH_LOG_ERROR, "writing the task log failed", "alloc_id", task->alloc->id,
                  "task", task->spec->name, "error", err.message, NULL);
        return;
    }
    if (stamp > 0) {
        task->log_position_ns[index] = stamp;
        char text[32];
        int text_length = snprintf(text, sizeof(text), "%020lld\n", (long long)stamp);
        if (pwrite(writer->position_fd[index], text, (size_t)text_length, 0) != text_length)
            berth_log(BERTH_LOG_WARN, "saving the log position failed", "alloc_id",
                      task->alloc->id, "task", task->spec->name, NULL);
    }
    pthread_mutex_unlock(&agent->log_lock);
}

static void on_log_output(void *user_data, int stream, const char *data, size_t length)
{
    log_writer *writer = user_data;
    int index = stream == 2 ? 1 : 0;
    berth_buf *pending = &writer->pending[index];
    while (length > 0) {
        const char *newline = memchr(data, '\n', length);
        size_t piece = newline != NULL ? (size_t)(newline - data) : length;
        if (pending->length + piece > MAX_LOG_LINE)
            piece = MAX_LOG_LINE - pending->length;
        berth_buf_append(pending, data, piece, NULL);
        data += piece;
        length -= piece;
        bool complete = length > 0 && *data == '\n';
        if (complete) {
            data++;
            length--;
        }
        if (complete || pending->length >= MAX_LOG_LINE) {
            write_line(writer, index, pending->data != NULL ? pending->data : "", pending->length);
            berth_buf_reset(pending);
        }
    }
}

static void *follow_logs(void *argument)
{
    agent_task *task = argument;
    berth_agent *agent = task->alloc->agent;
    log_writer writer;
    memset(&writer, 0, sizeof(writer));
    writer.task = task;
    berth_autofree char *dir = berth_xasprintf("%s/alloc/logs", task->alloc->dir);
    berth_error err = BERTH_ERROR_INIT;
    if (berth_log_rotator_open(&writer.rotators[0], dir, task->spec->name, "stdout",
                               task->spec->log_max_files, task->spec->log_max_file_size_mb,
                               &err) < 0 ||
        berth_log_rotator_open(&writer.rotators[1], dir, task->spec->name, "stderr",
                               task->spec->log_max_files, task->spec->log_max_file_size_mb,
                               &err) < 0) {
        berth_log(BERTH_LOG_ERROR, "opening the task log failed", "alloc_id", task->alloc->id,
                  "task", task->spec->name, "error", err.message, NULL);
        berth_log_rotator_close(&writer.rotators[0]);
        return NULL;
    }
    berth_buf_init(&writer.pending[0], MAX_LOG_LINE);
    berth_buf_init(&writer.pending[1], MAX_LOG_LINE);

    pthread_mutex_lock(&agent->log_lock);
    for (int i = 0; i < 2; i++) {
        int64_t saved = read_position(task, i);
        if (saved > task->log_position_ns[i])
            task->log_position_ns[i] = saved;
        berth_autofree char *path = position_path(task, i);
        writer.position_fd[i] = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    }
    int64_t since = task->log_position_ns[0];
    if (task->log_position_ns[1] != 0 && (since == 0 || task->log_position_ns[1] < since))
        since = task->log_position_ns[1];
    pthread_mutex_unlock(&agent->log_lock);

    /* Ask from the oldest position of the two streams; lines already
     * written are skipped by their time stamps. */
    berth_docker_logs_options options = {
        .follow = true, .tty = task->tty, .since_ns = since, .timestamps = true};
    if (berth_docker_container_logs(agent->docker, task->container_id, &options, on_log_output,
                                    &writer, &err) < 0)
        berth_log(BERTH_LOG_WARN, "the log stream ended with an error", "alloc_id",
                  task->alloc->id, "task", task->spec->name, "error", err.message, NULL);
    for (int i = 0; i < 2; i++) {
        if (writer.pending[i].length > 0)
            write_line(&writer, i, writer.pending[i].data, writer.pending[i].length);
        berth_buf_free(&writer.pending[i]);
        berth_log_rotator_close(&writer.rotators[i]);
        if (writer.position_fd[i] >= 0)
            close(writer.position_fd[i]);
    }
    return NULL;
}

/* --- Running ---------------------------------------------------------------- */

/* Reports whether this task was asked to stop (job stop or update). */
static bool task_kill_requested(agent_task *task)
{
    pthread_mutex_lock(&task->alloc->agent->lock);
    bool requested = task->kill_requested;
    pthread_mutex_unlock(&task->alloc->agent->lock);
    return requested;
}

/* Sleeps up to delay_ms, waking early on a kill request; returns true when
 * the task should stop. */
static bool sleep_unless_killed(agent_task *task, int64_t delay_ms)
{
    berth_agent *agent = task->alloc->agent;
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += delay_ms / 1000;
    deadline.tv_nsec += (delay_ms % 1000) * 1000000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&agent->lock);
    while (!task->kill_requested && !agent->stopping) {
        if (pthread_cond_timedwait(&agent->changed, &agent->lock, &deadline) == ETIMEDOUT)
            break;
    }
    bool killed = task->kill_requested || agent->stopping;
    pthread_mutex_unlock(&agent->lock);
    return killed;
}

static void on_driver_event(void *user_data, const char *message)
{
    agent_task_event(user_data, "Driver", message, 0, false);
}

static void record_container(agent_task *task)
{
    berth_agent *agent = task->alloc->agent;
    pthread_mutex_lock(&agent->lock);
    free(task->container_id);
    free(task->image);
    free(task->image_id);
    task->container_id = berth_xstrdup(task->handle->container_id);
    task->image = berth_xstrdup(task->handle->image);
    task->image_id = berth_xstrdup(task->handle->image_id);
    task->image_fetched = berth_driver_image_fetched(agent->driver, task->handle->image);
    task->tty = task->handle->tty;
    task->state = AGENT_TASK_RUNNING;
    task->started_at_ns = agent_now_ns();
    agent_alloc_update_status(task->alloc);
    pthread_mutex_unlock(&agent->lock);
    /* A new container's log starts at its own beginning, so the positions of
     * the previous one no longer apply. */
    pthread_mutex_lock(&agent->log_lock);
    for (int i = 0; i < 2; i++) {
        task->log_position_ns[i] = 0;
        berth_autofree char *path = position_path(task, i);
        unlink(path);
    }
    pthread_mutex_unlock(&agent->log_lock);
    agent_persist_alloc(task->alloc);
}

static int start_container(agent_task *task, berth_error *err)
{
    berth_agent *agent = task->alloc->agent;
    const berth_job_task *spec = task->spec;
    berth_autofree char *local = task_path(task, "local");
    berth_autofree char *secrets = task_path(task, "secrets");
    berth_autofree char *alloc_dir = berth_xasprintf("%s/alloc", task->alloc->dir);
    berth_autovalue berth_value *labels = berth_value_new_map();
    berth_value_map_set(labels, "com.hashicorp.nomad.alloc_id",
                        berth_value_new_string(task->alloc->id));
    berth_value_map_set(labels, "berth.job", berth_value_new_string(task->alloc->job->id));
    berth_value_map_set(labels, "berth.task", berth_value_new_string(spec->name));
    berth_value_map_set(labels, "berth.agent", berth_value_new_string(agent->node.id));

    berth_task_request request = {
        .alloc_id = task->alloc->id,
        .job_name = task->alloc->job->name,
        .group_name = task->alloc->group->name,
        .task_name = spec->name,
        .config = spec->config,
        .env = task->env,
        .node = &agent->node,
        .cpu_mhz = spec->resources.cpu_mhz,
        .memory_mb = spec->resources.memory_mb,
        .ports = task->ports,
        .port_count = task->port_count,
        .alloc_dir = alloc_dir,
        .local_dir = local,
        .secrets_dir = secrets,
        .user = spec->user,
        .kill_timeout_ms = spec->kill_timeout_ms,
        .kill_signal = spec->kill_signal,
        .extra_labels = labels,
        .event = on_driver_event,
        .event_user_data = task,
    };
    return berth_driver_start_task(agent->driver, &request, &task->handle, err);
}

/* Rebuilds the handle of a container started by an earlier agent. */
static void adopt_container(agent_task *task)
{
    berth_agent *agent = task->alloc->agent;
    berth_task_handle *handle = berth_xcalloc(1, sizeof(*handle));
    handle->container_id = berth_xstrdup(task->container_id);
    handle->container_name = berth_xasprintf("%s-%s", task->spec->name, task->alloc->id);
    handle->image = berth_xstrdup(task->image != NULL ? task->image : "");
    handle->image_id = task->image_id != NULL ? berth_xstrdup(task->image_id) : NULL;
    handle->tty = task->tty;
    handle->kill_timeout_ms = task->spec->kill_timeout_ms;
    handle->kill_signal =
        task->spec->kill_signal != NULL ? berth_xstrdup(task->spec->kill_signal) : NULL;
    if (task->image != NULL) {
        berth_driver_retain_image(agent->driver, task->image, task->image_id, task->image_fetched);
        handle->image_counted = true;
    }
    task->handle = handle;
}

typedef enum watch_result {
    WATCH_EXITED,
    WATCH_LOST, /* the container disappeared */
} watch_result;

/* Inspects the container: 1 running, 0 exited (exit filled), -1 gone,
 * -2 the engine is unreachable. */
static int inspect_container(agent_task *task, berth_task_exit *exit)
{
    berth_task_state state;
    berth_error err = BERTH_ERROR_INIT;
    if (berth_driver_task_state(task->alloc->agent->driver, task->handle, &state, exit, &err) < 0)
        return -2;
    return (int)state;
}

/* Follows logs and waits for the container to exit, re-attaching after an
 * engine outage. */
static watch_result watch_container(agent_task *task, berth_task_exit *exit)
{
    berth_agent *agent = task->alloc->agent;
    for (;;) {
        pthread_t logs;
        bool logs_started = pthread_create(&logs, NULL, follow_logs, task) == 0;
        berth_error err = BERTH_ERROR_INIT;
        int rc = berth_driver_wait_task(agent->driver, task->handle, exit, &err);
        if (logs_started)
            pthread_join(logs, NULL);
        if (rc == 0)
            return WATCH_EXITED;

        berth_log(BERTH_LOG_WARN, "lost contact with the container; waiting for the engine",
                  "alloc_id", task->alloc->id, "task", task->spec->name, "error", err.message,
                  NULL);
        for (;;) {
            int state = inspect_container(task, exit);
            if (state == 1)
                break; /* the engine is back and the container runs: re-attach */
            if (state == 0)
                return WATCH_EXITED;
            if (state == -1)
                return WATCH_LOST;
            /* The process is exiting; leave the container for the next agent. */
            pthread_mutex_lock(&agent->lock);
            bool stopping = agent->stopping;
            pthread_mutex_unlock(&agent->lock);
            if (stopping)
                return WATCH_LOST;
            sleep_unless_killed(task, 1000);
        }
        berth_log(BERTH_LOG_INFO, "re-attached to the container", "alloc_id", task->alloc->id,
                  "task", task->spec->name, "container_id", task->container_id, NULL);
    }
}

static void destroy_container(agent_task *task)
{
    if (task->handle == NULL)
        return;
    berth_error err = BERTH_ERROR_INIT;
    if (berth_driver_destroy_task(task->alloc->agent->driver, task->handle, &err) < 0)
        berth_log(BERTH_LOG_ERROR, "removing the container failed", "alloc_id", task->alloc->id,
                  "task", task->spec->name, "error", err.message, NULL);
    berth_task_handle_free(task->handle);
    task->handle = NULL;
    /* Forget the removed container, so a task resumed by a later agent
     * starts a new one instead of looking for this one. */
    pthread_mutex_lock(&task->alloc->agent->lock);
    free(task->container_id);
    task->container_id = NULL;
    pthread_mutex_unlock(&task->alloc->agent->lock);
}

/* Formats like Go's time.Duration, which Nomad's messages use: "15s",
 * "250ms", "32.526s", "1m30s". */
static char *format_duration(int64_t ms)
{
    if (ms < 1000)
        return berth_xasprintf("%lldms", (long long)ms);
    int64_t minutes = ms / 60000;
    int64_t rest = ms % 60000;
    char seconds[32];
    if (rest % 1000 == 0)
        snprintf(seconds, sizeof(seconds), "%llds", (long long)(rest / 1000));
    else {
        snprintf(seconds, sizeof(seconds), "%lld.%03lld", (long long)(rest / 1000),
                 (long long)(rest % 1000));
        size_t end = strlen(seconds);
        while (seconds[end - 1] == '0')
            seconds[--end] = '\0';
        strcat(seconds, "s");
    }
    if (minutes > 0)
        return berth_xasprintf("%lldm%s", (long long)minutes, seconds);
    return berth_xasprintf("%s", seconds);
}

/* Applies the restart policy after an exit or a failed start. Returns the
 * delay before the next attempt, or -1 when the task must not restart. */
static int64_t restart_delay(agent_task *task, bool success)
{
    const berth_job_restart *policy = &task->alloc->group->restart;
    bool batch = strcmp(task->alloc->job->type, "batch") == 0;
    if (batch && success) {
        agent_task_event(task, "Terminated", "Task completed successfully", 0, false);
        return -1;
    }
    int64_t now = agent_now_ns();
    pthread_mutex_lock(&task->alloc->agent->lock);
    if (task->window_start_ns == 0 || now - task->window_start_ns > policy->interval_ms * 1000000) {
        task->window_start_ns = now;
        task->window_restarts = 0;
    }
    int64_t delay = -1;
    if (task->window_restarts < policy->attempts) {
        task->window_restarts++;
        task->restarts++;
        delay = policy->delay_ms;
    } else if (strcmp(policy->mode, "delay") == 0) {
        /* Mode delay waits out the rest of the interval, then starts a new
         * one. */
        delay = policy->interval_ms - (now - task->window_start_ns) / 1000000;
        if (delay < policy->delay_ms)
            delay = policy->delay_ms;
        task->window_start_ns = 0;
        task->restarts++;
    }
    pthread_mutex_unlock(&task->alloc->agent->lock);

    if (delay < 0) {
        berth_autofree char *interval = format_duration(policy->interval_ms);
        berth_autofree char *message = berth_xasprintf(
            "Exceeded allowed attempts %d in interval %s and mode is \"fail\"", policy->attempts,
            interval);
        agent_task_event(task, "Not Restarting", message, 0, false);
        return -1;
    }
    berth_autofree char *text = format_duration(delay);
    berth_autofree char *message = berth_xasprintf("Task restarting in %s", text);
    agent_task_event(task, "Restarting", message, 0, false);
    return delay;
}

static void finish_task(agent_task *task, bool failed)
{
    berth_agent *agent = task->alloc->agent;
    pthread_mutex_lock(&agent->lock);
    task->state = AGENT_TASK_DEAD;
    task->failed = failed;
    task->finished_at_ns = agent_now_ns();
    for (size_t i = 0; i < task->port_count; i++)
        berth_port_release(&agent->ports, task->ports[i].host_port);
    agent_alloc_update_status(task->alloc);
    pthread_cond_broadcast(&agent->changed);
    pthread_mutex_unlock(&agent->lock);
    agent_persist_alloc(task->alloc);
}

static void report_exit(agent_task *task, const berth_task_exit *exit)
{
    berth_autofree char *message =
        exit->oom_killed
            ? berth_xasprintf("Exit Code: %lld, Exit Message: \"OOM Killed\"",
                              (long long)exit->exit_code)
            : berth_xasprintf("Exit Code: %lld", (long long)exit->exit_code);
    agent_task_event(task, exit->oom_killed ? "OOM Killed" : "Terminated", message,
                     exit->exit_code, true);
}

static bool agent_stopping(agent_task *task)
{
    pthread_mutex_lock(&task->alloc->agent->lock);
    bool stopping = task->alloc->agent->stopping;
    pthread_mutex_unlock(&task->alloc->agent->lock);
    return stopping;
}

typedef enum restart_outcome {
    RESTART_NOW,  /* the delay passed: start the task again */
    RESTART_NEVER, /* the policy or a stop request ends the task */
    RESTART_LEAVE, /* the agent is shutting down: leave the task to the next agent */
} restart_outcome;

/* Applies the restart policy after an exit or a failed start and waits out
 * its delay, with the task pending meanwhile. *failed is set when the
 * policy gives up on a failure. */
static restart_outcome wait_before_restart(agent_task *task, bool success, bool *failed)
{
    berth_agent *agent = task->alloc->agent;
    int64_t delay = restart_delay(task, success);
    if (delay < 0) {
        *failed = !success;
        return RESTART_NEVER;
    }
    pthread_mutex_lock(&agent->lock);
    task->state = AGENT_TASK_PENDING;
    agent_alloc_update_status(task->alloc);
    pthread_mutex_unlock(&agent->lock);
    agent_persist_alloc(task->alloc);

    sleep_unless_killed(task, delay);
    if (task_kill_requested(task))
        return RESTART_NEVER;
    if (agent_stopping(task))
        return RESTART_LEAVE;
    return RESTART_NOW;
}

static void *run_task(void *argument)
{
    agent_task *task = argument;
    berth_agent *agent = task->alloc->agent;
    berth_error err = BERTH_ERROR_INIT;

    if (berth_alloc_dir_prepare(task->alloc->dir, task->spec->name, &err) < 0 ||
        reserve_ports(task, &err) < 0 ||
        build_env(task, &err) < 0) {
        agent_task_event(task, "Setup Failure", err.message, 0, false);
        finish_task(task, true);
        return NULL;
    }

    bool failed = false;
    for (;;) {
        /* A container from an earlier agent is adopted even when a stop is
         * pending, so that it is stopped and removed rather than left. */
        bool adopt = task->recover && task->container_id != NULL;
        if (task_kill_requested(task) && !adopt)
            break;
        if (agent_stopping(task) && !task_kill_requested(task))
            return NULL; /* the next agent resumes the task */
        bool have_container = false;
        if (task->recover && task->container_id != NULL) {
            task->recover = false;
            adopt_container(task);
            have_container = true;
            pthread_mutex_lock(&agent->lock);
            task->state = AGENT_TASK_RUNNING;
            agent_alloc_update_status(task->alloc);
            pthread_mutex_unlock(&agent->lock);
        } else {
            task->recover = false;
            if (task->spec->artifact_count > 0) {
                berth_autofree char *task_dir =
                    berth_xasprintf("%s/%s", task->alloc->dir, task->spec->name);
                berth_artifact_options artifact_options = {
                    .event = on_driver_event, .user_data = task};
                if (berth_artifact_fetch_all(task->spec->artifacts, task->spec->artifact_count,
                                             task_dir, task->env, &agent->node,
                                             &artifact_options, &err) < 0) {
                    agent_task_event(task, "Failed Artifact Download", err.message, 0, false);
                    restart_outcome outcome = wait_before_restart(task, false, &failed);
                    if (outcome == RESTART_LEAVE)
                        return NULL;
                    if (outcome == RESTART_NEVER)
                        break;
                    continue;
                }
            }
            if (start_container(task, &err) < 0) {
                agent_task_event(task, "Driver Failure", err.message, 0, false);
                restart_outcome outcome = wait_before_restart(task, false, &failed);
                if (outcome == RESTART_LEAVE)
                    return NULL;
                if (outcome == RESTART_NEVER)
                    break;
                continue;
            }
            record_container(task);
            agent_task_event(task, "Started", "Task started by client", 0, false);
            have_container = true;
            /* A stop requested while the task was starting found no
             * container to stop; stop it now. A request made after
             * record_container() is handled by the agent as well, and a
             * second stop is harmless. */
            if (task_kill_requested(task)) {
                berth_error stop_err = BERTH_ERROR_INIT;
                if (berth_driver_stop_task(agent->driver, task->handle, &stop_err) < 0)
                    berth_log(BERTH_LOG_ERROR, "stopping the container failed", "alloc_id",
                              task->alloc->id, "task", task->spec->name, "error",
                              stop_err.message, NULL);
            }
        }

        berth_task_exit exit;
        memset(&exit, 0, sizeof(exit));
        watch_result result = have_container ? watch_container(task, &exit) : WATCH_LOST;
        pthread_mutex_lock(&agent->lock);
        bool stopping = agent->stopping;
        pthread_mutex_unlock(&agent->lock);
        if (stopping && !task_kill_requested(task)) {
            /* The agent is shutting down: leave the container running for
             * the next agent to re-attach to. */
            return NULL;
        }
        if (result == WATCH_LOST)
            agent_task_event(task, "Driver Failure", "the container is gone", 0, false);
        else if (task_kill_requested(task))
            agent_task_event(task, "Killed", "Task successfully killed", exit.exit_code, true);
        else
            report_exit(task, &exit);
        destroy_container(task);

        if (task_kill_requested(task))
            break;
        bool success = result == WATCH_EXITED && exit.exit_code == 0 && !exit.oom_killed;
        restart_outcome outcome = wait_before_restart(task, success, &failed);
        if (outcome == RESTART_LEAVE)
            return NULL;
        if (outcome == RESTART_NEVER)
            break;
    }
    finish_task(task, failed);
    return NULL;
}

int agent_task_start_thread(agent_task *task, berth_error *err)
{
    int rc = pthread_create(&task->thread, NULL, run_task, task);
    if (rc != 0)
        return berth_error_set_errno(err, rc, "start the runner of task %s", task->spec->name);
    task->thread_started = true;
    return 0;
}
