/*
 * campaign_send_run.c - running a campaign send (campaign_send.h): take
 * the job's lease (one runner at a time; a claim the last runner left in
 * flight becomes uncertain; a due job starts; a due winner is decided),
 * send page after page of the segment's members (campaign_send_page.c,
 * campaign_send_item.c) until the chunk's budget is used or the job must
 * wait, end a phase (the test share out: waiting for the winner; every
 * member handled: done), and give the lease back.
 */
#include <stdio.h>
#include <string.h>
#include "campaign_send_int.h"
#include "events.h"
#include "time_text.h"

static const char *const *job_keys(struct pb_csend *j)
{
    static const char *k[3];

    k[0] = j->job_key;
    k[1] = j->to_key;
    k[2] = j->seg_key;
    return k;
}

static struct pb_csend *new_job(const struct pb_csend_env *env, const char *campaign)
{
    struct pb_csend *j = g_new0(struct pb_csend, 1);
    const char *p = env->conf->redis.prefix;
    long long idle = env->conf->scorer.claim_idle_ms, submit = 2000LL * env->conf->submit.timeout;

    j->env = *env;
    j->campaign = g_strdup(campaign);
    j->job_key = pb_csend_key(p, PB_KEY_SEND, campaign);
    j->to_key = g_strconcat(j->job_key, ":to", NULL);
    j->sup_key = pb_csend_key(p, PB_KEY_SUPPRESSED, NULL);
    j->sends_key = pb_csend_key(p, PB_KEY_SENDS, NULL);
    j->rate_key = pb_csend_key(p, PB_KEY_SEND_RATE, NULL);
    j->own_rate_key = g_strconcat(j->rate_key, ":", campaign, NULL);
    j->page = g_ptr_array_new_with_free_func(g_free);
    j->lease_ms = idle > submit ? idle : submit;
    j->job.winner = -1;
    return j;
}

static void free_job(struct pb_csend *j)
{
    if (j->plan_loaded)
        pb_csend_plan_free(&j->plan);
    pb_csend_job_free(&j->job);
    g_ptr_array_free(j->page, TRUE);
    g_free(j->campaign);
    g_free(j->job_key);
    g_free(j->to_key);
    g_free(j->seg_key);
    g_free(j->sup_key);
    g_free(j->sends_key);
    g_free(j->rate_key);
    g_free(j->own_rate_key);
    g_free(j);
}

/* ---- the lease ------------------------------------------------------------- */

static redisReply *acquire(struct pb_csend *j, const char *replace, char *why, size_t whylen)
{
    char lease[32];
    const char *args[3] = { j->env.runner, lease, replace };

    snprintf(lease, sizeof(lease), "%lld", j->lease_ms);
    return pb_csend_script(j->env.c, "acquire", j->env.now_ms(), 3, job_keys(j), 3, args, why,
                           whylen);
}

static void note_uncertain(struct pb_csend *j, const char *cid)
{
    redisReply *r;

    if (j->env.note == NULL || cid[0] == '\0')
        return;
    r = redisCommand(j->env.c, "HGET %s%s%s email", j->env.conf->redis.prefix, PB_KEY_CONTACT, cid);
    j->env.note(j->env.arg, PB_CSEND_EV_UNCERTAIN, cid,
                r && r->type == REDIS_REPLY_STRING ? r->str : NULL,
                "claimed by a runner that stopped while submitting: not resent");
    if (r != NULL)
        freeReplyObject(r);
}

/* What acquire answered, when it did not give us the job. */
static enum pb_csend_status refused(struct pb_csend *j, const redisReply *r, long long *until,
                                    char *why, size_t whylen)
{
    const char *what = r->element[0]->str;
    const char *a1 = r->elements > 1 && r->element[1]->str ? r->element[1]->str : "";
    const char *a2 = r->elements > 2 && r->element[2]->str ? r->element[2]->str : "";
    int busy = strcmp(what, "busy") == 0;
    char at[32];

    *until = g_ascii_strtoll(busy ? a2 : a1, NULL, 10);
    pb_time_text(*until, at);
    if (!busy && a2[0])
        note_uncertain(j, a2);
    if (strcmp(what, "none") == 0) {
        snprintf(why, whylen, "no campaign send \"%s\"", j->campaign);
        return PB_CSEND_ERROR;
    }
    if (strcmp(what, "done") == 0 || strcmp(what, "cancelled") == 0) {
        snprintf(why, whylen, "campaign send \"%s\" is %s", j->campaign, what);
        return what[0] == 'd' ? PB_CSEND_DONE : PB_CSEND_STOPPED;
    }
    if (busy)
        snprintf(why, whylen, "campaign send \"%s\" is being sent by %s (its lease ends at %s)",
                 j->campaign, a1, at);
    else if (strcmp(what, "early") == 0)
        snprintf(why, whylen, "campaign send \"%s\" is scheduled for %s", j->campaign, at);
    else {
        snprintf(why, whylen, "campaign send \"%s\": the test share is out; the winner is "
                 "decided at %s", j->campaign, at);
        return PB_CSEND_TESTED;
    }
    return PB_CSEND_WAIT;
}

