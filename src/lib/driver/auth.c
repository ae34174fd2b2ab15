/* Registry credentials from the agent's auth file and credential helpers.
 * See auth.h for the lookup order. */
#include "driver/auth.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/util.h"

extern char **environ;

/* --- Small helpers ---------------------------------------------------------- */

static void wipe_free(char *text)
{
    if (text == NULL)
        return;
    /* Keep the compiler from dropping the wipe of memory about to be freed. */
    volatile char *p = text;
    while (*p != '\0')
        *p++ = '\0';
    free(text);
}

void berth_registry_auth_clear(berth_docker_auth *auth)
{
    if (auth == NULL)
        return;
    free(auth->username);
    wipe_free(auth->password);
    free(auth->email);
    free(auth->server_address);
    memset(auth, 0, sizeof(*auth));
}

static int base64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

/* Decodes standard or URL-safe base64, with or without '=' padding. Returns
 * a new NUL-terminated string, or NULL when text is not base64 or decodes
 * to a NUL byte. */
static char *base64_decode(const char *text)
{
    size_t length = strlen(text);
    while (length > 0 && text[length - 1] == '=')
        length--;
    if (length % 4 == 1)
        return NULL;
    /* Zeroed, so wipe_free() finds a NUL after a partial decode. */
    char *out = berth_xcalloc(length / 4 * 3 + 3, 1);
    size_t o = 0;
    unsigned accumulator = 0;
    int bits = 0;
    for (size_t i = 0; i < length; i++) {
        int value = base64_value((unsigned char)text[i]);
        if (value < 0) {
            wipe_free(out);
            return NULL;
        }
        accumulator = (accumulator << 6) | (unsigned)value;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            char byte = (char)((accumulator >> bits) & 0xff);
            if (byte == '\0') {
                out[o] = '\0';
                wipe_free(out);
                return NULL;
            }
            out[o++] = byte;
        }
    }
    out[o] = '\0';
    return out;
}

/* --- Matching registry keys -------------------------------------------------- */

static bool is_docker_hub(const char *host, size_t length)
{
    static const char *const names[] = {"docker.io", "index.docker.io", "registry-1.docker.io"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strlen(names[i]) == length && strncmp(names[i], host, length) == 0)
            return true;
    }
    return false;
}

/* Whether a file key names registry. Keys are written as "HOST[:PORT]",
 * "https://HOST[:PORT][/PATH]" (Docker Hub's is "https://index.docker.io/v1/")
 * or "http://HOST[:PORT]"; the http form matches only when the task talks to
 * the registry without TLS (ssl false). */
static bool key_matches(const char *key, const char *registry, bool ssl)
{
    const char *host = key;
    if (berth_str_has_prefix(host, "https://")) {
        host += strlen("https://");
    } else if (berth_str_has_prefix(host, "http://")) {
        if (ssl)
            return false;
        host += strlen("http://");
    }
    size_t length = strcspn(host, "/");
    if (strlen(registry) == length && strncmp(registry, host, length) == 0)
        return true;
    return is_docker_hub(registry, strlen(registry)) && is_docker_hub(host, length);
}

/* Finds the value of the best key for registry in object: the bare key
 * first, then any other form. */
static json_t *find_registry_entry(const json_t *object, const char *registry, bool ssl,
                                   const char **matched_key)
{
    json_t *exact = json_object_get(object, registry);
    if (exact != NULL) {
        *matched_key = registry;
        return exact;
    }
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)object, key, value)
    {
        if (key_matches(key, registry, ssl)) {
            *matched_key = key;
            return value;
        }
    }
    return NULL;
}

/* --- Entries --------------------------------------------------------------- */

/* Decodes one auths entry. An entry without "auth" and without
 * "username"/"password" (as Docker writes when a helper keeps the secret)
 * sets *found to false. */
