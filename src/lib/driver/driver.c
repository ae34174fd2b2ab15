#include "driver/driver.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/util.h"
#include "driver/auth.h"
#include "driver/driver_internal.h"
#include "driver/task_config.h"
#include "taskenv/interp.h"

/* How many times a create that collides with an existing container of the
 * same name is retried after removing that container. */
#define CREATE_ATTEMPTS 3

int berth_driver_open(berth_docker *docker, const berth_driver_options *options,
                      berth_driver **out, berth_error *err)
{
    berth_driver *driver = berth_xcalloc(1, sizeof(*driver));
    driver->docker = docker;
    driver->options = *options;
    if (options->selinux_label != NULL && *options->selinux_label != '\0')
        driver->selinux_label = berth_xstrdup(options->selinux_label);
    driver->options.selinux_label = driver->selinux_label;
    if (options->auth_config != NULL && *options->auth_config != '\0')
        driver->auth_config = berth_xstrdup(options->auth_config);
    driver->options.auth_config = driver->auth_config;
    pthread_mutex_init(&driver->images_lock, NULL);
    pthread_cond_init(&driver->images_changed, NULL);
    *out = driver;
    return 0;
}

void berth_driver_close(berth_driver *driver)
{
    if (driver == NULL)
        return;
    image_entry *entry = driver->images;
    while (entry != NULL) {
        image_entry *next = entry->next;
        free(entry->reference);
        free(entry->image_id);
        free(entry);
        entry = next;
    }
    pthread_mutex_destroy(&driver->images_lock);
    pthread_cond_destroy(&driver->images_changed);
    free(driver->selinux_label);
    free(driver->auth_config);
    free(driver);
}

void berth_task_handle_free(berth_task_handle *handle)
{
    if (handle == NULL)
        return;
    free(handle->container_id);
    free(handle->container_name);
    free(handle->image);
    free(handle->image_id);
    free(handle->kill_signal);
    berth_value_free(handle->env);
    free(handle);
}

/* --- Registry auth -------------------------------------------------------- */

static char *base64url_encode(const unsigned char *data, size_t length)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char *out = berth_xmalloc((length + 2) / 3 * 4 + 1);
    size_t o = 0;
    for (size_t i = 0; i < length; i += 3) {
        unsigned value = (unsigned)data[i] << 16;
        if (i + 1 < length)
            value |= (unsigned)data[i + 1] << 8;
        if (i + 2 < length)
            value |= data[i + 2];
        out[o++] = alphabet[(value >> 18) & 63];
        out[o++] = alphabet[(value >> 12) & 63];
        out[o++] = i + 1 < length ? alphabet[(value >> 6) & 63] : '=';
        out[o++] = i + 2 < length ? alphabet[value & 63] : '=';
    }
    out[o] = '\0';
    return out;
}

char *berth_driver_registry_auth(const berth_docker_auth *auth)
{
    json_t *object = json_object();
    if (auth->username != NULL)
        json_object_set_new(object, "username", json_string(auth->username));
    if (auth->password != NULL)
        json_object_set_new(object, "password", json_string(auth->password));
    if (auth->email != NULL)
        json_object_set_new(object, "email", json_string(auth->email));
    if (auth->server_address != NULL)
        json_object_set_new(object, "serveraddress", json_string(auth->server_address));
    char *text = json_dumps(object, JSON_COMPACT);
    json_decref(object);
    char *encoded = base64url_encode((const unsigned char *)text, strlen(text));
    /* The JSON contains the password, so it is wiped before it is freed. */
    memset(text, 0, strlen(text));
    free(text);
    return encoded;
}

/* Picks the credentials for a pull, in Nomad's order: the task's auth
 * block, then the agent's auth file (docker.auth.config), then none. Stores
 * the X-Registry-Auth header value, or NULL, in *header. */
static int resolve_registry_auth(berth_driver *driver, const berth_docker_task_config *config,
                                 const berth_image_ref *ref, char **header, berth_error *err)
{
    *header = NULL;
    if (config->auth.present) {
        *header = berth_driver_registry_auth(&config->auth);
        return 0;
    }
    if (driver->auth_config == NULL)
        return 0;
    berth_docker_auth auth;
    bool found = false;
    if (berth_registry_auth_from_file(driver->auth_config, ref->registry, config->ssl, &auth,
                                      &found, err) < 0)
        return berth_error_prefix(err, "registry credentials for %s", ref->registry);
    if (found)
        *header = berth_driver_registry_auth(&auth);
    else
        berth_log(BERTH_LOG_DEBUG, "no registry credentials in the auth file", "registry",
                  ref->registry, "auth_config", driver->auth_config, NULL);
    berth_registry_auth_clear(&auth);
    return 0;
}

