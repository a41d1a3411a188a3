/*
 * check_mime.c - unit tests of pb_mime_rewrite(): the MIME walk, decoding
 * and re-encoding, and the splice. Messages are the corpus templates
 * wrapped as multipart/alternative in every transfer encoding, charset
 * and line-ending style, plus hand-written edge cases in tests/data/mime.
 * Each rewrite is checked from the outside: GMime decodes the new parts,
 * every tracked link must verify and lead back to an original URL, and
 * every byte outside the text parts must be unchanged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <check.h>
#include "testutil.h"
#include "testutil_mime.h"
#include "rewrite.h"

static struct pb_conf conf;
static struct pb_keyring ring;

static void setup(void)
{
    tu_mime_conf(&conf);
    tu_test_keyring(&ring);
}

static void teardown(void)
{
    pb_conf_free(&conf);
    pb_keys_free(&ring);
}

/* One call of the code under test. */
struct run {
    GString *msg;
    size_t body_off;
    GString *out;               /* new body */
    GString *new_msg;           /* headers + new body, when rewritten */
    struct pb_link_ctx ctx;
    enum pb_mime_result rc;
    char why[256];
};

static void run_rewrite(struct run *r)
{
    tu_link_ctx(&r->ctx, &conf, &ring);
    r->out = g_string_new("stale");
    r->rc = pb_mime_rewrite(&r->ctx, r->msg->str, r->msg->len, r->body_off, r->out,
                            r->why, sizeof(r->why));
    size_t head = r->body_off < r->msg->len ? r->body_off : r->msg->len;
    r->new_msg = g_string_new_len(r->msg->str, (gssize)head);
    g_string_append_len(r->new_msg, r->out->str, (gssize)r->out->len);
}

static void run_free(struct run *r)
{
    g_string_free(r->msg, TRUE);
    g_string_free(r->out, TRUE);
    g_string_free(r->new_msg, TRUE);
}

static size_t body_offset(const GString *m)
{
    return tu_body_offset(m->str, m->len);
}

/* A fixture message from tests/data/mime: variant bit 0 = CRLF line
 * breaks, bit 1 = no line break after the last line. */
static void load_fixture(struct run *r, const char *name, int variant)
{
    int crlf = variant & 1;
    char rel[128];
    size_t len;
    snprintf(rel, sizeof(rel), "data/mime/%s", name);
    char *data = tu_read_file(tu_test_path(rel), &len);
    ck_assert_msg(data != NULL, "cannot read %s", rel);
    r->msg = g_string_new_len(data, (gssize)len);
    free(data);
    while ((variant & 2) && r->msg->len > 0 && r->msg->str[r->msg->len - 1] == '\n')
        g_string_truncate(r->msg, r->msg->len - 1);
    if (crlf)
        tu_crlf(r->msg, 0);
    r->body_off = body_offset(r->msg);
}

/* Not rewritten: no output, no links counted, why filled in. */
static void assert_passed_through(const struct run *r, enum pb_mime_result want, const char *why_has)
{
    ck_assert_msg(r->rc == want, "result %d, want %d (%s)", r->rc, want, r->why);
    ck_assert_uint_eq(r->out->len, 0);
    ck_assert_uint_eq(r->ctx.links_tracked, 0);
    ck_assert_msg(r->why[0] != '\0', "why is empty");
    if (why_has)
        ck_assert_msg(strstr(r->why, why_has) != NULL, "why \"%s\" lacks \"%s\"", r->why, why_has);
}

static void assert_lines(const GString *body, size_t max, int crlf)
{
    char why[128];
    ck_assert_msg(tu_lines_ok(body->str, body->len, max, crlf, why, sizeof(why)) == 0, "%s", why);
}

static size_t bare_lf(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += s[i] == '\n' && (i == 0 || s[i - 1] != '\r');
    return n;
}

/* The rewrite is valid: outside bytes identical, line breaks in the
 * message's style, tracked links verify. */
