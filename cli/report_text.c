/*
 * report_text.c - a report as plain aligned tables a marketer reads
 * (labels in report.language, numbers with thousands separators, rates
 * with one decimal, human figures first) or, with --csv, the same tables
 * as CSV for a spreadsheet: stable English column names, plain numbers,
 * rates in percent with the language's decimal mark, one blank line
 * between tables. Also the notes every output carries (a stream that no
 * longer reaches back far enough, mail of other software).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "report.h"
#include "table.h"

/* A cell as text (formatted) and as CSV (plain). */
struct cell {
    char *text, *csv;
};

static struct cell num(const struct pb_report *r, long long v)
{
    return (struct cell){ pb_rep_int(r, v), g_strdup_printf("%lld", v) };
}

static struct cell pct(const struct pb_report *r, long long n, long long d)
{
    return (struct cell){ pb_rep_pct(r, n, d), pb_rep_csv_rate(r, n, d) };
}

static struct cell str(const char *s)
{
    return (struct cell){ g_strdup(s ? s : ""), g_strdup(s ? s : "") };
}

/* The kind of campaign: in words, and for CSV its key (send, follow-up, other). */
static struct cell kind(const struct pb_report *r, const struct pb_rep_campaign *c)
{
    return (struct cell){ g_strdup(pb_rep_kind_name(r, c)), g_strdup(
        c->kind == PB_REP_SEND ? "send" : c->kind == PB_REP_FOLLOWUP ? "follow-up" : "other") };
}

static struct cell none(void)
{
    return (struct cell){ g_strdup("–"), g_strdup("") };
}

/* A row label: translated in text, its key in CSV. */
static struct cell label(const struct pb_report *r, const char *en, const char *key)
{
    return (struct cell){ g_strdup(pb_rep_t(r, en)), g_strdup(key) };
}

static void rt_init(struct pb_rep_table *t, const struct pb_report *r, const char *id,
                    const char *title, int ncols, const char *const *labels,
                    const char *const *keys, int right_from)
{
    *t = (struct pb_rep_table){ .r = r, .id = id, .title = title, .ncols = ncols,
                                .labels = labels, .keys = keys };
    for (int i = right_from; i < ncols; i++)
        t->right |= (guint64)1 << i;
    t->text = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
    t->csv = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
}

/* Adds the row; takes its cells. */
static void rt_add(struct pb_rep_table *t, struct cell *cells)
{
    char **text = g_new0(char *, t->ncols + 1), **csv = g_new0(char *, t->ncols + 1);

    for (int i = 0; i < t->ncols; i++) {
        text[i] = cells[i].text;
        csv[i] = cells[i].csv;
    }
    g_ptr_array_add(t->text, text);
    g_ptr_array_add(t->csv, csv);
}

/* Hands the table to the output and frees it. */
static void rt_print(struct pb_rep_table *t, const struct pb_rep_emit *e)
{
    e->fn(t, e->arg);
    g_ptr_array_free(t->text, TRUE);
    g_ptr_array_free(t->csv, TRUE);
}

/* ---- text and CSV ------------------------------------------------------------------ */

static void text_table(const struct pb_rep_table *t, FILE *fp)
{
    const char **cols = g_new(const char *, t->ncols);
    struct pb_table *tab;

    for (int i = 0; i < t->ncols; i++)
        cols[i] = pb_rep_t(t->r, t->labels[i]);
    tab = pb_table_new(t->ncols, cols);
    for (int i = 0; i < t->ncols; i++)
        if (t->right >> i & 1)
            pb_table_align_right(tab, i);
    for (guint i = 0; i < t->text->len; i++)
        pb_table_add(tab, (const char *const *)t->text->pdata[i]);
    if (t->title)
        fprintf(fp, "%s\n", pb_rep_t(t->r, t->title));
    if (t->text->len == 0)
        fprintf(fp, "%s\n", pb_rep_t(t->r, "none"));
    else
        pb_table_print(tab, PB_OUT_TEXT, fp);
    fputc('\n', fp);
    pb_table_free(tab);
    g_free(cols);
}

