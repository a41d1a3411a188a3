/*
 * http_conn.c - connections of the tracker's HTTP server (http.h): reading
 * and parsing, sending the output, timeouts, closing (with a short linger
 * so that a client still sending is not reset before it reads the answer),
 * and closing idle connections for the drain. Accepting them is
 * http_listen.c.
 *
 * A connection has a persistent read event while it waits for requests.
 * Each readable event reads what is there, feeds it to the parser (which
 * answers every complete request into the output buffer) and then writes
 * the output once. Output that the socket does not take at once switches
 * the connection to a write event and stops reading and parsing until it
 * is sent (so pipelining cannot grow the buffers without bound).
 *
 * A TLS connection (c->tls) reads and writes through http_tls.c instead
 * of read() and send(). A TLS read may have to wait for the socket to
 * become writable (and a write for it to become readable): want() then
 * watches the event the TLS call waits for, and the event callbacks
 * resume what the connection was doing (want_read / want_write). Bytes
 * OpenSSL has already decrypted raise no socket event, so they are
 * announced by activating the read event by hand.
 *
 * The barrier (pb_http_set_barrier): output that must wait for it is
 * held (the connection's events left as they are, to spare two epoll
 * calls per request), and one event at the end of the loop pass commits
 * and then settles every held connection.
 *
 * Timeouts are lazy: each connection keeps a deadline (moved on at every
 * answer and every write that makes progress) and one timer, re-armed
 * only when it fires before the deadline.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <glib.h>
#include "http_conn.h"
#include "log.h"

#define READS_PER_EVENT 16
#define MIN_ROOM 512            /* read no less than this at once */
#define IN_SLACK 8192           /* beyond the limits: chunk framing, the next request's start */
#define OUT_HIGH (64 * 1024)    /* stop parsing while more output than this waits */
#define LINGER_MS 2000

static struct {
    struct event_base *base;
    pb_http_handler handler;
    pb_http_error_handler error;
    struct pb_http_limits limits;
    struct pb_http_conn *conns;
    size_t public_open, admin_open;
    unsigned long accepted, timed_out;
    int draining;
    int (*barrier_pending)(void *arg);
    void (*barrier_commit)(void *arg);
    void *barrier_arg;
    GQueue held;                /* connections whose output waits for the barrier */
    struct event *release_ev;   /* commits, then settles them */
} http;

static long long mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const struct pb_http_limits *pb_http_limits_now(void)
{
    return &http.limits;
}

int pb_http_draining(void)
{
    return http.draining;
}

/* ---- events and closing ---------------------------------------------------------- */

static void arm_timer(struct pb_http_conn *c, long long ms)
{
    struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

    event_add(c->timer_ev, &tv);
}

static void want(struct pb_http_conn *c, int read, int write)
{
    c->want_read = read != 0;
    c->want_write = write != 0;
    if (c->tls != NULL && !c->lingering && c->tls_wait != PB_TLS_WAIT_NONE) {
        read = c->tls_wait == PB_TLS_WAIT_READ;
        write = c->tls_wait == PB_TLS_WAIT_WRITE;
    }
    if (read && !c->reading)
        event_add(c->read_ev, NULL);
    else if (!read && c->reading)
        event_del(c->read_ev);
    if (write && !c->writing)
        event_add(c->write_ev, NULL);
    else if (!write && c->writing)
        event_del(c->write_ev);
    c->reading = read != 0;
    c->writing = write != 0;
}

static void conn_close(struct pb_http_conn *c)
{
    if (c->held)
        g_queue_remove(&http.held, c);
    event_free(c->read_ev);
    event_free(c->write_ev);
    event_free(c->timer_ev);
    if (c->tls != NULL)
        SSL_free(c->tls);
    close(c->fd);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        http.conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    if (c->admin == PB_HTTP_ADMIN)
        http.admin_open--;
    else
        http.public_open--;
    if (c->in != c->in_inline)
        g_free(c->in);
    if (c->out != c->out_inline)
        g_free(c->out);
    g_free(c->joined_xff);
    g_free(c);
}

/* The last answer is sent: close, or first shut our side and read until
 * the client closes (closing with unread input would reset the
 * connection, and the client could lose the answer). */
