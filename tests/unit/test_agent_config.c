#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "agent/config.h"

typedef struct loaded {
    berth_agent_config config;
    berth_job_diagnostics diagnostics;
    berth_error err;
    int rc;
} loaded;

static void load_text(loaded *l, const char *text)
{
    memset(l, 0, sizeof(*l));
    berth_agent_config_init(&l->config);
    l->rc = berth_agent_config_load(&l->config, "agent.hcl", text, strlen(text), &l->diagnostics,
                                    &l->err);
    if (l->rc == 0)
        l->rc = berth_agent_config_finish(&l->config, &l->diagnostics, &l->err);
}

static void unload(loaded *l)
{
    berth_agent_config_free(&l->config);
    berth_job_diagnostics_free(&l->diagnostics);
}

static bool has_message(char **list, size_t count, const char *text)
{
    for (size_t i = 0; i < count; i++) {
        if (strstr(list[i], text) != NULL)
            return true;
    }
    return false;
}

static void config_defaults(void **state)
{
    (void)state;
    loaded l;
    load_text(&l, "");
    assert_int_equal(l.rc, 0);
    assert_null(l.config.datacenter);
    assert_null(l.config.docker_endpoint);
    assert_true(l.config.cleanup_image);
    assert_false(l.config.allow_privileged);
    assert_int_equal(l.config.meta->as.map.length, 0);
    unload(&l);
}

static void config_hcl2_blocks(void **state)
{
    (void)state;
    loaded l;
    load_text(&l, "datacenter = \"east\"\n"
                  "region = \"eu\"\n"
                  "name = \"n1\"\n"
                  "data_dir = \"/var/lib/berth\"\n"
                  "bind_addr = \"127.0.0.1\"\n"
                  "ports { http = 4646\n rpc = \"4647\" }\n"
                  "client {\n"
                  "  node_class = \"edge\"\n"
                  "  meta { rack = \"r1\"\n count = 3 }\n"
                  "  options {\n"
                  "    \"docker.endpoint\" = \"unix:///run/d.sock\"\n"
                  "    \"docker.cleanup.image\" = \"false\"\n"
                  "    \"docker.privileged.enabled\" = \"1\"\n"
                  "    \"docker.volumes.selinuxlabel\" = \"z\"\n"
                  "    \"docker.auth.config\" = \"/etc/berth/auth.json\"\n"
                  "  }\n"
                  "}\n");
    assert_int_equal(l.rc, 0);
    assert_string_equal(l.config.datacenter, "east");
    assert_string_equal(l.config.region, "eu");
    assert_string_equal(l.config.name, "n1");
    assert_string_equal(l.config.data_dir, "/var/lib/berth");
    assert_string_equal(l.config.bind_addr, "127.0.0.1");
    assert_int_equal(l.config.http_port, 4646);
    assert_int_equal(l.config.rpc_port, 4647);
    assert_int_equal(l.config.serf_port, 0);
    assert_string_equal(l.config.node_class, "edge");
    assert_string_equal(berth_value_map_get(l.config.meta, "rack")->as.string, "r1");
    assert_string_equal(berth_value_map_get(l.config.meta, "count")->as.string, "3");
    assert_string_equal(l.config.docker_endpoint, "unix:///run/d.sock");
    assert_false(l.config.cleanup_image);
    assert_true(l.config.allow_privileged);
    assert_string_equal(l.config.selinux_label, "z");
    assert_string_equal(l.config.docker_auth_config, "/etc/berth/auth.json");

    berth_driver_options options;
    berth_agent_config_driver_options(&l.config, &options);
    assert_false(options.cleanup_image);
    assert_true(options.allow_privileged);
    assert_string_equal(options.selinux_label, "z");
    assert_string_equal(options.auth_config, "/etc/berth/auth.json");
    unload(&l);
}