static int decode_entry(const json_t *entry, const char *source, const char *key,
                        const char *registry, berth_docker_auth *out, bool *found,
                        berth_error *err)
{
    *found = false;
    if (!json_is_object(entry))
        return berth_error_set(err, BERTH_E_INVALID,
                               "auth file %s: the entry for \"%s\" must be an object", source,
                               key);
    const char *encoded = json_string_value(json_object_get(entry, "auth"));
    const char *username = json_string_value(json_object_get(entry, "username"));
    const char *password = json_string_value(json_object_get(entry, "password"));
    const char *email = json_string_value(json_object_get(entry, "email"));

    if (encoded != NULL && *encoded != '\0') {
        char *decoded = base64_decode(encoded);
        char *colon = decoded != NULL ? strchr(decoded, ':') : NULL;
        if (colon == NULL) {
            wipe_free(decoded);
            return berth_error_set(err, BERTH_E_INVALID,
                                   "auth file %s: the \"auth\" value for \"%s\" is invalid; "
                                   "expected base64 of USERNAME:PASSWORD",
                                   source, key);
        }
        *colon = '\0';
        out->username = berth_xstrdup(decoded);
        out->password = berth_xstrdup(colon + 1);
        *colon = ':';
        wipe_free(decoded);
    } else if ((username != NULL && *username != '\0') || (password != NULL && *password != '\0')) {
        out->username = berth_xstrdup(username != NULL ? username : "");
        out->password = berth_xstrdup(password != NULL ? password : "");
    } else {
        return 0;
    }
    if (email != NULL && *email != '\0')
        out->email = berth_xstrdup(email);
    out->server_address = berth_xstrdup(registry);
    out->present = true;
    *found = true;
    return 0;
}

int berth_registry_auth_from_json(const json_t *root, const char *source, const char *registry,
                                  bool ssl, berth_docker_auth *out, bool *found, berth_error *err)
{
    memset(out, 0, sizeof(*out));
    *found = false;
    if (!json_is_object(root))
        return berth_error_set(err, BERTH_E_INVALID,
                               "auth file %s must contain a JSON object, as Docker's "
                               "config.json does",
                               source);

    /* A config.json keeps entries under "auths"; a legacy .dockercfg is
     * itself the map of entries. */
    const json_t *auths = json_object_get(root, "auths");
    if (auths == NULL && json_object_get(root, "credHelpers") == NULL &&
        json_object_get(root, "credsStore") == NULL)
        auths = root;
    if (auths != NULL && !json_is_object(auths))
        return berth_error_set(err, BERTH_E_INVALID, "auth file %s: \"auths\" must be an object",
                               source);

    const char *key = NULL;
    const json_t *entry = auths != NULL ? find_registry_entry(auths, registry, ssl, &key) : NULL;
    if (entry != NULL) {
        if (decode_entry(entry, source, key, registry, out, found, err) < 0)
            return -1;
        if (*found)
            return 0;
    }

    const char *helper = NULL;
    const json_t *helpers = json_object_get(root, "credHelpers");
    if (json_is_object(helpers)) {
        const json_t *name = find_registry_entry(helpers, registry, ssl, &key);
        helper = json_string_value(name);
    }
    if (helper == NULL)
        helper = json_string_value(json_object_get(root, "credsStore"));
    if (helper == NULL || *helper == '\0')
        return 0;
    if (berth_registry_auth_from_helper(helper, registry, out, found, err) < 0)
        return berth_error_prefix(err, "auth file %s", source);
    return 0;
}

int berth_registry_auth_from_file(const char *path, const char *registry, bool ssl,
                                  berth_docker_auth *out, bool *found, berth_error *err)
{
    memset(out, 0, sizeof(*out));
    *found = false;
    char *text = NULL;
    size_t length = 0;
    if (berth_read_file(path, BERTH_AUTH_FILE_MAX, &text, &length, err) < 0)
        return berth_error_prefix(err, "read auth file (docker.auth.config)");
    json_error_t json_error;
    json_t *root = json_loadb(text, length, 0, &json_error);
    /* The text contains passwords in base64 or in the clear. */
    memset(text, 0, length);
    free(text);
    if (root == NULL)
        return berth_error_set(err, BERTH_E_INVALID, "auth file %s is not valid JSON: line %d: %s",
                               path, json_error.line, json_error.text);
    int rc = berth_registry_auth_from_json(root, path, registry, ssl, out, found, err);
    json_decref(root);
    return rc;
}

