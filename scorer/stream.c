/*
 * stream.c - the scorer as a consumer of <p>events (scorer.h): the
 * connection, the consumer group, and where each batch comes from: its
 * own pending entries first (left by a stop or a crash), then other
 * consumers' entries idle for scorer.claim_idle_ms (XAUTOCLAIM: a dead
 * scorer's work, and the ids Redis 7 reports as trimmed while pending),
 * then new entries (ahead.c, pipelined). batch.c turns each into one
 * script run.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <glib.h>
#include "events.h"
#include "redis_conn.h"
#include "scorer.h"
#include "segment_lua.h"

long long pb_scorer_real_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *host_name(void)
{
    char name[256];

    if (gethostname(name, sizeof(name)) != 0 || name[0] == '\0')
        return g_strdup("scorer");
    name[sizeof(name) - 1] = '\0';
    return g_strdup(name);
}

/* Whether the fit rules, grade, segments or date workflows differ (their
 * Lua does): a change of the other workflows alone re-evaluates nothing;
 * a new date workflow needs every contact's next date scheduled. */
static int segments_changed(const struct pb_rules *old, const struct pb_rules *rules)
{
    GString *a = g_string_new(NULL), *b = g_string_new(NULL);
    char *old_dates = pb_wf_date_lua(&old->wf), *dates = pb_wf_date_lua(&rules->wf);
    int changed;

    pb_segment_lua(&old->segs, old_dates, a);
    pb_segment_lua(&rules->segs, dates, b);
    g_free(old_dates);
    g_free(dates);
    changed = !g_string_equal(a, b);
    g_string_free(a, TRUE);
    g_string_free(b, TRUE);
    return changed;
}

int pb_scorer_set_rules(struct pb_scorer *s, const struct pb_scorer_conf *sc,
                        const struct pb_rules *rules)
{
    char *script = pb_apply_script_new(rules);
    int changed = s->script != NULL && s->rules != NULL && segments_changed(s->rules, rules);
    const struct pb_rules *old = s->rules;

    s->rules = rules;
    pb_sc_metrics_configure(&s->metrics, rules);
    s->set.half_life_ms = (long long)sc->half_life_days * 86400000LL;
    s->set.floor = sc->score_floor;
    s->set.cap = sc->score_cap;
    s->set.history_ms = (long long)sc->history_days * 86400000LL;
    s->set.history_max = sc->history_max;
    s->set.segment_log_max = sc->segment_log_maxlen;
    g_free(s->script);
    s->script = script;
    pb_apply_sha(s->script, s->sha);
    s->wake_check_ms = 0;
    s->wf_check_ms = 0;
    /* only a change of what decides memberships re-evaluates */
    if (!changed)
        return 0;
    pb_scorer_reeval_start(s, &old->segs);
    return 1;
}

void pb_scorer_init(struct pb_scorer *s, const struct pb_conf *conf, const struct pb_rules *rules,
                    const char *consumer)
{
    memset(s, 0, sizeof(*s));
    s->conf = conf;
    pb_sc_metrics_init(&s->metrics);
    pb_scorer_set_rules(s, &conf->scorer, rules);
    if (consumer == NULL)
        consumer = conf->scorer.consumer;
    s->consumer = consumer ? g_strdup(consumer) : host_name();
    s->stream = g_strconcat(conf->redis.prefix, PB_KEY_EVENTS, NULL);
    s->now_ms = pb_scorer_real_now_ms;
    snprintf(s->claim_cursor, sizeof(s->claim_cursor), "0-0");
}

void pb_scorer_disconnect(struct pb_scorer *s)
{
    pb_scorer_drop_ahead(s);
    pb_scorer_sends_close(s);
    if (s->c != NULL)
        redisFree(s->c);
    s->c = NULL;
}

void pb_scorer_free(struct pb_scorer *s)
{
    pb_scorer_disconnect(s);
    g_free(s->consumer);
    g_free(s->send_runner);
    g_free(s->stream);
    g_free(s->script);
    g_strfreev(s->reeval.drop);
    pb_sc_metrics_free(&s->metrics);
    memset(s, 0, sizeof(*s));
}

/* A command whose only interesting answer is "not an error". */
static int simple(struct pb_scorer *s, redisReply *r, const char *ok_error, const char *what,
                  char *err, size_t errlen)
{
    int rc = 0;

    if (r == NULL) {
        snprintf(err, errlen, "%s: %s", what, s->c->errstr);
        return -1;
    }
    if (r->type == REDIS_REPLY_ERROR && (ok_error == NULL || strncmp(r->str, ok_error,
                                                                     strlen(ok_error)) != 0)) {
        snprintf(err, errlen, "%s: %s", what, r->str);
        rc = -1;
    }
    freeReplyObject(r);
    return rc;
}

