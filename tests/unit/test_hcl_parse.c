/* Parser tests: syntax of both HCL dialects, escapes, heredocs, comments,
 * and exact positioned error messages. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hcl/hcl.h"

static berth_hcl_file *parse_ok(const char *src)
{
    berth_error err = BERTH_ERROR_INIT;
    berth_hcl_file *file = NULL;
    int result = berth_hcl_parse("job.hcl", src, strlen(src), &file, &err);
    if (result != 0)
        fail_msg("unexpected parse error: %s", err.message);
    assert_non_null(file);
    return file;
}

/* Parses src, expects failure, and compares the whole message. */
static void assert_parse_error(const char *src, const char *expected)
{
    berth_error err = BERTH_ERROR_INIT;
    berth_hcl_file *file = NULL;
    int result = berth_hcl_parse("job.hcl", src, strlen(src), &file, &err);
    assert_int_equal(result, -1);
    assert_null(file);
    assert_int_equal(err.code, BERTH_E_INVALID);
    assert_string_equal(err.message, expected);
}

static const berth_hcl_attribute *attribute_at(const berth_hcl_body *body, size_t index)
{
    assert_true(index < body->length);
    assert_false(body->items[index].is_block);
    return &body->items[index].as.attribute;
}

static const berth_hcl_block *block_at(const berth_hcl_body *body, size_t index)
{
    assert_true(index < body->length);
    assert_true(body->items[index].is_block);
    return &body->items[index].as.block;
}

/* Parses `x = EXPR` and returns the file. *expr is set to the parsed
 * expression. */
static berth_hcl_file *parse_expr(const char *expr_text, const berth_hcl_expr **expr)
{
    char src[1024];
    snprintf(src, sizeof(src), "x = %s\n", expr_text);
    berth_hcl_file *file = parse_ok(src);
    *expr = attribute_at(file->body, 0)->expr;
    return file;
}

static const char *literal_string(const berth_hcl_expr *expr)
{
    assert_int_equal(expr->kind, BERTH_HCL_LITERAL);
    assert_int_equal(expr->as.literal->kind, BERTH_VALUE_STRING);
    return expr->as.literal->as.string;
}

static void test_spec_hcl1_task(void **state)
{
    (void)state;
    berth_hcl_file *file = parse_ok("task \"webservice\" {\n"
                                    "  driver = \"docker\"\n"
                                    "  config = {\n"
                                    "    image = \"redis\"\n"
                                    "    labels = {\n"
                                    "      group = \"webservice-cache\"\n"
                                    "    }\n"
                                    "  }\n"
                                    "}\n");
    const berth_hcl_block *task = block_at(file->body, 0);
    assert_string_equal(task->type, "task");
    assert_int_equal(task->label_count, 1);
    assert_string_equal(task->labels[0], "webservice");
    assert_int_equal(task->pos.line, 1);
    assert_int_equal(task->pos.column, 1);
    const berth_hcl_attribute *config = attribute_at(task->body, 1);
    assert_string_equal(config->name, "config");
    assert_int_equal(config->expr->kind, BERTH_HCL_OBJECT);
    assert_int_equal(config->expr->as.object.length, 2);
    assert_string_equal(literal_string(config->expr->as.object.items[0].key), "image");
    assert_string_equal(literal_string(config->expr->as.object.items[0].value), "redis");
    assert_int_equal(config->expr->as.object.items[1].value->kind, BERTH_HCL_OBJECT);
    berth_hcl_file_free(file);
}

static void test_spec_hcl2_blocks(void **state)
{
    (void)state;
    berth_hcl_file *file = parse_ok("task \"secretservice\" {\n"
                                    "  driver = \"docker\"\n"
                                    "  config {\n"
                                    "    image = \"secret/service\"\n"
                                    "    auth {\n"
                                    "      username = \"dockerhub_user\"\n"
                                    "      password = \"dockerhub_password\"\n"
                                    "    }\n"
                                    "  }\n"
                                    "}\n");
    const berth_hcl_block *task = block_at(file->body, 0);
    const berth_hcl_block *config = block_at(task->body, 1);
    assert_string_equal(config->type, "config");
    assert_int_equal(config->label_count, 0);
    assert_int_equal(config->pos.line, 3);
    assert_int_equal(config->pos.column, 3);
    const berth_hcl_block *auth = block_at(config->body, 1);
    assert_string_equal(auth->type, "auth");
    assert_string_equal(attribute_at(auth->body, 1)->name, "password");
    berth_hcl_file_free(file);
}

