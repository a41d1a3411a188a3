/*
 * check_redis.c - Redis queries that fail the Check test on a surprise
 * (check_redis.h).
 */
#include <check.h>
#include "check_redis.h"

redisContext *tr_connect(const char *path)
{
    redisContext *c = redisConnectUnix(path);

    ck_assert_msg(c != NULL && !c->err, "connect %s: %s", path, c ? c->errstr : "oom");
    return c;
}

redisReply *tr_vcommand(redisContext *c, int errors_ok, const char *fmt, va_list ap)
{
    redisReply *r = redisvCommand(c, fmt, ap);

    ck_assert_msg(r != NULL, "redis: %s", c->errstr);
    ck_assert_msg(errors_ok || r->type != REDIS_REPLY_ERROR, "%s: %s", fmt, r->str);
    return r;
}

long long tr_vinteger(redisContext *c, const char *fmt, va_list ap)
{
    redisReply *r = tr_vcommand(c, 1, fmt, ap);
    long long v;

    ck_assert_msg(r->type == REDIS_REPLY_INTEGER, "%s: not an integer (%s)", fmt,
                  r->type == REDIS_REPLY_ERROR ? r->str : "");
    v = r->integer;
    freeReplyObject(r);
    return v;
}

long long tr_integer(redisContext *c, const char *fmt, ...)
{
    va_list ap;
    long long v;

    va_start(ap, fmt);
    v = tr_vinteger(c, fmt, ap);
    va_end(ap);
    return v;
}
