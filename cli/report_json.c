/*
 * report_json.c - a report as one JSON object (--json): the same figures
 * as the text, as numbers (counts exact, rates in percent rounded to one
 * decimal, null where there is no denominator, times in unix ms), with
 * stable English names; docs/reports.md lists them.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "report.h"
#include "table.h"

static json_t *rate(long long num, long long den)
{
    double v = pb_rep_rate(num, den);

    return isnan(v) ? json_null() : json_real(v);
}

static json_t *maybe(long long v)
{
    return v >= 0 ? json_integer(v) : json_null();
}

static json_t *text(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* A send record's number field, or null. */
static json_t *number(const char *s)
{
    return s ? json_integer(g_ascii_strtoll(s, NULL, 10)) : json_null();
}

static const char *kind_key(const struct pb_rep_campaign *c)
{
    return c->kind == PB_REP_SEND ? "send" : c->kind == PB_REP_FOLLOWUP ? "follow-up" : "other";
}

static json_t *side(long long total, long long unique)
{
    return json_pack("{sIsI}", "total", (json_int_t)total, "unique", (json_int_t)unique);
}

static json_t *pair(long long hn, long long hd, long long mn, long long md)
{
    return json_pack("{soso}", "human", rate(hn, hd), "machine", rate(mn, md));
}

/* sent, delivered, opens, clicks, unsubscribes and the rates of n. */
static void figures(json_t *o, const struct pb_rep_counts *n)
{
    json_t *opens = json_pack("{soso}", "human", side(n->opens[0], n->uopens[0]),
                              "machine", side(n->opens[1], n->uopens[1]));
    long long d = n->delivered;

    json_object_set_new(json_object_get(opens, "human"), "imputed", json_integer(n->imputed));
    json_object_set_new(o, "delivered", json_integer(d));
    json_object_set_new(o, "recipients", json_integer(n->recipients));
    json_object_set_new(o, "opens", opens);
    json_object_set_new(o, "clicks", json_pack("{soso}", "human", side(n->clicks[0], n->uclicks[0]),
                                               "machine", side(n->clicks[1], n->uclicks[1])));
    json_object_set_new(o, "unsubscribes", json_integer(n->unsubscribes));
    json_object_set_new(o, "rates_pct", json_pack("{sosososo}",
        "open_rate", pair(n->uopens[0], d, n->uopens[1], d),
        "ctr", pair(n->uclicks[0], d, n->uclicks[1], d),
        "ctor", pair(n->uclicks[0], n->uopens[0], n->uclicks[1], n->uopens[1]),
        "unsubscribe_rate", rate(n->unsubscribes, d)));
}

static json_t *links(const struct pb_rep_counts *n)
{
    json_t *a = json_array();

    for (guint i = 0; n->links && i < n->links->len; i++) {
        const struct pb_rep_link *l = &g_array_index(n->links, struct pb_rep_link, i);
        json_array_append_new(a, json_pack("{sIsIsosIsIsIsI}", "index", (json_int_t)l->index,
            "position", (json_int_t)l->index + 1, "url", text(l->url),
            "clicks_human", (json_int_t)l->clicks[0],
            "unique_clicks_human", (json_int_t)l->uclicks[0],
            "clicks_machine", (json_int_t)l->clicks[1],
            "unique_clicks_machine", (json_int_t)l->uclicks[1]));
    }
    return a;
}

static json_t *variant(const char *name, const char *campaign, const char *subject,
                       const char *template, long long sent, const struct pb_rep_counts *n)
{
    json_t *o = json_pack("{sssosososo}", "variant", name, "campaign", text(campaign),
                          "subject", text(subject), "template", text(template),
                          "sent", maybe(sent));

    figures(o, n);
    return o;
}

static json_t *ab(const struct pb_rep_campaign *c)
{
    json_t *list = json_array(), *o;
    long long rest = c->sent.sent;

    for (guint i = 0; i < c->variants->len; i++) {
        const struct pb_rep_variant *v = c->variants->pdata[i];
        json_array_append_new(list, variant(v->letter, v->campaign, v->subject, v->template,
                                            v->sent.sent, &v->c));
        rest -= MAX(v->sent.sent, 0);
    }
    o = json_pack("{sososo}", "variants", list, "winner", text(pb_rep_send_field(c, "winner")),
                  "winner_by", text(pb_rep_send_field(c, "winner_by")));
    json_object_set_new(o, "decision", text(pb_rep_send_field(c, "decision")));
    json_object_set_new(o, "winner_at_ms", number(pb_rep_send_field(c, "winner_at")));
    json_object_set_new(o, "decided_at_ms", number(pb_rep_send_field(c, "decided_at")));
    if (c->base.delivered > 0)
        json_object_set_new(o, "remainder", variant("remainder", c->name, NULL, NULL,
                                                    c->sent.sent >= 0 ? rest : -1, &c->base));
    return o;
}

