/*
 * check_custom_event.c - custom events from JSON or CLI arguments into
 * struct pb_custom_event (lib/custom_event*.c), their checks and the
 * field each refusal names, the event ids, the request signature
 * (lib/custom_sig.c), the key file's "events" lines (lib/keys.c), the
 * attribute checks every way in shares (lib/contact_attr.c) and the
 * erased address's mark (lib/contact.c).
 * No Redis here: what the tracker writes is check_store_custom.c.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include "contact.h"
#include "contact_attr.h"
#include "custom_event.h"
#include "testutil.h"

#define NOW_MS 1796119200000LL  /* 2026-12-01T10:00:00Z */

static struct pb_keyring ring;
static struct pb_cev_ctx ctx;

static void setup(void)
{
    tu_test_keyring(&ring);
    ctx.keys = &ring;
    ctx.now_ms = NOW_MS;
    ctx.max_future_ms = 300000;
}

static void teardown(void)
{
    pb_keys_free(&ring);
}

/* Parse body; the events (caller unrefs) or NULL with err. */
static GPtrArray *parse(const char *body, const char *sig, struct pb_cev_error *err)
{
    GPtrArray *out = pb_custom_events_new();

    if (pb_custom_events_parse(&ctx, body, strlen(body), sig, out, err) != 0) {
        ck_assert_uint_eq(out->len, 0);
        g_ptr_array_unref(out);
        return NULL;
    }
    return out;
}

static struct pb_custom_event *ev_at(GPtrArray *a, guint i)
{
    return a->pdata[i];
}

START_TEST(test_good_event)
{
    struct pb_cev_error err;
    GPtrArray *a = parse("{\"email\":\" <Ann@Example.COM> \",\"type\":\"purchase\","
                         "\"time\":\"2026-12-01T09:00:00.250+01:00\",\"id\":\"order-1\","
                         "\"properties\":{\"total\":49.9,\"n\":3,\"ok\":true,\"none\":null,"
                         "\"cur\":\"EUR\",\"items\":[{\"sku\":\"a\"}],\"x.y-z\":0.1}}",
                         NULL, &err);
    struct pb_custom_event *ev;
    uint8_t id[PB_CONTACT_LEN];
    char hex[17];

    ck_assert_msg(a != NULL, "%s: %s", err.field, err.message);
    ck_assert_uint_eq(a->len, 1);
    ev = ev_at(a, 0);
    ck_assert_str_eq(ev->type, "purchase");
    ck_assert_str_eq(ev->email, "ann@example.com");
    pb_contact_id(&ring, "ann@example.com", id);
    pb_hex(id, sizeof(id), hex);
    ck_assert_str_eq(ev->contact, hex);
    ck_assert_int_eq(ev->ts_ms, NOW_MS - 7200000 + 250);   /* 08:00:00.25Z */
    ck_assert_str_eq(ev->props->str, "[\"p:total\",\"49.9\",\"p:n\",\"3\",\"p:ok\",\"true\","
                     "\"p:cur\",\"EUR\",\"p:items\",\"[{\\\"sku\\\":\\\"a\\\"}]\","
                     "\"p:x.y-z\",\"0.1\"]");
    ck_assert_str_eq(ev->attrs->str, "");
    ck_assert_uint_eq(strlen(ev->eid), 32);
    g_ptr_array_unref(a);
}
END_TEST

/* The same id and type give the same event id; another type or id another. */
START_TEST(test_event_ids)
{
    struct pb_cev_error err;
    GPtrArray *a = parse("{\"events\":[{\"email\":\"a@x.org\",\"type\":\"purchase\",\"id\":\"o1\"},"
                         "{\"email\":\"b@x.org\",\"type\":\"purchase\",\"id\":\"o1\"},"
                         "{\"email\":\"a@x.org\",\"type\":\"refund\",\"id\":\"o1\"},"
                         "{\"email\":\"a@x.org\",\"type\":\"purchase\"},"
                         "{\"email\":\"a@x.org\",\"type\":\"purchase\"}]}", "abc", &err);
    GPtrArray *b = parse("{\"email\":\"a@x.org\",\"type\":\"purchase\"}", NULL, &err);

    ck_assert_ptr_nonnull(a);
    ck_assert_str_eq(ev_at(a, 0)->eid, ev_at(a, 1)->eid);
    ck_assert_str_ne(ev_at(a, 0)->eid, ev_at(a, 2)->eid);
    /* no id: from the signature and the place in the request */
    ck_assert_uint_eq(strlen(ev_at(a, 3)->eid), 32);
    ck_assert_str_ne(ev_at(a, 3)->eid, ev_at(a, 4)->eid);
    ck_assert_int_eq(ev_at(a, 3)->ts_ms, NOW_MS);           /* no time: now */
    /* no id, no signature (the CLI): the writer numbers it */
    ck_assert_str_eq(ev_at(b, 0)->eid, "");
    g_ptr_array_unref(a);
    g_ptr_array_unref(b);
}
END_TEST

