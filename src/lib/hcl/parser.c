/* HCL parser: recursive descent over the lexer's tokens, for both HCL1 and
 * HCL2 job files. Newlines end attributes and separate object items, except
 * inside parentheses, brackets and interpolations, where they are skipped. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "hcl/hcl_internal.h"

typedef struct parser {
    berth_hcl_lexer lexer;
    berth_hcl_token peeked;
    bool has_peeked;
    bool skip_newlines;
    int depth;
    berth_error *err;
} parser;

static void expr_freep(berth_hcl_expr **expr)
{
    berth_hcl_expr_free(*expr);
    *expr = NULL;
}
#define autoexpr __attribute__((cleanup(expr_freep)))

static void body_freep(berth_hcl_body **body)
{
    berth_hcl_body_free(*body);
    *body = NULL;
}
#define autobody __attribute__((cleanup(body_freep)))

static int peek(parser *p, berth_hcl_token **token)
{
    for (;;) {
        if (!p->has_peeked) {
            if (berth_hcl_lex_next(&p->lexer, &p->peeked, p->err) < 0)
                return -1;
            p->has_peeked = true;
        }
        if (p->skip_newlines && p->peeked.kind == BERTH_HCL_TOKEN_NEWLINE) {
            p->has_peeked = false;
            continue;
        }
        *token = &p->peeked;
        return 0;
    }
}

/* Consumes the peeked token. */
static void take(parser *p)
{
    p->has_peeked = false;
}

static int skip_newline_tokens(parser *p)
{
    berth_hcl_token *token;
    for (;;) {
        if (peek(p, &token) < 0)
            return -1;
        if (token->kind != BERTH_HCL_TOKEN_NEWLINE)
            return 0;
        take(p);
    }
}

static int error_found(parser *p, const berth_hcl_token *token, const char *expected)
{
    char found[64];
    berth_hcl_describe_token(token, found, sizeof(found));
    return berth_hcl_error_at(p->err, token->pos, "expected %s, found %s", expected, found);
}

/* Reports a missing closing token. At end of file the error points at the
 * opening token, because that is where the unclosed construct starts. */
static int error_unclosed(parser *p, const berth_hcl_token *token, berth_hcl_pos open_pos,
                          const char *open, const char *expected)
{
    if (token->kind == BERTH_HCL_TOKEN_EOF)
        return berth_hcl_error_at(p->err, open_pos,
                                  "unclosed \"%s\": reached end of file while looking for %s",
                                  open, expected);
    char found[64];
    berth_hcl_describe_token(token, found, sizeof(found));
    return berth_hcl_error_at(p->err, token->pos, "expected %s to close \"%s\" at %d:%d, found %s",
                              expected, open, open_pos.line, open_pos.column, found);
}

static int enter(parser *p, berth_hcl_pos pos)
{
    if (p->depth >= BERTH_HCL_MAX_DEPTH)
        return berth_hcl_error_at(p->err, pos, "nesting is deeper than the maximum of %d levels",
                                  BERTH_HCL_MAX_DEPTH);
    p->depth++;
    return 0;
}

static berth_hcl_expr *new_expr(berth_hcl_expr_kind kind, berth_hcl_pos pos)
{
    berth_hcl_expr *expr = berth_xcalloc(1, sizeof(*expr));
    expr->kind = kind;
    expr->pos = pos;
    return expr;
}

static char *token_text(const berth_hcl_token *token)
{
    return berth_xstrndup(token->text, token->length);
}

static void append_expr(berth_hcl_expr ***items, size_t *length, size_t *capacity,
                        berth_hcl_expr *item)
{
    berth_grow((void **)items, capacity, *length + 1, sizeof(**items));
    (*items)[(*length)++] = item;
}

static int parse_expression(parser *p, berth_hcl_expr **out);

/* --- Templates ----------------------------------------------------------- */

typedef struct template_builder {
    berth_hcl_template_part *parts;
    size_t length, capacity;
    berth_buf text;   /* literal text since the last interpolation */
    berth_buf all;    /* every literal part, for a string without interpolation */
    berth_buf source; /* see `source` in hcl.h */
    bool escaped_dollar;
} template_builder;

static void template_builder_free(template_builder *builder)
{
    for (size_t i = 0; i < builder->length; i++) {
        free(builder->parts[i].text);
        berth_hcl_expr_free(builder->parts[i].expr);
    }
    free(builder->parts);
    berth_buf_free(&builder->text);
    berth_buf_free(&builder->all);
    berth_buf_free(&builder->source);
}

static void add_part(template_builder *builder, char *text, berth_hcl_expr *expr)
{
    berth_grow((void **)&builder->parts, &builder->capacity, builder->length + 1,
               sizeof(*builder->parts));
    berth_hcl_template_part *part = &builder->parts[builder->length++];
    part->is_interpolation = expr != NULL;
    part->text = text;
    part->expr = expr;
}

static void flush_text(template_builder *builder)
{
    if (builder->text.length == 0)
        return;
    add_part(builder, berth_buf_steal(&builder->text), NULL);
}

