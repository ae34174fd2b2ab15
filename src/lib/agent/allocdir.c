#include "agent/allocdir.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "core/util.h"

static int make_dir(const char *path, berth_error *err)
{
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        return berth_error_set_errno(err, errno, "create folder %s", path);
    return 0;
}

int berth_alloc_dir_prepare(const char *alloc_root, const char *task_name, berth_error *err)
{
    static const char *const shared[] = {"alloc", "alloc/data", "alloc/logs", "alloc/tmp"};
    static const char *const own[] = {"", "/local", "/secrets", "/tmp"};
    if (make_dir(alloc_root, err) < 0)
        return -1;
    for (size_t i = 0; i < sizeof(shared) / sizeof(shared[0]); i++) {
        berth_autofree char *path = berth_xasprintf("%s/%s", alloc_root, shared[i]);
        if (make_dir(path, err) < 0)
            return -1;
    }
    for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++) {
        berth_autofree char *path = berth_xasprintf("%s/%s%s", alloc_root, task_name, own[i]);
        if (make_dir(path, err) < 0)
            return -1;
    }
    /* Secrets are for the task alone. */
    berth_autofree char *secrets = berth_xasprintf("%s/%s/secrets", alloc_root, task_name);
    if (chmod(secrets, 0700) < 0)
        return berth_error_set_errno(err, errno, "restrict folder %s", secrets);
    return 0;
}

static int remove_entry(const char *path, const struct stat *info, int type, struct FTW *ftw)
{
    (void)info;
    (void)type;
    (void)ftw;
    remove(path);
    return 0;
}

void berth_remove_tree(const char *path)
{
    nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void berth_task_ports_release(berth_port_allocator *allocator, berth_port_binding *ports,
                              size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (allocator != NULL)
            berth_port_release(allocator, ports[i].host_port);
        free(ports[i].label);
        free(ports[i].host_ip);
    }
    free(ports);
}

int berth_task_ports_reserve(berth_port_allocator *allocator, const char *host_ip,
                             const berth_job_resources *resources, berth_port_binding **out,
                             size_t *count, berth_error *err)
{
    *out = NULL;
    *count = 0;
    if (resources->network_count == 0)
        return 0;
    const berth_job_network *network = &resources->networks[0];
    berth_port_binding *ports = berth_xcalloc(network->port_count + 1, sizeof(*ports));
    size_t reserved = 0;
    for (size_t i = 0; i < network->port_count; i++) {
        const berth_job_port *port = &network->ports[i];
        int number = port->static_port;
        int rc = number != 0 ? berth_port_reserve_static(allocator, host_ip, number, err)
                             : berth_port_reserve_dynamic(allocator, host_ip, &number, err);
        if (rc < 0) {
            berth_task_ports_release(allocator, ports, reserved);
            return berth_error_prefix(err, "port \"%s\"", port->label);
        }
        ports[reserved].label = berth_xstrdup(port->label);
        ports[reserved].host_ip = berth_xstrdup(host_ip);
        ports[reserved].host_port = number;
        reserved++;
    }
    *out = ports;
    *count = reserved;
    return 0;
}

int berth_task_validate_config(const berth_driver_options *options, const berth_job_task *task,
                               berth_error *err)
{
    const berth_job_network *network =
        task->resources.network_count > 0 ? &task->resources.networks[0] : NULL;
    size_t count = network != NULL ? network->port_count : 0;
    const char **labels = berth_xcalloc(count + 1, sizeof(char *));
    for (size_t i = 0; i < count; i++)
        labels[i] = network->ports[i].label;
    int rc = berth_driver_validate_config(options, task->config, labels, count, err);
    free(labels);
    return rc;
}

int berth_task_env_for_job(const berth_node *node, const char *alloc_id, int alloc_index,
                           const berth_job *job, const berth_job_group *group,
                           const berth_job_task *task, const berth_port_binding *ports,
                           size_t port_count, berth_value **out, berth_error *err)
{
    berth_task_env_input input = {
        .node = node,
        .alloc_id = alloc_id,
        .alloc_index = alloc_index,
        .job_id = job->id,
        .job_name = job->name,
        .group_name = group->name,
        .task_name = task->name,
        .job_meta = job->meta,
        .group_meta = group->meta,
        .task_meta = task->meta,
        .user_env = task->env,
        .cpu_mhz = task->resources.cpu_mhz,
        .memory_mb = task->resources.memory_mb,
        .ports = ports,
        .port_count = port_count,
    };
    return berth_task_env_build(&input, out, err);
}
