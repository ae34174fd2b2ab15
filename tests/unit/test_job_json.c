#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/util.h"
#include "job/job.h"

/* A docker job in the shape `nomad job run -output` prints for an HCL
 * job: many fields of the API structs, most of them null. Written by hand
 * from Nomad's api package, not captured from a Nomad binary. */
static const char nomad_output[] =
    "{\n"
    "  \"Job\": {\n"
    "    \"Region\": null, \"Namespace\": null, \"ID\": \"cache\", \"Name\": \"cache\",\n"
    "    \"Type\": \"service\", \"Priority\": 70, \"AllAtOnce\": null,\n"
    "    \"Datacenters\": [\"dc1\", \"dc2\"], \"NodePool\": null, \"Constraints\": null,\n"
    "    \"Affinities\": null, \"Spreads\": null, \"Update\": null, \"Multiregion\": null,\n"
    "    \"Periodic\": null, \"ParameterizedJob\": null, \"Reschedule\": null,\n"
    "    \"Migrate\": null, \"Meta\": {\"owner\": \"team-a\"}, \"ConsulToken\": null,\n"
    "    \"VaultToken\": null, \"Stop\": null, \"ParentID\": null, \"Dispatched\": false,\n"
    "    \"DispatchIdempotencyToken\": null, \"Payload\": null, \"ConsulNamespace\": null,\n"
    "    \"VaultNamespace\": null, \"NomadTokenID\": null, \"Status\": null,\n"
    "    \"StatusDescription\": null, \"Stable\": null, \"Version\": null,\n"
    "    \"SubmitTime\": null, \"CreateIndex\": null, \"ModifyIndex\": null,\n"
    "    \"JobModifyIndex\": null,\n"
    "    \"TaskGroups\": [{\n"
    "      \"Name\": \"cache\", \"Count\": 2, \"Constraints\": null, \"Affinities\": null,\n"
    "      \"Spreads\": null, \"Volumes\": null,\n"
    "      \"RestartPolicy\": {\"Interval\": 1800000000000, \"Attempts\": 5,\n"
    "                        \"Delay\": 25000000000, \"Mode\": \"delay\",\n"
    "                        \"RenderTemplates\": null},\n"
    "      \"ReschedulePolicy\": null, \"EphemeralDisk\": null, \"Update\": null,\n"
    "      \"Migrate\": null, \"Networks\": null, \"Meta\": {\"zone\": \"a\"},\n"
    "      \"Services\": null, \"ShutdownDelay\": null, \"StopAfterClientDisconnect\": null,\n"
    "      \"MaxClientDisconnect\": null, \"Scaling\": null, \"Consul\": null,\n"
    "      \"Tasks\": [{\n"
    "        \"Name\": \"redis\", \"Driver\": \"docker\", \"User\": \"\",\n"
    "        \"Lifecycle\": null,\n"
    "        \"Config\": {\n"
    "          \"image\": \"redis:7\",\n"
    "          \"args\": [\"--port\", \"${NOMAD_PORT_db}\"],\n"
    "          \"port_map\": [{\"db\": 6379}],\n"
    "          \"labels\": [{\"tier\": \"cache\"}]\n"
    "        },\n"
    "        \"Constraints\": null, \"Affinities\": null,\n"
    "        \"Env\": {\"REDIS_PORT\": \"${NOMAD_PORT_db}\", \"MODE\": \"primary\"},\n"
    "        \"Services\": null,\n"
    "        \"Resources\": {\n"
    "          \"CPU\": 500, \"Cores\": null, \"MemoryMB\": 256, \"MemoryMaxMB\": null,\n"
    "          \"DiskMB\": null, \"Networks\": [{\n"
    "            \"Mode\": \"\", \"Device\": \"\", \"CIDR\": \"\", \"IP\": \"\", \"DNS\": null,\n"
    "            \"ReservedPorts\": [{\"Label\": \"admin\", \"Value\": 8081, \"To\": 0,\n"
    "                               \"HostNetwork\": \"default\"}],\n"
    "            \"DynamicPorts\": [{\"Label\": \"db\", \"Value\": 0, \"To\": 0,\n"
    "                              \"HostNetwork\": \"default\"}],\n"
    "            \"MBits\": 20\n"
    "          }],\n"
    "          \"Devices\": null, \"IOPS\": null\n"
    "        },\n"
    "        \"RestartPolicy\": null, \"Meta\": {\"version\": \"7\"},\n"
    "        \"KillTimeout\": 20000000000,\n"
    "        \"LogConfig\": {\"MaxFiles\": 3, \"MaxFileSizeMB\": 15, \"Disabled\": false},\n"
    "        \"Artifacts\": [{\"GetterSource\": \"https://example.com/app.tar.gz\",\n"
    "                       \"GetterOptions\": {\"archive\": \"false\"},\n"
    "                       \"GetterHeaders\": null, \"GetterMode\": \"any\",\n"
    "                       \"RelativeDest\": \"local/app\"}],\n"
    "        \"Vault\": null, \"Templates\": [], \"DispatchPayload\": null,\n"
    "        \"VolumeMounts\": null, \"Leader\": false, \"ShutdownDelay\": 0,\n"
    "        \"KillSignal\": \"SIGINT\", \"Kind\": \"\", \"ScalingPolicies\": null,\n"
    "        \"Identity\": null\n"
    "      }]\n"
    "    }]\n"
    "  }\n"
    "}\n";

static json_t *parse(const char *text)
{
    json_error_t json_error;
    json_t *json = json_loads(text, 0, &json_error);
    if (json == NULL)
        fail_msg("test JSON is invalid: %d:%d: %s", json_error.line, json_error.column,
                 json_error.text);
    return json;
}

/* Loads text with origin "job.json"; returns NULL (err filled) on failure. */
static berth_job *load(const char *text, berth_job_diagnostics *diagnostics, berth_error *err)
{
    memset(diagnostics, 0, sizeof(*diagnostics));
    json_t *json = parse(text);
    berth_job *job = NULL;
    int rc = berth_job_load_json("job.json", json, &job, diagnostics, err);
    json_decref(json);
    return rc < 0 ? NULL : job;
}

