/*
 * check_scorer_variants.c - A/B variants of a workflow's send step and
 * the global send rate, as a user sees them: a private redis-server, the
 * fake clock, the shipped templates and submission through
 * tests/lib/capture-submit.sh. Checked: 400 contacts split by the shares
 * (within sampling error), each contact the same variant on every try
 * and in every scorer, with its campaign header, subject or template,
 * recorded in the contact hash and the follow-up log; a variant's
 * subject is a header like a template's (placeholders, defaults, no
 * header injection); submit.rate = 5 lets at most 5 + 5/s follow-ups
 * out, none twice, all in the end, the rest logged as deferred, also
 * when two scorers share the rate. Refused definitions:
 * check_scorer_wfconf.c. Part of check_scorer (check_scorer.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include "check_redis.h"
#include "check_scorer.h"
#include "check_scorer_wf.h"
#include "split.h"
#include "testutil.h"
#include "workflow_run.h"

#define SUBJECT_A "20 % off for you, {{first_name|friend}}"
/* cart_abandoned starts "offer": its step "mail" is welcome-1 with the
 * subject of SUBJECT_A for 30 %, welcome-2 for the other 70 % */
#define OFFER(delay) "workflows = ( { name = \"offer\"; trigger = { event = \"cart_abandoned\"; };" \
    " steps = ( { name = \"mail\"; send = \"welcome-1.en.eml\"; " delay " variants = (" \
    " { name = \"a\"; share = 30; subject = \"" SUBJECT_A "\"; }," \
    " { name = \"b\"; share = 70; send = \"welcome-2.en.eml\"; } ); } ); } );"
#define WELCOME2_SUBJECT "Subject: Delivery and returns, made simple"

static char ids[400][17];

/* Contacts 0..n-1: id (16 hex, as pb_contact_id makes them), pNNN@example.org, PNNN. */
static void contacts(int n)
{
    for (int i = 0; i < n; i++) {
        snprintf(ids[i], sizeof(ids[i]), "%016llx",
                 (unsigned long long)(i + 1) * 0x9e3779b97f4a7c15ULL);
        redisAppendCommand(cc, "HSET pb:contact:%s email p%03d@example.org first_name P%03d",
                           ids[i], i, i);
    }
    for (int i = 0; i < n; i++) {
        redisReply *r = NULL;
        ck_assert_int_eq(redisGetReply(cc, (void **)&r), REDIS_OK);
        freeReplyObject(r);
    }
}

static void abandon(const char *cid, long long ts)
{
    g_free(xadd("cart_abandoned", cid, "shop", "00000000000000aa", ts, NULL, NULL));
}

/* n contacts abandon their carts at T0; scorer s1 runs then. */
static void start_offer(int n)
{
    contacts(n);
    for (int i = 0; i < n; i++)
        abandon(ids[i], T0);
    fake_now = T0;
    drain_as("s1");
}

/* The value of header name in message text ("" when missing; g_free it). */
static char *header(const char *text, const char *name)
{
    char *want = g_strdup_printf("\n%s: ", name), *at = strstr(text, want), *end;
    char *v;

    if (at == NULL) {
        g_free(want);
        return g_strdup("");
    }
    at += strlen(want);
    end = strchr(at, '\n');
    v = g_strndup(at, end ? (size_t)(end - at) : strlen(at));
    g_free(want);
    return v;
}

/* The contact number a message went to (its To pNNN@example.org). */
static int recipient(const char *text)
{
    char *to = header(text, "To"), *at = strstr(to, "<p");
    int n = at ? atoi(at + 2) : -1;

    g_free(to);
    ck_assert_msg(n >= 0 && n < 400, "no contact in To of:\n%.300s", text);
    return n;
}

/* The variant split computes for contact cid: what reports and other
 * senders can compute again from the documented salt. */
static char expected_variant(const char *cid)
{
    return pb_split_bucket("offer|mail", cid) < 3000 ? 'a' : 'b';
}

/* Every entry of pb:wf:log of step mail with status names the
 * variant the contact's hash records; their number. */
static int logged_with_variant(const char *status)
{
    redisReply *r = redisCommand(cc, "XRANGE pb:wf:log - +");
    int n = 0;

    ck_assert_msg(r != NULL && r->type == REDIS_REPLY_ARRAY, "XRANGE pb:wf:log");
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *f = r->element[i]->element[1];
        const char *stat = "", *var = NULL, *cid = "";
        for (size_t j = 0; j + 1 < f->elements; j += 2) {
            if (strcmp(f->element[j]->str, "status") == 0) stat = f->element[j + 1]->str;
            if (strcmp(f->element[j]->str, "variant") == 0) var = f->element[j + 1]->str;
            if (strcmp(f->element[j]->str, "contact") == 0) cid = f->element[j + 1]->str;
        }
        if (strcmp(stat, status) != 0)
            continue;
        char *stored = contact_field(cid, "wfv:offer|mail");
        ck_assert_msg(var != NULL && stored != NULL && strcmp(var, stored) == 0,
                      "%s entry of %s names variant %s, the contact %s", status, cid,
                      var ? var : "(none)", stored ? stored : "(none)");
        g_free(stored);
        n++;
    }
    freeReplyObject(r);
    return n;
}

