/*
 * check_scorer_wfconf.c - scorer.workflows refused as a user would see
 * it: every mistake names the file, the line, the item and the fix; a
 * step naming a template that does not exist is refused when the
 * templates are loaded (start, SIGHUP, -n); A/B variants whose shares
 * do not add up to 100, bad names, subjects and templates; a webhook
 * step's URL, secret and timeout, and its secret missing from the key
 * file; the triggers of workflow_trigger.c, refused and accepted. Part of
 * check_scorer (check_scorer.h).
 */
#include <string.h>
#include <glib.h>
#include "check_scorer.h"
#include "testutil.h"
#include "workflows.h"

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

#define HOOK_WF(step) SEGS " workflows = ( { name = \"w\"; trigger = { signup = true; }; " \
    "steps = ( { name = \"crm\"; " step " } ); } );"

START_TEST(test_refused_webhooks)
{
    assert_refused(HOOK_WF("webhook = \"ftp://crm.example.com/x\"; secret = \"crm\";"),
                   "steps[0] (\"crm\"): webhook: \"ftp://crm.example.com/x\": only http:// and "
                   "https:// URLs");
    assert_refused(HOOK_WF("webhook = \"crm.example.com/hook\"; secret = \"crm\";"),
                   "is not a URL");
    assert_refused(HOOK_WF("webhook = \"https://crm example.com/\"; secret = \"crm\";"),
                   "is not a URL");
    assert_refused(HOOK_WF("webhook = \"https://crm.example.com/hook\";"),
                   "a webhook is signed: add secret = \"crm\";");
    assert_refused(HOOK_WF("webhook = \"https://crm.example.com/hook\"; secret = \"5ec2e7"
                           "5ec2e75ec2e7 5ec2\";"), "secret: \"5ec2e75ec2e75ec2e7 5ec2\" is not "
                   "a webhook secret name");
    assert_refused(HOOK_WF("webhook = \"https://crm.example.com/hook\"; secret = \"crm\"; "
                           "timeout = 0;"), "timeout: whole seconds, 1..300");
    assert_refused(HOOK_WF("webhook = \"https://crm.example.com/hook\"; secret = \"crm\"; "
                           "timeout = \"10\";"), "timeout: expected a number");
    assert_refused(HOOK_WF("tag = \"x\"; secret = \"crm\";"),
                   "secret: goes with webhook = \"https://...\"; only");
    assert_refused(HOOK_WF("send = \"a.eml\"; timeout = 5;"), "timeout: goes with webhook");
    assert_refused(HOOK_WF("webhook = \"https://crm.example.com/hook\"; secret = \"crm\"; "
                           "send = \"a.eml\";"), "a step does one thing");
}
END_TEST

/* The secret a webhook step names must be a webhook line of the key
 * file: said with the step's file and line, and the command that adds it. */
START_TEST(test_webhook_secret_checked)
{
    static const char text[] = "contact 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
        "1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
        "webhook shop 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n";
    struct pb_keyring ring;
    struct pb_rules r;
    char path[400], err[1024];

    load_rules_into(HOOK_WF("webhook = \"https://crm.example.com/hook\";\n secret = \"crm\";"),
                    CLICK80, &r);
    ck_assert_int_eq(pb_workflows_have_webhooks(&r.wf), 1);
    snprintf(path, sizeof(path), "%s/keys", cdir);
    ck_assert_int_eq(tu_write_file(path, text, strlen(text)), 0);
    ck_assert_int_eq(pb_keys_load(path, 1, &ring, err, sizeof(err)), 0);
    ck_assert_int_eq(pb_workflows_check_secrets(&r.wf, &ring, path, NULL, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "postbeacon.conf:6: scorer.workflows[0] (\"w\").steps[0] (\"crm\"): "
                         "secret: no \"webhook crm\" line in ") != NULL, "%s", err);
    ck_assert_msg(strstr(err, "postbeacon keys rotate --webhook crm") != NULL, "%s", err);
    ck_assert_int_eq(pb_workflows_check_secrets(&r.wf, NULL, path, "cannot open: No such file",
                                                err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "the key file is needed for the signature: cannot open") != NULL,
                  "%s", err);
    pb_keys_free(&ring);
    pb_rules_free(&r);
    load_rules_into(HOOK_WF("webhook = \"https://crm.example.com/hook\"; secret = \"shop\";"),
                    CLICK80, &r);
    ck_assert_int_eq(pb_keys_load(path, 1, &ring, err, sizeof(err)), 0);
    ck_assert_msg(pb_workflows_check_secrets(&r.wf, &ring, path, NULL, err, sizeof(err)) == 0,
                  "%s", err);
    ck_assert_ptr_nonnull(pb_keys_webhook(&ring, "shop"));
    pb_keys_free(&ring);
    pb_rules_free(&r);
}
END_TEST

/* A send step "s" of workflow "w" with variants (the text inside
 * variants = ( ... )). */
