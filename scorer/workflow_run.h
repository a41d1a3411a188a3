/*
 * workflow_run.h - what the workflow runner's two files share: the
 * scripts that move a due step through the queue atomically
 * (workflow_claim.c) and the runner that renders and submits it
 * (workflow_run.c, quiet hours: workflow_quiet.c, the exact local time of
 * a date workflow: workflow_date.c). docs/scorer.md ("Workflows").
 */
#ifndef PB_SCORER_WORKFLOW_RUN_H
#define PB_SCORER_WORKFLOW_RUN_H

#include <glib.h>
#include "scorer.h"
#include "workflows.h"

/* One due step being handled. */
struct pb_wf_item {
    char *member;               /* <contact>|<workflow>|<step> */
    char *cid, *wfname, *stepname;
    const struct pb_workflow *wf;   /* NULL: no longer configured */
    const struct pb_wf_step *step;
    size_t index;               /* of step in wf */
    int occurrence;             /* a date workflow's instance <workflow>@<year>: the year, else 0 */
    int no_next;                /* settled without queuing the next step (a missed date) */
    char code;                  /* claim: 'c' claimed, 'k' skipped, 'd' done (tag), '-' gone */
    GPtrArray *hash;            /* claimed: the contact hash, name, value, ... (g_free'd) */
    /* what became of it, for the settle script */
    const char *status;         /* "sent", "failed", "retry", "deferred", "uncertain" */
    char reason[300];
    long long retry_at;
    char owner[160];            /* the in-flight mark this scorer wrote (or found) */
};

void pb_wf_item_free(struct pb_wf_item *it);
/* Split member into it (cid, workflow, step) and find them in w. 0, or
 * -1 if member is not such an identity. */
int pb_wf_item_parse(struct pb_wf_item *it, const char *member, const struct pb_workflows *w);

/* Claim items (each due by now) as owner: moved from the queue to the
 * in-flight hash, or skipped (condition failed, suppressed, exited) and
 * recorded, or done (tags); sets each code and hash. 0, or -1 if Redis
 * failed (logged, connection dropped). */
int pb_wf_claim(struct pb_scorer *s, GPtrArray *items, const char *owner);
/* Record what became of items (status, reason, retry_at), each only if
 * its in-flight mark is still owner: sent, failed (the next step is
 * queued), retry (back into the queue), deferred (the same, not counted as
 * a try: quiet hours), uncertain (listed for the
 * operator). 0, or -1 if Redis failed. */
int pb_wf_settle(struct pb_scorer *s, GPtrArray *items);
/* 0 if now_ms is outside the quiet hours of sc in the time zone named
 * zone (NULL or unknown: sc->timezone), else the time (ms) they end.
 * workflow_quiet.c */
long long pb_wf_quiet_until(const struct pb_scorer_conf *sc, const char *zone,
                            long long now_ms);
/* The time zone named zone, else sc->timezone, else UTC (g_time_zone_unref
 * it). workflow_quiet.c */
GTimeZone *pb_wf_zone(const struct pb_scorer_conf *sc, const char *zone);
/* For a claimed first step of a date workflow's occurrence: 0 to deliver
 * it now; 1 when it is not yet its exact local time (status deferred,
 * retry_at that time) or it is stale (its date attribute gone or
 * changed to a day already past: status skipped, no next step).
 * workflow_date.c */
int pb_wf_date_check(struct pb_scorer *s, struct pb_wf_item *it);
/* A field of a claimed item's contact hash, or NULL. */
const char *pb_wf_item_field(const struct pb_wf_item *it, const char *name);

#endif
