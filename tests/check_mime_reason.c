/*
 * check_mime_reason.c - unit tests of the reasons pb_mime_rewrite() gives
 * when it leaves a message alone as malformed or refused: one crafted
 * message per reason the MIME code can give, each reason checked to name
 * what is actually wrong in that message (and not what GMime's parser
 * warning is called: a part whose headers run into the end boundary is
 * not a "truncated message"). Each case runs with LF and CRLF line
 * breaks; one about mixed line breaks is rewritten once they are all
 * CRLF. What is refused and
 * rewritten otherwise: check_mime_refuse.c, check_mime.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <check.h>
#include "testutil.h"
#include "testutil_mime.h"
#include "check_mime_run.h"

#define TOP "From: news@example.com\nSubject: reasons\nMIME-Version: 1.0\n"
#define ALT TOP "Content-Type: multipart/alternative; boundary=\"alt-b\"\n\n"
#define MIX TOP "Content-Type: multipart/mixed; boundary=\"mix-b\"\n\n"
#define TEXT_PART "--alt-b\nContent-Type: text/plain\n\nRead https://example.com/t\n"
#define HTML "<p><a href=\"https://example.com/h\">x</a></p>\n"
#define B64_PART(content) TOP "Content-Type: text/html\nContent-Transfer-Encoding: base64\n\n" \
    content

static const struct reason_case {
    const char *name;
    const char *msg;
    enum pb_mime_result want;
    const char *has[3];         /* all in the reason, in order */
    const char *lacks;          /* GMime's word for it, where that is wrong (or NULL) */
    int lf_only;                /* about mixed line breaks: with CRLF only, rewritten */
} cases[] = {
    { "the last part's headers run into the end boundary",
      ALT TEXT_PART "--alt-b\nContent-Type: text/html\n--alt-b--", PB_MIME_MALFORMED,
      { "malformed MIME: the headers of the last part run into the end boundary on the last "
        "line, without the empty line that ends them" }, "truncated", 0 },
    { "a multipart without its end boundary",
      ALT TEXT_PART "--alt-b\nContent-Type: text/html\n\n" HTML, PB_MIME_MALFORMED,
      { "malformed MIME: truncated message: multipart/alternative has no end boundary "
        "(--alt-b--)" }, NULL, 0 },
    { "content right after a part's headers",
      ALT TEXT_PART "--alt-b\nContent-Type: text/html\n" HTML "--alt-b--\n", PB_MIME_MALFORMED,
      { "malformed MIME: the headers of a part are not followed by an empty line: its content "
        "(\"<p><a href=\"https://example.com/h\">x</a>...\" at byte ", ") comes right after "
        "them" }, "invalid header name", 0 },
    { "a multipart's first boundary right after its headers",
      MIX "--mix-b\nContent-Type: multipart/alternative; boundary=\"alt-b\"\n" TEXT_PART
      "--alt-b--\n--mix-b--\n", PB_MIME_MALFORMED,
      { "malformed MIME: the headers of a part are not followed by an empty line: the boundary "
        "line \"--alt-b\" at byte ", " comes right after them" }, "invalid header name", 0 },
    { "a stray line in a part's headers",
      ALT TEXT_PART "--alt-b\nContent-Type: text/html\nnot a header\n\n" HTML "--alt-b--\n",
      PB_MIME_MALFORMED,
      { "malformed MIME: a line in a header block is not a header at byte ",
        ": \"not a header\"" }, NULL, 0 },
    { "a stray line in the message's headers",
      "From: news@example.com\nSubject: two\nlines\nContent-Type: text/html\n\n" HTML,
      PB_MIME_MALFORMED,
      { "malformed MIME: a line in a header block is not a header at byte ", ": \"lines\"" },
      NULL, 0 },
    { "a part with neither headers nor content",
      ALT "--alt-b\n--alt-b\nContent-Type: text/html\n\n" HTML "--alt-b--\n", PB_MIME_MALFORMED,
      { "malformed MIME: a boundary line follows the one before it directly at byte ",
        ": a part with neither headers nor content" }, "invalid header name", 0 },
    { "a multipart ended by its parent's boundary",
      MIX "--mix-b\nContent-Type: multipart/alternative; boundary=\"alt-b\"\n\n"
      "--alt-b\nContent-Type: text/html\n\n" HTML "--mix-b--\n", PB_MIME_MALFORMED,
      { "malformed MIME: multipart/alternative at byte ", " ends at a boundary of the "
        "multipart around it, before its own end boundary" }, NULL, 0 },
    { "two different Content-Type headers",
      ALT TEXT_PART "--alt-b\nContent-Type: text/html\nContent-Type: text/plain\n\n" HTML
      "--alt-b--\n", PB_MIME_MALFORMED,
      { "malformed MIME: two different Content-Type headers in one header block at byte " },
      NULL, 0 },
    { "a parameter given twice",
      ALT TEXT_PART "--alt-b\nContent-Type: text/html; charset=utf-8; charset=iso-8859-1\n\n"
      HTML "--alt-b--\n", PB_MIME_MALFORMED,
      { "malformed MIME: the Content-Type header at byte ", " gives its charset parameter two "
        "different values" }, NULL, 0 },
    { "a multipart without a boundary parameter",
      TOP "Content-Type: multipart/alternative\n\n--alt-b\nContent-Type: text/html\n\n" HTML
      "--alt-b--\n", PB_MIME_MALFORMED,
      { "malformed MIME: multipart/alternative at byte ", " has no usable boundary "
        "parameter" }, NULL, 0 },
    { "an attached message with nothing in it",
      TOP "Content-Type: message/rfc822\n\n", PB_MIME_MALFORMED,
      { "malformed MIME: the message ends where a header block should begin" }, NULL, 0 },
    { "an empty message", "", PB_MIME_MALFORMED, { "malformed MIME: the message is empty" },
      NULL, 0 },
    { "a message that is no message",
      "<html><body>" HTML "</body></html>\n\nmore\n", PB_MIME_MALFORMED,
      { "malformed MIME: the message does not start with a header line: \"<html><body><p><a "
        "href=\"https://example....\"" }, NULL, 0 },
    { "headers to the end",
      "From: news@example.com\nContent-Type: text/plain", PB_MIME_MALFORMED,
      { "malformed MIME: a header block runs to the end of the message, without the empty "
        "line that ends it" }, NULL, 0 },
    { "a byte outside the base64 alphabet",
      B64_PART("PGEgaHJlZj0i\naHR0cHM6Ly9l!eGFtcGxlLmNvbS8iPng8L2E+\n"), PB_MIME_MALFORMED,
      { "malformed MIME: part 1 (text/html): a byte outside the base64 alphabet (0x21) on "
        "line 2 of its base64 content" }, NULL, 0 },
    { "base64 data after the padding",
      B64_PART("PGE=\nPGE=\n"), PB_MIME_MALFORMED,
      { "malformed MIME: part 1 (text/html): base64 data after the '=' padding on line 2 of "
        "its base64 content" }, NULL, 0 },
    { "three padding characters",
      B64_PART("PGEgaHJl\nZj===\n"), PB_MIME_MALFORMED,
      { "malformed MIME: part 1 (text/html): more than two '=' padding characters on line 2 "
        "of its base64 content" }, NULL, 0 },
    { "padding in the middle of a group",
      B64_PART("PGEgaA=\n"), PB_MIME_MALFORMED,
      { "malformed MIME: part 1 (text/html): '=' padding that does not end a group of four "
        "on line 1 of its base64 content" }, NULL, 0 },
    { "a lone base64 character at the end",
      B64_PART("PGEgaHJlZj0iaHR0cHM6\nL\n"), PB_MIME_MALFORMED,
      { "malformed MIME: part 1 (text/html): a last group of one base64 character (not a whole "
        "byte) at the end of its base64 content" }, NULL, 0 },
    { "a CRLF boundary line after an LF part",
      ALT TEXT_PART "--alt-b\nContent-Type: text/html\n\n" HTML "--alt-b--\r\n",
      PB_MIME_MALFORMED,
      { "mixed line endings: part 2 ends with LF, the boundary line after it with CRLF" },
      NULL, 1 },
    { "a line that starts like a boundary",
      ALT TEXT_PART "--alt-b\nContent-Type: text/html\n\n" HTML "--alt-bogus\n--alt-b--\n",
      PB_MIME_MALFORMED,
      { "a line inside part 2 (text/html) starts like a boundary" }, NULL, 0 },
};