static void test_spec_port_blocks(void **state)
{
    (void)state;
    berth_hcl_file *file = parse_ok("task \"redis\" {\n"
                                    "  driver = \"docker\"\n"
                                    "  resources {\n"
                                    "    network {\n"
                                    "      mbits = 20\n"
                                    "      port \"redis\" {}\n"
                                    "    }\n"
                                    "  }\n"
                                    "  config {\n"
                                    "    image = \"redis\"\n"
                                    "    port_map {\n"
                                    "      redis = 6379\n"
                                    "    }\n"
                                    "  }\n"
                                    "}\n");
    const berth_hcl_block *task = block_at(file->body, 0);
    const berth_hcl_block *network = block_at(block_at(task->body, 1)->body, 0);
    const berth_hcl_block *port = block_at(network->body, 1);
    assert_string_equal(port->type, "port");
    assert_string_equal(port->labels[0], "redis");
    assert_int_equal(port->body->length, 0);
    const berth_hcl_attribute *mbits = attribute_at(network->body, 0);
    assert_int_equal(mbits->expr->as.literal->kind, BERTH_VALUE_NUMBER);
    assert_true(mbits->expr->as.literal->as.number.is_integer);
    assert_int_equal(mbits->expr->as.literal->as.number.integer, 20);
    berth_hcl_file_free(file);
}

static void test_spec_args_templates(void **state)
{
    (void)state;
    const berth_hcl_expr *expr;
    berth_hcl_file *file =
        parse_expr("[\"${nomad.datacenter}\", \"${MY_ENV}\", \"${meta.foo}\"]", &expr);
    assert_int_equal(expr->kind, BERTH_HCL_TUPLE);
    assert_int_equal(expr->as.tuple.length, 3);
    const berth_hcl_expr *first = expr->as.tuple.items[0];
    assert_int_equal(first->kind, BERTH_HCL_TEMPLATE);
    assert_string_equal(first->as.template_.source, "${nomad.datacenter}");
    assert_int_equal(first->as.template_.length, 1);
    assert_true(first->as.template_.parts[0].is_interpolation);
    const berth_hcl_expr *get = first->as.template_.parts[0].expr;
    assert_int_equal(get->kind, BERTH_HCL_GET_ATTR);
    assert_string_equal(get->as.get_attr.name, "datacenter");
    assert_int_equal(get->as.get_attr.source->kind, BERTH_HCL_VARIABLE);
    assert_string_equal(get->as.get_attr.source->as.variable, "nomad");
    assert_int_equal(expr->as.tuple.items[1]->as.template_.parts[0].expr->kind,
                     BERTH_HCL_VARIABLE);
    berth_hcl_file_free(file);
}

static void test_quoted_keys_in_object(void **state)
{
    (void)state;
    berth_hcl_file *file =
        parse_ok("client {\n  options = {\n    \"docker.cleanup.image\" = \"false\"\n  }\n}\n");
    const berth_hcl_attribute *options = attribute_at(block_at(file->body, 0)->body, 0);
    assert_int_equal(options->expr->kind, BERTH_HCL_OBJECT);
    assert_string_equal(literal_string(options->expr->as.object.items[0].key),
                        "docker.cleanup.image");
    assert_string_equal(literal_string(options->expr->as.object.items[0].value), "false");
    berth_hcl_file_free(file);
}

static void test_object_separators(void **state)
{
    (void)state;
    const berth_hcl_expr *expr;
    berth_hcl_file *file = parse_expr("{ a = 1, \"b\": 2\n c = 3, }", &expr);
    assert_int_equal(expr->kind, BERTH_HCL_OBJECT);
    assert_int_equal(expr->as.object.length, 3);
    assert_string_equal(literal_string(expr->as.object.items[1].key), "b");
    assert_string_equal(literal_string(expr->as.object.items[2].key), "c");
    berth_hcl_file_free(file);
}

