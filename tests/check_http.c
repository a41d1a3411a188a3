/*
 * check_http.c - unit tests for the tracker's HTTP server (tracker/http*.c)
 * driven as a library (harness: check_http_util.c): requests and what the
 * handler sees of them (method, path without query or fragment, absolute
 * targets, HEAD), keep-alive, pipelining, closing after "Connection:
 * close" and HTTP/1.0, a client's half-close, a folded header, request
 * bodies (Content-Length, chunked, Expect: 100-continue) and requests
 * arriving a byte at a time. The limits, the headers the server reads,
 * answers, the drain and the connection limit are in check_http_limits.c.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "check_http.h"

TCase *http_limits_tcase(void);
TCase *http_barrier_tcase(void);

static void setup(void)
{
    th_start(NULL);
}

static void teardown(void)
{
    th_stop();
}

START_TEST(test_simple_get)
{
    struct th_client *cl = th_connect();
    struct th_response *r = &cl->resp[0];

    th_send_str(cl, "GET /c/abc HTTP/1.1\r\nHost: t.example\r\nUser-Agent: UA/1\r\n\r\n");
    ck_assert_int_eq(th_wait(cl, 1, 0), 1);
    ck_assert_msg(g_str_has_prefix(r->head, "HTTP/1.1 200 OK\r\n"), "%s", r->head);
    ck_assert_ptr_nonnull(th_header(r, "Date"));
    ck_assert_str_eq(th_header(r, "Content-Type"), "text/plain");
    ck_assert_str_eq(th_header(r, "Content-Length"), "10");
    ck_assert_ptr_null(th_header(r, "Connection"));
    ck_assert_str_eq(r->body, "GET /c/abc");
    ck_assert_uint_eq(cl->parsed, cl->in->len);
    ck_assert_int_eq(th_nseen, 1);
    ck_assert_int_eq(th_seen[0].method, HTTP_GET);
    ck_assert_str_eq(th_seen[0].path, "/c/abc");
    ck_assert_str_eq(th_seen[0].user_agent, "UA/1");
    ck_assert_ptr_null(th_seen[0].content_type);
    ck_assert_ptr_null(th_seen[0].forwarded_for);
    ck_assert_ptr_null(th_seen[0].body);
    ck_assert_int_eq(th_seen[0].http_minor, 1);
    ck_assert_int_eq(th_seen[0].admin, 0);
    ck_assert_int_eq(th_nerrors, 0);
}
END_TEST

/* HEAD: the same headers as GET, Content-Length included, and no body (the
 * GET pipelined after it starts right after the HEAD's blank line). */
START_TEST(test_head)
{
    struct th_client *cl = th_connect();

    th_send_str(cl, "HEAD /o/x.gif HTTP/1.1\r\nHost: t\r\n\r\nGET /o/x.gif HTTP/1.1\r\nHost: t\r\n\r\n");
    ck_assert_int_eq(th_wait(cl, 2, 1), 2);
    ck_assert_int_eq(cl->resp[0].status, 200);
    ck_assert_str_eq(th_header(&cl->resp[0], "Content-Length"), "13");   /* "HEAD /o/x.gif" */
    ck_assert_str_eq(cl->resp[0].body, "");
    ck_assert_int_eq(cl->resp[1].status, 200);
    ck_assert_str_eq(cl->resp[1].body, "GET /o/x.gif");
    ck_assert_uint_eq(cl->parsed, cl->in->len);
    ck_assert_int_eq(th_seen[0].method, HTTP_HEAD);
    ck_assert_str_eq(th_seen[0].path, "/o/x.gif");
}
END_TEST

START_TEST(test_path_without_query_or_fragment)
{
    struct th_client *cl = th_connect();

    th_send_str(cl, "GET /o/tok.gif?a=1&b=/x#frag HTTP/1.1\r\nHost: t\r\n\r\n"
                    "GET /u/tok#only-fragment HTTP/1.1\r\nHost: t\r\n\r\n"
                    "GET /?q HTTP/1.1\r\nHost: t\r\n\r\n");
    ck_assert_int_eq(th_wait(cl, 3, 0), 3);
    ck_assert_int_eq(th_nseen, 3);
    ck_assert_str_eq(th_seen[0].path, "/o/tok.gif");
    ck_assert_str_eq(th_seen[1].path, "/u/tok");
    ck_assert_str_eq(th_seen[2].path, "/");
    ck_assert_str_eq(cl->resp[0].body, "GET /o/tok.gif");
}
END_TEST

