/*
 * check_store_custom.c - custom events (lib/custom_event.h) through the
 * tracker's store and its batch script (lib/events_custom.c,
 * lib/events_tracker.c) against a real redis-server: the stream entry's
 * fields (the contact id, never the address), the address in
 * <p>contacts:by-email and the contact's hash, a signup's attributes
 * (tags merged, created_at kept), a batch sent twice writes once and
 * shares it with clicks, the same event id twice is written once ('D',
 * counted as a duplicate), and an event committed while Redis is down
 * survives a SIGKILL and is written once by the next start. Part of
 * check_store (check_store.h).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib.h>
#include "contact.h"
#include "custom_event.h"
#include "testutil.h"
#include "check_store.h"
#include "check_redis.h"

/* The events of a JSON body (no signature: ids only from "id"). */
static GPtrArray *events_of(const char *json)
{
    struct pb_keyring ring;
    struct pb_cev_ctx ctx = { &ring, pb_event_now_ms(), 300000 };
    struct pb_cev_error err;
    GPtrArray *out = pb_custom_events_new();

    tu_test_keyring(&ring);
    ck_assert_msg(pb_custom_events_parse(&ctx, json, strlen(json), NULL, out, &err) == 0,
                  "%s: %s", err.field, err.message);
    pb_keys_free(&ring);
    return out;
}

/* Submit every event of json and commit them, as one loop pass would. */
static void submit_json(const char *json)
{
    GPtrArray *evs = events_of(json);

    for (guint i = 0; i < evs->len; i++)
        ck_assert_int_eq(pb_store_submit_custom(evs->pdata[i], "test"), 0);
    pb_store_commit();
    g_ptr_array_unref(evs);
}

static char *contact_hex(const char *address)
{
    struct pb_keyring ring;
    uint8_t id[PB_CONTACT_LEN];
    char *hex = g_malloc(2 * PB_CONTACT_LEN + 1);

    tu_test_keyring(&ring);
    pb_contact_id(&ring, address, id);
    pb_hex(id, sizeof(id), hex);
    pb_keys_free(&ring);
    return hex;
}

/* HGET key field is want. */
static void assert_hget(redisContext *c, const char *key, const char *field, const char *want)
{
    char *v = shget_str(c, key, field);

    ck_assert_msg(v != NULL && strcmp(v, want) == 0, "%s %s: \"%s\", wanted \"%s\"", key,
                  field, v ? v : "(none)", want);
    g_free(v);
}

static long long xlen(redisContext *c)
{
    return tr_integer(c, "XLEN pb:events");
}

START_TEST(test_custom_entry)
{
    redisContext *c = sconnect();
    char *ann = contact_hex("ann@example.com"), *key;
    redisReply *r;
    const char *const order[] = { "type", "eid", "ts", "msg", "contact", "campaign", "source",
                                  "p:total", "p:cur" };

    store_start(sjournal, 1000, 500, NULL);
    run_until(is_up, 5, "connected");
    submit_json("{\"email\":\"Ann@Example.com\",\"type\":\"purchase\",\"time\":1796119200.25,"
                "\"properties\":{\"total\":49.9,\"cur\":\"EUR\"}}");
    run_until(is_idle, 5, "written");
    r = sstream(c);
    ck_assert_uint_eq(r->elements, 1);
    for (size_t i = 0; i < G_N_ELEMENTS(order); i++)    /* the documented order */
        ck_assert_str_eq(r->element[0]->element[1]->element[2 * i]->str, order[i]);
    ck_assert_uint_eq(r->element[0]->element[1]->elements, 2 * G_N_ELEMENTS(order));
    ck_assert_str_eq(tu_stream_field(r->element[0], "type"), "purchase");
    ck_assert_str_eq(tu_stream_field(r->element[0], "contact"), ann);
    ck_assert_str_eq(tu_stream_field(r->element[0], "ts"), "1796119200250");
    ck_assert_str_eq(tu_stream_field(r->element[0], "p:total"), "49.9");
    ck_assert_str_eq(tu_stream_field(r->element[0], "source"), "test");
    /* no id given: the run's id and number */
    ck_assert_int_eq((int)strspn(tu_stream_field(r->element[0], "eid"), "0123456789abcdef"), 32);
    freeReplyObject(r);
    assert_hget(c, "pb:contacts:by-email", "ann@example.com", ann);
    key = g_strconcat("pb:contact:", ann, NULL);
    assert_hget(c, key, "email", "ann@example.com");
    g_free(key);
    ck_assert_uint_eq(stats_now().written, 1);
    g_free(ann);
    redisFree(c);
}
END_TEST

