/*
 * check_store_once.c - tracker events written exactly once, in batches
 * (lib/events_tracker.c): a batch that reaches Redis again (its reply
 * lost, the journal replayed) writes nothing twice, also when it overlaps
 * a later one; two tracker runs (two hosts, or a restart) number their
 * events apart; counters stay exact (unique, imputed opens) when a
 * recipient's events are spread over several batches or share one; a
 * journal record of an older format is replayed as it is; a journal that
 * cannot be read keeps its records for the next start; Redis before 6.2
 * (no SMISMEMBER) counts the same. Part of
 * check_store (see check_store.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include "events.h"
#include "journal.h"
#include "contact.h"
#include "testutil.h"
#include "check_store.h"
#include "check_redis.h"

/* Records of run for events from..to-1: clicks (msg i % 8, contact i % 5)
 * or opens (msg i, contact i), User-Agent "ev-<i>". */
static void add_range(struct pb_track_batch *b, struct pb_track_run *run, int click,
                      unsigned from, unsigned to)
{
    GString *rec = g_string_new(NULL);

    pb_track_batch_reset(b);
    for (unsigned i = from; i < to; i++) {
        struct pb_token tok;
        char ua[16];

        snprintf(ua, sizeof(ua), "ev-%u", i);
        if (click)
            make_token(&tok, i % 8, (int)(i % 5), 0, "https://example.com/");
        else
            make_token(&tok, i, (int)i, 0, NULL);
        g_string_truncate(rec, 0);
        make_record(run, click ? PB_TRACK_CLICK : PB_TRACK_OPEN, &tok, ua, rec);
        ck_assert_int_eq(pb_track_batch_add(b, rec->str, rec->len), 1);
    }
    g_string_free(rec, TRUE);
}

static void assert_batch(redisContext *c, const struct pb_track_batch *b, const char *want)
{
    char *got = sbatch(c, b);

    ck_assert_str_eq(got, want);
    g_free(got);
}

/* A batch whose reply was lost is sent again: nothing twice; a batch
 * that overlaps it writes only what is new. */
START_TEST(test_batch_replayed_once)
{
    redisContext *c = sconnect();
    struct pb_track_run run;
    struct pb_track_batch first, again;

    pb_event_tracker_run_init(&run);
    pb_track_batch_init(&first);
    pb_track_batch_init(&again);
    add_range(&first, &run, 1, 0, 10);
    assert_batch(c, &first, "1111111111");
    assert_batch(c, &first, "0000000000");
    /* events 5..14: the same records 5..9, then five new ones */
    run.seq = 5;
    add_range(&again, &run, 1, 5, 15);
    assert_batch(c, &again, "0000011111");
    assert_batch(c, &again, "0000000000");

    ck_assert_int_eq(shget(c, "pb:campaign:spring-sale", "clicks_human"), 15);
    /* one imputed open per message (8), unique opens per contact (0-4) */
    ck_assert_int_eq(shget(c, "pb:campaign:spring-sale", "imputed_opens"), 8);
    ck_assert_int_eq(shget(c, "pb:campaign:spring-sale", "opens_human"), 8);
    ck_assert_int_eq(shget(c, "pb:campaign:spring-sale", "unique_clicks_human"), 5);
    ck_assert_int_eq(shget(c, "pb:campaign:spring-sale", "unique_opens_human"), 5);
    ck_assert_int_eq(tr_integer(c, "SCARD pb:uniq:click-human:spring-sale"), 5);
    ck_assert_int_eq(tr_integer(c, "SCARD pb:uniq:open-human:spring-sale"), 5);
    ck_assert_int_eq(tr_integer(c, "SCARD pb:uniq:open-msg:spring-sale"), 8);
    ck_assert_int_eq(tr_integer(c, "XLEN pb:events"), 23);
    {
        redisReply *r = scmd(c, "KEYS pb:eid:*");      /* no key per event */
        ck_assert_uint_eq(r->elements, 0);
        freeReplyObject(r);
    }
    pb_track_batch_free(&first);
    pb_track_batch_free(&again);
    redisFree(c);
}
END_TEST

/* Two runs (two trackers, or one restarted) write side by side; each
 * one's replay is skipped, the other's events are not. */