static void finish(struct pb_http_conn *c)
{
    if (c->tls != NULL) {
        pb_tls_close_notify(c->tls);
        c->tls_wait = PB_TLS_WAIT_NONE;     /* from now on only the raw socket's EOF matters */
    }
    if (c->peer_closed || shutdown(c->fd, SHUT_WR) != 0) {
        conn_close(c);
        return;
    }
    c->lingering = 1;
    c->in_len = c->in_parsed = 0;
    c->deadline_ms = mono_ms() + LINGER_MS;
    arm_timer(c, LINGER_MS);
    want(c, 1, 0);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    static struct pb_log_limit limit;
    struct pb_http_conn *c = arg;
    long long now = mono_ms();

    if (now < c->deadline_ms) {
        arm_timer(c, c->deadline_ms - now);
        return;
    }
    if (!c->lingering && (c->in_message || c->in_len > c->in_parsed || c->out_len > c->out_sent)) {
        http.timed_out++;
        pb_log_limited(&limit, 20, LOG_INFO, "closing a connection: request or answer not "
                       "done within %d s", http.limits.timeout);
    }
    conn_close(c);
}

/* ---- input ---------------------------------------------------------------------------- */

static size_t in_limit(void)
{
    return http.limits.max_header_size
           + MAX(http.limits.max_body_size, http.limits.max_events_body_size) + IN_SLACK;
}

/* Drop the bytes no request needs any more. */
static void compact(struct pb_http_conn *c)
{
    size_t keep = pb_http_request_start(c);

    if (keep == 0)
        return;
    memmove(c->in, c->in + keep, c->in_len - keep);
    c->in_len -= keep;
    c->in_parsed -= keep;
    pb_http_request_shift(c, keep);
}

/* Room to read into (at least MIN_ROOM unless at the limit); 0: the
 * request being read is too large. */
static size_t ensure_room(struct pb_http_conn *c)
{
    if (c->in_cap - c->in_len >= MIN_ROOM)
        return c->in_cap - c->in_len;
    compact(c);
    if (c->in_cap - c->in_len >= MIN_ROOM || c->in_cap >= in_limit())
        return c->in_cap - c->in_len;
    pb_http_buf_grow(&c->in, &c->in_cap, c->in_inline, c->in_len, MIN(c->in_cap * 2, in_limit()));
    return c->in_cap - c->in_len;
}

/* Back to the inline read buffer once nothing is buffered. */
static void in_shrink(struct pb_http_conn *c)
{
    pb_http_buf_shrink(&c->in, &c->in_cap, c->in_inline, c->in_len);
}

/* The request cannot be served: answer status, then close. */
static void fail(struct pb_http_conn *c, int status, const char *why)
{
    static struct pb_log_limit limit;

    pb_log_limited(&limit, 20, LOG_INFO, "refused a request with %d: %s", status, why);
    c->keep_alive = 0;
    c->closing = 1;
    c->answered = 0;
    pb_http_request_path_so_far(c);
    pb_http_request_bind(c);
    http.error(&c->req, status);
    if (!c->answered)
        pb_http_answer_plain(c, status, "Bad request.\n");
    c->in_message = 0;
}

/* Feed what was read to the parser (answering every complete request),
 * unless the connection is ending or waits for its output to go. */
static void parse_input(struct pb_http_conn *c)
{
    while (c->in_parsed < c->in_len && !c->closing && !c->paused) {
        size_t n = http_parser_execute(&c->parser, &pb_http_parser_settings,
                                       c->in + c->in_parsed, c->in_len - c->in_parsed);
        enum http_errno err = HTTP_PARSER_ERRNO(&c->parser);

        c->in_parsed += n;
        if (err == HPE_PAUSED) {
            http_parser_pause(&c->parser, 0);
        } else if (err != HPE_OK) {
            int status = c->error_status ? c->error_status
                       : err == HPE_HEADER_OVERFLOW ? 431 : 400;
            fail(c, status, status == 413 ? "body larger than tracker.max_body_size "
                                            "(tracker.events_max_body for /e)"
                            : status == 431 ? "headers larger than tracker.max_header_size"
                            : http_errno_description(err));
        } else if (c->parser.upgrade) {
            c->closing = 1;     /* the rest would be another protocol */
        }
    }
    if (!c->in_message && c->in_parsed == c->in_len) {
        c->in_len = c->in_parsed = 0;
        in_shrink(c);
    }
}

/* ---- output ------------------------------------------------------------------------------- */

static ssize_t conn_send(struct pb_http_conn *c, const char *buf, size_t len)
{
    if (c->tls != NULL)
        return pb_tls_write(c->tls, buf, len, &c->tls_wait);
    return send(c->fd, buf, len, MSG_NOSIGNAL);
}

static ssize_t conn_recv(struct pb_http_conn *c, char *buf, size_t len)
{
    if (c->tls != NULL)
        return pb_tls_read(c->tls, buf, len, &c->tls_wait);
    return read(c->fd, buf, len);
}

