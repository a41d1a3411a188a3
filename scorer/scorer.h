/*
 * scorer.h - one scorer: a consumer in the group on <p>events that turns
 * entries into scores, one batch at a time (docs/scorer.md). main.c runs
 * it as a daemon; the tests drive it directly with their own clock.
 */
#ifndef PB_SCORER_H
#define PB_SCORER_H

#include <glib.h>
#include <hiredis/hiredis.h>
#include "apply.h"
#include "conf.h"
#include "log.h"
#include "metrics.h"
#include "rules.h"

struct pb_sc_stats {
    unsigned long long batches;     /* scripts run */
    unsigned long long done;        /* entries acknowledged by this scorer */
    unsigned long long scored;      /* ... of which changed a score */
    unsigned long long no_contact;  /* ... of which had no contact (campaign level) */
    unsigned long long trimmed;     /* ... of which were trimmed while pending */
    unsigned long long refused;     /* ... of which a write was refused (logged) */
    unsigned long long duplicates;  /* delivered again, acknowledged before: skipped */
    unsigned long long claimed;     /* taken over from another consumer */
    unsigned long long wakes;       /* due wake-ups evaluated */
    unsigned long long changes;     /* segment entries and exits (by segment: metrics) */
    unsigned long long reevaluated; /* contacts re-evaluated after a reload */
    unsigned long long wf_sent;     /* follow-ups submitted (workflow_run.c) */
    unsigned long long wf_skipped;  /* ... skipped when due (a condition failed) */
    unsigned long long wf_retried;  /* ... put back after a temporary failure */
    unsigned long long wf_failed;   /* ... failed for good */
    unsigned long long wf_uncertain;    /* ... found in flight after a stop: not resent */
    unsigned long long wf_rate_deferred;    /* ... put back: over the send rate (workflow_rate.c) */
};

/* A reload's re-evaluation of every contact (reeval.c). */
struct pb_sc_reeval {
    int active;
    char cursor[32];                /* SCAN position */
    unsigned long long contacts;    /* evaluated so far in this pass */
    unsigned long long changes;     /* segment changes they made */
    long long started_ms, logged_ms;
    char **drop;                    /* sets of segments no longer configured, to DEL (g_strfreev) */
};

/* One batch's script command, built and not yet answered. */
struct pb_sc_batch {
    char **argv;                    /* EVALSHA ... (g_strfreev) */
    int argc;
    GString *kinds;                 /* what each entry was, to count the answer */
    GByteArray *labels;             /* stream entries: each one's counter (metrics.h) */
    size_t entries;
};

struct pb_csend;

struct pb_scorer {
    const struct pb_conf *conf;     /* redis and scorer sections (not owned) */
    const struct pb_rules *rules;   /* not owned */
    struct pb_apply_settings set;
    const struct pb_keyring *ring;  /* the contact key, for signup events without an id; may be NULL */
    char *script;                   /* the batch script generated for the rules (g_free) */
    char *consumer;
    char *stream;                   /* <p>events */
    redisContext *c;                /* NULL while disconnected */
    char sha[41];                   /* of script */
    long long (*now_ms)(void);      /* the clock: real time unless a test sets one */
    int own_pending_done;           /* this connection has read its own pending entries */
    long long next_claim_ms;        /* when to look for others' idle entries */
    char claim_cursor[48];          /* XAUTOCLAIM position within one look */
    int no_autoclaim;               /* Redis before 6.2: no XAUTOCLAIM (logged once) */
    struct pb_sc_batch next;        /* ahead.c: built from entries read ahead, not sent */
    redisReply *ahead;              /* ahead.c: entries read ahead, not built */
    long long wake_check_ms;        /* when to look at <p>wake again (scorer's clock) */
    long long wf_check_ms;          /* when to look at <p>wf:due again (workflow_run.c) */
    long long wf_rate_slot_ms;      /* after the last time a step was deferred to for the send rate */
    struct pb_csend *send;          /* sends.c: the campaign send in hand, or NULL */
    char *send_runner;              /* sends.c: "scorer <consumer>", its lease's name */
    long long sends_check_ms;       /* sends.c: when to look at <p>sends / go on with it */
    int block_cap_ms;               /* a blocking read waits at most this long (0: block_ms) */
    struct pb_sc_reeval reeval;
    struct pb_sc_stats stats;
    struct pb_sc_metrics metrics;   /* counters by label, for /metrics */
    struct pb_log_limit limit;
};

/* consumer NULL: conf->scorer.consumer, else the host name. */
void pb_scorer_init(struct pb_scorer *s, const struct pb_conf *conf, const struct pb_rules *rules,
                    const char *consumer);
/* New rules and scoring settings (half-life, floor, cap, history) from
 * sc: a reload. The connection and its settings (redis, prefix, group,
 * batch, timing) stay those given to pb_scorer_init. When the fit rules,
 * grade or segments changed, every contact is re-evaluated in the
 * background (reeval.c); 1 if that was started, else 0. */
int pb_scorer_set_rules(struct pb_scorer *s, const struct pb_scorer_conf *sc,
                        const struct pb_rules *rules);
void pb_scorer_free(struct pb_scorer *s);

