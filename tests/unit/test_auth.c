#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver/auth.h"

/* "user:pa:ss" in base64; the password itself contains a colon. */
#define USER_PASS_B64 "dXNlcjpwYTpzcw=="

typedef struct lookup {
    berth_docker_auth auth;
    bool found;
    berth_error err;
    int rc;
} lookup;

static void lookup_text(lookup *l, const char *json, const char *registry, bool ssl)
{
    memset(l, 0, sizeof(*l));
    json_t *root = json_loads(json, 0, NULL);
    assert_non_null(root);
    l->rc = berth_registry_auth_from_json(root, "auth.json", registry, ssl, &l->auth, &l->found,
                                          &l->err);
    json_decref(root);
}

static void auth_bare_key_base64(void **state)
{
    (void)state;
    lookup l;
    lookup_text(&l, "{\"auths\":{\"127.0.0.1:5000\":{\"auth\":\"" USER_PASS_B64 "\"}}}",
                "127.0.0.1:5000", true);
    assert_int_equal(l.rc, 0);
    assert_true(l.found);
    assert_string_equal(l.auth.username, "user");
    assert_string_equal(l.auth.password, "pa:ss");
    assert_string_equal(l.auth.server_address, "127.0.0.1:5000");
    berth_registry_auth_clear(&l.auth);
    assert_null(l.auth.password);
}

static void auth_https_key_username_password(void **state)
{
    (void)state;
    lookup l;
    lookup_text(&l,
                "{\"auths\":{\"https://127.0.0.1:5000/v2/\":{\"username\":\"u\",\"password\":"
                "\"p\",\"email\":\"a@b.invalid\"}}}",
                "127.0.0.1:5000", true);
    assert_int_equal(l.rc, 0);
    assert_true(l.found);
    assert_string_equal(l.auth.username, "u");
    assert_string_equal(l.auth.password, "p");
    assert_string_equal(l.auth.email, "a@b.invalid");
    berth_registry_auth_clear(&l.auth);
}

static void auth_http_key_needs_ssl_off(void **state)
{
    (void)state;
    const char *json = "{\"auths\":{\"http://127.0.0.1:5000\":{\"auth\":\"" USER_PASS_B64 "\"}}}";
    lookup l;
    lookup_text(&l, json, "127.0.0.1:5000", true);
    assert_int_equal(l.rc, 0);
    assert_false(l.found);

    lookup_text(&l, json, "127.0.0.1:5000", false);
    assert_int_equal(l.rc, 0);
    assert_true(l.found);
    assert_string_equal(l.auth.username, "user");
    berth_registry_auth_clear(&l.auth);
}

static void auth_bare_key_preferred(void **state)
{
    (void)state;
    lookup l;
    lookup_text(&l,
                "{\"auths\":{\"https://127.0.0.1:5000\":{\"username\":\"first\",\"password\":\"x\"},"
                "\"127.0.0.1:5000\":{\"username\":\"bare\",\"password\":\"y\"}}}",
                "127.0.0.1:5000", true);
    assert_int_equal(l.rc, 0);
    assert_string_equal(l.auth.username, "bare");
    berth_registry_auth_clear(&l.auth);
}

static void auth_docker_hub_keys(void **state)
{
    (void)state;
    static const char *const keys[] = {"https://index.docker.io/v1/", "docker.io",
                                       "index.docker.io"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        char json[256];
        snprintf(json, sizeof(json), "{\"auths\":{\"%s\":{\"auth\":\"%s\"}}}", keys[i],
                 USER_PASS_B64);
        lookup l;
        lookup_text(&l, json, "docker.io", true);
        assert_int_equal(l.rc, 0);
        assert_true(l.found);
        assert_string_equal(l.auth.username, "user");
        berth_registry_auth_clear(&l.auth);
    }
}

