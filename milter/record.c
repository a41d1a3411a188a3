/*
 * record.c - recording tracked sends in Redis without ever holding mail up.
 *
 * Milter threads build the RESP command of a send (events.h) and queue a
 * copy; one writer thread owns the Redis connection (hiredis, blocking,
 * every call bounded by redis.timeout_ms) and sends the queue in
 * pipelined batches. Where the records go:
 *
 *   Redis up      queue -> Redis; the journal is replayed first whenever
 *                 it holds anything, so older records are written first.
 *   Redis down    the writer moves queued records to the journal at once
 *                 (a crash loses nothing) and reconnects with backoff,
 *                 100 ms doubling to 5 s; on reconnect it replays the
 *                 journal, then drains the queue.
 *   queue full    the submitting thread appends the whole queue plus its
 *                 record to the journal (one fsync), keeping their order.
 *
 * Live sends go as EVALSHA (the script's SHA1 instead of its 1.5 kB, so
 * Redis parses 40 bytes, not the script, per record); the queue and the
 * journal keep the EVAL form. A NOSCRIPT reply (a new or restarted Redis,
 * SCRIPT FLUSH) makes the writer send the rest of that batch, from the
 * first NOSCRIPT on, as EVAL, which puts the script back in Redis' cache;
 * records of the batch that had gone through are then seen again as
 * known event ids and written once.
 *
 * A Redis error reply that says "not now" (OOM, BUSY, LOADING, READONLY,
 * MISCONF, ...) counts as Redis down: the command is journaled and retried
 * later. Any other error reply means the command itself is broken; it is
 * logged and dropped rather than retried forever. Every command carries
 * its own event id, so a record sent twice (a batch that timed out after
 * Redis executed it, a replay cut off) is still written once.
 *
 * Order: records reach Redis in submission order, except when a queue
 * overflow coincides with a failed batch in flight (at most BATCH_MAX
 * records then land after newer ones; the `ts` field keeps true time).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <hiredis/hiredis.h>
#include "journal.h"
#include "log.h"
#include "record_int.h"
#include "redis_conn.h"

#define IDLE_WAKE_US G_USEC_PER_SEC /* journal fsync ("second") when idle */
/* How long the first queued record waits for others to share its round
 * trip: one wake-up and one Redis round trip per batch instead of per
 * message keeps the recorder's share of a busy mail server small. */
#define LINGER_US 20000

struct recorder pb_recorder = { .lock = PTHREAD_MUTEX_INITIALIZER, .queue = G_QUEUE_INIT };

static struct item *item_new(const char *data, size_t len)
{
    struct item *it = g_malloc(sizeof(*it) + len);

    it->len = len;
    memcpy(it->data, data, len);
    return it;
}

/* ---- journaling -------------------------------------------------------- */

/*
 * Append items[0..n) to the journal in order. Returns how many were
 * journaled from the start (those are freed); the caller decides about
 * the rest and updates the counters. Takes only the journal's own lock.
 */
static size_t journal_items(struct item **items, size_t n)
{
    const char **recs;
    size_t *lens, done;

    if (pb_recorder.journal == NULL || n == 0)
        return 0;
    recs = g_new(const char *, n);
    lens = g_new(size_t, n);
    for (size_t i = 0; i < n; i++) {
        recs[i] = items[i]->data;
        lens[i] = items[i]->len;
    }
    done = pb_journal_append_many(pb_recorder.journal, recs, lens, n);
    if (done < n) {
        static struct pb_log_limit lim;
        pb_log_limited(&lim, 6, LOG_ERR, "journal: append failed: %s", strerror(errno));
    }
    for (size_t i = 0; i < done; i++)
        g_free(items[i]);
    g_free(recs);
    g_free(lens);
    return done;
}

/* Journal n items; what cannot be journaled is lost: count and free it. */
static void journal_or_drop(struct item **items, size_t n)
{
    size_t done = journal_items(items, n);

    for (size_t i = done; i < n; i++)
        g_free(items[i]);
    pthread_mutex_lock(&pb_recorder.lock);
    pb_recorder.stats.journaled += done;
    pb_recorder.stats.dropped += n - done;
    pthread_mutex_unlock(&pb_recorder.lock);
    if (done < n) {
        static struct pb_log_limit lim;
        pb_log_limited(&lim, 6, LOG_ERR, "record: %zu send record(s) lost", n - done);
    }
}

/* Move everything queued to the journal (lock held). Returns 0 if the
 * queue is empty afterwards. */
