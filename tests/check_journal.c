/*
 * check_journal.c - the local journal (lib/journal.c): order, partial
 * replay, torn writes, backlog across reopen, fsync policies, peek and
 * consume, appends during and concurrent with a replay, write errors,
 * one writer per file.
 * Its main() also runs the events tests (check_events.c) and the milter's
 * send recorder tests (check_record.c), both against a real redis-server
 * that each test starts on a unix socket in its own temporary directory.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib.h>
#include "journal.h"
#include "testutil.h"
#include "check_journal.h"

/* ---- journal helpers --------------------------------------------------- */

char dir[256], jpath[300];

void journal_setup(void)
{
    snprintf(dir, sizeof(dir), "%s", tu_tmpdir());
    snprintf(jpath, sizeof(jpath), "%s/journal", dir);
}

/* Remove the test's directory and what the test left in it. */
void journal_teardown(void)
{
    GDir *d = dir[0] ? g_dir_open(dir, 0, NULL) : NULL;
    const char *name;

    if (d == NULL)
        return;
    while ((name = g_dir_read_name(d)) != NULL) {
        char *path = g_build_filename(dir, name, NULL);
        unlink(path);
        g_free(path);
    }
    g_dir_close(d);
    rmdir(dir);
    dir[0] = '\0';
}

struct pb_journal *jopen(enum pb_fsync_policy policy)
{
    char err[512] = "";
    struct pb_journal *j = pb_journal_open(jpath, policy, err, sizeof(err));

    ck_assert_msg(j != NULL, "open: %s", err);
    return j;
}

/* Record i: variable length, with newlines, NULs and frame-like text. */
GString *record_bytes(int i)
{
    GString *s = g_string_new(NULL);

    g_string_printf(s, "record %d\nPBJ1 3 00000000\n", i);
    g_string_append_c(s, '\0');
    for (int k = 0; k < (i * 37) % 500; k++)
        g_string_append_c(s, (char)('a' + (i + k) % 26));
    return s;
}

void append_records(struct pb_journal *j, int from, int to)
{
    for (int i = from; i < to; i++) {
        GString *r = record_bytes(i);
        ck_assert_int_eq(pb_journal_append(j, r->str, r->len), 0);
        g_string_free(r, TRUE);
    }
}

int collect(void *arg, const char *rec, size_t len)
{
    struct collector *c = arg;

    if ((long)c->got->len == c->fail_at)
        return -1;
    g_ptr_array_add(c->got, g_string_new_len(rec, (gssize)len));
    if (c->append_to && len == 7 && memcmp(rec, "trigger", 7) == 0)
        ck_assert_int_eq(pb_journal_append(c->append_to, "extra", 5), 0);
    return 0;
}

static void free_gstring(gpointer s)
{
    g_string_free(s, TRUE);
}

void collector_init(struct collector *c, long fail_at)
{
    c->got = g_ptr_array_new_with_free_func(free_gstring);
    c->fail_at = fail_at;
    c->append_to = NULL;
}

/* The collected records are exactly record_bytes(from..to-1). */
void assert_records(const struct collector *c, int from, int to)
{
    ck_assert_int_eq((int)c->got->len, to - from);
    for (int i = from; i < to; i++) {
        GString *want = record_bytes(i), *got = g_ptr_array_index(c->got, i - from);
        ck_assert_msg(g_string_equal(want, got), "record %d differs", i);
        g_string_free(want, TRUE);
    }
}

off_t file_size(const char *path)
{
    struct stat st;

    ck_assert_int_eq(stat(path, &st), 0);
    return st.st_size;
}

/* ---- journal ----------------------------------------------------------- */

START_TEST(test_append_replay_order)
{
    struct pb_journal *j;
    struct collector c;

    j = jopen(PB_FSYNC_NEVER);
    ck_assert_int_eq((int)pb_journal_backlog(j), 0);
    append_records(j, 0, 100);
    ck_assert_int_eq((int)pb_journal_backlog(j), 100);
    collector_init(&c, -1);
    ck_assert_int_eq(pb_journal_replay(j, collect, &c), 100);
    assert_records(&c, 0, 100);
    ck_assert_int_eq((int)pb_journal_backlog(j), 0);
    ck_assert_int_eq((int)file_size(jpath), 0);
    /* empty journal: nothing to do */
    ck_assert_int_eq(pb_journal_replay(j, collect, &c), 0);
    g_ptr_array_free(c.got, TRUE);
    pb_journal_close(j);
}
END_TEST