static void auth_legacy_dockercfg(void **state)
{
    (void)state;
    lookup l;
    lookup_text(&l,
                "{\"https://127.0.0.1:5000\":{\"auth\":\"" USER_PASS_B64
                "\",\"email\":\"ops@example.invalid\"}}",
                "127.0.0.1:5000", true);
    assert_int_equal(l.rc, 0);
    assert_true(l.found);
    assert_string_equal(l.auth.username, "user");
    assert_string_equal(l.auth.password, "pa:ss");
    assert_string_equal(l.auth.email, "ops@example.invalid");
    berth_registry_auth_clear(&l.auth);
}

static void auth_missing_entry(void **state)
{
    (void)state;
    lookup l;
    lookup_text(&l, "{\"auths\":{\"127.0.0.1:5001\":{\"auth\":\"" USER_PASS_B64 "\"}}}",
                "127.0.0.1:5000", true);
    assert_int_equal(l.rc, 0);
    assert_false(l.found);

    /* An entry without credentials (a helper keeps them) is not a match. */
    lookup_text(&l, "{\"auths\":{\"127.0.0.1:5000\":{}}}", "127.0.0.1:5000", true);
    assert_int_equal(l.rc, 0);
    assert_false(l.found);

    /* A longer host that starts with the registry does not match. */
    lookup_text(&l, "{\"auths\":{\"https://127.0.0.1:50001\":{\"auth\":\"" USER_PASS_B64 "\"}}}",
                "127.0.0.1:5000", true);
    assert_int_equal(l.rc, 0);
    assert_false(l.found);
}

static void auth_invalid_base64(void **state)
{
    (void)state;
    static const char *const values[] = {"not base64!", "dXNlcg==", "QQ"};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        char json[256];
        snprintf(json, sizeof(json), "{\"auths\":{\"r:1\":{\"auth\":\"%s\"}}}", values[i]);
        lookup l;
        lookup_text(&l, json, "r:1", true);
        assert_int_equal(l.rc, -1);
        assert_int_equal(l.err.code, BERTH_E_INVALID);
        assert_non_null(strstr(l.err.message, "expected base64 of USERNAME:PASSWORD"));
        assert_null(strstr(l.err.message, values[i]));
    }
}

static void auth_not_an_object(void **state)
{
    (void)state;
    lookup l;
    lookup_text(&l, "[1]", "r:1", true);
    assert_int_equal(l.rc, -1);
    lookup_text(&l, "{\"auths\":[]}", "r:1", true);
    assert_int_equal(l.rc, -1);
    assert_non_null(strstr(l.err.message, "\"auths\" must be an object"));
}

static void auth_missing_file(void **state)
{
    (void)state;
    berth_docker_auth auth;
    bool found = true;
    berth_error err = BERTH_ERROR_INIT;
    int rc = berth_registry_auth_from_file("/nonexistent/berth-auth.json", "r:1", true, &auth,
                                           &found, &err);
    assert_int_equal(rc, -1);
    assert_false(found);
    assert_non_null(strstr(err.message, "/nonexistent/berth-auth.json"));
}

/* Writes an executable docker-credential-NAME into a new folder put first
 * on PATH; returns the folder. */
static char *install_helper(const char *name, const char *body)
{
    char *dir = strdup("/tmp/berth-auth-test.XXXXXX");
    assert_non_null(mkdtemp(dir));
    char path[512];
    snprintf(path, sizeof(path), "%s/docker-credential-%s", dir, name);
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fprintf(file, "#!/bin/sh\n%s\n", body);
    fclose(file);
    chmod(path, 0755);
    char *old_path = getenv("PATH");
    char new_path[4096];
    snprintf(new_path, sizeof(new_path), "%s:%s", dir, old_path != NULL ? old_path : "/usr/bin:/bin");
    setenv("PATH", new_path, 1);
    return dir;
}

static void remove_helper(char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/docker-credential-%s", dir, name);
    unlink(path);
    rmdir(dir);
    free(dir);
}

