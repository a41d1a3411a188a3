/*
 * check_scorer_triggers.c - the workflow triggers beyond segments,
 * signups and plain events, as a user sees them (a private redis-server,
 * the fake clock, the shipped templates, submission into a folder:
 * check_scorer_wf.h):
 * - not_opened: a campaign sent and not opened by a human within N days
 *   gets the resend; a machine open (Apple's privacy proxy) does not
 *   count as opened, a human open or an open imputed from a human click
 *   does; a campaign the pattern does not match starts nothing, and an
 *   open of another campaign ends nothing; a send delivered twice starts
 *   it once;
 * - opened: the convenience for event = "open" with a campaign;
 * - date: a birthday mail at 09:00 local time in Berlin, Los Angeles and
 *   Auckland on the right UTC instant (daylight saving included), --MM-DD
 *   birthdays, 29 February in a year without one, the next year's
 *   occurrence, a birthday changed before and after its occurrence was
 *   scheduled, an entry delivered twice and two scorers (one mail);
 * - the shipped examples (config/postbeacon.conf): the event invitation
 *   with its openers' and non-openers' branches, the welcome series.
 * Part of check_scorer (check_scorer.h).
 */
#include <stdio.h>
#include <string.h>
#include <glib.h>
#include "check_redis.h"
#include "check_scorer.h"
#include "check_scorer_wf.h"
#include "testutil.h"

#define RESEND "workflows = ( { name = \"resend\"; trigger = { not_opened = \"spring-*\"; " \
    "within_days = 14; }; steps = ( { name = \"again\"; " \
    "send = \"event-invitation-reminder.en.eml\"; } ); } );"
#define BIRTHDAY "workflows = ( { name = \"birthday\"; trigger = { date = \"birthday\"; " \
    "hour = 9; }; steps = ( { name = \"mail\"; send = \"birthday.en.eml\"; } ); } );"

/* The unix ms of a UTC time. */
static long long utc(int y, int mo, int d, int h, int mi)
{
    GDateTime *t = g_date_time_new_utc(y, mo, d, h, mi, 0);
    long long ms = g_date_time_to_unix(t) * 1000;

    g_date_time_unref(t);
    return ms;
}

/* An entry of type for contact c in campaign camp, class cls (NULL: none). */
static void tracked(const char *type, const char *c, const char *camp, long long ts,
                    const char *cls)
{
    g_free(xadd(type, c, camp, "00000000000000b1", ts, cls, NULL));
}

/* ---- not opened ------------------------------------------------------------ */

/* A machine open only (Apple's privacy proxy fetched the pixel): the
 * resend goes at the send + 14 days. */
START_TEST(test_machine_open_gets_resend)
{
    char *camp;

    load_with("0", RESEND, 1);
    tracked("sent", "c1", "spring-sale", T0, NULL);
    g_free(xadd_kv("open", NULL, T0 + HOUR_MS, (const char *const[]){ "contact", "c1",
               "campaign", "spring-sale", "msg", "00000000000000b1", "class", "machine",
               "reason", "apple-mpp", NULL }));
    run_at(T0 + HOUR_MS);
    camp = contact_field("c1", "wfc:resend");
    ck_assert_str_eq(camp, "spring-sale");      /* the campaign that started it */
    g_free(camp);
    ck_assert_int_eq(zscore("pb:wf:due", "c1|resend|again"), T0 + 14 * DAY_MS);
    run_at(T0 + 14 * DAY_MS - 1);
    ck_assert_int_eq(messages(), 0);
    run_at(T0 + 14 * DAY_MS);
    ck_assert_int_eq(messages(), 1);
    MESSAGE(1, "To: Anna <anna@example.org>", "Subject: Seats left:", "X-Campaign: resend:again");
    assert_status("c1", "resend", "again", "sent");
}
END_TEST

