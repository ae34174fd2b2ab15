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
          "  help COMMAND      print a command's help, as 'berth COMMAND --help' does\n"
          "\n"
          "Agent commands:\n"
          "  agent             run the node agent and its HTTP API\n"
          "  job COMMAND       run, show or stop jobs (run, status, stop)\n"
          "  alloc COMMAND     show allocations and task logs (status, logs)\n"
          "  node status       show the agent's node\n"
          "\n"
          "The agent commands reach the agent at -address URL, $BERTH_ADDR or\n"
          "http://127.0.0.1:4646.\n"
          "\n"
          "The Docker Engine is found through DOCKER_HOST (default\n"
          "unix:///var/run/docker.sock), DOCKER_TLS_VERIFY and DOCKER_CERT_PATH.\n"
          "\n"
          "Run 'berth COMMAND --help' for a command's options.\n",
          stream);
}

int main(int argc, char **argv)
{
    static const cli_command commands[] = {
        {"run", cmd_run},       {"validate", cmd_validate}, {"fingerprint", cmd_fingerprint},
        {"agent", cmd_agent},   {"job", cmd_job},           {"alloc", cmd_alloc},
        {"node", cmd_node},     {"version", cmd_version},   {"-version", cmd_version},
        {"--version", cmd_version}, {"-v", cmd_version},    {NULL, NULL},
    };
    return cli_dispatch("berth", argc, argv, commands, print_usage);
}
