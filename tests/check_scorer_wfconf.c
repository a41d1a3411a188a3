/*
 * check_scorer_wfconf.c - scorer.workflows refused as a user would see
 * it: every mistake names the file, the line, the item and the fix; a
 * step naming a template that does not exist is refused when the
 * templates are loaded (start, SIGHUP, -n); the triggers of
 * workflow_trigger.c, refused and accepted. Part of check_scorer
 * (check_scorer.h).
 */
#include <string.h>
#include <glib.h>
#include "check_scorer.h"
#include "testutil.h"

#define SEGS "half_life_days = 0; segments = ( { name = \"mql\"; behaviour_at_least = 50; } );"
#define CLICK80 "{ name = \"click\"; event = \"click\"; points = 80; }"

/* ---- refused definitions ------------------------------------------------- */

static void assert_refused(const char *settings, const char *want)
{
    char err[1024];

    ck_assert_msg(settings_error(settings, err, sizeof(err)) == 0, "accepted: %s", settings);
    ck_assert_msg(strstr(err, want) != NULL, "\"%s\" not in: %s", want, err);
    ck_assert_msg(strstr(err, "postbeacon.conf:") != NULL, "no file:line in: %s", err);
}

START_TEST(test_refused_workflows)
{
    assert_refused(SEGS " workflows = ( { name = \"w\"; trigger = { segment = \"nope\"; on = "
                   "\"enter\"; }; steps = ( { name = \"a\"; tag = \"x\"; } ); } );",
                   "scorer.workflows[0] (\"w\").trigger: segment: \"nope\" is not a segment");
    assert_refused(SEGS " workflows = ( { name = \"w\"; trigger = { segment = \"mql\"; }; "
                   "steps = ( { name = \"a\"; tag = \"x\"; } ); } );", "on = \"enter\";");
    assert_refused(SEGS " workflows = ( { name = \"w\"; trigger = { signup = true; }; steps = ( "
                   "{ name = \"a\"; tag = \"x\"; send = \"a.eml\"; } ); } );",
                   "steps[0] (\"a\"): a step does one thing");
    assert_refused(SEGS " workflows = ( { name = \"w\"; steps = ( { name = \"a\"; tag = \"x\"; "
                   "} ); } );", "a trigger is required");
    assert_refused(SEGS " workflows = ( { name = \"w\"; trigger = { signup = true; }; steps = ( "
                   "{ name = \"a\"; notify = \"sales\"; template = \"m.eml\"; } ); } );",
                   "is not an address");
    assert_refused(SEGS " workflows = ( { name = \"w\"; trigger = { signup = true; }; steps = ( "
                   "{ name = \"a\"; send = \"../x.eml\"; } ); } );", "name a file of");
    assert_refused(SEGS " workflows = ( { name = \"w\"; trigger = { signup = true; }; steps = ( "
                   "{ name = \"a\"; tag = \"x\"; delay_hours = -1; } ); } );", "negative");
    assert_refused(SEGS " workflows = ( { name = \"w\"; trigger = { signup = true; }; steps = ( "
                   "{ name = \"a\"; tag = \"x\"; }, { name = \"a\"; tag = \"y\"; } ); } );",
                   "used by an earlier step");
    assert_refused(SEGS " workflows = ( { name = \"w\"; trigger = { event = \"open\"; url = "
                   "\"*\"; }; steps = ( { name = \"a\"; tag = \"x\"; } ); } );",
                   "only a click has a URL");
    assert_refused(SEGS " workflows = ( { name = \"w\"; trigger = { signup = true; campaign = "
                   "\"x\"; }; steps = ( { name = \"a\"; tag = \"x\"; } ); } );",
                   "campaign and url go with event");
}
END_TEST

START_TEST(test_missing_template_refused)
{
    struct pb_rules r;
    char err[1024];

    char *top = g_strdup_printf("templates = { dir = \"%s/../config/templates\"; };", TESTS_DIR);

    load_scorer_with(top, SEGS, "");
    g_free(top);
    load_rules_into(SEGS " workflows = ( { name = \"w\"; trigger = { signup = true; }; steps = ("
                    " { name = \"a\"; send = \"no-such.eml\"; } ); } );", CLICK80, &r);
    ck_assert_int_eq(pb_workflows_load_templates(&r.wf, &cconf, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "no-such.eml") != NULL, "%s", err);
    pb_rules_free(&r);
}
END_TEST

/* A reload that changes only the workflows gives a new script but
 * re-evaluates no contact; one that changes a segment does. */
START_TEST(test_workflow_reload_no_reeval)
{
    struct pb_scorer s;
    struct pb_rules wf, seg;
    char sha[41];

    load_scorer(SEGS, CLICK80);
    scorer_open(&s, "a");
    memcpy(sha, s.sha, sizeof(sha));
    load_rules_into(SEGS " workflows = ( { name = \"w\"; trigger = { signup = true; }; steps = ("
                    " { name = \"a\"; tag = \"x\"; } ); } );", CLICK80, &wf);
    ck_assert_int_eq(pb_scorer_set_rules(&s, &cconf.scorer, &wf), 0);
    ck_assert_str_ne(s.sha, sha);
    load_rules_into("half_life_days = 0; segments = ( { name = \"mql\"; behaviour_at_least = 40;"
                    " } );", CLICK80, &seg);
    ck_assert_int_eq(pb_scorer_set_rules(&s, &cconf.scorer, &seg), 1);
    pb_scorer_free(&s);
    pb_rules_free(&wf);
    pb_rules_free(&seg);
}
END_TEST