START_TEST(test_two_instances)
{
    redisContext *c = sconnect();
    struct pb_track_run a, b;
    struct pb_track_batch ba, bb, ba2;
    char key[64];
    redisReply *r;

    pb_event_tracker_run_init(&a);
    pb_event_tracker_run_init(&b);
    ck_assert_str_ne(a.id, b.id);
    pb_track_batch_init(&ba);
    pb_track_batch_init(&bb);
    pb_track_batch_init(&ba2);
    add_range(&ba, &a, 0, 0, 5);
    add_range(&bb, &b, 0, 5, 10);
    ck_assert_int_eq(pb_track_batch_add(&ba, "*1\r\n$4\r\nPING\r\n", 14), -1);
    ck_assert_int_eq(pb_track_batch_add(&ba, bb.events->str, bb.events->len), -1);
    assert_batch(c, &ba, "11111");
    assert_batch(c, &bb, "11111");
    assert_batch(c, &ba, "00000");
    add_range(&ba2, &a, 0, 10, 15);
    assert_batch(c, &ba2, "11111");
    add_range(&bb, &b, 0, 15, 20);
    assert_batch(c, &bb, "11111");
    assert_stream_uas(c, 20, "ev-");

    /* one bit per event written, per run */
    snprintf(key, sizeof(key), "pb:seen:%s:00000000000", a.id);
    ck_assert_int_eq(tr_integer(c, "BITCOUNT %s", key), 10);
    ck_assert_int_gt(tr_integer(c, "TTL %s", key), 0);
    snprintf(key, sizeof(key), "pb:seen:%s:00000000000", b.id);
    ck_assert_int_eq(tr_integer(c, "BITCOUNT %s", key), 10);
    r = scmd(c, "KEYS pb:seq:*");       /* the older trackers' mark is not written */
    ck_assert_uint_eq(r->elements, 0);
    freeReplyObject(r);
    ck_assert_int_eq(shget(c, "pb:campaign:spring-sale", "opens_human"), 20);
    pb_track_batch_free(&ba);
    pb_track_batch_free(&bb);
    pb_track_batch_free(&ba2);
    redisFree(c);
}
END_TEST

/* The OOM loss of issue 10: batch A (opens 0-9) is refused while Redis is
 * out of memory, batch B (10-19) of the same run fits once memory is
 * back, then A is sent again: A is written, once, though B's numbers are
 * higher (a mark of the last number written would have skipped it). */
START_TEST(test_refused_batch_retried_after_later)
{
    redisContext *c = sconnect();
    struct pb_track_run run;
    struct pb_track_batch a, b;
    GString *cmd = g_string_new(NULL);
    static const struct pb_track_retention none = { 0, 0, 0 };
    redisReply *r;

    pb_event_tracker_run_init(&run);
    pb_track_batch_init(&a);
    pb_track_batch_init(&b);
    add_range(&a, &run, 0, 0, 10);
    add_range(&b, &run, 0, 10, 20);
    freeReplyObject(scmd(c, "CONFIG SET maxmemory 1"));
    pb_track_batch_command(&a, &none, NULL, cmd);
    ck_assert_int_eq(redisAppendFormattedCommand(c, cmd->str, cmd->len), REDIS_OK);
    ck_assert_int_eq(redisGetReply(c, (void **)&r), REDIS_OK);
    ck_assert_int_eq(r->type, REDIS_REPLY_ERROR);
    ck_assert_msg(strstr(r->str, "OOM") != NULL, "%s", r->str);
    freeReplyObject(r);
    freeReplyObject(scmd(c, "CONFIG SET maxmemory 0"));
    ck_assert_int_eq(tr_integer(c, "XLEN pb:events"), 0);      /* A changed nothing */
    assert_batch(c, &b, "1111111111");
    assert_batch(c, &a, "1111111111");
    assert_batch(c, &a, "0000000000");
    assert_batch(c, &b, "0000000000");
    assert_stream_uas_any_order(c, 20, "ev-");
    ck_assert_int_eq(shget(c, "pb:campaign:spring-sale", "opens_human"), 20);
    g_string_free(cmd, TRUE);
    pb_track_batch_free(&a);
    pb_track_batch_free(&b);
    redisFree(c);
}
END_TEST

