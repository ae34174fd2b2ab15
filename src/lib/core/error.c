#include "core/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int berth_error_set(berth_error *err, enum berth_error_code code, const char *format, ...)
{
    if (err == NULL)
        return -1;
    va_list args;
    va_start(args, format);
    vsnprintf(err->message, sizeof(err->message), format, args);
    va_end(args);
    err->code = code;
    err->http_status = 0;
    return -1;
}

int berth_error_set_errno(berth_error *err, int errnum, const char *format, ...)
{
    if (err == NULL)
        return -1;
    char text[BERTH_ERROR_MESSAGE_MAX];
    va_list args;
    va_start(args, format);
    vsnprintf(text, sizeof(text), format, args);
    va_end(args);
    enum berth_error_code code = errnum == ENOENT ? BERTH_E_NOT_FOUND : BERTH_E_IO;
    return berth_error_set(err, code, "%s: %s", text, strerror(errnum));
}

int berth_error_prefix(berth_error *err, const char *format, ...)
{
    if (err == NULL)
        return -1;
    char context[BERTH_ERROR_MESSAGE_MAX];
    va_list args;
    va_start(args, format);
    vsnprintf(context, sizeof(context), format, args);
    va_end(args);

    /* Shift the message right and write the context in front, truncating
     * the tail when the whole would not fit. */
    size_t context_length = strnlen(context, sizeof(err->message) - 3);
    size_t message_length = strnlen(err->message, sizeof(err->message) - 1);
    size_t room = sizeof(err->message) - 1 - context_length - 2;
    if (message_length > room)
        message_length = room;
    memmove(err->message + context_length + 2, err->message, message_length);
    memcpy(err->message, context, context_length);
    err->message[context_length] = ':';
    err->message[context_length + 1] = ' ';
    err->message[context_length + 2 + message_length] = '\0';
    if (err->code == BERTH_OK)
        err->code = BERTH_E_INTERNAL;
    return -1;
}

void berth_error_clear(berth_error *err)
{
    if (err == NULL)
        return;
    err->code = BERTH_OK;
    err->http_status = 0;
    err->message[0] = '\0';
}

const char *berth_error_code_name(enum berth_error_code code)
{
    switch (code) {
    case BERTH_OK: return "ok";
    case BERTH_E_INVALID: return "invalid";
    case BERTH_E_NOT_FOUND: return "not found";
    case BERTH_E_IO: return "i/o error";
    case BERTH_E_ENGINE: return "engine error";
    case BERTH_E_UNREACHABLE: return "unreachable";
    case BERTH_E_CONFLICT: return "conflict";
    case BERTH_E_TOO_LARGE: return "too large";
    case BERTH_E_CANCELLED: return "cancelled";
    case BERTH_E_NO_MEMORY: return "out of memory";
    case BERTH_E_INTERNAL: return "internal error";
    }
    return "unknown";
}