START_TEST(test_signup_attributes)
{
    redisContext *c = sconnect();
    char *bob = contact_hex("bob@example.org"), *key = g_strconcat("pb:contact:", bob, NULL);
    char *created;

    store_start(sjournal, 1000, 500, NULL);
    run_until(is_up, 5, "connected");
    freeReplyObject(scmd(c, "HSET %s tags vip,old", key));
    submit_json("{\"email\":\"bob@example.org\",\"type\":\"signup\",\"time\":1796119200,"
                "\"contact\":{\"first_name\":\"Bob\",\"tags\":[\"news\",\"vip\"],"
                "\"custom\":{\"plan\":\"pro\"}}}");
    run_until(is_idle, 5, "written");
    assert_hget(c, key, "tags", "vip,old,news");
    assert_hget(c, key, "attr:plan", "pro");
    created = shget_str(c, key, "created_at");
    ck_assert_str_eq(created, "1796119200");
    /* a second signup: attributes change, created_at stays */
    submit_json("{\"email\":\"bob@example.org\",\"type\":\"signup\","
                "\"contact\":{\"first_name\":\"Robert\"}}");
    run_until(is_idle, 5, "written");
    assert_hget(c, key, "first_name", "Robert");
    assert_hget(c, key, "created_at", created);
    ck_assert_int_eq(xlen(c), 2);
    g_free(created);
    g_free(key);
    g_free(bob);
    redisFree(c);
}
END_TEST

/* The same sender id twice (a retry, two requests): one entry; the second
 * is answered 'D' and counted as a duplicate, not as written. */
START_TEST(test_same_id_once)
{
    redisContext *c = sconnect();
    const char *json = "{\"email\":\"dan@example.com\",\"type\":\"purchase\",\"id\":\"order-7\"}";
    struct pb_store_stats s;

    store_start(sjournal, 1000, 500, NULL);
    run_until(is_up, 5, "connected");
    submit_json(json);
    run_until(is_idle, 5, "written");
    submit_json(json);
    submit_json(json);
    run_until(is_idle, 5, "written");
    ck_assert_int_eq(xlen(c), 1);
    s = stats_now();
    ck_assert_uint_eq(s.written, 1);
    ck_assert_uint_eq(s.duplicates, 2);
    ck_assert_uint_eq(s.dropped, 0);
    redisFree(c);
}
END_TEST

/* A batch of a click and a custom event sent twice: each written once;
 * the click's counters are the click's alone. */
START_TEST(test_mixed_batch_replayed)
{
    redisContext *c = sconnect();
    struct pb_track_run run;
    struct pb_track_batch b;
    struct pb_token tok;
    GString *rec = g_string_new(NULL);
    GPtrArray *evs = events_of("{\"email\":\"e@example.com\",\"type\":\"cart_abandoned\"}");
    char *got;

    pb_event_tracker_run_init(&run);
    pb_track_batch_init(&b);
    make_token(&tok, 1, 1, 0, "https://example.com/");
    make_record(&run, PB_TRACK_CLICK, &tok, "ua", rec);
    ck_assert_int_eq(pb_track_batch_add(&b, rec->str, rec->len), 1);
    g_string_truncate(rec, 0);
    pb_event_custom_record("pb:", &run, evs->pdata[0], "http", rec);
    ck_assert_int_eq(pb_track_batch_add(&b, rec->str, rec->len), 1);
    got = sbatch(c, &b);
    ck_assert_str_eq(got, "11");
    g_free(got);
    got = sbatch(c, &b);
    ck_assert_str_eq(got, "00");
    g_free(got);
    ck_assert_int_eq(xlen(c), 3);       /* click, its imputed open, the custom event */
    ck_assert_int_eq(shget(c, "pb:campaign:spring-sale", "clicks_human"), 1);
    pb_track_batch_free(&b);
    g_ptr_array_unref(evs);
    g_string_free(rec, TRUE);
    redisFree(c);
}
END_TEST

/* Committed while Redis is down, then SIGKILL: the restarted store
 * writes it, once. */
START_TEST(test_custom_survives_kill)
{
    redisContext *c;
    pid_t pid;
    int status;
    char *fay = contact_hex("fay@example.com");

    sredis_stop();
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        store_start(sjournal, 1000, 200, NULL);
        submit_json("{\"email\":\"fay@example.com\",\"type\":\"purchase\",\"id\":\"k1\"}");
        raise(SIGKILL);
        _exit(1);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFSIGNALED(status));
    sredis_start();
    c = sconnect();
    store_start(sjournal, 1000, 500, NULL);
    run_until(is_idle, 10, "journal replayed");
    ck_assert_int_eq(xlen(c), 1);
    {
        redisReply *r = sstream(c);
        ck_assert_str_eq(tu_stream_field(r->element[0], "contact"), fay);
        freeReplyObject(r);
    }
    ck_assert_uint_eq(stats_now().replayed, 1);
    g_free(fay);
    redisFree(c);
}
END_TEST

TCase *custom_tcase(void)
{
    TCase *tc = tcase_create("custom");

    tcase_add_checked_fixture(tc, store_setup, store_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_custom_entry);
    tcase_add_test(tc, test_signup_attributes);
    tcase_add_test(tc, test_same_id_once);
    tcase_add_test(tc, test_mixed_batch_replayed);
    tcase_add_test(tc, test_custom_survives_kill);
    return tc;
}
