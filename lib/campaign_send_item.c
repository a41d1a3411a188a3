/*
 * campaign_send_item.c - one member of a campaign send
 * (campaign_send_int.h): a grant of the send rate (submit.rate over every
 * sender, <p>send-rate; and the job's own --rate, <p>send-rate:<c>), the
 * claim (the script re-checks the mark, the suppression list and the
 * address, and names the member in flight), the message rendered and
 * submitted, and the outcome settled: sent, failed, or after a temporary
 * failure released and retried later (scorer.workflow_retry_s, doubling,
 * failed after scorer.workflow_tries submissions, as follow-ups are).
 */
#include <stdio.h>
#include <string.h>
#include "campaign_send_int.h"
#include "events.h"
#include "send_rate.h"
#include "submit.h"

#define BACKOFF_DOUBLINGS 10

/* One grant of a rate into *have: 1, 0 (wait until *until), -1 (why). */
static int grant(struct pb_csend *j, const char *key, long rate, int *have, long long *until,
                 char *why, size_t whylen)
{
    long n;

    if (*have)
        return 1;
    n = pb_send_rate_take(j->env.c, key, rate, j->env.now_ms(), 1, until, why, whylen);
    if (n < 0)
        return -1;
    *have = n > 0;
    return *have;
}

/* Both grants: the job's own rate when it is below the global one. */
static int take_rate(struct pb_csend *j, long long *until, char *why, size_t whylen)
{
    long global = j->env.conf->submit.rate, own = j->job.spec.rate;
    int rc = 1;

    if (own > 0 && (global <= 0 || own < global))
        rc = grant(j, j->own_rate_key, own, &j->have_own, until, why, whylen);
    if (rc == 1)
        rc = grant(j, j->rate_key, global, &j->have_global, until, why, whylen);
    return rc;
}

/* The claim script's answer for the member at pos, v its variant. */
static redisReply *claim(struct pb_csend *j, const char *cid, int v, char *why, size_t whylen)
{
    char *ck = g_strconcat(j->env.conf->redis.prefix, PB_KEY_CONTACT, cid, NULL), lease[32];
    const char *keys[4] = { j->job_key, j->to_key, j->sup_key, ck };
    const char *args[5] = { j->env.runner, lease, cid, v >= 0 ? j->job.spec.var[v].letter : "-",
                            j->job.state };
    redisReply *r;

    snprintf(lease, sizeof(lease), "%lld", j->lease_ms);
    r = pb_csend_script(j->env.c, "claim", j->env.now_ms(), 4, keys, 5, args, why, whylen);
    g_free(ck);
    if (r != NULL && (r->type != REDIS_REPLY_ARRAY || r->elements < 1
                      || r->element[0]->type != REDIS_REPLY_STRING)) {
        snprintf(why, whylen, "Redis: unexpected reply to the campaign send claim");
        freeReplyObject(r);
        r = NULL;
    }
    return r;
}

/* Record the outcome of the member in flight: 0, or -1 (why). */
static int settle(struct pb_csend *j, const char *cid, int v, int test, const char *outcome,
                  char *why, size_t whylen)
{
    const char *keys[2] = { j->job_key, j->to_key };
    const char *args[5] = { j->env.runner, cid, v >= 0 ? j->job.spec.var[v].letter : "-",
                            outcome, test ? "1" : "0" };
    redisReply *r = pb_csend_script(j->env.c, "settle", j->env.now_ms(), 2, keys, 5, args, why,
                                    whylen);

    if (r == NULL)
        return -1;      /* the claim stays in flight: the next runner finds it uncertain */
    freeReplyObject(r);
    return 0;
}

static void note(struct pb_csend *j, enum pb_csend_event ev, const char *cid, const char *email,
                 const char *why)
{
    if (j->env.note)
        j->env.note(j->env.arg, ev, cid, email, why);
}

/* Render and submit to the claimed member; its outcome ("sent",
 * "failed" or "release" for a temporary failure) and the reason. */