static void print_one(const struct pb_rep_table *t, void *arg)
{
    FILE *fp = arg;

    if (t->r->cli->format == PB_OUT_CSV) {
        struct pb_rows rows = { .fp = fp, .format = PB_OUT_CSV, .ncols = t->ncols,
                                .cols = t->keys, .sep = t->r->sep };
        pb_rows_start(&rows);
        for (guint i = 0; i < t->csv->len; i++)
            pb_rows_add(&rows, (const char *const *)t->csv->pdata[i]);
        pb_rows_end(&rows);
        fputs("\r\n", fp);
    } else if (t->kv) {
        for (guint i = 0; i < t->text->len; i++) {
            char **row = t->text->pdata[i];
            fprintf(fp, "%s: %s\n", row[0], row[1]);
        }
        fputc('\n', fp);
    } else {
        text_table(t, fp);
    }
}

/* ---- the notes ------------------------------------------------------------------ */

static void reach_note(const struct pb_report *r, GPtrArray *out, const struct pb_rep_reach *reach,
                       long long need, const char *which)
{
    char *at;

    if (need < 0 || pb_rep_covers(reach, need))
        return;
    at = reach->empty ? g_strdup("–") : pb_rep_time(reach->first_ms);
    g_ptr_array_add(out, g_strdup_printf("%s %s: %s", pb_rep_t(r, which), at,
                                         pb_rep_t(r, "older entries were trimmed: the figures "
                                                  "of the period are incomplete")));
    g_free(at);
}

char **pb_rep_notes(const struct pb_report *r)
{
    GPtrArray *out = g_ptr_array_new();
    int other = 0;

    reach_note(r, out, &r->events, r->events_need, "the event stream begins at");
    reach_note(r, out, &r->seglog, r->seglog_need, "the segment log begins at");
    reach_note(r, out, &r->wflog, r->wflog_need, "the follow-up log begins at");
    for (guint i = 0; i < r->campaigns->len; i++)
        other |= ((struct pb_rep_campaign *)r->campaigns->pdata[i])->kind == PB_REP_OTHER;
    if (other)
        g_ptr_array_add(out, g_strdup(pb_rep_t(r, "this mail was not sent by postbeacon: only "
                                               "the milter's count of mail delivered to "
                                               "Postfix is known")));
    g_ptr_array_add(out, NULL);
    return (char **)g_ptr_array_free(out, FALSE);
}

/* ---- the header ------------------------------------------------------------------ */

static const char *const kv_labels[] = { "Figure", "Value" };
static const char *const kv_keys[] = { "field", "value" };

static void kv(struct pb_rep_table *t, const char *en, const char *key, char *value)
{
    struct cell row[2] = { label(t->r, en, key), str(value) };

    rt_add(t, row);
    g_free(value);
}

static void kv_cell(struct pb_rep_table *t, const char *en, const char *key, struct cell value)
{
    struct cell row[2] = { label(t->r, en, key), value };

    rt_add(t, row);
}

static char *period_text(const struct pb_report *r)
{
    char *a, *b, *s;

    if (!r->has_since && !r->has_until)
        return g_strdup(pb_rep_t(r, r->all ? "all time (counters)" : "whole campaign (counters)"));
    a = r->has_since ? pb_rep_time(r->since) : g_strdup("…");
    b = r->has_until ? pb_rep_time(r->until) : g_strdup("…");
    s = g_strdup_printf("%s – %s (%s)", a, b,
                        pb_rep_t(r, "figures of the period from the event stream"));
    g_free(a);
    g_free(b);
    return s;
}

