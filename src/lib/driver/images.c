/* Image coordination: one pull or load per image at a time, and reference
 * counts so an image is removed only after the last task using it is
 * destroyed. Only images berth pulled or loaded itself are ever removed: an
 * image that was already present belongs to the user or tool that put it there. */
#include "driver/driver_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/log.h"
#include "core/util.h"

static image_entry *find_entry(berth_driver *driver, const char *reference)
{
    for (image_entry *entry = driver->images; entry != NULL; entry = entry->next) {
        if (strcmp(entry->reference, reference) == 0)
            return entry;
    }
    image_entry *entry = berth_xcalloc(1, sizeof(*entry));
    entry->reference = berth_xstrdup(reference);
    entry->next = driver->images;
    driver->images = entry;
    return entry;
}

static int inspect_image_id(berth_driver *driver, const char *reference, char **image_id,
                            berth_error *err)
{
    json_t *inspect = NULL;
    if (berth_docker_image_inspect(driver->docker, reference, &inspect, err) < 0)
        return -1;
    const char *id = json_string_value(json_object_get(inspect, "Id"));
    if (id == NULL) {
        json_decref(inspect);
        return berth_error_set(err, BERTH_E_ENGINE, "image %s has no Id in its inspect reply",
                               reference);
    }
    *image_id = berth_xstrdup(id);
    json_decref(inspect);
    return 0;
}

struct pull_progress {
    berth_driver_event_cb event;
    void *user_data;
    const char *reference;
    int64_t last_report_ms;
};

static void report_pull_progress(void *user_data, const json_t *line)
{
    struct pull_progress *progress = user_data;
    const char *status = json_string_value(json_object_get(line, "status"));
    if (status == NULL || progress->event == NULL)
        return;
    /* Layer-by-layer lines arrive many times a second; pass on one every
     * 10 s plus the final "Status:" line. */
    int64_t now = berth_now_ms();
    if (berth_str_has_prefix(status, "Status:") || berth_str_has_prefix(status, "Digest:") ||
        now - progress->last_report_ms >= 10000) {
        berth_autofree char *message = berth_xasprintf("image %s: %s", progress->reference, status);
        progress->event(progress->user_data, message);
        progress->last_report_ms = now;
    }
}

static int fetch_image(berth_driver *driver, const berth_image_ref *ref, const char *reference,
                       const char *registry_auth, const berth_task_request *request,
                       berth_error *err)
{
    if (request->event != NULL) {
        berth_autofree char *message = berth_xasprintf("pulling image %s", reference);
        request->event(request->event_user_data, message);
    }
    berth_log(BERTH_LOG_INFO, "pulling image", "image", reference, "alloc_id", request->alloc_id,
              "task", request->task_name, NULL);
    struct pull_progress progress = {request->event, request->event_user_data, reference, 0};
    if (berth_docker_image_pull(driver->docker, ref->repository, berth_image_ref_pull_tag(ref),
                                registry_auth, report_pull_progress, &progress, err) < 0)
        return berth_error_prefix(err, "pull %s", reference);
    return 0;
}

/* --- Image archives (`load`) --------------------------------------------- */

/* Rewrites an absolute path in place without "." and ".." components and
 * repeated slashes, without touching the file system. */
static void normalize_path(char *path)
{
    char *out = path;
    const char *in = path;
    while (*in != '\0') {
        while (*in == '/')
            in++;
        const char *end = strchr(in, '/');
        size_t length = end != NULL ? (size_t)(end - in) : strlen(in);
        if (length == 0)
            break;
        if (length == 1 && in[0] == '.') {
            /* skip */
        } else if (length == 2 && in[0] == '.' && in[1] == '.') {
            while (out > path && *(out - 1) != '/')
                out--;
            if (out > path)
                out--;
        } else {
            *out++ = '/';
            memmove(out, in, length);
            out += length;
        }
        in += length;
    }
    if (out == path)
        *out++ = '/';
    *out = '\0';
}

static bool path_inside(const char *path, const char *folder)
{
    size_t length = strlen(folder);
    return strncmp(path, folder, length) == 0 && (path[length] == '/' || path[length] == '\0');
}

