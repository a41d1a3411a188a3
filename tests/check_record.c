/*
 * check_record.c - the milter's send recorder (milter/record*.c) against a
 * real redis-server: records arrive; each is in the journal when submit
 * returns, so a milter killed right after loses none (the next start
 * replays them, each written once); Redis stopping and coming back loses
 * nothing and writes nothing twice, in order; a full queue and a hung
 * Redis go to the journal without holding the caller; a journal that
 * cannot be written (disk full) costs no record; error replies are
 * retried (Redis out of memory) or dropped (a broken command), never
 * looped on; AUTH and SELECT from the configuration. Part of the
 * check_journal program (see check_journal.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>
#include <glib.h>
#include "conf.h"
#include "record.h"
#include "redis_conn.h"
#include "testutil.h"
#include "check_journal.h"

/* Poll the recorder's counters into st until cond holds. */
#define WAIT_FOR(st, cond, secs)                                              \
    do {                                                                      \
        gint64 until_ = g_get_monotonic_time() + (gint64)(secs) * G_USEC_PER_SEC; \
        for (;;) {                                                            \
            pb_record_stats(&(st));                                           \
            if (cond)                                                         \
                break;                                                        \
            ck_assert_msg(g_get_monotonic_time() < until_,                    \
                          "timed out waiting for " #cond " (written %lu, "    \
                          "journaled %lu, replayed %lu, dropped %lu, backlog %zu)", \
                          (st).written, (st).journaled, (st).replayed,        \
                          (st).dropped, (st).backlog);                        \
            g_usleep(10000);                                                  \
        }                                                                     \
    } while (0)

static void set_str(char **field, const char *value)
{
    free(*field);
    *field = value ? strdup(value) : NULL;
}

static void record_conf(struct pb_conf *conf, const char *socket_path, int queue_max,
                        int timeout_ms, enum pb_fsync_policy policy)
{
    pb_conf_defaults(conf);
    set_str(&conf->redis.socket, socket_path);
    set_str(&conf->redis.journal, jpath);
    conf->redis.queue_max = queue_max;
    conf->redis.timeout_ms = timeout_ms;
    conf->redis.journal_fsync = policy;
}

static void start_recorder(const char *socket_path, int queue_max, int timeout_ms)
{
    struct pb_conf conf;
    char err[512] = "";

    record_conf(&conf, socket_path, queue_max, timeout_ms, PB_FSYNC_SECOND);
    ck_assert_msg(pb_record_start(&conf, err, sizeof(err)) == 0, "start: %s", err);
    pb_conf_free(&conf);
}

/* Submit records from..to-1; returns the longest submit in microseconds. */
static gint64 submit_range(unsigned from, unsigned to)
{
    gint64 longest = 0;

    for (unsigned n = from; n < to; n++) {
        struct pb_sent_record rec;
        gint64 t0;

        sample_record(&rec, n, 1);
        t0 = g_get_monotonic_time();
        pb_record_submit(&rec);
        longest = MAX(longest, g_get_monotonic_time() - t0);
    }
    return longest;
}

/* The stream holds exactly the `sent` events of records want[0..n), in
 * this order when `ordered`, each once. */