/* --- Validation ----------------------------------------------------------- */

static bool is_shared_network_mode(const char *mode)
{
    return mode != NULL && (strcmp(mode, "host") == 0 || berth_str_has_prefix(mode, "container:"));
}

/* Agent gates and combinations the engine would reject, checked before
 * any container exists so the error is berth's own and clear. */
static int check_gates(const berth_driver_options *options, const berth_docker_task_config *config,
                       berth_error *err)
{
    if (config->privileged && !options->allow_privileged)
        return berth_error_set(err, BERTH_E_INVALID,
                               "config option \"privileged\" is true, but privileged containers "
                               "are disabled on this agent; set the client option "
                               "docker.privileged.enabled = \"true\" to allow them");
    static const struct {
        const char *option;
        size_t offset;
    } modes[] = {
        {"ipc_mode", offsetof(berth_docker_task_config, ipc_mode)},
        {"pid_mode", offsetof(berth_docker_task_config, pid_mode)},
        {"uts_mode", offsetof(berth_docker_task_config, uts_mode)},
    };
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        const char *value = *(char *const *)((const char *)config + modes[i].offset);
        if (value != NULL && *value != '\0' && !options->allow_privileged)
            return berth_error_set(err, BERTH_E_INVALID,
                                   "config option \"%s\" = \"%s\" needs privileged containers, "
                                   "which are disabled on this agent; set the client option "
                                   "docker.privileged.enabled = \"true\" to allow it",
                                   modes[i].option, value);
    }
    if (is_shared_network_mode(config->network_mode)) {
        if (config->hostname != NULL)
            return berth_error_set(err, BERTH_E_INVALID,
                                   "config option \"hostname\" cannot be used with network_mode "
                                   "\"%s\": the container shares that network namespace's "
                                   "hostname",
                                   config->network_mode);
        if (config->dns_servers.length > 0 || config->dns_search_domains.length > 0)
            return berth_error_set(err, BERTH_E_INVALID,
                                   "config options \"dns_servers\" and \"dns_search_domains\" "
                                   "cannot be used with network_mode \"%s\": the container "
                                   "shares that network namespace's DNS settings",
                                   config->network_mode);
    }
    return 0;
}

/* Every port_map label must name one of the task's ports. */
static int check_port_map(const berth_docker_task_config *config, const berth_value *raw_config,
                          const char *const *port_labels, size_t port_count, berth_error *err)
{
    if (config->port_map.length == 0)
        return 0;
    char origin[512];
    berth_value_describe_origin(berth_value_map_get(raw_config, "port_map"), origin,
                                sizeof(origin));
    if (port_count == 0)
        return berth_error_set(err, BERTH_E_INVALID,
                               "%sconfig option \"port_map\" maps port \"%s\", but the task has "
                               "no network ports; add resources { network { port \"%s\" {} } }",
                               origin, config->port_map.items[0].key,
                               config->port_map.items[0].key);
    for (size_t i = 0; i < config->port_map.length; i++) {
        bool found = false;
        for (size_t j = 0; j < port_count && !found; j++)
            found = strcmp(port_labels[j], config->port_map.items[i].key) == 0;
        if (!found)
            return berth_error_set(err, BERTH_E_INVALID,
                                   "%sport_map label \"%s\" has no port in the task's network "
                                   "block; declare port \"%s\" {}",
                                   origin, config->port_map.items[i].key,
                                   config->port_map.items[i].key);
    }
    return 0;
}