/* --- Credential helpers ---------------------------------------------------- */

static bool valid_helper_name(const char *name)
{
    if (*name == '\0')
        return false;
    for (const char *p = name; *p != '\0'; p++) {
        bool allowed = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                       (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.';
        if (!allowed)
            return false;
    }
    return true;
}

/* Writes the registry to the helper's standard input without letting a
 * helper that exits early kill berth with SIGPIPE: the signal is blocked for
 * this thread and a pending one is consumed. */
static void write_input(int fd, const char *text)
{
    sigset_t pipe_set, old_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
    size_t length = strlen(text);
    bool broken = false;
    while (length > 0) {
        ssize_t written = write(fd, text, length);
        if (written < 0) {
            if (errno == EINTR)
                continue;
            broken = errno == EPIPE;
            break;
        }
        text += written;
        length -= (size_t)written;
    }
    if (broken) {
        struct timespec zero = {0, 0};
        sigtimedwait(&pipe_set, NULL, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old_set, NULL);
}

/* Reads the helper's stdout and stderr until both close, the output passes
 * its maximum, or the deadline passes. Returns 0, or -1 with err. */
static int read_output(int out_fd, int err_fd, berth_buf *out, berth_buf *errors,
                       const char *program, berth_error *err)
{
    int64_t deadline = berth_now_ms() + BERTH_AUTH_HELPER_TIMEOUT_MS;
    struct pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
    berth_buf *buffers[2] = {out, errors};
    int open_count = 2;
    while (open_count > 0) {
        int64_t remaining = deadline - berth_now_ms();
        if (remaining <= 0)
            return berth_error_set(err, BERTH_E_IO, "credential helper %s timed out after %d s",
                                   program, BERTH_AUTH_HELPER_TIMEOUT_MS / 1000);
        int ready = poll(fds, 2, (int)remaining);
        if (ready < 0) {
            if (errno == EINTR)
                continue;
            return berth_error_set_errno(err, errno, "wait for credential helper %s", program);
        }
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || fds[i].revents == 0)
                continue;
            char chunk[4096];
            ssize_t count = read(fds[i].fd, chunk, sizeof(chunk));
            if (count < 0 && errno == EINTR)
                continue;
            if (count <= 0) {
                fds[i].fd = -1;
                open_count--;
                continue;
            }
            if (berth_buf_append(buffers[i], chunk, (size_t)count, err) < 0)
                return berth_error_prefix(err, "credential helper %s output", program);
        }
    }
    return 0;
}

/* Trims trailing white space in place, for messages. */
static const char *trim_end(berth_buf *buf)
{
    while (buf->length > 0 && (buf->data[buf->length - 1] == '\n' ||
                               buf->data[buf->length - 1] == '\r' ||
                               buf->data[buf->length - 1] == ' '))
        buf->data[--buf->length] = '\0';
    return buf->data != NULL ? buf->data : "";
}

