/*
 * check_http_limits.c - unit tests for the tracker's HTTP server
 * (tracker/http*.c), second part (the first and main() are check_http.c):
 * refused requests (headers over max_header_size: 431, bodies over
 * max_body_size: 413, malformed: 400) answered by the error handler and
 * closed, with the path the error handler is given (among them, per RFC
 * 9112: whitespace before a header's colon, HTTP/1.0 with
 * Transfer-Encoding); the headers the server reads (the first User-Agent
 * and Content-Type, every X-Forwarded-For joined); answers (a header
 * value with CR or LF is not sent, a handler that does not answer gets a
 * 500, large answers); a long stream that never lets the read buffer
 * empty; the drain, closing idle connections and the connection limit
 * (503).
 */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "check_http.h"

#define MAX_HEADER 1024
#define MAX_BODY 64

TCase *http_limits_tcase(void);

static void setup(void)
{
    struct pb_http_limits limits = { MAX_HEADER, MAX_BODY, 30, 0 };

    th_start(&limits);
}

static void teardown(void)
{
    th_stop();
}

/* The refused answer on cl: status, from the error handler, "Connection:
 * close", and then the connection ends. */
static void assert_refused(struct th_client *cl, int nresp, int status)
{
    struct th_response *r = &cl->resp[nresp - 1];
    char text[32];

    ck_assert_int_eq(th_wait(cl, nresp, 0), nresp);
    ck_assert_int_eq(r->status, status);
    ck_assert_str_eq(th_header(r, "Connection"), "close");
    snprintf(text, sizeof(text), "refused %d", status);
    ck_assert_str_eq(r->body, text);
    ck_assert_int_eq(th_wait_eof(cl), 1);
    ck_assert_uint_eq(cl->parsed, cl->in->len);
    ck_assert_int_eq(th_nerrors, 1);
    ck_assert_int_eq(th_error_status[0], status);
}

START_TEST(test_headers_too_large)
{
    struct th_client *cl = th_connect();
    GString *req = g_string_new("GET /c/x?q=1 HTTP/1.1\r\nHost: t\r\nX-Pad: ");

    for (int i = 0; i < 2 * MAX_HEADER; i++)
        g_string_append_c(req, 'a');
    g_string_append(req, "\r\n\r\n");
    th_send(cl, req->str, req->len);
    g_string_free(req, TRUE);
    assert_refused(cl, 1, 431);
    ck_assert_str_eq(th_error_path[0], "/c/x");
    ck_assert_int_eq(th_nseen, 0);
}
END_TEST

/* Headers just under the limit are served. */
START_TEST(test_headers_at_limit)
{
    struct th_client *cl = th_connect();
    GString *req = g_string_new("GET /c/x HTTP/1.1\r\nHost: t\r\nX-Pad: ");

    while (req->len < MAX_HEADER - 64)
        g_string_append_c(req, 'a');
    g_string_append(req, "\r\n\r\n");
    th_send(cl, req->str, req->len);
    g_string_free(req, TRUE);
    ck_assert_int_eq(th_wait(cl, 1, 0), 1);
    ck_assert_int_eq(cl->resp[0].status, 200);
    ck_assert_int_eq(th_nerrors, 0);
}
END_TEST

START_TEST(test_body_too_large)
{
    static const char body[MAX_BODY + 2] =
        "0123456789012345678901234567890123456789012345678901234567890123!";
    struct th_client *fits = th_connect(), *cl = th_connect();
    char head[128];

    snprintf(head, sizeof(head), "POST /u/t HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n",
             MAX_BODY);
    th_send_str(fits, head);
    th_send(fits, body, MAX_BODY);
    ck_assert_int_eq(th_wait(fits, 1, 0), 1);
    ck_assert_int_eq(fits->resp[0].status, 200);
    ck_assert_uint_eq(th_seen[0].body_len, MAX_BODY);

    /* refused on the header alone, before any of the body is sent */
    snprintf(head, sizeof(head), "POST /u/t HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n",
             MAX_BODY + 1);
    th_send_str(cl, head);
    assert_refused(cl, 1, 413);
    ck_assert_str_eq(th_error_path[0], "/u/t");
    ck_assert_int_eq(th_nseen, 1);
}
END_TEST

