/*
 * check_sent_kept.c - the milter's `sent` command against a real
 * redis-server: it trims the events stream by the tracker's retention
 * settings (tracker.stream_maxlen, tracker.stream_max_age_days), goes as
 * EVALSHA on a live connection, and the recorder falls back to EVAL when
 * Redis has lost the script (NOSCRIPT), writing every record once.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <check.h>
#include <glib.h>
#include <hiredis/hiredis.h>
#include "conf.h"
#include "events.h"
#include "record.h"
#include "testutil.h"
#include "check_redis.h"

static char dir[256], sock[300];
static int redis_pid;

static void setup(void)
{
    snprintf(dir, sizeof(dir), "%s", tu_tmpdir());
    snprintf(sock, sizeof(sock), "%s/redis.sock", dir);
    redis_pid = tu_redis_start(sock);
    ck_assert_msg(redis_pid > 0, "redis-server did not start; see %s.log", sock);
}

static void teardown(void)
{
    char *cmd = g_strdup_printf("rm -rf '%s'", dir);

    tu_redis_stop(redis_pid);
    redis_pid = 0;
    ck_assert_int_eq(system(cmd), 0);
    g_free(cmd);
}

static redisContext *rconnect(void)
{
    return tr_connect(sock);
}

/* Send one RESP command; the reply (caller frees). */
static redisReply *send_raw(redisContext *c, const char *cmd, size_t len)
{
    redisReply *r = NULL;

    ck_assert_int_eq(redisAppendFormattedCommand(c, cmd, len), REDIS_OK);
    ck_assert_int_eq(redisGetReply(c, (void **)&r), REDIS_OK);
    ck_assert_ptr_nonnull(r);
    return r;
}

static void sample(struct pb_sent_record *rec, unsigned n)
{
    memset(rec, 0, sizeof(*rec));
    rec->msg_id[0] = (uint8_t)(n >> 8);
    rec->msg_id[1] = (uint8_t)n;
    rec->msg_id[7] = 0x5a;
    rec->campaign = "autumn";
    rec->queue_id = "4Q1";
    rec->sent_at = 1700000000 + n;
    rec->links = 3;
    rec->recipients = 2;
}

/* Write records from..to-1 with these limits; each must report 1. */
static void write_sent(redisContext *c, const struct pb_track_retention *kept, unsigned from,
                       unsigned to)
{
    for (unsigned n = from; n < to; n++) {
        struct pb_sent_record rec;
        GString *cmd = g_string_new(NULL);
        redisReply *r;

        sample(&rec, n);
        pb_event_sent_command_kept("pb:", kept, &rec, cmd);
        r = send_raw(c, cmd->str, cmd->len);
        ck_assert_msg(r->type == REDIS_REPLY_INTEGER && r->integer == 1, "record %u: %s", n,
                      r->type == REDIS_REPLY_ERROR ? r->str : "not 1");
        freeReplyObject(r);
        g_string_free(cmd, TRUE);
    }
}

/* Old entries (ids 1000-0 ...), as a stream months old would hold. */
static void add_old_entries(redisContext *c, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        redisReply *r = redisCommand(c, "XADD pb:events %u-0 type old", 1000 + i);
        ck_assert_msg(r != NULL && r->type == REDIS_REPLY_STRING, "XADD old");
        freeReplyObject(r);
    }
}

START_TEST(test_length_limit)
{
    redisContext *c = rconnect();
    struct pb_track_retention kept = { .msg_days = 1, .stream_maxlen = 10 };
    long long len;

    write_sent(c, &kept, 0, 450);
    len = tr_integer(c, "XLEN pb:events");
    /* MAXLEN ~ trims whole stream nodes (100 entries by default) */
    ck_assert_msg(len >= 10 && len <= 110, "XLEN %lld with stream_maxlen 10", len);
    redisFree(c);
}
END_TEST

START_TEST(test_age_limit_only)
{
    redisContext *c = rconnect();
    struct pb_track_retention kept = { .msg_days = 1, .stream_max_age_days = 30 };

    add_old_entries(c, 250);
    write_sent(c, &kept, 0, 1);
    /* the two full nodes of old entries are gone; the newest, which the
     * new entry shares, stays (MINID ~ removes whole nodes only) */
    ck_assert_int_le(tr_integer(c, "XLEN pb:events"), 51);
    ck_assert_int_eq(tr_integer(c, "XLEN pb:events") > 0, 1);
    redisFree(c);
}
END_TEST

START_TEST(test_both_limits_trim_by_age_sometimes)
{
    redisContext *c = rconnect();
    struct pb_track_retention kept = {
        .msg_days = 1, .stream_maxlen = 1000000, .stream_max_age_days = 30,
    };

    add_old_entries(c, 250);
    /* one command in 16 carries the age limit: 200 commands miss it with
     * probability (15/16)^200, below 3e-6 */
    write_sent(c, &kept, 0, 200);
    ck_assert_int_le(tr_integer(c, "XLEN pb:events"), 50 + 200);
    redisFree(c);
}
END_TEST

START_TEST(test_no_limits_keep_everything)
{
    redisContext *c = rconnect();
    struct pb_track_retention kept = { .msg_days = 0 };

    add_old_entries(c, 250);
    write_sent(c, &kept, 0, 150);
    ck_assert_int_eq(tr_integer(c, "XLEN pb:events"), 400);
    /* msg_days 0: the send record has no TTL */
    ck_assert_int_eq(tr_integer(c, "TTL pb:msg:000500000000005a"), -1);
    redisFree(c);
}
END_TEST

