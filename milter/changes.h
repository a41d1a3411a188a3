/*
 * changes.h - the changes the milter sends back to the MTA at the end of
 * a message, each one libmilter call or a series of them: the
 * List-Unsubscribe(-Post) headers of a tracked message, the removal of
 * the campaign header (on every message the milter sees to its end), and
 * the new body in chunks. Kept apart from callbacks.c, which decides
 * what to change.
 */
#ifndef PB_CHANGES_H
#define PB_CHANGES_H

#include <glib.h>
#include <libmilter/mfapi.h>
#include "conf.h"
#include "headers.h"
#include "link.h"

/* Add List-Unsubscribe (and List-Unsubscribe-Post) unless h already has
 * them. leadspc: header values keep their leading space. 0 on success;
 * -1 after logging why. */
int pb_change_list_unsubscribe(SMFICTX *ctx, const struct pb_milter_conf *mc,
                               const struct pb_headers *h, const struct pb_link_ctx *link,
                               int leadspc, const char *qid);

/* Remove every header of h called name, last first. 0 on success, -1 if
 * the MTA refused (the caller's log line says so). */
int pb_change_remove_header(SMFICTX *ctx, const struct pb_headers *h, const char *name);

/* Replace the body, in smfi_replacebody() calls of whole lines of at most
 * PB_BODY_CHUNK bytes where possible. 0 on success; -1 after logging. */
int pb_change_body(SMFICTX *ctx, const GString *body, const char *qid);

#endif