/* Parses "${ expr }" after its "${" and records it in builder. */
static int parse_interpolation(parser *p, template_builder *builder, berth_hcl_pos open_pos)
{
    size_t raw_start = p->lexer.offset;
    bool saved = p->skip_newlines;
    p->skip_newlines = true;
    autoexpr berth_hcl_expr *expr = NULL;
    if (parse_expression(p, &expr) < 0)
        return -1;
    berth_hcl_token *token;
    if (peek(p, &token) < 0)
        return -1;
    if (token->kind != BERTH_HCL_TOKEN_RBRACE)
        return error_unclosed(p, token, open_pos, "${", "\"}\"");
    size_t raw_end = (size_t)(token->text - p->lexer.src);
    take(p);
    p->skip_newlines = saved;

    berth_error *err = p->err;
    if (berth_buf_append_str(&builder->source, "${", err) < 0 ||
        berth_buf_append(&builder->source, p->lexer.src + raw_start, raw_end - raw_start, err) < 0 ||
        berth_buf_append_str(&builder->source, "}", err) < 0)
        return berth_hcl_error_at(err, open_pos, "template is longer than %u bytes",
                                  BERTH_HCL_MAX_STRING);
    add_part(builder, NULL, berth_steal_pointer(&expr));
    return 0;
}

/* Reads the text of a quoted string or heredoc (the cursor is just past its
 * opening) into a LITERAL string, or a TEMPLATE when it has interpolations
 * or an escaped "$${" whose meaning depends on keep_templates. */
static int parse_template(parser *p, bool heredoc, size_t strip, berth_hcl_pos start,
                          berth_hcl_expr **out)
{
    template_builder builder = {0};
    berth_buf_init(&builder.text, BERTH_HCL_MAX_STRING);
    berth_buf_init(&builder.all, BERTH_HCL_MAX_STRING);
    berth_buf_init(&builder.source, BERTH_HCL_MAX_STRING);
    int result = -1;
    for (;;) {
        size_t before = builder.text.length;
        berth_hcl_text_end end;
        if (berth_hcl_lex_template_text(&p->lexer, heredoc, strip, start, &builder.text,
                                        &builder.source, &end, &builder.escaped_dollar,
                                        p->err) < 0)
            goto out;
        if (berth_buf_append(&builder.all, builder.text.data + before,
                             builder.text.length - before, p->err) < 0) {
            berth_hcl_error_at(p->err, start, "string is longer than %u bytes",
                               BERTH_HCL_MAX_STRING);
            goto out;
        }
        flush_text(&builder);
        if (end == BERTH_HCL_TEXT_END)
            break;
        /* The "${" is the last two bytes read, always on one line. */
        berth_hcl_pos open_pos = {p->lexer.filename, p->lexer.line, p->lexer.column - 2};
        if (enter(p, open_pos) < 0)
            goto out;
        int parsed = parse_interpolation(p, &builder, open_pos);
        p->depth--;
        if (parsed < 0)
            goto out;
    }

    bool has_interpolation = false;
    for (size_t i = 0; i < builder.length; i++)
        has_interpolation |= builder.parts[i].is_interpolation;
    berth_hcl_expr *expr;
    if (!has_interpolation && !builder.escaped_dollar) {
        expr = new_expr(BERTH_HCL_LITERAL, start);
        expr->as.literal = berth_value_new_string(builder.all.data != NULL ? builder.all.data : "");
    } else {
        expr = new_expr(BERTH_HCL_TEMPLATE, start);
        expr->as.template_.parts = builder.parts;
        expr->as.template_.length = builder.length;
        expr->as.template_.source = builder.source.data != NULL ? berth_buf_steal(&builder.source)
                                                                : berth_xstrdup("");
        builder.parts = NULL;
        builder.length = 0;
    }
    *out = expr;
    result = 0;
out:
    template_builder_free(&builder);
    return result;
}

static int parse_heredoc(parser *p, const berth_hcl_token *token, berth_hcl_expr **out)
{
    berth_hcl_lexer saved = p->lexer;
    p->lexer.offset = token->content_offset;
    p->lexer.limit = token->content_end;
    p->lexer.line = token->content_line;
    p->lexer.column = 1;
    int result = parse_template(p, true, token->strip, token->pos, out);
    p->lexer = saved;
    p->has_peeked = false;
    return result;
}

/* Reads a quoted string that must not contain interpolations: a label or a
 * quoted name. The caller has taken the QUOTE token. */
static int parse_plain_string(parser *p, berth_hcl_pos start, const char *what, char **out)
{
    autoexpr berth_hcl_expr *expr = NULL;
    if (parse_template(p, false, 0, start, &expr) < 0)
        return -1;
    if (expr->kind != BERTH_HCL_LITERAL)
        return berth_hcl_error_at(p->err, start, "%s must be a plain string without \"${\"", what);
    *out = berth_xstrdup(expr->as.literal->as.string);
    return 0;
}

/* --- Expressions --------------------------------------------------------- */