START_TEST(test_chunked_body_too_large)
{
    static const char head[] = "POST /u/t HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
    static const char chunk40[] = "28\r\n0123456789012345678901234567890123456789\r\n";
    struct th_client *fits = th_connect(), *cl = th_connect();

    th_send_str(fits, head);
    th_send_str(fits, chunk40);
    th_send_str(fits, "18\r\n012345678901234567890123\r\n0\r\n\r\n");     /* 40 + 24 */
    ck_assert_int_eq(th_wait(fits, 1, 0), 1);
    ck_assert_int_eq(fits->resp[0].status, 200);
    ck_assert_uint_eq(th_seen[0].body_len, MAX_BODY);

    th_send_str(cl, head);
    th_send_str(cl, chunk40);
    th_send_str(cl, "19\r\n0123456789012345678901234\r\n0\r\n\r\n");    /* 40 + 25 */
    assert_refused(cl, 1, 413);
    ck_assert_str_eq(th_error_path[0], "/u/t");
    ck_assert_int_eq(th_nseen, 1);
}
END_TEST

/* A malformed request line gets 400 (no path known), after the answer to
 * the good request pipelined before it. */
START_TEST(test_garbage_request_line)
{
    struct th_client *cl = th_connect();

    th_send_str(cl, "GET /ok HTTP/1.1\r\nHost: t\r\n\r\nHELLO WORLD\r\n\r\n");
    assert_refused(cl, 2, 400);
    ck_assert_int_eq(cl->resp[0].status, 200);
    ck_assert_str_eq(cl->resp[0].body, "GET /ok");
    ck_assert_ptr_null(th_error_path[0]);
    ck_assert_int_eq(th_nseen, 1);
}
END_TEST

START_TEST(test_bad_version)
{
    struct th_client *cl = th_connect();

    th_send_str(cl, "GET /c/x HTTP/9.Q\r\nHost: t\r\n\r\n");
    assert_refused(cl, 1, 400);
    ck_assert_int_eq(th_nseen, 0);
}
END_TEST

/* A request line alone over max_header_size: 431, no path known yet. */
START_TEST(test_request_line_too_large)
{
    struct th_client *cl = th_connect();
    GString *req = g_string_new("GET /c/");

    for (int i = 0; i < 2 * MAX_HEADER; i++)
        g_string_append_c(req, 'a');
    g_string_append(req, " HTTP/1.1\r\nHost: t\r\n\r\n");
    th_send(cl, req->str, req->len);
    g_string_free(req, TRUE);
    assert_refused(cl, 1, 431);
    ck_assert_ptr_null(th_error_path[0]);
}
END_TEST

/* A malformed header line after a complete request line: 400, with the
 * path of the request line. */
START_TEST(test_bad_header_line)
{
    struct th_client *cl = th_connect();

    th_send_str(cl, "GET /c/y?z HTTP/1.1\r\nBad Header\r\n\r\n");
    assert_refused(cl, 1, 400);
    ck_assert_pstr_eq(th_error_path[0], "/c/y");
}
END_TEST

/* Whitespace between a header field name and its colon: 400 (RFC 9112
 * section 5.1: a server MUST reject such a request with 400), with the
 * path of the request line, and the handler never sees the request;
 * whether the header is one that frames the body (Content-Length), Host,
 * or one the server reads, with a space or a tab, sent whole or a byte at
 * a time. */