/* Send what is queued: 0, or -1 when the connection is broken. */
static int write_out(struct pb_http_conn *c)
{
    while (c->out_sent < c->out_len) {
        ssize_t n = conn_send(c, c->out + c->out_sent, c->out_len - c->out_sent);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        c->out_sent += (size_t)n;
        c->deadline_ms = mono_ms() + (long long)http.limits.timeout * 1000;
    }
    c->out_len = c->out_sent = 0;
    pb_http_out_shrink(c);
    return 0;
}

/* Output that the barrier holds: 1 (the connection waits, released at
 * the end of the pass), or 0 (it may go). */
static int hold(struct pb_http_conn *c)
{
    if (c->out_len == c->out_sent || http.barrier_pending == NULL
        || !http.barrier_pending(http.barrier_arg))
        return 0;
    if (!c->held) {             /* its events stay as they are: no syscall */
        c->held = 1;
        g_queue_push_tail(&http.held, c);
    }
    event_active(http.release_ev, EV_TIMEOUT, 0);
    return 1;
}

/* After reading or writing: send the output, then wait to write, go on
 * parsing what is buffered, wait for more input, or end. */
static void settle(struct pb_http_conn *c)
{
    for (;;) {
        if (hold(c))
            return;
        if (write_out(c) != 0) {
            conn_close(c);
            return;
        }
        if (c->out_len > 0) {
            want(c, 0, 1);
            return;
        }
        if (c->closing) {
            finish(c);
            return;
        }
        if (!c->paused)
            break;
        c->paused = 0;
        parse_input(c);
    }
    want(c, 1, 0);
    if (c->tls != NULL && pb_tls_pending(c->tls) > 0)
        event_active(c->read_ev, EV_READ, 0);
}

/* ---- read and write events ------------------------------------------------------------------- */

static void linger_read(struct pb_http_conn *c)
{
    char sink[4096];
    ssize_t n = read(c->fd, sink, sizeof(sink));

    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
        conn_close(c);
}

/* Read what there is into the buffer and parse it; 1 when EOF or an error
 * ended the input. */
static int read_input(struct pb_http_conn *c)
{
    for (int i = 0; i < READS_PER_EVENT && !c->closing && !c->paused; i++) {
        size_t room = ensure_room(c);
        ssize_t n;

        if (room == 0) {
            fail(c, c->headers_done ? 413 : 431, "request larger than the read buffer");
            return 0;
        }
        n = conn_recv(c, c->in + c->in_len, room);
        if (n > 0) {
            c->in_len += (size_t)n;
            parse_input(c);
            if ((size_t)n < room && c->tls == NULL)     /* TLS: one record at a time */
                return 0;
        } else if (n == 0) {
            c->peer_closed = 1;
            return 1;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return 0;
        } else if (errno != EINTR) {
            return 1;
        }
    }
    return 0;
}

static void readable(struct pb_http_conn *c)
{
    if (c->lingering) {
        linger_read(c);
        return;
    }
    if (read_input(c)) {
        /* A read error ends the connection. EOF (the client sent all it
         * will): the answers to its complete requests still go out, an
         * incomplete last request is dropped. */
        if (!c->peer_closed) {
            conn_close(c);
            return;
        }
        c->closing = 1;
    }
    settle(c);
}

/* The socket is readable: read, unless a TLS write was waiting for that. */
static void on_read(evutil_socket_t fd, short what, void *arg)
{
    struct pb_http_conn *c = arg;

    if (c->tls != NULL && c->want_write && !c->lingering)
        settle(c);
    else
        readable(c);
}

/* The socket is writable: write, unless a TLS read was waiting for that. */
static void on_write(evutil_socket_t fd, short what, void *arg)
{
    struct pb_http_conn *c = arg;

    if (c->tls != NULL && c->want_read)
        readable(c);
    else
        settle(c);
}

/* The end of a pass that held output: commit, then let it go. */
static void release_cb(evutil_socket_t fd, short what, void *arg)
{
    struct pb_http_conn *c;
    GQueue now = http.held;     /* a connection held again waits for the next pass */

    (void)fd;
    (void)what;
    (void)arg;
    g_queue_init(&http.held);
    http.barrier_commit(http.barrier_arg);
    while ((c = g_queue_pop_head(&now)) != NULL) {
        c->held = 0;
        settle(c);
    }
}

