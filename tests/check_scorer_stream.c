/*
 * check_scorer_stream.c - the scorer as a consumer group member: an entry
 * delivered twice is applied once; a scorer that stopped (or was killed
 * with SIGKILL in the middle of its work) and starts again loses nothing
 * and applies nothing twice; a dead consumer's entries are taken over
 * once they are idle long enough, not before; entries trimmed while
 * pending are acknowledged and counted; two scorers in one group share
 * the entries; Redis losing the script, refusing a contact's writes or
 * stopping for a while loses nothing. Part of check_scorer (see
 * check_scorer.h).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib.h>
#include "check_redis.h"
#include "check_scorer.h"

#define EVERY_CLICK "{ name = \"click\"; event = \"click\"; points = 1; }"
#define FAST_CLAIM "half_life_days = 0; claim_idle_ms = 1000; claim_interval_ms = 100;"

/* n human clicks, contact "k<i % contacts>", each its own message. */
static void add_clicks(int n, int contacts)
{
    for (int i = 0; i < n; i++) {
        char contact[16], msg[24];
        snprintf(contact, sizeof(contact), "k%d", i % contacts);
        snprintf(msg, sizeof(msg), "%016x", i);
        g_free(click(contact, msg, T0 - 1000 + i % 1000, "https://shop.example.com/"));
    }
}

/* XREADGROUP as consumer `who` without processing: what a scorer has
 * read when it dies. */
static redisReply *read_as(const char *who, int count)
{
    redisReply *r;

    tr_integer(cc, "EXISTS pb:events");     /* the stream exists: xadd made it */
    r = redisCommand(cc, "XGROUP CREATE pb:events scorer 0");
    freeReplyObject(r);             /* BUSYGROUP is fine */
    r = redisCommand(cc, "XREADGROUP GROUP scorer %s COUNT %d STREAMS pb:events >", who, count);
    ck_assert_msg(r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 1, "XREADGROUP");
    return r;
}

static const redisReply *entries_of(const redisReply *r)
{
    return r->element[0]->element[1];
}

static double total_score(int contacts)
{
    double sum = 0;

    for (int i = 0; i < contacts; i++) {
        char contact[16];
        snprintf(contact, sizeof(contact), "k%d", i);
        sum += stored_score(contact);
    }
    return sum;
}

static long long total_history(int contacts)
{
    long long sum = 0;

    for (int i = 0; i < contacts; i++) {
        char contact[16];
        snprintf(contact, sizeof(contact), "k%d", i);
        sum += history_len(contact);
    }
    return sum;
}

/* The same entries run twice (a reply lost and the batch sent again, or
 * two consumers holding them): applied once. */
START_TEST(test_same_entries_twice)
{
    struct pb_scorer s;
    redisReply *r;

    load_scorer("half_life_days = 0;", EVERY_CLICK);
    add_clicks(10, 3);
    r = read_as("a", 10);
    scorer_open(&s, "a");
    ck_assert_int_eq(pb_scorer_batch(&s, entries_of(r)), 0);
    ck_assert_int_eq(s.stats.done, 10);
    ck_assert_int_eq(pb_scorer_batch(&s, entries_of(r)), 0);
    ck_assert_int_eq(s.stats.done, 10);
    ck_assert_int_eq(s.stats.duplicates, 10);
    ck_assert_double_eq(total_score(3), 10);
    ck_assert_int_eq(total_history(3), 10);
    ck_assert_int_eq(pending_count(), 0);
    freeReplyObject(r);
    pb_scorer_free(&s);
}
END_TEST

/* The same entries run twice with segments: one entry into the segment,
 * one log line, one wake-up; the second run changes nothing. */
