/* berth alloc status|logs: allocations on a running agent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/util.h"

static void print_usage(FILE *stream)
{
    fputs("Usage: berth alloc COMMAND [OPTIONS] ARGS\n"
          "\n"
          "Shows allocations on a running berth agent.\n"
          "\n"
          "Commands:\n"
          "  status ID         show an allocation, its task states and recent events\n"
          "  logs ID [TASK]    print a task's stdout (TASK may be left out when the\n"
          "                    allocation has one task)\n"
          "\n"
          "Options:\n"
          "  -address URL      the agent's HTTP API (default $BERTH_ADDR or\n"
          "                    " BERTH_API_DEFAULT_ADDRESS ")\n"
          "  -f                logs: keep printing new output until the task stops\n"
          "  -stderr           logs: print stderr instead of stdout\n"
          "\n"
          "ID may be a unique prefix of the allocation ID.\n",
          stream);
}

/* Fetches the allocation with id (or a unique prefix of it). */
static int fetch_allocation(berth_api_client *client, const char *id, json_t **allocation,
                            berth_error *err)
{
    char *escaped = berth_api_escape(id);
    char *path = berth_xasprintf("/v1/allocation/%s", escaped);
    free(escaped);
    int rc = berth_api_client_request(client, "GET", path, NULL, allocation, err);
    free(path);
    return rc;
}

static void print_time_field(const char *label, const json_t *object, const char *key)
{
    const char *value = cli_json_string(object, key, "");
    /* Go's zero time, which Nomad sends for a task not started yet. */
    if (value[0] == '\0' || berth_str_has_prefix(value, "0001-01-01"))
        value = "N/A";
    printf("%-12s = %s\n", label, value);
}

static void print_events(const json_t *events)
{
    printf("\nRecent Events:\n");
    printf("%-25s  %-18s  %s\n", "Time", "Type", "Description");
    /* Newest first, as Nomad prints them. */
    for (size_t i = json_array_size(events); i > 0; i--) {
        const json_t *event = json_array_get(events, i - 1);
        char time_text[64];
        cli_format_time_ns(json_integer_value(json_object_get(event, "Time")), time_text,
                           sizeof(time_text));
        const char *message = cli_json_string(event, "DisplayMessage", "");
        if (message[0] == '\0')
            message = cli_json_string(event, "Message", "");
        printf("%-25s  %-18s  %s\n", time_text, cli_json_string(event, "Type", "-"), message);
    }
}

/* Prints the task's ports as "label: IP:port", static ones marked. */
static void print_addresses(const json_t *networks)
{
    const json_t *network = json_array_get(networks, 0);
    if (network == NULL)
        return;
    const char *ip = cli_json_string(network, "IP", "?");
    static const char *const kinds[] = {"ReservedPorts", "DynamicPorts"};
    bool header = false;
    for (size_t k = 0; k < 2; k++) {
        size_t index;
        const json_t *port;
        json_array_foreach(json_object_get(network, kinds[k]), index, port)
        {
            if (!header) {
                printf("Addresses:\n");
                header = true;
            }
            printf("  %s: %s:%lld%s\n", cli_json_string(port, "Label", "?"), ip,
                   (long long)json_integer_value(json_object_get(port, "Value")),
                   k == 0 ? " (static)" : "");
        }
    }
}

static void print_allocation(const json_t *allocation)
{
    char created[64];
    char modified[64];
    cli_format_time_ns(json_integer_value(json_object_get(allocation, "CreateTime")), created,
                       sizeof(created));
    cli_format_time_ns(json_integer_value(json_object_get(allocation, "ModifyTime")), modified,
                       sizeof(modified));
    printf("ID                  = %s\n", cli_json_string(allocation, "ID", "?"));
    printf("Name                = %s\n", cli_json_string(allocation, "Name", "-"));
    printf("Node ID             = %.8s\n", cli_json_string(allocation, "NodeID", "-"));
    printf("Job ID              = %s\n", cli_json_string(allocation, "JobID", "-"));
    printf("Job Version         = %lld\n",
           (long long)json_integer_value(json_object_get(allocation, "JobModifyIndex")));
    printf("Client Status       = %s\n", cli_json_string(allocation, "ClientStatus", "-"));
    printf("Desired Status      = %s\n", cli_json_string(allocation, "DesiredStatus", "-"));
    printf("Created             = %s\n", created);
    printf("Modified            = %s\n", modified);

    const char *task_name;
    json_t *state;
    json_object_foreach((json_t *)json_object_get(allocation, "TaskStates"), task_name, state)
    {
        printf("\nTask \"%s\" is \"%s\"\n", task_name, cli_json_string(state, "State", "-"));
        printf("%-12s = %lld\n", "Restarts",
               (long long)json_integer_value(json_object_get(state, "Restarts")));
        printf("%-12s = %s\n", "Failed",
               json_is_true(json_object_get(state, "Failed")) ? "true" : "false");
        print_time_field("Started At", state, "StartedAt");
        print_time_field("Finished At", state, "FinishedAt");
        print_addresses(json_object_get(
            json_object_get(json_object_get(allocation, "TaskResources"), task_name), "Networks"));
        print_events(json_object_get(state, "Events"));
    }
}

