/*
 * check_mime_refuse.c - unit tests of pb_mime_rewrite() where it must not
 * rewrite: signed, encrypted and other refused mail, malformed MIME,
 * nothing to track, and changes that would break a line or boundary
 * limit. The body then passes untouched: no output, no links counted and
 * a reason given. Rewrites themselves: check_mime.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <check.h>
#include "testutil.h"
#include "testutil_mime.h"
#include "check_mime_run.h"

/* ---- refusals and malformed input: the body passes untouched ---------- */

static const struct {
    const char *file;
    enum pb_mime_result want;
    const char *why;
} refusals[] = {
    { "signed.eml", PB_MIME_REFUSED, "signed" },
    { "pkcs7.eml", PB_MIME_REFUSED, "signed/encrypted" },
    { "utf16.eml", PB_MIME_REFUSED, "UTF-16" },
    { "rfc822-only.eml", PB_MIME_REFUSED, "attached message" },
    { "uuencode.eml", PB_MIME_REFUSED, "x-uuencode" },
    { "inline-pgp.eml", PB_MIME_REFUSED, "PGP" },
    { "no-boundary.eml", PB_MIME_MALFORMED, "boundary" },
    { "truncated.eml", PB_MIME_MALFORMED, "truncated" },
    { "bad-base64.eml", PB_MIME_MALFORMED, "base64" },
    { "boundary-prefix.eml", PB_MIME_MALFORMED, "boundary" },
    { "sibling-boundary.eml", PB_MIME_MALFORMED, "boundary" },
};

START_TEST(test_refused)
{
    struct mime_run r = { 0 };
    mime_load_fixture(&r, refusals[_i / 4].file, _i % 4);
    mime_run(&r);
    mime_assert_passed_through(&r, refusals[_i / 4].want, refusals[_i / 4].why);
    mime_run_free(&r);
}
END_TEST

START_TEST(test_unchanged)
{
    struct mime_run r = { 0 };
    r.msg = g_string_new("Subject: plain\n\nNo links here, just text.\n");
    r.body_off = mime_body_offset(r.msg);
    mime_run(&r);
    mime_assert_passed_through(&r, PB_MIME_UNCHANGED, "no trackable links");
    mime_run_free(&r);

    memset(&r, 0, sizeof(r));
    r.msg = g_string_new("Subject: pdf only\nMIME-Version: 1.0\nContent-Type: application/pdf\n"
                         "Content-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n");
    r.body_off = mime_body_offset(r.msg);
    mime_run(&r);
    mime_assert_passed_through(&r, PB_MIME_UNCHANGED, "no HTML or text part");
    mime_run_free(&r);

    /* RFC 2183: unknown dispositions are attachments, unreadable ones too */
    static const char *const dispositions[] = { "x-unknown", ";at4achment; filename=\"a\"" };
    for (size_t i = 0; i < G_N_ELEMENTS(dispositions); i++) {
        memset(&r, 0, sizeof(r));
        r.msg = g_string_new("Subject: odd\nMIME-Version: 1.0\nContent-Type: text/html\n");
        g_string_append_printf(r.msg, "Content-Disposition: %s\n\n"
                               "<a href=\"https://example.com/\">x</a>\n", dispositions[i]);
        r.body_off = mime_body_offset(r.msg);
        mime_run(&r);
        mime_assert_passed_through(&r, PB_MIME_UNCHANGED, "no HTML or text part");
        mime_run_free(&r);
    }

    memset(&r, 0, sizeof(r));
    r.msg = g_string_new("Subject: x\n\nbody\n");
    r.body_off = r.msg->len + 1;
    mime_run(&r);
    ck_assert_int_eq(r.rc, PB_MIME_ERROR);
    mime_run_free(&r);

    memset(&r, 0, sizeof(r));
    r.msg = g_string_new("Subject: x\nContent-Type: text/plain\n\nSee https://example.com/x\n");
    r.body_off = 11;            /* inside the header block: never splice headers */
    mime_run(&r);
    mime_assert_passed_through(&r, PB_MIME_MALFORMED, "header block");
    mime_run_free(&r);
}
END_TEST

/* 8bit content where a tracked URL would push a line past 998 octets. */
START_TEST(test_long_line_kept)
{
    struct mime_run r = { 0 };
    r.msg = g_string_new("Subject: long\nMIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\n"
                         "Content-Transfer-Encoding: 8bit\n\n<p>");
    for (int i = 0; i < 940; i++)
        g_string_append_c(r.msg, 'x');
    g_string_append(r.msg, "<a href=\"https://example.com/a\">a</a></p>\n");
    r.body_off = mime_body_offset(r.msg);
    mime_run(&r);
    mime_assert_passed_through(&r, PB_MIME_REFUSED, "998");
    mime_run_free(&r);
}
END_TEST

/* Re-wrapping quoted-printable must never put the boundary text, which the
 * decoded content may hold mid-line, at the start of a line. */
START_TEST(test_boundary_text_not_at_line_start)
{
    int kept = 0, rewritten = 0;
    for (int filler = 0; filler < 90; filler++) {
        struct mime_run r = { 0 };
        r.msg = g_string_new("Subject: b\nMIME-Version: 1.0\n"
                             "Content-Type: multipart/alternative; boundary=\"alt-b\"\n\n"
                             "--alt-b\nContent-Type: text/html\nContent-Transfer-Encoding: "
                             "quoted-printable\n\n<a href=3D\"https://example.com/a\">a</a>");
        for (int k = 0; k < filler; k++)
            g_string_append_c(r.msg, 'x');
        g_string_append(r.msg, "--alt-b text\n--alt-b--\n");
        r.body_off = mime_body_offset(r.msg);
        mime_run(&r);
        if (r.rc == PB_MIME_REWRITTEN) {
            static const char *const bounds[] = { "alt-b", NULL };
            mime_assert_rewritten(&r, bounds, 0);
            rewritten++;
        } else {
            mime_assert_passed_through(&r, PB_MIME_REFUSED, "boundary");
            kept++;
        }
        mime_run_free(&r);
    }
    ck_assert_int_gt(kept, 0);
    ck_assert_int_gt(rewritten, kept);
}
END_TEST

static Suite *mime_refuse_suite(void)
{
    Suite *s = suite_create("mime_refuse");
    TCase *tc = tcase_create("refuse");
    tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_refused, 0, (int)(4 * G_N_ELEMENTS(refusals)));
    tcase_add_test(tc, test_unchanged);
    tcase_add_test(tc, test_long_line_kept);
    tcase_add_test(tc, test_boundary_text_not_at_line_start);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return mime_run_suite(mime_refuse_suite());
}
