/*
 * sends.c - the scorer runs the campaign sends that are due
 * (lib/campaign_send.h): those scheduled with `postbeacon send --at`,
 * and the remainder of an A/B test once its winner is due. Each step
 * sends one chunk (at most scorer.batch members or SEND_CHUNK_MS of
 * submitting) of the job in hand, then the step reads a batch of events
 * without waiting (stream.c), so a long campaign does not hold up
 * scoring. Due jobs are looked for in <p>sends at most every
 * SENDS_POLL_MS of the scorer's clock. docs/scorer.md ("Campaign sends").
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "campaign_send.h"
#include "scorer.h"
#include "time_text.h"

#define SEND_CHUNK_MS 100       /* submitting per step, before events get their turn */
#define SENDS_POLL_MS 1000      /* between looks at <p>sends when nothing was due */
#define SEND_ERROR_MS 60000     /* after a job failed to open or run (logged) */
#define ONCE_WAIT_MS 5000       /* --once waits for the rate this long at most */
#define SENDS_LOOK 16           /* due jobs looked at, the first that can run is taken */

_Static_assert(PB_CSEND_EV_UNCERTAIN + 1 == PB_SC_CAMPAIGN_OUTCOMES,
               "metrics.h counts every outcome of enum pb_csend_event");

static void note(void *arg, enum pb_csend_event ev, const char *contact, const char *email,
                 const char *why)
{
    struct pb_scorer *s = arg;

    if ((int)ev >= 0 && (int)ev < PB_SC_CAMPAIGN_OUTCOMES)     /* for /metrics */
        s->metrics.counts.campaign_mails[ev]++;
    if (ev == PB_CSEND_EV_FAILED || ev == PB_CSEND_EV_RETRY)
        pb_log_limited(&s->limit, 10, LOG_WARNING, "campaign %s to %s (%s): %s",
                       ev == PB_CSEND_EV_FAILED ? "mail failed" : "mail deferred",
                       email ? email : "?", contact, why);
    else if (ev == PB_CSEND_EV_UNCERTAIN)
        pb_log(LOG_WARNING, "campaign mail to %s (%s) was being submitted when its sender "
               "stopped: recorded as uncertain, not resent", email ? email : "?", contact);
}

static int open_one(struct pb_scorer *s, const char *campaign)
{
    struct pb_csend_env env = {
        .c = s->c, .conf = s->conf, .runner = s->send_runner, .now_ms = s->now_ms,
        .note = note, .arg = s,
    };
    enum pb_csend_status st;
    long long until;
    char why[512];

    s->send = pb_csend_open(&env, campaign, &st, &until, why, sizeof(why));
    if (s->send != NULL) {
        pb_log(LOG_INFO, "campaign %s: sending (%s)", campaign,
               pb_csend_job(s->send)->state);
        return 1;
    }
    if (st == PB_CSEND_ERROR) {
        pb_log_limited(&s->limit, 10, LOG_ERR, "campaign %s: %s", campaign, why);
        return -1;
    }
    if (st == PB_CSEND_WAIT || st == PB_CSEND_TESTED)
        pb_log(LOG_DEBUG, "campaign %s: %s", campaign, why);
    return 0;
}

/* Open the first due job that can run now: 1, 0 none, -1 Redis failed. */
static int open_due(struct pb_scorer *s)
{
    redisReply *r = redisCommand(s->c, "ZRANGEBYSCORE %s%s -inf %lld LIMIT 0 %d",
                                 s->conf->redis.prefix, PB_KEY_SENDS, s->now_ms(), SENDS_LOOK);
    int rc = 0, failed = 0;

    if (r == NULL || r->type != REDIS_REPLY_ARRAY)
        return pb_scorer_fail(s, r, "ZRANGEBYSCORE of the due campaign sends");
    if (s->send_runner == NULL)
        s->send_runner = g_strconcat("scorer ", s->consumer, NULL);
    for (size_t i = 0; rc == 0 && i < r->elements; i++)
        if (r->element[i]->type == REDIS_REPLY_STRING
            && (rc = open_one(s, r->element[i]->str)) < 0) {
            failed = 1;
            rc = 0;
        }
    freeReplyObject(r);
    if (rc == 0 && failed)
        s->sends_check_ms = s->now_ms() + SEND_ERROR_MS;
    return rc;
}

static void log_end(struct pb_scorer *s, enum pb_csend_status st, long long until,
                    const char *why)
{
    const struct pb_csend_job *j = pb_csend_job(s->send);
    char at[32];

    pb_time_text(until, at);
    if (st == PB_CSEND_TESTED)
        pb_log(LOG_INFO, "campaign %s: test share sent (%lld sent, %lld suppressed, %lld "
               "failed); the winner is decided at %s", pb_csend_campaign(s->send), j->sent, j->suppressed,
               j->failed, at);
    else if (st == PB_CSEND_DONE)
        pb_log(LOG_INFO, "campaign %s: done: %lld sent, %lld suppressed, %lld failed, %lld "
               "uncertain of %lld members%s%s", pb_csend_campaign(s->send), j->sent, j->suppressed, j->failed,
               j->uncertain, j->members, j->decision ? "; A/B: " : "",
               j->decision ? j->decision : "");
    else
        pb_log(st == PB_CSEND_ERROR ? LOG_ERR : LOG_NOTICE, "campaign %s: %s", pb_csend_campaign(s->send),
               why);
}

void pb_scorer_sends_close(struct pb_scorer *s)
{
    pb_csend_close(s->send);
    s->send = NULL;
}

int pb_scorer_sends(struct pb_scorer *s)
{
    enum pb_csend_status st;
    long long until, now = s->now_ms();
    long handled = 0;
    char why[512];

    if (s->c == NULL || now < s->sends_check_ms)
        return s->c == NULL ? -1 : 0;
    if (s->send == NULL) {
        int rc = open_due(s);
        if (rc <= 0) {
            if (rc == 0 && s->sends_check_ms <= now)
                s->sends_check_ms = now + SENDS_POLL_MS;
            return rc;
        }
    }
    st = pb_csend_run(s->send, s->conf->scorer.batch, SEND_CHUNK_MS, &until, &handled, why,
                      sizeof(why));
    if (st == PB_CSEND_WAIT)
        s->sends_check_ms = until;
    else if (st != PB_CSEND_MORE) {
        log_end(s, st, until, why);
        pb_scorer_sends_close(s);
        if (st == PB_CSEND_ERROR)
            s->sends_check_ms = now + SEND_ERROR_MS;
    }
    return handled > 0 ? (int)handled : st == PB_CSEND_MORE;
}

int pb_scorer_sends_wait(const struct pb_scorer *s)
{
    long long wait = s->sends_check_ms - s->now_ms();

    if (s->send == NULL || wait >= s->conf->scorer.block_ms)
        return 0;
    return wait < 1 ? 1 : (int)wait;
}

int pb_scorer_sends_once(struct pb_scorer *s)
{
    int n;

    s->sends_check_ms = 0;
    for (;;) {
        long long wait;
        if ((n = pb_scorer_sends(s)) < 0)
            return -1;
        wait = s->sends_check_ms - s->now_ms();
        if (n > 0 || (s->send != NULL && wait <= 0))
            continue;
        if (s->send == NULL || wait > ONCE_WAIT_MS)
            return 0;
        struct timespec ts = { wait / 1000, (long)(wait % 1000) * 1000000L };
        nanosleep(&ts, NULL);
    }
}
