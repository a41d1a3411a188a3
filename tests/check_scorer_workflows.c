/*
 * check_scorer_workflows.c - follow-up workflows as a user sees them: a
 * private redis-server, the fake clock, the shipped templates of
 * config/templates and submission through tests/lib/capture-submit.sh,
 * which keeps every message in a folder. Checked: a segment entry starts
 * a workflow whose step is sent after its delay (To, Subject, campaign
 * header); the same entry delivered twice, or a second entry, gives one
 * follow-up; a scorer that died between claim and submission leaves an
 * uncertain step that is not resent; failed conditions, exit events and
 * suppression skip and record; temporary failures are retried, then
 * failed; notify and tag steps; signup and event triggers. Refused
 * definitions: check_scorer_wfconf.c.
 * Part of check_scorer (check_scorer.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include "check_redis.h"
#include "check_scorer.h"
#include "check_scorer_wf.h"
#include "testutil.h"
#include "workflow_run.h"

/* two send steps: the first 2 h after entering mql, while still in it;
 * the second a day after the first; a purchase ends it */
#define FOLLOW "workflows = ( { name = \"follow\"; trigger = { segment = \"mql\"; on = \"enter\"; };" \
    " exit_events = [ \"purchase\" ]; steps = (" \
    " { name = \"first\"; send = \"welcome-1.en.eml\"; delay_hours = 2; if_segment = \"mql\"; }," \
    " { name = \"second\"; send = \"welcome-2.en.eml\"; delay_days = 1; } ); } );"

static void enter_mql(const char *c, long long ts)
{
    g_free(click(c, "00000000000000a1", ts, "https://shop.example.com/"));
}

/* ---- the main path ------------------------------------------------------- */

START_TEST(test_entry_sends_after_delay)
{
    load_with("0", FOLLOW, 1);
    enter_mql("c1", T0);
    run_at(T0);
    ck_assert_int_eq(zscore("pb:wf:due", "c1|follow|first"), T0 + 2 * HOUR_MS);
    assert_status("c1", "follow", "first", "queued");
    ck_assert_int_eq(messages(), 0);
    run_at(T0 + 2 * HOUR_MS - 1);
    ck_assert_int_eq(messages(), 0);
    run_at(T0 + 2 * HOUR_MS);
    ck_assert_int_eq(messages(), 1);
    MESSAGE(1, "To: Anna <anna@example.org>", "Subject: Welcome to Example Shop, Anna!",
            "X-Campaign: follow:first");
    assert_status("c1", "follow", "first", "sent");
    ck_assert_int_eq(logged("first", "sent", NULL, 0), 1);
    ck_assert_int_eq(tr_integer(cc, "HLEN pb:wf:inflight"), 0);
    /* the second step a day after the first was sent, once */
    ck_assert_int_eq(zscore("pb:wf:due", "c1|follow|second"),
                     T0 + 2 * HOUR_MS + DAY_MS);
    run_at(T0 + 2 * HOUR_MS + DAY_MS);
    run_at(T0 + 2 * HOUR_MS + 2 * DAY_MS);
    ck_assert_int_eq(messages(), 2);
    MESSAGE(2, "X-Campaign: follow:second");
    ck_assert_int_eq(tr_integer(cc, "ZCARD pb:wf:due"), 0);
}
END_TEST


START_TEST(test_entry_twice_one_followup)
{
    load_with("0", FOLLOW, 1);
    enter_mql("c1", T0);
    batch_twice();
    ck_assert_int_eq(logged("first", "queued", NULL, 0), 1);
    /* leaving and entering again does not start it again */
    event("refund", "c1", T0 + 1000);
    enter_mql("c1", T0 + 2000);
    run_at(T0 + 3000);
    ck_assert_int_eq(tr_integer(cc, "ZCARD pb:segment:mql"), 1);
    ck_assert_int_eq(tr_integer(cc, "ZCARD pb:wf:due"), 1);
    run_at(T0 + 2 * HOUR_MS);
    run_at(T0 + 3 * HOUR_MS);
    ck_assert_int_eq(messages(), 1);
    ck_assert_int_eq(logged("first", "queued", NULL, 0), 1);
}
END_TEST