static int assert_valid_rewrite(const struct run *r, const char *const *boundaries, int top_text)
{
    char why[512];
    ck_assert_msg(r->rc == PB_MIME_REWRITTEN, "result %d: %s", r->rc, r->why);
    const char *body = r->msg->str + r->body_off;
    size_t body_len = r->msg->len - r->body_off;
    if (bare_lf(body, body_len) == 0)
        ck_assert_msg(bare_lf(r->out->str, r->out->len) == 0, "bare LF in a CRLF message");
    if (memchr(body, '\r', body_len) == NULL)
        ck_assert_msg(memchr(r->out->str, '\r', r->out->len) == NULL, "CR in an LF message");
    int changed = tu_same_outside_text(r->msg->str + r->body_off, r->msg->len - r->body_off,
                                       r->out->str, r->out->len, boundaries, top_text,
                                       why, sizeof(why));
    ck_assert_msg(changed > 0, "outside bytes: %s", changed < 0 ? why : "nothing changed");
    struct tu_outline *a = tu_outline(r->msg->str, r->msg->len);
    struct tu_outline *b = tu_outline(r->new_msg->str, r->new_msg->len);
    ck_assert(a != NULL && b != NULL);
    ck_assert_uint_eq(a->leaves, b->leaves);
    ck_assert_uint_eq(a->texts->len, b->texts->len);
    int tracked = 0;
    for (guint i = 0; i < a->texts->len; i++) {
        const struct tu_text_part *x = a->texts->pdata[i], *y = b->texts->pdata[i];
        int n = tu_check_tracked(&conf, &ring, x->data->str, x->data->len, y->data->str,
                                 y->data->len, NULL, NULL, why, sizeof(why));
        ck_assert_msg(n >= 0, "part %u: %s", i, why);
        tracked += n;
    }
    tu_outline_free(a);
    tu_outline_free(b);
    return tracked;
}

/* ---- corpus templates, wrapped ---------------------------------------- */

static const char *const templates[] = {
    "comment-notification", "dunning", "example", "invoice", "password-reset",
    "password-reset-help", "receipt", "trial-expired", "trial-expiring", "user-invitation",
    "welcome", NULL
};
#define N_TEMPLATES 11
static const char *const ctes[] = { "quoted-printable", "base64", "8bit" };
#define N_VARIANTS (3 * 2 * 2)          /* cte x charset x line breaks */

static char *read_corpus(const char *rel, int html)
{
    size_t len;
    char *raw = tu_read_file(tu_corpus_path(rel), &len);
    ck_assert_msg(raw != NULL, "cannot read corpus %s", rel);
    char *out = tu_render(raw, html);
    free(raw);
    return out;
}

static char *to_latin1(char *utf8)
{
    gsize n;
    char *out = g_convert_with_fallback(utf8, -1, "ISO-8859-1", "UTF-8", "?", NULL, &n, NULL);
    ck_assert(out != NULL);
    g_free(utf8);
    return out;
}

static size_t count_8bit(const GString *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->len; i++)
        n += (unsigned char)s->str[i] >= 0x80;
    return n;
}

START_TEST(test_wrapped_templates)
{
    const char *name = templates[_i / N_VARIANTS];
    int variant = _i % N_VARIANTS, crlf = variant & 1, latin1 = (variant >> 1) & 1;
    const char *cte = ctes[variant >> 2];
    char rel[256];
    snprintf(rel, sizeof(rel), "html/postmark-templates/%s/content.html", name);
    char *html = read_corpus(rel, 1);
    snprintf(rel, sizeof(rel), "html/postmark-templates/%s/content.txt", name);
    char *text = read_corpus(rel, 0);
    if (latin1) {
        html = to_latin1(html);
        text = to_latin1(text);
    }
    struct run r = { 0 };
    r.msg = tu_alternative(text, html, cte, latin1 ? "iso-8859-1" : "utf-8", crlf, &r.body_off);
    run_rewrite(&r);
    static const char *const bounds[] = { "alt-b", NULL };
    int tracked = assert_valid_rewrite(&r, bounds, 0);
    ck_assert_msg(tracked > 0, "%s/%s: no tracked link", name, cte);
    ck_assert_uint_ge((unsigned)tracked, r.ctx.links_tracked);        /* MSO twins share one */

    /* the HTML part has the pixel; text links number after the HTML ones;
     * the charset's own bytes are untouched */
    struct tu_outline *a = tu_outline(r.msg->str, r.msg->len);
    struct tu_outline *b = tu_outline(r.new_msg->str, r.new_msg->len);
    const struct tu_text_part *text_old = a->texts->pdata[0], *html_old = a->texts->pdata[1];
    const struct tu_text_part *text_new = b->texts->pdata[0], *html_new = b->texts->pdata[1];
    ck_assert(html_new->html && !text_new->html);
    ck_assert_msg(strstr(html_new->data->str, "https://t.example.net/o/") != NULL, "no pixel");
    ck_assert_uint_eq(count_8bit(html_old->data), count_8bit(html_new->data));
    ck_assert_uint_eq(count_8bit(text_old->data), count_8bit(text_new->data));
    char why[512];
    unsigned hmin, hmax, tmin, tmax;
    ck_assert_int_gt(tu_check_tracked(&conf, &ring, html_old->data->str, html_old->data->len,
                                      html_new->data->str, html_new->data->len, &hmin, &hmax,
                                      why, sizeof(why)), 0);
    int ntext = tu_check_tracked(&conf, &ring, text_old->data->str, text_old->data->len,
                                 text_new->data->str, text_new->data->len, &tmin, &tmax,
                                 why, sizeof(why));
    ck_assert_msg(ntext > 0, "%s: text part has no tracked link", name);
    ck_assert_msg(tmin > hmax, "text link index %u not after HTML's %u", tmin, hmax);

    /* the encoding's own limits and the line-break style */
    assert_lines(r.out, strcmp(cte, "8bit") == 0 ? 998 : 76, crlf);
    tu_outline_free(a);
    tu_outline_free(b);
    g_free(html);
    g_free(text);
    run_free(&r);
}
END_TEST

