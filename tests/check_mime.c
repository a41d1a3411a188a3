/*
 * check_mime.c - unit tests of pb_mime_rewrite() where it rewrites: the
 * MIME walk, decoding and re-encoding, and the splice. Messages are the
 * corpus templates wrapped as multipart/alternative in every transfer
 * encoding, charset and line-ending style, plus hand-written edge cases
 * in tests/data/mime. Each rewrite is checked from the outside: GMime
 * decodes the new parts, every tracked link must verify and lead back to
 * an original URL, and every byte outside the text parts must be
 * unchanged; the parts left alone beside rewritten ones are named, and
 * a message gets one open pixel. What is refused or left alone as a
 * whole: check_mime_refuse.c; the reasons given: check_mime_reason.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <check.h>
#include "testutil.h"
#include "testutil_mime.h"
#include "check_mime_run.h"

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
    struct mime_run r = { 0 };
    r.msg = tu_alternative(text, html, cte, latin1 ? "iso-8859-1" : "utf-8", crlf, &r.body_off);
    mime_run(&r);
    static const char *const bounds[] = { "alt-b", NULL };
    int tracked = mime_assert_rewritten(&r, bounds, 0);
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
    ck_assert_int_gt(tu_check_tracked(&tu_conf, &tu_ring, html_old->data->str, html_old->data->len,
                                      html_new->data->str, html_new->data->len, &hmin, &hmax,
                                      why, sizeof(why)), 0);
    int ntext = tu_check_tracked(&tu_conf, &tu_ring, text_old->data->str, text_old->data->len,
                                 text_new->data->str, text_new->data->len, &tmin, &tmax,
                                 why, sizeof(why));
    ck_assert_msg(ntext > 0, "%s: text part has no tracked link", name);
    ck_assert_msg(tmin > hmax, "text link index %u not after HTML's %u", tmin, hmax);

    /* the encoding's own limits and the line-break style */
    mime_assert_lines(r.out, strcmp(cte, "8bit") == 0 ? 998 : 76, crlf);
    tu_outline_free(a);
    tu_outline_free(b);
    g_free(html);
    g_free(text);
    mime_run_free(&r);
}
END_TEST

/* The leemunroe newsletter: a single text/html part, QP, top level. */
START_TEST(test_single_part_newsletter)
{
    int crlf = _i & 1, final_newline = _i >> 1;
    char *html = read_corpus("html/leemunroe/email-inlined.html", 1);
    struct mime_run r = { 0 };
    r.msg = g_string_new("From: news@example.com\nSubject: letter\nMIME-Version: 1.0\n"
                         "Content-Type: text/html; charset=utf-8\n"
                         "Content-Transfer-Encoding: quoted-printable\n\n");
    tu_encode(r.msg, "quoted-printable", html, strlen(html), 0);
    while (!final_newline && r.msg->str[r.msg->len - 1] == '\n')
        g_string_truncate(r.msg, r.msg->len - 1);
    if (crlf)
        tu_crlf(r.msg, 0);
    r.body_off = mime_body_offset(r.msg);
    mime_run(&r);
    ck_assert_int_gt(mime_assert_rewritten(&r, NULL, 1), 0);
    char last_old = r.msg->str[r.msg->len - 1], last_new = r.out->str[r.out->len - 1];
    ck_assert_msg(last_old == last_new, "end of message changed");
    mime_assert_lines(r.out, 76, crlf);
    g_free(html);
    mime_run_free(&r);
}
END_TEST

/* ---- nested structure: alternative inside mixed, a PDF, a message ------ */

static void nested_message(struct mime_run *r, int crlf)
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
    r->body_off = mime_body_offset(m);
    g_free(html);
    g_free(text);
}

START_TEST(test_nested_mixed)
{
    struct mime_run r = { 0 };
    nested_message(&r, _i);
    mime_run(&r);
    static const char *const bounds[] = { "mixed-b", "alt-b", NULL };
    ck_assert_int_gt(mime_assert_rewritten(&r, bounds, 0), 0);
    /* what is not a body stays: attachments, the forwarded message */
    const char *const untouched[] = { "https://example.com/preamble", "https://example.com/attached-html",
        "https://example.com/forwarded", "https://example.com/epilogue" };
    for (size_t i = 0; i < G_N_ELEMENTS(untouched); i++)
        ck_assert_msg(strstr(r.out->str, untouched[i]) != NULL, "%s was changed", untouched[i]);
    char why[256];
    static const char *const two[] = { "mixed-b", "alt-b", NULL };
    ck_assert_int_eq(tu_same_outside_text(r.msg->str + r.body_off, r.msg->len - r.body_off,
                                          r.out->str, r.out->len, two, 0, why, sizeof(why)), 2);
    mime_run_free(&r);
}
END_TEST

