/* HCL expression evaluator: turns expression nodes into berth_value trees.
 * Every value it returns carries the origin "FILENAME:LINE:COL" of the
 * expression that produced it. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "hcl/hcl_internal.h"

static int eval(const berth_hcl_expr *expr, const berth_hcl_eval_context *ctx, berth_value **out,
                berth_error *err);

void berth_hcl_format_number(const berth_value *number, char *out, size_t out_size)
{
    if (number->as.number.is_integer) {
        snprintf(out, out_size, "%" PRId64, number->as.number.integer);
        return;
    }
    /* The shortest precision that reads back as the same double. */
    for (int precision = 1; precision <= 17; precision++) {
        snprintf(out, out_size, "%.*g", precision, number->as.number.number);
        if (strtod(out, NULL) == number->as.number.number)
            return;
    }
}

int berth_hcl_value_to_text(const berth_value *value, berth_hcl_pos pos, char **out,
                            berth_error *err)
{
    char number[64];
    switch (value->kind) {
    case BERTH_VALUE_NULL:
        *out = berth_xstrdup("");
        return 0;
    case BERTH_VALUE_BOOL:
        *out = berth_xstrdup(value->as.boolean ? "true" : "false");
        return 0;
    case BERTH_VALUE_NUMBER:
        berth_hcl_format_number(value, number, sizeof(number));
        *out = berth_xstrdup(number);
        return 0;
    case BERTH_VALUE_STRING:
        *out = berth_xstrdup(value->as.string);
        return 0;
    case BERTH_VALUE_LIST:
    case BERTH_VALUE_MAP:
        break;
    }
    return berth_hcl_error_at(err, pos, "cannot use a %s value as a string here",
                              berth_value_kind_name(value->kind));
}

static void set_origin(berth_value *value, berth_hcl_pos pos)
{
    char origin[BERTH_ERROR_MESSAGE_MAX];
    berth_hcl_pos_format(pos, origin, sizeof(origin));
    berth_value_set_origin(value, origin);
}

static int eval_template(const berth_hcl_expr *expr, const berth_hcl_eval_context *ctx,
                         berth_value **out, berth_error *err)
{
    if (ctx->keep_templates) {
        *out = berth_value_new_string(expr->as.template_.source);
        return 0;
    }
    berth_buf text;
    berth_buf_init(&text, BERTH_HCL_MAX_STRING);
    for (size_t i = 0; i < expr->as.template_.length; i++) {
        const berth_hcl_template_part *part = &expr->as.template_.parts[i];
        berth_autofree char *piece = NULL;
        if (part->is_interpolation) {
            berth_autovalue berth_value *value = NULL;
            if (eval(part->expr, ctx, &value, err) < 0 ||
                berth_hcl_value_to_text(value, part->expr->pos, &piece, err) < 0) {
                berth_buf_free(&text);
                return -1;
            }
        }
        if (berth_buf_append_str(&text, part->is_interpolation ? piece : part->text, err) < 0) {
            berth_buf_free(&text);
            return berth_hcl_error_at(err, expr->pos, "template result is longer than %u bytes",
                                      BERTH_HCL_MAX_STRING);
        }
    }
    *out = berth_value_new_string(text.data != NULL ? text.data : "");
    berth_buf_free(&text);
    return 0;
}

static int eval_tuple(const berth_hcl_expr *expr, const berth_hcl_eval_context *ctx,
                      berth_value **out, berth_error *err)
{
    berth_autovalue berth_value *list = berth_value_new_list();
    for (size_t i = 0; i < expr->as.tuple.length; i++) {
        berth_value *item = NULL;
        if (eval(expr->as.tuple.items[i], ctx, &item, err) < 0)
            return -1;
        berth_value_list_append(list, item);
    }
    *out = berth_steal_pointer(&list);
    return 0;
}

/* Evaluates an object key to its text: a string, or a number or bool
 * converted as a template would. */
static int eval_key(const berth_hcl_expr *key, const berth_hcl_eval_context *ctx, char **out,
                    berth_error *err)
{
    berth_autovalue berth_value *value = NULL;
    if (eval(key, ctx, &value, err) < 0)
        return -1;
    if (value->kind == BERTH_VALUE_NULL)
        return berth_hcl_error_at(err, key->pos, "object key must not be null");
    return berth_hcl_value_to_text(value, key->pos, out, err);
}

/* A key given twice in one object is an error, except when both values are
 * maps: HCL1 writes repeated nested blocks that way (`port_map {...}` twice),
 * and they become a list of maps in order. */
