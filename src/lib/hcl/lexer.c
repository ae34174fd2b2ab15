/* HCL lexer: turns source bytes into tokens on demand. Strings are not
 * tokens of their own: after a QUOTE token the parser reads the string's
 * text with berth_hcl_lex_template_text(), and parses each "${...}" with the
 * ordinary tokens, so nested strings inside interpolations need no special
 * case. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/util.h"
#include "hcl/hcl_internal.h"

int berth_hcl_error_at(berth_error *err, berth_hcl_pos pos, const char *format, ...)
{
    char message[BERTH_ERROR_MESSAGE_MAX];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof(message), format, args);
    va_end(args);
    return berth_error_set(err, BERTH_E_INVALID, "%s:%d:%d: %s", pos.filename, pos.line,
                           pos.column, message);
}

/* Returns the length of the UTF-8 sequence at text (at most `available`
 * bytes), or 0 when it is not a valid, shortest-form sequence. */
static size_t utf8_sequence_length(const unsigned char *text, size_t available)
{
    unsigned char first = text[0];
    size_t length;
    uint32_t code_point;
    if (first < 0x80)
        return 1;
    if (first >= 0xc2 && first <= 0xdf) {
        length = 2;
        code_point = first & 0x1f;
    } else if (first >= 0xe0 && first <= 0xef) {
        length = 3;
        code_point = first & 0x0f;
    } else if (first >= 0xf0 && first <= 0xf4) {
        length = 4;
        code_point = first & 0x07;
    } else {
        return 0;
    }
    if (length > available)
        return 0;
    for (size_t i = 1; i < length; i++) {
        if ((text[i] & 0xc0) != 0x80)
            return 0;
        code_point = (code_point << 6) | (text[i] & 0x3f);
    }
    if ((length == 3 && code_point < 0x800) || (length == 4 && code_point < 0x10000))
        return 0;
    if (code_point > 0x10ffff || (code_point >= 0xd800 && code_point <= 0xdfff))
        return 0;
    return length;
}

int berth_hcl_check_encoding(const char *filename, const char *src, size_t length,
                             berth_error *err)
{
    berth_hcl_pos pos = {filename, 1, 1};
    size_t offset = 0;
    while (offset < length) {
        const unsigned char *here = (const unsigned char *)src + offset;
        if (*here == '\0')
            return berth_hcl_error_at(err, pos, "NUL byte in input; HCL files are UTF-8 text");
        size_t step = utf8_sequence_length(here, length - offset);
        if (step == 0)
            return berth_hcl_error_at(err, pos, "invalid UTF-8 byte 0x%02x", *here);
        if (*here == '\n') {
            pos.line++;
            pos.column = 1;
        } else {
            pos.column += (int)step;
        }
        offset += step;
    }
    return 0;
}

void berth_hcl_lexer_init(berth_hcl_lexer *lexer, const char *filename, const char *src,
                          size_t length)
{
    lexer->filename = filename;
    lexer->src = src;
    lexer->offset = 0;
    lexer->limit = length;
    lexer->line = 1;
    lexer->column = 1;
}

berth_hcl_pos berth_hcl_lexer_pos(const berth_hcl_lexer *lexer)
{
    berth_hcl_pos pos = {lexer->filename, lexer->line, lexer->column};
    return pos;
}

/* Returns the byte `ahead` positions past the cursor, or 0 past the limit. */
static char peek_char(const berth_hcl_lexer *lexer, size_t ahead)
{
    if (lexer->offset + ahead >= lexer->limit)
        return '\0';
    return lexer->src[lexer->offset + ahead];
}

static void advance(berth_hcl_lexer *lexer, size_t count)
{
    for (size_t i = 0; i < count && lexer->offset < lexer->limit; i++) {
        if (lexer->src[lexer->offset] == '\n') {
            lexer->line++;
            lexer->column = 1;
        } else {
            lexer->column++;
        }
        lexer->offset++;
    }
}

