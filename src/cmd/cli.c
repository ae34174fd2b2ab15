#include "cli.h"

#include <signal.h>
#include <unistd.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent/config.h"
#include "core/util.h"
#include "core/value.h"
#include "agent/allocdir.h"
#include "driver/driver.h"

static volatile sig_atomic_t *stop_flag;
static volatile sig_atomic_t force_flag;

bool cli_flag(const char *argument, const char *name)
{
    if (argument[0] != '-')
        return false;
    argument += argument[1] == '-' ? 2 : 1;
    return strcmp(argument, name) == 0;
}

bool cli_option_value(int argc, char **argv, int *index, const char *name, const char **value)
{
    const char *argument = argv[*index];
    if (argument[0] != '-')
        return false;
    argument += argument[1] == '-' ? 2 : 1;
    size_t length = strlen(name);
    if (strncmp(argument, name, length) != 0)
        return false;
    if (argument[length] == '=') {
        *value = argument + length + 1;
        return true;
    }
    if (argument[length] != '\0')
        return false;
    if (*index + 1 >= argc) {
        fprintf(stderr, "berth: option -%s needs a value\n", name);
        exit(EXIT_USAGE);
    }
    *value = argv[++*index];
    return true;
}

int cli_parse_common(int argc, char **argv, int *index, cli_common *common)
{
    const char *value = NULL;
    if (cli_option_value(argc, argv, index, "log-level", &value)) {
        if (!berth_log_parse_level(value, &common->log_level)) {
            fprintf(stderr, "berth: invalid -log-level \"%s\"; use debug, info, warn or error\n",
                    value);
            return -1;
        }
        return 1;
    }
    if (cli_option_value(argc, argv, index, "log-format", &value)) {
        if (strcmp(value, "text") == 0) {
            common->log_format = BERTH_LOG_TEXT;
        } else if (strcmp(value, "json") == 0) {
            common->log_format = BERTH_LOG_JSON;
        } else {
            fprintf(stderr, "berth: invalid -log-format \"%s\"; use text or json\n", value);
            return -1;
        }
        return 1;
    }
    return 0;
}

void cli_setup_logging(const cli_common *common)
{
    berth_log_use_stream(stderr, common->log_level, common->log_format);
}

int cli_open_docker(berth_docker **out, berth_error *err)
{
    berth_docker_config config;
    static berth_docker_env_storage storage;
    memset(&config, 0, sizeof(config));
    berth_docker_config_from_env(&config, &storage);
    return berth_docker_open(&config, out, err);
}

int cli_load_agent_config(const char *command, const char *const *paths, size_t path_count,
                          berth_agent_config *config)
{
    berth_job_diagnostics diagnostics;
    memset(&diagnostics, 0, sizeof(diagnostics));
    berth_error err = BERTH_ERROR_INIT;
    int rc = 0;
    for (size_t i = 0; i < path_count && rc == 0; i++)
        rc = berth_agent_config_load_file(config, paths[i], &diagnostics, &err);
    if (rc == 0)
        rc = berth_agent_config_finish(config, &diagnostics, &err);
    for (size_t i = 0; i < diagnostics.warning_count; i++)
        fprintf(stderr, "%s (warning)\n", diagnostics.warnings[i]);
    for (size_t i = 0; i < diagnostics.error_count; i++)
        fprintf(stderr, "%s\n", diagnostics.errors[i]);
    if (rc < 0 && diagnostics.error_count == 0)
        cli_print_error(command, &err);
    berth_job_diagnostics_free(&diagnostics);
    return rc;
}

int cli_open_docker_for_agent(const berth_agent_config *config, berth_docker **out,
                              berth_error *err)
{
    berth_docker_config docker_config;
    static berth_docker_env_storage storage;
    berth_agent_config_docker(config, &docker_config, &storage);
    return berth_docker_open(&docker_config, out, err);
}

static void on_stop_signal(int signal_number)
{
    if (stop_flag == NULL)
        return;
    /* The first signal decides the exit status; a second one forces. */
    if (*stop_flag != 0)
        force_flag = 1;
    else
        *stop_flag = signal_number;
}

const volatile sig_atomic_t *cli_force_flag(void)
{
    return &force_flag;
}

void cli_handle_stop_signals(volatile sig_atomic_t *flag)
{
    stop_flag = flag;
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
    /* A closed terminal must stop the tasks too, not leave them running. */
    sigaction(SIGHUP, &action, NULL);
    /* A closed output pipe must not kill berth before it removes its
     * containers. */
    signal(SIGPIPE, SIG_IGN);
}

void cli_print_error(const char *command, const berth_error *err)
{
    fprintf(stderr, "berth %s: %s\n", command, err->message);
}