/* c1 entered mql at T0; at its step's due time, scorer consumer claims
 * the step and dies before submitting or settling it. */
static void claim_and_die(const char *consumer)
{
    struct pb_scorer s;
    GPtrArray *items = g_ptr_array_new_with_free_func((GDestroyNotify)pb_wf_item_free);
    struct pb_wf_item *it = g_new0(struct pb_wf_item, 1);
    char owner[64];

    load_with("0", FOLLOW, 1);
    enter_mql("c1", T0);
    run_at(T0);
    fake_now = T0 + 2 * HOUR_MS;
    scorer_open(&s, consumer);
    ck_assert_int_eq(pb_wf_item_parse(it, "c1|follow|first", &crules.wf), 0);
    g_ptr_array_add(items, it);
    snprintf(owner, sizeof(owner), "%s %lld", consumer, fake_now);
    ck_assert_int_eq(pb_wf_claim(&s, items, owner), 0);
    ck_assert_int_eq(it->code, 'c');
    ck_assert_ptr_nonnull(pb_wf_item_field(it, "email"));
    g_ptr_array_free(items, TRUE);
    pb_scorer_free(&s);             /* "killed": nothing submitted, nothing settled */
    assert_status("c1", "follow", "first", "inflight");
    ck_assert_int_eq(tr_integer(cc, "HLEN pb:wf:inflight"), 1);
    ck_assert_int_eq(tr_integer(cc, "ZCARD pb:wf:due"), 0);
}

/* At the next start the step is uncertain, listed for the operator, and
 * not sent. */
START_TEST(test_killed_between_claim_and_sent)
{
    char why[300];

    claim_and_die("t1");
    run_at(T0 + 2 * HOUR_MS + 1000);        /* the restart */
    run_at(T0 + 3 * DAY_MS);
    ck_assert_int_eq(messages(), 0);
    assert_status("c1", "follow", "first", "uncertain");
    ck_assert_int_eq(zscore("pb:wf:uncertain", "c1|follow|first"),
                     T0 + 2 * HOUR_MS + 1000);
    ck_assert_int_eq(tr_integer(cc, "HLEN pb:wf:inflight"), 0);
    ck_assert_int_eq(logged("first", "uncertain", why, sizeof(why)), 1);
    assert_has(why, "in flight at t1 ");
    assert_status("c1", "follow", "second", NULL);      /* the operator decides */
}
END_TEST

/* Another scorer's fresh mark is left alone: it may be submitting now. */
START_TEST(test_other_scorers_fresh_mark_left)
{
    claim_and_die("other");
    run_at(T0 + 2 * HOUR_MS + 1000);
    assert_status("c1", "follow", "first", "inflight");
    run_at(T0 + 2 * HOUR_MS + 121000);     /* past 2 x submit.timeout: abandoned */
    assert_status("c1", "follow", "first", "uncertain");
    ck_assert_int_eq(messages(), 0);
}
END_TEST

/* ---- conditions, exits, suppression -------------------------------------- */

START_TEST(test_condition_fails_skipped)
{
    char why[300];

    load_with("0", FOLLOW, 1);
    enter_mql("c1", T0);
    event("refund", "c1", T0 + HOUR_MS);    /* leaves mql before the step is due */
    run_at(T0 + HOUR_MS);
    run_at(T0 + 2 * HOUR_MS);
    ck_assert_int_eq(messages(), 0);
    assert_status("c1", "follow", "first", "skipped");
    ck_assert_int_eq(logged("first", "skipped", why, sizeof(why)), 1);
    ck_assert_str_eq(why, "not in segment mql");
    /* the next step has no condition: it follows */
    run_at(T0 + 2 * HOUR_MS + DAY_MS);
    ck_assert_int_eq(messages(), 1);
    assert_status("c1", "follow", "second", "sent");
}
END_TEST

START_TEST(test_exit_event_ends_workflow)
{
    char why[300];

    load_with("0", FOLLOW, 1);
    enter_mql("c1", T0);
    event("purchase", "c1", T0 + HOUR_MS);
    run_at(T0 + HOUR_MS);
    ck_assert_int_eq(logged("-", "exited", why, sizeof(why)), 1);
    ck_assert_str_eq(why, "event purchase");
    run_at(T0 + 2 * HOUR_MS);
    run_at(T0 + 3 * DAY_MS);
    ck_assert_int_eq(messages(), 0);
    assert_status("c1", "follow", "first", "skipped");
    assert_status("c1", "follow", "second", NULL);
    ck_assert_int_eq(tr_integer(cc, "ZCARD pb:wf:due"), 0);
}
END_TEST