static bool has_message(char **messages, size_t count, const char *expected)
{
    for (size_t i = 0; i < count; i++) {
        if (strcmp(messages[i], expected) == 0)
            return true;
    }
    return false;
}

static void print_diagnostics(const berth_job_diagnostics *diagnostics)
{
    for (size_t i = 0; i < diagnostics->error_count; i++)
        print_message("error: %s\n", diagnostics->errors[i]);
    for (size_t i = 0; i < diagnostics->warning_count; i++)
        print_message("warning: %s\n", diagnostics->warnings[i]);
}

static void assert_error(const berth_job_diagnostics *diagnostics, const char *expected)
{
    if (!has_message(diagnostics->errors, diagnostics->error_count, expected)) {
        print_diagnostics(diagnostics);
        fail_msg("missing error: %s", expected);
    }
}

static void assert_warning(const berth_job_diagnostics *diagnostics, const char *expected)
{
    if (!has_message(diagnostics->warnings, diagnostics->warning_count, expected)) {
        print_diagnostics(diagnostics);
        fail_msg("missing warning: %s", expected);
    }
}

static berth_job *load_ok(const char *text, berth_job_diagnostics *diagnostics)
{
    berth_error err = BERTH_ERROR_INIT;
    berth_job *job = load(text, diagnostics, &err);
    if (job == NULL) {
        print_diagnostics(diagnostics);
        fail_msg("load failed: %s", err.message);
    }
    return job;
}

static const char *origin_of(const berth_value *value, char *out, size_t size)
{
    berth_value_describe_origin(value, out, size);
    return out;
}

static void json_decodes_nomad_output(void **state)
{
    (void)state;
    berth_job_diagnostics diagnostics;
    berth_job *job = load_ok(nomad_output, &diagnostics);

    assert_string_equal(job->id, "cache");
    assert_string_equal(job->name, "cache");
    assert_string_equal(job->type, "service");
    assert_string_equal(job->region, "global");
    assert_int_equal(job->priority, 70);
    assert_int_equal(job->datacenter_count, 2);
    assert_string_equal(job->datacenters[1], "dc2");
    assert_string_equal(berth_value_map_get(job->meta, "owner")->as.string, "team-a");
    assert_string_equal(job->origin, "job.json: Job");

    assert_int_equal(job->group_count, 1);
    const berth_job_group *group = &job->groups[0];
    assert_string_equal(group->name, "cache");
    assert_int_equal(group->count, 2);
    assert_string_equal(berth_value_map_get(group->meta, "zone")->as.string, "a");
    assert_int_equal(group->restart.attempts, 5);
    assert_int_equal(group->restart.interval_ms, 30 * 60 * 1000);
    assert_int_equal(group->restart.delay_ms, 25000);
    assert_string_equal(group->restart.mode, "delay");

    assert_int_equal(group->task_count, 1);
    const berth_job_task *task = &group->tasks[0];
    assert_string_equal(task->name, "redis");
    assert_string_equal(task->driver, "docker");
    assert_null(task->user);
    assert_string_equal(task->kill_signal, "SIGINT");
    assert_int_equal(task->kill_timeout_ms, 20000);
    assert_int_equal(task->log_max_files, 3);
    assert_int_equal(task->log_max_file_size_mb, 15);
    assert_string_equal(task->origin, "job.json: Job.TaskGroups[0].Tasks[0]");

    const berth_value *image = berth_value_map_get(task->config, "image");
    assert_string_equal(image->as.string, "redis:7");
    char origin[256];
    assert_string_equal(origin_of(image, origin, sizeof(origin)),
                        "job.json: Job.TaskGroups[0].Tasks[0].Config.image: ");
    const berth_value *args = berth_value_map_get(task->config, "args");
    assert_int_equal(args->kind, BERTH_VALUE_LIST);
    assert_string_equal(args->as.list.items[1]->as.string, "${NOMAD_PORT_db}");
    assert_string_equal(origin_of(args->as.list.items[1], origin, sizeof(origin)),
                        "job.json: Job.TaskGroups[0].Tasks[0].Config.args[1]: ");
    const berth_value *port_map = berth_value_map_get(task->config, "port_map");
    const berth_value *db = berth_value_map_get(port_map->as.list.items[0], "db");
    assert_int_equal(db->as.number.integer, 6379);
    assert_string_equal(origin_of(db, origin, sizeof(origin)),
                        "job.json: Job.TaskGroups[0].Tasks[0].Config.port_map[0].db: ");

    assert_string_equal(berth_value_map_get(task->env, "REDIS_PORT")->as.string,
                        "${NOMAD_PORT_db}");
    assert_string_equal(berth_value_map_get(task->meta, "version")->as.string, "7");

    assert_int_equal(task->resources.cpu_mhz, 500);
    assert_int_equal(task->resources.memory_mb, 256);
    assert_int_equal(task->resources.network_count, 1);
    const berth_job_network *network = &task->resources.networks[0];
    assert_int_equal(network->mbits, 20);
    assert_int_equal(network->port_count, 2);
    assert_string_equal(network->ports[0].label, "admin");
    assert_int_equal(network->ports[0].static_port, 8081);
    assert_string_equal(network->ports[1].label, "db");
    assert_int_equal(network->ports[1].static_port, 0);
    assert_string_equal(network->ports[1].origin,
                        "job.json: Job.TaskGroups[0].Tasks[0].Resources.Networks[0]."
                        "DynamicPorts[0]");

    assert_int_equal(task->artifact_count, 1);
    assert_string_equal(task->artifacts[0].source, "https://example.com/app.tar.gz");
    assert_string_equal(task->artifacts[0].destination, "local/app");

    /* Null, empty and default values of ignored fields produce no warning. */
    if (diagnostics.warning_count != 0)
        print_diagnostics(&diagnostics);
    assert_int_equal(diagnostics.warning_count, 0);

    berth_job_free(job);
    berth_job_diagnostics_free(&diagnostics);
}