int pb_scorer_connect(struct pb_scorer *s, char *err, size_t errlen)
{
    const struct pb_scorer_conf *sc = &s->conf->scorer;
    struct timeval tv;
    long long ms;

    pb_scorer_disconnect(s);
    s->c = pb_redis_connect(&s->conf->redis, err, errlen);
    if (s->c == NULL)
        return -1;
    /* a blocking read waits block_ms before Redis answers at all */
    ms = (long long)sc->block_ms + s->conf->redis.timeout_ms + 1000;
    tv.tv_sec = (time_t)(ms / 1000);
    tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
    redisSetTimeout(s->c, tv);
    if (simple(s, redisCommand(s->c, "SCRIPT LOAD %s", s->script), NULL,
               "SCRIPT LOAD", err, errlen) != 0
        || simple(s, redisCommand(s->c, "XGROUP CREATE %s %s 0 MKSTREAM", s->stream,
                                  sc->consumer_group), "BUSYGROUP", "XGROUP CREATE", err,
                  errlen) != 0) {
        pb_scorer_disconnect(s);
        return -1;
    }
    s->own_pending_done = 0;
    return 0;
}

int pb_scorer_fail(struct pb_scorer *s, redisReply *r, const char *what)
{
    if (r == NULL)
        pb_log_limited(&s->limit, 10, LOG_ERR, "%s: %s", what,
                       s->c && s->c->errstr[0] ? s->c->errstr : "no reply");
    else
        pb_log_limited(&s->limit, 10, LOG_ERR, "%s: %s", what,
                       r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    if (r != NULL)
        freeReplyObject(r);
    pb_scorer_disconnect(s);
    return -1;
}

/* Our own pending entries (read before a stop or a crash, not done):
 * XREADGROUP from id 0. */
static int read_own(struct pb_scorer *s)
{
    const struct pb_scorer_conf *sc = &s->conf->scorer;
    const redisReply *entries;
    redisReply *r;
    int n;

    r = redisCommand(s->c, "XREADGROUP GROUP %s %s COUNT %d STREAMS %s 0",
                     sc->consumer_group, s->consumer, sc->batch, s->stream);
    if (r == NULL || r->type == REDIS_REPLY_ERROR)
        return pb_scorer_fail(s, r, "XREADGROUP");
    entries = pb_scorer_read_entries(r);
    n = entries ? (int)entries->elements : 0;
    if (n > 0 && pb_scorer_batch(s, entries) != 0) {
        freeReplyObject(r);
        pb_scorer_disconnect(s);
        return -1;
    }
    freeReplyObject(r);
    return n;
}

/* One XAUTOCLAIM of others' idle entries; the cursor moves on, "0-0"
 * when the pending list has been gone through. */
static int claim_batch(struct pb_scorer *s)
{
    const struct pb_scorer_conf *sc = &s->conf->scorer;
    const redisReply *entries, *trimmed = NULL;
    redisReply *r;
    int n;

    r = redisCommand(s->c, "XAUTOCLAIM %s %s %s %d %s COUNT %d", s->stream, sc->consumer_group,
                     s->consumer, sc->claim_idle_ms, s->claim_cursor, sc->batch);
    if (r != NULL && r->type == REDIS_REPLY_ERROR && strstr(r->str, "unknown command") != NULL) {
        pb_log(LOG_WARNING, "Redis has no XAUTOCLAIM (before 6.2): entries of a consumer that "
               "died are not taken over; start it again under its name (-i)");
        s->no_autoclaim = 1;
        freeReplyObject(r);
        return 0;
    }
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements < 2
        || r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_ARRAY)
        return pb_scorer_fail(s, r, "XAUTOCLAIM");
    snprintf(s->claim_cursor, sizeof(s->claim_cursor), "%s", r->element[0]->str);
    entries = r->element[1];
    /* Redis 7: ids trimmed while pending, which XAUTOCLAIM has just taken
     * out of the pending list itself (so acknowledged: nothing to apply) */
    if (r->elements >= 3 && r->element[2]->type == REDIS_REPLY_ARRAY)
        trimmed = r->element[2];
    n = (int)entries->elements + (trimmed ? (int)trimmed->elements : 0);
    s->stats.claimed += entries->elements;
    if (trimmed != NULL) {
        s->stats.trimmed += trimmed->elements;
        s->stats.done += trimmed->elements;
    }
    if (entries->elements > 0 && pb_scorer_batch(s, entries) != 0) {
        freeReplyObject(r);
        pb_scorer_disconnect(s);
        return -1;
    }
    if (n > 0)
        pb_log(LOG_INFO, "claimed %zu idle entr%s of other consumers, %zu trimmed while pending",
               entries->elements, entries->elements == 1 ? "y" : "ies",
               trimmed ? trimmed->elements : 0);
    freeReplyObject(r);
    return n;
}

