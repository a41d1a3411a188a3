/*
 * check_scorer_inert.c - entries that cannot change anything (scorer/
 * inert.c) are only acknowledged: a machine open no rule scores is
 * acknowledged exactly once (and again a duplicate), leaves the contact
 * as it was, and a timed change due before it happens through its
 * wake-up at its own time; a machine event that a rule with class =
 * "machine" or "any" matches is still scored and the contact evaluated;
 * a machine open of a type a workflow exits on still ends the workflow.
 * Part of check_scorer (check_scorer.h).
 */
#include <string.h>
#include <glib.h>
#include "check_redis.h"
#include "check_scorer.h"
#include "check_scorer_wf.h"

#define ACTIVE "half_life_days = 0; segments = ( { name = \"active\"; active_days = 3; } );"

/* The entries not yet read by the group, read by consumer "a". */
static redisReply *read_new(void)
{
    redisReply *r = redisCommand(cc, "XGROUP CREATE pb:events scorer 0");

    freeReplyObject(r);         /* BUSYGROUP is fine */
    r = redisCommand(cc, "XREADGROUP GROUP scorer a COUNT 100 STREAMS pb:events >");
    ck_assert_msg(r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 1, "XREADGROUP");
    return r;
}

/* Field f of the newest <p>segment-log entry (g_free it), NULL if none. */
static char *last_log_field(const char *f)
{
    redisReply *r = redisCommand(cc, "XREVRANGE pb:segment-log + - COUNT 1");
    char *v = NULL;

    ck_assert_msg(r != NULL && r->type == REDIS_REPLY_ARRAY, "XREVRANGE");
    if (r->elements == 1) {
        const redisReply *fields = r->element[0]->element[1];
        for (size_t i = 0; i + 1 < fields->elements; i += 2)
            if (strcmp(fields->element[i]->str, f) == 0)
                v = g_strdup(fields->element[i + 1]->str);
    }
    freeReplyObject(r);
    return v;
}

static void assert_ms(const char *contact, const char *f, long long want)
{
    char *v = contact_field(contact, f);

    ck_assert_msg(v != NULL, "%s of %s is missing", f, contact);
    ck_assert_int_eq(g_ascii_strtoll(v, NULL, 10), want);
    g_free(v);
}

/* A machine open with no rule for it: acknowledged once, nothing else;
 * the activity window that ended before it ends through the wake-up. */
START_TEST(test_machine_open_only_acknowledged)
{
    struct pb_scorer s;
    redisReply *r;
    char *cause;

    load_scorer(ACTIVE, "{ name = \"open\"; event = \"open\"; points = 1; }");
    g_free(open_ev("c1", "00000000000000a1", T0 - DAY_MS));
    drain_as("a");
    assert_ms("c1", "seg:active", T0 - DAY_MS);
    ck_assert_int_eq(zscore("pb:wake", "c1"), T0 + 2 * DAY_MS);

    fake_now = T0 + 2 * DAY_MS + HOUR_MS;
    g_free(xadd("open", "c1", "spring-sale", "00000000000000a2", fake_now - 1000, "machine",
                NULL));
    r = read_new();
    scorer_open(&s, "a");
    ck_assert_int_eq(pb_scorer_batch(&s, r->element[0]->element[1]), 0);
    ck_assert_int_eq(s.stats.done, 1);
    ck_assert_int_eq(s.stats.scored, 0);
    ck_assert_int_eq(pending_count(), 0);
    /* the contact as it was: still a member, the same wake-up, one log entry */
    assert_ms("c1", "seg:active", T0 - DAY_MS);
    assert_ms("c1", "score", 1);
    ck_assert_int_eq(zscore("pb:wake", "c1"), T0 + 2 * DAY_MS);
    ck_assert_int_eq(tr_integer(cc, "XLEN pb:segment-log"), 1);
    /* delivered again: a duplicate, acknowledged before */
    ck_assert_int_eq(pb_scorer_batch(&s, r->element[0]->element[1]), 0);
    ck_assert_int_eq(s.stats.done, 1);
    ck_assert_int_eq(s.stats.duplicates, 1);
    freeReplyObject(r);

    /* the wake-up ends the window at its own time */
    ck_assert_int_eq(pb_scorer_drain(&s), 0);
    ck_assert_int_eq(s.stats.wakes, 1);
    ck_assert_int_eq(zscore("pb:segment:active", "c1"), -1);
    ck_assert_int_eq(zscore("pb:wake", "c1"), -1);        /* nothing more to wake up for */
    ck_assert_ptr_null(contact_field("c1", "wake"));
    ck_assert_int_eq(tr_integer(cc, "XLEN pb:segment-log"), 2);
    cause = last_log_field("cause");
    ck_assert_str_eq(cause, "wake");
    g_free(cause);
    cause = last_log_field("at");
    ck_assert_int_eq(g_ascii_strtoll(cause, NULL, 10), T0 + 2 * DAY_MS);
    g_free(cause);
    pb_scorer_free(&s);
}
END_TEST

