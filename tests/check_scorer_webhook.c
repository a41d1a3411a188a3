/*
 * check_scorer_webhook.c - webhook steps as a CRM sees them: a private
 * redis-server, the fake clock, and tests/lib/webhook_receiver.py, an
 * HTTP server started by each test that records every request and
 * answers as the test tells it. Checked: the body's fields (id, workflow,
 * step, contact with attributes, tags and segments, score, trigger,
 * history), the headers, the signature (the receiver's own HMAC and the
 * tracker's check, pb_sig_check, with the key file's secret); 200 is
 * sent once; 500 then 200 is a retry with the same id, then sent; 400
 * fails with the receiver's answer in the log; 429 waits its Retry-After;
 * a redirect is not followed; a timeout and a refused connection are
 * retried; a scorer killed between claim and settle leaves the step
 * uncertain, never posted again. Part of check_scorer (check_scorer.h).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib.h>
#include <jansson.h>
#include "check_redis.h"
#include "check_scorer.h"
#include "custom_event.h"
#include "testutil.h"
#include "workflow_run.h"

#define HOUR_MS 3600000LL
#define RECEIVER TESTS_DIR "/lib/webhook_receiver.py"
#define SECRET "5ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2"
#define OTHER "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define CLICK80 "{ name = \"click\"; event = \"click\"; points = 80; }"
#define SEGS "half_life_days = 0; workflow_retry_s = 60; workflow_tries = 3; " \
    "segments = ( { name = \"mql\"; behaviour_at_least = 50; } );"

static char rdir[300];          /* the receiver's records */
static int rpid;                /* the receiver */
static struct pb_keyring ring;
static int ring_loaded;

/* The receiver answering answers ("200", "500,200", ...); its base URL into url. */
static void receiver(const char *answers, char *url, size_t len)
{
    char port[400], *text = NULL;

    snprintf(rdir, sizeof(rdir), "%s/hooks", cdir);
    ck_assert_int_eq(g_mkdir_with_parents(rdir, 0700), 0);
    rpid = fork();
    ck_assert_int_ge(rpid, 0);
    if (rpid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execlp("python3", "python3", RECEIVER, rdir, SECRET, answers, (char *)NULL);
        _exit(127);
    }
    snprintf(port, sizeof(port), "%s/port", rdir);
    for (int i = 0; i < 500 && (text = tu_read_file(port, NULL)) == NULL; i++)
        usleep(10000);
    ck_assert_msg(text != NULL, "the webhook receiver did not start");
    snprintf(url, len, "http://127.0.0.1:%s", text);
    g_free(text);
}

/* The key file with the webhook secret "crm", loaded as the scorers' ring. */
static void keys(void)
{
    char path[400], err[512];
    const char *text = "contact " OTHER "\n1 " OTHER "\nwebhook crm " SECRET "\n";

    snprintf(path, sizeof(path), "%s/keys", cdir);
    ck_assert_int_eq(tu_write_file(path, text, strlen(text)), 0);
    ck_assert_msg(pb_keys_load(path, 1, &ring, err, sizeof(err)) == 0, "%s", err);
    ring_loaded = 1;
    cring = &ring;
}

/* A receiver answering answers, the key file, and a workflow whose one
 * step posts c1 to it when c1 enters mql (extra: more of the step). */
static void load_hook(const char *answers, const char *extra)
{
    char url[128];
    char *settings;

    receiver(answers, url, sizeof(url));
    keys();
    settings = g_strdup_printf(SEGS " workflows = ( { name = \"mql-crm\"; trigger = { segment = "
                               "\"mql\"; on = \"enter\"; }; steps = ( { name = \"crm\"; webhook = "
                               "\"%s/hooks/postbeacon\"; secret = \"crm\"; %s } ); } );", url,
                               extra);
    load_scorer(settings, CLICK80);
    g_free(settings);
    tr_integer(cc, "HSET pb:contact:c1 email anna@example.org first_name Anna city K\xc3\xb6ln "
               "tags vip,newsletter attr:plan pro created_at 1790000000");
}

static void teardown(void)
{
    if (rpid > 0) {
        kill(rpid, SIGKILL);
        waitpid(rpid, NULL, 0);
    }
    rpid = 0;
    if (ring_loaded)
        pb_keys_free(&ring);
    ring_loaded = 0;
    scorer_teardown();
}

