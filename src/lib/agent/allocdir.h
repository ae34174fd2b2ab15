/* Task set-up shared by `berth run` and the agent's task runners: the
 * allocation folder laid out as Nomad does, the task's host ports, its
 * environment and the check of its driver config. */
#ifndef BERTH_AGENT_ALLOCDIR_H
#define BERTH_AGENT_ALLOCDIR_H

#include <stddef.h>

#include "agent/ports.h"
#include "core/error.h"
#include "driver/driver.h"
#include "job/job.h"
#include "taskenv/taskenv.h"

/* Makes <alloc_root>/alloc/{data,logs,tmp}, shared by the allocation's
 * tasks, and <alloc_root>/<task>/{local,secrets,tmp}; secrets is mode 0700.
 * Folders that exist are kept. */
int berth_alloc_dir_prepare(const char *alloc_root, const char *task_name, berth_error *err);

/* Deletes a folder and everything under it, without following links. */
void berth_remove_tree(const char *path);

/* Reserves the ports of the task's first network on host_ip: static ports
 * as given, dynamic ones from the allocator's range. On failure nothing
 * stays reserved. The caller frees with berth_task_ports_release(). */
int berth_task_ports_reserve(berth_port_allocator *allocator, const char *host_ip,
                             const berth_job_resources *resources, berth_port_binding **out,
                             size_t *count, berth_error *err);

/* Releases the reservations (when allocator is not NULL) and frees ports. */
void berth_task_ports_release(berth_port_allocator *allocator, berth_port_binding *ports,
                              size_t count);

/* Builds the task's environment (see berth_task_env_build) from the job
 * model: job, group and task meta, the task's env and resources, and its
 * reserved ports. */
int berth_task_env_for_job(const berth_node *node, const char *alloc_id, int alloc_index,
                           const berth_job *job, const berth_job_group *group,
                           const berth_job_task *task, const berth_port_binding *ports,
                           size_t port_count, berth_value **out, berth_error *err);

/* Checks a task's driver config without contacting the engine, with the
 * labels of the task's network ports for port_map (see
 * berth_driver_validate_config). */
int berth_task_validate_config(const berth_driver_options *options, const berth_job_task *task,
                               berth_error *err);

#endif
