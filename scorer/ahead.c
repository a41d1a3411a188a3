/*
 * ahead.c - new entries, pipelined. A scorer that sends a batch's script
 * and waits for the answer before it reads and builds the next batch
 * leaves Redis idle while it builds, and itself idle while Redis runs the
 * script. Here each round trip carries the script of the batch built last
 * and the read of the batch after it, and while Redis runs them the
 * scorer builds the batch it read in the round trip before: its work and
 * Redis' overlap.
 *
 * A scorer so holds up to two batches beyond the one in flight (one built,
 * one read). They are pending under its name like any entries it read: a
 * crash leaves them to its restart (own pending entries) or to another
 * scorer's claim, and a stop runs them first (pb_scorer_flush).
 */
#include <string.h>
#include "scorer.h"

const redisReply *pb_scorer_read_entries(const redisReply *r)
{
    const redisReply *stream;

    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 1)
        return NULL;
    stream = r->element[0];
    if (stream->type != REDIS_REPLY_ARRAY || stream->elements != 2
        || stream->element[1]->type != REDIS_REPLY_ARRAY || stream->element[1]->elements == 0)
        return NULL;
    return stream->element[1];
}

void pb_scorer_drop_ahead(struct pb_scorer *s)
{
    pb_sc_batch_free(&s->next);
    if (s->ahead != NULL)
        freeReplyObject(s->ahead);
    s->ahead = NULL;
}

static redisReply *read_new(struct pb_scorer *s, int block)
{
    const struct pb_scorer_conf *sc = &s->conf->scorer;
    int ms = s->block_cap_ms > 0 && s->block_cap_ms < sc->block_ms ? s->block_cap_ms
                                                                     : sc->block_ms;

    if (block)
        return redisCommand(s->c, "XREADGROUP GROUP %s %s COUNT %d BLOCK %d STREAMS %s >",
                            sc->consumer_group, s->consumer, sc->batch, ms, s->stream);
    return redisCommand(s->c, "XREADGROUP GROUP %s %s COUNT %d STREAMS %s >",
                        sc->consumer_group, s->consumer, sc->batch, s->stream);
}

/* Keep a read's reply if it brought entries; -1 if it is not a read's. */
static int keep_read(struct pb_scorer *s, redisReply *r)
{
    if (r == NULL || (r->type != REDIS_REPLY_ARRAY && r->type != REDIS_REPLY_NIL)) {
        pb_log_limited(&s->limit, 10, LOG_ERR, "XREADGROUP: %s",
                       r == NULL ? (s->c->errstr[0] ? s->c->errstr : "no reply")
                       : r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        if (r != NULL)
            freeReplyObject(r);
        return -1;
    }
    if (pb_scorer_read_entries(r) != NULL)
        s->ahead = r;
    else
        freeReplyObject(r);
    return 0;
}

/* Send the built batch (if any) and a read of what follows, in one write. */
static int send_round(struct pb_scorer *s, const struct pb_sc_batch *cur)
{
    const struct pb_scorer_conf *sc = &s->conf->scorer;
    int done = 0;

    if (cur->argv != NULL
        && redisAppendCommandArgv(s->c, cur->argc, (const char **)cur->argv, NULL) != REDIS_OK)
        return -1;
    if (redisAppendCommand(s->c, "XREADGROUP GROUP %s %s COUNT %d STREAMS %s >",
                           sc->consumer_group, s->consumer, sc->batch, s->stream) != REDIS_OK)
        return -1;
    while (!done)
        if (redisBufferWrite(s->c, &done) != REDIS_OK)
            return -1;
    return 0;
}

/* Build what was read ahead, while Redis works. */
static void build_ahead(struct pb_scorer *s)
{
    if (s->ahead == NULL)
        return;
    pb_scorer_prepare(s, pb_scorer_read_entries(s->ahead), &s->next);
    freeReplyObject(s->ahead);
    s->ahead = NULL;
}

static int fail(struct pb_scorer *s, struct pb_sc_batch *cur, redisReply *answer)
{
    if (answer != NULL)
        freeReplyObject(answer);
    pb_sc_batch_free(cur);
    if (s->c != NULL && s->c->err)
        pb_log_limited(&s->limit, 10, LOG_ERR, "Redis: %s; the batches read stay pending",
                       s->c->errstr);
    pb_scorer_disconnect(s);
    return -1;
}

int pb_scorer_new_entries(struct pb_scorer *s, int block)
{
    struct pb_sc_batch cur = { 0 };
    redisReply *answer = NULL;
    void *reply = NULL;
    int n;

    if (s->next.argv == NULL && s->ahead == NULL) {
        /* nothing in hand: wait for new entries */
        if (keep_read(s, read_new(s, block)) != 0)
            return fail(s, &cur, NULL);
        if (s->ahead == NULL)
            return 0;
    }
    cur = s->next;
    memset(&s->next, 0, sizeof(s->next));
    if (send_round(s, &cur) != 0)
        return fail(s, &cur, NULL);
    build_ahead(s);
    if (cur.argv != NULL) {
        if (redisGetReply(s->c, &reply) != REDIS_OK)
            return fail(s, &cur, NULL);
        answer = reply;
    }
    if (redisGetReply(s->c, &reply) != REDIS_OK || keep_read(s, reply) != 0)
        return fail(s, &cur, answer);
    if (cur.argv == NULL)           /* the first round only read and built */
        return s->next.argv != NULL || s->ahead != NULL ? 1 : 0;
    n = (int)cur.entries;
    if (pb_scorer_answer(s, &cur, answer) != 0)
        return fail(s, &cur, NULL);
    return n;
}

int pb_scorer_flush(struct pb_scorer *s)
{
    struct pb_sc_batch cur = s->next;
    int rc = 0;

    memset(&s->next, 0, sizeof(s->next));
    if (s->c == NULL) {
        pb_sc_batch_free(&cur);
        pb_scorer_drop_ahead(s);
        return -1;
    }
    if (cur.argv != NULL)
        rc = pb_scorer_answer(s, &cur, redisCommandArgv(s->c, cur.argc, (const char **)cur.argv,
                                                        NULL));
    if (rc == 0 && s->ahead != NULL)
        rc = pb_scorer_batch(s, pb_scorer_read_entries(s->ahead));
    pb_scorer_drop_ahead(s);
    return rc;
}