/* The leemunroe newsletter: a single text/html part, QP, top level. */
START_TEST(test_single_part_newsletter)
{
    int crlf = _i & 1, final_newline = _i >> 1;
    char *html = read_corpus("html/leemunroe/email-inlined.html", 1);
    struct run r = { 0 };
    r.msg = g_string_new("From: news@example.com\nSubject: letter\nMIME-Version: 1.0\n"
                         "Content-Type: text/html; charset=utf-8\n"
                         "Content-Transfer-Encoding: quoted-printable\n\n");
    tu_encode(r.msg, "quoted-printable", html, strlen(html), 0);
    while (!final_newline && r.msg->str[r.msg->len - 1] == '\n')
        g_string_truncate(r.msg, r.msg->len - 1);
    if (crlf)
        tu_crlf(r.msg, 0);
    r.body_off = body_offset(r.msg);
    run_rewrite(&r);
    ck_assert_int_gt(assert_valid_rewrite(&r, NULL, 1), 0);
    char last_old = r.msg->str[r.msg->len - 1], last_new = r.out->str[r.out->len - 1];
    ck_assert_msg(last_old == last_new, "end of message changed");
    assert_lines(r.out, 76, crlf);
    g_free(html);
    run_free(&r);
}
END_TEST

/* ---- nested structure: alternative inside mixed, a PDF, a message ------ */

static void nested_message(struct run *r, int crlf)
{
    char *html = read_corpus("html/postmark-templates/invoice/content.html", 1);
    char *text = read_corpus("html/postmark-templates/invoice/content.txt", 0);
    GString *m = g_string_new("From: shop@example.com\nTo: reader@example.org\n"
                              "Subject: invoice\nMIME-Version: 1.0\n"
                              "Content-Type: multipart/mixed; boundary=\"mixed-b\"\n\n"
                              "preamble with https://example.com/preamble\n"
                              "--mixed-b\nContent-Type: multipart/alternative; boundary=\"alt-b\"\n\n"
                              "--alt-b\nContent-Type: text/plain; charset=utf-8\n"
                              "Content-Transfer-Encoding: quoted-printable\n\n");
    tu_encode(m, "quoted-printable", text, strlen(text), 0);
    g_string_append(m, "\n--alt-b\nContent-Type: text/html; charset=utf-8\n"
                    "Content-Transfer-Encoding: quoted-printable\n\n");
    tu_encode(m, "quoted-printable", html, strlen(html), 0);
    g_string_append(m, "\n--alt-b--\n\n--mixed-b\nContent-Type: application/pdf; name=\"invoice.pdf\"\n"
                    "Content-Transfer-Encoding: base64\n"
                    "Content-Disposition: attachment; filename=\"invoice.pdf\"\n\n");
    static const char pdf[] = "%PDF-1.4\n1 0 obj << /URI (https://example.com/in-pdf) >>\n%%EOF\n";
    tu_encode(m, "base64", pdf, sizeof(pdf) - 1, 0);
    g_string_append(m, "--mixed-b\nContent-Type: text/html; charset=utf-8; name=\"copy.html\"\n"
                    "Content-Disposition: attachment; filename=\"copy.html\"\n\n"
                    "<a href=\"https://example.com/attached-html\">attached</a>\n"
                    "--mixed-b\nContent-Type: message/rfc822\n\n"
                    "From: other@example.com\nSubject: forwarded\nMIME-Version: 1.0\n"
                    "Content-Type: multipart/alternative; boundary=\"inner-b\"\n\n"
                    "--inner-b\nContent-Type: text/html; charset=utf-8\n\n"
                    "<html><body><a href=\"https://example.com/forwarded\">fwd</a></body></html>\n"
                    "--inner-b--\n\n--mixed-b--\nepilogue https://example.com/epilogue\n");
    if (crlf)
        tu_crlf(m, 0);
    r->msg = m;
    r->body_off = body_offset(m);
    g_free(html);
    g_free(text);
}

