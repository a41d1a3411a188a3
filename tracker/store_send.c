/*
 * store_send.c - what the tracker's event store puts on the wire, and what
 * becomes of it (see store.c for where events go when submitted):
 *
 *   live      waiting events leave in batches (one script run of up to
 *             PB_TRACK_BATCH_MAX events, lib/events_tracker.c), at most
 *             LIVE_BATCHES on the wire at once: what arrives meanwhile
 *             waits and makes the next batch bigger, so a busy Redis runs
 *             fewer, larger scripts. A batch keeps its events until Redis
 *             answers it.
 *   replay    while the journal holds anything it goes first: a round of
 *             up to REPLAY_RECORDS records, in batches, pipelined; the
 *             records leave the journal (pb_journal_consume) only once
 *             Redis has answered them, as a prefix: after a failure the
 *             rest is replayed again.
 *   journal   when the connection goes, or memory is full, everything in
 *             memory moves to the journal, oldest first: failed batches,
 *             then those still on the wire (detached: their reply, if it
 *             comes, is only counted), then the waiting events.
 *
 * A batch that reaches Redis twice (journaled while on the wire, or
 * replayed after a crash between Redis' answer and the bookkeeping) is
 * skipped the second time by its event numbers, which reach Redis in order
 * because the journal is always replayed before newer events are sent.
 */
#include <errno.h>
#include <string.h>
#include "log.h"
#include "store_int.h"

static void replay_next_round(void);

size_t store_live_count(void)
{
    return st.waiting.length + st.live_events;
}

int store_journal_first(void)
{
    return st.journal && !st.replay_broken
        && (st.replay_batches > 0 || pb_journal_backlog(st.journal) > 0);
}

static struct batch *batch_new(enum batch_kind kind, unsigned n)
{
    struct batch *b = g_new0(struct batch, 1);

    b->link.data = b;
    b->kind = kind;
    b->n = n;
    return b;
}

static void free_items(GQueue *q)
{
    GList *l;

    while ((l = g_queue_pop_head_link(q)) != NULL)
        g_free(l->data);
}

/* The command of st.batch: EVALSHA while the connection has the script. */
static void batch_command(void)
{
    pb_track_batch_command(&st.batch, &st.retention,
                           pb_conn_script_ok(st.conn) ? st.sha : NULL, st.cmd);
}

/* ---- live batches -------------------------------------------------------- */

/* Take up to PB_TRACK_BATCH_MAX waiting events into one batch and send it;
 * -1 (nothing moved) if it cannot be sent. */
static int send_live_batch(void)
{
    struct batch *b = batch_new(BATCH_LIVE, 0);
    GList *l;

    pb_track_batch_reset(&st.batch);
    while ((l = g_queue_peek_head_link(&st.waiting)) != NULL) {
        struct item *it = l->data;
        int added = pb_track_batch_add(&st.batch, it->data, it->len);

        if (added == 0)
            break;
        g_queue_unlink(&st.waiting, l);
        if (added < 0) {        /* cannot happen: this build made it */
            st.stats.dropped++;
            g_free(it);
            continue;
        }
        g_queue_push_tail_link(&b->items, l);
    }
    b->n = b->items.length;
    if (b->n == 0) {
        g_free(b);
        return 0;
    }
    batch_command();
    if (pb_conn_send(st.conn, st.cmd->str, st.cmd->len, b) != 0) {
        while ((l = g_queue_pop_tail_link(&b->items)) != NULL)
            g_queue_push_head_link(&st.waiting, l);
        g_free(b);
        return -1;
    }
    st.live_events += b->n;
    g_queue_push_tail_link(&st.sent, &b->link);
    return 0;
}

void store_pump(void)
{
    if (!st.running || st.conn == NULL || !pb_conn_is_up(st.conn))
        return;
    if (store_journal_first()) {
        replay_next_round();
        return;
    }
    while (st.sent.length < LIVE_BATCHES && st.waiting.length > 0)
        if (send_live_batch() != 0)
            break;
}

