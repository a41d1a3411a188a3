/*
 * check_store_events.c - what the tracker's store writes for each event,
 * against docs/redis-schema.md: the stream entries and the counters of
 * opens, clicks and unsubscribes; unique against total counts; human
 * against machine; imputed opens; the suppression list; the key prefix;
 * stream retention (MAXLEN, MINID, both). Part of check_store.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include "contact.h"
#include "events.h"
#include "testutil.h"
#include "check_store.h"
#include "check_redis.h"

static void msg_of(const struct pb_token *tok, char out[17])
{
    pb_hex(tok->msg_id, PB_MSGID_LEN, out);
}

static void contact_of(const struct pb_token *tok, char out[17])
{
    pb_hex(tok->contact, PB_CONTACT_LEN, out);
}

static void set_str(char **field, const char *value)
{
    free(*field);
    *field = value ? strdup(value) : NULL;
}

/* key's field is want (NULL: absent). */
static void assert_h(redisContext *c, const char *key, const char *field, const char *want)
{
    char *v = shget_str(c, key, field);

    if (want == NULL)
        ck_assert_msg(v == NULL, "%s %s = %s, want none", key, field, v);
    else
        ck_assert_msg(v && strcmp(v, want) == 0, "%s %s = %s, want %s", key, field,
                      v ? v : "(none)", want);
    g_free(v);
}

static void assert_field(const redisReply *entry, const char *name, const char *want)
{
    const char *v = tu_stream_field(entry, name);

    ck_assert_msg(v && strcmp(v, want) == 0, "stream field %s = %s, want %s", name,
                  v ? v : "(none)", want);
}

/* Start with retention off, wait until connected. */
static void start_up(void)
{
    store_start(sjournal, 1000, 500, NULL);
    run_until(is_up, 5, "connected");
}

static void wait_written(unsigned long n)
{
    struct pb_store_stats s;

    run_until(is_idle, 5, "idle");
    pb_store_stats(&s);
    ck_assert_uint_eq(s.written, n);
}

/* ---- what each event writes ------------------------------------------- */

START_TEST(test_click_schema)
{
    redisContext *c;
    redisReply *r;
    struct pb_token tok;
    char msg[17], contact[17], key[64];
    long long t0 = pb_event_now_ms();
    const char *ts;

    start_up();
    make_token(&tok, 1, 1, 3, "https://shop.example.com/a?utm_source=newsletter");
    msg_of(&tok, msg);
    contact_of(&tok, contact);
    submit(PB_EV_OPEN, &tok, PB_CLASS_HUMAN, "Mozilla/5.0 (test)", NULL);
    submit(PB_EV_CLICK, &tok, PB_CLASS_HUMAN, "Mozilla/5.0 (test)", NULL);
    wait_written(2);

    c = sconnect();
    r = sstream(c);
    ck_assert_uint_eq(r->elements, 2);
    assert_field(r->element[0], "type", "open");
    assert_field(r->element[0], "imputed", "0");
    assert_field(r->element[1], "type", "click");
    for (int i = 0; i < 2; i++) {
        const redisReply *e = r->element[i];
        ck_assert_int_eq((int)strspn(tu_stream_field(e, "eid"), "0123456789abcdef"), 32);
        ck_assert_int_eq((int)strlen(tu_stream_field(e, "eid")), 32);
        assert_field(e, "msg", msg);
        assert_field(e, "contact", contact);
        assert_field(e, "campaign", "spring-sale");
        assert_field(e, "sent_at", "1700000000");
        assert_field(e, "ua", "Mozilla/5.0 (test)");
        assert_field(e, "ip", "192.0.2.0");
        assert_field(e, "class", "human");
        assert_field(e, "reason", "");
        ts = tu_stream_field(e, "ts");
        ck_assert_msg(ts && atoll(ts) >= t0 && atoll(ts) <= pb_event_now_ms(), "ts %s", ts);
    }
    assert_field(r->element[1], "link", "3");
    assert_field(r->element[1], "url", "https://shop.example.com/a?utm_source=newsletter");
    ck_assert_ptr_null(tu_stream_field(r->element[0], "url"));
    freeReplyObject(r);

    assert_h(c, "pb:campaign:spring-sale", "opens_human", "1");
    assert_h(c, "pb:campaign:spring-sale", "unique_opens_human", "1");
    assert_h(c, "pb:campaign:spring-sale", "clicks_human", "1");
    assert_h(c, "pb:campaign:spring-sale", "unique_clicks_human", "1");
    assert_h(c, "pb:campaign:spring-sale", "imputed_opens", NULL);
    assert_h(c, "pb:campaign-links:spring-sale", "3:url",
             "https://shop.example.com/a?utm_source=newsletter");
    assert_h(c, "pb:campaign-links:spring-sale", "3:clicks_human", "1");
    assert_h(c, "pb:campaign-links:spring-sale", "3:unique_clicks_human", "1");
    ck_assert_int_eq(tr_integer(c, "EXISTS pb:campaigns"), 0);     /* the milter's */

    /* opens and clicks are not written per message or per contact */
    snprintf(key, sizeof(key), "pb:msg:%s", msg);
    ck_assert_int_eq(tr_integer(c, "EXISTS %s", key), 0);
    snprintf(key, sizeof(key), "pb:contact:%s", contact);
    ck_assert_int_eq(tr_integer(c, "EXISTS %s", key), 0);
    ck_assert_int_eq(tr_integer(c, "EXISTS pb:suppressed"), 0);
    r = scmd(c, "INFO commandstats");      /* one batch, as EVALSHA, not the whole script */
    ck_assert_msg(strstr(r->str, "cmdstat_evalsha:calls=1,") != NULL, "%s", r->str);
    freeReplyObject(r);
    redisFree(c);
}
END_TEST