/* A human open within the 14 days ends it: no resend. */
START_TEST(test_human_open_no_resend)
{
    char why[300];

    load_with("0", RESEND, 1);
    tracked("sent", "c1", "spring-sale", T0, NULL);
    tracked("open", "c1", "spring-sale", T0 + 2 * DAY_MS, "human");
    run_at(T0 + 2 * DAY_MS);
    ck_assert_int_eq(logged("-", "exited", why, sizeof(why)), 1);
    ck_assert_str_eq(why, "opened spring-sale");
    run_at(T0 + 15 * DAY_MS);
    ck_assert_int_eq(messages(), 0);
    assert_status("c1", "resend", "again", "skipped");
}
END_TEST

/* The tracker's entries for a human click on a message not opened
 * before: an open imputed from the click, and the click. It counts as
 * opened; so does a human click alone. */
START_TEST(test_imputed_open_counts)
{
    load_with("0", RESEND, 2);
    tracked("sent", "c1", "spring-sale", T0, NULL);
    tracked("sent", "c2", "spring-sale", T0, NULL);
    g_free(xadd_kv("open", NULL, T0 + DAY_MS, (const char *const[]){ "contact", "c1",
               "campaign", "spring-sale", "msg", "00000000000000b1", "imputed", "1",
               "class", "human", NULL }));
    tracked("click", "c1", "spring-sale", T0 + DAY_MS, "human");
    tracked("click", "c2", "spring-sale", T0 + DAY_MS, "human");
    run_at(T0 + DAY_MS);
    ck_assert_int_eq(logged("-", "exited", NULL, 0), 2);
    run_at(T0 + 15 * DAY_MS);
    ck_assert_int_eq(messages(), 0);
}
END_TEST

/* A campaign the pattern does not match starts nothing; an open of
 * another matching campaign does not end the one that started it, nor
 * does one after the 14 days. */
START_TEST(test_campaign_pattern)
{
    load_with("0", RESEND, 2);
    tracked("sent", "c1", "autumn", T0, NULL);
    tracked("sent", "c2", "spring-sale", T0, NULL);
    tracked("open", "c2", "spring-shoes", T0 + DAY_MS, "human");
    run_at(T0 + DAY_MS);
    ck_assert_ptr_null(contact_field("c1", "wf:resend"));
    ck_assert_int_eq(logged("-", "exited", NULL, 0), 0);
    ck_assert_int_eq(tr_integer(cc, "ZCARD pb:wf:due"), 1);
    run_at(T0 + 14 * DAY_MS);
    ck_assert_int_eq(messages(), 1);
    MESSAGE(1, "To: Ben <ben@example.org>");
    tracked("open", "c2", "spring-sale", T0 + 15 * DAY_MS, "human");
    run_at(T0 + 15 * DAY_MS);
    ck_assert_int_eq(logged("-", "exited", NULL, 0), 0);
}
END_TEST

/* The send delivered twice (read by one consumer, the batch run twice):
 * one start, one resend. */
START_TEST(test_sent_twice_one_start)
{
    load_with("0", RESEND, 1);
    tracked("sent", "c1", "spring-sale", T0, NULL);
    batch_twice();
    ck_assert_int_eq(logged("again", "queued", NULL, 0), 1);
    tracked("sent", "c1", "spring-news", T0 + DAY_MS, NULL);     /* once per contact */
    run_at(T0 + 20 * DAY_MS);
    ck_assert_int_eq(messages(), 1);
}
END_TEST

/* opened = "x"; is event = "open"; campaign = "x";: human opens only. */
START_TEST(test_opened_trigger)
{
    load_with("0", "workflows = ( { name = \"programme\"; trigger = { opened = \"event-*\"; }; "
              "steps = ( { name = \"send\"; send = \"event-programme.en.eml\"; delay_hours = 1; "
              "} ); } );", 3);
    tracked("open", "c1", "event-invite", T0, "human");
    tracked("open", "c2", "event-invite", T0, "machine");
    tracked("open", "c3", "newsletter", T0, "human");
    run_at(T0 + HOUR_MS);
    ck_assert_int_eq(messages(), 1);
    MESSAGE(1, "To: Anna <anna@example.org>", "Subject: The programme for 14 January",
            "X-Campaign: programme:send");
}
END_TEST

