#include "agent/artifact.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"
#include "taskenv/interp.h"

#define CONNECT_TIMEOUT_MS 30000L
#define MAX_REDIRECTS 10L
#define COPY_CHUNK (256 * 1024)

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void init_curl(void)
{
    curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static bool has_parent_component(const char *path)
{
    for (const char *p = path; (p = strstr(p, "..")) != NULL; p += 2) {
        if ((p == path || p[-1] == '/') && (p[2] == '\0' || p[2] == '/'))
            return true;
    }
    return false;
}

static bool path_inside(const char *path, const char *folder)
{
    size_t length = strlen(folder);
    return strncmp(path, folder, length) == 0 && (path[length] == '/' || path[length] == '\0');
}

/* Makes task_dir/destination one folder at a time and checks that the
 * result, after symlinks, is still inside task_dir. Stores the resolved
 * folder in *out (caller frees). */
static int make_destination(const char *task_dir, const char *destination, char **out,
                            berth_error *err)
{
    if (destination[0] == '/' || has_parent_component(destination))
        return berth_error_set(err, BERTH_E_INVALID,
                               "artifact destination \"%s\" must be a folder inside the task's "
                               "folder, such as \"local/\", without \"..\"",
                               destination);
    char real_task[PATH_MAX];
    if (realpath(task_dir, real_task) == NULL)
        return berth_error_set_errno(err, errno, "resolve task folder %s", task_dir);

    berth_autofree char *path = berth_xstrdup(real_task);
    const char *component = destination;
    while (*component != '\0') {
        const char *end = strchr(component, '/');
        size_t length = end != NULL ? (size_t)(end - component) : strlen(component);
        if (length > 0 && !(length == 1 && component[0] == '.')) {
            char *longer = berth_xasprintf("%s/%.*s", path, (int)length, component);
            free(path);
            path = longer;
            if (mkdir(path, 0755) < 0 && errno != EEXIST)
                return berth_error_set_errno(err, errno, "create artifact folder %s", path);
        }
        component += length;
        while (*component == '/')
            component++;
    }
    char real[PATH_MAX];
    if (realpath(path, real) == NULL)
        return berth_error_set_errno(err, errno, "resolve artifact folder %s", path);
    if (!path_inside(real, real_task))
        return berth_error_set(err, BERTH_E_INVALID,
                               "artifact destination \"%s\" leads to %s, outside the task's "
                               "folder %s",
                               destination, real, real_task);
    struct stat info;
    if (stat(real, &info) < 0 || !S_ISDIR(info.st_mode))
        return berth_error_set(err, BERTH_E_INVALID,
                               "artifact destination \"%s\" is not a folder", destination);
    *out = berth_xstrdup(real);
    return 0;
}

/* The last path element of a path or URL, without a query or fragment;
 * NULL when there is none. */
static char *file_name_of(const char *path)
{
    size_t length = strcspn(path, "?#");
    while (length > 0 && path[length - 1] == '/')
        length--;
    size_t start = length;
    while (start > 0 && path[start - 1] != '/')
        start--;
    if (start == length)
        return NULL;
    char *name = berth_xstrndup(path + start, length - start);
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
        free(name);
        return NULL;
    }
    return name;
}

/* --- Writing the file ----------------------------------------------------- */

typedef struct sink {
    int fd;
    uint64_t written;
    uint64_t max_bytes;
    int write_errno;
    bool too_large;
    const volatile sig_atomic_t *cancel;
} sink;

static bool cancelled(const sink *out)
{
    return out->cancel != NULL && *out->cancel;
}

static int sink_write(sink *out, const char *data, size_t length)
{
    if (out->written + length > out->max_bytes) {
        out->too_large = true;
        return -1;
    }
    while (length > 0) {
        ssize_t n = write(out->fd, data, length);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            out->write_errno = errno;
            return -1;
        }
        data += n;
        length -= (size_t)n;
        out->written += (uint64_t)n;
    }
    return 0;
}

