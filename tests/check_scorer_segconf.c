/*
 * check_scorer_segconf.c - scorer.fit, scorer.grade and scorer.segments
 * as postbeacon.conf(5) describes them: the sample configuration's
 * segments load as documented, and every kind of mistake is refused with
 * the file, the line, the item and a fix. Part of check_scorer
 * (check_scorer.h).
 */
#include <stdio.h>
#include <string.h>
#include <glib.h>
#include "check_scorer.h"
#include "rules.h"

/* The settings start on line 5 of the file load_scorer writes. */
static void assert_refused(const char *settings, int line, const char *what)
{
    char err[1024], want[400];

    ck_assert_msg(settings_error(settings, err, sizeof(err)) == 0, "accepted: %s", settings);
    snprintf(want, sizeof(want), "%s:%d: ", cpath, line);
    ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "not at \"%s\": %s", want, err);
    ck_assert_msg(strstr(err, what) != NULL, "no \"%s\" in: %s", what, err);
}

START_TEST(test_bad_segments_name_line_and_fix)
{
    assert_refused("segments = ( { name = \"mql\"; behaviour_at_least = 50; },\n"
                   "{ name = \"x\"; behaviour_at_least = 5; dormant_days = 3; } );", 6,
                   "scorer.segments[1] (\"x\"): a segment needs exactly one kind");
    assert_refused("segments = ( { name = \"x\"; dormant_dayz = 3; } );", 5,
                   "unknown setting dormant_dayz");
    assert_refused("segments = ( { name = \"x\"; all = [ \"later\" ]; },\n"
                   "{ name = \"later\"; active_days = 3; } );", 5,
                   "\"later\" is not a segment defined before this one");
    assert_refused("segments = ( { name = \"x\"; clicked = \"*/sofas*\"; } );", 5,
                   "needs within_days");
    assert_refused("segments = ( { name = \"x\"; dormant_days = 0; } );", 5,
                   "dormant_days: expected a whole number of days within 1..3650");
    assert_refused("segments = ( { name = \"x\"; attribute = \"shoe\"; equals = \"42\"; } );",
                   5, "\"shoe\" is not an attribute");
    assert_refused("segments = ( { name = \"x\"; attribute = \"city\"; } );", 5,
                   "needs exactly one of equals");
    assert_refused("segments = ( { name = \"x\"; age = [ 50, 20 ]; } );", 5,
                   "min is above max");
    assert_refused("segments = ( { name = \"Bad Name\"; active_days = 3; } );", 5,
                   "must be 1..64 of a-z, 0-9, _ and -");
    assert_refused("segments = ( { name = \"x\"; active_days = 3; },\n"
                   "{ name = \"x\"; active_days = 4; } );", 6, "used by an earlier segment");
    assert_refused("segments = ( { name = \"x\"; suppressed = false; } );", 5,
                   "write suppressed = true");
}
END_TEST

START_TEST(test_bad_fit_and_grade)
{
    assert_refused("fit = ( { name = \"f\"; points = 10; } );", 5,
                   "scorer.fit[0] (\"f\"): a fit rule needs a condition");
    assert_refused("fit = ( { name = \"f\"; tag = \"vip\"; } );", 5, "points: is required");
    assert_refused("fit = ( { name = \"f\"; points = 5; birthday_within_days = 3; } );", 5,
                   "unknown setting birthday_within_days");
    assert_refused("fit = ( { name = \"f\"; points = 5; attribute = \"city\"; in = [ 1 ]; } );",
                   5, "expected a list of strings in double quotes");
    assert_refused("grade = { fit = [ 10, 20, 30 ]; behaviour = [ 3, 2, 1 ]; };", 5,
                   "scorer.grade.fit: thresholds must descend");
    assert_refused("grade = { fit = [ 30, 20, 10 ]; };", 5, "scorer.grade: expected");
    assert_refused("segments = ( { name = \"a\"; grade = [ \"A1\" ]; } );", 5,
                   "grade: needs scorer.grade");
    assert_refused("grade = { fit = [ 30, 20, 10 ]; behaviour = [ 3, 2, 1 ]; };\n"
                   "segments = ( { name = \"a\"; grade = [ \"A1\", \"E5\" ]; } );", 6,
                   "\"E5\" is not a grade (A1 .. D4");
}
END_TEST

/* config/postbeacon.conf ships the segments postbeacon.conf(5) shows. */
START_TEST(test_sample_config_segments)
{
    static const char *const want[] = { "mql", "sql", "interest-sofas", "dormant", "active",
                                        "suppressed", "birthday-week", "a-leads", NULL };
    struct pb_rules r;
    char err[1024];

    ck_assert_msg(pb_rules_load(TESTS_DIR "/../config/postbeacon.conf", &r, err,
                                sizeof(err)) == 0, "%s", err);
    for (size_t i = 0; want[i]; i++) {
        size_t j = 0;
        while (j < r.segs.count && strcmp(r.segs.items[j].name, want[i]) != 0)
            j++;
        ck_assert_msg(j < r.segs.count, "no segment %s in the sample", want[i]);
    }
    ck_assert(r.segs.has_grade);
    ck_assert_uint_gt(r.segs.nfit, 0);
    pb_rules_free(&r);
}
END_TEST

TCase *segment_conf_tcase(void)
{
    TCase *tc = tcase_create("segment_conf");

    tcase_add_checked_fixture(tc, scorer_setup, scorer_teardown);
    tcase_add_test(tc, test_bad_segments_name_line_and_fix);
    tcase_add_test(tc, test_bad_fit_and_grade);
    tcase_add_test(tc, test_sample_config_segments);
    return tc;
}
