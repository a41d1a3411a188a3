/*
 * http.h - the tracker's HTTP/1.1 server: connections on plain libevent
 * events (no bufferevents) of the tracker's one event loop, requests
 * parsed by http_parser (libhttp-parser, nodejs 2.9), answers written into
 * the connection's output buffer and sent with one write() per batch of
 * requests read.
 *
 * Per connection: one read buffer and one output buffer (bounded by the
 * limits), keep-alive, pipelining (every complete request in what was read
 * is answered, in order), "Connection: close" and HTTP/1.0, Expect:
 * 100-continue, chunked request bodies. A request must be complete within
 * timeout seconds of the previous answer (or of the accept): a slow or idle
 * client is closed then. Errors of the request itself (400, 413, 431) go
 * to the error handler, which answers them; the connection closes after
 * that answer. The number of public connections is bounded by a configured
 * maximum, or else by the open-file limit (admin listeners have a small
 * allowance of their own); past it a new connection gets a 503 and is
 * closed.
 *
 * Listeners may speak TLS (OpenSSL, http_tls.c): the same requests,
 * limits and timeouts, read and written through the connection's SSL.
 *
 * Files: http_conn.c (connections: reading, writing, timeouts),
 * http_listen.c (accepting, the connection limit, the TLS context),
 * http_tls.c (TLS contexts and I/O), http_parse.c (the parser's callbacks),
 * http_out.c (answers). Single-threaded.
 */
#ifndef PB_TRACKER_HTTP_H
#define PB_TRACKER_HTTP_H

#include <stddef.h>
#include <sys/socket.h>
#include <event2/event.h>
#include <http_parser.h>

struct pb_http_conn;
struct ssl_ctx_st;              /* OpenSSL's SSL_CTX */

/* What a listener serves (pb_http_listen's kind): public requests, the
 * admin pages, or custom events only (public connections, like the first). */
#define PB_HTTP_PUBLIC 0
#define PB_HTTP_ADMIN  1
#define PB_HTTP_EVENTS 2
#define PB_HTTP_EVENTS_PATH "/e"    /* the custom-event endpoint: its own body limit */

struct pb_http_limits {
    size_t max_header_size;     /* request line and headers, bytes */
    size_t max_body_size;       /* bytes (after de-chunking) */
    int timeout;                /* seconds: a whole request, an idle connection, a stalled write */
    size_t max_events_body_size;    /* bytes, for PB_HTTP_EVENTS_PATH; 0: max_body_size */
};

/* A request as the handlers see it; valid only during the handler call. */
struct pb_http_request {
    struct pb_http_conn *conn;
    enum http_method method;
    int admin;                  /* arrived on an admin listener */
    int events_listener;        /* arrived on a custom-events listener */
    int http_minor;             /* HTTP/1.<minor> */
    const char *path;           /* without query or fragment; NULL before the headers ended */
    size_t path_len;
    const char *user_agent;     /* the first User-Agent header; NULL if none */
    const char *content_type;   /* the first Content-Type header; NULL if none */
    const char *forwarded_for;  /* every X-Forwarded-For value joined with ","; NULL if none */
    const char *pb_timestamp;   /* the first X-Postbeacon-Timestamp header; NULL if none */
    const char *pb_signature;   /* the first X-Postbeacon-Signature header; NULL if none */
    const char *body;           /* not NUL-terminated; NULL if none */
    size_t body_len;
    const struct sockaddr *peer;
};

struct pb_http_stats {
    size_t open;                /* connections open now */
    unsigned long accepted;     /* connections accepted */
    unsigned long refused;      /* over the connection limit: 503 and closed */
    unsigned long timed_out;    /* closed because a request or a write did not finish in time */
    unsigned long tls_failed;   /* closed on a TLS protocol error (failed handshake, bad record) */
    size_t max_connections;     /* the public limit */
};

/* Answers a complete request: must call pb_http_begin ... pb_http_end once. */
typedef void (*pb_http_handler)(struct pb_http_request *req);
/* Answers a request the server refused: status 400, 413 or 431 (path may
 * be NULL). The connection is closed after the answer. */
typedef void (*pb_http_error_handler)(struct pb_http_request *req, int status);

/* Set up on base (raises the open-file soft limit to the hard one, at most
 * 65536, and derives the connection limit from it). 0 or -1. */
int pb_http_init(struct event_base *base, pb_http_handler handler,
                 pb_http_error_handler error, char *errbuf, size_t errlen);
/* Accept connections on the listening socket fd (non-blocking; owned by
 * the server from now on), speaking TLS on them when tls; kind is
 * PB_HTTP_PUBLIC, PB_HTTP_ADMIN or PB_HTTP_EVENTS. 0 or -1. */
int pb_http_listen(int fd, int kind, int tls, char *errbuf, size_t errlen);
/* The TLS context for new connections on TLS listeners (a reference is
 * taken; connections keep the one they started with). NULL: none. */
void pb_http_set_tls(struct ssl_ctx_st *ctx);
/* Limits for requests from now on. */
void pb_http_set_limits(const struct pb_http_limits *limits);
/* At most max public connections from now on (0: as many as the open-file
 * limit allows, as after pb_http_init); open ones stay. A max over what the
 * open-file limit allows (raised first, up to the hard limit) is cut to
 * that, with a warning naming the fix, logged once per max asked for. The
 * limit now in effect. */
size_t pb_http_set_max_connections(size_t max);

/* Answers wait for the barrier: while pending(arg) is true an answer is
 * held, and once per loop pass (after the callbacks that produced the
 * answers) commit(arg) runs, then the held answers are sent. The tracker
 * puts its events in the journal there, so that no answer leaves before
 * its event is kept. NULL pending: none (the default). */
void pb_http_set_barrier(int (*pending)(void *arg), void (*commit)(void *arg), void *arg);

/* Drain: close the listening sockets; every answer from now on carries
 * "Connection: close" and ends its connection. */
void pb_http_drain(void);
/* Close the connections that have nothing in flight (idle keep-alive ones,
 * those waiting for the client to close; with fresh_too also those that
 * never sent a byte). The number still busy. */
size_t pb_http_close_idle(int fresh_too);
void pb_http_stats(struct pb_http_stats *out);
/* Close every connection and listening socket. */
void pb_http_free(void);

/* ---- answers (http_out.c) ------------------------------------------------- */

/* Status line, Date, and Connection when needed. */
void pb_http_begin(struct pb_http_request *req, int status);
/* One header; a value with CR or LF is refused (logged, not sent). */
void pb_http_header(struct pb_http_request *req, const char *name, const char *value);
/* Content-Length and the body (none for HEAD); the answer is complete. */
void pb_http_end(struct pb_http_request *req, const void *body, size_t len);

#endif
