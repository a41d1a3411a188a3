/*
 * check_template.c - templates (lib/template*.c): placeholders and
 * defaults, HTML escaping, RFC 2047 headers, header injection, load-time
 * errors with file:line, and that the rendered message is MIME that
 * GMime and the milter's own parser (pb_mime_rewrite) accept and track.
 * Every rendered message is read back with GMime (and the HTML with
 * gumbo), never with the code under test. Error cases:
 * check_template_errors.c; helpers: check_template.h.
 */
#include <stdlib.h>
#include <string.h>
#include <check.h>
#include <gumbo.h>
#include "check_template.h"
#include "rewrite.h"
#include "testutil.h"

/* ---- placeholders ------------------------------------------------------ */

START_TEST(test_placeholders_and_defaults)
{
    struct pb_template *t = ct_load("From: Shop <news@example.com>\n"
                                    "Subject: Hi {{first_name|Kunde}}\n"
                                    "Content-Type: text/plain; charset=utf-8\n\n"
                                    "Hallo {{first_name|Kunde}} {{ last_name }} aus {{city|?}},\n"
                                    "plan {{attr:plan|free}}, {{email}}, {{campaign}}, "
                                    "{{event:cart_url|none}}, {{unsubscribe_url}}.\n");
    struct pb_tpl_value full[] = { { "first_name", "Max" }, { "last_name", "Muster" },
                                   { "city", "  " }, { "attr:plan", "pro" } };
    struct pb_tpl_value extra[] = { { "event:cart_url", "https://s.example.com/c/1" },
                                    { "unsubscribe_url", "https://u.example.com/x" } };
    struct ct_msg m;

    ct_render(t, "max@example.org", full, 4, extra, 2, &m);
    ck_assert_str_eq(m.subject, "Hi Max");
    ck_assert_str_eq(m.text, "Hallo Max Muster aus ?,\nplan pro, max@example.org, "
                     "welcome:1, https://s.example.com/c/1, https://u.example.com/x.\n");
    ct_msg_free(&m);

    ct_render(t, "anna@example.org", NULL, 0, NULL, 0, &m);
    ck_assert_str_eq(m.subject, "Hi Kunde");
    ck_assert_str_eq(m.text, "Hallo Kunde  aus ?,\nplan free, anna@example.org, welcome:1, "
                     "none, .\n");
    ct_msg_free(&m);
    pb_tpl_free(t);
}
END_TEST

/* A template saved with CRLF line breaks renders like one with LF. */
START_TEST(test_crlf_template)
{
    GString *src = g_string_new(CT_ALT_TEMPLATE);
    struct pb_tpl_value v[] = { { "first_name", "Max" } };
    struct ct_msg m;

    for (size_t i = 0; i < src->len; i++)
        if (src->str[i] == '\n')
            g_string_insert_c(src, (gssize)i++, '\r');
    struct pb_template *t = ct_load(src->str), *lf = ct_load(CT_ALT_TEMPLATE);
    struct ct_msg want;
    ct_render(t, "max@example.org", v, 1, NULL, 0, &m);
    ct_render(lf, "max@example.org", v, 1, NULL, 0, &want);
    ck_assert_str_eq(m.subject, "Grüße, Max!");
    ck_assert_ptr_nonnull(strstr(m.text, "Hallo Max, schön"));
    ck_assert_str_eq(m.text, want.text);
    ck_assert_str_eq(m.html, want.html);
    ck_assert_ptr_null(strchr(m.raw->str, '\r'));
    ct_msg_free(&m);
    ct_msg_free(&want);
    pb_tpl_free(t);
    pb_tpl_free(lf);
    g_string_free(src, TRUE);
}
END_TEST

/* ---- HTML -------------------------------------------------------------- */

static int has_element(GumboNode *n, GumboTag tag)
{
    if (n->type != GUMBO_NODE_ELEMENT)
        return 0;
    if (n->v.element.tag == tag)
        return 1;
    for (unsigned i = 0; i < n->v.element.children.length; i++)
        if (has_element(n->v.element.children.data[i], tag))
            return 1;
    return 0;
}

