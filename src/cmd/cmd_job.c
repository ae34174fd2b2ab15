/* berth job run|status|stop: jobs on a running agent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/buf.h"
#include "core/util.h"

/* Job files sent to the agent stay under the agent's body limit. */
#define JOB_FILE_MAX (4 * 1024 * 1024)

static void print_usage(FILE *stream)
{
    fputs("Usage: berth job COMMAND [OPTIONS] [ARGS]\n"
          "\n"
          "Manages jobs on a running berth agent.\n"
          "\n"
          "Commands:\n"
          "  run JOBFILE    register a job (HCL, or Nomad's JSON format for .json files)\n"
          "  status [ID]    list jobs, or show one job and its allocations\n"
          "  stop ID        stop every allocation of a job\n"
          "\n"
          "Options:\n"
          "  -address URL   the agent's HTTP API (default $BERTH_ADDR or\n"
          "                 " BERTH_API_DEFAULT_ADDRESS ")\n",
          stream);
}

/* Parsed arguments shared by the job commands. */
typedef struct job_args {
    const char *address;
    const char *positional[2];
    int positional_count;
} job_args;

/* Returns 0, or EXIT_USAGE after printing why, or -1 for --help. */
static int parse_args(const char *command, int argc, char **argv, int max_positional,
                      job_args *args)
{
    memset(args, 0, sizeof(*args));
    for (int i = 1; i < argc; i++) {
        if (cli_flag(argv[i], "help") || cli_flag(argv[i], "h")) {
            print_usage(stdout);
            return -1;
        }
        if (cli_address_option(argc, argv, &i, &args->address))
            continue;
        if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "berth job %s: unknown option \"%s\"; see berth job --help\n",
                    command, argv[i]);
            return EXIT_USAGE;
        }
        if (args->positional_count >= max_positional) {
            fprintf(stderr, "berth job %s: unexpected argument \"%s\"; see berth job --help\n",
                    command, argv[i]);
            return EXIT_USAGE;
        }
        args->positional[args->positional_count++] = argv[i];
    }
    return 0;
}

/* Reads a job file into Nomad's JSON "Job" object: .json files as they
 * are (with or without the {"Job": ...} wrapper), anything else as HCL. */
static json_t *load_job_document(const char *path)
{
    if (berth_str_has_suffix(path, ".json")) {
        char *text = NULL;
        size_t length = 0;
        berth_error err = BERTH_ERROR_INIT;
        if (berth_read_file(path, JOB_FILE_MAX, &text, &length, &err) < 0) {
            cli_print_error("job run", &err);
            return NULL;
        }
        json_error_t parse_error;
        json_t *document = json_loadb(text, length, 0, &parse_error);
        free(text);
        if (document == NULL) {
            fprintf(stderr, "%s:%d:%d: invalid JSON: %s\n", path, parse_error.line,
                    parse_error.column, parse_error.text);
            return NULL;
        }
        json_t *inner = json_object_get(document, "Job");
        if (inner != NULL) {
            json_incref(inner);
            json_decref(document);
            return inner;
        }
        return document;
    }
    /* References to the node (${node.*}, ${attr.*}, ${meta.*}) are left as
     * written so that the agent resolves them for its own node. */
    berth_job *job = cli_load_job("job run", path, NULL);
    if (job == NULL)
        return NULL;
    json_t *document = berth_job_to_json(job);
    berth_job_free(job);
    return document;
}

/* Prints what the registration did to the job's allocations: the ones
 * made for this version, and older ones now stopping. */