int berth_driver_validate_config(const berth_driver_options *options, const berth_value *config,
                                 const char *const *port_labels, size_t port_count,
                                 berth_error *err)
{
    berth_docker_task_config decoded;
    int rc = berth_docker_task_config_check(config, &decoded, err);
    if (rc == 0)
        rc = check_gates(options, &decoded, err);
    if (rc == 0)
        rc = check_port_map(&decoded, config, port_labels, port_count, err);
    if (rc == 0) {
        /* Images with ${...} are checked once interpolated, at start. */
        berth_image_ref ref;
        if (strstr(decoded.image, "${") == NULL) {
            rc = berth_image_ref_parse(decoded.image, &ref, err);
            if (rc == 0)
                berth_image_ref_free(&ref);
        }
    }
    berth_docker_task_config_free(&decoded);
    return rc;
}

/* --- Create body ---------------------------------------------------------- */

static json_t *string_array(const berth_string_list *list)
{
    json_t *array = json_array();
    for (size_t i = 0; i < list->length; i++)
        json_array_append_new(array, json_string(list->items[i]));
    return array;
}

static void add_bind(json_t *binds, const char *source, const char *target, const char *label)
{
    berth_autofree char *bind = label != NULL ? berth_xasprintf("%s:%s:%s", source, target, label)
                                              : berth_xasprintf("%s:%s", source, target);
    json_array_append_new(binds, json_string(bind));
}

static int add_ports(const berth_task_request *request, const berth_docker_task_config *config,
                     json_t *body, json_t *host_config, berth_error *err)
{
    const char **labels = berth_xcalloc(request->port_count + 1, sizeof(char *));
    for (size_t i = 0; i < request->port_count; i++)
        labels[i] = request->ports[i].label;
    int rc = check_port_map(config, request->config, labels, request->port_count, err);
    free(labels);
    if (rc < 0)
        return -1;
    if (request->port_count == 0)
        return 0;

    json_t *exposed = json_object();
    json_t *bindings = json_object();
    static const char *const protocols[] = {"tcp", "udp"};
    for (size_t i = 0; i < request->port_count; i++) {
        const berth_port_binding *port = &request->ports[i];
        int container_port = berth_docker_task_config_mapped_port(config, port->label);
        if (container_port == 0)
            container_port = port->host_port;
        char host_port[16];
        snprintf(host_port, sizeof(host_port), "%d", port->host_port);
        for (size_t p = 0; p < 2; p++) {
            char key[32];
            snprintf(key, sizeof(key), "%d/%s", container_port, protocols[p]);
            json_object_set_new(exposed, key, json_object());
            json_t *list = json_object_get(bindings, key);
            if (list == NULL) {
                list = json_array();
                json_object_set_new(bindings, key, list);
            }
            json_t *binding = json_object();
            json_object_set_new(binding, "HostIp", json_string(port->host_ip));
            json_object_set_new(binding, "HostPort", json_string(host_port));
            json_array_append_new(list, binding);
        }
    }
    json_object_set_new(body, "ExposedPorts", exposed);
    json_object_set_new(host_config, "PortBindings", bindings);
    return 0;
}