static void header(struct pb_report *r, const struct pb_rep_campaign *c,
                   const struct pb_rep_emit *e)
{
    struct pb_rep_table t;
    char **notes = pb_rep_notes(r);

    rt_init(&t, r, "header", NULL, 2, kv_labels, kv_keys, 2);
    t.kv = 1;
    if (c) {
        kv(&t, "Campaign", "campaign", g_strdup(c->name));
        kv_cell(&t, "Type", "type", kind(r, c));
        if (pb_rep_send_field(c, "template"))
            kv(&t, "Template", "template", g_strdup(pb_rep_send_field(c, "template")));
        if (pb_rep_send_field(c, "segment"))
            kv(&t, "Segment", "segment", g_strdup(pb_rep_send_field(c, "segment")));
        if (pb_rep_send_field(c, "state"))
            kv(&t, "State", "state", g_strdup(pb_rep_send_field(c, "state")));
        if (c->c.first_ms)
            kv(&t, "First sent", "first_sent", pb_rep_time(c->c.first_ms));
        if (c->c.last_ms)
            kv(&t, "Last sent", "last_sent", pb_rep_time(c->c.last_ms));
    } else {
        kv(&t, "Report", "report", g_strdup(pb_rep_t(r, "Campaigns")));
    }
    kv(&t, "Period", "period", period_text(r));
    for (char **n = notes; *n; n++)
        kv(&t, "Note", "note", g_strdup(*n));
    rt_print(&t, e);
    g_strfreev(notes);
}

/* ---- one campaign ------------------------------------------------------------------ */

static void mailing(struct pb_report *r, const struct pb_rep_campaign *c,
                    const struct pb_rep_emit *e)
{
    struct pb_rep_table t;
    struct cell row[2];
    const struct pb_rep_sent *s = &c->sent;

    rt_init(&t, r, "mailing", "Mailing", 2, kv_labels, (const char *const[]){ "figure", "value" },
            1);
    row[0] = label(r, "Sent by postbeacon", "sent");
    row[1] = s->sent >= 0 ? num(r, s->sent) : (struct cell){
        g_strdup_printf("– (%s)", pb_rep_t(r, "not sent by postbeacon")), g_strdup("") };
    rt_add(&t, row);
    row[0] = label(r, "Delivered to Postfix", "delivered");
    row[1] = num(r, c->c.delivered);
    rt_add(&t, row);
    if (c->c.recipients != c->c.delivered) {
        row[0] = label(r, "Recipients", "recipients");
        row[1] = num(r, c->c.recipients);
        rt_add(&t, row);
    }
    if (c->kind == PB_REP_SEND) {
        const char *const en[] = { "Suppressed", "Failed", "Uncertain" }, *const key[] = {
            "suppressed", "failed", "uncertain" };
        const long long v[] = { s->suppressed, s->failed, s->uncertain };
        for (int i = 0; i < 3; i++) {
            row[0] = label(r, en[i], key[i]);
            row[1] = num(r, v[i]);
            rt_add(&t, row);
        }
    }
    rt_print(&t, e);
}

static void engagement(struct pb_report *r, const struct pb_rep_counts *n,
                       const struct pb_rep_emit *e)
{
    static const char *const labels[] = { "Figure", "total", "unique" };
    static const char *const keys[] = { "figure", "total", "unique" };
    struct pb_rep_table t;

    rt_init(&t, r, "engagement", "Engagement", 3, labels, keys, 1);
    rt_add(&t, (struct cell[]){ label(r, "Opens, human", "opens_human"), num(r, n->opens[0]),
                                num(r, n->uopens[0]) });
    rt_add(&t, (struct cell[]){ label(r, "of which imputed", "imputed_opens"),
                                num(r, n->imputed), str("") });
    rt_add(&t, (struct cell[]){ label(r, "Opens, machine", "opens_machine"), num(r, n->opens[1]),
                                num(r, n->uopens[1]) });
    rt_add(&t, (struct cell[]){ label(r, "Clicks, human", "clicks_human"), num(r, n->clicks[0]),
                                num(r, n->uclicks[0]) });
    rt_add(&t, (struct cell[]){ label(r, "Clicks, machine (scanners)", "clicks_machine"),
                                num(r, n->clicks[1]), num(r, n->uclicks[1]) });
    rt_add(&t, (struct cell[]){ label(r, "Unsubscribes", "unsubscribes"), str(""),
                                num(r, n->unsubscribes) });
    rt_print(&t, e);
}

