/* Container logs and the demultiplexer for the engine's framed stream. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/util.h"
#include "docker/internal.h"

#define FRAME_HEADER_LENGTH 8

void berth_docker_demux_init(berth_docker_demux *demux)
{
    memset(demux, 0, sizeof(*demux));
}

/* Without a TTY the engine sends each write of the container as a frame:
 * byte 0 is the stream (0 stdin, 1 stdout, 2 stderr), bytes 1-3 are zero and
 * bytes 4-7 are the payload length, big-endian. The header can be split
 * across reads at any byte, so it is collected in demux->header first. */
int berth_docker_demux_feed(berth_docker_demux *demux, const char *data, size_t length,
                            berth_docker_output_cb output, void *user_data, berth_error *err)
{
    while (length > 0) {
        if (demux->remaining > 0) {
            size_t piece = length < demux->remaining ? length : demux->remaining;
            output(user_data, demux->stream, data, piece);
            demux->remaining -= (uint32_t)piece;
            data += piece;
            length -= piece;
            continue;
        }

        size_t missing = FRAME_HEADER_LENGTH - demux->header_length;
        size_t piece = length < missing ? length : missing;
        memcpy(demux->header + demux->header_length, data, piece);
        demux->header_length += piece;
        data += piece;
        length -= piece;
        if (demux->header_length < FRAME_HEADER_LENGTH)
            break;

        unsigned char type = demux->header[0];
        if (type > 2)
            return berth_error_set(err, BERTH_E_ENGINE,
                                   "invalid log stream: frame of stream type %u, expected 0, 1 "
                                   "or 2",
                                   type);
        /* In the Engine API reference, stream 0 (stdin) is written on
         * stdout, so it is delivered as stream 1. */
        demux->stream = type == 2 ? 2 : 1;
        demux->remaining = (uint32_t)demux->header[4] << 24 | (uint32_t)demux->header[5] << 16 |
                           (uint32_t)demux->header[6] << 8 | (uint32_t)demux->header[7];
        demux->header_length = 0;
    }
    return 0;
}

struct logs_stream {
    bool tty;
    berth_docker_demux demux;
    berth_docker_output_cb output;
    void *user_data;
};

static int on_logs_data(void *user_data, const char *data, size_t length, berth_error *err)
{
    struct logs_stream *stream = user_data;
    if (stream->tty) {
        stream->output(stream->user_data, 1, data, length);
        return 0;
    }
    return berth_docker_demux_feed(&stream->demux, data, length, stream->output, stream->user_data,
                                   err);
}

int berth_docker_container_logs(berth_docker *docker, const char *id,
                                const berth_docker_logs_options *options,
                                berth_docker_output_cb output, void *user_data, berth_error *err)
{
    if (berth_docker_check_name(id, "container id", err) < 0)
        return -1;
    if (output == NULL)
        return berth_error_set(err, BERTH_E_INVALID, "missing output callback for logs");
    berth_docker_logs_options defaults = {0};
    if (options == NULL)
        options = &defaults;
    if (options->since < 0)
        return berth_error_set(err, BERTH_E_INVALID,
                               "invalid logs start time %" PRId64 ": must be 0 or more",
                               options->since);

    berth_autofree char *escaped = berth_docker_escape(id, false);
    berth_autofree char *path = berth_xasprintf("/containers/%s/logs", escaped);
    char since[48] = "";
    if (options->since_ns > 0)
        snprintf(since, sizeof(since), "&since=%" PRId64 ".%09" PRId64,
                 options->since_ns / 1000000000, options->since_ns % 1000000000);
    else if (options->since > 0)
        snprintf(since, sizeof(since), "&since=%" PRId64, options->since);
    if (options->timestamps)
        strncat(since, "&timestamps=1", sizeof(since) - strlen(since) - 1);
    berth_autofree char *query =
        berth_xasprintf("stdout=1&stderr=1%s%s", options->follow ? "&follow=1" : "", since);
    struct logs_stream stream = {.tty = options->tty, .output = output, .user_data = user_data};
    berth_docker_demux_init(&stream.demux);
    berth_docker_call call = {
        .method = "GET",
        .path = path,
        .query = query,
        .unbounded = options->follow,
        .sink = on_logs_data,
        .sink_data = &stream,
    };

    int ret = berth_docker_perform(docker, &call, err);
    berth_docker_call_free(&call);
    if (ret < 0)
        return -1;
    if (!options->tty && (stream.demux.header_length > 0 || stream.demux.remaining > 0))
        return berth_error_set(err, BERTH_E_ENGINE,
                               "log stream of container %s ended inside a frame", id);
    return 0;
}
