/* Fetches a task's artifact blocks into its folder before the task starts:
 * local files (an absolute path or a file:// URL) are copied, http:// and
 * https:// URLs are downloaded with libcurl. Each file keeps its name and is
 * saved as it is (archives are not unpacked) in the artifact's destination
 * folder, which must stay inside the task's folder. */
#ifndef BERTH_AGENT_ARTIFACT_H
#define BERTH_AGENT_ARTIFACT_H

#include <signal.h>
#include <stdint.h>

#include "core/error.h"
#include "core/value.h"
#include "job/job.h"
#include "taskenv/taskenv.h"

/* Default bounds for one artifact: its size in bytes and the time its
 * download or copy may take. An image archive of a few GiB fits. */
#define BERTH_ARTIFACT_MAX_BYTES (8ull * 1024 * 1024 * 1024)
#define BERTH_ARTIFACT_TIMEOUT_MS (30LL * 60 * 1000)

typedef struct berth_artifact_options {
    uint64_t max_bytes;  /* 0: BERTH_ARTIFACT_MAX_BYTES */
    int64_t timeout_ms;  /* 0: BERTH_ARTIFACT_TIMEOUT_MS */
    /* A download or copy fails with BERTH_E_CANCELLED once *cancel becomes
     * non-zero. May be NULL. */
    const volatile sig_atomic_t *cancel;
    /* Receives a progress message per artifact; may be NULL. */
    void (*event)(void *user_data, const char *message);
    void *user_data;
} berth_artifact_options;

/* Fetches source into the folder task_dir/destination (made when missing)
 * and stores the saved file's path in *saved_path (caller frees; may be
 * NULL). A partly written file is removed on failure. Errors name the
 * source and the reason: not found, HTTP status, size bound, time limit. */
int berth_artifact_fetch(const char *source, const char *destination, const char *task_dir,
                         const berth_artifact_options *options, char **saved_path,
                         berth_error *err);

/* Fetches every artifact of a task in order, after interpolating `${...}`
 * in source and destination with the task's env and node. Stops at the
 * first failure. */
int berth_artifact_fetch_all(const berth_job_artifact *artifacts, size_t count,
                             const char *task_dir, const berth_value *env,
                             const berth_node *node, const berth_artifact_options *options,
                             berth_error *err);

#endif
