/*
 * report_stream.c - what <p>events says about a period: the figures of
 * the report's campaigns counted from their entries (sends, opens,
 * clicks, unsubscribes, unique per recipient as the tracker counts them)
 * and the opens and clicks over time for the HTML charts; and how far a
 * stream still reaches back, so that a period it no longer covers is
 * said to be incomplete instead of shown as whole.
 *
 * Entry ids are the times entries reached Redis, never before the event
 * happened (ts), so XRANGE from the period's start reads no entry
 * earlier than needed; entries are read PB_REP_PAGE a round trip up to
 * PB_REP_LATE_MS after the period's end (an event replayed from a
 * journal later than that is not found) and counted by their ts.
 */
#include <stdlib.h>
#include <string.h>
#include "events.h"
#include "report.h"

/* ---- how far back ----------------------------------------------------------- */

static long long id_ms(const char *id)
{
    return strtoll(id, NULL, 10);
}

int pb_rep_reach(struct pb_report *r, const char *name, struct pb_rep_reach *out)
{
    char *key = pb_cli_key(r->cli, name, NULL);
    redisReply *first = pb_cli_cmd(r->cli, "reading a stream", "XRANGE %s - + COUNT 1", key);
    redisReply *info = first && first->elements > 0 ? redisCommand(r->cli->redis,
                                                                   "XINFO STREAM %s", key)
                                                    : NULL;
    long long added = -1, length = -1;

    *out = (struct pb_rep_reach){ .empty = 1, .removed = 0 };
    if (first && first->elements > 0) {
        out->empty = 0;
        out->first_ms = id_ms(first->element[0]->element[0]->str);
        for (size_t i = 0; info && info->type == REDIS_REPLY_ARRAY && i + 1 < info->elements;
             i += 2) {
            if (strcmp(info->element[i]->str, "entries-added") == 0)
                added = info->element[i + 1]->integer;
            if (strcmp(info->element[i]->str, "length") == 0)
                length = info->element[i + 1]->integer;
        }
        out->removed = added >= 0 && length >= 0 ? added - length : -1;
    }
    if (info)
        freeReplyObject(info);
    g_free(key);
    if (first == NULL)
        return -1;
    freeReplyObject(first);
    return 0;
}

int pb_rep_covers(const struct pb_rep_reach *reach, long long from_ms)
{
    if (reach->removed == 0)
        return 1;               /* nothing was ever trimmed (or erased) */
    return !reach->empty && reach->first_ms <= from_ms;
}

/* ---- buckets ------------------------------------------------------------------ */

void pb_rep_series_init(struct pb_rep_series *s, long long from_ms, long long to_ms)
{
    static const long long steps[] = { 3600000LL, 3 * 3600000LL, 6 * 3600000LL,
                                        12 * 3600000LL, 86400000LL, 7 * 86400000LL,
                                        30 * 86400000LL };
    long long span = MAX(to_ms - from_ms, 1);
    size_t i = 0;

    while (i + 1 < G_N_ELEMENTS(steps) && span / steps[i] >= 60)
        i++;
    s->from_ms = from_ms - from_ms % 3600000LL;     /* whole hours */
    s->step_ms = steps[i];
    s->n = (int)((to_ms - s->from_ms + s->step_ms - 1) / s->step_ms);
    s->n = MAX(s->n, 1);
    for (int k = 0; k < 2; k++) {
        s->opens[k] = g_new0(long long, s->n);
        s->clicks[k] = g_new0(long long, s->n);
    }
}

void pb_rep_series_free(struct pb_rep_series *s)
{
    for (int k = 0; k < 2; k++) {
        g_free(s->opens[k]);
        g_free(s->clicks[k]);
    }
    memset(s, 0, sizeof(*s));
}

/* ---- one entry -------------------------------------------------------------------- */

struct entry {
    const char *type, *campaign, *contact, *msg, *cls, *imputed, *link, *url, *rcpts;
    long long ts;
};

