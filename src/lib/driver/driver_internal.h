/* Driver state shared by the driver's source files. */
#ifndef BERTH_DRIVER_DRIVER_INTERNAL_H
#define BERTH_DRIVER_DRIVER_INTERNAL_H

#include <pthread.h>

#include "driver/driver.h"
#include "driver/imageref.h"

typedef struct image_entry {
    char *reference; /* "repository:tag" or "repository@digest" */
    char *image_id;
    int references;        /* tasks started on this image and not destroyed */
    bool fetched_by_berth; /* pulled or loaded by this driver, so cleanup may remove it */
    bool busy;             /* a pull, inspect or removal is in progress */
    struct image_entry *next;
} image_entry;

struct berth_driver {
    berth_docker *docker;
    berth_driver_options options;
    char *selinux_label;
    char *auth_config; /* docker.auth.config, or NULL */
    pthread_mutex_t images_lock;
    pthread_cond_t images_changed;
    image_entry *images;
};

/* Image archives named by the `load` option, as absolute host paths. */
typedef struct image_archives {
    char **paths;
    size_t length;
} image_archives;

/* Resolves each `load` entry against the task's local dir. Relative paths
 * and absolute paths must end up, after symlinks, inside the allocation
 * (the parent of request->alloc_dir); a missing file is BERTH_E_NOT_FOUND.
 * Fills out (free with berth_driver_free_archives) or fails with err. */
int berth_driver_resolve_archives(const berth_task_request *request, char *const *load,
                                  size_t load_count, image_archives *out, berth_error *err);
void berth_driver_free_archives(image_archives *archives);

/* Makes sure the image is present, pulling it (or, with archives, loading
 * them) when needed, one fetch per reference at a time, and takes a
 * reference on it. archives may be NULL or empty. */
int berth_driver_acquire_image(berth_driver *driver, const berth_image_ref *ref,
                               const char *registry_auth, const image_archives *archives,
                               const berth_task_request *request, char **image_id,
                               bool *counted, berth_error *err);

/* Drops a reference; the last one removes an image berth fetched when
 * docker.cleanup.image is on. */
void berth_driver_release_image(berth_driver *driver, const char *reference);

#endif