static int journal_queue_locked(void)
{
    guint n = g_queue_get_length(&pb_recorder.queue);
    struct item **items;
    size_t done;

    if (n == 0 || pb_recorder.journal == NULL)
        return n == 0 ? 0 : -1;
    items = g_new(struct item *, n);
    n = 0;
    for (GList *l = pb_recorder.queue.head; l; l = l->next)
        items[n++] = l->data;
    done = journal_items(items, n);
    for (size_t i = 0; i < done; i++)
        g_queue_pop_head(&pb_recorder.queue);
    pb_recorder.stats.journaled += done;
    g_free(items);
    return done == n ? 0 : -1;
}

/* ---- the writer thread ------------------------------------------------- */

/* Wait for a submit, a stop or the deadline (monotonic us); lock held. */
static void wait_until_locked(gint64 deadline_us)
{
    gint64 now_us = g_get_monotonic_time();
    struct timespec now, ts;

    if (deadline_us <= now_us)
        return;
    clock_gettime(CLOCK_MONOTONIC, &now);
    deadline_us = (gint64)now.tv_sec * G_USEC_PER_SEC + now.tv_nsec / 1000
                  + (deadline_us - now_us);
    ts.tv_sec = (time_t)(deadline_us / G_USEC_PER_SEC);
    ts.tv_nsec = (long)(deadline_us % G_USEC_PER_SEC) * 1000;
    pthread_cond_timedwait(&pb_recorder.wake, &pb_recorder.lock, &ts);
}

static int copy_record(void *arg, const char *rec, size_t len)
{
    GPtrArray *batch = arg;

    g_ptr_array_add(batch, item_new(rec, len));
    return 0;
}

static int stop_due(void)
{
    return pb_recorder.stopping && g_get_monotonic_time() >= pb_recorder.stop_deadline;
}

/* Replay the journal in pipelined batches until it is empty, Redis fails
 * or the stop deadline passes. Called without the lock. */
static void writer_replay(struct writer *w)
{
    GPtrArray *batch = g_ptr_array_new_with_free_func(g_free);

    while (w->ctx && pb_journal_backlog(pb_recorder.journal) > 0 && !stop_due()) {
        unsigned long written, rejected;
        size_t settled;
        long n = pb_journal_peek(pb_recorder.journal, BATCH_MAX, copy_record, batch);

        if (n <= 0) {
            pb_log(LOG_ERR, "journal: cannot read (%s); replay stopped until restart",
                   n < 0 ? strerror(errno) : "no record at the head");
            w->replay_broken = 1;
            break;
        }
        settled = pb_writer_pipeline(w, (struct item **)batch->pdata, batch->len, &written, &rejected);
        if (pb_journal_consume(pb_recorder.journal, settled, settled < batch->len) != 0)
            pb_log(LOG_ERR, "journal: cannot drop replayed records: %s", strerror(errno));
        pthread_mutex_lock(&pb_recorder.lock);
        pb_recorder.stats.replayed += written;
        pb_recorder.stats.dropped += rejected;
        pthread_mutex_unlock(&pb_recorder.lock);
        w->replayed_run += written;
        g_ptr_array_set_size(batch, 0);
    }
    g_ptr_array_free(batch, TRUE);
    if (w->replayed_run > 0 && pb_journal_backlog(pb_recorder.journal) == 0) {
        pb_log(LOG_INFO, "journal: replayed %lu records", w->replayed_run);
        w->replayed_run = 0;
    }
}

/* Send one batch taken from the queue; journal what did not go through. */
static void writer_send(struct writer *w, struct item **items, size_t n)
{
    unsigned long written, rejected;
    size_t settled = pb_writer_pipeline(w, items, n, &written, &rejected);

    for (size_t i = 0; i < settled; i++)
        g_free(items[i]);
    pthread_mutex_lock(&pb_recorder.lock);
    pb_recorder.stats.written += written;
    pb_recorder.stats.dropped += rejected;
    pthread_mutex_unlock(&pb_recorder.lock);
    if (settled < n)
        journal_or_drop(items + settled, n - settled);
}

/* When stopping: leave once nothing more can or should go to Redis now. */
static int writer_finished(const struct writer *w)
{
    return pb_recorder.stopping
        && (g_queue_is_empty(&pb_recorder.queue) || w->ctx == NULL || stop_due()
            || (pb_recorder.journal && pb_journal_backlog(pb_recorder.journal) > 0));
}

