/*
 * check_scorer_rules.c - what each scoring rule does, as a user would
 * check it in Redis after the scorer ran: points per event type, campaign
 * and URL patterns, the class filter, every repeat policy, negative
 * points with floor and cap, decay over simulated days, the score
 * history, and rules that are refused with the file, line and fix. Part
 * of check_scorer (see check_scorer.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include "check_redis.h"
#include "check_scorer.h"
#include "score.h"
#include "testutil.h"

#define NO_DECAY "half_life_days = 0;"

static void drain(void)
{
    drain_as("t1");
}

/* Events are added one statement at a time: C leaves the order of a
 * call's arguments open. */
static void add(char *id)
{
    g_free(id);
}

START_TEST(test_points_per_event_type)
{
    char *h;

    load_scorer(NO_DECAY, "{ name = \"open\"; event = \"open\"; points = 2; },"
                          "{ name = \"click\"; event = \"click\"; points = 5; }");
    add(open_ev("c1", "m1", T0 - 2000));
    add(open_ev("c1", "m1", T0 - 1000));
    add(click("c1", "m1", T0, "https://shop.example.com/"));
    drain();
    ck_assert_double_eq(stored_score("c1"), 9);
    ck_assert_int_eq(stored_at("c1"), T0);
    ck_assert_int_eq(history_len("c1"), 3);
    h = history_at("c1", 0);        /* newest first: ts rule points score eid */
    ck_assert_str_eq(h, "1800000000000 click 5 9 00000000000000000000000000000003");
    g_free(h);
    h = history_at("c1", 2);
    ck_assert_str_eq(h, "1799999998000 open 2 2 00000000000000000000000000000001");
    g_free(h);
    ck_assert_int_eq(pending_count(), 0);
}
END_TEST

START_TEST(test_campaign_pattern)
{
    load_scorer(NO_DECAY, "{ name = \"spring\"; event = \"open\"; points = 3; "
                          "campaign = \"spring-*\"; }");
    add(xadd("open", "c1", "spring-sale", "m1", T0, "human", NULL));
    add(xadd("open", "c1", "autumn-sale", "m2", T0, "human", NULL));
    add(xadd("open", "c2", "autumn-sale", "m3", T0, "human", NULL));
    drain();
    ck_assert_double_eq(stored_score("c1"), 3);
    ck_assert_int_eq(history_len("c1"), 1);
    ck_assert_int_eq(stored_at("c2"), -1);        /* nothing matched: no score written */
    ck_assert_int_eq(key_count("pb:contact:c2*"), 0);
}
END_TEST

START_TEST(test_url_pattern)
{
    load_scorer(NO_DECAY, "{ name = \"pricing\"; event = \"click\"; points = 15; "
                          "url = \"*/pricing*\"; },"
                          "{ name = \"any-click\"; event = \"click\"; points = 1; }");
    add(click("c1", "m1", T0, "https://shop.example.com/pricing?utm_source=x"));
    add(click("c1", "m1", T0, "https://shop.example.com/about"));
    add(click("c1", "m1", T0, "https://shop.example.com/PRICING/team"));
    drain();
    /* two pricing clicks (case-insensitive) and three clicks */
    ck_assert_double_eq(stored_score("c1"), 15 + 15 + 3);
    ck_assert_int_eq(history_len("c1"), 5);
}
END_TEST

START_TEST(test_only_human_by_default)
{
    load_scorer(NO_DECAY, "{ name = \"open\"; event = \"open\"; points = 1; },"
                          "{ name = \"mpp\"; event = \"open\"; points = 100; class = \"machine\"; },"
                          "{ name = \"unsub\"; event = \"unsubscribe\"; points = 1000; "
                          "class = \"any\"; }");
    add(xadd("open", "h", "spring-sale", "m1", T0, "human", NULL));
    add(xadd("open", "m", "spring-sale", "m2", T0, "machine", NULL));
    add(xadd("unsubscribe", "u1", "spring-sale", "m3", T0, "machine", NULL));
    add(xadd("unsubscribe", "u2", "spring-sale", "m4", T0, "human", NULL));
    drain();
    ck_assert_double_eq(stored_score("h"), 1);
    ck_assert_double_eq(stored_score("m"), 100);      /* only the machine rule */
    ck_assert_double_eq(stored_score("u1"), 1000);
    ck_assert_double_eq(stored_score("u2"), 1000);
}
END_TEST

