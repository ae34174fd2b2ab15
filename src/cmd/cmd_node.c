/* berth node status: the agent's node. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void print_usage(FILE *stream)
{
    fputs("Usage: berth node status [OPTIONS]\n"
          "\n"
          "Lists the nodes of a running berth agent (the agent's own node) with the\n"
          "docker driver's health.\n"
          "\n"
          "Options:\n"
          "  -address URL   the agent's HTTP API (default $BERTH_ADDR or\n"
          "                 " BERTH_API_DEFAULT_ADDRESS ")\n",
          stream);
}

static void print_nodes(const json_t *nodes)
{
    printf("%-8s  %-10s  %-20s  %-11s  %-6s  %s\n", "ID", "DC", "Name", "Eligibility",
           "Status", "Docker");
    size_t i;
    json_t *node;
    json_array_foreach(nodes, i, node)
    {
        const json_t *docker = json_object_get(json_object_get(node, "Drivers"), "docker");
        const char *health = "undetected";
        if (json_is_true(json_object_get(docker, "Healthy")))
            health = "healthy";
        else if (json_is_true(json_object_get(docker, "Detected")))
            health = "unhealthy";
        printf("%-8.8s  %-10s  %-20s  %-11s  %-6s  %s", cli_json_string(node, "ID", "?"),
               cli_json_string(node, "Datacenter", "-"), cli_json_string(node, "Name", "-"),
               cli_json_string(node, "SchedulingEligibility", "-"),
               cli_json_string(node, "Status", "-"), health);
        const char *description = cli_json_string(docker, "HealthDescription", "");
        if (strcmp(health, "healthy") != 0 && description[0] != '\0')
            printf(" (%s)", description);
        printf("\n");
    }
}

static int node_status(int argc, char **argv)
{
    const char *address = NULL;
    for (int i = 1; i < argc; i++) {
        if (cli_flag(argv[i], "help") || cli_flag(argv[i], "h")) {
            print_usage(stdout);
            return 0;
        }
        if (cli_address_option(argc, argv, &i, &address))
            continue;
        fprintf(stderr, "berth node status: unexpected argument \"%s\"; see berth node --help\n",
                argv[i]);
        return EXIT_USAGE;
    }
    berth_api_client *client = cli_open_api("node status", address);
    if (client == NULL)
        return EXIT_USAGE;
    json_t *nodes = NULL;
    berth_error err = BERTH_ERROR_INIT;
    int status = 0;
    if (berth_api_client_request(client, "GET", "/v1/nodes", NULL, &nodes, &err) < 0) {
        cli_print_error("node status", &err);
        status = 1;
    } else {
        print_nodes(nodes);
    }
    json_decref(nodes);
    berth_api_client_close(client);
    return status;
}

int cmd_node(int argc, char **argv)
{
    static const cli_command commands[] = {{"status", node_status}, {NULL, NULL}};
    return cli_dispatch("berth node", argc, argv, commands, print_usage);
}