static void print_new_allocations(berth_api_client *client, const char *job_id,
                                  json_int_t modify_index)
{
    char *escaped = berth_api_escape(job_id);
    char *path = berth_xasprintf("/v1/job/%s/allocations", escaped);
    free(escaped);
    json_t *allocations = NULL;
    berth_error err = BERTH_ERROR_INIT;
    if (berth_api_client_request(client, "GET", path, NULL, &allocations, &err) == 0) {
        size_t i;
        json_t *allocation;
        json_array_foreach(allocations, i, allocation)
        {
            json_int_t index = json_integer_value(json_object_get(allocation, "JobModifyIndex"));
            const char *desired = cli_json_string(allocation, "DesiredStatus", "");
            const char *client_status = cli_json_string(allocation, "ClientStatus", "");
            bool finished = strcmp(client_status, "complete") == 0 ||
                            strcmp(client_status, "failed") == 0;
            if (index == modify_index)
                printf("    Allocation \"%.8s\" created: task group \"%s\"\n",
                       cli_json_string(allocation, "ID", "?"),
                       cli_json_string(allocation, "TaskGroup", "?"));
            else if (strcmp(desired, "stop") == 0 && !finished)
                printf("    Allocation \"%.8s\" stopping: replaced by this version\n",
                       cli_json_string(allocation, "ID", "?"));
        }
    }
    json_decref(allocations);
    free(path);
}

static int job_run(int argc, char **argv)
{
    job_args args;
    int rc = parse_args("run", argc, argv, 1, &args);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    if (args.positional_count != 1) {
        fprintf(stderr, "berth job run: expected one job file\n");
        return EXIT_USAGE;
    }
    json_t *job = load_job_document(args.positional[0]);
    if (job == NULL)
        return 1;
    berth_api_client *client = cli_open_api("job run", args.address);
    if (client == NULL) {
        json_decref(job);
        return EXIT_USAGE;
    }
    const char *job_id = cli_json_string(job, "ID", cli_json_string(job, "Name", "?"));
    char *id = berth_xstrdup(job_id);
    json_t *body = json_pack("{s:O}", "Job", job);
    json_decref(job);
    json_t *reply = NULL;
    berth_error err = BERTH_ERROR_INIT;
    int status = 0;
    if (berth_api_client_request(client, "PUT", "/v1/jobs", body, &reply, &err) < 0) {
        cli_print_error("job run", &err);
        status = 1;
    } else {
        printf("==> Job \"%s\" registered\n", id);
        printf("    Evaluation ID: %s\n", cli_json_string(reply, "EvalID", "-"));
        printf("    Job modify index: %lld\n",
               (long long)json_integer_value(json_object_get(reply, "JobModifyIndex")));
        const char *warnings = cli_json_string(reply, "Warnings", "");
        if (warnings[0] != '\0')
            printf("    Warnings: %s\n", warnings);
        if (json_is_true(json_object_get(reply, "JobUnchanged")))
            printf("    Job unchanged: its allocations keep running\n");
        else
            print_new_allocations(client, id,
                                  json_integer_value(json_object_get(reply, "JobModifyIndex")));
    }
    json_decref(reply);
    json_decref(body);
    free(id);
    berth_api_client_close(client);
    return status;
}

static void print_job_list(const json_t *jobs)
{
    if (json_array_size(jobs) == 0) {
        printf("No running jobs\n");
        return;
    }
    printf("%-24s %-8s %-8s %-8s %s\n", "ID", "Type", "Priority", "Status", "Submit Date");
    size_t i;
    json_t *job;
    json_array_foreach(jobs, i, job)
    {
        char submitted[64];
        cli_format_time_ns(json_integer_value(json_object_get(job, "SubmitTime")), submitted,
                           sizeof(submitted));
        printf("%-24s %-8s %-8lld %-8s %s\n", cli_json_string(job, "ID", "?"),
               cli_json_string(job, "Type", "-"),
               (long long)json_integer_value(json_object_get(job, "Priority")),
               cli_json_string(job, "Status", "-"), submitted);
    }
}

