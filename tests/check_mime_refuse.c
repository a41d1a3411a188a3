/*
 * check_mime_refuse.c - unit tests of pb_mime_rewrite() where it must not
 * rewrite: signed, encrypted and other refused mail, reports
 * (multipart/report anywhere), malformed MIME, nothing to track, and
 * changes that would break a line or boundary limit. The body then passes
 * untouched: no output, no links counted and a reason given. Rewrites
 * themselves: check_mime.c; each malformed-MIME reason: check_mime_reason.c.
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
    { "signed.eml", PB_MIME_REFUSED, "signed message (multipart/signed)" },
    { "pkcs7.eml", PB_MIME_REFUSED, "S/MIME encrypted message (application/pkcs7-mime)" },
    { "utf16.eml", PB_MIME_REFUSED,
      "left alone: part 1 text/html (charset UTF-16LE, not ASCII-compatible)" },
    { "rfc822-only.eml", PB_MIME_REFUSED, "left alone: part 1 message/rfc822 (attached message)" },
    { "uuencode.eml", PB_MIME_REFUSED,
      "left alone: part 1 text/html (transfer encoding x-uuencode, not one the milter "
      "re-encodes)" },
    { "inline-pgp.eml", PB_MIME_REFUSED, "left alone: part 1 text/plain (inline PGP)" },
    { "no-boundary.eml", PB_MIME_MALFORMED, "has no usable boundary parameter" },
    { "truncated.eml", PB_MIME_MALFORMED,
      "truncated message: multipart/alternative has no end boundary (--alt-b--)" },
    { "bad-base64.eml", PB_MIME_MALFORMED, "malformed MIME: part 1 (text/html): a byte outside "
      "the base64 alphabet (0x21) on line 2 of its base64 content" },
    { "boundary-prefix.eml", PB_MIME_MALFORMED, "a line inside part 1 (text/html) starts like a "
      "boundary" },
    { "sibling-boundary.eml", PB_MIME_MALFORMED, "a line inside part 1 (text/html) starts like "
      "a boundary" },
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
        mime_assert_passed_through(&r, PB_MIME_UNCHANGED,
                                   "its HTML and text parts are attachments");
        mime_run_free(&r);
    }

    memset(&r, 0, sizeof(r));
    r.msg = g_string_new("Subject: empty\nMIME-Version: 1.0\nContent-Type: text/html\n\n");
    r.body_off = mime_body_offset(r.msg);
    mime_run(&r);
    mime_assert_passed_through(&r, PB_MIME_UNCHANGED, "its HTML and text parts are empty");
    mime_run_free(&r);

    /* nothing to track, and a part left alone: both said */
    memset(&r, 0, sizeof(r));
    r.msg = g_string_new("Subject: fwd\nMIME-Version: 1.0\n"
                         "Content-Type: multipart/mixed; boundary=\"m\"\n\n"
                         "--m\nContent-Type: text/plain\n\nNo links.\n"
                         "--m\nContent-Type: message/rfc822\n\nSubject: in\n\n"
                         "https://example.com/in\n--m--\n");
    r.body_off = mime_body_offset(r.msg);
    mime_run(&r);
    mime_assert_passed_through(&r, PB_MIME_UNCHANGED, "no trackable links; left alone: part 2 "
                               "message/rfc822 (attached message)");
    mime_run_free(&r);

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
    mime_assert_passed_through(&r, PB_MIME_MALFORMED, "the header block ends at byte ");
    mime_run_free(&r);
}
END_TEST

/* ---- reports: bounces, DSNs, feedback reports, wherever they are ------- */

static const char dsn[] =
    "Content-Type: multipart/report; report-type=delivery-status; boundary=\"rep-b\"\n\n"
    "--rep-b\nContent-Type: text/plain\n\nYour message could not be delivered. "
    "Help: https://example.com/help\n"
    "--rep-b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.com\n\n"
    "Final-Recipient: rfc822; bob@example.org\nAction: failed\nStatus: 5.1.1\n"
    "--rep-b\nContent-Type: text/rfc822-headers\n\nSubject: spring sale\n"
    "--rep-b--\n";

static const char arf[] =
    "Content-Type: multipart/report; report-type=feedback-report; boundary=\"arf-b\"\n\n"
    "--arf-b\nContent-Type: text/html\n\n<a href=\"https://example.com/abuse\">abuse</a>\n"
    "--arf-b\nContent-Type: message/feedback-report\n\nFeedback-Type: abuse\n"
    "--arf-b--\n";

START_TEST(test_report)
{
    const char *report = _i & 2 ? arf : dsn;
    struct mime_run r = { 0 };
    GString *m = g_string_new("From: mailer-daemon@example.com\nSubject: report\n"
                              "MIME-Version: 1.0\n");
    switch (_i >> 2) {
    case 0:                     /* the message itself */
        g_string_append(m, report);
        break;
    case 1:                     /* a part of it */
        g_string_append_printf(m, "Content-Type: multipart/mixed; boundary=\"mix-b\"\n\n"
                               "--mix-b\nContent-Type: text/html\n\n"
                               "<a href=\"https://example.com/news\">news</a>\n"
                               "--mix-b\n%s--mix-b--\n", report);
        break;
    default:                    /* the body of an attached message */
        g_string_append_printf(m, "Content-Type: multipart/mixed; boundary=\"mix-b\"\n\n"
                               "--mix-b\nContent-Type: text/html\n\n"
                               "<a href=\"https://example.com/news\">news</a>\n"
                               "--mix-b\nContent-Type: message/rfc822\n\n"
                               "From: mailer-daemon@example.org\nMIME-Version: 1.0\n"
                               "%s--mix-b--\n", report);
        break;
    }
    if (_i & 1)
        tu_crlf(m, 0);
    r.msg = m;
    r.body_off = mime_body_offset(m);
    mime_run(&r);
    mime_assert_passed_through(&r, PB_MIME_REFUSED, (_i >> 2) == 0
                               ? "a delivery or feedback report (multipart/report)"
                               : "a delivery or feedback report (multipart/report) at part 2");
    ck_assert_msg(((_i >> 2) == 0) == (strstr(r.why, " at part") == NULL), "why: %s", r.why);
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
    tcase_add_loop_test(tc, test_report, 0, 12);
    tcase_add_test(tc, test_long_line_kept);
    tcase_add_test(tc, test_boundary_text_not_at_line_start);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return mime_run_suite(mime_refuse_suite());
}
