/*
 * check_store.h - what the parts of the check_store program share:
 * check_store.c (fixture, event and Redis helpers, main),
 * check_store_events.c (what each event writes), check_store_failure.c
 * (Redis down or slow, the journal, full disk), check_store_once.c
 * (batches written exactly once), check_store_crash.c (the process
 * killed after answering) and check_store_custom.c (custom events). The tracker's store runs
 * on an event loop that the tests drive.
 */
#ifndef PB_CHECK_STORE_H
#define PB_CHECK_STORE_H

#include <check.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>
#include "conf.h"
#include "events.h"
#include "store.h"

extern char sdir[256];          /* per-test temp dir */
extern char ssock[300];         /* redis socket in it */
extern char sjournal[300];      /* tracker journal in it */
extern int spid;                /* the test's redis-server, 0 when stopped */
extern struct event_base *sbase;

/* Checked fixture: dir, event base, redis-server on ssock. */
void store_setup(void);
void store_teardown(void);
void sredis_start(void);
void sredis_start_with(const char *const *extra);     /* more redis-server arguments */
void sredis_stop(void);

/* Start the store: redis on ssock, journal (NULL = none), queue_max,
 * timeout_ms; stream retention off unless set by tune (may be NULL). */
void store_start(const char *journal, int queue_max, int timeout_ms,
                 void (*tune)(struct pb_conf *conf));

/* Run the loop for ms milliseconds. */
void run_ms(int ms);
/* Run the loop until cond(stats) holds; fails the test after secs. */
void run_until(int (*cond)(const struct pb_store_stats *s), int secs, const char *what);
int is_up(const struct pb_store_stats *s);
int is_down(const struct pb_store_stats *s);
/* Up, nothing queued, nothing in the journal. */
int is_idle(const struct pb_store_stats *s);

/* A verified token as the HTTP side has it: message n, contact c (-1:
 * campaign-level), campaign "spring-sale"; url for clicks (link). */
void make_token(struct pb_token *tok, unsigned n, int c, unsigned link, const char *url);
/* Submit one event; returns how long submit took (microseconds). */
long submit(enum pb_ev_type type, const struct pb_token *tok, enum pb_ev_class cls,
            const char *ua, const char *reason);

/* A record (lib/events_tracker.c) of run, prefix "pb:", into out. */
void make_record(struct pb_track_run *run, enum pb_track_type type, const struct pb_token *tok,
                 const char *ua, GString *out);
/* Run batch b on c (EVAL, no retention): its per-event answers ('1'
 * written, '0' written before, 'E' refused); g_free them. */
char *sbatch(redisContext *c, const struct pb_track_batch *b);

/* Submit opens from..to-1 (message i % 50, contact i % 7) with User-Agent
 * "ev-<i>", then commit them (as one loop pass would); the longest submit
 * in microseconds. */
long submit_range(unsigned from, unsigned to);
/* The store's counters now. */
struct pb_store_stats stats_now(void);

/* Redis on ssock; a command whose error reply fails the test (integers:
 * tr_integer, check_redis.h). */
redisContext *sconnect(void);
redisReply *scmd(redisContext *c, const char *fmt, ...);
/* HGET key field: as a string (g_free it) or NULL when absent; as a
 * number, -1 when absent. */
char *shget_str(redisContext *c, const char *key, const char *field);
long long shget(redisContext *c, const char *key, const char *field);
/* XRANGE pb:events - + (fields: tu_stream_field) */
redisReply *sstream(redisContext *c);
/* The stream holds exactly uas[0..n) as its ua fields, in this order,
 * with n different event ids. */
void assert_stream_uas(redisContext *c, unsigned n, const char *ua_prefix);
/* The same in any order: each of ua_prefix0..n-1 exactly once. */
void assert_stream_uas_any_order(redisContext *c, unsigned n, const char *ua_prefix);

TCase *events_tcase(void);     /* check_store_events.c */
TCase *failure_tcase(void);    /* check_store_failure.c */
TCase *once_tcase(void);       /* check_store_once.c */
TCase *crash_tcase(void);      /* check_store_crash.c */
TCase *custom_tcase(void);     /* check_store_custom.c */

#endif