/* ---- dates ----------------------------------------------------------------- */

/* A profile entry for contact c: birthday and time zone (NULL: none). */
static void profile(const char *c, long long ts, const char *birthday, const char *zone)
{
    const char *kv[8];
    int n = 0;

    kv[n++] = "birthday";
    kv[n++] = birthday;
    if (zone != NULL) {
        kv[n++] = "timezone";
        kv[n++] = zone;
    }
    kv[n] = NULL;
    g_free(xadd_kv("profile", c, ts, kv));
}

/* before messages just before at, and at at one more: the birthday mail to to. */
static void sent_at(long long at, int before, const char *to)
{
    run_at(at - 1);
    ck_assert_int_eq(messages(), before);
    run_at(at);
    ck_assert_int_eq(messages(), before + 1);
    MESSAGE(before + 1, to, "X-Campaign: birthday:mail");
}

/* 09:00 local on 20 January 2027: Auckland (+13, summer) is 20:00 UTC the
 * day before, Berlin (+1) 08:00 UTC, Los Angeles (-8) 17:00 UTC; the
 * occurrence starts at the earliest such instant anywhere (14 h before
 * 09:00 UTC) and waits for each contact's own. */
START_TEST(test_birthday_time_zones)
{
    char why[300];

    load_with("0", BIRTHDAY, 3);
    profile("c1", T0, "1990-01-20", "Europe/Berlin");
    profile("c2", T0, "--01-20", "America/Los_Angeles");
    profile("c3", T0, "1985-01-20", "Pacific/Auckland");
    run_at(T0);
    ck_assert_int_eq(zscore("pb:wake", "c1"), utc(2027, 1, 19, 19, 0));
    run_at(utc(2027, 1, 19, 19, 0));
    ck_assert_int_eq(zscore("pb:wf:due", "c1|birthday@2027|mail"), utc(2027, 1, 20, 8, 0));
    ck_assert_int_eq(zscore("pb:wf:due", "c3|birthday@2027|mail"), utc(2027, 1, 19, 20, 0));
    ck_assert_int_eq(logged("mail", "deferred", why, sizeof(why)), 3);
    ck_assert_int_eq(logged("mail", "queued", NULL, 0), 3);
    sent_at(utc(2027, 1, 19, 20, 0), 0, "To: Cleo <cleo@example.org>");
    sent_at(utc(2027, 1, 20, 8, 0), 1, "To: Anna <anna@example.org>");
    sent_at(utc(2027, 1, 20, 17, 0), 2, "To: Ben <ben@example.org>");
    assert_status("c2", "birthday@2027", "mail", "sent");
    /* the next one is next year's */
    ck_assert_int_eq(zscore("pb:wake", "c1"), utc(2028, 1, 19, 19, 0));
    run_at(utc(2027, 12, 31, 0, 0));
    ck_assert_int_eq(messages(), 3);
}
END_TEST

/* Daylight saving: 28 March 2027 (Berlin changes to +2 at 01:00 UTC that
 * morning) 09:00 is 07:00 UTC; 10 April in Auckland, after its summer
 * time ended on 4 April (+12), 09:00 is 21:00 UTC the day before. A
 * contact without a time zone has scorer.timezone's. */
START_TEST(test_birthday_daylight_saving)
{
    load_with("0", "timezone = \"America/New_York\"; " BIRTHDAY, 3);
    profile("c1", T0, "1970-03-28", "Europe/Berlin");
    profile("c2", T0, "--04-10", "Pacific/Auckland");
    profile("c3", T0, "--07-04", NULL);
    run_at(T0);
    sent_at(utc(2027, 3, 28, 7, 0), 0, "To: Anna <anna@example.org>");
    sent_at(utc(2027, 4, 9, 21, 0), 1, "To: Ben <ben@example.org>");
    sent_at(utc(2027, 7, 4, 13, 0), 2, "To: Cleo <cleo@example.org>");  /* EDT, -4 */
}
END_TEST