START_TEST(test_nested_mixed)
{
    struct run r = { 0 };
    nested_message(&r, _i);
    run_rewrite(&r);
    static const char *const bounds[] = { "mixed-b", "alt-b", NULL };
    ck_assert_int_gt(assert_valid_rewrite(&r, bounds, 0), 0);
    /* what is not a body stays: attachments, the forwarded message */
    const char *const untouched[] = { "https://example.com/preamble", "https://example.com/attached-html",
        "https://example.com/forwarded", "https://example.com/epilogue" };
    for (size_t i = 0; i < G_N_ELEMENTS(untouched); i++)
        ck_assert_msg(strstr(r.out->str, untouched[i]) != NULL, "%s was changed", untouched[i]);
    char why[256];
    static const char *const two[] = { "mixed-b", "alt-b", NULL };
    ck_assert_int_eq(tu_same_outside_text(r.msg->str + r.body_off, r.msg->len - r.body_off,
                                          r.out->str, r.out->len, two, 0, why, sizeof(why)), 2);
    run_free(&r);
}
END_TEST

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
    struct run r = { 0 };
    load_fixture(&r, refusals[_i / 4].file, _i % 4);
    run_rewrite(&r);
    assert_passed_through(&r, refusals[_i / 4].want, refusals[_i / 4].why);
    run_free(&r);
}
END_TEST

START_TEST(test_unchanged)
{
    struct run r = { 0 };
    r.msg = g_string_new("Subject: plain\n\nNo links here, just text.\n");
    r.body_off = body_offset(r.msg);
    run_rewrite(&r);
    assert_passed_through(&r, PB_MIME_UNCHANGED, "no trackable links");
    run_free(&r);

    memset(&r, 0, sizeof(r));
    r.msg = g_string_new("Subject: pdf only\nMIME-Version: 1.0\nContent-Type: application/pdf\n"
                         "Content-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n");
    r.body_off = body_offset(r.msg);
    run_rewrite(&r);
    assert_passed_through(&r, PB_MIME_UNCHANGED, "no HTML or text part");
    run_free(&r);

    /* RFC 2183: unknown dispositions are attachments, unreadable ones too */
    static const char *const dispositions[] = { "x-unknown", ";at4achment; filename=\"a\"" };
    for (size_t i = 0; i < G_N_ELEMENTS(dispositions); i++) {
        memset(&r, 0, sizeof(r));
        r.msg = g_string_new("Subject: odd\nMIME-Version: 1.0\nContent-Type: text/html\n");
        g_string_append_printf(r.msg, "Content-Disposition: %s\n\n"
                               "<a href=\"https://example.com/\">x</a>\n", dispositions[i]);
        r.body_off = body_offset(r.msg);
        run_rewrite(&r);
        assert_passed_through(&r, PB_MIME_UNCHANGED, "no HTML or text part");
        run_free(&r);
    }

    memset(&r, 0, sizeof(r));
    r.msg = g_string_new("Subject: x\n\nbody\n");
    r.body_off = r.msg->len + 1;
    run_rewrite(&r);
    ck_assert_int_eq(r.rc, PB_MIME_ERROR);
    run_free(&r);

    memset(&r, 0, sizeof(r));
    r.msg = g_string_new("Subject: x\nContent-Type: text/plain\n\nSee https://example.com/x\n");
    r.body_off = 11;            /* inside the header block: never splice headers */
    run_rewrite(&r);
    assert_passed_through(&r, PB_MIME_MALFORMED, "header block");
    run_free(&r);
}
END_TEST