/* Same contact twice: total 2, unique 1; another contact: 3 and 2. Per
 * link too; and opens likewise. */
START_TEST(test_unique_vs_total)
{
    redisContext *c;
    struct pb_token a, a2, b;

    start_up();
    make_token(&a, 1, 1, 0, "https://example.com/x");
    make_token(&a2, 1, 1, 1, "https://example.com/y");
    make_token(&b, 2, 2, 0, "https://example.com/x");
    submit(PB_EV_OPEN, &a, PB_CLASS_HUMAN, "ua", NULL);
    submit(PB_EV_OPEN, &a, PB_CLASS_HUMAN, "ua", NULL);
    submit(PB_EV_CLICK, &a, PB_CLASS_HUMAN, "ua", NULL);
    submit(PB_EV_CLICK, &a, PB_CLASS_HUMAN, "ua", NULL);
    submit(PB_EV_CLICK, &a2, PB_CLASS_HUMAN, "ua", NULL);
    submit(PB_EV_CLICK, &b, PB_CLASS_HUMAN, "ua", NULL);      /* + imputed open */
    wait_written(6);

    c = sconnect();
    assert_h(c, "pb:campaign:spring-sale", "opens_human", "3");
    assert_h(c, "pb:campaign:spring-sale", "unique_opens_human", "2");
    assert_h(c, "pb:campaign:spring-sale", "imputed_opens", "1");
    assert_h(c, "pb:campaign:spring-sale", "clicks_human", "4");
    assert_h(c, "pb:campaign:spring-sale", "unique_clicks_human", "2");
    assert_h(c, "pb:campaign-links:spring-sale", "0:clicks_human", "3");
    assert_h(c, "pb:campaign-links:spring-sale", "0:unique_clicks_human", "2");
    assert_h(c, "pb:campaign-links:spring-sale", "1:clicks_human", "1");
    assert_h(c, "pb:campaign-links:spring-sale", "1:unique_clicks_human", "1");
    assert_h(c, "pb:campaign-links:spring-sale", "1:url", "https://example.com/y");
    ck_assert_int_eq(tr_integer(c, "SCARD pb:uniq:click-human:spring-sale"), 2);
    ck_assert_int_eq(tr_integer(c, "XLEN pb:events"), 7);
    redisFree(c);
}
END_TEST

/* Machine traffic has its own counters, keeps its reason, and never
 * imputes an open. */