static void test_hcl1_block_in_object(void **state)
{
    (void)state;
    const berth_hcl_expr *expr;
    berth_hcl_file *file = parse_expr("{\n port_map { http = 80 }\n a \"b\" \"c\" { d = 1 }\n}",
                                      &expr);
    assert_int_equal(expr->as.object.length, 2);
    assert_string_equal(literal_string(expr->as.object.items[0].key), "port_map");
    const berth_hcl_expr *port_map = expr->as.object.items[0].value;
    assert_int_equal(port_map->kind, BERTH_HCL_OBJECT);
    assert_string_equal(literal_string(port_map->as.object.items[0].key), "http");
    const berth_hcl_expr *a = expr->as.object.items[1].value;
    assert_int_equal(a->kind, BERTH_HCL_OBJECT);
    assert_string_equal(literal_string(a->as.object.items[0].key), "b");
    const berth_hcl_expr *b = a->as.object.items[0].value;
    assert_string_equal(literal_string(b->as.object.items[0].key), "c");
    const berth_hcl_expr *c = b->as.object.items[0].value;
    assert_string_equal(literal_string(c->as.object.items[0].key), "d");
    berth_hcl_file_free(file);
}

static void test_tuple_trailing_comma(void **state)
{
    (void)state;
    const berth_hcl_expr *expr;
    berth_hcl_file *file = parse_expr("[\n 1,\n 2,\n]", &expr);
    assert_int_equal(expr->kind, BERTH_HCL_TUPLE);
    assert_int_equal(expr->as.tuple.length, 2);
    berth_hcl_file_free(file);
}

static void test_numbers(void **state)
{
    (void)state;
    berth_hcl_file *file = parse_ok("a = 42\nb = 1.5\nc = 2e3\nd = 99999999999999999999\n"
                                    "e = 9223372036854775807\n");
    const berth_value *a = attribute_at(file->body, 0)->expr->as.literal;
    assert_true(a->as.number.is_integer);
    assert_int_equal(a->as.number.integer, 42);
    const berth_value *b = attribute_at(file->body, 1)->expr->as.literal;
    assert_false(b->as.number.is_integer);
    assert_true(b->as.number.number == 1.5);
    const berth_value *c = attribute_at(file->body, 2)->expr->as.literal;
    assert_true(c->as.number.number == 2000.0);
    const berth_value *d = attribute_at(file->body, 3)->expr->as.literal;
    assert_false(d->as.number.is_integer);
    assert_true(d->as.number.number > 9.9e19);
    const berth_value *e = attribute_at(file->body, 4)->expr->as.literal;
    assert_true(e->as.number.is_integer);
    assert_true(e->as.number.integer == INT64_MAX);
    berth_hcl_file_free(file);
}

static void test_string_escapes(void **state)
{
    (void)state;
    const berth_hcl_expr *expr;
    berth_hcl_file *file = parse_expr("\"a\\nb\\tc\\r\\\"q\\\" \\\\ \\u00e9 \\U0001F600\"", &expr);
    assert_string_equal(literal_string(expr),
                        "a\nb\tc\r\"q\" \\ \xc3\xa9 \xf0\x9f\x98\x80");
    berth_hcl_file_free(file);
}

static void test_escaped_template_markers(void **state)
{
    (void)state;
    const berth_hcl_expr *expr;
    berth_hcl_file *file = parse_expr("\"a$${b} %%{c}\"", &expr);
    assert_int_equal(expr->kind, BERTH_HCL_TEMPLATE);
    assert_int_equal(expr->as.template_.length, 1);
    assert_string_equal(expr->as.template_.parts[0].text, "a${b} %{c}");
    assert_string_equal(expr->as.template_.source, "a$${b} %{c}");
    berth_hcl_file_free(file);

    file = parse_expr("\"100%%{\"", &expr);
    assert_string_equal(literal_string(expr), "100%{");
    berth_hcl_file_free(file);
}