START_TEST(test_custom_event_counts_as_human)
{
    load_scorer(NO_DECAY, "{ name = \"purchase\"; event = \"purchase\"; points = 40; }");
    add(xadd("purchase", "c1", NULL, NULL, T0, NULL, NULL));
    drain();
    ck_assert_double_eq(stored_score("c1"), 40);
}
END_TEST

START_TEST(test_repeat_once_per_message)
{
    load_scorer(NO_DECAY, "{ name = \"open\"; event = \"open\"; points = 1; "
                          "repeat = \"once-per-message\"; }");
    add(open_ev("c1", "m1", T0));
    add(open_ev("c1", "m1", T0 + 1));
    add(open_ev("c1", "m2", T0 + 2));
    add(open_ev("c2", "m1", T0 + 3));
    drain();
    ck_assert_double_eq(stored_score("c1"), 2);
    ck_assert_double_eq(stored_score("c2"), 1);
    /* and a later run does not score m1 again */
    add(open_ev("c1", "m1", T0 + 4));
    drain();
    ck_assert_double_eq(stored_score("c1"), 2);
}
END_TEST

START_TEST(test_repeat_once_per_campaign)
{
    load_scorer(NO_DECAY, "{ name = \"open\"; event = \"open\"; points = 1; "
                          "repeat = \"once-per-campaign\"; }");
    add(xadd("open", "c1", "spring-sale", "m1", T0, "human", NULL));
    add(xadd("open", "c1", "spring-sale", "m2", T0, "human", NULL));
    add(xadd("open", "c1", "autumn:sale", "m3", T0, "human", NULL));
    add(xadd("open", "c1", "autumn:sale", "m3", T0, "human", NULL));
    drain();
    ck_assert_double_eq(stored_score("c1"), 2);
}
END_TEST

START_TEST(test_repeat_once_ever)
{
    load_scorer(NO_DECAY, "{ name = \"first-click\"; event = \"click\"; points = 20; "
                          "repeat = \"once\"; },"
                          "{ name = \"click\"; event = \"click\"; points = 1; }");
    add(click("c1", "m1", T0, "https://a/"));
    add(click("c1", "m2", T0 + 1, "https://b/"));
    add(xadd("click", "c1", "other", "m3", T0 + 2, "human", "https://c/"));
    drain();
    ck_assert_double_eq(stored_score("c1"), 20 + 3);
}
END_TEST

START_TEST(test_repeat_per_day)
{
    load_scorer(NO_DECAY, "{ name = \"open\"; event = \"open\"; points = 1; "
                          "repeat = \"per-day\"; per_day = 2; }");
    fake_now = T0 + 2 * DAY_MS;
    /* T0 is 2027-01-15 08:00 UTC: T0 + a few seconds is the same day */
    add(open_ev("c1", "m1", T0 + 1000));
    add(open_ev("c1", "m2", T0 + 2000));
    add(open_ev("c1", "m3", T0 + 3000));
    add(open_ev("c1", "m4", T0 + DAY_MS + 1000));
    add(open_ev("c1", "m5", T0 + DAY_MS + 2000));
    add(open_ev("c1", "m6", T0 + DAY_MS + 3000));
    drain();
    /* two on the first day, two on the next */
    ck_assert_double_eq(stored_score("c1"), 4);
    ck_assert_int_eq(history_len("c1"), 4);
}
END_TEST

START_TEST(test_negative_points_floor)
{
    load_scorer(NO_DECAY, "{ name = \"click\"; event = \"click\"; points = 10; },"
                          "{ name = \"unsub\"; event = \"unsubscribe\"; points = -50; }");
    add(click("c1", "m1", T0, "https://a/"));
    add(xadd("unsubscribe", "c1", "spring-sale", "m1", T0 + 1, "human", NULL));
    drain();
    ck_assert_double_eq(stored_score("c1"), 0);       /* floor 0 by default */
}
END_TEST