/* A part in a charset we leave alone does not stop the others. */
START_TEST(test_utf16_beside_utf8)
{
    struct run r = { 0 };
    load_fixture(&r, "utf16.eml", _i);
    const char *close = _i ? "--u16-b--\r\n" : "--u16-b--\n";
    char *at = strstr(r.msg->str, close);
    ck_assert(at != NULL);
    g_string_insert(r.msg, at - r.msg->str,
                    _i ? "--u16-b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                         "Shop at https://shop.example.org/new today.\r\n"
                       : "--u16-b\nContent-Type: text/plain; charset=utf-8\n\n"
                         "Shop at https://shop.example.org/new today.\n");
    run_rewrite(&r);
    static const char *const bounds[] = { "u16-b", NULL };
    ck_assert_int_eq(assert_valid_rewrite(&r, bounds, 0), 1);
    ck_assert_msg(strstr(r.why, "UTF-16") != NULL, "why: %s", r.why);
    run_free(&r);
}
END_TEST

/* An HTML part whose header block runs straight into the next delimiter
 * has no line to put a pixel on: it stays empty, the text part is done. */
START_TEST(test_empty_part)
{
    struct run r = { 0 };
    load_fixture(&r, "empty-part.eml", _i);
    run_rewrite(&r);
    static const char *const bounds[] = { "alt-b", NULL };
    ck_assert_int_eq(assert_valid_rewrite(&r, bounds, 0), 1);
    ck_assert(strstr(r.out->str, _i & 1 ? "us-ascii\r\n\r\n--alt-b--" : "us-ascii\n\n--alt-b--") != NULL);
    run_free(&r);
}
END_TEST

/* 8bit content where a tracked URL would push a line past 998 octets. */
START_TEST(test_long_line_kept)
{
    struct run r = { 0 };
    r.msg = g_string_new("Subject: long\nMIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\n"
                         "Content-Transfer-Encoding: 8bit\n\n<p>");
    for (int i = 0; i < 940; i++)
        g_string_append_c(r.msg, 'x');
    g_string_append(r.msg, "<a href=\"https://example.com/a\">a</a></p>\n");
    r.body_off = body_offset(r.msg);
    run_rewrite(&r);
    assert_passed_through(&r, PB_MIME_REFUSED, "998");
    run_free(&r);
}
END_TEST

/* Re-wrapping quoted-printable must never put the boundary text, which the
 * decoded content may hold mid-line, at the start of a line. */
START_TEST(test_boundary_text_not_at_line_start)
{
    int kept = 0, rewritten = 0;
    for (int filler = 0; filler < 90; filler++) {
        struct run r = { 0 };
        r.msg = g_string_new("Subject: b\nMIME-Version: 1.0\n"
                             "Content-Type: multipart/alternative; boundary=\"alt-b\"\n\n"
                             "--alt-b\nContent-Type: text/html\nContent-Transfer-Encoding: "
                             "quoted-printable\n\n<a href=3D\"https://example.com/a\">a</a>");
        for (int k = 0; k < filler; k++)
            g_string_append_c(r.msg, 'x');
        g_string_append(r.msg, "--alt-b text\n--alt-b--\n");
        r.body_off = body_offset(r.msg);
        run_rewrite(&r);
        if (r.rc == PB_MIME_REWRITTEN) {
            static const char *const bounds[] = { "alt-b", NULL };
            assert_valid_rewrite(&r, bounds, 0);
            rewritten++;
        } else {
            assert_passed_through(&r, PB_MIME_REFUSED, "boundary");
            kept++;
        }
        run_free(&r);
    }
    ck_assert_int_gt(kept, 0);
    ck_assert_int_gt(rewritten, kept);
}
END_TEST

/* ---- decoding round trips ---------------------------------------------- */

START_TEST(test_qp_soft_breaks)
{
    struct run r = { 0 };
    load_fixture(&r, "qp-soft-breaks.eml", _i);
    run_rewrite(&r);
    static const char *const bounds[] = { "alt-b", NULL };
    ck_assert_int_eq(assert_valid_rewrite(&r, bounds, 0), 3);
    struct tu_outline *o = tu_outline(r.new_msg->str, r.new_msg->len);
    const struct tu_text_part *text = o->texts->pdata[0], *html = o->texts->pdata[1];
    /* URLs split by soft breaks were read whole */
    char why[256];
    const char *html_urls = "https://example.com/very/long/path?a=1&b=2 http://www.example.net/x";
    const char *text_urls = "https://shop.example.org/spring/collection/"
                            "very-long-path-that-goes-on?ref=news&id=7";
    ck_assert_int_eq(tu_check_tracked(&conf, &ring, html_urls, strlen(html_urls), html->data->str,
                                      html->data->len, NULL, NULL, why, sizeof(why)), 2);
    ck_assert_int_eq(tu_check_tracked(&conf, &ring, text_urls, strlen(text_urls),
                                      text->data->str, text->data->len, NULL, NULL,
                                      why, sizeof(why)), 1);
    /* what surrounds the links decodes as before: Latin-1 bytes, the
     * trailing blank, the missing final line breaks */
    ck_assert(strstr(text->data->str, "Caf\xe9 news: ") == text->data->str);
    ck_assert(strstr(text->data->str, " and more. \n") != NULL
              || strstr(text->data->str, " and more. \r\n") != NULL);
    ck_assert(g_str_has_suffix(text->data->str, "Trailing soft break at the end"));
    /* (GMime, reading the message here, keeps the CR of the last line
     * break when the closing delimiter ends the file without one) */
    ck_assert(g_str_has_suffix(html->data->str, "<p>last line without a line break")
              || (_i == 3 && g_str_has_suffix(html->data->str, "<p>last line without a line break\r")));
    ck_assert(strstr(html->data->str, "<p>Caf\xe9</p>") != NULL);
    tu_outline_free(o);
    run_free(&r);
}
END_TEST

