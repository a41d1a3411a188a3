/*
 * store.c - the tracker's event writer (see store.h): each event becomes a
 * record (lib/events_tracker.c) that goes to Redis in batches, one script
 * run per batch, through the asynchronous connection (store_conn.c) on the
 * tracker's own libevent loop, without ever blocking a request. What goes
 * on the wire and what becomes of it: store_send.c.
 *
 * Write-ahead: an answered event must survive the death of the process.
 * The events submitted during one pass of the loop are appended to the
 * journal together, with one write(2), before the answers of that pass
 * leave (pb_store_commit, run by the HTTP server before it sends output:
 * http.h's barrier); the page cache keeps them if the process dies, and
 * the fsync policy only decides about a machine crash. A record leaves
 * the journal once Redis has answered for it. Where an event goes then:
 *
 *   Redis up, the journal holding nothing that memory does not, fewer
 *   than queue_max events in memory
 *       -> the waiting queue (and the journal). The pass's events leave
 *          together, as one batch, right after the commit.
 *   otherwise (Redis down, connecting; memory full; the journal holding
 *   records memory does not: "spill")
 *       -> the journal only, which is replayed, oldest first, before any
 *          waiting event is sent.
 *
 * An event the journal could not take (disk full) stays in memory and
 * goes to Redis from there; it is lost only if the process dies first, or
 * if memory is full too. Exactly once does not rest on order: Redis keeps
 * a bit per event written (lib/events_tracker.c).
 *
 * Counters (pb_store_stats): written = events Redis stored for this
 * process (live or replayed; one found already written counts when its
 * run is this process', whose earlier reply was lost); replayed = journal
 * records Redis answered; journaled = records appended to the journal;
 * journal_errors = records the journal could not take (disk full...);
 * dropped = events lost (no room in memory nor journal) or refused by
 * Redis as broken. Memory is bounded by queue_max events (waiting and on
 * the wire).
 *
 * Without a journal (tracker.journal = "") events live only in memory:
 * they wait while Redis is down, up to queue_max; past that they are
 * dropped and counted, and a crash loses what was not written yet. The
 * journal's fsync policy "second" runs on the journal's own thread
 * (lib/journal.c), never on this loop.
 */
#include <signal.h>
#include <string.h>
#include "custom_event.h"
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
    store_requeue_failed();     /* the journal's are replayed, the rest sent again */
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
    pb_store_commit();
}

/* ---- submitting ------------------------------------------------------------- */

static struct item *item_of_cmd(void);

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

    g_string_truncate(st.cmd, 0);
    pb_event_tracker_record(st.prefix, &st.run, &rec, NULL, st.cmd);
    return item_of_cmd();
}

/* A custom event (lib/custom_event.h) as one record of the same form. */
static struct item *build_custom_item(const struct pb_custom_event *ev, const char *source)
{
    g_string_truncate(st.cmd, 0);
    pb_event_custom_record(st.prefix, &st.run, ev, source, st.cmd);
    return item_of_cmd();
}

/* The record in st.cmd as an item. */
static struct item *item_of_cmd(void)
{
    struct item *it = g_malloc(sizeof(*it) + st.cmd->len);

    memset(it, 0, sizeof(*it));
    it->link.data = it;
    it->len = st.cmd->len;
    memcpy(it->data, st.cmd->str, st.cmd->len);
    return it;
}

static void lost_event(const char *why)
{
    static struct pb_log_limit lim;

    st.stats.dropped++;
    pb_log_limited(&lim, 6, LOG_ERR, "store: %s; event lost", why);
}

/* 1 if an event may be queued now; else it is lost and counted. */
static int may_submit(void)
{
    if (!st.running) {
        lost_event("not running");
        return 0;
    }
    if (st.journal == NULL && store_live_count() >= st.queue_max) {
        lost_event("queue full and no journal");
        return 0;
    }
    return 1;
}

int pb_store_room(size_t n)
{
    return st.running && (st.journal != NULL || store_live_count() + n <= st.queue_max);
}

/* Queue it for the next commit (which runs after this loop pass). */
static void queue_item(struct item *it)
{
    g_queue_push_tail_link(&st.uncommitted, &it->link);
    if (st.uncommitted.length >= PB_TRACK_BATCH_MAX) {
        pb_store_commit();
    } else if (!st.flush_pending) {
        st.flush_pending = 1;
        event_active(st.flush, EV_TIMEOUT, 0);
    }
}

void pb_store_submit(const struct pb_tracker_event *ev)
{
    if (may_submit())
        queue_item(build_item(ev));
}

int pb_store_submit_custom(const struct pb_custom_event *ev, const char *source)
{
    if (!may_submit())
        return -1;
    queue_item(build_custom_item(ev, source));
    return 0;
}

