/* HCL parser: reads Nomad job files written in either of Nomad's dialects,
 * HCL1 (`config = { ... }`, `port "http" {}`) and HCL2 (`config { ... }`,
 * expressions), into one syntax tree.
 *
 * The tree keeps expressions as expressions: `${...}` templates, bare
 * references such as `meta.x`, function calls and conditionals are parsed
 * into nodes and evaluated later, by berth_hcl_eval(), against a context the
 * caller supplies. Every node carries the position it was read from. */
#ifndef BERTH_HCL_HCL_H
#define BERTH_HCL_HCL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/value.h"

typedef struct berth_hcl_pos {
    const char *filename; /* borrowed from the berth_hcl_file that owns the tree */
    int line;             /* 1-based */
    int column;           /* 1-based, counted in bytes */
} berth_hcl_pos;

typedef struct berth_hcl_expr berth_hcl_expr;
typedef struct berth_hcl_body berth_hcl_body;

typedef enum berth_hcl_expr_kind {
    BERTH_HCL_LITERAL,     /* null, true, false, a number, or a string without ${} */
    BERTH_HCL_TEMPLATE,    /* a quoted string or heredoc containing ${...} */
    BERTH_HCL_TUPLE,       /* [a, b, c] */
    BERTH_HCL_OBJECT,      /* { key = value, ... }, also HCL1 nested blocks inside objects */
    BERTH_HCL_VARIABLE,    /* a bare name: meta, NOMAD_PORT_http, var */
    BERTH_HCL_GET_ATTR,    /* source.name */
    BERTH_HCL_INDEX,       /* source[key] */
    BERTH_HCL_CALL,        /* name(arg, ...) */
    BERTH_HCL_CONDITIONAL, /* condition ? when_true : when_false */
    BERTH_HCL_BINARY,      /* left op right */
    BERTH_HCL_UNARY,       /* !x, -x */
    BERTH_HCL_PARENS,      /* (x), kept so positions and source text stay exact */
} berth_hcl_expr_kind;

typedef enum berth_hcl_operator {
    BERTH_HCL_OP_OR, BERTH_HCL_OP_AND,
    BERTH_HCL_OP_EQ, BERTH_HCL_OP_NE,
    BERTH_HCL_OP_LT, BERTH_HCL_OP_LE, BERTH_HCL_OP_GT, BERTH_HCL_OP_GE,
    BERTH_HCL_OP_ADD, BERTH_HCL_OP_SUB, BERTH_HCL_OP_MUL, BERTH_HCL_OP_DIV, BERTH_HCL_OP_MOD,
    BERTH_HCL_OP_NOT, BERTH_HCL_OP_NEGATE,
} berth_hcl_operator;

/* One piece of a template: literal text, or an interpolation ${expr}. */
typedef struct berth_hcl_template_part {
    bool is_interpolation;
    char *text;           /* literal text with escapes decoded; NULL for an interpolation */
    berth_hcl_expr *expr; /* the interpolated expression; NULL for literal text */
} berth_hcl_template_part;

typedef struct berth_hcl_object_item {
    berth_hcl_expr *key;  /* a LITERAL string for `name = v`, `"name" = v` and HCL1 block items */
    berth_hcl_expr *value;
} berth_hcl_object_item;

struct berth_hcl_expr {
    berth_hcl_expr_kind kind;
    berth_hcl_pos pos;
    union {
        berth_value *literal; /* LITERAL: the value; owned */
        struct {
            berth_hcl_template_part *parts;
            size_t length;
            /* The template text as a Nomad JSON job would carry it: literal
             * text decoded, each interpolation kept as "${" source "}". An
             * escaped "$${" stays "$${", so that a later interpolation pass
             * turns it into a literal "${"; "%%{" becomes "%{". */
            char *source;
        } template_;
        struct {
            berth_hcl_expr **items;
            size_t length;
        } tuple;
        struct {
            berth_hcl_object_item *items;
            size_t length;
        } object;
        char *variable; /* VARIABLE: the name */
        struct {
            berth_hcl_expr *source;
            char *name;
        } get_attr;
        struct {
            berth_hcl_expr *source;
            berth_hcl_expr *key;
        } index;
        struct {
            char *name;
            berth_hcl_expr **args;
            size_t length;
            bool expand_final; /* f(list...) */
        } call;
        struct {
            berth_hcl_expr *condition, *when_true, *when_false;
        } conditional;
        struct {
            berth_hcl_operator op;
            berth_hcl_expr *left, *right;
        } binary;
        struct {
            berth_hcl_operator op;
            berth_hcl_expr *operand;
        } unary;
        berth_hcl_expr *parens;
    } as;
};

