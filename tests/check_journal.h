/*
 * check_journal.h - what the three parts of the check_journal program
 * share: check_journal.c (journal, main), check_events.c (Redis commands,
 * and the private redis-server fixture and query helpers defined there)
 * and check_record.c (the milter's send recorder).
 */
#ifndef PB_CHECK_JOURNAL_H
#define PB_CHECK_JOURNAL_H

#include <check.h>
#include <sys/types.h>
#include <glib.h>
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

/* Record i: variable length, with newlines, NULs and frame-like text;
 * append_records() appends records from..to-1. */
GString *record_bytes(int i);
void append_records(struct pb_journal *j, int from, int to);
/* Collects records; fails (returns -1) at record number `fail_at`. */
struct collector {
    GPtrArray *got;             /* GString * */
    long fail_at;
    struct pb_journal *append_to;   /* append "extra" when "trigger" is seen */
};
void collector_init(struct collector *c, long fail_at);
int collect(void *arg, const char *rec, size_t len);     /* a replay callback */
/* The collected records are exactly record_bytes(from..to-1). */
void assert_records(const struct collector *c, int from, int to);
off_t file_size(const char *path);
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

TCase *frames_tcase(void);   /* check_journal_frames.c */
TCase *events_tcase(void);   /* check_events.c */
TCase *record_tcase(void);   /* check_record.c */

#endif