static void test_template_parts(void **state)
{
    (void)state;
    const berth_hcl_expr *expr;
    berth_hcl_file *file = parse_expr("\"x-${ lower(\"A}\") }-y\"", &expr);
    assert_int_equal(expr->kind, BERTH_HCL_TEMPLATE);
    assert_int_equal(expr->as.template_.length, 3);
    assert_string_equal(expr->as.template_.parts[0].text, "x-");
    assert_true(expr->as.template_.parts[1].is_interpolation);
    assert_int_equal(expr->as.template_.parts[1].expr->kind, BERTH_HCL_CALL);
    assert_string_equal(expr->as.template_.parts[2].text, "-y");
    assert_string_equal(expr->as.template_.source, "x-${ lower(\"A}\") }-y");
    berth_hcl_file_free(file);
}

static void test_heredoc_plain(void **state)
{
    (void)state;
    berth_hcl_file *file = parse_ok("data = <<EOF\n  line one\nline ${two}\nEOF\nnext = 1\n");
    const berth_hcl_expr *expr = attribute_at(file->body, 0)->expr;
    assert_int_equal(expr->kind, BERTH_HCL_TEMPLATE);
    assert_string_equal(expr->as.template_.source, "  line one\nline ${two}\n");
    assert_string_equal(attribute_at(file->body, 1)->name, "next");
    assert_int_equal(attribute_at(file->body, 1)->pos.line, 5);
    berth_hcl_file_free(file);
}

static void test_heredoc_indented(void **state)
{
    (void)state;
    berth_hcl_file *file = parse_ok("x {\n  data = <<-EOT\n    a\n      b\n\n    c \\n\n    EOT\n}\n");
    const berth_hcl_expr *expr = attribute_at(block_at(file->body, 0)->body, 0)->expr;
    assert_string_equal(literal_string(expr), "a\n  b\n\nc \\n\n");
    berth_hcl_file_free(file);
}

static void test_comments(void **state)
{
    (void)state;
    berth_hcl_file *file = parse_ok("# hash\n// slashes\n/* block\n comment */ a = 1 # end\n"
                                    "b = /* inline */ 2\n");
    assert_int_equal(file->body->length, 2);
    assert_string_equal(attribute_at(file->body, 0)->name, "a");
    assert_int_equal(attribute_at(file->body, 0)->pos.line, 4);
    assert_int_equal(attribute_at(file->body, 1)->expr->as.literal->as.number.integer, 2);
    berth_hcl_file_free(file);
}

static void test_expression_precedence(void **state)
{
    (void)state;
    const berth_hcl_expr *expr;
    berth_hcl_file *file = parse_expr("a || b && c == d + e * f", &expr);
    assert_int_equal(expr->kind, BERTH_HCL_BINARY);
    assert_int_equal(expr->as.binary.op, BERTH_HCL_OP_OR);
    const berth_hcl_expr *and_expr = expr->as.binary.right;
    assert_int_equal(and_expr->as.binary.op, BERTH_HCL_OP_AND);
    const berth_hcl_expr *eq = and_expr->as.binary.right;
    assert_int_equal(eq->as.binary.op, BERTH_HCL_OP_EQ);
    const berth_hcl_expr *add = eq->as.binary.right;
    assert_int_equal(add->as.binary.op, BERTH_HCL_OP_ADD);
    assert_int_equal(add->as.binary.right->as.binary.op, BERTH_HCL_OP_MUL);
    berth_hcl_file_free(file);

    file = parse_expr("1 - 2 - 3", &expr);
    assert_int_equal(expr->as.binary.op, BERTH_HCL_OP_SUB);
    assert_int_equal(expr->as.binary.left->kind, BERTH_HCL_BINARY);
    assert_int_equal(expr->as.binary.right->kind, BERTH_HCL_LITERAL);
    berth_hcl_file_free(file);
}