START_TEST(test_human_machine)
{
    redisContext *c;
    redisReply *r;
    struct pb_token a, b;

    start_up();
    make_token(&a, 1, 1, 0, "https://example.com/x");
    make_token(&b, 2, 2, 0, "https://example.com/x");
    submit(PB_EV_OPEN, &a, PB_CLASS_MACHINE, "Mozilla/5.0", "apple-mpp");
    submit(PB_EV_OPEN, &a, PB_CLASS_MACHINE, "Mozilla/5.0", "apple-mpp");
    submit(PB_EV_CLICK, &b, PB_CLASS_MACHINE, "scanner", "scanner:safelinks");
    submit(PB_EV_OPEN, &b, PB_CLASS_HUMAN, "Thunderbird", NULL);
    wait_written(4);

    c = sconnect();
    assert_h(c, "pb:campaign:spring-sale", "opens_machine", "2");
    assert_h(c, "pb:campaign:spring-sale", "unique_opens_machine", "1");
    assert_h(c, "pb:campaign:spring-sale", "opens_human", "1");
    assert_h(c, "pb:campaign:spring-sale", "unique_opens_human", "1");
    assert_h(c, "pb:campaign:spring-sale", "clicks_machine", "1");
    assert_h(c, "pb:campaign:spring-sale", "unique_clicks_machine", "1");
    assert_h(c, "pb:campaign:spring-sale", "clicks_human", NULL);
    assert_h(c, "pb:campaign:spring-sale", "imputed_opens", NULL);
    assert_h(c, "pb:campaign-links:spring-sale", "0:clicks_machine", "1");
    assert_h(c, "pb:campaign-links:spring-sale", "0:unique_clicks_machine", "1");
    assert_h(c, "pb:campaign-links:spring-sale", "0:clicks_human", NULL);
    r = sstream(c);
    ck_assert_uint_eq(r->elements, 4);
    assert_field(r->element[0], "class", "machine");
    assert_field(r->element[0], "reason", "apple-mpp");
    assert_field(r->element[2], "type", "click");
    assert_field(r->element[2], "class", "machine");
    assert_field(r->element[2], "reason", "scanner:safelinks");
    assert_field(r->element[3], "class", "human");
    assert_field(r->element[3], "reason", "");
    freeReplyObject(r);
    redisFree(c);
}
END_TEST

/* A human click on a message without a human open writes an imputed open
 * (once); not when an open exists, not for machine clicks; a machine open
 * (privacy proxy) does not count as the human's open. Per message: the
 * same contact's click on another message imputes again (a unique open
 * only once per campaign), also in another campaign. */
START_TEST(test_imputed_open)
{
    redisContext *c;
    redisReply *r;
    struct pb_token m1, m2, m3, m4, m5, other;

    start_up();
    make_token(&m1, 1, 1, 0, "https://example.com/1");
    make_token(&m2, 2, 2, 0, "https://example.com/2");
    make_token(&m3, 3, 3, 0, "https://example.com/3");
    make_token(&m4, 4, 4, 0, "https://example.com/4");
    make_token(&m5, 5, 1, 0, "https://example.com/5");      /* contact of m1 */
    make_token(&other, 6, 1, 0, "https://example.com/6");
    snprintf(other.campaign, sizeof(other.campaign), "autumn");
    submit(PB_EV_CLICK, &m1, PB_CLASS_HUMAN, "u1", NULL);     /* open imputed */
    submit(PB_EV_CLICK, &m1, PB_CLASS_HUMAN, "u2", NULL);     /* not again */
    submit(PB_EV_OPEN, &m2, PB_CLASS_HUMAN, "u3", NULL);
    submit(PB_EV_CLICK, &m2, PB_CLASS_HUMAN, "u4", NULL);     /* opened: none */
    submit(PB_EV_CLICK, &m3, PB_CLASS_MACHINE, "u5", "too-fast");    /* machine: none */
    submit(PB_EV_OPEN, &m4, PB_CLASS_MACHINE, "u6", "google-proxy");
    submit(PB_EV_CLICK, &m4, PB_CLASS_HUMAN, "u7", NULL);     /* imputed */
    submit(PB_EV_CLICK, &m5, PB_CLASS_HUMAN, "u8", NULL);     /* another message: imputed */
    submit(PB_EV_CLICK, &other, PB_CLASS_HUMAN, "u9", NULL);  /* other campaign: imputed */
    wait_written(9);

    c = sconnect();
    r = sstream(c);
    ck_assert_uint_eq(r->elements, 13);
    assert_field(r->element[0], "type", "open");
    assert_field(r->element[0], "imputed", "1");
    assert_field(r->element[0], "class", "human");
    assert_field(r->element[0], "ua", "u1");
    assert_field(r->element[1], "type", "click");
    ck_assert_str_ne(tu_stream_field(r->element[0], "eid"), tu_stream_field(r->element[1], "eid"));
    ck_assert_str_eq(tu_stream_field(r->element[0], "ts"), tu_stream_field(r->element[1], "ts"));
    assert_field(r->element[2], "type", "click");               /* u2 */
    assert_field(r->element[3], "imputed", "0");                /* u3 */
    assert_field(r->element[4], "type", "click");               /* u4 */
    assert_field(r->element[5], "type", "click");               /* u5 */
    assert_field(r->element[6], "class", "machine");            /* u6 */
    assert_field(r->element[7], "imputed", "1");
    assert_field(r->element[7], "ua", "u7");
    assert_field(r->element[8], "type", "click");
    assert_field(r->element[9], "imputed", "1");                /* u8 */
    assert_field(r->element[9], "ua", "u8");
    assert_field(r->element[10], "type", "click");
    assert_field(r->element[11], "imputed", "1");               /* u9 */
    assert_field(r->element[11], "campaign", "autumn");
    assert_field(r->element[12], "ua", "u9");
    freeReplyObject(r);
    assert_h(c, "pb:campaign:spring-sale", "imputed_opens", "3");
    assert_h(c, "pb:campaign:spring-sale", "opens_human", "4");
    assert_h(c, "pb:campaign:spring-sale", "unique_opens_human", "3");
    assert_h(c, "pb:campaign:spring-sale", "clicks_human", "5");
    assert_h(c, "pb:campaign:autumn", "imputed_opens", "1");
    assert_h(c, "pb:campaign:autumn", "unique_opens_human", "1");
    redisFree(c);
}
END_TEST