START_TEST(test_negative_floor_and_cap)
{
    load_scorer(NO_DECAY "score_floor = -20; score_cap = 25;",
                "{ name = \"click\"; event = \"click\"; points = 10; },"
                "{ name = \"unsub\"; event = \"unsubscribe\"; points = -50; }");
    add(click("c1", "m1", T0, "https://a/"));
    add(click("c1", "m1", T0 + 1, "https://a/"));
    add(click("c1", "m1", T0 + 2, "https://a/"));
    add(xadd("unsubscribe", "c2", "spring-sale", "m2", T0, "human", NULL));
    drain();
    ck_assert_double_eq(stored_score("c1"), 25);
    ck_assert_double_eq(stored_score("c2"), -20);
}
END_TEST

START_TEST(test_no_contact_updates_nothing)
{
    struct pb_sc_stats st;

    load_scorer(NO_DECAY, "{ name = \"open\"; event = \"open\"; points = 1; }");
    add(xadd("open", "", "spring-sale", "m1", T0, "human", NULL));
    add(xadd("open", NULL, "spring-sale", "m2", T0, "human", NULL));
    add(xadd("open", "k1:scores", "spring-sale", "m3", T0, "human", NULL));    /* not an id */
    st = drain_as("t1");
    ck_assert_int_eq(st.done, 3);
    ck_assert_int_eq(st.no_contact, 3);
    ck_assert_int_eq(st.scored, 0);
    ck_assert_int_eq(key_count("pb:contact*"), 0);
    ck_assert_int_eq(pending_count(), 0);
}
END_TEST

/* Half-life one day: 100 points halve each day, computed when read. */
START_TEST(test_decay_over_days)
{
    load_scorer("half_life_days = 1;", "{ name = \"demo\"; event = \"webinar\"; points = 100; },"
                                       "{ name = \"click\"; event = \"click\"; points = 10; }");
    add(xadd("webinar", "c1", NULL, NULL, T0, NULL, NULL));
    drain();
    ck_assert_double_eq(stored_score("c1"), 100);
    fake_now = T0 + DAY_MS;
    ck_assert_double_eq_tol(shown_score("c1"), 50, 1e-9);
    fake_now = T0 + 3 * DAY_MS;
    ck_assert_double_eq_tol(shown_score("c1"), 12.5, 1e-9);
    /* nothing rewrote the contact meanwhile */
    ck_assert_double_eq(stored_score("c1"), 100);

    /* a click two days in: 100 / 4 + 10 */
    add(click("c1", "m1", T0 + 2 * DAY_MS, "https://a/"));
    drain();
    ck_assert_double_eq_tol(stored_score("c1"), 35, 1e-9);
    ck_assert_int_eq(stored_at("c1"), T0 + 2 * DAY_MS);
    /* a click of day one arriving late: worth half at the reference time */
    add(click("c1", "m1", T0 + DAY_MS, "https://a/"));
    drain();
    ck_assert_double_eq_tol(stored_score("c1"), 40, 1e-9);
    ck_assert_int_eq(stored_at("c1"), T0 + 2 * DAY_MS);
    fake_now = T0 + 4 * DAY_MS;
    ck_assert_double_eq_tol(shown_score("c1"), 10, 1e-9);
    ck_assert_double_eq_tol(pb_score_at(40, T0, T0 - DAY_MS, DAY_MS), 40, 1e-9);
}
END_TEST

START_TEST(test_future_event_at_scorer_time)
{
    load_scorer(NO_DECAY, "{ name = \"open\"; event = \"open\"; points = 1; }");
    add(open_ev("c1", "m1", T0 + 3600000));
    drain();
    ck_assert_int_eq(stored_at("c1"), T0);
}
END_TEST

START_TEST(test_history_kept_days_and_max)
{
    char *h;

    load_scorer(NO_DECAY "history_days = 1; history_max = 3;",
                "{ name = \"open\"; event = \"open\"; points = 1; }");
    add(open_ev("c1", "m1", T0 - 2 * DAY_MS));
    drain();
    ck_assert_double_eq(stored_score("c1"), 1);     /* scored, but too old to keep */
    ck_assert_int_eq(history_len("c1"), 0);
    for (int i = 0; i < 5; i++)
        add(open_ev("c1", "m1", T0 + i));
    drain();
    ck_assert_double_eq(stored_score("c1"), 6);
    ck_assert_int_eq(history_len("c1"), 3);
    h = history_at("c1", 0);
    ck_assert_ptr_nonnull(strstr(h, " open 1 6 "));
    g_free(h);
}
END_TEST

