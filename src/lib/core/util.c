#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static void out_of_memory(size_t size)
{
    /* The library never prints, except here: there is no caller left to
     * report to once an allocation fails. */
    static const char message[] = "berth: out of memory\n";
    (void)size;
    ssize_t ignored = write(STDERR_FILENO, message, sizeof(message) - 1);
    (void)ignored;
    abort();
}

void *berth_xmalloc(size_t size)
{
    void *pointer = malloc(size ? size : 1);
    if (pointer == NULL)
        out_of_memory(size);
    return pointer;
}

void *berth_xcalloc(size_t count, size_t size)
{
    void *pointer = calloc(count ? count : 1, size ? size : 1);
    if (pointer == NULL)
        out_of_memory(count * size);
    return pointer;
}

void *berth_xrealloc(void *pointer, size_t size)
{
    void *grown = realloc(pointer, size ? size : 1);
    if (grown == NULL)
        out_of_memory(size);
    return grown;
}

char *berth_xstrdup(const char *text)
{
    return berth_xstrndup(text, strlen(text));
}

char *berth_xstrndup(const char *text, size_t length)
{
    char *copy = berth_xmalloc(length + 1);
    memcpy(copy, text, length);
    copy[length] = '\0';
    return copy;
}

char *berth_xasprintf(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    int length = vsnprintf(NULL, 0, format, args);
    va_end(args);
    if (length < 0)
        out_of_memory(0);
    char *text = berth_xmalloc((size_t)length + 1);
    va_start(args, format);
    vsnprintf(text, (size_t)length + 1, format, args);
    va_end(args);
    return text;
}

void berth_grow(void **array, size_t *capacity, size_t needed, size_t element_size)
{
    if (needed <= *capacity)
        return;
    size_t grown = *capacity ? *capacity * 2 : 8;
    while (grown < needed)
        grown *= 2;
    *array = berth_xrealloc(*array, grown * element_size);
    *capacity = grown;
}

void berth_freep(void *pointer_to_pointer)
{
    void **slot = pointer_to_pointer;
    free(*slot);
    *slot = NULL;
}

bool berth_str_has_prefix(const char *text, const char *prefix)
{
    return strncmp(text, prefix, strlen(prefix)) == 0;
}

bool berth_str_has_suffix(const char *text, const char *suffix)
{
    size_t text_length = strlen(text);
    size_t suffix_length = strlen(suffix);
    return text_length >= suffix_length && strcmp(text + text_length - suffix_length, suffix) == 0;
}

bool berth_parse_int64(const char *text, int64_t min, int64_t max, int64_t *out)
{
    if (text == NULL || *text == '\0')
        return false;
    char *end = NULL;
    errno = 0;
    long long value = strtoll(text, &end, 10);
    if (errno != 0 || *end != '\0' || value < min || value > max)
        return false;
    *out = value;
    return true;
}

int64_t berth_now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

void berth_uuid_v4(char out[37])
{
    unsigned char bytes[16];
    size_t filled = 0;
    while (filled < sizeof(bytes)) {
        ssize_t got = getrandom(bytes + filled, sizeof(bytes) - filled, 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            abort(); /* only on kernels before 3.17, which lack getrandom */
        filled += (size_t)got;
    }
    bytes[6] = (unsigned char)((bytes[6] & 0x0f) | 0x40);
    bytes[8] = (unsigned char)((bytes[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
             bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]);
}

bool berth_parse_rfc3339_ns(const char *text, size_t length, int64_t *out)
{
    struct tm parts;
    memset(&parts, 0, sizeof(parts));
    char copy[64];
    if (length >= sizeof(copy))
        return false;
    memcpy(copy, text, length);
    copy[length] = '\0';
    char *rest = strptime(copy, "%Y-%m-%dT%H:%M:%S", &parts);
    if (rest == NULL)
        return false;
    int64_t fraction = 0;
    int digits = 0;
    if (*rest == '.') {
        rest++;
        while (*rest >= '0' && *rest <= '9') {
            if (digits < 9) {
                fraction = fraction * 10 + (*rest - '0');
                digits++;
            }
            rest++;
        }
    }
    while (digits++ < 9)
        fraction *= 10;
    if (*rest != 'Z')
        return false;
    *out = (int64_t)timegm(&parts) * 1000000000 + fraction;
    return true;
}
