/* Freeing the HCL syntax tree. */
#include <stdlib.h>

#include "hcl/hcl_internal.h"

void berth_hcl_expr_free(berth_hcl_expr *expr)
{
    if (expr == NULL)
        return;
    switch (expr->kind) {
    case BERTH_HCL_LITERAL:
        berth_value_free(expr->as.literal);
        break;
    case BERTH_HCL_TEMPLATE:
        for (size_t i = 0; i < expr->as.template_.length; i++) {
            free(expr->as.template_.parts[i].text);
            berth_hcl_expr_free(expr->as.template_.parts[i].expr);
        }
        free(expr->as.template_.parts);
        free(expr->as.template_.source);
        break;
    case BERTH_HCL_TUPLE:
        for (size_t i = 0; i < expr->as.tuple.length; i++)
            berth_hcl_expr_free(expr->as.tuple.items[i]);
        free(expr->as.tuple.items);
        break;
    case BERTH_HCL_OBJECT:
        for (size_t i = 0; i < expr->as.object.length; i++) {
            berth_hcl_expr_free(expr->as.object.items[i].key);
            berth_hcl_expr_free(expr->as.object.items[i].value);
        }
        free(expr->as.object.items);
        break;
    case BERTH_HCL_VARIABLE:
        free(expr->as.variable);
        break;
    case BERTH_HCL_GET_ATTR:
        berth_hcl_expr_free(expr->as.get_attr.source);
        free(expr->as.get_attr.name);
        break;
    case BERTH_HCL_INDEX:
        berth_hcl_expr_free(expr->as.index.source);
        berth_hcl_expr_free(expr->as.index.key);
        break;
    case BERTH_HCL_CALL:
        free(expr->as.call.name);
        for (size_t i = 0; i < expr->as.call.length; i++)
            berth_hcl_expr_free(expr->as.call.args[i]);
        free(expr->as.call.args);
        break;
    case BERTH_HCL_CONDITIONAL:
        berth_hcl_expr_free(expr->as.conditional.condition);
        berth_hcl_expr_free(expr->as.conditional.when_true);
        berth_hcl_expr_free(expr->as.conditional.when_false);
        break;
    case BERTH_HCL_BINARY:
        berth_hcl_expr_free(expr->as.binary.left);
        berth_hcl_expr_free(expr->as.binary.right);
        break;
    case BERTH_HCL_UNARY:
        berth_hcl_expr_free(expr->as.unary.operand);
        break;
    case BERTH_HCL_PARENS:
        berth_hcl_expr_free(expr->as.parens);
        break;
    }
    free(expr);
}

void berth_hcl_body_free(berth_hcl_body *body)
{
    if (body == NULL)
        return;
    for (size_t i = 0; i < body->length; i++) {
        berth_hcl_item *item = &body->items[i];
        if (item->is_block) {
            free(item->as.block.type);
            for (size_t j = 0; j < item->as.block.label_count; j++)
                free(item->as.block.labels[j]);
            free(item->as.block.labels);
            berth_hcl_body_free(item->as.block.body);
        } else {
            free(item->as.attribute.name);
            berth_hcl_expr_free(item->as.attribute.expr);
        }
    }
    free(body->items);
    free(body);
}

/* Frees a parsed file and its whole tree (NULL is fine). */
void berth_hcl_file_free(berth_hcl_file *file)
{
    if (file == NULL)
        return;
    berth_hcl_body_free(file->body);
    free(file->filename);
    free(file);
}
