/*
 * workflow_run.c - the workflow runner (workflow_run.h): each step the
 * scorer reads the follow-up steps due by its clock from <p>wf:due,
 * claims them (workflow_claim.c: conditions re-checked, moved to the
 * in-flight hash), defers those due in quiet hours or over the send rate
 * (workflow_quiet.c, workflow_rate.c), renders each other claimed send or
 * notify step's template (lib/template*; an A/B variant's template,
 * subject and campaign: workflow_variant.c), submits it (lib/submit) or
 * posts a webhook step (workflow_webhook.c) and settles the outcome:
 * sent, retried later after a temporary failure, or failed. Before
 * claiming, in-flight marks of this scorer (left by a process that died
 * while submitting) and stale ones of others are settled as uncertain,
 * never resent: the operator decides (docs/scorer.md, "Workflows").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "events.h"
#include "score.h"
#include "submit.h"
#include "template.h"
#include "workflow_run.h"

#define HISTORY_LINES 20        /* score history lines a notify step shows */
#define BACKOFF_DOUBLINGS 10    /* the retry delay doubles at most this often */
#define WF_POLL_MS 100          /* the scorer's clock between looks when little was due */
#define RETRY_AFTER_MAX_MS 86400000LL   /* a webhook receiver's Retry-After, at most a day */

/* 1 if an in-flight mark "<consumer> <ms>" of it was left by a dead
 * process: this scorer's own (nothing of ours is in flight between runs)
 * or another's older than a submission (or the step's webhook) can take. */
static int abandoned(const struct pb_scorer *s, const struct pb_wf_item *it, const char *owner,
                     long long now)
{
    const char *sp = strrchr(owner, ' ');
    long long at = sp ? g_ascii_strtoll(sp + 1, NULL, 10) : 0;
    long long idle = (long long)s->conf->scorer.claim_idle_ms;
    int timeout_s = s->conf->submit.timeout;
    long long submit;

    if (it->step != NULL && it->step->webhook != NULL && it->step->webhook->timeout_s > timeout_s)
        timeout_s = it->step->webhook->timeout_s;
    submit = 2000LL * timeout_s;

    if (sp != NULL && (size_t)(sp - owner) == strlen(s->consumer)
        && strncmp(owner, s->consumer, (size_t)(sp - owner)) == 0)
        return 1;
    return now - at >= (idle > submit ? idle : submit);
}

/* Settle abandoned in-flight marks as uncertain. 0, or -1 (Redis). */
static int recover(struct pb_scorer *s)
{
    redisReply *r = redisCommand(s->c, "HGETALL %s%s", s->conf->redis.prefix,
                                 PB_KEY_WF_INFLIGHT);
    GPtrArray *items;
    long long now = s->now_ms();
    int rc = 0;

    if (r == NULL || r->type != REDIS_REPLY_ARRAY)
        return pb_scorer_fail(s, r, "HGETALL of the workflows' in-flight steps");
    items = g_ptr_array_new_with_free_func((GDestroyNotify)pb_wf_item_free);
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        struct pb_wf_item *it = g_new0(struct pb_wf_item, 1);
        const char *owner = r->element[i + 1]->str;
        if (pb_wf_item_parse(it, r->element[i]->str, &s->rules->wf) != 0
            || !abandoned(s, it, owner, now)) {
            pb_wf_item_free(it);
            continue;
        }
        snprintf(it->owner, sizeof(it->owner), "%s", owner);
        snprintf(it->reason, sizeof(it->reason), "in flight at %s: the scorer stopped while "
                 "submitting; not resent", owner);
        it->status = "uncertain";
        pb_log(LOG_WARNING, "follow-up %s was being submitted by %s when it stopped: recorded "
               "as uncertain in %swf:uncertain, not resent", it->member, owner,
               s->conf->redis.prefix);
        g_ptr_array_add(items, it);
    }
    freeReplyObject(r);
    if (items->len > 0) {
        rc = pb_wf_settle(s, items);
        s->stats.wf_uncertain += rc == 0 ? items->len : 0;
    }
    g_ptr_array_free(items, TRUE);
    return rc;
}

