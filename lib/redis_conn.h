/*
 * redis_conn.h - a blocking hiredis connection made from the `redis`
 * section of the configuration (unix socket or host:port, bounded connect
 * and command timeouts, AUTH, SELECT), and how to read Redis error replies.
 * The milter's writer thread uses both; the tracker's asynchronous client
 * uses pb_redis_error_is_transient() for its replies too.
 */
#ifndef PB_REDIS_CONN_H
#define PB_REDIS_CONN_H

#include <stddef.h>
#include <hiredis/hiredis.h>
#include "conf.h"

/* Connected and set up, or NULL with the reason in why. */
redisContext *pb_redis_connect(const struct pb_redis_conf *rc, char *why, size_t whylen);

/* "unix:<path>" or "<host>:<port>", for log lines; g_free() it. */
char *pb_redis_target(const struct pb_redis_conf *rc);

/* 1 if an error reply means "cannot take writes now, retry later" (OOM,
 * BUSY, LOADING, READONLY, MISCONF, ...), 0 if the command itself is bad
 * (ERR, WRONGTYPE, a script error) and retrying it cannot help. */
int pb_redis_error_is_transient(const char *msg);

#endif
