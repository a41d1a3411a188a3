/*
 * reeval.c - after a reload that changed the fit rules, the grade or a
 * segment, every contact is evaluated again, in the background: one SCAN
 * of <p>contact:* per step (scorer.batch keys at a time), the contacts it
 * finds passed to the batch script as re-evaluation entries, between the
 * batches of events. Evaluating a contact twice changes nothing the
 * second time, so a pass cut short (a restart) needs no bookkeeping; it
 * starts again with the next reload. Progress goes to the log.
 */
#include <stdio.h>
#include <string.h>
#include <glib.h>
#include "events.h"
#include "scorer.h"

#define PROGRESS_MS 10000       /* a progress line at most this often (real time) */

static int configured(const struct pb_segdefs *d, const char *name)
{
    for (size_t i = 0; i < d->count; i++)
        if (strcmp(d->items[i].name, name) == 0)
            return 1;
    return 0;
}

/* The segments to drop: those of old that now does not have, and those a
 * pass cut short by this reload had still to drop (unless now has them
 * again). NULL-terminated. */
static char **removed(char **pending, const struct pb_segdefs *old, const struct pb_segdefs *now)
{
    GPtrArray *names = g_ptr_array_new();

    for (size_t i = 0; pending != NULL && pending[i]; i++)
        if (!configured(now, pending[i]))
            g_ptr_array_add(names, g_strdup(pending[i]));
    for (size_t i = 0; i < old->count; i++) {
        const char *name = old->items[i].name;
        int listed = pending != NULL && g_strv_contains((const char *const *)pending, name);
        if (!configured(now, name) && !listed)
            g_ptr_array_add(names, g_strdup(name));
    }
    g_ptr_array_add(names, NULL);
    return (char **)g_ptr_array_free(names, FALSE);
}

void pb_scorer_reeval_start(struct pb_scorer *s, const struct pb_segdefs *old)
{
    struct pb_sc_reeval *rv = &s->reeval;
    char **drop = removed(rv->drop, old, &s->rules->segs);

    g_strfreev(rv->drop);
    memset(rv, 0, sizeof(*rv));
    rv->drop = drop;
    rv->active = 1;
    snprintf(rv->cursor, sizeof(rv->cursor), "0");
    rv->started_ms = rv->logged_ms = pb_scorer_real_now_ms();
    pb_log(LOG_INFO, "fit rules, grade or segments changed: re-evaluating every contact in "
           "the background%s", drop[0] ? " (and deleting the sets of removed segments)" : "");
}

/* DEL <p>segment:<name> of each removed segment: 0, or -1 (logged). */
static int drop_removed(struct pb_scorer *s)
{
    char **drop = s->reeval.drop;

    for (size_t i = 0; drop != NULL && drop[i]; i++) {
        redisReply *r = redisCommand(s->c, "DEL %s%s%s", s->conf->redis.prefix, PB_KEY_SEGMENT,
                                     drop[i]);
        if (r == NULL || r->type != REDIS_REPLY_INTEGER)
            return pb_scorer_fail(s, r, "DEL of a removed segment's set");
        pb_log(LOG_INFO, "segment %s is no longer configured: its set deleted", drop[i]);
        freeReplyObject(r);
    }
    g_strfreev(drop);
    s->reeval.drop = NULL;
    return 0;
}

/* A key of the SCAN that is a contact hash: <p>contact:<id>, not one of
 * its :scores or :rules lists. The id, or NULL. */
static const char *contact_of(const struct pb_scorer *s, const redisReply *key)
{
    size_t plen = strlen(s->conf->redis.prefix) + strlen(PB_KEY_CONTACT);
    const char *id;

    if (key->type != REDIS_REPLY_STRING || key->len <= plen)
        return NULL;
    id = key->str + plen;
    return pb_scorer_contact_ok(id) ? id : NULL;
}

static int run_found(struct pb_scorer *s, const redisReply *keys)
{
    struct pb_apply a;
    GString *kinds = g_string_new(NULL);
    long long now = s->now_ms();
    int n, rc = 0;

    pb_apply_init(&a, s->conf->redis.prefix, s->stream, s->rules);
    for (size_t i = 0; i < keys->elements; i++) {
        const char *id = contact_of(s, keys->element[i]);
        struct pb_apply_entry e = {
            .kind = PB_APPLY_REEVAL, .id = "", .contact = id, .ts = now, .eid = "",
            .type = "", .msg = "", .campaign = "",
        };
        if (id == NULL)
            continue;
        pb_apply_add(&a, &e);
        g_string_append_c(kinds, 'r');
    }
    n = (int)a.entries;
    if (n > 0) {
        unsigned long long before = s->stats.changes;
        rc = pb_scorer_run_built(s, &a, kinds);
        s->reeval.changes += s->stats.changes - before;
    } else {
        g_string_free(kinds, TRUE);
    }
    pb_apply_free(&a);
    s->reeval.contacts += (unsigned long long)n;
    return rc != 0 ? -1 : n;
}

static void progress(struct pb_scorer *s, int finished)
{
    struct pb_sc_reeval *rv = &s->reeval;
    long long now = pb_scorer_real_now_ms();

    if (!finished && now - rv->logged_ms < PROGRESS_MS)
        return;
    rv->logged_ms = now;
    pb_log(LOG_INFO, "re-evaluation of segments %s: %llu contacts, %llu segment changes, "
           "%.1f s", finished ? "done" : "going on", rv->contacts, rv->changes,
           (double)(now - rv->started_ms) / 1000.0);
}

int pb_scorer_reeval_step(struct pb_scorer *s)
{
    struct pb_sc_reeval *rv = &s->reeval;
    redisReply *r;
    int n;

    if (!rv->active)
        return 0;
    if (drop_removed(s) != 0)
        return -1;
    r = redisCommand(s->c, "SCAN %s MATCH %s%s* COUNT %d", rv->cursor, s->conf->redis.prefix,
                     PB_KEY_CONTACT, s->conf->scorer.batch);
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2
        || r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_ARRAY)
        return pb_scorer_fail(s, r, "SCAN for the re-evaluation");
    snprintf(rv->cursor, sizeof(rv->cursor), "%s", r->element[0]->str);
    n = run_found(s, r->element[1]);
    freeReplyObject(r);
    if (n < 0) {
        pb_scorer_disconnect(s);
        return -1;
    }
    if (strcmp(rv->cursor, "0") == 0) {
        rv->active = 0;
        progress(s, 1);
    } else {
        progress(s, 0);
    }
    return n > 0 ? n : 1;       /* 1: a SCAN step that found only other keys still counts */
}
