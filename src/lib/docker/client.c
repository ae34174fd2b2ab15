/* The client: configuration, endpoint parsing, API version negotiation and
 * the generic JSON request. */
#include <errno.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include <curl/curl.h>

#include "core/util.h"
#include "docker/internal.h"

#define DEFAULT_REQUEST_TIMEOUT_MS (5L * 60 * 1000)

#define ENDPOINT_FORMS "unix:///PATH, tcp://HOST:PORT, http://HOST:PORT or https://HOST:PORT"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void init_curl(void)
{
    curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* Copies text into storage. An over-long value is cut.
 * NOTE: a cut DOCKER_HOST may still parse as a different valid endpoint,
 * because this function cannot return an error. */
static const char *store(char *storage, size_t size, const char *text)
{
    snprintf(storage, size, "%s", text);
    return storage;
}

/* Writes DIRECTORY/FILE into storage. An over-long result is cut, and
 * berth_docker_open() then reports the cut name as missing. */
static void join_path(char *storage, size_t size, const char *directory, const char *file)
{
    int length = snprintf(storage, size, "%s/%s", directory, file);
    if (length < 0 || (size_t)length >= size)
        storage[size - 1] = '\0';
}

static const char *home_directory(void)
{
    const char *home = getenv("HOME");
    if (home != NULL && *home != '\0')
        return home;
    struct passwd *entry = getpwuid(getuid());
    return entry != NULL && entry->pw_dir != NULL ? entry->pw_dir : "/";
}

void berth_docker_config_from_env(berth_docker_config *cfg, berth_docker_env_storage *storage)
{
    memset(cfg, 0, sizeof(*cfg));
    memset(storage, 0, sizeof(*storage));

    const char *host = getenv("DOCKER_HOST");
    if (host == NULL || *host == '\0')
        host = BERTH_DOCKER_DEFAULT_ENDPOINT;
    cfg->endpoint = store(storage->endpoint, sizeof(storage->endpoint), host);

    /* Like the docker CLI: DOCKER_TLS_VERIFY turns on TLS with verification,
     * and the certificates come from DOCKER_CERT_PATH or ~/.docker. A
     * DOCKER_CERT_PATH alone turns on TLS without verification. */
    const char *verify = getenv("DOCKER_TLS_VERIFY");
    const char *cert_path = getenv("DOCKER_CERT_PATH");
    bool verify_set = verify != NULL && *verify != '\0';
    bool cert_path_set = cert_path != NULL && *cert_path != '\0';
    if (!verify_set && !cert_path_set)
        return;

    char directory[1024];
    if (cert_path_set)
        snprintf(directory, sizeof(directory), "%s", cert_path);
    else
        snprintf(directory, sizeof(directory), "%s/.docker", home_directory());
    join_path(storage->ca, sizeof(storage->ca), directory, "ca.pem");
    join_path(storage->cert, sizeof(storage->cert), directory, "cert.pem");
    join_path(storage->key, sizeof(storage->key), directory, "key.pem");
    cfg->tls_ca = storage->ca;
    cfg->tls_cert = storage->cert;
    cfg->tls_key = storage->key;
    cfg->tls_verify = verify_set;
}

static int invalid_endpoint(const char *endpoint, const char *reason, berth_error *err)
{
    return berth_error_set(err, BERTH_E_INVALID,
                           "invalid Docker endpoint \"%s\": %s; expected " ENDPOINT_FORMS, endpoint,
                           reason);
}

/* Checks HOST[:PORT] (HOST may be a bracketed IPv6 address) and builds
 * scheme://HOST:PORT, using default_port when none is given. */
static int parse_host_port(const char *endpoint, const char *rest, const char *scheme,
                           const char *default_port, char **base_url, berth_error *err)
{
    const char *host_end;
    if (*rest == '[') {
        host_end = strchr(rest, ']');
        if (host_end == NULL)
            return invalid_endpoint(endpoint, "unclosed '[' in the host", err);
        host_end++;
    } else {
        host_end = rest + strcspn(rest, ":/?#");
    }
    size_t host_length = (size_t)(host_end - rest);
    if (host_length == 0 || (*rest == '[' && host_length <= 2))
        return invalid_endpoint(endpoint, "missing host", err);
    if (memchr(rest, '@', host_length) != NULL)
        return invalid_endpoint(endpoint, "user information is not supported", err);

    const char *port = default_port;
    const char *after = host_end;
    char port_text[8];
    if (*host_end == ':') {
        int64_t number;
        const char *port_start = host_end + 1;
        size_t port_length = strcspn(port_start, "/?#");
        if (port_length == 0 || port_length >= sizeof(port_text))
            return invalid_endpoint(endpoint, "invalid port", err);
        memcpy(port_text, port_start, port_length);
        port_text[port_length] = '\0';
        if (!berth_parse_int64(port_text, 1, 65535, &number))
            return invalid_endpoint(endpoint, "invalid port", err);
        port = port_text;
        after = port_start + port_length;
    }
    /* A trailing slash, as in http://127.0.0.1:2375/, is harmless. */
    if (!(*after == '\0' || (*after == '/' && after[1] == '\0')))
        return invalid_endpoint(endpoint, "a path, query or fragment is not supported", err);
    *base_url = berth_xasprintf("%s://%.*s:%s", scheme, (int)host_length, rest, port);
    return 0;
}

static int parse_endpoint(berth_docker *docker, const char *endpoint, bool tls, berth_error *err)
{
    if (*endpoint == '\0')
        return invalid_endpoint(endpoint, "empty", err);

    if (berth_str_has_prefix(endpoint, "unix://")) {
        const char *path = endpoint + strlen("unix://");
        struct sockaddr_un address;
        if (*path != '/')
            return invalid_endpoint(endpoint, "the socket path must be absolute", err);
        if (strlen(path) >= sizeof(address.sun_path))
            return invalid_endpoint(endpoint, "the socket path is too long", err);
        docker->socket_path = berth_xstrdup(path);
        docker->base_url = berth_xstrdup("http://localhost");
        return 0;
    }
    /* Ports 2376 and 2375 are the engine's registered ports with and
     * without TLS, the defaults of the docker CLI. */
    if (berth_str_has_prefix(endpoint, "tcp://"))
        return parse_host_port(endpoint, endpoint + strlen("tcp://"), tls ? "https" : "http",
                               tls ? "2376" : "2375", &docker->base_url, err);
    if (berth_str_has_prefix(endpoint, "http://"))
        return parse_host_port(endpoint, endpoint + strlen("http://"), "http", "80",
                               &docker->base_url, err);
    if (berth_str_has_prefix(endpoint, "https://"))
        return parse_host_port(endpoint, endpoint + strlen("https://"), "https", "443",
                               &docker->base_url, err);
    return invalid_endpoint(endpoint, "unknown scheme", err);
}

static int check_tls_file(const char *path, const char *what, berth_error *err)
{
    if (path == NULL)
        return 0;
    if (access(path, R_OK) < 0)
        return berth_error_set_errno(err, errno, "TLS %s %s", what, path);
    return 0;
}

static char *copy_optional(const char *text)
{
    return text != NULL && *text != '\0' ? berth_xstrdup(text) : NULL;
}

int berth_docker_open(const berth_docker_config *cfg, berth_docker **out, berth_error *err)
{
    *out = NULL;
    pthread_once(&curl_once, init_curl);
    if (curl_init_result != CURLE_OK)
        return berth_error_set(err, BERTH_E_INTERNAL, "curl_global_init failed: %s",
                               curl_easy_strerror(curl_init_result));
    if (cfg->request_timeout_ms < 0)
        return berth_error_set(err, BERTH_E_INVALID,
                               "invalid request timeout %d ms: must be 0 (default) or more",
                               cfg->request_timeout_ms);

    berth_docker *docker = berth_xcalloc(1, sizeof(*docker));
    docker->endpoint =
        berth_xstrdup(cfg->endpoint != NULL ? cfg->endpoint : BERTH_DOCKER_DEFAULT_ENDPOINT);
    docker->tls_ca = copy_optional(cfg->tls_ca);
    docker->tls_cert = copy_optional(cfg->tls_cert);
    docker->tls_key = copy_optional(cfg->tls_key);
    docker->tls_verify = cfg->tls_verify;
    docker->request_timeout_ms =
        cfg->request_timeout_ms > 0 ? cfg->request_timeout_ms : DEFAULT_REQUEST_TIMEOUT_MS;
    atomic_init(&docker->cancel_flag, NULL);
    pthread_mutex_init(&docker->version_lock, NULL);

    bool tls = docker->tls_ca != NULL || docker->tls_cert != NULL;
    if (parse_endpoint(docker, docker->endpoint, tls, err) < 0 ||
        check_tls_file(docker->tls_ca, "CA certificate", err) < 0 ||
        check_tls_file(docker->tls_cert, "client certificate", err) < 0 ||
        check_tls_file(docker->tls_key, "client key", err) < 0) {
        berth_docker_close(docker);
        return -1;
    }
    *out = docker;
    return 0;
}

void berth_docker_close(berth_docker *docker)
{
    if (docker == NULL)
        return;
    pthread_mutex_destroy(&docker->version_lock);
    free(docker->endpoint);
    free(docker->base_url);
    free(docker->socket_path);
    free(docker->tls_ca);
    free(docker->tls_cert);
    free(docker->tls_key);
    free(docker);
}

const char *berth_docker_endpoint(const berth_docker *docker)
{
    return docker->endpoint;
}

void berth_docker_set_cancel_flag(berth_docker *docker, const volatile sig_atomic_t *flag)
{
    atomic_store(&docker->cancel_flag, flag);
}

/* Parses "MAJOR.MINOR" into one comparable number. */
static bool parse_version(const char *text, long *out)
{
    char *end;
    errno = 0;
    long major = strtol(text, &end, 10);
    if (end == text || *end != '.' || errno != 0 || major < 0 || major > 65535)
        return false;
    const char *minor_text = end + 1;
    long minor = strtol(minor_text, &end, 10);
    if (end == minor_text || *end != '\0' || errno != 0 || minor < 0 || minor > 65535)
        return false;
    *out = major * 65536 + minor;
    return true;
}

/* Reads the engine's API version from the API-Version header of /_ping, or
 * from ApiVersion in /version when the engine sends no such header. */
static int read_engine_version(berth_docker *docker, char *version, size_t size, berth_error *err)
{
    berth_docker_call ping = {.method = "GET", .path = "/_ping", .unversioned = true};
    int ret = berth_docker_perform(docker, &ping, err);
    if (ret < 0 && ping.status == 0) {
        berth_docker_call_free(&ping);
        return -1;
    }
    if (ret == 0 && ping.api_version[0] != '\0') {
        snprintf(version, size, "%s", ping.api_version);
        berth_docker_call_free(&ping);
        return 0;
    }
    berth_docker_call_free(&ping);

    berth_docker_call call = {.method = "GET", .path = "/version", .unversioned = true};
    json_t *reply = NULL;
    if (berth_docker_perform(docker, &call, err) < 0 ||
        berth_docker_parse_reply(&call, &reply, err) < 0) {
        berth_docker_call_free(&call);
        return berth_error_prefix(err, "read the engine's API version");
    }
    berth_docker_call_free(&call);
    const char *text = json_string_value(json_object_get(reply, "ApiVersion"));
    if (text == NULL) {
        json_decref(reply);
        return berth_error_set(err, BERTH_E_ENGINE,
                               "the Docker Engine at %s reported no API version in /_ping or "
                               "/version",
                               docker->endpoint);
    }
    snprintf(version, size, "%s", text);
    json_decref(reply);
    return 0;
}

static int negotiate(berth_docker *docker, berth_error *err)
{
    char engine_version[64];
    if (read_engine_version(docker, engine_version, sizeof(engine_version), err) < 0)
        return -1;

    long engine, minimum, maximum;
    if (!parse_version(engine_version, &engine))
        return berth_error_set(err, BERTH_E_ENGINE,
                               "the Docker Engine at %s reported an invalid API version \"%s\"",
                               docker->endpoint, engine_version);
    parse_version(BERTH_DOCKER_API_MIN, &minimum);
    parse_version(BERTH_DOCKER_API_MAX, &maximum);
    if (engine < minimum)
        return berth_error_set(err, BERTH_E_ENGINE,
                               "the Docker Engine at %s speaks API %s, older than the minimum "
                               "%s that berth supports; upgrade the engine",
                               docker->endpoint, engine_version, BERTH_DOCKER_API_MIN);
    long chosen = engine < maximum ? engine : maximum;
    snprintf(docker->api_version, sizeof(docker->api_version), "%ld.%ld", chosen / 65536,
             chosen % 65536);
    return 0;
}

int berth_docker_api_version(berth_docker *docker, const char **version, berth_error *err)
{
    pthread_mutex_lock(&docker->version_lock);
    int ret = 0;
    if (!docker->version_negotiated) {
        ret = negotiate(docker, err);
        docker->version_negotiated = ret == 0;
    }
    pthread_mutex_unlock(&docker->version_lock);
    if (ret < 0)
        return -1;
    *version = docker->api_version;
    return 0;
}

int berth_docker_request(berth_docker *docker, const char *method, const char *path,
                         const char *query, const json_t *body, long *status, json_t **reply,
                         berth_error *err)
{
    if (reply != NULL)
        *reply = NULL;
    if (path == NULL || *path != '/')
        return berth_error_set(err, BERTH_E_INVALID, "request path \"%s\" must start with '/'",
                               path != NULL ? path : "");

    berth_autofree char *body_text = NULL;
    if (body != NULL) {
        body_text = json_dumps(body, JSON_COMPACT);
        if (body_text == NULL)
            return berth_error_set(err, BERTH_E_INVALID, "cannot encode the body of %s %s", method,
                                   path);
    }
    berth_docker_call call = {
        .method = method,
        .path = path,
        .query = query,
        .content_type = body != NULL ? "application/json" : NULL,
        .body = body_text,
        .body_length = body_text != NULL ? strlen(body_text) : 0,
    };
    int ret = berth_docker_perform(docker, &call, err);
    if (status != NULL)
        *status = call.status;
    if (ret == 0 && reply != NULL)
        ret = berth_docker_parse_reply(&call, reply, err);
    berth_docker_call_free(&call);
    return ret;
}

int berth_docker_version(berth_docker *docker, json_t **out, berth_error *err)
{
    return berth_docker_request(docker, "GET", "/version", NULL, NULL, NULL, out, err);
}

int berth_docker_info(berth_docker *docker, json_t **out, berth_error *err)
{
    return berth_docker_request(docker, "GET", "/info", NULL, NULL, NULL, out, err);
}

int berth_docker_network_inspect(berth_docker *docker, const char *name, json_t **out,
                                 berth_error *err)
{
    if (berth_docker_check_name(name, "network name", err) < 0)
        return -1;
    berth_autofree char *escaped = berth_docker_escape(name, false);
    berth_autofree char *path = berth_xasprintf("/networks/%s", escaped);
    return berth_docker_request(docker, "GET", path, NULL, NULL, NULL, out, err);
}