/* Go on with a look for idle entries, or start one when it is due. */
static int claim_due(struct pb_scorer *s)
{
    long long now = pb_scorer_real_now_ms();    /* Redis measures idle time in real time */

    if (s->no_autoclaim)
        return 0;
    if (strcmp(s->claim_cursor, "0-0") != 0)
        return 1;
    if (now < s->next_claim_ms)
        return 0;
    s->next_claim_ms = now + s->conf->scorer.claim_interval_ms;
    return 1;
}

int pb_scorer_step(struct pb_scorer *s, int block)
{
    int n;

    if (s->c == NULL)
        return -1;
    if (!s->own_pending_done) {
        n = read_own(s);
        if (n != 0)
            return n;
        s->own_pending_done = 1;
    }
    if (claim_due(s)) {
        n = claim_batch(s);
        if (n != 0)
            return n;
    }
    if ((n = pb_scorer_wakeups(s)) != 0)
        return n;
    if ((n = pb_wf_run(s)) != 0)
        return n;
    /* a chunk of a campaign send, then a batch of events without waiting */
    if ((n = pb_scorer_sends(s)) < 0)
        return -1;
    if (n > 0) {
        int m = pb_scorer_new_entries(s, 0);
        return m < 0 ? -1 : n + m;
    }
    /* a reload's re-evaluation goes on between the batches of events */
    if ((n = pb_scorer_reeval_step(s)) < 0)
        return -1;
    if (n > 0) {
        int m = pb_scorer_new_entries(s, 0);
        return m < 0 ? -1 : n + m;
    }
    s->block_cap_ms = pb_scorer_sends_wait(s);
    return pb_scorer_new_entries(s, block);
}

/* A field of one group in an XINFO GROUPS reply (RESP2: name, value, ...). */
static const redisReply *info_field(const redisReply *group, const char *name)
{
    for (size_t i = 0; i + 1 < group->elements; i += 2)
        if (group->element[i]->type == REDIS_REPLY_STRING
            && strcmp(group->element[i]->str, name) == 0)
            return group->element[i + 1];
    return NULL;
}

int pb_scorer_parse_group_info(const redisReply *r, const char *group, long long *pending,
                               long long *lag)
{
    int rc = -1;

    *pending = *lag = -1;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const redisReply *g = r->element[i], *name, *v;
        if (g->type != REDIS_REPLY_ARRAY || (name = info_field(g, "name")) == NULL
            || name->type != REDIS_REPLY_STRING || strcmp(name->str, group) != 0)
            continue;
        if ((v = info_field(g, "pending")) != NULL && v->type == REDIS_REPLY_INTEGER)
            *pending = v->integer;
        if ((v = info_field(g, "lag")) != NULL && v->type == REDIS_REPLY_INTEGER)
            *lag = v->integer;
        rc = 0;
    }
    return rc;
}

int pb_scorer_group_info(struct pb_scorer *s, long long *pending, long long *lag)
{
    redisReply *r;
    int rc;

    *pending = *lag = -1;
    if (s->c == NULL || (r = redisCommand(s->c, "XINFO GROUPS %s", s->stream)) == NULL)
        return -1;
    rc = pb_scorer_parse_group_info(r, s->conf->scorer.consumer_group, pending, lag);
    freeReplyObject(r);
    return rc;
}

int pb_scorer_drain(struct pb_scorer *s)
{
    int n;

    s->next_claim_ms = 0;       /* --once looks for idle entries once, right away */
    while ((n = pb_scorer_step(s, 0)) > 0)
        ;
    if (n < 0)
        return -1;
    /* step stops at the first empty source; go through the others too */
    while (strcmp(s->claim_cursor, "0-0") != 0 && (n = claim_batch(s)) >= 0)
        ;
    /* and the follow-ups due now, those the steps above queued included */
    while (n >= 0 && (s->wf_check_ms = 0, n = pb_wf_run(s)) > 0)
        ;
    /* and the campaign sends due now */
    if (n >= 0)
        n = pb_scorer_sends_once(s);
    return n < 0 ? -1 : 0;
}