static const char minimal_job[] = "{\"ID\": \"web\", \"TaskGroups\": [{\"Name\": \"g\", "
                                  "\"Tasks\": [{\"Name\": \"t\", \"Driver\": \"docker\", "
                                  "\"Config\": {\"image\": \"nginx\"}}]}]}";

static void json_applies_defaults(void **state)
{
    (void)state;
    berth_job_diagnostics diagnostics;
    berth_job *job = load_ok(minimal_job, &diagnostics);
    assert_string_equal(job->name, "web");
    assert_string_equal(job->type, "service");
    assert_string_equal(job->region, "global");
    assert_int_equal(job->priority, 50);
    assert_int_equal(job->datacenter_count, 0);
    assert_null(job->meta);
    const berth_job_group *group = &job->groups[0];
    assert_int_equal(group->count, 1);
    assert_int_equal(group->restart.attempts, 2);
    assert_int_equal(group->restart.interval_ms, 30 * 60 * 1000);
    assert_int_equal(group->restart.delay_ms, 15000);
    assert_string_equal(group->restart.mode, "fail");
    const berth_job_task *task = &group->tasks[0];
    assert_int_equal(task->kill_timeout_ms, BERTH_JOB_DEFAULT_KILL_TIMEOUT_MS);
    assert_null(task->kill_signal);
    assert_null(task->user);
    assert_null(task->env);
    assert_int_equal(task->resources.cpu_mhz, BERTH_JOB_DEFAULT_CPU_MHZ);
    assert_int_equal(task->resources.memory_mb, BERTH_JOB_DEFAULT_MEMORY_MB);
    assert_int_equal(task->resources.network_count, 0);
    assert_int_equal(task->log_max_files, BERTH_JOB_DEFAULT_LOG_MAX_FILES);
    assert_int_equal(task->log_max_file_size_mb, BERTH_JOB_DEFAULT_LOG_MAX_FILE_SIZE_MB);
    assert_int_equal(task->artifact_count, 0);
    berth_job_free(job);
    berth_job_diagnostics_free(&diagnostics);

    job = load_ok("{\"ID\": \"b\", \"Type\": \"batch\", \"TaskGroups\": [{\"Name\": \"g\", "
                  "\"RestartPolicy\": {\"Attempts\": 1}, \"Tasks\": [{\"Name\": \"t\", "
                  "\"Driver\": \"docker\", \"Config\": {\"image\": \"busybox\"}}]}]}",
                  &diagnostics);
    group = &job->groups[0];
    assert_int_equal(group->restart.attempts, 1);
    assert_int_equal(group->restart.interval_ms, 24 * 3600 * 1000LL);
    assert_int_equal(group->restart.delay_ms, 15000);
    assert_string_equal(group->restart.mode, "fail");
    berth_job_free(job);
    berth_job_diagnostics_free(&diagnostics);
}

static void json_accepts_whole_document(void **state)
{
    (void)state;
    berth_job_diagnostics diagnostics;
    berth_autofree char *text = berth_xasprintf("{\"Job\": %s}", minimal_job);
    berth_job *job = load_ok(text, &diagnostics);
    assert_string_equal(job->id, "web");
    assert_string_equal(job->groups[0].tasks[0].name, "t");
    berth_job_free(job);
    berth_job_diagnostics_free(&diagnostics);
}

/* Builds a one-task job whose task contains task_fields (JSON members
 * after the Name, starting with a comma). */
static char *task_job(const char *task_fields)
{
    return berth_xasprintf("{\"ID\": \"j\", \"TaskGroups\": [{\"Name\": \"g\", \"Tasks\": "
                           "[{\"Name\": \"t\"%s}]}]}",
                           task_fields);
}

static void expect_error(const char *text, const char *expected)
{
    berth_job_diagnostics diagnostics;
    berth_error err = BERTH_ERROR_INIT;
    berth_job *job = load(text, &diagnostics, &err);
    if (job != NULL)
        fail_msg("expected an error for %s", text);
    assert_int_equal(err.code, BERTH_E_INVALID);
    assert_error(&diagnostics, expected);
    berth_job_diagnostics_free(&diagnostics);
}

#define DOCKER ", \"Driver\": \"docker\", \"Config\": {\"image\": \"nginx\"}"