START_TEST(test_absolute_target)
{
    struct th_client *cl = th_connect();

    th_send_str(cl, "GET http://t.example:8080/c/x?y=1 HTTP/1.1\r\nHost: t.example\r\n\r\n");
    ck_assert_int_eq(th_wait(cl, 1, 0), 1);
    ck_assert_int_eq(cl->resp[0].status, 200);
    ck_assert_int_eq(th_nseen, 1);
    ck_assert_str_eq(th_seen[0].path, "/c/x");
}
END_TEST

/* Two requests one after the other on one connection, both answered. */
START_TEST(test_keep_alive)
{
    struct th_client *cl = th_connect();
    struct pb_http_stats stats;

    th_send_str(cl, "GET /first HTTP/1.1\r\nHost: t\r\n\r\n");
    ck_assert_int_eq(th_wait(cl, 1, 0), 1);
    ck_assert_ptr_null(th_header(&cl->resp[0], "Connection"));
    ck_assert(!cl->eof);
    th_send_str(cl, "GET /second HTTP/1.1\r\nHost: t\r\n\r\n");
    ck_assert_int_eq(th_wait(cl, 2, 0), 2);
    ck_assert_str_eq(cl->resp[1].body, "GET /second");
    ck_assert_ptr_null(th_header(&cl->resp[1], "Connection"));
    pb_http_stats(&stats);
    ck_assert_uint_eq(stats.accepted, 1);
    ck_assert_uint_eq(stats.open, 1);
    ck_assert_int_eq(th_nseen, 2);
}
END_TEST

START_TEST(test_pipelining)
{
    struct th_client *cl = th_connect();

    th_send_str(cl, "GET /a HTTP/1.1\r\nHost: t\r\n\r\n"
                    "POST /b HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nxyz"
                    "GET /c HTTP/1.1\r\nHost: t\r\n\r\n");
    ck_assert_int_eq(th_wait(cl, 3, 0), 3);
    ck_assert_str_eq(cl->resp[0].body, "GET /a");
    ck_assert_str_eq(cl->resp[1].body, "POST /b");
    ck_assert_str_eq(cl->resp[2].body, "GET /c");
    ck_assert_str_eq(th_seen[1].body, "xyz");
    ck_assert_ptr_null(th_seen[2].body);
    ck_assert_uint_eq(cl->parsed, cl->in->len);
    ck_assert(!cl->eof);
}
END_TEST

/* "Connection: close": that answer says so, the connection ends, and a
 * request pipelined after it is not answered. */
START_TEST(test_connection_close)
{
    struct th_client *cl = th_connect();

    th_send_str(cl, "GET /a HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
                    "GET /b HTTP/1.1\r\nHost: t\r\n\r\n");
    ck_assert_int_eq(th_wait(cl, 1, 0), 1);
    ck_assert_str_eq(th_header(&cl->resp[0], "Connection"), "close");
    ck_assert_int_eq(th_wait_eof(cl), 1);
    ck_assert_uint_eq(cl->parsed, cl->in->len);
    ck_assert_int_eq(th_nseen, 1);
}
END_TEST

/* HTTP/1.0 closes after the answer; with "Connection: keep-alive" it stays
 * open and its answers say "Connection: keep-alive". */
