/* Memory, string and cleanup helpers shared by every module.
 *
 * Allocation failure aborts the process (as crun's xmalloc does): berth has
 * no useful way to continue without memory, and checking every small
 * allocation would hide the real error paths. */
#ifndef BERTH_CORE_UTIL_H
#define BERTH_CORE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void *berth_xmalloc(size_t size);
void *berth_xcalloc(size_t count, size_t size);
void *berth_xrealloc(void *pointer, size_t size);
char *berth_xstrdup(const char *text);
char *berth_xstrndup(const char *text, size_t length);
/* Returns a newly allocated formatted string; the caller frees it. */
char *berth_xasprintf(const char *format, ...) __attribute__((format(printf, 1, 2)));

/* Grows *array (of element_size items, *capacity allocated) so that it can
 * hold at least needed items. */
void berth_grow(void **array, size_t *capacity, size_t needed, size_t element_size);

/* Cleanup attributes for locals: the variable is freed when it leaves scope. */
void berth_freep(void *pointer_to_pointer);
#define berth_autofree __attribute__((cleanup(berth_freep)))

/* Moves ownership out of a local declared with a cleanup attribute: returns
 * the pointer and sets the local to NULL so the cleanup does nothing. */
static inline void *berth_steal_pointer_(void *pointer_to_pointer)
{
    void **slot = pointer_to_pointer;
    void *value = *slot;
    *slot = NULL;
    return value;
}
#define berth_steal_pointer(pp) ((__typeof__(*(pp)))berth_steal_pointer_(pp))

bool berth_str_has_prefix(const char *text, const char *prefix);
bool berth_str_has_suffix(const char *text, const char *suffix);

/* Parses a whole decimal integer in [min, max]; returns false on anything
 * else (empty text, trailing characters, overflow). */
bool berth_parse_int64(const char *text, int64_t min, int64_t max, int64_t *out);

/* Parses an RFC 3339 UTC time with optional fractional seconds
 * ("2026-12-04T20:04:47.061234567Z", as the engine and Nomad write them)
 * from length bytes of text into unix nanoseconds. */
bool berth_parse_rfc3339_ns(const char *text, size_t length, int64_t *out);

/* Milliseconds on the monotonic clock. */
int64_t berth_now_ms(void);

/* Fills out with a random version 4 UUID in its 36-character form. */
void berth_uuid_v4(char out[37]);

#endif