static void config_hcl1_options_object(void **state)
{
    (void)state;
    loaded l;
    load_text(&l, "client {\n"
                  "  options = {\n"
                  "    \"docker.cleanup.image\" = \"False\"\n"
                  "  }\n"
                  "  meta = { zone = \"z1\" }\n"
                  "}\n");
    assert_int_equal(l.rc, 0);
    assert_false(l.config.cleanup_image);
    assert_string_equal(berth_value_map_get(l.config.meta, "zone")->as.string, "z1");
    unload(&l);
}

static void config_later_file_overrides(void **state)
{
    (void)state;
    loaded l;
    load_text(&l, "name = \"a\"\nclient { meta { x = \"1\" } }\n");
    assert_int_equal(l.rc, 0);
    const char *second = "name = \"b\"\nclient { meta { y = \"2\" } }\n";
    assert_int_equal(berth_agent_config_load(&l.config, "second.hcl", second, strlen(second),
                                             &l.diagnostics, &l.err),
                     0);
    assert_string_equal(l.config.name, "b");
    assert_string_equal(berth_value_map_get(l.config.meta, "x")->as.string, "1");
    assert_string_equal(berth_value_map_get(l.config.meta, "y")->as.string, "2");
    unload(&l);
}

static void config_unknown_key_position(void **state)
{
    (void)state;
    loaded l;
    load_text(&l, "datacenter = \"dc1\"\ncolour = \"blue\"\n");
    assert_int_equal(l.rc, -1);
    assert_int_equal(l.diagnostics.error_count, 1);
    assert_string_equal(l.diagnostics.errors[0],
                        "agent.hcl:2:10: unknown agent key \"colour\"; berth reads datacenter, "
                        "region, name, data_dir, bind_addr, ports and client");
    assert_string_equal(l.err.message, "agent.hcl: 1 error");
    unload(&l);
}

static void config_bad_bool_names_option(void **state)
{
    (void)state;
    loaded l;
    load_text(&l, "client {\n  options {\n    \"docker.cleanup.image\" = \"maybe\"\n  }\n}\n");
    assert_int_equal(l.rc, -1);
    assert_int_equal(l.diagnostics.error_count, 1);
    assert_string_equal(l.diagnostics.errors[0],
                        "agent.hcl:3:30: invalid value \"maybe\" for client option "
                        "docker.cleanup.image; use \"true\" or \"false\"");
    unload(&l);
}

static void config_unknown_docker_option(void **state)
{
    (void)state;
    loaded l;
    load_text(&l, "client {\n  options {\n    \"docker.caps.whitelist\" = \"ALL\"\n"
                  "    \"driver.raw_exec.enable\" = \"1\"\n  }\n}\n");
    assert_int_equal(l.rc, -1);
    assert_int_equal(l.diagnostics.error_count, 1);
    assert_true(has_message(l.diagnostics.errors, 1,
                            "unknown client option docker.caps.whitelist; the docker options "
                            "berth supports are docker.endpoint, docker.auth.config"));
    assert_true(has_message(l.diagnostics.warnings, l.diagnostics.warning_count,
                            "client option driver.raw_exec.enable is not a docker driver option"));
    unload(&l);
}

static void config_every_error_reported(void **state)
{
    (void)state;
    loaded l;
    load_text(&l, "frob = 1\nports { gopher = 70 }\nclient {\n bogus = 1\n"
                  " options { \"docker.endpoint\" = \"ftp://x\" }\n}\n");
    assert_int_equal(l.rc, -1);
    assert_int_equal(l.diagnostics.error_count, 4);
    assert_true(has_message(l.diagnostics.errors, 4, "unknown agent key \"frob\""));
    assert_true(has_message(l.diagnostics.errors, 4, "unknown ports key \"gopher\""));
    assert_true(has_message(l.diagnostics.errors, 4, "unknown client key \"bogus\""));
    assert_true(has_message(l.diagnostics.errors, 4, "invalid docker.endpoint \"ftp://x\""));
    unload(&l);
}

