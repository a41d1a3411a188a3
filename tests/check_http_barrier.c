/*
 * check_http_barrier.c - unit tests for the HTTP server's barrier
 * (pb_http_set_barrier, tracker/http_conn.c), third part of check_http
 * (main() is check_http.c): while the barrier says something is pending,
 * no answer leaves; at the end of the loop pass the commit runs once for
 * every connection answered in that pass, and then the answers go out, in
 * order. The tracker commits its events to the journal there, so an
 * answered click is never only in memory.
 */
#include <check.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include "check_http.h"

TCase *http_barrier_tcase(void);

static struct th_client *watched[4];
static int nwatched, committed_seen, commits, bytes_before_commit;

/* Pending: requests answered since the last commit. */
static int pending(void *arg)
{
    (void)arg;
    return th_nseen > committed_seen;
}

/* The commit: no client may have received a byte of an answer yet. */
static void commit(void *arg)
{
    (void)arg;
    commits++;
    for (int i = 0; i < nwatched; i++) {
        char c;
        ssize_t n = recv(watched[i]->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);

        if (n > 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
            bytes_before_commit++;
    }
    committed_seen = th_nseen;
}

static void setup(void)
{
    th_start(NULL);
    nwatched = committed_seen = commits = bytes_before_commit = 0;
    pb_http_set_barrier(pending, commit, NULL);
}

static void teardown(void)
{
    th_stop();
}

/* Two connections, two pipelined requests each, arriving together: one
 * commit before any answer; then all four answers, in order. */
START_TEST(test_answers_wait_for_commit)
{
    static const char two[] = "GET /c/a HTTP/1.1\r\nHost: t\r\n\r\n"
                              "GET /c/b HTTP/1.1\r\nHost: t\r\n\r\n";

    watched[0] = th_connect();
    watched[1] = th_connect();
    nwatched = 2;
    th_send_str(watched[0], two);
    th_send_str(watched[1], two);
    ck_assert_int_eq(th_wait(watched[0], 2, 0), 2);
    ck_assert_int_eq(th_wait(watched[1], 2, 0), 2);
    ck_assert_int_eq(bytes_before_commit, 0);
    ck_assert_int_ge(commits, 1);
    ck_assert_int_le(commits, 2);       /* one per pass that answered: not one per request */
    ck_assert_int_eq(th_nseen, 4);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(watched[i]->resp[0].status, 200);
        ck_assert_str_eq(watched[i]->resp[0].body, "GET /c/a");
        ck_assert_str_eq(watched[i]->resp[1].body, "GET /c/b");
    }
}
END_TEST

/* A connection that keeps sending after a commit: each pass is committed
 * before its answer, keep-alive goes on. */
START_TEST(test_commit_per_pass)
{
    struct th_client *cl = th_connect();

    watched[0] = cl;
    nwatched = 1;
    for (int i = 0; i < 3; i++) {
        th_send_str(cl, "GET /o/x HTTP/1.1\r\nHost: t\r\n\r\n");
        ck_assert_int_eq(th_wait(cl, i + 1, 0), i + 1);
        ck_assert_int_eq(commits, i + 1);
    }
    ck_assert_int_eq(bytes_before_commit, 0);
    ck_assert_int_eq(cl->eof, 0);
}
END_TEST

/* Nothing pending (an admin request, or no events): answers go at once,
 * no commit. */
START_TEST(test_nothing_pending)
{
    struct th_client *cl = th_connect();

    committed_seen = 1000;      /* pending() says no */
    th_send_str(cl, "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
    ck_assert_int_eq(th_wait(cl, 1, 0), 1);
    ck_assert_int_eq(commits, 0);
}
END_TEST

TCase *http_barrier_tcase(void)
{
    TCase *tc = tcase_create("barrier");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_answers_wait_for_commit);
    tcase_add_test(tc, test_commit_per_pass);
    tcase_add_test(tc, test_nothing_pending);
    return tc;
}