/* One step of the writer loop; called and returns with the lock held. */
static void writer_step(struct writer *w)
{
    struct item *batch[BATCH_MAX];
    size_t n = 0;

    if (w->ctx == NULL) {
        if (g_get_monotonic_time() < w->next_connect_us) {
            journal_queue_locked();
            wait_until_locked(w->next_connect_us);
            return;
        }
        pthread_mutex_unlock(&pb_recorder.lock);
        pb_writer_connect(w);
        pthread_mutex_lock(&pb_recorder.lock);
        return;
    }
    if (pb_recorder.journal && !w->replay_broken && pb_journal_backlog(pb_recorder.journal) > 0) {
        pthread_mutex_unlock(&pb_recorder.lock);
        writer_replay(w);
        pthread_mutex_lock(&pb_recorder.lock);
        return;
    }
    if (g_queue_is_empty(&pb_recorder.queue)) {
        wait_until_locked(g_get_monotonic_time() + IDLE_WAKE_US);
        if (g_queue_is_empty(&pb_recorder.queue) && pb_recorder.journal) {
            pthread_mutex_unlock(&pb_recorder.lock);
            if (pb_journal_sync(pb_recorder.journal) != 0)
                pb_log(LOG_ERR, "journal: fsync: %s", strerror(errno));
            pthread_mutex_lock(&pb_recorder.lock);
        }
        return;
    }
    if (!pb_recorder.stopping && g_queue_get_length(&pb_recorder.queue) < BATCH_MAX
        && g_get_monotonic_time() < pb_recorder.first_queued_us + LINGER_US) {
        wait_until_locked(pb_recorder.first_queued_us + LINGER_US);
        return;
    }
    while (n < BATCH_MAX && !g_queue_is_empty(&pb_recorder.queue))
        batch[n++] = g_queue_pop_head(&pb_recorder.queue);
    if (!g_queue_is_empty(&pb_recorder.queue))
        pb_recorder.first_queued_us = 0;   /* the rest goes out without lingering */
    pthread_mutex_unlock(&pb_recorder.lock);
    writer_send(w, batch, n);
    pthread_mutex_lock(&pb_recorder.lock);
}

static void *writer_main(void *unused)
{
    struct writer w = { .backoff_ms = BACKOFF_MIN_MS };

    (void)unused;
    w.sha_cmd = g_string_sized_new(1024);
    pthread_mutex_lock(&pb_recorder.lock);
    while (!writer_finished(&w))
        writer_step(&w);
    if (journal_queue_locked() != 0) {
        guint lost = g_queue_get_length(&pb_recorder.queue);
        pb_recorder.stats.dropped += lost;
        g_queue_clear_full(&pb_recorder.queue, g_free);
        pb_log(LOG_ERR, "record: %u send record(s) lost at stop", lost);
    }
    pthread_mutex_unlock(&pb_recorder.lock);
    if (w.ctx)
        redisFree(w.ctx);
    g_string_free(w.sha_cmd, TRUE);
    return NULL;
}

/* ---- the public interface ---------------------------------------------- */

static void free_settings(void)
{
    struct pb_redis_conf *rc = &pb_recorder.redis;

    g_free(rc->host);
    g_free(rc->socket);
    g_free(rc->password);
    g_free(rc->prefix);
    g_free(pb_recorder.target);
    memset(rc, 0, sizeof(*rc));
    pb_recorder.target = NULL;
}

/* Our own copy: the daemon may free or reload its configuration. */
static void copy_settings(const struct pb_redis_conf *from)
{
    struct pb_redis_conf *rc = &pb_recorder.redis;

    *rc = *from;
    rc->host = g_strdup(from->host);
    rc->socket = g_strdup(from->socket);
    rc->password = g_strdup(from->password);
    rc->prefix = g_strdup(from->prefix ? from->prefix : "pb:");
    rc->journal = NULL;
    rc->queue_max = MAX(from->queue_max, 1);
    pb_recorder.target = pb_redis_target(rc);
}

int pb_record_start(const struct pb_conf *conf, char *errbuf, size_t errlen)
{
    const struct pb_redis_conf *rc = &conf->redis;
    pthread_condattr_t attr;
    sigset_t all, old;
    int err;

    if (pb_recorder.running) {
        snprintf(errbuf, errlen, "record: already started");
        return -1;
    }
    pb_recorder.journal = NULL;
    if (rc->journal && rc->journal[0]) {
        pb_recorder.journal = pb_journal_open(rc->journal, rc->journal_fsync, errbuf, errlen);
        if (pb_recorder.journal == NULL)
            return -1;
        if (pb_journal_backlog(pb_recorder.journal) > 0)
            pb_log(LOG_INFO, "journal: %zu records waiting in %s",
                   pb_journal_backlog(pb_recorder.journal), rc->journal);
    } else {
        pb_log(LOG_WARNING, "redis.journal not set: send records are lost while Redis is down");
    }
    copy_settings(rc);
    pb_recorder.kept.msg_days = rc->retention_days;
    pb_recorder.kept.stream_maxlen = conf->tracker.stream_maxlen;
    pb_recorder.kept.stream_max_age_days = conf->tracker.stream_max_age_days;
    pb_event_sent_sha(pb_recorder.sha);
    memset(&pb_recorder.stats, 0, sizeof(pb_recorder.stats));
    pb_recorder.stopping = 0;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&pb_recorder.wake, &attr);
    pthread_condattr_destroy(&attr);

    /* The writer takes no signals: they belong to the daemon's handler, and
     * a write to a closed Redis socket must give EPIPE, not kill us. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    err = pthread_create(&pb_recorder.thread, NULL, writer_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err != 0) {
        snprintf(errbuf, errlen, "record: cannot start writer thread: %s", strerror(err));
        pthread_cond_destroy(&pb_recorder.wake);
        pb_journal_close(pb_recorder.journal);
        pb_recorder.journal = NULL;
        free_settings();
        return -1;
    }
    pb_recorder.running = 1;
    return 0;
}

/* Queue full: move the queue and this record to the journal, in order
 * (lock held). Returns 0 if the record was journaled. */