static void assert_stream(const unsigned *want, size_t n, int ordered)
{
    redisContext *c = rconnect();
    redisReply *r = stream_all(c);
    GHashTable *eids = g_hash_table_new(g_str_hash, g_str_equal);
    GHashTable *msgs = g_hash_table_new(g_str_hash, g_str_equal);

    ck_assert_int_eq((int)r->elements, (int)n);
    for (size_t i = 0; i < n; i++) {
        const char *msg = entry_field(r->element[i], "msg");
        ck_assert_str_eq(entry_field(r->element[i], "type"), "sent");
        ck_assert_msg(g_hash_table_add(eids, (char *)entry_field(r->element[i], "eid")),
                      "event %zu written twice", i);
        ck_assert_msg(g_hash_table_add(msgs, (char *)msg), "message %s recorded twice", msg);
        if (ordered) {
            struct pb_sent_record rec;
            char hex[17];
            sample_record(&rec, want[i], 1);
            msg_hex(&rec, hex);
            ck_assert_msg(strcmp(msg, hex) == 0, "entry %zu is %s, want record %u (%s)",
                          i, msg, want[i], hex);
        }
    }
    for (size_t i = 0; !ordered && i < n; i++) {
        struct pb_sent_record rec;
        char hex[17];
        sample_record(&rec, want[i], 1);
        msg_hex(&rec, hex);
        ck_assert_msg(g_hash_table_contains(msgs, hex), "record %u missing", want[i]);
    }
    g_hash_table_destroy(eids);
    g_hash_table_destroy(msgs);
    freeReplyObject(r);
    redisFree(c);
}

static unsigned *range(unsigned from, unsigned to)
{
    unsigned *v = g_new(unsigned, to - from + 1);

    for (unsigned n = from; n < to; n++)
        v[n - from] = n;
    return v;
}

static off_t journal_size(void)
{
    struct stat st;

    return stat(jpath, &st) == 0 ? st.st_size : -1;
}

START_TEST(test_record_up)
{
    struct pb_record_stats st;
    unsigned *want = range(0, 300);

    redis_start();
    start_recorder(sock, 10000, 1000);
    WAIT_FOR(st, st.redis_up, 10);
    submit_range(0, 200);
    WAIT_FOR(st, st.written == 200, 10);
    /* stop flushes what is still queued */
    submit_range(200, 300);
    pb_record_stop(10000);
    pb_record_stats(&st);
    ck_assert_int_eq((int)st.submitted, 300);
    ck_assert_int_eq((int)st.written, 300);
    ck_assert_int_eq((int)st.journaled, 0);
    ck_assert_int_eq((int)st.dropped, 0);
    ck_assert_int_eq((int)journal_size(), 0);
    assert_stream(want, 300, 1);
    g_free(want);
}
END_TEST

START_TEST(test_record_down_and_back)
{
    enum { N = 50 };
    struct pb_record_stats st;
    unsigned *want = range(1, N + 1);
    gint64 longest;

    redis_start();
    start_recorder(sock, 10000, 200);
    submit_range(0, 1);
    WAIT_FOR(st, st.written == 1, 10);

    tu_redis_stop(redis_pid);
    longest = submit_range(1, N + 1);
    ck_assert_msg(longest < 100000, "a submit took %lld us with Redis down", (long long)longest);
    WAIT_FOR(st, st.journaled == N && st.queued == 0, 10);
    ck_assert_int_eq((int)st.backlog, N);
    ck_assert_int_eq(st.redis_up, 0);
    ck_assert_int_gt((int)journal_size(), 0);

    /* same socket, empty Redis: exactly the N journaled records arrive */
    redis_pid = tu_redis_start(sock);
    ck_assert_int_gt(redis_pid, 0);
    WAIT_FOR(st, st.backlog == 0 && st.replayed == N, 20);
    ck_assert_int_eq(st.redis_up, 1);
    ck_assert_int_eq((int)st.dropped, 0);
    ck_assert_int_eq((int)journal_size(), 0);
    assert_stream(want, N, 1);

    /* and new records go straight through again */
    submit_range(N + 1, N + 3);
    WAIT_FOR(st, st.written == 3, 10);
    pb_record_stop(1000);
    g_free(want);
}
END_TEST

