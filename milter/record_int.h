/*
 * record_int.h - what the send recorder's three parts share (private to
 * them): record.c (queue, writer thread, public interface),
 * record_journal.c (the write-ahead journal: what is in it, what the
 * writer replays from it) and record_redis.c (the writer's Redis
 * connection and pipelined sends).
 */
#ifndef PB_RECORD_INT_H
#define PB_RECORD_INT_H

#include <pthread.h>
#include <glib.h>
#include <hiredis/hiredis.h>
#include "conf.h"
#include "events.h"
#include "journal.h"
#include "record.h"

#define BATCH_MAX 64                /* commands per pipeline round trip */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

/* One queued command, RESP bytes. */
struct item {
    size_t len;
    int in_journal;             /* also in the journal (appended when submitted) */
    char data[];
};

/*
 * Locks, always taken in this order: `order` (submitters, and the writer
 * when it rearranges what is in memory and in the journal), `lock`, then
 * the journal's own. The journal then holds its records in the order of
 * the queue, which is what lets the writer drop a prefix of it once Redis
 * has confirmed that many journaled records from memory.
 *
 * What is in the journal, from its head: first the `in_memory` records
 * that also sit in the queue or in the writer's batch in flight (the
 * queue may hold others, that the journal could not take, between them),
 * then the `behind` records that are in the journal only, which the
 * writer replays once `in_memory` is 0. While `journal_only` is set
 * (queue full, Redis down, journal not replayed yet) new records go to
 * the journal only, so nothing in memory is ever newer than `behind`.
 */
struct recorder {
    pthread_mutex_t order;      /* journal append + queueing, as one step */
    pthread_mutex_t lock;
    pthread_cond_t wake;        /* CLOCK_MONOTONIC */
    GQueue queue;               /* struct item *, oldest first */
    struct pb_journal *journal; /* NULL when none is configured */
    size_t in_memory;           /* journaled records also in memory (see above) */
    size_t behind;              /* journaled records not in memory, to replay */
    int journal_only;           /* new records to the journal only */
    int journal_off;            /* journal unreadable: unused until restart */
    struct pb_record_stats stats;
    pthread_t thread;
    int running, stopping;
    int writer_done;            /* the writer has left: nothing more is sent */
    gint64 stop_deadline;       /* monotonic us */
    gint64 first_queued_us;     /* when the queue last became non-empty */

    struct pb_redis_conf redis; /* copied at start; journal unused */
    struct pb_track_retention kept; /* send record TTL, events stream trimming */
    char *target;               /* where Redis is, for log lines */
    char sha[41];               /* SHA1 of the `sent` script */
};
extern struct recorder pb_recorder;

/* The writer thread's own state. */
struct writer {
    redisContext *ctx;
    int backoff_ms;
    gint64 next_connect_us;
    int down_logged;            /* "unreachable" said for this outage */
    int up_logged;              /* "connected" said since then */
    unsigned long replayed_run; /* records replayed since the last connect */
    int use_sha;                /* send EVALSHA: Redis is believed to have the script */
    int noscript;               /* the last pipeline stopped at a NOSCRIPT reply */
    GString *sha_cmd;           /* scratch for one EVALSHA command */
};

/* Close the connection (if open) after a failure, schedule the next
 * attempt with backoff and log the outage once. */
void pb_writer_down(struct writer *w, const char *reason);
/* Connect (pb_writer_down on failure). */
void pb_writer_connect(struct writer *w);
/* Send items[0..n) (n <= BATCH_MAX) pipelined, as EVALSHA where Redis
 * has the script and again as EVAL after a NOSCRIPT. Returns how many
 * from the start are settled (written, counted in *written, or rejected
 * for good, in *rejected); fewer than n: the connection failed or Redis
 * refused writes, and it is closed. */
size_t pb_writer_pipeline(struct writer *w, struct item **items, size_t n,
                          unsigned long *written, unsigned long *rejected);

/* The writer is stopping and its time is up (lock not needed). */
int pb_record_stop_due(void);

/* ---- record_journal.c ---- */
/* Append it to the journal (`order` held): 0 if it is in (it->in_journal
 * set), -1 if the append failed (logged), 1 if there is no journal to
 * append to (none configured, or unreadable). */
int pb_wal_append(struct item *it);
/* Redis has confirmed the first n journaled records held in memory: drop
 * them from the journal. No lock held. */
void pb_wal_confirmed(size_t n);
/* Redis is gone (or the journal's bookkeeping failed): items[0..n) (a
 * batch that did not go through) and every journaled record in the
 * queue leave memory, the journal is replayed from its head later; items
 * that are not in the journal go back to the head of the queue. No lock
 * held. */
void pb_wal_spill(struct item **items, size_t n);
/* Replay what is behind, in pipelined batches, until it is all written,
 * Redis fails or the stop deadline passes. No lock held. */
void pb_wal_replay(struct writer *w);
/* The writer leaves: journaled records leave memory (they stay in the
 * journal for the next start), the others are appended now if they can
 * be, else counted lost. No lock held. */
void pb_wal_leave(void);

#endif