START_TEST(test_suppressed_never_sent)
{
    char why[300];

    load_with("0", FOLLOW, 1);
    enter_mql("c1", T0);
    run_at(T0);
    tr_integer(cc, "SADD pb:suppressed c1");
    run_at(T0 + 2 * HOUR_MS);
    run_at(T0 + 3 * DAY_MS);
    ck_assert_int_eq(messages(), 0);
    assert_status("c1", "follow", "first", "skipped");
    ck_assert_int_eq(logged("first", "skipped", why, sizeof(why)), 1);
    ck_assert_str_eq(why, "suppressed");
    ck_assert_int_eq(tr_integer(cc, "ZCARD pb:wf:due"), 0);
}
END_TEST

/* ---- submission failures -------------------------------------------------- */

START_TEST(test_temporary_retried_then_failed)
{
    char why[300];
    long long due = T0 + 2 * HOUR_MS;

    load_with("75", "workflow_tries = 3; workflow_retry_s = 60; " FOLLOW, 1);
    enter_mql("c1", T0);
    run_at(T0);
    run_at(due);
    ck_assert_int_eq(messages(), 1);
    assert_status("c1", "follow", "first", "queued");
    ck_assert_int_eq(zscore("pb:wf:due", "c1|follow|first"), due + 60000);
    run_at(due + 59999);
    ck_assert_int_eq(messages(), 1);
    run_at(due + 60000);
    ck_assert_int_eq(messages(), 2);
    ck_assert_int_eq(zscore("pb:wf:due", "c1|follow|first"), due + 180000);
    run_at(due + 180000);
    ck_assert_int_eq(messages(), 3);
    assert_status("c1", "follow", "first", "failed");
    ck_assert_int_eq(logged("first", "retry", NULL, 0), 2);
    ck_assert_int_eq(logged("first", "failed", why, sizeof(why)), 1);
    assert_has(why, "(try 3)");
    assert_has(why, "temporary");
    run_at(due + 360000);
    ck_assert_int_eq(messages(), 3);        /* failed is final */
}
END_TEST

START_TEST(test_permanent_failure_not_retried)
{
    load_with("1", FOLLOW, 1);
    enter_mql("c1", T0);
    run_at(T0);
    run_at(T0 + 2 * HOUR_MS);
    run_at(T0 + 3 * HOUR_MS);
    ck_assert_int_eq(messages(), 1);
    assert_status("c1", "follow", "first", "failed");
    ck_assert_int_eq(logged("first", "retry", NULL, 0), 0);
}
END_TEST

/* ---- notify, tags, signup ------------------------------------------------ */

#define HANDOFF "workflows = ( { name = \"mql-handoff\"; trigger = { segment = \"mql\"; " \
    "on = \"enter\"; }; steps = ( { name = \"sales\"; notify = \"sales@example.com\"; " \
    "template = \"mql-handoff.eml\"; }, { name = \"mark\"; tag = \"handed-over\"; } ); } );"

START_TEST(test_mql_handoff_notify_and_tag)
{
    char *tags;

    load_with("0", HANDOFF, 1);
    tr_integer(cc, "HSET pb:contact:c1 tags customer");
    enter_mql("c1", T0);
    run_at(T0);
    ck_assert_int_eq(messages(), 1);
    /* the contact, its score and its history line (time rule points score event) */
    MESSAGE(1, "To: sales@example.com", "New MQL: Anna", "anna@example.org", "score 80.0",
            " click 80 80 ", "X-Campaign: mql-handoff:sales");
    tags = contact_field("c1", "tags");
    ck_assert_str_eq(tags, "customer,handed-over");
    g_free(tags);
    assert_status("c1", "mql-handoff", "mark", "done");
}
END_TEST

#define WELCOME "workflows = ( { name = \"welcome\"; trigger = { signup = true; }; steps = ( " \
    "{ name = \"w1\"; send = \"welcome-1.en.eml\"; } ); } );"

