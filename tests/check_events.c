/*
 * check_events.c - the Redis writes of lib/events.c against a real
 * redis-server: the keys, fields, TTLs and stream entry documented in
 * docs/redis-schema.md, at-most-once by event id, min/max merging of
 * times on late replays, and the key prefix. Also the private-Redis
 * fixture and query helpers the recorder tests share (check_journal.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include <hiredis/hiredis.h>
#include "events.h"
#include "testutil.h"
#include "check_journal.h"
#include "check_redis.h"

/* ---- a private Redis --------------------------------------------------- */

char sock[300];
int redis_pid;

void redis_setup(void)
{
    journal_setup();
    redis_start();
}

void redis_start(void)
{
    snprintf(sock, sizeof(sock), "%s/redis.sock", dir);
    redis_pid = tu_redis_start(sock);
    if (redis_pid == 0)
        ck_abort_msg("redis-server is not installed (apt-get install redis-server)");
    ck_assert_msg(redis_pid > 0, "redis-server did not start; see %s.log", sock);
}

void redis_teardown(void)
{
    tu_redis_stop(redis_pid);
    redis_pid = 0;
    journal_teardown();
}

redisContext *rconnect(void)
{
    return tr_connect(sock);
}

redisReply *rcmd(redisContext *c, const char *fmt, ...)
{
    va_list ap;
    redisReply *r;

    va_start(ap, fmt);
    r = tr_vcommand(c, 1, fmt, ap);
    va_end(ap);
    return r;
}

long long rint_(redisContext *c, const char *fmt, const char *arg)
{
    return tr_integer(c, fmt, arg);
}

/* HGET as a newly allocated string, NULL if absent. */
static char *rhget(redisContext *c, const char *key, const char *field)
{
    redisReply *r = rcmd(c, "HGET %s %s", key, field);
    char *v = r->type == REDIS_REPLY_STRING ? g_strdup(r->str) : NULL;

    freeReplyObject(r);
    return v;
}

static void assert_hfield(redisContext *c, const char *key, const char *field, const char *want)
{
    char *v = rhget(c, key, field);

    ck_assert_msg(v != NULL, "%s has no %s", key, field);
    ck_assert_msg(strcmp(v, want) == 0, "%s %s = \"%s\", want \"%s\"", key, field, v, want);
    g_free(v);
}

/* Run a command built by events.c; returns the script's integer. */
static long long run_command(redisContext *c, const GString *cmd)
{
    redisReply *r = NULL;
    long long v;

    ck_assert_int_eq(redisAppendFormattedCommand(c, cmd->str, cmd->len), REDIS_OK);
    ck_assert_int_eq(redisGetReply(c, (void **)&r), REDIS_OK);
    ck_assert_msg(r->type == REDIS_REPLY_INTEGER, "reply type %d: %s", r->type,
                  r->type == REDIS_REPLY_ERROR ? r->str : "");
    v = r->integer;
    freeReplyObject(r);
    return v;
}

/* The whole stream: an array of entries, each [id, [field, value, ...]]. */
redisReply *stream_all(redisContext *c)
{
    redisReply *r = tu_stream_range(c, "pb:events");

    ck_assert_msg(r != NULL, "XRANGE pb:events: no array");
    return r;
}

/* Field of a stream entry, or NULL. */
const char *entry_field(const redisReply *entry, const char *name)
{
    return tu_stream_field(entry, name);
}

void sample_record(struct pb_sent_record *rec, unsigned n, int with_contact)
{
    static const char email[] = " <Ann@Example.COM>";    /* normalised on the way */

    memset(rec, 0, sizeof(*rec));
    for (unsigned i = 0; i < PB_MSGID_LEN; i++)
        rec->msg_id[i] = (uint8_t)(n >> (8 * (i % 4)) ^ (i * 17));
    rec->msg_id[0] = (uint8_t)(n >> 8);
    rec->msg_id[1] = (uint8_t)n;
    rec->has_contact = with_contact;
    for (unsigned i = 0; i < PB_CONTACT_LEN; i++)
        rec->contact[i] = (uint8_t)(0xa0 + i);
    rec->email = with_contact ? email : NULL;
    rec->campaign = "spring-sale";
    rec->message_id = "<m1@example.com>";
    rec->queue_id = "4XyZ1234";
    rec->subject = "Spring sale: 20% off";
    rec->sent_at = 1700000000 + n;
    rec->links = 7;
    rec->recipients = with_contact ? 1 : 3;
}

void msg_hex(const struct pb_sent_record *rec, char out[17])
{
    static const char digits[] = "0123456789abcdef";

    for (int i = 0; i < PB_MSGID_LEN; i++) {
        out[2 * i] = digits[rec->msg_id[i] >> 4];
        out[2 * i + 1] = digits[rec->msg_id[i] & 15];
    }
    out[16] = '\0';
}