static void rates(struct pb_report *r, const struct pb_rep_counts *n, const struct pb_rep_emit *e)
{
    static const char *const labels[] = { "Rate", "human", "machine" };
    static const char *const keys[] = { "rate", "human_pct", "machine_pct" };
    struct pb_rep_table t;
    long long d = n->delivered;

    rt_init(&t, r, "rates", "Rates", 3, labels, keys, 1);
    rt_add(&t, (struct cell[]){ label(r, "Open rate", "open_rate"), pct(r, n->uopens[0], d),
                                pct(r, n->uopens[1], d) });
    rt_add(&t, (struct cell[]){ label(r, "Click rate (CTR)", "ctr"), pct(r, n->uclicks[0], d),
                                pct(r, n->uclicks[1], d) });
    rt_add(&t, (struct cell[]){ label(r, "Click-to-open rate (CTOR)", "ctor"),
                                pct(r, n->uclicks[0], n->uopens[0]),
                                pct(r, n->uclicks[1], n->uopens[1]) });
    rt_add(&t, (struct cell[]){ label(r, "Unsubscribe rate", "unsubscribe_rate"),
                                pct(r, n->unsubscribes, d), none() });
    rt_print(&t, e);
}

static int by_index(const void *a, const void *b)
{
    return ((const struct pb_rep_link *)a)->index - ((const struct pb_rep_link *)b)->index;
}

static void links(struct pb_report *r, const struct pb_rep_counts *n, const struct pb_rep_emit *e)
{
    static const char *const labels[] = { "Position", "URL", "Clicks, human", "unique",
                                          "Clicks, machine (scanners)", "unique" };
    static const char *const keys[] = { "position", "url", "clicks_human", "unique_clicks_human",
                                        "clicks_machine", "unique_clicks_machine" };
    struct pb_rep_table t;

    if (n->links == NULL || n->links->len == 0)
        return;
    g_array_sort(n->links, by_index);
    rt_init(&t, r, "links", "Links", 6, labels, keys, 2);
    t.right |= 1;               /* the position */
    for (guint i = 0; i < n->links->len; i++) {
        const struct pb_rep_link *l = &g_array_index(n->links, struct pb_rep_link, i);
        rt_add(&t, (struct cell[]){ num(r, l->index + 1), str(l->url), num(r, l->clicks[0]),
                                    num(r, l->uclicks[0]), num(r, l->clicks[1]),
                                    num(r, l->uclicks[1]) });
    }
    rt_print(&t, e);
}

static void variant_row(struct pb_rep_table *t, const char *name, const char *subject,
                        long long sent, const struct pb_rep_counts *n)
{
    const struct pb_report *r = t->r;

    rt_add(t, (struct cell[]){ str(name), str(subject), sent >= 0 ? num(r, sent) : none(),
                               num(r, n->delivered), num(r, n->uopens[0]),
                               pct(r, n->uopens[0], n->delivered), num(r, n->uclicks[0]),
                               pct(r, n->uclicks[0], n->delivered) });
}

static void winner(struct pb_report *r, const struct pb_rep_campaign *c,
                   const struct pb_rep_emit *e)
{
    const char *w = pb_rep_send_field(c, "winner"), *by = pb_rep_send_field(c, "winner_by");
    const char *dec = pb_rep_send_field(c, "decision"), *due = pb_rep_send_field(c, "winner_at");
    char *when = !w && due ? pb_rep_time(g_ascii_strtoll(due, NULL, 10)) : NULL;
    GString *s = g_string_new(w ? w : pb_rep_t(r, "not decided yet"));
    struct pb_rep_table t;

    if (by || when) {
        g_string_append_printf(s, " (%s", by ? pb_rep_t(r, strcmp(by, "opens") == 0 ? "by opens"
                                                                                     : "by clicks")
                                             : "");
        g_string_append_printf(s, "%s%s%s%s)", by && when ? ", " : "",
                               when ? pb_rep_t(r, "due") : "", when ? " " : "", when ? when : "");
    }
    rt_init(&t, r, "winner", NULL, 2, kv_labels, kv_keys, 2);
    t.kv = 1;
    kv(&t, "Winner", "winner", g_string_free(s, FALSE));
    g_free(when);
    if (dec)
        kv(&t, "Decision", "decision", g_strdup(dec));
    rt_print(&t, e);
}