static int eval_object(const berth_hcl_expr *expr, const berth_hcl_eval_context *ctx,
                       berth_value **out, berth_error *err)
{
    berth_autovalue berth_value *map = berth_value_new_map();
    berth_autofree bool *repeated = berth_xcalloc(expr->as.object.length + 1, sizeof(bool));
    for (size_t i = 0; i < expr->as.object.length; i++) {
        const berth_hcl_object_item *item = &expr->as.object.items[i];
        berth_autofree char *key = NULL;
        if (eval_key(item->key, ctx, &key, err) < 0)
            return -1;
        berth_value *value = NULL;
        if (eval(item->value, ctx, &value, err) < 0)
            return -1;

        size_t index = 0;
        while (index < map->as.map.length && strcmp(map->as.map.keys[index], key) != 0)
            index++;
        if (index == map->as.map.length) {
            berth_value_map_set(map, key, value);
            continue;
        }
        berth_value *existing = map->as.map.values[index];
        bool existing_maps = repeated[index] ? true : existing->kind == BERTH_VALUE_MAP;
        if (value->kind != BERTH_VALUE_MAP || !existing_maps) {
            berth_value_free(value);
            return berth_hcl_error_at(err, item->key->pos, "key \"%s\" was already set at %s",
                                      key, existing->origin != NULL ? existing->origin : "?");
        }
        if (!repeated[index]) {
            berth_value *list = berth_value_new_list();
            set_origin(list, item->key->pos);
            map->as.map.values[index] = list;
            berth_value_list_append(list, existing);
            repeated[index] = true;
        }
        berth_value_list_append(map->as.map.values[index], value);
    }
    *out = berth_steal_pointer(&map);
    return 0;
}

static int eval_variable(const berth_hcl_expr *expr, const berth_hcl_eval_context *ctx,
                         berth_value **out, berth_error *err)
{
    berth_value *value = NULL;
    if (ctx->lookup != NULL)
        value = ctx->lookup(ctx->user_data, expr->as.variable);
    if (value == NULL)
        return berth_hcl_error_at(err, expr->pos, "unknown variable \"%s\"", expr->as.variable);
    *out = value;
    return 0;
}

/* Takes the item under key (a string for maps, a whole number for lists)
 * out of source as a copy. */
static int index_value(const berth_value *source, const berth_value *key, berth_hcl_pos pos,
                       berth_value **out, berth_error *err)
{
    if (source->kind == BERTH_VALUE_MAP) {
        berth_autofree char *name = NULL;
        if (key->kind == BERTH_VALUE_LIST || key->kind == BERTH_VALUE_MAP ||
            key->kind == BERTH_VALUE_NULL)
            return berth_hcl_error_at(err, pos, "a map key must be a string, not a %s",
                                      berth_value_kind_name(key->kind));
        if (berth_hcl_value_to_text(key, pos, &name, err) < 0)
            return -1;
        const berth_value *item = berth_value_map_get(source, name);
        if (item == NULL)
            return berth_hcl_error_at(err, pos, "map has no key \"%s\"", name);
        *out = berth_value_clone(item);
        return 0;
    }
    if (source->kind == BERTH_VALUE_LIST) {
        if (key->kind != BERTH_VALUE_NUMBER || !key->as.number.is_integer)
            return berth_hcl_error_at(err, pos, "a list index must be a whole number, not a %s",
                                      berth_value_kind_name(key->kind));
        int64_t index = key->as.number.integer;
        if (index < 0 || (uint64_t)index >= source->as.list.length)
            return berth_hcl_error_at(err, pos,
                                      "list index %" PRId64 " is out of range (the list has %zu "
                                      "items)",
                                      index, source->as.list.length);
        *out = berth_value_clone(source->as.list.items[index]);
        return 0;
    }
    return berth_hcl_error_at(err, pos, "cannot index a %s value; only lists and maps have items",
                              berth_value_kind_name(source->kind));
}

static int eval_get_attr(const berth_hcl_expr *expr, const berth_hcl_eval_context *ctx,
                         berth_value **out, berth_error *err)
{
    berth_autovalue berth_value *source = NULL;
    if (eval(expr->as.get_attr.source, ctx, &source, err) < 0)
        return -1;
    if (source->kind != BERTH_VALUE_MAP)
        return berth_hcl_error_at(err, expr->pos,
                                  "cannot read attribute \"%s\" of a %s value; only maps have "
                                  "attributes",
                                  expr->as.get_attr.name, berth_value_kind_name(source->kind));
    const berth_value *item = berth_value_map_get(source, expr->as.get_attr.name);
    if (item == NULL)
        return berth_hcl_error_at(err, expr->pos, "map has no key \"%s\"",
                                  expr->as.get_attr.name);
    *out = berth_value_clone(item);
    return 0;
}

