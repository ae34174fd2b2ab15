/* Evaluator tests: expressions, templates, functions, variables through a
 * lookup, and converting bodies to values in both dialects. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "hcl/hcl.h"

/* Resolves the variables the tests use: the maps meta, node and attr, the
 * list `list`, and the string NOMAD_PORT_http. */
static berth_value *lookup(void *user_data, const char *name)
{
    int *calls = user_data;
    if (calls != NULL)
        (*calls)++;
    if (strcmp(name, "NOMAD_PORT_http") == 0)
        return berth_value_new_string("8080");
    if (strcmp(name, "meta") == 0) {
        berth_value *map = berth_value_new_map();
        berth_value_map_set(map, "foo", berth_value_new_string("bar"));
        berth_value_map_set(map, "count", berth_value_new_integer(3));
        return map;
    }
    if (strcmp(name, "node") == 0) {
        berth_value *unique = berth_value_new_map();
        berth_value_map_set(unique, "name", berth_value_new_string("worker-1"));
        berth_value *map = berth_value_new_map();
        berth_value_map_set(map, "unique", unique);
        return map;
    }
    if (strcmp(name, "attr") == 0) {
        berth_value *map = berth_value_new_map();
        berth_value_map_set(map, "kernel.name", berth_value_new_string("linux"));
        return map;
    }
    if (strcmp(name, "list") == 0) {
        berth_value *list = berth_value_new_list();
        berth_value_list_append(list, berth_value_new_string("a"));
        berth_value_list_append(list, berth_value_new_string("b"));
        return list;
    }
    return NULL;
}

static const berth_hcl_eval_context eval_ctx = {lookup, NULL, false};
static const berth_hcl_eval_context keep_ctx = {lookup, NULL, true};

/* Returns the compact JSON of value with keys in insertion order. The
 * caller frees it. */
