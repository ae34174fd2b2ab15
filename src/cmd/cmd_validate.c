#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "driver/driver.h"

static void print_usage(FILE *stream)
{
    fputs("Usage: berth validate JOBFILE\n"
          "\n"
          "Checks a Nomad job file without contacting Docker: syntax, the job\n"
          "specification and each docker task's config options. A file whose name\n"
          "ends in .json is read in Nomad's JSON job format, as the HTTP API takes\n"
          "it; any other file is read as HCL1 or HCL2. Every problem is printed as\n"
          "FILE:LINE:COL: message (FILE: JSON.PATH: message for JSON). Exits 0 when\n"
          "the file is valid and 1 when it is not.\n",
          stream);
}

int cmd_validate(int argc, char **argv)
{
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (cli_flag(argv[i], "help") || cli_flag(argv[i], "h")) {
            print_usage(stdout);
            return 0;
        }
        if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "berth validate: unknown option \"%s\"\n", argv[i]);
            return EXIT_USAGE;
        }
        if (path != NULL) {
            fprintf(stderr, "berth validate: expected one job file, got \"%s\" and \"%s\"\n",
                    path, argv[i]);
            return EXIT_USAGE;
        }
        path = argv[i];
    }
    if (path == NULL) {
        print_usage(stderr);
        return EXIT_USAGE;
    }

    berth_node node;
    berth_node_init_local(&node, "dc1", "global");
    berth_job *job = cli_load_job("validate", path, &node);
    if (job == NULL) {
        berth_node_free(&node);
        return 1;
    }

    berth_driver_options options = {.allow_privileged = false, .cleanup_image = true};
    int problems = cli_validate_tasks(path, job, &options);
    size_t tasks = 0;
    for (size_t g = 0; g < job->group_count; g++)
        tasks += job->groups[g].task_count;
    int status = 0;
    if (problems == 0) {
        printf("%s: job \"%s\" is valid (%zu %s, %zu %s)\n", path, job->name,
               job->group_count, job->group_count == 1 ? "group" : "groups", tasks,
               tasks == 1 ? "task" : "tasks");
    } else {
        status = 1;
    }
    berth_job_free(job);
    berth_node_free(&node);
    return status;
}