/* The title attribute of the first <a>, or NULL. */
static const char *first_title(GumboNode *n)
{
    if (n->type != GUMBO_NODE_ELEMENT)
        return NULL;
    if (n->v.element.tag == GUMBO_TAG_A) {
        GumboAttribute *a = gumbo_get_attribute(&n->v.element.attributes, "title");
        return a ? a->value : NULL;
    }
    for (unsigned i = 0; i < n->v.element.children.length; i++) {
        const char *v = first_title(n->v.element.children.data[i]);
        if (v != NULL)
            return v;
    }
    return NULL;
}

START_TEST(test_html_escaped)
{
    struct pb_template *t = ct_load(CT_ALT_TEMPLATE);
    const char *evil = "<script>alert(1)</script>\" onmouseover=\"x";
    struct pb_tpl_value v[] = { { "first_name", evil } };
    struct ct_msg m;

    ct_render(t, "max@example.org", v, 1, NULL, 0, &m);
    ck_assert_ptr_null(strstr(m.html, "<script"));
    ck_assert_ptr_nonnull(strstr(m.html, "&lt;script&gt;alert(1)&lt;/script&gt;&quot;"));
    GumboOutput *g = gumbo_parse(m.html);
    ck_assert(!has_element(g->root, GUMBO_TAG_SCRIPT));
    /* in an attribute the value stays inside it */
    ck_assert_str_eq(first_title(g->root), evil);
    gumbo_destroy_output(&kGumboDefaultOptions, g);
    /* the text part has the value as it is */
    ck_assert_ptr_nonnull(strstr(m.text, evil));
    ct_msg_free(&m);
    pb_tpl_free(t);
}
END_TEST

/* ---- headers ----------------------------------------------------------- */

START_TEST(test_subject_rfc2047)
{
    struct pb_template *t = ct_load(CT_ALT_TEMPLATE);
    struct pb_tpl_value v[] = { { "first_name", "Jürgen" }, { "last_name", "Öztürk" } };
    struct ct_msg m;

    ct_render(t, "j@example.org", v, 2, NULL, 0, &m);
    ck_assert_str_eq(m.subject, "Grüße, Jürgen!");
    ck_assert_str_eq(m.to_name, "Jürgen Öztürk");
    ck_assert_str_eq(m.to_addr, "j@example.org");
    /* the header block is ASCII: the umlauts are encoded words */
    for (size_t i = 0; i < m.header_len; i++)
        ck_assert_msg((unsigned char)m.raw->str[i] < 0x80, "8-bit byte in header at %zu", i);
    /* encoded words in UTF-8, not whatever charset would do */
    ck_assert_ptr_nonnull(strcasestr(ct_raw_header(&m, "Subject"), "=?utf-8?"));
    ck_assert_ptr_nonnull(strcasestr(ct_raw_header(&m, "To"), "=?utf-8?"));
    ck_assert_ptr_null(strcasestr(m.raw->str, "iso-8859"));
    ct_msg_free(&m);
    pb_tpl_free(t);
}
END_TEST

START_TEST(test_header_injection)
{
    struct pb_template *t = ct_load("From: Shop <news@example.com>\n"
                                    "To: {{first_name}} {{last_name}}\n"
                                    "Subject: Hallo {{first_name}}\n"
                                    "X-Greeting: {{last_name}}\n"
                                    "Content-Type: text/plain\n\nHallo {{first_name}}\n");
    const char *names[] = { "Max\r\nBcc: evil@example.net", "Max\nBcc:evil@example.net",
                            "Max\rBcc: evil@example.net", "=?utf-8?q?a=0D=0ABcc:_x@y?=",
                            "Max\r\n\r\nbody", "M\xc3\xa4x\r\n Bcc: evil@example.net" };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        struct pb_tpl_value v[] = { { "first_name", names[i] },
                                    { "last_name", "\nX-Evil: 1\r\nCc: c@example.net" } };
        struct ct_msg m;
        ct_render(t, "max@example.org", v, 2, NULL, 0, &m);
        ct_assert_headers_only(&m, "From To Subject X-Greeting Date Message-Id MIME-Version "
                               "X-Campaign Content-Type Content-Transfer-Encoding");
        ck_assert_int_eq(ct_count_addresses(&m, "Bcc") + ct_count_addresses(&m, "Cc"), 0);
        ck_assert_str_eq(m.to_addr, "max@example.org");
        ck_assert_ptr_null(strchr(m.subject, '\n'));
        ck_assert_ptr_null(strchr(m.subject, '\r'));
        ck_assert_uint_gt(m.info.header_controls, 0);
        ck_assert_str_eq(ct_header(&m, "X-Greeting"), "X-Evil: 1 Cc: c@example.net");
        ct_msg_free(&m);
    }
    pb_tpl_free(t);
}
END_TEST