json_t *berth_driver_create_body(const berth_driver_options *options,
                                 const berth_task_request *request,
                                 const berth_docker_task_config *config, const char *image,
                                 const berth_value *env, berth_error *err)
{
    json_t *body = json_object();
    json_t *host_config = json_object();
    json_object_set_new(body, "Image", json_string(image));

    if (config->command != NULL) {
        json_t *cmd = json_array();
        json_array_append_new(cmd, json_string(config->command));
        for (size_t i = 0; i < config->args.length; i++)
            json_array_append_new(cmd, json_string(config->args.items[i]));
        json_object_set_new(body, "Cmd", cmd);
    } else if (config->args.length > 0) {
        /* Nomad passes args as the whole Cmd when there is no command, so
         * they reach the image's entrypoint. */
        json_object_set_new(body, "Cmd", string_array(&config->args));
    }

    json_t *env_array = json_array();
    for (size_t i = 0; env != NULL && i < env->as.map.length; i++) {
        const berth_value *value = env->as.map.values[i];
        if (value->kind != BERTH_VALUE_STRING)
            continue;
        berth_autofree char *entry = berth_xasprintf("%s=%s", env->as.map.keys[i], value->as.string);
        json_array_append_new(env_array, json_string(entry));
    }
    json_object_set_new(body, "Env", env_array);

    json_t *labels = json_object();
    for (size_t i = 0; i < config->labels.length; i++)
        json_object_set_new(labels, config->labels.items[i].key,
                            json_string(config->labels.items[i].value));
    if (request->extra_labels != NULL) {
        for (size_t i = 0; i < request->extra_labels->as.map.length; i++) {
            const berth_value *value = request->extra_labels->as.map.values[i];
            if (value->kind == BERTH_VALUE_STRING)
                json_object_set_new(labels, request->extra_labels->as.map.keys[i],
                                    json_string(value->as.string));
        }
    }
    json_object_set_new(body, "Labels", labels);

    if (config->hostname != NULL)
        json_object_set_new(body, "Hostname", json_string(config->hostname));
    if (config->work_dir != NULL && *config->work_dir != '\0')
        json_object_set_new(body, "WorkingDir", json_string(config->work_dir));
    if (request->user != NULL && *request->user != '\0')
        json_object_set_new(body, "User", json_string(request->user));
    json_object_set_new(body, "Tty", json_boolean(config->tty));
    json_object_set_new(body, "OpenStdin", json_boolean(config->interactive));

    json_t *binds = json_array();
    const char *label = options->selinux_label;
    if (request->alloc_dir != NULL)
        add_bind(binds, request->alloc_dir, "/alloc", label);
    if (request->local_dir != NULL)
        add_bind(binds, request->local_dir, "/local", label);
    if (request->secrets_dir != NULL)
        add_bind(binds, request->secrets_dir, "/secrets", label);
    json_object_set_new(host_config, "Binds", binds);

    /* CPU shares are the task's MHz, so 1000 shares is about 1 GHz; the
     * kernel's minimum is 2. */
    int shares = request->cpu_mhz < 2 ? 2 : request->cpu_mhz;
    json_object_set_new(host_config, "CpuShares", json_integer(shares));
    if (request->memory_mb > 0) {
        /* MemorySwap equal to Memory means no swap at all: the limit counts
         * memory plus swap together. */
        json_int_t bytes = (json_int_t)request->memory_mb * 1024 * 1024;
        json_object_set_new(host_config, "Memory", json_integer(bytes));
        json_object_set_new(host_config, "MemorySwap", json_integer(bytes));
    }
    json_object_set_new(host_config, "Privileged", json_boolean(config->privileged));
    if (config->ipc_mode != NULL)
        json_object_set_new(host_config, "IpcMode", json_string(config->ipc_mode));
    if (config->pid_mode != NULL)
        json_object_set_new(host_config, "PidMode", json_string(config->pid_mode));
    if (config->uts_mode != NULL)
        json_object_set_new(host_config, "UTSMode", json_string(config->uts_mode));
    json_object_set_new(host_config, "NetworkMode",
                        json_string(config->network_mode != NULL ? config->network_mode : "bridge"));
    if (config->dns_servers.length > 0)
        json_object_set_new(host_config, "Dns", string_array(&config->dns_servers));
    if (config->dns_search_domains.length > 0)
        json_object_set_new(host_config, "DnsSearch", string_array(&config->dns_search_domains));
    if (config->shm_size > 0)
        json_object_set_new(host_config, "ShmSize", json_integer(config->shm_size));

    if (add_ports(request, config, body, host_config, err) < 0) {
        json_decref(host_config);
        json_decref(body);
        return NULL;
    }
    json_object_set_new(body, "HostConfig", host_config);
    return body;
}

/* --- Start ---------------------------------------------------------------- */

static char *container_name(const berth_task_request *request)
{
    /* Docker names allow [a-zA-Z0-9][a-zA-Z0-9_.-]; a '/' in a task name
     * becomes '_' as in Nomad. */
    char *name = berth_xasprintf("%s-%s", request->task_name, request->alloc_id);
    for (char *p = name; *p != '\0'; p++) {
        if (*p == '/')
            *p = '_';
    }
    return name;
}

/* Removes a container left with this name (from an earlier run that did not
 * clean up) so the create can be retried. */
static int remove_named_container(berth_driver *driver, const char *name, berth_error *err)
{
    json_t *inspect = NULL;
    if (berth_docker_container_inspect(driver->docker, name, &inspect, err) < 0)
        return err->code == BERTH_E_NOT_FOUND ? 0 : -1;
    const char *id = json_string_value(json_object_get(inspect, "Id"));
    int rc = id != NULL ? berth_docker_container_remove(driver->docker, id, err) : 0;
    json_decref(inspect);
    return rc;
}

