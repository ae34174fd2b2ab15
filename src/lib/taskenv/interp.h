/* `${...}` interpolation of strings, as Nomad applies it to a task's env
 * and driver config. */
#ifndef BERTH_TASKENV_INTERP_H
#define BERTH_TASKENV_INTERP_H

#include "core/error.h"
#include "core/value.h"

/* Returns a new string for name, or NULL when the name is unknown. */
typedef char *(*berth_interp_lookup)(void *user_data, const char *name);

/* Replaces each `${name}` in text, where name is made of letters, digits,
 * '_', '-' and '.', with the lookup's value. An unknown name, or `${...}`
 * around anything else, is left as written, as Nomad 0.x does. `$${` is an
 * escape and becomes `${`. Returns a new string. */
char *berth_interpolate(const char *text, berth_interp_lookup lookup, void *user_data);

/* Interpolates every string in value (recursively through lists and map
 * values; map keys are kept). Modifies value in place. */
void berth_interpolate_value(berth_value *value, berth_interp_lookup lookup, void *user_data);

#endif
