#include "agent/run.h"

#include "agent/allocdir.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "agent/artifact.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/util.h"

#define MAX_LINE_LENGTH (64 * 1024)

typedef struct line_splitter {
    berth_buf pending;
} line_splitter;

typedef enum task_state {
    TASK_PENDING,
    TASK_STARTING,
    TASK_RUNNING,
    TASK_DONE,
} task_state;

typedef struct run_state run_state;

typedef struct task_run {
    run_state *run;
    const berth_job_group *group;
    const berth_job_task *task;
    berth_run_task_info info;
    char alloc_id[37];
    char *alloc_root;
    char *alloc_dir;
    char *local_dir;
    char *secrets_dir;
    berth_port_binding *ports;
    size_t port_count;
    berth_value *env;
    berth_value *labels;

    pthread_t thread;
    bool thread_started;
    task_state state;            /* guarded by run->lock */
    berth_task_handle *handle;   /* set once running; owned here */
    berth_task_exit exit;
    bool failed_to_start;
    pthread_t stopper; /* graceful stop, then a forced one on a second request */
    bool stopper_started;
    pthread_t force_stopper;
    bool force_stopper_started;
    bool destroyed; /* the container was removed */
    int64_t logs_since; /* unix seconds to follow logs from; 0: the start */
    berth_error error;
    line_splitter out[2];
} task_run;

struct run_state {
    const berth_job *job;
    const berth_run_options *options;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    pthread_mutex_t output_lock; /* keeps lines of different tasks whole */
    task_run *tasks;
    size_t task_count;
    bool abort_requested; /* a task failed to start: stop the others */
    int first_failure_code;
    bool have_failure;
};

/* --- Output ------------------------------------------------------------- */

static void emit_line(task_run *task, int stream, const char *line, size_t length)
{
    const berth_run_callbacks *callbacks = &task->run->options->callbacks;
    if (callbacks->output == NULL)
        return;
    pthread_mutex_lock(&task->run->output_lock);
    callbacks->output(callbacks->user_data, &task->info, stream, line, length);
    pthread_mutex_unlock(&task->run->output_lock);
}

static void emit_event(task_run *task, const char *message)
{
    const berth_run_callbacks *callbacks = &task->run->options->callbacks;
    if (callbacks->event == NULL)
        return;
    pthread_mutex_lock(&task->run->output_lock);
    callbacks->event(callbacks->user_data, &task->info, message);
    pthread_mutex_unlock(&task->run->output_lock);
}

static void on_driver_event(void *user_data, const char *message)
{
    emit_event(user_data, message);
}

static void on_container_output(void *user_data, int stream, const char *data, size_t length)
{
    task_run *task = user_data;
    line_splitter *splitter = &task->out[stream == 2 ? 1 : 0];
    while (length > 0) {
        const char *newline = memchr(data, '\n', length);
        size_t piece = newline != NULL ? (size_t)(newline - data) : length;
        size_t room = MAX_LINE_LENGTH - splitter->pending.length;
        if (piece > room)
            piece = room;
        berth_buf_append(&splitter->pending, data, piece, NULL);
        data += piece;
        length -= piece;
        bool complete = length > 0 && *data == '\n';
        if (complete) {
            data++;
            length--;
        }
        if (complete || splitter->pending.length >= MAX_LINE_LENGTH) {
            emit_line(task, stream == 2 ? 2 : 1, splitter->pending.data ? splitter->pending.data : "",
                      splitter->pending.length);
            berth_buf_reset(&splitter->pending);
        }
    }
}

static void flush_output(task_run *task)
{
    for (int i = 0; i < 2; i++) {
        if (task->out[i].pending.length > 0) {
            emit_line(task, i + 1, task->out[i].pending.data, task->out[i].pending.length);
            berth_buf_reset(&task->out[i].pending);
        }
    }
}

/* --- Ports and environment -------------------------------------------------- */

static void release_ports(task_run *task)
{
    berth_task_ports_release(task->run->options->ports, task->ports, task->port_count);
    task->ports = NULL;
    task->port_count = 0;
}

static int reserve_ports(task_run *task, berth_error *err)
{
    const char *host_ip = task->run->options->host_ip != NULL ? task->run->options->host_ip
                                                               : "127.0.0.1";
    return berth_task_ports_reserve(task->run->options->ports, host_ip, &task->task->resources,
                                    &task->ports, &task->port_count, err);
}