/* ---- a part left alone beside rewritten ones --------------------------- */

/* A part in a charset we leave alone does not stop the others. */
START_TEST(test_utf16_beside_utf8)
{
    struct mime_run r = { 0 };
    mime_load_fixture(&r, "utf16.eml", _i);
    const char *close = _i ? "--u16-b--\r\n" : "--u16-b--\n";
    char *at = strstr(r.msg->str, close);
    ck_assert(at != NULL);
    g_string_insert(r.msg, at - r.msg->str,
                    _i ? "--u16-b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                         "Shop at https://shop.example.org/new today.\r\n"
                       : "--u16-b\nContent-Type: text/plain; charset=utf-8\n\n"
                         "Shop at https://shop.example.org/new today.\n");
    mime_run(&r);
    static const char *const bounds[] = { "u16-b", NULL };
    ck_assert_int_eq(mime_assert_rewritten(&r, bounds, 0), 1);
    ck_assert_msg(strstr(r.why, "UTF-16") != NULL, "why: %s", r.why);
    mime_run_free(&r);
}
END_TEST

/* An HTML part whose header block runs straight into the next delimiter
 * has no line to put a pixel on: it stays empty, the text part is done. */
START_TEST(test_empty_part)
{
    struct mime_run r = { 0 };
    mime_load_fixture(&r, "empty-part.eml", _i);
    mime_run(&r);
    static const char *const bounds[] = { "alt-b", NULL };
    ck_assert_int_eq(mime_assert_rewritten(&r, bounds, 0), 1);
    ck_assert(strstr(r.out->str, _i & 1 ? "us-ascii\r\n\r\n--alt-b--" : "us-ascii\n\n--alt-b--") != NULL);
    mime_run_free(&r);
}
END_TEST

/* ---- what is left alone is named; one pixel per message ---------------- */

#define PIXEL "https://t.example.net/o/"

static size_t count_of(const char *s, const char *what)
{
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, what)) != NULL; p += strlen(what))
        n++;
    return n;
}

/* A newsletter with an attached message and signed and encrypted parts
 * beside it: tracked in its own parts, the others named, one pixel. */
START_TEST(test_left_alone_named)
{
    struct mime_run r = { 0 };
    r.msg = g_string_new(
        "From: news@example.com\nSubject: left alone\nMIME-Version: 1.0\n"
        "Content-Type: multipart/mixed; boundary=\"mix-b\"\n\n"
        "--mix-b\nContent-Type: multipart/alternative; boundary=\"alt-b\"\n\n"
        "--alt-b\nContent-Type: text/plain; charset=us-ascii\n\nShop: https://example.com/t\n"
        "--alt-b\nContent-Type: text/html; charset=us-ascii\n\n"
        "<html><body><a href=\"https://example.com/h\">shop</a></body></html>\n"
        "--alt-b--\n"
        "--mix-b\nContent-Type: message/rfc822\n\n"
        "From: a@example.org\nSubject: fwd\nContent-Type: text/html\n\n"
        "<a href=\"https://example.com/forwarded\">f</a>\n"
        "--mix-b\nContent-Type: multipart/signed; protocol=\"application/pgp-signature\"; "
        "micalg=pgp-sha256; boundary=\"sig-b\"\n\n"
        "--sig-b\nContent-Type: text/html\n\n<a href=\"https://example.com/signed\">s</a>\n"
        "--sig-b\nContent-Type: application/pgp-signature\n\nsig\n--sig-b--\n"
        "--mix-b\nContent-Type: application/pkcs7-mime; smime-type=enveloped-data\n"
        "Content-Transfer-Encoding: base64\n\nMIAGCSqGSIb3DQEHA6CAMIACAQA=\n"
        "--mix-b\nContent-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; "
        "boundary=\"enc-b\"\n\n"
        "--enc-b\nContent-Type: application/pgp-encrypted\n\nVersion: 1\n"
        "--enc-b\nContent-Type: application/octet-stream\n\n-----BEGIN PGP MESSAGE-----\n"
        "--enc-b--\n--mix-b--\n");
    if (_i)
        tu_crlf(r.msg, 0);
    r.body_off = mime_body_offset(r.msg);
    mime_run(&r);
    static const char *const bounds[] = { "mix-b", "alt-b", "sig-b", "enc-b", NULL };
    ck_assert_int_eq(mime_assert_rewritten(&r, bounds, 0), 2);
    ck_assert_str_eq(r.why, "left alone: part 2 message/rfc822 (attached message), "
                     "part 3 multipart/signed (signed), "
                     "part 4 application/pkcs7-mime (S/MIME encrypted), "
                     "part 5 multipart/encrypted (encrypted)");
    ck_assert_uint_eq(count_of(r.out->str, PIXEL), 1);
    ck_assert(strstr(r.out->str, "https://example.com/forwarded") != NULL);
    ck_assert(strstr(r.out->str, "https://example.com/signed") != NULL);
    mime_run_free(&r);
}
END_TEST

