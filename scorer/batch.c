/*
 * batch.c - one batch from stream entries to the script's answer: parse
 * each entry, match the rules, build the batch script's command
 * (apply.c), run it and count what it says it did. An entry is never
 * acknowledged anywhere else: the script does it with its effects.
 */
#include <string.h>
#include <glib.h>
#include "scorer.h"

#define MATCH_MAX 64            /* rules one event can match */
#define CONTACT_MAX 64          /* longest contact field taken as an id */

/* What an entry was, to count the script's answer for it. */
enum entry_kind { KIND_PLAIN = 'p', KIND_NO_CONTACT = 'n', KIND_TRIMMED = 't' };

/* A contact id goes into key names: 1..64 of 0-9 and a-z (the writers'
 * are 16 hex digits), so no field can name another contact's key. */
static int contact_ok(const char *contact)
{
    size_t n = strspn(contact, "0123456789abcdefghijklmnopqrstuvwxyz");

    return n > 0 && n <= CONTACT_MAX && contact[n] == '\0';
}

static void add_entry(struct pb_scorer *s, struct pb_apply *a, const redisReply *entry,
                      long long now, GString *kinds)
{
    struct pb_sc_event ev;
    const struct pb_rule *matched[MATCH_MAX];
    size_t n;

    if (pb_sc_event_parse(entry, &ev) != 0) {
        pb_log_limited(&s->limit, 10, LOG_WARNING, "an entry of %s is not [id, fields]: "
                       "left pending", s->stream);
        return;
    }
    if (ev.trimmed) {
        pb_apply_add(a, ev.id, "", 0, "", "", "", NULL, 0);
        g_string_append_c(kinds, KIND_TRIMMED);
        return;
    }
    if (ev.ts > now)
        ev.ts = now;            /* a writer's clock ahead of ours: not in the future */
    if (ev.contact[0] != '\0' && !contact_ok(ev.contact)) {
        pb_log_limited(&s->limit, 10, LOG_WARNING, "entry %s: contact \"%.80s\" is not an id: "
                       "scored as without contact", ev.id, ev.contact);
        ev.contact = "";
    }
    n = pb_rules_match(s->rules, &ev, matched, MATCH_MAX);
    pb_apply_add(a, ev.id, ev.contact, ev.ts, ev.eid, ev.msg, ev.campaign, matched, n);
    g_string_append_c(kinds, ev.contact[0] ? KIND_PLAIN : KIND_NO_CONTACT);
}

/* Redis lost the script (restart, fail-over, SCRIPT FLUSH): load it and
 * run the batch once more. */
static redisReply *run_again(struct pb_scorer *s, const struct pb_sc_batch *b)
{
    redisReply *r = redisCommand(s->c, "SCRIPT LOAD %s", pb_apply_script());

    if (r == NULL || r->type == REDIS_REPLY_ERROR)
        return r;
    freeReplyObject(r);
    return redisCommandArgv(s->c, b->argc, (const char **)b->argv, NULL);
}

static void count_answer(struct pb_scorer *s, const char *answer, const char *kinds,
                         const char *refusal)
{
    size_t n = strlen(kinds);

    for (size_t i = 0; i < n && answer[i]; i++) {
        if (answer[i] == '0') {
            s->stats.duplicates++;
            continue;
        }
        s->stats.done++;
        s->stats.scored += answer[i] == '2';
        s->stats.refused += answer[i] == 'E';
        s->stats.trimmed += kinds[i] == KIND_TRIMMED;
        s->stats.no_contact += kinds[i] == KIND_NO_CONTACT;
    }
    if (strchr(answer, 'E') != NULL)
        pb_log_limited(&s->limit, 10, LOG_ERR, "Redis refused a write of the scorer (entry "
                       "acknowledged, its effects incomplete): %s", refusal);
}

/* The reply of a run: 0 if counted, -1 (logged) if the batch did not run. */
static int take_reply(struct pb_scorer *s, redisReply *r, const char *kinds)
{
    if (r == NULL) {
        pb_log_limited(&s->limit, 10, LOG_ERR, "Redis: %s; the batch stays pending",
                       s->c->errstr[0] ? s->c->errstr : "no reply");
        return -1;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        pb_log_limited(&s->limit, 10, LOG_ERR, "Redis refused the batch (it stays pending and "
                       "is retried): %s", r->str);
        return -1;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2
        || r->element[0]->type != REDIS_REPLY_STRING
        || r->element[1]->type != REDIS_REPLY_STRING) {
        pb_log_limited(&s->limit, 10, LOG_ERR, "unexpected answer of the batch script");
        return -1;
    }
    count_answer(s, r->element[0]->str, kinds, r->element[1]->str);
    s->stats.batches++;
    return 0;
}

void pb_sc_batch_free(struct pb_sc_batch *b)
{
    g_strfreev(b->argv);
    if (b->kinds != NULL)
        g_string_free(b->kinds, TRUE);
    memset(b, 0, sizeof(*b));
}

int pb_scorer_prepare(struct pb_scorer *s, const redisReply *entries, struct pb_sc_batch *b)
{
    struct pb_apply a;
    long long now = s->now_ms();

    memset(b, 0, sizeof(*b));
    b->kinds = g_string_new(NULL);
    pb_apply_init(&a, s->conf->redis.prefix, s->stream);
    for (size_t i = 0; entries != NULL && i < entries->elements; i++)
        add_entry(s, &a, entries->element[i], now, b->kinds);
    b->entries = a.entries;
    if (a.entries > 0)
        b->argv = pb_apply_command(&a, s->sha, s->conf->scorer.consumer_group, now, &s->set,
                                   &b->argc);
    pb_apply_free(&a);
    if (b->entries == 0) {
        pb_sc_batch_free(b);
        return 0;
    }
    return 1;
}

int pb_scorer_answer(struct pb_scorer *s, struct pb_sc_batch *b, redisReply *r)
{
    int rc;

    if (r != NULL && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0) {
        freeReplyObject(r);
        r = run_again(s, b);
    }
    rc = take_reply(s, r, b->kinds->str);
    if (r != NULL)
        freeReplyObject(r);
    pb_sc_batch_free(b);
    return rc;
}

int pb_scorer_batch(struct pb_scorer *s, const redisReply *entries)
{
    struct pb_sc_batch b;

    if (pb_scorer_prepare(s, entries, &b) == 0)
        return 0;
    return pb_scorer_answer(s, &b, redisCommandArgv(s->c, b.argc, (const char **)b.argv, NULL));
}
