/*
 * record_int.h - what the send recorder's two halves share (private to
 * them): record.c (queue, journal, writer thread, public interface) and
 * record_redis.c (the writer's Redis connection and pipelined sends).
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
    char data[];
};

struct recorder {
    pthread_mutex_t lock;
    pthread_cond_t wake;        /* CLOCK_MONOTONIC */
    GQueue queue;               /* struct item *, oldest first */
    struct pb_journal *journal; /* NULL when none is configured */
    struct pb_record_stats stats;
    pthread_t thread;
    int running, stopping;
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
    int replay_broken;          /* the journal cannot be read: stop trying */
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

#endif
