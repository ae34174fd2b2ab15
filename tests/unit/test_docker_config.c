#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/util.h"
#include "docker/docker.h"
#include "docker/internal.h"

struct endpoint_case {
    const char *endpoint;
    bool tls;
    const char *base_url;
    const char *socket_path; /* NULL for TCP */
};

static void endpoint_valid_forms(void **state)
{
    (void)state;
    static const struct endpoint_case cases[] = {
        {"unix:///var/run/docker.sock", false, "http://localhost", "/var/run/docker.sock"},
        {"unix:///tmp/dk/docker.sock", true, "http://localhost", "/tmp/dk/docker.sock"},
        {"tcp://127.0.0.1:2375", false, "http://127.0.0.1:2375", NULL},
        {"tcp://127.0.0.1:2376", true, "https://127.0.0.1:2376", NULL},
        {"tcp://127.0.0.1", false, "http://127.0.0.1:2375", NULL},
        {"tcp://127.0.0.1", true, "https://127.0.0.1:2376", NULL},
        {"tcp://[::1]:2375", false, "http://[::1]:2375", NULL},
        {"http://127.0.0.1:8080", false, "http://127.0.0.1:8080", NULL},
        {"http://127.0.0.1:8080/", false, "http://127.0.0.1:8080", NULL},
        {"https://127.0.0.1:8443", false, "https://127.0.0.1:8443", NULL},
        {"https://localhost", false, "https://localhost:443", NULL},
    };
    /* berth_docker_open only checks that TLS files are readable, so an empty
     * file serves as the CA certificate here. */
    char certificate[] = "/tmp/berth-unit-cert-XXXXXX";
    int fd = mkstemp(certificate);
    assert_true(fd >= 0);
    close(fd);

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        berth_docker_config cfg = {.endpoint = cases[i].endpoint};
        if (cases[i].tls)
            cfg.tls_ca = certificate;
        berth_docker *docker = NULL;
        berth_error err = BERTH_ERROR_INIT;
        if (berth_docker_open(&cfg, &docker, &err) < 0) {
            unlink(certificate);
            fail_msg("%s: %s", cases[i].endpoint, err.message);
        }
        assert_string_equal(berth_docker_endpoint(docker), cases[i].endpoint);
        assert_string_equal(docker->base_url, cases[i].base_url);
        if (cases[i].socket_path != NULL)
            assert_string_equal(docker->socket_path, cases[i].socket_path);
        else
            assert_null(docker->socket_path);
        berth_docker_close(docker);
    }
    unlink(certificate);
}

static void endpoint_default_when_null(void **state)
{
    (void)state;
    berth_docker_config cfg = {0};
    berth_docker *docker = NULL;
    berth_error err = BERTH_ERROR_INIT;

    assert_int_equal(berth_docker_open(&cfg, &docker, &err), 0);
    assert_string_equal(berth_docker_endpoint(docker), BERTH_DOCKER_DEFAULT_ENDPOINT);
    assert_string_equal(docker->socket_path, "/var/run/docker.sock");
    assert_int_equal(docker->request_timeout_ms, 5 * 60 * 1000);
    berth_docker_close(docker);
}

static void endpoint_invalid_forms(void **state)
{
    (void)state;
    static const char *const endpoints[] = {
        "",
        "/var/run/docker.sock",
        "npipe:////./pipe/docker_engine",
        "unix://relative/docker.sock",
        "unix://",
        "tcp://",
        "tcp://:2375",
        "tcp://127.0.0.1:",
        "tcp://127.0.0.1:0",
        "tcp://127.0.0.1:65536",
        "tcp://127.0.0.1:port",
        "tcp://127.0.0.1:2375/path",
        "tcp://[::1:2375",
        "http://user@127.0.0.1:2375",
        "ssh://user@127.0.0.1",
    };
    for (size_t i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]); i++) {
        berth_docker_config cfg = {.endpoint = endpoints[i]};
        berth_docker *docker = NULL;
        berth_error err = BERTH_ERROR_INIT;
        if (berth_docker_open(&cfg, &docker, &err) == 0)
            fail_msg("endpoint \"%s\" was accepted", endpoints[i]);
        assert_null(docker);
        assert_int_equal(err.code, BERTH_E_INVALID);
        char quoted[256];
        snprintf(quoted, sizeof(quoted), "\"%s\"", endpoints[i]);
        assert_non_null(strstr(err.message, quoted));
        assert_non_null(strstr(err.message, "unix:///PATH, tcp://HOST:PORT"));
    }
}

static void endpoint_socket_path_too_long(void **state)
{
    (void)state;
    char endpoint[300] = "unix:///tmp/";
    memset(endpoint + strlen(endpoint), 'a', 200);
    berth_docker_config cfg = {.endpoint = endpoint};
    berth_docker *docker = NULL;
    berth_error err = BERTH_ERROR_INIT;

    assert_int_equal(berth_docker_open(&cfg, &docker, &err), -1);
    assert_int_equal(err.code, BERTH_E_INVALID);
    assert_non_null(strstr(err.message, "too long"));
}

