#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "driver/imageref.h"

#define DIGEST "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

struct valid_case {
    const char *text;
    const char *repository;
    const char *registry;
    const char *path;
    const char *tag;
    const char *digest;
    const char *formatted;
};

static void imageref_valid_references(void **state)
{
    (void)state;
    static const struct valid_case cases[] = {
        {"redis", "redis", "docker.io", "redis", "latest", NULL, "redis:latest"},
        {"redis:7", "redis", "docker.io", "redis", "7", NULL, "redis:7"},
        {"127.0.0.1:5000/team/app", "127.0.0.1:5000/team/app", "127.0.0.1:5000", "team/app",
         "latest", NULL, "127.0.0.1:5000/team/app:latest"},
        {"127.0.0.1:5000/team/app:1.2", "127.0.0.1:5000/team/app", "127.0.0.1:5000", "team/app",
         "1.2", NULL, "127.0.0.1:5000/team/app:1.2"},
        {"app@" DIGEST, "app", "docker.io", "app", NULL, DIGEST, "app@" DIGEST},
        {"app:1@" DIGEST, "app", "docker.io", "app", "1", DIGEST, "app@" DIGEST},
        {"https://127.0.0.1:5000/app:2", "127.0.0.1:5000/app", "127.0.0.1:5000", "app", "2", NULL,
         "127.0.0.1:5000/app:2"},
        {"localhost/app", "localhost/app", "localhost", "app", "latest", NULL,
         "localhost/app:latest"},
        {"team/app_x-y.z", "team/app_x-y.z", "docker.io", "team/app_x-y.z", "latest", NULL,
         "team/app_x-y.z:latest"},
        {"berth-test/busybox:1", "berth-test/busybox", "docker.io", "berth-test/busybox", "1",
         NULL, "berth-test/busybox:1"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        berth_image_ref ref;
        berth_error err = BERTH_ERROR_INIT;
        int rc = berth_image_ref_parse(cases[i].text, &ref, &err);
        if (rc != 0)
            fail_msg("%s: %s", cases[i].text, err.message);
        assert_string_equal(ref.repository, cases[i].repository);
        assert_string_equal(ref.registry, cases[i].registry);
        assert_string_equal(ref.path, cases[i].path);
        if (cases[i].tag == NULL)
            assert_null(ref.tag);
        else
            assert_string_equal(ref.tag, cases[i].tag);
        if (cases[i].digest == NULL)
            assert_null(ref.digest);
        else
            assert_string_equal(ref.digest, cases[i].digest);
        char *formatted = berth_image_ref_format(&ref);
        assert_string_equal(formatted, cases[i].formatted);
        free(formatted);
        berth_image_ref_free(&ref);
    }
}

static void imageref_invalid_references(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *message_part;
    } cases[] = {
        {"", "it is empty"},
        {"Redis", "must be lower-case"},
        {"redis:", "tag \"\""},
        {"redis:-x", "tag \"-x\""},
        {"app@sha256:abc", "digest"},
        {"app@" DIGEST "00", "digest"},
        {"team//app", "must be lower-case"},
        {"bad_host!:5000/app", "registry \"bad_host!:5000\""},
        {"127.0.0.1:99999999/app", "registry"},
        {"app/", "must be lower-case"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        berth_image_ref ref;
        berth_error err = BERTH_ERROR_INIT;
        int rc = berth_image_ref_parse(cases[i].text, &ref, &err);
        if (rc == 0)
            fail_msg("accepted invalid reference \"%s\"", cases[i].text);
        assert_int_equal(err.code, BERTH_E_INVALID);
        if (strstr(err.message, cases[i].message_part) == NULL)
            fail_msg("\"%s\": message \"%s\" lacks \"%s\"", cases[i].text, err.message,
                     cases[i].message_part);
    }
}

static void imageref_pull_tag_prefers_digest(void **state)
{
    (void)state;
    berth_image_ref ref;
    berth_error err = BERTH_ERROR_INIT;
    assert_int_equal(berth_image_ref_parse("app:1@" DIGEST, &ref, &err), 0);
    assert_string_equal(berth_image_ref_pull_tag(&ref), DIGEST);
    berth_image_ref_free(&ref);
    assert_int_equal(berth_image_ref_parse("app:1", &ref, &err), 0);
    assert_string_equal(berth_image_ref_pull_tag(&ref), "1");
    berth_image_ref_free(&ref);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(imageref_valid_references),
        cmocka_unit_test(imageref_invalid_references),
        cmocka_unit_test(imageref_pull_tag_prefers_digest),
    };
    return cmocka_run_group_tests_name("imageref", tests, NULL, NULL);
}
