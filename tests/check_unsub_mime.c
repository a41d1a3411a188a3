/*
 * check_unsub_mime.c - the {{unsubscribe_url}} placeholder through the
 * whole content rewrite, pb_mime_rewrite(): in quoted-printable (also
 * split by a soft line break, its '-' written =2D), base64 and 8bit
 * parts, text and HTML, LF and CRLF, the parts GMime decodes from the
 * result hold the message's own unsubscribe URL and no placeholder, and
 * nothing outside the parts moved. And the path a follow-up takes: a
 * template rendered with the tracking URL (lib/template.h) has the
 * placeholder in both parts, not the template's fallback; the milter's
 * rewrite of that message has the real URL in both. What the renderer
 * does when the caller gives a value, or has no tracking URL, too.
 */
#include <check.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include "check_mime_run.h"
#include "check_unsub_link.h"
#include "template.h"
#include "testutil.h"

#define PLACEHOLDER "https://t.example.net/u/-"
#define FALLBACK "https://shop.example.com/unsubscribe"

static const char *const bounds[] = { "alt-b", NULL };

/* Every text part of msg holds the unsubscribe URL of ctx want times and
 * no placeholder (GMime's decoding, not the code under test). */
static void assert_parts(const struct pb_link_ctx *ctx, const GString *msg, unsigned nparts,
                         unsigned want)
{
    struct tu_outline *o = tu_outline(msg->str, msg->len);

    ck_assert_ptr_nonnull(o);
    ck_assert_uint_eq(o->texts->len, nparts);
    for (guint i = 0; i < o->texts->len; i++) {
        const struct tu_text_part *p = g_ptr_array_index(o->texts, i);
        ck_assert_msg(strstr(p->data->str, "/u/-") == NULL, "placeholder left in part %u: %s",
                      i, p->data->str);
        ck_assert_uint_eq(ul_count_unsub(ctx, p->data->str, p->data->len), want);
        ul_assert_no_click_to_unsub(p->data->str, p->data->len);
    }
    tu_outline_free(o);
}

/* ---- transfer encodings ------------------------------------------------ */

/* Rewrite the one-part message in r (CRLF line breaks when crlf) whose
 * only link is the placeholder: rewritten for it alone, no click link,
 * the unsubscribe URL in its place. */
static void run_placeholder_only(struct mime_run *r, int crlf)
{
    if (crlf)
        tu_crlf(r->msg, 0);
    r->body_off = mime_body_offset(r->msg);
    mime_run(r);
    ck_assert_msg(r->rc == PB_MIME_REWRITTEN, "%d %s", r->rc, r->why);
    ck_assert_uint_eq(r->ctx.links_tracked, 0);
    assert_parts(&r->ctx, r->new_msg, 1, 1);
}

static const char *const ctes[] = { "quoted-printable", "base64", "8bit" };

START_TEST(test_every_encoding)
{
    static const char text[] = "Gr\xc3\xbc\xc3\x9f" "e, J\xc3\xbcrgen!\n"
        "Shop: https://x.org/a\nUnsubscribe: " PLACEHOLDER "\n";
    static const char html[] = "<p>Gr\xc3\xbc\xc3\x9f" "e, J\xc3\xbcrgen! "
        "<a href=\"https://x.org/a\">Shop</a></p>\n"
        "<p><a href=\"" PLACEHOLDER "\">Unsubscribe</a></p>\n";
    struct mime_run r = { 0 };

    r.msg = tu_alternative(text, html, ctes[_i / 2], "utf-8", _i % 2, &r.body_off);
    mime_run(&r);
    ck_assert_msg(r.rc == PB_MIME_REWRITTEN, "%s: %d %s", ctes[_i / 2], r.rc, r.why);
    ck_assert_int_eq(mime_assert_rewritten(&r, bounds, 0), 2);
    ck_assert_uint_eq(r.ctx.links_tracked, 2);          /* Shop twice; unsubscribe no index */
    assert_parts(&r.ctx, r.new_msg, 2, 1);
    mime_run_free(&r);
}
END_TEST

/* A quoted-printable part as any generator may write it: the URL split by
 * a soft line break, a character of it encoded. */
