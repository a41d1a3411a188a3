/*
 * check_scorer_segments.c - fit score, grade and every segment kind, as a
 * user would check them in Redis after the scorer ran on a private
 * redis-server with a fake clock: who is in <p>segment:<name> since when,
 * what <p>segment-log says, when <p>wake will change a contact, and that
 * decay, inactivity, interest windows and birthdays move contacts out and
 * in at exactly the time they should. Part of check_scorer
 * (check_scorer.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include "check_redis.h"
#include "check_scorer.h"
#include "contact.h"
#include "score.h"
#include "testutil.h"

#define JAN16 1800057600000LL   /* 2027-01-16 00:00 UTC; T0 is 2027-01-15 08:00 */

/* Entry time of contact in segment (its score in the set), or -1. */
static long long member_since(const char *seg, const char *contact)
{
    char *key = g_strconcat("pb:segment:", seg, NULL);
    long long t = zscore(key, contact);

    g_free(key);
    return t;
}

static long long wake_at(const char *contact)
{
    return zscore("pb:wake", contact);
}

/* A field of the newest <p>segment-log entry for segment, contact and op
 * (NULL if none; g_free it); *count: how many such entries there are. */
static char *log_field(const char *seg, const char *contact, const char *op, const char *field,
                       int *count)
{
    redisReply *r = redisCommand(cc, "XRANGE pb:segment-log - +");
    char *found = NULL;

    ck_assert_msg(r != NULL && r->type == REDIS_REPLY_ARRAY, "XRANGE pb:segment-log");
    *count = 0;
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *f = r->element[i]->element[1];
        const char *vals[4] = { NULL, NULL, NULL, NULL };   /* segment contact op field */
        for (size_t j = 0; j + 1 < f->elements; j += 2) {
            const char *names[4] = { "segment", "contact", "op", field };
            for (int k = 0; k < 4; k++)
                if (strcmp(f->element[j]->str, names[k]) == 0)
                    vals[k] = f->element[j + 1]->str;
        }
        if (vals[0] && vals[1] && vals[2] && strcmp(vals[0], seg) == 0
            && strcmp(vals[1], contact) == 0 && strcmp(vals[2], op) == 0) {
            ++*count;
            g_free(found);
            found = g_strdup(vals[3]);
        }
    }
    freeReplyObject(r);
    return found;
}

static long long log_time(const char *seg, const char *contact, const char *op)
{
    int n;
    char *at = log_field(seg, contact, op, "at", &n);
    long long t = at ? g_ascii_strtoll(at, NULL, 10) : -1;

    g_free(at);
    return t;
}

static void run_at(long long now)
{
    fake_now = now;
    drain_as("t1");
}

static void add(char *id)
{
    g_free(id);
}

static void profile(const char *contact, long long ts, const char *const *kv)
{
    add(xadd_kv("profile", contact, ts, kv));
}

static void assert_field(const char *contact, const char *field, const char *want)
{
    char *v = contact_field(contact, field);

    if (want == NULL)
        ck_assert_msg(v == NULL, "%s of %s is %s, expected none", field, contact, v);
    else
        ck_assert_msg(v != NULL && strcmp(v, want) == 0, "%s of %s is %s, expected %s", field,
                      contact, v ? v : "(none)", want);
    g_free(v);
}

/* ---- behaviour thresholds and decay -------------------------------------- */

#define THRESHOLDS "half_life_days = 10; segments = ( " \
    "{ name = \"mql\"; behaviour_at_least = 50; }, " \
    "{ name = \"sql\"; behaviour_at_least = 100; }, " \
    "{ name = \"cold\"; behaviour_below = 20; } );"