START_TEST(test_signup_contact)
{
    struct pb_cev_error err;
    GPtrArray *a = parse("{\"email\":\"b@x.org\",\"type\":\"signup\",\"time\":1796119000.5,"
                         "\"contact\":{\"first_name\":\"Bö\",\"birthday\":\"1990-02-28\","
                         "\"timezone\":\"America/Argentina/Buenos_Aires\",\"tags\":[\"a\",\"b c\"],"
                         "\"custom\":{\"plan\":\"pro\",\"seats\":5,\"trial\":false}}}", NULL, &err);
    struct pb_custom_event *ev;

    ck_assert_msg(a != NULL, "%s: %s", err.field, err.message);
    ev = ev_at(a, 0);
    ck_assert_int_eq(ev->ts_ms, 1796119000500LL);
    ck_assert_str_eq(ev->attrs->str, "[\"first_name\",\"Bö\",\"birthday\",\"1990-02-28\","
                     "\"timezone\",\"America/Argentina/Buenos_Aires\",\"tags\",\"a,b c\","
                     "\"attr:plan\",\"pro\",\"attr:seats\",\"5\",\"attr:trial\",\"false\"]");
    ck_assert_str_eq(ev->attr_names->str,
                     "first_name,birthday,timezone,tags,attr:plan,attr:seats,attr:trial");
    g_ptr_array_unref(a);
}
END_TEST