static void parse(const redisReply *f, struct entry *e)
{
    memset(e, 0, sizeof(*e));
    for (size_t i = 0; i + 1 < f->elements; i += 2) {
        const char *k = f->element[i]->str, *v = f->element[i + 1]->str;
        switch (k[0]) {
        case 't':
            if (strcmp(k, "type") == 0) e->type = v;
            else if (strcmp(k, "ts") == 0) e->ts = strtoll(v, NULL, 10);
            break;
        case 'c':
            if (strcmp(k, "campaign") == 0) e->campaign = v;
            else if (strcmp(k, "contact") == 0) e->contact = v;
            else if (strcmp(k, "class") == 0) e->cls = v;
            break;
        case 'm': if (strcmp(k, "msg") == 0) e->msg = v; break;
        case 'i': if (strcmp(k, "imputed") == 0) e->imputed = v; break;
        case 'l': if (strcmp(k, "link") == 0) e->link = v; break;
        case 'u': if (strcmp(k, "url") == 0) e->url = v; break;
        case 'r': if (strcmp(k, "rcpts") == 0) e->rcpts = v; break;
        default: break;
        }
    }
}

/* What a scan counts into: the counts of each campaign name. */
struct scan {
    struct pb_report *r;
    GHashTable *names;          /* campaign name -> struct pb_rep_counts * */
    GHashTable *seen;           /* "<counts ptr>|<set>|<who>": counted as unique */
    int counts;
    long long from, to;         /* the period (counts) */
};

/* 1 if who is new in set of counts c. */
static int first_time(struct scan *s, const struct pb_rep_counts *c, const char *set,
                      const char *who)
{
    char *key = g_strdup_printf("%p|%s|%s", (const void *)c, set, who);

    if (g_hash_table_contains(s->seen, key)) {
        g_free(key);
        return 0;
    }
    g_hash_table_add(s->seen, key);
    return 1;
}

static void count_click(struct scan *s, struct pb_rep_counts *c, const struct entry *e,
                        int k, const char *who)
{
    char lw[160];
    struct pb_rep_link *l;

    c->clicks[k]++;
    c->uclicks[k] += first_time(s, c, k ? "cm" : "ch", who);
    if (e->link == NULL)
        return;
    l = pb_rep_link_of(c, atoi(e->link));
    if (l->url == NULL && e->url)
        l->url = g_strdup(e->url);
    l->clicks[k]++;
    g_snprintf(lw, sizeof(lw), "%s:%s", e->link, who);
    l->uclicks[k] += first_time(s, c, k ? "lm" : "lh", lw);
}

/* One entry of the period into its campaign's counts. */
static void count(struct scan *s, struct pb_rep_counts *c, const struct entry *e)
{
    char who[64];
    int k = e->cls && strcmp(e->cls, "machine") == 0 ? PB_REP_MACHINE : PB_REP_HUMAN;

    g_snprintf(who, sizeof(who), "%s%s", e->contact && *e->contact ? "" : "m:",
               e->contact && *e->contact ? e->contact : (e->msg ? e->msg : ""));
    if (strcmp(e->type, "sent") == 0) {
        c->delivered++;
        c->recipients += e->rcpts ? strtoll(e->rcpts, NULL, 10) : 1;
    } else if (strcmp(e->type, "open") == 0) {
        c->opens[k]++;
        c->imputed += k == PB_REP_HUMAN && e->imputed && strcmp(e->imputed, "1") == 0;
        c->uopens[k] += first_time(s, c, k ? "om" : "oh", who);
    } else if (strcmp(e->type, "click") == 0) {
        count_click(s, c, e, k, who);
    } else if (strcmp(e->type, "unsubscribe") == 0) {
        c->unsubscribes += first_time(s, c, "u", who);
    }
}

