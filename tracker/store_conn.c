/*
 * store_conn.c - the tracker's asynchronous Redis connection (see
 * store_conn.h): hiredis async attached to the tracker's libevent loop.
 *
 * States: connecting -> up -> down -> (backoff) -> connecting ...
 *
 *   connecting  redisAsyncConnect[Unix]; hiredis 0.14 has no timeout for
 *               an asynchronous connect, so a libevent timer of
 *               redis.timeout_ms frees the attempt if it has not finished.
 *   up          AUTH, SELECT and SCRIPT LOAD go first on the pipeline
 *               (in that order, so later commands find the script); commands are
 *               written as they are sent (hiredis buffers, the loop
 *               writes). A watchdog timer checks that while commands are
 *               pending a reply arrives at least every redis.timeout_ms;
 *               otherwise Redis is slow or hung and the connection is
 *               dropped. A reply that says "not now" (OOM, BUSY, LOADING,
 *               NOAUTH, ...: pb_redis_error_is_transient; NOSCRIPT) drops
 *               it too.
 *   down        every pending command gets its reply hook with NULL (done
 *               by hiredis when the context is freed), then the down hook
 *               runs from the loop, and a reconnect is scheduled after a
 *               backoff of 100 ms doubling to 5 s, reset by the first
 *               reply that Redis accepts.
 *
 * Log lines: "unreachable" once per outage, "connected" once after it.
 */
#include <string.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>
#include <glib.h>
#include "log.h"
#include "redis_conn.h"
#include "store_conn.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

struct pb_conn {
    struct event_base *base;
    struct pb_redis_conf rc;    /* own copy: host, port, socket, password, db, timeout */
    char *target;               /* for log lines */
    struct pb_conn_hooks hooks;
    void *owner;

    redisAsyncContext *ac;      /* the current attempt or connection; NULL when down */
    int up;                     /* connected */
    unsigned pending;           /* commands sent, reply not yet seen */
    gint64 last_progress_us;    /* monotonic: last reply, or first send after idle */
    int backoff_ms;
    int down_logged;            /* "unreachable" said for this outage */
    int up_logged;              /* "connected" said since */
    GString *script_load;       /* SCRIPT LOAD command, or NULL */
    char script_sha[41];
    int script_refused;         /* SCRIPT LOAD failed: never use EVALSHA */
    char refusing[16];          /* the "not now" code of the last refusal of a
                                   command ("OOM"...); "" once one is accepted */

    struct event *connect_timer;    /* gives up on a connect attempt */
    struct event *retry_timer;      /* next attempt after the backoff */
    struct event *watchdog;         /* replies must keep coming */
    struct event *down_ev;          /* runs the down hook from the loop */
};

/* Reply privdata of AUTH and SELECT, and of SCRIPT LOAD: not passed to
 * the owner. */
static char setup_marker, script_marker;

static void connect_start(struct pb_conn *c);

static struct timeval ms_to_tv(int ms)
{
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    return tv;
}

static void log_down(struct pb_conn *c, const char *why)
{
    if (c->down_logged)
        return;
    pb_log(LOG_WARNING, "redis: %s unreachable (%s)", c->target,
           why && why[0] ? why : "connection lost");
    c->down_logged = 1;
    c->up_logged = 0;
}

/* The connection is gone (c->ac already NULL): tell the owner from the
 * loop, once hiredis has run every pending callback. */
static void schedule_down(struct pb_conn *c)
{
    c->up = 0;
    evtimer_del(c->connect_timer);
    evtimer_del(c->watchdog);
    event_active(c->down_ev, EV_TIMEOUT, 0);
}

/* Drop the current connection or attempt. Safe inside a reply callback
 * (hiredis then frees the context after it returns); not inside the
 * connect callback (never called from there). */
static void conn_fail(struct pb_conn *c, const char *why)
{
    redisAsyncContext *ac = c->ac;

    if (ac == NULL)
        return;
    log_down(c, why);
    c->ac = NULL;               /* its disconnect callback is ours no more */
    redisAsyncFree(ac);
    schedule_down(c);
}

static void down_cb(evutil_socket_t fd, short what, void *arg)
{
    struct pb_conn *c = arg;
    struct timeval tv = ms_to_tv(c->backoff_ms);

    (void)fd;
    (void)what;
    c->backoff_ms = MIN(c->backoff_ms * 2, BACKOFF_MAX_MS);
    evtimer_add(c->retry_timer, &tv);
    c->hooks.down(c->owner);
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    connect_start(arg);
}

static void connect_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    struct pb_conn *c = arg;

    (void)fd;
    (void)what;
    if (c->ac && !c->up)
        conn_fail(c, "connect timed out");
}

