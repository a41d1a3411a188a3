/*
 * journal.h - append-only local file of Redis commands that could not be
 * written, replayed in order when Redis is back. Each record is one RESP
 * command, exactly as it would go to Redis; the writes themselves are
 * idempotent (events.h), so a replay that is cut off and repeated never
 * counts anything twice. Used by the milter and the tracker.
 */
#ifndef PB_JOURNAL_H
#define PB_JOURNAL_H

#include <stddef.h>
#include "conf.h"

struct pb_journal;

struct pb_journal *pb_journal_open(const char *path, enum pb_fsync_policy policy,
                                   char *errbuf, size_t errlen);
/* Append one record; 0 on success, -1 (errno set, e.g. ENOSPC) on failure. */
int pb_journal_append(struct pb_journal *j, const char *rec, size_t len);
/* Append n records with one fsync (policy "always"); returns how many were
 * appended, in order: n, or fewer with errno set. */
size_t pb_journal_append_many(struct pb_journal *j, const char *const *recs,
                              const size_t *lens, size_t n);
/* Call fn(arg, rec, len) for each record in order. fn returns 0 when the
 * record is written, -1 to stop (Redis gone again): the records already
 * done are dropped from the file, the rest stay. Returns records replayed,
 * or -1 on an I/O error. */
long pb_journal_replay(struct pb_journal *j,
                       int (*fn)(void *arg, const char *rec, size_t len), void *arg);
/* Records waiting in the file. */
size_t pb_journal_backlog(const struct pb_journal *j);
void pb_journal_close(struct pb_journal *j);

/*
 * For pipelined (and asynchronous) replays: peek hands out up to max
 * records from the head of the file without removing them (fn returns 0
 * to go on, -1 to stop; it must not call journal functions); consume then
 * drops the first n of them once Redis has confirmed them. When nothing is
 * left the file is truncated to zero; otherwise, with compact set, the
 * remainder is rewritten to a new file (temp + rename) so the file holds
 * only what is still to do. peek returns records handed out, -1 on error;
 * consume and sync return 0, or -1 with errno set.
 *
 * One thread (or event loop) replays; others may append at the same time
 * (the journal has its own lock), and appended records join the tail.
 */
long pb_journal_peek(struct pb_journal *j, size_t max,
                     int (*fn)(void *arg, const char *rec, size_t len), void *arg);
int pb_journal_consume(struct pb_journal *j, size_t n, int compact);
/* The same for a writer that knows the records at the head, because it
 * appended them: their lengths, in order (no reading of the file; the
 * frame after them is checked). */
int pb_journal_consume_known(struct pb_journal *j, const size_t *lens, size_t n);
/* fsync now if anything was appended since the last sync (policy
 * "second" also has a thread that does it once a second). */
int pb_journal_sync(struct pb_journal *j);
/* fsyncs done so far (for tests and statistics). */
unsigned long pb_journal_syncs(struct pb_journal *j);

#endif
