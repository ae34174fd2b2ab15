#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "job/job.h"

static berth_job *load(const char *text, berth_job_diagnostics *diagnostics, berth_error *err)
{
    memset(diagnostics, 0, sizeof(*diagnostics));
    berth_job *job = NULL;
    if (berth_job_load_hcl("job.hcl", text, strlen(text), NULL, &job, diagnostics, err) < 0)
        return NULL;
    return job;
}

static bool has_message(char **messages, size_t count, const char *expected)
{
    for (size_t i = 0; i < count; i++) {
        if (strcmp(messages[i], expected) == 0)
            return true;
    }
    return false;
}

static void assert_error(const berth_job_diagnostics *diagnostics, const char *expected)
{
    if (!has_message(diagnostics->errors, diagnostics->error_count, expected)) {
        for (size_t i = 0; i < diagnostics->error_count; i++)
            print_message("error: %s\n", diagnostics->errors[i]);
        fail_msg("missing error: %s", expected);
    }
}

static const char hcl1_job[] = "job \"example\" {\n"
                               "  datacenters = [\"dc1\", \"dc2\"]\n"
                               "  type = \"batch\"\n"
                               "  meta { owner = \"team\" }\n"
                               "  group \"cache\" {\n"
                               "    count = \"3\"\n"
                               "    task \"redis\" {\n"
                               "      driver = \"docker\"\n"
                               "      kill_timeout = \"20s\"\n"
                               "      config = {\n"
                               "        image = \"redis:7\"\n"
                               "        port_map = {\n"
                               "          redis = 6379\n"
                               "        }\n"
                               "        args = [\"${NOMAD_PORT_redis}\"]\n"
                               "      }\n"
                               "      env { PORT = \"${NOMAD_PORT_redis}\" }\n"
                               "      resources {\n"
                               "        cpu = 500\n"
                               "        memory = 256\n"
                               "        network {\n"
                               "          mbits = 20\n"
                               "          port \"redis\" {}\n"
                               "          port \"admin\" { static = 8081 }\n"
                               "        }\n"
                               "      }\n"
                               "    }\n"
                               "  }\n"
                               "}\n";

static void job_decodes_hcl1_file(void **state)
{
    (void)state;
    berth_job_diagnostics diagnostics;
    berth_error err = BERTH_ERROR_INIT;
    berth_job *job = load(hcl1_job, &diagnostics, &err);
    if (job == NULL)
        fail_msg("%s", err.message);
    assert_string_equal(job->name, "example");
    assert_string_equal(job->type, "batch");
    assert_int_equal(job->datacenter_count, 2);
    assert_string_equal(job->datacenters[1], "dc2");
    assert_string_equal(berth_value_map_get(job->meta, "owner")->as.string, "team");
    assert_int_equal(job->group_count, 1);

    const berth_job_group *group = &job->groups[0];
    assert_string_equal(group->name, "cache");
    assert_int_equal(group->count, 3);
    assert_int_equal(group->restart.attempts, 3);
    assert_string_equal(group->restart.mode, "fail");
    assert_int_equal(group->task_count, 1);

    const berth_job_task *task = &group->tasks[0];
    assert_string_equal(task->name, "redis");
    assert_string_equal(task->driver, "docker");
    assert_int_equal(task->kill_timeout_ms, 20000);
    assert_int_equal(task->resources.cpu_mhz, 500);
    assert_int_equal(task->resources.memory_mb, 256);
    assert_int_equal(task->resources.network_count, 1);
    const berth_job_network *network = &task->resources.networks[0];
    assert_int_equal(network->mbits, 20);
    assert_int_equal(network->port_count, 2);
    assert_string_equal(network->ports[0].label, "redis");
    assert_int_equal(network->ports[0].static_port, 0);
    assert_string_equal(network->ports[1].label, "admin");
    assert_int_equal(network->ports[1].static_port, 8081);

    const berth_value *image = berth_value_map_get(task->config, "image");
    assert_string_equal(image->as.string, "redis:7");
    assert_string_equal(image->origin, "job.hcl:11:17");
    const berth_value *port_map = berth_value_map_get(task->config, "port_map");
    assert_int_equal(berth_value_map_get(port_map, "redis")->as.number.integer, 6379);
    const berth_value *args = berth_value_map_get(task->config, "args");
    assert_string_equal(args->as.list.items[0]->as.string, "${NOMAD_PORT_redis}");
    assert_string_equal(berth_value_map_get(task->env, "PORT")->as.string, "${NOMAD_PORT_redis}");

    berth_job_free(job);
    berth_job_diagnostics_free(&diagnostics);
}