static void watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
    struct pb_conn *c = arg;
    gint64 waited_ms = (g_get_monotonic_time() - c->last_progress_us) / 1000;
    struct timeval tv;

    (void)fd;
    (void)what;
    if (c->ac == NULL || c->pending == 0)
        return;
    if (waited_ms >= c->rc.timeout_ms) {
        char why[96];
        g_snprintf(why, sizeof(why), "no reply within %d ms", c->rc.timeout_ms);
        conn_fail(c, why);
        return;
    }
    tv = ms_to_tv((int)(c->rc.timeout_ms - waited_ms));
    evtimer_add(c->watchdog, &tv);
}

/* Redis accepted a command: an outage, if any, is over. */
static void conn_healthy(struct pb_conn *c)
{
    c->backoff_ms = BACKOFF_MIN_MS;
    c->down_logged = 0;
}

/* "Not now" errors: Redis cannot take the command yet (and did not run it). */
static int error_is_transient(const char *msg)
{
    return pb_redis_error_is_transient(msg) || strncmp(msg, "NOSCRIPT ", 9) == 0;
}

/* The answer to SCRIPT LOAD: the script's SHA1, or EVALSHA is given up. */
static void script_loaded(struct pb_conn *c, const redisReply *r)
{
    if (r == NULL || c->script_refused)
        return;
    if (r->type == REDIS_REPLY_STRING && strcmp(r->str, c->script_sha) == 0)
        return;
    pb_log(LOG_WARNING, "redis: SCRIPT LOAD %s (%s); sending scripts in full",
           r->type == REDIS_REPLY_ERROR ? "refused" : "answered another SHA1",
           r->type == REDIS_REPLY_ERROR || r->type == REDIS_REPLY_STRING ? r->str : "?");
    c->script_refused = 1;
}

static void reply_cb(redisAsyncContext *ac, void *reply, void *priv)
{
    struct pb_conn *c = ac->data;
    const redisReply *r = reply;
    int current = ac == c->ac;

    c->pending--;
    if (r && current)
        c->last_progress_us = g_get_monotonic_time();
    if (priv == &script_marker && r && r->type == REDIS_REPLY_ERROR
        && (strncmp(r->str, "NOPERM ", 7) == 0 || !error_is_transient(r->str))) {
        script_loaded(c, r);    /* not allowed: for good, not "not now" */
        return;
    }
    if (r && r->type == REDIS_REPLY_ERROR && error_is_transient(r->str)) {
        if (current) {
            if (priv != &setup_marker && priv != &script_marker)
                g_strlcpy(c->refusing, r->str, MIN(sizeof(c->refusing), strcspn(r->str, " ") + 1));
            conn_fail(c, r->str);
        }
        r = NULL;
    } else if (r && r->type != REDIS_REPLY_ERROR) {
        /* while Redis refuses our writes, its answers to AUTH or SCRIPT
         * LOAD do not end the outage (nor reset the backoff) */
        int ours = priv != &setup_marker && priv != &script_marker;
        if (ours)
            c->refusing[0] = '\0';
        if (ours || c->refusing[0] == '\0')
            conn_healthy(c);
    }
    if (priv == &script_marker) {
        script_loaded(c, r);
        return;
    }
    if (priv == &setup_marker) {
        if (r && r->type == REDIS_REPLY_ERROR && current) {
            char why[256];
            g_snprintf(why, sizeof(why), "AUTH/SELECT: %s", r->str);
            conn_fail(c, why);
        }
        return;
    }
    c->hooks.reply(c->owner, priv, r);
}

/* A command is on its way: from now on replies must keep coming. */
static void sent_one(struct pb_conn *c)
{
    if (c->pending++ == 0)
        c->last_progress_us = g_get_monotonic_time();
    if (!evtimer_pending(c->watchdog, NULL)) {
        struct timeval tv = ms_to_tv(c->rc.timeout_ms);
        evtimer_add(c->watchdog, &tv);
    }
}

static void send_setup(struct pb_conn *c, const char *name, const char *arg)
{
    const char *argv[2] = { name, arg };

    if (redisAsyncCommandArgv(c->ac, reply_cb, &setup_marker, 2, argv, NULL) == REDIS_OK)
        sent_one(c);
}

static void send_script_load(struct pb_conn *c)
{
    if (c->script_load && !c->script_refused
        && redisAsyncFormattedCommand(c->ac, reply_cb, &script_marker, c->script_load->str,
                                      c->script_load->len) == REDIS_OK)
        sent_one(c);
}