static int build_env(task_run *task, berth_error *err)
{
    return berth_task_env_for_job(task->run->options->node, task->alloc_id, task->info.alloc_index,
                                  task->run->job, task->group, task->task, task->ports,
                                  task->port_count, &task->env, err);
}

static void build_labels(task_run *task)
{
    task->labels = berth_value_new_map();
    berth_value_map_set(task->labels, "com.hashicorp.nomad.alloc_id",
                        berth_value_new_string(task->alloc_id));
    berth_value_map_set(task->labels, "berth.job", berth_value_new_string(task->run->job->name));
    berth_value_map_set(task->labels, "berth.task", berth_value_new_string(task->task->name));
}

/* --- Task threads ------------------------------------------------------------ */

static bool stop_requested(const run_state *run)
{
    return (run->options->stop_requested != NULL && *run->options->stop_requested) ||
           run->abort_requested;
}

static void set_state(task_run *task, task_state state)
{
    pthread_mutex_lock(&task->run->lock);
    task->state = state;
    pthread_cond_broadcast(&task->run->changed);
    pthread_mutex_unlock(&task->run->lock);
}

static void record_failure(task_run *task, int code)
{
    run_state *run = task->run;
    pthread_mutex_lock(&run->lock);
    if (!run->have_failure) {
        run->have_failure = true;
        run->first_failure_code = code;
    }
    pthread_mutex_unlock(&run->lock);
}

static void *follow_logs(void *argument)
{
    task_run *task = argument;
    berth_error err = BERTH_ERROR_INIT;
    if (berth_driver_stream_logs(task->run->options->driver, task->handle, task->logs_since,
                                 on_container_output,
                                 task, &err) < 0)
        berth_log(BERTH_LOG_WARN, "log stream ended with an error", "alloc_id", task->alloc_id,
                  "task", task->task->name, "error", err.message, NULL);
    flush_output(task);
    return NULL;
}

static int start_task(task_run *task, berth_error *err)
{
    if (berth_alloc_dir_prepare(task->alloc_root, task->task->name, err) < 0 ||
        reserve_ports(task, err) < 0 || build_env(task, err) < 0)
        return -1;
    build_labels(task);

    const berth_job_task *spec = task->task;
    /* Artifacts come first so `load` can name a downloaded image archive. */
    berth_artifact_options artifact_options = {
        .cancel = task->run->options->stop_requested,
        .event = on_driver_event,
        .user_data = task,
    };
    berth_autofree char *task_dir = berth_xasprintf("%s/%s", task->alloc_root, spec->name);
    if (berth_artifact_fetch_all(spec->artifacts, spec->artifact_count, task_dir, task->env,
                                 task->run->options->node, &artifact_options, err) < 0)
        return berth_error_prefix(err, "task %s", spec->name);
    berth_task_request request = {
        .alloc_id = task->alloc_id,
        .job_name = task->run->job->name,
        .group_name = task->group->name,
        .task_name = spec->name,
        .config = spec->config,
        .env = task->env,
        .node = task->run->options->node,
        .cpu_mhz = spec->resources.cpu_mhz,
        .memory_mb = spec->resources.memory_mb,
        .ports = task->ports,
        .port_count = task->port_count,
        .alloc_dir = task->alloc_dir,
        .local_dir = task->local_dir,
        .secrets_dir = task->secrets_dir,
        .user = spec->user,
        .kill_timeout_ms = spec->kill_timeout_ms,
        .kill_signal = spec->kill_signal,
        .extra_labels = task->labels,
        .event = on_driver_event,
        .event_user_data = task,
    };
    return berth_driver_start_task(task->run->options->driver, &request, &task->handle, err);
}

static void announce_start(task_run *task)
{
    berth_buf message;
    berth_buf_init(&message, 8192);
    berth_buf_printf(&message, NULL, "container %s started", task->handle->container_name);
    for (size_t i = 0; i < task->port_count; i++) {
        const berth_value *mapped = NULL;
        berth_autofree char *label = berth_env_sanitize_key(task->ports[i].label);
        berth_autofree char *key = berth_xasprintf("NOMAD_PORT_%s", label);
        mapped = berth_value_map_get(task->handle->env, key);
        berth_buf_printf(&message, NULL, "; port %s: %s:%d -> %s", task->ports[i].label,
                         task->ports[i].host_ip, task->ports[i].host_port,
                         mapped != NULL ? mapped->as.string : "?");
    }
    emit_event(task, message.data);
    berth_buf_free(&message);
}

