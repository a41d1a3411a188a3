/*
 * check_honeypot.c - the hidden honeypot link (milter.honeypot_link): off
 * by default; when on, the HTML rewrite puts exactly one link that no
 * person sees or reaches right next to the open pixel (or where the pixel
 * would go), whose click token verifies and carries link index 0xFFFF;
 * real links keep their indexes and the text rewrite adds nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <check.h>
#include <glib.h>
#include "conf.h"
#include "rewrite.h"
#include "testutil.h"

static const char page[] =
    "<!DOCTYPE html><html><body class=\"x\">\n"
    "<p><a href=\"https://shop.example.com/a\">A</a> and "
    "<a href=\"https://shop.example.com/b\">B</a></p>\n"
    "</body></html>\n";

#define HONEYPOT_OPEN "<a href=\""
#define HONEYPOT_ATTRS "\" style=\"display:none !important\" aria-hidden=\"true\" tabindex=\"-1\"></a>"

/* Rewrite page with the current tu_conf; the output (free it). */
static char *rewrite(const char *html, unsigned *links)
{
    struct pb_link_ctx ctx;
    GString *out = g_string_new(NULL);

    tu_link_ctx(&ctx, &tu_conf, &tu_ring);
    ck_assert_int_gt(pb_html_rewrite(&ctx, html, strlen(html), out), 0);
    *links = ctx.links_tracked;
    return g_string_free(out, FALSE);
}

/* Count the honeypot links in html; the offset of the first in *at. */
static unsigned honeypots(const char *html, size_t *at)
{
    unsigned n = 0;

    for (const char *p = html; (p = strstr(p, HONEYPOT_ATTRS)) != NULL; p++) {
        const char *open = g_strrstr_len(html, p - html, HONEYPOT_OPEN);
        unsigned index = 0;
        char *dest;

        ck_assert_ptr_nonnull(open);
        dest = tu_click_dest(&tu_conf, &tu_ring, open + strlen(HONEYPOT_OPEN),
                             (size_t)(p - open) - strlen(HONEYPOT_OPEN), &index);
        ck_assert_msg(dest != NULL, "the honeypot's token does not verify");
        ck_assert_uint_eq(index, 0xFFFF);
        ck_assert_str_eq(dest, "https://t.example.net/");
        free(dest);
        if (n++ == 0)
            *at = (size_t)(open - html);
    }
    return n;
}

/* The link indexes of every click URL in html, in order ("0 1 65535"). */
static const char *click_indexes(const char *html)
{
    static char list[256];
    const char *p = html;
    size_t n = 0;

    list[0] = '\0';
    while ((p = strstr(p, "href=\"https://t.example.net/c/")) != NULL) {
        const char *url = p + 6, *end = strchr(url, '"');
        unsigned index = 0;
        char *dest = tu_click_dest(&tu_conf, &tu_ring, url, (size_t)(end - url), &index);

        ck_assert_ptr_nonnull(dest);
        free(dest);
        n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%u", n ? " " : "", index);
        p = end;
    }
    return list;
}

START_TEST(test_off_by_default)
{
    unsigned links;
    size_t at = 0;
    char *out;

    ck_assert_int_eq(tu_conf.milter.honeypot_link, 0);
    out = rewrite(page, &links);
    ck_assert_uint_eq(honeypots(out, &at), 0);
    ck_assert_ptr_null(strstr(out, "display:none"));
    ck_assert_uint_eq(links, 2);
    free(out);
}
END_TEST

START_TEST(test_next_to_the_pixel)
{
    unsigned links;
    size_t at = 0;
    char *out, *pixel_end;

    tu_conf.milter.honeypot_link = 1;
    out = rewrite(page, &links);
    ck_assert_uint_eq(honeypots(out, &at), 1);
    ck_assert_uint_eq(links, 2);                 /* not counted as a link */
    /* right after <body ...>, straight after the pixel */
    pixel_end = strstr(out, "/>");
    ck_assert_ptr_nonnull(pixel_end);
    ck_assert_uint_eq(at, (size_t)(pixel_end + 2 - out));
    ck_assert_int_eq(strncmp(out + strlen("<!DOCTYPE html><html><body class=\"x\">"), "<img ", 5), 0);
    /* the real links keep indexes 0 and 1 */
    ck_assert_str_eq(click_indexes(out), "65535 0 1");
    free(out);
}
END_TEST