/* ---- events ------------------------------------------------------------ */

START_TEST(test_event_ids)
{
    GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

    for (int i = 0; i < 1000; i++) {
        char id[33];
        pb_event_new_id(id);
        ck_assert_int_eq((int)strlen(id), 32);
        ck_assert_int_eq((int)strspn(id, "0123456789abcdef"), 32);
        ck_assert_msg(g_hash_table_add(seen, g_strdup(id)), "duplicate id %s", id);
    }
    g_hash_table_destroy(seen);
}
END_TEST

START_TEST(test_sent_writes_schema)
{
    redisContext *c = rconnect();
    struct pb_sent_record rec;
    GString *cmd = g_string_new(NULL);
    redisReply *r;
    char msg[17], key[64], ts_lo[24];
    const char *eid;
    long long ttl;

    sample_record(&rec, 1, 1);
    msg_hex(&rec, msg);
    snprintf(ts_lo, sizeof(ts_lo), "%lld", pb_event_now_ms());
    pb_event_sent_command("pb:", 180, &rec, cmd);
    ck_assert_int_eq(run_command(c, cmd), 1);

    /* send record */
    snprintf(key, sizeof(key), "pb:msg:%s", msg);
    assert_hfield(c, key, "campaign", "spring-sale");
    assert_hfield(c, key, "contact", "a0a1a2a3a4a5a6a7");
    assert_hfield(c, key, "message_id", "<m1@example.com>");
    assert_hfield(c, key, "queue_id", "4XyZ1234");
    assert_hfield(c, key, "subject", "Spring sale: 20% off");
    assert_hfield(c, key, "sent_at", "1700000001");
    assert_hfield(c, key, "links", "7");
    assert_hfield(c, key, "rcpts", "1");
    ttl = rint_(c, "TTL %s", key);
    ck_assert_int_gt(ttl, 180LL * 86400 - 60);
    ck_assert_int_le(ttl, 180LL * 86400);

    /* contact and its address mapping */
    assert_hfield(c, "pb:contact:a0a1a2a3a4a5a6a7", "email", "ann@example.com");
    assert_hfield(c, "pb:contact:a0a1a2a3a4a5a6a7", "first_seen", "1700000001");
    assert_hfield(c, "pb:contact:a0a1a2a3a4a5a6a7", "last_sent", "1700000001");
    assert_hfield(c, "pb:contact:a0a1a2a3a4a5a6a7", "sent", "1");
    assert_hfield(c, "pb:contacts:by-email", "ann@example.com", "a0a1a2a3a4a5a6a7");
    ck_assert_int_eq(rint_(c, "TTL %s", "pb:contact:a0a1a2a3a4a5a6a7"), -1);

    /* campaign */
    ck_assert_int_eq(rint_(c, "SISMEMBER pb:campaigns %s", "spring-sale"), 1);
    assert_hfield(c, "pb:campaign:spring-sale", "sent", "1");
    assert_hfield(c, "pb:campaign:spring-sale", "recipients", "1");
    assert_hfield(c, "pb:campaign:spring-sale", "first_sent", "1700000001");
    assert_hfield(c, "pb:campaign:spring-sale", "last_sent", "1700000001");

    /* stream entry: the fields, and no address anywhere in it */
    r = stream_all(c);
    ck_assert_int_eq((int)r->elements, 1);
    ck_assert_str_eq(entry_field(r->element[0], "type"), "sent");
    ck_assert_str_eq(entry_field(r->element[0], "msg"), msg);
    ck_assert_str_eq(entry_field(r->element[0], "contact"), "a0a1a2a3a4a5a6a7");
    ck_assert_str_eq(entry_field(r->element[0], "campaign"), "spring-sale");
    ck_assert_str_eq(entry_field(r->element[0], "links"), "7");
    ck_assert_str_eq(entry_field(r->element[0], "rcpts"), "1");
    ck_assert_int_ge(strcmp(entry_field(r->element[0], "ts"), ts_lo), 0);
    ck_assert_int_eq((int)strlen(entry_field(r->element[0], "ts")), (int)strlen(ts_lo));
    eid = entry_field(r->element[0], "eid");
    ck_assert_int_eq((int)strlen(eid), 32);
    for (size_t i = 0; i < r->element[0]->element[1]->elements; i++)
        ck_assert_ptr_null(strchr(r->element[0]->element[1]->element[i]->str, '@'));
    snprintf(key, sizeof(key), "pb:eid:%s", eid);
    ttl = rint_(c, "TTL %s", key);
    ck_assert_int_gt(ttl, PB_EVENT_ID_TTL - 60);
    ck_assert_int_le(ttl, PB_EVENT_ID_TTL);
    freeReplyObject(r);
    g_string_free(cmd, TRUE);
    redisFree(c);
}
END_TEST

