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
/* Call fn(arg, rec, len) for each record in order. fn returns 0 when the
 * record is written, -1 to stop (Redis gone again): the records already
 * done are dropped from the file, the rest stay. Returns records replayed,
 * or -1 on an I/O error. */
long pb_journal_replay(struct pb_journal *j,
                       int (*fn)(void *arg, const char *rec, size_t len), void *arg);
/* Records waiting in the file. */
size_t pb_journal_backlog(const struct pb_journal *j);
void pb_journal_close(struct pb_journal *j);

#endif
