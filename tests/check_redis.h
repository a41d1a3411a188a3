/*
 * check_redis.h - Redis queries for the Check tests that run a private
 * redis-server (check_store, check_journal, check_sent_kept): connect to
 * its unix socket and send a command, failing the test when Redis cannot
 * be reached or answers what the test did not expect. (testutil.c stays
 * free of Check: the benchmarks link it.)
 */
#ifndef PB_CHECK_REDIS_H
#define PB_CHECK_REDIS_H

#include <stdarg.h>
#include <hiredis/hiredis.h>

/* Connected to the socket at path, or the test fails. */
redisContext *tr_connect(const char *path);
/* The reply to the command (never NULL: the test fails first); an error
 * reply fails the test unless errors_ok. The caller frees it. */
redisReply *tr_vcommand(redisContext *c, int errors_ok, const char *fmt, va_list ap);
/* The integer the command answers, or the test fails. */
long long tr_vinteger(redisContext *c, const char *fmt, va_list ap);
long long tr_integer(redisContext *c, const char *fmt, ...);

#endif