static int eval_index(const berth_hcl_expr *expr, const berth_hcl_eval_context *ctx,
                      berth_value **out, berth_error *err)
{
    berth_autovalue berth_value *source = NULL;
    berth_autovalue berth_value *key = NULL;
    if (eval(expr->as.index.source, ctx, &source, err) < 0 ||
        eval(expr->as.index.key, ctx, &key, err) < 0)
        return -1;
    return index_value(source, key, expr->as.index.key->pos, out, err);
}

static void free_values(berth_value **values, size_t count)
{
    for (size_t i = 0; i < count; i++)
        berth_value_free(values[i]);
    free(values);
}

static int eval_call(const berth_hcl_expr *expr, const berth_hcl_eval_context *ctx,
                     berth_value **out, berth_error *err)
{
    berth_value **args = NULL;
    size_t count = 0, capacity = 0;
    int result = -1;
    for (size_t i = 0; i < expr->as.call.length; i++) {
        berth_value *arg = NULL;
        const berth_hcl_expr *arg_expr = expr->as.call.args[i];
        if (eval(arg_expr, ctx, &arg, err) < 0)
            goto out;
        bool expand = expr->as.call.expand_final && i + 1 == expr->as.call.length;
        if (!expand) {
            berth_grow((void **)&args, &capacity, count + 1, sizeof(*args));
            args[count++] = arg;
            continue;
        }
        if (arg->kind != BERTH_VALUE_LIST) {
            berth_hcl_error_at(err, arg_expr->pos, "the argument before \"...\" must be a list, "
                                                   "not a %s",
                               berth_value_kind_name(arg->kind));
            berth_value_free(arg);
            goto out;
        }
        for (size_t j = 0; j < arg->as.list.length; j++) {
            berth_grow((void **)&args, &capacity, count + 1, sizeof(*args));
            args[count++] = arg->as.list.items[j];
        }
        arg->as.list.length = 0;
        berth_value_free(arg);
    }
    result = berth_hcl_call_function(expr->as.call.name, expr->pos, args, count, out, err);
out:
    free_values(args, count);
    return result;
}

static int eval_conditional(const berth_hcl_expr *expr, const berth_hcl_eval_context *ctx,
                            berth_value **out, berth_error *err)
{
    berth_autovalue berth_value *condition = NULL;
    if (eval(expr->as.conditional.condition, ctx, &condition, err) < 0)
        return -1;
    if (condition->kind != BERTH_VALUE_BOOL)
        return berth_hcl_error_at(err, expr->as.conditional.condition->pos,
                                  "the condition must be a bool, not a %s",
                                  berth_value_kind_name(condition->kind));
    const berth_hcl_expr *chosen = condition->as.boolean ? expr->as.conditional.when_true
                                                         : expr->as.conditional.when_false;
    return eval(chosen, ctx, out, err);
}

static const char *operator_text(berth_hcl_operator op)
{
    switch (op) {
    case BERTH_HCL_OP_OR: return "||";
    case BERTH_HCL_OP_AND: return "&&";
    case BERTH_HCL_OP_EQ: return "==";
    case BERTH_HCL_OP_NE: return "!=";
    case BERTH_HCL_OP_LT: return "<";
    case BERTH_HCL_OP_LE: return "<=";
    case BERTH_HCL_OP_GT: return ">";
    case BERTH_HCL_OP_GE: return ">=";
    case BERTH_HCL_OP_ADD: return "+";
    case BERTH_HCL_OP_SUB: return "-";
    case BERTH_HCL_OP_MUL: return "*";
    case BERTH_HCL_OP_DIV: return "/";
    case BERTH_HCL_OP_MOD: return "%";
    case BERTH_HCL_OP_NOT: return "!";
    case BERTH_HCL_OP_NEGATE: return "-";
    }
    return "?";
}

