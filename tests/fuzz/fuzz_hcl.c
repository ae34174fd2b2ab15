/* libFuzzer entry point for the HCL parser and evaluator. It parses the
 * input and, when it parses, converts the top-level body to a value twice,
 * with templates kept and with templates evaluated. Every variable is
 * unknown. */
#include <stddef.h>
#include <stdint.h>

#include "core/value.h"
#include "hcl/hcl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static berth_value *lookup_nothing(void *user_data, const char *name)
{
    (void)user_data;
    (void)name;
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    berth_error err = BERTH_ERROR_INIT;
    berth_hcl_file *file = NULL;
    if (berth_hcl_parse("fuzz.hcl", (const char *)data, size, &file, &err) < 0)
        return 0;
    berth_hcl_eval_context ctx = {lookup_nothing, NULL, true};
    berth_value *value = NULL;
    if (berth_hcl_body_to_value(file->body, &ctx, &value, &err) == 0)
        berth_value_free(value);

    /* Evaluate templates too, so the template and function code runs. */
    ctx.keep_templates = false;
    value = NULL;
    if (berth_hcl_body_to_value(file->body, &ctx, &value, &err) == 0)
        berth_value_free(value);
    berth_hcl_file_free(file);
    return 0;
}
