/*
 * workflow_run.h - what the workflow runner's two files share: the
 * scripts that move a due step through the queue atomically
 * (workflow_claim.c) and the runner that renders and submits it
 * (workflow_run.c, quiet hours: workflow_quiet.c, the send rate:
 * workflow_rate.c, webhooks: workflow_webhook.c, the exact local time of
 * a date workflow: workflow_date.c). docs/scorer.md ("Workflows").
 */
#ifndef PB_SCORER_WORKFLOW_RUN_H
#define PB_SCORER_WORKFLOW_RUN_H

#include <glib.h>
#include "scorer.h"
#include "submit.h"
#include "workflows.h"

/* One due step being handled. */
struct pb_wf_item {
    char *member;               /* <contact>|<workflow>|<step> */
    char *cid, *wfname, *stepname;
    const struct pb_workflow *wf;   /* NULL: no longer configured */
    const struct pb_wf_step *step;
    size_t index;               /* of step in wf */
    const struct pb_wf_variant *variant;    /* the contact's variant of step, or NULL */
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
/* Split member into it (cid, workflow, step), find them in w and pick
 * the contact's variant of the step. 0, or -1 if member is not such an
 * identity. */
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
/* 1 if a step of this kind takes a place of the global send rate
 * (submit.rate) before it is submitted: send and notify. workflow_rate.c */
int pb_wf_needs_place(const struct pb_wf_step *st);
/* Places of the send rate for the claimed items still to be submitted
 * (status NULL) that need one; those without get status "deferred",
 * reason "send rate" and the time their place should be free. */
void pb_wf_rate_gate(struct pb_scorer *s, GPtrArray *items);
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
/* The contact's last score-history lines, newest first (LRANGE reply,
 * an array; NULL if Redis did not give one). workflow_run.c */
redisReply *pb_wf_history(struct pb_scorer *s, const char *cid);

/* ---- webhook steps (workflow_webhook.c) ---------------------------------- */
/* The JSON document of claimed webhook step it (malloc'd; NULL if the
 * contact's fields cannot be JSON). */
char *pb_wf_webhook_body(struct pb_scorer *s, const struct pb_wf_item *it);
/* POST it as attempt number attempt; it->reason says how it went;
 * *retry_after_ms is the receiver's Retry-After (0: none). */
enum pb_submit_status pb_wf_webhook_deliver(struct pb_scorer *s, struct pb_wf_item *it,
                                            int attempt, long long *retry_after_ms);

#endif