/* n HTML parts, each with one link, in a multipart/mixed ("mix-b"). */
static GString *html_parts(int n, int crlf)
{
    GString *m = g_string_new("From: news@example.com\nSubject: many\nMIME-Version: 1.0\n"
                              "Content-Type: multipart/mixed; boundary=\"mix-b\"\n\n");
    for (int i = 1; i <= n; i++)
        g_string_append_printf(m, "--mix-b\nContent-Type: text/html; charset=us-ascii\n\n"
                               "<html><body><a href=\"https://example.com/%d\">%d</a>"
                               "</body></html>\n", i, i);
    g_string_append(m, "--mix-b--\n");
    if (crlf)
        tu_crlf(m, 0);
    return m;
}

/* Three HTML parts: the first has the one pixel, the others none. */
START_TEST(test_one_pixel)
{
    struct mime_run r = { 0 };
    r.msg = html_parts(3, _i);
    r.body_off = mime_body_offset(r.msg);
    mime_run(&r);
    static const char *const bounds[] = { "mix-b", NULL };
    ck_assert_int_eq(mime_assert_rewritten(&r, bounds, 0), 3);
    ck_assert_str_eq(r.why, "");
    struct tu_outline *o = tu_outline(r.new_msg->str, r.new_msg->len);
    ck_assert_uint_eq(o->texts->len, 3);
    for (guint i = 0; i < o->texts->len; i++) {
        const struct tu_text_part *t = o->texts->pdata[i];
        ck_assert_msg(count_of(t->data->str, PIXEL) == (i == 0 ? 1u : 0u), "part %u", i + 1);
    }
    tu_outline_free(o);
    mime_run_free(&r);
}
END_TEST

/* The first HTML part's rewrite cannot go out (a line would pass 998
 * octets): it is left alone, named, and the pixel goes to the second. */
START_TEST(test_pixel_after_dropped_part)
{
    struct mime_run r = { 0 };
    r.msg = g_string_new("From: news@example.com\nSubject: long\nMIME-Version: 1.0\n"
                         "Content-Type: multipart/mixed; boundary=\"mix-b\"\n\n"
                         "--mix-b\nContent-Type: text/html; charset=utf-8\n"
                         "Content-Transfer-Encoding: 8bit\n\n<p>");
    for (int i = 0; i < 940; i++)
        g_string_append_c(r.msg, 'x');
    g_string_append(r.msg, "<a href=\"https://example.com/a\">a</a></p>\n"
                    "--mix-b\nContent-Type: text/html; charset=utf-8\n\n"
                    "<html><body><a href=\"https://example.com/b\">b</a></body></html>\n"
                    "--mix-b--\n");
    r.body_off = mime_body_offset(r.msg);
    mime_run(&r);
    static const char *const bounds[] = { "mix-b", NULL };
    ck_assert_int_eq(mime_assert_rewritten(&r, bounds, 0), 1);
    ck_assert_str_eq(r.why, "left alone: part 1 text/html (a line would exceed 998 octets)");
    struct tu_outline *o = tu_outline(r.new_msg->str, r.new_msg->len);
    const struct tu_text_part *first = o->texts->pdata[0], *second = o->texts->pdata[1];
    ck_assert_uint_eq(count_of(first->data->str, PIXEL), 0);
    ck_assert_uint_eq(count_of(second->data->str, PIXEL), 1);
    tu_outline_free(o);
    mime_run_free(&r);
}
END_TEST

/* More HTML parts than the milter takes: the first 32 are tracked, the
 * rest named, one pixel in all. */
START_TEST(test_too_many_parts)
{
    struct mime_run r = { 0 };
    r.msg = html_parts(34, _i);
    r.body_off = mime_body_offset(r.msg);
    mime_run(&r);
    ck_assert_int_eq(r.rc, PB_MIME_REWRITTEN);
    ck_assert_uint_eq(r.ctx.links_tracked, 32);
    ck_assert_str_eq(r.why, "left alone: part 33 text/html (more than 32 body parts), "
                     "part 34 text/html (more than 32 body parts)");
    ck_assert_uint_eq(count_of(r.out->str, PIXEL), 1);
    ck_assert(strstr(r.out->str, "https://example.com/33\"") != NULL);
    mime_run_free(&r);

    /* the list stops where the log line would get too long, and counts the rest */
    struct pb_link_ctx ctx;
    char why[1024];
    GString *m = html_parts(100, _i), *out = g_string_new(NULL);
    tu_link_ctx(&ctx, &tu_conf, &tu_ring);
    ck_assert_int_eq(pb_mime_rewrite(&ctx, m->str, m->len, mime_body_offset(m), out, why,
                                     sizeof(why)), PB_MIME_REWRITTEN);
    ck_assert_msg(g_str_has_prefix(why, "left alone: part 33 text/html (more than 32 body "
                                   "parts), part 34 text/html"), "why: %s", why);
    const char *more = strstr(why, ", and ");
    ck_assert_msg(more != NULL && g_str_has_suffix(why, " more"), "why: %s", why);
    unsigned listed = (unsigned)count_of(why, "(more than 32 body parts)"), rest = 0;
    ck_assert_int_eq(sscanf(more, ", and %u more", &rest), 1);
    ck_assert_uint_eq(listed + rest, 68);
    ck_assert_uint_lt(strlen(why), 440);
    g_string_free(m, TRUE);
    g_string_free(out, TRUE);
}
END_TEST

