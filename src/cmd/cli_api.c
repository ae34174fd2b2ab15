/* Helpers for the commands that talk to a running agent over its HTTP
 * API: the agent address, JSON field access and time formatting. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

bool cli_address_option(int argc, char **argv, int *index, const char **address)
{
    return cli_option_value(argc, argv, index, "address", address);
}

berth_api_client *cli_open_api(const char *command, const char *address)
{
    if (address == NULL)
        address = getenv("BERTH_ADDR");
    if (address == NULL || address[0] == '\0')
        address = BERTH_API_DEFAULT_ADDRESS;
    berth_api_client *client = NULL;
    berth_error err = BERTH_ERROR_INIT;
    if (berth_api_client_open(address, &client, &err) < 0) {
        cli_print_error(command, &err);
        return NULL;
    }
    return client;
}

const char *cli_json_string(const json_t *object, const char *key, const char *fallback)
{
    const char *value = json_string_value(json_object_get(object, key));
    return value != NULL ? value : fallback;
}

void cli_format_time_ns(int64_t nanoseconds, char *out, size_t size)
{
    if (nanoseconds <= 0) {
        snprintf(out, size, "-");
        return;
    }
    time_t seconds = (time_t)(nanoseconds / 1000000000);
    struct tm local;
    localtime_r(&seconds, &local);
    if (strftime(out, size, "%Y-%m-%dT%H:%M:%S%z", &local) == 0)
        snprintf(out, size, "-");
}