static void json_errors_name_path(void **state)
{
    (void)state;
    static const struct {
        const char *task_fields; /* NULL: whole is the document */
        const char *whole;
        const char *expected;
    } cases[] = {
        {DOCKER ", \"Resources\": {\"CPU\": \"500\"}", NULL,
         "job.json: Job.TaskGroups[0].Tasks[0].Resources.CPU: must be a whole number, not a "
         "string"},
        {DOCKER ", \"Resources\": {\"MemoryMB\": 2.5}", NULL,
         "job.json: Job.TaskGroups[0].Tasks[0].Resources.MemoryMB: must be a whole number, not "
         "a fractional number"},
        {DOCKER ", \"Resources\": {\"CPU\": 0}", NULL,
         "job.json: Job.TaskGroups[0].Tasks[0].Resources.CPU: is 0; it must be from 1 to "
         "10000000"},
        {", \"Driver\": \"exec\", \"Config\": {\"command\": \"true\"}", NULL,
         "job.json: Job.TaskGroups[0].Tasks[0].Driver: \"exec\" is not supported; berth runs "
         "only \"docker\""},
        {", \"Config\": {\"image\": \"nginx\"}", NULL,
         "job.json: Job.TaskGroups[0].Tasks[0].Driver: missing; set it to \"docker\""},
        {", \"Driver\": \"docker\", \"Config\": {\"args\": []}", NULL,
         "job.json: Job.TaskGroups[0].Tasks[0].Config.image: missing; the docker driver needs "
         "an image such as \"redis:7\""},
        {", \"Driver\": \"docker\", \"Config\": {\"image\": 7}", NULL,
         "job.json: Job.TaskGroups[0].Tasks[0].Config.image: must be a string, not a whole "
         "number"},
        {", \"Driver\": \"docker\"", NULL,
         "job.json: Job.TaskGroups[0].Tasks[0].Config: missing; the docker driver needs at least "
         "{\"image\": \"...\"}"},
        {", \"Driver\": \"docker\", \"Config\": [\"nginx\"]", NULL,
         "job.json: Job.TaskGroups[0].Tasks[0].Config: must be an object, not an array"},
        {DOCKER ", \"KillTimeout\": \"5s\"", NULL,
         "job.json: Job.TaskGroups[0].Tasks[0].KillTimeout: must be a whole number, not a "
         "string"},
        {DOCKER ", \"KillTimeout\": -1", NULL,
         "job.json: Job.TaskGroups[0].Tasks[0].KillTimeout: is -1; it must be from 0 to "
         "9223372036854775807"},
        {DOCKER ", \"KillSignal\": \"SIGFOO\"", NULL,
         "job.json: Job.TaskGroups[0].Tasks[0].KillSignal: \"SIGFOO\" is not a signal name; use "
         "one such as \"SIGINT\", \"SIGTERM\" or \"SIGUSR1\""},
        {DOCKER ", \"Env\": {\"A\": [\"x\"]}", NULL,
         "job.json: Job.TaskGroups[0].Tasks[0].Env.A: must be a string, not an array"},
        {DOCKER ", \"Meta\": \"x\"", NULL,
         "job.json: Job.TaskGroups[0].Tasks[0].Meta: must be an object of strings, not a "
         "string"},
        {DOCKER ", \"LogConfig\": {\"MaxFiles\": 0}", NULL,
         "job.json: Job.TaskGroups[0].Tasks[0].LogConfig.MaxFiles: is 0; it must be from 1 to "
         "1000"},
        {DOCKER ", \"Resources\": {\"Networks\": [{\"ReservedPorts\": [{\"Label\": \"http\"}]}]}",
         NULL,
         "job.json: Job.TaskGroups[0].Tasks[0].Resources.Networks[0].ReservedPorts[0].Value: "
         "missing; a reserved port needs its port number"},
        {DOCKER ", \"Resources\": {\"Networks\": [{\"ReservedPorts\": [{\"Label\": \"http\", "
                "\"Value\": 70000}]}]}",
         NULL,
         "job.json: Job.TaskGroups[0].Tasks[0].Resources.Networks[0].ReservedPorts[0].Value: is "
         "70000; it must be from 1 to 65535"},
        {DOCKER ", \"Resources\": {\"Networks\": [{\"ReservedPorts\": [{\"Label\": \"http\", "
                "\"Value\": 80}], \"DynamicPorts\": [{\"Label\": \"http\"}]}]}",
         NULL,
         "job.json: Job.TaskGroups[0].Tasks[0].Resources.Networks[0].DynamicPorts[0].Label: port "
         "\"http\" is declared twice"},
        {DOCKER ", \"Resources\": {\"Networks\": [{\"DynamicPorts\": [{\"Value\": 0}]}]}", NULL,
         "job.json: Job.TaskGroups[0].Tasks[0].Resources.Networks[0].DynamicPorts[0].Label: "
         "missing; every port needs a label such as \"http\""},
        {DOCKER ", \"Resources\": {\"Networks\": [{\"DynamicPorts\": [{\"Label\": \"h\", "
                "\"To\": 8080}]}]}",
         NULL,
         "job.json: Job.TaskGroups[0].Tasks[0].Resources.Networks[0].DynamicPorts[0].To: not "
         "supported by berth yet; map the port with the docker config's port_map instead"},
        {DOCKER ", \"Resources\": {\"MemoryMaxMB\": 512}", NULL,
         "job.json: Job.TaskGroups[0].Tasks[0].Resources.MemoryMaxMB: not supported by berth "
         "yet"},
        {DOCKER ", \"Templates\": [{\"EmbeddedTmpl\": \"x\"}]", NULL,
         "job.json: Job.TaskGroups[0].Tasks[0].Templates: not supported by berth yet"},
        {DOCKER ", \"Artifacts\": [{\"RelativeDest\": \"local/\"}]", NULL,
         "job.json: Job.TaskGroups[0].Tasks[0].Artifacts[0].GetterSource: missing; set it to an "
         "https:// URL or an absolute path"},
        {DOCKER ", \"Artifacts\": [{\"GetterSource\": \"/srv/a\", \"RelativeDest\": \"../x\"}]",
         NULL,
         "job.json: Job.TaskGroups[0].Tasks[0].Artifacts[0].RelativeDest: \"../x\" must be a "
         "folder inside the task's folder, such as \"local/\", without \"..\""},
        {DOCKER ", \"Artifacts\": [{\"GetterSource\": \"/srv/a\", \"GetterMode\": \"file\"}]", NULL,
         "job.json: Job.TaskGroups[0].Tasks[0].Artifacts[0].GetterMode: \"file\" is not "
         "supported by berth yet; use \"any\""},
        {DOCKER ", \"Artifacts\": [{\"GetterSource\": \"/srv/a\", \"GetterOptions\": "
                "{\"checksum\": \"md5:0\"}}]",
         NULL,
         "job.json: Job.TaskGroups[0].Tasks[0].Artifacts[0].GetterOptions.checksum: not "
         "supported by berth yet; berth saves the file as it is, which only \"archive\": "
         "\"false\" describes"},
        {NULL, "{\"TaskGroups\": [{\"Name\": \"g\", \"Tasks\": [{\"Name\": \"t\"" DOCKER "}]}]}",
         "job.json: Job.ID: missing; set it to the job's name, such as \"example\""},
        {NULL,
         "{\"ID\": \"\", \"TaskGroups\": [{\"Name\": \"g\", \"Tasks\": [{\"Name\": \"t\"" DOCKER
         "}]}]}",
         "job.json: Job.ID: must not be empty"},
        {NULL,
         "{\"ID\": 5, \"TaskGroups\": [{\"Name\": \"g\", \"Tasks\": [{\"Name\": \"t\"" DOCKER
         "}]}]}",
         "job.json: Job.ID: must be a string, not a whole number"},
        {NULL, "{\"ID\": \"j\", \"Type\": \"daemon\", \"TaskGroups\": []}",
         "job.json: Job.Type: \"daemon\" is invalid; use \"service\", \"batch\" or \"system\""},
        {NULL, "{\"ID\": \"j\", \"Priority\": 101}",
         "job.json: Job.Priority: is 101; it must be from 1 to 100"},
        {NULL, "{\"ID\": \"j\"}", "job.json: Job.TaskGroups: job has no task groups"},
        {NULL, "{\"ID\": \"j\", \"TaskGroups\": {}}",
         "job.json: Job.TaskGroups: must be an array, not an object"},
        {NULL, "{\"ID\": \"j\", \"Datacenters\": [\"dc1\", 2]}",
         "job.json: Job.Datacenters[1]: must be a string, not a whole number"},
        {NULL, "[1, 2]", "job.json: Job: must be an object, not an array"},
        {NULL,
         "{\"ID\": \"j\", \"TaskGroups\": [{\"Name\": \"g\", \"Count\": 1001, \"Tasks\": "
         "[{\"Name\": \"t\"" DOCKER "}]}]}",
         "job.json: Job.TaskGroups[0].Count: is 1001; it must be from 0 to 1000"},
        {NULL, "{\"ID\": \"j\", \"TaskGroups\": [{\"Name\": \"g\", \"Tasks\": []}]}",
         "job.json: Job.TaskGroups[0].Tasks: group \"g\" has no tasks"},
        {NULL, "{\"ID\": \"j\", \"TaskGroups\": [{\"Tasks\": [{\"Name\": \"t\"" DOCKER "}]}]}",
         "job.json: Job.TaskGroups[0].Name: missing; every task group needs a name"},
        {NULL,
         "{\"ID\": \"j\", \"TaskGroups\": [{\"Name\": \"g\", \"Tasks\": [{\"Name\": \"t\"" DOCKER
         "}]}, "
         "{\"Name\": \"g\", \"Tasks\": [{\"Name\": \"u\"" DOCKER "}]}]}",
         "job.json: Job.TaskGroups[1].Name: group \"g\" is declared twice"},
        {NULL,
         "{\"ID\": \"j\", \"TaskGroups\": [{\"Name\": \"g\", \"Tasks\": [{\"Name\": \"t\"" DOCKER
         "}, "
         "{\"Name\": \"t\"" DOCKER "}]}]}",
         "job.json: Job.TaskGroups[0].Tasks[1].Name: task \"t\" is declared twice in group "
         "\"g\""},
        {NULL,
         "{\"ID\": \"j\", \"TaskGroups\": [{\"Name\": \"g\", \"Tasks\": [{\"Name\": \"t\"" DOCKER
         "}, "
         "{\"Name\": \"u\"" DOCKER ", \"Resources\": {\"CPU\": \"big\"}}]}]}",
         "job.json: Job.TaskGroups[0].Tasks[1].Resources.CPU: must be a whole number, not a "
         "string"},
        {NULL,
         "{\"ID\": \"j\", \"TaskGroups\": [{\"Name\": \"g\", \"RestartPolicy\": {\"Mode\": "
         "\"never\"}, \"Tasks\": [{\"Name\": \"t\"" DOCKER "}]}]}",
         "job.json: Job.TaskGroups[0].RestartPolicy.Mode: \"never\" is invalid; use \"fail\" or "
         "\"delay\""},
        {NULL,
         "{\"ID\": \"j\", \"TaskGroups\": [{\"Name\": \"g\", \"Networks\": [{\"Mode\": "
         "\"bridge\"}], \"Tasks\": [{\"Name\": \"t\"" DOCKER "}]}]}",
         "job.json: Job.TaskGroups[0].Networks: not supported by berth yet; declare ports in the "
         "task's Resources.Networks instead"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        berth_autofree char *text =
            cases[i].task_fields != NULL ? task_job(cases[i].task_fields) : NULL;
        expect_error(text != NULL ? text : cases[i].whole, cases[i].expected);
    }
}

static void json_reports_every_error(void **state)
{
    (void)state;
    berth_job_diagnostics diagnostics;
    berth_error err = BERTH_ERROR_INIT;
    berth_job *job = load("{\"ID\": \"j\", \"Priority\": 0, \"TaskGroups\": [{\"Name\": \"g\", "
                          "\"Count\": -1, \"Tasks\": [{\"Name\": \"t\", \"Driver\": \"rkt\"}]}]}",
                          &diagnostics, &err);
    assert_null(job);
    assert_int_equal(diagnostics.error_count, 3);
    assert_string_equal(err.message,
                        "job.json: 3 errors, the first: job.json: Job.Priority: is 0; it must "
                        "be from 1 to 100");
    berth_job_diagnostics_free(&diagnostics);
}

static void json_warns_ignored_fields(void **state)
{
    (void)state;
    berth_job_diagnostics diagnostics;
    berth_job *job = load_ok(
        "{\"ID\": \"j\", \"Namespace\": \"default\", \"NodePool\": \"gpu\", \"ModifyIndex\": 42, "
        "\"Update\": {\"MaxParallel\": 2}, \"Flavour\": \"x\", \"TaskGroups\": [{\"Name\": \"g\", "
        "\"EphemeralDisk\": {\"SizeMB\": 300}, \"Tasks\": [{\"Name\": \"t\"" DOCKER
        ", \"Services\": [{\"Name\": \"web\"}], \"Leader\": true, \"LogConfig\": {\"Enabled\": "
        "false}, \"Resources\": {\"DiskMB\": 10, \"Networks\": [{\"Mode\": \"host\"}, {}]}}]}]}",
        &diagnostics);
    assert_warning(&diagnostics, "job.json: Job.NodePool: accepted and ignored; berth does not "
                                 "act on it");
    assert_warning(&diagnostics,
                   "job.json: Job.Update: accepted and ignored; berth does not act on it");
    assert_warning(&diagnostics, "job.json: Job.Flavour: unknown field, ignored");
    assert_warning(&diagnostics, "job.json: Job.TaskGroups[0].EphemeralDisk: accepted and "
                                 "ignored; berth does not act on it");
    assert_warning(&diagnostics, "job.json: Job.TaskGroups[0].Tasks[0].Services: accepted and "
                                 "ignored; berth does not act on it");
    assert_warning(&diagnostics, "job.json: Job.TaskGroups[0].Tasks[0].Leader: accepted and "
                                 "ignored; berth does not act on it");
    assert_warning(&diagnostics, "job.json: Job.TaskGroups[0].Tasks[0].LogConfig.Enabled: "
                                 "accepted and ignored; berth does not act on it");
    assert_warning(&diagnostics, "job.json: Job.TaskGroups[0].Tasks[0].Resources.DiskMB: "
                                 "accepted and ignored; berth does not act on it");
    assert_warning(&diagnostics, "job.json: Job.TaskGroups[0].Tasks[0].Resources.Networks: has "
                                 "2 networks; only the first is used");
    assert_int_equal(diagnostics.warning_count, 9);
    berth_job_free(job);
    berth_job_diagnostics_free(&diagnostics);
}

/* --- Round trip --------------------------------------------------------- */

static void assert_values_equal(const berth_value *a, const berth_value *b)
{
    if (a == NULL || b == NULL) {
        assert_ptr_equal(a, b);
        return;
    }
    json_t *left = berth_value_to_json(a);
    json_t *right = berth_value_to_json(b);
    if (!json_equal(left, right)) {
        char *left_text = json_dumps(left, JSON_SORT_KEYS);
        char *right_text = json_dumps(right, JSON_SORT_KEYS);
        print_message("%s\n%s\n", left_text, right_text);
        free(left_text);
        free(right_text);
        fail_msg("values differ");
    }
    json_decref(left);
    json_decref(right);
}

static void assert_optional_strings_equal(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        assert_ptr_equal(a, b);
    else
        assert_string_equal(a, b);
}

static const berth_job_port *find_port(const berth_job_network *network, const char *label)
{
    for (size_t i = 0; i < network->port_count; i++) {
        if (strcmp(network->ports[i].label, label) == 0)
            return &network->ports[i];
    }
    return NULL;
}

/* JSON keeps reserved and dynamic ports in separate arrays, so ports are
 * compared by label, not by position. */
static void assert_networks_equal(const berth_job_network *a, const berth_job_network *b)
{
    assert_int_equal(a->mbits, b->mbits);
    assert_int_equal(a->port_count, b->port_count);
    for (size_t i = 0; i < a->port_count; i++) {
        const berth_job_port *other = find_port(b, a->ports[i].label);
        assert_non_null(other);
        assert_int_equal(a->ports[i].static_port, other->static_port);
    }
}

static void assert_tasks_equal(const berth_job_task *a, const berth_job_task *b)
{
    assert_string_equal(a->name, b->name);
    assert_optional_strings_equal(a->driver, b->driver);
    assert_optional_strings_equal(a->user, b->user);
    assert_values_equal(a->config, b->config);
    assert_values_equal(a->env, b->env);
    assert_values_equal(a->meta, b->meta);
    assert_int_equal(a->kill_timeout_ms, b->kill_timeout_ms);
    assert_optional_strings_equal(a->kill_signal, b->kill_signal);
    assert_int_equal(a->resources.cpu_mhz, b->resources.cpu_mhz);
    assert_int_equal(a->resources.memory_mb, b->resources.memory_mb);
    assert_int_equal(a->resources.network_count, b->resources.network_count);
    for (size_t i = 0; i < a->resources.network_count; i++)
        assert_networks_equal(&a->resources.networks[i], &b->resources.networks[i]);
    assert_int_equal(a->log_max_files, b->log_max_files);
    assert_int_equal(a->log_max_file_size_mb, b->log_max_file_size_mb);
    assert_int_equal(a->artifact_count, b->artifact_count);
    for (size_t i = 0; i < a->artifact_count; i++) {
        assert_string_equal(a->artifacts[i].source, b->artifacts[i].source);
        assert_string_equal(a->artifacts[i].destination, b->artifacts[i].destination);
    }
}

static void assert_jobs_equal(const berth_job *a, const berth_job *b)
{
    assert_string_equal(a->id, b->id);
    assert_string_equal(a->name, b->name);
    assert_string_equal(a->type, b->type);
    assert_string_equal(a->region, b->region);
    assert_int_equal(a->datacenter_count, b->datacenter_count);
    for (size_t i = 0; i < a->datacenter_count; i++)
        assert_string_equal(a->datacenters[i], b->datacenters[i]);
    assert_int_equal(a->priority, b->priority);
    assert_values_equal(a->meta, b->meta);
    assert_int_equal(a->group_count, b->group_count);
    for (size_t g = 0; g < a->group_count; g++) {
        const berth_job_group *x = &a->groups[g];
        const berth_job_group *y = &b->groups[g];
        assert_string_equal(x->name, y->name);
        assert_int_equal(x->count, y->count);
        assert_values_equal(x->meta, y->meta);
        assert_int_equal(x->restart.attempts, y->restart.attempts);
        assert_int_equal(x->restart.interval_ms, y->restart.interval_ms);
        assert_int_equal(x->restart.delay_ms, y->restart.delay_ms);
        assert_string_equal(x->restart.mode, y->restart.mode);
        assert_int_equal(x->task_count, y->task_count);
        for (size_t t = 0; t < x->task_count; t++)
            assert_tasks_equal(&x->tasks[t], &y->tasks[t]);
    }
}

/* Encodes job, decodes the result and checks that the two models match
 * and that encoding the second one gives the same JSON. */
static void assert_round_trip(const berth_job *job)
{
    json_t *json = berth_job_to_json(job);
    assert_non_null(json);
    berth_job_diagnostics diagnostics;
    memset(&diagnostics, 0, sizeof(diagnostics));
    berth_error err = BERTH_ERROR_INIT;
    berth_job *decoded = NULL;
    if (berth_job_load_json("round trip", json, &decoded, &diagnostics, &err) < 0) {
        print_diagnostics(&diagnostics);
        fail_msg("decoding the encoded job failed: %s", err.message);
    }
    assert_int_equal(diagnostics.warning_count, 0);
    assert_jobs_equal(job, decoded);
    json_t *again = berth_job_to_json(decoded);
    assert_true(json_equal(json, again));
    json_decref(again);
    json_decref(json);
    berth_job_free(decoded);
    berth_job_diagnostics_free(&diagnostics);
}

static const char *const round_trip_jobs[] = {
    "job \"example\" {\n"
    "  datacenters = [\"dc1\", \"dc2\"]\n"
    "  type = \"batch\"\n"
    "  priority = 20\n"
    "  region = \"eu\"\n"
    "  meta { owner = \"team\" }\n"
    "  group \"cache\" {\n"
    "    count = 3\n"
    "    meta { rack = \"r1\" }\n"
    "    restart {\n"
    "      attempts = 4\n"
    "      interval = \"10m\"\n"
    "      delay = \"250ms\"\n"
    "      mode = \"delay\"\n"
    "    }\n"
    "    task \"redis\" {\n"
    "      driver = \"docker\"\n"
    "      user = \"nobody\"\n"
    "      kill_timeout = \"20s\"\n"
    "      kill_signal = \"SIGINT\"\n"
    "      config {\n"
    "        image = \"redis:7\"\n"
    "        port_map { redis = 6379 }\n"
    "        args = [\"--port\", \"${NOMAD_PORT_redis}\", 3, true, 1.5]\n"
    "      }\n"
    "      env { PORT = \"${NOMAD_PORT_redis}\" \n COUNT = 3 }\n"
    "      meta { build = \"42\" }\n"
    "      logs {\n"
    "        max_files = 4\n"
    "        max_file_size = 20\n"
    "      }\n"
    "      artifact {\n"
    "        source = \"https://example.com/a.conf\"\n"
    "        destination = \"local/conf\"\n"
    "      }\n"
    "      resources {\n"
    "        cpu = 500\n"
    "        memory = 256\n"
    "        network {\n"
    "          mbits = 20\n"
    "          port \"redis\" {}\n"
    "          port \"admin\" { static = 8081 }\n"
    "          port \"metrics\" {}\n"
    "        }\n"
    "      }\n"
    "    }\n"
    "    task \"sidecar\" {\n"
    "      driver = \"docker\"\n"
    "      config { image = \"busybox\" }\n"
    "    }\n"
    "  }\n"
    "  group \"empty\" {\n"
    "    count = 0\n"
    "    task \"noop\" {\n"
    "      driver = \"docker\"\n"
    "      config { image = \"busybox\" \n command = \"true\" }\n"
    "      env {}\n"
    "    }\n"
    "  }\n"
    "}\n",
    "job \"svc\" {\n"
    "  task \"solo\" {\n"
    "    driver = \"docker\"\n"
    "    config = { image = \"nginx\", labels = { a = \"b\" } }\n"
    "  }\n"
    "}\n",
};

static void round_trip_hcl(const char *name, const char *text)
{
    berth_job_diagnostics diagnostics;
    memset(&diagnostics, 0, sizeof(diagnostics));
    berth_error err = BERTH_ERROR_INIT;
    berth_job *job = NULL;
    if (berth_job_load_hcl(name, text, strlen(text), NULL, &job, &diagnostics, &err) < 0)
        fail_msg("%s: %s", name, err.message);
    assert_round_trip(job);
    berth_job_free(job);
    berth_job_diagnostics_free(&diagnostics);
}

static void json_round_trips_hcl_jobs(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(round_trip_jobs) / sizeof(round_trip_jobs[0]); i++)
        round_trip_hcl("job.hcl", round_trip_jobs[i]);
}

