/* Image coordination: one pull per image at a time, and reference counts
 * so an image is removed only after the last task using it is destroyed. */
#include "driver/driver_internal.h"

#include <stdlib.h>
#include <string.h>

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

int berth_driver_acquire_image(berth_driver *driver, const berth_image_ref *ref,
                               const char *registry_auth, const berth_task_request *request,
                               char **image_id, bool *counted, berth_error *err)
{
    berth_autofree char *reference = berth_image_ref_format(ref);

    pthread_mutex_lock(&driver->images_lock);
    image_entry *entry = find_entry(driver, reference);
    while (entry->busy)
        pthread_cond_wait(&driver->images_changed, &driver->images_lock);
    entry->busy = true;
    pthread_mutex_unlock(&driver->images_lock);

    /* As Nomad does: an image with a tag other than "latest" (or a digest)
     * that is already present is used as it is; "latest" is pulled every
     * time so it follows the registry. */
    char *id = NULL;
    bool fetched = false;
    bool use_local = ref->digest != NULL || (ref->tag != NULL && strcmp(ref->tag, "latest") != 0);
    int rc = -1;
    berth_error local_err = BERTH_ERROR_INIT;
    if (use_local && inspect_image_id(driver, reference, &id, &local_err) == 0) {
        rc = 0;
    } else if (use_local && local_err.code != BERTH_E_NOT_FOUND) {
        *err = local_err;
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

    berth_error err = BERTH_ERROR_INIT;
    /* Without force the engine refuses (409) to remove an image that any
     * container, berth's or not, still uses; that refusal is expected. */
    if (berth_docker_image_remove(driver->docker, image_id, false, &err) < 0) {
        if (err.code != BERTH_E_CONFLICT && err.code != BERTH_E_NOT_FOUND)
            berth_log(BERTH_LOG_WARN, "image removal failed", "image", reference, "error",
                      err.message, NULL);
    } else {
        berth_log(BERTH_LOG_INFO, "image removed", "image", reference, "image_id", image_id,
                  NULL);
    }
    pthread_mutex_lock(&driver->images_lock);
    entry->busy = false;
    pthread_cond_broadcast(&driver->images_changed);
    pthread_mutex_unlock(&driver->images_lock);
}