static void run_at(long long now)
{
    fake_now = now;
    drain_as("t1");
}

static int requests(void)
{
    char path[400];
    int n = 0;

    for (;; n++) {
        snprintf(path, sizeof(path), "%s/%d.json", rdir, n + 1);
        if (!g_file_test(path, G_FILE_TEST_EXISTS))
            return n;
    }
}

/* Request n as the receiver recorded it (json_decref it). */
static json_t *request(int n)
{
    char path[400];
    json_error_t e;
    json_t *v;

    snprintf(path, sizeof(path), "%s/%d.json", rdir, n);
    v = json_load_file(path, 0, &e);
    ck_assert_msg(v != NULL, "%s: %s", path, e.text);
    return v;
}

static const char *str_at(json_t *v, const char *path)
{
    char **parts = g_strsplit(path, ".", -1);
    json_t *x = v;

    for (char **p = parts; *p && x; p++)
        x = json_is_array(x) ? json_array_get(x, (size_t)atoi(*p)) : json_object_get(x, *p);
    g_strfreev(parts);
    ck_assert_msg(json_is_string(x), "%s is not a string", path);
    return json_string_value(x);
}

/* The request's body, parsed (json_decref it). */
static json_t *body_of(json_t *req)
{
    json_error_t e;
    json_t *b = json_loads(str_at(req, "body"), 0, &e);

    ck_assert_msg(b != NULL, "the body is not JSON: %s", e.text);
    return b;
}

static void assert_status(const char *want)
{
    char *v = contact_field("c1", "wfs:mql-crm|crm");

    ck_assert_msg(v != NULL && strcmp(v, want) == 0, "state %s, expected %s", v ? v : "(none)",
                  want);
    g_free(v);
}

/* The reason of the last wf:log entry of the step with status; NULL if none (g_free). */
static char *log_reason(const char *status)
{
    redisReply *r = redisCommand(cc, "XRANGE pb:wf:log - +");
    char *why = NULL;

    ck_assert_ptr_nonnull(r);
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *f = r->element[i]->element[1];
        const char *st = NULL, *reason = NULL;
        for (size_t j = 0; j + 1 < f->elements; j += 2) {
            if (strcmp(f->element[j]->str, "status") == 0) st = f->element[j + 1]->str;
            if (strcmp(f->element[j]->str, "reason") == 0) reason = f->element[j + 1]->str;
        }
        if (st && reason && strcmp(st, status) == 0) {
            g_free(why);
            why = g_strdup(reason);
        }
    }
    freeReplyObject(r);
    return why;
}

static void assert_logged(const char *status, const char *part)
{
    char *why = log_reason(status);

    ck_assert_msg(why != NULL, "no %s in pb:wf:log", status);
    ck_assert_msg(strstr(why, part) != NULL, "\"%s\" not in the %s reason \"%s\"", part, status,
                  why);
    g_free(why);
}

static void enter_mql(long long ts)
{
    g_free(click("c1", "00000000000000a1", ts, "https://shop.example.com/"));
}

/* ---- what the receiver gets ---------------------------------------------- */

