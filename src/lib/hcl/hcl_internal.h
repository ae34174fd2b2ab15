/* Declarations shared by the HCL lexer, parser and evaluator. Nothing here
 * is meant for other modules: they use hcl.h. */
#ifndef BERTH_HCL_HCL_INTERNAL_H
#define BERTH_HCL_HCL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "hcl/hcl.h"

/* Largest string the lexer or evaluator builds (a heredoc, a template
 * result, a function result). Larger results fail with BERTH_E_INVALID. */
#define BERTH_HCL_MAX_STRING (4u * 1024 * 1024)

/* Largest file berth_hcl_parse_file() reads. */
#define BERTH_HCL_MAX_FILE (8u * 1024 * 1024)

typedef enum berth_hcl_token_kind {
    BERTH_HCL_TOKEN_EOF,
    BERTH_HCL_TOKEN_NEWLINE,
    BERTH_HCL_TOKEN_IDENT,
    BERTH_HCL_TOKEN_NUMBER,
    BERTH_HCL_TOKEN_QUOTE,   /* the opening '"' of a string; the text follows */
    BERTH_HCL_TOKEN_HEREDOC, /* a whole heredoc, from "<<" to its closing marker */
    BERTH_HCL_TOKEN_LBRACE,
    BERTH_HCL_TOKEN_RBRACE,
    BERTH_HCL_TOKEN_LBRACKET,
    BERTH_HCL_TOKEN_RBRACKET,
    BERTH_HCL_TOKEN_LPAREN,
    BERTH_HCL_TOKEN_RPAREN,
    BERTH_HCL_TOKEN_COMMA,
    BERTH_HCL_TOKEN_ASSIGN,
    BERTH_HCL_TOKEN_COLON,
    BERTH_HCL_TOKEN_DOT,
    BERTH_HCL_TOKEN_ELLIPSIS,
    BERTH_HCL_TOKEN_QUESTION,
    BERTH_HCL_TOKEN_BANG,
    BERTH_HCL_TOKEN_PLUS,
    BERTH_HCL_TOKEN_MINUS,
    BERTH_HCL_TOKEN_STAR,
    BERTH_HCL_TOKEN_SLASH,
    BERTH_HCL_TOKEN_PERCENT,
    BERTH_HCL_TOKEN_EQ,
    BERTH_HCL_TOKEN_NE,
    BERTH_HCL_TOKEN_LT,
    BERTH_HCL_TOKEN_LE,
    BERTH_HCL_TOKEN_GT,
    BERTH_HCL_TOKEN_GE,
    BERTH_HCL_TOKEN_AND,
    BERTH_HCL_TOKEN_OR,
    BERTH_HCL_TOKEN_ARROW, /* "=>", only valid in for expressions */
} berth_hcl_token_kind;

typedef struct berth_hcl_token {
    berth_hcl_token_kind kind;
    const char *text; /* points into the source */
    size_t length;
    berth_hcl_pos pos;
    /* HEREDOC only: where the content lines are, and how much leading
     * whitespace `<<-` removes from each of them. */
    size_t content_offset, content_end;
    int content_line;
    size_t strip;
} berth_hcl_token;

/* A cursor over the source. `limit` is normally the input length; the
 * parser narrows it to a heredoc's content while reading the heredoc. */
typedef struct berth_hcl_lexer {
    const char *filename;
    const char *src;
    size_t offset;
    size_t limit;
    int line;
    int column;
} berth_hcl_lexer;

/* How a run of template text ended. */
typedef enum berth_hcl_text_end {
    BERTH_HCL_TEXT_END,           /* the closing quote, or the end of the heredoc */
    BERTH_HCL_TEXT_INTERPOLATION, /* "${": an expression follows */
} berth_hcl_text_end;

/* Fills err with "FILENAME:LINE:COL: message", code BERTH_E_INVALID, and
 * returns -1. */
int berth_hcl_error_at(berth_error *err, berth_hcl_pos pos, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* Rejects NUL bytes and invalid UTF-8 anywhere in the input, naming the
 * position of the first bad byte. */
int berth_hcl_check_encoding(const char *filename, const char *src, size_t length,
                             berth_error *err);

void berth_hcl_lexer_init(berth_hcl_lexer *lexer, const char *filename, const char *src,
                          size_t length);
berth_hcl_pos berth_hcl_lexer_pos(const berth_hcl_lexer *lexer);

/* Reads the next token, skipping spaces and comments (a newline stays a
 * token). */
int berth_hcl_lex_next(berth_hcl_lexer *lexer, berth_hcl_token *token, berth_error *err);

/* Reads template text up to the next "${" or the end of the string or
 * heredoc. Decoded text is appended to `text`, and to `source` in the form
 * described for a template's `source` in hcl.h. For a quoted string
 * (heredoc false) escapes are decoded and `start` (the opening quote) is
 * reported when the string is not closed on its line. For a heredoc, up to
 * `strip` bytes of leading whitespace are removed from each line.
 * *escaped_dollar is set when "$${" was seen. */
int berth_hcl_lex_template_text(berth_hcl_lexer *lexer, bool heredoc, size_t strip,
                                berth_hcl_pos start, berth_buf *text, berth_buf *source,
                                berth_hcl_text_end *end, bool *escaped_dollar,
                                berth_error *err);

/* Writes a short description of token for messages: `"name"`, `"}"`,
 * `newline`, `end of file`. */
void berth_hcl_describe_token(const berth_hcl_token *token, char *out, size_t out_size);

/* Frees an expression tree (NULL is fine). */
void berth_hcl_expr_free(berth_hcl_expr *expr);
void berth_hcl_body_free(berth_hcl_body *body);

/* Converts a value to text the way a template does: numbers in shortest
 * form, bools as true/false, null as the empty string. Lists and maps fail
 * with a positioned error. The caller frees *out. */
int berth_hcl_value_to_text(const berth_value *value, berth_hcl_pos pos, char **out,
                            berth_error *err);

/* Formats a number in its shortest round-trip form into out. */
void berth_hcl_format_number(const berth_value *number, char *out, size_t out_size);

/* Compares two values deeply, as HCL's "==" does: numbers by value, maps
 * regardless of key order. */
bool berth_hcl_values_equal(const berth_value *a, const berth_value *b);

/* Calls the named function on args (args keep their ownership). */
int berth_hcl_call_function(const char *name, berth_hcl_pos pos, berth_value **args,
                            size_t count, berth_value **out, berth_error *err);

#endif