static void job_hcl2_blocks_match_hcl1(void **state)
{
    (void)state;
    static const char hcl2[] = "job \"example\" {\n"
                               "  group \"web\" {\n"
                               "    task \"web\" {\n"
                               "      driver = \"docker\"\n"
                               "      config {\n"
                               "        image = \"app:1\"\n"
                               "        labels { a = \"1\" }\n"
                               "        labels { b = \"2\" }\n"
                               "        auth {\n"
                               "          username = \"u\"\n"
                               "        }\n"
                               "      }\n"
                               "    }\n"
                               "  }\n"
                               "}\n";
    berth_job_diagnostics diagnostics;
    berth_error err = BERTH_ERROR_INIT;
    berth_job *job = load(hcl2, &diagnostics, &err);
    if (job == NULL)
        fail_msg("%s", err.message);
    const berth_value *config = job->groups[0].tasks[0].config;
    const berth_value *labels = berth_value_map_get(config, "labels");
    assert_int_equal(labels->kind, BERTH_VALUE_LIST);
    assert_int_equal(labels->as.list.length, 2);
    const berth_value *auth = berth_value_map_get(config, "auth");
    assert_string_equal(berth_value_map_get(auth, "username")->as.string, "u");
    assert_int_equal(job->groups[0].count, 1);
    assert_int_equal(job->groups[0].restart.attempts, 2);
    assert_int_equal(job->groups[0].tasks[0].kill_timeout_ms, 5000);
    assert_int_equal(job->groups[0].tasks[0].resources.cpu_mhz, 100);
    assert_int_equal(job->groups[0].tasks[0].resources.memory_mb, 300);
    berth_job_free(job);
    berth_job_diagnostics_free(&diagnostics);
}

static void job_task_outside_group(void **state)
{
    (void)state;
    static const char text[] = "job \"solo\" {\n"
                               "  task \"only\" {\n"
                               "    driver = \"docker\"\n"
                               "    config { image = \"app:1\" }\n"
                               "  }\n"
                               "}\n";
    berth_job_diagnostics diagnostics;
    berth_error err = BERTH_ERROR_INIT;
    berth_job *job = load(text, &diagnostics, &err);
    if (job == NULL)
        fail_msg("%s", err.message);
    assert_int_equal(job->group_count, 1);
    assert_string_equal(job->groups[0].name, "only");
    assert_string_equal(job->groups[0].tasks[0].name, "only");
    berth_job_free(job);
    berth_job_diagnostics_free(&diagnostics);
}

static void job_reports_every_error(void **state)
{
    (void)state;
    static const char text[] = "job \"bad\" {\n"                /* 1 */
                               "  type = \"daemon\"\n"          /* 2 */
                               "  group \"g\" {\n"              /* 3 */
                               "    count = -1\n"               /* 4 */
                               "    task \"a\" {\n"             /* 5 */
                               "      driver = \"exec\"\n"      /* 6 */
                               "      kill_timeout = \"soon\"\n" /* 7 */
                               "      resources { cpu = \"x\" }\n" /* 8 */
                               "      colour = \"blue\"\n"      /* 9 */
                               "    }\n"                        /* 10 */
                               "    task \"a\" {\n"             /* 11 */
                               "      driver = \"docker\"\n"    /* 12 */
                               "      config { image = \"x\" }\n" /* 13 */
                               "    }\n"                        /* 14 */
                               "    task \"b\" {\n"             /* 15 */
                               "      driver = \"docker\"\n"    /* 16 */
                               "    }\n"                        /* 17 */
                               "  }\n"                          /* 18 */
                               "}\n";
    berth_job_diagnostics diagnostics;
    berth_error err = BERTH_ERROR_INIT;
    assert_null(load(text, &diagnostics, &err));
    assert_int_equal(err.code, BERTH_E_INVALID);
    assert_error(&diagnostics,
                 "job.hcl:2:10: job type \"daemon\" is invalid; use \"service\", \"batch\" or "
                 "\"system\"");
    assert_error(&diagnostics, "job.hcl:4:13: \"count\" is -1; it must be from 0 to 1000");
    assert_error(&diagnostics,
                 "job.hcl:5:5: task \"a\" uses driver \"exec\"; berth runs only driver \"docker\"");
    assert_error(&diagnostics, "job.hcl:7:22: \"kill_timeout\" must be a duration such as "
                               "\"5s\", \"250ms\" or \"1m30s\"");
    assert_error(&diagnostics, "job.hcl:8:25: \"cpu\" must be a whole number");
    assert_error(&diagnostics,
                 "job.hcl:9:7: unknown key \"colour\" in task; allowed keys are driver, config, "
                 "env, meta, user, kill_timeout, kill_signal, resources, logs, artifact");
    assert_error(&diagnostics, "job.hcl:11:5: task \"a\" is declared twice in group \"g\"");
    assert_error(&diagnostics, "job.hcl:15:5: task \"b\" has no config block; the docker "
                               "driver needs at least config { image = \"...\" }");
    assert_int_equal(diagnostics.error_count, 8);
    berth_job_diagnostics_free(&diagnostics);
}