int pb_store_uncommitted(void)
{
    return st.running && st.uncommitted.length > 0;
}

/* Append the uncommitted items to the journal, one write; mark those it took. */
static void journal_uncommitted(void)
{
    size_t n = st.uncommitted.length, i = 0, done;
    const char **recs;
    size_t *lens;

    if (st.journal == NULL || n == 0)
        return;
    recs = g_new(const char *, n);
    lens = g_new(size_t, n);
    for (GList *l = st.uncommitted.head; l; l = l->next, i++) {
        recs[i] = ((struct item *)l->data)->data;
        lens[i] = ((struct item *)l->data)->len;
    }
    done = pb_journal_append_many(st.journal, recs, lens, n);
    if (done < n) {
        static struct pb_log_limit lim;
        pb_log_limited(&lim, 6, LOG_ERR, "store: journal append failed (%s): %zu event(s) "
                       "kept in memory only", strerror(errno), n - done);
        st.stats.journal_errors += n - done;
    }
    st.stats.journaled += done;
    i = 0;
    for (GList *l = st.uncommitted.head; l; l = l->next, i++)
        ((struct item *)l->data)->in_journal = i < done;
    g_free(recs);
    g_free(lens);
}

/* Where a committed item goes: the waiting queue, or (journaled) the
 * journal only, or (neither has room) nowhere. */
static void place(struct item *it)
{
    int full = store_live_count() >= st.queue_max, journal_only;

    /* an unreadable journal is only a crash insurance until the restart
     * replays it: memory keeps what it can */
    if (st.replay_broken)
        journal_only = it->in_journal && full;
    else
        journal_only = it->in_journal && (st.spill || full || !pb_conn_is_up(st.conn));
    if (journal_only && full) {
        static struct pb_log_limit lim;
        pb_log_limited(&lim, 1, LOG_WARNING, "store: %u events waiting for Redis; "
                       "the journal takes the rest", st.queue_max);
    }
    if (journal_only && !st.spill && !st.replay_broken)
        store_spill();
    if (journal_only) {
        g_free(it);
    } else if (full) {
        g_free(it);
        lost_event(st.journal ? "journal failing and queue full" : "queue full and no journal");
    } else {
        g_queue_push_tail_link(&st.waiting, &it->link);
    }
}

void pb_store_commit(void)
{
    GList *l;

    if (!st.running)
        return;
    journal_uncommitted();
    while ((l = g_queue_pop_head_link(&st.uncommitted)) != NULL)
        place(l->data);
    store_pump();
}

/* ---- start and stop ---------------------------------------------------------- */

static int open_journal(const char *path, enum pb_fsync_policy fsync_policy,
                        char *errbuf, size_t errlen)
{
    if (path == NULL || path[0] == '\0') {
        pb_log(LOG_WARNING, "tracker.journal is \"\": no write-ahead journal; a crash loses "
               "the events Redis does not have yet, and past tracker.queue_max events "
               "waiting for Redis new ones are lost");
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
    st.spill = st.journal && pb_journal_backlog(st.journal) > 0;
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

    pb_store_commit();
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

/* What is still in memory after the connection is gone: the journal has
 * it already, or takes it now, or it is lost. */
static void keep_the_rest(void)
{
    size_t lost = 0;
    GList *l;

    store_requeue_failed();
    while ((l = g_queue_pop_head_link(&st.waiting)) != NULL) {
        struct item *it = l->data;

        if (!it->in_journal && st.journal && pb_journal_append(st.journal, it->data, it->len) == 0)
            st.stats.journaled++;
        else if (!it->in_journal)
            lost++;
        g_free(it);
    }
    st.stats.dropped += lost;
    if (lost > 0)
        pb_log(LOG_ERR, "store: %zu events lost at stop (%s)", lost,
               st.journal ? "the journal refused them" : "no journal");
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

/* Of the events in memory, how many the journal has too. */
static size_t journaled_in_memory(void)
{
    GQueue *batches[2] = { &st.sent, &st.failed };
    size_t n = 0;

    for (GList *l = st.waiting.head; l; l = l->next)
        n += ((struct item *)l->data)->in_journal;
    for (int q = 0; q < 2; q++)
        for (GList *l = batches[q]->head; l; l = l->next)
            n += ((struct batch *)l->data)->journaled;
    return n;
}

void pb_store_stats(struct pb_store_stats *out)
{
    *out = st.stats;
    out->queued = store_live_count();
    out->backlog = st.journal ? pb_journal_backlog(st.journal) : 0;
    out->pending = out->queued + (out->backlog - MIN(out->backlog, journaled_in_memory()));
    out->redis_up = st.running && st.conn && pb_conn_is_up(st.conn);
    out->refusing = st.running && st.conn ? pb_conn_refusing(st.conn) : NULL;
}