/* Unsubscribe: suppression list and time for a contact, counted once;
 * campaign-level mail (no contact): recorded, counted by message,
 * nothing to suppress. */
START_TEST(test_unsubscribe)
{
    redisContext *c;
    redisReply *r;
    struct pb_token a, shared;
    char contact[17], msg[17], key[64];

    start_up();
    make_token(&a, 1, 1, 0, NULL);
    make_token(&shared, 2, -1, 0, NULL);
    a.kind = shared.kind = PB_TOKEN_UNSUB;
    submit(PB_EV_UNSUBSCRIBE, &a, PB_CLASS_HUMAN, "ua", NULL);
    submit(PB_EV_UNSUBSCRIBE, &a, PB_CLASS_HUMAN, "ua", NULL);
    submit(PB_EV_UNSUBSCRIBE, &shared, PB_CLASS_HUMAN, "ua", NULL);
    wait_written(3);

    c = sconnect();
    contact_of(&a, contact);
    ck_assert_int_eq(tr_integer(c, "SCARD pb:suppressed"), 1);
    ck_assert_int_eq(tr_integer(c, "SISMEMBER pb:suppressed %s", contact), 1);
    snprintf(key, sizeof(key), "pb:contact:%s", contact);
    ck_assert_int_gt(shget(c, key, "unsubscribed_at"), 1700000000);
    ck_assert_int_eq(tr_integer(c, "TTL %s", key), -1);
    /* the message's time too, with the send record's lifetime */
    msg_of(&shared, msg);
    snprintf(key, sizeof(key), "pb:msg:%s", msg);
    ck_assert_int_gt(shget(c, key, "unsubscribed_at"), 1700000000);
    ck_assert_int_gt(tr_integer(c, "TTL %s", key), 179 * 86400);      /* redis.retention_days */
    assert_h(c, "pb:campaign:spring-sale", "unsubscribes", "2");
    r = sstream(c);
    ck_assert_uint_eq(r->elements, 3);
    assert_field(r->element[0], "type", "unsubscribe");
    assert_field(r->element[0], "contact", contact);
    assert_field(r->element[2], "type", "unsubscribe");
    assert_field(r->element[2], "contact", "");
    ck_assert_ptr_null(tu_stream_field(r->element[2], "link"));
    freeReplyObject(r);
    redisFree(c);
}
END_TEST

/* A long User-Agent is cut; the key prefix is the configured one. */
static void tune_prefix(struct pb_conf *conf)
{
    set_str(&conf->redis.prefix, "{t1}:");
}

START_TEST(test_prefix_and_long_ua)
{
    redisContext *c;
    redisReply *r;
    struct pb_token a;
    char ua[2000];

    memset(ua, 'x', sizeof(ua) - 1);
    ua[sizeof(ua) - 1] = '\0';
    store_start(sjournal, 1000, 500, tune_prefix);
    run_until(is_up, 5, "connected");
    make_token(&a, 1, 1, 0, NULL);
    submit(PB_EV_OPEN, &a, PB_CLASS_HUMAN, ua, NULL);
    wait_written(1);
    c = sconnect();
    ck_assert_int_eq(tr_integer(c, "EXISTS pb:events"), 0);
    r = scmd(c, "XRANGE {t1}:events - +");
    ck_assert_uint_eq(r->elements, 1);
    ck_assert_int_eq((int)strlen(tu_stream_field(r->element[0], "ua")), PB_EVENT_UA_MAX);
    freeReplyObject(r);
    assert_h(c, "{t1}:campaign:spring-sale", "opens_human", "1");
    redisFree(c);
}
END_TEST