START_TEST(test_webhook_sent_once)
{
    json_t *req, *b, *h;

    load_hook("200", "");
    enter_mql(T0);
    run_at(T0);
    ck_assert_int_eq(requests(), 1);
    assert_status("sent");
    assert_logged("sent", "HTTP 200 (try 1)");
    req = request(1);
    ck_assert_str_eq(str_at(req, "method"), "POST");
    ck_assert_str_eq(str_at(req, "path"), "/hooks/postbeacon");
    ck_assert_str_eq(str_at(req, "headers.content-type"), "application/json");
    ck_assert_msg(g_str_has_prefix(str_at(req, "headers.user-agent"), "postbeacon/"), "UA");
    ck_assert_str_eq(str_at(req, "headers.x-postbeacon-id"), "c1|mql-crm|crm");
    ck_assert_str_eq(str_at(req, "headers.x-postbeacon-attempt"), "1");
    ck_assert_str_eq(str_at(req, "headers.x-postbeacon-timestamp"), "1800000000");
    ck_assert_msg(json_is_true(json_object_get(req, "sig_ok")), "the receiver's HMAC differs");
    /* the tracker's own check of POST /e verifies it with the same secret */
    h = json_object_get(req, "headers");
    ck_assert_int_eq(pb_sig_check(pb_keys_webhook(&ring, "crm"), 1,
                                  str_at(h, "x-postbeacon-timestamp"),
                                  str_at(h, "x-postbeacon-signature"), str_at(req, "body"),
                                  strlen(str_at(req, "body")), T0 / 1000, 300), PB_SIG_OK);
    ck_assert_int_eq(pb_sig_check(ring.keys, 1, str_at(h, "x-postbeacon-timestamp"),
                                  str_at(h, "x-postbeacon-signature"), str_at(req, "body"),
                                  strlen(str_at(req, "body")), T0 / 1000, 300), PB_SIG_BAD);
    b = body_of(req);
    ck_assert_str_eq(str_at(b, "id"), "c1|mql-crm|crm");
    ck_assert_str_eq(str_at(b, "workflow"), "mql-crm");
    ck_assert_str_eq(str_at(b, "step"), "crm");
    ck_assert_str_eq(str_at(b, "time"), "2027-01-15T08:00:00.000Z");
    ck_assert_str_eq(str_at(b, "contact.id"), "c1");
    ck_assert_str_eq(str_at(b, "contact.email"), "anna@example.org");
    ck_assert_str_eq(str_at(b, "contact.first_name"), "Anna");
    ck_assert_str_eq(str_at(b, "contact.city"), "K\xc3\xb6ln");
    ck_assert_str_eq(str_at(b, "contact.tags.1"), "newsletter");
    ck_assert_str_eq(str_at(b, "contact.attributes.plan"), "pro");
    ck_assert_str_eq(str_at(b, "contact.created_at"), "2026-09-21T14:13:20.000Z");
    ck_assert_str_eq(str_at(b, "contact.segments.mql"), "2027-01-15T08:00:00.000Z");
    ck_assert_ptr_null(json_object_get(json_object_get(b, "contact"), "wfs:mql-crm|crm"));
    ck_assert_double_eq(json_number_value(json_object_get(b, "score")), 80);
    ck_assert_msg(json_is_null(json_object_get(b, "fit")), "fit without fit rules");
    ck_assert_str_eq(str_at(b, "trigger.segment"), "mql");
    ck_assert_str_eq(str_at(b, "trigger.on"), "enter");
    ck_assert_str_eq(str_at(b, "trigger.started_at"), "2027-01-15T08:00:00.000Z");
    ck_assert_str_eq(str_at(b, "history.0.rule"), "click");
    ck_assert_double_eq(json_number_value(json_object_get(json_array_get(
        json_object_get(b, "history"), 0), "points")), 80);
    json_decref(b);
    json_decref(req);
    run_at(T0 + DAY_MS);
    ck_assert_int_eq(requests(), 1);                /* sent once */
}
END_TEST

/* ---- temporary and permanent failures -------------------------------------- */

START_TEST(test_webhook_500_then_200_retried)
{
    json_t *one, *two, *b1, *b2;

    load_hook("500,200", "");
    enter_mql(T0);
    run_at(T0);
    ck_assert_int_eq(requests(), 1);
    assert_status("queued");
    assert_logged("retry", "HTTP 500");
    ck_assert_int_eq(zscore("pb:wf:due", "c1|mql-crm|crm"), T0 + 60000);
    run_at(T0 + 59999);
    ck_assert_int_eq(requests(), 1);
    run_at(T0 + 60000);
    ck_assert_int_eq(requests(), 2);
    assert_status("sent");
    assert_logged("sent", "(try 2)");
    one = request(1);
    two = request(2);
    ck_assert_str_eq(str_at(two, "headers.x-postbeacon-id"), str_at(one, "headers.x-postbeacon-id"));
    ck_assert_str_eq(str_at(two, "headers.x-postbeacon-attempt"), "2");
    ck_assert_msg(json_is_true(json_object_get(two, "sig_ok")), "the retry is signed anew");
    b1 = body_of(one);
    b2 = body_of(two);
    ck_assert_str_eq(str_at(b2, "id"), str_at(b1, "id"));
    json_decref(b1);
    json_decref(b2);
    json_decref(one);
    json_decref(two);
    run_at(T0 + DAY_MS);
    ck_assert_int_eq(requests(), 2);
}
END_TEST