/* 33 multiparts, one inside the other. */
static GString *nested_multiparts(int n)
{
    GString *m = g_string_new(TOP "Content-Type: multipart/mixed; boundary=\"b0\"\n\n");
    for (int i = 1; i < n; i++)
        g_string_append_printf(m, "--b%d\nContent-Type: multipart/mixed; boundary=\"b%d\"\n\n",
                               i - 1, i);
    g_string_append_printf(m, "--b%d\nContent-Type: text/html\n\n" HTML, n - 1);
    for (int i = n - 1; i >= 0; i--)
        g_string_append_printf(m, "--b%d--\n", i);
    return m;
}

/* Attached messages, one inside the other, deeper than GMime reads. */
static GString *nested_messages(int n)
{
    GString *m = g_string_new(TOP "Content-Type: message/rfc822\n\n");
    for (int i = 0; i < n; i++)
        g_string_append_printf(m, "Subject: in %d\nContent-Type: message/rfc822\n\n", i);
    g_string_append(m, "Subject: last\nContent-Type: text/html\n\n" HTML);
    return m;
}

static void assert_reason(const struct mime_run *r, const char *name, enum pb_mime_result want,
                          const char *const *has, const char *lacks)
{
    const char *at = r->why;
    ck_assert_msg(r->rc == want, "%s: result %d, want %d (%s)", name, r->rc, want, r->why);
    ck_assert_uint_eq(r->out->len, 0);
    ck_assert_uint_eq(r->ctx.links_tracked, 0);
    for (int k = 0; k < 3 && has[k] != NULL; k++) {
        const char *found = strstr(at, has[k]);
        ck_assert_msg(found != NULL, "%s: reason \"%s\" lacks \"%s\"", name, r->why, has[k]);
        at = found + strlen(has[k]);
    }
    if (lacks != NULL)
        ck_assert_msg(strstr(r->why, lacks) == NULL, "%s: reason \"%s\" says \"%s\"", name,
                      r->why, lacks);
}

