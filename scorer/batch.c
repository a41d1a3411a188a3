/*
 * batch.c - one batch from stream entries to the script's answer: parse
 * each entry, match the rules, build the batch script's command
 * (apply.c), run it and count what it says it did. An entry is never
 * acknowledged anywhere else: the script does it with its effects.
 */
#include <string.h>
#include <glib.h>
#include "contact.h"
#include "scorer.h"

#define MATCH_MAX PB_APPLY_COUNT_MAX    /* rules (or interest segments) one event can match */
#define EMAIL_MAX 320
#define CONTACT_MAX 64          /* longest contact field taken as an id */

/* What an entry was, to count the script's answer for it. */
enum entry_kind {
    KIND_PLAIN = 'p', KIND_NO_CONTACT = 'n', KIND_TRIMMED = 't',
    KIND_WAKE = 'w', KIND_REEVAL = 'r'
};

/* A contact id goes into key names: 1..64 of 0-9 and a-z (the writers'
 * are 16 hex digits), so no field can name another contact's key. */
int pb_scorer_contact_ok(const char *contact)
{
    size_t n = strspn(contact, "0123456789abcdefghijklmnopqrstuvwxyz");

    return n > 0 && n <= CONTACT_MAX && contact[n] == '\0';
}

/* Whether the event counts for activity segments (dormant, active). */
static int human_activity(const struct pb_sc_event *ev)
{
    return (strcmp(ev->type, "open") == 0 || strcmp(ev->type, "click") == 0)
           && strcmp(ev->cls, "machine") != 0;
}

/* A profile or signup event: its attributes, the contact id from the
 * normalised address (email) when the event has none (into id), and for
 * a signup the address itself. An entry as the tracker and the importer
 * write it has only the contact id (its writer put the address and the
 * attributes into the contact hash in the same script as the entry):
 * fit and segments are then evaluated from the hash. 0, or -1 (logged)
 * if it cannot apply. */
static int profile_of(struct pb_scorer *s, struct pb_sc_event *ev, struct pb_apply_entry *e,
                      char email[EMAIL_MAX], char id[2 * PB_CONTACT_LEN + 1])
{
    uint8_t raw[PB_CONTACT_LEN];
    int signup = strcmp(ev->type, "signup") == 0;
    int has_email = pb_address_normalise(ev->email, email, EMAIL_MAX) > 0;
    const char *why = NULL;

    id[0] = '\0';
    if (has_email && s->ring != NULL) {
        pb_contact_id(s->ring, email, raw);
        pb_hex(raw, PB_CONTACT_LEN, id);
    }
    if (signup && !has_email && ev->contact[0] == '\0')
        why = "a signup without an address or contact";
    else if (ev->contact[0] == '\0' && id[0] == '\0')
        why = has_email ? "no contact id, and no contact key (keys.file) to compute it"
                        : "neither contact nor email";
    else if (ev->contact[0] != '\0' && id[0] != '\0' && strcmp(ev->contact, id) != 0)
        why = "the contact id is not that of its address";
    if (why != NULL) {
        pb_log_limited(&s->limit, 10, LOG_WARNING, "entry %s (%s): %s: acknowledged, nothing "
                       "changed", ev->id, ev->type, why);
        return -1;
    }
    if (ev->contact[0] == '\0')
        ev->contact = id;
    e->attrs = ev->attrs;
    e->nattrs = ev->nattrs;
    /* an import's new contacts start the signup workflows (welcome) only
     * when imported with --welcome (docs/redis-schema.md) */
    if (signup && (strcmp(ev->source, "import") != 0 || strcmp(ev->welcome, "1") == 0))
        e->kind = PB_APPLY_SIGNUP;
    if (signup && has_email) {
        ev->attrs[2 * ev->nattrs] = "email";
        ev->attrs[2 * ev->nattrs + 1] = email;
        e->nattrs++;
    }
    return 0;
}

static void add_event(struct pb_scorer *s, struct pb_apply *a, struct pb_sc_event *ev,
                      struct pb_sc_batch *b)
{
    const struct pb_rule *matched[MATCH_MAX];
    int interest[MATCH_MAX], wf[MATCH_MAX], wf_open[MATCH_MAX];
    char email[EMAIL_MAX], id[2 * PB_CONTACT_LEN + 1];
    unsigned char label;
    struct pb_apply_entry e = {
        .kind = PB_APPLY_EVENT, .id = ev->id, .ts = ev->ts, .eid = ev->eid, .type = ev->type,
        .msg = ev->msg, .campaign = ev->campaign, .rules = matched, .interest = interest,
        .wf = wf, .wf_open = wf_open,
    };

    if (pb_sc_event_has_attrs(ev) && profile_of(s, ev, &e, email, id) != 0)
        ev->contact = "";
    e.contact = ev->contact;
    e.human = s->rules->segs.count > 0 && human_activity(ev);
    e.nrules = pb_rules_match(s->rules, ev, matched, MATCH_MAX);
    e.ninterest = pb_segdefs_interest(&s->rules->segs, ev, interest, MATCH_MAX);
    e.nwf = pb_workflows_match(&s->rules->wf, ev, wf, MATCH_MAX);
    e.nwf_open = pb_workflows_opened(&s->rules->wf, ev, wf_open, MATCH_MAX);
    e.ack_only = pb_sc_entry_inert(s->rules, ev, &e);
    pb_apply_add(a, &e);
    g_string_append_c(b->kinds, ev->contact[0] ? KIND_PLAIN : KIND_NO_CONTACT);
    label = pb_sc_metrics_label(&s->metrics, ev->type, ev->cls);
    g_byte_array_append(b->labels, &label, 1);
}