static int parse_number(parser *p, const berth_hcl_token *token, berth_hcl_expr **out)
{
    char text[128];
    if (token->length >= sizeof(text))
        return berth_hcl_error_at(p->err, token->pos, "number literal is too long");
    memcpy(text, token->text, token->length);
    text[token->length] = '\0';
    berth_value *value;
    int64_t integer;
    if (strpbrk(text, ".eE") == NULL && berth_parse_int64(text, INT64_MIN, INT64_MAX, &integer)) {
        value = berth_value_new_integer(integer);
    } else {
        errno = 0;
        double number = strtod(text, NULL);
        if (errno == ERANGE && (number > 1.0 || number < -1.0))
            return berth_hcl_error_at(p->err, token->pos, "number %s is out of range", text);
        value = berth_value_new_double(number);
    }
    berth_hcl_expr *expr = new_expr(BERTH_HCL_LITERAL, token->pos);
    expr->as.literal = value;
    *out = expr;
    return 0;
}

/* Parses comma-separated items up to `close`, allowing a trailing comma.
 * For calls, `expand` receives whether the last argument ended with "...". */
static int parse_list_items(parser *p, berth_hcl_pos open_pos, const char *open,
                            berth_hcl_token_kind close, const char *close_text,
                            berth_hcl_expr ***items, size_t *length, bool *expand)
{
    size_t capacity = 0;
    berth_hcl_token *token;
    char expected[64];
    for (;;) {
        if (peek(p, &token) < 0)
            return -1;
        if (token->kind == close) {
            take(p);
            return 0;
        }
        if (*length == 0 && close == BERTH_HCL_TOKEN_RBRACKET &&
            token->kind == BERTH_HCL_TOKEN_IDENT && token->length == 3 &&
            memcmp(token->text, "for", 3) == 0)
            return berth_hcl_error_at(p->err, token->pos, "for expressions are not supported");
        berth_hcl_expr *item = NULL;
        if (parse_expression(p, &item) < 0)
            return -1;
        append_expr(items, length, &capacity, item);
        if (peek(p, &token) < 0)
            return -1;
        if (expand != NULL && token->kind == BERTH_HCL_TOKEN_ELLIPSIS) {
            take(p);
            *expand = true;
            if (peek(p, &token) < 0)
                return -1;
            if (token->kind != close) {
                snprintf(expected, sizeof(expected), "\"%s\" after the \"...\" argument",
                         close_text);
                return error_found(p, token, expected);
            }
            continue;
        }
        if (token->kind == BERTH_HCL_TOKEN_COMMA) {
            take(p);
            continue;
        }
        if (token->kind == close)
            continue;
        snprintf(expected, sizeof(expected), "\",\" or \"%s\"", close_text);
        if (token->kind == BERTH_HCL_TOKEN_EOF)
            return error_unclosed(p, token, open_pos, open, expected);
        return error_found(p, token, expected);
    }
}

static int parse_tuple(parser *p, berth_hcl_pos pos, berth_hcl_expr **out)
{
    bool saved = p->skip_newlines;
    p->skip_newlines = true;
    autoexpr berth_hcl_expr *expr = new_expr(BERTH_HCL_TUPLE, pos);
    if (parse_list_items(p, pos, "[", BERTH_HCL_TOKEN_RBRACKET, "]", &expr->as.tuple.items,
                         &expr->as.tuple.length, NULL) < 0)
        return -1;
    p->skip_newlines = saved;
    *out = berth_steal_pointer(&expr);
    return 0;
}

static int parse_call(parser *p, const berth_hcl_token *name, berth_hcl_expr **out)
{
    berth_hcl_token *open;
    if (peek(p, &open) < 0)
        return -1;
    berth_hcl_pos open_pos = open->pos;
    take(p);
    bool saved = p->skip_newlines;
    p->skip_newlines = true;
    autoexpr berth_hcl_expr *expr = new_expr(BERTH_HCL_CALL, name->pos);
    expr->as.call.name = token_text(name);
    if (parse_list_items(p, open_pos, "(", BERTH_HCL_TOKEN_RPAREN, ")", &expr->as.call.args,
                         &expr->as.call.length, &expr->as.call.expand_final) < 0)
        return -1;
    p->skip_newlines = saved;
    *out = berth_steal_pointer(&expr);
    return 0;
}

static void add_object_item(berth_hcl_expr *object, size_t *capacity, berth_hcl_expr *key,
                            berth_hcl_expr *value)
{
    berth_grow((void **)&object->as.object.items, capacity, object->as.object.length + 1,
               sizeof(*object->as.object.items));
    berth_hcl_object_item *item = &object->as.object.items[object->as.object.length++];
    item->key = key;
    item->value = value;
}

static berth_hcl_expr *string_literal(const char *text, berth_hcl_pos pos)
{
    berth_hcl_expr *expr = new_expr(BERTH_HCL_LITERAL, pos);
    expr->as.literal = berth_value_new_string(text);
    return expr;
}

static int parse_object(parser *p, berth_hcl_pos pos, berth_hcl_expr **out);

/* Parses an object key: a name, a quoted string, or "(expr)". Sets
 * *plain_name when the key can also start an HCL1 nested block. */
