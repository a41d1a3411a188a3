/*
 * check_campaign_send.c - the campaign sends of lib/ (campaign_send*.c):
 * the winner of an A/B test (the best rate of unique human clicks or
 * opens per test mail; a tie decided by the other measure, then by the
 * first letter; a variant without mails; the decision line's figures),
 * campaign names and shares, times as --at reads them; and against a real redis-server the job's
 * lease: a second runner is refused while the first holds it, takes it
 * when it is given back, and one whose lease ran out leaves its member
 * in flight as uncertain to the next runner, which sends everyone else
 * (through tests/lib/capture-submit.sh) and never that member; a
 * temporary failure of the MTA releases the member and asks to wait
 * scorer.workflow_retry_s, and after scorer.workflow_tries it fails.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <check.h>
#include <hiredis/hiredis.h>
#include "campaign_send.h"
#include "events.h"
#include "time_text.h"
#include "testutil.h"

#define CAPTURE TESTS_DIR "/lib/capture-submit.sh"

static struct pb_csend_spec ab(int n, int by_opens)
{
    struct pb_csend_spec s = { .nvariants = n, .winner_by_opens = by_opens };

    for (int i = 0; i < n; i++)
        s.var[i].letter[0] = (char)('a' + i);
    return s;
}

static int winner(const struct pb_csend_spec *s, const long long *sent, const long long *by,
                  const long long *other, GString *line)
{
    return pb_csend_winner(s, sent, by, other, line);
}

START_TEST(test_winner_by_rate)
{
    struct pb_csend_spec s = ab(2, 0);
    const long long sent[] = { 120, 120 }, clicks[] = { 14, 9 }, opens[] = { 1, 90 };
    GString *line = g_string_new(NULL);

    ck_assert_int_eq(winner(&s, sent, clicks, opens, line), 0);
    ck_assert_str_eq(line->str, "a: 14 unique human clicks of 120 sent (11.7%); b: 9 of 120 "
                     "(7.5%); a wins");
    /* more clicks, but fewer per mail */
    const long long sent2[] = { 100, 10 }, clicks2[] = { 20, 3 };
    ck_assert_int_eq(winner(&s, sent2, clicks2, opens, line), 1);
    g_string_free(line, TRUE);
}
END_TEST

START_TEST(test_winner_ties)
{
    struct pb_csend_spec s = ab(3, 1);
    const long long sent[] = { 10, 20, 10 }, opens[] = { 2, 4, 1 }, clicks[] = { 1, 3, 9 };
    GString *line = g_string_new(NULL);

    /* a and b both open at 20 %: b has the better click rate */
    ck_assert_int_eq(winner(&s, sent, opens, clicks, line), 1);
    ck_assert_msg(strstr(line->str, "a and b tie, so by unique human clicks: a 1 (10.0%), b 3 "
                         "(15.0%); b wins") != NULL, "%s", line->str);
    /* nothing at all: the first letter */
    const long long zero[] = { 0, 0, 0 };
    ck_assert_int_eq(winner(&s, sent, zero, zero, line), 0);
    ck_assert_msg(strstr(line->str, "a, b and c tie") && strstr(line->str, "a tie again, so "
                         "the first letter; a wins"), "%s", line->str);
    g_string_free(line, TRUE);
}
END_TEST

START_TEST(test_winner_without_mails)
{
    struct pb_csend_spec s = ab(2, 0);
    const long long sent[] = { 0, 5 }, clicks[] = { 3, 1 }, opens[] = { 0, 0 };
    GString *line = g_string_new(NULL);

    /* a variant nobody got has no rate, whatever its campaign counts */
    ck_assert_int_eq(winner(&s, sent, clicks, opens, line), 1);
    ck_assert_msg(strstr(line->str, "a: 3 unique human clicks of 0 sent (0.0%)") != NULL, "%s",
                  line->str);
    g_string_free(line, TRUE);
}
END_TEST

