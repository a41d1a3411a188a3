/*
 * record.c - recording tracked sends in Redis without ever holding mail up,
 * and without losing them when the milter crashes.
 *
 * A milter thread builds the RESP command of a send (events.h), appends
 * it to the journal (write(2); record_journal.c) and queues a copy, all
 * before the milter answers the MTA for the message: from then on a crash
 * of the milter (SIGKILL included) does not lose it, the next start
 * replays it. One writer thread owns the Redis connection (hiredis,
 * blocking, every call bounded by redis.timeout_ms), sends the queue in
 * pipelined batches and drops what Redis confirmed from the journal's
 * head. Where the records go:
 *
 *   Redis up      queue -> Redis, then out of the journal; records that
 *                 are in the journal only (left by an outage, a full
 *                 queue or the last run) are replayed first, in order.
 *   Redis down    the journaled records leave memory (they are in the
 *                 journal), new ones go to the journal only; the writer
 *                 reconnects with backoff, 100 ms doubling to 5 s, and on
 *                 reconnect replays the journal.
 *   queue full    the record goes to the journal only, and so do the
 *                 ones after it until the writer has caught up.
 *   no journal    (redis.journal = "") records wait in memory only: a
 *                 crash loses those not yet written, and so does an
 *                 outage longer than redis.queue_max records (logged at
 *                 start).
 *   journal fails (disk full, ...) the record still goes to Redis from
 *                 memory; counted, logged at most once a minute.
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
 * MISCONF, ...) counts as Redis down: the command stays in the journal and
 * is retried later. Any other error reply means the command itself is
 * broken; it is logged and dropped rather than retried forever. Every
 * command carries its own event id, so a record sent twice (a batch that
 * timed out after Redis executed it, a replay cut off, a crash between
 * Redis' answer and the journal's bookkeeping) is still written once.
 *
 * Order: records reach Redis in submission order, except those the
 * journal could not take, which go from memory when Redis can have them
 * (the `ts` field keeps true time).
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

struct recorder pb_recorder = {
    .order = PTHREAD_MUTEX_INITIALIZER, .lock = PTHREAD_MUTEX_INITIALIZER, .queue = G_QUEUE_INIT,
};

static struct item *item_new(const char *data, size_t len)
{
    struct item *it = g_malloc(sizeof(*it) + len);

    it->len = len;
    it->in_journal = 0;
    memcpy(it->data, data, len);
    return it;
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

int pb_record_stop_due(void)
{
    return pb_recorder.stopping && g_get_monotonic_time() >= pb_recorder.stop_deadline;
}

/* Send one batch taken from the queue; what Redis confirmed leaves the
 * journal, the rest (Redis gone) waits there. */
static void writer_send(struct writer *w, struct item **items, size_t n)
{
    unsigned long written, rejected;
    size_t settled = pb_writer_pipeline(w, items, n, &written, &rejected), journaled = 0;

    for (size_t i = 0; i < settled; i++) {
        journaled += items[i]->in_journal ? 1 : 0;
        g_free(items[i]);
    }
    pb_wal_confirmed(journaled);
    pthread_mutex_lock(&pb_recorder.lock);
    pb_recorder.stats.written += written;
    pb_recorder.stats.dropped += rejected;
    pthread_mutex_unlock(&pb_recorder.lock);
    if (settled < n)
        pb_wal_spill(items + settled, n - settled);
}

/* When stopping: leave once nothing more can or should go to Redis now
 * (what is in the journal only stays there for the next start). */
static int writer_finished(const struct writer *w)
{
    return pb_recorder.stopping
        && (g_queue_is_empty(&pb_recorder.queue) || w->ctx == NULL || pb_record_stop_due()
            || pb_recorder.behind > 0);
}

/* Redis is down: journaled records leave memory (lock held, and held
 * again on return). */
static void writer_down_locked(const struct writer *w)
{
    if (pb_recorder.journal != NULL && !pb_recorder.journal_off
        && (pb_recorder.in_memory > 0 || !pb_recorder.journal_only)) {
        pthread_mutex_unlock(&pb_recorder.lock);
        pb_wal_spill(NULL, 0);
        pthread_mutex_lock(&pb_recorder.lock);
    }
    wait_until_locked(w->next_connect_us);
}

/* Nothing to send: wait, and fsync the journal when idle. */
static void writer_idle_locked(void)
{
    wait_until_locked(g_get_monotonic_time() + IDLE_WAKE_US);
    if (g_queue_is_empty(&pb_recorder.queue) && pb_recorder.journal) {
        pthread_mutex_unlock(&pb_recorder.lock);
        if (pb_journal_sync(pb_recorder.journal) != 0)
            pb_log(LOG_ERR, "journal: fsync: %s", strerror(errno));
        pthread_mutex_lock(&pb_recorder.lock);
    }
}