#define WF(trigger, steps) SEGS " workflows = ( { name = \"w\"; trigger = { " trigger " }; " \
    "steps = ( " steps " ); } );"
#define MAIL "{ name = \"a\"; send = \"birthday.en.eml\"; }"

/* The triggers of workflow_trigger.c: each mistake named with its fix. */
START_TEST(test_refused_triggers)
{
    assert_refused(WF("not_opened = \"spring-*\";", MAIL),
                   "trigger: not_opened needs within_days = N;");
    assert_refused(WF("not_opened = \"\"; within_days = 14;", MAIL), "not_opened: give a campaign");
    assert_refused(WF("not_opened = \"x\"; within_days = 0;", MAIL),
                   "within_days: expected a whole number of days within 1..3650");
    assert_refused(WF("within_days = 3; signup = true;", MAIL),
                   "within_days goes with not_opened");
    assert_refused(WF("opened = \"x\"; event = \"open\";", MAIL), "give exactly one kind");
    assert_refused(WF("opened = \"x\"; url = \"*\";", MAIL), "url: only a click has a URL");
    assert_refused(WF("date = \"city\";", MAIL), "\"city\" is not a date attribute");
    assert_refused(WF("date = \"birthday\"; hour = 24;", MAIL), "hour: the local hour is a "
                   "whole number 0..23");
    assert_refused(WF("date = \"birthday\"; on = \"enter\";", MAIL), "give exactly one kind");
    assert_refused("quiet_from = 22; quiet_to = 8; " WF("date = \"birthday\"; hour = 7;", MAIL),
                   "hour: 7 is within the quiet hours (scorer.quiet_from = 22, quiet_to = 8)");
    assert_refused(WF("date = \"attr:renewal\";", "{ name = \"a\"; tag = \"x\"; }"),
                   "steps: a date workflow starts with a send or notify step");
}
END_TEST

/* Accepted: the convenience forms, any date attribute, the default hour. */
START_TEST(test_trigger_forms)
{
    struct pb_rules r;

    load_rules_into(SEGS " workflows = ( "
                    "{ name = \"a\"; trigger = { clicked = \"x-*\"; url = \"*/p*\"; }; steps = ( "
                    MAIL " ); }, "
                    "{ name = \"b\"; trigger = { not_opened = \"x-*\"; within_days = 14; }; "
                    "steps = ( " MAIL " ); }, "
                    "{ name = \"c\"; trigger = { date = \"attr:renewal\"; }; steps = ( " MAIL
                    " ); } );", CLICK80, &r);
    ck_assert_int_eq(r.wf.items[0].trigger, PB_WF_EVENT);
    ck_assert_str_eq(r.wf.items[0].event, "click");
    ck_assert_str_eq(r.wf.items[0].campaign, "x-*");
    ck_assert_int_eq(r.wf.items[1].trigger, PB_WF_NOT_OPENED);
    ck_assert_int_eq(r.wf.items[1].within_ms, 14 * 86400000LL);
    ck_assert_int_eq(r.wf.items[2].trigger, PB_WF_DATE);
    ck_assert_int_eq(r.wf.items[2].hour, 9);
    pb_rules_free(&r);
}
END_TEST

/* A reload that adds a date workflow re-evaluates every contact (each
 * gets its next date scheduled). */
START_TEST(test_date_workflow_reload_reevaluates)
{
    struct pb_scorer s;
    struct pb_rules wf;

    load_scorer(SEGS, CLICK80);
    scorer_open(&s, "a");
    load_rules_into(WF("date = \"birthday\"; hour = 9;", MAIL), CLICK80, &wf);
    ck_assert_int_eq(pb_scorer_set_rules(&s, &cconf.scorer, &wf), 1);
    pb_scorer_free(&s);
    pb_rules_free(&wf);
}
END_TEST

/* scorer.timezone must name a time zone; quiet hours are 0..23. */
START_TEST(test_bad_timezone_refused)
{
    struct pb_conf c;
    char err[1024];

    settings_error("timezone = \"Mars/Olympus_Mons\";", err, sizeof(err));
    ck_assert_int_eq(pb_conf_load(cpath, &c, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "is not a time zone") != NULL, "%s", err);
    settings_error("quiet_from = 24;", err, sizeof(err));
    ck_assert_int_eq(pb_conf_load(cpath, &c, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "quiet_from") != NULL, "%s", err);
    settings_error("timezone = \"Europe/Berlin\"; quiet_from = 21; quiet_to = 8;", err,
                   sizeof(err));
    ck_assert_msg(pb_conf_load(cpath, &c, err, sizeof(err)) == 0, "%s", err);
    ck_assert_str_eq(c.scorer.timezone, "Europe/Berlin");
    pb_conf_free(&c);
}
END_TEST

TCase *workflow_conf_tcase(void)
{
    TCase *tc = tcase_create("workflow_conf");

    tcase_add_checked_fixture(tc, scorer_setup, scorer_teardown);
    tcase_add_test(tc, test_refused_workflows);
    tcase_add_test(tc, test_missing_template_refused);
    tcase_add_test(tc, test_workflow_reload_no_reeval);
    tcase_add_test(tc, test_bad_timezone_refused);
    tcase_add_test(tc, test_refused_triggers);
    tcase_add_test(tc, test_trigger_forms);
    tcase_add_test(tc, test_date_workflow_reload_reevaluates);
    return tc;
}
