/* Image calls: inspect, pull, load, remove. Pull and load read the engine's
 * progress stream, one JSON object per line. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/util.h"
#include "docker/internal.h"

/* Maximum length of one progress line. The engine's lines are a few hundred
 * bytes; this only stops a runaway stream. */
#define PROGRESS_LINE_MAX (1024u * 1024)

struct progress_stream {
    berth_buf line; /* the incomplete line carried over from the last read */
    berth_docker_progress_cb progress;
    void *user_data;
};

/* Handles one complete line: calls progress and fails on an "error" line
 * with errorDetail.message, or "error" when there is no detail. */
static int handle_line(struct progress_stream *stream, const char *text, size_t length,
                       berth_error *err)
{
    while (length > 0 && (text[length - 1] == '\r' || text[length - 1] == ' '))
        length--;
    if (length == 0)
        return 0;

    json_error_t json_error;
    json_t *line = json_loadb(text, length, 0, &json_error);
    if (line == NULL)
        return berth_error_set(err, BERTH_E_ENGINE, "engine sent an invalid progress line: %s",
                               json_error.text);
    if (stream->progress != NULL)
        stream->progress(stream->user_data, line);

    json_t *error = json_object_get(line, "error");
    if (error != NULL) {
        const char *message =
            json_string_value(json_object_get(json_object_get(line, "errorDetail"), "message"));
        if (message == NULL || *message == '\0')
            message = json_string_value(error);
        berth_error_set(err, BERTH_E_ENGINE, "%s",
                        message != NULL && *message != '\0' ? message : "unknown error");
        json_decref(line);
        return -1;
    }
    json_decref(line);
    return 0;
}

/* Splits the stream into lines; a line may arrive over several reads. */
static int on_progress_data(void *user_data, const char *data, size_t length, berth_error *err)
{
    struct progress_stream *stream = user_data;
    while (length > 0) {
        const char *newline = memchr(data, '\n', length);
        size_t piece = newline != NULL ? (size_t)(newline - data) : length;

        if (stream->line.length == 0 && newline != NULL) {
            if (handle_line(stream, data, piece, err) < 0)
                return -1;
        } else {
            if (berth_buf_append(&stream->line, data, piece, err) < 0)
                return berth_error_prefix(err, "progress line");
            if (newline != NULL) {
                int ret = handle_line(stream, stream->line.data, stream->line.length, err);
                berth_buf_reset(&stream->line);
                if (ret < 0)
                    return -1;
            }
        }
        if (newline == NULL)
            break;
        data += piece + 1;
        length -= piece + 1;
    }
    return 0;
}

/* Runs a call whose reply is a progress stream and handles a last line that
 * has no newline. */
static int perform_with_progress(berth_docker *docker, berth_docker_call *call,
                                 berth_docker_progress_cb progress, void *user_data,
                                 berth_error *err)
{
    struct progress_stream stream = {.progress = progress, .user_data = user_data};
    berth_buf_init(&stream.line, PROGRESS_LINE_MAX);
    call->sink = on_progress_data;
    call->sink_data = &stream;

    int ret = berth_docker_perform(docker, call, err);
    if (ret == 0 && stream.line.length > 0)
        ret = handle_line(&stream, stream.line.data, stream.line.length, err);
    berth_buf_free(&stream.line);
    berth_docker_call_free(call);
    return ret;
}

int berth_docker_image_inspect(berth_docker *docker, const char *name, json_t **out,
                               berth_error *err)
{
    *out = NULL;
    if (berth_docker_check_name(name, "image name", err) < 0)
        return -1;
    berth_autofree char *escaped = berth_docker_escape(name, true);
    berth_autofree char *path = berth_xasprintf("/images/%s/json", escaped);
    return berth_docker_request(docker, "GET", path, NULL, NULL, NULL, out, err);
}

int berth_docker_image_pull(berth_docker *docker, const char *repository, const char *tag,
                            const char *registry_auth, berth_docker_progress_cb progress,
                            void *user_data, berth_error *err)
{
    if (berth_docker_check_name(repository, "image repository", err) < 0)
        return -1;
    /* Without a tag the engine pulls every tag of the repository. */
    if (tag == NULL || *tag == '\0')
        tag = "latest";

    berth_autofree char *escaped_repository = berth_docker_escape(repository, false);
    berth_autofree char *escaped_tag = berth_docker_escape(tag, false);
    berth_autofree char *query =
        berth_xasprintf("fromImage=%s&tag=%s", escaped_repository, escaped_tag);
    berth_docker_call call = {
        .method = "POST",
        .path = "/images/create",
        .query = query,
        .unbounded = true,
        .cancellable = true,
        .registry_auth = registry_auth,
    };
    return perform_with_progress(docker, &call, progress, user_data, err);
}

int berth_docker_image_load(berth_docker *docker, const char *path,
                            berth_docker_progress_cb progress, void *user_data, berth_error *err)
{
    if (berth_docker_check_name(path, "image archive path", err) < 0)
        return -1;
    FILE *file = fopen(path, "rb");
    if (file == NULL)
        return berth_error_set_errno(err, errno, "open image archive %s", path);
    struct stat info;
    if (fstat(fileno(file), &info) < 0) {
        int saved = errno;
        fclose(file);
        return berth_error_set_errno(err, saved, "stat image archive %s", path);
    }
    if (!S_ISREG(info.st_mode)) {
        fclose(file);
        return berth_error_set(err, BERTH_E_INVALID, "image archive %s is not a regular file",
                               path);
    }

    berth_docker_call call = {
        .method = "POST",
        .path = "/images/load",
        .unbounded = true,
        .cancellable = true,
        .content_type = "application/x-tar",
        .upload = file,
        .upload_length = (uint64_t)info.st_size,
    };
    int ret = perform_with_progress(docker, &call, progress, user_data, err);
    fclose(file);
    if (ret < 0)
        return berth_error_prefix(err, "load image archive %s", path);
    return 0;
}

int berth_docker_image_remove(berth_docker *docker, const char *name, bool force, berth_error *err)
{
    if (berth_docker_check_name(name, "image name", err) < 0)
        return -1;
    berth_autofree char *escaped = berth_docker_escape(name, true);
    berth_autofree char *path = berth_xasprintf("/images/%s", escaped);
    return berth_docker_request(docker, "DELETE", path, force ? "force=1" : NULL, NULL, NULL, NULL,
                                err);
}