START_TEST(test_segment_entry_twice)
{
    struct pb_scorer s;
    redisReply *r;

    load_scorer("half_life_days = 10; segments = ( { name = \"mql\"; behaviour_at_least = 3; } );",
                EVERY_CLICK);
    add_clicks(4, 1);
    r = read_as("a", 4);
    scorer_open(&s, "a");
    ck_assert_int_eq(pb_scorer_batch(&s, entries_of(r)), 0);
    ck_assert_int_eq(s.stats.changes, 1);
    ck_assert_int_eq(pb_scorer_batch(&s, entries_of(r)), 0);
    ck_assert_int_eq(s.stats.duplicates, 4);
    ck_assert_int_eq(s.stats.changes, 1);
    ck_assert_double_eq_tol(total_score(1), 4, 1e-6);
    ck_assert_int_eq(tr_integer(cc, "ZCARD pb:segment:mql"), 1);
    ck_assert_int_eq(tr_integer(cc, "XLEN pb:segment-log"), 1);
    ck_assert_int_eq(tr_integer(cc, "ZCARD pb:wake"), 1);
    freeReplyObject(r);
    pb_scorer_free(&s);
}
END_TEST

/* A slow consumer's entries claimed and applied by another; when the
 * slow one gets to its batch at last, it applies nothing. */
START_TEST(test_slow_consumer_after_claim)
{
    struct pb_scorer slow;
    struct pb_sc_stats b;
    redisReply *r;

    load_scorer(FAST_CLAIM, EVERY_CLICK);
    add_clicks(20, 4);
    r = read_as("slow", 20);
    usleep(1100 * 1000);
    b = drain_as("b");
    ck_assert_int_eq(b.claimed, 20);
    ck_assert_int_eq(b.done, 20);
    scorer_open(&slow, "slow");
    ck_assert_int_eq(pb_scorer_batch(&slow, entries_of(r)), 0);
    ck_assert_int_eq(slow.stats.done, 0);
    ck_assert_int_eq(slow.stats.duplicates, 20);
    ck_assert_double_eq(total_score(4), 20);
    freeReplyObject(r);
    pb_scorer_free(&slow);
}
END_TEST

/* A scorer that read entries and stopped before applying them finds them
 * again under its name at the next start. */
START_TEST(test_restart_takes_own_pending)
{
    struct pb_sc_stats st;

    load_scorer("half_life_days = 0;", EVERY_CLICK);
    add_clicks(30, 5);
    freeReplyObject(read_as("a", 12));
    ck_assert_int_eq(pending_count(), 12);
    st = drain_as("a");
    ck_assert_int_eq(st.done, 30);
    ck_assert_int_eq(st.claimed, 0);
    ck_assert_int_eq(pending_count(), 0);
    ck_assert_double_eq(total_score(5), 30);
}
END_TEST

/* A dead consumer's entries wait claim_idle_ms, then another takes them. */
START_TEST(test_dead_consumer_claimed_when_idle)
{
    struct pb_sc_stats st;

    load_scorer(FAST_CLAIM, EVERY_CLICK);
    add_clicks(25, 5);
    freeReplyObject(read_as("dead", 25));
    st = drain_as("b");
    ck_assert_int_eq(st.claimed, 0);        /* not idle long enough yet */
    ck_assert_int_eq(pending_count(), 25);
    ck_assert_double_eq(total_score(5), 0);
    usleep(1100 * 1000);
    st = drain_as("b");
    ck_assert_int_eq(st.claimed, 25);
    ck_assert_int_eq(st.done, 25);
    ck_assert_int_eq(pending_count(), 0);
    ck_assert_double_eq(total_score(5), 25);
}
END_TEST

/* Entries trimmed while a dead consumer held them: XAUTOCLAIM names them
 * apart (Redis 7); they are acknowledged and counted, never retried. */
START_TEST(test_trimmed_pending_of_dead_consumer)
{
    struct pb_sc_stats st;

    load_scorer(FAST_CLAIM, EVERY_CLICK);
    add_clicks(8, 2);
    freeReplyObject(read_as("dead", 8));
    tr_integer(cc, "XTRIM pb:events MAXLEN 0");
    usleep(1100 * 1000);
    st = drain_as("b");
    ck_assert_int_eq(st.trimmed, 8);
    ck_assert_int_eq(st.done, 8);
    ck_assert_int_eq(st.scored, 0);
    ck_assert_int_eq(pending_count(), 0);
    /* and the next look has nothing left to claim */
    usleep(1100 * 1000);
    st = drain_as("b");
    ck_assert_int_eq(st.trimmed + st.claimed + st.done, 0);
}
END_TEST

