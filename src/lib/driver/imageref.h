/* Docker image references: `redis`, `redis:7`, `127.0.0.1:5000/team/app:1.2`,
 * `app@sha256:<64 hex>`, following the grammar of the distribution
 * project's reference package (lower-case path components separated by
 * '/', an optional registry host[:port] first, an optional tag, an optional
 * digest). */
#ifndef BERTH_DRIVER_IMAGEREF_H
#define BERTH_DRIVER_IMAGEREF_H

#include <stdbool.h>

#include "core/error.h"

typedef struct berth_image_ref {
    char *repository; /* with the registry host when one was given: "127.0.0.1:5000/team/app" */
    char *registry;   /* "127.0.0.1:5000", or "docker.io" when none was given */
    char *path;       /* the repository without the registry: "team/app" */
    char *tag;        /* "1.2"; "latest" when neither tag nor digest was given; NULL with a digest only */
    char *digest;     /* "sha256:..." or NULL */
} berth_image_ref;

/* Parses text. A leading "https://" or "http://" is removed first, as Nomad
 * does. Fails with BERTH_E_INVALID naming the reference and the rule it
 * breaks. Free with berth_image_ref_free. */
int berth_image_ref_parse(const char *text, berth_image_ref *out, berth_error *err);
void berth_image_ref_free(berth_image_ref *ref);

/* Returns "repository:tag" or "repository@digest" (with both, the digest
 * wins, as the engine resolves it); the caller frees it. */
char *berth_image_ref_format(const berth_image_ref *ref);

/* The tag argument of a pull: the digest when present, else the tag. */
const char *berth_image_ref_pull_tag(const berth_image_ref *ref);

#endif
