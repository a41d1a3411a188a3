/*
 * check_send_rate.c - the shared sending pieces of lib/: the global send
 * rate (send_rate.c) against a real redis-server, with the clock passed
 * in (a burst of one second's worth, then one message per 1/rate s, the
 * retry time of a refused request, two senders sharing one rate, no
 * credit piling up while idle, unlimited without asking Redis), the
 * EVALSHA/EVAL fallback after SCRIPT FLUSH (redis_script.c), and the A/B
 * split (split.c: deterministic, independent per salt, shares honoured
 * within sampling error, the rest left out).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <check.h>
#include <hiredis/hiredis.h>
#include "redis_script.h"
#include "send_rate.h"
#include "split.h"
#include "testutil.h"

#define KEY "t:send-rate"
#define T0 1800000000000LL

static char sock[512];
static int redis_pid;
static redisContext *c;

static void setup(void)
{
    signal(SIGPIPE, SIG_IGN);  /* as the daemons do: a write to the dead server fails */
    snprintf(sock, sizeof(sock), "%s/redis.sock", tu_tmpdir());
    redis_pid = tu_redis_start(sock);
    ck_assert_int_gt(redis_pid, 0);
    c = redisConnectUnix(sock);
    ck_assert(c != NULL && c->err == 0);
}

static void teardown(void)
{
    redisFree(c);
    tu_redis_stop(redis_pid);
}

static long take(long rate, long long now, long want, long long *retry)
{
    char why[256] = "";
    long got = pb_send_rate_take(c, KEY, rate, now, want, retry, why, sizeof(why));

    ck_assert_msg(got >= 0, "take failed: %s", why);
    return got;
}

START_TEST(test_burst_then_paced)
{
    long long retry;

    /* 10/s: one second's worth at once, then nothing until 100 ms later */
    ck_assert_int_eq(take(10, T0, 25, &retry), 10);
    ck_assert_int_eq(retry, T0 + 100);
    ck_assert_int_eq(take(10, T0 + 50, 1, &retry), 0);
    ck_assert_int_eq(retry, T0 + 100);
    ck_assert_int_eq(take(10, T0 + 100, 5, &retry), 1);
    ck_assert_int_eq(retry, T0 + 200);
    /* a full second later: ten more, never more than the burst */
    ck_assert_int_eq(take(10, T0 + 1100, 50, &retry), 10);
}
END_TEST

START_TEST(test_idle_gives_no_extra_credit)
{
    long long retry;

    ck_assert_int_eq(take(4, T0, 4, &retry), 4);
    ck_assert_int_eq(retry, T0);
    /* an hour idle: still one second's worth, not an hour's */
    ck_assert_int_eq(take(4, T0 + 3600000, 1000, &retry), 4);
    ck_assert_int_eq(retry, T0 + 3600000 + 250);
}
END_TEST

START_TEST(test_senders_share_the_rate)
{
    long long retry;
    long total = 0;

    /* two senders taking turns every 10 ms for 3 s at 20/s: 20 + 3 s × 20 */
    for (long long t = T0; t < T0 + 3000; t += 10) {
        total += take(20, t, 3, &retry);       /* sender one */
        total += take(20, t + 5, 3, &retry);   /* sender two */
    }
    ck_assert_int_ge(total, 20 + 59);
    ck_assert_int_le(total, 20 + 60);
}
END_TEST

START_TEST(test_unlimited_asks_nothing)
{
    long long retry;
    redisReply *r;

    ck_assert_int_eq(take(0, T0, 1000, &retry), 1000);
    ck_assert_int_eq(retry, T0);
    r = redisCommand(c, "EXISTS " KEY);
    ck_assert_int_eq(r->integer, 0);
    freeReplyObject(r);
}
END_TEST