/* ---- replies ------------------------------------------------------------- */

/* Count what Redis answered for b: per event '1' written, '0' written
 * before, 'E' refused (broken: dropped, never retried); an error reply
 * refuses the whole batch (unless the journal has it: its replay counts). */
static void count_answer(const struct batch *b, const redisReply *r, int journaled)
{
    static struct pb_log_limit lim;
    unsigned refused = 0;
    const char *why = NULL;

    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2
        && r->element[0]->type == REDIS_REPLY_STRING && r->element[0]->len == b->n) {
        for (size_t i = 0; i < b->n; i++) {
            st.stats.written += r->element[0]->str[i] == '1';
            refused += r->element[0]->str[i] == 'E';
        }
        why = r->element[1]->type == REDIS_REPLY_STRING ? r->element[1]->str : "?";
    } else if (r->type == REDIS_REPLY_INTEGER) {    /* an older tracker's record */
        st.stats.written += r->integer == 1;
    } else if (!journaled) {
        refused = b->n;
        why = r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply";
    }
    if (refused > 0) {
        st.stats.dropped += refused;
        pb_log_limited(&lim, 6, LOG_ERR, "store: %u event(s) refused by Redis, dropped: %s",
                       refused, why);
    }
}

/* Every batch of the round has its outcome: drop the records answered
 * (a prefix: after a failure the rest is replayed again, harmlessly). */
static void replay_round_end(void)
{
    if (st.replay_ok > 0 && pb_journal_consume(st.journal, st.replay_ok, 0) != 0)
        pb_log(LOG_ERR, "store: cannot drop replayed journal records (%s); "
               "they will be replayed again, without effect", strerror(errno));
    st.replayed_run += st.replay_ok;
    st.replay_batches = st.replay_done = 0;
    if (pb_journal_backlog(st.journal) == 0 && st.replayed_run > 0) {
        pb_log(LOG_INFO, "store: journal replayed (%lu records)", st.replayed_run);
        st.replayed_run = 0;
    }
    store_pump();
}

static void replay_reply(struct batch *b, const redisReply *r)
{
    st.replay_done++;
    if (r == NULL) {
        st.replay_failed = 1;
    } else {
        count_answer(b, r, 0);
        st.stats.replayed += b->n;
        if (!st.replay_failed)
            st.replay_ok += b->n;
    }
    g_free(b);
    if (st.replay_done == st.replay_batches)
        replay_round_end();
}

static void detached_reply(struct batch *b, const redisReply *r)
{
    if (r)
        count_answer(b, r, b->journaled == b->n);
    else
        st.stats.dropped += b->n - b->journaled;
    g_free(b);
}

void store_on_reply(void *owner, void *cmd, const redisReply *r)
{
    struct batch *b = cmd;

    (void)owner;
    if (b->kind == BATCH_REPLAY) {
        replay_reply(b, r);
        return;
    }
    if (b->detached) {
        detached_reply(b, r);
        return;
    }
    g_queue_unlink(&st.sent, &b->link);
    if (r == NULL) {
        g_queue_push_tail_link(&st.failed, &b->link);  /* the down hook decides */
        return;
    }
    count_answer(b, r, 0);
    st.live_events -= b->n;
    free_items(&b->items);
    g_free(b);
    store_pump();
}

/* ---- replaying the journal ------------------------------------------------- */

/* Send one replay command of n records; 0, or -1 if it cannot go. */
static int replay_send(const char *cmd, size_t len, unsigned n)
{
    struct batch *b = batch_new(BATCH_REPLAY, n);

    if (pb_conn_send(st.conn, cmd, len, b) != 0) {
        g_free(b);
        return -1;
    }
    st.replay_batches++;
    return 0;
}

static int replay_flush_batch(void)
{
    int rc = 0;

    if (st.batch.n > 0) {
        batch_command();
        rc = replay_send(st.cmd->str, st.cmd->len, st.batch.n);
    }
    pb_track_batch_reset(&st.batch);
    return rc;
}

