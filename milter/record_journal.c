/*
 * record_journal.c - the send recorder's write-ahead journal (see record.c
 * for the whole picture): every record is appended to the journal by the
 * milter thread that submits it, before the milter answers the MTA, so a
 * crash of the milter (SIGKILL, abort) loses no record of mail that went
 * out tracked; the page cache keeps what write(2) took even when the
 * process dies, and redis.journal_fsync only matters for a machine crash.
 *
 * The writer sends records from memory and drops the same number of
 * journaled records from the journal's head once Redis has confirmed
 * them; that is right because the journal and the queue hold the
 * journaled records in the same order (record_int.h: the `order` lock),
 * and because nothing in memory is newer than the records that are in the
 * journal only (`behind`). When Redis goes away the journaled records
 * leave memory and the writer replays the journal from its head once
 * Redis is back. A crash between Redis' answer and the drop replays a
 * record that is already written: harmless, the `sent` script skips an
 * event id it has seen (lib/events.c).
 *
 * A record the journal cannot take (disk full, I/O error) still goes to
 * Redis from memory; it is counted (journal_failed) and logged, at most
 * once a minute. The journal never holds mail up and never fails a
 * submit.
 */
#include <errno.h>
#include <string.h>
#include "journal.h"
#include "log.h"
#include "record_int.h"

int pb_wal_append(struct item *it)
{
    static struct pb_log_limit lim;

    if (pb_recorder.journal == NULL || __atomic_load_n(&pb_recorder.journal_off, __ATOMIC_RELAXED))
        return 1;
    if (pb_journal_append(pb_recorder.journal, it->data, it->len) == 0) {
        it->in_journal = 1;
        return 0;
    }
    pb_log_limited(&lim, 1, LOG_ERR, "journal: cannot append a send record (%s); it goes "
                   "to Redis from memory only and is lost if the milter stops first",
                   strerror(errno));
    return -1;
}

/* Drop the first n records from the journal. Never compacted here: a
 * rewrite of many records would hold milter threads up (they wait for the
 * journal's lock to append); the journal compacts itself when little is
 * left after much was dropped (journal.c). 0, or -1 (errno set). */
static int consume(size_t n)
{
    return pb_journal_consume(pb_recorder.journal, n, 0);
}

void pb_wal_confirmed(size_t n)
{
    if (n == 0)
        return;
    if (consume(n) != 0) {
        /* The head may not have moved: count again from the file. */
        static struct pb_log_limit lim;
        pb_log_limited(&lim, 6, LOG_ERR, "journal: cannot drop written records (%s); "
                       "replaying it from its head", strerror(errno));
        pb_wal_spill(NULL, 0);
        return;
    }
    pthread_mutex_lock(&pb_recorder.lock);
    pb_recorder.in_memory -= MIN(n, pb_recorder.in_memory);
    pthread_mutex_unlock(&pb_recorder.lock);
}

/* Drop the journaled copies in the queue (lock held); returns how many. */
static size_t drop_journaled_locked(void)
{
    size_t n = 0;

    for (GList *l = pb_recorder.queue.head, *next; l; l = next) {
        struct item *it = l->data;
        next = l->next;
        if (it->in_journal) {
            g_free(it);
            g_queue_delete_link(&pb_recorder.queue, l);
            n++;
        }
    }
    return n;
}

void pb_wal_spill(struct item **items, size_t n)
{
    size_t moved = 0;

    pthread_mutex_lock(&pb_recorder.order);
    pthread_mutex_lock(&pb_recorder.lock);
    for (size_t i = n; i-- > 0;) {   /* last first: they go back in order */
        if (items[i]->in_journal) {
            g_free(items[i]);
            moved++;
        } else {
            g_queue_push_head(&pb_recorder.queue, items[i]);
        }
    }
    moved += drop_journaled_locked();
    pb_recorder.stats.journaled += moved;
    pb_recorder.in_memory = 0;
    if (pb_recorder.journal != NULL && !pb_recorder.journal_off) {
        /* No append is under way (`order`), no drop either (we are the
         * writer): everything in the file is still to do. */
        pb_recorder.behind = pb_journal_backlog(pb_recorder.journal);
        pb_recorder.journal_only = 1;
    }
    pthread_mutex_unlock(&pb_recorder.lock);
    pthread_mutex_unlock(&pb_recorder.order);
}

