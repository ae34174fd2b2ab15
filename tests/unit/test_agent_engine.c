/* The agent core against a real Docker Engine, through its library
 * interface: tasks run, restart by policy, write log files, stop, and are
 * re-attached by a second agent on the same data_dir. Runs only when
 * BERTH_TEST_DOCKER_HOST names an engine; the integration suite does that. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent.h"
#include "core/buf.h"
#include "core/util.h"
#include "job/job.h"

typedef struct fixture {
    char data_dir[64];
    berth_agent_options options;
    berth_agent *agent;
    char job_id[64];
} fixture;

static int remove_entry(const char *path, const struct stat *info, int type, struct FTW *ftw)
{
    (void)info;
    (void)type;
    (void)ftw;
    remove(path);
    return 0;
}

static int setup(void **state)
{
    const char *host = getenv("BERTH_TEST_DOCKER_HOST");
    if (host == NULL || *host == '\0')
        return 0;
    fixture *f = berth_xcalloc(1, sizeof(*f));
    snprintf(f->data_dir, sizeof(f->data_dir), "/tmp/berth-agent-test.XXXXXX");
    if (mkdtemp(f->data_dir) == NULL)
        return -1;
    snprintf(f->job_id, sizeof(f->job_id), "agent-unit-%d", (int)getpid());
    f->options.data_dir = f->data_dir;
    f->options.docker.endpoint = host;
    f->options.driver.cleanup_image = true;
    *state = f;
    return 0;
}

/* Removes every container the test's jobs made, even after a failure. */
static int teardown(void **state)
{
    fixture *f = *state;
    if (f == NULL)
        return 0;
    char command[512];
    snprintf(command, sizeof(command),
             "curl -s --unix-socket %s 'http://localhost/containers/json?all=1' | "
             "jq -r '.[] | select(.Labels[\"berth.job\"] | startswith(\"%s\")) | .Id' | "
             "while read id; do curl -s -X DELETE --unix-socket %s "
             "\"http://localhost/containers/$id?force=1\" >/dev/null; done",
             getenv("BERTH_TEST_DOCKER_HOST") + strlen("unix://"), f->job_id,
             getenv("BERTH_TEST_DOCKER_HOST") + strlen("unix://"));
    if (system(command) != 0)
        print_message("cleanup command failed\n");
    if (getenv("BERTH_TEST_KEEP") == NULL)
        nftw(f->data_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static json_t *job_from_hcl(const char *text)
{
    berth_job *job = NULL;
    berth_job_diagnostics diagnostics;
    memset(&diagnostics, 0, sizeof(diagnostics));
    berth_error err = BERTH_ERROR_INIT;
    if (berth_job_load_hcl("job.hcl", text, strlen(text), NULL, &job, &diagnostics, &err) < 0)
        fail_msg("job does not load: %s", err.message);
    berth_job_diagnostics_free(&diagnostics);
    json_t *doc = berth_job_to_json(job);
    berth_job_free(job);
    return doc;
}

static char *format_job(const fixture *f, const char *suffix, const char *type,
                        const char *group_extra, const char *task_body)
{
    return berth_xasprintf("job \"%s-%s\" {\n  type = \"%s\"\n  group \"g\" {\n%s\n"
                           "    task \"t\" {\n      driver = \"docker\"\n%s\n    }\n  }\n}\n",
                           f->job_id, suffix, type, group_extra, task_body);
}

static json_t *register_job(fixture *f, const char *text)
{
    json_t *doc = job_from_hcl(text);
    json_t *reply = NULL;
    berth_error err = BERTH_ERROR_INIT;
    if (berth_agent_register_job(f->agent, doc, &reply, &err) < 0)
        fail_msg("register failed: %s", err.message);
    json_decref(reply);
    return doc;
}

/* Returns the first allocation of the job (new reference). */
static json_t *first_alloc(fixture *f, const char *job_id)
{
    json_t *list = NULL;
    berth_error err = BERTH_ERROR_INIT;
    if (berth_agent_job_allocations(f->agent, job_id, &list, &err) < 0)
        fail_msg("allocations: %s", err.message);
    const char *id = json_string_value(json_object_get(json_array_get(list, 0), "ID"));
    json_t *alloc = NULL;
    if (id == NULL || berth_agent_get_allocation(f->agent, id, &alloc, &err) < 0)
        fail_msg("no allocation for %s", job_id);
    json_decref(list);
    return alloc;
}

static const char *task_field(const json_t *alloc, const char *field)
{
    return json_string_value(json_object_get(
        json_object_get(json_object_get(alloc, "TaskStates"), "t"), field));
}

/* Polls until the task's State is expected, for at most seconds. */
static json_t *wait_task_state(fixture *f, const char *job_id, const char *expected, int seconds)
{
    for (int i = 0; i < seconds * 10; i++) {
        json_t *alloc = first_alloc(f, job_id);
        const char *state = task_field(alloc, "State");
        if (state != NULL && strcmp(state, expected) == 0)
            return alloc;
        json_decref(alloc);
        struct timespec pause = {0, 100 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    json_t *alloc = first_alloc(f, job_id);
    char *dump = json_dumps(alloc, JSON_INDENT(2));
    fail_msg("task never reached %s: %s", expected, dump);
    return NULL;
}

static size_t count_events(const json_t *alloc, const char *type)
{
    const json_t *events =
        json_object_get(json_object_get(json_object_get(alloc, "TaskStates"), "t"), "Events");
    size_t count = 0;
    size_t index;
    const json_t *event;
    json_array_foreach(events, index, event)
    {
        if (strcmp(json_string_value(json_object_get(event, "Type")), type) == 0)
            count++;
    }
    return count;
}

static char *read_log(fixture *f, const json_t *alloc, const char *stream)
{
    char **paths = NULL;
    size_t count = 0;
    berth_error err = BERTH_ERROR_INIT;
    const char *id = json_string_value(json_object_get(alloc, "ID"));
    if (berth_agent_log_files(f->agent, id, "t", stream, &paths, &count, &err) < 0)
        fail_msg("log files: %s", err.message);
    berth_buf all;
    berth_buf_init(&all, 16 << 20);
    for (size_t i = 0; i < count; i++) {
        char *text = NULL;
        size_t length = 0;
        if (berth_read_file(paths[i], 16 << 20, &text, &length, &err) == 0)
            berth_buf_append(&all, text, length, NULL);
        free(text);
        free(paths[i]);
    }
    free(paths);
    return berth_buf_steal(&all);
}

static bool open_agent(fixture *f)
{
    if (f == NULL) {
        skip();
        return false;
    }
    berth_error err = BERTH_ERROR_INIT;
    if (berth_agent_open(&f->options, &f->agent, &err) < 0)
        fail_msg("open: %s", err.message);
    return true;
}

static void agent_batch_task_completes(void **state)
{
    fixture *f = *state;
    if (!open_agent(f))
        return;
    berth_autofree char *text = format_job(
        f, "ok", "batch", "",
        "      config {\n        image = \"berth-test/busybox:1\"\n        command = \"sh\"\n"
        "        args = [\"-c\", \"echo out-$NOMAD_TASK_NAME; echo err >&2\"]\n      }");
    json_decref(register_job(f, text));
    berth_autofree char *job_id = berth_xasprintf("%s-ok", f->job_id);
    json_t *alloc = wait_task_state(f, job_id, "dead", 30);
    assert_string_equal(json_string_value(json_object_get(alloc, "ClientStatus")), "complete");
    assert_false(json_is_true(json_object_get(
        json_object_get(json_object_get(alloc, "TaskStates"), "t"), "Failed")));
    assert_int_equal(count_events(alloc, "Received"), 1);
    assert_int_equal(count_events(alloc, "Started"), 1);
    assert_int_equal(count_events(alloc, "Terminated"), 2); /* exit code, then completion */
    berth_autofree char *out = read_log(f, alloc, "stdout");
    berth_autofree char *err_text = read_log(f, alloc, "stderr");
    assert_string_equal(out, "out-t\n");
    assert_string_equal(err_text, "err\n");
    json_decref(alloc);

    json_t *job = NULL;
    berth_error err = BERTH_ERROR_INIT;
    assert_int_equal(berth_agent_get_job(f->agent, job_id, &job, &err), 0);
    assert_string_equal(json_string_value(json_object_get(job, "Status")), "dead");
    json_decref(job);
    assert_int_equal(berth_agent_get_job(f->agent, "no-such-job", &job, &err), -1);
    assert_int_equal(err.code, BERTH_E_NOT_FOUND);
    berth_agent_close(f->agent);
}

static void agent_restart_policy_fail_mode(void **state)
{
    fixture *f = *state;
    if (!open_agent(f))
        return;
    berth_autofree char *text = format_job(
        f, "restart", "service",
        "    restart {\n      attempts = 2\n      interval = \"1m\"\n      delay = \"100ms\"\n"
        "      mode = \"fail\"\n    }",
        "      config {\n        image = \"berth-test/busybox:1\"\n        command = \"sh\"\n"
        "        args = [\"-c\", \"echo attempt; exit 3\"]\n      }");
    json_decref(register_job(f, text));
    berth_autofree char *job_id = berth_xasprintf("%s-restart", f->job_id);
    json_t *alloc = wait_task_state(f, job_id, "dead", 60);
    json_t *task = json_object_get(json_object_get(alloc, "TaskStates"), "t");
    assert_true(json_is_true(json_object_get(task, "Failed")));
    assert_int_equal(json_integer_value(json_object_get(task, "Restarts")), 2);
    assert_int_equal(count_events(alloc, "Started"), 3);
    assert_int_equal(count_events(alloc, "Restarting"), 2);
    assert_int_equal(count_events(alloc, "Not Restarting"), 1);
    assert_string_equal(json_string_value(json_object_get(alloc, "ClientStatus")), "failed");
    berth_autofree char *out = read_log(f, alloc, "stdout");
    assert_string_equal(out, "attempt\nattempt\nattempt\n");
    json_decref(alloc);
    berth_agent_close(f->agent);
}

static void agent_reattaches_after_reopen(void **state)
{
    fixture *f = *state;
    if (!open_agent(f))
        return;
    berth_autofree char *text = format_job(
        f, "reattach", "service", "",
        "      kill_timeout = \"1s\"\n      config {\n        image = \"berth-test/busybox:1\"\n"
        "        command = \"sh\"\n"
        "        args = [\"-c\", \"i=0; while true; do echo line-$i; i=$((i+1)); sleep 0.2; "
        "done\"]\n      }");
    json_decref(register_job(f, text));
    berth_autofree char *job_id = berth_xasprintf("%s-reattach", f->job_id);
    json_t *alloc = wait_task_state(f, job_id, "running", 30);
    char *alloc_id = berth_xstrdup(json_string_value(json_object_get(alloc, "ID")));
    json_decref(alloc);
    struct timespec pause = {1, 0};
    nanosleep(&pause, NULL);
    berth_agent_close(f->agent);
    f->agent = NULL;

    /* Output keeps coming while no agent runs. */
    nanosleep(&pause, NULL);
    assert_true(open_agent(f));
    alloc = wait_task_state(f, job_id, "running", 10);
    assert_string_equal(json_string_value(json_object_get(alloc, "ID")), alloc_id);
    assert_int_equal(count_events(alloc, "Started"), 1);
    json_decref(alloc);
    nanosleep(&pause, NULL);

    json_t *reply = NULL;
    berth_error err = BERTH_ERROR_INIT;
    assert_int_equal(berth_agent_stop_job(f->agent, job_id, &reply, &err), 0);
    json_decref(reply);
    alloc = wait_task_state(f, job_id, "dead", 30);
    assert_int_equal(count_events(alloc, "Killed"), 1);

    /* Lines are numbered; the log must hold each exactly once, in order,
     * across the agent's restart. */
    berth_autofree char *out = read_log(f, alloc, "stdout");
    int expected = 0;
    for (char *line = strtok(out, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        char wanted[32];
        snprintf(wanted, sizeof(wanted), "line-%d", expected);
        assert_string_equal(line, wanted);
        expected++;
    }
    assert_true(expected >= 10);
    json_decref(alloc);
    free(alloc_id);
    berth_agent_close(f->agent);
}

static void agent_rejects_invalid_jobs(void **state)
{
    fixture *f = *state;
    if (!open_agent(f))
        return;
    json_t *reply = NULL;
    berth_error err = BERTH_ERROR_INIT;
    json_t *bad = json_pack("{s:s}", "ID", "");
    assert_int_equal(berth_agent_register_job(f->agent, bad, &reply, &err), -1);
    assert_int_equal(err.code, BERTH_E_INVALID);
    json_decref(bad);

    berth_autofree char *text = format_job(
        f, "priv", "batch", "",
        "      config {\n        image = \"berth-test/busybox:1\"\n        privileged = true\n      }");
    json_t *doc = job_from_hcl(text);
    assert_int_equal(berth_agent_register_job(f->agent, doc, &reply, &err), -1);
    assert_int_equal(err.code, BERTH_E_INVALID);
    assert_non_null(strstr(err.message, "docker.privileged.enabled"));
    json_decref(doc);
    berth_agent_close(f->agent);
}

static void agent_reports_oom_kill(void **state)
{
    fixture *f = *state;
    if (!open_agent(f))
        return;
    /* The shell keeps the command's output in memory, well past 16 MB. */
    berth_autofree char *text = format_job(
        f, "oom", "batch",
        "    restart {\n      attempts = 0\n      mode = \"fail\"\n    }",
        "      config {\n        image = \"berth-test/busybox:1\"\n        command = \"sh\"\n"
        "        args = [\"-c\", \"x=$(busybox tr '\\\\000' a < /dev/zero | head -c 200000000); "
        "echo survived\"]\n      }\n      resources {\n        memory = 16\n      }");
    json_decref(register_job(f, text));
    berth_autofree char *job_id = berth_xasprintf("%s-oom", f->job_id);
    json_t *alloc = wait_task_state(f, job_id, "dead", 60);
    assert_int_equal(count_events(alloc, "OOM Killed"), 1);
    json_t *task = json_object_get(json_object_get(alloc, "TaskStates"), "t");
    assert_true(json_is_true(json_object_get(task, "Failed")));
    berth_autofree char *out = read_log(f, alloc, "stdout");
    assert_null(strstr(out, "survived"));
    json_decref(alloc);
    berth_agent_close(f->agent);
}

static void agent_rotates_log_files(void **state)
{
    fixture *f = *state;
    if (!open_agent(f))
        return;
    /* About 3.5 MB of output with 1 MB files and 2 files kept. */
    berth_autofree char *text = format_job(
        f, "rotate", "batch", "",
        "      logs {\n        max_files = 2\n        max_file_size = 1\n      }\n"
        "      config {\n        image = \"berth-test/busybox:1\"\n        command = \"sh\"\n"
        "        args = [\"-c\", \"i=0; while [ $i -lt 35000 ]; do "
        "echo line-$i-0123456789012345678901234567890123456789012345678901234567890123456789"
        "0123456789; i=$((i+1)); done\"]\n      }");
    json_decref(register_job(f, text));
    berth_autofree char *job_id = berth_xasprintf("%s-rotate", f->job_id);
    json_t *alloc = wait_task_state(f, job_id, "dead", 120);
    const char *id = json_string_value(json_object_get(alloc, "ID"));
    char **paths = NULL;
    size_t count = 0;
    berth_error err = BERTH_ERROR_INIT;
    assert_int_equal(berth_agent_log_files(f->agent, id, "t", "stdout", &paths, &count, &err), 0);
    assert_int_equal(count, 2);
    for (size_t i = 0; i < count; i++) {
        struct stat info;
        assert_int_equal(stat(paths[i], &info), 0);
        assert_true(info.st_size <= 1024 * 1024);
        assert_true(info.st_size > 0);
        free(paths[i]);
    }
    free(paths);
    /* The newest file ends with the last line. */
    berth_autofree char *out = read_log(f, alloc, "stdout");
    assert_non_null(strstr(out, "line-34999-"));
    assert_null(strstr(out, "line-0-"));
    json_decref(alloc);
    berth_agent_close(f->agent);
}

static void agent_reports_task_stats(void **state)
{
    fixture *f = *state;
    if (!open_agent(f))
        return;
    berth_autofree char *text = format_job(
        f, "stats", "service", "",
        "      kill_timeout = \"1s\"\n      config {\n        image = \"berth-test/busybox:1\"\n"
        "        command = \"sh\"\n        args = [\"-c\", \"while true; do :; done\"]\n      }");
    json_decref(register_job(f, text));
    berth_autofree char *job_id = berth_xasprintf("%s-stats", f->job_id);
    json_t *alloc = wait_task_state(f, job_id, "running", 30);
    const char *id = json_string_value(json_object_get(alloc, "ID"));
    json_t *stats = NULL;
    berth_error err = BERTH_ERROR_INIT;
    assert_int_equal(berth_agent_allocation_stats(f->agent, id, &stats, &err), 0);
    json_t *usage =
        json_object_get(json_object_get(json_object_get(stats, "Tasks"), "t"), "ResourceUsage");
    assert_non_null(usage);
    double percent = json_real_value(json_object_get(json_object_get(usage, "CpuStats"), "Percent"));
    json_int_t memory =
        json_integer_value(json_object_get(json_object_get(usage, "MemoryStats"), "Usage"));
    /* A busy loop on one core of a small machine. */
    assert_true(percent > 5.0);
    assert_true(percent <= 100.0 * 64);
    assert_true(memory > 0);
    assert_true(memory < 300LL * 1024 * 1024);
    json_decref(stats);

    assert_int_equal(berth_agent_allocation_stats(f->agent, "no-such-alloc", &stats, &err), -1);
    assert_int_equal(err.code, BERTH_E_NOT_FOUND);
    json_t *reply = NULL;
    assert_int_equal(berth_agent_stop_job(f->agent, job_id, &reply, &err), 0);
    json_decref(reply);
    json_decref(alloc);
    alloc = wait_task_state(f, job_id, "dead", 30);
    json_decref(alloc);
    berth_agent_close(f->agent);
}

static void agent_stops_with_kill_signal(void **state)
{
    fixture *f = *state;
    if (!open_agent(f))
        return;
    berth_autofree char *text = format_job(
        f, "signal", "service", "",
        "      kill_signal = \"SIGUSR1\"\n      kill_timeout = \"5s\"\n"
        "      config {\n        image = \"berth-test/busybox:1\"\n        command = \"sh\"\n"
        "        args = [\"-c\", \"trap 'echo got USR1; exit 0' USR1; echo ready; "
        "while true; do sleep 0.1; done\"]\n      }");
    json_decref(register_job(f, text));
    berth_autofree char *job_id = berth_xasprintf("%s-signal", f->job_id);
    json_t *alloc = wait_task_state(f, job_id, "running", 30);
    for (int i = 0; i < 100; i++) {
        berth_autofree char *out = read_log(f, alloc, "stdout");
        if (strstr(out, "ready") != NULL)
            break;
        struct timespec pause = {0, 100 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    json_t *reply = NULL;
    berth_error err = BERTH_ERROR_INIT;
    assert_int_equal(berth_agent_stop_job(f->agent, job_id, &reply, &err), 0);
    json_decref(reply);
    json_decref(alloc);
    alloc = wait_task_state(f, job_id, "dead", 30);
    berth_autofree char *out = read_log(f, alloc, "stdout");
    assert_non_null(strstr(out, "got USR1"));
    assert_int_equal(count_events(alloc, "Killed"), 1);
    json_decref(alloc);
    berth_agent_close(f->agent);
}

static berth_docker *open_docker(void)
{
    berth_docker_config config = {.endpoint = getenv("BERTH_TEST_DOCKER_HOST")};
    berth_docker *docker = NULL;
    berth_error err = BERTH_ERROR_INIT;
    if (berth_docker_open(&config, &docker, &err) < 0)
        fail_msg("docker: %s", err.message);
    return docker;
}

/* Creates and starts a sleeping container with the given labels. */
static char *start_labelled_container(berth_docker *docker, const char *name, json_t *labels)
{
    json_t *body = json_pack("{s:s, s:[s,s], s:o}", "Image", "berth-test/busybox:1", "Cmd",
                             "sleep", "300", "Labels", labels);
    char *id = NULL;
    berth_error err = BERTH_ERROR_INIT;
    if (berth_docker_container_create(docker, name, body, &id, &err) < 0 ||
        berth_docker_container_start(docker, id, &err) < 0)
        fail_msg("container %s: %s", name, err.message);
    json_decref(body);
    return id;
}

static bool container_exists(berth_docker *docker, const char *id)
{
    json_t *inspect = NULL;
    berth_error err = BERTH_ERROR_INIT;
    if (berth_docker_container_inspect(docker, id, &inspect, &err) < 0)
        return false;
    json_decref(inspect);
    return true;
}

static void agent_removes_orphaned_containers(void **state)
{
    fixture *f = *state;
    if (f == NULL) {
        skip();
        return;
    }
    f->options.orphan_grace_ms = 1000;
    assert_true(open_agent(f));
    berth_autofree char *node_id_path = berth_xasprintf("%s/node-id", f->data_dir);
    berth_autofree char *node_id = NULL;
    berth_error err = BERTH_ERROR_INIT;
    assert_int_equal(berth_read_file(node_id_path, 64, &node_id, NULL, &err), 0);
    node_id[strcspn(node_id, "\n")] = '\0';

    berth_docker *docker = open_docker();
    berth_autofree char *orphan_job = berth_xasprintf("%s-orphan", f->job_id);
    berth_autofree char *foreign_job = berth_xasprintf("%s-foreign", f->job_id);
    berth_autofree char *orphan_name = berth_xasprintf("%s-orphan", f->job_id);
    berth_autofree char *foreign_name = berth_xasprintf("%s-foreign", f->job_id);
    /* Both carry berth.job so the teardown finds them; only the first has
     * this agent's label. */
    berth_autofree char *orphan = start_labelled_container(
        docker, orphan_name,
        json_pack("{s:s, s:s}", "berth.agent", node_id, "berth.job", orphan_job));
    berth_autofree char *foreign =
        start_labelled_container(docker, foreign_name, json_pack("{s:s}", "berth.job", foreign_job));

    bool removed = false;
    for (int i = 0; i < 300 && !removed; i++) {
        removed = !container_exists(docker, orphan);
        struct timespec pause = {0, 100 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    assert_true(removed);
    assert_true(container_exists(docker, foreign));
    berth_docker_close(docker);
    berth_agent_close(f->agent);
}

static void agent_handles_exit_while_down(void **state)
{
    fixture *f = *state;
    if (!open_agent(f))
        return;
    berth_autofree char *text = format_job(
        f, "down", "service", "    restart {\n      attempts = 0\n      mode = \"fail\"\n    }",
        "      config {\n        image = \"berth-test/busybox:1\"\n        command = \"sh\"\n"
        "        args = [\"-c\", \"sleep 2; exit 5\"]\n      }");
    json_decref(register_job(f, text));
    berth_autofree char *job_id = berth_xasprintf("%s-down", f->job_id);
    json_t *alloc = wait_task_state(f, job_id, "running", 30);
    json_decref(alloc);
    berth_agent_close(f->agent);
    f->agent = NULL;

    /* The container exits while no agent runs. */
    berth_docker *docker = open_docker();
    berth_autofree char *filters = berth_xasprintf("{\"label\":[\"berth.job=%s\"]}", job_id);
    bool exited = false;
    for (int i = 0; i < 150 && !exited; i++) {
        json_t *list = NULL;
        berth_error err = BERTH_ERROR_INIT;
        if (berth_docker_container_list(docker, filters, &list, &err) == 0) {
            const char *state_text = json_string_value(json_object_get(json_array_get(list, 0), "State"));
            exited = state_text != NULL && strcmp(state_text, "exited") == 0;
            json_decref(list);
        }
        struct timespec pause = {0, 100 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    assert_true(exited);

    assert_true(open_agent(f));
    alloc = wait_task_state(f, job_id, "dead", 30);
    json_t *task = json_object_get(json_object_get(alloc, "TaskStates"), "t");
    assert_true(json_is_true(json_object_get(task, "Failed")));
    assert_int_equal(count_events(alloc, "Started"), 1);
    assert_int_equal(count_events(alloc, "Terminated"), 1);
    assert_int_equal(count_events(alloc, "Not Restarting"), 1);
    const json_t *events = json_object_get(task, "Events");
    bool exit_five = false;
    size_t index;
    const json_t *event;
    json_array_foreach(events, index, event)
    {
        if (strcmp(json_string_value(json_object_get(event, "Type")), "Terminated") == 0)
            exit_five = json_integer_value(json_object_get(event, "ExitCode")) == 5;
    }
    assert_true(exit_five);
    /* The exited container is removed once its exit is recorded. */
    for (int i = 0; i < 100; i++) {
        json_t *list = NULL;
        berth_error err = BERTH_ERROR_INIT;
        size_t count = 1;
        if (berth_docker_container_list(docker, filters, &list, &err) == 0) {
            count = json_array_size(list);
            json_decref(list);
        }
        if (count == 0)
            break;
        struct timespec pause = {0, 100 * 1000 * 1000};
        nanosleep(&pause, NULL);
        assert_true(i < 99);
    }
    json_decref(alloc);
    berth_docker_close(docker);
    berth_agent_close(f->agent);
}

static void agent_restart_policy_delay_mode(void **state)
{
    fixture *f = *state;
    if (!open_agent(f))
        return;
    berth_autofree char *text = format_job(
        f, "delay", "service",
        "    restart {\n      attempts = 1\n      interval = \"2s\"\n      delay = \"100ms\"\n"
        "      mode = \"delay\"\n    }",
        "      config {\n        image = \"berth-test/busybox:1\"\n        command = \"sh\"\n"
        "        args = [\"-c\", \"exit 1\"]\n      }");
    json_decref(register_job(f, text));
    berth_autofree char *job_id = berth_xasprintf("%s-delay", f->job_id);

    /* Mode delay never gives up: after the attempt it waits out the rest of
     * the interval and tries again. */
    json_t *alloc = NULL;
    for (int i = 0; i < 150; i++) {
        alloc = first_alloc(f, job_id);
        json_t *task = json_object_get(json_object_get(alloc, "TaskStates"), "t");
        if (json_integer_value(json_object_get(task, "Restarts")) >= 3)
            break;
        json_decref(alloc);
        alloc = NULL;
        struct timespec pause = {0, 100 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    assert_non_null(alloc);
    assert_int_equal(count_events(alloc, "Not Restarting"), 0);
    assert_string_not_equal(task_field(alloc, "State"), "dead");
    json_decref(alloc);

    json_t *reply = NULL;
    berth_error err = BERTH_ERROR_INIT;
    assert_int_equal(berth_agent_stop_job(f->agent, job_id, &reply, &err), 0);
    json_decref(reply);
    alloc = wait_task_state(f, job_id, "dead", 30);
    json_decref(alloc);
    berth_agent_close(f->agent);
}

static void agent_tty_task_logs_raw(void **state)
{
    fixture *f = *state;
    if (!open_agent(f))
        return;
    /* With a TTY the engine merges the two streams into one raw stream. */
    berth_autofree char *text = format_job(
        f, "tty", "batch", "",
        "      config {\n        image = \"berth-test/busybox:1\"\n        tty = true\n"
        "        command = \"sh\"\n        args = [\"-c\", \"echo to-out; echo to-err >&2\"]\n      }");
    json_decref(register_job(f, text));
    berth_autofree char *job_id = berth_xasprintf("%s-tty", f->job_id);
    json_t *alloc = wait_task_state(f, job_id, "dead", 30);
    berth_autofree char *out = read_log(f, alloc, "stdout");
    berth_autofree char *err_text = read_log(f, alloc, "stderr");
    assert_non_null(strstr(out, "to-out"));
    assert_non_null(strstr(out, "to-err"));
    assert_string_equal(err_text, "");
    json_decref(alloc);
    berth_agent_close(f->agent);
}

static void agent_records_driver_failure(void **state)
{
    fixture *f = *state;
    if (!open_agent(f))
        return;
    berth_autofree char *text = format_job(
        f, "nostart", "batch",
        "    restart {\n      attempts = 1\n      delay = \"100ms\"\n      mode = \"fail\"\n    }",
        "      config {\n        image = \"berth-test/busybox:1\"\n"
        "        command = \"/no/such/program\"\n      }");
    json_decref(register_job(f, text));
    berth_autofree char *job_id = berth_xasprintf("%s-nostart", f->job_id);
    json_t *alloc = wait_task_state(f, job_id, "dead", 30);
    assert_int_equal(count_events(alloc, "Driver Failure"), 2);
    assert_int_equal(count_events(alloc, "Restarting"), 1);
    assert_int_equal(count_events(alloc, "Not Restarting"), 1);
    assert_int_equal(count_events(alloc, "Started"), 0);
    json_t *task = json_object_get(json_object_get(alloc, "TaskStates"), "t");
    assert_true(json_is_true(json_object_get(task, "Failed")));
    const json_t *first = json_array_get(json_object_get(task, "Events"), 1);
    assert_non_null(strstr(json_string_value(json_object_get(first, "DisplayMessage")),
                           "/no/such/program"));
    json_decref(alloc);
    berth_agent_close(f->agent);
}

/* Polls until count_events(type) reaches at least minimum. */
static json_t *wait_events(fixture *f, const char *job_id, const char *type, size_t minimum,
                           int seconds)
{
    for (int i = 0; i < seconds * 10; i++) {
        json_t *alloc = first_alloc(f, job_id);
        if (count_events(alloc, type) >= minimum)
            return alloc;
        json_decref(alloc);
        struct timespec pause = {0, 100 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    fail_msg("fewer than %zu %s events after %d s", minimum, type, seconds);
    return NULL;
}

static void agent_restart_delay_survives_agent_restart(void **state)
{
    fixture *f = *state;
    if (!open_agent(f))
        return;
    berth_autofree char *text = format_job(
        f, "pending", "service",
        "    restart {\n      attempts = 3\n      interval = \"1m\"\n      delay = \"2s\"\n"
        "      mode = \"fail\"\n    }",
        "      config {\n        image = \"berth-test/busybox:1\"\n        command = \"sh\"\n"
        "        args = [\"-c\", \"exit 3\"]\n      }");
    json_decref(register_job(f, text));
    berth_autofree char *job_id = berth_xasprintf("%s-pending", f->job_id);
    json_t *alloc = wait_events(f, job_id, "Restarting", 1, 30);
    /* While it waits to restart, the task is pending, not running. */
    assert_string_equal(task_field(alloc, "State"), "pending");
    json_decref(alloc);
    berth_agent_close(f->agent);
    f->agent = NULL;

    assert_true(open_agent(f));
    alloc = first_alloc(f, job_id);
    assert_string_not_equal(task_field(alloc, "State"), "dead");
    assert_string_not_equal(json_string_value(json_object_get(alloc, "ClientStatus")), "complete");
    assert_int_equal(count_events(alloc, "Driver Failure"), 0);
    json_decref(alloc);
    /* The resumed task starts again and keeps failing by its policy. */
    alloc = wait_events(f, job_id, "Started", 2, 30);
    assert_int_equal(count_events(alloc, "Driver Failure"), 0);
    json_decref(alloc);

    json_t *reply = NULL;
    berth_error err = BERTH_ERROR_INIT;
    assert_int_equal(berth_agent_stop_job(f->agent, job_id, &reply, &err), 0);
    json_decref(reply);
    alloc = wait_task_state(f, job_id, "dead", 30);
    json_decref(alloc);
    berth_agent_close(f->agent);
}

static void agent_keeps_unchanged_job(void **state)
{
    fixture *f = *state;
    if (!open_agent(f))
        return;
    berth_autofree char *text = format_job(
        f, "same", "service", "",
        "      kill_timeout = \"1s\"\n      config {\n        image = \"berth-test/busybox:1\"\n"
        "        command = \"sleep\"\n        args = [\"300\"]\n      }");
    json_t *doc = register_job(f, text);
    berth_autofree char *job_id = berth_xasprintf("%s-same", f->job_id);
    json_t *alloc = wait_task_state(f, job_id, "running", 30);
    berth_autofree char *alloc_id = berth_xstrdup(json_string_value(json_object_get(alloc, "ID")));
    json_decref(alloc);

    json_t *reply = NULL;
    berth_error err = BERTH_ERROR_INIT;
    assert_int_equal(berth_agent_register_job(f->agent, doc, &reply, &err), 0);
    json_decref(reply);
    json_t *list = NULL;
    assert_int_equal(berth_agent_job_allocations(f->agent, job_id, &list, &err), 0);
    assert_int_equal(json_array_size(list), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "ID")),
                        alloc_id);
    json_decref(list);

    /* The submit time survives the agent's restart. */
    json_t *jobs = NULL;
    assert_int_equal(berth_agent_list_jobs(f->agent, &jobs, &err), 0);
    json_int_t submitted = json_integer_value(json_object_get(json_array_get(jobs, 0), "SubmitTime"));
    assert_true(submitted > 0);
    json_decref(jobs);
    berth_agent_close(f->agent);
    f->agent = NULL;
    assert_true(open_agent(f));
    assert_int_equal(berth_agent_list_jobs(f->agent, &jobs, &err), 0);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(jobs, 0), "SubmitTime")),
                     submitted);
    json_decref(jobs);

    assert_int_equal(berth_agent_stop_job(f->agent, job_id, &reply, &err), 0);
    json_decref(reply);
    alloc = wait_task_state(f, job_id, "dead", 30);
    json_decref(alloc);
    json_decref(doc);
    berth_agent_close(f->agent);
}

static void agent_rejects_foreign_datacenter(void **state)
{
    fixture *f = *state;
    if (!open_agent(f))
        return;
    berth_autofree char *text = berth_xasprintf(
        "job \"%s-dc\" {\n  datacenters = [\"eu-west\"]\n  task \"t\" {\n"
        "    driver = \"docker\"\n    config { image = \"berth-test/busybox:1\" }\n  }\n}\n",
        f->job_id);
    json_t *doc = job_from_hcl(text);
    json_t *reply = NULL;
    berth_error err = BERTH_ERROR_INIT;
    assert_int_equal(berth_agent_register_job(f->agent, doc, &reply, &err), -1);
    assert_int_equal(err.code, BERTH_E_INVALID);
    assert_non_null(strstr(err.message, "does not list this agent's datacenter \"dc1\""));
    json_decref(doc);
    berth_agent_close(f->agent);
}

static void agent_stops_task_still_starting(void **state)
{
    fixture *f = *state;
    if (!open_agent(f))
        return;
    berth_autofree char *text = format_job(
        f, "early", "service", "",
        "      kill_timeout = \"1s\"\n      config {\n        image = \"berth-test/busybox:1\"\n"
        "        command = \"sleep\"\n        args = [\"300\"]\n      }");
    json_decref(register_job(f, text));
    berth_autofree char *job_id = berth_xasprintf("%s-early", f->job_id);
    /* Stop at once, while the task is still being started. */
    json_t *reply = NULL;
    berth_error err = BERTH_ERROR_INIT;
    assert_int_equal(berth_agent_stop_job(f->agent, job_id, &reply, &err), 0);
    json_decref(reply);
    json_t *alloc = wait_task_state(f, job_id, "dead", 30);
    json_decref(alloc);

    berth_docker *docker = open_docker();
    berth_autofree char *filters = berth_xasprintf("{\"label\":[\"berth.job=%s\"]}", job_id);
    json_t *list = NULL;
    assert_int_equal(berth_docker_container_list(docker, filters, &list, &err), 0);
    assert_int_equal(json_array_size(list), 0);
    json_decref(list);
    berth_docker_close(docker);
    berth_agent_close(f->agent);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(agent_batch_task_completes, setup, teardown),
        cmocka_unit_test_setup_teardown(agent_restart_policy_fail_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(agent_reattaches_after_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(agent_rejects_invalid_jobs, setup, teardown),
        cmocka_unit_test_setup_teardown(agent_reports_oom_kill, setup, teardown),
        cmocka_unit_test_setup_teardown(agent_rotates_log_files, setup, teardown),
        cmocka_unit_test_setup_teardown(agent_reports_task_stats, setup, teardown),
        cmocka_unit_test_setup_teardown(agent_stops_with_kill_signal, setup, teardown),
        cmocka_unit_test_setup_teardown(agent_removes_orphaned_containers, setup, teardown),
        cmocka_unit_test_setup_teardown(agent_handles_exit_while_down, setup, teardown),
        cmocka_unit_test_setup_teardown(agent_restart_policy_delay_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(agent_tty_task_logs_raw, setup, teardown),
        cmocka_unit_test_setup_teardown(agent_records_driver_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(agent_restart_delay_survives_agent_restart, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(agent_keeps_unchanged_job, setup, teardown),
        cmocka_unit_test_setup_teardown(agent_rejects_foreign_datacenter, setup, teardown),
        cmocka_unit_test_setup_teardown(agent_stops_task_still_starting, setup, teardown),
    };
    return cmocka_run_group_tests_name("agent_engine", tests, NULL, NULL);
}