static const char *deliver(struct pb_csend *j, int v, int test, const redisReply *hash,
                           const char **to, char *reason, size_t rlen)
{
    const struct pb_submit_conf *sc = &j->env.conf->submit;
    GString *msg = g_string_new(NULL);
    const char *out = "failed";

    if (pb_csend_plan_render(&j->plan, v, test, hash, j->env.now_ms(), msg, to, reason,
                             rlen) == 0) {
        const char *sender = sc->envelope_sender ? sc->envelope_sender
            : pb_tpl_from_address(pb_csend_plan_template(&j->plan, v));
        switch (pb_submit(sc, sender, *to, msg->str, msg->len, reason, rlen)) {
        case PB_SUBMIT_OK:
            out = "sent";
            break;
        case PB_SUBMIT_TEMPORARY:
            out = ++j->tries < j->env.conf->scorer.workflow_tries ? "release" : "failed";
            break;
        case PB_SUBMIT_PERMANENT:
            break;
        }
    }
    g_string_free(msg, TRUE);
    return out;
}

/* The claimed member: delivered and settled. */
static enum pb_csend_status claimed(struct pb_csend *j, const char *cid, int v, int test,
                                    const redisReply *hash, long long *until, char *why,
                                    size_t whylen)
{
    char reason[512] = "";
    const char *to = NULL, *out = deliver(j, v, test, hash, &to, reason, sizeof(reason));
    int retry = strcmp(out, "release") == 0;

    j->have_global = j->have_own = 0;
    if (settle(j, cid, v, test, out, why, whylen) != 0)
        return PB_CSEND_ERROR;
    if (retry) {
        int d = j->tries - 1 < BACKOFF_DOUBLINGS ? j->tries - 1 : BACKOFF_DOUBLINGS;
        *until = j->env.now_ms() + ((1000LL * j->env.conf->scorer.workflow_retry_s) << d);
        note(j, PB_CSEND_EV_RETRY, cid, to, reason);
        snprintf(why, whylen, "%s", reason);
        return PB_CSEND_WAIT;
    }
    if (out[0] == 's') {
        j->job.sent++;
        if (test && v >= 0)
            j->job.var_sent[v]++;
    } else
        j->job.failed++;
    note(j, out[0] == 's' ? PB_CSEND_EV_SENT : PB_CSEND_EV_FAILED, cid, to, reason);
    j->tries = 0;
    j->pos++;
    return PB_CSEND_MORE;
}

enum pb_csend_status pb_csend_item(struct pb_csend *j, long long *until, char *why,
                                   size_t whylen)
{
    const char *cid = j->page->pdata[j->pos];
    int test = strcmp(j->job.state, "testing") == 0;
    int v = test ? pb_csend_plan_variant(&j->plan, cid) : j->job.winner;
    enum pb_csend_status st = PB_CSEND_MORE;
    redisReply *r;
    int got = take_rate(j, until, why, whylen);

    if (got == 0)
        snprintf(why, whylen, "the send rate");
    if (got <= 0)
        return got == 0 ? PB_CSEND_WAIT : PB_CSEND_ERROR;
    if ((r = claim(j, cid, v, why, whylen)) == NULL)
        return PB_CSEND_ERROR;
    switch (r->element[0]->str[0]) {
    case 'c':
        if (r->elements > 1 && r->element[1]->type == REDIS_REPLY_ARRAY)
            st = claimed(j, cid, v, test, r->element[1], until, why, whylen);
        else {
            snprintf(why, whylen, "Redis: the campaign send claim returned no contact");
            st = PB_CSEND_ERROR;    /* the claim stays in flight: uncertain */
        }
        break;
    case 's': case 'n':
        j->job.suppressed++;
        note(j, PB_CSEND_EV_SUPPRESSED, cid, NULL, r->element[0]->str[0] == 's'
             ? "suppressed" : "no address");
        j->pos++;
        break;
    case 'x':
        j->pos++;       /* handled before (a page seen twice, another runner) */
        break;
    case 'l':
        j->held = 0;
        snprintf(why, whylen, "another runner took campaign send \"%s\" over", j->campaign);
        st = PB_CSEND_STOPPED;
        break;
    default:
        snprintf(why, whylen, "campaign send \"%s\" is %s now", j->campaign,
                 r->elements > 1 && r->element[1]->str ? r->element[1]->str : "changed");
        st = PB_CSEND_STOPPED;
        break;
    }
    freeReplyObject(r);
    return st;
}