static void auth_credential_helper(void **state)
{
    (void)state;
    char *dir = install_helper("unittest",
                               "read -r server\n"
                               "[ \"$server\" = \"127.0.0.1:5000\" ] || exit 9\n"
                               "echo '{\"Username\":\"hu\",\"Secret\":\"hs\"}'");
    lookup l;
    lookup_text(&l, "{\"credHelpers\":{\"127.0.0.1:5000\":\"unittest\"}}", "127.0.0.1:5000", true);
    assert_int_equal(l.rc, 0);
    assert_true(l.found);
    assert_string_equal(l.auth.username, "hu");
    assert_string_equal(l.auth.password, "hs");
    berth_registry_auth_clear(&l.auth);

    /* credsStore applies to any registry without an entry. */
    lookup_text(&l, "{\"auths\":{},\"credsStore\":\"unittest\"}", "127.0.0.1:5000", true);
    assert_int_equal(l.rc, 0);
    assert_true(l.found);
    berth_registry_auth_clear(&l.auth);
    remove_helper(dir, "unittest");
}

static void auth_credential_helper_errors(void **state)
{
    (void)state;
    char *dir = install_helper("unitfail", "echo 'vault sealed' >&2; exit 3");
    berth_docker_auth auth;
    bool found = false;
    berth_error err = BERTH_ERROR_INIT;
    assert_int_equal(berth_registry_auth_from_helper("unitfail", "r:1", &auth, &found, &err), -1);
    assert_non_null(strstr(err.message, "docker-credential-unitfail"));
    assert_non_null(strstr(err.message, "exit status 3"));
    assert_non_null(strstr(err.message, "vault sealed"));
    remove_helper(dir, "unitfail");

    dir = install_helper("unitnone", "echo 'credentials not found in native keychain'; exit 1");
    assert_int_equal(berth_registry_auth_from_helper("unitnone", "r:1", &auth, &found, &err), 0);
    assert_false(found);
    remove_helper(dir, "unitnone");

    dir = install_helper("unitjunk", "echo 'not json'");
    assert_int_equal(berth_registry_auth_from_helper("unitjunk", "r:1", &auth, &found, &err), -1);
    assert_non_null(strstr(err.message, "\"Secret\""));
    remove_helper(dir, "unitjunk");

    assert_int_equal(berth_registry_auth_from_helper("../evil", "r:1", &auth, &found, &err), -1);
    assert_non_null(strstr(err.message, "invalid credential helper name"));

    assert_int_equal(
        berth_registry_auth_from_helper("berth-no-such-helper", "r:1", &auth, &found, &err), -1);
    assert_non_null(strstr(err.message, "docker-credential-berth-no-such-helper"));
}

static void auth_credential_helper_output_bounded(void **state)
{
    (void)state;
    char *dir = install_helper("unitflood", "exec cat /dev/zero");
    berth_docker_auth auth;
    bool found = false;
    berth_error err = BERTH_ERROR_INIT;
    assert_int_equal(berth_registry_auth_from_helper("unitflood", "r:1", &auth, &found, &err), -1);
    assert_int_equal(err.code, BERTH_E_TOO_LARGE);
    remove_helper(dir, "unitflood");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(auth_bare_key_base64),
        cmocka_unit_test(auth_https_key_username_password),
        cmocka_unit_test(auth_http_key_needs_ssl_off),
        cmocka_unit_test(auth_bare_key_preferred),
        cmocka_unit_test(auth_docker_hub_keys),
        cmocka_unit_test(auth_legacy_dockercfg),
        cmocka_unit_test(auth_missing_entry),
        cmocka_unit_test(auth_invalid_base64),
        cmocka_unit_test(auth_not_an_object),
        cmocka_unit_test(auth_missing_file),
        cmocka_unit_test(auth_credential_helper),
        cmocka_unit_test(auth_credential_helper_errors),
        cmocka_unit_test(auth_credential_helper_output_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