/* One step of the writer loop; called and returns with the lock held. */
static void writer_step(struct writer *w)
{
    struct item *batch[BATCH_MAX];
    size_t n = 0;

    if (w->ctx == NULL) {
        if (g_get_monotonic_time() < w->next_connect_us) {
            writer_down_locked(w);
            return;
        }
        pthread_mutex_unlock(&pb_recorder.lock);
        pb_writer_connect(w);
        pthread_mutex_lock(&pb_recorder.lock);
        return;
    }
    if (pb_recorder.in_memory == 0 && (pb_recorder.behind > 0 || pb_recorder.journal_only)) {
        pthread_mutex_unlock(&pb_recorder.lock);
        pb_wal_replay(w);               /* older than anything in memory */
        pthread_mutex_lock(&pb_recorder.lock);
        if (pb_recorder.behind > 0)
            return;
    }
    if (g_queue_is_empty(&pb_recorder.queue)) {
        writer_idle_locked();
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
    pthread_mutex_unlock(&pb_recorder.lock);
    pb_wal_leave();
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
        pb_log(LOG_WARNING, "redis.journal not set: no write-ahead journal; send records "
               "not yet in Redis are lost if the milter crashes or stops while Redis is "
               "down, or once redis.queue_max of them wait");
    }
    /* Whatever the last run left is older than anything new: replayed first. */
    pb_recorder.behind = pb_recorder.journal ? pb_journal_backlog(pb_recorder.journal) : 0;
    pb_recorder.journal_only = pb_recorder.behind > 0;
    pb_recorder.in_memory = 0;
    pb_recorder.journal_off = 0;
    pb_recorder.writer_done = 0;
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

/* A record lost: neither the journal nor the queue could take it. */
static void lost_locked(struct item *it)
{
    static struct pb_log_limit lim;

    pb_recorder.stats.dropped++;
    g_free(it);
    pb_log_limited(&lim, 6, LOG_ERR, "record: %s; send record lost",
                   pb_recorder.writer_done ? "stopped"
                   : pb_recorder.journal == NULL ? "queue full and no journal"
                   : "queue full and the journal failing");
}

/* Where a submitted record goes once the journal has (or has not) taken
 * it (order and lock held). */
static void keep_locked(struct item *it)
{
    guint queued = g_queue_get_length(&pb_recorder.queue);
    int full = queued >= (guint)pb_recorder.redis.queue_max;

    pb_recorder.stats.submitted++;
    if (it->in_journal && (pb_recorder.journal_only || pb_recorder.writer_done || full)) {
        if (!pb_recorder.journal_only && !pb_recorder.writer_done) {
            static struct pb_log_limit lim;
            pb_log_limited(&lim, 1, LOG_WARNING, "record: queue full (%d), journaling",
                           pb_recorder.redis.queue_max);
            pb_recorder.journal_only = 1;
        }
        pb_recorder.behind++;
        pb_recorder.stats.journaled++;
        pb_recorder.stats.overflowed += !pb_recorder.writer_done;
        g_free(it);
        return;
    }
    if (full || pb_recorder.writer_done) {
        lost_locked(it);
        return;
    }
    /* wake the writer for the first record of a batch and for a full one */
    if (queued == 0)
        pb_recorder.first_queued_us = g_get_monotonic_time();
    g_queue_push_tail(&pb_recorder.queue, it);
    pb_recorder.in_memory += it->in_journal ? 1 : 0;
    if (queued + 1 == 1 || queued + 1 == BATCH_MAX)
        pthread_cond_signal(&pb_recorder.wake);
}

void pb_record_submit(const struct pb_sent_record *rec)
{
    GString *cmd = g_string_sized_new(2048);
    struct item *it;
    int appended;

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

    /* Journal and queue in one step, so both keep the same order. */
    pthread_mutex_lock(&pb_recorder.order);
    appended = pb_wal_append(it);
    pthread_mutex_lock(&pb_recorder.lock);
    pb_recorder.stats.journal_failed += appended < 0 ? 1 : 0;
    keep_locked(it);
    pthread_mutex_unlock(&pb_recorder.lock);
    pthread_mutex_unlock(&pb_recorder.order);
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
           "dropped %lu, backlog %zu, journal failures %lu)", st.written, st.replayed,
           st.journaled, st.dropped, st.backlog, st.journal_failed);
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