/* ---- decoding round trips ---------------------------------------------- */

START_TEST(test_qp_soft_breaks)
{
    struct mime_run r = { 0 };
    mime_load_fixture(&r, "qp-soft-breaks.eml", _i);
    mime_run(&r);
    static const char *const bounds[] = { "alt-b", NULL };
    ck_assert_int_eq(mime_assert_rewritten(&r, bounds, 0), 3);
    struct tu_outline *o = tu_outline(r.new_msg->str, r.new_msg->len);
    const struct tu_text_part *text = o->texts->pdata[0], *html = o->texts->pdata[1];
    /* URLs split by soft breaks were read whole */
    char why[256];
    const char *html_urls = "https://example.com/very/long/path?a=1&b=2 http://www.example.net/x";
    const char *text_urls = "https://shop.example.org/spring/collection/"
                            "very-long-path-that-goes-on?ref=news&id=7";
    ck_assert_int_eq(tu_check_tracked(&tu_conf, &tu_ring, html_urls, strlen(html_urls),
                                      html->data->str, html->data->len, NULL, NULL,
                                      why, sizeof(why)), 2);
    ck_assert_int_eq(tu_check_tracked(&tu_conf, &tu_ring, text_urls, strlen(text_urls),
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
    mime_run_free(&r);
}
END_TEST

START_TEST(test_base64_odd_lines)
{
    struct mime_run r = { 0 };
    mime_load_fixture(&r, "base64-odd.eml", _i);
    mime_run(&r);
    static const char *const bounds[] = { "alt-b", NULL };
    ck_assert_int_eq(mime_assert_rewritten(&r, bounds, 0), 2);
    /* re-encoded in 76-character lines; the attachment kept its own */
    mime_assert_lines(r.out, 76, _i & 1);
    ck_assert(strstr(r.out->str, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=") != NULL);
    mime_run_free(&r);
}
END_TEST

/* The milter rewrites in several threads at once (libmilter runs one per
 * connection): the same messages give the same bytes in every thread. */
struct thread_job {
    const struct mime_run *inputs;
    size_t count;
    const GString *const *want;
    int mismatches;
};

static gpointer rewrite_thread(gpointer data)
{
    struct thread_job *job = data;
    for (int round = 0; round < 40; round++) {
        const struct mime_run *in = &job->inputs[round % job->count];
        struct pb_link_ctx ctx;
        char why[256];
        GString *out = g_string_new(NULL);
        tu_link_ctx(&ctx, &tu_conf, &tu_ring);
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
    struct mime_run in[3] = { { 0 } };
    nested_message(&in[0], 1);
    nested_message(&in[1], 0);
    mime_load_fixture(&in[2], "qp-soft-breaks.eml", 1);
    const GString *want[3];
    for (int i = 0; i < 3; i++) {
        mime_run(&in[i]);
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
        mime_run_free(&in[i]);
}
END_TEST

static Suite *mime_suite(void)
{
    Suite *s = suite_create("mime");
    TCase *tc = tcase_create("splice");
    tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_wrapped_templates, 0, N_TEMPLATES * N_VARIANTS);
    tcase_add_loop_test(tc, test_single_part_newsletter, 0, 4);
    tcase_add_loop_test(tc, test_nested_mixed, 0, 2);
    tcase_add_loop_test(tc, test_utf16_beside_utf8, 0, 2);
    tcase_add_loop_test(tc, test_empty_part, 0, 4);
    tcase_add_loop_test(tc, test_left_alone_named, 0, 2);
    tcase_add_loop_test(tc, test_one_pixel, 0, 2);
    tcase_add_test(tc, test_pixel_after_dropped_part);
    tcase_add_loop_test(tc, test_too_many_parts, 0, 2);
    tcase_add_loop_test(tc, test_qp_soft_breaks, 0, 4);
    tcase_add_loop_test(tc, test_base64_odd_lines, 0, 4);
    tcase_add_test(tc, test_threads);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return mime_run_suite(mime_suite());
}
