/* Shared pieces of the berth front ends: option parsing helpers, logging
 * set-up and the Docker client. Only front ends print or exit. */
#ifndef BERTH_CMD_CLI_H
#define BERTH_CMD_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "core/error.h"
#include "core/log.h"
#include "docker/docker.h"

#define EXIT_USAGE 2

typedef struct cli_common {
    enum berth_log_level log_level;
    enum berth_log_format log_format;
} cli_common;

/* Handles -log-level and -log-format at argv[*index]; returns 1 when the
 * argument was one of them (advancing *index), 0 when not, -1 on a bad
 * value (after printing why). */
int cli_parse_common(int argc, char **argv, int *index, cli_common *common);
void cli_setup_logging(const cli_common *common);

/* Matches "-name" or "--name", with the value either attached after '=' or
 * in the next argument. Returns true and sets *value on a match; prints an
 * error and exits with EXIT_USAGE when the value is missing. */
bool cli_option_value(int argc, char **argv, int *index, const char *name, const char **value);
bool cli_flag(const char *argument, const char *name);

/* Opens a Docker client from DOCKER_HOST and friends. */
int cli_open_docker(berth_docker **out, berth_error *err);

/* Loads the agent configuration files (-config, later files over earlier
 * ones) into config, printing warnings and every error as FILE:LINE:COL:
 * message. Returns -1 after printing when a file is invalid. */
struct berth_agent_config;
int cli_load_agent_config(const char *command, const char *const *paths, size_t path_count,
                          struct berth_agent_config *config);

/* Opens a Docker client from the agent configuration: its docker.endpoint
 * and docker.tls.* options when the endpoint is set, else the
 * environment as cli_open_docker() does. */
int cli_open_docker_for_agent(const struct berth_agent_config *config, berth_docker **out,
                              berth_error *err);

/* Installs SIGINT, SIGTERM and SIGHUP handlers: the first signal sets
 * *flag to its number, a later one sets the flag cli_force_flag()
 * returns. */
void cli_handle_stop_signals(volatile sig_atomic_t *flag);
const volatile sig_atomic_t *cli_force_flag(void);

void cli_print_error(const char *command, const berth_error *err);

/* One subcommand: its name and the function that runs it with argv[0]
 * set to that name. */
typedef struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv);
} cli_command;

/* Runs the subcommand named by argv[1] from a NULL-terminated table, or
 * prints usage: to stdout with exit 0 for help, to stderr with
 * EXIT_USAGE for a missing or unknown command. "help CMD [ARGS]" runs
 * "CMD [ARGS] --help". group is "berth" or "berth job", for messages. */
int cli_dispatch(const char *group, int argc, char **argv, const cli_command *commands,
                 void (*print_usage)(FILE *stream));

int cmd_run(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_fingerprint(int argc, char **argv);
int cmd_version(int argc, char **argv);

#include "job/job.h"
#include "taskenv/taskenv.h"

/* Resolves bare references in job files (`meta.x`, `node.unique.name`,
 * `attr["kernel.name"]`) against node; a bare NOMAD_* name becomes the
 * text "${NAME}" so the driver interpolates it when the task starts. */
berth_value *cli_job_lookup(void *user_data, const char *name);

/* Loads a job file (HCL, or Nomad's JSON job format when the name ends in
 * .json), printing every diagnostic as FILE:LINE:COL: message or, for
 * JSON, FILE: JSON.PATH: message. Returns NULL after printing when the
 * file is invalid. */
berth_job *cli_load_job(const char *command, const char *path, const berth_node *node);

/* Checks every task's driver config without contacting Docker, printing
 * each problem; returns how many there were. */
struct berth_driver_options;
int cli_validate_tasks(const char *path, const berth_job *job,
                       const struct berth_driver_options *options);

/* --- Commands on a running agent's HTTP API (cli_api.c) --- */
#include <stdint.h>

#include <jansson.h>

#include "api/client.h"

int cmd_agent(int argc, char **argv);
int cmd_job(int argc, char **argv);
int cmd_alloc(int argc, char **argv);
int cmd_node(int argc, char **argv);

/* Handles -address URL at argv[*index], as cli_option_value does. */
bool cli_address_option(int argc, char **argv, int *index, const char **address);

/* Opens a client for address, or BERTH_ADDR when address is NULL, or
 * http://127.0.0.1:4646. Prints the error and returns NULL on a bad
 * address. */
berth_api_client *cli_open_api(const char *command, const char *address);

/* Returns object[key] when it is a string, else fallback. */
const char *cli_json_string(const json_t *object, const char *key, const char *fallback);

/* Writes nanoseconds since the epoch as local RFC 3339 time, or "-" for 0. */
void cli_format_time_ns(int64_t nanoseconds, char *out, size_t size);
#endif