START_TEST(test_qp_split_placeholder)
{
    static const char msg[] =
        "From: a@example.com\nTo: b@example.org\nSubject: x\nMIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: quoted-printable\n\n"
        "Unsubscribe here, if you must: https://t.example.net/=\n"
        "u/=2D\nThanks.\n";
    struct mime_run r = { 0 };

    r.msg = g_string_new(msg);
    run_placeholder_only(&r, _i);
    mime_assert_lines(r.out, 76, _i);
    mime_run_free(&r);
}
END_TEST

/* Base64 HTML alone, lines of an odd length: the placeholder is the only
 * link, and that alone makes the message rewritten. */
START_TEST(test_base64_only_placeholder)
{
    static const char html[] = "<html><body><p>Bye?</p><a href=\"" PLACEHOLDER
                               "\">Unsubscribe</a></body></html>\n";
    struct mime_run r = { 0 };

    r.msg = g_string_new("From: a@example.com\nTo: b@example.org\nSubject: x\n"
                         "MIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\n"
                         "Content-Transfer-Encoding: base64\n\n");
    tu_encode(r.msg, "base64", html, strlen(html), 60);
    run_placeholder_only(&r, _i);
    mime_run_free(&r);
}
END_TEST

/* ---- from the renderer to the milter ---------------------------------- */

static const char template_src[] =
    "From: Shop <news@example.com>\n"
    "Subject: Hello {{first_name}}\n"
    "List-Help: <{{unsubscribe_url|https://shop.example.com/help}}>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/alternative; boundary=\"b\"\n\n"
    "--b\nContent-Type: text/plain; charset=utf-8\n\n"
    "Hallo {{first_name}}, Gr\xc3\xbc\xc3\x9f" "e.\nShop: https://x.org/a\n"
    "Unsubscribe: {{unsubscribe_url|" FALLBACK "}}\nBye.\n"
    "--b\nContent-Type: text/html; charset=utf-8\n\n"
    "<p>Hallo {{first_name}} <a href=\"https://x.org/a\">Shop</a></p>\n"
    "<p><a href=\"{{unsubscribe_url|" FALLBACK "}}\">Unsubscribe</a></p>\n"
    "--b--\n";

static struct pb_template *load_template(const char *src, const char *tracking_url)
{
    struct pb_tpl_opts o = { .tracking_url = tracking_url };
    char *path = NULL, err[512];
    int fd = g_file_open_tmp("pb-unsub-XXXXXX.eml", &path, NULL);
    struct pb_template *t;

    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert(g_file_set_contents(path, src, -1, NULL));
    t = pb_tpl_load(path, &o, err, sizeof(err));
    ck_assert_msg(t != NULL, "%s", err);
    g_unlink(path);
    g_free(path);
    return t;
}

static GString *render(const struct pb_template *t, const char *unsub, struct pb_tpl_info *info)
{
    struct pb_tpl_value contact[] = { { "first_name", "J\xc3\xbcrgen" } };
    struct pb_tpl_value extra[] = { { "unsubscribe_url", unsub } };
    struct pb_tpl_input in = { .to = "j@example.org", .contact = contact, .ncontact = 1,
                               .extra = extra, .nextra = unsub ? 1 : 0,
                               .campaign = "mql-invite:webinar", .date = 1700000000 };
    GString *msg = g_string_new(NULL);
    char err[256];

    ck_assert_msg(pb_tpl_render(t, &in, msg, info, err, sizeof(err)) == 0, "%s", err);
    return msg;
}

/* Text part i of msg as GMime decodes it, line breaks as LF (g_free it). */
static char *part(const GString *msg, guint i)
{
    struct tu_outline *o = tu_outline(msg->str, msg->len);
    char *s;

    ck_assert_ptr_nonnull(o);
    ck_assert_uint_gt(o->texts->len, i);
    GString *d = ((struct tu_text_part *)g_ptr_array_index(o->texts, i))->data;
    gchar **lines = g_strsplit(d->str, "\r\n", -1);
    s = g_strjoinv("\n", lines);
    g_strfreev(lines);
    tu_outline_free(o);
    return s;
}

