#include "driver/imageref.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

/* Maximum repository name length the distribution registry accepts. */
#define MAX_NAME_LENGTH 255
#define MAX_TAG_LENGTH 128

static bool is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* A path component: [a-z0-9]+ joined by separators '.', '_', '__' or one or
 * more '-'. */
static bool valid_path_component(const char *start, size_t length)
{
    if (length == 0 || !is_lower_alnum(start[0]) || !is_lower_alnum(start[length - 1]))
        return false;
    for (size_t i = 0; i < length; i++) {
        char c = start[i];
        if (is_lower_alnum(c))
            continue;
        if (c == '.' || c == '_') {
            /* '.' alone, '_' or '__' */
            size_t run = 1;
            while (i + run < length && start[i + run] == c)
                run++;
            if (c == '.' && run > 1)
                return false;
            if (c == '_' && run > 2)
                return false;
            i += run - 1;
            continue;
        }
        if (c == '-')
            continue;
        return false;
    }
    return true;
}

/* host[:port]: letters, digits, '-' and '.', or a bracketed IPv6 address,
 * then an optional numeric port. */
static bool valid_registry(const char *start, size_t length)
{
    if (length == 0)
        return false;
    size_t host_end = length;
    const char *colon = memrchr(start, ':', length);
    if (start[0] == '[') {
        const char *close = memchr(start, ']', length);
        if (close == NULL)
            return false;
        host_end = (size_t)(close - start) + 1;
        if (host_end < length && start[host_end] != ':')
            return false;
    } else if (colon != NULL) {
        host_end = (size_t)(colon - start);
    }
    if (host_end < length) {
        size_t port_length = length - host_end - 1;
        if (port_length == 0 || port_length > 5)
            return false;
        for (size_t i = host_end + 1; i < length; i++) {
            if (!isdigit((unsigned char)start[i]))
                return false;
        }
    }
    if (start[0] == '[')
        return true;
    if (host_end == 0)
        return false;
    for (size_t i = 0; i < host_end; i++) {
        char c = start[i];
        if (!isalnum((unsigned char)c) && c != '-' && c != '.')
            return false;
    }
    return true;
}

static bool valid_tag(const char *tag)
{
    size_t length = strlen(tag);
    if (length == 0 || length > MAX_TAG_LENGTH)
        return false;
    if (!isalnum((unsigned char)tag[0]) && tag[0] != '_')
        return false;
    for (size_t i = 1; i < length; i++) {
        char c = tag[i];
        if (!isalnum((unsigned char)c) && c != '_' && c != '.' && c != '-')
            return false;
    }
    return true;
}

/* algorithm:hex, where sha256 needs exactly 64 lower-case hex digits. */
static bool valid_digest(const char *digest)
{
    const char *colon = strchr(digest, ':');
    if (colon == NULL || colon == digest)
        return false;
    for (const char *p = digest; p < colon; p++) {
        if (!is_lower_alnum(*p) && *p != '+' && *p != '.' && *p != '_' && *p != '-')
            return false;
    }
    const char *hex = colon + 1;
    size_t hex_length = strlen(hex);
    if (hex_length < 32)
        return false;
    for (size_t i = 0; i < hex_length; i++) {
        if (!isxdigit((unsigned char)hex[i]) || isupper((unsigned char)hex[i]))
            return false;
    }
    if (strncmp(digest, "sha256:", 7) == 0 && hex_length != 64)
        return false;
    return true;
}

/* The first component names a registry when it contains '.' or ':' or is
 * "localhost", which is how the Docker CLI distinguishes "host/app" from
 * "team/app". */
static bool looks_like_registry(const char *start, size_t length)
{
    if (length == 9 && strncmp(start, "localhost", 9) == 0)
        return true;
    return memchr(start, '.', length) != NULL || memchr(start, ':', length) != NULL ||
           (length > 0 && start[0] == '[');
}