static void config_nomad_keys_warn(void **state)
{
    (void)state;
    loaded l;
    load_text(&l, "log_level = \"DEBUG\"\nserver { enabled = false }\n"
                  "client { enabled = true\n servers = [\"127.0.0.1:4647\"] }\n");
    assert_int_equal(l.rc, 0);
    assert_int_equal(l.diagnostics.warning_count, 4);
    assert_true(has_message(l.diagnostics.warnings, 4,
                            "agent.hcl:1:13: agent key \"log_level\" is not used by berth"));
    unload(&l);
}

static void config_tls_without_endpoint_warns(void **state)
{
    (void)state;
    loaded l;
    load_text(&l, "client {\n  options {\n    \"docker.tls.ca\" = \"/x/ca.pem\"\n  }\n}\n");
    assert_int_equal(l.rc, 0);
    assert_int_equal(l.diagnostics.warning_count, 1);
    assert_true(has_message(l.diagnostics.warnings, 1,
                            "agent.hcl:3:23: docker.tls.cert, docker.tls.key and docker.tls.ca "
                            "are ignored because docker.endpoint is not set"));
    unload(&l);
}

static void config_tls_cert_needs_key(void **state)
{
    (void)state;
    loaded l;
    load_text(&l, "client {\n  options {\n    \"docker.endpoint\" = \"tcp://127.0.0.1:2376\"\n"
                  "    \"docker.tls.cert\" = \"/x/cert.pem\"\n  }\n}\n");
    assert_int_equal(l.rc, -1);
    assert_true(has_message(l.diagnostics.errors, l.diagnostics.error_count,
                            "docker.tls.cert and docker.tls.key must be set together"));
    unload(&l);
}

static void config_docker_client_settings(void **state)
{
    (void)state;
    loaded l;
    load_text(&l, "client {\n  options {\n    \"docker.endpoint\" = \"tcp://127.0.0.1:2376\"\n"
                  "    \"docker.tls.cert\" = \"/x/cert.pem\"\n"
                  "    \"docker.tls.key\" = \"/x/key.pem\"\n"
                  "    \"docker.tls.ca\" = \"/x/ca.pem\"\n  }\n}\n");
    assert_int_equal(l.rc, 0);
    berth_docker_config docker;
    berth_docker_env_storage storage;
    setenv("DOCKER_HOST", "unix:///elsewhere.sock", 1);
    berth_agent_config_docker(&l.config, &docker, &storage);
    assert_string_equal(docker.endpoint, "tcp://127.0.0.1:2376");
    assert_string_equal(docker.tls_cert, "/x/cert.pem");
    assert_string_equal(docker.tls_key, "/x/key.pem");
    assert_string_equal(docker.tls_ca, "/x/ca.pem");
    assert_true(docker.tls_verify);
    unload(&l);

    /* Without docker.endpoint the environment decides. */
    load_text(&l, "");
    berth_agent_config_docker(&l.config, &docker, &storage);
    assert_string_equal(docker.endpoint, "unix:///elsewhere.sock");
    unsetenv("DOCKER_HOST");
    unload(&l);
}

static void config_syntax_error_position(void **state)
{
    (void)state;
    loaded l;
    load_text(&l, "client {\n  options {\n");
    assert_int_equal(l.rc, -1);
    assert_int_equal(l.diagnostics.error_count, 1);
    assert_true(strncmp(l.diagnostics.errors[0], "agent.hcl:", 10) == 0);
    unload(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(config_defaults),
        cmocka_unit_test(config_hcl2_blocks),
        cmocka_unit_test(config_hcl1_options_object),
        cmocka_unit_test(config_later_file_overrides),
        cmocka_unit_test(config_unknown_key_position),
        cmocka_unit_test(config_bad_bool_names_option),
        cmocka_unit_test(config_unknown_docker_option),
        cmocka_unit_test(config_every_error_reported),
        cmocka_unit_test(config_nomad_keys_warn),
        cmocka_unit_test(config_tls_without_endpoint_warns),
        cmocka_unit_test(config_tls_cert_needs_key),
        cmocka_unit_test(config_docker_client_settings),
        cmocka_unit_test(config_syntax_error_position),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