/* 1 if the text part (0) of msg has text_has and the HTML part (1) html_has. */
static int parts_have(const GString *msg, const char *text_has, const char *html_has)
{
    char *text = part(msg, 0), *html = part(msg, 1);
    int yes = strstr(text, text_has) != NULL && strstr(html, html_has) != NULL;

    g_free(text);
    g_free(html);
    return yes;
}

START_TEST(test_rendered_then_rewritten)
{
    struct pb_template *t = load_template(template_src, tu_conf.tracking_url);
    struct pb_tpl_info info;
    struct mime_run r = { 0 };

    r.msg = render(t, NULL, &info);
    ck_assert_int_eq(info.unsub_placeholder, 1);
    ck_assert(parts_have(r.msg, "\nUnsubscribe: " PLACEHOLDER "\n",
                         "<a href=\"" PLACEHOLDER "\">Unsubscribe</a>"));
    ck_assert_ptr_null(strstr(r.msg->str, FALLBACK));
    /* a header keeps the default: the milter writes List-Unsubscribe itself */
    ck_assert_ptr_nonnull(strstr(r.msg->str, "List-Help: <https://shop.example.com/help>"));
    tu_crlf(r.msg, 0);                  /* as Postfix hands it to the milter */
    r.body_off = mime_body_offset(r.msg);
    mime_run(&r);
    ck_assert_msg(r.rc == PB_MIME_REWRITTEN, "%d %s", r.rc, r.why);
    ck_assert_uint_eq(r.ctx.links_tracked, 2);
    assert_parts(&r.ctx, r.new_msg, 2, 1);
    char *url = ul_expected_url(&r.ctx);
    char *text = g_strconcat("\nUnsubscribe: ", url, "\n", NULL);
    char *html = g_strconcat("<a href=\"", url, "\">Unsubscribe</a>", NULL);
    ck_assert(parts_have(r.new_msg, text, html));
    g_free(text);
    g_free(html);
    g_free(url);
    mime_run_free(&r);
    pb_tpl_free(t);
}
END_TEST

/* A value of the caller's wins; without a tracking URL (or where the
 * body has no {{unsubscribe_url}}) the template's fallback stands. */
START_TEST(test_renderer_choices)
{
    struct pb_template *t = load_template(template_src, tu_conf.tracking_url);
    struct pb_tpl_info info;
    GString *msg = render(t, "https://u.example.com/x", &info);

    ck_assert_int_eq(info.unsub_placeholder, 0);
    ck_assert(parts_have(msg, "https://u.example.com/x", "https://u.example.com/x"));
    ck_assert_ptr_null(strstr(msg->str, "/u/-"));
    g_string_free(msg, TRUE);
    msg = render(t, "  ", &info);                       /* blank: as if not given */
    ck_assert_int_eq(info.unsub_placeholder, 1);
    ck_assert(parts_have(msg, PLACEHOLDER, PLACEHOLDER));
    g_string_free(msg, TRUE);
    pb_tpl_free(t);

    t = load_template(template_src, NULL);
    msg = render(t, NULL, &info);
    ck_assert_int_eq(info.unsub_placeholder, 0);
    ck_assert(parts_have(msg, FALLBACK, FALLBACK));
    ck_assert_ptr_null(strstr(msg->str, "/u/-"));
    g_string_free(msg, TRUE);
    pb_tpl_free(t);

    t = load_template("From: a@example.com\nSubject: x\n\nNo link here.\n", tu_conf.tracking_url);
    msg = render(t, NULL, &info);
    ck_assert_int_eq(info.unsub_placeholder, 0);
    g_string_free(msg, TRUE);
    pb_tpl_free(t);
}
END_TEST

Suite *unsub_mime_suite(void)
{
    Suite *s = suite_create("unsub_mime");
    TCase *tc = tcase_create("encodings");

    tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
    tcase_add_loop_test(tc, test_every_encoding, 0, 2 * G_N_ELEMENTS(ctes));
    tcase_add_loop_test(tc, test_qp_split_placeholder, 0, 2);
    tcase_add_loop_test(tc, test_base64_only_placeholder, 0, 2);
    suite_add_tcase(s, tc);
    tc = tcase_create("rendered");
    tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
    tcase_add_test(tc, test_rendered_then_rewritten);
    tcase_add_test(tc, test_renderer_choices);
    suite_add_tcase(s, tc);
    return s;
}