START_TEST(test_reason)
{
    const struct reason_case *c = &cases[_i / 2];
    struct mime_run r = { 0 };
    r.msg = g_string_new(c->msg);
    if (_i & 1)
        tu_crlf(r.msg, 0);
    r.body_off = mime_body_offset(r.msg);
    mime_run(&r);
    if ((_i & 1) && c->lf_only)         /* the same message, its line breaks all CRLF */
        ck_assert_msg(r.rc == PB_MIME_REWRITTEN, "%s, CRLF only: %d (%s)", c->name, r.rc, r.why);
    else
        assert_reason(&r, c->name, c->want, c->has, c->lacks);
    mime_run_free(&r);
}
END_TEST

START_TEST(test_reason_nesting)
{
    struct mime_run r = { 0 };
    static const char *const multiparts[] = { "more than 32 multiparts", NULL };
    static const char *const messages[] = { "malformed MIME: parts nested deeper than GMime "
                                            "reads at byte ", NULL };
    r.msg = _i ? nested_messages(600) : nested_multiparts(33);
    r.body_off = mime_body_offset(r.msg);
    mime_run(&r);
    assert_reason(&r, _i ? "messages" : "multiparts", _i ? PB_MIME_MALFORMED : PB_MIME_REFUSED,
                  _i ? messages : multiparts, NULL);
    mime_run_free(&r);
}
END_TEST

/* The header block the caller names must be the one GMime reads. */
START_TEST(test_reason_header_block)
{
    struct mime_run r = { 0 };
    static const char *const has[] = { "malformed MIME: the header block ends at byte 54, not "
                                       "at the empty line before the body (byte 11)", NULL };
    r.msg = g_string_new("Subject: x\nContent-Type: text/plain; charset=us-ascii\n\n"
                         "See https://example.com/x\n");
    r.body_off = 11;
    mime_run(&r);
    assert_reason(&r, "body offset inside the headers", PB_MIME_MALFORMED, has, NULL);
    mime_run_free(&r);
}
END_TEST

static Suite *mime_reason_suite(void)
{
    Suite *s = suite_create("mime_reason");
    TCase *tc = tcase_create("reason");
    tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_reason, 0, (int)(2 * G_N_ELEMENTS(cases)));
    tcase_add_loop_test(tc, test_reason_nesting, 0, 2);
    tcase_add_test(tc, test_reason_header_block);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return mime_run_suite(mime_reason_suite());
}
