/*
 * check_store.c - the check_store program: the tracker's event store
 * (tracker/store.c, lib/events_tracker.c) against a real redis-server that
 * each test starts, with the event loop run by the test. Here: the
 * fixture, the event and Redis helpers, main. The tests:
 * check_store_events.c (what each event writes), check_store_failure.c
 * (Redis down or slow, the journal), check_store_once.c (exactly once)
 * and check_store_crash.c (the process killed after answering).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include "events.h"
#include "log.h"
#include "testutil.h"
#include "check_store.h"
#include "check_redis.h"

char sdir[256], ssock[300], sjournal[300];
int spid;
struct event_base *sbase;

/* ---- fixture ----------------------------------------------------------- */

void sredis_start(void)
{
    sredis_start_with(NULL);
}

void sredis_start_with(const char *const *extra)
{
    spid = tu_redis_start_with(ssock, extra);
    if (spid == 0)
        ck_abort_msg("redis-server is not installed (apt-get install redis-server)");
    ck_assert_msg(spid > 0, "redis-server did not start; see %s.log", ssock);
}

void sredis_stop(void)
{
    tu_redis_stop(spid);
    spid = 0;
}

void store_setup(void)
{
    pb_log_init("check_store", 1, NULL);
    snprintf(sdir, sizeof(sdir), "%s", tu_tmpdir());
    snprintf(ssock, sizeof(ssock), "%s/redis.sock", sdir);
    snprintf(sjournal, sizeof(sjournal), "%s/tracker.journal", sdir);
    sbase = event_base_new();
    ck_assert_ptr_nonnull(sbase);
    sredis_start();
}