static int overflow_locked(struct item *it)
{
    static struct pb_log_limit lim;

    unsigned long before = pb_recorder.stats.journaled;
    int rc = -1;

    pb_log_limited(&lim, 1, LOG_WARNING, "record: queue full (%d), journaling",
                   pb_recorder.redis.queue_max);
    if (journal_queue_locked() == 0 && journal_items(&it, 1) == 1) {
        pb_recorder.stats.journaled++;
        rc = 0;
    }
    pb_recorder.stats.overflowed += pb_recorder.stats.journaled - before;
    return rc;
}

void pb_record_submit(const struct pb_sent_record *rec)
{
    GString *cmd = g_string_sized_new(2048);
    struct item *it;

    pthread_mutex_lock(&pb_recorder.lock);
    if (!pb_recorder.running || pb_recorder.stopping) {
        static struct pb_log_limit lim;
        pb_recorder.stats.dropped++;
        pthread_mutex_unlock(&pb_recorder.lock);
        pb_log_limited(&lim, 1, LOG_ERR, "record: not running; send record lost");
        g_string_free(cmd, TRUE);
        return;
    }
    pthread_mutex_unlock(&pb_recorder.lock);

    /* prefix and retention do not change while running */
    pb_event_sent_command_kept(pb_recorder.redis.prefix, &pb_recorder.kept, rec, cmd);
    it = item_new(cmd->str, cmd->len);
    g_string_free(cmd, TRUE);

    pthread_mutex_lock(&pb_recorder.lock);
    pb_recorder.stats.submitted++;
    if (g_queue_get_length(&pb_recorder.queue) < (guint)pb_recorder.redis.queue_max) {
        /* wake the writer for the first record of a batch and for a full one */
        if (g_queue_is_empty(&pb_recorder.queue))
            pb_recorder.first_queued_us = g_get_monotonic_time();
        g_queue_push_tail(&pb_recorder.queue, it);
        if (g_queue_get_length(&pb_recorder.queue) == 1
            || g_queue_get_length(&pb_recorder.queue) == BATCH_MAX)
            pthread_cond_signal(&pb_recorder.wake);
    } else if (overflow_locked(it) != 0) {
        static struct pb_log_limit lim;
        pb_recorder.stats.dropped++;
        g_free(it);
        pb_log_limited(&lim, 6, LOG_ERR, "record: queue full and journal failing; send record lost");
    }
    pthread_mutex_unlock(&pb_recorder.lock);
}

void pb_record_stop(int timeout_ms)
{
    struct pb_record_stats st;

    pthread_mutex_lock(&pb_recorder.lock);
    if (!pb_recorder.running) {
        pthread_mutex_unlock(&pb_recorder.lock);
        return;
    }
    pb_recorder.stopping = 1;
    pb_recorder.stop_deadline = g_get_monotonic_time() + (gint64)MAX(timeout_ms, 0) * 1000;
    pthread_cond_signal(&pb_recorder.wake);
    pthread_mutex_unlock(&pb_recorder.lock);

    pthread_join(pb_recorder.thread, NULL);
    pb_record_stats(&st);
    pb_log(LOG_INFO, "record: stopped (written %lu, replayed %lu, journaled %lu, "
           "dropped %lu, backlog %zu)", st.written, st.replayed, st.journaled,
           st.dropped, st.backlog);
    pthread_mutex_lock(&pb_recorder.lock);
    pb_journal_close(pb_recorder.journal);
    pb_recorder.journal = NULL;
    pthread_cond_destroy(&pb_recorder.wake);
    free_settings();
    pb_recorder.running = 0;
    pb_recorder.stopping = 0;
    pb_recorder.stats.redis_up = 0;
    pthread_mutex_unlock(&pb_recorder.lock);
}

void pb_record_stats(struct pb_record_stats *out)
{
    pthread_mutex_lock(&pb_recorder.lock);
    *out = pb_recorder.stats;
    out->backlog = pb_recorder.journal ? pb_journal_backlog(pb_recorder.journal) : 0;
    out->queued = g_queue_get_length(&pb_recorder.queue);
    pthread_mutex_unlock(&pb_recorder.lock);
}
