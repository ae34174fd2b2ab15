#include "core/value.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

static berth_value *new_value(berth_value_kind kind)
{
    berth_value *value = berth_xcalloc(1, sizeof(*value));
    value->kind = kind;
    return value;
}

berth_value *berth_value_new_null(void)
{
    return new_value(BERTH_VALUE_NULL);
}

berth_value *berth_value_new_bool(bool boolean)
{
    berth_value *value = new_value(BERTH_VALUE_BOOL);
    value->as.boolean = boolean;
    return value;
}

berth_value *berth_value_new_integer(int64_t integer)
{
    berth_value *value = new_value(BERTH_VALUE_NUMBER);
    value->as.number.number = (double)integer;
    value->as.number.is_integer = true;
    value->as.number.integer = integer;
    return value;
}

berth_value *berth_value_new_double(double number)
{
    berth_value *value = new_value(BERTH_VALUE_NUMBER);
    value->as.number.number = number;
    if (isfinite(number) && number == floor(number) && fabs(number) < 9.0e15) {
        value->as.number.is_integer = true;
        value->as.number.integer = (int64_t)number;
    }
    return value;
}

berth_value *berth_value_new_string(const char *text)
{
    berth_value *value = new_value(BERTH_VALUE_STRING);
    value->as.string = berth_xstrdup(text);
    return value;
}

berth_value *berth_value_new_list(void)
{
    return new_value(BERTH_VALUE_LIST);
}

berth_value *berth_value_new_map(void)
{
    return new_value(BERTH_VALUE_MAP);
}

berth_value *berth_value_set_origin(berth_value *value, const char *origin)
{
    free(value->origin);
    value->origin = origin != NULL ? berth_xstrdup(origin) : NULL;
    return value;
}

void berth_value_list_append(berth_value *list, berth_value *item)
{
    berth_grow((void **)&list->as.list.items, &list->as.list.capacity, list->as.list.length + 1,
               sizeof(*list->as.list.items));
    list->as.list.items[list->as.list.length++] = item;
}

void berth_value_map_set(berth_value *map, const char *key, berth_value *item)
{
    for (size_t i = 0; i < map->as.map.length; i++) {
        if (strcmp(map->as.map.keys[i], key) == 0) {
            berth_value_free(map->as.map.values[i]);
            map->as.map.values[i] = item;
            return;
        }
    }
    size_t capacity = map->as.map.capacity;
    berth_grow((void **)&map->as.map.keys, &capacity, map->as.map.length + 1,
               sizeof(*map->as.map.keys));
    capacity = map->as.map.capacity;
    berth_grow((void **)&map->as.map.values, &capacity, map->as.map.length + 1,
               sizeof(*map->as.map.values));
    map->as.map.capacity = capacity;
    map->as.map.keys[map->as.map.length] = berth_xstrdup(key);
    map->as.map.values[map->as.map.length] = item;
    map->as.map.length++;
}

const berth_value *berth_value_map_get(const berth_value *map, const char *key)
{
    if (map == NULL || map->kind != BERTH_VALUE_MAP)
        return NULL;
    for (size_t i = 0; i < map->as.map.length; i++) {
        if (strcmp(map->as.map.keys[i], key) == 0)
            return map->as.map.values[i];
    }
    return NULL;
}

berth_value *berth_value_clone(const berth_value *value)
{
    if (value == NULL)
        return NULL;
    berth_value *copy = NULL;
    switch (value->kind) {
    case BERTH_VALUE_NULL:
        copy = berth_value_new_null();
        break;
    case BERTH_VALUE_BOOL:
        copy = berth_value_new_bool(value->as.boolean);
        break;
    case BERTH_VALUE_NUMBER:
        copy = new_value(BERTH_VALUE_NUMBER);
        copy->as.number = value->as.number;
        break;
    case BERTH_VALUE_STRING:
        copy = berth_value_new_string(value->as.string);
        break;
    case BERTH_VALUE_LIST:
        copy = berth_value_new_list();
        for (size_t i = 0; i < value->as.list.length; i++)
            berth_value_list_append(copy, berth_value_clone(value->as.list.items[i]));
        break;
    case BERTH_VALUE_MAP:
        copy = berth_value_new_map();
        for (size_t i = 0; i < value->as.map.length; i++)
            berth_value_map_set(copy, value->as.map.keys[i],
                                berth_value_clone(value->as.map.values[i]));
        break;
    }
    berth_value_set_origin(copy, value->origin);
    return copy;
}