static int resolve_archive(const char *entry, const char *local_dir, const char *root,
                           const char *real_root, char **out, berth_error *err)
{
    if (*entry == '\0')
        return berth_error_set(err, BERTH_E_INVALID,
                               "config option \"load\" has an empty path; name an image "
                               "archive relative to the task's local directory");
    berth_autofree char *joined = entry[0] == '/' ? berth_xstrdup(entry)
                                                  : berth_xasprintf("%s/%s", local_dir, entry);
    normalize_path(joined);
    if (!path_inside(joined, root))
        return berth_error_set(err, BERTH_E_INVALID,
                               "config option \"load\": \"%s\" is outside the allocation "
                               "directory %s; give a path relative to the task's local "
                               "directory",
                               entry, root);
    char real[PATH_MAX];
    if (realpath(joined, real) == NULL) {
        if (errno == ENOENT || errno == ENOTDIR)
            return berth_error_set(err, BERTH_E_NOT_FOUND,
                                   "config option \"load\": image archive \"%s\" not found "
                                   "at %s; add an artifact block that downloads it or fix the "
                                   "path",
                                   entry, joined);
        return berth_error_set_errno(err, errno, "config option \"load\": resolve %s", joined);
    }
    /* A symlink inside the allocation may point anywhere; check the target. */
    if (!path_inside(real, real_root))
        return berth_error_set(err, BERTH_E_INVALID,
                               "config option \"load\": \"%s\" leads to %s, outside the "
                               "allocation directory %s",
                               entry, real, root);
    struct stat info;
    if (stat(real, &info) < 0)
        return berth_error_set_errno(err, errno, "config option \"load\": stat %s", real);
    if (!S_ISREG(info.st_mode))
        return berth_error_set(err, BERTH_E_INVALID,
                               "config option \"load\": %s is not a regular file; name an "
                               "image archive made by docker save",
                               real);
    *out = berth_xstrdup(real);
    return 0;
}

int berth_driver_resolve_archives(const berth_task_request *request, char *const *load,
                                  size_t load_count, image_archives *out, berth_error *err)
{
    memset(out, 0, sizeof(*out));
    if (load_count == 0)
        return 0;
    if (request->alloc_dir == NULL || request->local_dir == NULL || request->alloc_dir[0] != '/' ||
        request->local_dir[0] != '/')
        return berth_error_set(err, BERTH_E_INVALID,
                               "config option \"load\" needs the task's allocation and local "
                               "directories as absolute paths");
    /* The allocation directory is the parent of the shared alloc/ folder:
     * it contains alloc/ and every task's folder. */
    berth_autofree char *root = berth_xstrdup(request->alloc_dir);
    normalize_path(root);
    char *slash = strrchr(root, '/');
    if (slash != NULL && slash != root)
        *slash = '\0';
    char real_root[PATH_MAX];
    if (realpath(root, real_root) == NULL)
        return berth_error_set_errno(err, errno, "resolve allocation directory %s", root);

    out->paths = berth_xcalloc(load_count, sizeof(char *));
    for (size_t i = 0; i < load_count; i++) {
        if (resolve_archive(load[i], request->local_dir, root, real_root, &out->paths[i], err) <
            0) {
            berth_driver_free_archives(out);
            return -1;
        }
        out->length++;
    }
    return 0;
}

void berth_driver_free_archives(image_archives *archives)
{
    for (size_t i = 0; i < archives->length; i++)
        free(archives->paths[i]);
    free(archives->paths);
    memset(archives, 0, sizeof(*archives));
}

static void report_load_progress(void *user_data, const json_t *line)
{
    struct pull_progress *progress = user_data;
    const char *stream = json_string_value(json_object_get(line, "stream"));
    if (stream == NULL || progress->event == NULL)
        return;
    /* The engine sends "Loaded image: NAME\n"; pass it on without the
     * newline. */
    berth_autofree char *text = berth_xstrdup(stream);
    size_t length = strlen(text);
    while (length > 0 && (text[length - 1] == '\n' || text[length - 1] == '\r'))
        text[--length] = '\0';
    if (length == 0)
        return;
    berth_autofree char *message = berth_xasprintf("image %s: %s", progress->reference, text);
    progress->event(progress->user_data, message);
}

