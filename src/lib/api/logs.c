/* GET /v1/client/fs/logs/:alloc_id: a task's log files read in order as
 * one stream, either as raw bytes (plain=true) or as Nomad's framed JSON
 * objects {"File": NAME, "Offset": N, "Data": BASE64}, and optionally
 * followed as the files grow and rotate. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/internal.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/util.h"

/* Bytes read from a log file at a time; one frame carries at most this. */
#define READ_CHUNK (64 * 1024)
/* Maximum output waiting for libmicrohttpd. A frame of READ_CHUNK bytes
 * encodes to about 88 KiB, so this is room for several. */
#define PENDING_MAX (1024 * 1024)

typedef struct log_stream {
    berth_api_server *server;
    char *alloc_id;
    char *task;
    char *stream;
    bool follow;
    bool plain;
    int client_fd; /* the connection's socket, watched for a client that left */

    char *path; /* the file being read; NULL before the first one opens */
    int file_fd;
    int64_t file_offset;

    berth_buf pending; /* encoded output not yet handed to libmicrohttpd */
    size_t pending_sent;
    int64_t last_send_ms;
} log_stream;

typedef struct path_list {
    char **paths;
    size_t count;
} path_list;

static void path_list_free(path_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        free(list->paths[i]);
    free(list->paths);
    list->paths = NULL;
    list->count = 0;
}

static int list_files(berth_api_server *server, const char *alloc_id, const char *task,
                      const char *stream, path_list *list, berth_error *err)
{
    list->paths = NULL;
    list->count = 0;
    const berth_api_backend *backend = &server->backend;
    return backend->log_files(backend->context, alloc_id, task, stream, &list->paths,
                              &list->count, err);
}

char *berth_api_base64(const unsigned char *data, size_t length)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = berth_xmalloc((length + 2) / 3 * 4 + 1);
    size_t o = 0;
    size_t i = 0;
    for (; i + 2 < length; i += 3) {
        uint32_t triple = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8 | data[i + 2];
        out[o++] = alphabet[triple >> 18 & 63];
        out[o++] = alphabet[triple >> 12 & 63];
        out[o++] = alphabet[triple >> 6 & 63];
        out[o++] = alphabet[triple & 63];
    }
    if (i < length) {
        uint32_t triple = (uint32_t)data[i] << 16;
        if (i + 1 < length)
            triple |= (uint32_t)data[i + 1] << 8;
        out[o++] = alphabet[triple >> 18 & 63];
        out[o++] = alphabet[triple >> 12 & 63];
        out[o++] = i + 1 < length ? alphabet[triple >> 6 & 63] : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
    return out;
}

/* Queues a frame (framed mode) built from the given fields; a frame with
 * no fields is Nomad's heartbeat. */
static int queue_frame(log_stream *stream, json_t *frame)
{
    char *text = json_dumps(frame, JSON_COMPACT);
    json_decref(frame);
    if (text == NULL)
        return -1;
    int rc = berth_buf_append_str(&stream->pending, text, NULL);
    free(text);
    return rc;
}

static const char *file_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash != NULL ? slash + 1 : path;
}

/* Queues bytes read at offset of the current file. */
static int queue_data(log_stream *stream, const unsigned char *data, size_t length,
                      int64_t offset)
{
    if (stream->plain)
        return berth_buf_append(&stream->pending, data, length, NULL);
    /* NOTE: Offset is where the data starts in File, the reading of
     * Nomad's api.StreamFrame documentation; File is the base name of the
     * log file, not Nomad's path inside the allocation folder. */
    char *encoded = berth_api_base64(data, length);
    json_t *frame = json_pack("{s:s, s:I, s:s}", "File", file_name(stream->path), "Offset",
                              (json_int_t)offset, "Data", encoded);
    free(encoded);
    return frame != NULL ? queue_frame(stream, frame) : -1;
}