static void open_missing_tls_file(void **state)
{
    (void)state;
    berth_docker_config cfg = {
        .endpoint = "tcp://127.0.0.1:2376",
        .tls_ca = "/nonexistent/berth-unit/ca.pem",
    };
    berth_docker *docker = NULL;
    berth_error err = BERTH_ERROR_INIT;

    assert_int_equal(berth_docker_open(&cfg, &docker, &err), -1);
    assert_int_equal(err.code, BERTH_E_NOT_FOUND);
    assert_non_null(strstr(err.message, "/nonexistent/berth-unit/ca.pem"));
}

static void open_negative_timeout(void **state)
{
    (void)state;
    berth_docker_config cfg = {.endpoint = "unix:///tmp/x.sock", .request_timeout_ms = -1};
    berth_docker *docker = NULL;
    berth_error err = BERTH_ERROR_INIT;

    assert_int_equal(berth_docker_open(&cfg, &docker, &err), -1);
    assert_int_equal(err.code, BERTH_E_INVALID);
    assert_non_null(strstr(err.message, "-1 ms"));
}

/* Opens a client for unix://path and returns the message of a failed
 * version request; the caller frees it. */
static char *unix_socket_error(const char *path)
{
    char *endpoint = berth_xasprintf("unix://%s", path);
    berth_docker_config cfg = {.endpoint = endpoint};
    berth_docker *docker = NULL;
    berth_error err = BERTH_ERROR_INIT;
    const char *version = NULL;

    assert_int_equal(berth_docker_open(&cfg, &docker, &err), 0);
    assert_int_equal(berth_docker_api_version(docker, &version, &err), -1);
    assert_int_equal(err.code, BERTH_E_UNREACHABLE);
    char *prefix = berth_xasprintf("cannot reach the Docker Engine at %s: ", endpoint);
    if (strncmp(err.message, prefix, strlen(prefix)) != 0)
        fail_msg("expected a message starting \"%s\", got: %s", prefix, err.message);
    /* libcurl's own text for a unix socket names a TCP port. */
    if (strstr(err.message, "port 80") != NULL)
        fail_msg("message names a TCP port: %s", err.message);
    free(prefix);
    free(endpoint);
    berth_docker_close(docker);
    return berth_xstrdup(err.message);
}

static void assert_contains(const char *text, const char *part)
{
    if (strstr(text, part) == NULL)
        fail_msg("expected \"%s\" in: %s", part, text);
}

static void unreachable_unix_socket(void **state)
{
    (void)state;
    char *message = unix_socket_error("/nonexistent/berth-unit/docker.sock");
    assert_contains(message,
                    "the socket file /nonexistent/berth-unit/docker.sock does not exist");
    free(message);
}

static void unix_socket_without_listener(void **state)
{
    (void)state;
    char dir[] = "/tmp/berth-unit-socket.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *path = berth_xasprintf("%s/docker.sock", dir);

    /* A socket file whose server has gone: bound, never listened, closed. */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    snprintf(address.sun_path, sizeof(address.sun_path), "%s", path);
    assert_int_equal(bind(fd, (struct sockaddr *)&address, sizeof(address)), 0);
    close(fd);
    char *message = unix_socket_error(path);
    char *expected = berth_xasprintf("nothing listens on the socket file %s", path);
    assert_contains(message, expected);
    free(expected);
    free(message);

    /* Write permission on the socket file is what connect() checks; root
     * is exempt, so only another user sees this case. */
    if (geteuid() != 0) {
        assert_int_equal(chmod(path, 0400), 0);
        message = unix_socket_error(path);
        expected = berth_xasprintf("permission denied on the socket file %s", path);
        assert_contains(message, expected);
        free(expected);
        free(message);
    }
    unlink(path);

    /* A regular file in place of the socket. */
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fclose(file);
    message = unix_socket_error(path);
    expected = berth_xasprintf("%s is not a socket", path);
    assert_contains(message, expected);
    free(expected);
    free(message);

    unlink(path);
    rmdir(dir);
    free(path);
}

static void unreachable_tcp_port(void **state)
{
    (void)state;
    /* Port 1 on the loopback address is expected to have no listener. */
    berth_docker_config cfg = {.endpoint = "tcp://127.0.0.1:1"};
    berth_docker *docker = NULL;
    berth_error err = BERTH_ERROR_INIT;
    json_t *reply = NULL;

    assert_int_equal(berth_docker_open(&cfg, &docker, &err), 0);
    assert_int_equal(berth_docker_info(docker, &reply, &err), -1);
    assert_null(reply);
    assert_int_equal(err.code, BERTH_E_UNREACHABLE);
    assert_non_null(strstr(err.message, "cannot reach the Docker Engine at tcp://127.0.0.1:1: "));
    berth_docker_close(docker);
}

/* Every variable config_from_env reads, cleared before each case. */
static void clear_docker_env(void)
{
    unsetenv("DOCKER_HOST");
    unsetenv("DOCKER_TLS_VERIFY");
    unsetenv("DOCKER_CERT_PATH");
}