START_TEST(test_evalsha_form)
{
    redisContext *c = rconnect();
    struct pb_track_retention kept = { .msg_days = 1, .stream_maxlen = 100 };
    struct pb_sent_record rec;
    GString *eval = g_string_new(NULL), *sha_cmd = g_string_new(NULL);
    char sha[41];
    redisReply *r;

    pb_event_sent_sha(sha);
    ck_assert_int_eq((int)strspn(sha, "0123456789abcdef"), 40);
    sample(&rec, 1);
    pb_event_sent_command_kept("pb:", &kept, &rec, eval);
    ck_assert_int_eq(pb_event_sent_evalsha(eval->str, eval->len, sha, sha_cmd), 0);
    ck_assert_uint_lt(sha_cmd->len + 1000, eval->len);     /* the script is not sent */

    r = send_raw(c, sha_cmd->str, sha_cmd->len);             /* a fresh Redis lacks it */
    ck_assert_int_eq(r->type, REDIS_REPLY_ERROR);
    ck_assert_msg(strncmp(r->str, "NOSCRIPT", 8) == 0, "%s", r->str);
    freeReplyObject(r);
    r = send_raw(c, eval->str, eval->len);                   /* EVAL caches it */
    ck_assert_int_eq(r->type, REDIS_REPLY_INTEGER);
    ck_assert_int_eq(r->integer, 1);
    freeReplyObject(r);
    r = send_raw(c, sha_cmd->str, sha_cmd->len);             /* same event id: written once */
    ck_assert_int_eq(r->type, REDIS_REPLY_INTEGER);
    ck_assert_int_eq(r->integer, 0);
    freeReplyObject(r);

    sample(&rec, 2);
    g_string_truncate(eval, 0);
    pb_event_sent_command_kept("pb:", &kept, &rec, eval);
    ck_assert_int_eq(pb_event_sent_evalsha(eval->str, eval->len, sha, sha_cmd), 0);
    r = send_raw(c, sha_cmd->str, sha_cmd->len);
    ck_assert_int_eq(r->type, REDIS_REPLY_INTEGER);
    ck_assert_int_eq(r->integer, 1);
    freeReplyObject(r);
    ck_assert_int_eq(tr_integer(c, "XLEN pb:events"), 2);

    /* anything else is not converted */
    ck_assert_int_eq(pb_event_sent_evalsha("*1\r\n$4\r\nPING\r\n", 14, sha, sha_cmd), -1);
    ck_assert_int_eq(pb_event_sent_evalsha(eval->str, eval->len / 2, sha, sha_cmd), -1);
    g_string_free(eval, TRUE);
    g_string_free(sha_cmd, TRUE);
    redisFree(c);
}
END_TEST

/* ---- the recorder: EVALSHA, and EVAL again after SCRIPT FLUSH ---------- */

static void submit(unsigned from, unsigned to)
{
    for (unsigned n = from; n < to; n++) {
        struct pb_sent_record rec;
        sample(&rec, n);
        pb_record_submit(&rec);
    }
}

static void wait_written(unsigned long want)
{
    struct pb_record_stats st;
    gint64 until = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;

    for (;;) {
        pb_record_stats(&st);
        if (st.written >= want)
            break;
        ck_assert_msg(g_get_monotonic_time() < until, "written %lu of %lu (dropped %lu, "
                      "journaled %lu)", st.written, want, st.dropped, st.journaled);
        g_usleep(10000);
    }
    ck_assert_int_eq(st.dropped, 0);
}

START_TEST(test_recorder_survives_script_flush)
{
    struct pb_conf conf;
    redisContext *c = rconnect();
    char err[512] = "", *journal = g_strdup_printf("%s/journal", dir);
    redisReply *r;

    pb_conf_defaults(&conf);
    free(conf.redis.socket);
    conf.redis.socket = strdup(sock);
    free(conf.redis.journal);
    conf.redis.journal = strdup(journal);
    conf.tracker.stream_maxlen = 0;
    conf.tracker.stream_max_age_days = 0;
    ck_assert_msg(pb_record_start(&conf, err, sizeof(err)) == 0, "start: %s", err);

    submit(0, 100);
    wait_written(100);
    r = redisCommand(c, "SCRIPT FLUSH");
    ck_assert_ptr_nonnull(r);
    freeReplyObject(r);
    submit(100, 250);
    wait_written(250);
    pb_record_stop(2000);

    /* live sends went as EVALSHA */
    r = redisCommand(c, "INFO commandstats");
    ck_assert_ptr_nonnull(r);
    ck_assert_msg(r->type == REDIS_REPLY_STRING && strstr(r->str, "cmdstat_evalsha:calls=") != NULL,
                  "no EVALSHA in INFO commandstats");
    freeReplyObject(r);
    /* every record once, none lost to NOSCRIPT */
    ck_assert_int_eq(tr_integer(c, "XLEN pb:events"), 250);
    r = redisCommand(c, "HGET pb:campaign:autumn sent");
    ck_assert_msg(r != NULL && r->type == REDIS_REPLY_STRING && strcmp(r->str, "250") == 0,
                  "campaign sent = %s", r && r->str ? r->str : "(none)");
    freeReplyObject(r);
    pb_conf_free(&conf);
    g_free(journal);
    redisFree(c);
}
END_TEST

static Suite *sent_kept_suite(void)
{
    Suite *s = suite_create("sent_kept");
    TCase *tc = tcase_create("sent");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_length_limit);
    tcase_add_test(tc, test_age_limit_only);
    tcase_add_test(tc, test_both_limits_trim_by_age_sometimes);
    tcase_add_test(tc, test_no_limits_keep_everything);
    tcase_add_test(tc, test_evalsha_form);
    tcase_add_test(tc, test_recorder_survives_script_flush);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr;
    int failed;

    if (!tu_redis_available()) {
        fprintf(stderr, "check_sent_kept: redis-server is not installed: SKIPPING\n");
        return 77;
    }
    sr = srunner_create(sent_kept_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