static int create_container(berth_driver *driver, const char *name, const json_t *body, char **id,
                            berth_error *err)
{
    for (int attempt = 1;; attempt++) {
        if (berth_docker_container_create(driver->docker, name, body, id, err) == 0)
            return 0;
        if (err->code != BERTH_E_CONFLICT || attempt >= CREATE_ATTEMPTS)
            return berth_error_prefix(err, "create container %s", name);
        berth_log(BERTH_LOG_WARN, "container name in use; removing the old container", "name",
                  name, NULL);
        berth_error remove_err = BERTH_ERROR_INIT;
        if (remove_named_container(driver, name, &remove_err) < 0) {
            *err = remove_err;
            return berth_error_prefix(err, "remove old container %s", name);
        }
    }
}

int berth_driver_start_task(berth_driver *driver, const berth_task_request *request,
                            berth_task_handle **out, berth_error *err)
{
    int rc = -1;
    berth_docker_task_config config;
    memset(&config, 0, sizeof(config));
    berth_image_ref ref;
    memset(&ref, 0, sizeof(ref));
    berth_autovalue berth_value *interpolated = NULL;
    berth_autovalue berth_value *env = NULL;
    berth_autofree char *registry_auth = NULL;
    json_t *body = NULL;
    image_archives archives = {0};
    berth_task_handle *handle = berth_xcalloc(1, sizeof(*handle));
    handle->container_name = container_name(request);

    if (request->config == NULL) {
        berth_error_set(err, BERTH_E_INVALID,
                        "the docker driver needs a config block with at least image");
        goto out;
    }
    berth_task_lookup context = {request->env, request->node};
    interpolated = berth_value_clone(request->config);
    berth_interpolate_value(interpolated, berth_task_lookup_name, &context);
    if (berth_docker_task_config_decode(interpolated, &config, err) < 0 ||
        check_gates(&driver->options, &config, err) < 0 ||
        berth_image_ref_parse(config.image, &ref, err) < 0)
        goto out;

    if (berth_driver_resolve_archives(request, config.load.items, config.load.length, &archives,
                                      err) < 0)
        goto out;

    /* NOMAD_PORT_<label> is the container port when port_map maps the
     * label, as in Nomad 0.6 and later. */
    env = request->env != NULL ? berth_value_clone(request->env) : berth_value_new_map();
    for (size_t i = 0; i < request->port_count; i++) {
        int mapped = berth_docker_task_config_mapped_port(&config, request->ports[i].label);
        if (mapped == 0)
            continue;
        berth_autofree char *label = berth_env_sanitize_key(request->ports[i].label);
        berth_autofree char *key = berth_xasprintf("NOMAD_PORT_%s", label);
        berth_autofree char *text = berth_xasprintf("%d", mapped);
        berth_value_map_set(env, key, berth_value_new_string(text));
    }

    handle->image = berth_image_ref_format(&ref);
    body = berth_driver_create_body(&driver->options, request, &config, handle->image, env, err);
    if (body == NULL)
        goto out;

    if (resolve_registry_auth(driver, &config, &ref, &registry_auth, err) < 0)
        goto out;
    if (berth_driver_acquire_image(driver, &ref, registry_auth, &archives, request,
                                   &handle->image_id, &handle->image_counted, err) < 0)
        goto out;

    if (create_container(driver, handle->container_name, body, &handle->container_id, err) < 0)
        goto out;
    berth_log(BERTH_LOG_INFO, "container created", "alloc_id", request->alloc_id, "task",
              request->task_name, "container_id", handle->container_id, NULL);

    if (berth_docker_container_start(driver->docker, handle->container_id, err) < 0) {
        berth_error_prefix(err, "start container %s", handle->container_name);
        goto out;
    }
    berth_log(BERTH_LOG_INFO, "container started", "alloc_id", request->alloc_id, "task",
              request->task_name, "container_id", handle->container_id, NULL);

    handle->tty = config.tty;
    handle->kill_timeout_ms = request->kill_timeout_ms;
    handle->kill_signal = request->kill_signal != NULL ? berth_xstrdup(request->kill_signal) : NULL;
    handle->env = berth_steal_pointer(&env);
    *out = berth_steal_pointer(&handle);
    rc = 0;

out:
    if (handle != NULL) {
        /* A failure after create must not leave the container behind. */
        if (handle->container_id != NULL) {
            berth_error cleanup_err = BERTH_ERROR_INIT;
            if (berth_docker_container_remove(driver->docker, handle->container_id,
                                              &cleanup_err) < 0)
                berth_log(BERTH_LOG_ERROR, "removing a container that failed to start failed",
                          "container_id", handle->container_id, "error", cleanup_err.message,
                          NULL);
        }
        if (handle->image_counted)
            berth_driver_release_image(driver, handle->image);
        berth_task_handle_free(handle);
    }
    json_decref(body);
    berth_driver_free_archives(&archives);
    berth_image_ref_free(&ref);
    berth_docker_task_config_free(&config);
    if (rc < 0)
        berth_error_prefix(err, "task %s", request->task_name);
    return rc;
}