static void test_traversals_and_calls(void **state)
{
    (void)state;
    const berth_hcl_expr *expr;
    berth_hcl_file *file = parse_expr("attr[\"kernel.name\"]", &expr);
    assert_int_equal(expr->kind, BERTH_HCL_INDEX);
    assert_string_equal(literal_string(expr->as.index.key), "kernel.name");
    berth_hcl_file_free(file);

    file = parse_expr("node.unique.name", &expr);
    assert_int_equal(expr->kind, BERTH_HCL_GET_ATTR);
    assert_string_equal(expr->as.get_attr.name, "name");
    assert_string_equal(expr->as.get_attr.source->as.get_attr.name, "unique");
    berth_hcl_file_free(file);

    file = parse_expr("concat(a, [1],\n b...)", &expr);
    assert_int_equal(expr->kind, BERTH_HCL_CALL);
    assert_string_equal(expr->as.call.name, "concat");
    assert_int_equal(expr->as.call.length, 3);
    assert_true(expr->as.call.expand_final);
    berth_hcl_file_free(file);

    file = parse_expr("c ? -x : !(y)", &expr);
    assert_int_equal(expr->kind, BERTH_HCL_CONDITIONAL);
    assert_int_equal(expr->as.conditional.when_true->kind, BERTH_HCL_UNARY);
    assert_int_equal(expr->as.conditional.when_true->as.unary.op, BERTH_HCL_OP_NEGATE);
    assert_int_equal(expr->as.conditional.when_false->as.unary.operand->kind, BERTH_HCL_PARENS);
    berth_hcl_file_free(file);
}

static void test_error_expected_assign(void **state)
{
    (void)state;
    assert_parse_error("config {\n  image }\n",
                       "job.hcl:2:9: expected \"=\" or \"{\" after \"image\", found \"}\"");
    assert_parse_error("job \"x\" {\n  config {\n    image = \"redis\"\n    ports }\n  }\n}\n",
                       "job.hcl:4:11: expected \"=\" or \"{\" after \"ports\", found \"}\"");
}

static void test_error_duplicate_attribute(void **state)
{
    (void)state;
    assert_parse_error("a = 1\nb = 2\n  a = 3\n", "job.hcl:3:3: attribute \"a\" was already set at 1:1");
}

static void test_error_unterminated(void **state)
{
    (void)state;
    assert_parse_error("a = \"abc\nb = 1\n",
                       "job.hcl:1:5: unterminated string: no closing quote on this line");
    assert_parse_error("a = \"abc",
                       "job.hcl:1:5: unterminated string: no closing quote before end of file");
    assert_parse_error("x {\n  a = <<EOF\nhello\n",
                       "job.hcl:2:7: unterminated heredoc: no closing line \"EOF\" before end of "
                       "file");
    assert_parse_error("job \"x\" {\n  group \"g\" {\n    count = 1\n",
                       "job.hcl:2:13: unclosed \"{\": reached end of file while looking for \"}\"");
    assert_parse_error("a = 1\n/* open\n",
                       "job.hcl:2:1: unterminated comment: \"/*\" has no closing \"*/\"");
    assert_parse_error("a = [1, 2\n", "job.hcl:1:5: unclosed \"[\": reached end of file while "
                                      "looking for \",\" or \"]\"");
    assert_parse_error("a = \"${b\"\n",
                       "job.hcl:1:9: expected \"}\" to close \"${\" at 1:6, found a quoted string");
}

static void test_error_bad_escape(void **state)
{
    (void)state;
    assert_parse_error("a = \"x\\qy\"\n",
                       "job.hcl:1:7: invalid escape sequence \"\\q\"; valid escapes are \\n \\r "
                       "\\t \\\" \\\\ \\uXXXX \\UXXXXXXXX");
    assert_parse_error("a = \"\\u12\"\n",
                       "job.hcl:1:6: invalid escape sequence: \"\\u\" needs 4 hex digits");
    assert_parse_error("a = \"\\uD800\"\n",
                       "job.hcl:1:6: invalid escape sequence: U+D800 is not a Unicode scalar value");
}