START_TEST(test_decay_exit_at_crossing_time)
{
    long long h = 10 * DAY_MS, tc;
    int n;
    char *cause;

    load_scorer(THRESHOLDS, "{ name = \"click\"; event = \"click\"; points = 80; }");
    add(click("c1", "m1", T0, "https://shop.example.com/"));
    run_at(T0);
    ck_assert_int_eq(member_since("mql", "c1"), T0);
    ck_assert_int_eq(member_since("sql", "c1"), -1);
    ck_assert_int_eq(member_since("cold", "c1"), -1);
    /* the exit is scheduled where 80 * 2^(-t/h) falls below 50 */
    tc = wake_at("c1");
    ck_assert_msg(llabs(tc - (T0 + (long long)(h * log2(80.0 / 50.0)))) <= 1, "wake %lld", tc);
    ck_assert(pb_score_at(80, T0, tc - 1, h) >= 50);
    ck_assert(pb_score_at(80, T0, tc, h) < 50);
    run_at(tc - 1);                 /* not yet due: still an MQL */
    ck_assert_int_eq(member_since("mql", "c1"), T0);
    run_at(tc);
    ck_assert_int_eq(member_since("mql", "c1"), -1);
    ck_assert_int_eq(tr_integer(cc, "ZCARD pb:segment:mql"), 0);
    ck_assert_int_eq(log_time("mql", "c1", "leave"), tc);
    cause = log_field("mql", "c1", "leave", "cause", &n);
    ck_assert_str_eq(cause, "wake");
    g_free(cause);
    ck_assert_ptr_null(log_field("mql", "c1", "leave", "campaign", &n));  /* no event */
    g_free(log_field("mql", "c1", "leave", "since", &n));
    ck_assert_int_eq(n, 1);
    /* then 20 is crossed at 2 half-lives: into cold */
    ck_assert_int_eq(wake_at("c1"), T0 + 2 * h + 1);
    run_at(T0 + 2 * h + 1);
    ck_assert_int_eq(member_since("cold", "c1"), T0 + 2 * h + 1);
    ck_assert_int_eq(wake_at("c1"), -1);        /* nothing left to cross */
}
END_TEST

START_TEST(test_mql_then_sql_and_event_cause)
{
    char *cause;
    int n;

    load_scorer("half_life_days = 0; segments = ( { name = \"mql\"; behaviour_at_least = 50; },"
                " { name = \"sql\"; behaviour_at_least = 100; } );",
                "{ name = \"click\"; event = \"click\"; points = 30; }");
    add(click("c1", "m1", T0, "https://shop.example.com/"));
    add(click("c1", "m1", T0 + 1000, "https://shop.example.com/"));
    run_at(T0 + 5000);
    ck_assert_int_eq(member_since("mql", "c1"), T0 + 1000);     /* the second click's time */
    ck_assert_int_eq(member_since("sql", "c1"), -1);
    cause = log_field("mql", "c1", "enter", "cause", &n);
    ck_assert_str_eq(cause, "event click 00000000000000000000000000000002");
    g_free(cause);
    cause = log_field("mql", "c1", "enter", "campaign", &n);    /* for reports */
    ck_assert_str_eq(cause, "spring-sale");
    g_free(cause);
    add(click("c1", "m2", T0 + 2000, "https://shop.example.com/"));
    add(click("c1", "m2", T0 + 3000, "https://shop.example.com/"));
    run_at(T0 + 5000);
    ck_assert_int_eq(member_since("sql", "c1"), T0 + 3000);
    ck_assert_int_eq(member_since("mql", "c1"), T0 + 1000);
    ck_assert_int_eq(wake_at("c1"), -1);        /* no decay: nothing is ever due */
}
END_TEST

/* A workflow started by an event of a campaign names it in its queued
 * entry of <p>wf:log (a report's follow-ups of the campaign); one started
 * by an event without a campaign does not. */