/* Loads every archive, then checks that one of them contained the image. */
static int load_image(berth_driver *driver, const char *reference,
                      const image_archives *archives, const berth_task_request *request,
                      berth_error *err)
{
    for (size_t i = 0; i < archives->length; i++) {
        const char *path = archives->paths[i];
        if (request->event != NULL) {
            berth_autofree char *message =
                berth_xasprintf("loading image archive %s for %s", path, reference);
            request->event(request->event_user_data, message);
        }
        berth_log(BERTH_LOG_INFO, "loading image archive", "image", reference, "archive", path,
                  "alloc_id", request->alloc_id, "task", request->task_name, NULL);
        struct pull_progress progress = {request->event, request->event_user_data, reference, 0};
        if (berth_docker_image_load(driver->docker, path, report_load_progress, &progress, err) <
            0)
            return berth_error_prefix(err, "load %s", reference);
    }
    json_t *inspect = NULL;
    if (berth_docker_image_inspect(driver->docker, reference, &inspect, err) == 0) {
        json_decref(inspect);
        return 0;
    }
    if (err->code != BERTH_E_NOT_FOUND)
        return berth_error_prefix(err, "after loading %s", reference);
    berth_error_clear(err);
    if (archives->length == 1)
        return berth_error_set(err, BERTH_E_NOT_FOUND,
                               "image archive %s does not contain image %s; check the image's "
                               "name and tag in the archive (docker save NAME:TAG)",
                               archives->paths[0], reference);
    return berth_error_set(err, BERTH_E_NOT_FOUND,
                           "none of the %zu image archives (first %s) contains image %s; check "
                           "the image's name and tag in the archives (docker save NAME:TAG)",
                           archives->length, archives->paths[0], reference);
}

int berth_driver_acquire_image(berth_driver *driver, const berth_image_ref *ref,
                               const char *registry_auth, const image_archives *archives,
                               const berth_task_request *request, char **image_id,
                               bool *counted, berth_error *err)
{
    berth_autofree char *reference = berth_image_ref_format(ref);

    pthread_mutex_lock(&driver->images_lock);
    image_entry *entry = find_entry(driver, reference);
    while (entry->busy)
        pthread_cond_wait(&driver->images_changed, &driver->images_lock);
    entry->busy = true;
    pthread_mutex_unlock(&driver->images_lock);

    /* As in Nomad, an image with a tag other than "latest" (or a digest)
     * that is already present is used as it is. An image tagged "latest" is
     * pulled (or, with `load`, loaded) every time so it follows its source. */
    char *id = NULL;
    bool fetched = false;
    bool use_local = ref->digest != NULL || (ref->tag != NULL && strcmp(ref->tag, "latest") != 0);
    int rc = -1;
    berth_error local_err = BERTH_ERROR_INIT;
    if (use_local && inspect_image_id(driver, reference, &id, &local_err) == 0) {
        rc = 0;
    } else if (use_local && local_err.code != BERTH_E_NOT_FOUND) {
        *err = local_err;
    } else if (archives != NULL && archives->length > 0) {
        if (load_image(driver, reference, archives, request, err) == 0) {
            fetched = true;
            rc = inspect_image_id(driver, reference, &id, err);
        }
    } else if (fetch_image(driver, ref, reference, registry_auth, request, err) == 0) {
        fetched = true;
        rc = inspect_image_id(driver, reference, &id, err);
        if (rc < 0)
            berth_error_prefix(err, "after pulling %s", reference);
    }

    pthread_mutex_lock(&driver->images_lock);
    entry->busy = false;
    if (rc == 0) {
        entry->references++;
        if (fetched)
            entry->fetched_by_berth = true;
        free(entry->image_id);
        entry->image_id = berth_xstrdup(id);
    }
    pthread_cond_broadcast(&driver->images_changed);
    pthread_mutex_unlock(&driver->images_lock);

    if (rc < 0) {
        free(id);
        return -1;
    }
    *image_id = id;
    *counted = true;
    return 0;
}

