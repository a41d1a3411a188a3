/*
 * check_scorer_metrics.c - the counters behind the scorer's /metrics
 * (scorer/metrics.c), as the scorer keeps them while it works on a
 * private redis-server: entries by event type and class (a custom type
 * the configuration names has its own label, any other counts as
 * "other", and the number of labels is bounded), segment entries and
 * exits by segment from the batch script's answer, follow-up log entries
 * by status from the batch, claim and settle scripts. The HTTP side is
 * tests/scorer_metrics.sh. Part of check_scorer (check_scorer.h).
 */
#include <stdio.h>
#include <string.h>
#include <glib.h>
#include "check_redis.h"
#include "check_scorer.h"

#define CAPTURE TESTS_DIR "/lib/capture-submit.sh"

static const char *const none[] = { NULL };

/* The count of entries of type typ and class cls. */
static unsigned long long events(const struct pb_scorer *s, const char *typ, const char *cls)
{
    return s->metrics.counts.events[pb_sc_metrics_label(&s->metrics, typ, cls)];
}

/* The entries (op 0) or exits (op 1) counted for segment name. */
static unsigned long long seg_changes(const struct pb_scorer *s, const char *name, int op)
{
    for (size_t i = 0; i < s->metrics.segments.count; i++)
        if (strcmp(s->metrics.segments.names[i], name) == 0)
            return s->metrics.counts.segments[i][op];
    ck_abort_msg("no label for segment %s", name);
    return 0;
}

START_TEST(test_events_by_type_and_class)
{
    struct pb_scorer s;
    struct pb_rules again;
    const char *rules = "{ name = \"c\"; event = \"click\"; points = 1; },"
                        "{ name = \"p\"; event = \"purchase\"; points = 5; }";
    const char *const attrs[] = { "city", "Berlin", NULL };

    load_scorer("half_life_days = 0;", rules);
    g_free(click("c1", "m1", T0, "https://shop.example.com/"));
    g_free(click("c1", "m2", T0, "https://shop.example.com/"));
    g_free(xadd("click", "c2", "spring", "m3", T0, "machine", "https://shop.example.com/"));
    g_free(open_ev("c1", "m1", T0));
    g_free(xadd("sent", "c1", "spring", "m1", T0, NULL, NULL));
    g_free(xadd_kv("purchase", "c1", T0, none));
    g_free(xadd_kv("page_view", "c1", T0, none));
    g_free(xadd_kv("profile", "c1", T0, attrs));
    scorer_open(&s, "t1");
    ck_assert_int_eq(pb_scorer_drain(&s), 0);
    ck_assert_uint_eq(events(&s, "click", "human"), 2);
    ck_assert_uint_eq(events(&s, "click", "machine"), 1);
    ck_assert_uint_eq(events(&s, "open", "human"), 1);
    ck_assert_uint_eq(events(&s, "sent", ""), 1);
    ck_assert_uint_eq(events(&s, "purchase", ""), 1);
    ck_assert_uint_eq(events(&s, "profile", ""), 1);
    /* not named by the configuration: "other", like any made-up type */
    ck_assert_uint_eq(events(&s, "page_view", ""), 1);
    ck_assert_uint_eq(events(&s, "other", ""), 1);
    ck_assert_uint_eq(s.stats.done, 8);
    /* a reload naming page_view gives it a label from then on */
    load_rules_into("half_life_days = 0;", "{ name = \"v\"; event = \"page_view\"; points = 1; }",
                    &again);
    pb_scorer_set_rules(&s, &cconf.scorer, &again);
    g_free(xadd_kv("page_view", "c1", T0, none));
    ck_assert_int_eq(pb_scorer_drain(&s), 0);
    ck_assert_uint_eq(events(&s, "page_view", ""), 1);
    ck_assert_uint_eq(events(&s, "other", ""), 1);
    ck_assert_uint_eq(events(&s, "purchase", ""), 1);   /* labels are kept */
    pb_scorer_free(&s);
    pb_rules_free(&again);
}
END_TEST

/* More custom types than labels: the first ones get theirs, the rest
 * count as "other". */
START_TEST(test_type_labels_are_bounded)
{
    GString *rules = g_string_new(NULL);
    struct pb_scorer s;
    int custom = PB_SC_TYPE_LABELS - 7;     /* the labels left after the fixed ones */
    char last[16], over[16];

    for (int i = 0; i < custom + 5; i++)
        g_string_append_printf(rules, "%s{ name = \"r%d\"; event = \"t%d\"; points = 1; }",
                               i ? "," : "", i, i);
    load_scorer("", rules->str);
    scorer_open(&s, "t1");
    ck_assert_uint_eq(s.metrics.types.count, PB_SC_TYPE_LABELS);
    ck_assert_uint_ne(pb_sc_metrics_label(&s.metrics, "t0", ""),
                      pb_sc_metrics_label(&s.metrics, "other", ""));
    ck_assert_uint_ne(pb_sc_metrics_label(&s.metrics, "t0", ""),
                      pb_sc_metrics_label(&s.metrics, "t1", ""));
    snprintf(last, sizeof(last), "t%d", custom - 1);
    snprintf(over, sizeof(over), "t%d", custom);
    ck_assert_uint_ne(pb_sc_metrics_label(&s.metrics, last, ""),
                      pb_sc_metrics_label(&s.metrics, "other", ""));
    ck_assert_uint_eq(pb_sc_metrics_label(&s.metrics, over, ""),
                      pb_sc_metrics_label(&s.metrics, "other", ""));
    pb_scorer_free(&s);
    g_string_free(rules, TRUE);
}
END_TEST