/* --- Wait, stop, destroy ---------------------------------------------------- */

int berth_driver_wait_task(berth_driver *driver, const berth_task_handle *handle,
                           berth_task_exit *exit, berth_error *err)
{
    memset(exit, 0, sizeof(*exit));
    if (berth_docker_container_wait(driver->docker, handle->container_id, &exit->exit_code, err) < 0)
        return berth_error_prefix(err, "wait for container %s", handle->container_name);
    json_t *inspect = NULL;
    berth_error inspect_err = BERTH_ERROR_INIT;
    if (berth_docker_container_inspect(driver->docker, handle->container_id, &inspect,
                                       &inspect_err) == 0) {
        json_t *state = json_object_get(inspect, "State");
        exit->oom_killed = json_is_true(json_object_get(state, "OOMKilled"));
        json_decref(inspect);
    }
    return 0;
}

int berth_driver_task_state(berth_driver *driver, const berth_task_handle *handle,
                            berth_task_state *state, berth_task_exit *exit, berth_error *err)
{
    json_t *inspect = NULL;
    if (berth_docker_container_inspect(driver->docker, handle->container_id, &inspect, err) < 0) {
        if (err->code != BERTH_E_NOT_FOUND)
            return -1;
        *state = BERTH_TASK_GONE;
        return 0;
    }
    json_t *container_state = json_object_get(inspect, "State");
    if (json_is_true(json_object_get(container_state, "Running"))) {
        *state = BERTH_TASK_RUNNING;
    } else {
        *state = BERTH_TASK_EXITED;
        memset(exit, 0, sizeof(*exit));
        exit->exit_code = json_integer_value(json_object_get(container_state, "ExitCode"));
        exit->oom_killed = json_is_true(json_object_get(container_state, "OOMKilled"));
    }
    json_decref(inspect);
    return 0;
}

static bool container_running(berth_driver *driver, const berth_task_handle *handle)
{
    berth_task_state state;
    berth_task_exit exit;
    berth_error err = BERTH_ERROR_INIT;
    return berth_driver_task_state(driver, handle, &state, &exit, &err) == 0 &&
           state == BERTH_TASK_RUNNING;
}