static void print_job(const json_t *job, const json_t *allocations)
{
    printf("ID            = %s\n", cli_json_string(job, "ID", "?"));
    printf("Name          = %s\n", cli_json_string(job, "Name", "-"));
    printf("Type          = %s\n", cli_json_string(job, "Type", "-"));
    printf("Priority      = %lld\n",
           (long long)json_integer_value(json_object_get(job, "Priority")));
    printf("Datacenters   = ");
    size_t i;
    json_t *value;
    json_array_foreach(json_object_get(job, "Datacenters"), i, value)
    {
        printf("%s%s", i > 0 ? "," : "", json_string_value(value));
    }
    printf("\n");
    printf("Status        = %s\n", cli_json_string(job, "Status", "-"));
    printf("\nAllocations\n");
    if (json_array_size(allocations) == 0) {
        printf("No allocations placed\n");
        return;
    }
    printf("%-8s  %-8s  %-12s  %-7s  %-7s  %-9s  %s\n", "ID", "Node ID", "Task Group",
           "Version", "Desired", "Status", "Created");
    json_t *allocation;
    json_array_foreach(allocations, i, allocation)
    {
        char created[64];
        cli_format_time_ns(json_integer_value(json_object_get(allocation, "CreateTime")),
                           created, sizeof(created));
        printf("%-8.8s  %-8.8s  %-12s  %-7lld  %-7s  %-9s  %s\n",
               cli_json_string(allocation, "ID", "?"), cli_json_string(allocation, "NodeID", "-"),
               cli_json_string(allocation, "TaskGroup", "-"),
               (long long)json_integer_value(json_object_get(allocation, "JobModifyIndex")),
               cli_json_string(allocation, "DesiredStatus", "-"),
               cli_json_string(allocation, "ClientStatus", "-"), created);
    }
}

static int job_status(int argc, char **argv)
{
    job_args args;
    int rc = parse_args("status", argc, argv, 1, &args);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    berth_api_client *client = cli_open_api("job status", args.address);
    if (client == NULL)
        return EXIT_USAGE;
    berth_error err = BERTH_ERROR_INIT;
    json_t *reply = NULL;
    json_t *allocations = NULL;
    int status = 1;
    if (args.positional_count == 0) {
        if (berth_api_client_request(client, "GET", "/v1/jobs", NULL, &reply, &err) < 0)
            goto out;
        print_job_list(reply);
        status = 0;
        goto out;
    }
    char *escaped = berth_api_escape(args.positional[0]);
    char *job_path = berth_xasprintf("/v1/job/%s", escaped);
    char *allocations_path = berth_xasprintf("/v1/job/%s/allocations", escaped);
    free(escaped);
    if (berth_api_client_request(client, "GET", job_path, NULL, &reply, &err) == 0 &&
        berth_api_client_request(client, "GET", allocations_path, NULL, &allocations, &err) ==
            0) {
        print_job(reply, allocations);
        status = 0;
    }
    free(job_path);
    free(allocations_path);
out:
    if (status != 0)
        cli_print_error("job status", &err);
    json_decref(reply);
    json_decref(allocations);
    berth_api_client_close(client);
    return status;
}

static int job_stop(int argc, char **argv)
{
    job_args args;
    int rc = parse_args("stop", argc, argv, 1, &args);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    if (args.positional_count != 1) {
        fprintf(stderr, "berth job stop: expected one job ID\n");
        return EXIT_USAGE;
    }
    berth_api_client *client = cli_open_api("job stop", args.address);
    if (client == NULL)
        return EXIT_USAGE;
    char *escaped = berth_api_escape(args.positional[0]);
    char *path = berth_xasprintf("/v1/job/%s", escaped);
    free(escaped);
    json_t *reply = NULL;
    berth_error err = BERTH_ERROR_INIT;
    int status = 0;
    if (berth_api_client_request(client, "DELETE", path, NULL, &reply, &err) < 0) {
        cli_print_error("job stop", &err);
        status = 1;
    } else {
        printf("==> Job \"%s\" stopped\n", args.positional[0]);
        printf("    Evaluation ID: %s\n", cli_json_string(reply, "EvalID", "-"));
    }
    json_decref(reply);
    free(path);
    berth_api_client_close(client);
    return status;
}

int cmd_job(int argc, char **argv)
{
    static const cli_command commands[] = {{"run", job_run}, {"status", job_status}, {"stop", job_stop}, {NULL, NULL}};
    return cli_dispatch("berth job", argc, argv, commands, print_usage);
}