START_TEST(test_record_starts_down)
{
    struct pb_record_stats st;
    unsigned *want = range(0, 20);

    snprintf(sock, sizeof(sock), "%s/redis.sock", dir);
    start_recorder(sock, 10000, 200);          /* Redis not there: not an error */
    submit_range(0, 20);
    WAIT_FOR(st, st.journaled == 20, 10);
    pb_record_stop(1000);

    /* the journal survives a restart of the milter */
    {
        struct pb_journal *j = jopen(PB_FSYNC_NEVER);
        ck_assert_int_eq((int)pb_journal_backlog(j), 20);
        pb_journal_close(j);
    }
    redis_pid = tu_redis_start(sock);
    ck_assert_int_gt(redis_pid, 0);
    start_recorder(sock, 10000, 200);
    WAIT_FOR(st, st.backlog == 0 && st.replayed == 20, 20);
    pb_record_stop(1000);
    assert_stream(want, 20, 1);
    g_free(want);
}
END_TEST

/* A "Redis" that accepts connections and never answers. */
static int hung_server(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_lt((int)strlen(path), (int)sizeof(sa.sun_path));
    memcpy(sa.sun_path, path, strlen(path) + 1);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(fd, 16), 0);
    return fd;
}

START_TEST(test_record_overflow)
{
    struct pb_record_stats st;
    char hung[300];
    unsigned *want = range(0, 21);
    gint64 longest;
    int fd;

    snprintf(hung, sizeof(hung), "%s/hung.sock", dir);
    fd = hung_server(hung);
    start_recorder(hung, 4, 1500);
    submit_range(0, 1);
    WAIT_FOR(st, st.redis_up && st.queued == 0, 10);   /* #0 in flight, unanswered */

    longest = submit_range(1, 21);
    ck_assert_msg(longest < 100000, "a submit took %lld us", (long long)longest);
    pb_record_stats(&st);
    /* #1-#4 queued; #5 finds the queue full, it and the rest go to the
     * journal only (the writer replays them after what is in memory) */
    ck_assert_int_eq((int)st.overflowed, 16);
    ck_assert_int_eq((int)st.journaled, 16);
    ck_assert_int_eq((int)st.queued, 4);
    ck_assert_int_eq((int)st.backlog, 21);             /* all of them, #0 too */
    ck_assert_int_eq((int)st.dropped, 0);
    /* the timed-out record in flight and the queue leave memory */
    WAIT_FOR(st, st.journaled == 21 && st.queued == 0, 10);
    pb_record_stop(0);
    close(fd);

    redis_start();              /* same directory, same journal */
    start_recorder(sock, 4, 200);
    WAIT_FOR(st, st.backlog == 0 && st.replayed == 21, 20);
    pb_record_stop(1000);
    assert_stream(want, 21, 1);                        /* each once, in order */
    g_free(want);
}
END_TEST

/* In a child: start the recorder, submit records [0, n) and die by
 * SIGKILL the moment the last submit returns (no Check calls here). */
static void submit_and_die(const char *socket_path, unsigned n)
{
    struct pb_conf conf;
    char err[512];

    record_conf(&conf, socket_path, 10000, 1000, PB_FSYNC_NEVER);
    if (pb_record_start(&conf, err, sizeof(err)) != 0)
        _exit(3);
    submit_range(0, n);
    raise(SIGKILL);
    _exit(4);
}

START_TEST(test_record_killed)
{
    enum { N = 200 };
    struct pb_record_stats st;
    unsigned *want = range(0, N);
    int status;
    pid_t pid;

    redis_start();
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        submit_and_die(sock, N);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child status %d", status);

    /* the next start replays what the killed one had not written */
    start_recorder(sock, 10000, 1000);
    WAIT_FOR(st, st.backlog == 0 && st.queued == 0 && st.redis_up, 20);
    pb_record_stop(1000);
    assert_stream(want, N, 0);          /* each once: no record lost, none twice */
    g_free(want);
}
END_TEST