static bool is_ident_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_ident_char(char c)
{
    return is_ident_start(c) || (c >= '0' && c <= '9') || c == '-';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Skips spaces, tabs, carriage returns and comments, but not newlines: a
 * line comment stops before its newline so the newline still separates
 * items. */
static int skip_space(berth_hcl_lexer *lexer, berth_error *err)
{
    for (;;) {
        char c = peek_char(lexer, 0);
        if (c == ' ' || c == '\t' || c == '\r') {
            advance(lexer, 1);
        } else if (c == '#' || (c == '/' && peek_char(lexer, 1) == '/')) {
            while (lexer->offset < lexer->limit && lexer->src[lexer->offset] != '\n')
                advance(lexer, 1);
        } else if (c == '/' && peek_char(lexer, 1) == '*') {
            berth_hcl_pos start = berth_hcl_lexer_pos(lexer);
            advance(lexer, 2);
            for (;;) {
                if (lexer->offset >= lexer->limit)
                    return berth_hcl_error_at(err, start,
                                              "unterminated comment: \"/*\" has no closing \"*/\"");
                if (peek_char(lexer, 0) == '*' && peek_char(lexer, 1) == '/') {
                    advance(lexer, 2);
                    break;
                }
                advance(lexer, 1);
            }
        } else {
            return 0;
        }
    }
}

static void lex_number(berth_hcl_lexer *lexer, berth_hcl_token *token)
{
    size_t length = 0;
    while (is_digit(peek_char(lexer, length)))
        length++;
    if (peek_char(lexer, length) == '.' && is_digit(peek_char(lexer, length + 1))) {
        length++;
        while (is_digit(peek_char(lexer, length)))
            length++;
    }
    char e = peek_char(lexer, length);
    if (e == 'e' || e == 'E') {
        size_t exponent = length + 1;
        char sign = peek_char(lexer, exponent);
        if (sign == '+' || sign == '-')
            exponent++;
        if (is_digit(peek_char(lexer, exponent))) {
            length = exponent;
            while (is_digit(peek_char(lexer, length)))
                length++;
        }
    }
    token->kind = BERTH_HCL_TOKEN_NUMBER;
    token->length = length;
    advance(lexer, length);
}

/* Finds the end of the line starting at offset (the newline's offset, or
 * the limit). */
static size_t line_end(const berth_hcl_lexer *lexer, size_t offset)
{
    while (offset < lexer->limit && lexer->src[offset] != '\n')
        offset++;
    return offset;
}

/* Measures leading spaces and tabs of the line at offset. */
static size_t leading_space(const berth_hcl_lexer *lexer, size_t offset, size_t end)
{
    size_t count = 0;
    while (offset + count < end &&
           (lexer->src[offset + count] == ' ' || lexer->src[offset + count] == '\t'))
        count++;
    return count;
}

/* Reads "<<MARKER" or "<<-MARKER" through the closing marker line. The
 * content is every line in between, each with its newline; the closing
 * marker may be indented. */
static int lex_heredoc(berth_hcl_lexer *lexer, berth_hcl_token *token, berth_error *err)
{
    bool indented = peek_char(lexer, 2) == '-';
    size_t marker_start = lexer->offset + (indented ? 3 : 2);
    size_t marker_end = marker_start;
    if (marker_end < lexer->limit && is_ident_start(lexer->src[marker_end])) {
        while (marker_end < lexer->limit && is_ident_char(lexer->src[marker_end]))
            marker_end++;
    }
    if (marker_end == marker_start)
        return berth_hcl_error_at(err, token->pos,
                                  "expected a heredoc marker such as EOF after \"%s\"",
                                  indented ? "<<-" : "<<");
    size_t after_marker = marker_end;
    if (after_marker < lexer->limit && lexer->src[after_marker] == '\r')
        after_marker++;
    if (after_marker >= lexer->limit || lexer->src[after_marker] != '\n')
        return berth_hcl_error_at(err, token->pos,
                                  "expected a newline after the heredoc marker \"%.*s\"",
                                  (int)(marker_end - marker_start), lexer->src + marker_start);
    const char *marker = lexer->src + marker_start;
    size_t marker_length = marker_end - marker_start;

    size_t content = after_marker + 1;
    int content_line = token->pos.line + 1;
    size_t strip = SIZE_MAX;
    for (size_t line = content; line < lexer->limit;) {
        size_t end = line_end(lexer, line);
        size_t text_end = end;
        if (text_end > line && lexer->src[text_end - 1] == '\r')
            text_end--;
        size_t indent = leading_space(lexer, line, text_end);
        if (text_end - line - indent == marker_length &&
            memcmp(lexer->src + line + indent, marker, marker_length) == 0) {
            token->kind = BERTH_HCL_TOKEN_HEREDOC;
            token->content_offset = content;
            token->content_end = line;
            token->content_line = content_line;
            token->strip = indented && strip != SIZE_MAX ? strip : 0;
            advance(lexer, line + indent + marker_length - lexer->offset);
            token->length = lexer->offset - (size_t)(token->text - lexer->src);
            return 0;
        }
        /* Blank lines do not count toward the common indentation. */
        if (indent < text_end - line && indent < strip)
            strip = indent;
        line = end + 1;
    }
    return berth_hcl_error_at(err, token->pos,
                              "unterminated heredoc: no closing line \"%.*s\" before end of file",
                              (int)marker_length, marker);
}

typedef struct punctuation {
    const char *text;
    berth_hcl_token_kind kind;
} punctuation;

/* Longer operators first so that "==" wins over "=". */
static const punctuation punctuations[] = {
    {"...", BERTH_HCL_TOKEN_ELLIPSIS}, {"==", BERTH_HCL_TOKEN_EQ},
    {"!=", BERTH_HCL_TOKEN_NE},        {"<=", BERTH_HCL_TOKEN_LE},
    {">=", BERTH_HCL_TOKEN_GE},        {"&&", BERTH_HCL_TOKEN_AND},
    {"||", BERTH_HCL_TOKEN_OR},        {"=>", BERTH_HCL_TOKEN_ARROW},
    {"{", BERTH_HCL_TOKEN_LBRACE},     {"}", BERTH_HCL_TOKEN_RBRACE},
    {"[", BERTH_HCL_TOKEN_LBRACKET},   {"]", BERTH_HCL_TOKEN_RBRACKET},
    {"(", BERTH_HCL_TOKEN_LPAREN},     {")", BERTH_HCL_TOKEN_RPAREN},
    {",", BERTH_HCL_TOKEN_COMMA},      {"=", BERTH_HCL_TOKEN_ASSIGN},
    {":", BERTH_HCL_TOKEN_COLON},      {".", BERTH_HCL_TOKEN_DOT},
    {"?", BERTH_HCL_TOKEN_QUESTION},   {"!", BERTH_HCL_TOKEN_BANG},
    {"+", BERTH_HCL_TOKEN_PLUS},       {"-", BERTH_HCL_TOKEN_MINUS},
    {"*", BERTH_HCL_TOKEN_STAR},       {"/", BERTH_HCL_TOKEN_SLASH},
    {"%", BERTH_HCL_TOKEN_PERCENT},    {"<", BERTH_HCL_TOKEN_LT},
    {">", BERTH_HCL_TOKEN_GT},
};

int berth_hcl_lex_next(berth_hcl_lexer *lexer, berth_hcl_token *token, berth_error *err)
{
    if (skip_space(lexer, err) < 0)
        return -1;
    memset(token, 0, sizeof(*token));
    token->pos = berth_hcl_lexer_pos(lexer);
    token->text = lexer->src + lexer->offset;
    if (lexer->offset >= lexer->limit) {
        token->kind = BERTH_HCL_TOKEN_EOF;
        return 0;
    }
    char c = peek_char(lexer, 0);
    if (c == '\n') {
        token->kind = BERTH_HCL_TOKEN_NEWLINE;
        token->length = 1;
        advance(lexer, 1);
        return 0;
    }
    if (is_ident_start(c)) {
        size_t length = 1;
        while (is_ident_char(peek_char(lexer, length)))
            length++;
        token->kind = BERTH_HCL_TOKEN_IDENT;
        token->length = length;
        advance(lexer, length);
        return 0;
    }
    if (is_digit(c)) {
        lex_number(lexer, token);
        return 0;
    }
    if (c == '"') {
        token->kind = BERTH_HCL_TOKEN_QUOTE;
        token->length = 1;
        advance(lexer, 1);
        return 0;
    }
    if (c == '<' && peek_char(lexer, 1) == '<')
        return lex_heredoc(lexer, token, err);
    for (size_t i = 0; i < sizeof(punctuations) / sizeof(punctuations[0]); i++) {
        const char *text = punctuations[i].text;
        size_t length = strlen(text);
        size_t matched = 0;
        while (matched < length && peek_char(lexer, matched) == text[matched])
            matched++;
        if (matched == length) {
            token->kind = punctuations[i].kind;
            token->length = length;
            advance(lexer, length);
            return 0;
        }
    }
    unsigned char byte = (unsigned char)c;
    if (byte >= 0x20 && byte < 0x7f)
        return berth_hcl_error_at(err, token->pos, "unexpected character \"%c\"", c);
    return berth_hcl_error_at(err, token->pos, "unexpected character (byte 0x%02x)", byte);
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static size_t encode_utf8(uint32_t code_point, char out[4])
{
    if (code_point < 0x80) {
        out[0] = (char)code_point;
        return 1;
    }
    if (code_point < 0x800) {
        out[0] = (char)(0xc0 | (code_point >> 6));
        out[1] = (char)(0x80 | (code_point & 0x3f));
        return 2;
    }
    if (code_point < 0x10000) {
        out[0] = (char)(0xe0 | (code_point >> 12));
        out[1] = (char)(0x80 | ((code_point >> 6) & 0x3f));
        out[2] = (char)(0x80 | (code_point & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (code_point >> 18));
    out[1] = (char)(0x80 | ((code_point >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((code_point >> 6) & 0x3f));
    out[3] = (char)(0x80 | (code_point & 0x3f));
    return 4;
}

/* Decodes the escape at the cursor (a backslash) into out; returns its
 * length, or -1 with a positioned error. */
static int decode_escape(berth_hcl_lexer *lexer, char out[4], size_t *out_length,
                         berth_error *err)
{
    berth_hcl_pos pos = berth_hcl_lexer_pos(lexer);
    char kind = peek_char(lexer, 1);
    switch (kind) {
    case 'n': out[0] = '\n'; break;
    case 'r': out[0] = '\r'; break;
    case 't': out[0] = '\t'; break;
    case '"': out[0] = '"'; break;
    case '\\': out[0] = '\\'; break;
    case 'u':
    case 'U': {
        size_t digits = kind == 'u' ? 4 : 8;
        uint32_t code_point = 0;
        for (size_t i = 0; i < digits; i++) {
            int value = hex_value(peek_char(lexer, 2 + i));
            if (value < 0)
                return berth_hcl_error_at(err, pos,
                                          "invalid escape sequence: \"\\%c\" needs %zu hex digits",
                                          kind, digits);
            code_point = (code_point << 4) | (uint32_t)value;
        }
        if (code_point == 0)
            return berth_hcl_error_at(err, pos, "invalid escape sequence: NUL (U+0000) is not "
                                                "allowed in strings");
        if (code_point > 0x10ffff || (code_point >= 0xd800 && code_point <= 0xdfff))
            return berth_hcl_error_at(err, pos,
                                      "invalid escape sequence: U+%04X is not a Unicode scalar "
                                      "value",
                                      code_point);
        *out_length = encode_utf8(code_point, out);
        return (int)(2 + digits);
    }
    default:
        if (kind == '\0' || kind == '\n')
            return berth_hcl_error_at(err, pos, "invalid escape sequence: \"\\\" at end of line");
        return berth_hcl_error_at(err, pos,
                                  "invalid escape sequence \"\\%c\"; valid escapes are \\n \\r "
                                  "\\t \\\" \\\\ \\uXXXX \\UXXXXXXXX",
                                  kind);
    }
    *out_length = 1;
    return 2;
}

int berth_hcl_lex_template_text(berth_hcl_lexer *lexer, bool heredoc, size_t strip,
                                berth_hcl_pos start, berth_buf *text, berth_buf *source,
                                berth_hcl_text_end *end, bool *escaped_dollar,
                                berth_error *err)
{
    bool at_line_start = heredoc && lexer->column == 1;
    for (;;) {
        if (at_line_start) {
            size_t skipped = 0;
            while (skipped < strip && (peek_char(lexer, 0) == ' ' || peek_char(lexer, 0) == '\t')) {
                advance(lexer, 1);
                skipped++;
            }
            at_line_start = false;
        }
        if (lexer->offset >= lexer->limit) {
            if (heredoc) {
                *end = BERTH_HCL_TEXT_END;
                return 0;
            }
            return berth_hcl_error_at(err, start, "unterminated string: no closing quote before "
                                                  "end of file");
        }
        char c = peek_char(lexer, 0);
        char next = peek_char(lexer, 1);
        char piece[4];
        size_t piece_length = 1;
        size_t consumed = 1;
        const char *source_piece = NULL; /* when the source keeps other text than `piece` */
        piece[0] = c;

        if (!heredoc && c == '"') {
            advance(lexer, 1);
            *end = BERTH_HCL_TEXT_END;
            return 0;
        }
        if (!heredoc && c == '\n')
            return berth_hcl_error_at(err, start,
                                      "unterminated string: no closing quote on this line");
        if (c == '$' && next == '{') {
            advance(lexer, 2);
            *end = BERTH_HCL_TEXT_INTERPOLATION;
            return 0;
        }
        if (c == '%' && next == '{')
            return berth_hcl_error_at(err, berth_hcl_lexer_pos(lexer),
                                      "template directives (\"%%{ ... }\") are not supported; "
                                      "write \"%%%%{\" for a literal \"%%{\"");
        if (c == '$' && next == '$' && peek_char(lexer, 2) == '{') {
            memcpy(piece, "${", 2);
            piece_length = 2;
            consumed = 3;
            source_piece = "$${";
            *escaped_dollar = true;
        } else if (c == '%' && next == '%' && peek_char(lexer, 2) == '{') {
            memcpy(piece, "%{", 2);
            piece_length = 2;
            consumed = 3;
        } else if (!heredoc && c == '\\') {
            int length = decode_escape(lexer, piece, &piece_length, err);
            if (length < 0)
                return -1;
            consumed = (size_t)length;
        } else if (heredoc && c == '\n') {
            at_line_start = true;
        }
        if (berth_buf_append(text, piece, piece_length, err) < 0)
            return berth_hcl_error_at(err, start, "string is longer than %u bytes",
                                      BERTH_HCL_MAX_STRING);
        int appended = source_piece != NULL ? berth_buf_append_str(source, source_piece, err)
                                            : berth_buf_append(source, piece, piece_length, err);
        if (appended < 0)
            return berth_hcl_error_at(err, start, "string is longer than %u bytes",
                                      BERTH_HCL_MAX_STRING);
        advance(lexer, consumed);
    }
}

void berth_hcl_describe_token(const berth_hcl_token *token, char *out, size_t out_size)
{
    switch (token->kind) {
    case BERTH_HCL_TOKEN_EOF:
        snprintf(out, out_size, "end of file");
        return;
    case BERTH_HCL_TOKEN_NEWLINE:
        snprintf(out, out_size, "newline");
        return;
    case BERTH_HCL_TOKEN_QUOTE:
        snprintf(out, out_size, "a quoted string");
        return;
    case BERTH_HCL_TOKEN_HEREDOC:
        snprintf(out, out_size, "a heredoc");
        return;
    default:
        break;
    }
    int length = token->length > 40 ? 40 : (int)token->length;
    snprintf(out, out_size, "\"%.*s%s\"", length, token->text, token->length > 40 ? "..." : "");
}
