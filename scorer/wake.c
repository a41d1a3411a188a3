/*
 * wake.c - timed changes without scans: the batch script keeps, per
 * contact, the next time its memberships or grade change without an
 * event (a decayed score crossing a threshold, dormancy, an interest or
 * activity window ending, a birthday, a date workflow's next occurrence)
 * in the sorted set <p>wake. Each
 * step the scorer reads the contacts due by its clock and has the batch
 * script evaluate them; the script checks again that each is still due,
 * so a wake-up handled by two scorers changes things once.
 * docs/scorer.md ("Timed changes").
 */
#include <string.h>
#include "events.h"
#include "scorer.h"

#define WAKE_POLL_MS 100        /* the scorer's clock between looks when nothing was due */

/* The due contacts' entries into a; their number. */
static size_t add_due(struct pb_scorer *s, const redisReply *r, struct pb_apply *a,
                      GString *kinds)
{
    long long now = s->now_ms();

    for (size_t i = 0; i < r->elements; i++) {
        const char *id = r->element[i]->type == REDIS_REPLY_STRING ? r->element[i]->str : "";
        struct pb_apply_entry e = {
            .kind = PB_APPLY_WAKE, .id = "", .contact = id, .ts = now, .eid = "", .type = "",
            .msg = "", .campaign = "",
        };
        if (!pb_scorer_contact_ok(id)) {
            pb_log_limited(&s->limit, 10, LOG_WARNING, "<p>wake holds \"%.80s\", not a contact "
                           "id: left there", id);
            continue;
        }
        pb_apply_add(a, &e);
        g_string_append_c(kinds, 'w');
    }
    return a->entries;
}

int pb_scorer_wakeups(struct pb_scorer *s)
{
    struct pb_apply a;
    GString *kinds;
    redisReply *r;
    long long now = s->now_ms();
    int n, rc;

    if (s->rules->segs.count == 0 && !s->rules->segs.has_grade && s->rules->segs.nfit == 0
        && pb_workflows_dates(&s->rules->wf) == 0)
        return 0;
    if (now < s->wake_check_ms)
        return 0;
    r = redisCommand(s->c, "ZRANGEBYSCORE %s%s -inf %lld LIMIT 0 %d", s->conf->redis.prefix,
                     PB_KEY_WAKE, now, s->conf->scorer.batch);
    if (r == NULL || r->type != REDIS_REPLY_ARRAY)
        return pb_scorer_fail(s, r, "ZRANGEBYSCORE of the wake-ups");
    if (r->elements < (size_t)s->conf->scorer.batch)
        s->wake_check_ms = now + WAKE_POLL_MS;     /* all due ones are in this batch */
    kinds = g_string_new(NULL);
    pb_apply_init(&a, s->conf->redis.prefix, s->stream, s->rules);
    n = (int)add_due(s, r, &a, kinds);
    freeReplyObject(r);
    if (n == 0) {
        g_string_free(kinds, TRUE);
        pb_apply_free(&a);
        return 0;
    }
    rc = pb_scorer_run_built(s, &a, kinds);
    pb_apply_free(&a);
    if (rc != 0) {
        pb_scorer_disconnect(s);
        return -1;
    }
    return n;
}
