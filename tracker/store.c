/*
 * store.c - the tracker's event writer (see store.h): one idempotent EVAL
 * per event (lib/events_tracker.c), sent through the asynchronous Redis
 * connection (store_conn.c) on the tracker's own libevent loop, without
 * ever blocking a request.
 *
 * Where an event goes when it is submitted:
 *
 *   Redis up, journal empty, fewer than queue_max events in memory
 *       -> the in-memory queue; up to LIVE_WINDOW of them are on the wire
 *          (pipelined) at a time, the rest wait their turn.
 *   otherwise (Redis down, connecting, slow; the queue full; the journal
 *   holding anything)
 *       -> the journal, after everything still in memory has been moved
 *          there first, in order. So the journal only ever holds events
 *          newer than any in memory, and "journal first" keeps the order.
 *
 * When Redis is (back) up the journal is replayed in order, REPLAY_BATCH
 * records at a time, before any new event is sent live; a batch leaves the
 * journal (pb_journal_consume) only after Redis answered it. An event that
 * is journaled while also on the wire, or replayed after a crash between
 * Redis' answer and the bookkeeping, reaches Redis twice: the event id
 * makes the second run a no-op (0), so every event is written exactly once.
 *
 * Counters (pb_store_stats): written = events Redis stored (script
 * returned 1, live or replayed); replayed = journal records Redis answered;
 * journaled = records appended to the journal; journal_errors = records
 * the journal could not take (disk full...); dropped = events lost
 * (journal failing, or no journal and memory full) or rejected by Redis as
 * broken commands. Memory is bounded by queue_max events plus at most
 * LIVE_WINDOW commands that were moved to the journal while on the wire.
 *
 * Without a journal (tracker.journal unset) events wait in memory while
 * Redis is down, up to queue_max; past that they are dropped and counted.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <glib.h>
#include "events.h"
#include "journal.h"
#include "log.h"
#include "store.h"
#include "store_conn.h"

#define LIVE_WINDOW 256         /* live commands on the wire at once */
#define REPLAY_BATCH 256        /* journal records per replay round */
#define DEFAULT_QUEUE_MAX 10000

enum item_kind { ITEM_LIVE, ITEM_REPLAY };

/* One event command. */
struct item {
    GList link;                 /* in one of the queues (LIVE, not detached) */
    enum item_kind kind;
    int detached;               /* moved to the journal (or lost) while on the wire */
    int journaled;              /* detached: the journal has it */
    size_t len;
    char data[];
};

static struct store {
    int running, stopping;
    struct event_base *base;
    struct pb_conn *conn;
    struct pb_journal *journal; /* NULL: none configured */
    struct event *tick;         /* once a second: journal fsync, pump */
    char *prefix;
    char sha[41];               /* of the tracker script, for EVALSHA */
    GString *scratch;           /* the EVALSHA form of the command being sent */
    struct pb_track_retention retention;
    unsigned queue_max;

    GQueue waiting;             /* live, not sent yet; oldest first */
    GQueue sent;                /* live, on the wire, in send order */
    GQueue failed;              /* live, sent but not answered (connection lost) */

    unsigned replay_n;          /* records of the replay batch on the wire */
    unsigned replay_done;       /* ... answered or failed so far */
    unsigned replay_ok;         /* ... answered, before the first failure */
    int replay_failed;
    int replay_broken;          /* journal unreadable: no replay until restart */
    unsigned long replayed_run; /* since the backlog was last empty */

    struct pb_store_stats stats;
} st;

/* ---- items ------------------------------------------------------------- */

static struct item *item_new(enum item_kind kind, const char *data, size_t len)
{
    struct item *it = g_malloc(sizeof(*it) + len);

    memset(it, 0, sizeof(*it));
    it->link.data = it;
    it->kind = kind;
    it->len = len;
    memcpy(it->data, data, len);
    return it;
}

static size_t live_count(void)
{
    return st.waiting.length + st.sent.length + st.failed.length;
}

