/* The agent's state store: one SQLite database in data_dir, in WAL mode
 * with a full sync on every commit, so what the agent reported survives a
 * crash or SIGKILL.
 *
 * Records are JSON documents keyed by id: jobs, allocations (with their
 * task states) and task events. The agent owns their shape; the store only
 * keeps them. */
#ifndef BERTH_AGENT_STATE_H
#define BERTH_AGENT_STATE_H

#include <jansson.h>
#include <stdint.h>

#include "core/error.h"

typedef struct berth_state berth_state;

int berth_state_open(const char *path, berth_state **out, berth_error *err);
void berth_state_close(berth_state *state);

/* Stores a job document (replacing one with the same id). */
int berth_state_put_job(berth_state *state, const char *job_id, const json_t *job,
                        berth_error *err);
/* Stores an allocation document. */
int berth_state_put_alloc(berth_state *state, const char *alloc_id, const char *job_id,
                          const json_t *alloc, berth_error *err);
int berth_state_delete_alloc(berth_state *state, const char *alloc_id, berth_error *err);
/* Appends a task event. */
int berth_state_add_event(berth_state *state, const char *alloc_id, const char *task,
                          const json_t *event, berth_error *err);

/* Loads every job, allocation and event: {"jobs": [...], "allocs": [...],
 * "events": [{"alloc_id","task","event"}...]} in insertion order. */
int berth_state_load(berth_state *state, json_t **out, berth_error *err);

/* A persistent counter for Nomad-style modify indexes. */
int berth_state_next_index(berth_state *state, int64_t *index, berth_error *err);

#endif