/* Numbers 2^20 apart are in different bitmaps: a batch stops at a
 * block's end, and both blocks are written and skipped on their own. */
START_TEST(test_blocks)
{
    redisContext *c = sconnect();
    struct pb_track_run run;
    struct pb_track_batch b;
    GString *rec = g_string_new(NULL);
    struct pb_token tok;
    char key[64];

    pb_event_tracker_run_init(&run);
    pb_track_batch_init(&b);
    run.seq = 0xffffe;          /* the next two: 0xfffff, then 0x100000 */
    make_token(&tok, 1, 1, 0, NULL);
    make_record(&run, PB_TRACK_OPEN, &tok, "ev-0", rec);
    ck_assert_int_eq(pb_track_batch_add(&b, rec->str, rec->len), 1);
    g_string_truncate(rec, 0);
    make_record(&run, PB_TRACK_OPEN, &tok, "ev-1", rec);
    ck_assert_int_eq(pb_track_batch_add(&b, rec->str, rec->len), 0);
    assert_batch(c, &b, "1");
    pb_track_batch_reset(&b);
    ck_assert_int_eq(pb_track_batch_add(&b, rec->str, rec->len), 1);
    assert_batch(c, &b, "1");
    assert_batch(c, &b, "0");
    snprintf(key, sizeof(key), "pb:seen:%s:00000000000", run.id);
    ck_assert_int_eq(tr_integer(c, "BITCOUNT %s", key), 1);
    ck_assert_int_eq(tr_integer(c, "STRLEN %s", key), 131072);  /* 2^20 bits at most */
    snprintf(key, sizeof(key), "pb:seen:%s:00000000001", run.id);
    ck_assert_int_eq(tr_integer(c, "BITCOUNT %s", key), 1);
    assert_stream_uas(c, 2, "ev-");
    g_string_free(rec, TRUE);
    pb_track_batch_free(&b);
    redisFree(c);
}
END_TEST

/* A journal record of a run of an older tracker, which kept the last
 * number written in pb:seq:<run>: at or below it, skipped. */
START_TEST(test_older_run_mark)
{
    redisContext *c = sconnect();
    struct pb_track_run run;
    struct pb_track_batch b;
    char key[64];

    pb_event_tracker_run_init(&run);
    pb_track_batch_init(&b);
    snprintf(key, sizeof(key), "pb:seq:%s", run.id);
    freeReplyObject(scmd(c, "SET %s 0000000000000003", key));
    add_range(&b, &run, 0, 0, 6);
    assert_batch(c, &b, "000111");
    assert_batch(c, &b, "000000");
    ck_assert_int_eq(tr_integer(c, "XLEN pb:events"), 3);
    pb_track_batch_free(&b);
    redisFree(c);
}
END_TEST

static void click(unsigned msg, int contact, const char *ua)
{
    struct pb_token tok;

    make_token(&tok, msg, contact, 0, "https://example.com/");
    submit(PB_EV_CLICK, &tok, PB_CLASS_HUMAN, ua, NULL);
}

static void human_open(unsigned msg, int contact, const char *ua)
{
    struct pb_token tok;

    make_token(&tok, msg, contact, 0, NULL);
    submit(PB_EV_OPEN, &tok, PB_CLASS_HUMAN, ua, NULL);
}

/* Counters through the store, a recipient's events spread over batches
 * (one batch per pass of the loop) or sharing one. */