/* Take the lease: 1 taken, 0 refused (*st), -1 Redis failed. */
static int take(struct pb_csend *j, enum pb_csend_status *st, long long *until, char *why,
                size_t whylen)
{
    redisReply *r = acquire(j, "", why, whylen);
    int rc = -1;

    if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements >= 1
        && strcmp(r->element[0]->str, "busy") == 0 && r->elements >= 2
        && pb_csend_runner_dead(r->element[1]->str)) {
        char *dead = g_strdup(r->element[1]->str);
        freeReplyObject(r);
        r = acquire(j, dead, why, whylen);
        g_free(dead);
    }
    if (r == NULL)
        return -1;
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 || r->element[0]->str == NULL)
        snprintf(why, whylen, "Redis: unexpected reply to the campaign send acquire");
    else if (strcmp(r->element[0]->str, "ok") != 0) {
        *st = refused(j, r, until, why, whylen);
        rc = 0;
    } else {
        j->held = 1;
        if (r->elements > 2 && r->element[2]->str)
            note_uncertain(j, r->element[2]->str);
        rc = 1;
    }
    freeReplyObject(r);
    return rc;
}

static void release(struct pb_csend *j)
{
    const char *args[1] = { j->env.runner };
    char why[256];
    redisReply *r;

    if (!j->held)
        return;
    j->held = 0;
    r = pb_csend_script(j->env.c, "release", j->env.now_ms(), 1, job_keys(j), 1, args, why,
                        sizeof(why));
    if (r != NULL)
        freeReplyObject(r);
}

/* ---- opening ----------------------------------------------------------------- */

static int reread(struct pb_csend *j, char *why, size_t whylen)
{
    struct pb_csend_job fresh;
    int rc = pb_csend_job_read(j->env.c, j->env.conf->redis.prefix, j->campaign, &fresh, why,
                               whylen);

    if (rc == 0)
        snprintf(why, whylen, "campaign send \"%s\" disappeared", j->campaign);
    if (rc != 1)
        return -1;
    pb_csend_job_free(&j->job);
    j->job = fresh;
    return 0;
}

/* A waiting job whose winner is due: decide and start the remainder. */
static enum pb_csend_status decide(struct pb_csend *j, char *why, size_t whylen)
{
    GString *line = g_string_new(NULL);
    int w = pb_csend_decide(j->env.c, j->env.conf->redis.prefix, j->campaign, &j->job, line,
                            why, whylen);
    const char *args[3] = { j->env.runner, NULL, line->str };
    redisReply *r = NULL;
    enum pb_csend_status st = PB_CSEND_ERROR;

    if (w >= 0) {
        args[1] = j->job.spec.var[w].letter;
        r = pb_csend_script(j->env.c, "decide", j->env.now_ms(), 1, job_keys(j), 3, args, why,
                            whylen);
    }
    if (r != NULL && pb_csend_reply_ll(r) == 1)
        st = reread(j, why, whylen) == 0 ? PB_CSEND_MORE : PB_CSEND_ERROR;
    else if (r != NULL) {
        snprintf(why, whylen, "campaign send \"%s\" changed while its winner was decided",
                 j->campaign);
        st = PB_CSEND_STOPPED;
    }
    if (r != NULL)
        freeReplyObject(r);
    g_string_free(line, TRUE);
    return st;
}

/* The job read, its templates loaded, the winner decided when due. */
static enum pb_csend_status prepare(struct pb_csend *j, char *why, size_t whylen)
{
    char err[1024];

