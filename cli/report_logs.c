/*
 * report_logs.c - what the scorer's logs say about the report's
 * campaigns and the funnel (docs/scorer.md):
 *
 *   <p>segment-log  entries and exits a campaign caused (their `campaign`
 *                   field), entries into the funnel's stages in the
 *                   window, and reactivations: exits from report.dormant
 *                   through an event;
 *   <p>wf:log       the follow-ups a campaign led to: a workflow's start
 *                   (`queued` with `campaign`) and every `sent` of that
 *                   contact and workflow after it (a workflow runs once
 *                   per contact); and a follow-up campaign's own sends
 *                   (`sent` of its workflow and step).
 *
 * Both are read by XRANGE from the earliest time the report needs (ids
 * are the scorer's write times), PB_REP_PAGE entries a round trip
 * (pb_rep_read).
 */
#include <stdlib.h>
#include <string.h>
#include "events.h"
#include "report.h"

/* The fields a log entry has, NULL where absent. */
struct fields {
    const char *segment, *contact, *op, *cause, *campaign, *workflow, *step, *status, *variant;
    long long at;
};

static void fields_of(const redisReply *f, struct fields *o)
{
    static const char *const names[] = { "segment", "contact", "op", "cause", "campaign",
                                         "workflow", "step", "status", "variant" };
    const char **slots[] = { &o->segment, &o->contact, &o->op, &o->cause, &o->campaign,
                             &o->workflow, &o->step, &o->status, &o->variant };

    memset(o, 0, sizeof(*o));
    for (size_t i = 0; i + 1 < f->elements; i += 2) {
        const char *k = f->element[i]->str;
        if (strcmp(k, "at") == 0)
            o->at = strtoll(f->element[i + 1]->str, NULL, 10);
        for (size_t j = 0; j < G_N_ELEMENTS(names); j++)
            if (strcmp(k, names[j]) == 0)
                *slots[j] = f->element[i + 1]->str;
    }
}

/* The report's campaign of a campaign name (its variants' names too). */
static GHashTable *owners(const struct pb_report *r)
{
    GHashTable *t = g_hash_table_new(g_str_hash, g_str_equal);

    for (guint i = 0; i < r->campaigns->len; i++) {
        struct pb_rep_campaign *c = r->campaigns->pdata[i];
        g_hash_table_insert(t, c->name, c);
        for (guint v = 0; v < c->variants->len; v++)
            g_hash_table_insert(t, ((struct pb_rep_variant *)c->variants->pdata[v])->campaign, c);
    }
    return t;
}

static int in_period(const struct pb_report *r, long long at)
{
    return (!r->has_since || at >= r->since) && (!r->has_until || at < r->until);
}

/* ---- the segment log --------------------------------------------------------- */

struct seglog {
    struct pb_report *r;
    GHashTable *owner;
    int attribute;              /* count the campaigns' entries (not for --all) */
};

static void seg_entry(void *arg, const redisReply *f)
{
    struct seglog *s = arg;
    struct pb_report *r = s->r;
    struct fields e;
    struct pb_rep_campaign *c;
    int enter;

    fields_of(f, &e);
    if (e.segment == NULL || e.op == NULL)
        return;
    enter = strcmp(e.op, "enter") == 0;
    if (s->attribute && e.campaign && (c = g_hash_table_lookup(s->owner, e.campaign)) != NULL
        && in_period(r, e.at))
        pb_rep_bump(enter ? c->seg_in : c->seg_out, e.segment, 1);
    if (e.at < r->window_from || e.at >= r->window_to)
        return;
    for (size_t i = 1; enter && i < r->funnel.n; i++)
        if (strcmp(r->funnel.stages[i].name, e.segment) == 0)
            r->funnel.stages[i].entered++;
    if (!enter && r->cli->conf.report.dormant && strcmp(e.segment, r->cli->conf.report.dormant) == 0
        && e.cause && strncmp(e.cause, "event ", 6) == 0)
        r->funnel.reactivated++;
}

/* ---- the follow-up log ------------------------------------------------------- */

struct wflog {
    struct pb_report *r;
    GHashTable *owner;
    GHashTable *started;        /* "<contact>|<workflow>" -> the campaign that started it */
    GHashTable *steps;          /* "<workflow>:<step>" -> follow-up campaign of the report */
};

/* A follow-up campaign's send (and its variant's, when the entry names one). */
static void sent_by(struct pb_rep_campaign *c, const char *variant)
{
    c->sent.sent++;
    for (guint v = 0; variant && v < c->variants->len; v++) {
        struct pb_rep_variant *var = c->variants->pdata[v];
        var->sent.sent += strcmp(var->letter, variant) == 0;
    }
}

static void wf_entry(void *arg, const redisReply *f)
{
    struct wflog *w = arg;
    struct pb_report *r = w->r;
    struct fields e;
    struct pb_rep_campaign *c;
    char *run, *step;

    fields_of(f, &e);
    if (e.contact == NULL || e.workflow == NULL || e.step == NULL || e.status == NULL)
        return;
    run = g_strconcat(e.contact, "|", e.workflow, NULL);
    if (strcmp(e.status, "queued") == 0 && e.campaign
        && (c = g_hash_table_lookup(w->owner, e.campaign)) != NULL)
        g_hash_table_insert(w->started, run, c);
    else if (strcmp(e.status, "sent") == 0 && in_period(r, e.at)) {
        /* a date workflow's entries name its instance, <workflow>@<occurrence> */
        step = g_strdup_printf("%.*s:%s", (int)strcspn(e.workflow, "@"), e.workflow, e.step);
        if ((c = g_hash_table_lookup(w->steps, step)) != NULL)
            sent_by(c, e.variant);
        if ((c = g_hash_table_lookup(w->started, run)) != NULL) {
            pb_rep_bump(c->followups, step, 1);
            c->followups_total++;
        }
        g_free(step);
        g_free(run);
    } else {
        g_free(run);
    }
}

/* ---- both ------------------------------------------------------------------------ */

/* The earliest time a campaign of the report began (0: one never did). */
static long long earliest(const struct pb_report *r)
{
    long long from = r->has_since ? r->since : -1;

    for (guint i = 0; i < r->campaigns->len; i++) {
        const struct pb_rep_campaign *c = r->campaigns->pdata[i];
        from = from < 0 ? c->start_ms : MIN(from, c->start_ms);
    }
    return MAX(from, 0);
}

int pb_rep_scan_logs(struct pb_report *r)
{
    struct seglog s = { .r = r, .attribute = !r->all };
    struct wflog w = { .r = r };
    long long from = earliest(r), to = pb_rep_until(r);
    int rc;

    s.owner = w.owner = owners(r);
    w.started = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    w.steps = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (guint i = 0; i < r->campaigns->len; i++) {
        struct pb_rep_campaign *c = r->campaigns->pdata[i];
        if (c->kind == PB_REP_FOLLOWUP)
            g_hash_table_insert(w.steps, g_strdup(c->name), c);
    }
    r->seglog_need = s.attribute ? MIN(from, r->window_from) : r->window_from;
    r->wflog_need = from;
    rc = pb_rep_read(r, PB_KEY_SEGMENT_LOG, "reading the segment log", r->seglog_need,
                     MAX(to, r->window_to), seg_entry, &s);
    if (rc == 0)
        rc = pb_rep_read(r, PB_KEY_WF_LOG, "reading the follow-up log", from, to, wf_entry, &w);
    g_hash_table_destroy(s.owner);
    g_hash_table_destroy(w.started);
    g_hash_table_destroy(w.steps);
    return rc;
}