static char *to_json(const berth_value *value)
{
    json_t *json = berth_value_to_json(value);
    assert_non_null(json);
    char *text = json_dumps(json, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(json);
    assert_non_null(text);
    return text;
}

/* Evaluates `x = expr_text` and returns 0 with *out, or -1 with err. */
static int eval_text(const char *expr_text, const berth_hcl_eval_context *ctx, berth_value **out,
                     berth_error *err)
{
    char src[2048];
    snprintf(src, sizeof(src), "x = %s\n", expr_text);
    berth_hcl_file *file = NULL;
    if (berth_hcl_parse("job.hcl", src, strlen(src), &file, err) < 0)
        fail_msg("parse error: %s", err->message);
    int result = berth_hcl_eval(file->body->items[0].as.attribute.expr, ctx, out, err);
    berth_hcl_file_free(file);
    return result;
}

/* Evaluates expr_text and compares the JSON of the result with expected. */
static void assert_eval_json(const char *expr_text, const char *expected)
{
    berth_error err = BERTH_ERROR_INIT;
    berth_value *value = NULL;
    if (eval_text(expr_text, &eval_ctx, &value, &err) < 0)
        fail_msg("eval of %s failed: %s", expr_text, err.message);
    char *json = to_json(value);
    if (strcmp(json, expected) != 0)
        fail_msg("%s evaluated to %s, expected %s", expr_text, json, expected);
    free(json);
    berth_value_free(value);
}

static void assert_eval_error(const char *expr_text, const char *expected)
{
    berth_error err = BERTH_ERROR_INIT;
    berth_value *value = NULL;
    assert_int_equal(eval_text(expr_text, &eval_ctx, &value, &err), -1);
    assert_null(value);
    assert_int_equal(err.code, BERTH_E_INVALID);
    assert_string_equal(err.message, expected);
}

/* Parses src, converts its top-level body and returns the JSON text. */
static char *body_json(const char *src, const berth_hcl_eval_context *ctx)
{
    berth_error err = BERTH_ERROR_INIT;
    berth_hcl_file *file = NULL;
    if (berth_hcl_parse("job.hcl", src, strlen(src), &file, &err) < 0)
        fail_msg("parse error: %s", err.message);
    berth_value *value = NULL;
    if (berth_hcl_body_to_value(file->body, ctx, &value, &err) < 0)
        fail_msg("body_to_value failed: %s", err.message);
    char *json = to_json(value);
    berth_value_free(value);
    berth_hcl_file_free(file);
    return json;
}

static void assert_body_error(const char *src, const char *expected)
{
    berth_error err = BERTH_ERROR_INIT;
    berth_hcl_file *file = NULL;
    assert_int_equal(berth_hcl_parse("job.hcl", src, strlen(src), &file, &err), 0);
    berth_value *value = NULL;
    assert_int_equal(berth_hcl_body_to_value(file->body, &eval_ctx, &value, &err), -1);
    assert_null(value);
    assert_string_equal(err.message, expected);
    berth_hcl_file_free(file);
}

static void test_literals(void **state)
{
    (void)state;
    assert_eval_json("null", "null");
    assert_eval_json("true", "true");
    assert_eval_json("false", "false");
    assert_eval_json("42", "42");
    assert_eval_json("1.5", "1.5");
    assert_eval_json("\"s\"", "\"s\"");
    assert_eval_json("[1, \"a\", [true]]", "[1,\"a\",[true]]");
    assert_eval_json("{ a = 1, \"b\" = { c = null } }", "{\"a\":1,\"b\":{\"c\":null}}");
}

static void test_arithmetic(void **state)
{
    (void)state;
    assert_eval_json("1 + 2 * 3", "7");
    assert_eval_json("(1 + 2) * 3", "9");
    assert_eval_json("10 - 4 - 3", "3");
    assert_eval_json("7 / 2", "3.5");
    assert_eval_json("8 / 2", "4");
    assert_eval_json("7 % 3", "1");
    assert_eval_json("-5 + 1", "-4");
    assert_eval_json("9223372036854775807 + 1", "9.2233720368547758e18");
    assert_eval_json("0.5 * 3", "1.5");
}

static void test_comparison_and_logic(void **state)
{
    (void)state;
    assert_eval_json("1 < 2", "true");
    assert_eval_json("2 <= 1", "false");
    assert_eval_json("3 > 2 && 2 >= 2", "true");
    assert_eval_json("\"a\" == \"a\"", "true");
    assert_eval_json("[1, 2] == [1, 2]", "true");
    assert_eval_json("1 == \"1\"", "false");
    assert_eval_json("1 != 2", "true");
    assert_eval_json("!true || false", "false");
    assert_eval_json("true || unknown_name", "true");
    assert_eval_json("false && unknown_name", "false");
    assert_eval_json("1 < 2 ? \"yes\" : \"no\"", "\"yes\"");
    assert_eval_json("false ? 1 : 2", "2");
}

static void test_type_errors(void **state)
{
    (void)state;
    assert_eval_error("1 + \"a\"", "job.hcl:1:9: operator \"+\" needs a number, not a string");
    assert_eval_error("!1", "job.hcl:1:6: operator \"!\" needs a bool, not a number");
    assert_eval_error("-true", "job.hcl:1:6: operator \"-\" needs a number, not a bool");
    assert_eval_error("1 ? 2 : 3", "job.hcl:1:5: the condition must be a bool, not a number");
    assert_eval_error("1 / 0", "job.hcl:1:7: division by zero");
    assert_eval_error("1 % 0", "job.hcl:1:7: modulo by zero");
    assert_eval_error("\"a${[1]}\"", "job.hcl:1:9: cannot use a list value as a string here");
    assert_eval_error("1e300 * 1e300", "job.hcl:1:11: result of \"*\" is not a finite number");
}

static void test_variables(void **state)
{
    (void)state;
    assert_eval_json("meta.foo", "\"bar\"");
    assert_eval_json("NOMAD_PORT_http", "\"8080\"");
    assert_eval_json("node.unique.name", "\"worker-1\"");
    assert_eval_json("attr[\"kernel.name\"]", "\"linux\"");
    assert_eval_json("list[1]", "\"b\"");
    assert_eval_json("meta[\"count\"] + 1", "4");
    assert_eval_error("nope", "job.hcl:1:5: unknown variable \"nope\"");
    assert_eval_error("meta.missing", "job.hcl:1:9: map has no key \"missing\"");
    assert_eval_error("list[2]", "job.hcl:1:10: list index 2 is out of range (the list has 2 "
                                 "items)");
    assert_eval_error("list[\"a\"]", "job.hcl:1:10: a list index must be a whole number, not a "
                                     "string");
    assert_eval_error("NOMAD_PORT_http.x",
                      "job.hcl:1:20: cannot read attribute \"x\" of a string value; only maps "
                      "have attributes");
}

static void test_lookup_without_callback(void **state)
{
    (void)state;
    berth_hcl_eval_context none = {NULL, NULL, false};
    berth_error err = BERTH_ERROR_INIT;
    berth_value *value = NULL;
    assert_int_equal(eval_text("meta.x", &none, &value, &err), -1);
    assert_string_equal(err.message, "job.hcl:1:5: unknown variable \"meta\"");
    int calls = 0;
    berth_hcl_eval_context counting = {lookup, &calls, false};
    assert_int_equal(eval_text("[meta.foo, NOMAD_PORT_http]", &counting, &value, &err), 0);
    assert_int_equal(calls, 2);
    berth_value_free(value);
}

static void test_templates_evaluated(void **state)
{
    (void)state;
    assert_eval_json("\"port ${NOMAD_PORT_http}!\"", "\"port 8080!\"");
    assert_eval_json("\"${meta.count} ${1.25} ${true} ${null}.\"", "\"3 1.25 true .\"");
    assert_eval_json("\"a$${b}\"", "\"a${b}\"");
    assert_eval_json("\"${\"in${\"ner\"}\"}\"", "\"inner\"");
    assert_eval_json("\"${meta.count}\"", "\"3\"");
}

static void test_templates_kept(void **state)
{
    (void)state;
    berth_error err = BERTH_ERROR_INIT;
    berth_value *value = NULL;
    assert_int_equal(eval_text("\"${NOMAD_PORT_http}\"", &keep_ctx, &value, &err), 0);
    assert_int_equal(value->kind, BERTH_VALUE_STRING);
    assert_string_equal(value->as.string, "${NOMAD_PORT_http}");
    berth_value_free(value);

    assert_int_equal(eval_text("\"a$${b} %%{c} ${ x }\"", &keep_ctx, &value, &err), 0);
    assert_string_equal(value->as.string, "a$${b} %{c} ${ x }");
    berth_value_free(value);

    /* Unknown variables inside kept templates are not looked up. */
    assert_int_equal(eval_text("[\"${unknown.thing}\", \"\\n\"]", &keep_ctx, &value, &err), 0);
    assert_string_equal(value->as.list.items[0]->as.string, "${unknown.thing}");
    assert_string_equal(value->as.list.items[1]->as.string, "\n");
    berth_value_free(value);
}

static void test_heredoc_values(void **state)
{
    (void)state;
    char *json = body_json("a = <<EOF\nport ${NOMAD_PORT_http}\nEOF\n"
                           "b = <<-EOF\n    one\n      two\n    EOF\n",
                           &eval_ctx);
    assert_string_equal(json, "{\"a\":\"port 8080\\n\",\"b\":\"one\\n  two\\n\"}");
    free(json);
}

static void test_origins(void **state)
{
    (void)state;
    berth_error err = BERTH_ERROR_INIT;
    berth_hcl_file *file = NULL;
    const char *src = "config {\n  image = \"redis\"\n  ports = [\"http\", meta.foo]\n}\n";
    assert_int_equal(berth_hcl_parse("job.hcl", src, strlen(src), &file, &err), 0);
    berth_value *value = NULL;
    assert_int_equal(berth_hcl_body_to_value(file->body, &eval_ctx, &value, &err), 0);
    const berth_value *config = berth_value_map_get(value, "config");
    assert_string_equal(config->origin, "job.hcl:1:1");
    assert_string_equal(berth_value_map_get(config, "image")->origin, "job.hcl:2:11");
    const berth_value *ports = berth_value_map_get(config, "ports");
    assert_string_equal(ports->origin, "job.hcl:3:11");
    assert_string_equal(ports->as.list.items[0]->origin, "job.hcl:3:12");
    assert_string_equal(ports->as.list.items[1]->origin, "job.hcl:3:24");
    berth_value_free(value);
    berth_hcl_file_free(file);
}

static void test_functions_strings(void **state)
{
    (void)state;
    assert_eval_json("lower(\"AbC\")", "\"abc\"");
    assert_eval_json("upper(\"AbC\")", "\"ABC\"");
    assert_eval_json("trimspace(\"  x y \\n\")", "\"x y\"");
    assert_eval_json("replace(\"a-b-c\", \"-\", \"+\")", "\"a+b+c\"");
    assert_eval_json("split(\",\", \"a,b,,c\")", "[\"a\",\"b\",\"\",\"c\"]");
    assert_eval_json("join(\"-\", [\"a\", 1, true])", "\"a-1-true\"");
    assert_eval_json("join(\",\", [\"a\"], [\"b\"])", "\"a,b\"");
    assert_eval_json("tostring(12)", "\"12\"");
    assert_eval_json("tonumber(\"12\")", "12");
    assert_eval_json("tonumber(\"1.5\")", "1.5");
    assert_eval_json("length(\"caf\xc3\xa9\")", "4");
    assert_eval_json("length([1, 2, 3])", "3");
    assert_eval_json("length({a = 1})", "1");
    assert_eval_json("coalesce(null, \"\", \"x\")", "\"x\"");
}

static void test_functions_format(void **state)
{
    (void)state;
    assert_eval_json("format(\"%s-%d\", \"web\", 3)", "\"web-3\"");
    assert_eval_json("format(\"%v %v\", [1, \"a\"], true)", "\"[1,\\\"a\\\"] true\"");
    assert_eval_json("format(\"%q\", \"a\\\"b\")", "\"\\\"a\\\\\\\"b\\\"\"");
    assert_eval_json("format(\"100%%\")", "\"100%\"");
    assert_eval_json("format(\"%f\", 1.5)", "\"1.500000\"");
    assert_eval_error("format(\"%d\", 1.5)",
                      "job.hcl:1:5: format(): %d needs a whole number, not a fraction");
    assert_eval_error("format(\"%s %s\", \"a\")",
                      "job.hcl:1:5: format(): not enough arguments for the format string");
    assert_eval_error("format(\"%x\", 1)",
                      "job.hcl:1:5: format(): unsupported verb \"%x\"; supported verbs are %s "
                      "%d %v %q %f and %%");
}

static void test_functions_collections(void **state)
{
    (void)state;
    assert_eval_json("jsonencode({b = 1, a = [true, null, \"x\"]})",
                     "\"{\\\"a\\\":[true,null,\\\"x\\\"],\\\"b\\\":1}\"");
    assert_eval_json("concat([1], [], [2, 3])", "[1,2,3]");
    assert_eval_json("concat([[1], [2]]...)", "[1,2]");
    assert_eval_json("format(\"%s+%s\", list...)", "\"a+b\"");
    assert_eval_json("merge({a = 1, b = 2}, {b = 3}, null)", "{\"a\":1,\"b\":3}");
    assert_eval_json("keys({b = 1, a = 2})", "[\"a\",\"b\"]");
    assert_eval_json("values({b = 1, a = 2})", "[2,1]");
    assert_eval_json("contains([\"a\", 1], 1)", "true");
    assert_eval_json("contains([\"a\"], \"b\")", "false");
    assert_eval_json("min(3, 1.5, 2)", "1.5");
    assert_eval_json("max(3, 1.5, 2)", "3");
    assert_eval_json("abs(-4)", "4");
    assert_eval_json("abs(-0.5)", "0.5");
}

static void test_function_errors(void **state)
{
    (void)state;
    assert_eval_error("nosuch(1)",
                      "job.hcl:1:5: unknown function \"nosuch\"; supported functions are abs, "
                      "coalesce, concat, contains, format, join, jsonencode, keys, length, lower, "
                      "max, merge, min, replace, split, tonumber, tostring, trimspace, upper, "
                      "values");
    assert_eval_error("lower(1)", "job.hcl:1:5: lower(): argument 1 must be a string, not a number");
    assert_eval_error("lower()", "job.hcl:1:5: lower() takes 1 argument, got 0");
    assert_eval_error("replace(\"a\", \"b\")", "job.hcl:1:5: replace() takes 3 arguments, got 2");
    assert_eval_error("tonumber(\"x1\")", "job.hcl:1:5: tonumber(): cannot convert \"x1\" to a number");
    assert_eval_error("coalesce(null, \"\")",
                      "job.hcl:1:5: coalesce(): every argument is null or an empty string");
    assert_eval_error("concat(\"a\"...)",
                      "job.hcl:1:12: the argument before \"...\" must be a list, not a string");
}

static void test_function_names(void **state)
{
    (void)state;
    const char *const *names = berth_hcl_function_names();
    size_t count = 0;
    for (; names[count] != NULL; count++) {
        /* Every listed name must be callable: a call with no arguments
         * fails on the argument count, never as an unknown function. */
        char expr[64];
        snprintf(expr, sizeof(expr), "%s()", names[count]);
        berth_error err = BERTH_ERROR_INIT;
        berth_value *value = NULL;
        int result = eval_text(expr, &eval_ctx, &value, &err);
        if (result == 0)
            berth_value_free(value);
        else
            assert_null(strstr(err.message, "unknown function"));
    }
    assert_int_equal(count, 20);
}

static const char hcl1_job[] = "task \"redis\" {\n"
                               "  driver = \"docker\"\n"
                               "  config = {\n"
                               "    image = \"redis:${meta.foo}\"\n"
                               "    args = [\"--port\", \"${NOMAD_PORT_http}\",]\n"
                               "    port_map {\n"
                               "      redis = 6379\n"
                               "    }\n"
                               "    labels = {\n"
                               "      group = \"cache\"\n"
                               "    }\n"
                               "  }\n"
                               "}\n";

static const char hcl2_job[] = "task \"redis\" {\n"
                               "  driver = \"docker\"\n"
                               "  config {\n"
                               "    image = \"redis:${meta.foo}\"\n"
                               "    args = [\n"
                               "      \"--port\",\n"
                               "      \"${NOMAD_PORT_http}\",\n"
                               "    ]\n"
                               "    port_map {\n"
                               "      redis = 6379\n"
                               "    }\n"
                               "    labels = {\n"
                               "      group = \"cache\"\n"
                               "    }\n"
                               "  }\n"
                               "}\n";

static void test_dialects_equivalent(void **state)
{
    (void)state;
    const char *expected = "{\"task\":{\"redis\":{\"driver\":\"docker\",\"config\":{\"image\":"
                           "\"redis:bar\",\"args\":[\"--port\",\"8080\"],\"port_map\":{\"redis\":"
                           "6379},\"labels\":{\"group\":\"cache\"}}}}}";
    char *hcl1 = body_json(hcl1_job, &eval_ctx);
    char *hcl2 = body_json(hcl2_job, &eval_ctx);
    assert_string_equal(hcl1, expected);
    assert_string_equal(hcl2, expected);
    free(hcl1);
    free(hcl2);

    const char *kept = "{\"task\":{\"redis\":{\"driver\":\"docker\",\"config\":{\"image\":"
                       "\"redis:${meta.foo}\",\"args\":[\"--port\",\"${NOMAD_PORT_http}\"],"
                       "\"port_map\":{\"redis\":6379},\"labels\":{\"group\":\"cache\"}}}}}";
    hcl1 = body_json(hcl1_job, &keep_ctx);
    hcl2 = body_json(hcl2_job, &keep_ctx);
    assert_string_equal(hcl1, kept);
    assert_string_equal(hcl2, kept);
    free(hcl1);
    free(hcl2);
}

static void test_body_blocks(void **state)
{
    (void)state;
    char *json = body_json("network {\n  mbits = 20\n  port \"http\" { static = 80 }\n"
                           "  port \"db\" {}\n}\n",
                           &eval_ctx);
    assert_string_equal(json, "{\"network\":{\"mbits\":20,\"port\":{\"http\":{\"static\":80},"
                              "\"db\":{}}}}");
    free(json);

    json = body_json("mount { a = 1 }\nmount { a = 2 }\nmount { a = 3 }\n", &eval_ctx);
    assert_string_equal(json, "{\"mount\":[{\"a\":1},{\"a\":2},{\"a\":3}]}");
    free(json);

    json = body_json("a \"x\" \"y\" { v = 1 }\na \"x\" \"z\" { v = 2 }\n", &eval_ctx);
    assert_string_equal(json, "{\"a\":{\"x\":{\"y\":{\"v\":1},\"z\":{\"v\":2}}}}");
    free(json);
}

static void test_client_options(void **state)
{
    (void)state;
    char *json = body_json("client {\n  options = {\n    \"docker.cleanup.image\" = \"false\"\n"
                           "  }\n}\n",
                           &eval_ctx);
    assert_string_equal(json, "{\"client\":{\"options\":{\"docker.cleanup.image\":\"false\"}}}");
    free(json);
}

static void test_hcl1_repeated_object_blocks(void **state)
{
    (void)state;
    assert_eval_json("{\n port_map { a = 1 }\n port_map { b = 2 }\n port_map { c = 3 }\n}",
                     "{\"port_map\":[{\"a\":1},{\"b\":2},{\"c\":3}]}");
    assert_eval_error("{ a = 1, a = 2 }", "job.hcl:1:14: key \"a\" was already set at job.hcl:1:11");
}

static void test_body_errors(void **state)
{
    (void)state;
    assert_body_error("port \"http\" {}\nport \"http\" {}\n",
                      "job.hcl:2:1: duplicate block \"port\" \"http\"; first defined at job.hcl:1:1");
    assert_body_error("config = {}\nconfig {}\n",
                      "job.hcl:2:1: block \"config\" conflicts with attribute \"config\" at 1:1");
    assert_body_error("config {}\nconfig = {}\n",
                      "job.hcl:2:1: attribute \"config\" conflicts with block \"config\" at 1:1");
    assert_body_error("port \"a\" {}\nport {}\n",
                      "job.hcl:2:1: block \"port\" has 0 labels here but 1 at 1:1; every block "
                      "of one type needs the same number of labels");
    assert_body_error("config {\n  image = nope\n}\n", "job.hcl:2:11: unknown variable \"nope\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literals),
        cmocka_unit_test(test_arithmetic),
        cmocka_unit_test(test_comparison_and_logic),
        cmocka_unit_test(test_type_errors),
        cmocka_unit_test(test_variables),
        cmocka_unit_test(test_lookup_without_callback),
        cmocka_unit_test(test_templates_evaluated),
        cmocka_unit_test(test_templates_kept),
        cmocka_unit_test(test_heredoc_values),
        cmocka_unit_test(test_origins),
        cmocka_unit_test(test_functions_strings),
        cmocka_unit_test(test_functions_format),
        cmocka_unit_test(test_functions_collections),
        cmocka_unit_test(test_function_errors),
        cmocka_unit_test(test_function_names),
        cmocka_unit_test(test_dialects_equivalent),
        cmocka_unit_test(test_body_blocks),
        cmocka_unit_test(test_client_options),
        cmocka_unit_test(test_hcl1_repeated_object_blocks),
        cmocka_unit_test(test_body_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