/* The unit tests run from the repository root (see the Makefile). */
static void json_round_trips_examples(void **state)
{
    (void)state;
    DIR *folder = opendir("examples");
    if (folder == NULL)
        skip();
    size_t checked = 0;
    struct dirent *entry;
    while ((entry = readdir(folder)) != NULL) {
        if (!berth_str_has_suffix(entry->d_name, ".hcl"))
            continue;
        berth_autofree char *path = berth_xasprintf("examples/%s", entry->d_name);
        /* examples/ also has agent configuration files; only job files
         * have a job block at the start of a line. */
        berth_autofree char *text = NULL;
        size_t length = 0;
        berth_error read_err = BERTH_ERROR_INIT;
        assert_int_equal(berth_read_file(path, 1 << 20, &text, &length, &read_err), 0);
        if (strncmp(text, "job \"", 5) != 0 && strstr(text, "\njob \"") == NULL)
            continue;
        berth_job_diagnostics diagnostics;
        memset(&diagnostics, 0, sizeof(diagnostics));
        berth_error err = BERTH_ERROR_INIT;
        berth_job *job = NULL;
        if (berth_job_load_hcl_file(path, NULL, &job, &diagnostics, &err) < 0)
            fail_msg("%s: %s", path, err.message);
        assert_round_trip(job);
        berth_job_free(job);
        berth_job_diagnostics_free(&diagnostics);
        checked++;
    }
    closedir(folder);
    assert_true(checked > 0);
}