static int parse_object_key(parser *p, berth_hcl_expr **out, bool *plain_name)
{
    berth_hcl_token *token;
    if (peek(p, &token) < 0)
        return -1;
    berth_hcl_token key = *token;
    *plain_name = false;
    if (key.kind == BERTH_HCL_TOKEN_IDENT) {
        take(p);
        char *name = token_text(&key);
        *out = string_literal(name, key.pos);
        free(name);
        *plain_name = true;
        return 0;
    }
    if (key.kind == BERTH_HCL_TOKEN_QUOTE) {
        take(p);
        if (parse_template(p, false, 0, key.pos, out) < 0)
            return -1;
        *plain_name = (*out)->kind == BERTH_HCL_LITERAL;
        return 0;
    }
    if (key.kind == BERTH_HCL_TOKEN_LPAREN || key.kind == BERTH_HCL_TOKEN_NUMBER)
        return parse_expression(p, out);
    return error_found(p, &key, "an object key (a name or a quoted string) or \"}\"");
}

/* Parses an HCL1 nested block inside an object, `name "label" { ... }`,
 * after its name: the labels become nested single-key objects. */
static int parse_object_block(parser *p, berth_hcl_expr **out)
{
    berth_hcl_token *token;
    if (peek(p, &token) < 0)
        return -1;
    if (token->kind == BERTH_HCL_TOKEN_LBRACE) {
        berth_hcl_pos pos = token->pos;
        take(p);
        return parse_object(p, pos, out);
    }
    berth_hcl_pos label_pos = token->pos;
    char *label = NULL;
    if (token->kind == BERTH_HCL_TOKEN_IDENT) {
        label = token_text(token);
        take(p);
    } else if (token->kind == BERTH_HCL_TOKEN_QUOTE) {
        take(p);
        if (parse_plain_string(p, label_pos, "a block label", &label) < 0)
            return -1;
    } else {
        return error_found(p, token, "a block label or \"{\"");
    }
    berth_autofree char *owned_label = label;
    if (enter(p, label_pos) < 0)
        return -1;
    autoexpr berth_hcl_expr *inner = NULL;
    int result = parse_object_block(p, &inner);
    p->depth--;
    if (result < 0)
        return -1;
    berth_hcl_expr *object = new_expr(BERTH_HCL_OBJECT, label_pos);
    size_t capacity = 0;
    add_object_item(object, &capacity, string_literal(owned_label, label_pos),
                    berth_steal_pointer(&inner));
    *out = object;
    return 0;
}

/* Parses `{ key = value, ... }` after its "{". Items are separated by
 * commas or newlines. */
static int parse_object(parser *p, berth_hcl_pos pos, berth_hcl_expr **out)
{
    if (enter(p, pos) < 0)
        return -1;
    bool saved = p->skip_newlines;
    p->skip_newlines = false;
    autoexpr berth_hcl_expr *object = new_expr(BERTH_HCL_OBJECT, pos);
    size_t capacity = 0;
    berth_hcl_token *token;
    for (;;) {
        if (skip_newline_tokens(p) < 0 || peek(p, &token) < 0)
            return -1;
        if (token->kind == BERTH_HCL_TOKEN_RBRACE) {
            take(p);
            break;
        }
        if (token->kind == BERTH_HCL_TOKEN_EOF)
            return error_unclosed(p, token, pos, "{", "\"}\"");
        autoexpr berth_hcl_expr *key = NULL;
        bool plain_name = false;
        if (parse_object_key(p, &key, &plain_name) < 0)
            return -1;
        if (peek(p, &token) < 0)
            return -1;
        if (plain_name && object->as.object.length == 0 && token->kind == BERTH_HCL_TOKEN_IDENT &&
            strcmp(key->as.literal->as.string, "for") == 0)
            return berth_hcl_error_at(p->err, key->pos, "for expressions are not supported");
        autoexpr berth_hcl_expr *value = NULL;
        bool is_block = false;
        if (token->kind == BERTH_HCL_TOKEN_ASSIGN || token->kind == BERTH_HCL_TOKEN_COLON) {
            take(p);
            if (parse_expression(p, &value) < 0)
                return -1;
        } else if (plain_name && (token->kind == BERTH_HCL_TOKEN_LBRACE ||
                                  token->kind == BERTH_HCL_TOKEN_IDENT ||
                                  token->kind == BERTH_HCL_TOKEN_QUOTE)) {
            if (parse_object_block(p, &value) < 0)
                return -1;
            is_block = true;
        } else {
            char expected[128];
            char name[48] = "the key";
            if (key->kind == BERTH_HCL_LITERAL && key->as.literal->kind == BERTH_VALUE_STRING)
                snprintf(name, sizeof(name), "\"%.40s\"", key->as.literal->as.string);
            snprintf(expected, sizeof(expected), "\"=\" or \"{\" after %s", name);
            return error_found(p, token, expected);
        }
        add_object_item(object, &capacity, berth_steal_pointer(&key), berth_steal_pointer(&value));

        if (peek(p, &token) < 0)
            return -1;
        /* HCL1 lets a nested block be followed by the next item directly. */
        if (token->kind == BERTH_HCL_TOKEN_COMMA || token->kind == BERTH_HCL_TOKEN_NEWLINE)
            take(p);
        else if (token->kind == BERTH_HCL_TOKEN_EOF)
            return error_unclosed(p, token, pos, "{", "\"}\"");
        else if (token->kind != BERTH_HCL_TOKEN_RBRACE && !is_block)
            return error_found(p, token, "\",\", a newline or \"}\" after an object item");
    }
    p->skip_newlines = saved;
    p->depth--;
    *out = berth_steal_pointer(&object);
    return 0;
}