/* ---- retention --------------------------------------------------------- */

static void tune_maxlen(struct pb_conf *conf)
{
    conf->tracker.stream_maxlen = 100;
}

START_TEST(test_retention_maxlen)
{
    redisContext *c = sconnect();
    struct pb_token a;
    long long len;

    /* small stream nodes, so "~" trims close to the limit */
    freeReplyObject(scmd(c, "CONFIG SET stream-node-max-entries 10"));
    store_start(sjournal, 1000, 500, tune_maxlen);
    run_until(is_up, 5, "connected");
    make_token(&a, 1, 1, 0, NULL);
    for (int i = 0; i < 1000; i++)
        submit(PB_EV_OPEN, &a, PB_CLASS_MACHINE, "ua", "apple-mpp");
    wait_written(1000);
    len = tr_integer(c, "XLEN pb:events");
    ck_assert_msg(len >= 100 && len <= 120, "XLEN %lld with MAXLEN ~ 100", len);
    assert_h(c, "pb:campaign:spring-sale", "opens_machine", "1000");
    redisFree(c);
}
END_TEST

static void tune_age(struct pb_conf *conf)
{
    conf->tracker.stream_max_age_days = 1;
}

/* MINID (Redis >= 6.2): entries older than the age go, newer stay. */
START_TEST(test_retention_minid)
{
    redisContext *c = sconnect();
    redisReply *r = scmd(c, "INFO server");
    const char *v = strstr(r->str, "redis_version:");
    long long old_ms = pb_event_now_ms() - 2LL * 86400000;
    struct pb_token a;

    ck_assert_ptr_nonnull(v);
    if (atoi(v + 14) < 6 || (atoi(v + 14) == 6 && atoi(strchr(v, '.') + 1) < 2)) {
        fprintf(stderr, "test_retention_minid skipped: Redis %.10s has no MINID\n", v + 14);
        freeReplyObject(r);
        redisFree(c);
        return;
    }
    freeReplyObject(r);
    freeReplyObject(scmd(c, "CONFIG SET stream-node-max-entries 5"));
    for (int i = 0; i < 10; i++)    /* two whole nodes two days old */
        freeReplyObject(scmd(c, "XADD pb:events %lld-%d type old", old_ms, i));
    store_start(sjournal, 1000, 500, tune_age);
    run_until(is_up, 5, "connected");
    make_token(&a, 1, 1, 0, NULL);
    submit(PB_EV_OPEN, &a, PB_CLASS_HUMAN, "ua", NULL);
    wait_written(1);
    r = sstream(c);
    ck_assert_uint_eq(r->elements, 1);
    assert_field(r->element[0], "type", "open");
    freeReplyObject(r);
    redisFree(c);
}
END_TEST

static void tune_both(struct pb_conf *conf)
{
    conf->tracker.stream_maxlen = 1000000;
    conf->tracker.stream_max_age_days = 1;
}

/* Both limits: MAXLEN on every XADD, the age on about one event in 16. */
START_TEST(test_retention_both)
{
    redisContext *c = sconnect();
    struct pb_token a;

    freeReplyObject(scmd(c, "CONFIG SET stream-node-max-entries 5"));
    for (int i = 0; i < 10; i++)
        freeReplyObject(scmd(c, "XADD pb:events %lld-%d type old",
                             pb_event_now_ms() - 2LL * 86400000, i));
    store_start(sjournal, 1000, 500, tune_both);
    run_until(is_up, 5, "connected");
    make_token(&a, 1, 1, 0, NULL);
    for (int i = 0; i < 200; i++)   /* (15/16)^200: no trim is all but impossible */
        submit(PB_EV_OPEN, &a, PB_CLASS_HUMAN, "ua", NULL);
    wait_written(200);
    ck_assert_int_eq(tr_integer(c, "XLEN pb:events"), 200);
    redisFree(c);
}
END_TEST

TCase *events_tcase(void)
{
    TCase *tc = tcase_create("events");

    tcase_add_checked_fixture(tc, store_setup, store_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_click_schema);
    tcase_add_test(tc, test_unique_vs_total);
    tcase_add_test(tc, test_human_machine);
    tcase_add_test(tc, test_imputed_open);
    tcase_add_test(tc, test_unsubscribe);
    tcase_add_test(tc, test_prefix_and_long_ua);
    tcase_add_test(tc, test_retention_maxlen);
    tcase_add_test(tc, test_retention_minid);
    tcase_add_test(tc, test_retention_both);
    return tc;
}