START_TEST(test_campaign_in_workflow_start)
{
    redisReply *r;

    load_scorer("half_life_days = 0; segments = ( { name = \"mql\"; behaviour_at_least = 50; } );"
                "workflows = ( { name = \"follow\"; trigger = { segment = \"mql\"; on = \"enter\"; };"
                " steps = ( { name = \"mark\"; tag = \"hot\"; } ); } );",
                "{ name = \"click\"; event = \"click\"; points = 60; },"
                "{ name = \"buy\"; event = \"purchase\"; points = 60; }");
    add(click("c1", "m1", T0, "https://shop.example.com/"));
    add(xadd("purchase", "c2", NULL, NULL, T0, NULL, NULL));
    run_at(T0 + 1000);
    r = redisCommand(cc, "XRANGE pb:wf:log - +");
    for (size_t i = 0, n = 0; i < r->elements; i++) {
        const redisReply *f = r->element[i]->element[1];
        const char *v[3] = { NULL, NULL, NULL }, *names[3] = { "contact", "campaign", "status" };
        for (size_t j = 0; j + 1 < f->elements; j += 2)
            for (int k = 0; k < 3; k++)
                v[k] = strcmp(f->element[j]->str, names[k]) == 0 ? f->element[j + 1]->str : v[k];
        if (strcmp(v[2], "queued") == 0)        /* the start; c1's by a click of spring-sale */
            ck_assert_str_eq(v[0], n++ == 0 ? "c1" : "c2");
        ck_assert_str_eq(v[1] ? v[1] : "-", strcmp(v[2], "queued") == 0
                         && strcmp(v[0], "c1") == 0 ? "spring-sale" : "-");
    }
    freeReplyObject(r);
}
END_TEST

/* ---- fit and grade ------------------------------------------------------ */

#define FIT "fit = ( " \
    "{ name = \"city\"; attribute = \"city\"; in = [ \"Berlin\", \"Hamburg\" ]; points = 10; }," \
    "{ name = \"de\"; attribute = \"language\"; equals = \"de\"; points = 5; }," \
    "{ name = \"vip\"; tag = \"vip\"; points = 20; }," \
    "{ name = \"age\"; age = [ 25, 55 ]; points = 10; }," \
    "{ name = \"size\"; attribute = \"attr:employees\"; range = [ 50, 1000 ]; points = 15; } );" \
    "grade = { fit = [ 50, 30, 10 ]; behaviour = [ 100, 50, 20 ]; };" \
    "segments = ( { name = \"a-leads\"; grade = [ \"A1\", \"A2\" ]; }," \
    "{ name = \"good-fit\"; fit_at_least = 40; } );"

START_TEST(test_fit_and_grade)
{
    const char *const p1[] = { "city", "BERLIN", "language", "de", "tags", "news, VIP",
                               "birthday", "1990-06-01", "attr:employees", "200", NULL };
    const char *const p2[] = { "city", "", "tags", "news", NULL };

    load_scorer("half_life_days = 0;" FIT, "{ name = \"click\"; event = \"click\"; points = 60; }");
    profile("c1", T0, p1);
    run_at(T0);
    assert_field("c1", "city", "BERLIN");
    assert_field("c1", "fit", "60");            /* 10 + 5 + 20 + 10 (36 years) + 15 */
    assert_field("c1", "grade", "A4");
    ck_assert_int_eq(member_since("good-fit", "c1"), T0);
    ck_assert_int_eq(member_since("a-leads", "c1"), -1);
    add(click("c1", "m1", T0 + 1000, "https://shop.example.com/"));
    run_at(T0 + 1000);
    assert_field("c1", "grade", "A2");
    ck_assert_int_eq(member_since("a-leads", "c1"), T0 + 1000);
    profile("c1", T0 + 2000, p2);               /* city deleted, vip tag gone: 5 + 10 + 15 */
    run_at(T0 + 2000);
    assert_field("c1", "city", NULL);
    assert_field("c1", "fit", "30");
    assert_field("c1", "grade", "B2");
    ck_assert_int_eq(member_since("a-leads", "c1"), -1);
    ck_assert_int_eq(member_since("good-fit", "c1"), -1);
}
END_TEST