START_TEST(test_sent_at_most_once)
{
    redisContext *c = rconnect();
    struct pb_sent_record rec;
    GString *cmd = g_string_new(NULL), *other = g_string_new(NULL);

    sample_record(&rec, 2, 1);
    pb_event_sent_command("pb:", 30, &rec, cmd);
    ck_assert_int_eq(run_command(c, cmd), 1);
    ck_assert_int_eq(run_command(c, cmd), 0);      /* the same command again */
    ck_assert_int_eq(rint_(c, "XLEN %s", "pb:events"), 1);
    assert_hfield(c, "pb:campaign:spring-sale", "sent", "1");
    assert_hfield(c, "pb:contact:a0a1a2a3a4a5a6a7", "sent", "1");

    /* the same record built again is a new event */
    pb_event_sent_command("pb:", 30, &rec, other);
    ck_assert_int_eq(run_command(c, other), 1);
    ck_assert_int_eq(rint_(c, "XLEN %s", "pb:events"), 2);
    assert_hfield(c, "pb:campaign:spring-sale", "sent", "2");
    g_string_free(cmd, TRUE);
    g_string_free(other, TRUE);
    redisFree(c);
}
END_TEST

START_TEST(test_sent_campaign_level)
{
    redisContext *c = rconnect();
    struct pb_sent_record rec;
    GString *cmd = g_string_new(NULL);
    redisReply *r;
    char msg[17], key[64];

    sample_record(&rec, 3, 0);
    rec.message_id = rec.queue_id = rec.subject = NULL;
    msg_hex(&rec, msg);
    pb_event_sent_command("t1:", 0, &rec, cmd);
    ck_assert_int_eq(run_command(c, cmd), 1);
    snprintf(key, sizeof(key), "t1:msg:%s", msg);
    assert_hfield(c, key, "contact", "");
    assert_hfield(c, key, "rcpts", "3");
    ck_assert_ptr_null(rhget(c, key, "subject"));
    ck_assert_int_eq(rint_(c, "TTL %s", key), -1);       /* retention 0: kept */
    ck_assert_int_eq(rint_(c, "EXISTS %s", "t1:contacts:by-email"), 0);
    assert_hfield(c, "t1:campaign:spring-sale", "recipients", "3");
    r = rcmd(c, "KEYS t1:contact:*");
    ck_assert_int_eq((int)r->elements, 0);
    freeReplyObject(r);
    r = rcmd(c, "XRANGE t1:events - +");
    ck_assert_int_eq((int)r->elements, 1);
    ck_assert_str_eq(entry_field(r->element[0], "contact"), "");
    freeReplyObject(r);
    ck_assert_int_eq(rint_(c, "EXISTS %s", "pb:events"), 0);  /* prefix honoured */
    g_string_free(cmd, TRUE);
    redisFree(c);
}
END_TEST

/* A late replay of an older send never moves last_sent backwards. */
START_TEST(test_sent_late_replay)
{
    redisContext *c = rconnect();
    struct pb_sent_record newer, older;
    GString *a = g_string_new(NULL), *b = g_string_new(NULL);

    sample_record(&newer, 50, 1);
    sample_record(&older, 10, 1);
    pb_event_sent_command("pb:", 1, &older, a);
    pb_event_sent_command("pb:", 1, &newer, b);
    ck_assert_int_eq(run_command(c, b), 1);
    ck_assert_int_eq(run_command(c, a), 1);
    assert_hfield(c, "pb:campaign:spring-sale", "first_sent", "1700000010");
    assert_hfield(c, "pb:campaign:spring-sale", "last_sent", "1700000050");
    assert_hfield(c, "pb:contact:a0a1a2a3a4a5a6a7", "first_seen", "1700000010");
    assert_hfield(c, "pb:contact:a0a1a2a3a4a5a6a7", "last_sent", "1700000050");
    assert_hfield(c, "pb:contact:a0a1a2a3a4a5a6a7", "sent", "2");
    g_string_free(a, TRUE);
    g_string_free(b, TRUE);
    redisFree(c);
}
END_TEST

TCase *events_tcase(void)
{
    TCase *te = tcase_create("events");

    tcase_add_checked_fixture(te, redis_setup, redis_teardown);
    tcase_add_test(te, test_event_ids);
    tcase_add_test(te, test_sent_writes_schema);
    tcase_add_test(te, test_sent_at_most_once);
    tcase_add_test(te, test_sent_campaign_level);
    tcase_add_test(te, test_sent_late_replay);
    tcase_set_timeout(te, 30);
    return te;
}