redisReply *pb_wf_history(struct pb_scorer *s, const char *cid)
{
    redisReply *r = redisCommand(s->c, "LRANGE %s%s%s:scores 0 %d", s->conf->redis.prefix,
                                 PB_KEY_CONTACT, cid, HISTORY_LINES - 1);

    if (r != NULL && r->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

/* The score history for a notify step, one line each, newest first. */
static char *history(struct pb_scorer *s, const char *cid)
{
    redisReply *r = pb_wf_history(s, cid);
    GString *out = g_string_new(NULL);

    for (size_t i = 0; r != NULL && i < r->elements; i++)
        g_string_append_printf(out, "%s%s", i ? "\n" : "", r->element[i]->str);
    if (r != NULL)
        freeReplyObject(r);
    return g_string_free(out, FALSE);
}

/* The contact hash as template values. */
static struct pb_tpl_value *values(const struct pb_wf_item *it, size_t *n)
{
    struct pb_tpl_value *v = g_new0(struct pb_tpl_value, it->hash->len / 2 + 1);

    *n = it->hash->len / 2;
    for (size_t i = 0; i < *n; i++) {
        v[i].name = it->hash->pdata[2 * i];
        v[i].value = it->hash->pdata[2 * i + 1];
    }
    return v;
}

/* The template of the item: its variant's own, else the step's (NULL: not loaded). */
static const struct pb_template *item_template(const struct pb_wf_item *it)
{
    if (it->variant != NULL && it->variant->template_file != NULL)
        return it->variant->tpl;
    return it->step->tpl;
}

/* Render the item's template into msg; the recipient into *to. 0, or -1
 * (it->reason: a permanent failure). */
static int render(struct pb_scorer *s, struct pb_wf_item *it, GString *msg, const char **to)
{
    const struct pb_wf_step *st = it->step;
    const struct pb_wf_variant *var = it->variant;
    const struct pb_template *tpl = item_template(it);
    const char *score = pb_wf_item_field(it, "score"), *at = pb_wf_item_field(it, "score_at");
    char campaign[65], err[256], shown[32];
    char *hist = st->kind == PB_WF_NOTIFY ? history(s, it->cid) : g_strdup("");
    struct pb_tpl_info info;
    size_t nc;
    struct pb_tpl_value *cv = values(it, &nc);
    int rc = -1;

    snprintf(shown, sizeof(shown), "%.1f", pb_score_at(score ? g_ascii_strtod(score, NULL) : 0,
             at ? g_ascii_strtoll(at, NULL, 10) : s->now_ms(), s->now_ms(), s->set.half_life_ms));
    *to = st->kind == PB_WF_NOTIFY ? st->to : pb_wf_item_field(it, "email");
    {
        const struct pb_tpl_value extra[] = {
            { "score", shown }, { "grade", pb_wf_item_field(it, "grade") },
            { "segment", it->wf->segment_name }, { "history", hist },
        };
        struct pb_tpl_input in = { .to = *to, .contact = cv, .ncontact = nc, .extra = extra,
                                   .nextra = 4, .campaign = campaign, .date = s->now_ms() / 1000,
                                   .subject = var ? var->subject : NULL };
        if (*to == NULL || !**to)
            snprintf(it->reason, sizeof(it->reason), "the contact has no email address");
        else if (pb_tpl_campaign(it->wf->name, st->name, var ? var->name : NULL, campaign, err,
                                 sizeof(err)) != 0
                 || pb_tpl_render(tpl, &in, msg, &info, err, sizeof(err)) != 0)
            snprintf(it->reason, sizeof(it->reason), "%s: %s", pb_tpl_path(tpl), err);
        else
            rc = 0;
    }
    g_free(cv);
    g_free(hist);
    return rc;
}

/* A claimed date step before its exact local time, or a send step due in
 * the contact's quiet hours: deferred (a stale date step: skipped). */
static void quiet(struct pb_scorer *s, struct pb_wf_item *it)
{
    if (pb_wf_date_check(s, it) != 0)  /* workflow_date.c: not before its local time */
        return;
    if (it->step->kind == PB_WF_SEND
        && (it->retry_at = pb_wf_quiet_until(&s->conf->scorer, pb_wf_item_field(it, "timezone"),
                                             s->now_ms())) > 0) {
        it->status = "deferred";
        snprintf(it->reason, sizeof(it->reason), "quiet hours");
    }
}

/* Render and submit one claimed send or notify step as try number tries. */
static enum pb_submit_status submit_mail(struct pb_scorer *s, struct pb_wf_item *it, int tries)
{
    const struct pb_submit_conf *sc = &s->conf->submit;
    const struct pb_template *tpl = item_template(it);
    const char *to;
    char why[256];
    GString *msg = g_string_new(NULL);
    enum pb_submit_status st = PB_SUBMIT_PERMANENT;

    if (tpl == NULL)
        snprintf(it->reason, sizeof(it->reason), "template %s not loaded",
                 it->variant && it->variant->template_file ? it->variant->template_file
                                                           : it->step->template_file);
    else if (render(s, it, msg, &to) == 0) {
        const char *sender = sc->envelope_sender ? sc->envelope_sender
                                                 : pb_tpl_from_address(tpl);
        st = pb_submit(sc, sender, to, msg->str, msg->len, why, sizeof(why));
        snprintf(it->reason, sizeof(it->reason), "%s%s (try %d)", st == PB_SUBMIT_OK ? "to " : "",
                 st == PB_SUBMIT_OK ? to : why, tries);
    }
    g_string_free(msg, TRUE);
    return st;
}

/* Deliver one claimed send, notify or webhook step; its status set. */
static void deliver(struct pb_scorer *s, struct pb_wf_item *it)
{
    const char *tries_f;
    char key[200];
    enum pb_submit_status st;
    long long after_ms = 0;
    int tries;

    snprintf(key, sizeof(key), "wft:%s|%s", it->wfname, it->stepname);
    tries_f = pb_wf_item_field(it, key);
    tries = (tries_f ? atoi(tries_f) : 0) + 1;
    st = it->step->kind == PB_WF_WEBHOOK ? pb_wf_webhook_deliver(s, it, tries, &after_ms)
                                         : submit_mail(s, it, tries);
    if (st == PB_SUBMIT_OK) {
        it->status = "sent";
        s->stats.wf_sent++;
    } else if (st == PB_SUBMIT_TEMPORARY && tries < s->conf->scorer.workflow_tries) {
        it->status = "retry";
        it->retry_at = s->now_ms() + (after_ms > 0 ? MIN(after_ms, RETRY_AFTER_MAX_MS)
                                      : (1000LL * s->conf->scorer.workflow_retry_s)
                                      << (tries - 1 < BACKOFF_DOUBLINGS ? tries - 1
                                                                        : BACKOFF_DOUBLINGS));
        s->stats.wf_retried++;
    } else {
        it->status = "failed";
        s->stats.wf_failed++;
        pb_log(LOG_WARNING, "follow-up %s failed: %s", it->member, it->reason);
    }
}

/* The due members of <p>wf:due as items (at most one batch); NULL on a
 * Redis failure (logged). */
static GPtrArray *due_items(struct pb_scorer *s)
{
    redisReply *r = redisCommand(s->c, "ZRANGEBYSCORE %s%s -inf %lld LIMIT 0 %d",
                                 s->conf->redis.prefix, PB_KEY_WF_DUE, s->now_ms(),
                                 s->conf->scorer.batch);
    GPtrArray *items;

    if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
        pb_scorer_fail(s, r, "ZRANGEBYSCORE of the due follow-up steps");
        return NULL;
    }
    items = g_ptr_array_new_with_free_func((GDestroyNotify)pb_wf_item_free);
    for (size_t i = 0; i < r->elements; i++) {
        struct pb_wf_item *it = g_new0(struct pb_wf_item, 1);
        if (pb_wf_item_parse(it, r->element[i]->str, &s->rules->wf) != 0) {
            pb_log_limited(&s->limit, 10, LOG_WARNING, "%swf:due holds \"%.80s\", not a "
                           "contact|workflow|step: left there", s->conf->redis.prefix,
                           r->element[i]->str);
            pb_wf_item_free(it);
            continue;
        }
        g_ptr_array_add(items, it);
    }
    freeReplyObject(r);
    return items;
}

/* Keep only the claimed items (to settle); defer those due in quiet
 * hours or over the send rate. */
static void keep_claimed(struct pb_scorer *s, GPtrArray *items)
{
    for (unsigned i = items->len; i-- > 0;) {
        struct pb_wf_item *it = items->pdata[i];
        if (it->code == 'k')
            s->stats.wf_skipped++;
        if (it->code != 'c')
            g_ptr_array_remove_index(items, i);
        else
            quiet(s, it);
    }
    pb_wf_rate_gate(s, items);
}

/* Settle the deferred items now, before the others are submitted, so
 * their in-flight marks are not held while that takes. 0, or -1 (Redis). */
static int settle_deferred(struct pb_scorer *s, GPtrArray *items)
{
    GPtrArray *later = g_ptr_array_new_with_free_func((GDestroyNotify)pb_wf_item_free);
    int rc = 0;

    for (unsigned i = items->len; i-- > 0;)
        if (((struct pb_wf_item *)items->pdata[i])->status != NULL)
            g_ptr_array_add(later, g_ptr_array_steal_index(items, i));
    if (later->len > 0)
        rc = pb_wf_settle(s, later);
    g_ptr_array_free(later, TRUE);
    return rc;
}

/* Submit the claimed items (keep_claimed) not deferred. */
static void deliver_claimed(struct pb_scorer *s, GPtrArray *items)
{
    for (unsigned i = 0; i < items->len; i++)
        deliver(s, items->pdata[i]);
}

int pb_wf_run(struct pb_scorer *s)
{
    GPtrArray *items;
    char owner[160];
    int n, rc = 0;

    if (s->rules->wf.count == 0 || s->now_ms() < s->wf_check_ms)
        return 0;
    if (recover(s) != 0 || (items = due_items(s)) == NULL)
        return -1;
    n = (int)items->len;
    if (n < s->conf->scorer.batch)
        s->wf_check_ms = s->now_ms() + WF_POLL_MS;
    snprintf(owner, sizeof(owner), "%s %lld", s->consumer, s->now_ms());
    if (n > 0 && pb_wf_claim(s, items, owner) != 0)
        rc = -1;
    if (rc == 0 && n > 0) {
        keep_claimed(s, items);
        if (settle_deferred(s, items) != 0)
            rc = -1;    /* nothing submitted; the marks stay: uncertain at the next run */
    }
    if (rc == 0 && items->len > 0) {
        deliver_claimed(s, items);
        if (pb_wf_settle(s, items) != 0)
            rc = -1;    /* the marks stay: found as uncertain by the next run */
    }
    g_ptr_array_free(items, TRUE);
    return rc < 0 ? -1 : n;
}
