/* Container calls: create, start, wait, stop, kill, remove, inspect, list. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"
#include "docker/internal.h"

/* Builds "/containers/ID" followed by suffix (which may be ""). */
static char *container_path(const char *id, const char *suffix)
{
    berth_autofree char *escaped = berth_docker_escape(id, false);
    return berth_xasprintf("/containers/%s%s", escaped, suffix);
}

int berth_docker_container_create(berth_docker *docker, const char *name, const json_t *body,
                                  char **id, berth_error *err)
{
    *id = NULL;
    if (body == NULL)
        return berth_error_set(err, BERTH_E_INVALID, "missing container configuration");

    berth_autofree char *query = NULL;
    if (name != NULL && *name != '\0') {
        berth_autofree char *escaped = berth_docker_escape(name, false);
        query = berth_xasprintf("name=%s", escaped);
    }
    json_t *reply = NULL;
    if (berth_docker_request(docker, "POST", "/containers/create", query, body, NULL, &reply, err) <
        0)
        return -1;

    const char *new_id = json_string_value(json_object_get(reply, "Id"));
    if (new_id == NULL || *new_id == '\0') {
        json_decref(reply);
        return berth_error_set(err, BERTH_E_ENGINE, "engine created a container but sent no Id");
    }
    size_t index;
    json_t *warning;
    json_array_foreach(json_object_get(reply, "Warnings"), index, warning)
    {
        const char *text = json_string_value(warning);
        if (text != NULL)
            berth_log(BERTH_LOG_WARN, "engine warning on container create", "container_id", new_id,
                      "warning", text, NULL);
    }
    *id = berth_xstrdup(new_id);
    json_decref(reply);
    return 0;
}

int berth_docker_container_start(berth_docker *docker, const char *id, berth_error *err)
{
    if (berth_docker_check_name(id, "container id", err) < 0)
        return -1;
    berth_autofree char *path = container_path(id, "/start");
    /* A container that is already running gets 304, which is not an error. */
    return berth_docker_request(docker, "POST", path, NULL, NULL, NULL, NULL, err);
}

int berth_docker_container_wait(berth_docker *docker, const char *id, int64_t *exit_code,
                                berth_error *err)
{
    if (berth_docker_check_name(id, "container id", err) < 0)
        return -1;
    berth_autofree char *path = container_path(id, "/wait");
    berth_docker_call call = {
        .method = "POST",
        .path = path,
        .query = "condition=not-running",
        .unbounded = true,
    };
    json_t *reply = NULL;
    int ret = berth_docker_perform(docker, &call, err);
    if (ret == 0)
        ret = berth_docker_parse_reply(&call, &reply, err);
    berth_docker_call_free(&call);
    if (ret < 0)
        return -1;

    /* The engine can report a failure to wait in Error.Message of a 200
     * reply (ContainerWaitResponse in the Engine API reference). */
    const char *message =
        json_string_value(json_object_get(json_object_get(reply, "Error"), "Message"));
    if (message != NULL && *message != '\0') {
        berth_error_set(err, BERTH_E_ENGINE, "wait for container %s: %s", id, message);
        json_decref(reply);
        return -1;
    }
    json_t *status = json_object_get(reply, "StatusCode");
    if (!json_is_integer(status)) {
        json_decref(reply);
        return berth_error_set(err, BERTH_E_ENGINE,
                               "engine sent no StatusCode when waiting for container %s", id);
    }
    *exit_code = (int64_t)json_integer_value(status);
    json_decref(reply);
    return 0;
}

int berth_docker_container_stop(berth_docker *docker, const char *id, int timeout_seconds,
                                berth_error *err)
{
    if (berth_docker_check_name(id, "container id", err) < 0)
        return -1;
    if (timeout_seconds < 0)
        return berth_error_set(err, BERTH_E_INVALID, "invalid stop timeout %d s: must be 0 or more",
                               timeout_seconds);
    berth_autofree char *path = container_path(id, "/stop");
    berth_autofree char *query = berth_xasprintf("t=%d", timeout_seconds);
    berth_docker_call call = {.method = "POST", .path = path, .query = query, .unbounded = true};
    berth_error scratch = BERTH_ERROR_INIT;

    /* 304 (already stopped) is a success status; 404 (gone) is treated as
     * one because the goal, a container that does not run, is met. */
    int ret = berth_docker_perform(docker, &call, &scratch);
    berth_docker_call_free(&call);
    if (ret < 0 && !(scratch.code == BERTH_E_NOT_FOUND && scratch.http_status == 404)) {
        if (err != NULL)
            *err = scratch;
        return -1;
    }
    return 0;
}

int berth_docker_container_kill(berth_docker *docker, const char *id, const char *signal,
                                berth_error *err)
{
    if (berth_docker_check_name(id, "container id", err) < 0)
        return -1;
    berth_autofree char *path = container_path(id, "/kill");
    berth_autofree char *query = NULL;
    if (signal != NULL && *signal != '\0') {
        berth_autofree char *escaped = berth_docker_escape(signal, false);
        query = berth_xasprintf("signal=%s", escaped);
    }
    return berth_docker_request(docker, "POST", path, query, NULL, NULL, NULL, err);
}

int berth_docker_container_remove(berth_docker *docker, const char *id, berth_error *err)
{
    if (berth_docker_check_name(id, "container id", err) < 0)
        return -1;
    berth_autofree char *path = container_path(id, "");
    berth_error scratch = BERTH_ERROR_INIT;
    if (berth_docker_request(docker, "DELETE", path, "force=1&v=1", NULL, NULL, NULL, &scratch) <
            0 &&
        !(scratch.code == BERTH_E_NOT_FOUND && scratch.http_status == 404)) {
        if (err != NULL)
            *err = scratch;
        return -1;
    }
    return 0;
}

int berth_docker_container_inspect(berth_docker *docker, const char *id, json_t **out,
                                   berth_error *err)
{
    *out = NULL;
    if (berth_docker_check_name(id, "container id", err) < 0)
        return -1;
    berth_autofree char *path = container_path(id, "/json");
    return berth_docker_request(docker, "GET", path, NULL, NULL, NULL, out, err);
}

int berth_docker_container_list(berth_docker *docker, const char *filters, json_t **out,
                                berth_error *err)
{
    *out = NULL;
    berth_autofree char *query = NULL;
    if (filters != NULL && *filters != '\0') {
        berth_autofree char *escaped = berth_docker_escape(filters, false);
        query = berth_xasprintf("all=1&filters=%s", escaped);
    } else {
        query = berth_xstrdup("all=1");
    }
    return berth_docker_request(docker, "GET", "/containers/json", query, NULL, NULL, out, err);
}