static const struct refusal {
    const char *body, *field, *message;
} refusals[] = {
    { "{\"email\":", "body", "not JSON" },
    { "{\"email\":\"a@x.org\",\"email\":\"b@x.org\",\"type\":\"t\"}", "body", "duplicate" },
    { "\"a\"", "body", "JSON object" },
    { "{\"type\":\"t\"}", "email", "missing" },
    { "{\"email\":[],\"type\":\"t\"}", "email", "string" },
    { "{\"email\":\"\",\"type\":\"t\"}", "email", "address" },
    { "{\"email\":\"a b@x.org\",\"type\":\"t\"}", "email", "not an address" },
    { "{\"email\":\"a@x\",\"type\":\"t\"}", "email", "not an address" },
    { "{\"email\":\"a@b@x.org\",\"type\":\"t\"}", "email", "not an address" },
    { "{\"email\":\"a@x.org\"}", "type", "missing" },
    { "{\"email\":\"a@x.org\",\"type\":\"open\"}", "type", "own event types" },
    { "{\"email\":\"a@x.org\",\"type\":\"9lives\"}", "type", "lowercase letter" },
    { "{\"email\":\"a@x.org\",\"type\":\"a b\"}", "type", "only a-z" },
    { "{\"email\":\"a@x.org\",\"type\":\"t\",\"time\":\"2026-12-01T10:00:00\"}", "time",
      "RFC 3339" },
    { "{\"email\":\"a@x.org\",\"type\":\"t\",\"time\":900000000}", "time", "before 2000" },
    { "{\"email\":\"a@x.org\",\"type\":\"t\",\"time\":1796119501}", "time", "future" },
    { "{\"email\":\"a@x.org\",\"type\":\"t\",\"time\":true}", "time", "unix seconds" },
    { "{\"email\":\"a@x.org\",\"type\":\"t\",\"id\":\"\"}", "id", "1 to 128" },
    { "{\"email\":\"a@x.org\",\"type\":\"t\",\"id\":\"a b\"}", "id", "without spaces" },
    { "{\"email\":\"a@x.org\",\"type\":\"t\",\"x\":1}", "x", "unknown field" },
    { "{\"email\":\"a@x.org\",\"type\":\"t\",\"properties\":[]}", "properties", "object" },
    { "{\"email\":\"a@x.org\",\"type\":\"t\",\"properties\":{\"\":1}}", "properties.", "name" },
    { "{\"email\":\"a@x.org\",\"type\":\"t\",\"properties\":{\"a:b\":1}}", "properties.a:b",
      "name" },
    { "{\"email\":\"a@x.org\",\"type\":\"t\",\"contact\":{}}", "contact", "only a signup" },
    { "{\"email\":\"a@x.org\",\"type\":\"signup\",\"contact\":{\"email\":\"b@x.org\"}}",
      "contact.email", "not a contact attribute" },
    { "{\"email\":\"a@x.org\",\"type\":\"signup\",\"contact\":{\"birthday\":\"--02-30\"}}",
      "contact.birthday", "--MM-DD" },
    { "{\"email\":\"a@x.org\",\"type\":\"signup\",\"contact\":{\"timezone\":\"Berlin\"}}",
      "contact.timezone", "IANA" },
    /* shaped like a zone, but the system's zoneinfo has none of that name */
    { "{\"email\":\"a@x.org\",\"type\":\"signup\",\"contact\":{\"timezone\":\"Mars/Olympus\"}}",
      "contact.timezone", "IANA" },
    { "{\"email\":\"a@x.org\",\"type\":\"signup\",\"contact\":{\"city\":\"a\\nb\"}}",
      "contact.city", "control" },
    { "{\"email\":\"a@x.org\",\"type\":\"signup\",\"contact\":{\"tags\":[\"a,b\"]}}",
      "contact.tags", "without \",\"" },
    { "{\"email\":\"a@x.org\",\"type\":\"signup\",\"contact\":{\"custom\":{\"Plan\":1}}}",
      "contact.custom.Plan", "a-z, 0-9" },
    { "{\"email\":\"a@x.org\",\"type\":\"signup\",\"contact\":{\"custom\":{\"p\":[1]}}}",
      "contact.custom.p", "text, number" },
    { "{\"events\":[]}", "events", "1 to 500" },
    { "{\"events\":[{\"email\":\"a@x.org\",\"type\":\"t\"}],\"x\":1}", "events", "nothing else" },
    { "{\"events\":[{\"email\":\"a@x.org\",\"type\":\"t\"},3]}", "events[1].", "JSON object" },
    { "{\"events\":[{\"email\":\"a@x.org\",\"type\":\"t\"},{\"email\":\"a@x.org\",\"type\":\"t\","
      "\"properties\":{\"k\":{}},\"time\":\"x\"}]}", "events[1].time", "RFC 3339" },
};

START_TEST(test_refusals)
{
    const struct refusal *t = &refusals[_i];
    struct pb_cev_error err = { "", "" };
    GPtrArray *a = parse(t->body, "sig", &err);

    ck_assert_msg(a == NULL, "accepted: %s", t->body);
    ck_assert_msg(strcmp(err.field, t->field) == 0, "%s: field \"%s\", wanted \"%s\"", t->body,
                  err.field, t->field);
    ck_assert_msg(strstr(err.message, t->message) != NULL, "%s: \"%s\" lacks \"%s\"", t->body,
                  err.message, t->message);
}
END_TEST

START_TEST(test_limits)
{
    GString *body = g_string_new("{\"email\":\"a@x.org\",\"type\":\"t\",\"properties\":{");
    struct pb_cev_error err;
    GPtrArray *a;

    for (int i = 0; i <= PB_CEV_PROPS_MAX; i++)
        g_string_append_printf(body, "%s\"k%d\":%d", i ? "," : "", i, i);
    g_string_append(body, "}}");
    ck_assert_ptr_null(parse(body->str, NULL, &err));
    ck_assert_str_eq(err.field, "properties.k64");
    g_string_assign(body, "{\"email\":\"a@x.org\",\"type\":\"t\",\"properties\":{\"v\":\"");
    for (int i = 0; i <= PB_CEV_VALUE_MAX; i++)
        g_string_append_c(body, 'x');
    g_string_append(body, "\"}}");
    ck_assert_ptr_null(parse(body->str, NULL, &err));
    ck_assert_str_eq(err.field, "properties.v");
    g_string_truncate(body, body->len - 4);     /* one byte less: at the limit */
    g_string_append(body, "\"}}");
    a = parse(body->str, NULL, &err);
    ck_assert_ptr_nonnull(a);
    g_ptr_array_unref(a);
    g_string_free(body, TRUE);
}
END_TEST