START_TEST(test_fit_age_changes_on_birthday)
{
    const char *const p[] = { "city", "Hamburg", "birthday", "2002-01-16", NULL };

    load_scorer("half_life_days = 0;" FIT, "");
    profile("c2", T0, p);
    run_at(T0);
    assert_field("c2", "fit", "10");            /* 24 today */
    assert_field("c2", "grade", "C4");
    ck_assert_int_eq(wake_at("c2"), JAN16);     /* 25 tomorrow */
    run_at(JAN16 - 1);
    assert_field("c2", "fit", "10");
    run_at(JAN16);
    assert_field("c2", "fit", "20");
    assert_field("c2", "grade", "C4");
}
END_TEST

/* A signup as the tracker's POST /e writes it: the address and attributes
 * are in the contact hash already (written in the same script as the
 * entry), the entry has the contact id and the names of the attributes
 * only. The scorer evaluates fit and segments from the hash. */
START_TEST(test_signup_as_the_tracker_writes_it)
{
    const char *const names[] = { "attrs", "city,language", "source", "http", NULL };
    const char *id = "a0a1a2a3a4a5a6a7";
    struct pb_scorer s;
    redisReply *r;

    load_scorer("half_life_days = 0;" FIT, "");
    r = redisCommand(cc, "HSET pb:contact:%s email ann@example.com city Berlin language de "
                     "created_at 1700000000", id);
    freeReplyObject(r);
    add(xadd_kv("signup", id, T0 - 1000, names));
    scorer_open(&s, "t1");
    ck_assert_int_eq(pb_scorer_drain(&s), 0);
    pb_scorer_free(&s);
    assert_field(id, "fit", "15");              /* city 10 + language 5, from the hash */
    assert_field(id, "created_at", "1700000000");
    ck_assert_int_eq(pending_count(), 0);
}
END_TEST

START_TEST(test_signup_creates_contact)
{
    const char *const ann[] = { "email", " <Ann@Example.COM>", "first_name", "Ann",
                                "city", "Berlin", NULL };
    const char *const again[] = { "email", "ann@example.com", "first_name", "Anna", NULL };
    const char *const nobody[] = { "first_name", "Nobody", NULL };
    const char *const by_mail[] = { "email", "ANN@example.com", "city", "Hamburg", NULL };
    const char *const forged[] = { "email", "bob@example.com", "contact", "0123456789abcdef",
                                   "first_name", "Bob", NULL };
    struct pb_keyring ring;
    struct pb_scorer s;
    uint8_t raw[PB_CONTACT_LEN];
    char id[2 * PB_CONTACT_LEN + 1], *v;

    tu_test_keyring(&ring);
    pb_contact_id(&ring, "ann@example.com", raw);
    pb_hex(raw, PB_CONTACT_LEN, id);
    load_scorer("half_life_days = 0;" FIT, "");
    add(xadd_kv("signup", NULL, T0 - 5000, ann));
    add(xadd_kv("signup", NULL, T0 - 4000, nobody));        /* no address: nothing */
    add(xadd_kv("signup", NULL, T0 - 3000, again));         /* a second signup */
    add(xadd_kv("profile", NULL, T0 - 2000, by_mail));      /* found by its address */
    add(xadd_kv("signup", NULL, T0 - 1000, forged));        /* id not of its address */
    scorer_open(&s, "t1");
    s.ring = &ring;
    ck_assert_int_eq(pb_scorer_drain(&s), 0);
    pb_scorer_free(&s);
    pb_keys_free(&ring);
    redisReply *r = redisCommand(cc, "HGET pb:contacts:by-email ann@example.com");
    ck_assert_msg(r && r->type == REDIS_REPLY_STRING && strcmp(r->str, id) == 0, "by-email");
    freeReplyObject(r);
    assert_field(id, "email", "ann@example.com");
    assert_field(id, "first_name", "Anna");
    v = g_strdup_printf("%lld", (T0 - 5000) / 1000);
    assert_field(id, "created_at", v);          /* the first signup's time */
    g_free(v);
    assert_field(id, "city", "Hamburg");
    assert_field(id, "fit", "10");              /* recomputed at each change */
    ck_assert_int_eq(member_since("good-fit", id), -1);
    ck_assert_int_eq(key_count("pb:contact:*"), 1);
    ck_assert_int_eq(pending_count(), 0);
}
END_TEST

