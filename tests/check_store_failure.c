/*
 * check_store_failure.c - the tracker's store when Redis is not there or
 * not answering: submit never waits; events go to the journal and reach
 * Redis later exactly once and in order (Redis stopped and started again,
 * Redis paused, the in-memory queue full, the store stopped and
 * restarted); Redis refusing writes (out of memory) is retried, a broken
 * command is dropped; a full disk is counted, never a crash; without a
 * journal memory stays bounded. Part of check_store (see check_store.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <glib.h>
#include "events.h"
#include "journal.h"
#include "testutil.h"
#include "check_store.h"
#include "check_redis.h"

#define N_EVENTS 500

static long long file_size(const char *path)
{
    struct stat sb;

    ck_assert_int_eq(stat(path, &sb), 0);
    return (long long)sb.st_size;
}

/* The first `first` entries of the stream come from one tracker run, the
 * rest (up to n) from another: their event ids start with the run's id,
 * and each run's pb:seen bitmap has one bit per event written. */
static void assert_two_runs(redisContext *c, unsigned first, unsigned n)
{
    redisReply *r = sstream(c);
    const char *a = tu_stream_field(r->element[0], "eid");
    const char *b = tu_stream_field(r->element[first], "eid");
    char key[64];

    ck_assert_uint_eq(r->elements, n);
    ck_assert_msg(strncmp(a, b, 16) != 0, "one run id %.16s for both runs", a);
    for (unsigned i = 0; i < n; i++)
        ck_assert_int_eq(strncmp(tu_stream_field(r->element[i], "eid"), i < first ? a : b, 16), 0);
    snprintf(key, sizeof(key), "pb:seen:%.16s:00000000000", a);
    ck_assert_int_eq(tr_integer(c, "BITCOUNT %s", key), first);
    snprintf(key, sizeof(key), "pb:seen:%.16s:00000000000", b);
    ck_assert_int_eq(tr_integer(c, "BITCOUNT %s", key), n - first);
    ck_assert_int_gt(tr_integer(c, "TTL %s", key), 0);
    freeReplyObject(r);
}

/* The test: stop Redis, submit N (each returns at once), start
 * Redis on the same socket, run until idle: exactly N, in order, none
 * twice, journal empty. */
START_TEST(test_redis_down_journal)
{
    struct pb_store_stats s;
    redisContext *c;
    long longest;

    store_start(sjournal, 1000, 200, NULL);
    run_until(is_up, 5, "connected");
    sredis_stop();
    run_until(is_down, 5, "Redis seen down");
    longest = submit_range(0, N_EVENTS);
    ck_assert_msg(longest < 50000, "a submit took %ld us", longest);
    s = stats_now();
    ck_assert_uint_eq(s.backlog, N_EVENTS);
    ck_assert_uint_eq(s.journaled, N_EVENTS);
    ck_assert_uint_eq(s.queued, 0);
    ck_assert_uint_eq(s.pending, N_EVENTS);
    ck_assert_int_gt(file_size(sjournal), 0);

    sredis_start();
    run_until(is_idle, 20, "replayed");
    c = sconnect();
    assert_stream_uas(c, N_EVENTS, "ev-");
    redisFree(c);
    s = stats_now();
    ck_assert_uint_eq(s.written, N_EVENTS);
    ck_assert_uint_eq(s.replayed, N_EVENTS);
    ck_assert_uint_eq(s.dropped, 0);
    ck_assert_int_eq(file_size(sjournal), 0);
}
END_TEST

/* Redis not there when the tracker starts; a second outage during the
 * replay of the first. */
START_TEST(test_down_at_start)
{
    redisContext *c;

    sredis_stop();
    store_start(sjournal, 1000, 200, NULL);
    submit_range(0, 100);
    run_ms(300);
    ck_assert_uint_eq(stats_now().backlog, 100);
    sredis_start();
    run_until(is_idle, 20, "replayed");
    c = sconnect();
    assert_stream_uas(c, 100, "ev-");
    redisFree(c);
    submit_range(100, 150);
    run_until(is_idle, 5, "written live");
    c = sconnect();
    assert_stream_uas(c, 150, "ev-");
    redisFree(c);
    ck_assert_uint_eq(stats_now().written, 150);
}
END_TEST

