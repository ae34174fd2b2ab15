#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/config.h"
#include "agent/ports.h"
#include "agent/run.h"
#include "cli.h"
#include "core/util.h"
#include "driver/driver.h"

static volatile sig_atomic_t stop_signal;

static void print_usage(FILE *stream)
{
    fputs("Usage: berth run [OPTIONS] JOBFILE\n"
          "\n"
          "Runs every docker task of every group of a Nomad job file (count copies of\n"
          "each group) on the Docker Engine, prints their output line by line as\n"
          "'TASK ALLOC | line' (stdout to stdout, stderr to stderr), and waits for\n"
          "them to end. Ctrl-C, SIGTERM or SIGHUP stops the containers (within each\n"
          "task's kill_timeout, default 5s) and removes them; a second Ctrl-C stops\n"
          "them at once.\n"
          "\n"
          "Exit status: 0 when every task exits 0; the first failing task's exit\n"
          "code; 1 when a task cannot start or the job file is invalid; 128 plus the\n"
          "signal number after Ctrl-C or SIGTERM.\n"
          "\n"
          "Options:\n"
          "  -config FILE       agent configuration file (datacenter, region, name,\n"
          "                     client meta and docker.* options); repeat it to load\n"
          "                     several, later files overriding earlier ones\n"
          "  -data-dir DIR      folder for allocation folders (default $TMPDIR or /tmp);\n"
          "                     they are removed when the run ends\n"
          "  -bind-addr IP      host address ports are published on (default 127.0.0.1)\n"
          "  -log-level LEVEL   debug, info, warn (default) or error\n"
          "  -log-format FORMAT text (default) or json\n",
          stream);
}

static void print_output(void *user_data, const berth_run_task_info *task, int stream,
                         const char *line, size_t length)
{
    (void)user_data;
    FILE *out = stream == 2 ? stderr : stdout;
    fprintf(out, "%s %.8s | %.*s\n", task->task_name, task->alloc_id, (int)length, line);
    /* When the reader of the output is gone (`berth run job | head`), stop
     * the tasks as a SIGPIPE would end a plain program, but remove the
     * containers first. */
    if (fflush(out) != 0 && errno == EPIPE && stop_signal == 0)
        stop_signal = SIGPIPE;
}

static void print_event(void *user_data, const berth_run_task_info *task, const char *message)
{
    (void)user_data;
    fprintf(stderr, "==> %s %.8s: %s\n", task->task_name, task->alloc_id, message);
    fflush(stderr);
}

/* Gives the node the agent file's datacenter, region, name, class and meta,
 * so job files can refer to them (`${meta.rack}`, `${node.unique.name}`). */
static void apply_agent_identity(const berth_agent_config *agent, berth_node *node)
{
    if (agent->datacenter != NULL) {
        free(node->datacenter);
        node->datacenter = berth_xstrdup(agent->datacenter);
    }
    if (agent->region != NULL) {
        free(node->region);
        node->region = berth_xstrdup(agent->region);
    }
    if (agent->name != NULL) {
        free(node->name);
        node->name = berth_xstrdup(agent->name);
    }
    if (agent->node_class != NULL) {
        free(node->node_class);
        node->node_class = berth_xstrdup(agent->node_class);
    }
    for (size_t i = 0; i < agent->meta->as.map.length; i++)
        berth_value_map_set(node->meta, agent->meta->as.map.keys[i],
                            berth_value_clone(agent->meta->as.map.values[i]));
}

/* Sets the node's datacenter and region. Without an agent file the node
 * takes the job's first datacenter and its region, so NOMAD_DC and
 * NOMAD_REGION read as Nomad would set them. With one, the node keeps the
 * file's values, and a job this node could not serve in Nomad (none of its
 * datacenters, another region) is an error. */
static int place_job(const berth_agent_config *agent, const berth_job *job, berth_node *node)
{
    const char *datacenter = job->datacenter_count > 0 ? job->datacenters[0] : "dc1";
    if (agent->datacenter != NULL) {
        bool listed = job->datacenter_count == 0;
        for (size_t i = 0; i < job->datacenter_count && !listed; i++)
            listed = strcmp(job->datacenters[i], agent->datacenter) == 0;
        if (!listed) {
            fprintf(stderr,
                    "berth run: job \"%s\" does not list this agent's datacenter \"%s\" in "
                    "its datacenters; add it there or change datacenter in the agent file\n",
                    job->name, agent->datacenter);
            return -1;
        }
        datacenter = agent->datacenter;
    }
    const char *region = job->region;
    if (agent->region != NULL) {
        if (strcmp(agent->region, job->region) != 0) {
            fprintf(stderr,
                    "berth run: job \"%s\" is in region \"%s\", but this agent is in region "
                    "\"%s\"; change region in the job or in the agent file\n",
                    job->name, job->region, agent->region);
            return -1;
        }
        region = agent->region;
    }
    free(node->datacenter);
    node->datacenter = berth_xstrdup(datacenter);
    free(node->region);
    node->region = berth_xstrdup(region);
    return 0;
}