START_TEST(test_segment_changes_by_segment)
{
    struct pb_scorer s;

    load_scorer("half_life_days = 0; segments = ( { name = \"warm\"; behaviour_at_least = 1; },"
                " { name = \"hot\"; behaviour_at_least = 2; } );",
                "{ name = \"c\"; event = \"click\"; points = 1; },"
                "{ name = \"r\"; event = \"refund\"; points = -2; class = \"any\"; }");
    g_free(click("c1", "m1", T0, "https://shop.example.com/"));
    g_free(click("c1", "m2", T0, "https://shop.example.com/"));
    g_free(click("c2", "m3", T0, "https://shop.example.com/"));
    scorer_open(&s, "t1");
    ck_assert_int_eq(pb_scorer_drain(&s), 0);
    ck_assert_uint_eq(seg_changes(&s, "warm", 0), 2);
    ck_assert_uint_eq(seg_changes(&s, "hot", 0), 1);
    g_free(xadd_kv("refund", "c1", T0, none));     /* c1 back to 0: leaves both */
    ck_assert_int_eq(pb_scorer_drain(&s), 0);
    ck_assert_uint_eq(seg_changes(&s, "warm", 1), 1);
    ck_assert_uint_eq(seg_changes(&s, "hot", 1), 1);
    ck_assert_uint_eq(seg_changes(&s, "hot", 0), 1);
    ck_assert_uint_eq(s.stats.changes, 5);
    ck_assert_int_eq(tr_integer(cc, "XLEN pb:segment-log"), 5);
    pb_scorer_free(&s);
}
END_TEST

/* Queued by the batch script, then sent and the next step queued by the
 * claim and settle scripts; a suppressed contact's step skipped. */
START_TEST(test_followups_by_status)
{
    struct pb_scorer s;
    char outdir[400], *top;
    redisReply *r;

    snprintf(outdir, sizeof(outdir), "%s/out", cdir);
    ck_assert_int_eq(g_mkdir_with_parents(outdir, 0700), 0);
    top = g_strdup_printf("submit = { command = \"/bin/sh %s %s 0 0\"; };\n"
                          "templates = { dir = \"%s/../config/templates\"; };", CAPTURE, outdir,
                          TESTS_DIR);
    load_scorer_with(top, "half_life_days = 0; segments = ( { name = \"mql\"; "
                     "behaviour_at_least = 1; } ); workflows = ( { name = \"w\"; trigger = { "
                     "segment = \"mql\"; on = \"enter\"; }; steps = ( { name = \"a\"; send = "
                     "\"welcome-1.en.eml\"; }, { name = \"b\"; send = \"welcome-2.en.eml\"; "
                     "delay_days = 1; } ); } );",
                     "{ name = \"c\"; event = \"click\"; points = 1; }");
    g_free(top);
    r = redisCommand(cc, "HSET pb:contact:c1 email anna@example.org first_name Anna");
    freeReplyObject(r);
    r = redisCommand(cc, "SADD pb:suppressed c2");
    freeReplyObject(r);
    g_free(click("c1", "m1", T0, "https://shop.example.com/"));
    g_free(click("c2", "m2", T0, "https://shop.example.com/"));
    scorer_open(&s, "t1");
    ck_assert_int_eq(pb_scorer_drain(&s), 0);
    ck_assert_uint_eq(s.metrics.counts.followups[PB_SC_WF_QUEUED], 3);     /* a, a, then b */
    ck_assert_uint_eq(s.metrics.counts.followups[PB_SC_WF_SENT], 1);
    ck_assert_uint_eq(s.metrics.counts.followups[PB_SC_WF_SKIPPED], 1);    /* c2: suppressed */
    ck_assert_int_eq(tr_integer(cc, "XLEN pb:wf:log"), 5);
    ck_assert_uint_eq(s.stats.wf_sent, 1);
    pb_scorer_free(&s);
}
END_TEST

TCase *metrics_tcase(void)
{
    TCase *tc = tcase_create("metrics");

    tcase_add_checked_fixture(tc, scorer_setup, scorer_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_events_by_type_and_class);
    tcase_add_test(tc, test_type_labels_are_bounded);
    tcase_add_test(tc, test_segment_changes_by_segment);
    tcase_add_test(tc, test_followups_by_status);
    return tc;
}
