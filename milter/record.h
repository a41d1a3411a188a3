/*
 * record.h - recording tracked sends in Redis without ever holding mail up.
 *
 * Milter threads hand a finished send record to pb_record_submit(), which
 * only copies it into a bounded in-memory queue and returns. One writer
 * thread sends the queued commands to Redis (hiredis, bounded timeouts,
 * reconnect with backoff); what cannot be written goes to the local
 * journal and is replayed, in order, when Redis is back. When the queue
 * is full, records go straight to the journal.
 */
#ifndef PB_RECORD_H
#define PB_RECORD_H

#include "conf.h"
#include "events.h"

/* Start the writer thread; 0 on success, -1 with errbuf (journal cannot be
 * opened). Redis being down at start is not an error. */
int pb_record_start(const struct pb_conf *conf, char *errbuf, size_t errlen);
/* Queue one record (never blocks on Redis). */
void pb_record_submit(const struct pb_sent_record *rec);
/* Flush what can be flushed within timeout_ms, stop the thread, close. */
void pb_record_stop(int timeout_ms);

/* Counters for logs and tests. */
struct pb_record_stats {
    unsigned long submitted, written, journaled, replayed, dropped;
    size_t backlog;             /* records waiting in the journal */
    int redis_up;
    unsigned long overflowed;   /* journaled by submitters: queue was full */
    size_t queued;              /* records waiting in memory */
};
void pb_record_stats(struct pb_record_stats *out);

#endif
