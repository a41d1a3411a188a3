/*
 * store_send.c - what the tracker's event store puts on the wire, and what
 * becomes of it (see store.c for where events go when submitted):
 *
 *   live      waiting events leave in batches (one script run of up to
 *             PB_TRACK_BATCH_MAX events, lib/events_tracker.c), at most
 *             LIVE_BATCHES on the wire at once: what arrives meanwhile
 *             waits and makes the next batch bigger, so a busy Redis runs
 *             fewer, larger scripts. A batch keeps its events until Redis
 *             answers it; then its journaled events leave the journal's
 *             head, where they are (the journal holds, in order, exactly
 *             the journaled events in memory unless it spilled).
 *   replay    while the journal holds records memory does not ("spill":
 *             Redis was away, memory was full, a restart), it goes first,
 *             once the live batches on the wire are answered: a round of
 *             up to REPLAY_RECORDS records, in batches, pipelined; the
 *             records leave the journal (pb_journal_consume) only once
 *             Redis has answered them, as a prefix: after a failure the
 *             rest is replayed again.
 *   spill     when the connection goes, or memory is full, the events the
 *             journal has leave memory (failed batches, waiting events);
 *             those it does not have (disk full) stay and are sent again
 *             after the replay.
 *
 * An event that reaches Redis twice (a lost reply, a replay after a crash
 * between Redis' answer and the bookkeeping) is skipped the second time
 * by its bit in Redis (lib/events_tracker.c), in whatever order it comes.
 */
#include <errno.h>
#include <string.h>
#include "log.h"
#include "store_int.h"

static void replay_next_round(void);

size_t store_live_count(void)
{
    return st.uncommitted.length + st.waiting.length + st.live_events;
}

int store_journal_first(void)
{
    return st.journal && !st.replay_broken && (st.spill || st.replay_batches > 0);
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
    b->ours = 1;
    for (l = b->items.head; l; l = l->next)
        b->journaled += ((struct item *)l->data)->in_journal;
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
        if (st.sent.length == 0)    /* the live batches' records are the journal's head */
            replay_next_round();
        return;
    }
    while (st.sent.length < LIVE_BATCHES && st.waiting.length > 0)
        if (send_live_batch() != 0)
            break;
}

/* ---- replies ------------------------------------------------------------- */

/* Count what Redis answered for b: per event '1' written, '0' written
 * before (by this process if b is ours: its reply was lost, so it counts
 * now), 'D' a custom event whose id was written before (a sender's
 * retry: counted in duplicates), 'E' refused (broken: dropped, never
 * retried); an error reply
 * refuses the whole batch. */
static void count_answer(const struct batch *b, const redisReply *r)
{
    static struct pb_log_limit lim;
    unsigned refused = 0;
    const char *why = NULL;

    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2
        && r->element[0]->type == REDIS_REPLY_STRING && r->element[0]->len == b->n) {
        for (size_t i = 0; i < b->n; i++) {
            char a = r->element[0]->str[i];
            st.stats.written += a == '1' || (a == '0' && b->ours);
            refused += a == 'E';
            st.stats.duplicates += a == 'D';
        }
        why = r->element[1]->type == REDIS_REPLY_STRING ? r->element[1]->str : "?";
    } else if (r->type == REDIS_REPLY_INTEGER) {    /* an older tracker's record */
        st.stats.written += r->integer == 1;
    } else {
        refused = b->n;
        why = r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply";
    }
    if (refused > 0) {
        st.stats.dropped += refused;
        pb_log_limited(&lim, 6, LOG_ERR, "store: %u event(s) refused by Redis, dropped: %s",
                       refused, why);
    }
}

/* Drop n answered records from the journal's head: by their lengths
 * when known (lens: the writer appended them, nothing to read), else by
 * reading their headers. */
static void consume(size_t n, const size_t *lens)
{
    int rc;

    if (n == 0 || st.journal == NULL || st.replay_broken)
        return;
    rc = lens ? pb_journal_consume_known(st.journal, lens, n)
              : pb_journal_consume(st.journal, n, 0);
    if (rc != 0)
        pb_log(LOG_ERR, "store: cannot drop answered journal records (%s); "
               "they will be replayed again, without effect", strerror(errno));
}