START_TEST(test_without_pixel)
{
    unsigned links;
    size_t at = 0;
    char *out;
    const char *body = "<!DOCTYPE html><html><body class=\"x\">";

    tu_conf.milter.honeypot_link = 1;
    tu_conf.milter.track_opens = 0;
    out = rewrite(page, &links);
    ck_assert_ptr_null(strstr(out, "<img "));
    ck_assert_uint_eq(honeypots(out, &at), 1);
    ck_assert_uint_eq(at, strlen(body));          /* where the pixel would go */
    free(out);

    tu_conf.milter.track_opens = 1;
    tu_conf.milter.pixel_position = PB_PIXEL_BEFORE_BODY_END;
    out = rewrite(page, &links);
    ck_assert_uint_eq(honeypots(out, &at), 1);
    ck_assert_int_eq(strncmp(strstr(out + at, "></a>") + 5, "</body>", 7), 0);
    ck_assert_ptr_nonnull(g_strstr_len(out, (gssize)at, "<img "));    /* pixel first */
    free(out);
}
END_TEST

START_TEST(test_no_links_still_one_honeypot)
{
    unsigned links;
    size_t at = 0;
    char *out;

    tu_conf.milter.honeypot_link = 1;
    out = rewrite("<html><body><p>No links here.</p></body></html>", &links);
    ck_assert_uint_eq(honeypots(out, &at), 1);
    ck_assert_uint_eq(links, 0);
    free(out);
}
END_TEST

START_TEST(test_text_parts_get_none)
{
    struct pb_link_ctx ctx;
    GString *out = g_string_new(NULL);
    const char *text = "Shop: https://shop.example.com/a\n";

    tu_conf.milter.honeypot_link = 1;
    tu_link_ctx(&ctx, &tu_conf, &tu_ring);
    ck_assert_int_eq(pb_text_rewrite(&ctx, text, strlen(text), 0, out), 1);
    ck_assert_ptr_null(strstr(out->str, "display:none"));
    ck_assert_uint_eq(ctx.links_tracked, 1);
    g_string_free(out, TRUE);
}
END_TEST

START_TEST(test_config_option)
{
    char path[512], err[512] = "";
    struct pb_conf conf;
    const char *text = "keys = { file = \"/nonexistent\"; };\n"
                       "tracking = { base_url = \"https://t.example.net\"; };\n"
                       "milter = { honeypot_link = true; };\n";

    snprintf(path, sizeof(path), "%s/pb.conf", tu_tmpdir());
    ck_assert_int_eq(tu_write_file(path, text, strlen(text)), 0);
    ck_assert_msg(pb_conf_load(path, &conf, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(conf.milter.honeypot_link, 1);
    pb_conf_free(&conf);
    pb_conf_defaults(&conf);
    ck_assert_int_eq(conf.milter.honeypot_link, 0);
    pb_conf_free(&conf);
    unlink(path);
    *strrchr(path, '/') = '\0';
    rmdir(path);
}
END_TEST

static Suite *honeypot_suite(void)
{
    Suite *s = suite_create("honeypot");
    TCase *tc = tcase_create("honeypot");

    tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
    tcase_add_test(tc, test_off_by_default);
    tcase_add_test(tc, test_next_to_the_pixel);
    tcase_add_test(tc, test_without_pixel);
    tcase_add_test(tc, test_no_links_still_one_honeypot);
    tcase_add_test(tc, test_text_parts_get_none);
    tcase_add_test(tc, test_config_option);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(honeypot_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