berth_value *cli_job_lookup(void *user_data, const char *name)
{
    const berth_node *node = user_data;
    if (strncmp(name, "NOMAD_", 6) == 0) {
        char *placeholder = berth_xasprintf("${%s}", name);
        berth_value *value = berth_value_new_string(placeholder);
        free(placeholder);
        return value;
    }
    if (node == NULL)
        return NULL;
    if (strcmp(name, "meta") == 0)
        return berth_value_clone(node->meta);
    if (strcmp(name, "attr") == 0)
        return berth_value_clone(node->attributes);
    if (strcmp(name, "node") == 0) {
        berth_value *map = berth_value_new_map();
        berth_value *unique = berth_value_new_map();
        berth_value_map_set(unique, "id", berth_value_new_string(node->id));
        berth_value_map_set(unique, "name", berth_value_new_string(node->name));
        berth_value_map_set(map, "unique", unique);
        berth_value_map_set(map, "datacenter", berth_value_new_string(node->datacenter));
        berth_value_map_set(map, "region", berth_value_new_string(node->region));
        berth_value_map_set(map, "class", berth_value_new_string(node->node_class));
        berth_value_map_set(map, "attr", berth_value_clone(node->attributes));
        berth_value_map_set(map, "meta", berth_value_clone(node->meta));
        return map;
    }
    return NULL;
}

berth_job *cli_load_job(const char *command, const char *path, const berth_node *node)
{
    if (access(path, R_OK) != 0) {
        fprintf(stderr, "berth %s: cannot read job file %s: %s\n", command, path,
                strerror(errno));
        return NULL;
    }
    berth_job_load_options options = {cli_job_lookup, (void *)node};
    berth_job_diagnostics diagnostics;
    memset(&diagnostics, 0, sizeof(diagnostics));
    berth_job *job = NULL;
    berth_error err = BERTH_ERROR_INIT;
    /* A .json file is a job in Nomad's JSON job format, as the HTTP API
     * takes it; anything else is HCL. */
    int rc = berth_str_has_suffix(path, ".json")
                 ? berth_job_load_json_file(path, &job, &diagnostics, &err)
                 : berth_job_load_hcl_file(path, &options, &job, &diagnostics, &err);
    for (size_t i = 0; i < diagnostics.warning_count; i++)
        fprintf(stderr, "%s (warning)\n", diagnostics.warnings[i]);
    if (rc < 0) {
        for (size_t i = 0; i < diagnostics.error_count; i++)
            fprintf(stderr, "%s\n", diagnostics.errors[i]);
        if (diagnostics.error_count == 0)
            cli_print_error(command, &err);
        berth_job_diagnostics_free(&diagnostics);
        return NULL;
    }
    berth_job_diagnostics_free(&diagnostics);
    return job;
}

int cli_validate_tasks(const char *path, const berth_job *job,
                       const struct berth_driver_options *options)
{
    int problems = 0;
    for (size_t g = 0; g < job->group_count; g++) {
        for (size_t t = 0; t < job->groups[g].task_count; t++) {
            const berth_job_task *task = &job->groups[g].tasks[t];
            berth_error err = BERTH_ERROR_INIT;
            if (berth_task_validate_config(options, task, &err) < 0) {
                /* Messages from the config tree start with their own
                 * position; others get the task's. */
                if (strncmp(err.message, path, strlen(path)) == 0)
                    fprintf(stderr, "%s\n", err.message);
                else
                    fprintf(stderr, "%s: task \"%s\": %s\n", task->origin, task->name,
                            err.message);
                problems++;
            }
        }
    }
    return problems;
}

static const cli_command *find_command(const cli_command *commands, const char *name)
{
    for (const cli_command *command = commands; command->name != NULL; command++) {
        if (strcmp(command->name, name) == 0)
            return command;
    }
    return NULL;
}

static int print_unknown_command(const char *group, const char *name,
                                 void (*print_usage)(FILE *stream))
{
    fprintf(stderr, "%s: unknown command \"%s\"\n\n", group, name);
    print_usage(stderr);
    return EXIT_USAGE;
}

/* Runs "help CMD [ARGS]" as "CMD [ARGS] --help", so that "berth help job
 * run" prints what "berth job run --help" does. */
static int run_help(const char *group, int argc, char **argv, const cli_command *commands,
                    void (*print_usage)(FILE *stream))
{
    const cli_command *command = find_command(commands, argv[2]);
    if (command == NULL)
        return print_unknown_command(group, argv[2], print_usage);
    int help_argc = argc - 1;
    berth_autofree char **help_argv = berth_xcalloc((size_t)help_argc + 1, sizeof(char *));
    for (int i = 2; i < argc; i++)
        help_argv[i - 2] = argv[i];
    help_argv[help_argc - 1] = (char *)"--help";
    return command->run(help_argc, help_argv);
}

int cli_dispatch(const char *group, int argc, char **argv, const cli_command *commands,
                 void (*print_usage)(FILE *stream))
{
    if (argc < 2) {
        print_usage(stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "help") == 0 && argc >= 3)
        return run_help(group, argc, argv, commands, print_usage);
    if (cli_flag(name, "help") || cli_flag(name, "h") || strcmp(name, "help") == 0) {
        print_usage(stdout);
        return 0;
    }
    const cli_command *command = find_command(commands, name);
    if (command != NULL)
        return command->run(argc - 1, argv + 1);
    return print_unknown_command(group, name, print_usage);
}