/* Removes the reference berth fetched, when it still names image_id.
 *
 * The removal goes by reference, not by id, because one image may carry
 * several tags: a loaded archive often holds an image that is also tagged
 * under another name, and deleting by id would fail (409) or, with force,
 * take the other tags too. Removing the reference untags it, and the
 * engine deletes the image only when that was its last tag. Without force
 * the engine rejects (409) deleting an image that a container, berth's or
 * not, still uses; that rejection is expected and logged at debug. */
static void remove_image(berth_driver *driver, const char *reference, const char *image_id)
{
    berth_error err = BERTH_ERROR_INIT;
    char *current_id = NULL;
    if (inspect_image_id(driver, reference, &current_id, &err) < 0) {
        if (err.code != BERTH_E_NOT_FOUND)
            berth_log(BERTH_LOG_WARN, "image removal failed", "image", reference, "error",
                      err.message, NULL);
        return;
    }
    bool same = strcmp(current_id, image_id) == 0;
    free(current_id);
    if (!same) {
        /* Someone pulled or tagged a different image under this name since
         * berth fetched it; that one is not berth's to remove. */
        berth_log(BERTH_LOG_INFO, "image kept: its reference now names another image", "image",
                  reference, "image_id", image_id, NULL);
        return;
    }
    if (berth_docker_image_remove(driver->docker, reference, false, &err) < 0) {
        if (err.code == BERTH_E_CONFLICT || err.code == BERTH_E_NOT_FOUND)
            berth_log(BERTH_LOG_DEBUG, "image kept", "image", reference, "reason", err.message,
                      NULL);
        else
            berth_log(BERTH_LOG_WARN, "image removal failed", "image", reference, "error",
                      err.message, NULL);
        return;
    }
    berth_log(BERTH_LOG_INFO, "image removed", "image", reference, "image_id", image_id, NULL);
}

void berth_driver_release_image(berth_driver *driver, const char *reference)
{
    pthread_mutex_lock(&driver->images_lock);
    image_entry *entry = find_entry(driver, reference);
    while (entry->busy)
        pthread_cond_wait(&driver->images_changed, &driver->images_lock);
    if (entry->references > 0)
        entry->references--;
    bool remove = entry->references == 0 && driver->options.cleanup_image &&
                  entry->fetched_by_berth && entry->image_id != NULL;
    berth_autofree char *image_id = remove ? berth_xstrdup(entry->image_id) : NULL;
    if (remove) {
        /* Hold the entry while removing so a new task cannot start on an
         * image that is going away. */
        entry->busy = true;
        entry->fetched_by_berth = false;
    }
    pthread_mutex_unlock(&driver->images_lock);
    if (!remove)
        return;

    remove_image(driver, reference, image_id);
    pthread_mutex_lock(&driver->images_lock);
    entry->busy = false;
    pthread_cond_broadcast(&driver->images_changed);
    pthread_mutex_unlock(&driver->images_lock);
}

void berth_driver_retain_image(berth_driver *driver, const char *reference, const char *image_id,
                               bool fetched_by_berth)
{
    pthread_mutex_lock(&driver->images_lock);
    image_entry *entry = find_entry(driver, reference);
    while (entry->busy)
        pthread_cond_wait(&driver->images_changed, &driver->images_lock);
    entry->references++;
    if (fetched_by_berth)
        entry->fetched_by_berth = true;
    if (entry->image_id == NULL && image_id != NULL)
        entry->image_id = berth_xstrdup(image_id);
    pthread_mutex_unlock(&driver->images_lock);
}

bool berth_driver_image_fetched(berth_driver *driver, const char *reference)
{
    pthread_mutex_lock(&driver->images_lock);
    image_entry *entry = find_entry(driver, reference);
    bool fetched = entry->fetched_by_berth;
    pthread_mutex_unlock(&driver->images_lock);
    return fetched;
}