/* Specials in a name cannot add an address to To. */
START_TEST(test_to_name_quoted)
{
    struct pb_template *t = ct_load(CT_ALT_TEMPLATE);
    struct pb_tpl_value v[] = { { "first_name", "Eve\" <evil@example.net>, \"x" },
                                { "last_name", "Doe, John (x) <y@example.net>;" } };
    struct ct_msg m;

    ct_render(t, "eve@example.org", v, 2, NULL, 0, &m);
    ck_assert_int_eq(ct_count_addresses(&m, "To"), 1);
    ck_assert_str_eq(m.to_addr, "eve@example.org");
    ck_assert_str_eq(m.to_name, "Eve\" <evil@example.net>, \"x Doe, John (x) <y@example.net>;");
    ct_msg_free(&m);
    pb_tpl_free(t);
}
END_TEST

/* Date, Message-ID, MIME-Version, From, Reply-To, the campaign header,
 * transfer encodings. */
START_TEST(test_message_headers)
{
    struct pb_tpl_opts o = { .from = "Fallback <fb@example.net>", .reply_to = "Service "
                             "<service@example.com>", .campaign_header = "X-Campaign" };
    struct pb_template *t = ct_load_opts("Subject: Plain\nContent-Type: text/plain\n\nASCII "
                                         "only {{first_name}}\n", &o);
    struct pb_tpl_value v[] = { { "first_name", "Bob" } };
    struct ct_msg m;

    ct_render(t, "bob@example.org", v, 1, NULL, 0, &m);
    ck_assert_str_eq(ct_header(&m, "From"), "Fallback <fb@example.net>");
    ck_assert_str_eq(ct_header(&m, "Reply-To"), "Service <service@example.com>");
    ck_assert_str_eq(ct_header(&m, "X-Campaign"), "welcome:1");
    ck_assert_str_eq(ct_header(&m, "MIME-Version"), "1.0");
    ck_assert_str_eq(ct_header(&m, "Date"), "Tue, 14 Nov 2023 22:13:20 +0000");
    ck_assert_str_eq(ct_part_header(&m, 0, "Content-Transfer-Encoding"), "7bit");
    ck_assert_ptr_nonnull(g_str_has_suffix(m.info.message_id, "@example.net") ? "" : NULL);
    ck_assert_str_eq(g_mime_message_get_message_id(m.msg), m.info.message_id);
    ck_assert_str_eq(pb_tpl_from_address(t), "fb@example.net");
    ct_msg_free(&m);
    pb_tpl_free(t);

    /* non-ASCII text goes quoted-printable, UTF-8 */
    t = ct_load(CT_ALT_TEMPLATE);
    ct_render(t, "bob@example.org", v, 1, NULL, 0, &m);
    ck_assert_str_eq(ct_part_header(&m, 0, "Content-Transfer-Encoding"), "quoted-printable");
    ck_assert_str_eq(ct_part_header(&m, 1, "Content-Transfer-Encoding"), "quoted-printable");
    ck_assert_ptr_nonnull(strstr(ct_part_header(&m, 0, "Content-Type"), "utf-8"));
    ck_assert_ptr_nonnull(strstr(m.text, "schön"));
    ck_assert_str_eq(ct_header(&m, "From"), "Shop <news@example.com>");
    ct_msg_free(&m);
    pb_tpl_free(t);
}
END_TEST