static int parse_primary(parser *p, berth_hcl_expr **out)
{
    berth_hcl_token *peeked;
    if (peek(p, &peeked) < 0)
        return -1;
    berth_hcl_token token = *peeked;
    switch (token.kind) {
    case BERTH_HCL_TOKEN_NUMBER:
        take(p);
        return parse_number(p, &token, out);
    case BERTH_HCL_TOKEN_QUOTE:
        take(p);
        return parse_template(p, false, 0, token.pos, out);
    case BERTH_HCL_TOKEN_HEREDOC:
        take(p);
        return parse_heredoc(p, &token, out);
    case BERTH_HCL_TOKEN_LBRACKET:
        take(p);
        return parse_tuple(p, token.pos, out);
    case BERTH_HCL_TOKEN_LBRACE:
        take(p);
        return parse_object(p, token.pos, out);
    case BERTH_HCL_TOKEN_LPAREN: {
        take(p);
        bool saved = p->skip_newlines;
        p->skip_newlines = true;
        autoexpr berth_hcl_expr *inner = NULL;
        if (parse_expression(p, &inner) < 0)
            return -1;
        berth_hcl_token *close;
        if (peek(p, &close) < 0)
            return -1;
        if (close->kind != BERTH_HCL_TOKEN_RPAREN)
            return error_unclosed(p, close, token.pos, "(", "\")\"");
        take(p);
        p->skip_newlines = saved;
        berth_hcl_expr *expr = new_expr(BERTH_HCL_PARENS, token.pos);
        expr->as.parens = berth_steal_pointer(&inner);
        *out = expr;
        return 0;
    }
    case BERTH_HCL_TOKEN_IDENT:
        break;
    default:
        return error_found(p, &token, "an expression");
    }

    take(p);
    if (token.length == 4 && memcmp(token.text, "true", 4) == 0) {
        *out = new_expr(BERTH_HCL_LITERAL, token.pos);
        (*out)->as.literal = berth_value_new_bool(true);
        return 0;
    }
    if (token.length == 5 && memcmp(token.text, "false", 5) == 0) {
        *out = new_expr(BERTH_HCL_LITERAL, token.pos);
        (*out)->as.literal = berth_value_new_bool(false);
        return 0;
    }
    if (token.length == 4 && memcmp(token.text, "null", 4) == 0) {
        *out = new_expr(BERTH_HCL_LITERAL, token.pos);
        (*out)->as.literal = berth_value_new_null();
        return 0;
    }
    berth_hcl_token *next;
    if (peek(p, &next) < 0)
        return -1;
    if (next->kind == BERTH_HCL_TOKEN_LPAREN)
        return parse_call(p, &token, out);
    berth_hcl_expr *expr = new_expr(BERTH_HCL_VARIABLE, token.pos);
    expr->as.variable = token_text(&token);
    *out = expr;
    return 0;
}

/* Parses a primary expression followed by any number of ".name" and
 * "[key]". Each step nests the tree one level, so each counts toward the
 * depth limit. */
static int parse_postfix(parser *p, berth_hcl_expr **out)
{
    autoexpr berth_hcl_expr *expr = NULL;
    if (parse_primary(p, &expr) < 0)
        return -1;
    int levels = 0;
    int result = -1;
    for (;;) {
        berth_hcl_token *token;
        if (peek(p, &token) < 0)
            goto out;
        berth_hcl_token op = *token;
        if (op.kind != BERTH_HCL_TOKEN_DOT && op.kind != BERTH_HCL_TOKEN_LBRACKET)
            break;
        if (enter(p, op.pos) < 0)
            goto out;
        levels++;
        take(p);
        if (op.kind == BERTH_HCL_TOKEN_DOT) {
            if (peek(p, &token) < 0)
                goto out;
            if (token->kind == BERTH_HCL_TOKEN_STAR) {
                berth_hcl_error_at(p->err, op.pos, "splat expressions (\".*\") are not supported");
                goto out;
            }
            if (token->kind == BERTH_HCL_TOKEN_NUMBER) {
                berth_hcl_token number = *token;
                take(p);
                berth_hcl_expr *key = NULL;
                if (parse_number(p, &number, &key) < 0)
                    goto out;
                berth_hcl_expr *index = new_expr(BERTH_HCL_INDEX, op.pos);
                index->as.index.source = berth_steal_pointer(&expr);
                index->as.index.key = key;
                expr = index;
                continue;
            }
            if (token->kind != BERTH_HCL_TOKEN_IDENT) {
                error_found(p, token, "an attribute name after \".\"");
                goto out;
            }
            berth_hcl_expr *get = new_expr(BERTH_HCL_GET_ATTR, op.pos);
            get->as.get_attr.name = token_text(token);
            take(p);
            get->as.get_attr.source = berth_steal_pointer(&expr);
            expr = get;
            continue;
        }

        bool saved = p->skip_newlines;
        p->skip_newlines = true;
        if (peek(p, &token) < 0)
            goto out;
        if (token->kind == BERTH_HCL_TOKEN_STAR) {
            berth_hcl_error_at(p->err, op.pos, "splat expressions (\"[*]\") are not supported");
            goto out;
        }
        autoexpr berth_hcl_expr *key = NULL;
        if (parse_expression(p, &key) < 0)
            goto out;
        if (peek(p, &token) < 0)
            goto out;
        if (token->kind != BERTH_HCL_TOKEN_RBRACKET) {
            error_unclosed(p, token, op.pos, "[", "\"]\"");
            goto out;
        }
        take(p);
        p->skip_newlines = saved;
        berth_hcl_expr *index = new_expr(BERTH_HCL_INDEX, op.pos);
        index->as.index.source = berth_steal_pointer(&expr);
        index->as.index.key = berth_steal_pointer(&key);
        expr = index;
    }
    *out = berth_steal_pointer(&expr);
    result = 0;
out:
    p->depth -= levels;
    return result;
}

