/*
 * metrics.h - what the scorer counts for GET /metrics beyond struct
 * pb_sc_stats: entries by event type and class, segment entries and exits
 * by segment, follow-up log entries by status, campaign mails by outcome,
 * reloads; the label values
 * they are counted under, with a bounded number of them (event types of
 * the configuration get their own label, any other custom type counts as
 * "other").
 *
 * Only the scorer's own thread counts, with plain increments (one per
 * entry). It copies everything into the admin thread's snapshot under a
 * mutex after each step (admin.h, pb_sc_admin_publish); a label's name,
 * once added, is never changed or freed while the scorer runs, so a
 * snapshot may point at it.
 */
#ifndef PB_SCORER_METRICS_H
#define PB_SCORER_METRICS_H

#include <stddef.h>
#include <glib.h>
#include <hiredis/hiredis.h>

#define PB_SC_TYPE_LABELS 72    /* the fixed types, "other", then configured custom types */
#define PB_SC_CLASSES 3         /* no class, human, machine */
#define PB_SC_SEG_LABELS 256    /* segments ever configured while running */
#define PB_SC_NO_LABEL 0xff     /* an entry not counted by type (trimmed) */
#define PB_SC_CAMPAIGN_OUTCOMES 5   /* enum pb_csend_event (lib/campaign_send.h) */

/* Statuses of <p>wf:log entries, the label values of the follow-up counter. */
enum pb_sc_wf_status {
    PB_SC_WF_QUEUED, PB_SC_WF_SENT, PB_SC_WF_DONE, PB_SC_WF_SKIPPED, PB_SC_WF_DEFERRED,
    PB_SC_WF_RETRY, PB_SC_WF_FAILED, PB_SC_WF_UNCERTAIN, PB_SC_WF_EXITED, PB_SC_WF_OTHER,
    PB_SC_WF_STATUSES
};
extern const char *const pb_sc_wf_status_names[PB_SC_WF_STATUSES];

/* Label values added once, never removed: index -> name, name -> index. */
struct pb_sc_labels {
    char *names[PB_SC_SEG_LABELS];
    size_t count, max;
    GHashTable *index;          /* name -> index + 1 */
    int full_logged;
};

struct pb_sc_counts {
    /* entries done, by type label (index * PB_SC_CLASSES + class) */
    unsigned long long events[PB_SC_TYPE_LABELS * PB_SC_CLASSES];
    unsigned long long segments[PB_SC_SEG_LABELS][2];   /* enter, leave */
    unsigned long long followups[PB_SC_WF_STATUSES];
    /* campaign mails this scorer handled for postbeacon send (sends.c), by
     * outcome in the order of enum pb_csend_event: sent, suppressed,
     * failed, retry, uncertain */
    unsigned long long campaign_mails[PB_SC_CAMPAIGN_OUTCOMES];
    unsigned long long reloads_ok, reloads_failed;
};

struct pb_sc_metrics {
    struct pb_sc_labels types, segments;
    struct pb_sc_counts counts;
};

void pb_sc_metrics_init(struct pb_sc_metrics *m);
void pb_sc_metrics_free(struct pb_sc_metrics *m);

struct pb_rules;
/* The labels of the rules' event types and segments (a load or reload):
 * added to those there are. */
void pb_sc_metrics_configure(struct pb_sc_metrics *m, const struct pb_rules *rules);

/* The counter index of an entry of type typ and class cls ("human",
 * "machine" or ""): what pb_sc_metrics_event counts. */
unsigned char pb_sc_metrics_label(const struct pb_sc_metrics *m, const char *typ,
                                  const char *cls);
static inline void pb_sc_metrics_event(struct pb_sc_metrics *m, unsigned char label)
{
    if (label != PB_SC_NO_LABEL)
        m->counts.events[label]++;
}

/* A script's counts: [segment, entries, exits, ...]; their total. */
unsigned long long pb_sc_metrics_segments(struct pb_sc_metrics *m, const redisReply *r);
/* A script's follow-up log counts: [status, n, ...]. */
void pb_sc_metrics_followups(struct pb_sc_metrics *m, const redisReply *r);

#endif