    if (reread(j, why, whylen) != 0)
        return PB_CSEND_ERROR;
    j->seg_key = pb_csend_key(j->env.conf->redis.prefix, PB_KEY_SEGMENT, j->job.spec.segment);
    if (pb_csend_plan_load(&j->plan, j->env.conf, j->campaign, &j->job.spec, err,
                           sizeof(err)) != 0) {
        snprintf(why, whylen, "%s", err);
        return PB_CSEND_ERROR;
    }
    j->plan_loaded = 1;
    if (strcmp(j->job.state, "waiting") == 0)
        return decide(j, why, whylen);
    return PB_CSEND_MORE;
}

struct pb_csend *pb_csend_open(const struct pb_csend_env *env, const char *campaign,
                               enum pb_csend_status *st, long long *until, char *why,
                               size_t whylen)
{
    struct pb_csend *j = new_job(env, campaign);
    struct pb_csend_job peek;
    int rc;

    *st = PB_CSEND_ERROR;
    *until = env->now_ms();
    /* the segment's key is needed to count the members when the job starts */
    rc = pb_csend_job_read(env->c, env->conf->redis.prefix, campaign, &peek, why, whylen);
    if (rc == 0)
        snprintf(why, whylen, "no campaign send \"%s\"", campaign);
    if (rc == 1) {
        j->seg_key = pb_csend_key(env->conf->redis.prefix, PB_KEY_SEGMENT, peek.spec.segment);
        pb_csend_job_free(&peek);
        rc = take(j, st, until, why, whylen);
    }
    if (rc == 1) {
        g_free(j->seg_key);
        j->seg_key = NULL;
        if ((*st = prepare(j, why, whylen)) == PB_CSEND_MORE) {
            pb_csend_scan_reset(j, j->job.cursor);
            return j;
        }
    }
    release(j);
    free_job(j);
    return NULL;
}

/* ---- running ------------------------------------------------------------------- */

static enum pb_csend_status end_phase(struct pb_csend *j, long long *until, char *why,
                                      size_t whylen)
{
    int testing = strcmp(j->job.state, "testing") == 0;
    const char *args[2] = { j->env.runner, j->campaign };
    const char *keys[2] = { j->job_key, j->sends_key };
    redisReply *r = pb_csend_script(j->env.c, testing ? "tested" : "done", j->env.now_ms(), 2,
                                    keys, 2, args, why, whylen);
    long long v = pb_csend_reply_ll(r);

    if (r == NULL)
        return PB_CSEND_ERROR;
    freeReplyObject(r);
    if (v == 0) {
        snprintf(why, whylen, "campaign send \"%s\" was taken over or cancelled", j->campaign);
        j->held = 0;
        return PB_CSEND_STOPPED;
    }
    j->held = 0;
    *until = v;
    if (reread(j, why, whylen) != 0)
        return PB_CSEND_ERROR;
    return testing ? PB_CSEND_TESTED : PB_CSEND_DONE;
}

enum pb_csend_status pb_csend_run(struct pb_csend *j, long max, long budget_ms,
                                  long long *until, long *handled, char *why, size_t whylen)
{
    gint64 end = budget_ms > 0 ? g_get_monotonic_time() + (gint64)budget_ms * 1000 : 0;
    enum pb_csend_status st;

    *handled = 0;
    *until = j->env.now_ms();
    for (;;) {
        if (!j->held) {
            snprintf(why, whylen, "campaign send \"%s\" is not held by this runner", j->campaign);
            return PB_CSEND_STOPPED;
        }
        if (j->env.stop && *j->env.stop) {
            snprintf(why, whylen, "interrupted");
            return PB_CSEND_STOPPED;
        }
        if ((max > 0 && *handled >= max) || (end && g_get_monotonic_time() >= end))
            return PB_CSEND_MORE;
        if (!j->have_page || j->pos >= j->page->len) {
            int r = pb_csend_next_page(j, why, whylen);
            if (r < 0)
                return PB_CSEND_ERROR;
            if (r == 0)
                return end_phase(j, until, why, whylen);
            continue;
        }
        if ((st = pb_csend_item(j, until, why, whylen)) != PB_CSEND_MORE)
            return st;
        (*handled)++;
    }
}

const struct pb_csend_job *pb_csend_job(const struct pb_csend *j)
{
    return &j->job;
}

const char *pb_csend_campaign(const struct pb_csend *j)
{
    return j->campaign;
}

void pb_csend_close(struct pb_csend *j)
{
    if (j == NULL)
        return;
    release(j);
    free_job(j);
}