TCase *rules_tcase(void)
{
    TCase *tc = tcase_create("rules");

    tcase_add_checked_fixture(tc, scorer_setup, scorer_teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_points_per_event_type);
    tcase_add_test(tc, test_campaign_pattern);
    tcase_add_test(tc, test_url_pattern);
    tcase_add_test(tc, test_only_human_by_default);
    tcase_add_test(tc, test_custom_event_counts_as_human);
    tcase_add_test(tc, test_repeat_once_per_message);
    tcase_add_test(tc, test_repeat_once_per_campaign);
    tcase_add_test(tc, test_repeat_once_ever);
    tcase_add_test(tc, test_repeat_per_day);
    tcase_add_test(tc, test_negative_points_floor);
    tcase_add_test(tc, test_negative_floor_and_cap);
    tcase_add_test(tc, test_no_contact_updates_nothing);
    tcase_add_test(tc, test_decay_over_days);
    tcase_add_test(tc, test_future_event_at_scorer_time);
    tcase_add_test(tc, test_history_kept_days_and_max);
    return tc;
}

/* ---- refused rules ------------------------------------------------------- */

/* The rules start on line 7 of the file load_scorer writes. */
static void assert_refused(const char *rules, const char *where, const char *what)
{
    char err[1024], want[512];

    ck_assert_msg(rules_error(rules, err, sizeof(err)) == 0, "accepted: %s", rules);
    snprintf(want, sizeof(want), "%s: ", where);
    ck_assert_msg(strstr(err, want) != NULL, "no \"%s\" in: %s", want, err);
    ck_assert_msg(strstr(err, what) != NULL, "no \"%s\" in: %s", what, err);
}

static char *at_line(int line)
{
    static char buf[400];

    snprintf(buf, sizeof(buf), "%s:%d", cpath, line);
    return buf;
}

START_TEST(test_bad_rules_name_line_and_fix)
{
    assert_refused("{ name = \"a\"; event = \"open\"; points = 1; },\n"
                   "{ name = \"b\"; event = \"open\"; points = 1; repeat = \"weekly\"; }",
                   at_line(8), "scorer.rules[1] (\"b\"): repeat: \"weekly\" is not one of "
                   "every-time, once-per-message");
    assert_refused("{ name = \"a\"; event = \"open\"; }", at_line(7), "points is required");
    assert_refused("{ name = \"a\"; event = \"open\"; points = 0; }", at_line(7),
                   "non-zero");
    assert_refused("{ name = \"a\"; event = \"open\"; pionts = 1; }", at_line(7),
                   "unknown setting pionts");
    assert_refused("{ name = \"a\"; event = \"open\"; points = 1; },\n\n"
                   "{ name = \"a\"; event = \"click\"; points = 1; }", at_line(9),
                   "used by an earlier rule");
    assert_refused("{ name = \"a\"; event = \"open\"; points = 1; url = \"*/x*\"; }",
                   at_line(7), "needs event = \"click\"");
    assert_refused("{ name = \"a\"; event = \"open\"; points = 1; repeat = \"per-day\"; }",
                   at_line(7), "needs per_day (add e.g. per_day = 3;)");
    assert_refused("{ name = \"Big Rule\"; event = \"open\"; points = 1; }", at_line(7),
                   "must be 1..64 of a-z");
    assert_refused("{ event = \"open\"; points = 1; }", at_line(7), "name is required");
    assert_refused("{ name = \"a\"; event = \"open\"; points = \"ten\"; }", at_line(7),
                   "expected a number");
}
END_TEST

/* A rule in an @included file is reported in that file. */
START_TEST(test_bad_rule_in_included_file)
{
    char inc[400], err[1024], want[600];
    const char *text = "{ name = \"a\"; event = \"open\"; points = 1; },\n"
                       "{ name = \"b\"; event = \"open\"; points = 1; class = \"robot\"; }\n";

    snprintf(inc, sizeof(inc), "%s/rules.inc", cdir);
    ck_assert_int_eq(tu_write_file(inc, text, strlen(text)), 0);
    ck_assert_int_eq(rules_error("@include \"rules.inc\"", err, sizeof(err)), 0);
    snprintf(want, sizeof(want), "%s:2: scorer.rules[1] (\"b\"): class: \"robot\" is not one "
             "of human, machine, any", inc);
    ck_assert_str_eq(err, want);
}
END_TEST

