/*
 * report_funnel.c - the funnel of report.funnel: all contacts (HLEN
 * <p>contacts:by-email), then each stage's segment size now (ZCARD
 * <p>segment:<name>), the conversion from the stage before, and the
 * median time a contact took from the stage before: its entry time in
 * the stage (the set's score) less its entry time in the previous stage
 * (ZMSCORE), or for the first stage less its creation (created_at or
 * first_seen of the contact hash, the earlier). Members who are not in
 * the previous stage, or entered it later, are not measured. A stage of
 * more than SAMPLE members is measured on SAMPLE random ones
 * (ZRANDMEMBER) and says so. Also the sizes of the first stage (active)
 * and report.dormant for the active/dormant chart.
 */
#include <stdlib.h>
#include <string.h>
#include "events.h"
#include "report.h"

#define SAMPLE 10000            /* members measured per stage at most */
#define CHUNK 1000              /* members per ZMSCORE / HMGET pipeline step */

static int by_value(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;

    return x < y ? -1 : x > y;
}

static long long median(GArray *d)
{
    long long *v = (long long *)d->data;
    guint n = d->len;

    if (n == 0)
        return -1;
    qsort(v, n, sizeof(long long), by_value);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Creation time (ms) of each contact of members: min of created_at and
 * first_seen (seconds), -1 if neither. */
static int created(struct pb_report *r, const redisReply *m, long long *ref)
{
    size_t n = m->elements / 2;
    int rc = 0;

    for (size_t i = 0; i < n; i++)
        redisAppendCommand(r->cli->redis, "HMGET %s%s%s created_at first_seen",
                           r->cli->conf.redis.prefix, PB_KEY_CONTACT, m->element[2 * i]->str);
    for (size_t i = 0; i < n; i++) {
        redisReply *h = pb_cli_reply(r->cli, "reading the contacts");
        long long t = -1;
        if (h == NULL) {
            rc = -1;
            ref[i] = -1;
            continue;
        }
        for (size_t k = 0; k < 2; k++)
            if (h->element[k]->type == REDIS_REPLY_STRING) {
                long long s = strtoll(h->element[k]->str, NULL, 10) * 1000;
                t = t < 0 ? s : MIN(t, s);
            }
        ref[i] = t;
        freeReplyObject(h);
    }
    return rc;
}

/* Entry time (ms) of each member in segment prev, -1 if not a member. */
static int entered(struct pb_report *r, const char *prev, const redisReply *m, long long *ref)
{
    size_t n = m->elements / 2;
    char *key = pb_cli_key(r->cli, PB_KEY_SEGMENT, prev);
    int rc = 0;

    for (size_t at = 0; at < n && rc == 0; at += CHUNK) {
        size_t k = MIN(CHUNK, n - at);
        const char **argv = g_new(const char *, k + 2);
        redisReply *s;
        argv[0] = "ZMSCORE";
        argv[1] = key;
        for (size_t i = 0; i < k; i++)
            argv[i + 2] = m->element[2 * (at + i)]->str;
        s = redisCommandArgv(r->cli->redis, (int)k + 2, argv, NULL);
        g_free(argv);
        if (s == NULL || s->type != REDIS_REPLY_ARRAY) {
            pb_cli_error("Redis: reading the segment %s: %s", prev,
                         s ? s->str : r->cli->redis->errstr);
            rc = -1;
        }
        for (size_t i = 0; rc == 0 && i < k; i++)
            ref[at + i] = s->element[i]->type == REDIS_REPLY_STRING
                          ? (long long)strtod(s->element[i]->str, NULL) : -1;
        if (s)
            freeReplyObject(s);
    }
    g_free(key);
    return rc;
}

/* The median time into stage i from the one before it. */
static int measure(struct pb_report *r, size_t i)
{
    struct pb_rep_stage *st = &r->funnel.stages[i];
    char *key = pb_cli_key(r->cli, PB_KEY_SEGMENT, st->name);
    redisReply *m;
    long long *ref;
    GArray *d;
    int rc;

    st->sampled = st->count > SAMPLE;
    m = st->sampled ? pb_cli_cmd(r->cli, "sampling a segment", "ZRANDMEMBER %s %d WITHSCORES",
                                 key, SAMPLE)
                    : pb_cli_cmd(r->cli, "reading a segment", "ZRANGE %s 0 -1 WITHSCORES", key);
    g_free(key);
    if (m == NULL)
        return -1;
    ref = g_new(long long, m->elements / 2 + 1);
    rc = i == 1 ? created(r, m, ref) : entered(r, r->funnel.stages[i - 1].name, m, ref);
    d = g_array_new(FALSE, FALSE, sizeof(long long));
    for (size_t k = 0; rc == 0 && k < m->elements / 2; k++) {
        long long t = (long long)strtod(m->element[2 * k + 1]->str, NULL), delta = t - ref[k];
        if (ref[k] >= 0 && delta >= 0)
            g_array_append_val(d, delta);
    }
    st->measured = d->len;
    st->median_ms = median(d);
    g_array_free(d, TRUE);
    g_free(ref);
    freeReplyObject(m);
    return rc;
}

/* ZCARD of name into *out, or HLEN of the address map for NULL. */
static void ask_size(struct pb_report *r, const char *name)
{
    const char *p = r->cli->conf.redis.prefix;

    if (name == NULL)
        redisAppendCommand(r->cli->redis, "HLEN %s%s", p, PB_KEY_BY_EMAIL);
    else
        redisAppendCommand(r->cli->redis, "ZCARD %s%s%s", p, PB_KEY_SEGMENT, name);
}

static int read_size(struct pb_report *r, long long *out)
{
    redisReply *n = pb_cli_reply(r->cli, "reading a segment's size");

    if (n == NULL)
        return -1;
    *out = n->integer;
    freeReplyObject(n);
    return 0;
}

int pb_rep_funnel(struct pb_report *r)
{
    const struct pb_report_conf *rc = &r->cli->conf.report;
    struct pb_rep_funnel *f = &r->funnel;
    int bad = 0;

    f->n = rc->funnel.count + 1;
    f->stages = g_new0(struct pb_rep_stage, f->n);
    f->dormant = f->active = -1;
    for (size_t i = 0; i < f->n; i++) {
        f->stages[i].name = i ? g_strdup(rc->funnel.items[i - 1]) : NULL;
        f->stages[i].median_ms = -1;
        ask_size(r, f->stages[i].name);
    }
    if (rc->dormant)
        ask_size(r, rc->dormant);
    for (size_t i = 0; i < f->n; i++)
        bad |= read_size(r, &f->stages[i].count);
    if (rc->dormant)
        bad |= read_size(r, &f->dormant);
    if (f->n > 1)
        f->active = f->stages[1].count;
    for (size_t i = 1; !bad && i < f->n; i++)
        bad |= measure(r, i);
    return bad ? -1 : 0;
}

void pb_rep_funnel_free(struct pb_rep_funnel *f)
{
    for (size_t i = 0; i < f->n; i++)
        g_free(f->stages[i].name);
    g_free(f->stages);
    memset(f, 0, sizeof(*f));
}