START_TEST(test_partial_replay)
{
    struct pb_journal *j;
    struct collector c;

    j = jopen(PB_FSYNC_ALWAYS);
    append_records(j, 0, 10);
    collector_init(&c, 4);
    ck_assert_int_eq(pb_journal_replay(j, collect, &c), 4);
    assert_records(&c, 0, 4);
    ck_assert_int_eq((int)pb_journal_backlog(j), 6);
    pb_journal_close(j);

    /* the file itself now holds only the remaining six */
    j = jopen(PB_FSYNC_ALWAYS);
    ck_assert_int_eq((int)pb_journal_backlog(j), 6);
    g_ptr_array_set_size(c.got, 0);
    c.fail_at = -1;
    ck_assert_int_eq(pb_journal_replay(j, collect, &c), 6);
    assert_records(&c, 4, 10);
    ck_assert_int_eq((int)pb_journal_backlog(j), 0);
    g_ptr_array_free(c.got, TRUE);
    pb_journal_close(j);
}
END_TEST

START_TEST(test_partial_replay_same_handle)
{
    struct pb_journal *j;
    struct collector c;

    j = jopen(PB_FSYNC_SECOND);
    append_records(j, 0, 10);
    collector_init(&c, 0);
    ck_assert_int_eq(pb_journal_replay(j, collect, &c), 0);   /* fails at once */
    ck_assert_int_eq((int)pb_journal_backlog(j), 10);
    c.fail_at = 3;
    ck_assert_int_eq(pb_journal_replay(j, collect, &c), 3);
    c.fail_at = 7;
    append_records(j, 10, 12);
    ck_assert_int_eq(pb_journal_replay(j, collect, &c), 4);
    c.fail_at = -1;
    ck_assert_int_eq(pb_journal_replay(j, collect, &c), 5);
    assert_records(&c, 0, 12);
    g_ptr_array_free(c.got, TRUE);
    pb_journal_close(j);
}
END_TEST

START_TEST(test_reopen_backlog)
{
    struct pb_journal *j;
    struct collector c;

    j = jopen(PB_FSYNC_SECOND);
    append_records(j, 0, 5);
    pb_journal_close(j);
    j = jopen(PB_FSYNC_SECOND);
    ck_assert_int_eq((int)pb_journal_backlog(j), 5);
    append_records(j, 5, 7);
    ck_assert_int_eq((int)pb_journal_backlog(j), 7);
    collector_init(&c, -1);
    ck_assert_int_eq(pb_journal_replay(j, collect, &c), 7);
    assert_records(&c, 0, 7);
    pb_journal_close(j);
    j = jopen(PB_FSYNC_SECOND);
    ck_assert_int_eq((int)pb_journal_backlog(j), 0);
    ck_assert_int_eq((int)file_size(jpath), 0);
    g_ptr_array_free(c.got, TRUE);
    pb_journal_close(j);
    /* mode 0600: the journal holds addresses */
    ck_assert_int_eq((int)(file_size(jpath) >= 0), 1);
    {
        struct stat st;
        ck_assert_int_eq(stat(jpath, &st), 0);
        ck_assert_int_eq(st.st_mode & 077, 0);
    }
}
END_TEST

/* The journal, opened again with policy, holds records 0..n-1 and
 * replays them in order. */
static void assert_reopened_holds(enum pb_fsync_policy policy, int n)
{
    struct pb_journal *j = jopen(policy);
    struct collector c;

    ck_assert_int_eq((int)pb_journal_backlog(j), n);
    collector_init(&c, -1);
    ck_assert_int_eq(pb_journal_replay(j, collect, &c), n);
    assert_records(&c, 0, n);
    g_ptr_array_free(c.got, TRUE);
    pb_journal_close(j);
}

START_TEST(test_fsync_policies)
{
    static const enum pb_fsync_policy policies[] = { PB_FSYNC_ALWAYS, PB_FSYNC_SECOND,
                                                     PB_FSYNC_NEVER };

    for (size_t p = 0; p < 3; p++) {
        struct pb_journal *j = jopen(policies[p]);
        append_records(j, 0, 3);
        ck_assert_int_eq(pb_journal_sync(j), 0);
        append_records(j, 3, 5);
        pb_journal_close(j);
        assert_reopened_holds(policies[p], 5);
    }
}
END_TEST

/* Policy "second": appends return without syncing; the journal's own
 * thread syncs what was appended (waited for here, up to 10 s). */
START_TEST(test_fsync_second_thread)
{
    struct pb_journal *j = jopen(PB_FSYNC_SECOND);
    gint64 until = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

    ck_assert_uint_eq(pb_journal_syncs(j), 0);
    append_records(j, 0, 3);
    while (pb_journal_syncs(j) == 0) {
        ck_assert_msg(g_get_monotonic_time() < until, "no background fsync within 10 s");
        g_usleep(20000);
    }
    append_records(j, 3, 5);
    pb_journal_close(j);        /* stops the thread, syncs the rest */
    assert_reopened_holds(PB_FSYNC_SECOND, 5);
}
END_TEST