/* ---- interest, attributes, birthdays -------------------------------------- */

START_TEST(test_interest_window)
{
    load_scorer("segments = ( { name = \"interest-sofas\"; clicked = \"*/sofas*\"; "
                "within_days = 30; }, { name = \"webinar\"; clicked_campaign = \"webinar-*\"; "
                "within_days = 7; } );", "");
    add(click("c1", "m1", T0, "https://shop.example.com/Sofas/red?utm_source=x"));
    add(click("c2", "m2", T0, "https://shop.example.com/about"));
    add(xadd("click", "c3", "spring-sale", "m3", T0, "machine", "https://shop.example.com/sofas"));
    add(xadd("click", "c4", "webinar-5", "m4", T0, "human", "https://shop.example.com/x"));
    run_at(T0);
    ck_assert_int_eq(member_since("interest-sofas", "c1"), T0);
    ck_assert_int_eq(member_since("interest-sofas", "c2"), -1);
    ck_assert_int_eq(member_since("interest-sofas", "c3"), -1);    /* a scanner's click */
    ck_assert_int_eq(member_since("webinar", "c4"), T0);
    ck_assert_int_eq(member_since("webinar", "c1"), -1);
    ck_assert_int_eq(wake_at("c1"), T0 + 30 * DAY_MS);
    add(click("c1", "m5", T0 + 10 * DAY_MS, "https://shop.example.com/sofas"));
    run_at(T0 + 10 * DAY_MS);
    ck_assert_int_eq(wake_at("c1"), T0 + 40 * DAY_MS);            /* renewed */
    run_at(T0 + 30 * DAY_MS);
    ck_assert_int_eq(member_since("interest-sofas", "c1"), T0);
    ck_assert_int_eq(member_since("webinar", "c4"), -1);           /* 7 days are over */
    run_at(T0 + 40 * DAY_MS - 1);
    ck_assert_int_eq(member_since("interest-sofas", "c1"), T0);
    run_at(T0 + 40 * DAY_MS);
    ck_assert_int_eq(member_since("interest-sofas", "c1"), -1);
    ck_assert_int_eq(log_time("interest-sofas", "c1", "leave"), T0 + 40 * DAY_MS);
}
END_TEST