/* Messages from first to the last captured: each one's variant (from
 * its campaign header, checked against its subject) by contact. */
static void variants_sent(int first, char by_contact[400])
{
    for (int i = first; i <= messages(); i++) {
        char *m = message(i), *campaign = header(m, "X-Campaign");
        int c = recipient(m);
        char v = strcmp(campaign, "offer:mail:a") == 0 ? 'a'
               : strcmp(campaign, "offer:mail:b") == 0 ? 'b' : '?';
        char subject_a[64];

        ck_assert_msg(v != '?', "message %d: campaign %s", i, campaign);
        snprintf(subject_a, sizeof(subject_a), "Subject: 20 %% off for you, P%03d\n", c);
        assert_has(m, v == 'a' ? subject_a : WELCOME2_SUBJECT);
        by_contact[c] = v;
        g_free(campaign);
        g_free(m);
    }
}

/* 400 contacts, shares 30/70: each variant within 4 standard deviations
 * of its share; the first try (temporarily refused) by one scorer and
 * the retry by another, after a restart, give each contact the same
 * variant, the one its hash and the log record. */
START_TEST(test_split_and_same_variant_every_time)
{
    char first[400] = { 0 }, second[400] = { 0 };
    int na = 0;
    double sd = sqrt(400 * 0.3 * 0.7);

    load_wf_with("75", "", "half_life_days = 0; workflow_tries = 2; workflow_retry_s = 60; "
                 OFFER(""), "");
    start_offer(400);
    ck_assert_int_eq(messages(), 400);
    variants_sent(1, first);
    fake_now = T0 + 60000;
    drain_as("s2");
    ck_assert_int_eq(messages(), 800);
    variants_sent(401, second);
    for (int i = 0; i < 400; i++) {
        char *stored = contact_field(ids[i], "wfv:offer|mail");
        ck_assert_msg(first[i] == second[i], "contact %d: variant %c, then %c", i, first[i],
                      second[i]);
        ck_assert_int_eq(first[i], expected_variant(ids[i]));
        ck_assert_msg(stored != NULL && stored[0] == first[i] && stored[1] == '\0',
                      "contact %d: wfv %s, sent %c", i, stored ? stored : "(none)", first[i]);
        g_free(stored);
        na += first[i] == 'a';
    }
    ck_assert_msg(fabs(na - 120.0) <= 4 * sd, "variant a went to %d of 400, share 30 %%", na);
    ck_assert_int_eq(logged_with_variant("retry"), 400);
    ck_assert_int_eq(logged_with_variant("failed"), 400);
}
END_TEST

/* Contact ids whose variant is want, made up until n are found. */
static void ids_for(char want, int n, char out[][17])
{
    for (unsigned k = 1, found = 0; found < (unsigned)n; k++) {
        char id[17];
        snprintf(id, sizeof(id), "%016x", k * 2654435761u);
        if (expected_variant(id) == want)
            memcpy(out[found++], id, sizeof(id));
    }
}

/* A variant's subject is rendered like the template's: a placeholder's
 * default, a line break in a value a space (no header of its own), a
 * name that is not ASCII RFC 2047-encoded; variant b keeps its
 * template's subject. Sent: the log and the hash name the variant. */
START_TEST(test_variant_subject_is_a_safe_header)
{
    char a[3][17], b[1][17];
    char *m;

    load_wf_with("0", "", "half_life_days = 0; " OFFER(""), "");
    ids_for('a', 3, a);
    ids_for('b', 1, b);
    tr_integer(cc, "HSET pb:contact:%s email x1@example.org first_name %s", a[0],
               "Max\r\nBcc: evil@example.net");
    tr_integer(cc, "HSET pb:contact:%s email x2@example.org", a[1]);
    tr_integer(cc, "HSET pb:contact:%s email x3@example.org first_name J\xc3\xbcrgen", a[2]);
    tr_integer(cc, "HSET pb:contact:%s email x4@example.org first_name Bo", b[0]);
    for (int i = 0; i < 3; i++)
        abandon(a[i], T0);
    abandon(b[0], T0);
    fake_now = T0;
    drain_as("s1");
    ck_assert_int_eq(messages(), 4);
    for (int i = 1; i <= 4; i++) {
        char *to;
        m = message(i);
        to = header(m, "To");
        *strstr(m, "\n\n") = '\0';       /* the headers */
        ck_assert_msg(strstr(m, "\nBcc:") == NULL, "a Bcc header in:\n%.500s", m);
        if (strstr(to, "x1@"))
            assert_has(m, "Subject: 20 % off for you, Max Bcc: evil@example.net\n");
        else if (strstr(to, "x2@"))
            assert_has(m, "Subject: 20 % off for you, friend\n");
        else if (strstr(to, "x3@"))
            assert_has(m, "Subject: 20 % off for you, =?UTF-8?");  /* not ASCII: RFC 2047 */
        else {
            assert_has(m, WELCOME2_SUBJECT);
            assert_has(m, "X-Campaign: offer:mail:b");
        }
        if (!strstr(to, "x4@"))
            assert_has(m, "X-Campaign: offer:mail:a");
        g_free(to);
        g_free(m);
    }
    ck_assert_int_eq(logged_with_variant("sent"), 4);
    assert_status(a[0], "offer", "mail", "sent");
}
END_TEST