static void add_entry(struct pb_scorer *s, struct pb_apply *a, const redisReply *entry,
                      long long now, struct pb_sc_batch *b)
{
    static const unsigned char none = PB_SC_NO_LABEL;
    struct pb_sc_event ev;

    if (pb_sc_event_parse(entry, &ev) != 0) {
        pb_log_limited(&s->limit, 10, LOG_WARNING, "an entry of %s is not [id, fields]: "
                       "left pending", s->stream);
        return;
    }
    if (ev.trimmed) {
        struct pb_apply_entry e = { .kind = PB_APPLY_EVENT, .id = ev.id, .contact = "",
                                    .eid = "", .type = "", .msg = "", .campaign = "" };
        pb_apply_add(a, &e);
        g_string_append_c(b->kinds, KIND_TRIMMED);
        g_byte_array_append(b->labels, &none, 1);
        return;
    }
    if (ev.ts > now)
        ev.ts = now;            /* a writer's clock ahead of ours: not in the future */
    if (ev.contact[0] != '\0' && !pb_scorer_contact_ok(ev.contact)) {
        pb_log_limited(&s->limit, 10, LOG_WARNING, "entry %s: contact \"%.80s\" is not an id: "
                       "scored as without contact", ev.id, ev.contact);
        ev.contact = "";
    }
    add_event(s, a, &ev, b);
}

/* Redis lost the script (restart, fail-over, SCRIPT FLUSH): load it and
 * run the batch once more. */
static redisReply *run_again(struct pb_scorer *s, const struct pb_sc_batch *b)
{
    redisReply *r = redisCommand(s->c, "SCRIPT LOAD %s", s->script);

    if (r == NULL || r->type == REDIS_REPLY_ERROR)
        return r;
    freeReplyObject(r);
    return redisCommandArgv(s->c, b->argc, (const char **)b->argv, NULL);
}

/* labels: each stream entry's counter (NULL for wake-ups and re-evaluations). */
static void count_answer(struct pb_scorer *s, const char *answer, const char *kinds,
                         const GByteArray *labels, const char *refusal)
{
    size_t n = strlen(kinds);

    for (size_t i = 0; i < n && answer[i]; i++) {
        if (kinds[i] == KIND_WAKE || kinds[i] == KIND_REEVAL) {
            s->stats.wakes += kinds[i] == KIND_WAKE && answer[i] != '0';
            s->stats.reevaluated += kinds[i] == KIND_REEVAL;
            s->stats.refused += answer[i] == 'E';
            continue;
        }
        if (answer[i] == '0') {
            s->stats.duplicates++;
            continue;
        }
        s->stats.done++;
        if (labels != NULL && i < labels->len)
            pb_sc_metrics_event(&s->metrics, labels->data[i]);
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
static int take_reply(struct pb_scorer *s, redisReply *r, const struct pb_sc_batch *b)
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
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 4
        || r->element[0]->type != REDIS_REPLY_STRING
        || r->element[1]->type != REDIS_REPLY_STRING) {
        pb_log_limited(&s->limit, 10, LOG_ERR, "unexpected answer of the batch script");
        return -1;
    }
    count_answer(s, r->element[0]->str, b->kinds->str, b->labels, r->element[1]->str);
    s->stats.changes += pb_sc_metrics_segments(&s->metrics, r->element[2]);
    pb_sc_metrics_followups(&s->metrics, r->element[3]);
    s->stats.batches++;
    return 0;
}

void pb_sc_batch_free(struct pb_sc_batch *b)
{
    g_strfreev(b->argv);
    if (b->kinds != NULL)
        g_string_free(b->kinds, TRUE);
    if (b->labels != NULL)
        g_byte_array_free(b->labels, TRUE);
    memset(b, 0, sizeof(*b));
}

int pb_scorer_prepare(struct pb_scorer *s, const redisReply *entries, struct pb_sc_batch *b)
{
    struct pb_apply a;
    long long now = s->now_ms();

    memset(b, 0, sizeof(*b));
    b->kinds = g_string_new(NULL);
    b->labels = g_byte_array_new();
    pb_apply_init(&a, s->conf->redis.prefix, s->stream, s->rules);
    for (size_t i = 0; entries != NULL && i < entries->elements; i++)
        add_entry(s, &a, entries->element[i], now, b);
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
    rc = take_reply(s, r, b);
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

int pb_scorer_run_built(struct pb_scorer *s, struct pb_apply *a, GString *kinds)
{
    struct pb_sc_batch b = { 0 };

    b.kinds = kinds;
    b.entries = a->entries;
    b.argv = pb_apply_command(a, s->sha, s->conf->scorer.consumer_group, s->now_ms(), &s->set,
                              &b.argc);
    return pb_scorer_answer(s, &b, redisCommandArgv(s->c, b.argc, (const char **)b.argv, NULL));
}