static int parse_unary(parser *p, berth_hcl_expr **out)
{
    berth_hcl_token *token;
    if (peek(p, &token) < 0)
        return -1;
    if (token->kind != BERTH_HCL_TOKEN_BANG && token->kind != BERTH_HCL_TOKEN_MINUS)
        return parse_postfix(p, out);
    berth_hcl_pos pos = token->pos;
    berth_hcl_operator op = token->kind == BERTH_HCL_TOKEN_BANG ? BERTH_HCL_OP_NOT
                                                                : BERTH_HCL_OP_NEGATE;
    take(p);
    if (enter(p, pos) < 0)
        return -1;
    berth_hcl_expr *operand = NULL;
    int result = parse_unary(p, &operand);
    p->depth--;
    if (result < 0)
        return -1;
    berth_hcl_expr *expr = new_expr(BERTH_HCL_UNARY, pos);
    expr->as.unary.op = op;
    expr->as.unary.operand = operand;
    *out = expr;
    return 0;
}

/* Binary operators from lowest to highest precedence, as in HCL2. */
#define PRECEDENCE_LEVELS 6

static bool binary_operator(berth_hcl_token_kind kind, int level, berth_hcl_operator *op)
{
    static const struct {
        berth_hcl_token_kind token;
        berth_hcl_operator op;
        int level;
    } table[] = {
        {BERTH_HCL_TOKEN_OR, BERTH_HCL_OP_OR, 0},       {BERTH_HCL_TOKEN_AND, BERTH_HCL_OP_AND, 1},
        {BERTH_HCL_TOKEN_EQ, BERTH_HCL_OP_EQ, 2},       {BERTH_HCL_TOKEN_NE, BERTH_HCL_OP_NE, 2},
        {BERTH_HCL_TOKEN_LT, BERTH_HCL_OP_LT, 3},       {BERTH_HCL_TOKEN_LE, BERTH_HCL_OP_LE, 3},
        {BERTH_HCL_TOKEN_GT, BERTH_HCL_OP_GT, 3},       {BERTH_HCL_TOKEN_GE, BERTH_HCL_OP_GE, 3},
        {BERTH_HCL_TOKEN_PLUS, BERTH_HCL_OP_ADD, 4},    {BERTH_HCL_TOKEN_MINUS, BERTH_HCL_OP_SUB, 4},
        {BERTH_HCL_TOKEN_STAR, BERTH_HCL_OP_MUL, 5},    {BERTH_HCL_TOKEN_SLASH, BERTH_HCL_OP_DIV, 5},
        {BERTH_HCL_TOKEN_PERCENT, BERTH_HCL_OP_MOD, 5},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (table[i].token == kind && table[i].level == level) {
            *op = table[i].op;
            return true;
        }
    }
    return false;
}

/* Parses a left-associative chain of operators of one precedence level.
 * Each operator nests the tree one level deeper and counts toward the depth
 * limit. */
static int parse_binary(parser *p, int level, berth_hcl_expr **out)
{
    if (level == PRECEDENCE_LEVELS)
        return parse_unary(p, out);
    autoexpr berth_hcl_expr *left = NULL;
    if (parse_binary(p, level + 1, &left) < 0)
        return -1;
    int levels = 0;
    int result = -1;
    for (;;) {
        berth_hcl_token *token;
        if (peek(p, &token) < 0)
            goto out;
        berth_hcl_operator op;
        if (!binary_operator(token->kind, level, &op))
            break;
        berth_hcl_pos pos = token->pos;
        if (enter(p, pos) < 0)
            goto out;
        levels++;
        take(p);
        /* An operator at the end of a line continues onto the next. */
        if (skip_newline_tokens(p) < 0)
            goto out;
        berth_hcl_expr *right = NULL;
        if (parse_binary(p, level + 1, &right) < 0)
            goto out;
        berth_hcl_expr *binary = new_expr(BERTH_HCL_BINARY, pos);
        binary->as.binary.op = op;
        binary->as.binary.left = berth_steal_pointer(&left);
        binary->as.binary.right = right;
        left = binary;
    }
    *out = berth_steal_pointer(&left);
    result = 0;
out:
    p->depth -= levels;
    return result;
}