static void test_error_not_supported(void **state)
{
    (void)state;
    assert_parse_error("a = \"%{ if x }y%{ endif }\"\n",
                       "job.hcl:1:6: template directives (\"%{ ... }\") are not supported; write "
                       "\"%%{\" for a literal \"%{\"");
    assert_parse_error("a = [for x in y : x]\n", "job.hcl:1:6: for expressions are not supported");
    assert_parse_error("a = {for k, v in y : k => v}\n",
                       "job.hcl:1:6: for expressions are not supported");
    assert_parse_error("a = b[*].c\n", "job.hcl:1:6: splat expressions (\"[*]\") are not supported");
    assert_parse_error("a = b.*.c\n", "job.hcl:1:6: splat expressions (\".*\") are not supported");
}

static void test_error_misc(void **state)
{
    (void)state;
    assert_parse_error("a = \n", "job.hcl:1:5: expected an expression, found newline");
    assert_parse_error("a = 1 2\n", "job.hcl:1:7: expected a newline after the value of \"a\", "
                                    "found \"2\"");
    assert_parse_error("= 1\n", "job.hcl:1:1: expected an attribute name or block type, found \"=\"");
    assert_parse_error("a = 1 ~\n", "job.hcl:1:7: unexpected character \"~\"");
    assert_parse_error("a = { b c }\n", "job.hcl:1:11: expected a block label or \"{\", found \"}\"");
    assert_parse_error("a = { b = 1 c = 2 }\n",
                       "job.hcl:1:13: expected \",\", a newline or \"}\" after an object item, "
                       "found \"c\"");
    assert_parse_error("a = \"x\"\n}\n",
                       "job.hcl:2:1: expected an attribute name or block type, found \"}\"");
}

static void test_error_encoding(void **state)
{
    (void)state;
    berth_error err = BERTH_ERROR_INIT;
    berth_hcl_file *file = NULL;
    const char with_nul[] = "a = \"x\0y\"\n";
    assert_int_equal(berth_hcl_parse("job.hcl", with_nul, sizeof(with_nul) - 1, &file, &err), -1);
    assert_string_equal(err.message, "job.hcl:1:7: NUL byte in input; HCL files are UTF-8 text");
    assert_parse_error("a = 1\nb = \"\xff\"\n", "job.hcl:2:6: invalid UTF-8 byte 0xff");
    /* Valid UTF-8 inside strings is kept as it is. */
    berth_hcl_file *ok = parse_ok("a = \"caf\xc3\xa9\"\n");
    assert_string_equal(attribute_at(ok->body, 0)->expr->as.literal->as.string, "caf\xc3\xa9");
    berth_hcl_file_free(ok);
}

static void test_depth_limit(void **state)
{
    (void)state;
    size_t levels = BERTH_HCL_MAX_DEPTH + 10;
    size_t size = 8 + levels * 2;
    char *src = malloc(size);
    assert_non_null(src);
    size_t used = 0;
    used += (size_t)sprintf(src, "a = ");
    for (size_t i = 0; i < levels; i++)
        src[used++] = '[';
    for (size_t i = 0; i < levels; i++)
        src[used++] = ']';
    src[used] = '\0';
    berth_error err = BERTH_ERROR_INIT;
    berth_hcl_file *file = NULL;
    assert_int_equal(berth_hcl_parse("job.hcl", src, used, &file, &err), -1);
    assert_non_null(strstr(err.message, "nesting is deeper than the maximum of 128 levels"));
    assert_int_equal(err.code, BERTH_E_INVALID);
    free(src);

    /* Long operator chains nest the tree too, so they are limited as well. */
    size = 8 + 4 * 1000;
    src = malloc(size);
    assert_non_null(src);
    used = (size_t)sprintf(src, "a = 1");
    for (size_t i = 0; i < 999; i++)
        used += (size_t)sprintf(src + used, "+1");
    assert_int_equal(berth_hcl_parse("job.hcl", src, used, &file, &err), -1);
    assert_non_null(strstr(err.message, "nesting is deeper"));
    free(src);

    /* Blocks. */
    size = 16 + levels * 6;
    src = malloc(size);
    assert_non_null(src);
    used = 0;
    for (size_t i = 0; i < levels; i++)
        used += (size_t)sprintf(src + used, "b {");
    for (size_t i = 0; i < levels; i++)
        src[used++] = '}';
    src[used] = '\0';
    assert_int_equal(berth_hcl_parse("job.hcl", src, used, &file, &err), -1);
    assert_non_null(strstr(err.message, "nesting is deeper"));
    free(src);
}