static void json_round_trips_nomad_output(void **state)
{
    (void)state;
    berth_job_diagnostics diagnostics;
    berth_job *job = load_ok(nomad_output, &diagnostics);
    assert_round_trip(job);
    berth_job_free(job);
    berth_job_diagnostics_free(&diagnostics);
}

/* --- Files -------------------------------------------------------------- */

static char *write_temp_file(char *folder, const char *name, const char *text)
{
    char *path = berth_xasprintf("%s/%s", folder, name);
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fputs(text, file);
    fclose(file);
    return path;
}

static void json_loads_files(void **state)
{
    (void)state;
    char folder[] = "/tmp/berth-job-json-XXXXXX";
    assert_non_null(mkdtemp(folder));
    berth_autofree char *good = write_temp_file(folder, "good.json", nomad_output);
    berth_autofree char *bad = write_temp_file(folder, "bad.json", "{\"Job\": {\"ID\": }");
    berth_autofree char *twice =
        write_temp_file(folder, "twice.json", "{\"ID\": \"a\", \"ID\": \"b\"}");

    berth_job_diagnostics diagnostics;
    memset(&diagnostics, 0, sizeof(diagnostics));
    berth_error err = BERTH_ERROR_INIT;
    berth_job *job = NULL;
    assert_int_equal(berth_job_load_json_file(good, &job, &diagnostics, &err), 0);
    berth_autofree char *expected_origin = berth_xasprintf("%s: Job.TaskGroups[0].Tasks[0]", good);
    assert_string_equal(job->groups[0].tasks[0].origin, expected_origin);
    berth_job_free(job);
    berth_job_diagnostics_free(&diagnostics);

    job = NULL;
    assert_int_equal(berth_job_load_json_file(bad, &job, &diagnostics, &err), -1);
    assert_null(job);
    assert_int_equal(diagnostics.error_count, 1);
    berth_autofree char *prefix = berth_xasprintf("%s:1:", bad);
    assert_true(berth_str_has_prefix(diagnostics.errors[0], prefix));
    assert_non_null(strstr(diagnostics.errors[0], "invalid JSON"));
    berth_job_diagnostics_free(&diagnostics);

    assert_int_equal(berth_job_load_json_file(twice, &job, &diagnostics, &err), -1);
    assert_int_equal(diagnostics.error_count, 1);
    berth_job_diagnostics_free(&diagnostics);

    berth_autofree char *missing = berth_xasprintf("%s/missing.json", folder);
    assert_int_equal(berth_job_load_json_file(missing, &job, &diagnostics, &err), -1);
    assert_int_equal(diagnostics.error_count, 1);
    berth_job_diagnostics_free(&diagnostics);

    unlink(good);
    unlink(bad);
    unlink(twice);
    rmdir(folder);
}

