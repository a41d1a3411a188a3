/*
 * journal_int.h - the journal's state, private to lib/journal.c (open,
 * append, fsync, peek, replay, close) and lib/journal_consume.c (dropping
 * answered records, compaction). The interface is journal.h.
 */
#ifndef PB_JOURNAL_INT_H
#define PB_JOURNAL_INT_H

#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>
#include "conf.h"

#define COMPACT_HEAD (16 * 1024 * 1024)    /* consumed bytes that make a compaction due */
#define COMPACT_REST (1024 * 1024)          /* ... when at most this much is left to copy */

struct pb_journal {
    pthread_mutex_t lock;
    char *path;
    int fd;
    enum pb_fsync_policy policy;
    off_t head;                 /* first record not yet replayed */
    off_t end;                  /* end of the last complete record */
    size_t backlog;             /* records in [head, end); read atomically */
    int dirty;                  /* appended since the last fsync */
    unsigned long syncs;        /* fsyncs done (pb_journal_syncs) */

    /* policy "second": the syncing thread, started by the first append */
    pthread_t syncer;
    pthread_cond_t wake;        /* close: stop now */
    int syncer_running, syncer_stop;
};

/* fsync the file if anything was appended since (policy permitting). */
int pb_journal_sync_locked(struct pb_journal *j);
/* fsync the directory of path (a rename or a new file survives a crash). */
int pb_journal_sync_dir(const char *path);
/* Copy [head, end) to a new file and put it in place of the journal. */
int pb_journal_compact_locked(struct pb_journal *j);
/* Drop the n records before new_head; compact as asked or when due. */
int pb_journal_consume_locked(struct pb_journal *j, size_t n, off_t new_head, int compact);

#endif