void store_teardown(void)
{
    char *cmd;

    pb_store_stop(200);
    event_base_free(sbase);
    sbase = NULL;
    sredis_stop();
    cmd = g_strdup_printf("rm -rf '%s'", sdir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", sdir);
    g_free(cmd);
}

static void set_str(char **field, const char *value)
{
    free(*field);
    *field = value ? strdup(value) : NULL;
}

void store_start(const char *journal, int queue_max, int timeout_ms,
                 void (*tune)(struct pb_conf *conf))
{
    struct pb_conf conf;
    char err[512] = "";

    pb_conf_defaults(&conf);
    set_str(&conf.redis.socket, ssock);
    set_str(&conf.tracker.journal, journal);
    conf.redis.timeout_ms = timeout_ms;
    conf.redis.journal_fsync = PB_FSYNC_SECOND;
    conf.tracker.queue_max = queue_max;
    conf.tracker.stream_maxlen = 0;
    conf.tracker.stream_max_age_days = 0;
    if (tune)
        tune(&conf);
    ck_assert_msg(pb_store_start(sbase, &conf, err, sizeof(err)) == 0, "start: %s", err);
    pb_conf_free(&conf);
}

void run_ms(int ms)
{
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

    event_base_loopexit(sbase, &tv);
    event_base_dispatch(sbase);
}

void run_until(int (*cond)(const struct pb_store_stats *s), int secs, const char *what)
{
    gint64 until = g_get_monotonic_time() + (gint64)secs * G_USEC_PER_SEC;
    struct pb_store_stats s;

    for (;;) {
        pb_store_stats(&s);
        if (cond(&s))
            return;
        ck_assert_msg(g_get_monotonic_time() < until,
                      "timed out waiting until %s (up %d, written %lu, journaled %lu, "
                      "replayed %lu, dropped %lu, queued %zu, backlog %zu)", what,
                      s.redis_up, s.written, s.journaled, s.replayed, s.dropped,
                      s.queued, s.backlog);
        run_ms(5);
    }
}

int is_up(const struct pb_store_stats *s)
{
    return s->redis_up;
}

int is_down(const struct pb_store_stats *s)
{
    return !s->redis_up;
}

int is_idle(const struct pb_store_stats *s)
{
    return s->redis_up && s->queued == 0 && s->backlog == 0;
}

/* ---- events ------------------------------------------------------------ */

void make_token(struct pb_token *tok, unsigned n, int c, unsigned link, const char *url)
{
    memset(tok, 0, sizeof(*tok));
    tok->kind = url ? PB_TOKEN_CLICK : PB_TOKEN_OPEN;
    tok->key_id = 2;
    tok->sent_at = 1700000000;
    for (int i = 0; i < PB_MSGID_LEN; i++)
        tok->msg_id[i] = (uint8_t)(0x10 * i + (n & 0xf));
    tok->msg_id[0] = (uint8_t)(n >> 8);
    tok->msg_id[1] = (uint8_t)n;
    tok->has_contact = c >= 0;
    for (int i = 0; c >= 0 && i < PB_CONTACT_LEN; i++)
        tok->contact[i] = (uint8_t)(0xc0 + i + 8 * c);
    snprintf(tok->campaign, sizeof(tok->campaign), "spring-sale");
    tok->link_index = (uint16_t)link;
    tok->url = url;
    tok->url_len = url ? strlen(url) : 0;
}

long submit(enum pb_ev_type type, const struct pb_token *tok, enum pb_ev_class cls,
            const char *ua, const char *reason)
{
    struct pb_tracker_event ev = {
        .type = type, .ts_ms = 0, .tok = tok, .user_agent = ua, .client_ip = "192.0.2.0",
        .class = cls, .class_reason = reason,
    };
    gint64 t0 = g_get_monotonic_time();

    pb_store_submit(&ev);
    return (long)(g_get_monotonic_time() - t0);
}

/* A record of run for event `type` on tok, User-Agent ua (into out). */
void make_record(struct pb_track_run *run, enum pb_track_type type, const struct pb_token *tok,
                 const char *ua, GString *out)
{
    struct pb_track_record rec = { .type = type, .tok = tok, .user_agent = ua,
                                   .client_ip = "192.0.2.0" };

    pb_event_tracker_record("pb:", run, &rec, NULL, out);
}

char *sbatch(redisContext *c, const struct pb_track_batch *b)
{
    static const struct pb_track_retention none = { 0, 0, 0 };
    GString *cmd = g_string_new(NULL);
    redisReply *r = NULL;
    char *statuses;

    pb_track_batch_command(b, &none, NULL, cmd);
    ck_assert_int_eq(redisAppendFormattedCommand(c, cmd->str, cmd->len), REDIS_OK);
    ck_assert_int_eq(redisGetReply(c, (void **)&r), REDIS_OK);
    ck_assert_msg(r->type == REDIS_REPLY_ARRAY && r->elements == 2, "batch reply type %d: %s",
                  r->type, r->type == REDIS_REPLY_ERROR ? r->str : "");
    statuses = g_strdup(r->element[0]->str);
    freeReplyObject(r);
    g_string_free(cmd, TRUE);
    return statuses;
}

/* ---- Redis queries ----------------------------------------------------- */

/* Submit events from..to-1 with User-Agent "ev-<i>"; the longest submit
 * in microseconds. */
long submit_range(unsigned from, unsigned to)
{
    long longest = 0;

    for (unsigned i = from; i < to; i++) {
        struct pb_token tok;
        char ua[32];
        long took;

        make_token(&tok, i % 50, (int)(i % 7), 0, NULL);
        snprintf(ua, sizeof(ua), "ev-%u", i);
        took = submit(PB_EV_OPEN, &tok, PB_CLASS_HUMAN, ua, NULL);
        longest = MAX(longest, took);
    }
    pb_store_commit();          /* as at the end of the loop pass that answered them */
    return longest;
}

struct pb_store_stats stats_now(void)
{
    struct pb_store_stats s;

    pb_store_stats(&s);
    return s;
}

redisContext *sconnect(void)
{
    return tr_connect(ssock);
}

redisReply *scmd(redisContext *c, const char *fmt, ...)
{
    va_list ap;
    redisReply *r;

    va_start(ap, fmt);
    r = tr_vcommand(c, 0, fmt, ap);
    va_end(ap);
    return r;
}

redisReply *sstream(redisContext *c)
{
    redisReply *r = tu_stream_range(c, "pb:events");

    ck_assert_msg(r != NULL, "XRANGE pb:events: no array");
    return r;
}

void assert_stream_uas(redisContext *c, unsigned n, const char *ua_prefix)
{
    redisReply *r = sstream(c);
    GHashTable *eids = g_hash_table_new(g_str_hash, g_str_equal);

    ck_assert_msg(r->elements == n, "stream holds %zu events, want %u", r->elements, n);
    for (unsigned i = 0; i < n; i++) {
        char want[64];
        const char *ua = tu_stream_field(r->element[i], "ua"), *eid = tu_stream_field(r->element[i], "eid");

        snprintf(want, sizeof(want), "%s%u", ua_prefix, i);
        ck_assert_msg(ua && strcmp(ua, want) == 0, "entry %u: ua %s, want %s (out of order)",
                      i, ua ? ua : "(none)", want);
        ck_assert_msg(eid && g_hash_table_add(eids, (gpointer)eid), "entry %u: eid %s twice",
                      i, eid ? eid : "(none)");
    }
    g_hash_table_destroy(eids);
    freeReplyObject(r);
}

void assert_stream_uas_any_order(redisContext *c, unsigned n, const char *ua_prefix)
{
    redisReply *r = sstream(c);
    GHashTable *uas = g_hash_table_new(g_str_hash, g_str_equal);

    ck_assert_msg(r->elements == n, "stream holds %zu events, want %u", r->elements, n);
    for (size_t i = 0; i < r->elements; i++)
        ck_assert_msg(g_hash_table_add(uas, (gpointer)tu_stream_field(r->element[i], "ua")),
                      "%s twice", tu_stream_field(r->element[i], "ua"));
    for (unsigned i = 0; i < n; i++) {
        char ua[64];

        snprintf(ua, sizeof(ua), "%s%u", ua_prefix, i);
        ck_assert_msg(g_hash_table_contains(uas, ua), "%s missing", ua);
    }
    g_hash_table_destroy(uas);
    freeReplyObject(r);
}

char *shget_str(redisContext *c, const char *key, const char *field)
{
    redisReply *r = scmd(c, "HGET %s %s", key, field);
    char *v = r->type == REDIS_REPLY_STRING ? g_strdup(r->str) : NULL;

    freeReplyObject(r);
    return v;
}

long long shget(redisContext *c, const char *key, const char *field)
{
    char *v = shget_str(c, key, field);
    long long n = v ? g_ascii_strtoll(v, NULL, 10) : -1;

    g_free(v);
    return n;
}

static Suite *store_suite(void)
{
    Suite *s = suite_create("store");

    suite_add_tcase(s, events_tcase());
    suite_add_tcase(s, failure_tcase());
    suite_add_tcase(s, once_tcase());
    suite_add_tcase(s, crash_tcase());
    suite_add_tcase(s, custom_tcase());
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(store_suite());
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