START_TEST(test_record_journal_failing)
{
    struct pb_record_stats st;
    struct pb_conf conf;
    char err[512] = "";
    unsigned *want = range(0, 30);

    redis_start();
    record_conf(&conf, sock, 10000, 1000, PB_FSYNC_NEVER);
    set_str(&conf.redis.journal, "/dev/full");  /* every write: ENOSPC */
    ck_assert_msg(pb_record_start(&conf, err, sizeof(err)) == 0, "start: %s", err);
    pb_conf_free(&conf);
    submit_range(0, 30);
    WAIT_FOR(st, st.written == 30, 10);  /* from memory */
    pb_record_stop(1000);
    pb_record_stats(&st);
    ck_assert_int_eq((int)st.journal_failed, 30);
    ck_assert_int_eq((int)st.dropped, 0);
    ck_assert_int_eq((int)st.journaled, 0);
    assert_stream(want, 30, 1);
    g_free(want);
}
END_TEST

START_TEST(test_record_rejected)
{
    struct pb_record_stats st;
    redisContext *c;

    redis_start();
    c = rconnect();
    freeReplyObject(rcmd(c, "SET pb:campaigns not-a-set"));
    start_recorder(sock, 10000, 200);
    submit_range(0, 3);
    WAIT_FOR(st, st.dropped == 3, 10);
    ck_assert_int_eq((int)st.written, 0);
    ck_assert_int_eq((int)st.backlog, 0);      /* not retried forever */
    ck_assert_int_eq(st.redis_up, 1);
    freeReplyObject(rcmd(c, "DEL pb:campaigns"));
    submit_range(3, 4);
    WAIT_FOR(st, st.written == 1, 10);
    pb_record_stop(1000);
    redisFree(c);
}
END_TEST

START_TEST(test_record_redis_full)
{
    struct pb_record_stats st;
    redisContext *c;
    unsigned want[] = { 0, 1, 2, 3, 4, 5 };

    redis_start();
    c = rconnect();
    start_recorder(sock, 10000, 200);
    submit_range(0, 1);
    WAIT_FOR(st, st.written == 1, 10);
    freeReplyObject(rcmd(c, "CONFIG SET maxmemory 1"));
    submit_range(1, 6);
    WAIT_FOR(st, st.journaled == 5, 10);
    ck_assert_int_eq((int)st.dropped, 0);
    freeReplyObject(rcmd(c, "CONFIG SET maxmemory 0"));
    WAIT_FOR(st, st.backlog == 0 && st.replayed == 5, 20);
    pb_record_stop(1000);
    assert_stream(want, 6, 1);
    redisFree(c);
}
END_TEST