static void job_rejects_unknown_kill_signal(void **state)
{
    (void)state;
    static const char text[] = "job \"k\" {\n"
                               "  task \"t\" {\n"
                               "    driver = \"docker\"\n"
                               "    kill_signal = \"SIGFOO\"\n"
                               "    config { image = \"x:1\" }\n"
                               "  }\n"
                               "}\n";
    berth_job_diagnostics diagnostics;
    berth_error err = BERTH_ERROR_INIT;
    assert_null(load(text, &diagnostics, &err));
    assert_error(&diagnostics, "job.hcl:4:19: kill_signal \"SIGFOO\" is not a signal name; use "
                               "one such as \"SIGINT\", \"SIGTERM\" or \"SIGUSR1\"");
    berth_job_diagnostics_free(&diagnostics);
    assert_true(berth_signal_name_valid("SIGINT"));
    assert_true(berth_signal_name_valid("SIGUSR1"));
    assert_false(berth_signal_name_valid("INT"));
    assert_false(berth_signal_name_valid("SIG"));
    assert_false(berth_signal_name_valid(""));
}

static void job_rejects_bad_task_names_and_memory(void **state)
{
    (void)state;
    static const char text[] = "job \"n\" {\n"
                               "  group \"g\" {\n"
                               "    task \"t x/y\" {\n"
                               "      driver = \"docker\"\n"
                               "      config { image = \"x:1\" }\n"
                               "      resources { memory = 6 }\n"
                               "    }\n"
                               "  }\n"
                               "}\n";
    berth_job_diagnostics diagnostics;
    berth_error err = BERTH_ERROR_INIT;
    assert_null(load(text, &diagnostics, &err));
    assert_error(&diagnostics,
                 "job.hcl:3:5: task name \"t x/y\" is invalid; use 1 to 128 letters, digits, "
                 "'_', '.' or '-', starting with a letter or digit, because the name becomes "
                 "part of the container's name");
    assert_error(&diagnostics, "job.hcl:6:28: \"memory\" is 6; it must be from 10 to 100000000");
    berth_job_diagnostics_free(&diagnostics);
    assert_true(berth_task_name_valid("web-1.a_b"));
    assert_false(berth_task_name_valid("-web"));
    assert_false(berth_task_name_valid(""));
}

static void job_ignored_keys_warn(void **state)
{
    (void)state;
    static const char text[] = "job \"w\" {\n"
                               "  update { stagger = \"10s\" }\n"
                               "  group \"g\" {\n"
                               "    task \"t\" {\n"
                               "      driver = \"docker\"\n"
                               "      config { image = \"x:1\" }\n"
                               "      service { name = \"web\" }\n"
                               "    }\n"
                               "  }\n"
                               "}\n";
    berth_job_diagnostics diagnostics;
    berth_error err = BERTH_ERROR_INIT;
    berth_job *job = load(text, &diagnostics, &err);
    if (job == NULL)
        fail_msg("%s", err.message);
    assert_int_equal(diagnostics.warning_count, 2);
    assert_true(has_message(diagnostics.warnings, diagnostics.warning_count,
                            "job.hcl:2:3: job \"w\": \"update\" is accepted and ignored"));
    assert_true(has_message(diagnostics.warnings, diagnostics.warning_count,
                            "job.hcl:7:7: task \"t\": \"service\" is accepted and ignored"));
    berth_job_free(job);
    berth_job_diagnostics_free(&diagnostics);
}

static void job_syntax_error_has_position(void **state)
{
    (void)state;
    berth_job_diagnostics diagnostics;
    berth_error err = BERTH_ERROR_INIT;
    assert_null(load("job \"x\" {\n  group \"g\" {\n", &diagnostics, &err));
    assert_int_equal(diagnostics.error_count, 1);
    assert_true(strncmp(diagnostics.errors[0], "job.hcl:", 8) == 0);
    berth_job_diagnostics_free(&diagnostics);

    assert_null(load("", &diagnostics, &err));
    assert_error(&diagnostics,
                 "job.hcl:1:1: no job block found; a job file contains job \"NAME\" { ... }");
    berth_job_diagnostics_free(&diagnostics);
}

static void job_parses_durations(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int64_t ms;
    } valid[] = {
        {"5s", 5000}, {"250ms", 250}, {"1m30s", 90000}, {"2h", 7200000}, {"1.5s", 1500},
        {"0", 0},     {"500us", 0},   {"1h1m1s", 3661000},
    };
    for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
        int64_t ms = -1;
        if (!berth_parse_duration_ms(valid[i].text, &ms))
            fail_msg("rejected %s", valid[i].text);
        assert_int_equal(ms, valid[i].ms);
    }
    static const char *const invalid[] = {"", "5", "s", "5x", "-1s", "5 s", "1.2.3s"};
    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
        int64_t ms = 0;
        if (berth_parse_duration_ms(invalid[i], &ms))
            fail_msg("accepted %s", invalid[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(job_decodes_hcl1_file),
        cmocka_unit_test(job_hcl2_blocks_match_hcl1),
        cmocka_unit_test(job_task_outside_group),
        cmocka_unit_test(job_reports_every_error),
        cmocka_unit_test(job_ignored_keys_warn),
        cmocka_unit_test(job_rejects_unknown_kill_signal),
        cmocka_unit_test(job_rejects_bad_task_names_and_memory),
        cmocka_unit_test(job_syntax_error_has_position),
        cmocka_unit_test(job_parses_durations),
    };
    return cmocka_run_group_tests_name("job", tests, NULL, NULL);
}
