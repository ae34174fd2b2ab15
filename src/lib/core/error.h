/* The error object every fallible berth function takes as its last argument.
 *
 * A function that fails fills the object and returns a negative value. Callers
 * on the way up prepend context with berth_error_prefix(), so the message
 * that reaches the user reads from the outermost step inward:
 * "start task web: pull 127.0.0.1:5000/app:1: registry returned 401". */
#ifndef BERTH_CORE_ERROR_H
#define BERTH_CORE_ERROR_H

#include <stddef.h>

enum berth_error_code {
    BERTH_OK = 0,
    BERTH_E_INVALID,     /* bad input: job file, option, agent setting, argument */
    BERTH_E_NOT_FOUND,   /* a file, image or container does not exist */
    BERTH_E_IO,          /* a system call or file operation failed */
    BERTH_E_ENGINE,      /* the Docker Engine replied with an error */
    BERTH_E_UNREACHABLE, /* the Docker Engine or another server could not be reached */
    BERTH_E_CONFLICT,    /* the engine reported a conflict (HTTP 409) */
    BERTH_E_TOO_LARGE,   /* a bounded buffer reached its maximum */
    BERTH_E_CANCELLED,   /* the operation was interrupted by a stop request */
    BERTH_E_NO_MEMORY,
    BERTH_E_INTERNAL,
};

#define BERTH_ERROR_MESSAGE_MAX 2048

typedef struct berth_error {
    enum berth_error_code code;
    int http_status; /* the engine's HTTP status when code is BERTH_E_ENGINE, else 0 */
    char message[BERTH_ERROR_MESSAGE_MAX];
} berth_error;

#define BERTH_ERROR_INIT {BERTH_OK, 0, {0}}

/* Fills err (when not NULL) and returns -1, so a caller can write
 * `return berth_error_set(err, ...)`. A message longer than the buffer is
 * truncated. */
int berth_error_set(berth_error *err, enum berth_error_code code, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* Like berth_error_set(), with ": strerror(errnum)" appended. */
int berth_error_set_errno(berth_error *err, int errnum, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends "context: " to the message already in err and returns -1. */
int berth_error_prefix(berth_error *err, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

void berth_error_clear(berth_error *err);

const char *berth_error_code_name(enum berth_error_code code);

#endif