START_TEST(test_space_before_colon)
{
    static const char *lines[] = { "Content-Length : 0", "Host : t", "Host\t: t",
                                   "User-Agent  : ua" };
    int n = (int)(sizeof(lines) / sizeof(lines[0]));

    for (int i = 0; i <= n; i++) {
        struct th_client *cl = th_connect();
        char req[128];

        snprintf(req, sizeof(req), "POST /c/ws HTTP/1.1\r\n%s\r\n\r\n", lines[i % n]);
        if (i < n)
            th_send_str(cl, req);
        else
            th_send_bytewise(cl, req);      /* the name arrives in pieces */
        ck_assert_int_eq(th_wait(cl, 1, 0), 1);
        ck_assert_msg(cl->resp[0].status == 400, "\"%s\": %d", lines[i % n], cl->resp[0].status);
        ck_assert_str_eq(th_header(&cl->resp[0], "Connection"), "close");
        ck_assert_int_eq(th_wait_eof(cl), 1);
        ck_assert_int_eq(th_nerrors, i + 1);
        ck_assert_pstr_eq(th_error_path[i], "/c/ws");
    }
    ck_assert_int_eq(th_nseen, 0);
}
END_TEST

/* An HTTP/1.0 request with Transfer-Encoding: its framing is faulty (RFC
 * 9112 section 6.1), so it is refused with 400 and the connection closes,
 * even when it asks to be kept alive; the chunks after its headers and the
 * request pipelined after them are not read as requests. */
