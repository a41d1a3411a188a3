/*
 * store_conn.h - the tracker's one asynchronous Redis connection (hiredis
 * async on the libevent loop): connect with a timeout, AUTH and SELECT,
 * reconnect with backoff, pipelined formatted commands, and a reply
 * watchdog that gives up on a Redis that stops answering. Used only by
 * store.c, which decides what to send.
 */
#ifndef PB_TRACKER_STORE_CONN_H
#define PB_TRACKER_STORE_CONN_H

#include <stddef.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>
#include "conf.h"

struct pb_conn;

struct pb_conn_hooks {
    /* Connected: commands may be sent. */
    void (*up)(void *owner);
    /* The connection is gone (or never came); called from the loop after
     * every command of it has had its reply hook. Reconnecting is already
     * scheduled. */
    void (*down)(void *owner);
    /* The outcome of one command, in the order they were sent: r is the
     * reply (an error reply means the command is broken: retrying cannot
     * help), or NULL when the command may not have been done (connection
     * lost, timed out, Redis refusing writes for now). */
    void (*reply)(void *owner, void *cmd, const redisReply *r);
};

/* Make one; connecting starts at once, in the background. rc is copied. */
struct pb_conn *pb_conn_new(struct event_base *base, const struct pb_redis_conf *rc,
                            const struct pb_conn_hooks *hooks, void *owner);
/* Run this SCRIPT LOAD command (RESP) after AUTH/SELECT on every
 * connection, now too if up; sha: what Redis must answer. If Redis
 * refuses it or answers another SHA, script_ok turns 0 for good (send the
 * script in full); a NOSCRIPT reply (script cache flushed) drops the
 * connection, and the next one loads it again. */
void pb_conn_load_script(struct pb_conn *c, const char *resp, size_t len, const char sha[41]);
int pb_conn_script_ok(const struct pb_conn *c);
/* While Redis refuses commands for now (its last answer to one of ours
 * was a "not now" error: "OOM", "READONLY", "BUSY", "MISCONF"...), that
 * code; NULL once it accepts one again. */
const char *pb_conn_refusing(const struct pb_conn *c);
/* 1 while connected and sending is possible. */
int pb_conn_is_up(const struct pb_conn *c);
/* Send one RESP command (bytes are copied); its reply hook gets cmd.
 * 0, or -1 when not up (no hook call then). */
int pb_conn_send(struct pb_conn *c, const char *data, size_t len, void *cmd);
/* Close: every pending command gets its reply hook with NULL; no down
 * hook, no reconnect. Then free. */
void pb_conn_free(struct pb_conn *c);

#endif