/* Move every item of q to the tail of into, in order. */
static void queue_move_all(GQueue *q, GQueue *into)
{
    GList *l;

    while ((l = g_queue_peek_head_link(q)) != NULL) {
        g_queue_unlink(q, l);
        g_queue_push_tail_link(into, l);
    }
}

/* ---- the journal ------------------------------------------------------- */

static int journal_first(void)
{
    return st.journal && !st.replay_broken
        && (st.replay_n > 0 || pb_journal_backlog(st.journal) > 0);
}

/* Append n items in order; returns how many the journal took. */
static size_t journal_items(struct item **items, size_t n)
{
    const char **recs = g_new(const char *, n);
    size_t *lens = g_new(size_t, n), done;

    for (size_t i = 0; i < n; i++) {
        recs[i] = items[i]->data;
        lens[i] = items[i]->len;
    }
    done = pb_journal_append_many(st.journal, recs, lens, n);
    if (done < n) {
        static struct pb_log_limit lim;
        pb_log_limited(&lim, 6, LOG_ERR, "store: journal append failed (%s): "
                       "%zu event(s) lost", strerror(errno), n - done);
        st.stats.journal_errors += n - done;
    }
    st.stats.journaled += done;
    g_free(recs);
    g_free(lens);
    return done;
}

/*
 * Move everything in memory to the journal, oldest first: the failed
 * (sent, not answered), those on the wire, the waiting. Those on the wire
 * stay allocated, detached, until their reply arrives. Called before
 * anything newer is journaled.
 */
static void flush_live_to_journal(void)
{
    size_t n = live_count(), i = 0, done;
    struct item **items;
    GQueue all = G_QUEUE_INIT;

    if (n == 0)
        return;
    for (GList *l = st.sent.head; l; l = l->next)
        ((struct item *)l->data)->detached = 1;
    queue_move_all(&st.failed, &all);
    queue_move_all(&st.sent, &all);
    queue_move_all(&st.waiting, &all);
    items = g_new(struct item *, n);
    for (GList *l = all.head; l; l = l->next)
        items[i++] = l->data;
    done = journal_items(items, n);
    for (i = 0; i < n; i++) {
        struct item *it = items[i];

        it->link.prev = it->link.next = NULL;
        if (it->detached) {
            it->journaled = i < done;   /* its reply decides if it is lost */
            continue;
        }
        if (i >= done)
            st.stats.dropped++;
        g_free(it);
    }
    g_free(items);
}

/* ---- sending ----------------------------------------------------------- */

static void replay_next_batch(void);

/* Put one command on the wire: as EVALSHA when the connection has the
 * script (the journal and the item keep the EVAL form). */
static int send_item(struct item *it)
{
    if (pb_conn_script_ok(st.conn)
        && pb_event_tracker_evalsha(it->data, it->len, st.sha, st.scratch) == 0)
        return pb_conn_send(st.conn, st.scratch->str, st.scratch->len, it);
    return pb_conn_send(st.conn, it->data, it->len, it);
}

/* Send what may go now: the journal first, else waiting live events. */
static void pump(void)
{
    GList *l;

    if (!st.running || !pb_conn_is_up(st.conn))
        return;
    if (journal_first()) {
        replay_next_batch();
        return;
    }
    while (st.sent.length < LIVE_WINDOW && (l = g_queue_peek_head_link(&st.waiting)) != NULL) {
        struct item *it = l->data;

        if (send_item(it) != 0)
            break;
        g_queue_unlink(&st.waiting, l);
        g_queue_push_tail_link(&st.sent, l);
    }
}

static int copy_record(void *arg, const char *rec, size_t len)
{
    g_ptr_array_add(arg, item_new(ITEM_REPLAY, rec, len));
    return 0;
}