/* The same for a scorer's own pending entries at its restart. */
START_TEST(test_trimmed_own_pending)
{
    struct pb_sc_stats st;

    load_scorer("half_life_days = 0;", EVERY_CLICK);
    add_clicks(6, 2);
    freeReplyObject(read_as("a", 4));
    tr_integer(cc, "XTRIM pb:events MAXLEN 0");
    add_clicks(3, 2);
    st = drain_as("a");
    ck_assert_int_eq(st.trimmed, 4);
    ck_assert_int_eq(st.done, 4 + 3);       /* the two unread were trimmed unread */
    ck_assert_int_eq(pending_count(), 0);
    ck_assert_double_eq(total_score(2), 3);
}
END_TEST

/* Two scorers in one group, taking batches in turn: each does part of
 * the work, together all of it, once. */
START_TEST(test_two_scorers_share)
{
    struct pb_scorer a, b;
    int na = 1, nb = 1;

    load_scorer("half_life_days = 0; batch = 16;", EVERY_CLICK);
    add_clicks(200, 7);
    scorer_open(&a, "a");
    scorer_open(&b, "b");
    while (na > 0 || nb > 0) {
        na = pb_scorer_step(&a, 0);
        nb = pb_scorer_step(&b, 0);
        ck_assert_int_ge(na, 0);
        ck_assert_int_ge(nb, 0);
    }
    ck_assert_int_ge(a.stats.done, 64);
    ck_assert_int_ge(b.stats.done, 64);
    ck_assert_int_eq(a.stats.done + b.stats.done, 200);
    ck_assert_int_eq(a.stats.duplicates + b.stats.duplicates, 0);
    ck_assert_double_eq(total_score(7), 200);
    ck_assert_int_eq(total_history(7), 200);
    pb_scorer_free(&a);
    pb_scorer_free(&b);
}
END_TEST

/* A scorer process killed with SIGKILL while it works through a backlog,
 * then started again under its name: every event scored exactly once. */
