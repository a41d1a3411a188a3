/*
 * check_journal.h - what the three parts of the check_journal program
 * share: check_journal.c (journal, main), check_events.c (Redis commands,
 * and the private redis-server fixture and query helpers defined there)
 * and check_record.c (the milter's send recorder).
 */
#ifndef PB_CHECK_JOURNAL_H
#define PB_CHECK_JOURNAL_H

#include <check.h>
#include <hiredis/hiredis.h>
#include "events.h"
#include "journal.h"

extern char dir[256], jpath[300];   /* per-test temp dir, journal path in it */
extern char sock[300];              /* redis socket in dir */
extern int redis_pid;

/* Checked fixture: a fresh dir and jpath; teardown removes them. */
void journal_setup(void);
void journal_teardown(void);
struct pb_journal *jopen(enum pb_fsync_policy policy);
/* Checked fixture: journal_setup() and a redis-server on `sock`; the
 * teardown stops it (if running) and removes the directory. */
void redis_setup(void);
void redis_teardown(void);
/* Start one on `sock` = dir/redis.sock (the fixture's second half). */
void redis_start(void);

redisContext *rconnect(void);
redisReply *rcmd(redisContext *c, const char *fmt, ...);
long long rint_(redisContext *c, const char *fmt, const char *arg);
/* XRANGE pb:events - + ; entry_field() reads one field of an entry. */
redisReply *stream_all(redisContext *c);
const char *entry_field(const redisReply *entry, const char *name);

/* Send record number n (message id derived from n). */
void sample_record(struct pb_sent_record *rec, unsigned n, int with_contact);
void msg_hex(const struct pb_sent_record *rec, char out[17]);

TCase *events_tcase(void);   /* check_events.c */
TCase *record_tcase(void);   /* check_record.c */

#endif