START_TEST(test_http10_transfer_encoding)
{
    struct th_client *cl = th_connect();

    th_send_str(cl, "POST /u/t HTTP/1.0\r\nConnection: keep-alive\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
                    "GET /next HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_refused(cl, 1, 400);
    ck_assert_pstr_eq(th_error_path[0], "/u/t");
    ck_assert_int_eq(th_nseen, 0);
}
END_TEST

/* In HTTP/1.1 too, a body whose length cannot be told is refused with 400
 * (RFC 9112 section 6.3): a Transfer-Encoding whose last coding is not
 * chunked, and Transfer-Encoding together with Content-Length. */
START_TEST(test_transfer_encoding_refused)
{
    static const char *heads[] = { "Transfer-Encoding: gzip",
                                   "Transfer-Encoding: chunked\r\nContent-Length: 5" };

    for (int i = 0; i < 2; i++) {
        struct th_client *cl = th_connect();
        char req[160];

        snprintf(req, sizeof(req), "POST /u/t HTTP/1.1\r\nHost: t\r\n%s\r\n\r\n"
                 "5\r\nhello\r\n0\r\n\r\n", heads[i]);
        th_send_str(cl, req);
        ck_assert_int_eq(th_wait(cl, 1, 0), 1);
        ck_assert_int_eq(cl->resp[0].status, 400);
        ck_assert_int_eq(th_wait_eof(cl), 1);
    }
    ck_assert_int_eq(th_nerrors, 2);
    ck_assert_int_eq(th_nseen, 0);
}
END_TEST

START_TEST(test_bad_chunk_size)
{
    struct th_client *cl = th_connect();

    th_send_str(cl, "POST /u/t HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "zz\r\nabc\r\n0\r\n\r\n");
    assert_refused(cl, 1, 400);
    ck_assert_pstr_eq(th_error_path[0], "/u/t");
    ck_assert_int_eq(th_nseen, 0);
}
END_TEST

START_TEST(test_first_user_agent)
{
    struct th_client *cl = th_connect();

    th_send_str(cl, "GET /a HTTP/1.1\r\nHost: t\r\nuser-agent: first agent  \r\n"
                    "User-Agent: second\r\nContent-Type: text/one\r\nCONTENT-TYPE: text/two\r\n\r\n");
    ck_assert_int_eq(th_wait(cl, 1, 0), 1);
    ck_assert_str_eq(th_seen[0].user_agent, "first agent");
    ck_assert_str_eq(th_seen[0].content_type, "text/one");
}
END_TEST

/* One X-Forwarded-For as it is; several joined with "," in order; of
 * more than eight, the right-most eight. */
START_TEST(test_forwarded_for)
{
    struct th_client *cl = th_connect();
    GString *req = g_string_new("GET /c HTTP/1.1\r\nHost: t\r\n");

    th_send_str(cl, "GET /a HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 192.0.2.1, 10.0.0.1\r\n\r\n"
                    "GET /b HTTP/1.1\r\nX-Forwarded-For: 192.0.2.1\r\nHost: t\r\n"
                    "x-forwarded-for: 198.51.100.2, 10.0.0.2\r\nX-Forwarded-For: 203.0.113.3\r\n\r\n");
    for (int i = 1; i <= 10; i++)
        g_string_append_printf(req, "X-Forwarded-For: 10.0.0.%d\r\n", i);
    g_string_append(req, "\r\n");
    th_send(cl, req->str, req->len);
    g_string_free(req, TRUE);
    ck_assert_int_eq(th_wait(cl, 3, 0), 3);
    ck_assert_str_eq(th_seen[0].forwarded_for, "192.0.2.1, 10.0.0.1");
    ck_assert_str_eq(th_seen[1].forwarded_for, "192.0.2.1,198.51.100.2, 10.0.0.2,203.0.113.3");
    ck_assert_str_eq(th_seen[2].forwarded_for,
                     "10.0.0.3,10.0.0.4,10.0.0.5,10.0.0.6,10.0.0.7,10.0.0.8,10.0.0.9,10.0.0.10");
}
END_TEST

/* A header value with CR or LF is not sent; the rest of the answer is. */
START_TEST(test_header_line_break_refused)
{
    static const char *values[] = { "ok-value", "a\r\nSet-Cookie: evil=1", "b\nX-Injected: 1",
                                    "c\r" };
    struct th_client *cl = th_connect();

    for (int i = 0; i < 4; i++) {
        struct th_response *r = &cl->resp[i];

        th_extra_value = values[i];
        th_send_str(cl, "GET /h HTTP/1.1\r\nHost: t\r\n\r\n");
        ck_assert_int_eq(th_wait(cl, i + 1, 0), i + 1);
        ck_assert_int_eq(r->status, 200);
        ck_assert_str_eq(r->body, "GET /h");
        ck_assert_str_eq(th_header(r, "Content-Type"), "text/plain");
        if (i == 0)
            ck_assert_str_eq(th_header(r, "X-Extra"), "ok-value");
        else
            ck_assert_ptr_null(th_header(r, "X-Extra"));
        ck_assert_ptr_null(th_header(r, "Set-Cookie"));
        ck_assert_ptr_null(th_header(r, "X-Injected"));
    }
    ck_assert_uint_eq(cl->parsed, cl->in->len);
    ck_assert(!cl->eof);
}
END_TEST

/* A handler that does not answer: the server answers 500 and closes. */
START_TEST(test_no_answer)
{
    struct th_client *cl = th_connect();

    th_no_answer = 1;
    th_send_str(cl, "GET /n HTTP/1.1\r\nHost: t\r\n\r\nGET /m HTTP/1.1\r\nHost: t\r\n\r\n");
    ck_assert_int_eq(th_wait(cl, 1, 0), 1);
    ck_assert_int_eq(cl->resp[0].status, 500);
    ck_assert_str_eq(th_header(&cl->resp[0], "Connection"), "close");
    ck_assert_int_eq(th_wait_eof(cl), 1);
    ck_assert_int_eq(th_nseen, 1);
}
END_TEST

/* Answers larger than the output buffers, pipelined: whole and in order. */
START_TEST(test_large_answers)
{
    struct th_client *cl = th_connect();

    th_answer_size = 300 * 1024;
    th_send_str(cl, "GET /1 HTTP/1.1\r\nHost: t\r\n\r\nHEAD /2 HTTP/1.1\r\nHost: t\r\n\r\n"
                    "GET /3 HTTP/1.1\r\nHost: t\r\n\r\n");
    ck_assert_int_eq(th_wait(cl, 3, 2), 3);
    for (int i = 0; i < 3; i++)
        ck_assert_str_eq(th_header(&cl->resp[i], "Content-Length"), "307200");
    ck_assert_uint_eq(cl->resp[0].body_len, th_answer_size);
    ck_assert_uint_eq(cl->resp[1].body_len, 0);
    ck_assert_uint_eq(cl->resp[2].body_len, th_answer_size);
    ck_assert_uint_eq(strspn(cl->resp[2].body, "x"), th_answer_size);
    ck_assert_uint_eq(cl->parsed, cl->in->len);
}
END_TEST

/* After pb_http_drain an open keep-alive connection's next answer says
 * "Connection: close" and the connection ends; new ones are not taken. */
START_TEST(test_drain)
{
    struct th_client *cl = th_connect();
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)th_port()) };
    int fd;

    th_send_str(cl, "GET /before HTTP/1.1\r\nHost: t\r\n\r\n");
    ck_assert_int_eq(th_wait(cl, 1, 0), 1);
    ck_assert_ptr_null(th_header(&cl->resp[0], "Connection"));
    pb_http_drain();
    th_send_str(cl, "GET /after HTTP/1.1\r\nHost: t\r\n\r\n");
    ck_assert_int_eq(th_wait(cl, 2, 0), 2);
    ck_assert_int_eq(cl->resp[1].status, 200);
    ck_assert_str_eq(th_header(&cl->resp[1], "Connection"), "close");
    ck_assert_int_eq(th_wait_eof(cl), 1);

    fd = socket(AF_INET, SOCK_STREAM, 0);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), -1);
    ck_assert_int_eq(errno, ECONNREFUSED);
    close(fd);
}
END_TEST