START_TEST(test_record_no_journal)
{
    struct pb_record_stats st;
    struct pb_conf conf;
    char err[512] = "";

    snprintf(sock, sizeof(sock), "%s/absent.sock", dir);
    record_conf(&conf, sock, 2, 200, PB_FSYNC_NEVER);
    set_str(&conf.redis.journal, NULL);
    ck_assert_msg(pb_record_start(&conf, err, sizeof(err)) == 0, "start: %s", err);
    pb_conf_free(&conf);
    submit_range(0, 5);                 /* queue of 2, no journal: the rest is lost */
    pb_record_stop(0);
    pb_record_stats(&st);
    ck_assert_int_eq((int)st.submitted, 5);
    ck_assert_int_eq((int)st.dropped, 5);
    ck_assert_int_eq((int)st.journaled, 0);

    /* a journal that cannot be opened stops the start */
    record_conf(&conf, sock, 2, 200, PB_FSYNC_NEVER);
    set_str(&conf.redis.journal, "/nonexistent/dir/journal");
    ck_assert_int_eq(pb_record_start(&conf, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/dir/journal"));
    pb_conf_free(&conf);
}
END_TEST

START_TEST(test_record_auth_select)
{
    struct pb_record_stats st;
    struct pb_redis_conf rc = { 0 };
    redisContext *c, *other;
    char why[256] = "", *target;
    struct pb_conf conf;
    char err[512] = "";

    redis_start();
    c = rconnect();
    freeReplyObject(rcmd(c, "CONFIG SET requirepass s3cret"));

    rc.socket = sock;
    rc.timeout_ms = 500;
    rc.password = (char *)"wrong";
    ck_assert_ptr_null(pb_redis_connect(&rc, why, sizeof(why)));
    ck_assert_msg(strncmp(why, "AUTH: ", 6) == 0, "why: %s", why);
    rc.password = (char *)"s3cret";
    rc.db = 99;
    ck_assert_ptr_null(pb_redis_connect(&rc, why, sizeof(why)));
    ck_assert_msg(strncmp(why, "SELECT: ", 8) == 0, "why: %s", why);
    rc.db = 3;
    other = pb_redis_connect(&rc, why, sizeof(why));
    ck_assert_msg(other != NULL, "connect: %s", why);
    redisFree(other);
    target = pb_redis_target(&rc);
    ck_assert_str_eq(target + 5, sock);
    ck_assert_int_eq(strncmp(target, "unix:", 5), 0);
    g_free(target);
    rc.socket = NULL;
    rc.host = (char *)"127.0.0.1";
    rc.port = 1;
    target = pb_redis_target(&rc);
    ck_assert_str_eq(target, "127.0.0.1:1");
    g_free(target);
    ck_assert_ptr_null(pb_redis_connect(&rc, why, sizeof(why)));   /* nothing on port 1 */

    /* the recorder writes into the configured database */
    record_conf(&conf, sock, 100, 500, PB_FSYNC_NEVER);
    set_str(&conf.redis.password, "s3cret");
    conf.redis.db = 3;
    ck_assert_msg(pb_record_start(&conf, err, sizeof(err)) == 0, "start: %s", err);
    pb_conf_free(&conf);
    submit_range(0, 2);
    WAIT_FOR(st, st.written == 2, 10);
    pb_record_stop(1000);
    ck_assert_int_eq(rint_(c, "XLEN %s", "pb:events"), 0);
    freeReplyObject(rcmd(c, "SELECT 3"));
    ck_assert_int_eq(rint_(c, "XLEN %s", "pb:events"), 2);
    redisFree(c);
}
END_TEST

START_TEST(test_error_classes)
{
    ck_assert(pb_redis_error_is_transient("OOM command not allowed when used memory > 'maxmemory'."));
    ck_assert(pb_redis_error_is_transient("BUSY Redis is busy running a script."));
    ck_assert(pb_redis_error_is_transient("LOADING Redis is loading the dataset in memory"));
    ck_assert(pb_redis_error_is_transient("READONLY You can't write against a read only replica."));
    ck_assert(pb_redis_error_is_transient("MISCONF Redis is configured to save RDB snapshots"));
    ck_assert(pb_redis_error_is_transient("NOAUTH Authentication required."));
    ck_assert(!pb_redis_error_is_transient("ERR user_script:1: Script attempted to access"));
    ck_assert(!pb_redis_error_is_transient("WRONGTYPE Operation against a key"));
    ck_assert(!pb_redis_error_is_transient("OOMPH not a code"));
    ck_assert(!pb_redis_error_is_transient(""));
}
END_TEST

TCase *record_tcase(void)
{
    TCase *tc = tcase_create("record");

    tcase_add_checked_fixture(tc, journal_setup, redis_teardown);
    tcase_add_test(tc, test_record_up);
    tcase_add_test(tc, test_record_down_and_back);
    tcase_add_test(tc, test_record_starts_down);
    tcase_add_test(tc, test_record_overflow);
    tcase_add_test(tc, test_record_killed);
    tcase_add_test(tc, test_record_journal_failing);
    tcase_add_test(tc, test_record_rejected);
    tcase_add_test(tc, test_record_redis_full);
    tcase_add_test(tc, test_record_no_journal);
    tcase_add_test(tc, test_record_auth_select);
    tcase_add_test(tc, test_error_classes);
    tcase_set_timeout(tc, 90);
    return tc;
}
