/* A growable byte buffer with a hard maximum, for everything filled from the
 * network or a file (in the manner of curl's dynbuf). The content is always
 * NUL-terminated so it can be read as a string. */
#ifndef BERTH_CORE_BUF_H
#define BERTH_CORE_BUF_H

#include <stddef.h>

#include "core/error.h"

typedef struct berth_buf {
    char *data;
    size_t length;
    size_t capacity;
    size_t max; /* appends that would pass this many bytes fail */
} berth_buf;

void berth_buf_init(berth_buf *buf, size_t max);
/* Appends length bytes; fails with BERTH_E_TOO_LARGE past the maximum and
 * leaves the buffer unchanged. */
int berth_buf_append(berth_buf *buf, const void *data, size_t length, berth_error *err);
int berth_buf_append_str(berth_buf *buf, const char *text, berth_error *err);
int berth_buf_printf(berth_buf *buf, berth_error *err, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
/* Drops the first count bytes. */
void berth_buf_consume(berth_buf *buf, size_t count);
void berth_buf_reset(berth_buf *buf);
/* Hands the content to the caller (who frees it) and empties the buffer. */
char *berth_buf_steal(berth_buf *buf);
void berth_buf_free(berth_buf *buf);

/* Reads a whole file into a new buffer bounded by max; the caller frees
 * *out. */
int berth_read_file(const char *path, size_t max, char **out, size_t *out_length, berth_error *err);

#endif
