#include "taskenv/interp.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/util.h"

static bool is_name_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.';
}

char *berth_interpolate(const char *text, berth_interp_lookup lookup, void *user_data)
{
    berth_buf out;
    berth_buf_init(&out, (size_t)-1);
    const char *p = text;
    while (*p != '\0') {
        if (p[0] == '$' && p[1] == '$' && p[2] == '{') {
            berth_buf_append(&out, "${", 2, NULL);
            p += 3;
            continue;
        }
        if (p[0] == '$' && p[1] == '{') {
            const char *name = p + 2;
            const char *end = name;
            while (is_name_char(*end))
                end++;
            if (*end == '}' && end > name) {
                berth_autofree char *key = berth_xstrndup(name, (size_t)(end - name));
                berth_autofree char *value = lookup != NULL ? lookup(user_data, key) : NULL;
                if (value != NULL) {
                    berth_buf_append_str(&out, value, NULL);
                    p = end + 1;
                    continue;
                }
            }
        }
        berth_buf_append(&out, p, 1, NULL);
        p++;
    }
    return berth_buf_steal(&out);
}

void berth_interpolate_value(berth_value *value, berth_interp_lookup lookup, void *user_data)
{
    switch (value->kind) {
    case BERTH_VALUE_STRING: {
        char *replaced = berth_interpolate(value->as.string, lookup, user_data);
        free(value->as.string);
        value->as.string = replaced;
        break;
    }
    case BERTH_VALUE_LIST:
        for (size_t i = 0; i < value->as.list.length; i++)
            berth_interpolate_value(value->as.list.items[i], lookup, user_data);
        break;
    case BERTH_VALUE_MAP:
        for (size_t i = 0; i < value->as.map.length; i++)
            berth_interpolate_value(value->as.map.values[i], lookup, user_data);
        break;
    default:
        break;
    }
}