/* The general loader checks the scorer section's own settings. */
START_TEST(test_bad_scorer_setting)
{
    char err[1024];
    struct pb_conf conf;
    const char *text = "tracking = { base_url = \"https://t.example.com\"; };\n"
                       "scorer = {\n  half_life_days = -1;\n};\n";

    ck_assert_int_eq(tu_write_file(cpath, text, strlen(text)), 0);
    ck_assert_int_eq(pb_conf_load(cpath, &conf, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, ":3: scorer.half_life_days: -1 is out of range"));
}
END_TEST

/* A cap below the floor, which no single setting shows, is refused where
 * the cap is written. */
START_TEST(test_cap_below_floor)
{
    char err[1024], want[400];
    struct pb_rules r;
    const char *text = "tracking = { base_url = \"https://t.example.com\"; };\n"
                       "scorer = {\n  score_floor = 10;\n  score_cap = 5;\n};\n";

    ck_assert_int_eq(tu_write_file(cpath, text, strlen(text)), 0);
    ck_assert_int_eq(pb_rules_load(cpath, &r, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s:4: scorer.score_cap: 5 is below scorer.score_floor (10)",
             cpath);
    ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s", err);
}
END_TEST

/* Every scorer setting is read into its field. */
START_TEST(test_every_scorer_setting)
{
    load_scorer("group = \"mail\"; pidfile = \"/tmp/s.pid\"; consumer_group = \"g2\"; "
                "consumer = \"c-1\"; batch = 7; block_ms = 20; claim_idle_ms = 2000; "
                "claim_interval_ms = 300; half_life_days = 9; score_floor = -5; "
                "score_cap = 99; history_days = 4; history_max = 11;",
                "{ name = \"a\"; event = \"open\"; points = 1.5; campaign = \"x*\"; "
                "class = \"any\"; repeat = \"per-day\"; per_day = 2; }");
    ck_assert_ptr_null(cconf.scorer.user);
    ck_assert_str_eq(cconf.scorer.group, "mail");
    ck_assert_str_eq(cconf.scorer.pidfile, "/tmp/s.pid");
    ck_assert_str_eq(cconf.scorer.consumer_group, "g2");
    ck_assert_str_eq(cconf.scorer.consumer, "c-1");
    ck_assert_int_eq(cconf.scorer.batch, 7);
    ck_assert_int_eq(cconf.scorer.block_ms, 20);
    ck_assert_int_eq(cconf.scorer.claim_idle_ms, 2000);
    ck_assert_int_eq(cconf.scorer.claim_interval_ms, 300);
    ck_assert_int_eq(cconf.scorer.half_life_days, 9);
    ck_assert_int_eq(cconf.scorer.score_floor, -5);
    ck_assert_int_eq(cconf.scorer.score_cap, 99);
    ck_assert_int_eq(cconf.scorer.history_days, 4);
    ck_assert_int_eq(cconf.scorer.history_max, 11);
    ck_assert_uint_eq(crules.count, 1);
    ck_assert_str_eq(crules.items[0].name, "a");
    ck_assert_str_eq(crules.items[0].event, "open");
    ck_assert_double_eq(crules.items[0].points, 1.5);
    ck_assert_str_eq(crules.items[0].campaign, "x*");
    ck_assert_ptr_null(crules.items[0].url);
    ck_assert_int_eq(crules.items[0].cls, PB_RULE_ANY);
    ck_assert_int_eq(crules.items[0].repeat, PB_REPEAT_DAILY);
    ck_assert_int_eq(crules.items[0].per_day, 2);
}
END_TEST

TCase *refused_tcase(void)
{
    TCase *tc = tcase_create("refused");

    tcase_add_checked_fixture(tc, scorer_setup, scorer_teardown);
    tcase_add_test(tc, test_bad_rules_name_line_and_fix);
    tcase_add_test(tc, test_bad_rule_in_included_file);
    tcase_add_test(tc, test_bad_scorer_setting);
    tcase_add_test(tc, test_cap_below_floor);
    tcase_add_test(tc, test_every_scorer_setting);
    return tc;
}