bool berth_hcl_values_equal(const berth_value *a, const berth_value *b)
{
    if (a->kind != b->kind)
        return false;
    switch (a->kind) {
    case BERTH_VALUE_NULL:
        return true;
    case BERTH_VALUE_BOOL:
        return a->as.boolean == b->as.boolean;
    case BERTH_VALUE_NUMBER:
        if (a->as.number.is_integer && b->as.number.is_integer)
            return a->as.number.integer == b->as.number.integer;
        return a->as.number.number == b->as.number.number;
    case BERTH_VALUE_STRING:
        return strcmp(a->as.string, b->as.string) == 0;
    case BERTH_VALUE_LIST:
        if (a->as.list.length != b->as.list.length)
            return false;
        for (size_t i = 0; i < a->as.list.length; i++) {
            if (!berth_hcl_values_equal(a->as.list.items[i], b->as.list.items[i]))
                return false;
        }
        return true;
    case BERTH_VALUE_MAP:
        if (a->as.map.length != b->as.map.length)
            return false;
        for (size_t i = 0; i < a->as.map.length; i++) {
            const berth_value *other = berth_value_map_get(b, a->as.map.keys[i]);
            if (other == NULL || !berth_hcl_values_equal(a->as.map.values[i], other))
                return false;
        }
        return true;
    }
    return false;
}

static int require_kind(const berth_value *value, berth_value_kind kind, berth_hcl_pos pos,
                        berth_hcl_operator op, berth_error *err)
{
    if (value->kind == kind)
        return 0;
    return berth_hcl_error_at(err, pos, "operator \"%s\" needs a %s, not a %s",
                              operator_text(op), berth_value_kind_name(kind),
                              berth_value_kind_name(value->kind));
}

/* Applies an arithmetic operator, keeping whole-number arithmetic exact
 * while it does not overflow. */
static int arithmetic(berth_hcl_operator op, const berth_value *a, const berth_value *b,
                      berth_hcl_pos pos, berth_value **out, berth_error *err)
{
    bool integers = a->as.number.is_integer && b->as.number.is_integer;
    int64_t x = a->as.number.integer, y = b->as.number.integer, whole;
    double left = a->as.number.number, right = b->as.number.number, result;
    switch (op) {
    case BERTH_HCL_OP_ADD:
        if (integers && !__builtin_add_overflow(x, y, &whole)) {
            *out = berth_value_new_integer(whole);
            return 0;
        }
        result = left + right;
        break;
    case BERTH_HCL_OP_SUB:
        if (integers && !__builtin_sub_overflow(x, y, &whole)) {
            *out = berth_value_new_integer(whole);
            return 0;
        }
        result = left - right;
        break;
    case BERTH_HCL_OP_MUL:
        if (integers && !__builtin_mul_overflow(x, y, &whole)) {
            *out = berth_value_new_integer(whole);
            return 0;
        }
        result = left * right;
        break;
    case BERTH_HCL_OP_DIV:
        if (right == 0)
            return berth_hcl_error_at(err, pos, "division by zero");
        result = left / right;
        break;
    case BERTH_HCL_OP_MOD:
        if (right == 0)
            return berth_hcl_error_at(err, pos, "modulo by zero");
        if (integers && !(x == INT64_MIN && y == -1)) {
            *out = berth_value_new_integer(x % y);
            return 0;
        }
        result = fmod(left, right);
        break;
    default:
        return berth_hcl_error_at(err, pos, "internal error: \"%s\" is not arithmetic",
                                  operator_text(op));
    }
    if (!isfinite(result))
        return berth_hcl_error_at(err, pos, "result of \"%s\" is not a finite number",
                                  operator_text(op));
    *out = berth_value_new_double(result);
    return 0;
}