/* --- Broken input ------------------------------------------------------- */

static void load_and_discard(const json_t *json)
{
    berth_job_diagnostics diagnostics;
    memset(&diagnostics, 0, sizeof(diagnostics));
    berth_error err = BERTH_ERROR_INIT;
    berth_job *job = NULL;
    if (berth_job_load_json(NULL, json, &job, &diagnostics, &err) == 0) {
        json_t *encoded = berth_job_to_json(job);
        json_decref(encoded);
        berth_job_free(job);
    }
    berth_job_diagnostics_free(&diagnostics);
}

/* Replaces every value in the tree, one at a time, with each of a set of
 * wrong values, and loads the result. */
static void replace_each_value(json_t *root, json_t *node)
{
    json_t *replacements[] = {
        json_null(),
        json_true(),
        json_integer(0),
        json_integer(-1),
        json_integer(INT64_MAX),
        json_real(1e300),
        json_string(""),
        json_string("x"),
        json_array(),
        json_object(),
    };
    size_t replacement_count = sizeof(replacements) / sizeof(replacements[0]);
    if (json_is_object(node)) {
        const char *key;
        json_t *child;
        void *scratch;
        json_object_foreach_safe(node, scratch, key, child)
        {
            json_incref(child);
            for (size_t i = 0; i < replacement_count; i++) {
                json_object_set(node, key, replacements[i]);
                load_and_discard(root);
            }
            json_object_set(node, key, child);
            replace_each_value(root, child);
            json_decref(child);
        }
    } else if (json_is_array(node)) {
        for (size_t index = 0; index < json_array_size(node); index++) {
            json_t *child = json_incref(json_array_get(node, index));
            for (size_t i = 0; i < replacement_count; i++) {
                json_array_set(node, index, replacements[i]);
                load_and_discard(root);
            }
            json_array_set(node, index, child);
            replace_each_value(root, child);
            json_decref(child);
        }
    }
    for (size_t i = 0; i < replacement_count; i++)
        json_decref(replacements[i]);
}

