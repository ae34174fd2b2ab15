#include "core/buf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"

void berth_buf_init(berth_buf *buf, size_t max)
{
    buf->data = NULL;
    buf->length = 0;
    buf->capacity = 0;
    buf->max = max;
}

int berth_buf_append(berth_buf *buf, const void *data, size_t length, berth_error *err)
{
    if (length > buf->max || buf->length > buf->max - length)
        return berth_error_set(err, BERTH_E_TOO_LARGE, "data exceeds the maximum of %zu bytes",
                               buf->max);
    berth_grow((void **)&buf->data, &buf->capacity, buf->length + length + 1, 1);
    if (length > 0)
        memcpy(buf->data + buf->length, data, length);
    buf->length += length;
    buf->data[buf->length] = '\0';
    return 0;
}

int berth_buf_append_str(berth_buf *buf, const char *text, berth_error *err)
{
    return berth_buf_append(buf, text, strlen(text), err);
}

int berth_buf_printf(berth_buf *buf, berth_error *err, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    int length = vsnprintf(NULL, 0, format, args);
    va_end(args);
    if (length < 0)
        return berth_error_set(err, BERTH_E_INTERNAL, "invalid format string");
    berth_autofree char *text = berth_xmalloc((size_t)length + 1);
    va_start(args, format);
    vsnprintf(text, (size_t)length + 1, format, args);
    va_end(args);
    return berth_buf_append(buf, text, (size_t)length, err);
}

void berth_buf_consume(berth_buf *buf, size_t count)
{
    if (count >= buf->length) {
        buf->length = 0;
    } else {
        memmove(buf->data, buf->data + count, buf->length - count);
        buf->length -= count;
    }
    if (buf->data != NULL)
        buf->data[buf->length] = '\0';
}

void berth_buf_reset(berth_buf *buf)
{
    buf->length = 0;
    if (buf->data != NULL)
        buf->data[0] = '\0';
}

char *berth_buf_steal(berth_buf *buf)
{
    char *data = buf->data != NULL ? buf->data : berth_xstrdup("");
    buf->data = NULL;
    buf->length = 0;
    buf->capacity = 0;
    return data;
}

void berth_buf_free(berth_buf *buf)
{
    free(buf->data);
    buf->data = NULL;
    buf->length = 0;
    buf->capacity = 0;
}

int berth_read_file(const char *path, size_t max, char **out, size_t *out_length, berth_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return berth_error_set_errno(err, errno, "open %s", path);

    berth_buf buf;
    berth_buf_init(&buf, max);
    char chunk[65536];
    for (;;) {
        ssize_t got = read(fd, chunk, sizeof(chunk));
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            int saved = errno;
            close(fd);
            berth_buf_free(&buf);
            return berth_error_set_errno(err, saved, "read %s", path);
        }
        if (got == 0)
            break;
        if (berth_buf_append(&buf, chunk, (size_t)got, err) < 0) {
            close(fd);
            berth_buf_free(&buf);
            return berth_error_prefix(err, "read %s", path);
        }
    }
    close(fd);
    if (out_length != NULL)
        *out_length = buf.length;
    *out = berth_buf_steal(&buf);
    return 0;
}