/* An answered live batch: its journaled events are the journal's head. */
static void consume_batch(const struct batch *b)
{
    size_t lens[PB_TRACK_BATCH_MAX], n = 0;

    for (GList *l = b->items.head; l && n < PB_TRACK_BATCH_MAX; l = l->next)
        if (((struct item *)l->data)->in_journal)
            lens[n++] = ((struct item *)l->data)->len;
    consume(n, lens);
}

/* Every batch of the round has its outcome: drop the records answered
 * (a prefix: after a failure the rest is replayed again, harmlessly). */
static void replay_round_end(void)
{
    consume(st.replay_ok, NULL);
    st.replayed_run += st.replay_ok;
    st.replay_batches = st.replay_done = 0;
    if (pb_journal_backlog(st.journal) == 0) {
        st.spill = 0;
        if (st.replayed_run > 0)
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
        count_answer(b, r);
        st.stats.replayed += b->n;
        if (!st.replay_failed)
            st.replay_ok += b->n;
    }
    g_free(b);
    if (st.replay_done == st.replay_batches)
        replay_round_end();
}

void store_on_reply(void *owner, void *cmd, const redisReply *r)
{
    struct batch *b = cmd;

    (void)owner;
    if (b->kind == BATCH_REPLAY) {
        replay_reply(b, r);
        return;
    }
    g_queue_unlink(&st.sent, &b->link);
    if (r == NULL) {
        g_queue_push_tail_link(&st.failed, &b->link);  /* the down hook decides */
        return;
    }
    count_answer(b, r);
    consume_batch(b);
    st.live_events -= b->n;
    free_items(&b->items);
    g_free(b);
    store_pump();
}

/* ---- replaying the journal ------------------------------------------------- */

/* Send one replay command of n records; 0, or -1 if it cannot go. */
static int replay_send(const char *cmd, size_t len, unsigned n, int ours)
{
    struct batch *b = batch_new(BATCH_REPLAY, n);

    b->ours = ours;
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
        rc = replay_send(st.cmd->str, st.cmd->len, st.batch.n,
                         memcmp(st.batch.run, st.run.id, 16) == 0);
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
    return replay_send(rec, len, 1, 0);     /* an older record: as it is */
}

/* Put the next round of journal records on the wire (if none is). */
static void replay_next_round(void)
{
    long n;

    if (st.replay_batches > 0 || st.stopping)
        return;
    if (pb_journal_backlog(st.journal) == 0) {     /* live answers emptied it */
        st.spill = 0;
        store_pump();
        return;
    }
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
        if (st.replay_batches == 0)
            store_pump();
    }
}

/* ---- leaving memory for the journal ------------------------------------------ */

/* Free the items of q the journal has (unless it cannot be replayed);
 * move the others to the tail of keep, in order. */
static void keep_unjournaled(GQueue *q, GQueue *keep)
{
    GList *l;

    while ((l = g_queue_pop_head_link(q)) != NULL) {
        struct item *it = l->data;

        if (it->in_journal && st.journal && !st.replay_broken)
            g_free(it);
        else
            g_queue_push_tail_link(keep, l);
    }
}

void store_spill(void)
{
    GQueue keep = G_QUEUE_INIT;

    keep_unjournaled(&st.waiting, &keep);
    st.waiting = keep;
    st.spill = 1;
}

void store_requeue_failed(void)
{
    GQueue keep = G_QUEUE_INIT;
    GList *l;

    while ((l = g_queue_pop_head_link(&st.failed)) != NULL) {
        struct batch *b = l->data;

        keep_unjournaled(&b->items, &keep);
        st.live_events -= b->n;
        g_free(b);
    }
    keep_unjournaled(&st.waiting, &keep);
    st.waiting = keep;
    if (st.journal && !st.replay_broken && pb_journal_backlog(st.journal) > 0)
        st.spill = 1;
}