START_TEST(test_http10)
{
    struct th_client *plain = th_connect(), *kept = th_connect();

    th_send_str(plain, "GET /old HTTP/1.0\r\n\r\n");
    ck_assert_int_eq(th_wait(plain, 1, 0), 1);
    ck_assert_str_eq(th_header(&plain->resp[0], "Connection"), "close");
    ck_assert_int_eq(th_wait_eof(plain), 1);
    ck_assert_int_eq(th_seen[0].http_minor, 0);

    th_send_str(kept, "GET /k1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    ck_assert_int_eq(th_wait(kept, 1, 0), 1);
    ck_assert_str_eq(th_header(&kept->resp[0], "Connection"), "keep-alive");
    th_send_str(kept, "GET /k2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    ck_assert_int_eq(th_wait(kept, 2, 0), 2);
    ck_assert_str_eq(kept->resp[1].body, "GET /k2");
    ck_assert(!kept->eof);
}
END_TEST

/* A client that shuts down its sending side right after its requests
 * (more than one read takes, so the server sees their end and the EOF at
 * once) still gets every answer, then the server closes. */
START_TEST(test_half_close)
{
    struct th_client *cl = th_connect();
    GString *stream = g_string_new(NULL);
    int n = 12;

    for (int i = 0; i < n; i++)
        g_string_append_printf(stream, "GET /r/%d HTTP/1.1\r\nHost: t\r\nUser-Agent: %0100d\r\n\r\n",
                               i, i);
    ck_assert_uint_gt(stream->len, 1024);
    th_send(cl, stream->str, stream->len);
    g_string_free(stream, TRUE);
    ck_assert_int_eq(shutdown(cl->fd, SHUT_WR), 0);
    ck_assert_int_eq(th_wait(cl, n, 0), n);
    for (int i = 0; i < n; i++) {
        char body[32];

        snprintf(body, sizeof(body), "GET /r/%d", i);
        ck_assert_str_eq(cl->resp[i].body, body);
    }
    ck_assert_int_eq(th_wait_eof(cl), 1);
    ck_assert_uint_eq(cl->parsed, cl->in->len);
}
END_TEST

/* The end of the client's input in the same event as a read that filled
 * the buffer, in the middle of a request: the complete request before it
 * is still answered, the incomplete one dropped, then the server closes. */
START_TEST(test_half_close_mid_request)
{
    struct th_client *cl = th_connect();
    GString *stream = g_string_new("GET /a HTTP/1.1\r\nHost: t\r\n\r\nGET /b HTTP/1.1\r\nX-Pad: ");

    while (stream->len < 1024)          /* exactly the first read's room */
        g_string_append_c(stream, 'p');
    th_send(cl, stream->str, stream->len);
    g_string_free(stream, TRUE);
    ck_assert_int_eq(shutdown(cl->fd, SHUT_WR), 0);
    ck_assert_int_eq(th_wait(cl, 1, 0), 1);
    ck_assert_str_eq(cl->resp[0].body, "GET /a");
    ck_assert_int_eq(th_wait_eof(cl), 1);
    ck_assert_int_eq(th_nseen, 1);
    ck_assert_uint_eq(cl->parsed, cl->in->len);
}
END_TEST

/* A header folded over two lines reads as one line. */
START_TEST(test_folded_header)
{
    struct th_client *cl = th_connect();

    th_send_str(cl, "GET /f HTTP/1.1\r\nHost: t\r\nUser-Agent: Mozilla/5.0\r\n (folded)\r\n\r\n");
    ck_assert_int_eq(th_wait(cl, 1, 0), 1);
    ck_assert_int_eq(cl->resp[0].status, 200);
    ck_assert_str_eq(th_seen[0].user_agent, "Mozilla/5.0   (folded)");
}
END_TEST

START_TEST(test_post_body)
{
    struct th_client *cl = th_connect();

    th_send_str(cl, "POST /u/tok HTTP/1.1\r\nHost: t\r\n"
                    "Content-Type: application/x-www-form-urlencoded\r\n"
                    "Content-Length: 26\r\n\r\nList-Unsubscribe=One-Click");
    ck_assert_int_eq(th_wait(cl, 1, 0), 1);
    ck_assert_int_eq(cl->resp[0].status, 200);
    ck_assert_int_eq(th_nseen, 1);
    ck_assert_int_eq(th_seen[0].method, HTTP_POST);
    ck_assert_str_eq(th_seen[0].content_type, "application/x-www-form-urlencoded");
    ck_assert_uint_eq(th_seen[0].body_len, 26);
    ck_assert_str_eq(th_seen[0].body, "List-Unsubscribe=One-Click");
}
END_TEST

/* A chunked body of several chunks (with an extension and a trailer)
 * reaches the handler whole, de-chunked, and the next request after it
 * is parsed as usual. */
START_TEST(test_chunked_body)
{
    struct th_client *cl = th_connect();

    th_send_str(cl, "POST /u/tok HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "5\r\nhello\r\n1;ext=1\r\n \r\nA\r\n0123456789\r\n");
    th_send_str(cl, "3\r\n!!!\r\n0\r\nX-Trailer: 1\r\n\r\n"
                    "GET /after HTTP/1.1\r\nHost: t\r\n\r\n");
    ck_assert_int_eq(th_wait(cl, 2, 0), 2);
    ck_assert_int_eq(th_nseen, 2);
    ck_assert_uint_eq(th_seen[0].body_len, 19);
    ck_assert_str_eq(th_seen[0].body, "hello 0123456789!!!");
    ck_assert_str_eq(th_seen[1].path, "/after");
    ck_assert_str_eq(cl->resp[1].body, "GET /after");
}
END_TEST

/* Expect: 100-continue gets the interim answer once the headers are in,
 * before the client sends the body; then the final answer. */
START_TEST(test_expect_continue)
{
    static const char interim[] = "HTTP/1.1 100 Continue\r\n\r\n";
    struct th_client *cl = th_connect();

    th_send_str(cl, "POST /u/tok HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
                    "Content-Length: 5\r\n\r\n");
    ck_assert_int_eq(th_wait(cl, 1, 0), 1);
    ck_assert_int_eq(cl->resp[0].status, 100);
    ck_assert_str_eq(cl->in->str, interim);
    ck_assert_int_eq(th_nseen, 0);
    th_send_str(cl, "abcde");
    ck_assert_int_eq(th_wait(cl, 2, 0), 2);
    ck_assert_int_eq(cl->resp[1].status, 200);
    ck_assert_str_eq(th_seen[0].body, "abcde");
    ck_assert_uint_eq(cl->parsed, cl->in->len);
}
END_TEST

/* HTTP/1.0 knows no 100 Continue: none is sent. */
START_TEST(test_expect_continue_http10)
{
    struct th_client *cl = th_connect();

    th_send_str(cl, "POST /u/tok HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok");
    ck_assert_int_eq(th_wait(cl, 1, 0), 1);
    ck_assert_int_eq(cl->resp[0].status, 200);
    ck_assert_int_eq(th_wait_eof(cl), 1);
    ck_assert_int_eq(cl->nresp, 1);
}
END_TEST

/* The same requests, whole in one write and a byte per write, give the
 * handler the same (a chunked POST with every header the server reads). */
START_TEST(test_bytewise)
{
    static const char request[] =
        "POST /u/some-token?x=1 HTTP/1.1\r\nHost: t\r\nUser-Agent: Mozilla/5.0 (X11)\r\n"
        "X-Forwarded-For: 192.0.2.1\r\nContent-Type: text/plain\r\n"
        "X-Forwarded-For: 198.51.100.2\r\nTransfer-Encoding: chunked\r\n\r\n"
        "4\r\nabcd\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n"
        "GET /o/x.gif HTTP/1.1\r\nHost: t\r\nUser-Agent: second\r\n\r\n";
    struct th_client *whole = th_connect(), *bytes = th_connect();

    th_send_str(whole, request);
    ck_assert_int_eq(th_wait(whole, 2, 0), 2);
    th_send_bytewise(bytes, request);
    ck_assert_int_eq(th_wait(bytes, 2, 0), 2);
    ck_assert_int_eq(th_nseen, 4);
    for (int i = 0; i < 2; i++) {
        struct th_seen *a = &th_seen[i], *b = &th_seen[i + 2];

        ck_assert_int_eq(a->method, b->method);
        ck_assert_str_eq(a->path, b->path);
        ck_assert_str_eq(a->user_agent, b->user_agent);
        ck_assert_pstr_eq(a->content_type, b->content_type);
        ck_assert_pstr_eq(a->forwarded_for, b->forwarded_for);
        ck_assert_pstr_eq(a->body, b->body);
        ck_assert_str_eq(whole->resp[i].body, bytes->resp[i].body);
    }
    ck_assert_str_eq(th_seen[2].path, "/u/some-token");
    ck_assert_str_eq(th_seen[2].user_agent, "Mozilla/5.0 (X11)");
    ck_assert_str_eq(th_seen[2].content_type, "text/plain");
    ck_assert_str_eq(th_seen[2].forwarded_for, "192.0.2.1,198.51.100.2");
    ck_assert_str_eq(th_seen[2].body, "abcd0123456789abcdef");
    ck_assert_str_eq(th_seen[3].user_agent, "second");
}
END_TEST

static Suite *http_suite(void)
{
    Suite *s = suite_create("http");
    TCase *tc = tcase_create("requests");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_simple_get);
    tcase_add_test(tc, test_head);
    tcase_add_test(tc, test_path_without_query_or_fragment);
    tcase_add_test(tc, test_absolute_target);
    tcase_add_test(tc, test_keep_alive);
    tcase_add_test(tc, test_pipelining);
    tcase_add_test(tc, test_connection_close);
    tcase_add_test(tc, test_http10);
    tcase_add_test(tc, test_half_close);
    tcase_add_test(tc, test_half_close_mid_request);
    tcase_add_test(tc, test_folded_header);
    tcase_add_test(tc, test_post_body);
    tcase_add_test(tc, test_chunked_body);
    tcase_add_test(tc, test_expect_continue);
    tcase_add_test(tc, test_expect_continue_http10);
    tcase_add_test(tc, test_bytewise);
    suite_add_tcase(s, tc);
    suite_add_tcase(s, http_limits_tcase());
    suite_add_tcase(s, http_barrier_tcase());
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(http_suite());
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