/* 29 February: 28 February in 2027, 29 February in 2028; each year once,
 * and the fields of the year before are gone. */
START_TEST(test_birthday_leap_day)
{
    char *year;

    load_with("0", BIRTHDAY, 1);
    profile("c1", T0, "2000-02-29", "UTC");
    run_at(T0);
    sent_at(utc(2027, 2, 28, 9, 0), 0, "To: Anna");
    year = contact_field("c1", "wf:birthday@2027");     /* the 2027 occurrence's start */
    ck_assert_ptr_nonnull(year);
    g_free(year);
    sent_at(utc(2028, 2, 29, 9, 0), 1, "To: Anna");
    run_at(utc(2028, 3, 1, 9, 0));
    ck_assert_int_eq(messages(), 2);
    year = contact_field("c1", "wfo:birthday");
    ck_assert_str_eq(year, "2028");
    g_free(year);
    ck_assert_ptr_null(contact_field("c1", "wf:birthday@2027"));
    assert_status("c1", "birthday@2027", "mail", NULL);
    assert_status("c1", "birthday@2028", "mail", "sent");
}
END_TEST

/* A birthday changed before its occurrence started: the wake-up moves.
 * One changed after it started (the step waiting for 09:00): to a later
 * day it waits for that one; to a day already past it is skipped, and
 * the year gets no second mail. */
START_TEST(test_birthday_changed)
{
    char why[300];

    load_with("0", BIRTHDAY, 2);
    profile("c1", T0, "--01-20", "UTC");
    profile("c2", T0, "--01-20", "UTC");
    run_at(T0);
    profile("c1", T0 + DAY_MS, "--02-10", "UTC");
    run_at(T0 + DAY_MS);
    ck_assert_int_eq(zscore("pb:wake", "c1"), utc(2027, 2, 9, 19, 0));
    run_at(utc(2027, 1, 19, 19, 0));        /* c2's occurrence starts, waits for 09:00 */
    profile("c2", utc(2027, 1, 20, 1, 0), "--01-25", "UTC");
    run_at(utc(2027, 1, 20, 1, 0));
    sent_at(utc(2027, 1, 25, 9, 0), 0, "To: Ben");
    sent_at(utc(2027, 2, 10, 9, 0), 1, "To: Anna");
    sent_at(utc(2028, 1, 25, 9, 0), 2, "To: Ben");
    /* c1 again: its 2028 occurrence started, then moved to a past day */
    run_at(utc(2028, 2, 9, 19, 0));
    profile("c1", utc(2028, 2, 9, 20, 0), "--01-05", "UTC");
    run_at(utc(2028, 2, 9, 20, 0));
    run_at(utc(2028, 2, 10, 9, 0));
    ck_assert_int_eq(messages(), 3);
    assert_status("c1", "birthday@2028", "mail", "skipped");
    ck_assert_int_eq(logged("mail", "skipped", why, sizeof(why)), 1);
    assert_has(why, "its day is over (birthday --01-05, 2028-01-05 09:00 UTC)");
    ck_assert_int_eq(zscore("pb:wake", "c1"), utc(2029, 1, 4, 19, 0));
    run_at(utc(2028, 12, 31, 9, 0));
    ck_assert_int_eq(messages(), 3);
}
END_TEST

/* An exit event ends the year's occurrence (its later step is skipped);
 * next year's starts afresh. */