static int expect_after_newlines(parser *p, berth_hcl_token_kind kind, const char *expected,
                                 berth_hcl_pos *pos)
{
    berth_hcl_token *token;
    if (skip_newline_tokens(p) < 0 || peek(p, &token) < 0)
        return -1;
    if (token->kind != kind)
        return error_found(p, token, expected);
    *pos = token->pos;
    take(p);
    return skip_newline_tokens(p);
}

static int parse_expression(parser *p, berth_hcl_expr **out)
{
    berth_hcl_token *token;
    if (peek(p, &token) < 0)
        return -1;
    if (enter(p, token->pos) < 0)
        return -1;
    int result = -1;
    autoexpr berth_hcl_expr *condition = NULL;
    autoexpr berth_hcl_expr *when_true = NULL;
    autoexpr berth_hcl_expr *when_false = NULL;
    if (parse_binary(p, 0, &condition) < 0)
        goto out;
    if (peek(p, &token) < 0)
        goto out;
    if (token->kind != BERTH_HCL_TOKEN_QUESTION) {
        *out = berth_steal_pointer(&condition);
        result = 0;
        goto out;
    }
    berth_hcl_pos pos = token->pos;
    take(p);
    if (skip_newline_tokens(p) < 0 || parse_expression(p, &when_true) < 0)
        goto out;
    berth_hcl_pos colon;
    if (expect_after_newlines(p, BERTH_HCL_TOKEN_COLON, "\":\" in a conditional expression",
                              &colon) < 0)
        goto out;
    if (parse_expression(p, &when_false) < 0)
        goto out;
    berth_hcl_expr *expr = new_expr(BERTH_HCL_CONDITIONAL, pos);
    expr->as.conditional.condition = berth_steal_pointer(&condition);
    expr->as.conditional.when_true = berth_steal_pointer(&when_true);
    expr->as.conditional.when_false = berth_steal_pointer(&when_false);
    *out = expr;
    result = 0;
out:
    p->depth--;
    return result;
}

/* --- Bodies -------------------------------------------------------------- */

static berth_hcl_item *add_item(berth_hcl_body *body, size_t *capacity)
{
    berth_grow((void **)&body->items, capacity, body->length + 1, sizeof(*body->items));
    berth_hcl_item *item = &body->items[body->length++];
    memset(item, 0, sizeof(*item));
    return item;
}

static const berth_hcl_attribute *find_attribute(const berth_hcl_body *body, const char *name)
{
    for (size_t i = 0; i < body->length; i++) {
        const berth_hcl_item *item = &body->items[i];
        if (!item->is_block && strcmp(item->as.attribute.name, name) == 0)
            return &item->as.attribute;
    }
    return NULL;
}

/* Reads an item name or block label: a bare name or a plain quoted
 * string. */
static int parse_name(parser *p, berth_hcl_token *token, const char *what, char **out)
{
    berth_hcl_pos pos = token->pos;
    if (token->kind == BERTH_HCL_TOKEN_IDENT) {
        *out = token_text(token);
        take(p);
        return 0;
    }
    take(p);
    return parse_plain_string(p, pos, what, out);
}

static int parse_body(parser *p, berth_hcl_body *body, bool is_file);

static int parse_block(parser *p, berth_hcl_body *body, size_t *capacity, char *type,
                       berth_hcl_pos pos)
{
    berth_autofree char *owned_type = type;
    char **labels = NULL;
    size_t label_count = 0, label_capacity = 0;
    int result = -1;
    autobody berth_hcl_body *inner = NULL;
    berth_hcl_token *token;
    for (;;) {
        if (peek(p, &token) < 0)
            goto out;
        if (token->kind == BERTH_HCL_TOKEN_LBRACE)
            break;
        if (token->kind != BERTH_HCL_TOKEN_IDENT && token->kind != BERTH_HCL_TOKEN_QUOTE) {
            char expected[96];
            snprintf(expected, sizeof(expected), "a label or \"{\" after block \"%.40s\"",
                     owned_type);
            error_found(p, token, expected);
            goto out;
        }
        char *label = NULL;
        if (parse_name(p, token, "a block label", &label) < 0)
            goto out;
        berth_grow((void **)&labels, &label_capacity, label_count + 1, sizeof(*labels));
        labels[label_count++] = label;
    }
    inner = berth_xcalloc(1, sizeof(*inner));
    inner->pos = token->pos;
    take(p);
    if (enter(p, inner->pos) < 0)
        goto out;
    int parsed = parse_body(p, inner, false);
    p->depth--;
    if (parsed < 0)
        goto out;

    berth_hcl_item *item = add_item(body, capacity);
    item->is_block = true;
    item->as.block.type = berth_steal_pointer(&owned_type);
    item->as.block.labels = berth_steal_pointer(&labels);
    item->as.block.label_count = label_count;
    item->as.block.body = berth_steal_pointer(&inner);
    item->as.block.pos = pos;
    result = 0;
out:
    for (size_t i = 0; labels != NULL && i < label_count; i++)
        free(labels[i]);
    free(labels);
    return result;
}

