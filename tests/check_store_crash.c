/*
 * check_store_crash.c - what the tracker's store keeps when the process
 * dies: an event whose answer may have left (it was committed: the end of
 * the loop pass that answered it) survives a SIGKILL, whether Redis was
 * healthy, slow or not answering at all, and the next start writes each
 * such event exactly once; and the counters say what Redis stored when
 * replies were lost (a paused Redis that runs the commands it had read
 * after the tracker gave up on them). Part of check_store (check_store.h).
 *
 * The tracker that dies is a child process: it starts the store, submits
 * and commits, and kills itself with SIGKILL; the test then starts a
 * store on the same journal, as the restarted tracker would.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib.h>
#include "check_store.h"
#include "check_redis.h"

#define N_CRASH 300

enum redis_state { REDIS_HEALTHY, REDIS_SLOW, REDIS_PAUSED };

/* In a child: start the store, submit N_CRASH events in passes of 50
 * (each committed, as the answers of a pass would be), let Redis answer
 * some of them as `state` allows, then die without any cleanup. */
static void die_after_answers(enum redis_state state)
{
    pid_t pid = fork();
    int status;

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        redisContext *c = sconnect();

        store_start(sjournal, 1000, 500, NULL);
        run_until(is_up, 5, "connected");
        if (state == REDIS_PAUSED)      /* inside timeout_ms: nothing is given up */
            freeReplyObject(scmd(c, "CLIENT PAUSE 300 WRITE"));
        for (unsigned i = 0; i < N_CRASH; i += 50) {
            if (state == REDIS_SLOW)
                freeReplyObject(scmd(c, "CLIENT PAUSE 20 WRITE"));
            submit_range(i, i + 50);
            if (i + 50 < N_CRASH)       /* the last pass dies right after its commit */
                run_ms(state == REDIS_HEALTHY ? 2 : 10);
        }
        raise(SIGKILL);
        _exit(1);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
                  "the child did not die by SIGKILL (status %d)", status);
}

/* The restarted store: every event once. */
static void assert_all_once_after_restart(void)
{
    redisContext *c = sconnect();

    g_usleep(400000);           /* a CLIENT PAUSE of the dead tracker ends */
    store_start(sjournal, 1000, 500, NULL);
    run_until(is_idle, 20, "journal replayed");
    assert_stream_uas_any_order(c, N_CRASH, "ev-");
    ck_assert_int_eq(shget(c, "pb:campaign:spring-sale", "opens_human"), N_CRASH);
    redisFree(c);
}

START_TEST(test_kill_redis_healthy)
{
    die_after_answers(REDIS_HEALTHY);
    assert_all_once_after_restart();
}
END_TEST

START_TEST(test_kill_redis_slow)
{
    die_after_answers(REDIS_SLOW);
    assert_all_once_after_restart();
}
END_TEST

START_TEST(test_kill_redis_paused)
{
    die_after_answers(REDIS_PAUSED);
    assert_all_once_after_restart();
}
END_TEST

/* A journal record leaves the journal once Redis has it: after a healthy
 * run the journal is empty, though every event went through it. */
START_TEST(test_journal_emptied_after_answers)
{
    struct pb_store_stats s;

    store_start(sjournal, 1000, 500, NULL);
    run_until(is_up, 5, "connected");
    submit_range(0, 100);
    s = stats_now();
    ck_assert_uint_eq(s.journaled, 100);
    ck_assert_uint_eq(s.backlog, 100);
    ck_assert_uint_eq(s.queued, 100);
    ck_assert_uint_eq(s.pending, 100);     /* in memory and journal: counted once */
    run_until(is_idle, 5, "written");
    s = stats_now();
    ck_assert_uint_eq(s.written, 100);
    ck_assert_uint_eq(s.backlog, 0);
    ck_assert_uint_eq(s.pending, 0);
    ck_assert_uint_eq(s.replayed, 0);  /* written live, not read back */
}
END_TEST

static int went_down(const struct pb_store_stats *s)
{
    return !s->redis_up;
}

/* Redis stopped (SIGSTOP) with batches on the wire, longer than
 * timeout_ms: the tracker gives up on them, and Redis, continued, runs
 * what it had read. The replay finds them written: they count, once, so
 * events_written_total equals what Redis stored. */
START_TEST(test_written_counts_lost_replies)
{
    redisContext *c;
    struct pb_store_stats s;

    store_start(sjournal, 1000, 100, NULL);
    run_until(is_up, 5, "connected");
    submit_range(0, 50);        /* on the wire */
    ck_assert_int_eq(kill(spid, SIGSTOP), 0);
    submit_range(50, 100);
    run_until(went_down, 5, "a stopped Redis given up on");
    run_ms(300);
    ck_assert_int_eq(kill(spid, SIGCONT), 0);
    run_until(is_idle, 20, "replayed");
    c = sconnect();
    assert_stream_uas_any_order(c, 100, "ev-");
    s = stats_now();
    ck_assert_uint_eq(s.written, 100);
    ck_assert_uint_eq(s.dropped, 0);
    redisFree(c);
}
END_TEST

TCase *crash_tcase(void)
{
    TCase *tc = tcase_create("crash");

    tcase_add_checked_fixture(tc, store_setup, store_teardown);
    tcase_set_timeout(tc, 40);
    tcase_add_test(tc, test_kill_redis_healthy);
    tcase_add_test(tc, test_kill_redis_slow);
    tcase_add_test(tc, test_kill_redis_paused);
    tcase_add_test(tc, test_journal_emptied_after_answers);
    tcase_add_test(tc, test_written_counts_lost_replies);
    return tc;
}