START_TEST(test_birthday_exit)
{
    load_with("0", "workflows = ( { name = \"birthday\"; trigger = { date = \"birthday\"; }; "
              "exit_events = [ \"purchase\" ]; steps = ( { name = \"mail\"; "
              "send = \"birthday.en.eml\"; }, { name = \"reminder\"; send = \"birthday.en.eml\"; "
              "delay_days = 10; } ); } );", 1);
    profile("c1", T0, "--01-20", "UTC");
    run_at(T0);
    sent_at(utc(2027, 1, 20, 9, 0), 0, "To: Anna");
    event("purchase", "c1", utc(2027, 1, 21, 9, 0));
    run_at(utc(2027, 1, 21, 9, 0));
    ck_assert_int_eq(logged("-", "exited", NULL, 0), 1);
    run_at(utc(2027, 2, 1, 9, 0));
    ck_assert_int_eq(messages(), 1);
    assert_status("c1", "birthday@2027", "reminder", "skipped");
    sent_at(utc(2028, 1, 20, 9, 0), 1, "To: Anna");
    MESSAGE(2, "X-Campaign: birthday:mail");
    run_at(utc(2028, 1, 30, 9, 0));
    ck_assert_int_eq(messages(), 3);
    MESSAGE(3, "X-Campaign: birthday:reminder");
}
END_TEST

/* A re-evaluation of contact c now, as a reload makes. */
static void reevaluate(const char *c)
{
    struct pb_scorer s;
    struct pb_apply a;
    struct pb_apply_entry e = { .kind = PB_APPLY_REEVAL, .id = "", .contact = c, .ts = fake_now,
                                .eid = "", .type = "", .msg = "", .campaign = "" };

    scorer_open(&s, "r");
    pb_apply_init(&a, "pb:", s.stream, &crules);
    pb_apply_add(&a, &e);
    ck_assert_int_eq(pb_scorer_run_built(&s, &a, g_string_new("r")), 0);
    pb_apply_free(&a);
    pb_scorer_free(&s);
}

/* A signup on the birthday itself, at 09:00 there: the mail goes at
 * once; the entry delivered twice, a second scorer after the wake-up and
 * a re-evaluation give one mail. */
START_TEST(test_birthday_twice_one_mail)
{
    static const char *const kv[] = { "email", "bo@example.net", "first_name", "Bo",
                                      "birthday", "--01-15", "timezone", "Europe/Berlin", NULL };
    load_with("0", BIRTHDAY, 1);
    g_free(xadd_kv("signup", "c9", T0, kv));    /* 09:00 in Berlin */
    profile("c1", T0, "--01-16", "UTC");
    batch_twice();
    ck_assert_int_eq(logged("mail", "queued", NULL, 0), 1);
    run_at(T0);
    run_at(T0 + HOUR_MS);
    ck_assert_int_eq(messages(), 1);
    MESSAGE(1, "To: Bo <bo@example.net>", "X-Campaign: birthday:mail");
    /* two scorers on c1's wake-up, a re-evaluation: one occurrence */
    fake_now = utc(2027, 1, 15, 19, 0);
    drain_as("a");
    drain_as("b");
    reevaluate("c1");
    ck_assert_int_eq(logged("mail", "queued", NULL, 0), 2);
    run_at(utc(2027, 1, 16, 9, 0));
    ck_assert_int_eq(messages(), 2);
}
END_TEST

/* ---- the shipped examples -------------------------------------------------- */

/* The rules and workflows of config/postbeacon.conf in place of the
 * test's (its submission and templates stay the test's: load_wf). */
static void load_sample(int contacts)
{
    struct pb_rules sample;
    char err[1024];

    load_with("0", "", contacts);
    ck_assert_msg(pb_rules_load(TESTS_DIR "/../config/postbeacon.conf", &sample, err,
                                sizeof(err)) == 0, "%s", err);
    ck_assert_msg(pb_workflows_load_templates(&sample.wf, &cconf, err, sizeof(err)) == 0, "%s",
                  err);
    pb_rules_free(&crules);
    crules = sample;
}

/* The messages captured to address with this campaign. */
static int mails(const char *to, const char *campaign)
{
    int n = 0;

    for (int i = 1; i <= messages(); i++) {
        char *m = message(i);
        n += strstr(m, to) != NULL && strstr(m, campaign) != NULL;
        g_free(m);
    }
    return n;
}

/* Tagged event-guest: the invitation; Anna opens it and gets the
 * programme an hour later; Ben does not, and gets the invitation again
 * (a new subject) after two weeks, then the programme when he opens
 * that one. Nobody gets anything twice. */