static int queue_truncation(log_stream *stream)
{
    if (stream->plain)
        return 0;
    json_t *frame = json_pack("{s:s, s:I, s:s}", "File", file_name(stream->path), "Offset",
                              (json_int_t)0, "FileEvent", "file truncated");
    return frame != NULL ? queue_frame(stream, frame) : -1;
}

static void close_file(log_stream *stream)
{
    if (stream->file_fd >= 0)
        close(stream->file_fd);
    stream->file_fd = -1;
}

/* Opens path at offset; returns false when it is gone (rotated away
 * between listing and opening) or unreadable. */
static bool open_file(log_stream *stream, const char *path, int64_t offset)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT)
            berth_log(BERTH_LOG_WARN, "cannot open log file", "alloc_id", stream->alloc_id,
                      "path", path, "error", strerror(errno), NULL);
        return false;
    }
    close_file(stream);
    free(stream->path);
    stream->path = berth_xstrdup(path);
    stream->file_fd = fd;
    stream->file_offset = offset;
    return true;
}

/* Moves to the file after the current one, listing the files again so
 * that files rotated in since the last look are seen. Returns true when a
 * new file was opened. */
static bool open_next_file(log_stream *stream)
{
    path_list list;
    berth_error err = BERTH_ERROR_INIT;
    if (list_files(stream->server, stream->alloc_id, stream->task, stream->stream, &list,
                   &err) < 0)
        return false;
    const char *next = NULL;
    if (stream->path == NULL) {
        next = list.count > 0 ? list.paths[0] : NULL;
    } else {
        for (size_t i = 0; i < list.count && next == NULL; i++) {
            if (strcmp(list.paths[i], stream->path) == 0)
                next = i + 1 < list.count ? list.paths[i + 1] : "";
        }
        /* The current file was removed by rotation: continue with the
         * first file that sorts after it (rotated names end in a growing
         * number, which strverscmp orders numerically). */
        for (size_t i = 0; i < list.count && next == NULL; i++) {
            if (strverscmp(list.paths[i], stream->path) > 0)
                next = list.paths[i];
        }
    }
    bool opened = next != NULL && next[0] != '\0' && open_file(stream, next, 0);
    path_list_free(&list);
    return opened;
}

static int64_t current_file_size(const log_stream *stream)
{
    struct stat info;
    if (stream->file_fd < 0 || fstat(stream->file_fd, &info) < 0)
        return -1;
    return (int64_t)info.st_size;
}

/* Waits up to the poll interval; returns false when the client closed
 * its end of the connection. */