static int copy_local(const char *path, sink *out, int64_t timeout_ms, berth_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return berth_error_set(err, BERTH_E_NOT_FOUND, "file %s not found", path);
        return berth_error_set_errno(err, errno, "open %s", path);
    }
    struct stat info;
    if (fstat(fd, &info) < 0) {
        int saved = errno;
        close(fd);
        return berth_error_set_errno(err, saved, "stat %s", path);
    }
    if (!S_ISREG(info.st_mode)) {
        close(fd);
        return berth_error_set(err, BERTH_E_INVALID,
                               "%s is not a regular file; berth copies single files only", path);
    }
    if ((uint64_t)info.st_size > out->max_bytes) {
        close(fd);
        return berth_error_set(err, BERTH_E_TOO_LARGE,
                               "%s is %lld bytes, more than the maximum of %llu bytes", path,
                               (long long)info.st_size, (unsigned long long)out->max_bytes);
    }
    int64_t deadline = berth_now_ms() + timeout_ms;
    char *buffer = berth_xmalloc(COPY_CHUNK);
    int rc = 0;
    for (;;) {
        if (cancelled(out)) {
            rc = berth_error_set(err, BERTH_E_CANCELLED, "copy of %s cancelled", path);
            break;
        }
        if (berth_now_ms() > deadline) {
            rc = berth_error_set(err, BERTH_E_IO, "copy of %s timed out after %lld ms", path,
                                 (long long)timeout_ms);
            break;
        }
        ssize_t n = read(fd, buffer, COPY_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = berth_error_set_errno(err, errno, "read %s", path);
            break;
        }
        if (n == 0)
            break;
        if (sink_write(out, buffer, (size_t)n) < 0) {
            rc = out->too_large
                     ? berth_error_set(err, BERTH_E_TOO_LARGE,
                                       "%s grew past the maximum of %llu bytes while copying",
                                       path, (unsigned long long)out->max_bytes)
                     : berth_error_set_errno(err, out->write_errno, "write the copy of %s",
                                             path);
            break;
        }
    }
    free(buffer);
    close(fd);
    return rc;
}

/* --- Downloading ------------------------------------------------------------ */

static size_t on_body(char *data, size_t size, size_t count, void *user_data)
{
    sink *out = user_data;
    size_t length = size * count;
    /* Returning less than length makes libcurl stop with CURLE_WRITE_ERROR. */
    return sink_write(out, data, length) == 0 ? length : 0;
}

static int on_transfer_info(void *user_data, curl_off_t download_total, curl_off_t downloaded,
                            curl_off_t upload_total, curl_off_t uploaded)
{
    (void)download_total;
    (void)downloaded;
    (void)upload_total;
    (void)uploaded;
    return cancelled(user_data) ? 1 : 0;
}

static int download(const char *url, sink *out, int64_t timeout_ms, berth_error *err)
{
    pthread_once(&curl_once, init_curl);
    if (curl_init_result != CURLE_OK)
        return berth_error_set(err, BERTH_E_INTERNAL, "curl_global_init failed: %s",
                               curl_easy_strerror(curl_init_result));
    CURL *curl = curl_easy_init();
    if (curl == NULL)
        return berth_error_set(err, BERTH_E_NO_MEMORY, "curl_easy_init failed");
    char message[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, message);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    /* Only http and https, also after a redirect, so a server cannot send
     * berth to file:// or another scheme. */
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, MAX_REDIRECTS);
    curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)out->max_bytes);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "berth");
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_transfer_info);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, out);

    CURLcode code = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(curl);
    if (code == CURLE_OK)
        return 0;

    const char *reason = message[0] != '\0' ? message : curl_easy_strerror(code);
    if (code == CURLE_HTTP_RETURNED_ERROR)
        return berth_error_set(err, status == 404 ? BERTH_E_NOT_FOUND : BERTH_E_IO,
                               "server returned HTTP %ld", status);
    if (out->too_large || code == CURLE_FILESIZE_EXCEEDED)
        return berth_error_set(err, BERTH_E_TOO_LARGE,
                               "the file is larger than the maximum of %llu bytes",
                               (unsigned long long)out->max_bytes);
    if (code == CURLE_WRITE_ERROR && out->write_errno != 0)
        return berth_error_set_errno(err, out->write_errno, "write the downloaded file");
    if (code == CURLE_ABORTED_BY_CALLBACK && cancelled(out))
        return berth_error_set(err, BERTH_E_CANCELLED, "download cancelled");
    if (code == CURLE_OPERATION_TIMEDOUT)
        return berth_error_set(err, BERTH_E_IO, "timed out (limit %lld ms): %s",
                               (long long)timeout_ms, reason);
    if (code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST)
        return berth_error_set(err, BERTH_E_UNREACHABLE, "%s", reason);
    return berth_error_set(err, BERTH_E_IO, "%s", reason);
}

/* --- Fetch ----------------------------------------------------------------- */

/* The path of an http(s) URL, "" when it has none. */
static const char *url_path(const char *url)
{
    const char *host = strstr(url, "://") + 3;
    const char *path = strchr(host, '/');
    return path != NULL ? path : "";
}