static void json_survives_broken_input(void **state)
{
    (void)state;
    json_t *root = parse(nomad_output);
    replace_each_value(root, root);
    json_decref(root);

    /* Truncated and byte-flipped text, with a fixed seed so a failure
     * repeats. */
    size_t length = strlen(nomad_output);
    char *copy = berth_xmalloc(length + 1);
    uint32_t seed = 12345;
    for (size_t cut = 0; cut <= length; cut += 7) {
        json_t *json = json_loadb(nomad_output, cut, 0, NULL);
        if (json != NULL) {
            load_and_discard(json);
            json_decref(json);
        }
    }
    for (int round = 0; round < 3000; round++) {
        memcpy(copy, nomad_output, length + 1);
        for (int flips = 0; flips < 3; flips++) {
            seed = seed * 1103515245u + 12345u;
            size_t position = (seed >> 8) % length;
            seed = seed * 1103515245u + 12345u;
            copy[position] = (char)(" \"{}[],:0x-9e"[(seed >> 8) % 13]);
        }
        json_t *json = json_loadb(copy, length, 0, NULL);
        if (json != NULL) {
            load_and_discard(json);
            json_decref(json);
        }
    }
    free(copy);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json_decodes_nomad_output),
        cmocka_unit_test(json_applies_defaults),
        cmocka_unit_test(json_accepts_whole_document),
        cmocka_unit_test(json_errors_name_path),
        cmocka_unit_test(json_reports_every_error),
        cmocka_unit_test(json_warns_ignored_fields),
        cmocka_unit_test(json_round_trips_hcl_jobs),
        cmocka_unit_test(json_round_trips_examples),
        cmocka_unit_test(json_round_trips_nomad_output),
        cmocka_unit_test(json_loads_files),
        cmocka_unit_test(json_survives_broken_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
