/* Task log files as Nomad writes them: alloc/logs/<task>.<stream>.<N>, N
 * counting up from 0. A file is closed once it reaches the maximum size and
 * the next one opened; only the newest max_files are kept. */
#ifndef BERTH_AGENT_LOGFILE_H
#define BERTH_AGENT_LOGFILE_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct berth_log_rotator {
    char *dir;
    char *prefix; /* "<task>.<stream>." */
    int max_files;
    int64_t max_bytes;
    int64_t index; /* number of the file being written */
    int fd;
    int64_t size;
} berth_log_rotator;

/* Opens the newest existing file of the stream for appending, or file 0. */
int berth_log_rotator_open(berth_log_rotator *rotator, const char *dir, const char *task,
                           const char *stream, int max_files, int max_file_size_mb,
                           berth_error *err);
/* Appends data, moving to a new file whenever the current one is full. */
int berth_log_rotator_write(berth_log_rotator *rotator, const char *data, size_t length,
                            berth_error *err);
void berth_log_rotator_close(berth_log_rotator *rotator);

/* Lists the stream's files, oldest first (the caller frees each path and
 * the array). */
int berth_log_files_list(const char *dir, const char *task, const char *stream, char ***paths,
                         size_t *count, berth_error *err);

#endif