START_TEST(test_from_args)
{
    char *good[] = { "total=12.50", "note=a=b", "empty=" };
    char *bad[] = { "noequals" };
    struct pb_custom_event ev;
    struct pb_cev_error err;

    pb_custom_event_init(&ev);
    ck_assert_int_eq(pb_custom_event_from_args(&ctx, "Ann@x.org", "purchase", 3, good, &ev, &err),
                     0);
    ck_assert_str_eq(ev.email, "ann@x.org");
    ck_assert_str_eq(ev.props->str, "[\"p:total\",\"12.50\",\"p:note\",\"a=b\",\"p:empty\",\"\"]");
    ck_assert_int_eq(ev.ts_ms, NOW_MS);
    pb_custom_event_clear(&ev);
    pb_custom_event_init(&ev);
    ck_assert_int_eq(pb_custom_event_from_args(&ctx, "a@x.org", "purchase", 1, bad, &ev, &err), -1);
    ck_assert_str_eq(err.field, "noequals");
    ck_assert_int_eq(pb_custom_event_from_args(&ctx, "a@x.org", "sent", 0, NULL, &ev, &err), -1);
    ck_assert_str_eq(err.field, "type");
    pb_custom_event_clear(&ev);
}
END_TEST

/* ---- signatures and the key file ------------------------------------------ */

static const char SECRET1[] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
static const char SECRET2[] = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";

/* Load a key file with text; 0 or -1 with err. */
static int load_keys(const char *text, struct pb_keyring *r, char *err, size_t errlen)
{
    char path[300];

    snprintf(path, sizeof(path), "%s/keys", tu_tmpdir());
    ck_assert_int_eq(tu_write_file(path, text, strlen(text)), 0);
    return pb_keys_load(path, 1, r, err, errlen);
}

START_TEST(test_signature)
{
    struct pb_keyring r, one;
    char err[256], sig[65], text[512], upper[65];
    const char body[] = "{\"email\":\"a@x.org\",\"type\":\"t\"}";
    long long now = 1796119200;

    snprintf(text, sizeof(text), "contact %s\n1 %s\nevents %s\nevents %s\n", SECRET1, SECRET1,
             SECRET1, SECRET2);
    ck_assert_msg(load_keys(text, &r, err, sizeof(err)) == 0, "%s", err);
    ck_assert_uint_eq(r.events_count, 2);
    pb_custom_sig_make(&r.events[1], "1796119200", body, strlen(body), sig);
    ck_assert_int_eq(pb_custom_sig_check(&r, "1796119200", sig, body, strlen(body), now, 300),
                     PB_SIG_OK);                                    /* the second secret */
    for (int i = 0; i < 64; i++)
        upper[i] = g_ascii_toupper(sig[i]);
    upper[64] = '\0';
    ck_assert_int_eq(pb_custom_sig_check(&r, "1796119200", upper, body, strlen(body), now, 300),
                     PB_SIG_OK);
    ck_assert_int_eq(pb_custom_sig_check(&r, "1796119200", sig, body, strlen(body) - 1, now, 300),
                     PB_SIG_BAD);
    ck_assert_int_eq(pb_custom_sig_check(&r, "1796119201", sig, body, strlen(body), now, 300),
                     PB_SIG_BAD);
    ck_assert_int_eq(pb_custom_sig_check(&r, "1796119200", sig, body, strlen(body), now + 301, 300),
                     PB_SIG_EXPIRED);
    ck_assert_int_eq(pb_custom_sig_check(&r, "1796119200", sig, body, strlen(body), now - 301, 300),
                     PB_SIG_EXPIRED);
    ck_assert_int_eq(pb_custom_sig_check(&r, "1796119200", sig, body, strlen(body), now + 300, 300),
                     PB_SIG_OK);
    ck_assert_int_eq(pb_custom_sig_check(&r, NULL, sig, body, strlen(body), now, 300),
                     PB_SIG_MISSING);
    ck_assert_int_eq(pb_custom_sig_check(&r, "1796119200", NULL, body, strlen(body), now, 300),
                     PB_SIG_MISSING);
    ck_assert_int_eq(pb_custom_sig_check(&r, "-1", sig, body, strlen(body), now, 300),
                     PB_SIG_BAD_TIMESTAMP);
    ck_assert_int_eq(pb_custom_sig_check(&r, "1796119200", "abc", body, strlen(body), now, 300),
                     PB_SIG_MALFORMED);
    /* the known answer: HMAC-SHA256(SECRET1 bytes, "1796119200." body), as openssl makes it */
    pb_custom_sig_make(&r.events[0], "1796119200", body, strlen(body), sig);
    ck_assert_str_eq(sig, "175d67c2f38a8f31a15f78d9c63adebae70463fee87f14767dc5c12f2bd72e4c");
    snprintf(text, sizeof(text), "contact %s\n1 %s\n", SECRET1, SECRET1);
    ck_assert_int_eq(load_keys(text, &one, err, sizeof(err)), 0);
    ck_assert_int_eq(pb_custom_sig_check(&one, "1796119200", sig, body, strlen(body), now, 300),
                     PB_SIG_NO_SECRET);
    pb_keys_free(&one);
    pb_keys_free(&r);
}
END_TEST