/* Put the next REPLAY_BATCH journal records on the wire (if none are). */
static void replay_next_batch(void)
{
    GPtrArray *batch;
    long n;

    if (st.replay_n > 0 || st.stopping)
        return;
    batch = g_ptr_array_new();
    n = pb_journal_peek(st.journal, REPLAY_BATCH, copy_record, batch);
    if (n <= 0) {
        pb_log(LOG_ERR, "store: journal cannot be read (%s); replay stopped until restart",
               n < 0 ? strerror(errno) : "no record at the head");
        st.replay_broken = 1;
    }
    st.replay_done = st.replay_ok = 0;
    st.replay_failed = 0;
    for (guint i = 0; i < batch->len; i++) {
        struct item *it = batch->pdata[i];
        if (send_item(it) == 0) {
            st.replay_n++;
        } else {
            g_free(it);
        }
    }
    g_ptr_array_free(batch, TRUE);
    if (st.replay_broken)
        pump();
}

/* Every record of the batch has its outcome: drop the answered ones
 * (a prefix: after a failure the rest is replayed again, harmlessly). */
static void replay_batch_end(void)
{
    if (st.replay_ok > 0 && pb_journal_consume(st.journal, st.replay_ok, 0) != 0)
        pb_log(LOG_ERR, "store: cannot drop replayed journal records (%s); "
               "they will be replayed again, without effect", strerror(errno));
    st.replayed_run += st.replay_ok;
    st.replay_n = 0;
    if (pb_journal_backlog(st.journal) == 0 && st.replayed_run > 0) {
        pb_log(LOG_INFO, "store: journal replayed (%lu records)", st.replayed_run);
        st.replayed_run = 0;
    }
    pump();
}

/* ---- replies ----------------------------------------------------------- */

/* A stored event (1) or a duplicate (0, already written before). */
static void count_answer(const redisReply *r, int journaled)
{
    static struct pb_log_limit lim;

    if (r->type == REDIS_REPLY_INTEGER && r->integer == 1) {
        st.stats.written++;
    } else if (r->type == REDIS_REPLY_ERROR && !journaled) {
        st.stats.dropped++;
        pb_log_limited(&lim, 6, LOG_ERR, "store: event rejected by Redis, dropped: %s", r->str);
    }
}

static void replay_reply(struct item *it, const redisReply *r)
{
    st.replay_done++;
    if (r == NULL) {
        st.replay_failed = 1;
    } else {
        count_answer(r, 0);
        st.stats.replayed++;
        if (!st.replay_failed)
            st.replay_ok++;
    }
    g_free(it);
    if (st.replay_done == st.replay_n)
        replay_batch_end();
}

static void on_reply(void *owner, void *cmd, const redisReply *r)
{
    struct item *it = cmd;

    (void)owner;
    if (it->kind == ITEM_REPLAY) {
        replay_reply(it, r);
        return;
    }
    if (it->detached) {
        if (r)
            count_answer(r, it->journaled);
        else if (!it->journaled)
            st.stats.dropped++;
        g_free(it);
        return;
    }
    g_queue_unlink(&st.sent, &it->link);
    if (r == NULL) {
        g_queue_push_tail_link(&st.failed, &it->link);  /* the down hook decides */
        return;
    }
    count_answer(r, 0);
    g_free(it);
    pump();
}

static void on_up(void *owner)
{
    (void)owner;
    st.stats.redis_up = 1;
    pump();
}

static void on_down(void *owner)
{
    (void)owner;
    st.stats.redis_up = 0;
    if (st.journal) {
        flush_live_to_journal();
    } else {
        /* keep them, oldest first, for the next connection */
        queue_move_all(&st.waiting, &st.failed);
        queue_move_all(&st.failed, &st.waiting);
    }
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    static struct pb_log_limit lim;

    (void)fd;
    (void)what;
    (void)arg;
    if (st.journal && pb_journal_sync(st.journal) != 0)
        pb_log_limited(&lim, 6, LOG_ERR, "store: journal fsync: %s", strerror(errno));
    pump();
}

/* ---- the public interface ---------------------------------------------- */

/* The event as one command (lib/events_tracker.c). */
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
    GString *cmd = g_string_sized_new(4096);
    struct item *it;

    pb_event_tracker_command(st.prefix, &st.retention, &rec, NULL, cmd);
    it = item_new(ITEM_LIVE, cmd->str, cmd->len);
    g_string_free(cmd, TRUE);
    return it;
}