static bool wait_for_output(log_stream *stream)
{
    struct pollfd watch = {.fd = stream->client_fd, .events = POLLRDHUP};
    int ready = poll(&watch, 1, stream->server->log_poll_ms);
    if (ready > 0 && (watch.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0)
        return false;
    return true;
}

/* Reads the next piece of output into pending. Returns 1 when something
 * was queued, 0 at the end of the stream, -1 when the stream must be cut
 * (a read error or a client that left). */
static int fill_pending(log_stream *stream)
{
    unsigned char chunk[READ_CHUNK];
    for (;;) {
        if (atomic_load(&stream->server->stopping))
            return 0;
        if (stream->file_fd >= 0) {
            ssize_t n = pread(stream->file_fd, chunk, sizeof(chunk), stream->file_offset);
            if (n < 0) {
                berth_log(BERTH_LOG_ERROR, "cannot read log file", "alloc_id", stream->alloc_id,
                          "path", stream->path, "error", strerror(errno), NULL);
                return -1;
            }
            if (n > 0) {
                int64_t offset = stream->file_offset;
                stream->file_offset += n;
                return queue_data(stream, chunk, (size_t)n, offset) < 0 ? -1 : 1;
            }
            if (current_file_size(stream) < stream->file_offset) {
                stream->file_offset = 0;
                if (queue_truncation(stream) < 0)
                    return -1;
                if (stream->pending.length > 0)
                    return 1;
                continue;
            }
        }

        /* At the end of what is written. Ask whether the task runs before
         * looking for more, so output written just before it stopped is
         * still read. */
        bool running =
            stream->follow &&
            stream->server->backend.task_running(stream->server->backend.context,
                                                 stream->alloc_id, stream->task);
        if (open_next_file(stream))
            continue;
        if (stream->file_fd >= 0 && current_file_size(stream) > stream->file_offset)
            continue;
        if (!running)
            return 0;

        if (!wait_for_output(stream))
            return -1;
        if (!stream->plain && berth_now_ms() - stream->last_send_ms >= stream->server->heartbeat_ms)
            return queue_frame(stream, json_object()) < 0 ? -1 : 1;
    }
}

static ssize_t read_stream(void *cls, uint64_t position, char *buffer, size_t max)
{
    log_stream *stream = cls;
    if (stream->pending_sent >= stream->pending.length) {
        berth_buf_reset(&stream->pending);
        stream->pending_sent = 0;
        int rc = fill_pending(stream);
        if (rc < 0)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        if (rc == 0 || stream->pending.length == 0)
            return MHD_CONTENT_READER_END_OF_STREAM;
    }
    size_t length = stream->pending.length - stream->pending_sent;
    if (length > max)
        length = max;
    memcpy(buffer, stream->pending.data + stream->pending_sent, length);
    stream->pending_sent += length;
    stream->last_send_ms = berth_now_ms();
    return (ssize_t)length;
}

static void free_stream(void *cls)
{
    log_stream *stream = cls;
    close_file(stream);
    free(stream->path);
    free(stream->alloc_id);
    free(stream->task);
    free(stream->stream);
    berth_buf_free(&stream->pending);
    free(stream);
}

/* Opens the file and offset where reading starts: offset bytes into the
 * concatenated files, or offset bytes before their end. An offset past
 * either end starts at that end. */
static void seek_start(log_stream *stream, const path_list *list, bool from_end, int64_t offset)
{
    int64_t *sizes = berth_xcalloc(list->count + 1, sizeof(int64_t));
    int64_t total = 0;
    for (size_t i = 0; i < list->count; i++) {
        struct stat info;
        sizes[i] = stat(list->paths[i], &info) == 0 ? (int64_t)info.st_size : 0;
        total += sizes[i];
    }
    int64_t target = offset;
    if (from_end)
        target = offset >= total ? 0 : total - offset;
    for (size_t i = 0; i < list->count; i++) {
        bool last = i + 1 == list->count;
        if (target < sizes[i] || last) {
            if (open_file(stream, list->paths[i], target < sizes[i] ? target : sizes[i]))
                break;
            target = 0;
            continue;
        }
        target -= sizes[i];
    }
    free(sizes);
}

int berth_api_log_response(berth_api_server *server, struct MHD_Connection *connection,
                           const berth_api_log_request *request, struct MHD_Response **out,
                           berth_error *err)
{
    path_list list;
    if (list_files(server, request->alloc_id, request->task, request->stream, &list, err) < 0)
        return -1;

    log_stream *stream = berth_xcalloc(1, sizeof(*stream));
    stream->server = server;
    stream->alloc_id = berth_xstrdup(request->alloc_id);
    stream->task = berth_xstrdup(request->task);
    stream->stream = berth_xstrdup(request->stream);
    stream->follow = request->follow;
    stream->plain = request->plain;
    stream->file_fd = -1;
    stream->last_send_ms = berth_now_ms();
    berth_buf_init(&stream->pending, PENDING_MAX);
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    stream->client_fd = info != NULL ? info->connect_fd : -1;

    seek_start(stream, &list, request->from_end, request->offset);
    path_list_free(&list);

    struct MHD_Response *response =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024, read_stream, stream,
                                          free_stream);
    if (response == NULL) {
        free_stream(stream);
        return berth_error_set(err, BERTH_E_NO_MEMORY, "could not create the log response");
    }
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                            request->plain ? "text/plain; charset=utf-8" : "application/json");
    *out = response;
    return 0;
}