typedef struct berth_hcl_attribute {
    char *name;
    berth_hcl_expr *expr;
    berth_hcl_pos pos; /* of the name */
} berth_hcl_attribute;

typedef struct berth_hcl_block {
    char *type;
    char **labels; /* each label as written, quotes removed */
    size_t label_count;
    berth_hcl_body *body;
    berth_hcl_pos pos; /* of the type name */
} berth_hcl_block;

typedef struct berth_hcl_item {
    bool is_block;
    union {
        berth_hcl_attribute attribute;
        berth_hcl_block block;
    } as;
} berth_hcl_item;

/* A body: attributes and blocks in source order. HCL1's `name = { ... }` is
 * an attribute whose expression is an OBJECT; HCL2's `name { ... }` is a
 * block. Consumers accept both where Nomad does. */
struct berth_hcl_body {
    berth_hcl_item *items;
    size_t length;
    berth_hcl_pos pos; /* of the opening brace, or 1:1 for a file */
};

typedef struct berth_hcl_file {
    char *filename;
    berth_hcl_body *body;
} berth_hcl_file;

/* Maximum nesting of blocks, objects, tuples and expressions. Deeper input
 * is rejected so that a hostile file cannot exhaust the stack. */
#define BERTH_HCL_MAX_DEPTH 128

/* Parses length bytes of src (which need not be NUL-terminated). On success
 * returns 0 and stores a new tree in *out (free with berth_hcl_file_free).
 * On a syntax error returns -1 with err->code BERTH_E_INVALID and a message
 * "FILENAME:LINE:COL: what is wrong", where the position is that of the
 * offending token. */
int berth_hcl_parse(const char *filename, const char *src, size_t length, berth_hcl_file **out,
                    berth_error *err);

/* Reads and parses a file; file errors name the path. */
int berth_hcl_parse_file(const char *path, berth_hcl_file **out, berth_error *err);

void berth_hcl_file_free(berth_hcl_file *file);

/* Formats "FILENAME:LINE:COL" into out. */
void berth_hcl_pos_format(berth_hcl_pos pos, char *out, size_t out_size);

/* --- Evaluation --------------------------------------------------------- */

/* Resolves a root variable name (the first part of `meta.x`, or a bare
 * `NOMAD_PORT_http`). Returns a new value the evaluator will free, or NULL
 * when the name is unknown. */
typedef berth_value *(*berth_hcl_lookup)(void *user_data, const char *name);

typedef struct berth_hcl_eval_context {
    berth_hcl_lookup lookup; /* may be NULL: every variable is unknown */
    void *user_data;
    /* When true, templates are not evaluated: a TEMPLATE becomes a string of
     * its `source`, so `${...}` survives for later interpolation. When
     * false, a template becomes its literal text joined with each
     * interpolated value: numbers in shortest form, bools as true/false,
     * null as the empty string. A list or map inside a template is an
     * error, even when it is the only interpolation. */
    bool keep_templates;
} berth_hcl_eval_context;

/* Evaluates expr to a new value. Literals, tuples and objects always work;
 * variables go through ctx->lookup; the functions listed in
 * berth_hcl_function_names() are available. Unknown variables, unknown
 * functions and type errors fail with "FILENAME:LINE:COL: message". Every
 * value produced carries its origin. */
int berth_hcl_eval(const berth_hcl_expr *expr, const berth_hcl_eval_context *ctx,
                   berth_value **out, berth_error *err);

/* Converts a body to a map value: attributes by name; blocks by type, with
 * labels as nested map keys; a block type given more than once becomes a
 * list of maps. Used for the driver's `config` block. */
int berth_hcl_body_to_value(const berth_hcl_body *body, const berth_hcl_eval_context *ctx,
                            berth_value **out, berth_error *err);

/* NULL-terminated list of supported function names. */
const char *const *berth_hcl_function_names(void);

#endif