START_TEST(test_redis_gone_is_an_error)
{
    long long retry;
    char why[256] = "";

    tu_redis_stop(redis_pid);
    redis_pid = tu_redis_start(sock);   /* teardown stops this one */
    ck_assert_int_eq(pb_send_rate_take(c, KEY, 10, T0, 1, &retry, why, sizeof(why)), -1);
    ck_assert_msg(strncmp(why, "redis: ", 7) == 0, "why: %s", why);
}
END_TEST

START_TEST(test_script_reloaded_after_flush)
{
    static const char lua[] = "return redis.call('INCRBY', KEYS[1], ARGV[1])";
    struct pb_script s;
    const char *args[2] = { "t:n", "5" };
    redisReply *r;

    pb_script_init(&s, lua);
    ck_assert_str_eq(s.sha, "8cd00688c05c46bde4a2e60658ef20a2e5c0b248");   /* sha1sum of the text */
    r = pb_script_run(c, &s, 1, 2, args);
    ck_assert_int_eq(r->integer, 5);
    freeReplyObject(r);
    r = redisCommand(c, "SCRIPT EXISTS %s", s.sha);
    ck_assert_int_eq(r->element[0]->integer, 1);
    freeReplyObject(r);
    freeReplyObject(redisCommand(c, "SCRIPT FLUSH"));
    r = pb_script_run(c, &s, 1, 2, args);
    ck_assert_int_eq(r->type, REDIS_REPLY_INTEGER);
    ck_assert_int_eq(r->integer, 10);
    freeReplyObject(r);
}
END_TEST

START_TEST(test_split_is_deterministic_and_fair)
{
    static const unsigned halves[2] = { 5000, 5000 };
    static const unsigned test20[2] = { 1000, 1000 };   /* 20 % test, 10 % each */
    unsigned count[2] = { 0, 0 }, rest = 0, same = 0;
    char id[17];

    for (int i = 0; i < 20000; i++) {
        snprintf(id, sizeof(id), "%016x", i * 2654435761u);
        unsigned b = pb_split_bucket("spring", id);
        ck_assert_uint_lt(b, PB_SPLIT_BUCKETS);
        ck_assert_uint_eq(b, pb_split_bucket("spring", id));
        if (pb_split_pick(b, halves, 2) == pb_split_pick(pb_split_bucket("autumn", id),
                                                         halves, 2))
            same++;
        int v = pb_split_pick(b, test20, 2);
        if (v < 0)
            rest++;
        else
            count[v]++;
    }
    /* 2000 ± 5 sigma (sigma ~42), 16000 ± 5 sigma (~57) */
    ck_assert_uint_ge(count[0], 1790);
    ck_assert_uint_le(count[0], 2210);
    ck_assert_uint_ge(count[1], 1790);
    ck_assert_uint_le(count[1], 2210);
    ck_assert_uint_ge(rest, 15715);
    ck_assert_uint_le(rest, 16285);
    /* another salt splits independently: agreement ~50 %, not 100 % */
    ck_assert_uint_ge(same, 9650);
    ck_assert_uint_le(same, 10350);
    ck_assert_int_eq(pb_split_pick(0, test20, 2), 0);
    ck_assert_int_eq(pb_split_pick(999, test20, 2), 0);
    ck_assert_int_eq(pb_split_pick(1000, test20, 2), 1);
    ck_assert_int_eq(pb_split_pick(2000, test20, 2), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("send_rate");
    TCase *tc = tcase_create("redis");
    TCase *split = tcase_create("split");
    SRunner *sr;
    int failed;

    if (!tu_redis_available()) {
        fprintf(stderr, "check_send_rate: redis-server is not installed; skipping\n");
        return 77;
    }
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_burst_then_paced);
    tcase_add_test(tc, test_idle_gives_no_extra_credit);
    tcase_add_test(tc, test_senders_share_the_rate);
    tcase_add_test(tc, test_unlimited_asks_nothing);
    tcase_add_test(tc, test_redis_gone_is_an_error);
    tcase_add_test(tc, test_script_reloaded_after_flush);
    suite_add_tcase(s, tc);
    tcase_add_test(split, test_split_is_deterministic_and_fair);
    suite_add_tcase(s, split);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
