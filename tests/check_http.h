/*
 * check_http.h - the harness of the HTTP server unit tests (check_http.c,
 * check_http_limits.c): the server of tracker/http.h alone on a private
 * event loop, listening on 127.0.0.1 (a free port), with a handler that
 * records what it saw; raw client connections that write bytes and read
 * the answers while the loop runs, and a reader of those answers.
 *
 * Waiting is bounded by loop passes, not by time: each pass runs the loop
 * once (woken by the server's events, or by a short timer when it has
 * none) and then reads what the clients received.
 */
#ifndef PB_CHECK_HTTP_H
#define PB_CHECK_HTTP_H

#include <stddef.h>
#include <glib.h>
#include "http.h"

#define TH_MAX 16

/* A request as the test handler saw it (copies; NULL where the server gave NULL). */
struct th_seen {
    enum http_method method;
    char *path;
    char *user_agent, *content_type, *forwarded_for;
    char *body;
    size_t body_len;
    int http_minor, admin;
};

/* Requests the handler saw, in order (th_nseen counts them all, the first
 * TH_MAX are kept); statuses and paths the error handler saw. */
extern struct th_seen th_seen[TH_MAX];
extern int th_nseen;
extern int th_error_status[TH_MAX];
extern char *th_error_path[TH_MAX];
extern int th_nerrors;

/* How the handler answers: 200, "X-Extra: <th_extra_value>" when that is
 * set, then a body of th_answer_size bytes 'x' when that is set, else
 * "<METHOD> <path>". With th_no_answer it does not answer at all. */
extern const char *th_extra_value;
extern size_t th_answer_size;
extern int th_no_answer;

/* One answer as the client read it. */
struct th_response {
    int status;
    char *head;                 /* status line and headers, up to the blank line */
    char *body;                 /* NUL-terminated copy; "" when none */
    size_t body_len;
};

struct th_client {
    int fd;                     /* -1 once the test closed it */
    GString *in;                /* every byte received */
    size_t parsed;              /* bytes of in made into responses */
    int eof;                    /* the server closed (EOF or reset) */
    struct th_response resp[TH_MAX];
    int nresp;                  /* responses complete so far, 100 Continue included */
};

/* Start the server (limits NULL: the defaults) on a fresh event base; stop
 * it and free everything, clients included. */
void th_start(const struct pb_http_limits *limits);
void th_stop(void);
/* The port of the server's (public) listener. */
int th_port(void);
/* Another listener (admin or public) on a free port: its port. */
int th_listen(int admin);
/* A new client connection to th_port() or to_port, taken by the server
 * (accepted, or refused over the connection limit) before this returns. */
struct th_client *th_connect(void);
struct th_client *th_connect_to(int to_port);
/* Write bytes (running the loop while the socket is full), as one write
 * when they fit; th_send_bytewise writes them one byte at a time, running
 * the loop after each. */
void th_send(struct th_client *cl, const char *data, size_t len);
void th_send_str(struct th_client *cl, const char *s);
void th_send_bytewise(struct th_client *cl, const char *s);
/* Run the loop until cl has nresp responses (head_mask bit i: response i
 * answers a HEAD, so it has no body), the server closed, or the bound of
 * passes. The number of responses complete. */
int th_wait(struct th_client *cl, int nresp, unsigned head_mask);
/* Run the loop until the server closes cl (or the bound); 1 if it did. */
int th_wait_eof(struct th_client *cl);
/* Run the loop once; then read every client. */
void th_pass(void);
/* The value of header name (any case) in r, or NULL; a static buffer. */
const char *th_header(const struct th_response *r, const char *name);

#endif