/* Connect, load the script, create the group if missing. 0 or -1 (why). */
int pb_scorer_connect(struct pb_scorer *s, char *err, size_t errlen);
void pb_scorer_disconnect(struct pb_scorer *s);

/* One batch: own pending entries first, then others' idle ones when a
 * look is due, then new ones (waiting up to block_ms if block). The
 * number of entries handled, 0 if there were none, -1 if Redis failed
 * (logged; the connection is dropped and the batch stays pending). */
int pb_scorer_step(struct pb_scorer *s, int block);

/* --once: everything pending now (own, others' idle ones, new), then
 * return. 0, or -1 if Redis failed. */
int pb_scorer_drain(struct pb_scorer *s);

/* Before a stop: run the batches read ahead and held (ahead.c). 0, or -1
 * if Redis failed (they stay pending for the next start). */
int pb_scorer_flush(struct pb_scorer *s);

/* The group's entries pending (all consumers) and its lag (entries not
 * yet read by any consumer; -1 if Redis cannot tell: before 7.0, or after
 * a trim it cannot see through). 0, or -1 if Redis did not answer. */
int pb_scorer_group_info(struct pb_scorer *s, long long *pending, long long *lag);
/* The same from an XINFO GROUPS reply r, for the group named group. */
int pb_scorer_parse_group_info(const redisReply *r, const char *group, long long *pending,
                               long long *lag);

/* ---- inside the scorer (stream.c, ahead.c, batch.c) ---------------------- */


/* Build the command for entries ([id, fields] each; a trimmed one has nil
 * fields): 1, or 0 if there is nothing to run (b left empty). */
int pb_scorer_prepare(struct pb_scorer *s, const redisReply *entries, struct pb_sc_batch *b);
/* Count Redis' reply r to b (takes r; NOSCRIPT: loads the script and runs
 * b again) and free b. 0, or -1 if the batch did not run (logged). */
int pb_scorer_answer(struct pb_scorer *s, struct pb_sc_batch *b, redisReply *r);
void pb_sc_batch_free(struct pb_sc_batch *b);
/* Both at once: 0, or -1 if Redis failed (logged). */
int pb_scorer_batch(struct pb_scorer *s, const redisReply *entries);

/* The entries of an XREADGROUP reply for our one stream; NULL if none. */
const redisReply *pb_scorer_read_entries(const redisReply *r);
/* One pipelined round of new entries (ahead.c): as pb_scorer_step. */
int pb_scorer_new_entries(struct pb_scorer *s, int block);
/* Forget the batches held (they stay pending in Redis). */
void pb_scorer_drop_ahead(struct pb_scorer *s);

long long pb_scorer_real_now_ms(void);

/* Due wake-ups (<p>wake up to now), at most one batch: their number, or
 * -1 if Redis failed (logged, connection dropped). wake.c */
int pb_scorer_wakeups(struct pb_scorer *s);
/* One batch of a reload's re-evaluation, if one is going on: the
 * contacts evaluated, 0 when none is, -1 if Redis failed. reeval.c */
int pb_scorer_reeval_step(struct pb_scorer *s);
/* Start a pass; the segments of old that rules no longer has are dropped. */
void pb_scorer_reeval_start(struct pb_scorer *s, const struct pb_segdefs *old);
/* A command that failed (r NULL, an error or not what was expected):
 * logged (what: the command), r freed, the connection dropped; -1. */
int pb_scorer_fail(struct pb_scorer *s, redisReply *r, const char *what);
/* An entry that cannot change anything for its contact (a machine event
 * no rule, segment or workflow counts): acknowledged only. inert.c */
int pb_sc_entry_inert(const struct pb_rules *rules, const struct pb_sc_event *ev,
                      const struct pb_apply_entry *e);
/* A contact id as it may appear in a key: 1..64 of 0-9, a-z. batch.c */
int pb_scorer_contact_ok(const char *contact);
/* Due follow-up steps of the workflows, at most one batch, looked for at
 * most every 100 ms of the scorer's clock unless a full batch was due:
 * abandoned
 * in-flight marks settled as uncertain first, then the due steps
 * claimed, submitted and settled. Their number, or -1 if Redis failed
 * (logged, connection dropped). workflow_run.c */
int pb_wf_run(struct pb_scorer *s);
/* One chunk of the campaign send in hand, or of the first one due in
 * <p>sends: the members handled (1 when a chunk found nothing to send
 * but more is to do), 0 when nothing is to do now, -1 if Redis failed
 * (logged, connection dropped). sends.c */
int pb_scorer_sends(struct pb_scorer *s);
/* --once: every due campaign send as far as it goes now (waiting for
 * the rate, not for a retry or a winner). 0, or -1 if Redis failed. */
int pb_scorer_sends_once(struct pb_scorer *s);
/* How long a blocking read may wait so the send in hand goes on in
 * time: ms, or 0 for block_ms. */
int pb_scorer_sends_wait(const struct pb_scorer *s);
/* Give the campaign send in hand back (a disconnect, a stop). */
void pb_scorer_sends_close(struct pb_scorer *s);
/* Run the entries built into a (wake-ups, re-evaluations): 0, or -1 if
 * Redis failed (logged). kinds: one character per entry. batch.c */
int pb_scorer_run_built(struct pb_scorer *s, struct pb_apply *a, GString *kinds);

#endif