START_TEST(test_base64_odd_lines)
{
    struct run r = { 0 };
    load_fixture(&r, "base64-odd.eml", _i);
    run_rewrite(&r);
    static const char *const bounds[] = { "alt-b", NULL };
    ck_assert_int_eq(assert_valid_rewrite(&r, bounds, 0), 2);
    /* re-encoded in 76-character lines; the attachment kept its own */
    assert_lines(r.out, 76, _i & 1);
    ck_assert(strstr(r.out->str, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=") != NULL);
    run_free(&r);
}
END_TEST

/* The milter rewrites in several threads at once (libmilter runs one per
 * connection): the same messages give the same bytes in every thread. */
struct thread_job {
    const struct run *inputs;
    size_t count;
    const GString *const *want;
    int mismatches;
};

static gpointer rewrite_thread(gpointer data)
{
    struct thread_job *job = data;
    for (int round = 0; round < 40; round++) {
        const struct run *in = &job->inputs[round % job->count];
        struct pb_link_ctx ctx;
        char why[256];
        GString *out = g_string_new(NULL);
        tu_link_ctx(&ctx, &conf, &ring);
        if (pb_mime_rewrite(&ctx, in->msg->str, in->msg->len, in->body_off, out, why, sizeof(why))
                != PB_MIME_REWRITTEN
            || !g_string_equal(out, job->want[round % job->count]))
            job->mismatches++;
        g_string_free(out, TRUE);
    }
    return NULL;
}

START_TEST(test_threads)
{
    struct run in[3] = { { 0 } };
    nested_message(&in[0], 1);
    nested_message(&in[1], 0);
    load_fixture(&in[2], "qp-soft-breaks.eml", 1);
    const GString *want[3];
    for (int i = 0; i < 3; i++) {
        run_rewrite(&in[i]);
        ck_assert_int_eq(in[i].rc, PB_MIME_REWRITTEN);
        want[i] = in[i].out;
    }
    struct thread_job jobs[4];
    GThread *threads[4];
    for (int t = 0; t < 4; t++) {
        jobs[t] = (struct thread_job){ in, 3, want, 0 };
        threads[t] = g_thread_new("rewrite", rewrite_thread, &jobs[t]);
    }
    for (int t = 0; t < 4; t++) {
        g_thread_join(threads[t]);
        ck_assert_int_eq(jobs[t].mismatches, 0);
    }
    for (int i = 0; i < 3; i++)
        run_free(&in[i]);
}
END_TEST

static Suite *mime_suite(void)
{
    Suite *s = suite_create("mime");
    TCase *tc = tcase_create("splice");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_wrapped_templates, 0, N_TEMPLATES * N_VARIANTS);
    tcase_add_loop_test(tc, test_single_part_newsletter, 0, 4);
    tcase_add_loop_test(tc, test_nested_mixed, 0, 2);
    tcase_add_loop_test(tc, test_refused, 0, (int)(4 * G_N_ELEMENTS(refusals)));
    tcase_add_test(tc, test_unchanged);
    tcase_add_loop_test(tc, test_utf16_beside_utf8, 0, 2);
    tcase_add_loop_test(tc, test_empty_part, 0, 4);
    tcase_add_test(tc, test_long_line_kept);
    tcase_add_test(tc, test_boundary_text_not_at_line_start);
    tcase_add_loop_test(tc, test_qp_soft_breaks, 0, 4);
    tcase_add_loop_test(tc, test_base64_odd_lines, 0, 4);
    tcase_add_test(tc, test_threads);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(mime_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
