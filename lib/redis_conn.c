/*
 * redis_conn.c - a blocking hiredis connection from the configuration,
 * and the classification of Redis error replies (see redis_conn.h).
 *
 * Every step is bounded by redis.timeout_ms: the connect, and (through
 * SO_RCVTIMEO/SO_SNDTIMEO) every later command on the connection, so a
 * hung Redis costs at most that long per call.
 */
#include <stdio.h>
#include <string.h>
#include <glib.h>
#include "redis_conn.h"

/* Run AUTH or SELECT; 0 on success, -1 with the reason in why. */
static int setup_command(redisContext *ctx, char *why, size_t whylen,
                         const char *name, const char *arg)
{
    const char *argv[2] = { name, arg };
    redisReply *reply = redisCommandArgv(ctx, 2, argv, NULL);
    int rc = -1;

    if (reply == NULL)
        snprintf(why, whylen, "%s: %s", name, ctx->errstr);
    else if (reply->type == REDIS_REPLY_ERROR)
        snprintf(why, whylen, "%s: %s", name, reply->str);
    else
        rc = 0;
    if (reply)
        freeReplyObject(reply);
    return rc;
}

redisContext *pb_redis_connect(const struct pb_redis_conf *rc, char *why, size_t whylen)
{
    int ms = rc->timeout_ms > 0 ? rc->timeout_ms : 200;
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    int unix_socket = rc->socket && rc->socket[0];
    redisContext *ctx;
    char db[16];

    ctx = unix_socket ? redisConnectUnixWithTimeout(rc->socket, tv)
                      : redisConnectWithTimeout(rc->host ? rc->host : "127.0.0.1", rc->port, tv);
    if (ctx == NULL) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    snprintf(db, sizeof(db), "%d", rc->db);
    if (ctx->err)
        snprintf(why, whylen, "%s", ctx->errstr);
    else if (redisSetTimeout(ctx, tv) != REDIS_OK)
        snprintf(why, whylen, "setting timeouts: %s", ctx->errstr);
    else if (!unix_socket && redisEnableKeepAlive(ctx) != REDIS_OK)
        snprintf(why, whylen, "keep-alive: %s", ctx->errstr);
    else if (rc->password && rc->password[0]
             && setup_command(ctx, why, whylen, "AUTH", rc->password) != 0)
        ;
    else if (rc->db != 0 && setup_command(ctx, why, whylen, "SELECT", db) != 0)
        ;
    else
        return ctx;
    redisFree(ctx);
    return NULL;
}

char *pb_redis_target(const struct pb_redis_conf *rc)
{
    if (rc->socket && rc->socket[0])
        return g_strdup_printf("unix:%s", rc->socket);
    return g_strdup_printf("%s:%d", rc->host ? rc->host : "127.0.0.1", rc->port);
}

int pb_redis_error_is_transient(const char *msg)
{
    static const char *const codes[] = {
        "OOM", "BUSY", "LOADING", "READONLY", "MISCONF", "MASTERDOWN", "NOREPLICAS",
        "TRYAGAIN", "CLUSTERDOWN", "MOVED", "ASK", "NOAUTH", "NOPERM", "WRONGPASS", NULL
    };

    for (size_t i = 0; codes[i]; i++) {
        size_t n = strlen(codes[i]);
        if (strncmp(msg, codes[i], n) == 0 && (msg[n] == ' ' || msg[n] == '\0'))
            return 1;
    }
    return 0;
}