START_TEST(test_signup_starts_welcome)
{
    static const char *const kv[] = { "email", "bo@example.net", "first_name", "Bo", NULL };
    static const char *const imported[] = { "email", "cy@example.net", "source", "import", NULL };
    static const char *const welcomed[] = { "email", "di@example.net", "source", "import",
                                            "p:welcome", "1", NULL };

    load_wf("0", WELCOME);
    g_free(xadd_kv("signup", "c2", T0, kv));
    g_free(xadd_kv("signup", "c2", T0 + 1, kv));    /* a second signup: no second series */
    g_free(xadd_kv("signup", "c3", T0, imported));  /* imported without --welcome: none */
    g_free(xadd_kv("signup", "c4", T0, welcomed));  /* imported with --welcome */
    run_at(T0);
    ck_assert_int_eq(messages(), 2);
    char *first = message(1);
    int bo = strstr(first, "bo@example.net") != NULL ? 1 : 2;
    g_free(first);
    MESSAGE(bo, "To: Bo <bo@example.net>", "Subject: Welcome to Example Shop, Bo!",
            "X-Campaign: welcome:w1");
    MESSAGE(3 - bo, "di@example.net", "X-Campaign: welcome:w1");
}
END_TEST

#define CART "workflows = ( { name = \"cart\"; trigger = { event = \"cart_abandoned\"; }; " \
    "exit_events = [ \"purchase\" ]; steps = ( { name = \"reminder\"; " \
    "send = \"cart-abandoned.en.eml\"; delay_hours = 3; } ); } );"

/* cart_abandoned and no purchase within 3 h: the reminder; with a
 * purchase in between: none. */
START_TEST(test_event_trigger_cart_abandoned)
{
    load_with("0", CART, 2);
    event("cart_abandoned", "c1", T0);
    event("cart_abandoned", "c2", T0);
    event("purchase", "c2", T0 + HOUR_MS);
    run_at(T0 + HOUR_MS);
    run_at(T0 + 3 * HOUR_MS);
    ck_assert_int_eq(messages(), 1);
    MESSAGE(1, "To: Anna <anna@example.org>", "Subject: You left something in your cart",
            "X-Campaign: cart:reminder");
    assert_status("c2", "cart", "reminder", "skipped");
}
END_TEST

#define PRICING "workflows = ( { name = \"pricing\"; trigger = { event = \"click\"; " \
    "url = \"*/PRICING*\"; campaign = \"spring-*\"; }; steps = ( { name = \"offer\"; " \
    "send = \"welcome-1.en.eml\"; } ); } );"

/* An event trigger with URL and campaign patterns: only a human click on
 * a matching URL of a matching campaign starts it. */
START_TEST(test_event_trigger_patterns)
{
    load_with("0", PRICING, 4);
    g_free(xadd("click", "c1", "spring-sale", "00000000000000b1", T0, "human",
                "https://shop.example.com/pricing/"));
    g_free(xadd("click", "c2", "spring-sale", "00000000000000b2", T0, "human",
                "https://shop.example.com/sofas/"));
    g_free(xadd("click", "c3", "autumn", "00000000000000b3", T0, "human",
                "https://shop.example.com/pricing/"));
    g_free(xadd("click", "c4", "spring-sale", "00000000000000b4", T0, "machine",
                "https://shop.example.com/pricing/"));
    run_at(T0);
    ck_assert_int_eq(messages(), 1);
    MESSAGE(1, "To: Anna <anna@example.org>", "X-Campaign: pricing:offer");
    ck_assert_int_eq(tr_integer(cc, "XLEN pb:wf:log"), 2);     /* queued, sent */
}
END_TEST

/* Two workflows on the same entry, at most one follow-up a day: the
 * second waits until the first leaves the period; a failed send gives
 * its place back. */
#define TWO "workflow_cap = 1; workflow_cap_days = 1; workflows = ( " \
    "{ name = \"a\"; trigger = { segment = \"mql\"; on = \"enter\"; }; steps = ( " \
    "{ name = \"one\"; send = \"welcome-1.en.eml\"; } ); }, " \
    "{ name = \"b\"; trigger = { segment = \"mql\"; on = \"enter\"; }; steps = ( " \
    "{ name = \"two\"; send = \"welcome-2.en.eml\"; delay_hours = 1; } ); } );"