START_TEST(test_webhook_400_failed)
{
    load_hook("400", "");
    enter_mql(T0);
    run_at(T0);
    run_at(T0 + DAY_MS);
    ck_assert_int_eq(requests(), 1);
    assert_status("failed");
    assert_logged("failed", "HTTP 400: {\"status\": 400, \"error\": \"unknown field\"}");
    ck_assert_int_eq(tr_integer(cc, "ZCARD pb:wf:due"), 0);
}
END_TEST

START_TEST(test_webhook_429_retry_after)
{
    load_hook("429+600,200", "");
    enter_mql(T0);
    run_at(T0);
    assert_logged("retry", "HTTP 429");
    ck_assert_int_eq(zscore("pb:wf:due", "c1|mql-crm|crm"), T0 + 600000);
    run_at(T0 + 600000);
    ck_assert_int_eq(requests(), 2);
    assert_status("sent");
}
END_TEST

START_TEST(test_webhook_redirect_not_followed)
{
    load_hook("301", "");
    enter_mql(T0);
    run_at(T0);
    ck_assert_int_eq(requests(), 1);
    assert_status("failed");
    assert_logged("failed", "HTTP 301: a redirect to http://127.0.0.1:");
}
END_TEST

/* A receiver slower than the step's timeout: a retry, with the same id
 * (the receiver may have got the first one). */
START_TEST(test_webhook_timeout_retried)
{
    json_t *one, *two;

    load_hook("sleep+3,200", "timeout = 1;");
    enter_mql(T0);
    run_at(T0);
    ck_assert_int_eq(requests(), 1);
    assert_status("queued");
    assert_logged("retry", "imeout");
    run_at(T0 + 60000);
    ck_assert_int_eq(requests(), 2);
    assert_status("sent");
    one = request(1);
    two = request(2);
    ck_assert_str_eq(str_at(two, "headers.x-postbeacon-id"), str_at(one, "headers.x-postbeacon-id"));
    json_decref(one);
    json_decref(two);
}
END_TEST

START_TEST(test_webhook_refused_connection_retried)
{
    load_hook("200", "");
    kill(rpid, SIGKILL);        /* nobody listens on its port any more */
    waitpid(rpid, NULL, 0);
    rpid = 0;
    enter_mql(T0);
    run_at(T0);
    assert_status("queued");
    assert_logged("retry", "onnect");
}
END_TEST

/* Claimed, then the scorer is "killed" before it posts or settles: the
 * next scorer records it as uncertain and never posts it. */
START_TEST(test_webhook_killed_uncertain)
{
    struct pb_scorer s;
    GPtrArray *items = g_ptr_array_new_with_free_func((GDestroyNotify)pb_wf_item_free);
    struct pb_wf_item *it = g_new0(struct pb_wf_item, 1);
    char owner[64];

    load_hook("200", "delay_hours = 2;");
    enter_mql(T0);
    run_at(T0);
    fake_now = T0 + 2 * HOUR_MS;
    scorer_open(&s, "t1");
    ck_assert_int_eq(pb_wf_item_parse(it, "c1|mql-crm|crm", &crules.wf), 0);
    g_ptr_array_add(items, it);
    snprintf(owner, sizeof(owner), "t1 %lld", fake_now);
    ck_assert_int_eq(pb_wf_claim(&s, items, owner), 0);
    ck_assert_int_eq(it->code, 'c');
    g_ptr_array_free(items, TRUE);
    pb_scorer_free(&s);
    assert_status("inflight");
    run_at(T0 + 2 * HOUR_MS + 1000);        /* the restart */
    run_at(T0 + DAY_MS);
    ck_assert_int_eq(requests(), 0);
    assert_status("uncertain");
    ck_assert_int_eq(zscore("pb:wf:uncertain", "c1|mql-crm|crm"), T0 + 2 * HOUR_MS + 1000);
    assert_logged("uncertain", "in flight at t1 ");
}
END_TEST

TCase *webhook_tcase(void)
{
    TCase *tc = tcase_create("webhook");

    tcase_add_checked_fixture(tc, scorer_setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_webhook_sent_once);
    tcase_add_test(tc, test_webhook_500_then_200_retried);
    tcase_add_test(tc, test_webhook_400_failed);
    tcase_add_test(tc, test_webhook_429_retry_after);
    tcase_add_test(tc, test_webhook_redirect_not_followed);
    tcase_add_test(tc, test_webhook_timeout_retried);
    tcase_add_test(tc, test_webhook_refused_connection_retried);
    tcase_add_test(tc, test_webhook_killed_uncertain);
    return tc;
}
