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
    pthread_mutex_t images_lock;
    pthread_cond_t images_changed;
    image_entry *images;
};

/* Makes sure the image is present, pulling it when needed (one pull per
 * reference at a time), and takes a reference on it. */
int berth_driver_acquire_image(berth_driver *driver, const berth_image_ref *ref,
                               const char *registry_auth, const berth_task_request *request,
                               char **image_id, bool *counted, berth_error *err);

/* Drops a reference; the last one removes an image berth fetched when
 * docker.cleanup.image is on. */
void berth_driver_release_image(berth_driver *driver, const char *reference);

#endif