static void chart(struct pb_rep_series *ser, const struct entry *e)
{
    long long b;
    int k = e->cls && strcmp(e->cls, "machine") == 0 ? PB_REP_MACHINE : PB_REP_HUMAN;

    if (ser->n == 0 || e->ts < ser->from_ms)
        return;
    b = (e->ts - ser->from_ms) / ser->step_ms;
    if (b >= ser->n)
        return;
    if (strcmp(e->type, "open") == 0)
        ser->opens[k][b]++;
    else if (strcmp(e->type, "click") == 0)
        ser->clicks[k][b]++;
}

static void one(void *arg, const redisReply *fields)
{
    struct scan *s = arg;
    struct entry e;
    struct pb_rep_counts *c;

    parse(fields, &e);
    if (e.type == NULL || e.campaign == NULL
        || (c = g_hash_table_lookup(s->names, e.campaign)) == NULL)
        return;
    if (s->counts && e.ts >= s->from && e.ts < s->to)
        count(s, c, &e);
    chart(&s->r->series, &e);
}

int pb_rep_read(struct pb_report *r, const char *name, const char *what, long long from,
                long long to, void (*fn)(void *arg, const redisReply *fields), void *arg)
{
    char *key = pb_cli_key(r->cli, name, NULL), start[48];
    size_t n;
    int rc = 0;

    g_snprintf(start, sizeof(start), "%lld-0", MAX(from, 0));
    do {
        redisReply *rep = pb_cli_cmd(r->cli, what, "XRANGE %s %s %lld COUNT %d", key, start,
                                     to + PB_REP_LATE_MS, PB_REP_PAGE);
        if (rep == NULL) {
            rc = -1;
            break;
        }
        n = rep->elements;
        for (size_t i = 0; i < n; i++)
            if (rep->element[i]->element[1]->type == REDIS_REPLY_ARRAY)
                fn(arg, rep->element[i]->element[1]);
        if (n > 0)
            g_snprintf(start, sizeof(start), "(%s", rep->element[n - 1]->element[0]->str);
        freeReplyObject(rep);
    } while (n == PB_REP_PAGE);
    g_free(key);
    return rc;
}

/* The counts of every campaign name of the report, cleared for the period
 * (first and last send stay: they come from the hashes). */
static void name_counts(struct scan *s, struct pb_rep_counts *c, const char *name)
{
    long long first = c->first_ms, last = c->last_ms;

    if (s->counts) {
        pb_rep_counts_clear(c);
        c->first_ms = first;
        c->last_ms = last;
    }
    g_hash_table_insert(s->names, (gpointer)name, c);
}

int pb_rep_scan_events(struct pb_report *r, int counts)
{
    struct scan s = { .r = r, .counts = counts, .from = r->since, .to = pb_rep_until(r) };
    long long from = counts ? r->since : r->series.from_ms, to = s.to;
    int rc;

    if (r->series.n > 0) {
        from = MIN(from, r->series.from_ms);
        to = MAX(to, r->series.from_ms + r->series.n * r->series.step_ms);
    }
    s.names = g_hash_table_new(g_str_hash, g_str_equal);
    s.seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (guint i = 0; i < r->campaigns->len; i++) {
        struct pb_rep_campaign *c = r->campaigns->pdata[i];
        name_counts(&s, &c->base, c->name);
        for (guint v = 0; v < c->variants->len; v++) {
            struct pb_rep_variant *var = c->variants->pdata[v];
            name_counts(&s, &var->c, var->campaign);
        }
    }
    rc = pb_rep_read(r, PB_KEY_EVENTS, "reading the events", from, to, one, &s);
    for (guint i = 0; counts && i < r->campaigns->len; i++) {
        struct pb_rep_campaign *c = r->campaigns->pdata[i];
        long long first = c->c.first_ms, last = c->c.last_ms;
        pb_rep_counts_clear(&c->c);
        pb_rep_counts_add(&c->c, &c->base);
        for (guint v = 0; v < c->variants->len; v++)
            pb_rep_counts_add(&c->c, &((struct pb_rep_variant *)c->variants->pdata[v])->c);
        c->c.first_ms = first;
        c->c.last_ms = last;
    }
    g_hash_table_destroy(s.names);
    g_hash_table_destroy(s.seen);
    return rc;
}
