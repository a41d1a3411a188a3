/*
 * check_journal_frames.c - the journal's frames on disk (part of the
 * check_journal program, check_journal.h): every way the last append can
 * be cut short, frames of both versions (PBJ1 still read, PBJ2 written),
 * a changed byte, and frame sizes as consume_known adds them up.
 */
#include <check.h>
#include <string.h>
#include <glib.h>
#include "journal.h"
#include "journal_frame.h"
#include "testutil.h"
#include "check_journal.h"

/* Every way the last append can be cut short leaves the good records. */
START_TEST(test_torn_tail)
{
    GString *last = record_bytes(3);
    size_t good_size, frame_size;
    char *whole;

    {
        struct pb_journal *j = jopen(PB_FSYNC_NEVER);
        append_records(j, 0, 3);
        pb_journal_close(j);
        good_size = (size_t)file_size(jpath);
        j = jopen(PB_FSYNC_NEVER);
        ck_assert_int_eq(pb_journal_append(j, last->str, last->len), 0);
        pb_journal_close(j);
    }
    whole = tu_read_file(jpath, &frame_size);
    ck_assert_ptr_nonnull(whole);
    frame_size -= good_size;
    for (size_t cut = 0; cut < frame_size; cut++) {
        struct pb_journal *j;
        struct collector c;

        ck_assert_int_eq(tu_write_file(jpath, whole, good_size + cut), 0);
        j = jopen(PB_FSYNC_NEVER);
        ck_assert_msg(pb_journal_backlog(j) == 3, "cut at %zu: backlog %zu", cut,
                      pb_journal_backlog(j));
        ck_assert_int_eq((int)file_size(jpath), (int)good_size);
        /* the next append follows the last good record */
        append_records(j, 3, 4);
        collector_init(&c, -1);
        ck_assert_int_eq(pb_journal_replay(j, collect, &c), 4);
        assert_records(&c, 0, 4);
        g_ptr_array_free(c.got, TRUE);
        pb_journal_close(j);
    }
    /* a complete frame whose bytes were not all written (zero-filled) */
    memset(whole + good_size + frame_size - 10, 0, 5);
    ck_assert_int_eq(tu_write_file(jpath, whole, good_size + frame_size), 0);
    {
        struct pb_journal *j = jopen(PB_FSYNC_NEVER);
        ck_assert_int_eq((int)pb_journal_backlog(j), 3);
        pb_journal_close(j);
    }
    free(whole);
    g_string_free(last, TRUE);
}
END_TEST

/* A writer that knows what it appended drops records by their lengths,
 * without reading them; wrong lengths are noticed (no frame where they
 * end) and the records are read instead. */
/* A journal the previous version left (PBJ1 frames, byte-wise FNV-1a) is
 * replayed after an upgrade, and appends go on behind it in PBJ2; a PBJ2
 * frame with one byte of its record changed is cut off as torn. */
START_TEST(test_reads_v1_frames)
{
    GString *file = g_string_new(NULL);
    struct collector c;

    for (int i = 0; i < 3; i++) {
        GString *r = record_bytes(i);
        g_string_append_printf(file, "PBJ1 %zu %08x\n", r->len,
                               (unsigned)pb_jframe_checksum(1, r->str, r->len));
        g_string_append_len(file, r->str, (gssize)r->len);
        g_string_append_c(file, '\n');
        g_string_free(r, TRUE);
    }
    ck_assert_int_eq(tu_write_file(jpath, file->str, file->len), 0);
    struct pb_journal *j = jopen(PB_FSYNC_NEVER);
    ck_assert_int_eq((int)pb_journal_backlog(j), 3);
    append_records(j, 3, 5);
    pb_journal_close(j);

    size_t size;
    char *whole = tu_read_file(jpath, &size);
    ck_assert_ptr_nonnull(whole);
    ck_assert_msg(memcmp(whole + file->len, "PBJ2 ", 5) == 0, "appended frames are PBJ2");
    j = jopen(PB_FSYNC_NEVER);
    collector_init(&c, -1);
    ck_assert_int_eq(pb_journal_replay(j, collect, &c), 5);
    assert_records(&c, 0, 5);
    g_ptr_array_free(c.got, TRUE);
    pb_journal_close(j);

    /* change one byte of the record of the fourth frame (the first PBJ2) */
    char *body = memchr(whole + file->len, '\n', size - file->len) + 1;
    body[3] ^= 0x20;
    ck_assert_int_eq(tu_write_file(jpath, whole, size), 0);
    j = jopen(PB_FSYNC_NEVER);
    ck_assert_int_eq((int)pb_journal_backlog(j), 3);
    ck_assert_int_eq((int)file_size(jpath), (int)file->len);
    pb_journal_close(j);
    g_free(whole);
    g_string_free(file, TRUE);
}
END_TEST

START_TEST(test_consume_known)
{
    struct pb_journal *j = jopen(PB_FSYNC_NEVER);
    size_t lens[5];
    struct collector c;

    append_records(j, 0, 5);
    for (int i = 0; i < 5; i++) {
        GString *r = record_bytes(i);
        char h[HEADER_MAX];

        lens[i] = r->len;
        /* the frame size consume_known adds up is the frame appended */
        ck_assert_uint_eq(pb_jframe_size(r->len),
                          (size_t)pb_jframe_header(h, sizeof(h), r->str, r->len) + r->len + 1);
        g_string_free(r, TRUE);
    }
    ck_assert_uint_eq(pb_jframe_size(9), strlen("PBJ2 9 00000000\n") + 9 + 1);
    ck_assert_uint_eq(pb_jframe_size(123456), strlen("PBJ2 123456 00000000\n") + 123456 + 1);
    ck_assert_int_eq(pb_journal_consume_known(j, lens, 2), 0);
    ck_assert_int_eq((int)pb_journal_backlog(j), 3);
    lens[2] += 1;                           /* wrong: read instead */
    ck_assert_int_eq(pb_journal_consume_known(j, lens + 2, 1), 0);
    ck_assert_int_eq((int)pb_journal_backlog(j), 2);
    collector_init(&c, -1);
    ck_assert_int_eq(pb_journal_peek(j, 10, collect, &c), 2);
    assert_records(&c, 3, 5);
    ck_assert_int_eq(pb_journal_consume_known(j, lens + 3, 2), 0);
    ck_assert_int_eq((int)pb_journal_backlog(j), 0);
    ck_assert_int_eq((int)file_size(jpath), 0);
    g_ptr_array_free(c.got, TRUE);
    pb_journal_close(j);
}
END_TEST

TCase *frames_tcase(void)
{
    TCase *tc = tcase_create("frames");

    tcase_add_test(tc, test_torn_tail);
    tcase_add_test(tc, test_reads_v1_frames);
    tcase_add_test(tc, test_consume_known);
    tcase_add_checked_fixture(tc, journal_setup, journal_teardown);
    tcase_set_timeout(tc, 60);
    return tc;
}
