/*
 * record.h - recording tracked sends in Redis without ever holding mail up
 * and without losing them when the milter crashes.
 *
 * Milter threads hand a finished send record to pb_record_submit(), which
 * appends it to the local journal (write(2), no fsync unless
 * redis.journal_fsync = "always") and copies it into a bounded in-memory
 * queue, then returns: once it has returned, a crash of the milter no
 * longer loses the record. One writer thread sends the queued commands to
 * Redis (hiredis, bounded timeouts, reconnect with backoff) and drops
 * them from the journal once Redis has confirmed them; what Redis cannot
 * take now stays in the journal and is replayed, in order, when Redis is
 * back (and at the next start). When the queue is full, records go to the
 * journal only.
 */
#ifndef PB_RECORD_H
#define PB_RECORD_H

#include "conf.h"
#include "events.h"

/* Start the writer thread; 0 on success, -1 with errbuf (journal cannot be
 * opened). Redis being down at start is not an error. */
int pb_record_start(const struct pb_conf *conf, char *errbuf, size_t errlen);
/* Journal and queue one record (never waits for Redis; waits for the disk
 * only with journal_fsync "always"). */
void pb_record_submit(const struct pb_sent_record *rec);
/* Flush what can be flushed within timeout_ms, stop the thread, close. */
void pb_record_stop(int timeout_ms);

/* Counters for logs and tests. written: from memory; journaled: left to
 * the journal (Redis down or slow, queue full, stop), to be replayed;
 * replayed: written from the journal; dropped: lost or refused for good. */
struct pb_record_stats {
    unsigned long submitted, written, journaled, replayed, dropped;
    size_t backlog;             /* records waiting in the journal */
    int redis_up;
    unsigned long overflowed;   /* to the journal only, not kept in memory, by
                                 * submitters: the queue was full, Redis down
                                 * or the journal not yet replayed */
    size_t queued;              /* records waiting in memory */
    unsigned long journal_failed; /* the journal could not take them (ENOSPC,
                                 * ...): kept in memory only */
};
void pb_record_stats(struct pb_record_stats *out);

#endif