static int restore_env(void **state)
{
    (void)state;
    clear_docker_env();
    return 0;
}

static void env_defaults(void **state)
{
    (void)state;
    clear_docker_env();
    berth_docker_config cfg;
    berth_docker_env_storage storage;

    berth_docker_config_from_env(&cfg, &storage);
    assert_string_equal(cfg.endpoint, "unix:///var/run/docker.sock");
    assert_null(cfg.tls_ca);
    assert_null(cfg.tls_cert);
    assert_null(cfg.tls_key);
    assert_false(cfg.tls_verify);
    assert_int_equal(cfg.request_timeout_ms, 0);
}

static void env_host_without_tls(void **state)
{
    (void)state;
    clear_docker_env();
    setenv("DOCKER_HOST", "tcp://127.0.0.1:2375", 1);
    setenv("DOCKER_TLS_VERIFY", "", 1);
    berth_docker_config cfg;
    berth_docker_env_storage storage;

    berth_docker_config_from_env(&cfg, &storage);
    assert_string_equal(cfg.endpoint, "tcp://127.0.0.1:2375");
    assert_null(cfg.tls_ca);
    assert_false(cfg.tls_verify);
}

static void env_empty_host_is_default(void **state)
{
    (void)state;
    clear_docker_env();
    setenv("DOCKER_HOST", "", 1);
    berth_docker_config cfg;
    berth_docker_env_storage storage;

    berth_docker_config_from_env(&cfg, &storage);
    assert_string_equal(cfg.endpoint, BERTH_DOCKER_DEFAULT_ENDPOINT);
}

static void env_tls_verify_with_cert_path(void **state)
{
    (void)state;
    clear_docker_env();
    setenv("DOCKER_HOST", "tcp://127.0.0.1:2376", 1);
    setenv("DOCKER_TLS_VERIFY", "1", 1);
    setenv("DOCKER_CERT_PATH", "/etc/berth-unit/certs", 1);
    berth_docker_config cfg;
    berth_docker_env_storage storage;

    berth_docker_config_from_env(&cfg, &storage);
    assert_string_equal(cfg.endpoint, "tcp://127.0.0.1:2376");
    assert_string_equal(cfg.tls_ca, "/etc/berth-unit/certs/ca.pem");
    assert_string_equal(cfg.tls_cert, "/etc/berth-unit/certs/cert.pem");
    assert_string_equal(cfg.tls_key, "/etc/berth-unit/certs/key.pem");
    assert_true(cfg.tls_verify);
}

static void env_tls_verify_uses_home(void **state)
{
    (void)state;
    clear_docker_env();
    const char *old_home = getenv("HOME");
    char *saved_home = old_home != NULL ? strdup(old_home) : NULL;
    setenv("HOME", "/home/berth-unit", 1);
    setenv("DOCKER_TLS_VERIFY", "1", 1);
    berth_docker_config cfg;
    berth_docker_env_storage storage;

    berth_docker_config_from_env(&cfg, &storage);
    if (saved_home != NULL)
        setenv("HOME", saved_home, 1);
    else
        unsetenv("HOME");
    free(saved_home);
    assert_string_equal(cfg.tls_ca, "/home/berth-unit/.docker/ca.pem");
    assert_string_equal(cfg.tls_cert, "/home/berth-unit/.docker/cert.pem");
    assert_string_equal(cfg.tls_key, "/home/berth-unit/.docker/key.pem");
    assert_true(cfg.tls_verify);
}

static void env_cert_path_without_verify(void **state)
{
    (void)state;
    clear_docker_env();
    setenv("DOCKER_CERT_PATH", "/etc/berth-unit/certs", 1);
    berth_docker_config cfg;
    berth_docker_env_storage storage;

    berth_docker_config_from_env(&cfg, &storage);
    assert_string_equal(cfg.tls_ca, "/etc/berth-unit/certs/ca.pem");
    assert_string_equal(cfg.tls_cert, "/etc/berth-unit/certs/cert.pem");
    assert_false(cfg.tls_verify);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(endpoint_valid_forms),
        cmocka_unit_test(endpoint_default_when_null),
        cmocka_unit_test(endpoint_invalid_forms),
        cmocka_unit_test(endpoint_socket_path_too_long),
        cmocka_unit_test(open_missing_tls_file),
        cmocka_unit_test(open_negative_timeout),
        cmocka_unit_test(unreachable_unix_socket),
        cmocka_unit_test(unix_socket_without_listener),
        cmocka_unit_test(unreachable_tcp_port),
        cmocka_unit_test_teardown(env_defaults, restore_env),
        cmocka_unit_test_teardown(env_host_without_tls, restore_env),
        cmocka_unit_test_teardown(env_empty_host_is_default, restore_env),
        cmocka_unit_test_teardown(env_tls_verify_with_cert_path, restore_env),
        cmocka_unit_test_teardown(env_tls_verify_uses_home, restore_env),
        cmocka_unit_test_teardown(env_cert_path_without_verify, restore_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
