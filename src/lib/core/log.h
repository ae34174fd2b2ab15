/* The logger: levels, key=value text or JSON lines, one sink.
 *
 * Library code logs through berth_log(); nothing is written until a front
 * end installs a sink with berth_log_set_sink() or berth_log_use_stderr().
 * Fields are passed as key, value string pairs ending with NULL:
 *
 *     berth_log(BERTH_LOG_INFO, "container started",
 *               "alloc_id", alloc_id, "container_id", id, NULL);
 *
 * Never pass a secret (registry password, auth header) as a field. */
#ifndef BERTH_CORE_LOG_H
#define BERTH_CORE_LOG_H

#include <stdbool.h>
#include <stdio.h>

enum berth_log_level {
    BERTH_LOG_DEBUG = 0,
    BERTH_LOG_INFO,
    BERTH_LOG_WARN,
    BERTH_LOG_ERROR,
};

enum berth_log_format {
    BERTH_LOG_TEXT, /* time=... level=info msg="..." key=value */
    BERTH_LOG_JSON, /* {"time":"...","level":"info","msg":"...","key":"value"} */
};

/* Receives one formatted line without its newline. */
typedef void (*berth_log_sink)(void *user_data, enum berth_log_level level, const char *line);

void berth_log_set_sink(berth_log_sink sink, void *user_data, enum berth_log_level min_level,
                        enum berth_log_format format);
/* Installs a sink writing to stream (stderr for the CLI). */
void berth_log_use_stream(FILE *stream, enum berth_log_level min_level, enum berth_log_format format);

bool berth_log_enabled(enum berth_log_level level);
void berth_log(enum berth_log_level level, const char *message, ...) __attribute__((sentinel));

/* Parses "debug", "info", "warn" or "error". */
bool berth_log_parse_level(const char *text, enum berth_log_level *out);

#endif
