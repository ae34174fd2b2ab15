#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "core/buf.h"
#include "docker/docker.h"

/* What the output callback received, per stream. */
struct collected {
    berth_buf stdout_text;
    berth_buf stderr_text;
    size_t calls;
    size_t empty_calls;
    int last_stream;
};

static void collect(void *user_data, int stream, const char *data, size_t length)
{
    struct collected *collected = user_data;
    collected->calls++;
    collected->last_stream = stream;
    if (length == 0)
        collected->empty_calls++;
    assert_true(stream == 1 || stream == 2);
    berth_buf *target = stream == 1 ? &collected->stdout_text : &collected->stderr_text;
    assert_int_equal(berth_buf_append(target, data, length, NULL), 0);
}

static void collected_init(struct collected *collected)
{
    memset(collected, 0, sizeof(*collected));
    berth_buf_init(&collected->stdout_text, 1 << 20);
    berth_buf_init(&collected->stderr_text, 1 << 20);
}

static void collected_free(struct collected *collected)
{
    berth_buf_free(&collected->stdout_text);
    berth_buf_free(&collected->stderr_text);
}

/* Appends one frame: type byte, three zero bytes, big-endian length. */
static void add_frame(berth_buf *stream, unsigned char type, const char *payload, size_t length)
{
    unsigned char header[8] = {type,
                               0,
                               0,
                               0,
                               (unsigned char)(length >> 24),
                               (unsigned char)(length >> 16),
                               (unsigned char)(length >> 8),
                               (unsigned char)length};
    assert_int_equal(berth_buf_append(stream, header, sizeof(header), NULL), 0);
    assert_int_equal(berth_buf_append(stream, payload, length, NULL), 0);
}

/* A stream of stdout, empty, stderr and long frames, with the expected
 * text per stream. */
static void build_sample(berth_buf *stream, berth_buf *expected_stdout, berth_buf *expected_stderr)
{
    char long_payload[300];
    for (size_t i = 0; i < sizeof(long_payload); i++)
        long_payload[i] = (char)('a' + i % 26);

    berth_buf_init(stream, 1 << 20);
    berth_buf_init(expected_stdout, 1 << 20);
    berth_buf_init(expected_stderr, 1 << 20);

    add_frame(stream, 1, "out one\n", 8);
    berth_buf_append(expected_stdout, "out one\n", 8, NULL);
    add_frame(stream, 2, "", 0);
    add_frame(stream, 2, "err\n", 4);
    berth_buf_append(expected_stderr, "err\n", 4, NULL);
    add_frame(stream, 1, long_payload, sizeof(long_payload));
    berth_buf_append(expected_stdout, long_payload, sizeof(long_payload), NULL);
    add_frame(stream, 1, "", 0);
    add_frame(stream, 2, "\0binary\0", 8);
    berth_buf_append(expected_stderr, "\0binary\0", 8, NULL);
}

static void assert_collected(const struct collected *collected, const berth_buf *expected_stdout,
                             const berth_buf *expected_stderr)
{
    assert_int_equal(collected->stdout_text.length, expected_stdout->length);
    assert_memory_equal(collected->stdout_text.data, expected_stdout->data,
                        expected_stdout->length);
    assert_int_equal(collected->stderr_text.length, expected_stderr->length);
    assert_memory_equal(collected->stderr_text.data, expected_stderr->data,
                        expected_stderr->length);
    assert_int_equal(collected->empty_calls, 0);
}

static void demux_whole_stream_in_one_read(void **state)
{
    (void)state;
    berth_buf stream, expected_stdout, expected_stderr;
    build_sample(&stream, &expected_stdout, &expected_stderr);
    struct collected collected;
    collected_init(&collected);
    berth_docker_demux demux;
    berth_docker_demux_init(&demux);
    berth_error err = BERTH_ERROR_INIT;

    assert_int_equal(
        berth_docker_demux_feed(&demux, stream.data, stream.length, collect, &collected, &err), 0);
    assert_collected(&collected, &expected_stdout, &expected_stderr);
    /* Four non-empty frames in one read arrive as four whole payloads. */
    assert_int_equal(collected.calls, 4);
    assert_int_equal(demux.header_length, 0);
    assert_int_equal(demux.remaining, 0);

    collected_free(&collected);
    berth_buf_free(&stream);
    berth_buf_free(&expected_stdout);
    berth_buf_free(&expected_stderr);
}

