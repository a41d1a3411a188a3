/*
 * queue.h - what the files of `postbeacon queue` share: list (queue.c),
 * cancel and resolve (queue_edit.c), all on the scorer's follow-up queue
 * (<p>wf:due, <p>wf:uncertain, the contacts' wfs: fields, <p>wf:log;
 * docs/scorer.md, "Workflows").
 */
#ifndef PB_CLI_QUEUE_H
#define PB_CLI_QUEUE_H

#include "cli.h"
#include "rules.h"

int pb_queue_list(struct pb_cli *cli, int argc, char **argv);      /* queue.c */
int pb_queue_cancel(struct pb_cli *cli, int argc, char **argv);    /* queue_edit.c */
int pb_queue_resolve(struct pb_cli *cli, int argc, char **argv);   /* queue_edit.c */

/* The rules of the configuration into *rules (pb_rules_free them) and,
 * when wf is not NULL, that configured workflow into *w, and when step is
 * not NULL its step into *st (index *index). 0, or -1 with the error
 * said, the configured names listed. */
int pb_queue_rules(struct pb_cli *cli, struct pb_rules *rules, const char *wf, const char *step,
                   const struct pb_workflow **w, const struct pb_wf_step **st, size_t *index);

#endif