/* A long keep-alive stream (far more than the read buffer may hold) whose
 * writes all end in the middle of a request, so that the buffer never
 * empties: every request is served, in order, with its own path. */
START_TEST(test_long_stream)
{
    struct th_client *cl = th_connect();
    GString *stream = g_string_new(NULL);
    size_t sent = 0;
    const char *at;
    int n = 400;

    ck_assert_uint_gt(n * 48, MAX_HEADER + MAX_BODY + 8192);
    for (int i = 0; i < n; i++) {
        size_t start = stream->len;

        g_string_append_printf(stream, "GET /r/%d HTTP/1.1\r\nHost: t\r\nUser-Agent: u%d\r\n\r\n",
                               i, i);
        if (i > 0) {            /* the rest of request i - 1 and the start of request i */
            th_send(cl, stream->str + sent, start + 5 - sent);
            sent = start + 5;
            th_pass();
        }
    }
    th_send(cl, stream->str + sent, stream->len - sent);
    g_string_free(stream, TRUE);
    for (int i = 0; i < 300 && th_nseen < n; i++)
        th_pass();
    ck_assert_int_eq(th_nseen, n);
    ck_assert_int_eq(th_nerrors, 0);
    ck_assert_str_eq(th_seen[TH_MAX - 1].user_agent, "u15");
    at = cl->in->str;
    for (int i = 0; i < n; i++) {
        char body[32];

        snprintf(body, sizeof(body), "\r\n\r\nGET /r/%d", i);
        at = strstr(at, body);
        ck_assert_msg(at != NULL, "no answer to request %d", i);
    }
    ck_assert(!cl->eof);
}
END_TEST

/* Over the connection limit a new connection gets a 503 and is closed;
 * the open ones go on, an admin listener still takes connections (its
 * requests marked admin), and once one public connection closes a new one
 * is served. */