START_TEST(test_sigkill_mid_batch_and_restart)
{
    const int events = 6000, contacts = 50;
    long long left;
    pid_t pid;

    load_scorer("half_life_days = 0; batch = 50;", EVERY_CLICK);
    add_clicks(events, contacts);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct pb_scorer s;
        scorer_open(&s, "a");
        pb_scorer_drain(&s);
        _exit(0);
    }
    /* kill it once it has done some but not all */
    for (int i = 0; i < 2000; i++) {
        long long done = tr_integer(cc, "LLEN pb:contact:k0:scores");
        if (done >= 5)
            break;
        usleep(1000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    left = tr_integer(cc, "XLEN pb:events") - (long long)total_history(contacts);
    ck_assert_msg(left > 0, "the scorer finished before it was killed: make the backlog larger");
    drain_as("a");
    ck_assert_double_eq(total_score(contacts), events);
    ck_assert_int_eq(total_history(contacts), events);
    ck_assert_int_eq(pending_count(), 0);
}
END_TEST

/* Redis lost the script (restart, SCRIPT FLUSH): loaded again, no batch lost. */
START_TEST(test_script_cache_flushed)
{
    struct pb_sc_stats st;

    load_scorer("half_life_days = 0;", EVERY_CLICK);
    add_clicks(10, 2);
    drain_as("a");
    freeReplyObject(redisCommand(cc, "SCRIPT FLUSH"));
    add_clicks(10, 2);
    st = drain_as("a");
    ck_assert_int_eq(st.done, 10);
    ck_assert_double_eq(total_score(2), 20);
}
END_TEST

/* A key of the wrong type refuses that contact's writes: its entries are
 * acknowledged and counted as refused, the rest of the batch is scored. */
START_TEST(test_refused_write_acknowledged)
{
    struct pb_sc_stats st;

    load_scorer("half_life_days = 0;", EVERY_CLICK);
    freeReplyObject(redisCommand(cc, "SET pb:contact:k0 not-a-hash"));
    add_clicks(9, 3);
    st = drain_as("a");
    ck_assert_int_eq(st.done, 9);
    ck_assert_int_eq(st.refused, 3);
    ck_assert_int_eq(st.scored, 6);
    ck_assert_int_eq(pending_count(), 0);
    ck_assert_double_eq(stored_score("k1") + stored_score("k2"), 6);
}
END_TEST

/* Redis stops answering (frozen with SIGSTOP) between two batches: the
 * scorer's command times out, it drops the connection, connects again
 * once Redis is back, and every event is scored exactly once. (A batch
 * whose script ran but whose reply was lost is test_same_entries_twice.) */
START_TEST(test_redis_stalled_and_back)
{
    struct pb_scorer s;
    char err[256];
    int n, failed = 0;

    load_scorer("half_life_days = 0; batch = 20; block_ms = 10;", EVERY_CLICK);
    cconf.redis.timeout_ms = 50;
    add_clicks(400, 10);
    scorer_open(&s, "a");
    ck_assert_int_gt(pb_scorer_step(&s, 0), 0);
    redis_freeze(1);
    n = pb_scorer_step(&s, 0);
    redis_freeze(0);
    ck_assert_int_eq(n, -1);
    ck_assert_ptr_null(s.c);            /* dropped, the batch left pending */
    while ((n = pb_scorer_step(&s, 0)) != 0) {
        if (n < 0) {
            ck_assert_int_lt(++failed, 50);
            ck_assert_msg(pb_scorer_connect(&s, err, sizeof(err)) == 0, "%s", err);
        }
    }
    ck_assert_int_eq(pending_count(), 0);
    ck_assert_double_eq(total_score(10), 400);
    ck_assert_int_eq(total_history(10), 400);
    pb_scorer_free(&s);
}
END_TEST

/* Redis before 6.2 has no XAUTOCLAIM (here: renamed away): the scorer
 * says so once and goes on with its own and new entries. */
START_TEST(test_without_xautoclaim)
{
    static const char *const no_autoclaim[] = { "--rename-command", "XAUTOCLAIM", "", NULL };
    struct pb_sc_stats st;

    redis_restart_with(no_autoclaim);
    load_scorer(FAST_CLAIM, EVERY_CLICK);
    add_clicks(10, 2);
    freeReplyObject(read_as("dead", 4));
    usleep(1100 * 1000);
    st = drain_as("b");
    ck_assert_int_eq(st.done, 6);
    ck_assert_int_eq(st.claimed, 0);
    ck_assert_int_eq(pending_count(), 4);     /* the dead one's, until it comes back */
    st = drain_as("dead");
    ck_assert_int_eq(st.done, 4);
    ck_assert_double_eq(total_score(2), 10);
}
END_TEST

/* What the progress line reports: pending entries and the lag. */
START_TEST(test_group_info)
{
    struct pb_scorer s;
    long long pending, lag;

    load_scorer("half_life_days = 0;", EVERY_CLICK);
    add_clicks(10, 2);
    freeReplyObject(read_as("dead", 4));
    scorer_open(&s, "a");
    ck_assert_int_eq(pb_scorer_group_info(&s, &pending, &lag), 0);
    ck_assert_int_eq(pending, 4);
    ck_assert_int_eq(lag, 6);
    ck_assert_int_eq(pb_scorer_drain(&s), 0);
    ck_assert_int_eq(pb_scorer_group_info(&s, &pending, &lag), 0);
    ck_assert_int_eq(pending, 4);       /* the dead one's, not idle long enough yet */
    ck_assert_int_eq(lag, 0);
    pb_scorer_free(&s);
}
END_TEST

TCase *stream_tcase(void)
{
    TCase *tc = tcase_create("stream");

    tcase_add_checked_fixture(tc, scorer_setup, scorer_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_same_entries_twice);
    tcase_add_test(tc, test_segment_entry_twice);
    tcase_add_test(tc, test_slow_consumer_after_claim);
    tcase_add_test(tc, test_restart_takes_own_pending);
    tcase_add_test(tc, test_dead_consumer_claimed_when_idle);
    tcase_add_test(tc, test_trimmed_pending_of_dead_consumer);
    tcase_add_test(tc, test_trimmed_own_pending);
    tcase_add_test(tc, test_two_scorers_share);
    tcase_add_test(tc, test_sigkill_mid_batch_and_restart);
    tcase_add_test(tc, test_script_cache_flushed);
    tcase_add_test(tc, test_refused_write_acknowledged);
    tcase_add_test(tc, test_redis_stalled_and_back);
    tcase_add_test(tc, test_without_xautoclaim);
    tcase_add_test(tc, test_group_info);
    return tc;
}