/* The milter's parser takes the rendered message and tracks its links. */
START_TEST(test_milter_accepts)
{
    struct pb_template *t = ct_load(CT_ALT_TEMPLATE);
    struct pb_tpl_value v[] = { { "first_name", "Jürgen & <Co>" } };
    struct pb_link_ctx ctx;
    struct ct_msg m;
    GString *out = g_string_new(NULL);
    char why[256];

    ct_render(t, "j@example.org", v, 1, NULL, 0, &m);
    tu_link_ctx(&ctx, &tu_conf, &tu_ring);
    enum pb_mime_result rc = pb_mime_rewrite(&ctx, m.raw->str, m.raw->len, m.body_off, out,
                                             why, sizeof(why));
    ck_assert_msg(rc == PB_MIME_REWRITTEN, "pb_mime_rewrite: %d %s", rc, why);
    ck_assert_uint_eq(ctx.links_tracked, 2);    /* one link in each part */
    g_string_free(out, TRUE);
    ct_msg_free(&m);
    pb_tpl_free(t);
}
END_TEST

START_TEST(test_campaign_names)
{
    char out[65], err[256];

    ck_assert_int_eq(pb_tpl_campaign("welcome", "2", NULL, out, err, sizeof(err)), 0);
    ck_assert_str_eq(out, "welcome:2");
    ck_assert_int_eq(pb_tpl_campaign("event", "resend", "b", out, err, sizeof(err)), 0);
    ck_assert_str_eq(out, "event:resend:b");
    ck_assert_int_eq(pb_tpl_campaign("Event", "1", NULL, out, err, sizeof(err)), -1);
    ck_assert_int_eq(pb_tpl_campaign("w", "a:b", NULL, out, err, sizeof(err)), -1);
    ck_assert_int_eq(pb_tpl_campaign("w", "1", "", out, err, sizeof(err)), -1);
    char longname[70];
    memset(longname, 'a', 62);
    longname[62] = '\0';
    ck_assert_int_eq(pb_tpl_campaign(longname, "1", NULL, out, err, sizeof(err)), 0);
    ck_assert_int_eq(pb_tpl_campaign(longname, "12", NULL, out, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "over 64"));
}
END_TEST

/* The shipped examples load and render; the milter tracks each. */
START_TEST(test_examples)
{
    const char *dir = TESTS_DIR "/../config/templates";
    char err[4096];
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *name;
    unsigned n = 0;

    ck_assert_msg(pb_tpl_check_dir(dir, NULL, err, sizeof(err)) == 0, "%s", err);
    ck_assert_ptr_nonnull(d);
    while ((name = g_dir_read_name(d)) != NULL) {
        char *path = g_build_filename(dir, name, NULL);
        struct pb_template *t = pb_tpl_load(path, NULL, err, sizeof(err));
        struct pb_tpl_value v[] = { { "first_name", "Jürgen" }, { "email", "j@example.org" } };
        struct ct_msg m;
        ck_assert_msg(t != NULL, "%s", err);
        ct_render(t, "j@example.org", v, 2, NULL, 0, &m);
        ck_assert_ptr_null(strstr(m.raw->str, "{{"));
        ct_msg_free(&m);
        pb_tpl_free(t);
        g_free(path);
        n++;
    }
    g_dir_close(d);
    ck_assert_uint_ge(n, 12);
}
END_TEST

Suite *template_errors_suite(void);

static Suite *template_suite(void)
{
    Suite *s = suite_create("template");
    TCase *tc = tcase_create("render");

    tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
    tcase_add_test(tc, test_placeholders_and_defaults);
    tcase_add_test(tc, test_crlf_template);
    tcase_add_test(tc, test_html_escaped);
    tcase_add_test(tc, test_subject_rfc2047);
    tcase_add_test(tc, test_header_injection);
    tcase_add_test(tc, test_to_name_quoted);
    tcase_add_test(tc, test_message_headers);
    tcase_add_test(tc, test_milter_accepts);
    tcase_add_test(tc, test_campaign_names);
    tcase_add_test(tc, test_examples);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(template_suite());
    int failed;

    srunner_add_suite(sr, template_errors_suite());
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