void pb_http_set_barrier(int (*pending)(void *arg), void (*commit)(void *arg), void *arg)
{
    http.barrier_pending = pending;
    http.barrier_commit = commit;
    http.barrier_arg = arg;
}

/* ---- new connections --------------------------------------------------------------------------- */

int pb_http_conn_new(int fd, const struct sockaddr_storage *peer, int admin, int tls)
{
    struct pb_http_conn *c;
    SSL_CTX *ctx = pb_http_tls_ctx();
    SSL *ssl = NULL;
    int one = 1;

    if (tls && (ctx == NULL || (ssl = pb_tls_new(ctx, fd)) == NULL))
        return -1;
    c = g_new0(struct pb_http_conn, 1);
    c->tls = ssl;

    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->fd = fd;
    c->admin = admin;
    c->peer = *peer;
    c->in = c->in_inline;
    c->in_cap = sizeof(c->in_inline);
    c->out = c->out_inline;
    c->out_cap = sizeof(c->out_inline);
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    pb_http_request_reset(c);
    c->read_ev = event_new(http.base, fd, EV_READ | EV_PERSIST, on_read, c);
    c->write_ev = event_new(http.base, fd, EV_WRITE | EV_PERSIST, on_write, c);
    c->timer_ev = evtimer_new(http.base, on_timer, c);
    if (c->read_ev == NULL || c->write_ev == NULL || c->timer_ev == NULL) {
        if (c->read_ev) event_free(c->read_ev);
        if (c->write_ev) event_free(c->write_ev);
        if (c->timer_ev) event_free(c->timer_ev);
        if (c->tls) SSL_free(c->tls);
        g_free(c);
        return -1;
    }
    c->next = http.conns;
    if (http.conns != NULL)
        http.conns->prev = c;
    http.conns = c;
    if (admin == PB_HTTP_ADMIN)
        http.admin_open++;
    else
        http.public_open++;
    http.accepted++;
    c->deadline_ms = mono_ms() + (long long)http.limits.timeout * 1000;
    arm_timer(c, (long long)http.limits.timeout * 1000);
    want(c, 1, 0);
    return 0;
}

/* ---- requests -------------------------------------------------------------------------------- */

void pb_http_dispatch(struct pb_http_conn *c)
{
    c->answered = 0;
    http.handler(&c->req);
    if (!c->answered) {
        pb_log(LOG_ERR, "a request got no answer; answering 500");
        c->keep_alive = 0;
        pb_http_answer_plain(c, 500, "Internal error.\n");
    }
    c->served++;
    c->deadline_ms = mono_ms() + (long long)http.limits.timeout * 1000;
    pb_http_request_reset(c);
    if (c->out_len - c->out_sent > OUT_HIGH)
        c->paused = 1;
}

/* ---- the server --------------------------------------------------------------------------------- */

int pb_http_init(struct event_base *base, pb_http_handler handler,
                 pb_http_error_handler error, char *errbuf, size_t errlen)
{
    memset(&http, 0, sizeof(http));
    http.base = base;
    http.handler = handler;
    http.error = error;
    http.limits = (struct pb_http_limits){ 16384, 4096, 10, 0 };
    http.release_ev = event_new(base, -1, 0, release_cb, NULL);
    return pb_http_listen_init(base, errbuf, errlen);
}

size_t pb_http_open(int admin)
{
    return admin ? http.admin_open : http.public_open;
}

void pb_http_set_limits(const struct pb_http_limits *limits)
{
    http.limits = *limits;
    http_parser_set_max_header_size((uint32_t)limits->max_header_size);
}

void pb_http_drain(void)
{
    http.draining = 1;
    pb_http_listen_close();
}

size_t pb_http_close_idle(int fresh_too)
{
    struct pb_http_conn *c = http.conns, *next;
    size_t busy = 0;

    for (; c != NULL; c = next) {
        next = c->next;
        if (c->lingering || (!c->in_message && c->in_len == c->in_parsed
                             && c->out_len == c->out_sent && (c->served > 0 || fresh_too)))
            conn_close(c);
        else
            busy++;
    }
    return busy;
}

void pb_http_stats(struct pb_http_stats *out)
{
    pb_http_listen_stats(out);
    out->open = http.public_open + http.admin_open;
    out->accepted = http.accepted;
    out->timed_out = http.timed_out;
    out->tls_failed = pb_tls_failures();
}

void pb_http_free(void)
{
    while (http.conns != NULL)
        conn_close(http.conns);
    pb_http_listen_close();
    if (http.release_ev != NULL)
        event_free(http.release_ev);
    http.release_ev = NULL;
}