/* A paused Redis (replies stop): commands time out, go to the journal,
 * and are replayed once Redis answers again, each exactly once. */
START_TEST(test_slow_redis)
{
    redisContext *c = sconnect();
    struct pb_store_stats s;
    int went_down = 0;

    store_start(sjournal, 1000, 100, NULL);
    run_until(is_up, 5, "connected");
    submit_range(0, 50);
    run_until(is_idle, 5, "first events written");
    freeReplyObject(scmd(c, "CLIENT PAUSE 1500 ALL"));
    for (unsigned i = 50; i < 350; i += 50) {
        submit_range(i, i + 50);
        run_ms(60);
        went_down |= !stats_now().redis_up;
    }
    s = stats_now();
    ck_assert_msg(went_down || !s.redis_up, "a paused Redis was not given up on");
    ck_assert_uint_gt(s.journaled, 0);
    run_until(is_idle, 20, "replayed after the pause");
    assert_stream_uas(c, 350, "ev-");
    ck_assert_uint_eq(stats_now().written, 350);
    redisFree(c);
}
END_TEST

/* More events than queue_max before Redis can answer any: what is in
 * memory (some already on the wire) moves to the journal, in order. */
START_TEST(test_queue_overflow)
{
    redisContext *c;
    struct pb_store_stats s;

    store_start(sjournal, 10, 500, NULL);
    run_until(is_up, 5, "connected");
    submit_range(0, 200);
    s = stats_now();
    ck_assert_uint_le(s.queued, 10);
    ck_assert_uint_eq(s.journaled, 200);
    run_until(is_idle, 20, "replayed");
    c = sconnect();
    assert_stream_uas(c, 200, "ev-");
    redisFree(c);
    s = stats_now();
    ck_assert_uint_eq(s.written, 200);
    ck_assert_uint_eq(s.dropped, 0);
}
END_TEST

/* Stopping with commands on the wire and Redis not answering: they are
 * journaled; the next start replays them, once. */
START_TEST(test_stop_and_restart)
{
    redisContext *c = sconnect();
    struct pb_journal *j;
    char err[256];

    store_start(sjournal, 1000, 2000, NULL);
    run_until(is_up, 5, "connected");
    freeReplyObject(scmd(c, "CLIENT PAUSE 700 ALL"));
    submit_range(0, 20);
    run_ms(20);
    ck_assert_uint_eq(stats_now().queued, 20);
    pb_store_stop(50);
    j = pb_journal_open(sjournal, PB_FSYNC_NEVER, err, sizeof(err));
    ck_assert_msg(j != NULL, "%s", err);
    ck_assert_uint_eq(pb_journal_backlog(j), 20);
    pb_journal_close(j);

    g_usleep(800000);           /* the pause ends */
    store_start(sjournal, 1000, 500, NULL);
    run_until(is_idle, 10, "replayed");
    assert_stream_uas(c, 20, "ev-");
    submit_range(20, 30);       /* the new run's own events follow */
    run_until(is_idle, 10, "written live");
    assert_stream_uas(c, 30, "ev-");
    assert_two_runs(c, 20, 30);
    redisFree(c);
}
END_TEST

/* A crash after Redis wrote journaled events but before the journal
 * dropped them: the next start replays them, and nothing is written twice. */