static void check_counters_across_batches(void)
{
    redisContext *c;
    redisReply *r;

    store_start(sjournal, 1000, 500, NULL);
    run_until(is_up, 5, "connected");
    click(1, 1, "ev-0");        /* batch 1: m1 imputed; m2 opened */
    human_open(2, 2, "ev-2");
    run_until(is_idle, 5, "batch 1");
    click(1, 1, "ev-3");        /* batch 2: m1 again, m2 opened before, */
    click(2, 2, "ev-4");
    click(3, 1, "ev-5");        /* m3 (contact 1 again) imputed, not a unique open */
    run_until(is_idle, 5, "batch 2");
    human_open(4, 3, "ev-7");   /* batch 3: m4 open then click; m5 twice, */
    click(4, 3, "ev-8");        /* imputed once */
    click(5, 4, "ev-9");
    click(5, 4, "ev-11");
    run_until(is_idle, 5, "batch 3");

    c = sconnect();
    r = scmd(c, "INFO commandstats");   /* three passes, three script runs */
    ck_assert_msg(strstr(r->str, "cmdstat_evalsha:calls=3,") != NULL, "%s", r->str);
    freeReplyObject(r);
    ck_assert_int_eq(shget(c, "pb:campaign:spring-sale", "imputed_opens"), 3);
    ck_assert_int_eq(shget(c, "pb:campaign:spring-sale", "opens_human"), 5);
    ck_assert_int_eq(shget(c, "pb:campaign:spring-sale", "unique_opens_human"), 4);
    ck_assert_int_eq(shget(c, "pb:campaign:spring-sale", "clicks_human"), 7);
    ck_assert_int_eq(shget(c, "pb:campaign:spring-sale", "unique_clicks_human"), 4);
    ck_assert_int_eq(tr_integer(c, "SCARD pb:uniq:open-human:spring-sale"), 4);
    ck_assert_int_eq(tr_integer(c, "SCARD pb:uniq:click-human:spring-sale"), 4);
    ck_assert_int_eq(shget(c, "pb:campaign-links:spring-sale", "0:clicks_human"), 7);
    ck_assert_int_eq(shget(c, "pb:campaign-links:spring-sale", "0:unique_clicks_human"), 4);
    /* opens and clicks write nothing per message or per contact */
    r = scmd(c, "KEYS pb:msg:*");
    ck_assert_uint_eq(r->elements, 0);
    freeReplyObject(r);
    r = scmd(c, "KEYS pb:contact:*");
    ck_assert_uint_eq(r->elements, 0);
    freeReplyObject(r);

    /* the stream: every event, imputed opens just before their click */
    r = sstream(c);
    ck_assert_uint_eq(r->elements, 12);
    {
        static const char *const want[][2] = {
            { "open", "ev-0" }, { "click", "ev-0" }, { "open", "ev-2" },
            { "click", "ev-3" }, { "click", "ev-4" }, { "open", "ev-5" }, { "click", "ev-5" },
            { "open", "ev-7" }, { "click", "ev-8" }, { "open", "ev-9" }, { "click", "ev-9" },
            { "click", "ev-11" },
        };
        for (size_t i = 0; i < 12; i++) {
            ck_assert_str_eq(tu_stream_field(r->element[i], "type"), want[i][0]);
            ck_assert_str_eq(tu_stream_field(r->element[i], "ua"), want[i][1]);
        }
        ck_assert_str_eq(tu_stream_field(r->element[0], "imputed"), "1");
        ck_assert_str_eq(tu_stream_field(r->element[5], "imputed"), "1");
        ck_assert_str_eq(tu_stream_field(r->element[7], "imputed"), "0");
        ck_assert_str_eq(tu_stream_field(r->element[9], "imputed"), "1");
    }
    freeReplyObject(r);
    redisFree(c);
}

START_TEST(test_counters_across_batches)
{
    check_counters_across_batches();
}
END_TEST

/* The same on a Redis without SMISMEMBER (as before 6.2): the script
 * checks the uniq sets one member at a time. */
START_TEST(test_counters_without_smismember)
{
    static const char *const no_smismember[] = { "--rename-command", "SMISMEMBER", "", NULL };
    redisContext *c;
    redisReply *r;

    sredis_stop();
    sredis_start_with(no_smismember);
    c = sconnect();
    r = redisCommand(c, "SMISMEMBER k a");
    ck_assert_msg(r && r->type == REDIS_REPLY_ERROR, "SMISMEMBER still there");
    freeReplyObject(r);
    check_counters_across_batches();
    r = scmd(c, "INFO commandstats");   /* the one-by-one checks ran */
    ck_assert_msg(strstr(r->str, "cmdstat_sismember:calls=") != NULL, "%s", r->str);
    freeReplyObject(r);
    redisFree(c);
}
END_TEST

/* A journal record that is not an event record of this format (an older
 * tracker's EVAL) is replayed as it is, in its place. */
