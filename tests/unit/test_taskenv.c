#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "agent/ports.h"
#include "core/util.h"
#include "taskenv/interp.h"
#include "taskenv/taskenv.h"

static char *lookup_fixed(void *user_data, const char *name)
{
    (void)user_data;
    if (strcmp(name, "NOMAD_PORT_http") == 0)
        return berth_xstrdup("23332");
    if (strcmp(name, "meta.foo") == 0)
        return berth_xstrdup("bar");
    return NULL;
}

static void interp_replaces_known_names(void **state)
{
    (void)state;
    char *text = berth_interpolate("port=${NOMAD_PORT_http} foo=${meta.foo}", lookup_fixed, NULL);
    assert_string_equal(text, "port=23332 foo=bar");
    free(text);
}

static void interp_keeps_unknown_and_escapes(void **state)
{
    (void)state;
    static const struct {
        const char *input;
        const char *expected;
    } cases[] = {
        {"${nomad.datacenter}", "${nomad.datacenter}"},
        {"$${NOMAD_PORT_http}", "${NOMAD_PORT_http}"},
        {"${lower(x)}", "${lower(x)}"},
        {"${", "${"},
        {"${}", "${}"},
        {"$", "$"},
        {"a${NOMAD_PORT_http}${NOMAD_PORT_http}b", "a2333223332b"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *text = berth_interpolate(cases[i].input, lookup_fixed, NULL);
        assert_string_equal(text, cases[i].expected);
        free(text);
    }
}

static void interp_value_walks_lists_and_maps(void **state)
{
    (void)state;
    berth_value *map = berth_value_new_map();
    berth_value *list = berth_value_new_list();
    berth_value_list_append(list, berth_value_new_string("${meta.foo}"));
    berth_value_list_append(list, berth_value_new_integer(7));
    berth_value_map_set(map, "${meta.foo}", list);
    berth_interpolate_value(map, lookup_fixed, NULL);
    const berth_value *items = berth_value_map_get(map, "${meta.foo}");
    assert_non_null(items);
    assert_string_equal(items->as.list.items[0]->as.string, "bar");
    assert_int_equal(items->as.list.items[1]->as.number.integer, 7);
    berth_value_free(map);
}

static const char *env_string(const berth_value *env, const char *key)
{
    const berth_value *value = berth_value_map_get(env, key);
    if (value == NULL)
        fail_msg("environment lacks %s", key);
    return value->as.string;
}

static void taskenv_builds_nomad_variables(void **state)
{
    (void)state;
    berth_node node;
    berth_node_init_local(&node, "dc1", "global");
    berth_value_map_set(node.meta, "rack", berth_value_new_string("r1"));

    berth_value *job_meta = berth_value_new_map();
    berth_value_map_set(job_meta, "owner", berth_value_new_string("job"));
    berth_value_map_set(job_meta, "Tier", berth_value_new_string("web"));
    berth_value *task_meta = berth_value_new_map();
    berth_value_map_set(task_meta, "owner", berth_value_new_string("task"));
    berth_value *user_env = berth_value_new_map();
    berth_value_map_set(user_env, "LISTEN", berth_value_new_string("${NOMAD_ADDR_http}"));
    berth_value_map_set(user_env, "RACK", berth_value_new_string("${meta.rack}"));
    berth_value_map_set(user_env, "COUNT", berth_value_new_integer(3));

    berth_port_binding ports[] = {{"http", "127.0.0.1", 23332}, {"my-port", "127.0.0.1", 23333}};
    berth_task_env_input input = {
        .node = &node,
        .alloc_id = "8a1c2e1d-0b1f-4c5e-9d6a-0123456789ab",
        .alloc_index = 2,
        .job_name = "example",
        .group_name = "cache",
        .task_name = "redis",
        .job_meta = job_meta,
        .task_meta = task_meta,
        .user_env = user_env,
        .cpu_mhz = 500,
        .memory_mb = 256,
        .ports = ports,
        .port_count = 2,
    };
    berth_value *env = NULL;
    berth_error err = BERTH_ERROR_INIT;
    assert_int_equal(berth_task_env_build(&input, &env, &err), 0);

    assert_string_equal(env_string(env, "NOMAD_ALLOC_DIR"), "/alloc");
    assert_string_equal(env_string(env, "NOMAD_TASK_DIR"), "/local");
    assert_string_equal(env_string(env, "NOMAD_SECRETS_DIR"), "/secrets");
    assert_string_equal(env_string(env, "NOMAD_CPU_LIMIT"), "500");
    assert_string_equal(env_string(env, "NOMAD_MEMORY_LIMIT"), "256");
    assert_string_equal(env_string(env, "NOMAD_ALLOC_ID"), input.alloc_id);
    assert_string_equal(env_string(env, "NOMAD_ALLOC_NAME"), "example.cache[2]");
    assert_string_equal(env_string(env, "NOMAD_ALLOC_INDEX"), "2");
    assert_string_equal(env_string(env, "NOMAD_TASK_NAME"), "redis");
    assert_string_equal(env_string(env, "NOMAD_GROUP_NAME"), "cache");
    assert_string_equal(env_string(env, "NOMAD_JOB_NAME"), "example");
    assert_string_equal(env_string(env, "NOMAD_DC"), "dc1");
    assert_string_equal(env_string(env, "NOMAD_REGION"), "global");
    assert_string_equal(env_string(env, "NOMAD_PORT_http"), "23332");
    assert_string_equal(env_string(env, "NOMAD_HOST_PORT_http"), "23332");
    assert_string_equal(env_string(env, "NOMAD_IP_http"), "127.0.0.1");
    assert_string_equal(env_string(env, "NOMAD_ADDR_http"), "127.0.0.1:23332");
    assert_string_equal(env_string(env, "NOMAD_PORT_my_port"), "23333");
    assert_string_equal(env_string(env, "NOMAD_META_OWNER"), "task");
    assert_string_equal(env_string(env, "NOMAD_META_owner"), "task");
    assert_string_equal(env_string(env, "NOMAD_META_TIER"), "web");
    assert_string_equal(env_string(env, "NOMAD_META_Tier"), "web");
    assert_string_equal(env_string(env, "LISTEN"), "127.0.0.1:23332");
    assert_string_equal(env_string(env, "RACK"), "r1");
    assert_string_equal(env_string(env, "COUNT"), "3");

    char *name = berth_task_env_lookup(env, &node, "node.unique.name");
    assert_string_equal(name, node.name);
    free(name);
    char *kernel = berth_task_env_lookup(env, &node, "attr.kernel.name");
    assert_string_equal(kernel, "linux");
    free(kernel);
    assert_null(berth_task_env_lookup(env, &node, "meta.missing"));

    berth_value_free(env);
    berth_value_free(job_meta);
    berth_value_free(task_meta);
    berth_value_free(user_env);
    berth_node_free(&node);
}

static void taskenv_rejects_list_in_env(void **state)
{
    (void)state;
    berth_value *user_env = berth_value_new_map();
    berth_value_map_set(user_env, "BAD",
                        berth_value_set_origin(berth_value_new_list(), "job.hcl:4:7"));
    berth_task_env_input input = {
        .alloc_id = "8a1c2e1d-0b1f-4c5e-9d6a-0123456789ab",
        .job_name = "j",
        .group_name = "g",
        .task_name = "t",
        .user_env = user_env,
    };
    berth_value *env = NULL;
    berth_error err = BERTH_ERROR_INIT;
    assert_int_equal(berth_task_env_build(&input, &env, &err), -1);
    assert_string_equal(err.message,
                        "job.hcl:4:7: env \"BAD\" must be a string, number or bool, not a list");
    berth_value_free(user_env);
}

static void ports_dynamic_reservations_are_unique(void **state)
{
    (void)state;
    berth_port_allocator allocator;
    berth_error err = BERTH_ERROR_INIT;
    assert_int_equal(berth_port_allocator_init(&allocator, 20000, 20010, &err), 0);
    int seen[10];
    for (int i = 0; i < 10; i++) {
        int rc = berth_port_reserve_dynamic(&allocator, "127.0.0.1", &seen[i], &err);
        if (rc != 0) {
            /* Another process may hold a port of this small range. */
            skip();
        }
        assert_in_range(seen[i], 20000, 20009);
        for (int j = 0; j < i; j++)
            assert_int_not_equal(seen[i], seen[j]);
    }
    int extra = 0;
    assert_int_equal(berth_port_reserve_dynamic(&allocator, "127.0.0.1", &extra, &err), -1);
    assert_int_equal(err.code, BERTH_E_CONFLICT);
    berth_port_release(&allocator, seen[3]);
    assert_int_equal(berth_port_reserve_dynamic(&allocator, "127.0.0.1", &extra, &err), 0);
    assert_int_equal(extra, seen[3]);
    berth_port_allocator_destroy(&allocator);
}

static void ports_static_conflicts_are_rejected(void **state)
{
    (void)state;
    berth_port_allocator allocator;
    berth_error err = BERTH_ERROR_INIT;
    assert_int_equal(berth_port_allocator_init(&allocator, 20000, 32000, &err), 0);
    int port = 0;
    assert_int_equal(berth_port_reserve_dynamic(&allocator, "127.0.0.1", &port, &err), 0);
    assert_int_equal(berth_port_reserve_static(&allocator, "127.0.0.1", port, &err), -1);
    assert_int_equal(err.code, BERTH_E_CONFLICT);
    assert_int_equal(berth_port_reserve_static(&allocator, "127.0.0.1", 0, &err), -1);
    assert_int_equal(err.code, BERTH_E_INVALID);
    berth_port_allocator_destroy(&allocator);
    assert_int_equal(berth_port_allocator_init(&allocator, 500, 100, &err), -1);
}

static void util_parses_rfc3339_times(void **state)
{
    (void)state;
    static const char with_fraction[] = "2026-12-04T20:04:47.061234567Z";
    int64_t ns = 0;
    assert_true(berth_parse_rfc3339_ns(with_fraction, strlen(with_fraction), &ns));
    assert_int_equal(ns, 1796414687061234567LL);
    static const char short_fraction[] = "2026-12-04T20:04:47.5Z";
    assert_true(berth_parse_rfc3339_ns(short_fraction, strlen(short_fraction), &ns));
    assert_int_equal(ns, 1796414687500000000LL);
    static const char whole[] = "1970-01-01T00:00:01Z";
    assert_true(berth_parse_rfc3339_ns(whole, strlen(whole), &ns));
    assert_int_equal(ns, 1000000000LL);
    static const char *const invalid[] = {"", "2026-12-04", "2026-12-04T20:04:47+01:00",
                                          "not a time"};
    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
        assert_false(berth_parse_rfc3339_ns(invalid[i], strlen(invalid[i]), &ns));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(util_parses_rfc3339_times),
        cmocka_unit_test(interp_replaces_known_names),
        cmocka_unit_test(interp_keeps_unknown_and_escapes),
        cmocka_unit_test(interp_value_walks_lists_and_maps),
        cmocka_unit_test(taskenv_builds_nomad_variables),
        cmocka_unit_test(taskenv_rejects_list_in_env),
        cmocka_unit_test(ports_dynamic_reservations_are_unique),
        cmocka_unit_test(ports_static_conflicts_are_rejected),
    };
    return cmocka_run_group_tests_name("taskenv", tests, NULL, NULL);
}