/* Removes the task's container and releases its image, once. */
static void destroy_container(task_run *task)
{
    if (task->destroyed)
        return;
    task->destroyed = true;
    berth_error err = BERTH_ERROR_INIT;
    if (berth_driver_destroy_task(task->run->options->driver, task->handle, &err) < 0)
        berth_log(BERTH_LOG_ERROR, "removing the container failed", "alloc_id", task->alloc_id,
                  "task", task->task->name, "error", err.message, NULL);
}

typedef enum wait_result { WAIT_DONE, WAIT_AGAIN } wait_result;

/* Waits for the container once. When the engine goes away (a restart, an
 * outage), polls until it replies, then re-attaches to a container that
 * still runs (WAIT_AGAIN) or records how it ended. */
static wait_result berth_run_wait_once(task_run *task, pthread_t *logs, bool *logs_started)
{
    run_state *run = task->run;
    berth_error err = BERTH_ERROR_INIT;
    if (berth_driver_wait_task(run->options->driver, task->handle, &task->exit, &err) == 0)
        return WAIT_DONE;

    berth_autofree char *lost =
        berth_xasprintf("lost contact with the engine (%s); waiting for it", err.message);
    emit_event(task, lost);
    berth_log(BERTH_LOG_WARN, "waiting for the container failed", "alloc_id", task->alloc_id,
              "task", task->task->name, "error", err.message, NULL);
    berth_task_state state;
    berth_error state_err = BERTH_ERROR_INIT;
    while (berth_driver_task_state(run->options->driver, task->handle, &state, &task->exit,
                                   &state_err) < 0) {
        struct timespec pause = {1, 0};
        nanosleep(&pause, NULL);
        berth_error_clear(&state_err);
    }
    if (*logs_started) {
        pthread_join(*logs, NULL);
        *logs_started = false;
    }
    if (state == BERTH_TASK_GONE) {
        emit_event(task, "the container is gone");
        task->exit.exit_code = 1;
        return WAIT_DONE;
    }
    if (state == BERTH_TASK_EXITED)
        return WAIT_DONE;

    emit_event(task, "the engine is back; following the container again");
    /* A stop requested during the outage could not reach the engine. */
    if (stop_requested(run)) {
        berth_error stop_err = BERTH_ERROR_INIT;
        berth_driver_stop_task(run->options->driver, task->handle, &stop_err);
    }
    /* NOTE: output written while the engine was down is not shown, and
     * the new stream starts from now, so a few lines may be repeated or
     * lost around the outage. */
    task->logs_since = time(NULL);
    *logs_started = pthread_create(logs, NULL, follow_logs, task) == 0;
    return WAIT_AGAIN;
}

static void *run_task(void *argument)
{
    task_run *task = argument;
    run_state *run = task->run;

    set_state(task, TASK_STARTING);
    if (stop_requested(run)) {
        set_state(task, TASK_DONE);
        return NULL;
    }
    if (start_task(task, &task->error) < 0) {
        task->failed_to_start = true;
        emit_event(task, task->error.message);
        /* berth_run_job returns this error, so it is logged below error level. */
        berth_log(BERTH_LOG_INFO, "task failed to start", "alloc_id", task->alloc_id, "task",
                  task->task->name, "error", task->error.message, NULL);
        record_failure(task, 1);
        pthread_mutex_lock(&run->lock);
        run->abort_requested = true;
        pthread_cond_broadcast(&run->changed);
        pthread_mutex_unlock(&run->lock);
        set_state(task, TASK_DONE);
        return NULL;
    }
    announce_start(task);
    set_state(task, TASK_RUNNING);

    pthread_t logs;
    bool logs_started = pthread_create(&logs, NULL, follow_logs, task) == 0;

    while (berth_run_wait_once(task, &logs, &logs_started) == WAIT_AGAIN)
        ;
    if (logs_started)
        pthread_join(logs, NULL);

    berth_autofree char *message =
        task->exit.oom_killed
            ? berth_xasprintf("exited with code %lld (OOM killed)", (long long)task->exit.exit_code)
            : berth_xasprintf("exited with code %lld", (long long)task->exit.exit_code);
    emit_event(task, message);
    if (task->exit.exit_code != 0)
        record_failure(task, (int)(task->exit.exit_code > 255 ? 1 : task->exit.exit_code));
    /* Remove the container now, in parallel with the other tasks, rather
     * than one after another when the run ends. The handle stays until
     * then, because a stop request may still be using it. */
    destroy_container(task);
    set_state(task, TASK_DONE);
    return NULL;
}