START_TEST(test_events_key_lines)
{
    struct pb_keyring r;
    char err[256], text[1024];

    snprintf(text, sizeof(text), "contact %s\n1 %s\nevents abc\n", SECRET1, SECRET1);
    ck_assert_int_eq(load_keys(text, &r, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, ":3: secret must be 64 to 128 hex digits") != NULL, "%s", err);
    snprintf(text, sizeof(text), "contact %s\n1 %s\nevents %s\nevents %s\nevents %s\n"
             "events %s\nevents %s\n", SECRET1, SECRET1, SECRET1, SECRET1, SECRET1, SECRET1,
             SECRET1);
    ck_assert_int_eq(load_keys(text, &r, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, ":7: more than 4 events lines") != NULL, "%s", err);
}
END_TEST

START_TEST(test_attribute_checks)
{
    ck_assert(pb_attr_birthday_valid("1990-04-23"));
    ck_assert(pb_attr_birthday_valid("--02-29"));       /* a leap day without a year */
    ck_assert(!pb_attr_birthday_valid("2023-02-29"));
    ck_assert(!pb_attr_birthday_valid("1990-4-23"));
    ck_assert(!pb_attr_birthday_valid("-990-04-23"));
    ck_assert(!pb_attr_birthday_valid("--13-01"));
    ck_assert(pb_attr_timezone_valid("Europe/Berlin"));
    ck_assert(pb_attr_timezone_valid("America/Argentina/Buenos_Aires"));
    ck_assert(pb_attr_timezone_valid("UTC"));
    ck_assert(!pb_attr_timezone_valid("Mars/Olympus"));
    ck_assert(!pb_attr_timezone_valid("Europe/Berlni"));
    ck_assert(!pb_attr_timezone_valid("../../etc/passwd"));
    ck_assert(!pb_attr_timezone_valid("/usr/share/zoneinfo/UTC"));
    ck_assert(!pb_attr_timezone_valid("CET-1"));        /* a POSIX TZ string, not a name */
    ck_assert(pb_attr_text_valid("Köln", 5, 256));
    ck_assert(!pb_attr_text_valid("a\nb", 3, 256));
    ck_assert(!pb_attr_text_valid("", 0, 256));
}
END_TEST

START_TEST(test_erased_mark)
{
    char mark[33], again[33], id_hex[17];
    uint8_t id[PB_CONTACT_LEN];

    pb_contact_erased_id(&ring, "ann@example.com", mark);
    pb_contact_erased_id(&ring, "ann@example.com", again);
    ck_assert_str_eq(mark, again);
    ck_assert_uint_eq(strlen(mark), 32);
    pb_contact_id(&ring, "ann@example.com", id);
    pb_hex(id, sizeof(id), id_hex);
    ck_assert_ptr_null(strstr(mark, id_hex));          /* names no contact id */
    pb_contact_erased_id(&ring, "bob@example.com", again);
    ck_assert_str_ne(mark, again);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("custom_event");
    TCase *tc = tcase_create("json");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_good_event);
    tcase_add_test(tc, test_event_ids);
    tcase_add_test(tc, test_signup_contact);
    tcase_add_loop_test(tc, test_refusals, 0, sizeof(refusals) / sizeof(refusals[0]));
    tcase_add_test(tc, test_limits);
    tcase_add_test(tc, test_from_args);
    tcase_add_test(tc, test_attribute_checks);
    tcase_add_test(tc, test_erased_mark);
    suite_add_tcase(s, tc);
    tc = tcase_create("signature");
    tcase_add_test(tc, test_signature);
    tcase_add_test(tc, test_events_key_lines);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