/* To the journal, behind everything in memory. */
static void submit_to_journal(struct item *it)
{
    flush_live_to_journal();
    if (journal_items(&it, 1) != 1)
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
    full = live_count() >= st.queue_max;
    if (st.journal && (full || st.stopping || journal_first() || !pb_conn_is_up(st.conn))) {
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
    pump();
}

int pb_store_start(struct event_base *base, const struct pb_conf *conf,
                   char *errbuf, size_t errlen)
{
    static const struct pb_conn_hooks hooks = { on_up, on_down, on_reply };
    const char *jpath = conf->tracker.journal;
    struct timeval second = { 1, 0 };

    if (st.running) {
        g_snprintf(errbuf, errlen, "store: already started");
        return -1;
    }
    memset(&st, 0, sizeof(st));
    if (jpath && jpath[0]) {
        st.journal = pb_journal_open(jpath, conf->redis.journal_fsync, errbuf, errlen);
        if (st.journal == NULL)
            return -1;
        if (pb_journal_backlog(st.journal) > 0)
            pb_log(LOG_INFO, "store: %zu events waiting in %s",
                   pb_journal_backlog(st.journal), jpath);
    } else {
        pb_log(LOG_WARNING, "tracker.journal not set: events are lost while Redis is down");
    }
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
    st.running = 1;
    st.tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
    event_add(st.tick, &second);
    st.conn = pb_conn_new(base, &conf->redis, &hooks, NULL);
    st.scratch = g_string_sized_new(4096);
    pb_event_tracker_script_load(st.scratch);
    pb_event_tracker_sha(st.sha);
    pb_conn_load_script(st.conn, st.scratch->str, st.scratch->len, st.sha);
    return 0;
}

static void stop_wakeup(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

/* Run the loop until what is on the wire is answered, Redis is down or
 * the deadline passes. */
static void drain(int timeout_ms)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)MAX(timeout_ms, 0) * 1000;
    struct event *wake = evtimer_new(st.base, stop_wakeup, NULL);

    while (pb_conn_is_up(st.conn) && (live_count() > 0 || st.replay_n > 0)) {
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

void pb_store_stop(int timeout_ms)
{
    struct pb_store_stats s;
    size_t lost;

    if (!st.running)
        return;
    st.stopping = 1;
    drain(timeout_ms);
    pb_conn_free(st.conn);      /* unanswered: reply hook with NULL */
    st.conn = NULL;
    queue_move_all(&st.waiting, &st.failed);
    queue_move_all(&st.failed, &st.waiting);
    lost = live_count();
    if (st.journal) {
        flush_live_to_journal();
        lost = 0;
    } else {
        GList *l;
        while ((l = g_queue_peek_head_link(&st.waiting)) != NULL) {
            g_queue_unlink(&st.waiting, l);
            g_free(l->data);
        }
        st.stats.dropped += lost;
    }
    st.stats.redis_up = 0;
    pb_store_stats(&s);
    pb_log(LOG_INFO, "store: stopped (written %lu, replayed %lu, journaled %lu, "
           "journal errors %lu, dropped %lu, backlog %zu)", s.written, s.replayed,
           s.journaled, s.journal_errors, s.dropped, s.backlog);
    if (lost > 0)
        pb_log(LOG_ERR, "store: %zu events lost at stop (no journal)", lost);
    event_free(st.tick);
    pb_journal_close(st.journal);
    g_free(st.prefix);
    g_string_free(st.scratch, TRUE);
    st.scratch = NULL;
    st.journal = NULL;
    st.prefix = NULL;
    st.running = 0;
}

void pb_store_stats(struct pb_store_stats *out)
{
    *out = st.stats;
    out->queued = live_count();
    out->backlog = st.journal ? pb_journal_backlog(st.journal) : 0;
    out->redis_up = st.running && st.conn && pb_conn_is_up(st.conn);
}
