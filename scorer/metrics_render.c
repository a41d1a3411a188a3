/*
 * metrics_render.c - the scorer's counters in the Prometheus text format
 * (admin.h), from a snapshot the admin thread took: entries by event type
 * and class, what became of them, segment entries and exits by segment,
 * follow-up log entries by status, reloads, and the info and connected
 * gauges. The man page's METRICS section lists the same names.
 */
#include "config.h"
#include "admin.h"
#include "prom.h"

static const char *const class_names[PB_SC_CLASSES] = { NULL, "human", "machine" };

/* open, click and unsubscribe have a class; the others do not. */
static int has_class(size_t type)
{
    return type >= 1 && type <= 3;
}

static void render_events(const struct pb_sc_snapshot *snap, GString *out)
{
    static const char name[] = "postbeacon_scorer_events_total";

    pb_prom_header(out, name, "counter",
                   "Stream entries this scorer acknowledged and applied, by event type (custom "
                   "types the configuration does not name: other) and, for open, click and "
                   "unsubscribe, class; trimmed entries are not among them.");
    for (size_t t = 0; t < snap->ntypes; t++)
        for (int c = 0; c < PB_SC_CLASSES; c++) {
            unsigned long long v = snap->counts.events[t * PB_SC_CLASSES + (size_t)c];
            const char *labels[] = { "type", snap->types[t], "class", class_names[c], NULL };
            if (v == 0 && (c == 0) == has_class(t))
                continue;       /* a series nobody expects, and nothing in it */
            pb_prom_sample(out, name, labels, v);
        }
}

static void render_outcomes(const struct pb_sc_stats *st, GString *out)
{
    pb_prom_counter(out, "postbeacon_scorer_events_scored_total",
                    "Entries that changed a behaviour score.", st->scored);
    pb_prom_counter(out, "postbeacon_scorer_events_without_contact_total",
                    "Entries without a contact (campaign-level tracking): acknowledged only.",
                    st->no_contact);
    pb_prom_counter(out, "postbeacon_scorer_events_refused_total",
                    "Entries or evaluations for which Redis refused a write (logged; "
                    "acknowledged, not retried).", st->refused);
    pb_prom_counter(out, "postbeacon_scorer_trimmed_total",
                    "Entries trimmed from the stream while pending: acknowledged, never "
                    "applied.", st->trimmed);
    pb_prom_counter(out, "postbeacon_scorer_duplicates_total",
                    "Entries delivered again that were acknowledged before: skipped.",
                    st->duplicates);
    pb_prom_counter(out, "postbeacon_scorer_claimed_total",
                    "Entries taken over from other consumers (XAUTOCLAIM).", st->claimed);
    pb_prom_counter(out, "postbeacon_scorer_batches_total",
                    "Batch script runs (entries, wake-ups and re-evaluations).", st->batches);
    pb_prom_counter(out, "postbeacon_scorer_wakeups_total",
                    "Due wake-ups evaluated (timed changes of a contact).", st->wakes);
    pb_prom_counter(out, "postbeacon_scorer_reevaluated_total",
                    "Contacts re-evaluated after a reload changed fit rules, grade or "
                    "segments.", st->reevaluated);
}

static void render_segments(const struct pb_sc_snapshot *snap, GString *out)
{
    static const char name[] = "postbeacon_scorer_segment_changes_total";
    static const char *const ops[2] = { "enter", "leave" };

    pb_prom_header(out, name, "counter",
                   "Segment entries and exits this scorer made, by segment and op.");
    for (size_t i = 0; i < snap->nsegnames; i++)
        for (int op = 0; op < 2; op++) {
            const char *labels[] = { "segment", snap->segnames[i], "op", ops[op], NULL };
            pb_prom_sample(out, name, labels, snap->counts.segments[i][op]);
        }
}

/* Counter name with one label: a sample per value of names (n of them);
 * the value at index hidden (-1: none) only when it is not 0. */
static void render_by_label(GString *out, const char *name, const char *help, const char *label,
                            const char *const *names, const unsigned long long *values, int n,
                            int hidden)
{
    pb_prom_header(out, name, "counter", help);
    for (int i = 0; i < n; i++) {
        const char *labels[] = { label, names[i], NULL };
        if (i != hidden || values[i] != 0)
            pb_prom_sample(out, name, labels, values[i]);
    }
}

static void render_followups(const struct pb_sc_snapshot *snap, GString *out)
{
    render_by_label(out, "postbeacon_scorer_followups_total",
                    "Follow-up log entries this scorer wrote (<prefix>wf:log), by status: "
                    "queued, sent, done (tag steps), skipped, deferred, retry, failed, "
                    "uncertain, exited.", "status", pb_sc_wf_status_names,
                    snap->counts.followups, PB_SC_WF_STATUSES, PB_SC_WF_OTHER);
}

static void render_campaign_mails(const struct pb_sc_snapshot *snap, GString *out)
{
    static const char *const outcomes[PB_SC_CAMPAIGN_OUTCOMES] = {
        "sent", "suppressed", "failed", "retry", "uncertain"
    };

    render_by_label(out, "postbeacon_scorer_campaign_mails_total",
                    "Campaign mails (postbeacon send --at, A/B remainders) this scorer "
                    "handled, by outcome: sent, suppressed (not sent), failed, retry (a "
                    "temporary failure), uncertain (left by a stopped sender, not resent).",
                    "outcome", outcomes, snap->counts.campaign_mails, PB_SC_CAMPAIGN_OUTCOMES,
                    -1);
}

void pb_sc_render_counters(const struct pb_sc_snapshot *snap, GString *out)
{
    const char *info[] = { "consumer", snap->consumer, "group", snap->group,
                           "version", PACKAGE_VERSION, NULL };
    const char *ok[] = { "result", "ok", NULL }, *failed[] = { "result", "failed", NULL };

    pb_prom_header(out, "postbeacon_scorer_info", "gauge",
                   "This scorer: its consumer name, group and version (always 1).");
    pb_prom_sample(out, "postbeacon_scorer_info", info, 1);
    pb_prom_gauge(out, "postbeacon_scorer_connected",
                  "1 while the scorer's own Redis connection is up, 0 while it reconnects.",
                  snap->connected);
    render_events(snap, out);
    render_outcomes(&snap->stats, out);
    render_segments(snap, out);
    render_followups(snap, out);
    render_campaign_mails(snap, out);
    pb_prom_header(out, "postbeacon_scorer_reloads_total", "counter",
                   "Configuration reloads (SIGHUP), by result.");
    pb_prom_sample(out, "postbeacon_scorer_reloads_total", ok, snap->counts.reloads_ok);
    pb_prom_sample(out, "postbeacon_scorer_reloads_total", failed, snap->counts.reloads_failed);
}
