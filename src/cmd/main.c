/* berth: runs Nomad job files' docker tasks on a local Docker Engine. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void print_usage(FILE *stream)
{
    fputs("Usage: berth COMMAND [OPTIONS] [ARGS]\n"
          "\n"
          "Runs the docker tasks of Nomad job files on this machine's Docker Engine.\n"
          "\n"
          "Commands:\n"
          "  run JOBFILE       run every docker task of a job until they end\n"
          "  validate JOBFILE  check a job file without contacting Docker\n"
          "  fingerprint       print the docker driver's node attributes\n"
          "  version           print berth's version\n"
          "\n"
          "Agent commands:\n"
          "  agent             run the node agent and its HTTP API\n"
          "  job COMMAND       run, show or stop jobs (run, status, stop)\n"
          "  alloc COMMAND     show allocations and task logs (status, logs)\n"
          "  node status       show the agent's node\n"
          "The agent commands reach the agent at -address URL, $BERTH_ADDR or\n"
          "http://127.0.0.1:4646.\n"
          "\n"
          "Run 'berth COMMAND --help' for a command's options.\n"
          "The Docker Engine is found through DOCKER_HOST (default\n"
          "unix:///var/run/docker.sock), DOCKER_TLS_VERIFY and DOCKER_CERT_PATH.\n",
          stream);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_usage(stderr);
        return EXIT_USAGE;
    }
    const char *command = argv[1];
    if (cli_flag(command, "help") || cli_flag(command, "h") || strcmp(command, "help") == 0) {
        print_usage(stdout);
        return 0;
    }
    if (cli_flag(command, "version") || cli_flag(command, "v"))
        return cmd_version(argc - 1, argv + 1);
    if (strcmp(command, "run") == 0)
        return cmd_run(argc - 1, argv + 1);
    if (strcmp(command, "validate") == 0)
        return cmd_validate(argc - 1, argv + 1);
    if (strcmp(command, "fingerprint") == 0)
        return cmd_fingerprint(argc - 1, argv + 1);
    if (strcmp(command, "agent") == 0)
        return cmd_agent(argc - 1, argv + 1);
    if (strcmp(command, "job") == 0)
        return cmd_job(argc - 1, argv + 1);
    if (strcmp(command, "alloc") == 0)
        return cmd_alloc(argc - 1, argv + 1);
    if (strcmp(command, "node") == 0)
        return cmd_node(argc - 1, argv + 1);
    if (strcmp(command, "version") == 0)
        return cmd_version(argc - 1, argv + 1);
    fprintf(stderr, "berth: unknown command \"%s\"\n\n", command);
    print_usage(stderr);
    return EXIT_USAGE;
}