START_TEST(test_peek_consume)
{
    struct pb_journal *j;
    struct collector c;

    j = jopen(PB_FSYNC_NEVER);
    append_records(j, 0, 5);
    collector_init(&c, -1);
    ck_assert_int_eq(pb_journal_peek(j, 3, collect, &c), 3);
    assert_records(&c, 0, 3);
    ck_assert_int_eq((int)pb_journal_backlog(j), 5);   /* peek removes nothing */
    ck_assert_int_eq(pb_journal_consume(j, 2, 0), 0);
    ck_assert_int_eq((int)pb_journal_backlog(j), 3);
    g_ptr_array_set_size(c.got, 0);
    ck_assert_int_eq(pb_journal_peek(j, 10, collect, &c), 3);
    assert_records(&c, 2, 5);
    ck_assert_int_eq(pb_journal_consume(j, 1, 1), 0);   /* compacts */
    pb_journal_close(j);
    j = jopen(PB_FSYNC_NEVER);
    g_ptr_array_set_size(c.got, 0);
    ck_assert_int_eq(pb_journal_peek(j, 10, collect, &c), 2);
    assert_records(&c, 3, 5);
    ck_assert_int_eq(pb_journal_consume(j, 2, 1), 0);
    ck_assert_int_eq((int)file_size(jpath), 0);
    g_ptr_array_free(c.got, TRUE);
    pb_journal_close(j);
}
END_TEST

/* A writer that drops each record soon after appending it, but never
 * finds the journal empty (as a busy tracker): once 16 MB are consumed
 * and little is left, the file is compacted to what is left. Consuming
 * many records at once, some larger than the 64 kB the headers are read
 * in, drops exactly those. */
START_TEST(test_consume_compacts_busy_journal)
{
    struct pb_journal *j = jopen(PB_FSYNC_NEVER);
    GString *big = g_string_new(NULL);
    struct collector c;
    size_t n = 0;

    g_string_set_size(big, 4000);
    memset(big->str, 'x', big->len);
    append_records(j, 0, 1);                /* always one left behind */
    while (n * big->len < 17 * 1024 * 1024) {      /* past the 16 MB of consumed head */
        ck_assert_int_eq(pb_journal_append(j, big->str, big->len), 0);
        ck_assert_int_eq(pb_journal_append(j, big->str, big->len), 0);
        n += 2;
        ck_assert_int_eq(pb_journal_consume(j, 2, 0), 0);
        if (n == 2) {               /* the first consume took record 0 and one big */
            ck_assert_int_eq((int)pb_journal_backlog(j), 1);
        }
    }
    ck_assert_msg(file_size(jpath) < 2 * 1024 * 1024, "not compacted: %lld bytes",
                  (long long)file_size(jpath));
    ck_assert_int_eq((int)pb_journal_backlog(j), 1);
    pb_journal_close(j);

    /* records of 100 kB and small ones between them: consume 5 of 7
     * (big, 10, big, 11, big | 12, 20) */
    j = jopen(PB_FSYNC_NEVER);
    ck_assert_int_eq(pb_journal_consume(j, 1, 0), 0);
    g_string_set_size(big, 100000);
    memset(big->str, 'y', big->len);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(pb_journal_append(j, big->str, big->len), 0);
        append_records(j, 10 + i, 11 + i);
    }
    append_records(j, 20, 21);
    ck_assert_int_eq(pb_journal_consume(j, 5, 0), 0);
    collector_init(&c, -1);
    ck_assert_int_eq(pb_journal_peek(j, 10, collect, &c), 2);   /* 12 and 20 are left */
    for (int i = 0; i < 2; i++) {
        GString *want = record_bytes(i == 0 ? 12 : 20);
        ck_assert_msg(g_string_equal(g_ptr_array_index(c.got, i), want), "record %d differs", i);
        g_string_free(want, TRUE);
    }
    g_ptr_array_free(c.got, TRUE);
    g_string_free(big, TRUE);
    pb_journal_close(j);
}
END_TEST

