/*
 * gauges.c - the scorer's gauges that live in Redis (admin.h), read by
 * the admin thread when /metrics or /healthz is asked for, with a
 * connection of its own: the consumer group's pending entries and lag
 * (XINFO GROUPS; lag needs Redis 7, and is left out where Redis cannot
 * tell), the size of each configured segment, the follow-up queue and
 * the uncertain list (ZCARD). One pipelined round trip, at most once a
 * second; connect and every reply bounded by redis.timeout_ms, so a
 * Redis that is down or hung costs a scrape that long at most and gives
 * postbeacon_scorer_redis_up 0 with the counters.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "admin.h"
#include "events.h"
#include "prom.h"
#include "redis_conn.h"

#define CACHE_MS 1000

struct pb_sc_gauges {
    const struct pb_conf *conf;
    char *stream;
    redisContext *c;
    long long read_ms;          /* monotonic time of the last update, 0 = never */
    int up;
    long long pending, lag;     /* -1: unknown */
    long long due, uncertain;   /* -1: unknown */
    char **segments;            /* what sizes are for (NULL-terminated) */
    long long *sizes;
    char err[256];
};

static long long monotonic_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct pb_sc_gauges *pb_sc_gauges_new(const struct pb_conf *conf)
{
    struct pb_sc_gauges *g = g_new0(struct pb_sc_gauges, 1);

    g->conf = conf;
    g->stream = g_strconcat(conf->redis.prefix, PB_KEY_EVENTS, NULL);
    g->segments = g_new0(char *, 1);
    return g;
}

void pb_sc_gauges_free(struct pb_sc_gauges *g)
{
    if (g == NULL)
        return;
    if (g->c != NULL)
        redisFree(g->c);
    g_free(g->stream);
    g_strfreev(g->segments);
    g_free(g->sizes);
    g_free(g);
}

/* An integer reply, else -1. */
static long long integer(const redisReply *r)
{
    return r != NULL && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
}

/* Send every command, then take every reply; 0, or -1 (g->err) if the
 * connection failed on the way. */
static int read_all(struct pb_sc_gauges *g)
{
    const char *p = g->conf->redis.prefix;
    size_t n = MIN(g_strv_length(g->segments), PB_SC_SEG_LABELS);
    redisReply *r[3 + PB_SC_SEG_LABELS] = { NULL };
    int rc = 0;

    if (redisAppendCommand(g->c, "XINFO GROUPS %s", g->stream) != REDIS_OK
        || redisAppendCommand(g->c, "ZCARD %s%s", p, PB_KEY_WF_DUE) != REDIS_OK
        || redisAppendCommand(g->c, "ZCARD %s%s", p, PB_KEY_WF_UNCERTAIN) != REDIS_OK)
        rc = -1;
    for (size_t i = 0; i < n && rc == 0; i++)
        if (redisAppendCommand(g->c, "ZCARD %s%s%s", p, PB_KEY_SEGMENT, g->segments[i])
            != REDIS_OK)
            rc = -1;
    if (rc != 0) {
        snprintf(g->err, sizeof(g->err), "%s", g->c->errstr);
        return -1;
    }
    for (size_t i = 0; i < 3 + n && rc == 0; i++)
        if (redisGetReply(g->c, (void **)&r[i]) != REDIS_OK) {
            snprintf(g->err, sizeof(g->err), "%s", g->c->errstr);
            rc = -1;
        }
    if (rc == 0) {
        /* no stream or group yet (an error reply): both stay unknown */
        if (r[0]->type == REDIS_REPLY_ARRAY)
            pb_scorer_parse_group_info(r[0], g->conf->scorer.consumer_group, &g->pending,
                                       &g->lag);
        g->due = integer(r[1]);
        g->uncertain = integer(r[2]);
        for (size_t i = 0; g->segments[i] != NULL; i++)
            g->sizes[i] = i < n ? integer(r[3 + i]) : -1;
    }
    for (size_t i = 0; i < 3 + n; i++)
        if (r[i] != NULL)
            freeReplyObject(r[i]);
    return rc;
}

/* Whether the cached values are for these segments. */
static int same_segments(const struct pb_sc_gauges *g, char *const *segments)
{
    return g_strv_equal((const char *const *)g->segments, (const char *const *)segments);
}

int pb_sc_gauges_update(struct pb_sc_gauges *g, char *const *segments)
{
    long long now = monotonic_ms();

    if (g->read_ms != 0 && now - g->read_ms < CACHE_MS && same_segments(g, segments))
        return g->up;
    if (!same_segments(g, segments)) {
        g_strfreev(g->segments);
        g->segments = g_strdupv((char **)segments);
        g_free(g->sizes);
        g->sizes = g_new(long long, g_strv_length(g->segments) + 1);
    }
    g->read_ms = now;
    g->pending = g->lag = g->due = g->uncertain = -1;
    g->err[0] = '\0';
    if (g->c == NULL)
        g->c = pb_redis_connect(&g->conf->redis, g->err, sizeof(g->err));
    g->up = g->c != NULL && read_all(g) == 0;
    if (!g->up && g->c != NULL) {
        redisFree(g->c);        /* a new connection next time */
        g->c = NULL;
    }
    return g->up;
}

const char *pb_sc_gauges_error(const struct pb_sc_gauges *g)
{
    return g->err;
}

/* A gauge's header, and its sample when its value is known. */
static void known(GString *out, const char *name, const char *help, long long v)
{
    pb_prom_header(out, name, "gauge", help);
    if (v >= 0)
        pb_prom_sample_signed(out, name, NULL, v);
}

void pb_sc_gauges_render(const struct pb_sc_gauges *g, GString *out)
{
    pb_prom_gauge(out, "postbeacon_scorer_redis_up",
                  "1 if Redis answered this scrape's reads (the gauges below), else 0.", g->up);
    known(out, "postbeacon_scorer_group_pending",
          "Entries of the consumer group read and not yet acknowledged (all consumers).",
          g->pending);
    known(out, "postbeacon_scorer_group_lag",
          "Entries of the stream no consumer of the group has read yet (Redis 7; absent "
          "where Redis cannot tell).", g->lag);
    pb_prom_header(out, "postbeacon_scorer_segment_members", "gauge",
                   "Contacts in each configured segment (ZCARD of its set).");
    for (size_t i = 0; g->up && g->segments[i] != NULL; i++) {
        const char *labels[] = { "segment", g->segments[i], NULL };
        if (g->sizes[i] >= 0)
            pb_prom_sample_signed(out, "postbeacon_scorer_segment_members", labels, g->sizes[i]);
    }
    known(out, "postbeacon_scorer_followups_due",
          "Follow-up steps queued (the due-step queue, due now or later).", g->due);
    known(out, "postbeacon_scorer_followups_uncertain",
          "Follow-up steps found in flight after a stop, not resent, waiting for the operator.",
          g->uncertain);
}