static void *stop_task(void *argument)
{
    task_run *task = argument;
    berth_error err = BERTH_ERROR_INIT;
    if (berth_driver_stop_task(task->run->options->driver, task->handle, &err) < 0)
        berth_log(BERTH_LOG_ERROR, "stopping the container failed", "alloc_id", task->alloc_id,
                  "task", task->task->name, "error", err.message, NULL);
    return NULL;
}

/* Stops the container at once, without waiting for kill_timeout. */
static void *force_stop_task(void *argument)
{
    task_run *task = argument;
    berth_task_handle now = *task->handle;
    now.kill_timeout_ms = 0;
    now.kill_signal = NULL;
    berth_error err = BERTH_ERROR_INIT;
    if (berth_driver_stop_task(task->run->options->driver, &now, &err) < 0)
        berth_log(BERTH_LOG_ERROR, "killing the container failed", "alloc_id", task->alloc_id,
                  "task", task->task->name, "error", err.message, NULL);
    return NULL;
}

/* Stops every running task at once, so N tasks take one kill_timeout, not
 * N of them. With force, the containers are killed without waiting. The
 * stopping threads are joined when the run ends. */
static void stop_running_tasks(run_state *run, bool force)
{
    for (size_t i = 0; i < run->task_count; i++) {
        task_run *task = &run->tasks[i];
        pthread_mutex_lock(&run->lock);
        bool running = task->state == TASK_RUNNING;
        pthread_mutex_unlock(&run->lock);
        if (!running)
            continue;
        if (!force && !task->stopper_started) {
            int64_t seconds = (task->task->kill_timeout_ms + 999) / 1000;
            berth_autofree char *message = berth_xasprintf(
                "stopping (waiting up to %llds; press Ctrl-C again to stop at once)",
                (long long)seconds);
            emit_event(task, message);
            task->stopper_started = pthread_create(&task->stopper, NULL, stop_task, task) == 0;
        } else if (force && !task->force_stopper_started) {
            emit_event(task, "stopping at once");
            task->force_stopper_started =
                pthread_create(&task->force_stopper, NULL, force_stop_task, task) == 0;
        }
    }
}

/* --- The run ----------------------------------------------------------------- */

static size_t count_tasks(const berth_job *job)
{
    size_t total = 0;
    for (size_t g = 0; g < job->group_count; g++)
        total += (size_t)job->groups[g].count * job->groups[g].task_count;
    return total;
}

static void init_tasks(run_state *run, const char *run_dir)
{
    size_t index = 0;
    for (size_t g = 0; g < run->job->group_count; g++) {
        const berth_job_group *group = &run->job->groups[g];
        for (int copy = 0; copy < group->count; copy++) {
            char alloc_id[37];
            berth_uuid_v4(alloc_id);
            for (size_t t = 0; t < group->task_count; t++) {
                task_run *task = &run->tasks[index++];
                task->run = run;
                task->group = group;
                task->task = &group->tasks[t];
                memcpy(task->alloc_id, alloc_id, sizeof(alloc_id));
                task->alloc_root = berth_xasprintf("%s/%s", run_dir, alloc_id);
                task->alloc_dir = berth_xasprintf("%s/alloc", task->alloc_root);
                task->local_dir = berth_xasprintf("%s/%s/local", task->alloc_root, task->task->name);
                task->secrets_dir =
                    berth_xasprintf("%s/%s/secrets", task->alloc_root, task->task->name);
                task->info.job_name = run->job->name;
                task->info.group_name = group->name;
                task->info.task_name = task->task->name;
                task->info.alloc_id = task->alloc_id;
                task->info.alloc_index = copy;
                berth_buf_init(&task->out[0].pending, MAX_LINE_LENGTH);
                berth_buf_init(&task->out[1].pending, MAX_LINE_LENGTH);
            }
        }
    }
}

