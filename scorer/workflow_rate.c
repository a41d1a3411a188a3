/*
 * workflow_rate.c - the global send rate (submit.rate, lib/send_rate.h)
 * for the workflow runner: after the claim and before any submission,
 * the claimed steps that send something take their places at once; those
 * over the rate are not submitted now but settled as deferred ("send
 * rate": back into the due queue, not a try, their frequency-cap place
 * given back), each at the time its place should be free, one interval
 * after the other, so that a backlog is spread at the rate's pace rather
 * than claimed again every round. Claim before submit is untouched: a
 * step without a place is settled without having been submitted.
 * docs/scorer.md ("Workflows").
 */
#include <math.h>
#include <stdio.h>
#include "send_rate.h"
#include "workflow_run.h"

int pb_wf_needs_place(const struct pb_wf_step *st)
{
    return st->kind == PB_WF_SEND || st->kind == PB_WF_NOTIFY;
}

/* The items still to be submitted that need a place. */
static long wanted(const GPtrArray *items)
{
    long n = 0;

    for (unsigned i = 0; i < items->len; i++) {
        const struct pb_wf_item *it = items->pdata[i];
        n += it->status == NULL && pb_wf_needs_place(it->step);
    }
    return n;
}

/* Places for want items: the number granted, *next_ms when the next
 * one is free; a Redis failure grants none (why says so). */
static long take(struct pb_scorer *s, long want, long long *next_ms, char *why, size_t len)
{
    char *key = g_strconcat(s->conf->redis.prefix, PB_KEY_SEND_RATE, NULL);
    long long now = s->now_ms();
    long got = pb_send_rate_take(s->c, key, s->conf->submit.rate, now, want, next_ms, why, len);

    g_free(key);
    if (got < 0) {
        pb_log_limited(&s->limit, 10, LOG_ERR, "the send rate (%s%s): %s; follow-ups "
                       "deferred", s->conf->redis.prefix, PB_KEY_SEND_RATE, why);
        *next_ms = now + 1000;
        return 0;
    }
    snprintf(why, len, "send rate");
    return got;
}

void pb_wf_rate_gate(struct pb_scorer *s, GPtrArray *items)
{
    long want = s->conf->submit.rate > 0 ? wanted(items) : 0, granted, k = 0;
    double interval = s->conf->submit.rate > 0 ? 1000.0 / s->conf->submit.rate : 0;
    long long next = 0, base;
    char why[256];

    if (want == 0)
        return;
    granted = take(s, want, &next, why, sizeof(why));
    if (granted >= want)
        return;
    /* after the places other rounds of this scorer deferred to */
    base = next > s->wf_rate_slot_ms ? next : s->wf_rate_slot_ms;
    if (base <= s->now_ms())
        base = s->now_ms() + 1;
    for (unsigned i = 0; i < items->len; i++) {
        struct pb_wf_item *it = items->pdata[i];
        if (it->status != NULL || !pb_wf_needs_place(it->step) || granted-- > 0)
            continue;
        it->status = "deferred";
        it->retry_at = base + llround((double)k++ * interval);
        snprintf(it->reason, sizeof(it->reason), "%s", why);
    }
    s->wf_rate_slot_ms = base + llround((double)k * interval);
    s->stats.wf_rate_deferred += (unsigned long long)k;
}
