/*
 * show.h - parts of `postbeacon contacts show` kept apart from show.c:
 * the contact's follow-ups (show_followups.c).
 */
#ifndef PB_CLI_SHOW_H
#define PB_CLI_SHOW_H

#include <hiredis/hiredis.h>
#include "cli.h"
#include "table.h"

/* The workflow steps of the contact (its HGETALL reply, its id): workflow
 * (or a date workflow's occurrence), step, state, variant and, when
 * queued, the due time. */
struct pb_table *pb_show_followups(struct pb_cli *cli, const redisReply *hash, const char *id);

/* 1 for a contact-hash field shown by pb_show_followups (wfs:, wfv:). */
int pb_show_is_followup_field(const char *field);

#endif
