/* Converting a parsed body (attributes and blocks) into one map value, the
 * form in which a task's `config` block reaches the driver. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "hcl/hcl_internal.h"

typedef enum entry_kind {
    ENTRY_ATTRIBUTE,
    ENTRY_BLOCK,        /* one block without labels: a map */
    ENTRY_BLOCK_LIST,   /* a block type without labels given more than once */
    ENTRY_LABELED,      /* blocks with labels, merged into nested maps */
} entry_kind;

/* What produced each key of the result map, and where it was first seen. */
typedef struct entry {
    entry_kind kind;
    berth_hcl_pos pos;
    size_t label_count;
} entry;

static void set_origin(berth_value *value, berth_hcl_pos pos)
{
    char origin[BERTH_ERROR_MESSAGE_MAX];
    berth_hcl_pos_format(pos, origin, sizeof(origin));
    berth_value_set_origin(value, origin);
}

static size_t find_key(const berth_value *map, const char *key)
{
    size_t index = 0;
    while (index < map->as.map.length && strcmp(map->as.map.keys[index], key) != 0)
        index++;
    return index;
}

static int conflict(const char *name, const entry *first, const char *first_what,
                    berth_hcl_pos pos, const char *what, berth_error *err)
{
    return berth_hcl_error_at(err, pos, "%s \"%s\" conflicts with %s \"%s\" at %d:%d", what, name,
                              first_what, name, first->pos.line, first->pos.column);
}

static const char *entry_what(const entry *e)
{
    return e->kind == ENTRY_ATTRIBUTE ? "attribute" : "block";
}

/* Stores a labeled block's value under map[type][label1]...[labelN]. */
static int add_labeled_block(berth_value *type_map, const berth_hcl_block *block,
                             berth_value *value, berth_error *err)
{
    berth_value *level = type_map;
    for (size_t i = 0; i + 1 < block->label_count; i++) {
        const berth_value *next = berth_value_map_get(level, block->labels[i]);
        if (next == NULL) {
            berth_value *created = berth_value_new_map();
            set_origin(created, block->pos);
            berth_value_map_set(level, block->labels[i], created);
            next = created;
        }
        if (next->kind != BERTH_VALUE_MAP) {
            berth_value_free(value);
            return berth_hcl_error_at(err, block->pos, "block \"%s\" label \"%s\" is not a map",
                                      block->type, block->labels[i]);
        }
        level = (berth_value *)next;
    }
    const char *last = block->labels[block->label_count - 1];
    const berth_value *existing = berth_value_map_get(level, last);
    if (existing != NULL) {
        berth_value_free(value);
        char labels[512] = "";
        size_t used = 0;
        for (size_t i = 0; i < block->label_count && used < sizeof(labels); i++)
            used += (size_t)snprintf(labels + used, sizeof(labels) - used, " \"%s\"",
                                     block->labels[i]);
        return berth_hcl_error_at(err, block->pos, "duplicate block \"%s\"%s; first defined at %s",
                                  block->type, labels,
                                  existing->origin != NULL ? existing->origin : "?");
    }
    berth_value_map_set(level, last, value);
    return 0;
}

static int add_block(berth_value *map, entry **entries, size_t *capacity,
                     const berth_hcl_block *block, const berth_hcl_eval_context *ctx,
                     berth_error *err)
{
    berth_value *value = NULL;
    if (berth_hcl_body_to_value(block->body, ctx, &value, err) < 0)
        return -1;
    set_origin(value, block->pos);

    size_t index = find_key(map, block->type);
    entry_kind kind = block->label_count > 0 ? ENTRY_LABELED : ENTRY_BLOCK;
    if (index == map->as.map.length) {
        berth_grow((void **)entries, capacity, index + 1, sizeof(**entries));
        (*entries)[index] = (entry){kind, block->pos, block->label_count};
        if (kind == ENTRY_BLOCK) {
            berth_value_map_set(map, block->type, value);
            return 0;
        }
        berth_value *type_map = berth_value_new_map();
        set_origin(type_map, block->pos);
        berth_value_map_set(map, block->type, type_map);
        return add_labeled_block(type_map, block, value, err);
    }

    entry *first = &(*entries)[index];
    if (first->kind == ENTRY_ATTRIBUTE) {
        berth_value_free(value);
        return conflict(block->type, first, "attribute", block->pos, "block", err);
    }
    if ((first->kind == ENTRY_LABELED) != (kind == ENTRY_LABELED) ||
        first->label_count != block->label_count) {
        berth_value_free(value);
        return berth_hcl_error_at(err, block->pos,
                                  "block \"%s\" has %zu label%s here but %zu at %d:%d; every "
                                  "block of one type needs the same number of labels",
                                  block->type, block->label_count,
                                  block->label_count == 1 ? "" : "s", first->label_count,
                                  first->pos.line, first->pos.column);
    }
    if (kind == ENTRY_LABELED)
        return add_labeled_block(map->as.map.values[index], block, value, err);
    if (first->kind == ENTRY_BLOCK) {
        berth_value *list = berth_value_new_list();
        set_origin(list, first->pos);
        berth_value_list_append(list, map->as.map.values[index]);
        map->as.map.values[index] = list;
        first->kind = ENTRY_BLOCK_LIST;
    }
    berth_value_list_append(map->as.map.values[index], value);
    return 0;
}

/* Converts a body to a map value: see hcl.h. Attribute values are evaluated
 * with ctx; the caller frees *out. */
int berth_hcl_body_to_value(const berth_hcl_body *body, const berth_hcl_eval_context *ctx,
                            berth_value **out, berth_error *err)
{
    berth_autovalue berth_value *map = berth_value_new_map();
    set_origin(map, body->pos);
    berth_autofree entry *entries = NULL;
    size_t capacity = 0;
    for (size_t i = 0; i < body->length; i++) {
        const berth_hcl_item *item = &body->items[i];
        if (item->is_block) {
            if (add_block(map, &entries, &capacity, &item->as.block, ctx, err) < 0)
                return -1;
            continue;
        }
        const berth_hcl_attribute *attribute = &item->as.attribute;
        size_t index = find_key(map, attribute->name);
        if (index < map->as.map.length)
            return conflict(attribute->name, &entries[index], entry_what(&entries[index]),
                            attribute->pos, "attribute", err);
        berth_value *value = NULL;
        if (berth_hcl_eval(attribute->expr, ctx, &value, err) < 0)
            return -1;
        berth_grow((void **)&entries, &capacity, index + 1, sizeof(*entries));
        entries[index] = (entry){ENTRY_ATTRIBUTE, attribute->pos, 0};
        berth_value_map_set(map, attribute->name, value);
    }
    *out = berth_steal_pointer(&map);
    return 0;
}
