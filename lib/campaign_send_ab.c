/*
 * campaign_send_ab.c - the winner of a campaign's A/B test
 * (campaign_send.h): each variant's unique human clicks (or opens) as
 * the tracker counts them for its campaign "<campaign>:<v>"
 * (<p>campaign:<campaign>:<v>, unique_clicks_human / unique_opens_human:
 * docs/redis-schema.md) relative to the test mails it was sent; the
 * highest rate wins. A tie is decided by the other measure, then by the
 * first letter; the decision line says which and shows the figures.
 */
#include <stdio.h>
#include <string.h>
#include "campaign_send_int.h"
#include "events.h"

/* Compare the rates n[i]/d[i] and n[j]/d[j] (no mails: rate 0). */
static int cmp_rate(const long long *n, const long long *d, int i, int j)
{
    long long a = d[i] > 0 ? n[i] : 0, b = d[j] > 0 ? n[j] : 0;
    long long da = d[i] > 0 ? d[i] : 1, db = d[j] > 0 ? d[j] : 1;
    double l = (double)a * (double)db, r = (double)b * (double)da;

    return l < r ? -1 : l > r;
}

/* Keep in top[] (count returned) those of top[0..k) with the best rate. */
static int best(const long long *n, const long long *d, int *top, int k)
{
    int m = 0;

    for (int x = 0; x < k; x++) {
        int c = m == 0 ? 1 : cmp_rate(n, d, top[x], top[0]);
        if (c > 0)
            m = 0;
        if (c >= 0)
            top[m++] = top[x];
    }
    return m;
}

static double pct(long long n, long long d)
{
    return d > 0 ? 100.0 * (double)n / (double)d : 0.0;
}

static void figures(GString *out, const struct pb_csend_spec *spec, const long long *sent,
                    const long long *by, const char *measure)
{
    for (int i = 0; i < spec->nvariants; i++) {
        if (i == 0)
            g_string_append_printf(out, "%s: %lld unique human %s of %lld sent (%.1f%%)",
                                   spec->var[i].letter, by[i], measure, sent[i],
                                   pct(by[i], sent[i]));
        else
            g_string_append_printf(out, "; %s: %lld of %lld (%.1f%%)", spec->var[i].letter,
                                   by[i], sent[i], pct(by[i], sent[i]));
    }
}

static void names(GString *out, const struct pb_csend_spec *spec, const int *top, int m)
{
    for (int x = 0; x < m; x++)
        g_string_append_printf(out, "%s%s", x == 0 ? "" : x == m - 1 ? " and " : ", ",
                               spec->var[top[x]].letter);
}

int pb_csend_winner(const struct pb_csend_spec *spec, const long long *sent,
                    const long long *by, const long long *other, GString *out)
{
    const char *measure = spec->winner_by_opens ? "opens" : "clicks";
    const char *second = spec->winner_by_opens ? "clicks" : "opens";
    int top[PB_CSEND_VARIANTS], m, k;

    for (int i = 0; i < spec->nvariants; i++)
        top[i] = i;
    g_string_truncate(out, 0);
    figures(out, spec, sent, by, measure);
    m = best(by, sent, top, spec->nvariants);
    if (m > 1) {
        g_string_append(out, "; ");
        names(out, spec, top, m);
        g_string_append_printf(out, " tie, so by unique human %s:", second);
        for (int x = 0; x < m; x++)
            g_string_append_printf(out, "%s %s %lld (%.1f%%)", x ? "," : "",
                                   spec->var[top[x]].letter, other[top[x]],
                                   pct(other[top[x]], sent[top[x]]));
        k = m;
        m = best(other, sent, top, k);
        if (m > 1)
            g_string_append(out, "; a tie again, so the first letter");
    }
    g_string_append_printf(out, "; %s wins", spec->var[top[0]].letter);
    return top[0];
}

int pb_csend_decide(redisContext *c, const char *prefix, const char *campaign,
                    const struct pb_csend_job *job, GString *decision, char *why,
                    size_t whylen)
{
    long long clicks[PB_CSEND_VARIANTS] = { 0 }, opens[PB_CSEND_VARIANTS] = { 0 };
    int n = job->spec.nvariants, rc = 0;

    for (int i = 0; i < n; i++)
        redisAppendCommand(c, "HMGET %s%s%s:%s unique_clicks_human unique_opens_human", prefix,
                           PB_KEY_CAMPAIGN, campaign, job->spec.var[i].letter);
    for (int i = 0; i < n; i++) {
        redisReply *r = NULL;
        if (redisGetReply(c, (void **)&r) != REDIS_OK || r == NULL) {
            snprintf(why, whylen, "Redis: %s (reading the variants' figures)", c->errstr);
            return -1;
        }
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
            clicks[i] = pb_csend_reply_ll(r->element[0]);
            opens[i] = pb_csend_reply_ll(r->element[1]);
        } else {
            snprintf(why, whylen, "Redis: %s (reading the variants' figures)",
                     r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
            rc = -1;
        }
        freeReplyObject(r);
    }
    if (rc != 0)
        return -1;
    return job->spec.winner_by_opens
        ? pb_csend_winner(&job->spec, job->var_sent, opens, clicks, decision)
        : pb_csend_winner(&job->spec, job->var_sent, clicks, opens, decision);
}
