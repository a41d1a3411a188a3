/*
 * store.c - the tracker's event writer (see store.h): each event becomes a
 * record (lib/events_tracker.c) that goes to Redis in batches, one script
 * run per batch, through the asynchronous connection (store_conn.c) on the
 * tracker's own libevent loop, without ever blocking a request. What goes
 * on the wire and what becomes of it: store_send.c.
 *
 * Where an event goes when it is submitted:
 *
 *   Redis up, journal empty, fewer than queue_max events in memory
 *       -> the waiting queue. The events that arrive during one pass of
 *          the loop leave together, as one batch, once the pass has run
 *          its other callbacks (the flush event), or at once when a whole
 *          batch is waiting.
 *   otherwise (Redis down, connecting, slow; memory full; the journal
 *   holding anything)
 *       -> the journal, after everything still in memory has been moved
 *          there first, in order. So the journal only ever holds events
 *          newer than any in memory, and "journal first" keeps the order
 *          in which this run's events reach Redis, which exactly-once
 *          needs (lib/events_tracker.c).
 *
 * Counters (pb_store_stats): written = events Redis stored (live or
 * replayed); replayed = journal records Redis answered; journaled =
 * records appended to the journal; journal_errors = records the journal
 * could not take (disk full...); dropped = events lost (journal failing,
 * or no journal and memory full) or refused by Redis as broken. Memory is
 * bounded by queue_max events (waiting and on the wire); events moved to
 * the journal while on the wire are freed at once.
 *
 * Without a journal (tracker.journal unset) events wait in memory while
 * Redis is down, up to queue_max; past that they are dropped and counted.
 * The journal's fsync policy "second" runs on the journal's own thread
 * (lib/journal.c), never on this loop.
 */
#include <signal.h>
#include <string.h>
#include "log.h"
#include "store_int.h"

#define DEFAULT_QUEUE_MAX 10000

struct store st;

/* ---- the connection's hooks ---------------------------------------------- */

static void on_up(void *owner)
{
    (void)owner;
    st.stats.redis_up = 1;
    store_pump();
}

static void on_down(void *owner)
{
    (void)owner;
    st.stats.redis_up = 0;
    if (st.journal)
        store_flush_live_to_journal();
    else
        store_requeue_failed();     /* sent again on the next connection */
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    store_pump();
}

static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    st.flush_pending = 0;
    store_pump();
}

/* ---- submitting ------------------------------------------------------------- */

/* Number the events from here on as a new run, the journal's records
 * keeping theirs; logged at most once a minute. */
static void start_new_run(void)
{
    static struct pb_log_limit lim;
    char old[sizeof(st.run.id)];

    memcpy(old, st.run.id, sizeof(old));
    pb_event_tracker_run_init(&st.run);
    st.new_run = 0;
    pb_log_limited(&lim, 1, LOG_NOTICE, "store: journal not replayed until restart; "
                   "new events are run %s (the journal's keep run %s)", st.run.id, old);
}

/* The event as one record (lib/events_tracker.c). */
static struct item *build_item(const struct pb_tracker_event *ev)
{
    static const enum pb_track_type types[] = {
        [PB_EV_CLICK] = PB_TRACK_CLICK, [PB_EV_OPEN] = PB_TRACK_OPEN,
        [PB_EV_UNSUBSCRIBE] = PB_TRACK_UNSUBSCRIBE,
    };
    struct pb_track_record rec = {
        .type = types[ev->type],
        .machine = ev->class == PB_CLASS_MACHINE,
        .ts_ms = ev->ts_ms,
        .tok = ev->tok,
        .user_agent = ev->user_agent,
        .client_ip = ev->client_ip,
        .reason = ev->class_reason,
    };
    struct item *it;

    if (st.new_run)
        start_new_run();
    g_string_truncate(st.cmd, 0);
    pb_event_tracker_record(st.prefix, &st.run, &rec, NULL, st.cmd);
    it = g_malloc(sizeof(*it) + st.cmd->len);
    memset(it, 0, sizeof(*it));
    it->link.data = it;
    it->len = st.cmd->len;
    memcpy(it->data, st.cmd->str, st.cmd->len);
    return it;
}

/* To the journal, behind everything in memory. */
static void submit_to_journal(struct item *it)
{
    store_flush_live_to_journal();
    if (store_journal_items(&it, 1) != 1)
        st.stats.dropped++;
    g_free(it);
}

void pb_store_submit(const struct pb_tracker_event *ev)
{
    struct item *it;
    int full;

    if (!st.running) {
        static struct pb_log_limit lim;
        st.stats.dropped++;
        pb_log_limited(&lim, 1, LOG_ERR, "store: not running; event lost");
        return;
    }
    it = build_item(ev);
    full = store_live_count() >= st.queue_max;
    if (st.journal && (full || st.stopping || store_journal_first() || !pb_conn_is_up(st.conn))) {
        if (full) {
            static struct pb_log_limit lim;
            pb_log_limited(&lim, 1, LOG_WARNING, "store: %u events waiting for Redis; "
                           "journaling", st.queue_max);
        }
        submit_to_journal(it);
        return;
    }
    if (full) {
        static struct pb_log_limit lim;
        st.stats.dropped++;
        pb_log_limited(&lim, 6, LOG_ERR, "store: queue full (%u) and no journal; event lost",
                       st.queue_max);
        g_free(it);
        return;
    }
    g_queue_push_tail_link(&st.waiting, &it->link);
    if (st.waiting.length >= PB_TRACK_BATCH_MAX) {
        store_pump();
    } else if (!st.flush_pending) {
        st.flush_pending = 1;
        event_active(st.flush, EV_TIMEOUT, 0);
    }
}