START_TEST(test_attribute_segments_and_birthday_week)
{
    const char *const p1[] = { "country", "de", "attr:employees", "150", "tags", "vip",
                               "birthday", "--01-20", NULL };
    const char *const p2[] = { "country", "AT", "birthday", "1985-01-25", NULL };
    const char *const p3[] = { "country", "", NULL };

    load_scorer("segments = ( { name = \"de\"; attribute = \"country\"; equals = \"DE\"; },"
                "{ name = \"dach\"; attribute = \"country\"; in = [ \"de\", \"at\", \"ch\" ]; },"
                "{ name = \"big\"; attribute = \"attr:employees\"; range = [ 100, 10000 ]; },"
                "{ name = \"vip\"; tag = \"vip\"; },"
                "{ name = \"birthday-week\"; birthday_within_days = 7; } );", "");
    profile("c1", T0, p1);
    profile("c2", T0, p2);
    run_at(T0);
    ck_assert_int_eq(member_since("de", "c1"), T0);
    ck_assert_int_eq(member_since("dach", "c1"), T0);
    ck_assert_int_eq(member_since("big", "c1"), T0);
    ck_assert_int_eq(member_since("vip", "c1"), T0);
    ck_assert_int_eq(member_since("birthday-week", "c1"), T0);     /* in 5 days */
    ck_assert_int_eq(member_since("de", "c2"), -1);
    ck_assert_int_eq(member_since("dach", "c2"), T0);
    ck_assert_int_eq(member_since("birthday-week", "c2"), -1);     /* in 10 days */
    ck_assert_int_eq(wake_at("c1"), JAN16 + 5 * DAY_MS);            /* the day after it */
    ck_assert_int_eq(wake_at("c2"), JAN16 + 3 * DAY_MS);            /* 6 days before it */
    run_at(JAN16 + 3 * DAY_MS);
    ck_assert_int_eq(member_since("birthday-week", "c2"), JAN16 + 3 * DAY_MS);
    run_at(JAN16 + 5 * DAY_MS - 1);
    ck_assert_int_eq(member_since("birthday-week", "c1"), T0);
    run_at(JAN16 + 5 * DAY_MS);
    ck_assert_int_eq(member_since("birthday-week", "c1"), -1);
    ck_assert_int_eq(wake_at("c1"), JAN16 + 363 * DAY_MS);     /* 2028-01-14: next year's week */
    profile("c1", JAN16 + 6 * DAY_MS, p3);
    run_at(JAN16 + 6 * DAY_MS);
    ck_assert_int_eq(member_since("de", "c1"), -1);
    ck_assert_int_eq(member_since("dach", "c1"), -1);
    ck_assert_int_eq(member_since("big", "c1"), T0);
}
END_TEST

/* ---- inactivity, suppression, combinations ------------------------------ */

START_TEST(test_dormant_and_active)
{
    char *cause;
    int n;

    load_scorer("segments = ( { name = \"dormant\"; dormant_days = 90; },"
                "{ name = \"active\"; active_days = 30; } );", "");
    add(open_ev("c1", "m1", T0));
    tr_integer(cc, "HSET pb:contact:c9 first_seen %lld", T0 / 1000);   /* the milter's send */
    add(xadd("sent", "c9", "spring-sale", "m9", T0, NULL, NULL));
    run_at(T0);
    ck_assert_int_eq(member_since("active", "c1"), T0);
    ck_assert_int_eq(member_since("dormant", "c1"), -1);
    ck_assert_int_eq(wake_at("c1"), T0 + 30 * DAY_MS);
    ck_assert_int_eq(wake_at("c9"), T0 + 90 * DAY_MS);
    add(xadd("open", "c1", "spring-sale", "m2", T0 + 20 * DAY_MS, "machine", NULL));
    run_at(T0 + 20 * DAY_MS);
    ck_assert_int_eq(wake_at("c1"), T0 + 30 * DAY_MS);     /* a proxy's open is no activity */
    run_at(T0 + 30 * DAY_MS);
    ck_assert_int_eq(member_since("active", "c1"), -1);
    ck_assert_int_eq(wake_at("c1"), T0 + 90 * DAY_MS);
    run_at(T0 + 90 * DAY_MS);
    ck_assert_int_eq(member_since("dormant", "c1"), T0 + 90 * DAY_MS);
    ck_assert_int_eq(member_since("dormant", "c9"), T0 + 90 * DAY_MS);
    add(click("c1", "m3", T0 + 100 * DAY_MS, "https://shop.example.com/"));
    run_at(T0 + 100 * DAY_MS);
    ck_assert_int_eq(member_since("dormant", "c1"), -1);      /* reactivated */
    ck_assert_int_eq(member_since("active", "c1"), T0 + 100 * DAY_MS);
    cause = log_field("dormant", "c1", "leave", "cause", &n);
    ck_assert_ptr_nonnull(cause);
    ck_assert_msg(strncmp(cause, "event click ", 12) == 0, "%s", cause);
    g_free(cause);
}
END_TEST

#define MAILABLE "segments = ( { name = \"active\"; active_days = 30; }," \
    "{ name = \"suppressed\"; suppressed = true; }," \
    "{ name = \"mailable\"; all = [ \"active\" ]; not = [ \"suppressed\" ]; }," \
    "{ name = \"either\"; any = [ \"active\", \"suppressed\" ]; } );"

