/*
 * http_conn.h - inside the HTTP server (http.h): one connection with its
 * buffers and the request being parsed, shared by http_conn.c (reading,
 * writing, timeouts), http_listen.c (accepting), http_parse.c (the
 * parser's callbacks) and http_out.c (answers). Not for the rest of the
 * tracker.
 *
 * The parts of a request (target, header values, body) are kept where they
 * were read, as offsets into the read buffer (which may move or grow
 * while a request arrives in pieces); once the headers are complete they
 * are NUL-terminated in place, over bytes the parser has consumed, and
 * only right before the request is handed over do they become pointers
 * (pb_http_request_bind).
 */
#ifndef PB_TRACKER_HTTP_CONN_H
#define PB_TRACKER_HTTP_CONN_H

#include <stdint.h>
#include "http.h"
#include "http_tls.h"

#define PB_HTTP_INLINE 1024     /* read and output bytes kept inside the connection */
#define PB_HTTP_MAX_XFF 8       /* X-Forwarded-For headers kept (the right-most ones) */
#define PB_SPAN_UNSET UINT32_MAX

/* Bytes [off, end) of the read buffer; off == PB_SPAN_UNSET: none. */
struct pb_http_span {
    uint32_t off, end;
};

struct pb_http_conn {
    int fd;
    int admin;                  /* PB_HTTP_PUBLIC, PB_HTTP_ADMIN or PB_HTTP_EVENTS (http.h) */
    SSL *tls;                   /* NULL: plain HTTP */
    enum pb_tls_wait tls_wait;  /* what the last TLS read or write waits for */
    struct event *read_ev, *write_ev, *timer_ev;
    struct pb_http_conn *prev, *next;
    struct sockaddr_storage peer;
    http_parser parser;
    long long deadline_ms;      /* monotonic: the next request (or write) must be done by then */
    unsigned long served;       /* requests answered */
    unsigned reading : 1, writing : 1;  /* read_ev / write_ev added */
    unsigned want_read : 1, want_write : 1; /* what the connection waits for (with TLS
                                               the events may differ: see want()) */
    unsigned closing : 1;       /* no more requests: close once the output is sent */
    unsigned peer_closed : 1;   /* the client sent EOF */
    unsigned lingering : 1;     /* our side shut down: reading until the client closes */
    unsigned paused : 1;        /* parsing stopped until the output is sent */
    unsigned in_message : 1;    /* a request has begun and is not complete */
    unsigned headers_done : 1;
    unsigned answered : 1;      /* the current request got its answer */
    unsigned keep_alive : 1;    /* the current request allows another after it */
    unsigned in_value : 1;      /* the parser is in a header value */
    unsigned held : 1;          /* output waits for the barrier (in http.held) */
    unsigned transfer_encoding : 1; /* the request has a Transfer-Encoding header */
    int error_status;           /* set by a callback that refused the request */

    char *in;                   /* read buffer */
    size_t in_len, in_parsed, in_cap;
    char *out;                  /* output buffer */
    size_t out_len, out_sent, out_cap;

    struct pb_http_request req;     /* the request being parsed */
    struct pb_http_span url, path, field, user_agent, content_type, expect, body;
    struct pb_http_span pb_timestamp, pb_signature;     /* X-Postbeacon-* */
    int path_known;             /* path set from the request line (or none there) */
    struct pb_http_span xff[PB_HTTP_MAX_XFF];
    int nxff;
    struct pb_http_span *value; /* where the current header's value goes (NULL: ignored) */
    char *joined_xff;           /* several X-Forwarded-For headers joined (g_malloc) */

    char in_inline[PB_HTTP_INLINE];
    char out_inline[PB_HTTP_INLINE];
};

/* http_parse.c */
extern const http_parser_settings pb_http_parser_settings;
/* Forget the request being parsed (start of a new one). */
void pb_http_request_reset(struct pb_http_conn *c);
/* A request refused before its headers ended: its path, if the request
 * line was complete. */
void pb_http_request_path_so_far(struct pb_http_conn *c);
/* Point the request's strings into the read buffer as it is now. */
void pb_http_request_bind(struct pb_http_conn *c);
/* The offset of the first byte the request being parsed still needs. */
size_t pb_http_request_start(const struct pb_http_conn *c);
/* The read buffer moved its bytes down by shift: move the offsets too. */
void pb_http_request_shift(struct pb_http_conn *c, size_t shift);

/* http_conn.c */
const struct pb_http_limits *pb_http_limits_now(void);
int pb_http_draining(void);
/* A complete request (message_complete): call the handler. */
void pb_http_dispatch(struct pb_http_conn *c);

/* http_conn.c */
/* A new connection (accepted, non-blocking; TLS when tls): 0, or -1 (fd
 * left open). */
int pb_http_conn_new(int fd, const struct sockaddr_storage *peer, int admin, int tls);
/* Connections open on public (admin = 0) or admin listeners. */
size_t pb_http_open(int admin);

/* http_listen.c */
int pb_http_listen_init(struct event_base *base, char *errbuf, size_t errlen);
/* The TLS context new connections on TLS listeners get (NULL before any). */
SSL_CTX *pb_http_tls_ctx(void);
/* Close the listening sockets. */
void pb_http_listen_close(void);
/* Fill in refused and max_connections. */
void pb_http_listen_stats(struct pb_http_stats *out);

/* http_out.c */
/* A connection buffer (in or out: its bytes, capacity, inline array,
 * bytes in use) grown to new_cap bytes, moving off the inline array; and
 * back to the inline array (PB_HTTP_INLINE bytes) once nothing is in use. */
void pb_http_buf_grow(char **buf, size_t *cap, char *inline_buf, size_t used, size_t new_cap);
void pb_http_buf_shrink(char **buf, size_t *cap, char *inline_buf, size_t used);
void pb_http_out_append(struct pb_http_conn *c, const void *data, size_t len);
/* Back to the inline output buffer when nothing is queued. */
void pb_http_out_shrink(struct pb_http_conn *c);
/* A short text answer made here (when no handler answered). */
void pb_http_answer_plain(struct pb_http_conn *c, int status, const char *text);

#endif
