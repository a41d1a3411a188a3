/*
 * workflow_variant.h - what workflow_conf.c and workflow_variant.c share
 * to read a send step's A/B variants (workflows.h, struct pb_wf_variant)
 * from scorer.workflows: kept apart so the step reader only calls them.
 */
#ifndef PB_SCORER_WORKFLOW_VARIANT_H
#define PB_SCORER_WORKFLOW_VARIANT_H

#include "rule_ctx.h"
#include "workflows.h"

#define PB_WF_VARIANTS_MAX 20

/* The step's variants (member "variants" of r's group, optional), after
 * its action: st->kind and st->name are known, as is wf->name. 0, or -1
 * with "FILE:LINE: where: what (fix)". */
int pb_wf_read_variants(struct pb_rule_ctx *r, const struct pb_workflow *wf,
                        struct pb_wf_step *st);
void pb_wf_variants_free(struct pb_wf_step *st);

/* A template named in a step or variant (member) is a plain file name
 * of templates.dir; else -1 with the message. workflow_conf.c */
int pb_wf_check_template_name(struct pb_rule_ctx *r, const char *member, const char *file);

#endif