void berth_value_free(berth_value *value)
{
    if (value == NULL)
        return;
    switch (value->kind) {
    case BERTH_VALUE_STRING:
        free(value->as.string);
        break;
    case BERTH_VALUE_LIST:
        for (size_t i = 0; i < value->as.list.length; i++)
            berth_value_free(value->as.list.items[i]);
        free(value->as.list.items);
        break;
    case BERTH_VALUE_MAP:
        for (size_t i = 0; i < value->as.map.length; i++) {
            free(value->as.map.keys[i]);
            berth_value_free(value->as.map.values[i]);
        }
        free(value->as.map.keys);
        free(value->as.map.values);
        break;
    default:
        break;
    }
    free(value->origin);
    free(value);
}

void berth_value_freep(berth_value **value)
{
    berth_value_free(*value);
    *value = NULL;
}

const char *berth_value_kind_name(berth_value_kind kind)
{
    switch (kind) {
    case BERTH_VALUE_NULL: return "null";
    case BERTH_VALUE_BOOL: return "bool";
    case BERTH_VALUE_NUMBER: return "number";
    case BERTH_VALUE_STRING: return "string";
    case BERTH_VALUE_LIST: return "list";
    case BERTH_VALUE_MAP: return "map";
    }
    return "unknown";
}

json_t *berth_value_to_json(const berth_value *value)
{
    switch (value->kind) {
    case BERTH_VALUE_NULL:
        return json_null();
    case BERTH_VALUE_BOOL:
        return json_boolean(value->as.boolean);
    case BERTH_VALUE_NUMBER:
        if (value->as.number.is_integer)
            return json_integer(value->as.number.integer);
        return json_real(value->as.number.number);
    case BERTH_VALUE_STRING:
        return json_string(value->as.string);
    case BERTH_VALUE_LIST: {
        json_t *array = json_array();
        for (size_t i = 0; i < value->as.list.length; i++)
            json_array_append_new(array, berth_value_to_json(value->as.list.items[i]));
        return array;
    }
    case BERTH_VALUE_MAP: {
        json_t *object = json_object();
        for (size_t i = 0; i < value->as.map.length; i++)
            json_object_set_new(object, value->as.map.keys[i],
                                berth_value_to_json(value->as.map.values[i]));
        return object;
    }
    }
    return json_null();
}

berth_value *berth_value_from_json(const json_t *json)
{
    switch (json_typeof(json)) {
    case JSON_NULL:
        return berth_value_new_null();
    case JSON_TRUE:
        return berth_value_new_bool(true);
    case JSON_FALSE:
        return berth_value_new_bool(false);
    case JSON_INTEGER:
        return berth_value_new_integer(json_integer_value(json));
    case JSON_REAL:
        return berth_value_new_double(json_real_value(json));
    case JSON_STRING:
        return berth_value_new_string(json_string_value(json));
    case JSON_ARRAY: {
        berth_value *list = berth_value_new_list();
        size_t index;
        const json_t *item;
        json_array_foreach(json, index, item)
        {
            berth_value_list_append(list, berth_value_from_json(item));
        }
        return list;
    }
    case JSON_OBJECT: {
        berth_value *map = berth_value_new_map();
        const char *key;
        const json_t *item;
        json_object_foreach((json_t *)json, key, item)
        {
            berth_value_map_set(map, key, berth_value_from_json(item));
        }
        return map;
    }
    }
    return berth_value_new_null();
}

void berth_value_describe_origin(const berth_value *value, char *out, size_t out_size)
{
    if (value != NULL && value->origin != NULL)
        snprintf(out, out_size, "%s: ", value->origin);
    else if (out_size > 0)
        out[0] = '\0';
}
