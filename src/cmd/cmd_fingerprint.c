#include <stdio.h>
#include <string.h>

#include "agent/config.h"
#include "cli.h"
#include "core/util.h"
#include "driver/driver.h"

static void print_usage(FILE *stream)
{
    fputs("Usage: berth fingerprint [OPTIONS]\n"
          "\n"
          "Contacts the Docker Engine and prints the docker driver's node attributes\n"
          "as KEY = VALUE lines: driver.docker, driver.docker.version and, when the\n"
          "engine has a bridge network, driver.docker.bridge_ip.\n"
          "\n"
          "When the engine cannot be reached, reports the driver unhealthy (not\n"
          "detected) with the endpoint it tried and exits 1.\n"
          "\n"
          "Options:\n"
          "  -config FILE       an agent configuration file, repeatable: its\n"
          "                     docker.endpoint and docker.tls.* options choose the\n"
          "                     engine, and docker.privileged.enabled = 1 is printed\n"
          "                     when it allows privileged containers\n"
          "  -log-level LEVEL   debug, info, warn (default) or error\n"
          "  -log-format FORMAT text (default) or json\n",
          stream);
}

int cmd_fingerprint(int argc, char **argv)
{
    cli_common common = {BERTH_LOG_WARN, BERTH_LOG_TEXT};
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
        if (parsed == 0 && cli_option_value(argc, argv, &i, "config", &value)) {
            config_paths[config_count++] = value;
        } else if (parsed == 0) {
            fprintf(stderr, "berth fingerprint: unexpected argument \"%s\"\n", argv[i]);
            return EXIT_USAGE;
        }
    }
    cli_setup_logging(&common);

    berth_agent_config agent;
    berth_agent_config_init(&agent);
    if (cli_load_agent_config("fingerprint", config_paths, config_count, &agent) < 0) {
        berth_agent_config_free(&agent);
        return 1;
    }
    berth_error err = BERTH_ERROR_INIT;
    berth_docker *docker = NULL;
    if (cli_open_docker_for_agent(&agent, &docker, &err) < 0) {
        cli_print_error("fingerprint", &err);
        berth_agent_config_free(&agent);
        return 1;
    }
    berth_driver_options options;
    berth_agent_config_driver_options(&agent, &options);
    berth_driver *driver = NULL;
    berth_driver_open(docker, &options, &driver, &err);
    berth_value *attributes = NULL;
    int status = 0;
    if (berth_driver_fingerprint(driver, &attributes, &err) < 0) {
        fprintf(stderr,
                "berth fingerprint: docker driver unhealthy (not detected): %s\n", err.message);
        status = 1;
    } else {
        for (size_t i = 0; i < attributes->as.map.length; i++)
            printf("%s = %s\n", attributes->as.map.keys[i],
                   attributes->as.map.values[i]->as.string);
        berth_value_free(attributes);
    }
    berth_driver_close(driver);
    berth_docker_close(docker);
    berth_agent_config_free(&agent);
    return status;
}