static int alloc_status(int argc, char **argv)
{
    const char *address = NULL;
    const char *id = NULL;
    for (int i = 1; i < argc; i++) {
        if (cli_flag(argv[i], "help") || cli_flag(argv[i], "h")) {
            print_usage(stdout);
            return 0;
        }
        if (cli_address_option(argc, argv, &i, &address))
            continue;
        if ((argv[i][0] == '-' && argv[i][1] != '\0') || id != NULL) {
            fprintf(stderr, "berth alloc status: unexpected argument \"%s\"; see berth alloc "
                            "--help\n",
                    argv[i]);
            return EXIT_USAGE;
        }
        id = argv[i];
    }
    if (id == NULL) {
        fprintf(stderr, "berth alloc status: expected an allocation ID\n");
        return EXIT_USAGE;
    }
    berth_api_client *client = cli_open_api("alloc status", address);
    if (client == NULL)
        return EXIT_USAGE;
    json_t *allocation = NULL;
    berth_error err = BERTH_ERROR_INIT;
    int status = 0;
    if (fetch_allocation(client, id, &allocation, &err) < 0) {
        cli_print_error("alloc status", &err);
        status = 1;
    } else {
        print_allocation(allocation);
    }
    json_decref(allocation);
    berth_api_client_close(client);
    return status;
}

static int write_output(void *user_data, const char *data, size_t length)
{
    FILE *out = user_data;
    if (fwrite(data, 1, length, out) != length)
        return -1;
    fflush(out);
    return 0;
}

/* Picks the task to read: the one named, or the only one. */
static const char *choose_task(const json_t *allocation, const char *task, const char *id)
{
    const json_t *states = json_object_get(allocation, "TaskStates");
    if (task != NULL) {
        if (json_object_get(states, task) == NULL) {
            fprintf(stderr, "berth alloc logs: task \"%s\" not found in allocation %s\n", task,
                    id);
            return NULL;
        }
        return task;
    }
    if (json_object_size(states) != 1) {
        fprintf(stderr,
                "berth alloc logs: allocation %s has %zu tasks; name the task to read\n", id,
                json_object_size(states));
        return NULL;
    }
    const char *name;
    json_t *state;
    json_object_foreach((json_t *)states, name, state)
    {
        return name;
    }
    return NULL;
}

static int alloc_logs(int argc, char **argv)
{
    const char *address = NULL;
    const char *arguments[2] = {NULL, NULL};
    int argument_count = 0;
    bool follow = false;
    bool use_stderr = false;
    for (int i = 1; i < argc; i++) {
        if (cli_flag(argv[i], "help") || cli_flag(argv[i], "h")) {
            print_usage(stdout);
            return 0;
        }
        if (cli_address_option(argc, argv, &i, &address))
            continue;
        if (cli_flag(argv[i], "f")) {
            follow = true;
        } else if (cli_flag(argv[i], "stderr")) {
            use_stderr = true;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "berth alloc logs: unknown option \"%s\"; see berth alloc --help\n",
                    argv[i]);
            return EXIT_USAGE;
        } else if (argument_count == 2) {
            fprintf(stderr, "berth alloc logs: unexpected argument \"%s\"; see berth alloc --help\n",
                    argv[i]);
            return EXIT_USAGE;
        } else {
            arguments[argument_count++] = argv[i];
        }
    }
    if (argument_count == 0) {
        fprintf(stderr, "berth alloc logs: expected an allocation ID, and a task name when "
                        "the allocation has more than one task\n");
        return EXIT_USAGE;
    }
    berth_api_client *client = cli_open_api("alloc logs", address);
    if (client == NULL)
        return EXIT_USAGE;

    int status = 1;
    json_t *allocation = NULL;
    char *path = NULL;
    berth_error err = BERTH_ERROR_INIT;
    if (fetch_allocation(client, arguments[0], &allocation, &err) < 0) {
        cli_print_error("alloc logs", &err);
        goto out;
    }
    const char *full_id = cli_json_string(allocation, "ID", arguments[0]);
    const char *task = choose_task(allocation, arguments[1], full_id);
    if (task == NULL)
        goto out;
    char *escaped_id = berth_api_escape(full_id);
    char *escaped_task = berth_api_escape(task);
    path = berth_xasprintf("/v1/client/fs/logs/%s?task=%s&type=%s&plain=true&follow=%s",
                           escaped_id, escaped_task, use_stderr ? "stderr" : "stdout",
                           follow ? "true" : "false");
    free(escaped_id);
    free(escaped_task);
    int rc = berth_api_client_stream(client, path, write_output,
                                     use_stderr ? stderr : stdout, &err);
    if (rc < 0) {
        cli_print_error("alloc logs", &err);
        goto out;
    }
    /* The output so far is complete up to where the agent stopped, so this
     * is the end of the logs rather than a failure. */
    if (rc == 1)
        fprintf(stderr, "berth alloc logs: the agent closed the log stream (did it stop?)\n");
    status = 0;
out:
    free(path);
    json_decref(allocation);
    berth_api_client_close(client);
    return status;
}

int cmd_alloc(int argc, char **argv)
{
    static const cli_command commands[] = {{"status", alloc_status}, {"logs", alloc_logs}, {NULL, NULL}};
    return cli_dispatch("berth alloc", argc, argv, commands, print_usage);
}