/* Rules with class = "machine" and "any" score machine events, which are
 * then not inert: scored, in the history, the contact evaluated. */
START_TEST(test_machine_events_scored_by_their_rules)
{
    struct pb_sc_stats st;

    load_scorer("half_life_days = 0; score_floor = -10;"
                " segments = ( { name = \"active\"; active_days = 3; },"
                " { name = \"low\"; behaviour_below = 5; } );",
                "{ name = \"scanner\"; event = \"click\"; class = \"machine\"; points = -1; },"
                "{ name = \"proxy\"; event = \"open\"; class = \"any\"; points = 2; }");
    g_free(xadd("click", "c1", "spring-sale", "00000000000000a1", T0 - 2000, "machine",
                "https://shop.example.com/"));
    g_free(xadd("open", "c1", "spring-sale", "00000000000000a1", T0 - 1000, "machine", NULL));
    g_free(xadd("open", "c2", "spring-sale", "00000000000000a2", T0 - 1000, "machine", NULL));
    st = drain_as("a");
    ck_assert_int_eq(st.done, 3);
    ck_assert_int_eq(st.scored, 3);
    ck_assert_int_eq(pending_count(), 0);
    ck_assert_double_eq_tol(stored_score("c1"), 1, 1e-9);
    ck_assert_double_eq_tol(stored_score("c2"), 2, 1e-9);
    ck_assert_int_eq(history_len("c1"), 2);
    /* evaluated: in "low" (score < 5), not "active" (machine activity) */
    ck_assert_int_eq(zscore("pb:segment:low", "c1"), T0 - 2000);
    ck_assert_int_eq(zscore("pb:segment:low", "c2"), T0 - 1000);
    ck_assert_int_eq(zscore("pb:segment:active", "c1"), -1);
}
END_TEST

/* A machine open no rule scores, of a type a workflow exits on: not
 * inert, it ends the workflow (an exit does not look at the class). */
START_TEST(test_machine_open_of_an_exit_event)
{
    char why[200];

    load_with("0", "workflows = ( { name = \"nudge\"; trigger = { event = \"sent\"; };"
              " exit_events = [ \"open\" ]; steps = ( { name = \"n1\";"
              " send = \"welcome-1.en.eml\"; delay_days = 2; } ); } );", 1);
    event("sent", "c1", T0);
    run_at(T0 + 1000);
    assert_status("c1", "nudge", "n1", "queued");
    g_free(xadd("open", "c1", "shop", "00000000000000aa", T0 + 2000, "machine", NULL));
    run_at(T0 + 3000);
    ck_assert_int_eq(pending_count(), 0);
    assert_ms("c1", "wfx:nudge", T0 + 2000);
    ck_assert_int_eq(logged("-", "exited", why, sizeof(why)), 1);
    ck_assert_str_eq(why, "event open");
    run_at(T0 + 2 * DAY_MS);
    ck_assert_int_eq(messages(), 0);
    assert_status("c1", "nudge", "n1", "skipped");
}
END_TEST

TCase *inert_tcase(void)
{
    TCase *tc = tcase_create("inert");

    tcase_add_checked_fixture(tc, scorer_setup, scorer_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_machine_open_only_acknowledged);
    tcase_add_test(tc, test_machine_events_scored_by_their_rules);
    tcase_add_test(tc, test_machine_open_of_an_exit_event);
    return tc;
}