static void variants(struct pb_report *r, const struct pb_rep_campaign *c,
                     const struct pb_rep_emit *e)
{
    static const char *const labels[] = { "Variant", "Subject", "Sent", "Delivered",
                                          "Unique human opens", "Open rate",
                                          "Unique human clicks", "Click rate (CTR)" };
    static const char *const keys[] = { "variant", "subject", "sent", "delivered",
                                        "unique_opens_human", "open_rate", "unique_clicks_human",
                                        "ctr" };
    struct pb_rep_table t;

    if (c->variants->len == 0)
        return;
    rt_init(&t, r, "ab", "A/B test", 8, labels, keys, 2);
    for (guint i = 0; i < c->variants->len; i++) {
        const struct pb_rep_variant *v = c->variants->pdata[i];
        variant_row(&t, v->letter, v->subject ? v->subject : v->template, v->sent.sent, &v->c);
    }
    if (c->base.delivered > 0) {
        const char *w = pb_rep_send_field(c, "winner"), *subject = NULL;
        long long rest = c->sent.sent;
        char *name = w ? g_strdup_printf("%s (%s)", pb_rep_t(r, "remainder"), w)
                       : g_strdup(pb_rep_t(r, "remainder"));
        for (guint i = 0; i < c->variants->len; i++) {
            const struct pb_rep_variant *v = c->variants->pdata[i];
            if (rest >= 0)
                rest -= MAX(v->sent.sent, 0);
            if (w && strcmp(v->letter, w) == 0)
                subject = v->subject ? v->subject : v->template;
        }
        variant_row(&t, name, subject, rest, &c->base);
        g_free(name);
    }
    rt_print(&t, e);
    if (c->kind == PB_REP_SEND)
        winner(r, c, e);
}

static long long count_of(GHashTable *t, const char *key)
{
    long long *v = g_hash_table_lookup(t, key);

    return v ? *v : 0;
}

static void caused(struct pb_report *r, const struct pb_rep_campaign *c,
                   const struct pb_rep_emit *e)
{
    static const char *const labels[] = { "Segment", "Entered", "Left" };
    static const char *const keys[] = { "segment", "entered", "left" };
    static const char *const flabels[] = { "Follow-up", "Sent" };
    static const char *const fkeys[] = { "follow_up", "sent" };
    GHashTable *all = g_hash_table_new(g_str_hash, g_str_equal);
    GHashTableIter it;
    gpointer k;
    guint n;
    char **names;
    struct pb_rep_table t;

    for (int side = 0; side < 2; side++)
        for (g_hash_table_iter_init(&it, side ? c->seg_out : c->seg_in);
             g_hash_table_iter_next(&it, &k, NULL);)
            g_hash_table_add(all, k);
    names = pb_rep_sorted_keys(all, &n);
    rt_init(&t, r, "segments", "Segment entries caused by the campaign", 3, labels, keys, 1);
    for (guint i = 0; i < n; i++)
        rt_add(&t, (struct cell[]){ str(names[i]), num(r, count_of(c->seg_in, names[i])),
                                    num(r, count_of(c->seg_out, names[i])) });
    rt_print(&t, e);
    g_free(names);
    g_hash_table_destroy(all);
    names = pb_rep_sorted_keys(c->followups, &n);
    rt_init(&t, r, "follow_ups", "Follow-ups sent", 2, flabels, fkeys, 1);
    for (guint i = 0; i < n; i++)
        rt_add(&t, (struct cell[]){ str(names[i]), num(r, count_of(c->followups, names[i])) });
    rt_add(&t, (struct cell[]){ label(r, "total", "total"), num(r, c->followups_total) });
    rt_print(&t, e);
    g_free(names);
}

/* ---- the funnel ------------------------------------------------------------------- */

static void stage_row(struct pb_rep_table *t, const struct pb_rep_funnel *f, size_t i)
{
    const struct pb_report *r = t->r;
    const struct pb_rep_stage *s = &f->stages[i];
    struct cell row[6];

    if (i == 0) {
        rt_add(t, (struct cell[]){ label(r, "all contacts", "contacts"), num(r, s->count),
                                   str(""), str(""), str(""), str("") });
        return;
    }
    row[0] = str(s->name);
    row[1] = num(r, s->count);
    row[2] = pct(r, s->count, f->stages[i - 1].count);
    row[3] = s->median_ms < 0 ? none()
             : (struct cell){ pb_rep_duration(r, s->median_ms),
                              g_strdup_printf("%.1f", (double)s->median_ms / 3600000.0) };
    row[4] = num(r, s->measured);
    row[5] = num(r, s->entered);
    if (s->sampled) {
        char *m = g_strdup_printf("%s (%s)", row[4].text, pb_rep_t(r, "sample"));
        g_free(row[4].text);
        row[4].text = m;
    }
    rt_add(t, row);
}

