/*
 * record_redis.c - the send recorder's Redis side (see record.c for the
 * whole picture): the writer thread's connection, with one "unreachable"
 * log line per outage and backoff between attempts, and pipelined sends
 * of queued or journaled commands, as EVALSHA on a live connection with
 * a fallback to EVAL when Redis answers NOSCRIPT.
 */
#include <string.h>
#include <hiredis/hiredis.h>
#include "log.h"
#include "record_int.h"
#include "redis_conn.h"

/*
 * Log lines: "unreachable" once per outage (an outage ends with the first
 * command Redis accepts), "connected" once per connection after it. So a
 * Redis that accepts connections but refuses writes (OOM) logs two lines,
 * not one pair per retry.
 */
void pb_writer_down(struct writer *w, const char *reason)
{
    char why[256];

    snprintf(why, sizeof(why), "%s", reason && reason[0] ? reason : "connection lost");
    if (w->ctx) {
        redisFree(w->ctx);      /* reason may point into it: copied above */
        w->ctx = NULL;
    }
    w->next_connect_us = g_get_monotonic_time() + (gint64)w->backoff_ms * 1000;
    w->backoff_ms = MIN(w->backoff_ms * 2, BACKOFF_MAX_MS);
    pthread_mutex_lock(&pb_recorder.lock);
    pb_recorder.stats.redis_up = 0;
    pthread_mutex_unlock(&pb_recorder.lock);
    if (!w->down_logged) {
        pb_log(LOG_WARNING, "redis: %s unreachable (%s), %s", pb_recorder.target, why,
               pb_recorder.journal ? "journaling" : "queueing in memory (no journal)");
        w->down_logged = 1;
        w->up_logged = 0;
    }
}

/* Redis answered a command: the outage, if any, is over. */
static void writer_healthy(struct writer *w)
{
    w->backoff_ms = BACKOFF_MIN_MS;
    w->down_logged = 0;
}

void pb_writer_connect(struct writer *w)
{
    char why[256];
    redisContext *ctx = pb_redis_connect(&pb_recorder.redis, why, sizeof(why));

    if (ctx == NULL) {
        pb_writer_down(w, why);
        return;
    }
    w->ctx = ctx;
    w->replayed_run = 0;
    w->use_sha = 0;             /* the first batch's EVAL caches the script */
    pthread_mutex_lock(&pb_recorder.lock);
    pb_recorder.stats.redis_up = 1;
    pthread_mutex_unlock(&pb_recorder.lock);
    if (!w->up_logged)
        pb_log(LOG_INFO, "redis: connected to %s", pb_recorder.target);
    w->up_logged = 1;
}

/* Append item to the connection's output: as EVALSHA when Redis is
 * believed to have the script; 1 if it went as EVALSHA, -1 on error. */
static int append_item(struct writer *w, const struct item *it)
{
    if (w->use_sha && pb_event_sent_evalsha(it->data, it->len, pb_recorder.sha, w->sha_cmd) == 0)
        return redisAppendFormattedCommand(w->ctx, w->sha_cmd->str, w->sha_cmd->len) == REDIS_OK
                   ? 1 : -1;
    return redisAppendFormattedCommand(w->ctx, it->data, it->len) == REDIS_OK ? 0 : -1;
}

/* Read and drop the replies of the n commands still in flight after a
 * NOSCRIPT. 0, or -1 after closing a connection that failed. */
static int drain_replies(struct writer *w, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        redisReply *reply = NULL;
        if (redisGetReply(w->ctx, (void **)&reply) != REDIS_OK || reply == NULL) {
            pb_writer_down(w, w->ctx->err ? w->ctx->errstr : "no reply");
            return -1;
        }
        freeReplyObject(reply);
    }
    return 0;
}

/*
 * Send items[0..n) pipelined. Returns how many from the start are settled
 * (written, or rejected for good and counted in *rejected); fewer than n
 * means the connection failed or Redis refused writes, and is now closed,
 * or (w->noscript set, connection open) Redis lacked the script: send the
 * rest again, it goes as EVAL now.
 */
static size_t pipeline(struct writer *w, struct item **items, size_t n,
                       unsigned long *written, unsigned long *rejected)
{
    static struct pb_log_limit reject_lim;
    unsigned char as_sha[BATCH_MAX];
    size_t i;

    *written = *rejected = 0;
    w->noscript = 0;
    n = MIN(n, (size_t)BATCH_MAX);
    for (i = 0; i < n; i++) {
        int rc = append_item(w, items[i]);
        if (rc < 0) {
            pb_writer_down(w, w->ctx->errstr);
            return 0;
        }
        as_sha[i] = (unsigned char)rc;
    }
    for (i = 0; i < n; i++) {
        redisReply *reply = NULL;
        if (redisGetReply(w->ctx, (void **)&reply) != REDIS_OK || reply == NULL) {
            pb_writer_down(w, w->ctx->err ? w->ctx->errstr : "no reply");
            break;
        }
        if (reply->type == REDIS_REPLY_ERROR && as_sha[i]
            && strncmp(reply->str, "NOSCRIPT", 8) == 0) {
            freeReplyObject(reply);
            w->use_sha = 0;
            if (drain_replies(w, n - i - 1) == 0)
                w->noscript = 1;
            break;
        }
        if (reply->type == REDIS_REPLY_ERROR && pb_redis_error_is_transient(reply->str)) {
            char why[256];
            snprintf(why, sizeof(why), "%s", reply->str);
            freeReplyObject(reply);
            pb_writer_down(w, why);
            break;
        }
        writer_healthy(w);
        if (reply->type == REDIS_REPLY_ERROR) {
            pb_log_limited(&reject_lim, 6, LOG_ERR, "redis: send record rejected, dropped: %s",
                           reply->str);
            (*rejected)++;
        } else {
            (*written)++;
            w->use_sha = 1;     /* an EVAL of it (or EVALSHA) ran: the script is cached */
        }
        freeReplyObject(reply);
    }
    return i;
}

/* pipeline(), again after a NOSCRIPT (as EVAL then). */
size_t pb_writer_pipeline(struct writer *w, struct item **items, size_t n,
                          unsigned long *written, unsigned long *rejected)
{
    size_t settled = 0;

    *written = *rejected = 0;
    do {
        unsigned long wr, rj;
        settled += pipeline(w, items + settled, n - settled, &wr, &rj);
        *written += wr;
        *rejected += rj;
    } while (settled < n && w->noscript && w->ctx != NULL);
    return settled;
}