START_TEST(test_connection_limit)
{
    struct th_client *a, *b, *over, *admin, *later;
    struct pb_http_stats stats;
    int admin_port = th_listen(1);

    ck_assert_uint_eq(pb_http_set_max_connections(2), 2);
    a = th_connect();
    b = th_connect();
    over = th_connect();
    admin = th_connect_to(admin_port);
    th_send_str(admin, "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n");
    ck_assert_int_eq(th_wait(admin, 1, 0), 1);
    ck_assert_int_eq(admin->resp[0].status, 200);
    ck_assert_int_eq(th_nseen, 1);
    ck_assert_int_eq(th_seen[0].admin, 1);
    ck_assert_str_eq(th_seen[0].path, "/metrics");
    ck_assert_int_eq(th_wait(over, 1, 0), 1);
    ck_assert_int_eq(over->resp[0].status, 503);
    ck_assert_str_eq(th_header(&over->resp[0], "Connection"), "close");
    ck_assert_str_eq(th_header(&over->resp[0], "Retry-After"), "1");
    ck_assert_int_eq(th_wait_eof(over), 1);
    pb_http_stats(&stats);
    ck_assert_uint_eq(stats.refused, 1);
    ck_assert_uint_eq(stats.max_connections, 2);
    ck_assert_uint_eq(stats.open, 3);
    close(admin->fd);
    admin->fd = -1;

    th_send_str(a, "GET /a HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    ck_assert_int_eq(th_wait(a, 1, 0), 1);
    ck_assert_int_eq(a->resp[0].status, 200);
    ck_assert_int_eq(th_wait_eof(a), 1);
    close(a->fd);               /* the server lingers until the client closes */
    a->fd = -1;
    for (int i = 0; i < 100 && stats.open > 1; i++) {     /* a's and admin's ends */
        th_pass();
        pb_http_stats(&stats);
    }
    ck_assert_uint_eq(stats.open, 1);
    later = th_connect();
    th_send_str(later, "GET /later HTTP/1.1\r\nHost: t\r\n\r\n");
    ck_assert_int_eq(th_wait(later, 1, 0), 1);
    ck_assert_int_eq(later->resp[0].status, 200);
    ck_assert_int_eq(th_seen[2].admin, 0);
    th_send_str(b, "GET /b HTTP/1.1\r\nHost: t\r\n\r\n");
    ck_assert_int_eq(th_wait(b, 1, 0), 1);
    ck_assert_int_eq(b->resp[0].status, 200);
}
END_TEST

/* pb_http_close_idle closes a connection between requests, keeps one in
 * the middle of a request, and a fresh one only with fresh_too. */
START_TEST(test_close_idle)
{
    struct th_client *idle = th_connect(), *busy = th_connect(), *fresh = th_connect();
    struct pb_http_stats stats;

    th_send_str(idle, "GET /a HTTP/1.1\r\nHost: t\r\n\r\n");
    ck_assert_int_eq(th_wait(idle, 1, 0), 1);
    th_send_str(busy, "GET /b HTTP/1.1\r\nHost: t\r\n");
    th_pass();
    ck_assert_uint_eq(pb_http_close_idle(0), 2);
    ck_assert_int_eq(th_wait_eof(idle), 1);
    ck_assert_uint_eq(pb_http_close_idle(1), 1);
    ck_assert_int_eq(th_wait_eof(fresh), 1);
    pb_http_stats(&stats);
    ck_assert_uint_eq(stats.open, 1);
    th_send_str(busy, "\r\n");
    ck_assert_int_eq(th_wait(busy, 1, 0), 1);
    ck_assert_str_eq(busy->resp[0].body, "GET /b");
}
END_TEST

TCase *http_limits_tcase(void)
{
    TCase *tc = tcase_create("limits and answers");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_headers_too_large);
    tcase_add_test(tc, test_headers_at_limit);
    tcase_add_test(tc, test_body_too_large);
    tcase_add_test(tc, test_chunked_body_too_large);
    tcase_add_test(tc, test_garbage_request_line);
    tcase_add_test(tc, test_bad_version);
    tcase_add_test(tc, test_request_line_too_large);
    tcase_add_test(tc, test_bad_header_line);
    tcase_add_test(tc, test_bad_chunk_size);
    tcase_add_test(tc, test_space_before_colon);
    tcase_add_test(tc, test_http10_transfer_encoding);
    tcase_add_test(tc, test_transfer_encoding_refused);
    tcase_add_test(tc, test_first_user_agent);
    tcase_add_test(tc, test_forwarded_for);
    tcase_add_test(tc, test_header_line_break_refused);
    tcase_add_test(tc, test_no_answer);
    tcase_add_test(tc, test_large_answers);
    tcase_add_test(tc, test_drain);
    tcase_add_test(tc, test_long_stream);
    tcase_add_test(tc, test_close_idle);
    tcase_add_test(tc, test_connection_limit);
    return tc;
}
