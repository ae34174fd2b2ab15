/* berth agent: the long-running node agent with its HTTP API. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/config.h"
#include "api/api.h"
#include "agent/ports.h"
#include "cli.h"

#define DEFAULT_HTTP_PORT 4646
#define MAX_CONFIG_FILES 16

static volatile sig_atomic_t stop_signal;

static void print_usage(FILE *stream)
{
    fputs("Usage: berth agent [OPTIONS]\n"
          "\n"
          "Runs the node agent: it keeps allocations running, stores its state under\n"
          "data_dir and serves Nomad's HTTP API (default 127.0.0.1:4646) until\n"
          "SIGINT or SIGTERM. Containers keep running when the agent stops, and the\n"
          "next agent with the same data_dir re-attaches to them.\n"
          "\n"
          "Options:\n"
          "  -config FILE       agent configuration file in Nomad's format (data_dir,\n"
          "                     bind_addr, ports { http }, datacenter, region, name,\n"
          "                     client { meta options }); may be repeated, later files\n"
          "                     override earlier ones\n"
          "  -data-dir DIR      state folder (overrides data_dir)\n"
          "  -bind IP           address for the HTTP API and published task ports\n"
          "                     (overrides bind_addr; default 127.0.0.1)\n"
          "  -orphan-grace DURATION\n"
          "                     how old a container with this agent's label that no\n"
          "                     task owns must be before it is removed (default 5m)\n"
          "  -log-level LEVEL   debug, info (default), warn or error\n"
          "  -log-format FORMAT text (default) or json\n",
          stream);
}

/* Checks that the API can listen on address:port, as the server will:
 * with SO_REUSEADDR, so a connection of a previous agent still in
 * TIME-WAIT does not count as the port being in use. */
static bool can_listen(const char *address, int port, char *reason, size_t reason_size)
{
    struct sockaddr_storage storage;
    memset(&storage, 0, sizeof(storage));
    struct sockaddr_in *v4 = (struct sockaddr_in *)&storage;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&storage;
    socklen_t length;
    if (inet_pton(AF_INET, address, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        length = sizeof(*v4);
    } else if (inet_pton(AF_INET6, address, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        length = sizeof(*v6);
    } else {
        snprintf(reason, reason_size, "\"%s\" is not an IP address", address);
        return false;
    }
    int fd = socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(reason, reason_size, "%s", strerror(errno));
        return false;
    }
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    bool ok = bind(fd, (struct sockaddr *)&storage, length) == 0;
    if (!ok)
        snprintf(reason, reason_size, "%s",
                 errno == EADDRINUSE     ? "the port is in use"
                 : errno == EADDRNOTAVAIL ? "the address is not one of this host's"
                                          : strerror(errno));
    close(fd);
    return ok;
}

static void wait_for_stop_signal(void)
{
    struct timespec interval = {0, 100 * 1000 * 1000};
    while (stop_signal == 0)
        nanosleep(&interval, NULL);
}

int cmd_agent(int argc, char **argv)
{
    cli_common common = {BERTH_LOG_INFO, BERTH_LOG_TEXT};
    const char *config_paths[MAX_CONFIG_FILES];
    size_t config_count = 0;
    const char *data_dir = NULL;
    const char *bind_addr = NULL;
    int64_t orphan_grace_ms = 0;
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
            if (config_count == MAX_CONFIG_FILES) {
                fprintf(stderr, "berth agent: at most %d -config files are read\n",
                        MAX_CONFIG_FILES);
                return EXIT_USAGE;
            }
            config_paths[config_count++] = value;
        } else if (cli_option_value(argc, argv, &i, "data-dir", &value)) {
            data_dir = value;
        } else if (cli_option_value(argc, argv, &i, "bind", &value)) {
            bind_addr = value;
        } else if (cli_option_value(argc, argv, &i, "orphan-grace", &value)) {
            if (!berth_parse_duration_ms(value, &orphan_grace_ms) || orphan_grace_ms < 1000) {
                fprintf(stderr,
                        "berth agent: invalid -orphan-grace \"%s\"; use a duration of at least "
                        "1s such as \"30s\" or \"5m\"\n",
                        value);
                return EXIT_USAGE;
            }
        } else {
            fprintf(stderr, "berth agent: unexpected argument \"%s\"; see berth agent --help\n",
                    argv[i]);
            return EXIT_USAGE;
        }
    }
    cli_setup_logging(&common);

    berth_agent_config config;
    berth_agent_config_init(&config);
    if (cli_load_agent_config("agent", config_paths, config_count, &config) < 0) {
        berth_agent_config_free(&config);
        return 1;
    }
    if (data_dir == NULL)
        data_dir = config.data_dir;
    if (bind_addr == NULL)
        bind_addr = config.bind_addr != NULL ? config.bind_addr : "127.0.0.1";
    if (data_dir == NULL) {
        fprintf(stderr, "berth agent: missing data_dir; set it in the -config file or pass "
                        "-data-dir DIR\n");
        berth_agent_config_free(&config);
        return EXIT_USAGE;
    }

    berth_agent_options options;
    memset(&options, 0, sizeof(options));
    berth_docker_env_storage docker_storage;
    options.data_dir = data_dir;
    options.node_name = config.name;
    options.datacenter = config.datacenter;
    options.region = config.region;
    options.node_meta = config.meta;
    options.host_ip = bind_addr;
    options.orphan_grace_ms = orphan_grace_ms;
    berth_agent_config_docker(&config, &options.docker, &docker_storage);
    berth_agent_config_driver_options(&config, &options.driver);

    /* Check the API address before the agent resumes any task, so a bad
     * address or a port in use fails without side effects. */
    int http_port = config.http_port > 0 ? config.http_port : DEFAULT_HTTP_PORT;
    char reason[256];
    if (!can_listen(bind_addr, http_port, reason, sizeof(reason))) {
        fprintf(stderr,
                "berth agent: cannot listen on %s port %d: %s; set bind_addr and ports { http } "
                "or pass -bind\n",
                bind_addr, http_port, reason);
        berth_agent_config_free(&config);
        return 1;
    }

    cli_handle_stop_signals(&stop_signal);
    int status = 1;
    berth_error err = BERTH_ERROR_INIT;
    berth_agent *agent = NULL;
    berth_api_server *server = NULL;
    if (berth_agent_open(&options, &agent, &err) < 0) {
        cli_print_error("agent", &err);
        goto out;
    }
    berth_api_backend backend;
    berth_api_backend_from_agent(agent, &backend);
    berth_api_server_options server_options = {
        .bind_addr = bind_addr,
        .port = http_port,
    };
    if (berth_api_server_start(&server_options, &backend, &server, &err) < 0) {
        cli_print_error("agent", &err);
        goto out;
    }
    fprintf(stderr, "==> berth agent started: HTTP API on http://%s:%d, data_dir %s\n",
            bind_addr, berth_api_server_port(server), data_dir);

    wait_for_stop_signal();
    berth_log(BERTH_LOG_INFO, "agent stopping on signal", "signal", strsignal(stop_signal),
              NULL);
    status = 0;
out:
    berth_api_server_stop(server);
    berth_agent_close(agent);
    berth_agent_config_free(&config);
    return status;
}
