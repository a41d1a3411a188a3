/*
 * check_scorer.h - what the parts of the check_scorer program share:
 * check_scorer.c (fixture: a private redis-server, the configuration
 * file with its rules, a fake clock; event and Redis helpers; main),
 * check_scorer_rules.c (each rule kind, repeat policy, decay, floor and
 * cap, and refused rules), check_scorer_stream.c (the consumer group:
 * duplicates, restarts, claims, trimmed entries, two scorers),
 * check_scorer_segments.c (fit, grade, every segment kind, wake-ups,
 * reload), check_scorer_segconf.c (their configuration, refused
 * definitions), check_scorer_workflows.c (follow-up workflows, with
 * check_scorer_wf.c: their helpers), check_scorer_variants.c (A/B
 * variants, the send rate), check_scorer_webhook.c (webhook steps),
 * check_scorer_triggers.c (not_opened, opened and date triggers),
 * check_scorer_wfconf.c (their configuration), check_scorer_metrics.c
 * (the counters behind /metrics) and check_scorer_inert.c (entries that
 * are only acknowledged).
 */
#ifndef PB_CHECK_SCORER_H
#define PB_CHECK_SCORER_H

#include <check.h>
#include <hiredis/hiredis.h>
#include "conf.h"
#include "rules.h"
#include "scorer.h"

#define DAY_MS 86400000LL
#define T0 1800000000000LL      /* the tests' "now" at the start: 2027-01-15 */

extern char cdir[256];          /* per-test temp dir */
extern char csock[300];         /* its redis socket */
extern char cpath[300];         /* its postbeacon.conf */
extern long long fake_now;      /* what the scorer's clock says */
extern redisContext *cc;        /* the test's own connection */
extern struct pb_conf cconf;    /* loaded by load_scorer */
extern struct pb_rules crules;
extern const struct pb_keyring *cring;  /* the scorers' key file (scorer_open), NULL: none */

void scorer_setup(void);
void scorer_teardown(void);

/* Write postbeacon.conf with the scorer settings (text inside scorer
 * { }, may be "") and rules (the text inside rules = ( ... )), then load
 * configuration and rules (the test fails if either is refused). */
void load_scorer(const char *settings, const char *rules);
/* As load_scorer, with top-level sections top (e.g. "submit = { ... };")
 * before scorer; the workflows' templates loaded too. */
void load_scorer_with(const char *top, const char *settings, const char *rules);
/* The file written as load_scorer writes it, loaded by pb_rules_load
 * only: its message in err (0) or 0 rules loaded (-1 returned). */
int rules_error(const char *rules, char *err, size_t errlen);

/* The file written with these settings and rules, its rules loaded into
 * out (a reload; the test fails if refused; pb_rules_free it). */
void load_rules_into(const char *settings, const char *rules, struct pb_rules *out);
/* As rules_error, for settings (fit, grade, segments) with no rules. */
int settings_error(const char *settings, char *err, size_t errlen);
/* A scorer on the fixture's Redis, with the fake clock, connected. */
void scorer_open(struct pb_scorer *s, const char *consumer);
/* A scorer that processes everything pending (pb_scorer_drain) and
 * closes; its counters. */
struct pb_sc_stats drain_as(const char *consumer);

/* XADD pb:events * type T eid <n> ts ts msg M contact C campaign P
 * [url U] class K; the entry id (g_free it). A NULL field is left out. */
char *xadd(const char *type, const char *contact, const char *campaign, const char *msg,
           long long ts, const char *cls, const char *url);
/* XADD pb:events * type T eid <n> ts ts [contact C] then the name,
 * value pairs of kv (NULL-terminated); the entry id (g_free it). */
char *xadd_kv(const char *type, const char *contact, long long ts, const char *const *kv);
/* HGET pb:contact:<contact> field, or NULL (g_free it). */
char *contact_field(const char *contact, const char *field);
/* A human click / open of contact c in campaign "spring-sale". */
char *click(const char *contact, const char *msg, long long ts, const char *url);
char *open_ev(const char *contact, const char *msg, long long ts);

/* The contact's stored score and its reference time (0 / -1 when absent). */
double stored_score(const char *contact);
long long stored_at(const char *contact);
/* The score shown at fake_now (pb_score_at with the loaded half-life). */
double shown_score(const char *contact);
/* LLEN / LINDEX of the history; -1 / NULL when absent (g_free it). */
long long history_len(const char *contact);
char *history_at(const char *contact, long idx);
/* A fresh redis-server in place of the fixture's, with more arguments. */
void redis_restart_with(const char *const *extra);
/* Stop (SIGSTOP) or resume (SIGCONT) the fixture's redis-server. */
void redis_freeze(int frozen);
/* Entries pending in the scorer group (XPENDING summary count). */
long long pending_count(void);
/* ZSCORE key member as an integer (a sorted set's ms), -1 if absent. */
long long zscore(const char *key, const char *member);
/* Keys in Redis matching pattern. */
long long key_count(const char *pattern);

TCase *rules_tcase(void);       /* check_scorer_rules.c */
TCase *refused_tcase(void);     /* check_scorer_rules.c */
TCase *stream_tcase(void);      /* check_scorer_stream.c */
TCase *segments_tcase(void);    /* check_scorer_segments.c */
TCase *segment_conf_tcase(void);    /* check_scorer_segconf.c */
TCase *workflows_tcase(void);       /* check_scorer_workflows.c */
TCase *workflow_conf_tcase(void);   /* check_scorer_wfconf.c */
TCase *variants_tcase(void);        /* check_scorer_variants.c */
TCase *webhook_tcase(void);         /* check_scorer_webhook.c */
TCase *triggers_tcase(void);        /* check_scorer_triggers.c */
TCase *metrics_tcase(void);         /* check_scorer_metrics.c */
TCase *inert_tcase(void);           /* check_scorer_inert.c */

#endif