#define VARIANTS(list) SEGS " workflows = ( { name = \"w\"; trigger = { signup = true; }; " \
    "steps = ( { name = \"s\"; send = \"welcome-1.en.eml\"; variants = ( " list " ); } ); } );"
#define VA "{ name = \"a\"; share = 50; subject = \"Hi {{first_name|}}\"; }, "

START_TEST(test_refused_variants)
{
    assert_refused(VARIANTS(VA "{ name = \"b\"; share = 40; send = \"welcome-2.en.eml\"; }"),
                   "scorer.workflows[0] (\"w\").steps[0] (\"s\"): variants: the shares add up "
                   "to 90 %, not 100 %");
    assert_refused(VARIANTS("{ name = \"a\"; share = 33.33; }, { name = \"b\"; share = 33.33; "
                            "}, { name = \"c\"; share = 33.33; }"), "add up to 99.99 %");
    assert_refused(VARIANTS(VA "{ name = \"B\"; share = 50; }"),
                   "variants[1]: name: \"B\" must be 1..64 of a-z, 0-9, _ and -");
    assert_refused(VARIANTS(VA "{ name = \"a\"; share = 50; }"), "used by an earlier variant");
    assert_refused(VARIANTS(VA "{ name = \"b\"; share = 33.333; }"), "at most two decimals");
    assert_refused(VARIANTS(VA "{ name = \"b\"; share = 0; }"), "over 0 and at most 100");
    assert_refused(VARIANTS(VA "{ name = \"b\"; }"), "share is required");
    assert_refused(VARIANTS(VA "{ name = \"b\"; share = 50; weight = 1; }"),
                   "unknown setting weight");
    assert_refused(VARIANTS(VA "{ name = \"b\"; share = 50; subject = \"Hi {{nope}}\"; }"),
                   "variants[1] (\"b\"): subject: {{nope}}: unknown placeholder");
    assert_refused(VARIANTS(VA "{ name = \"b\"; share = 50; subject = \"Hi\\nBcc: x\"; }"),
                   "subject: a control character");
    assert_refused(VARIANTS(VA "{ name = \"b\"; share = 50; send = \"../b.eml\"; }"),
                   "send: \"../b.eml\": name a file of templates.dir");
    assert_refused(VARIANTS("{ name = \"a\"; share = 100; }"), "a list of 2 to 20 variants");
    assert_refused(SEGS " workflows = ( { name = \"w\"; trigger = { signup = true; }; steps = ( "
                   "{ name = \"t\"; tag = \"x\"; variants = ( " VA "{ name = \"b\"; share = "
                   "50; } ); } ); } );", "variants go with a send step only");
    assert_refused(SEGS " workflows = ( { name = \"a-rather-long-workflow-name\"; trigger = { "
                   "signup = true; }; steps = ( { name = \"a-rather-long-step-name\"; send = "
                   "\"welcome-1.en.eml\"; variants = ( " VA "{ name = \"variant-b-long\"; "
                   "share = 50; } ); } ); } );", "is over 64 characters");
}
END_TEST

/* The templates of r loaded: refused, naming want; r freed. */
static void assert_templates_refused(struct pb_rules *r, const char *want)
{
    char err[1024];

    ck_assert_int_eq(pb_workflows_load_templates(&r->wf, &cconf, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, want) != NULL, "%s", err);
    pb_rules_free(r);
}

/* A template a step or a variant names must exist; shares with decimals
 * that add up to 100 are taken. */
START_TEST(test_missing_template_refused)
{
    struct pb_rules r;
    char *top = g_strdup_printf("templates = { dir = \"%s/../config/templates\"; };", TESTS_DIR);

    load_scorer_with(top, SEGS, "");
    g_free(top);
    load_rules_into(SEGS " workflows = ( { name = \"w\"; trigger = { signup = true; }; steps = ("
                    " { name = \"a\"; send = \"no-such.eml\"; } ); } );", CLICK80, &r);
    assert_templates_refused(&r, "no-such.eml");
    load_rules_into(VARIANTS("{ name = \"a\"; share = 33.33; }, { name = \"b\"; share = 33.33; "
                             "}, { name = \"c\"; share = 33.34; send = \"no-such-c.eml\"; }"),
                    CLICK80, &r);
    ck_assert_int_eq(r.wf.items[0].steps[0].nvariants, 3);
    ck_assert_uint_eq(r.wf.items[0].steps[0].variants[2].share, 3334);
    assert_templates_refused(&r, "no-such-c.eml");
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
    tcase_add_test(tc, test_refused_webhooks);
    tcase_add_test(tc, test_webhook_secret_checked);
    tcase_add_test(tc, test_missing_template_refused);
    tcase_add_test(tc, test_refused_variants);
    tcase_add_test(tc, test_workflow_reload_no_reeval);
    tcase_add_test(tc, test_bad_timezone_refused);
    tcase_add_test(tc, test_refused_triggers);
    tcase_add_test(tc, test_trigger_forms);
    tcase_add_test(tc, test_date_workflow_reload_reevaluates);
    return tc;
}
