/* The HCL functions job files can call: a subset of HCL2's standard library
 * that Nomad job files commonly use. Each function checks its argument
 * count and types and reports errors at the call's position. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/util.h"
#include "hcl/hcl_internal.h"

typedef struct call {
    const char *name;
    berth_hcl_pos pos;
    berth_value **args;
    size_t count;
    berth_error *err;
} call;

typedef int (*function_impl)(const call *c, berth_value **out);

typedef struct function {
    const char *name;
    size_t min_args;
    size_t max_args; /* SIZE_MAX: any number */
    function_impl impl;
} function;

static int call_error(const call *c, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static int call_error(const call *c, const char *format, ...)
{
    char message[1024];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof(message), format, args);
    va_end(args);
    return berth_hcl_error_at(c->err, c->pos, "%s(): %s", c->name, message);
}

static int require_arg(const call *c, size_t index, berth_value_kind kind)
{
    const berth_value *arg = c->args[index];
    if (arg->kind == kind)
        return 0;
    char message[256];
    snprintf(message, sizeof(message), "argument %zu must be a %s, not a %s", index + 1,
             berth_value_kind_name(kind), berth_value_kind_name(arg->kind));
    return call_error(c, "%s", message);
}

/* Converts a primitive argument to text, as a template would. */
static int arg_text(const call *c, size_t index, char **out)
{
    const berth_value *arg = c->args[index];
    if (arg->kind == BERTH_VALUE_LIST || arg->kind == BERTH_VALUE_MAP || arg->kind == BERTH_VALUE_NULL) {
        char message[256];
        snprintf(message, sizeof(message), "argument %zu must be a string, not a %s", index + 1,
                 berth_value_kind_name(arg->kind));
        return call_error(c, "%s", message);
    }
    return berth_hcl_value_to_text(arg, c->pos, out, c->err);
}

static int string_result(const call *c, berth_buf *buf, berth_value **out)
{
    (void)c;
    *out = berth_value_new_string(buf->data != NULL ? buf->data : "");
    berth_buf_free(buf);
    return 0;
}

static int too_long(const call *c, berth_buf *buf)
{
    berth_buf_free(buf);
    return call_error(c, "result is longer than %u bytes", BERTH_HCL_MAX_STRING);
}

