#include "agent/logfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"

typedef struct numbered_file {
    int64_t index;
    char *name;
} numbered_file;

static int compare_files(const void *a, const void *b)
{
    const numbered_file *left = a;
    const numbered_file *right = b;
    return left->index < right->index ? -1 : left->index > right->index;
}

/* Finds the files "<prefix><N>" in dir, sorted by N. */
static int scan(const char *dir, const char *prefix, numbered_file **files, size_t *count,
                berth_error *err)
{
    *files = NULL;
    *count = 0;
    DIR *handle = opendir(dir);
    if (handle == NULL)
        return berth_error_set_errno(err, errno, "read log folder %s", dir);
    size_t capacity = 0;
    size_t prefix_length = strlen(prefix);
    struct dirent *entry;
    while ((entry = readdir(handle)) != NULL) {
        if (strncmp(entry->d_name, prefix, prefix_length) != 0)
            continue;
        int64_t index = 0;
        if (!berth_parse_int64(entry->d_name + prefix_length, 0, INT64_MAX, &index))
            continue;
        berth_grow((void **)files, &capacity, *count + 1, sizeof(**files));
        (*files)[*count].index = index;
        (*files)[*count].name = berth_xstrdup(entry->d_name);
        (*count)++;
    }
    closedir(handle);
    if (*count > 1)
        qsort(*files, *count, sizeof(**files), compare_files);
    return 0;
}

static void free_files(numbered_file *files, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(files[i].name);
    free(files);
}

static int open_index(berth_log_rotator *rotator, berth_error *err)
{
    berth_autofree char *path =
        berth_xasprintf("%s/%s%lld", rotator->dir, rotator->prefix, (long long)rotator->index);
    rotator->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (rotator->fd < 0)
        return berth_error_set_errno(err, errno, "open log file %s", path);
    off_t size = lseek(rotator->fd, 0, SEEK_END);
    rotator->size = size > 0 ? size : 0;
    return 0;
}

/* Removes files older than the newest max_files. */
static void prune(berth_log_rotator *rotator)
{
    numbered_file *files = NULL;
    size_t count = 0;
    if (scan(rotator->dir, rotator->prefix, &files, &count, NULL) < 0)
        return;
    for (size_t i = 0; i + (size_t)rotator->max_files < count; i++) {
        berth_autofree char *path = berth_xasprintf("%s/%s", rotator->dir, files[i].name);
        unlink(path);
    }
    free_files(files, count);
}

int berth_log_rotator_open(berth_log_rotator *rotator, const char *dir, const char *task,
                           const char *stream, int max_files, int max_file_size_mb,
                           berth_error *err)
{
    memset(rotator, 0, sizeof(*rotator));
    rotator->fd = -1;
    rotator->dir = berth_xstrdup(dir);
    rotator->prefix = berth_xasprintf("%s.%s.", task, stream);
    rotator->max_files = max_files > 0 ? max_files : 1;
    rotator->max_bytes = (int64_t)(max_file_size_mb > 0 ? max_file_size_mb : 1) * 1024 * 1024;
    numbered_file *files = NULL;
    size_t count = 0;
    if (scan(dir, rotator->prefix, &files, &count, err) < 0) {
        berth_log_rotator_close(rotator);
        return -1;
    }
    rotator->index = count > 0 ? files[count - 1].index : 0;
    free_files(files, count);
    if (open_index(rotator, err) < 0) {
        berth_log_rotator_close(rotator);
        return -1;
    }
    return 0;
}

int berth_log_rotator_write(berth_log_rotator *rotator, const char *data, size_t length,
                            berth_error *err)
{
    while (length > 0) {
        if (rotator->size >= rotator->max_bytes) {
            close(rotator->fd);
            rotator->fd = -1;
            rotator->index++;
            if (open_index(rotator, err) < 0)
                return -1;
            prune(rotator);
        }
        size_t room = (size_t)(rotator->max_bytes - rotator->size);
        size_t piece = length < room ? length : room;
        ssize_t written = write(rotator->fd, data, piece);
        if (written < 0 && errno == EINTR)
            continue;
        if (written < 0)
            return berth_error_set_errno(err, errno, "write log file %s%lld", rotator->prefix,
                                         (long long)rotator->index);
        rotator->size += written;
        data += written;
        length -= (size_t)written;
    }
    return 0;
}

void berth_log_rotator_close(berth_log_rotator *rotator)
{
    if (rotator->fd >= 0)
        close(rotator->fd);
    rotator->fd = -1;
    free(rotator->dir);
    free(rotator->prefix);
    rotator->dir = NULL;
    rotator->prefix = NULL;
}

int berth_log_files_list(const char *dir, const char *task, const char *stream, char ***paths,
                         size_t *count, berth_error *err)
{
    berth_autofree char *prefix = berth_xasprintf("%s.%s.", task, stream);
    numbered_file *files = NULL;
    size_t found = 0;
    if (scan(dir, prefix, &files, &found, err) < 0)
        return -1;
    *paths = berth_xcalloc(found + 1, sizeof(char *));
    for (size_t i = 0; i < found; i++)
        (*paths)[i] = berth_xasprintf("%s/%s", dir, files[i].name);
    *count = found;
    free_files(files, found);
    return 0;
}
