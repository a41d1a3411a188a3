/*
 * check_scorer.c - the fixture and helpers of check_scorer (see
 * check_scorer.h), and main. Every test runs a private redis-server, a
 * configuration file written for it (rules included) and the scorer's
 * core with a clock the test sets (fake_now).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include "check_redis.h"
#include "check_scorer.h"
#include "log.h"
#include "score.h"
#include "testutil.h"

char cdir[256];
char csock[300];
char cpath[300];
long long fake_now;
redisContext *cc;
struct pb_conf cconf;
struct pb_rules crules;
const struct pb_keyring *cring;
static int cpid;
static int loaded;
static unsigned eid_seq;

static long long test_now(void)
{
    return fake_now;
}

void scorer_setup(void)
{
    pb_log_init("check_scorer", 1, NULL);
    snprintf(cdir, sizeof(cdir), "%s", tu_tmpdir());
    snprintf(csock, sizeof(csock), "%s/redis.sock", cdir);
    snprintf(cpath, sizeof(cpath), "%s/postbeacon.conf", cdir);
    if (!tu_redis_available())
        ck_abort_msg("redis-server is not installed (apt-get install redis-server)");
    cpid = tu_redis_start(csock);
    ck_assert_int_gt(cpid, 0);
    cc = tr_connect(csock);
    fake_now = T0;
    cring = NULL;
    eid_seq = 0;
    loaded = 0;
}

void scorer_teardown(void)
{
    char *cmd = g_strdup_printf("rm -rf '%s'", cdir);

    if (loaded) {
        pb_rules_free(&crules);
        pb_conf_free(&cconf);
    }
    redisFree(cc);
    tu_redis_stop(cpid);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", cdir);
    g_free(cmd);
}

static void write_conf_with(const char *top, const char *settings, const char *rules)
{
    char *text = g_strdup_printf(
        "tracking = { base_url = \"https://t.example.com\"; };\n"
        "redis = { socket = \"%s\"; };\n"
        "%s%s"
        "scorer = {\n"
        "  user = \"\";\n"
        "  %s\n"
        "  rules = (\n%s\n  );\n"
        "};\n", csock, top, *top ? "\n" : "", settings, rules);

    ck_assert_int_eq(tu_write_file(cpath, text, strlen(text)), 0);
    g_free(text);
}

static void write_conf(const char *settings, const char *rules)
{
    write_conf_with("", settings, rules);
}

void load_scorer_with(const char *top, const char *settings, const char *rules)
{
    char err[1024];

    write_conf_with(top, settings, rules);
    ck_assert_msg(pb_conf_load(cpath, &cconf, err, sizeof(err)) == 0, "%s", err);
    ck_assert_msg(pb_rules_load(cpath, &crules, err, sizeof(err)) == 0, "%s", err);
    loaded = 1;
    ck_assert_msg(pb_workflows_load_templates(&crules.wf, &cconf, err, sizeof(err)) == 0, "%s",
                  err);
}

void load_scorer(const char *settings, const char *rules)
{
    load_scorer_with("", settings, rules);
}

int rules_error(const char *rules, char *err, size_t errlen)
{
    struct pb_rules r;

    write_conf("", rules);
    err[0] = '\0';
    if (pb_rules_load(cpath, &r, err, errlen) == 0) {
        pb_rules_free(&r);
        return -1;
    }
    return 0;
}

void load_rules_into(const char *settings, const char *rules, struct pb_rules *out)
{
    char err[1024];

    write_conf(settings, rules);
    ck_assert_msg(pb_rules_load(cpath, out, err, sizeof(err)) == 0, "%s", err);
}

int settings_error(const char *settings, char *err, size_t errlen)
{
    struct pb_rules r;

    write_conf(settings, "");
    err[0] = '\0';
    if (pb_rules_load(cpath, &r, err, errlen) == 0) {
        pb_rules_free(&r);
        return -1;
    }
    return 0;
}

void scorer_open(struct pb_scorer *s, const char *consumer)
{
    char err[512];

    ck_assert_msg(loaded, "load_scorer first");
    pb_scorer_init(s, &cconf, &crules, consumer);
    s->now_ms = test_now;
    s->ring = cring;
    ck_assert_msg(pb_scorer_connect(s, err, sizeof(err)) == 0, "%s", err);
}

struct pb_sc_stats drain_as(const char *consumer)
{
    struct pb_scorer s;
    struct pb_sc_stats st;

    scorer_open(&s, consumer);
    ck_assert_int_eq(pb_scorer_drain(&s), 0);
    st = s.stats;
    pb_scorer_free(&s);
    return st;
}

char *xadd_kv(const char *type, const char *contact, long long ts, const char *const *kv)
{
    const char *argv[80];
    char eid[40], tsbuf[32];
    int n = 0;
    redisReply *r;
    char *id;

    snprintf(eid, sizeof(eid), "%032x", ++eid_seq);
    snprintf(tsbuf, sizeof(tsbuf), "%lld", ts);
    argv[n++] = "XADD"; argv[n++] = "pb:events"; argv[n++] = "*";
    argv[n++] = "type"; argv[n++] = type;
    argv[n++] = "eid"; argv[n++] = eid;
    argv[n++] = "ts"; argv[n++] = tsbuf;
    if (contact) { argv[n++] = "contact"; argv[n++] = contact; }
    for (size_t i = 0; kv[i] && n < 78; i++)
        argv[n++] = kv[i];
    r = redisCommandArgv(cc, n, argv, NULL);
    ck_assert_msg(r != NULL && r->type == REDIS_REPLY_STRING, "XADD failed");
    id = g_strdup(r->str);
    freeReplyObject(r);
    return id;
}

char *xadd(const char *type, const char *contact, const char *campaign, const char *msg,
           long long ts, const char *cls, const char *url)
{
    const char *kv[16];
    int n = 0;

    if (msg) { kv[n++] = "msg"; kv[n++] = msg; }
    if (contact) { kv[n++] = "contact"; kv[n++] = contact; }
    if (campaign) { kv[n++] = "campaign"; kv[n++] = campaign; }
    if (url) { kv[n++] = "url"; kv[n++] = url; }
    if (cls) { kv[n++] = "class"; kv[n++] = cls; }
    kv[n] = NULL;
    return xadd_kv(type, NULL, ts, kv);
}

char *click(const char *contact, const char *msg, long long ts, const char *url)
{
    return xadd("click", contact, "spring-sale", msg, ts, "human", url);
}

char *open_ev(const char *contact, const char *msg, long long ts)
{
    return xadd("open", contact, "spring-sale", msg, ts, "human", NULL);
}

char *contact_field(const char *contact, const char *field)
{
    redisReply *r = redisCommand(cc, "HGET pb:contact:%s %s", contact, field);
    char *v;

    ck_assert_ptr_nonnull(r);
    v = r->type == REDIS_REPLY_STRING ? g_strdup(r->str) : NULL;
    freeReplyObject(r);
    return v;
}

double stored_score(const char *contact)
{
    char *v = contact_field(contact, "score");
    double d = v ? g_ascii_strtod(v, NULL) : 0;

    g_free(v);
    return d;
}

long long stored_at(const char *contact)
{
    char *v = contact_field(contact, "score_at");
    long long t = v ? g_ascii_strtoll(v, NULL, 10) : -1;

    g_free(v);
    return t;
}

double shown_score(const char *contact)
{
    return pb_score_at(stored_score(contact), stored_at(contact), fake_now,
                       (long long)cconf.scorer.half_life_days * DAY_MS);
}

long long history_len(const char *contact)
{
    return tr_integer(cc, "LLEN pb:contact:%s:scores", contact);
}

char *history_at(const char *contact, long idx)
{
    redisReply *r = redisCommand(cc, "LINDEX pb:contact:%s:scores %ld", contact, idx);
    char *v;

    ck_assert_ptr_nonnull(r);
    v = r->type == REDIS_REPLY_STRING ? g_strdup(r->str) : NULL;
    freeReplyObject(r);
    return v;
}

void redis_restart_with(const char *const *extra)
{
    redisFree(cc);
    tu_redis_stop(cpid);
    cpid = tu_redis_start_with(csock, extra);
    ck_assert_int_gt(cpid, 0);
    cc = tr_connect(csock);
}

void redis_freeze(int frozen)
{
    ck_assert_int_eq(kill(cpid, frozen ? SIGSTOP : SIGCONT), 0);
}

long long pending_count(void)
{
    redisReply *r = redisCommand(cc, "XPENDING pb:events scorer");
    long long n;

    ck_assert_msg(r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements >= 1
                  && r->element[0]->type == REDIS_REPLY_INTEGER, "XPENDING");
    n = r->element[0]->integer;
    freeReplyObject(r);
    return n;
}

long long zscore(const char *key, const char *member)
{
    redisReply *r = redisCommand(cc, "ZSCORE %s %s", key, member);
    long long t;

    ck_assert_ptr_nonnull(r);
    t = r->type == REDIS_REPLY_STRING ? g_ascii_strtoll(r->str, NULL, 10) : -1;
    freeReplyObject(r);
    return t;
}

long long key_count(const char *pattern)
{
    redisReply *r = redisCommand(cc, "KEYS %s", pattern);
    long long n;

    ck_assert_msg(r != NULL && r->type == REDIS_REPLY_ARRAY, "KEYS");
    n = (long long)r->elements;
    freeReplyObject(r);
    return n;
}

static Suite *scorer_suite(void)
{
    Suite *s = suite_create("scorer");

    suite_add_tcase(s, rules_tcase());
    suite_add_tcase(s, refused_tcase());
    suite_add_tcase(s, stream_tcase());
    suite_add_tcase(s, segments_tcase());
    suite_add_tcase(s, segment_conf_tcase());
    suite_add_tcase(s, workflows_tcase());
    suite_add_tcase(s, workflow_conf_tcase());
    suite_add_tcase(s, variants_tcase());
    suite_add_tcase(s, webhook_tcase());
    suite_add_tcase(s, triggers_tcase());
    suite_add_tcase(s, metrics_tcase());
    suite_add_tcase(s, inert_tcase());
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(scorer_suite());
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