int berth_image_ref_parse(const char *text, berth_image_ref *out, berth_error *err)
{
    memset(out, 0, sizeof(*out));
    const char *original = text;
    if (berth_str_has_prefix(text, "https://"))
        text += strlen("https://");
    else if (berth_str_has_prefix(text, "http://"))
        text += strlen("http://");

    if (*text == '\0')
        return berth_error_set(err, BERTH_E_INVALID, "invalid image reference \"%s\": it is empty",
                               original);

    berth_autofree char *name = berth_xstrdup(text);
    char *digest = NULL;
    char *at = strchr(name, '@');
    if (at != NULL) {
        *at = '\0';
        digest = at + 1;
        if (!valid_digest(digest))
            return berth_error_set(err, BERTH_E_INVALID,
                                   "invalid image reference \"%s\": digest \"%s\" is not "
                                   "ALGORITHM:HEX (sha256 needs 64 lower-case hex digits)",
                                   original, digest);
    }

    /* A tag follows the last ':' only when no '/' comes after it; otherwise
     * that ':' belongs to a registry port ("host:5000/app"). */
    char *tag = NULL;
    char *last_colon = strrchr(name, ':');
    if (last_colon != NULL && strchr(last_colon, '/') == NULL) {
        *last_colon = '\0';
        tag = last_colon + 1;
        if (!valid_tag(tag))
            return berth_error_set(err, BERTH_E_INVALID,
                                   "invalid image reference \"%s\": tag \"%s\" must be 1 to 128 "
                                   "letters, digits, '_', '.' or '-', not starting with '.' or '-'",
                                   original, tag);
    }

    size_t name_length = strlen(name);
    if (name_length == 0 || name_length > MAX_NAME_LENGTH)
        return berth_error_set(err, BERTH_E_INVALID,
                               "invalid image reference \"%s\": the name must be 1 to %d "
                               "characters", original, MAX_NAME_LENGTH);

    const char *path = name;
    const char *slash = strchr(name, '/');
    berth_autofree char *registry = NULL;
    if (slash != NULL && looks_like_registry(name, (size_t)(slash - name))) {
        if (!valid_registry(name, (size_t)(slash - name)))
            return berth_error_set(err, BERTH_E_INVALID,
                                   "invalid image reference \"%s\": registry \"%.*s\" is not "
                                   "HOST[:PORT]", original, (int)(slash - name), name);
        registry = berth_xstrndup(name, (size_t)(slash - name));
        path = slash + 1;
    }

    const char *component = path;
    for (;;) {
        const char *end = strchr(component, '/');
        size_t length = end != NULL ? (size_t)(end - component) : strlen(component);
        if (!valid_path_component(component, length))
            return berth_error_set(err, BERTH_E_INVALID,
                                   "invalid image reference \"%s\": \"%.*s\" must be lower-case "
                                   "letters and digits, separated by '.', '_', '__' or '-'",
                                   original, (int)length, component);
        if (end == NULL)
            break;
        component = end + 1;
    }

    out->repository = berth_xstrdup(name);
    out->registry = registry != NULL ? berth_steal_pointer(&registry) : berth_xstrdup("docker.io");
    out->path = berth_xstrdup(path);
    if (tag != NULL)
        out->tag = berth_xstrdup(tag);
    else if (digest == NULL)
        out->tag = berth_xstrdup("latest");
    out->digest = digest != NULL ? berth_xstrdup(digest) : NULL;
    return 0;
}

void berth_image_ref_free(berth_image_ref *ref)
{
    free(ref->repository);
    free(ref->registry);
    free(ref->path);
    free(ref->tag);
    free(ref->digest);
    memset(ref, 0, sizeof(*ref));
}

char *berth_image_ref_format(const berth_image_ref *ref)
{
    if (ref->digest != NULL)
        return berth_xasprintf("%s@%s", ref->repository, ref->digest);
    return berth_xasprintf("%s:%s", ref->repository, ref->tag);
}

const char *berth_image_ref_pull_tag(const berth_image_ref *ref)
{
    return ref->digest != NULL ? ref->digest : ref->tag;
}