static void cleanup_task(task_run *task)
{
    if (task->handle != NULL) {
        destroy_container(task);
        berth_task_handle_free(task->handle);
        task->handle = NULL;
    }
    release_ports(task);
    berth_value_free(task->env);
    berth_value_free(task->labels);
    berth_buf_free(&task->out[0].pending);
    berth_buf_free(&task->out[1].pending);
    free(task->alloc_dir);
    free(task->local_dir);
    free(task->secrets_dir);
}

int berth_run_job(const berth_job *job, const berth_run_options *options, berth_run_result *result,
                  berth_error *err)
{
    memset(result, 0, sizeof(*result));
    const char *base = options->data_dir != NULL ? options->data_dir : "/tmp";
    if (mkdir(base, 0755) < 0 && errno != EEXIST)
        return berth_error_set_errno(err, errno, "create folder %s", base);
    berth_autofree char *run_dir = berth_xasprintf("%s/berth-run-XXXXXX", base);
    if (mkdtemp(run_dir) == NULL)
        return berth_error_set_errno(err, errno, "create folder under %s", base);
    chmod(run_dir, 0755);

    run_state run = {.job = job, .options = options};
    pthread_mutex_init(&run.lock, NULL);
    pthread_cond_init(&run.changed, NULL);
    pthread_mutex_init(&run.output_lock, NULL);
    run.task_count = count_tasks(job);
    run.tasks = berth_xcalloc(run.task_count ? run.task_count : 1, sizeof(task_run));
    init_tasks(&run, run_dir);

    for (size_t i = 0; i < run.task_count; i++)
        run.tasks[i].thread_started =
            pthread_create(&run.tasks[i].thread, NULL, run_task, &run.tasks[i]) == 0;

    /* Wait for every task to finish; on a stop request or a failed start,
     * stop the running ones. Polled every 100 ms because a signal handler
     * can only set a flag. */
    for (;;) {
        pthread_mutex_lock(&run.lock);
        size_t done = 0;
        for (size_t i = 0; i < run.task_count; i++)
            done += run.tasks[i].state == TASK_DONE || !run.tasks[i].thread_started;
        if (done == run.task_count) {
            pthread_mutex_unlock(&run.lock);
            break;
        }
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_nsec += 100 * 1000 * 1000;
        if (deadline.tv_nsec >= 1000000000) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&run.changed, &run.lock, &deadline);
        pthread_mutex_unlock(&run.lock);
        if (stop_requested(&run)) {
            if (options->stop_requested != NULL && *options->stop_requested)
                result->stopped = true;
            stop_running_tasks(&run, false);
            if (options->force_requested != NULL && *options->force_requested)
                stop_running_tasks(&run, true);
        }
    }

    for (size_t i = 0; i < run.task_count; i++) {
        if (run.tasks[i].thread_started)
            pthread_join(run.tasks[i].thread, NULL);
        if (run.tasks[i].stopper_started)
            pthread_join(run.tasks[i].stopper, NULL);
        if (run.tasks[i].force_stopper_started)
            pthread_join(run.tasks[i].force_stopper, NULL);
    }

    int rc = 0;
    for (size_t i = 0; i < run.task_count; i++) {
        task_run *task = &run.tasks[i];
        if (task->handle != NULL)
            result->tasks_started++;
        if (task->failed_to_start && rc == 0) {
            *err = task->error;
            berth_error_prefix(err, "allocation %.8s", task->alloc_id);
            rc = -1;
        }
    }
    for (size_t i = 0; i < run.task_count; i++)
        cleanup_task(&run.tasks[i]);
    /* Remove the allocation folders only after every container is gone, so
     * no container still has them mounted. */
    for (size_t i = 0; i < run.task_count; i++)
        free(run.tasks[i].alloc_root);
    berth_remove_tree(run_dir);

    result->exit_code = run.have_failure ? run.first_failure_code : 0;
    free(run.tasks);
    pthread_mutex_destroy(&run.lock);
    pthread_cond_destroy(&run.changed);
    pthread_mutex_destroy(&run.output_lock);
    return rc;
}
