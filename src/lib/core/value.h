/* A generic value tree: null, bool, number, string, list and map.
 *
 * This is how a task's `config` block reaches the driver, whatever it was
 * written in (HCL, Nomad's JSON job format, later the plugin's msgpack), so
 * the driver never depends on a parser's types. Each value may carry an
 * origin such as "job.hcl:12:5" for error messages. */
#ifndef BERTH_CORE_VALUE_H
#define BERTH_CORE_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/error.h"

typedef enum berth_value_kind {
    BERTH_VALUE_NULL,
    BERTH_VALUE_BOOL,
    BERTH_VALUE_NUMBER,
    BERTH_VALUE_STRING,
    BERTH_VALUE_LIST,
    BERTH_VALUE_MAP,
} berth_value_kind;

typedef struct berth_value berth_value;

struct berth_value {
    berth_value_kind kind;
    char *origin; /* "file:line:col" where the value was written, or NULL */
    union {
        bool boolean;
        struct {
            double number;
            bool is_integer; /* the text was a whole number that fits integer */
            int64_t integer;
        } number;
        char *string;
        struct {
            berth_value **items;
            size_t length, capacity;
        } list;
        struct {
            char **keys;
            berth_value **values;
            size_t length, capacity;
        } map; /* keys in insertion order, unique */
    } as;
};

berth_value *berth_value_new_null(void);
berth_value *berth_value_new_bool(bool value);
berth_value *berth_value_new_integer(int64_t value);
berth_value *berth_value_new_double(double value);
berth_value *berth_value_new_string(const char *text);
berth_value *berth_value_new_list(void);
berth_value *berth_value_new_map(void);

/* Sets the origin (copied). Returns value for chaining. */
berth_value *berth_value_set_origin(berth_value *value, const char *origin);

/* Takes ownership of item. */
void berth_value_list_append(berth_value *list, berth_value *item);
/* Takes ownership of item; replaces (and frees) an existing value under key. */
void berth_value_map_set(berth_value *map, const char *key, berth_value *item);
/* Returns the value under key, or NULL; the map keeps ownership. */
const berth_value *berth_value_map_get(const berth_value *map, const char *key);

berth_value *berth_value_clone(const berth_value *value);
void berth_value_free(berth_value *value);
void berth_value_freep(berth_value **value);
#define berth_autovalue __attribute__((cleanup(berth_value_freep)))

const char *berth_value_kind_name(berth_value_kind kind);

/* Converts to and from jansson. berth_value_to_json returns a new reference. */
json_t *berth_value_to_json(const berth_value *value);
berth_value *berth_value_from_json(const json_t *json);

/* Builds "origin: " or "" for messages; the result is a static-size copy. */
void berth_value_describe_origin(const berth_value *value, char *out, size_t out_size);

#endif