static void funnel(struct pb_report *r, const struct pb_rep_emit *e)
{
    static const char *const labels[] = { "Stage", "Contacts", "Conversion", "Median time",
                                          "Measured", "Entered" };
    static const char *const keys[] = { "stage", "contacts", "conversion", "median_hours",
                                        "measured", "entered" };
    const struct pb_rep_funnel *f = &r->funnel;
    int period = r->has_since || r->has_until;
    struct pb_rep_table t;
    char *n;

    rt_init(&t, r, "funnel", "Funnel (all contacts)", 6, labels, keys, 1);
    for (size_t i = 0; i < f->n; i++)
        stage_row(&t, f, i);
    rt_print(&t, e);
    if (f->dormant < 0)
        return;
    rt_init(&t, r, "dormant", NULL, 2, kv_labels, kv_keys, 2);
    t.kv = 1;
    kv(&t, "Dormant", "dormant", pb_rep_int(r, f->dormant));
    n = pb_rep_int(r, f->reactivated);
    kv(&t, "Reactivated", "reactivated", g_strdup_printf("%s (%s%s%s)", n,
       pb_rep_t(r, "left the dormant segment through an event"), period ? "" : ", ",
       period ? "" : pb_rep_t(r, "last 30 days")));
    g_free(n);
    rt_print(&t, e);
}

/* ---- every campaign ---------------------------------------------------------------- */

static void all_table(struct pb_report *r, const struct pb_rep_emit *e)
{
    static const char *const labels[] = { "Campaign", "Type", "Sent", "Delivered",
                                          "Unique human opens", "Open rate",
                                          "Unique human clicks", "Click rate (CTR)", "CTOR",
                                          "Unique machine opens", "Unsubscribes",
                                          "Follow-ups sent" };
    static const char *const keys[] = { "campaign", "type", "sent", "delivered",
                                        "unique_opens_human", "open_rate", "unique_clicks_human",
                                        "ctr", "ctor", "unique_opens_machine", "unsubscribes",
                                        "follow_ups" };
    struct pb_rep_table t;

    rt_init(&t, r, "campaigns", "Campaigns", 12, labels, keys, 2);
    for (guint i = 0; i < r->campaigns->len; i++) {
        const struct pb_rep_campaign *c = r->campaigns->pdata[i];
        const struct pb_rep_counts *n = &c->c;
        rt_add(&t, (struct cell[]){ str(c->name), kind(r, c),
                                    c->sent.sent >= 0 ? num(r, c->sent.sent) : none(),
                                    num(r, n->delivered), num(r, n->uopens[0]),
                                    pct(r, n->uopens[0], n->delivered), num(r, n->uclicks[0]),
                                    pct(r, n->uclicks[0], n->delivered),
                                    pct(r, n->uclicks[0], n->uopens[0]), num(r, n->uopens[1]),
                                    num(r, n->unsubscribes), num(r, c->followups_total) });
    }
    rt_print(&t, e);
}

void pb_rep_tables(struct pb_report *r, const struct pb_rep_emit *e)
{
    if (r->all) {
        header(r, NULL, e);
        all_table(r, e);
    } else {
        const struct pb_rep_campaign *c = r->campaigns->pdata[0];
        header(r, c, e);
        mailing(r, c, e);
        engagement(r, &c->c, e);
        rates(r, &c->c, e);
        links(r, &c->c, e);
        variants(r, c, e);
        caused(r, c, e);
    }
    funnel(r, e);
}

void pb_rep_print_text(struct pb_report *r, FILE *fp)
{
    struct pb_rep_emit e = { print_one, fp };

    pb_rep_tables(r, &e);
}