START_TEST(test_suppressed_and_combinations)
{
    load_scorer(MAILABLE, "");
    add(open_ev("c1", "m1", T0));
    add(open_ev("c2", "m2", T0));
    run_at(T0);
    ck_assert_int_eq(tr_integer(cc, "ZCARD pb:segment:mailable"), 2);
    /* c2 unsubscribes: the tracker adds it to <p>suppressed with the event */
    tr_integer(cc, "SADD pb:suppressed c2");
    add(xadd("unsubscribe", "c2", "spring-sale", "m2", T0 + 1000, "human", NULL));
    run_at(T0 + 1000);
    ck_assert_int_eq(member_since("suppressed", "c2"), T0 + 1000);
    ck_assert_int_eq(member_since("mailable", "c2"), -1);
    ck_assert_int_eq(member_since("mailable", "c1"), T0);
    ck_assert_int_eq(member_since("either", "c2"), T0);
    ck_assert_int_eq(tr_integer(cc, "ZCARD pb:segment:mailable"), 1);
    /* re-subscribed by the CLI; the next event puts it back */
    tr_integer(cc, "SREM pb:suppressed c2");
    add(open_ev("c2", "m3", T0 + 2000));
    run_at(T0 + 2000);
    ck_assert_int_eq(member_since("suppressed", "c2"), -1);
    ck_assert_int_eq(member_since("mailable", "c2"), T0 + 2000);
    /* 31 days on, neither is active: out of mailable and either */
    run_at(T0 + 2000 + 30 * DAY_MS);
    ck_assert_int_eq(tr_integer(cc, "ZCARD pb:segment:mailable"), 0);
    ck_assert_int_eq(tr_integer(cc, "ZCARD pb:segment:either"), 0);
}
END_TEST

/* The grade follows the decayed score across a band at its crossing time. */
START_TEST(test_grade_band_by_decay)
{
    long long h = 10 * DAY_MS, tc;

    load_scorer("half_life_days = 10; grade = { fit = [ 50, 30, 10 ]; behaviour = [ 100, 50, 20 ]; };"
                "segments = ( { name = \"a-leads\"; grade = [ \"D1\" ]; } );",
                "{ name = \"click\"; event = \"click\"; points = 150; }");
    add(click("c1", "m1", T0, "https://shop.example.com/"));
    run_at(T0);
    assert_field("c1", "grade", "D1");
    ck_assert_int_eq(member_since("a-leads", "c1"), T0);
    tc = wake_at("c1");
    ck_assert(pb_score_at(150, T0, tc - 1, h) >= 100);
    ck_assert(pb_score_at(150, T0, tc, h) < 100);
    run_at(tc);
    assert_field("c1", "grade", "D2");
    ck_assert_int_eq(member_since("a-leads", "c1"), -1);
    ck_assert_int_eq(log_time("a-leads", "c1", "leave"), tc);
}
END_TEST

/* A wake-up delivered twice (two scorers took it from <p>wake): the
 * contact changes once; the second finds it no longer due. */
START_TEST(test_wake_up_twice_changes_once)
{
    struct pb_apply_entry e = { .kind = PB_APPLY_WAKE, .id = "", .contact = "c1", .eid = "",
                                .type = "", .msg = "", .campaign = "" };
    struct pb_scorer s;
    struct pb_apply a;
    int n;

    load_scorer("segments = ( { name = \"active\"; active_days = 30; } );", "");
    add(open_ev("c1", "m1", T0));
    run_at(T0);
    fake_now = T0 + 30 * DAY_MS;
    scorer_open(&s, "t1");
    pb_apply_init(&a, "pb:", "pb:events", &crules);
    pb_apply_add(&a, &e);
    pb_apply_add(&a, &e);
    ck_assert_int_eq(pb_scorer_run_built(&s, &a, g_string_new("ww")), 0);
    pb_apply_free(&a);
    ck_assert_int_eq(s.stats.wakes, 1);
    ck_assert_int_eq(s.stats.changes, 1);
    pb_scorer_free(&s);
    ck_assert_int_eq(member_since("active", "c1"), -1);
    g_free(log_field("active", "c1", "leave", "at", &n));
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(wake_at("c1"), -1);
}
END_TEST