typedef enum source_kind { SOURCE_FILE, SOURCE_HTTP } source_kind;

/* Sorts source into a local file path or an http(s) URL. */
static int classify_source(const char *source, source_kind *kind, const char **location,
                           berth_error *err)
{
    if (berth_str_has_prefix(source, "http://") || berth_str_has_prefix(source, "https://")) {
        *kind = SOURCE_HTTP;
        *location = source;
        return 0;
    }
    const char *path = source;
    if (berth_str_has_prefix(source, "file://")) {
        path = source + strlen("file://");
        if (berth_str_has_prefix(path, "localhost/"))
            path += strlen("localhost");
    }
    if (path[0] != '/')
        return berth_error_set(err, BERTH_E_INVALID,
                               "artifact source \"%s\" is not supported; use an absolute path, a "
                               "file:///PATH URL or an http:// or https:// URL",
                               source);
    *kind = SOURCE_FILE;
    *location = path;
    return 0;
}

int berth_artifact_fetch(const char *source, const char *destination, const char *task_dir,
                         const berth_artifact_options *options, char **saved_path,
                         berth_error *err)
{
    source_kind kind;
    const char *location = NULL;
    if (classify_source(source, &kind, &location, err) < 0)
        return -1;
    berth_autofree char *name = file_name_of(kind == SOURCE_HTTP ? url_path(location) : location);
    if (name == NULL)
        return berth_error_set(err, BERTH_E_INVALID,
                               "artifact source \"%s\" has no file name to save it as; give a "
                               "source that ends in one",
                               source);
    berth_autofree char *folder = NULL;
    if (make_destination(task_dir, destination != NULL ? destination : "local/", &folder, err) < 0)
        return -1;

    berth_autofree char *target = berth_xasprintf("%s/%s", folder, name);
    berth_autofree char *partial = berth_xasprintf("%s/.%s.partial-XXXXXX", folder, name);
    int fd = mkostemp(partial, O_CLOEXEC);
    if (fd < 0)
        return berth_error_set_errno(err, errno, "create %s", partial);

    sink out = {
        .fd = fd,
        .max_bytes = options != NULL && options->max_bytes > 0 ? options->max_bytes
                                                                : BERTH_ARTIFACT_MAX_BYTES,
        .cancel = options != NULL ? options->cancel : NULL,
    };
    int64_t timeout_ms = options != NULL && options->timeout_ms > 0 ? options->timeout_ms
                                                                     : BERTH_ARTIFACT_TIMEOUT_MS;
    int rc = kind == SOURCE_HTTP ? download(location, &out, timeout_ms, err)
                                 : copy_local(location, &out, timeout_ms, err);
    if (rc == 0 && fchmod(fd, 0644) < 0)
        rc = berth_error_set_errno(err, errno, "set the mode of %s", partial);
    if (close(fd) < 0 && rc == 0)
        rc = berth_error_set_errno(err, errno, "write %s", partial);
    if (rc == 0 && rename(partial, target) < 0)
        rc = berth_error_set_errno(err, errno, "rename %s to %s", partial, target);
    if (rc < 0) {
        unlink(partial);
        return berth_error_prefix(err, "fetch artifact %s", source);
    }
    if (saved_path != NULL)
        *saved_path = berth_steal_pointer(&target);
    return 0;
}

int berth_artifact_fetch_all(const berth_job_artifact *artifacts, size_t count,
                             const char *task_dir, const berth_value *env,
                             const berth_node *node, const berth_artifact_options *options,
                             berth_error *err)
{
    berth_task_lookup context = {env, node};
    for (size_t i = 0; i < count; i++) {
        berth_autofree char *source =
            berth_interpolate(artifacts[i].source, berth_task_lookup_name, &context);
        berth_autofree char *destination =
            berth_interpolate(artifacts[i].destination != NULL ? artifacts[i].destination
                                                               : "local/",
                              berth_task_lookup_name, &context);
        if (options != NULL && options->event != NULL) {
            berth_autofree char *message =
                berth_xasprintf("fetching artifact %s into %s", source, destination);
            options->event(options->user_data, message);
        }
        berth_log(BERTH_LOG_INFO, "fetching artifact", "source", source, "destination",
                  destination, NULL);
        berth_autofree char *saved = NULL;
        if (berth_artifact_fetch(source, destination, task_dir, options, &saved, err) < 0)
            return -1;
        berth_log(BERTH_LOG_INFO, "artifact saved", "source", source, "path", saved, NULL);
    }
    return 0;
}