/* pb_journal_peek's callback: add the record to the batch, sending the
 * batch when it is full or the record belongs to another run. -1 stops
 * (cannot send). */
static int replay_record(void *arg, const char *rec, size_t len)
{
    int added = pb_track_batch_add(&st.batch, rec, len);

    (void)arg;
    if (added == 1)
        return 0;
    if (replay_flush_batch() != 0)
        return -1;
    if (added == 0)
        return pb_track_batch_add(&st.batch, rec, len) == 1 ? 0 : -1;
    return replay_send(rec, len, 1);    /* an older record: as it is */
}

/* Put the next round of journal records on the wire (if none is). */
static void replay_next_round(void)
{
    long n;

    if (st.replay_batches > 0 || st.stopping)
        return;
    st.replay_done = 0;
    st.replay_ok = 0;
    st.replay_failed = 0;
    pb_track_batch_reset(&st.batch);
    n = pb_journal_peek(st.journal, REPLAY_RECORDS, replay_record, NULL);
    if (n > 0)
        replay_flush_batch();
    pb_track_batch_reset(&st.batch);
    if (n < 0 || (n == 0 && st.replay_batches == 0 && pb_conn_is_up(st.conn))) {
        pb_log(LOG_ERR, "store: journal cannot be read (%s); replay stopped until restart",
               n < 0 ? strerror(errno) : "no record at the head");
        st.replay_broken = 1;
        st.new_run = 1;
        if (st.replay_batches == 0)
            store_pump();
    }
}

/* ---- moving to the journal -------------------------------------------------- */

size_t store_journal_items(struct item **items, size_t n)
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
    if (done > 0 && st.replay_broken)
        st.new_run = 1;
    g_free(recs);
    g_free(lens);
    return done;
}

/* Every item in memory, oldest first, into items (sized store_live_count()):
 * those of failed batches, of batches on the wire, the waiting ones. */
static size_t collect_items(struct item **items)
{
    GQueue *batches[2] = { &st.failed, &st.sent };
    size_t i = 0;

    for (int q = 0; q < 2; q++)
        for (GList *l = batches[q]->head; l; l = l->next)
            for (GList *e = ((struct batch *)l->data)->items.head; e; e = e->next)
                items[i++] = e->data;
    for (GList *l = st.waiting.head; l; l = l->next)
        items[i++] = l->data;
    return i;
}

void store_flush_live_to_journal(void)
{
    size_t n = store_live_count(), done, at = 0;
    struct item **items;
    GList *l;

    if (n == 0)
        return;
    items = g_new(struct item *, n);
    n = collect_items(items);
    done = store_journal_items(items, n);
    while ((l = g_queue_pop_head_link(&st.failed)) != NULL) {
        struct batch *b = l->data;
        at += b->n;
        st.stats.dropped += at > done ? MIN(at - done, b->n) : 0;
        free_items(&b->items);
        g_free(b);
    }
    while ((l = g_queue_pop_head_link(&st.sent)) != NULL) {
        struct batch *b = l->data;
        b->detached = 1;        /* its reply decides whether what the journal lacks is lost */
        b->journaled = done > at ? (unsigned)MIN(done - at, b->n) : 0;
        at += b->n;
        free_items(&b->items);
    }
    st.stats.dropped += st.waiting.length - (done > at ? MIN(done - at, st.waiting.length) : 0);
    free_items(&st.waiting);
    st.live_events = 0;
    g_free(items);
}

void store_requeue_failed(void)
{
    GList *l;

    while ((l = g_queue_pop_tail_link(&st.failed)) != NULL) {
        struct batch *b = l->data;
        GList *e;

        while ((e = g_queue_pop_tail_link(&b->items)) != NULL)
            g_queue_push_head_link(&st.waiting, e);
        st.live_events -= b->n;
        g_free(b);
    }
}
