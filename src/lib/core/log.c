#include "core/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static berth_log_sink log_sink;
static void *log_user_data;
static enum berth_log_level log_min_level = BERTH_LOG_INFO;
static enum berth_log_format log_format = BERTH_LOG_TEXT;

static const char *level_names[] = {"debug", "info", "warn", "error"};

void berth_log_set_sink(berth_log_sink sink, void *user_data, enum berth_log_level min_level,
                        enum berth_log_format format)
{
    pthread_mutex_lock(&log_lock);
    log_sink = sink;
    log_user_data = user_data;
    log_min_level = min_level;
    log_format = format;
    pthread_mutex_unlock(&log_lock);
}

static void write_to_stream(void *user_data, enum berth_log_level level, const char *line)
{
    (void)level;
    fprintf(user_data, "%s\n", line);
    fflush(user_data);
}

void berth_log_use_stream(FILE *stream, enum berth_log_level min_level, enum berth_log_format format)
{
    berth_log_set_sink(write_to_stream, stream, min_level, format);
}

bool berth_log_enabled(enum berth_log_level level)
{
    return log_sink != NULL && level >= log_min_level;
}

bool berth_log_parse_level(const char *text, enum berth_log_level *out)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcmp(text, level_names[i]) == 0) {
            *out = (enum berth_log_level)i;
            return true;
        }
    }
    return false;
}

/* Appends text quoted for the chosen format. Text values are quoted only when
 * they contain a space, a quote, '=' or a control character. */
static void append_quoted(berth_buf *line, const char *text, bool json)
{
    bool needs_quotes = json || *text == '\0' || strpbrk(text, " \"=\t\n\r\\") != NULL;
    if (needs_quotes)
        berth_buf_append(line, "\"", 1, NULL);
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\') {
            char escaped[2] = {'\\', (char)*p};
            berth_buf_append(line, escaped, 2, NULL);
        } else if (*p == '\n') {
            berth_buf_append(line, "\\n", 2, NULL);
        } else if (*p < 0x20) {
            berth_buf_printf(line, NULL, "\\u%04x", *p);
        } else {
            berth_buf_append(line, p, 1, NULL);
        }
    }
    if (needs_quotes)
        berth_buf_append(line, "\"", 1, NULL);
}

void berth_log(enum berth_log_level level, const char *message, ...)
{
    pthread_mutex_lock(&log_lock);
    if (log_sink == NULL || level < log_min_level) {
        pthread_mutex_unlock(&log_lock);
        return;
    }
    bool json = log_format == BERTH_LOG_JSON;

    char stamp[40];
    struct timespec now;
    struct tm utc;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &utc);
    size_t used = strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &utc);
    snprintf(stamp + used, sizeof(stamp) - used, ".%03ldZ", now.tv_nsec / 1000000);

    /* A log line is bounded so one huge field cannot exhaust memory. */
    berth_buf line;
    berth_buf_init(&line, 64 * 1024);
    if (json)
        berth_buf_printf(&line, NULL, "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":", stamp,
                         level_names[level]);
    else
        berth_buf_printf(&line, NULL, "time=%s level=%s msg=", stamp, level_names[level]);
    append_quoted(&line, message, json);

    va_list args;
    va_start(args, message);
    for (;;) {
        const char *key = va_arg(args, const char *);
        if (key == NULL)
            break;
        const char *value = va_arg(args, const char *);
        if (value == NULL)
            value = "";
        if (json) {
            berth_buf_append(&line, ",", 1, NULL);
            append_quoted(&line, key, true);
            berth_buf_append(&line, ":", 1, NULL);
        } else {
            berth_buf_printf(&line, NULL, " %s=", key);
        }
        append_quoted(&line, value, json);
    }
    va_end(args);
    if (json)
        berth_buf_append(&line, "}", 1, NULL);

    log_sink(log_user_data, level, line.data);
    pthread_mutex_unlock(&log_lock);
    berth_buf_free(&line);
}