START_TEST(test_crash_between_write_and_consume)
{
    redisContext *c = sconnect();
    struct pb_track_run run;
    struct pb_track_batch b;
    struct pb_journal *j;
    GString *rec = g_string_new(NULL);
    char err[256], *statuses;

    pb_event_tracker_run_init(&run);
    pb_track_batch_init(&b);
    j = pb_journal_open(sjournal, PB_FSYNC_NEVER, err, sizeof(err));
    ck_assert_msg(j != NULL, "%s", err);
    for (unsigned i = 0; i < 10; i++) {
        struct pb_token tok;
        char ua[16];

        snprintf(ua, sizeof(ua), "ev-%u", i);
        make_token(&tok, i, (int)i, 1, "https://example.com/");
        g_string_truncate(rec, 0);
        make_record(&run, PB_TRACK_CLICK, &tok, ua, rec);
        ck_assert_int_eq(pb_journal_append(j, rec->str, rec->len), 0);
        if (i < 6)              /* these reached Redis before the "crash" */
            ck_assert_int_eq(pb_track_batch_add(&b, rec->str, rec->len), 1);
    }
    pb_journal_close(j);
    statuses = sbatch(c, &b);
    ck_assert_str_eq(statuses, "111111");
    g_free(statuses);
    ck_assert_int_eq(tr_integer(c, "XLEN pb:events"), 12);  /* 6 clicks, 6 imputed opens */

    store_start(sjournal, 1000, 500, NULL);
    run_until(is_idle, 10, "replayed");
    ck_assert_int_eq(tr_integer(c, "XLEN pb:events"), 20);
    ck_assert_int_eq(shget(c, "pb:campaign:spring-sale", "clicks_human"), 10);
    ck_assert_int_eq(shget(c, "pb:campaign:spring-sale", "imputed_opens"), 10);
    ck_assert_uint_eq(stats_now().replayed, 10);
    ck_assert_uint_eq(stats_now().written, 4);
    pb_track_batch_free(&b);
    g_string_free(rec, TRUE);
    redisFree(c);
}
END_TEST

/* Redis out of memory: "not now", so the events wait in the journal and
 * go when there is room again. */
START_TEST(test_oom_retried)
{
    redisContext *c = sconnect();

    store_start(sjournal, 1000, 500, NULL);
    run_until(is_up, 5, "connected");
    freeReplyObject(scmd(c, "CONFIG SET maxmemory 1"));
    submit_range(0, 30);
    run_ms(300);
    ck_assert_uint_eq(stats_now().written, 0);
    ck_assert_uint_gt(stats_now().backlog, 0);
    freeReplyObject(scmd(c, "CONFIG SET maxmemory 0"));
    run_until(is_idle, 10, "written after OOM");
    assert_stream_uas(c, 30, "ev-");
    ck_assert_uint_eq(stats_now().dropped, 0);
    redisFree(c);
}
END_TEST

/* A command Redis rejects as broken (here: a campaign key of the wrong
 * type) is dropped and counted, not retried; others still go. */
START_TEST(test_broken_dropped)
{
    redisContext *c = sconnect();
    struct pb_token tok;

    freeReplyObject(scmd(c, "SET pb:campaign:spring-sale oops"));
    store_start(sjournal, 1000, 500, NULL);
    run_until(is_up, 5, "connected");
    make_token(&tok, 1, 1, 0, NULL);
    submit(PB_EV_OPEN, &tok, PB_CLASS_HUMAN, "x", NULL);
    snprintf(tok.campaign, sizeof(tok.campaign), "other");
    submit(PB_EV_OPEN, &tok, PB_CLASS_HUMAN, "y", NULL);
    run_until(is_idle, 5, "idle");
    ck_assert_uint_eq(stats_now().dropped, 1);
    ck_assert_uint_eq(stats_now().written, 1);
    ck_assert_int_eq(tr_integer(c, "XLEN pb:events"), 1);
    ck_assert_int_eq(shget(c, "pb:campaign:other", "opens_human"), 1);
    redisFree(c);
}
END_TEST

/* The script cache flushed under a running tracker: EVALSHA gets
 * NOSCRIPT (not run), the next connection loads the script again, and
 * nothing is lost or doubled. */
START_TEST(test_script_flushed)
{
    redisContext *c = sconnect();

    store_start(sjournal, 1000, 500, NULL);
    run_until(is_up, 5, "connected");
    submit_range(0, 20);
    run_until(is_idle, 5, "written");
    freeReplyObject(scmd(c, "SCRIPT FLUSH"));
    submit_range(20, 40);
    run_until(is_idle, 10, "written after the flush");
    assert_stream_uas(c, 40, "ev-");
    ck_assert_uint_eq(stats_now().written, 40);
    redisFree(c);
}
END_TEST

/* A Redis user that may not SCRIPT LOAD still gets every event (as EVAL). */
START_TEST(test_script_load_refused)
{
    redisContext *c = sconnect();
    redisReply *r;

    freeReplyObject(scmd(c, "ACL SETUSER default -script|load"));
    store_start(sjournal, 1000, 500, NULL);
    run_until(is_up, 5, "connected");
    submit_range(0, 20);
    run_until(is_idle, 10, "written");
    submit_range(20, 30);
    run_until(is_idle, 10, "written");
    assert_stream_uas(c, 30, "ev-");
    r = scmd(c, "INFO commandstats");
    ck_assert_msg(strstr(r->str, "cmdstat_eval:calls=") != NULL, "%s", r->str);
    freeReplyObject(r);
    redisFree(c);
}
END_TEST