static int copy_record(void *arg, const char *rec, size_t len)
{
    GPtrArray *batch = arg;
    struct item *it = g_malloc(sizeof(*it) + len);

    it->len = len;
    it->in_journal = 1;
    memcpy(it->data, rec, len);
    g_ptr_array_add(batch, it);
    return 0;
}

/* The journal cannot be read: leave it alone until the next start (its
 * records stay in it), send new records from memory only. */
static void journal_broken(void)
{
    pb_log(LOG_ERR, "journal: cannot read (%s); replay stopped until restart, new send "
           "records go to Redis from memory only", strerror(errno));
    pthread_mutex_lock(&pb_recorder.order);
    pthread_mutex_lock(&pb_recorder.lock);
    __atomic_store_n(&pb_recorder.journal_off, 1, __ATOMIC_RELAXED);
    pb_recorder.behind = 0;
    pb_recorder.journal_only = 0;
    pthread_mutex_unlock(&pb_recorder.lock);
    pthread_mutex_unlock(&pb_recorder.order);
}

/* How many to replay next; 0 when nothing is behind (lock taken). */
static size_t next_replay(void)
{
    size_t n;

    pthread_mutex_lock(&pb_recorder.lock);
    n = pb_recorder.in_memory == 0 ? MIN(pb_recorder.behind, (size_t)BATCH_MAX) : 0;
    if (n == 0 && pb_recorder.in_memory == 0)
        pb_recorder.journal_only = 0;    /* caught up: memory again */
    pthread_mutex_unlock(&pb_recorder.lock);
    return n;
}

void pb_wal_replay(struct writer *w)
{
    GPtrArray *batch = g_ptr_array_new_with_free_func(g_free);
    size_t want;

    while (w->ctx && !pb_record_stop_due() && (want = next_replay()) > 0) {
        unsigned long written, rejected;
        size_t settled;
        long n = pb_journal_peek(pb_recorder.journal, want, copy_record, batch);

        if (n < 0) {
            journal_broken();
            break;
        }
        if (n == 0) {                   /* nothing where records were counted */
            pb_wal_spill(NULL, 0);      /* count again from the file */
            continue;
        }
        settled = pb_writer_pipeline(w, (struct item **)batch->pdata, batch->len, &written, &rejected);
        if (settled > 0 && consume(settled) != 0) {
            pb_log(LOG_ERR, "journal: cannot drop replayed records: %s", strerror(errno));
            pb_wal_spill(NULL, 0);      /* count again from the file */
        } else {
            pthread_mutex_lock(&pb_recorder.lock);
            pb_recorder.behind -= MIN(settled, pb_recorder.behind);
            pthread_mutex_unlock(&pb_recorder.lock);
        }
        pthread_mutex_lock(&pb_recorder.lock);
        pb_recorder.stats.replayed += written;
        pb_recorder.stats.dropped += rejected;
        pthread_mutex_unlock(&pb_recorder.lock);
        w->replayed_run += written;
        g_ptr_array_set_size(batch, 0);
    }
    g_ptr_array_free(batch, TRUE);
    if (w->ctx && w->replayed_run > 0 && next_replay() == 0) {
        pb_log(LOG_INFO, "journal: replayed %lu records", w->replayed_run);
        w->replayed_run = 0;
    }
}

void pb_wal_leave(void)
{
    unsigned long lost = 0;
    struct item *it;

    pthread_mutex_lock(&pb_recorder.order);
    pthread_mutex_lock(&pb_recorder.lock);
    pb_recorder.stats.journaled += drop_journaled_locked();
    while ((it = g_queue_pop_head(&pb_recorder.queue)) != NULL) {
        if (pb_wal_append(it) == 0)     /* the journal may work again */
            pb_recorder.stats.journaled++;
        else
            lost++;
        g_free(it);
    }
    pb_recorder.stats.dropped += lost;
    pb_recorder.in_memory = 0;
    pb_recorder.writer_done = 1;
    pthread_mutex_unlock(&pb_recorder.lock);
    pthread_mutex_unlock(&pb_recorder.order);
    if (lost > 0)
        pb_log(LOG_ERR, "record: %lu send record(s) lost at stop", lost);
}
