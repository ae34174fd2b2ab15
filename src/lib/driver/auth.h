/* Registry credentials from the agent's auth file (docker.auth.config).
 *
 * The file is a Docker CLI `config.json` ({"auths": {...}, "credHelpers":
 * {...}, "credsStore": "..."}) or a legacy `.dockercfg` (a top-level map of
 * registry to {"auth", "email"}). For a registry the lookup tries, in order:
 * an `auths` entry with credentials, `credHelpers[registry]`, `credsStore`.
 * A credential helper is run as `docker-credential-NAME get` (found on
 * PATH) with the registry host on its standard input.
 *
 * Passwords never appear in an error message or a log line. */
#ifndef BERTH_DRIVER_AUTH_H
#define BERTH_DRIVER_AUTH_H

#include <stdbool.h>

#include <jansson.h>

#include "core/error.h"
#include "driver/task_config.h"

/* Maximum size of an auth file, and of a credential helper's output. */
#define BERTH_AUTH_FILE_MAX (1024u * 1024)
#define BERTH_AUTH_HELPER_OUTPUT_MAX (64u * 1024)
/* How long a credential helper may run before it is killed. */
#define BERTH_AUTH_HELPER_TIMEOUT_MS 30000

/* Looks up credentials for registry ("127.0.0.1:5000", or "docker.io" for
 * Docker Hub) in the auth file at path. ssl is the task's SSL option: when
 * false, an entry keyed "http://REGISTRY" also matches. On success *found
 * reports whether credentials were found. When true, out contains new strings
 * (free with berth_registry_auth_clear). A missing or unreadable file, an
 * invalid file, or a failing helper is an error naming the file or the
 * helper. */
int berth_registry_auth_from_file(const char *path, const char *registry, bool ssl,
                                  berth_docker_auth *out, bool *found, berth_error *err);

/* The same lookup on a parsed file; source names the file in messages. */
int berth_registry_auth_from_json(const json_t *root, const char *source, const char *registry,
                                  bool ssl, berth_docker_auth *out, bool *found,
                                  berth_error *err);

/* Runs `docker-credential-NAME get` with registry on standard input and
 * reads {"Username", "Secret"} from its output. A helper's "credentials not
 * found" reply sets *found to false; any other non-zero exit, a time-out or
 * invalid output is an error that carries the helper's standard error. */
int berth_registry_auth_from_helper(const char *name, const char *registry,
                                    berth_docker_auth *out, bool *found, berth_error *err);

/* Wipes the password and frees every string in auth. */
void berth_registry_auth_clear(berth_docker_auth *auth);

#endif