START_TEST(test_frequency_cap_defers)
{
    char why[300];

    load_with("0", TWO, 1);
    enter_mql("c1", T0);
    run_at(T0);
    ck_assert_int_eq(messages(), 1);
    run_at(T0 + HOUR_MS);
    ck_assert_int_eq(messages(), 1);
    ck_assert_int_eq(logged("two", "deferred", why, sizeof(why)), 1);
    ck_assert_str_eq(why, "frequency cap");
    assert_status("c1", "b", "two", "queued");
    ck_assert_int_eq(zscore("pb:wf:due", "c1|b|two"), T0 + DAY_MS);
    run_at(T0 + DAY_MS);
    ck_assert_int_eq(messages(), 2);
    MESSAGE(2, "X-Campaign: b:two");
}
END_TEST

START_TEST(test_frequency_cap_failed_send_released)
{
    load_with("1", TWO, 1);
    enter_mql("c1", T0);
    run_at(T0);
    assert_status("c1", "a", "one", "failed");
    run_at(T0 + HOUR_MS);           /* the failed one did not use the day's place */
    ck_assert_int_eq(messages(), 2);
    ck_assert_int_eq(logged("two", "deferred", NULL, 0), 0);
}
END_TEST

#define QUIET "quiet_from = 22; quiet_to = 8; workflows = ( { name = \"w\"; trigger = { " \
    "segment = \"mql\"; on = \"enter\"; }; steps = ( { name = \"now\"; " \
    "send = \"welcome-1.en.eml\"; } ); } );"

/* 08:00 UTC is 03:00 in New York: that contact's mail waits for 08:00
 * there (13:00 UTC); one without a time zone (UTC) gets it at once. */
START_TEST(test_quiet_hours_in_contact_timezone)
{
    char why[300];

    load_with("0", QUIET, 2);
    tr_integer(cc, "HSET pb:contact:c1 timezone America/New_York");
    enter_mql("c1", T0);
    enter_mql("c2", T0);
    run_at(T0);
    ck_assert_int_eq(messages(), 1);
    MESSAGE(1, "To: Ben <ben@example.org>");
    ck_assert_int_eq(logged("now", "deferred", why, sizeof(why)), 1);
    ck_assert_str_eq(why, "quiet hours");
    ck_assert_int_eq(zscore("pb:wf:due", "c1|w|now"), T0 + 5 * HOUR_MS);
    assert_status("c1", "w", "now", "queued");
    run_at(T0 + 5 * HOUR_MS - 1);
    ck_assert_int_eq(messages(), 1);
    run_at(T0 + 5 * HOUR_MS);
    ck_assert_int_eq(messages(), 2);
    MESSAGE(2, "To: Anna <anna@example.org>");
    ck_assert_ptr_null(contact_field("c1", "wft:w|now"));   /* not counted as a try */
}
END_TEST

TCase *workflows_tcase(void)
{
    TCase *tc = tcase_create("workflows");

    tcase_add_checked_fixture(tc, scorer_setup, scorer_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_entry_sends_after_delay);
    tcase_add_test(tc, test_entry_twice_one_followup);
    tcase_add_test(tc, test_killed_between_claim_and_sent);
    tcase_add_test(tc, test_other_scorers_fresh_mark_left);
    tcase_add_test(tc, test_condition_fails_skipped);
    tcase_add_test(tc, test_exit_event_ends_workflow);
    tcase_add_test(tc, test_suppressed_never_sent);
    tcase_add_test(tc, test_temporary_retried_then_failed);
    tcase_add_test(tc, test_permanent_failure_not_retried);
    tcase_add_test(tc, test_mql_handoff_notify_and_tag);
    tcase_add_test(tc, test_signup_starts_welcome);
    tcase_add_test(tc, test_event_trigger_cart_abandoned);
    tcase_add_test(tc, test_event_trigger_patterns);
    tcase_add_test(tc, test_frequency_cap_defers);
    tcase_add_test(tc, test_quiet_hours_in_contact_timezone);
    tcase_add_test(tc, test_frequency_cap_failed_send_released);
    return tc;
}