static int eval_binary(const berth_hcl_expr *expr, const berth_hcl_eval_context *ctx,
                       berth_value **out, berth_error *err)
{
    berth_hcl_operator op = expr->as.binary.op;
    berth_autovalue berth_value *left = NULL;
    berth_autovalue berth_value *right = NULL;
    if (eval(expr->as.binary.left, ctx, &left, err) < 0)
        return -1;

    /* || and && skip the right side when the left decides, as in HCL2. */
    if (op == BERTH_HCL_OP_OR || op == BERTH_HCL_OP_AND) {
        if (require_kind(left, BERTH_VALUE_BOOL, expr->as.binary.left->pos, op, err) < 0)
            return -1;
        if (left->as.boolean == (op == BERTH_HCL_OP_OR)) {
            *out = berth_value_new_bool(left->as.boolean);
            return 0;
        }
        if (eval(expr->as.binary.right, ctx, &right, err) < 0 ||
            require_kind(right, BERTH_VALUE_BOOL, expr->as.binary.right->pos, op, err) < 0)
            return -1;
        *out = berth_value_new_bool(right->as.boolean);
        return 0;
    }

    if (eval(expr->as.binary.right, ctx, &right, err) < 0)
        return -1;
    if (op == BERTH_HCL_OP_EQ || op == BERTH_HCL_OP_NE) {
        bool equal = berth_hcl_values_equal(left, right);
        *out = berth_value_new_bool(op == BERTH_HCL_OP_EQ ? equal : !equal);
        return 0;
    }
    if (require_kind(left, BERTH_VALUE_NUMBER, expr->as.binary.left->pos, op, err) < 0 ||
        require_kind(right, BERTH_VALUE_NUMBER, expr->as.binary.right->pos, op, err) < 0)
        return -1;
    double a = left->as.number.number, b = right->as.number.number;
    switch (op) {
    case BERTH_HCL_OP_LT:
        *out = berth_value_new_bool(a < b);
        return 0;
    case BERTH_HCL_OP_LE:
        *out = berth_value_new_bool(a <= b);
        return 0;
    case BERTH_HCL_OP_GT:
        *out = berth_value_new_bool(a > b);
        return 0;
    case BERTH_HCL_OP_GE:
        *out = berth_value_new_bool(a >= b);
        return 0;
    default:
        return arithmetic(op, left, right, expr->pos, out, err);
    }
}

static int eval_unary(const berth_hcl_expr *expr, const berth_hcl_eval_context *ctx,
                      berth_value **out, berth_error *err)
{
    berth_hcl_operator op = expr->as.unary.op;
    const berth_hcl_expr *operand_expr = expr->as.unary.operand;
    berth_autovalue berth_value *operand = NULL;
    if (eval(operand_expr, ctx, &operand, err) < 0)
        return -1;
    if (op == BERTH_HCL_OP_NOT) {
        if (require_kind(operand, BERTH_VALUE_BOOL, operand_expr->pos, op, err) < 0)
            return -1;
        *out = berth_value_new_bool(!operand->as.boolean);
        return 0;
    }
    if (require_kind(operand, BERTH_VALUE_NUMBER, operand_expr->pos, op, err) < 0)
        return -1;
    if (operand->as.number.is_integer && operand->as.number.integer != INT64_MIN)
        *out = berth_value_new_integer(-operand->as.number.integer);
    else
        *out = berth_value_new_double(-operand->as.number.number);
    return 0;
}

static int eval(const berth_hcl_expr *expr, const berth_hcl_eval_context *ctx, berth_value **out,
                berth_error *err)
{
    int result = -1;
    berth_value *value = NULL;
    switch (expr->kind) {
    case BERTH_HCL_LITERAL:
        value = berth_value_clone(expr->as.literal);
        result = 0;
        break;
    case BERTH_HCL_TEMPLATE:
        result = eval_template(expr, ctx, &value, err);
        break;
    case BERTH_HCL_TUPLE:
        result = eval_tuple(expr, ctx, &value, err);
        break;
    case BERTH_HCL_OBJECT:
        result = eval_object(expr, ctx, &value, err);
        break;
    case BERTH_HCL_VARIABLE:
        result = eval_variable(expr, ctx, &value, err);
        break;
    case BERTH_HCL_GET_ATTR:
        result = eval_get_attr(expr, ctx, &value, err);
        break;
    case BERTH_HCL_INDEX:
        result = eval_index(expr, ctx, &value, err);
        break;
    case BERTH_HCL_CALL:
        result = eval_call(expr, ctx, &value, err);
        break;
    case BERTH_HCL_CONDITIONAL:
        result = eval_conditional(expr, ctx, &value, err);
        break;
    case BERTH_HCL_BINARY:
        result = eval_binary(expr, ctx, &value, err);
        break;
    case BERTH_HCL_UNARY:
        result = eval_unary(expr, ctx, &value, err);
        break;
    case BERTH_HCL_PARENS:
        result = eval(expr->as.parens, ctx, &value, err);
        break;
    }
    if (result < 0)
        return -1;
    set_origin(value, expr->pos);
    *out = value;
    return 0;
}

int berth_hcl_eval(const berth_hcl_expr *expr, const berth_hcl_eval_context *ctx,
                   berth_value **out, berth_error *err)
{
    static const berth_hcl_eval_context empty = {NULL, NULL, false};
    return eval(expr, ctx != NULL ? ctx : &empty, out, err);
}