static void demux_split_at_every_offset(void **state)
{
    (void)state;
    berth_buf stream, expected_stdout, expected_stderr;
    build_sample(&stream, &expected_stdout, &expected_stderr);

    for (size_t split = 0; split <= stream.length; split++) {
        struct collected collected;
        collected_init(&collected);
        berth_docker_demux demux;
        berth_docker_demux_init(&demux);
        berth_error err = BERTH_ERROR_INIT;

        assert_int_equal(
            berth_docker_demux_feed(&demux, stream.data, split, collect, &collected, &err), 0);
        assert_int_equal(berth_docker_demux_feed(&demux, stream.data + split, stream.length - split,
                                                 collect, &collected, &err),
                         0);
        assert_collected(&collected, &expected_stdout, &expected_stderr);
        assert_int_equal(demux.header_length, 0);
        assert_int_equal(demux.remaining, 0);
        collected_free(&collected);
    }
    berth_buf_free(&stream);
    berth_buf_free(&expected_stdout);
    berth_buf_free(&expected_stderr);
}

static void demux_one_byte_per_read(void **state)
{
    (void)state;
    berth_buf stream, expected_stdout, expected_stderr;
    build_sample(&stream, &expected_stdout, &expected_stderr);
    struct collected collected;
    collected_init(&collected);
    berth_docker_demux demux;
    berth_docker_demux_init(&demux);
    berth_error err = BERTH_ERROR_INIT;

    for (size_t i = 0; i < stream.length; i++)
        assert_int_equal(
            berth_docker_demux_feed(&demux, stream.data + i, 1, collect, &collected, &err), 0);
    assert_collected(&collected, &expected_stdout, &expected_stderr);

    collected_free(&collected);
    berth_buf_free(&stream);
    berth_buf_free(&expected_stdout);
    berth_buf_free(&expected_stderr);
}

static void demux_stdin_type_goes_to_stdout(void **state)
{
    (void)state;
    berth_buf stream;
    berth_buf_init(&stream, 1024);
    add_frame(&stream, 0, "typed\n", 6);
    struct collected collected;
    collected_init(&collected);
    berth_docker_demux demux;
    berth_docker_demux_init(&demux);
    berth_error err = BERTH_ERROR_INIT;

    assert_int_equal(
        berth_docker_demux_feed(&demux, stream.data, stream.length, collect, &collected, &err), 0);
    assert_int_equal(collected.last_stream, 1);
    assert_string_equal(collected.stdout_text.data, "typed\n");

    collected_free(&collected);
    berth_buf_free(&stream);
}

static void demux_bad_stream_type(void **state)
{
    (void)state;
    berth_buf stream;
    berth_buf_init(&stream, 1024);
    add_frame(&stream, 1, "fine\n", 5);
    add_frame(&stream, 3, "bad\n", 4);
    struct collected collected;
    collected_init(&collected);
    berth_docker_demux demux;
    berth_docker_demux_init(&demux);
    berth_error err = BERTH_ERROR_INIT;

    assert_int_equal(
        berth_docker_demux_feed(&demux, stream.data, stream.length, collect, &collected, &err), -1);
    assert_int_equal(err.code, BERTH_E_ENGINE);
    assert_non_null(strstr(err.message, "stream type 3"));
    assert_string_equal(collected.stdout_text.data, "fine\n");
    assert_null(collected.stderr_text.data);

    collected_free(&collected);
    berth_buf_free(&stream);
}

static void demux_bad_type_split_header(void **state)
{
    (void)state;
    const unsigned char header[8] = {0x7b, 0, 0, 0, 0, 0, 0, 1};
    struct collected collected;
    collected_init(&collected);
    berth_docker_demux demux;
    berth_docker_demux_init(&demux);
    berth_error err = BERTH_ERROR_INIT;

    /* A JSON reply fed by mistake starts with '{' (0x7b): the error comes
     * once the header is complete, not before. */
    assert_int_equal(
        berth_docker_demux_feed(&demux, (const char *)header, 5, collect, &collected, &err), 0);
    assert_int_equal(
        berth_docker_demux_feed(&demux, (const char *)header + 5, 3, collect, &collected, &err),
        -1);
    assert_int_equal(err.code, BERTH_E_ENGINE);
    assert_int_equal(collected.calls, 0);
    collected_free(&collected);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(demux_whole_stream_in_one_read),
        cmocka_unit_test(demux_split_at_every_offset),
        cmocka_unit_test(demux_one_byte_per_read),
        cmocka_unit_test(demux_stdin_type_goes_to_stdout),
        cmocka_unit_test(demux_bad_stream_type),
        cmocka_unit_test(demux_bad_type_split_header),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