static void connect_cb(const redisAsyncContext *ac, int status)
{
    struct pb_conn *c = ac->data;

    if (ac != c->ac)
        return;
    evtimer_del(c->connect_timer);
    if (status != REDIS_OK) {
        log_down(c, ac->errstr);
        c->ac = NULL;           /* hiredis frees it after we return */
        schedule_down(c);
        return;
    }
    c->up = 1;
    c->last_progress_us = g_get_monotonic_time();
    if (!(c->rc.socket && c->rc.socket[0]))
        (void)redisEnableKeepAlive(&c->ac->c);
    if (c->rc.password && c->rc.password[0])
        send_setup(c, "AUTH", c->rc.password);
    if (c->rc.db != 0) {
        char db[16];
        g_snprintf(db, sizeof(db), "%d", c->rc.db);
        send_setup(c, "SELECT", db);
    }
    send_script_load(c);
    if (!c->up_logged)
        pb_log(LOG_INFO, "redis: connected to %s", c->target);
    c->up_logged = 1;
    c->hooks.up(c->owner);
}

static void disconnect_cb(const redisAsyncContext *ac, int status)
{
    struct pb_conn *c = ac->data;

    (void)status;
    if (ac != c->ac)
        return;                 /* one we dropped ourselves */
    log_down(c, ac->errstr[0] ? ac->errstr : "connection closed");
    c->ac = NULL;
    schedule_down(c);
}

static void connect_start(struct pb_conn *c)
{
    int unix_socket = c->rc.socket && c->rc.socket[0];
    struct timeval tv = ms_to_tv(c->rc.timeout_ms);
    redisAsyncContext *ac = unix_socket
        ? redisAsyncConnectUnix(c->rc.socket)
        : redisAsyncConnect(c->rc.host ? c->rc.host : "127.0.0.1", c->rc.port);

    if (ac == NULL || ac->err) {
        log_down(c, ac ? ac->errstr : "out of memory");
        if (ac)
            redisAsyncFree(ac);
        schedule_down(c);
        return;
    }
    ac->data = c;
    if (redisLibeventAttach(ac, c->base) != REDIS_OK) {
        log_down(c, "cannot attach to the event loop");
        redisAsyncFree(ac);
        schedule_down(c);
        return;
    }
    redisAsyncSetConnectCallback(ac, connect_cb);
    redisAsyncSetDisconnectCallback(ac, disconnect_cb);
    c->ac = ac;
    evtimer_add(c->connect_timer, &tv);
}

struct pb_conn *pb_conn_new(struct event_base *base, const struct pb_redis_conf *rc,
                            const struct pb_conn_hooks *hooks, void *owner)
{
    struct pb_conn *c = g_new0(struct pb_conn, 1);

    c->base = base;
    c->rc.host = g_strdup(rc->host);
    c->rc.port = rc->port;
    c->rc.socket = g_strdup(rc->socket);
    c->rc.password = g_strdup(rc->password);
    c->rc.db = rc->db;
    c->rc.timeout_ms = rc->timeout_ms > 0 ? rc->timeout_ms : 200;
    c->target = pb_redis_target(rc);
    c->hooks = *hooks;
    c->owner = owner;
    c->backoff_ms = BACKOFF_MIN_MS;
    c->connect_timer = evtimer_new(base, connect_timeout_cb, c);
    c->retry_timer = evtimer_new(base, retry_cb, c);
    c->watchdog = evtimer_new(base, watchdog_cb, c);
    c->down_ev = event_new(base, -1, 0, down_cb, c);
    connect_start(c);
    return c;
}

void pb_conn_load_script(struct pb_conn *c, const char *resp, size_t len, const char sha[41])
{
    if (c->script_load == NULL)
        c->script_load = g_string_new(NULL);
    g_string_truncate(c->script_load, 0);
    g_string_append_len(c->script_load, resp, (gssize)len);
    g_strlcpy(c->script_sha, sha, sizeof(c->script_sha));
    if (pb_conn_is_up(c))
        send_script_load(c);
}

int pb_conn_script_ok(const struct pb_conn *c)
{
    return c->script_load != NULL && !c->script_refused;
}

const char *pb_conn_refusing(const struct pb_conn *c)
{
    return c->refusing[0] ? c->refusing : NULL;
}

int pb_conn_is_up(const struct pb_conn *c)
{
    return c->ac != NULL && c->up;
}

int pb_conn_send(struct pb_conn *c, const char *data, size_t len, void *cmd)
{
    if (!pb_conn_is_up(c)
        || redisAsyncFormattedCommand(c->ac, reply_cb, cmd, data, len) != REDIS_OK)
        return -1;
    sent_one(c);
    return 0;
}

void pb_conn_free(struct pb_conn *c)
{
    redisAsyncContext *ac;

    if (c == NULL)
        return;
    ac = c->ac;
    c->ac = NULL;
    c->up = 0;
    if (ac)
        redisAsyncFree(ac);     /* pending commands: reply hook with NULL */
    event_free(c->connect_timer);
    event_free(c->retry_timer);
    event_free(c->watchdog);
    event_free(c->down_ev);
    g_free(c->rc.host);
    g_free(c->rc.socket);
    g_free(c->rc.password);
    g_free(c->target);
    if (c->script_load)
        g_string_free(c->script_load, TRUE);
    g_free(c);
}