START_TEST(test_older_record_replayed)
{
    static const char older[] = "*4\r\n$4\r\nEVAL\r\n$40\r\n"
        "redis.call('RPUSH',KEYS[1],'a') return 1\r\n$1\r\n1\r\n$9\r\npb:legacy\r\n";
    redisContext *c = sconnect();
    struct pb_track_run run;
    struct pb_journal *j;
    struct pb_token tok;
    GString *rec = g_string_new(NULL);
    char err[256];

    pb_event_tracker_run_init(&run);
    j = pb_journal_open(sjournal, PB_FSYNC_NEVER, err, sizeof(err));
    ck_assert_msg(j != NULL, "%s", err);
    make_token(&tok, 1, 1, 0, NULL);
    make_record(&run, PB_TRACK_OPEN, &tok, "ev-0", rec);
    ck_assert_int_eq(pb_journal_append(j, rec->str, rec->len), 0);
    ck_assert_int_eq(pb_journal_append(j, older, sizeof(older) - 1), 0);
    g_string_truncate(rec, 0);
    make_record(&run, PB_TRACK_OPEN, &tok, "ev-1", rec);
    ck_assert_int_eq(pb_journal_append(j, rec->str, rec->len), 0);
    pb_journal_close(j);

    store_start(sjournal, 1000, 500, NULL);
    run_until(is_idle, 10, "replayed");
    assert_stream_uas(c, 2, "ev-");
    ck_assert_int_eq(tr_integer(c, "LLEN pb:legacy"), 1);
    {
        struct pb_store_stats stats;
        pb_store_stats(&stats);
        ck_assert_uint_eq(stats.written, 3);
        ck_assert_uint_eq(stats.replayed, 3);
    }
    g_string_free(rec, TRUE);
    redisFree(c);
}
END_TEST

/* The first five events written live, none waiting. */
static int five_written(const struct pb_store_stats *s)
{
    return s->written >= 5 && s->queued == 0;
}

/* Flip the first byte of the journal file (its first frame then fails
 * to read: "the file was changed under us"); again to mend it. */
static void flip_journal_byte(void)
{
    FILE *f = fopen(sjournal, "r+b");
    int ch;

    ck_assert_ptr_nonnull(f);
    ch = fgetc(f);
    ck_assert_int_ne(ch, EOF);
    ck_assert_int_eq(fseek(f, 0, SEEK_SET), 0);
    ck_assert_int_ne(fputc(ch ^ 0x20, f), EOF);
    ck_assert_int_eq(fclose(f), 0);
}

/* The journal cannot be read in the middle of a run: its replay stops
 * until restart; the events after that are written live, and more go to
 * the journal when memory is full. Once the journal reads again (the
 * next start) every record in it is replayed: none is skipped as older
 * than what Redis already has of its run (newer events start new runs). */
START_TEST(test_journal_unreadable)
{
    redisContext *c;

    store_start(sjournal, 10, 500, NULL);
    run_until(is_up, 5, "connected");
    submit_range(0, 30);               /* more than queue_max at once: journaled */
    ck_assert_uint_eq(stats_now().journaled, 30);
    flip_journal_byte();
    run_ms(300);                /* the replay fails: stopped */
    submit_range(30, 35);              /* live */
    run_until(five_written, 5, "live events written");
    submit_range(35, 60);              /* memory full again: part journaled */
    run_ms(300);
    submit_range(60, 65);              /* live */
    run_ms(300);
    ck_assert_uint_gt(stats_now().journaled, 30);
    pb_store_stop(200);

    flip_journal_byte();        /* readable again; the next start */
    store_start(sjournal, 1000, 500, NULL);
    run_until(is_idle, 10, "journal replayed");
    c = sconnect();
    assert_stream_uas_any_order(c, 65, "ev-");
    redisFree(c);
}
END_TEST

TCase *once_tcase(void)
{
    TCase *tc = tcase_create("once");

    tcase_add_checked_fixture(tc, store_setup, store_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_batch_replayed_once);
    tcase_add_test(tc, test_two_instances);
    tcase_add_test(tc, test_refused_batch_retried_after_later);
    tcase_add_test(tc, test_blocks);
    tcase_add_test(tc, test_older_run_mark);
    tcase_add_test(tc, test_counters_across_batches);
    tcase_add_test(tc, test_counters_without_smismember);
    tcase_add_test(tc, test_older_record_replayed);
    tcase_add_test(tc, test_journal_unreadable);
    return tc;
}