int cmd_run(int argc, char **argv)
{
    cli_common common = {BERTH_LOG_WARN, BERTH_LOG_TEXT};
    const char *path = NULL;
    const char *data_dir = getenv("TMPDIR");
    const char *bind_addr = "127.0.0.1";
    berth_autofree const char **config_paths = berth_xcalloc((size_t)argc, sizeof(char *));
    size_t config_count = 0;
    for (int i = 1; i < argc; i++) {
        const char *value = NULL;
        if (cli_flag(argv[i], "help") || cli_flag(argv[i], "h")) {
            print_usage(stdout);
            return 0;
        }
        int parsed = cli_parse_common(argc, argv, &i, &common);
        if (parsed < 0)
            return EXIT_USAGE;
        if (parsed > 0)
            continue;
        if (cli_option_value(argc, argv, &i, "config", &value)) {
            config_paths[config_count++] = value;
        } else if (cli_option_value(argc, argv, &i, "data-dir", &value)) {
            data_dir = value;
        } else if (cli_option_value(argc, argv, &i, "bind-addr", &value)) {
            bind_addr = value;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "berth run: unknown option \"%s\"; see berth run --help\n", argv[i]);
            return EXIT_USAGE;
        } else if (path != NULL) {
            fprintf(stderr, "berth run: expected one job file, got \"%s\" and \"%s\"\n", path,
                    argv[i]);
            return EXIT_USAGE;
        } else {
            path = argv[i];
        }
    }
    if (path == NULL) {
        print_usage(stderr);
        return EXIT_USAGE;
    }
    if (!berth_port_is_bindable(bind_addr, 0)) {
        fprintf(stderr, "berth run: invalid -bind-addr \"%s\": not an IP address of this host\n",
                bind_addr);
        return EXIT_USAGE;
    }
    cli_setup_logging(&common);
    cli_handle_stop_signals(&stop_signal);

    berth_agent_config agent;
    berth_agent_config_init(&agent);
    if (cli_load_agent_config("run", config_paths, config_count, &agent) < 0) {
        berth_agent_config_free(&agent);
        return 1;
    }
    berth_node node;
    berth_node_init_local(&node, "dc1", "global");
    apply_agent_identity(&agent, &node);
    berth_job *job = cli_load_job("run", path, &node);
    if (job == NULL) {
        berth_node_free(&node);
        berth_agent_config_free(&agent);
        return 1;
    }
    berth_driver_options options;
    berth_agent_config_driver_options(&agent, &options);
    if (cli_validate_tasks(path, job, &options) > 0 || place_job(&agent, job, &node) < 0) {
        berth_job_free(job);
        berth_node_free(&node);
        berth_agent_config_free(&agent);
        return 1;
    }

    int status = 1;
    berth_error err = BERTH_ERROR_INIT;
    berth_docker *docker = NULL;
    berth_driver *driver = NULL;
    berth_port_allocator ports;
    bool ports_ready = false;
    berth_value *attributes = NULL;

    if (cli_open_docker_for_agent(&agent, &docker, &err) < 0) {
        cli_print_error("run", &err);
        goto out;
    }
    berth_docker_set_cancel_flag(docker, &stop_signal);
    berth_driver_open(docker, &options, &driver, &err);
    if (berth_driver_fingerprint(driver, &attributes, &err) < 0) {
        fprintf(stderr, "berth run: docker driver unavailable: %s\n", err.message);
        goto out;
    }
    for (size_t i = 0; i < attributes->as.map.length; i++)
        berth_value_map_set(node.attributes, attributes->as.map.keys[i],
                            berth_value_clone(attributes->as.map.values[i]));
    if (berth_port_allocator_init(&ports, BERTH_PORTS_DEFAULT_MIN, BERTH_PORTS_DEFAULT_MAX,
                                  &err) < 0) {
        cli_print_error("run", &err);
        goto out;
    }
    ports_ready = true;

    berth_run_options run_options = {
        .driver = driver,
        .node = &node,
        .ports = &ports,
        .host_ip = bind_addr,
        .data_dir = data_dir != NULL && *data_dir != '\0' ? data_dir : "/tmp",
        .stop_requested = &stop_signal,
        .force_requested = cli_force_flag(),
        .callbacks = {print_output, print_event, NULL},
    };
    berth_run_result result;
    if (berth_run_job(job, &run_options, &result, &err) < 0) {
        cli_print_error("run", &err);
        status = 1;
    } else if (result.stopped) {
        status = 128 + (int)stop_signal;
    } else {
        status = result.exit_code;
    }
    if (stop_signal != 0)
        status = 128 + (int)stop_signal;

out:
    berth_value_free(attributes);
    if (ports_ready)
        berth_port_allocator_destroy(&ports);
    berth_driver_close(driver);
    berth_docker_close(docker);
    berth_job_free(job);
    berth_node_free(&node);
    berth_agent_config_free(&agent);
    return status;
}