/* A count table as an object, its names in order. */
static json_t *counted(GHashTable *t)
{
    json_t *o = json_object();
    guint n;
    char **names = pb_rep_sorted_keys(t, &n);

    for (guint i = 0; i < n; i++)
        json_object_set_new(o, names[i],
                            json_integer(*(long long *)g_hash_table_lookup(t, names[i])));
    g_free(names);
    return o;
}

static json_t *period(const struct pb_report *r)
{
    return json_pack("{sososs}", "since_ms", r->has_since ? json_integer(r->since) : json_null(),
                     "until_ms", r->has_until ? json_integer(r->until) : json_null(),
                     "source", r->has_since || r->has_until ? "stream" : "counters");
}

static json_t *notes(const struct pb_report *r)
{
    char **n = pb_rep_notes(r);
    json_t *a = json_array();

    for (char **p = n; *p; p++)
        json_array_append_new(a, json_string(*p));
    g_strfreev(n);
    return a;
}

static json_t *funnel(const struct pb_report *r)
{
    const struct pb_rep_funnel *f = &r->funnel;
    json_t *stages = json_array();

    for (size_t i = 1; i < f->n; i++) {
        const struct pb_rep_stage *s = &f->stages[i];
        json_array_append_new(stages, json_pack("{sssIsososIsbsI}", "stage", s->name,
            "contacts", (json_int_t)s->count,
            "conversion_pct", rate(s->count, f->stages[i - 1].count),
            "median_ms", maybe(s->median_ms), "measured", (json_int_t)s->measured,
            "sampled", s->sampled, "entered", (json_int_t)s->entered));
    }
    return json_pack("{sIsosososos{sIsI}}", "contacts", (json_int_t)f->stages[0].count,
                     "stages", stages, "active", maybe(f->active), "dormant", maybe(f->dormant),
                     "reactivated", f->dormant >= 0 ? json_integer(f->reactivated) : json_null(),
                     "window", "from_ms", (json_int_t)r->window_from,
                     "to_ms", (json_int_t)r->window_to);
}

/* The figures of one campaign; full: links, variants and what it caused too. */
static json_t *campaign(const struct pb_report *r, const struct pb_rep_campaign *c, int full)
{
    json_t *o = json_pack("{ssss}", "campaign", c->name, "type", kind_key(c));
    static const char *const fields[] = { "template", "segment", "state" };

    for (size_t i = 0; full && i < G_N_ELEMENTS(fields); i++)
        if (pb_rep_send_field(c, fields[i]))
            json_object_set_new(o, fields[i], json_string(pb_rep_send_field(c, fields[i])));
    if (c->workflow) {
        json_object_set_new(o, "workflow", json_string(c->workflow));
        json_object_set_new(o, "step", json_string(c->step));
    }
    json_object_set_new(o, "first_sent_ms", c->c.first_ms ? json_integer(c->c.first_ms)
                                                          : json_null());
    json_object_set_new(o, "last_sent_ms", c->c.last_ms ? json_integer(c->c.last_ms)
                                                        : json_null());
    json_object_set_new(o, "sent", maybe(c->sent.sent));
    json_object_set_new(o, "suppressed", maybe(c->sent.suppressed));
    json_object_set_new(o, "failed", maybe(c->sent.failed));
    json_object_set_new(o, "uncertain", maybe(c->sent.uncertain));
    figures(o, &c->c);
    json_object_set_new(o, "follow_ups", json_pack("{sIso}", "total",
                                                   (json_int_t)c->followups_total,
                                                   "by_step", counted(c->followups)));
    if (!full)
        return o;
    json_object_set_new(o, "links", links(&c->c));
    json_object_set_new(o, "ab_test", c->variants->len ? ab(c) : json_null());
    json_object_set_new(o, "segments", json_pack("{soso}", "entered", counted(c->seg_in),
                                                 "left", counted(c->seg_out)));
    return o;
}

void pb_rep_print_json(struct pb_report *r, FILE *fp)
{
    json_t *o;

    if (r->all) {
        json_t *list = json_array();
        for (guint i = 0; i < r->campaigns->len; i++)
            json_array_append_new(list, campaign(r, r->campaigns->pdata[i], 0));
        o = json_pack("{so}", "campaigns", list);
    } else {
        o = campaign(r, r->campaigns->pdata[0], 1);
    }
    json_object_set_new(o, "period", period(r));
    json_object_set_new(o, "notes", notes(r));
    json_object_set_new(o, "funnel", funnel(r));
    json_object_set_new(o, "language", json_string(r->lang));
    /* rates are rounded to 0.1: print them so (33.3, not 33.299999999999997) */
    json_dumpf(o, fp, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    fputc('\n', fp);
    json_decref(o);
}