static void tune_auth_db3(struct pb_conf *conf)
{
    free(conf->redis.password);
    conf->redis.password = strdup("s3cret");
    conf->redis.db = 3;
}

static void tune_bad_password(struct pb_conf *conf)
{
    free(conf->redis.password);
    conf->redis.password = strdup("wrong");
}

/* AUTH and SELECT from the configuration; a wrong password keeps the
 * events in the journal until it is right. */
START_TEST(test_auth_select)
{
    redisContext *c = sconnect();

    freeReplyObject(scmd(c, "CONFIG SET requirepass s3cret"));
    freeReplyObject(scmd(c, "AUTH s3cret"));
    store_start(sjournal, 1000, 500, tune_bad_password);
    submit_range(0, 10);
    run_ms(500);
    ck_assert_uint_eq(stats_now().written, 0);
    ck_assert_uint_eq(stats_now().backlog, 10);
    pb_store_stop(100);

    store_start(sjournal, 1000, 500, tune_auth_db3);
    submit_range(10, 20);
    run_until(is_idle, 10, "written");
    ck_assert_int_eq(tr_integer(c, "EXISTS pb:events"), 0);
    freeReplyObject(scmd(c, "SELECT 3"));
    assert_stream_uas(c, 20, "ev-");
    redisFree(c);
}
END_TEST

/* The journal on a full disk: every event is counted as a journal error
 * and kept in memory instead (lost only if the process died), the
 * tracker goes on, and all of them are written once Redis is back. */
START_TEST(test_full_disk)
{
    struct pb_store_stats s;
    redisContext *c;

    sredis_stop();
    store_start("/dev/full", 1000, 200, NULL);
    submit_range(0, 50);
    s = stats_now();
    ck_assert_uint_eq(s.journal_errors, 50);
    ck_assert_uint_eq(s.journaled, 0);
    ck_assert_uint_eq(s.dropped, 0);
    ck_assert_uint_eq(s.queued, 50);
    ck_assert_uint_eq(s.backlog, 0);
    sredis_start();
    run_until(is_up, 10, "connected");
    submit_range(50, 53);
    run_until(is_idle, 5, "written");
    c = sconnect();
    assert_stream_uas(c, 53, "ev-");
    redisFree(c);
    ck_assert_uint_eq(stats_now().written, 53);
}
END_TEST

/* No journal: events wait in memory up to queue_max while Redis is down,
 * the rest are dropped and counted; the kept ones go later, in order. */
START_TEST(test_no_journal_bounded)
{
    struct pb_store_stats s;
    redisContext *c;

    store_start(NULL, 20, 200, NULL);
    run_until(is_up, 5, "connected");
    sredis_stop();
    run_until(is_down, 5, "Redis seen down");
    submit_range(0, 30);
    s = stats_now();
    ck_assert_uint_eq(s.queued, 20);
    ck_assert_uint_eq(s.dropped, 10);
    sredis_start();
    run_until(is_idle, 10, "written");
    c = sconnect();
    assert_stream_uas(c, 20, "ev-");
    redisFree(c);
}
END_TEST

TCase *failure_tcase(void)
{
    TCase *tc = tcase_create("failure");

    tcase_add_checked_fixture(tc, store_setup, store_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_redis_down_journal);
    tcase_add_test(tc, test_down_at_start);
    tcase_add_test(tc, test_slow_redis);
    tcase_add_test(tc, test_queue_overflow);
    tcase_add_test(tc, test_stop_and_restart);
    tcase_add_test(tc, test_crash_between_write_and_consume);
    tcase_add_test(tc, test_oom_retried);
    tcase_add_test(tc, test_broken_dropped);
    tcase_add_test(tc, test_script_flushed);
    tcase_add_test(tc, test_script_load_refused);
    tcase_add_test(tc, test_auth_select);
    tcase_add_test(tc, test_full_disk);
    tcase_add_test(tc, test_no_journal_bounded);
    return tc;
}