START_TEST(test_append_during_replay)
{
    struct pb_journal *j;
    struct collector c;

    j = jopen(PB_FSYNC_NEVER);
    ck_assert_int_eq(pb_journal_append(j, "trigger", 7), 0);
    ck_assert_int_eq(pb_journal_append(j, "second", 6), 0);
    collector_init(&c, -1);
    c.append_to = j;
    ck_assert_int_eq(pb_journal_replay(j, collect, &c), 3);
    ck_assert_str_eq(((GString *)g_ptr_array_index(c.got, 1))->str, "second");
    ck_assert_str_eq(((GString *)g_ptr_array_index(c.got, 2))->str, "extra");
    ck_assert_int_eq((int)pb_journal_backlog(j), 0);
    g_ptr_array_free(c.got, TRUE);
    pb_journal_close(j);
}
END_TEST

#define THREAD_RECORDS 2000

static void *appender(void *arg)
{
    append_records(arg, 0, THREAD_RECORDS);
    return NULL;
}

START_TEST(test_concurrent_append)
{
    struct pb_journal *j;
    struct collector c;
    pthread_t t;
    int rounds = 0;

    j = jopen(PB_FSYNC_NEVER);
    collector_init(&c, -1);
    ck_assert_int_eq(pthread_create(&t, NULL, appender, j), 0);
    while (c.got->len < THREAD_RECORDS) {
        /* stop now and then, so the rewrite path runs under appends too */
        c.fail_at = (rounds++ % 3 == 0) ? (long)c.got->len + 7 : -1;
        ck_assert_int_ge(pb_journal_replay(j, collect, &c), 0);
    }
    pthread_join(t, NULL);
    assert_records(&c, 0, THREAD_RECORDS);
    ck_assert_int_eq((int)pb_journal_backlog(j), 0);
    g_ptr_array_free(c.got, TRUE);
    pb_journal_close(j);
}
END_TEST

START_TEST(test_append_error)
{
    char err[256];
    struct pb_journal *j = pb_journal_open("/dev/full", PB_FSYNC_NEVER, err, sizeof(err));

    ck_assert_msg(j != NULL, "%s", err);
    errno = 0;
    ck_assert_int_eq(pb_journal_append(j, "abc", 3), -1);
    ck_assert_int_eq(errno, ENOSPC);
    ck_assert_int_eq((int)pb_journal_backlog(j), 0);
    pb_journal_close(j);
    ck_assert_ptr_null(pb_journal_open("/nonexistent/dir/journal", PB_FSYNC_NEVER,
                                       err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/dir/journal"));
}
END_TEST

/* Two writers on one file would lose records: the second open is refused,
 * also after the first has rewritten (compacted) the file. */
START_TEST(test_one_writer)
{
    struct pb_journal *j, *other;
    struct collector c;
    char err[512] = "";

    j = jopen(PB_FSYNC_NEVER);
    ck_assert_ptr_null(pb_journal_open(jpath, PB_FSYNC_NEVER, err, sizeof(err)));
    ck_assert_msg(strstr(err, "in use") != NULL, "err: %s", err);
    append_records(j, 0, 4);
    collector_init(&c, 2);
    ck_assert_int_eq(pb_journal_replay(j, collect, &c), 2);    /* rewrites the file */
    ck_assert_ptr_null(pb_journal_open(jpath, PB_FSYNC_NEVER, err, sizeof(err)));
    pb_journal_close(j);
    other = jopen(PB_FSYNC_NEVER);
    ck_assert_int_eq((int)pb_journal_backlog(other), 2);
    pb_journal_close(other);
    g_ptr_array_free(c.got, TRUE);
}
END_TEST

static Suite *journal_suite(void)
{
    Suite *s = suite_create("journal");
    TCase *tj = tcase_create("journal");

    tcase_add_test(tj, test_append_replay_order);
    tcase_add_test(tj, test_partial_replay);
    tcase_add_test(tj, test_consume_compacts_busy_journal);
    tcase_add_test(tj, test_partial_replay_same_handle);
    tcase_add_test(tj, test_reopen_backlog);
    tcase_add_test(tj, test_fsync_policies);
    tcase_add_test(tj, test_fsync_second_thread);
    tcase_add_test(tj, test_peek_consume);
    tcase_add_test(tj, test_append_during_replay);
    tcase_add_test(tj, test_concurrent_append);
    tcase_add_test(tj, test_append_error);
    tcase_add_test(tj, test_one_writer);
    tcase_add_checked_fixture(tj, journal_setup, journal_teardown);
    tcase_set_timeout(tj, 60);
    suite_add_tcase(s, tj);
    suite_add_tcase(s, frames_tcase());

    if (!tu_redis_available()) {
        fprintf(stderr, "check_journal: redis-server is not installed: SKIPPING the events "
                "and record tests (apt-get install redis-server)\n");
        return s;
    }
    suite_add_tcase(s, events_tcase());
    suite_add_tcase(s, record_tcase());
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(journal_suite());
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