/* ---- start and stop ---------------------------------------------------------- */

static int open_journal(const char *path, enum pb_fsync_policy fsync_policy,
                        char *errbuf, size_t errlen)
{
    if (path == NULL || path[0] == '\0') {
        pb_log(LOG_WARNING, "tracker.journal not set: events are lost while Redis is down");
        return 0;
    }
    st.journal = pb_journal_open(path, fsync_policy, errbuf, errlen);
    if (st.journal == NULL)
        return -1;
    if (pb_journal_backlog(st.journal) > 0)
        pb_log(LOG_INFO, "store: %zu events waiting in %s", pb_journal_backlog(st.journal), path);
    return 0;
}

int pb_store_start(struct event_base *base, const struct pb_conf *conf,
                   char *errbuf, size_t errlen)
{
    static const struct pb_conn_hooks hooks = { on_up, on_down, store_on_reply };
    struct timeval second = { 1, 0 };

    if (st.running) {
        g_snprintf(errbuf, errlen, "store: already started");
        return -1;
    }
    memset(&st, 0, sizeof(st));
    if (open_journal(conf->tracker.journal, conf->redis.journal_fsync, errbuf, errlen) != 0)
        return -1;
    /* A write to a Redis socket that closed must fail with EPIPE, not
     * kill the tracker. */
    signal(SIGPIPE, SIG_IGN);
    st.base = base;
    st.prefix = g_strdup(conf->redis.prefix ? conf->redis.prefix : "pb:");
    st.retention.msg_days = conf->redis.retention_days;
    st.retention.stream_maxlen = conf->tracker.stream_maxlen;
    st.retention.stream_max_age_days = conf->tracker.stream_max_age_days;
    st.queue_max = conf->tracker.queue_max > 0 ? (unsigned)conf->tracker.queue_max
                                               : DEFAULT_QUEUE_MAX;
    pb_event_tracker_run_init(&st.run);
    pb_track_batch_init(&st.batch);
    st.running = 1;
    st.tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
    event_add(st.tick, &second);
    st.flush = event_new(base, -1, 0, flush_cb, NULL);
    st.conn = pb_conn_new(base, &conf->redis, &hooks, NULL);
    st.cmd = g_string_sized_new(65536);
    pb_event_tracker_script_load(st.cmd);
    pb_event_tracker_sha(st.sha);
    pb_conn_load_script(st.conn, st.cmd->str, st.cmd->len, st.sha);
    pb_log(LOG_DEBUG, "store: run %s", st.run.id);
    return 0;
}

static void stop_wakeup(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

/* Run the loop until what is in memory has been answered, Redis is down
 * or the deadline passes. */
static void drain(int timeout_ms)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)MAX(timeout_ms, 0) * 1000;
    struct event *wake = evtimer_new(st.base, stop_wakeup, NULL);

    store_pump();
    while (pb_conn_is_up(st.conn) && (store_live_count() > 0 || st.replay_batches > 0)) {
        gint64 left = deadline - g_get_monotonic_time();
        struct timeval tv = { (time_t)(left / G_USEC_PER_SEC), (suseconds_t)(left % G_USEC_PER_SEC) };

        if (left <= 0)
            break;
        evtimer_add(wake, &tv);
        if (event_base_loop(st.base, EVLOOP_ONCE) < 0)
            break;              /* called from inside the loop: cannot wait */
    }
    event_free(wake);
}

/* What is still in memory after the connection is gone: to the journal,
 * or lost without one. */
static void keep_the_rest(void)
{
    size_t lost;

    store_requeue_failed();
    lost = store_live_count();
    if (st.journal) {
        store_flush_live_to_journal();
        return;
    }
    while (st.waiting.length > 0)
        g_free(g_queue_pop_head(&st.waiting));
    st.stats.dropped += lost;
    if (lost > 0)
        pb_log(LOG_ERR, "store: %zu events lost at stop (no journal)", lost);
}

void pb_store_stop(int timeout_ms)
{
    struct pb_store_stats s;

    if (!st.running)
        return;
    st.stopping = 1;
    drain(timeout_ms);
    pb_conn_free(st.conn);      /* unanswered: reply hook with NULL */
    st.conn = NULL;
    keep_the_rest();
    st.stats.redis_up = 0;
    pb_store_stats(&s);
    pb_log(LOG_INFO, "store: stopped (written %lu, replayed %lu, journaled %lu, "
           "journal errors %lu, dropped %lu, backlog %zu)", s.written, s.replayed,
           s.journaled, s.journal_errors, s.dropped, s.backlog);
    event_free(st.tick);
    event_free(st.flush);
    pb_journal_close(st.journal);
    pb_track_batch_free(&st.batch);
    g_free(st.prefix);
    g_string_free(st.cmd, TRUE);
    st.cmd = NULL;
    st.journal = NULL;
    st.prefix = NULL;
    st.running = 0;
}

void pb_store_stats(struct pb_store_stats *out)
{
    *out = st.stats;
    out->queued = store_live_count();
    out->backlog = st.journal ? pb_journal_backlog(st.journal) : 0;
    out->redis_up = st.running && st.conn && pb_conn_is_up(st.conn);
}