int berth_driver_stop_task(berth_driver *driver, const berth_task_handle *handle, berth_error *err)
{
    /* The engine takes whole seconds; round up so a 1.5 s kill_timeout
     * gives the task at least that long. */
    int timeout_seconds = (int)((handle->kill_timeout_ms + 999) / 1000);
    if (handle->kill_signal == NULL) {
        if (berth_docker_container_stop(driver->docker, handle->container_id, timeout_seconds,
                                        err) < 0)
            return berth_error_prefix(err, "stop container %s", handle->container_name);
        return 0;
    }

    if (berth_docker_container_kill(driver->docker, handle->container_id, handle->kill_signal,
                                    err) < 0) {
        if (err->code == BERTH_E_NOT_FOUND || !container_running(driver, handle))
            return 0;
        /* The signal could not be sent (the engine rejected it, say): the
         * task must still stop, so fall back to the engine's stop. */
        berth_log(BERTH_LOG_WARN, "sending the kill signal failed; stopping the container",
                  "container_id", handle->container_id, "signal", handle->kill_signal, "error",
                  err->message, NULL);
        berth_error_clear(err);
        if (berth_docker_container_stop(driver->docker, handle->container_id, timeout_seconds,
                                        err) < 0)
            return berth_error_prefix(err, "stop container %s", handle->container_name);
        return 0;
    }
    int64_t deadline = berth_now_ms() + handle->kill_timeout_ms;
    while (berth_now_ms() < deadline) {
        if (!container_running(driver, handle))
            return 0;
        struct timespec pause = {0, 100 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    if (berth_docker_container_stop(driver->docker, handle->container_id, 0, err) < 0)
        return berth_error_prefix(err, "stop container %s", handle->container_name);
    return 0;
}

int berth_driver_destroy_task(berth_driver *driver, berth_task_handle *handle, berth_error *err)
{
    int rc = 0;
    if (berth_docker_container_remove(driver->docker, handle->container_id, err) < 0)
        rc = berth_error_prefix(err, "remove container %s", handle->container_name);
    else
        berth_log(BERTH_LOG_INFO, "container removed", "container_id", handle->container_id,
                  NULL);
    if (handle->image_counted) {
        handle->image_counted = false;
        berth_driver_release_image(driver, handle->image);
    }
    return rc;
}

int berth_driver_stream_logs(berth_driver *driver, const berth_task_handle *handle, int64_t since,
                             berth_docker_output_cb output, void *user_data, berth_error *err)
{
    berth_docker_logs_options options = {.follow = true, .tty = handle->tty, .since = since};
    return berth_docker_container_logs(driver->docker, handle->container_id, &options, output,
                                       user_data, err);
}

/* --- Fingerprint ------------------------------------------------------------ */

/* The first IPv4 address of a host interface, or NULL. Engines such as
 * 20.10 leave Gateway out of the bridge network's IPAM config, and then the
 * bridge interface's own address is the gateway. This only works when berth
 * runs on the engine's host. */
static char *interface_ipv4(const char *name)
{
    struct ifaddrs *list = NULL;
    if (getifaddrs(&list) < 0)
        return NULL;
    char *found = NULL;
    for (struct ifaddrs *entry = list; entry != NULL && found == NULL; entry = entry->ifa_next) {
        if (entry->ifa_addr == NULL || entry->ifa_addr->sa_family != AF_INET ||
            strcmp(entry->ifa_name, name) != 0)
            continue;
        char text[INET_ADDRSTRLEN];
        const struct sockaddr_in *address = (const struct sockaddr_in *)entry->ifa_addr;
        if (inet_ntop(AF_INET, &address->sin_addr, text, sizeof(text)) != NULL)
            found = berth_xstrdup(text);
    }
    freeifaddrs(list);
    return found;
}

int berth_driver_fingerprint(berth_driver *driver, berth_value **attributes, berth_error *err)
{
    json_t *version = NULL;
    if (berth_docker_version(driver->docker, &version, err) < 0)
        return -1;
    berth_value *map = berth_value_new_map();
    berth_value_map_set(map, "driver.docker", berth_value_new_string("1"));
    const char *engine_version = json_string_value(json_object_get(version, "Version"));
    berth_value_map_set(map, "driver.docker.version",
                        berth_value_new_string(engine_version != NULL ? engine_version : ""));
    json_decref(version);

    if (driver->options.allow_privileged)
        berth_value_map_set(map, "docker.privileged.enabled", berth_value_new_string("1"));

    json_t *network = NULL;
    berth_error network_err = BERTH_ERROR_INIT;
    if (berth_docker_network_inspect(driver->docker, "bridge", &network, &network_err) == 0) {
        json_t *configs = json_object_get(json_object_get(network, "IPAM"), "Config");
        const char *gateway = json_string_value(json_object_get(json_array_get(configs, 0), "Gateway"));
        const char *bridge = json_string_value(json_object_get(
            json_object_get(network, "Options"), "com.docker.network.bridge.name"));
        berth_autofree char *address = NULL;
        if (gateway == NULL || *gateway == '\0')
            address = interface_ipv4(bridge != NULL && *bridge != '\0' ? bridge : "docker0");
        if (gateway != NULL && *gateway != '\0')
            berth_value_map_set(map, "driver.docker.bridge_ip", berth_value_new_string(gateway));
        else if (address != NULL)
            berth_value_map_set(map, "driver.docker.bridge_ip", berth_value_new_string(address));
        json_decref(network);
    }
    *attributes = map;
    return 0;
}
