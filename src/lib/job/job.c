#include "job/job.h"

#include <ctype.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

void berth_job_diagnostics_free(berth_job_diagnostics *diagnostics)
{
    for (size_t i = 0; i < diagnostics->error_count; i++)
        free(diagnostics->errors[i]);
    for (size_t i = 0; i < diagnostics->warning_count; i++)
        free(diagnostics->warnings[i]);
    free(diagnostics->errors);
    free(diagnostics->warnings);
    memset(diagnostics, 0, sizeof(*diagnostics));
}

static void free_resources(berth_job_resources *resources)
{
    for (size_t i = 0; i < resources->network_count; i++) {
        berth_job_network *network = &resources->networks[i];
        for (size_t j = 0; j < network->port_count; j++) {
            free(network->ports[j].label);
            free(network->ports[j].origin);
        }
        free(network->ports);
        free(network->origin);
    }
    free(resources->networks);
}

static void free_task(berth_job_task *task)
{
    free(task->name);
    free(task->driver);
    free(task->user);
    berth_value_free(task->config);
    berth_value_free(task->env);
    berth_value_free(task->meta);
    free(task->kill_signal);
    free_resources(&task->resources);
    for (size_t i = 0; i < task->artifact_count; i++) {
        free(task->artifacts[i].source);
        free(task->artifacts[i].destination);
        free(task->artifacts[i].origin);
    }
    free(task->artifacts);
    free(task->origin);
}

void berth_job_free(berth_job *job)
{
    if (job == NULL)
        return;
    for (size_t i = 0; i < job->group_count; i++) {
        berth_job_group *group = &job->groups[i];
        for (size_t j = 0; j < group->task_count; j++)
            free_task(&group->tasks[j]);
        free(group->tasks);
        free(group->name);
        berth_value_free(group->meta);
        free(group->restart.mode);
        free(group->origin);
    }
    free(job->groups);
    for (size_t i = 0; i < job->datacenter_count; i++)
        free(job->datacenters[i]);
    free(job->datacenters);
    free(job->id);
    free(job->name);
    free(job->type);
    free(job->region);
    berth_value_free(job->meta);
    free(job->origin);
    free(job);
}

bool berth_task_name_valid(const char *name)
{
    size_t length = strlen(name);
    if (length == 0 || length > 128 || !isalnum((unsigned char)name[0]))
        return false;
    for (size_t i = 1; i < length; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!isalnum(c) && c != '_' && c != '.' && c != '-')
            return false;
    }
    return true;
}

bool berth_signal_name_valid(const char *name)
{
    if (strncmp(name, "SIG", 3) != 0)
        return false;
    for (int number = 1; number < NSIG; number++) {
        const char *abbreviation = sigabbrev_np(number);
        if (abbreviation != NULL && strcmp(abbreviation, name + 3) == 0)
            return true;
    }
    return false;
}

bool berth_parse_duration_ms(const char *text, int64_t *out)
{
    static const struct {
        const char *unit;
        double to_ms;
    } units[] = {
        {"ns", 1e-6}, {"us", 1e-3}, {"\xc2\xb5s", 1e-3}, {"ms", 1}, {"s", 1000}, {"m", 60000},
        {"h", 3600000},
    };
    const char *p = text;
    if (*p == '\0')
        return false;
    if (strcmp(p, "0") == 0) {
        *out = 0;
        return true;
    }
    double total = 0;
    while (*p != '\0') {
        if (!isdigit((unsigned char)*p) && *p != '.')
            return false;
        char *end = NULL;
        double amount = strtod(p, &end);
        if (end == p)
            return false;
        p = end;
        bool matched = false;
        /* Longest unit first, so "ms" is not read as "m" followed by "s". */
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]) && !matched; i++) {
            size_t length = strlen(units[i].unit);
            if (length == 2 && strncmp(p, units[i].unit, 2) == 0) {
                total += amount * units[i].to_ms;
                p += 2;
                matched = true;
            }
        }
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]) && !matched; i++) {
            size_t length = strlen(units[i].unit);
            if (length == 1 && *p == units[i].unit[0]) {
                total += amount * units[i].to_ms;
                p += 1;
                matched = true;
            }
        }
        if (strncmp(p, "\xc2\xb5s", 3) == 0 && !matched) {
            total += amount * 1e-3;
            p += 3;
            matched = true;
        }
        if (!matched)
            return false;
    }
    if (total > 9.0e15)
        return false;
    *out = (int64_t)total;
    return true;
}