/* ---- reload --------------------------------------------------------------- */

START_TEST(test_reload_reevaluates)
{
    struct pb_rules again, same;
    struct pb_scorer s;
    char *cause;
    int n;
    const char *rules = "{ name = \"click\"; event = \"click\"; points = 20; }";

    load_scorer("half_life_days = 0; segments = ( { name = \"mql\"; behaviour_at_least = 50; },"
                "{ name = \"old\"; behaviour_at_least = 10; } );", rules);
    for (int i = 0; i < 2; i++)
        add(click("c1", "m1", T0 - 3 + i, "https://shop.example.com/"));
    for (int i = 0; i < 3; i++)
        add(click("c2", "m2", T0 - 3 + i, "https://shop.example.com/"));
    scorer_open(&s, "t1");
    ck_assert_int_eq(pb_scorer_drain(&s), 0);
    ck_assert_int_eq(member_since("mql", "c1"), -1);
    ck_assert_int_eq(member_since("mql", "c2"), T0 - 1);
    /* the same definitions again: nothing to re-evaluate */
    load_rules_into("half_life_days = 0; segments = ( { name = \"mql\"; behaviour_at_least = 50; },"
                    "{ name = \"old\"; behaviour_at_least = 10; } );", rules, &same);
    ck_assert_int_eq(pb_scorer_set_rules(&s, &cconf.scorer, &same), 0);
    /* mql lowered to 30, "old" removed */
    load_rules_into("half_life_days = 0; segments = ( { name = \"mql\"; behaviour_at_least = 30; } );",
                    rules, &again);
    fake_now = T0 + 5000;
    ck_assert_int_eq(pb_scorer_set_rules(&s, &cconf.scorer, &again), 1);
    ck_assert_int_eq(pb_scorer_drain(&s), 0);
    ck_assert_int_eq(member_since("mql", "c1"), T0 + 5000);
    ck_assert_int_eq(member_since("mql", "c2"), T0 - 1);
    cause = log_field("mql", "c1", "enter", "cause", &n);
    ck_assert_str_eq(cause, "reload");
    g_free(cause);
    ck_assert_int_eq(s.stats.reevaluated, 2);
    ck_assert_int_eq(key_count("pb:segment:old"), 0);
    assert_field("c2", "seg:old", NULL);
    ck_assert_int_eq(s.reeval.active, 0);
    pb_scorer_free(&s);
    pb_rules_free(&again);
    pb_rules_free(&same);
}
END_TEST

TCase *segments_tcase(void)
{
    TCase *tc = tcase_create("segments");

    tcase_add_checked_fixture(tc, scorer_setup, scorer_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_decay_exit_at_crossing_time);
    tcase_add_test(tc, test_mql_then_sql_and_event_cause);
    tcase_add_test(tc, test_campaign_in_workflow_start);
    tcase_add_test(tc, test_fit_and_grade);
    tcase_add_test(tc, test_fit_age_changes_on_birthday);
    tcase_add_test(tc, test_signup_creates_contact);
    tcase_add_test(tc, test_signup_as_the_tracker_writes_it);
    tcase_add_test(tc, test_interest_window);
    tcase_add_test(tc, test_attribute_segments_and_birthday_week);
    tcase_add_test(tc, test_dormant_and_active);
    tcase_add_test(tc, test_suppressed_and_combinations);
    tcase_add_test(tc, test_grade_band_by_decay);
    tcase_add_test(tc, test_wake_up_twice_changes_once);
    tcase_add_test(tc, test_reload_reevaluates);
    return tc;
}