START_TEST(test_sample_event_invitation)
{
    static const char *const guest[] = { "tags", "event-guest", NULL };

    load_sample(2);
    g_free(xadd_kv("profile", "c1", T0, guest));
    g_free(xadd_kv("profile", "c2", T0, guest));
    run_at(T0);
    ck_assert_int_eq(mails("anna@", "X-Campaign: event-invite:invite"), 1);
    ck_assert_int_eq(mails("ben@", "X-Campaign: event-invite:invite"), 1);
    /* what the milter records as the invitations pass, then Anna's open */
    tracked("sent", "c1", "event-invite:invite", T0 + 1000, NULL);
    tracked("sent", "c2", "event-invite:invite", T0 + 1000, NULL);
    tracked("open", "c1", "event-invite:invite", T0 + DAY_MS, "human");
    run_at(T0 + DAY_MS);
    run_at(T0 + DAY_MS + HOUR_MS);
    ck_assert_int_eq(mails("anna@", "X-Campaign: event-programme:programme"), 1);
    ck_assert_int_eq(messages(), 3);
    run_at(T0 + 14 * DAY_MS + 1000);
    ck_assert_int_eq(messages(), 4);
    ck_assert_int_eq(mails("ben@", "X-Campaign: event-resend:invite"), 1);
    ck_assert_int_eq(mails("ben@", "Subject: Seats left:"), 1);
    tracked("sent", "c2", "event-resend:invite", T0 + 14 * DAY_MS + 2000, NULL);
    tracked("open", "c2", "event-resend:invite", T0 + 15 * DAY_MS, "human");
    run_at(T0 + 15 * DAY_MS + HOUR_MS);
    ck_assert_int_eq(mails("ben@", "X-Campaign: event-programme:programme"), 1);
    run_at(T0 + 60 * DAY_MS);
    ck_assert_int_eq(messages(), 5);
}
END_TEST

/* The welcome series: five mails over seven weeks after a signup. */
START_TEST(test_sample_welcome_series)
{
    static const char *const kv[] = { "email", "bo@example.net", "first_name", "Bo", NULL };
    static const char *const step[] = { "hello", "delivery", "sizes", "reviews", "thanks" };
    long long at = T0 + 5 * 60000;

    load_sample(0);
    g_free(xadd_kv("signup", "c9", T0, kv));
    for (int i = 0; i < 5; i++) {
        char want[64];
        at += i == 0 ? 0 : i == 1 ? 7 * DAY_MS : 14 * DAY_MS;
        run_at(at - 1);
        ck_assert_int_eq(messages(), i);
        run_at(at);
        snprintf(want, sizeof(want), "X-Campaign: welcome:%s", step[i]);
        MESSAGE(i + 1, "To: Bo <bo@example.net>", want);
    }
    ck_assert_int_eq(at, T0 + 49 * DAY_MS + 5 * 60000);
    run_at(T0 + 70 * DAY_MS);
    ck_assert_int_eq(messages(), 5);
}
END_TEST

TCase *triggers_tcase(void)
{
    TCase *tc = tcase_create("triggers");

    tcase_add_checked_fixture(tc, scorer_setup, scorer_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_machine_open_gets_resend);
    tcase_add_test(tc, test_human_open_no_resend);
    tcase_add_test(tc, test_imputed_open_counts);
    tcase_add_test(tc, test_campaign_pattern);
    tcase_add_test(tc, test_sent_twice_one_start);
    tcase_add_test(tc, test_opened_trigger);
    tcase_add_test(tc, test_birthday_time_zones);
    tcase_add_test(tc, test_birthday_daylight_saving);
    tcase_add_test(tc, test_birthday_leap_day);
    tcase_add_test(tc, test_birthday_changed);
    tcase_add_test(tc, test_birthday_twice_one_mail);
    tcase_add_test(tc, test_birthday_exit);
    tcase_add_test(tc, test_sample_event_invitation);
    tcase_add_test(tc, test_sample_welcome_series);
    return tc;
}