static void test_depth_within_limit(void **state)
{
    (void)state;
    char src[256];
    size_t used = (size_t)sprintf(src, "a = ");
    for (int i = 0; i < 50; i++)
        src[used++] = '[';
    for (int i = 0; i < 50; i++)
        src[used++] = ']';
    src[used] = '\0';
    berth_hcl_file *file = parse_ok(src);
    assert_int_equal(attribute_at(file->body, 0)->expr->kind, BERTH_HCL_TUPLE);
    berth_hcl_file_free(file);
}

static void test_empty_input(void **state)
{
    (void)state;
    berth_error err = BERTH_ERROR_INIT;
    berth_hcl_file *file = NULL;
    assert_int_equal(berth_hcl_parse("job.hcl", NULL, 0, &file, &err), 0);
    assert_int_equal(file->body->length, 0);
    berth_hcl_file_free(file);

    file = parse_ok("\n  # only a comment\n\n");
    assert_int_equal(file->body->length, 0);
    berth_hcl_file_free(file);
}

static void test_pos_format(void **state)
{
    (void)state;
    berth_hcl_pos pos = {"jobs/web.hcl", 12, 5};
    char text[64];
    berth_hcl_pos_format(pos, text, sizeof(text));
    assert_string_equal(text, "jobs/web.hcl:12:5");
}

static void test_parse_file(void **state)
{
    (void)state;
    char path[] = "/tmp/berth-hcl-test-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *stream = fdopen(fd, "w");
    assert_non_null(stream);
    fputs("job \"web\" {\n  type = \"service\"\n}\n", stream);
    fclose(stream);
    berth_error err = BERTH_ERROR_INIT;
    berth_hcl_file *file = NULL;
    assert_int_equal(berth_hcl_parse_file(path, &file, &err), 0);
    assert_string_equal(file->filename, path);
    assert_string_equal(block_at(file->body, 0)->labels[0], "web");
    assert_string_equal(block_at(file->body, 0)->pos.filename, path);
    berth_hcl_file_free(file);
    unlink(path);

    file = NULL;
    assert_int_equal(berth_hcl_parse_file(path, &file, &err), -1);
    assert_null(file);
    assert_int_equal(err.code, BERTH_E_NOT_FOUND);
    assert_non_null(strstr(err.message, path));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_hcl1_task),
        cmocka_unit_test(test_spec_hcl2_blocks),
        cmocka_unit_test(test_spec_port_blocks),
        cmocka_unit_test(test_spec_args_templates),
        cmocka_unit_test(test_quoted_keys_in_object),
        cmocka_unit_test(test_object_separators),
        cmocka_unit_test(test_hcl1_block_in_object),
        cmocka_unit_test(test_tuple_trailing_comma),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_string_escapes),
        cmocka_unit_test(test_escaped_template_markers),
        cmocka_unit_test(test_template_parts),
        cmocka_unit_test(test_heredoc_plain),
        cmocka_unit_test(test_heredoc_indented),
        cmocka_unit_test(test_comments),
        cmocka_unit_test(test_expression_precedence),
        cmocka_unit_test(test_traversals_and_calls),
        cmocka_unit_test(test_error_expected_assign),
        cmocka_unit_test(test_error_duplicate_attribute),
        cmocka_unit_test(test_error_unterminated),
        cmocka_unit_test(test_error_bad_escape),
        cmocka_unit_test(test_error_not_supported),
        cmocka_unit_test(test_error_misc),
        cmocka_unit_test(test_error_encoding),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_depth_within_limit),
        cmocka_unit_test(test_empty_input),
        cmocka_unit_test(test_pos_format),
        cmocka_unit_test(test_parse_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
