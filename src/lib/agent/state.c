#include "agent/state.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

struct berth_state {
    sqlite3 *db;
    pthread_mutex_t lock;
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, doc TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS allocs (id TEXT PRIMARY KEY, job_id TEXT NOT NULL,"
    " doc TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " alloc_id TEXT NOT NULL, task TEXT NOT NULL, doc TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS events_alloc ON events (alloc_id);"
    "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);";

static int fail_sqlite(sqlite3 *db, berth_error *err, const char *operation)
{
    return berth_error_set(err, BERTH_E_IO, "state database: %s: %s", operation,
                           sqlite3_errmsg(db));
}

int berth_state_open(const char *path, berth_state **out, berth_error *err)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        NULL) != SQLITE_OK) {
        berth_error_set(err, BERTH_E_IO, "open state database %s: %s", path,
                        db != NULL ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return -1;
    }
    sqlite3_busy_timeout(db, 5000);
    /* WAL keeps readers and the writer apart; synchronous=FULL makes every
     * commit durable, at the cost of one fsync per write. */
    char *message = NULL;
    if (sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL,
                     &message) != SQLITE_OK ||
        sqlite3_exec(db, schema, NULL, NULL, &message) != SQLITE_OK) {
        berth_error_set(err, BERTH_E_IO, "prepare state database %s: %s", path,
                        message != NULL ? message : sqlite3_errmsg(db));
        sqlite3_free(message);
        sqlite3_close(db);
        return -1;
    }
    berth_state *state = berth_xcalloc(1, sizeof(*state));
    state->db = db;
    pthread_mutex_init(&state->lock, NULL);
    *out = state;
    return 0;
}

void berth_state_close(berth_state *state)
{
    if (state == NULL)
        return;
    sqlite3_close(state->db);
    pthread_mutex_destroy(&state->lock);
    free(state);
}

/* Runs one statement with text parameters. */
static int run(berth_state *state, const char *sql, const char *const *params, int count,
               berth_error *err)
{
    pthread_mutex_lock(&state->lock);
    sqlite3_stmt *statement = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(state->db, sql, -1, &statement, NULL) != SQLITE_OK) {
        fail_sqlite(state->db, err, "prepare");
        goto out;
    }
    for (int i = 0; i < count; i++)
        sqlite3_bind_text(statement, i + 1, params[i], -1, SQLITE_TRANSIENT);
    if (sqlite3_step(statement) != SQLITE_DONE) {
        fail_sqlite(state->db, err, "write");
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(statement);
    pthread_mutex_unlock(&state->lock);
    return rc;
}

int berth_state_put_job(berth_state *state, const char *job_id, const json_t *job,
                        berth_error *err)
{
    berth_autofree char *doc = json_dumps(job, JSON_COMPACT);
    const char *params[] = {job_id, doc};
    return run(state, "INSERT OR REPLACE INTO jobs (id, doc) VALUES (?, ?)", params, 2, err);
}

int berth_state_put_alloc(berth_state *state, const char *alloc_id, const char *job_id,
                          const json_t *alloc, berth_error *err)
{
    berth_autofree char *doc = json_dumps(alloc, JSON_COMPACT);
    const char *params[] = {alloc_id, job_id, doc};
    return run(state, "INSERT OR REPLACE INTO allocs (id, job_id, doc) VALUES (?, ?, ?)", params,
               3, err);
}

int berth_state_delete_alloc(berth_state *state, const char *alloc_id, berth_error *err)
{
    const char *params[] = {alloc_id};
    if (run(state, "DELETE FROM events WHERE alloc_id = ?", params, 1, err) < 0)
        return -1;
    return run(state, "DELETE FROM allocs WHERE id = ?", params, 1, err);
}

int berth_state_add_event(berth_state *state, const char *alloc_id, const char *task,
                          const json_t *event, berth_error *err)
{
    berth_autofree char *doc = json_dumps(event, JSON_COMPACT);
    const char *params[] = {alloc_id, task, doc};
    return run(state, "INSERT INTO events (alloc_id, task, doc) VALUES (?, ?, ?)", params, 3,
               err);
}

static int load_table(berth_state *state, const char *sql, int columns, json_t *into,
                      berth_error *err)
{
    sqlite3_stmt *statement = NULL;
    if (sqlite3_prepare_v2(state->db, sql, -1, &statement, NULL) != SQLITE_OK)
        return fail_sqlite(state->db, err, "prepare");
    int step;
    while ((step = sqlite3_step(statement)) == SQLITE_ROW) {
        const char *doc = (const char *)sqlite3_column_text(statement, columns - 1);
        json_t *parsed = json_loads(doc != NULL ? doc : "null", 0, NULL);
        if (parsed == NULL)
            continue; /* a damaged record is skipped rather than blocking the agent */
        if (columns == 1) {
            json_array_append_new(into, parsed);
        } else {
            json_t *row = json_object();
            json_object_set_new(row, "alloc_id",
                                json_string((const char *)sqlite3_column_text(statement, 0)));
            json_object_set_new(row, "task",
                                json_string((const char *)sqlite3_column_text(statement, 1)));
            json_object_set_new(row, "event", parsed);
            json_array_append_new(into, row);
        }
    }
    sqlite3_finalize(statement);
    if (step != SQLITE_DONE)
        return fail_sqlite(state->db, err, "read");
    return 0;
}

int berth_state_load(berth_state *state, json_t **out, berth_error *err)
{
    json_t *jobs = json_array();
    json_t *allocs = json_array();
    json_t *events = json_array();
    pthread_mutex_lock(&state->lock);
    int rc = load_table(state, "SELECT doc FROM jobs ORDER BY rowid", 1, jobs, err);
    if (rc == 0)
        rc = load_table(state, "SELECT doc FROM allocs ORDER BY rowid", 1, allocs, err);
    if (rc == 0)
        rc = load_table(state, "SELECT alloc_id, task, doc FROM events ORDER BY seq", 3, events,
                        err);
    pthread_mutex_unlock(&state->lock);
    if (rc < 0) {
        json_decref(jobs);
        json_decref(allocs);
        json_decref(events);
        return -1;
    }
    *out = json_pack("{s:o, s:o, s:o}", "jobs", jobs, "allocs", allocs, "events", events);
    return 0;
}

int berth_state_next_index(berth_state *state, int64_t *index, berth_error *err)
{
    pthread_mutex_lock(&state->lock);
    int rc = -1;
    sqlite3_stmt *statement = NULL;
    if (sqlite3_exec(state->db,
                     "INSERT INTO counters (name, value) VALUES ('index', 1)"
                     " ON CONFLICT(name) DO UPDATE SET value = value + 1",
                     NULL, NULL, NULL) != SQLITE_OK) {
        fail_sqlite(state->db, err, "update counter");
        goto out;
    }
    if (sqlite3_prepare_v2(state->db, "SELECT value FROM counters WHERE name = 'index'", -1,
                           &statement, NULL) != SQLITE_OK ||
        sqlite3_step(statement) != SQLITE_ROW) {
        fail_sqlite(state->db, err, "read counter");
        goto out;
    }
    *index = sqlite3_column_int64(statement, 0);
    rc = 0;
out:
    sqlite3_finalize(statement);
    pthread_mutex_unlock(&state->lock);
    return rc;
}