static int fn_jsonencode(const call *c, berth_value **out)
{
    json_t *json = berth_value_to_json(c->args[0]);
    if (json == NULL)
        return call_error(c, "%s", "value cannot be encoded as JSON");
    char *text = json_dumps(json, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    json_decref(json);
    if (text == NULL)
        return call_error(c, "%s", "value cannot be encoded as JSON");
    *out = berth_value_new_string(text);
    free(text);
    return 0;
}

/* NOTE: lower() and upper() change ASCII letters only; HCL2 also maps
 * other Unicode letters. */
static int change_case(const call *c, berth_value **out, int (*convert)(int))
{
    if (require_arg(c, 0, BERTH_VALUE_STRING) < 0)
        return -1;
    char *text = berth_xstrdup(c->args[0]->as.string);
    for (char *p = text; *p != '\0'; p++) {
        if ((unsigned char)*p < 0x80)
            *p = (char)convert((unsigned char)*p);
    }
    *out = berth_value_new_string(text);
    free(text);
    return 0;
}

static int fn_lower(const call *c, berth_value **out)
{
    return change_case(c, out, tolower);
}

static int fn_upper(const call *c, berth_value **out)
{
    return change_case(c, out, toupper);
}

static int fn_concat(const call *c, berth_value **out)
{
    for (size_t i = 0; i < c->count; i++) {
        if (require_arg(c, i, BERTH_VALUE_LIST) < 0)
            return -1;
    }
    berth_value *list = berth_value_new_list();
    for (size_t i = 0; i < c->count; i++) {
        for (size_t j = 0; j < c->args[i]->as.list.length; j++)
            berth_value_list_append(list, berth_value_clone(c->args[i]->as.list.items[j]));
    }
    *out = list;
    return 0;
}

static int fn_join(const call *c, berth_value **out)
{
    if (require_arg(c, 0, BERTH_VALUE_STRING) < 0)
        return -1;
    for (size_t i = 1; i < c->count; i++) {
        if (require_arg(c, i, BERTH_VALUE_LIST) < 0)
            return -1;
    }
    const char *separator = c->args[0]->as.string;
    berth_buf buf;
    berth_buf_init(&buf, BERTH_HCL_MAX_STRING);
    bool first = true;
    for (size_t i = 1; i < c->count; i++) {
        const berth_value *list = c->args[i];
        for (size_t j = 0; j < list->as.list.length; j++) {
            const berth_value *item = list->as.list.items[j];
            if (item->kind == BERTH_VALUE_LIST || item->kind == BERTH_VALUE_MAP ||
                item->kind == BERTH_VALUE_NULL) {
                berth_buf_free(&buf);
                return call_error(c, "list items must be strings, not a %s",
                                  berth_value_kind_name(item->kind));
            }
            berth_autofree char *text = NULL;
            if (berth_hcl_value_to_text(item, c->pos, &text, c->err) < 0) {
                berth_buf_free(&buf);
                return -1;
            }
            if ((!first && berth_buf_append_str(&buf, separator, c->err) < 0) ||
                berth_buf_append_str(&buf, text, c->err) < 0)
                return too_long(c, &buf);
            first = false;
        }
    }
    return string_result(c, &buf, out);
}

/* Length of the UTF-8 sequence starting with byte `lead` (1 for bytes that
 * do not start a sequence, so malformed text still advances). */
static size_t utf8_length(unsigned char lead)
{
    if (lead >= 0xf0)
        return 4;
    if (lead >= 0xe0)
        return 3;
    if (lead >= 0xc0)
        return 2;
    return 1;
}

static int fn_split(const call *c, berth_value **out)
{
    if (require_arg(c, 0, BERTH_VALUE_STRING) < 0 || require_arg(c, 1, BERTH_VALUE_STRING) < 0)
        return -1;
    const char *separator = c->args[0]->as.string;
    const char *text = c->args[1]->as.string;
    size_t separator_length = strlen(separator);
    berth_value *list = berth_value_new_list();
    if (separator_length == 0) {
        /* An empty separator splits into single characters, as in HCL2. */
        while (*text != '\0') {
            size_t length = strnlen(text, utf8_length((unsigned char)*text));
            char *piece = berth_xstrndup(text, length);
            berth_value_list_append(list, berth_value_new_string(piece));
            free(piece);
            text += length;
        }
        *out = list;
        return 0;
    }
    for (;;) {
        const char *found = strstr(text, separator);
        size_t length = found != NULL ? (size_t)(found - text) : strlen(text);
        char *piece = berth_xstrndup(text, length);
        berth_value_list_append(list, berth_value_new_string(piece));
        free(piece);
        if (found == NULL)
            break;
        text = found + separator_length;
    }
    *out = list;
    return 0;
}

static int append_json_string(berth_buf *buf, const char *text, berth_error *err)
{
    json_t *json = json_string(text);
    if (json == NULL)
        return berth_buf_append_str(buf, "\"\"", err);
    char *quoted = json_dumps(json, JSON_ENCODE_ANY);
    json_decref(json);
    int result = berth_buf_append_str(buf, quoted != NULL ? quoted : "\"\"", err);
    free(quoted);
    return result;
}

/* Formats one argument for the verb (s, d, v, q or f). */
static int format_argument(const call *c, char verb, const berth_value *arg, berth_buf *buf)
{
    char number[64];
    berth_autofree char *text = NULL;
    switch (verb) {
    case 'd':
        if (arg->kind != BERTH_VALUE_NUMBER || !arg->as.number.is_integer)
            return call_error(c, "%%d needs a whole number, not a %s",
                              arg->kind == BERTH_VALUE_NUMBER ? "fraction"
                                                              : berth_value_kind_name(arg->kind));
        snprintf(number, sizeof(number), "%" PRId64, arg->as.number.integer);
        return berth_buf_append_str(buf, number, c->err);
    case 'f':
        if (arg->kind != BERTH_VALUE_NUMBER)
            return call_error(c, "%%f needs a number, not a %s", berth_value_kind_name(arg->kind));
        snprintf(number, sizeof(number), "%f", arg->as.number.number);
        return berth_buf_append_str(buf, number, c->err);
    case 'q':
        if (arg->kind == BERTH_VALUE_LIST || arg->kind == BERTH_VALUE_MAP)
            return call_error(c, "%%q needs a string, not a %s", berth_value_kind_name(arg->kind));
        if (berth_hcl_value_to_text(arg, c->pos, &text, c->err) < 0)
            return -1;
        return append_json_string(buf, text, c->err);
    case 'v':
        if (arg->kind == BERTH_VALUE_LIST || arg->kind == BERTH_VALUE_MAP) {
            json_t *json = berth_value_to_json(arg);
            char *encoded = json != NULL ? json_dumps(json, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
            json_decref(json);
            int result = berth_buf_append_str(buf, encoded != NULL ? encoded : "", c->err);
            free(encoded);
            return result;
        }
        if (arg->kind == BERTH_VALUE_NULL)
            return berth_buf_append_str(buf, "null", c->err);
        break;
    case 's':
        if (arg->kind == BERTH_VALUE_LIST || arg->kind == BERTH_VALUE_MAP ||
            arg->kind == BERTH_VALUE_NULL)
            return call_error(c, "%%s needs a string, not a %s", berth_value_kind_name(arg->kind));
        break;
    default:
        break;
    }
    if (berth_hcl_value_to_text(arg, c->pos, &text, c->err) < 0)
        return -1;
    return berth_buf_append_str(buf, text, c->err);
}

/* NOTE: format() supports the verbs %s %d %v %q %f and %%, without flags,
 * widths or explicit argument indexes. */
static int fn_format(const call *c, berth_value **out)
{
    if (require_arg(c, 0, BERTH_VALUE_STRING) < 0)
        return -1;
    const char *spec = c->args[0]->as.string;
    size_t next = 1;
    berth_buf buf;
    berth_buf_init(&buf, BERTH_HCL_MAX_STRING);
    for (const char *p = spec; *p != '\0'; p++) {
        if (*p != '%') {
            if (berth_buf_append(&buf, p, 1, c->err) < 0)
                return too_long(c, &buf);
            continue;
        }
        char verb = p[1];
        if (verb == '%') {
            if (berth_buf_append(&buf, "%", 1, c->err) < 0)
                return too_long(c, &buf);
            p++;
            continue;
        }
        if (verb == '\0' || strchr("sdvqf", verb) == NULL) {
            berth_buf_free(&buf);
            char shown[8];
            snprintf(shown, sizeof(shown), "%%%c", verb != '\0' ? verb : ' ');
            return call_error(c, "unsupported verb \"%s\"; supported verbs are %%s %%d %%v %%q "
                                 "%%f and %%%%",
                              verb != '\0' ? shown : "%");
        }
        if (next >= c->count) {
            berth_buf_free(&buf);
            return call_error(c, "%s", "not enough arguments for the format string");
        }
        int result = format_argument(c, verb, c->args[next++], &buf);
        if (result < 0) {
            bool overflow = c->err == NULL || c->err->code == BERTH_E_TOO_LARGE;
            if (overflow)
                return too_long(c, &buf);
            berth_buf_free(&buf);
            return -1;
        }
        p++;
    }
    if (next < c->count) {
        berth_buf_free(&buf);
        return call_error(c, "%s", "too many arguments for the format string");
    }
    return string_result(c, &buf, out);
}

static int fn_tostring(const call *c, berth_value **out)
{
    const berth_value *arg = c->args[0];
    if (arg->kind == BERTH_VALUE_NULL) {
        *out = berth_value_new_null();
        return 0;
    }
    berth_autofree char *text = NULL;
    if (arg_text(c, 0, &text) < 0)
        return -1;
    *out = berth_value_new_string(text);
    return 0;
}

static int fn_tonumber(const call *c, berth_value **out)
{
    const berth_value *arg = c->args[0];
    if (arg->kind == BERTH_VALUE_NULL || arg->kind == BERTH_VALUE_NUMBER) {
        *out = berth_value_clone(arg);
        return 0;
    }
    if (require_arg(c, 0, BERTH_VALUE_STRING) < 0)
        return -1;
    const char *text = arg->as.string;
    int64_t integer;
    if (berth_parse_int64(text, INT64_MIN, INT64_MAX, &integer)) {
        *out = berth_value_new_integer(integer);
        return 0;
    }
    char *end = NULL;
    errno = 0;
    double number = strtod(text, &end);
    if (*text == '\0' || isspace((unsigned char)*text) || *end != '\0' || errno == ERANGE ||
        !isfinite(number))
        return call_error(c, "cannot convert \"%s\" to a number", text);
    *out = berth_value_new_double(number);
    return 0;
}

static int fn_length(const call *c, berth_value **out)
{
    const berth_value *arg = c->args[0];
    size_t length;
    switch (arg->kind) {
    case BERTH_VALUE_STRING:
        /* NOTE: counts Unicode code points; HCL2 counts grapheme clusters,
         * which differs for combining characters. */
        length = 0;
        for (const char *p = arg->as.string; *p != '\0'; p++)
            length += ((unsigned char)*p & 0xc0) != 0x80;
        break;
    case BERTH_VALUE_LIST:
        length = arg->as.list.length;
        break;
    case BERTH_VALUE_MAP:
        length = arg->as.map.length;
        break;
    default:
        return call_error(c, "argument must be a string, list or map, not a %s",
                          berth_value_kind_name(arg->kind));
    }
    *out = berth_value_new_integer((int64_t)length);
    return 0;
}

static int fn_trimspace(const call *c, berth_value **out)
{
    if (require_arg(c, 0, BERTH_VALUE_STRING) < 0)
        return -1;
    const char *start = c->args[0]->as.string;
    while (*start != '\0' && isspace((unsigned char)*start))
        start++;
    size_t length = strlen(start);
    while (length > 0 && isspace((unsigned char)start[length - 1]))
        length--;
    char *text = berth_xstrndup(start, length);
    *out = berth_value_new_string(text);
    free(text);
    return 0;
}

static int fn_replace(const call *c, berth_value **out)
{
    for (size_t i = 0; i < 3; i++) {
        if (require_arg(c, i, BERTH_VALUE_STRING) < 0)
            return -1;
    }
    const char *text = c->args[0]->as.string;
    const char *search = c->args[1]->as.string;
    const char *replacement = c->args[2]->as.string;
    size_t search_length = strlen(search);
    if (search_length >= 2 && search[0] == '/' && search[search_length - 1] == '/')
        return call_error(c, "%s", "regular expression patterns (\"/.../\") are not supported");
    if (search_length == 0) {
        *out = berth_value_new_string(text);
        return 0;
    }
    berth_buf buf;
    berth_buf_init(&buf, BERTH_HCL_MAX_STRING);
    for (;;) {
        const char *found = strstr(text, search);
        size_t length = found != NULL ? (size_t)(found - text) : strlen(text);
        if (berth_buf_append(&buf, text, length, c->err) < 0)
            return too_long(c, &buf);
        if (found == NULL)
            break;
        if (berth_buf_append_str(&buf, replacement, c->err) < 0)
            return too_long(c, &buf);
        text = found + search_length;
    }
    return string_result(c, &buf, out);
}

static int fn_coalesce(const call *c, berth_value **out)
{
    for (size_t i = 0; i < c->count; i++) {
        const berth_value *arg = c->args[i];
        if (arg->kind == BERTH_VALUE_NULL)
            continue;
        if (arg->kind == BERTH_VALUE_STRING && arg->as.string[0] == '\0')
            continue;
        *out = berth_value_clone(arg);
        return 0;
    }
    return call_error(c, "%s", "every argument is null or an empty string");
}

static int fn_merge(const call *c, berth_value **out)
{
    berth_value *map = berth_value_new_map();
    for (size_t i = 0; i < c->count; i++) {
        const berth_value *arg = c->args[i];
        if (arg->kind == BERTH_VALUE_NULL)
            continue;
        if (require_arg(c, i, BERTH_VALUE_MAP) < 0) {
            berth_value_free(map);
            return -1;
        }
        for (size_t j = 0; j < arg->as.map.length; j++)
            berth_value_map_set(map, arg->as.map.keys[j], berth_value_clone(arg->as.map.values[j]));
    }
    *out = map;
    return 0;
}

static int compare_keys(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Returns the map's keys in lexical order, as HCL2 does. The caller frees
 * the array, not the keys. */
static char **sorted_keys(const berth_value *map)
{
    char **keys = berth_xcalloc(map->as.map.length + 1, sizeof(*keys));
    for (size_t i = 0; i < map->as.map.length; i++)
        keys[i] = map->as.map.keys[i];
    qsort(keys, map->as.map.length, sizeof(*keys), compare_keys);
    return keys;
}

static int fn_keys(const call *c, berth_value **out)
{
    if (require_arg(c, 0, BERTH_VALUE_MAP) < 0)
        return -1;
    berth_autofree char **keys = sorted_keys(c->args[0]);
    berth_value *list = berth_value_new_list();
    for (size_t i = 0; i < c->args[0]->as.map.length; i++)
        berth_value_list_append(list, berth_value_new_string(keys[i]));
    *out = list;
    return 0;
}

static int fn_values(const call *c, berth_value **out)
{
    if (require_arg(c, 0, BERTH_VALUE_MAP) < 0)
        return -1;
    berth_autofree char **keys = sorted_keys(c->args[0]);
    berth_value *list = berth_value_new_list();
    for (size_t i = 0; i < c->args[0]->as.map.length; i++)
        berth_value_list_append(list, berth_value_clone(berth_value_map_get(c->args[0], keys[i])));
    *out = list;
    return 0;
}

static int fn_contains(const call *c, berth_value **out)
{
    if (require_arg(c, 0, BERTH_VALUE_LIST) < 0)
        return -1;
    const berth_value *list = c->args[0];
    bool found = false;
    for (size_t i = 0; i < list->as.list.length && !found; i++)
        found = berth_hcl_values_equal(list->as.list.items[i], c->args[1]);
    *out = berth_value_new_bool(found);
    return 0;
}

static int extreme(const call *c, berth_value **out, bool want_max)
{
    size_t best = 0;
    for (size_t i = 0; i < c->count; i++) {
        if (require_arg(c, i, BERTH_VALUE_NUMBER) < 0)
            return -1;
        double number = c->args[i]->as.number.number;
        double current = c->args[best]->as.number.number;
        if (want_max ? number > current : number < current)
            best = i;
    }
    *out = berth_value_clone(c->args[best]);
    return 0;
}

static int fn_min(const call *c, berth_value **out)
{
    return extreme(c, out, false);
}

static int fn_max(const call *c, berth_value **out)
{
    return extreme(c, out, true);
}

static int fn_abs(const call *c, berth_value **out)
{
    if (require_arg(c, 0, BERTH_VALUE_NUMBER) < 0)
        return -1;
    const berth_value *arg = c->args[0];
    if (arg->as.number.is_integer && arg->as.number.integer != INT64_MIN)
        *out = berth_value_new_integer(arg->as.number.integer < 0 ? -arg->as.number.integer
                                                                  : arg->as.number.integer);
    else
        *out = berth_value_new_double(fabs(arg->as.number.number));
    return 0;
}

static const function functions[] = {
    {"abs", 1, 1, fn_abs},
    {"coalesce", 1, SIZE_MAX, fn_coalesce},
    {"concat", 1, SIZE_MAX, fn_concat},
    {"contains", 2, 2, fn_contains},
    {"format", 1, SIZE_MAX, fn_format},
    {"join", 2, SIZE_MAX, fn_join},
    {"jsonencode", 1, 1, fn_jsonencode},
    {"keys", 1, 1, fn_keys},
    {"length", 1, 1, fn_length},
    {"lower", 1, 1, fn_lower},
    {"max", 1, SIZE_MAX, fn_max},
    {"merge", 0, SIZE_MAX, fn_merge},
    {"min", 1, SIZE_MAX, fn_min},
    {"replace", 3, 3, fn_replace},
    {"split", 2, 2, fn_split},
    {"tonumber", 1, 1, fn_tonumber},
    {"tostring", 1, 1, fn_tostring},
    {"trimspace", 1, 1, fn_trimspace},
    {"upper", 1, 1, fn_upper},
    {"values", 1, 1, fn_values},
};

#define FUNCTION_COUNT (sizeof(functions) / sizeof(functions[0]))

/* Kept in the same order as `functions`; a unit test checks that they
 * match. */
static const char *const function_names[] = {
    "abs",    "coalesce", "concat",  "contains", "format",   "join",     "jsonencode",
    "keys",   "length",   "lower",   "max",      "merge",    "min",      "replace",
    "split",  "tonumber", "tostring", "trimspace", "upper",  "values",   NULL,
};

_Static_assert(sizeof(function_names) / sizeof(function_names[0]) == FUNCTION_COUNT + 1,
               "function_names must list every function");

/* Returns the names of the functions job files can call, in a static
 * NULL-terminated array. */
const char *const *berth_hcl_function_names(void)
{
    return function_names;
}

int berth_hcl_call_function(const char *name, berth_hcl_pos pos, berth_value **args,
                            size_t count, berth_value **out, berth_error *err)
{
    const function *fn = NULL;
    for (size_t i = 0; i < FUNCTION_COUNT; i++) {
        if (strcmp(functions[i].name, name) == 0)
            fn = &functions[i];
    }
    if (fn == NULL) {
        char supported[512] = "";
        size_t used = 0;
        for (size_t i = 0; i < FUNCTION_COUNT && used < sizeof(supported); i++)
            used += (size_t)snprintf(supported + used, sizeof(supported) - used, "%s%s",
                                     i > 0 ? ", " : "", functions[i].name);
        return berth_hcl_error_at(err, pos, "unknown function \"%s\"; supported functions are %s",
                                  name, supported);
    }
    if (count < fn->min_args || count > fn->max_args) {
        if (fn->min_args == fn->max_args)
            return berth_hcl_error_at(err, pos, "%s() takes %zu argument%s, got %zu", name,
                                      fn->min_args, fn->min_args == 1 ? "" : "s", count);
        return berth_hcl_error_at(err, pos, "%s() takes at least %zu argument%s, got %zu", name,
                                  fn->min_args, fn->min_args == 1 ? "" : "s", count);
    }
    call c = {name, pos, args, count, err};
    return fn->impl(&c, out);
}