static int parse_attribute(parser *p, berth_hcl_body *body, size_t *capacity, char *name,
                           berth_hcl_pos pos)
{
    berth_autofree char *owned_name = name;
    const berth_hcl_attribute *previous = find_attribute(body, name);
    if (previous != NULL)
        return berth_hcl_error_at(p->err, pos, "attribute \"%s\" was already set at %d:%d", name,
                                  previous->pos.line, previous->pos.column);
    autoexpr berth_hcl_expr *expr = NULL;
    if (parse_expression(p, &expr) < 0)
        return -1;
    berth_hcl_token *token;
    if (peek(p, &token) < 0)
        return -1;
    if (token->kind != BERTH_HCL_TOKEN_NEWLINE && token->kind != BERTH_HCL_TOKEN_EOF &&
        token->kind != BERTH_HCL_TOKEN_RBRACE) {
        char expected[96];
        snprintf(expected, sizeof(expected), "a newline after the value of \"%.40s\"", name);
        return error_found(p, token, expected);
    }
    berth_hcl_item *item = add_item(body, capacity);
    item->as.attribute.name = berth_steal_pointer(&owned_name);
    item->as.attribute.expr = berth_steal_pointer(&expr);
    item->as.attribute.pos = pos;
    return 0;
}

/* Parses attributes and blocks up to the closing "}" (or the end of the
 * file for the top-level body). */
static int parse_body(parser *p, berth_hcl_body *body, bool is_file)
{
    bool saved = p->skip_newlines;
    p->skip_newlines = false;
    size_t capacity = 0;
    berth_hcl_token *token;
    for (;;) {
        if (skip_newline_tokens(p) < 0 || peek(p, &token) < 0)
            return -1;
        if (token->kind == BERTH_HCL_TOKEN_EOF) {
            if (is_file)
                break;
            return error_unclosed(p, token, body->pos, "{", "\"}\"");
        }
        if (token->kind == BERTH_HCL_TOKEN_RBRACE && !is_file) {
            take(p);
            break;
        }
        if (token->kind != BERTH_HCL_TOKEN_IDENT && token->kind != BERTH_HCL_TOKEN_QUOTE)
            return error_found(p, token, "an attribute name or block type");
        berth_hcl_pos pos = token->pos;
        char *name = NULL;
        if (parse_name(p, token, "an attribute name", &name) < 0)
            return -1;
        if (peek(p, &token) < 0) {
            free(name);
            return -1;
        }
        if (token->kind == BERTH_HCL_TOKEN_ASSIGN) {
            take(p);
            if (parse_attribute(p, body, &capacity, name, pos) < 0)
                return -1;
            continue;
        }
        if (token->kind == BERTH_HCL_TOKEN_LBRACE || token->kind == BERTH_HCL_TOKEN_IDENT ||
            token->kind == BERTH_HCL_TOKEN_QUOTE) {
            if (parse_block(p, body, &capacity, name, pos) < 0)
                return -1;
            continue;
        }
        char expected[96];
        snprintf(expected, sizeof(expected), "\"=\" or \"{\" after \"%.40s\"", name);
        free(name);
        return error_found(p, token, expected);
    }
    p->skip_newlines = saved;
    return 0;
}

/* --- Public entry points ------------------------------------------------- */

int berth_hcl_parse(const char *filename, const char *src, size_t length, berth_hcl_file **out,
                    berth_error *err)
{
    if (src == NULL) {
        src = "";
        length = 0;
    }
    berth_hcl_file *file = berth_xcalloc(1, sizeof(*file));
    file->filename = berth_xstrdup(filename != NULL ? filename : "<input>");
    if (berth_hcl_check_encoding(file->filename, src, length, err) < 0) {
        berth_hcl_file_free(file);
        return -1;
    }
    parser p = {0};
    p.err = err;
    berth_hcl_lexer_init(&p.lexer, file->filename, src, length);
    file->body = berth_xcalloc(1, sizeof(*file->body));
    file->body->pos = (berth_hcl_pos){file->filename, 1, 1};
    if (parse_body(&p, file->body, true) < 0) {
        berth_hcl_file_free(file);
        return -1;
    }
    *out = file;
    return 0;
}

int berth_hcl_parse_file(const char *path, berth_hcl_file **out, berth_error *err)
{
    berth_autofree char *text = NULL;
    size_t length = 0;
    if (berth_read_file(path, BERTH_HCL_MAX_FILE, &text, &length, err) < 0)
        return -1;
    return berth_hcl_parse(path, text, length, out, err);
}

void berth_hcl_pos_format(berth_hcl_pos pos, char *out, size_t out_size)
{
    snprintf(out, out_size, "%s:%d:%d", pos.filename != NULL ? pos.filename : "<input>", pos.line,
             pos.column);
}