static int parse_helper_reply(const char *program, const char *registry, berth_buf *output,
                              berth_docker_auth *out, bool *found, berth_error *err)
{
    json_t *reply = json_loadb(output->data != NULL ? output->data : "", output->length, 0, NULL);
    const char *username = json_string_value(json_object_get(reply, "Username"));
    const char *secret = json_string_value(json_object_get(reply, "Secret"));
    int rc = 0;
    if (secret == NULL) {
        rc = berth_error_set(err, BERTH_E_INVALID,
                             "credential helper %s returned no JSON object with \"Secret\" for "
                             "registry %s",
                             program, registry);
    } else if (username != NULL && strcmp(username, "<token>") == 0) {
        /* NOTE: Docker sends such a secret as an identity token, which
         * berth_docker_auth has no field for. */
        rc = berth_error_set(err, BERTH_E_INVALID,
                             "credential helper %s returned an identity token for registry %s; "
                             "berth supports only a username and password",
                             program, registry);
    } else {
        out->username = berth_xstrdup(username != NULL ? username : "");
        out->password = berth_xstrdup(secret);
        out->server_address = berth_xstrdup(registry);
        out->present = true;
        *found = true;
    }
    json_decref(reply);
    return rc;
}

int berth_registry_auth_from_helper(const char *name, const char *registry,
                                    berth_docker_auth *out, bool *found, berth_error *err)
{
    memset(out, 0, sizeof(*out));
    *found = false;
    if (!valid_helper_name(name))
        return berth_error_set(err, BERTH_E_INVALID,
                               "invalid credential helper name \"%s\"; use letters, digits, "
                               "'-', '_' and '.'",
                               name);
    berth_autofree char *program = berth_xasprintf("docker-credential-%s", name);

    int in_pipe[2] = {-1, -1}, out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
    berth_buf output, errors;
    berth_buf_init(&output, BERTH_AUTH_HELPER_OUTPUT_MAX);
    berth_buf_init(&errors, BERTH_AUTH_HELPER_OUTPUT_MAX);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    pid_t pid = -1;
    int rc = -1;

    if (pipe2(in_pipe, O_CLOEXEC) < 0 || pipe2(out_pipe, O_CLOEXEC) < 0 ||
        pipe2(err_pipe, O_CLOEXEC) < 0) {
        berth_error_set_errno(err, errno, "create pipes for credential helper %s", program);
        goto out;
    }
    posix_spawn_file_actions_adddup2(&actions, in_pipe[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
    char *argv[] = {program, "get", NULL};
    int spawn_rc = posix_spawnp(&pid, program, &actions, NULL, argv, environ);
    if (spawn_rc != 0) {
        pid = -1;
        berth_error_set_errno(err, spawn_rc, "run credential helper %s (looked up on PATH)",
                              program);
        goto out;
    }
    close(in_pipe[0]);
    close(out_pipe[1]);
    close(err_pipe[1]);
    in_pipe[0] = out_pipe[1] = err_pipe[1] = -1;

    write_input(in_pipe[1], registry);
    close(in_pipe[1]);
    in_pipe[1] = -1;

    if (read_output(out_pipe[0], err_pipe[0], &output, &errors, program, err) < 0) {
        kill(pid, SIGKILL);
        goto out;
    }

    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    pid = -1;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        /* Docker's helpers print this on standard output when they hold
         * nothing for the registry; that is no credentials, not a failure. */
        if (output.data != NULL && strstr(output.data, "credentials not found") != NULL) {
            rc = 0;
            goto out;
        }
        char how[64];
        if (WIFEXITED(status))
            snprintf(how, sizeof(how), "exit status %d", WEXITSTATUS(status));
        else
            snprintf(how, sizeof(how), "signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        berth_error_set(err, BERTH_E_IO,
                        "credential helper %s with input \"%s\" failed (%s) with stderr: %s",
                        program, registry, how, trim_end(&errors));
        goto out;
    }
    rc = parse_helper_reply(program, registry, &output, out, found, err);

out:
    if (pid > 0) {
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
        }
    }
    int fds[] = {in_pipe[0], in_pipe[1], out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]};
    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
        if (fds[i] >= 0)
            close(fds[i]);
    }
    posix_spawn_file_actions_destroy(&actions);
    /* The output contains the secret. */
    if (output.data != NULL)
        memset(output.data, 0, output.length);
    berth_buf_free(&output);
    berth_buf_free(&errors);
    return rc;
}