START_TEST(test_names_and_shares)
{
    char why[256], text[16];

    ck_assert_int_eq(pb_csend_name_check("spring-sale_2026", why, sizeof(why)), 0);
    ck_assert_int_eq(pb_csend_name_check("Spring", why, sizeof(why)), -1);
    ck_assert_int_eq(pb_csend_name_check("a:b", why, sizeof(why)), -1);
    ck_assert_int_eq(pb_csend_name_check("", why, sizeof(why)), -1);
    ck_assert_int_eq(pb_csend_name_check("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                                         why, sizeof(why)), -1);     /* 63 */
    pb_csend_share_text(2000, text);
    ck_assert_str_eq(text, "20");
    pb_csend_share_text(1250, text);
    ck_assert_str_eq(text, "12.5");
    pb_csend_share_text(1, text);
    ck_assert_str_eq(text, "0.01");
}
END_TEST

static long long at(const char *text)
{
    char why[256];
    long long ms = -1;

    if (pb_time_parse(text, &ms, why, sizeof(why)) != 0)
        return -1;
    return ms;
}

START_TEST(test_times)
{
    const long long t = 1906531200000LL;      /* 2030-06-01 08:00:00Z */
    char text[32];

    ck_assert_int_eq(at("2030-06-01T10:00+02:00"), t);
    ck_assert_int_eq(at("2030-06-01 08:00Z"), t);
    ck_assert_int_eq(at("2030-06-01T08:00:00Z"), t);
    ck_assert_int_eq(at("2030-06-01T09:30:15+01:30"), t + 15000);
    ck_assert_int_eq(at("2030-06-01T08:00"), t);       /* TZ=UTC: local time */
    ck_assert_int_eq(at("2030-06-01"), -1);
    ck_assert_int_eq(at("tomorrow at nine"), -1);
    ck_assert_int_eq(at("2030-13-01T08:00"), -1);
    pb_time_text(t + 999, text);
    ck_assert_str_eq(text, "2030-06-01 08:00:00Z");
}
END_TEST

/* ---- against Redis ------------------------------------------------------------ */

static char dir[512], sock[600], mail[600], cmd[1200];
static int redis_pid;
static redisContext *c;
static struct pb_conf conf;
static GPtrArray *uncertain_seen;

static long long now(void)
{
    return pb_event_now_ms();
}

static void note(void *arg, enum pb_csend_event ev, const char *contact, const char *email,
                 const char *why)
{
    (void)arg; (void)email; (void)why;
    if (ev == PB_CSEND_EV_UNCERTAIN)
        g_ptr_array_add(uncertain_seen, g_strdup(contact));
}

static void setup(void)
{
    char tpl[700];
    const char *text = "From: Shop <news@example.com>\nSubject: Hi {{first_name}}\n"
                       "Content-Type: text/plain; charset=utf-8\n\nHello {{first_name}}\n";
    struct pb_csend_spec spec = { .template = tpl, .segment = "s" };
    char why[256];

    signal(SIGPIPE, SIG_IGN);
    snprintf(dir, sizeof(dir), "%s", tu_tmpdir());
    snprintf(sock, sizeof(sock), "%s/redis.sock", dir);
    snprintf(mail, sizeof(mail), "%s/mail", dir);
    snprintf(tpl, sizeof(tpl), "%s/t.eml", dir);
    ck_assert_int_eq(mkdir(mail, 0700), 0);
    ck_assert_int_eq(tu_write_file(tpl, text, strlen(text)), 0);
    redis_pid = tu_redis_start(sock);
    ck_assert_int_gt(redis_pid, 0);
    c = redisConnectUnix(sock);
    ck_assert(c != NULL && c->err == 0);
    pb_conf_defaults(&conf);
    snprintf(cmd, sizeof(cmd), CAPTURE " %s 0 0 -f ${sender} -- ${recipient}", mail);
    g_free(conf.submit.command);
    conf.submit.command = g_strdup(cmd);
    for (int i = 0; i < 5; i++) {
        freeReplyObject(redisCommand(c, "ZADD pb:segment:s 1 c%d", i));
        freeReplyObject(redisCommand(c, "HSET pb:contact:c%d email u%d@example.com first_name N%d",
                                     i, i, i));
    }
    ck_assert_int_eq(pb_csend_create(c, "pb:", "spring", &spec, now(), why, sizeof(why)), 1);
    ck_assert_int_eq(pb_csend_create(c, "pb:", "spring", &spec, now(), why, sizeof(why)), 0);
    uncertain_seen = g_ptr_array_new_with_free_func(g_free);
}

static void teardown(void)
{
    g_ptr_array_free(uncertain_seen, TRUE);
    pb_conf_free(&conf);
    redisFree(c);
    tu_redis_stop(redis_pid);
}

static struct pb_csend *open_as(const char *runner, enum pb_csend_status *st, char *why,
                                size_t whylen)
{
    struct pb_csend_env env = { .c = c, .conf = &conf, .runner = runner, .now_ms = now,
                                .note = note };
    long long until;

    return pb_csend_open(&env, "spring", st, &until, why, whylen);
}

static long long hlen(const char *key)
{
    redisReply *r = redisCommand(c, "HLEN %s", key);
    long long n = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;

    freeReplyObject(r);
    return n;
}

static char *hget(const char *key, const char *field)
{
    redisReply *r = redisCommand(c, "HGET %s %s", key, field);
    char *v = r && r->type == REDIS_REPLY_STRING ? g_strdup(r->str) : NULL;

    freeReplyObject(r);
    return v;
}

START_TEST(test_lease_one_runner_at_a_time)
{
    enum pb_csend_status st;
    char why[512];
    struct pb_csend *a = open_as("scorer a", &st, why, sizeof(why)), *b;

    ck_assert_msg(a != NULL, "%s", why);
    ck_assert_int_eq(pb_csend_job(a)->members, 5);
    b = open_as("scorer b", &st, why, sizeof(why));
    ck_assert_ptr_null(b);
    ck_assert_int_eq(st, PB_CSEND_WAIT);
    ck_assert_msg(strstr(why, "is being sent by scorer a") != NULL, "%s", why);
    pb_csend_close(a);
    b = open_as("scorer b", &st, why, sizeof(why));
    ck_assert_msg(b != NULL, "%s", why);
    pb_csend_close(b);
}
END_TEST

START_TEST(test_lost_runner_leaves_uncertain)
{
    enum pb_csend_status st;
    long long until;
    long handled;
    char why[512], *v;
    struct pb_csend *b;

    /* runner a died while submitting to c2 and its lease ran out */
    freeReplyObject(redisCommand(c, "HSET pb:send:spring state sending started_at %lld members 5 "
                                 "runner %s lease_until %lld inflight c2", now(), "scorer a",
                                 now() - 1));
    freeReplyObject(redisCommand(c, "HSET pb:send:spring:to c2 %s", "claimed - 1"));
    b = open_as("scorer b", &st, why, sizeof(why));
    ck_assert_msg(b != NULL, "%s", why);
    ck_assert_int_eq(uncertain_seen->len, 1);
    ck_assert_str_eq(uncertain_seen->pdata[0], "c2");
    ck_assert_int_eq(pb_csend_run(b, 0, 0, &until, &handled, why, sizeof(why)), PB_CSEND_DONE);
    ck_assert_int_eq(pb_csend_job(b)->sent, 4);
    ck_assert_int_eq(pb_csend_job(b)->uncertain, 1);
    pb_csend_close(b);
    v = hget("pb:send:spring:to", "c2");
    ck_assert_msg(v && strncmp(v, "uncertain - ", 12) == 0, "%s", v ? v : "(none)");
    g_free(v);
    v = hget("pb:send:spring", "uncertain_ids");
    ck_assert_str_eq(v, "c2");
    g_free(v);
    /* four messages, none to u2 */
    for (int i = 1; i <= 5; i++) {
        char path[700], *m;
        snprintf(path, sizeof(path), "%s/%d.eml", mail, i);
        m = tu_read_file(path, NULL);
        ck_assert_msg((m != NULL) == (i <= 4), "message %d", i);
        ck_assert(m == NULL || strstr(m, "u2@example.com") == NULL);
        free(m);
    }
}
END_TEST

START_TEST(test_temporary_failure_retried_then_failed)
{
    enum pb_csend_status st;
    long long until, t;
    long handled;
    char why[512], *v, fail_cmd[1200];
    struct pb_csend *j;

    /* the MTA says "try later" (exit 75) every time; two tries per member */
    snprintf(fail_cmd, sizeof(fail_cmd), CAPTURE " %s 75 0 -f ${sender} -- ${recipient}", mail);
    g_free(conf.submit.command);
    conf.submit.command = g_strdup(fail_cmd);
    conf.scorer.workflow_tries = 2;
    conf.scorer.workflow_retry_s = 7;
    j = open_as("scorer a", &st, why, sizeof(why));
    ck_assert_msg(j != NULL, "%s", why);
    t = now();
    ck_assert_int_eq(pb_csend_run(j, 0, 0, &until, &handled, why, sizeof(why)), PB_CSEND_WAIT);
    ck_assert_int_ge(until, t + 7000);
    ck_assert_msg(strstr(why, "exited 75") != NULL, "%s", why);
    /* released: no mark, nothing counted, nothing in flight */
    ck_assert_int_eq(hlen("pb:send:spring:to"), 0);
    ck_assert_int_eq(pb_csend_job(j)->failed, 0);
    ck_assert_ptr_null(v = hget("pb:send:spring", "inflight"));
    /* the second try of the same member fails it for good; the next waits */
    ck_assert_int_eq(pb_csend_run(j, 0, 0, &until, &handled, why, sizeof(why)), PB_CSEND_WAIT);
    ck_assert_int_eq(pb_csend_job(j)->failed, 1);
    ck_assert_int_eq(hlen("pb:send:spring:to"), 1);
    v = hget("pb:send:spring", "failed");
    ck_assert_str_eq(v, "1");
    g_free(v);
    pb_csend_close(j);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("campaign_send");
    TCase *ab_tc = tcase_create("winner"), *tc = tcase_create("redis");
    SRunner *sr;
    int failed;

    setenv("TZ", "UTC", 1);
    tcase_add_test(ab_tc, test_winner_by_rate);
    tcase_add_test(ab_tc, test_winner_ties);
    tcase_add_test(ab_tc, test_winner_without_mails);
    tcase_add_test(ab_tc, test_names_and_shares);
    tcase_add_test(ab_tc, test_times);
    suite_add_tcase(s, ab_tc);
    if (tu_redis_available()) {
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_lease_one_runner_at_a_time);
        tcase_add_test(tc, test_lost_runner_leaves_uncertain);
        tcase_add_test(tc, test_temporary_failure_retried_then_failed);
        suite_add_tcase(s, tc);
    } else
        fprintf(stderr, "check_campaign_send: redis-server is not installed; the Redis tests "
                "are skipped\n");
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