/* ---- the send rate --------------------------------------------------------- */

/* The rate's key expires in Redis' own (real) time, the scorer's clock
 * is the test's: keep the key for the test, which changes no grant
 * (an absent key and one in the past grant the same). */
static void keep_rate_key(void)
{
    tr_integer(cc, "PEXPIRE pb:send-rate 3600000");
}

/* At most 5 at once and 5 a second after start. */
static void assert_within_rate(long long start)
{
    long long allowed = 5 + 5 * (fake_now - start) / 1000;

    ck_assert_msg(messages() <= allowed, "%d follow-ups sent %lld ms after the first were due, "
                  "the rate allows %lld", messages(), fake_now - start, allowed);
}

/* Each of the n contacts got exactly one message, and its step is sent. */
static void assert_each_once(int n)
{
    int got[400] = { 0 };

    for (int i = 1; i <= messages(); i++) {
        char *m = message(i);
        got[recipient(m)]++;
        g_free(m);
    }
    for (int i = 0; i < n; i++) {
        ck_assert_msg(got[i] == 1, "contact %d got %d messages", i, got[i]);
        assert_status(ids[i], "offer", "mail", "sent");
    }
}

/* 20 steps due at once, submit.rate = 5: 5 at once, then one every
 * 200 ms; the others are deferred, logged once each, not tries. */
START_TEST(test_send_rate_paces_followups)
{
    char why[300];

    load_wf_with("0", "rate = 5;", "half_life_days = 0; " OFFER(""), "");
    start_offer(20);
    keep_rate_key();
    assert_within_rate(T0);
    for (fake_now = T0 + 100; fake_now <= T0 + 5000; fake_now += 100) {
        drain_as("s1");
        keep_rate_key();
        assert_within_rate(T0);
    }
    ck_assert_int_eq(messages(), 20);
    assert_each_once(20);
    ck_assert_int_eq(logged("mail", "deferred", why, sizeof(why)), 15);
    ck_assert_str_eq(why, "send rate");
    ck_assert_int_eq(tr_integer(cc, "HLEN pb:wf:inflight"), 0);
    for (int i = 0; i < 20; i++)
        ck_assert_ptr_null(contact_field(ids[i], "wft:offer|mail"));
}
END_TEST

/* Two scorers, 10 steps a round each: the second finds the rate used
 * by the first; together they stay within it, and every step goes
 * once. */
START_TEST(test_send_rate_shared_by_two_scorers)
{
    struct pb_scorer s1, s2;
    long long due = T0 + 60000;

    load_wf_with("0", "rate = 5;", "half_life_days = 0; batch = 10; "
                 OFFER("delay_minutes = 1;"), "");
    start_offer(20);                /* started; nothing due yet */
    ck_assert_int_eq(tr_integer(cc, "ZCARD pb:wf:due"), 20);
    scorer_open(&s1, "s1");
    scorer_open(&s2, "s2");
    fake_now = due;
    ck_assert_int_eq(pb_wf_run(&s1), 10);
    ck_assert_int_eq(messages(), 5);
    ck_assert_int_eq(pb_wf_run(&s2), 10);
    ck_assert_int_eq(messages(), 5);        /* alone, it would have sent 5 more */
    for (; fake_now <= due + 20000 && messages() < 20; fake_now += 100) {
        s1.wf_check_ms = s2.wf_check_ms = 0;
        ck_assert_int_ge(pb_wf_run(&s1), 0);
        ck_assert_int_ge(pb_wf_run(&s2), 0);
        keep_rate_key();
        assert_within_rate(due);
    }
    pb_scorer_free(&s1);
    pb_scorer_free(&s2);
    ck_assert_int_eq(messages(), 20);
    assert_each_once(20);
    ck_assert_int_ge(logged("mail", "deferred", NULL, 0), 15);
}
END_TEST

TCase *variants_tcase(void)
{
    TCase *tc = tcase_create("variants");

    tcase_add_checked_fixture(tc, scorer_setup, scorer_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_split_and_same_variant_every_time);
    tcase_add_test(tc, test_variant_subject_is_a_safe_header);
    tcase_add_test(tc, test_send_rate_paces_followups);
    tcase_add_test(tc, test_send_rate_shared_by_two_scorers);
    return tc;
}
