/*
 * check_text.c - pb_text_rewrite() (milter/text_rewrite.c).
 *
 * Each case gives a text/plain input and the URLs that must be tracked in
 * it, in order. The output is checked the way a reader would: every
 * tracked URL in it is a click token that verifies and leads to exactly
 * the expected URL (hosts outside the UTM list, so no parameters are
 * added), and putting the original URLs back gives the input byte for
 * byte: punctuation, brackets, line ends and format=flowed soft breaks
 * (a space before the line end) are untouched.
 */
#include <check.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>
#include "rewrite.h"
#include "testutil.h"

struct text_case {
    const char *name;
    const char *in;
    const char *urls[8];        /* tracked, in order; NULL-terminated */
};

static const struct text_case cases[] = {
    { "sentence end", "See https://x.org/a.\n", { "https://x.org/a" } },
    { "punctuation", "Go: https://x.org/a, https://x.org/b; https://x.org/c! https://x.org/d?"
      " 'https://x.org/e' https://x.org/f:\n",
      { "https://x.org/a", "https://x.org/b", "https://x.org/c", "https://x.org/d",
        "https://x.org/e", "https://x.org/f" } },
    { "balanced brackets", "(see https://x.org/wiki/A_(b)).\n", { "https://x.org/wiki/A_(b)" } },
    { "unbalanced brackets", "(https://x.org/a) [https://x.org/b] {https://x.org/c}\n",
      { "https://x.org/a", "https://x.org/b", "https://x.org/c" } },
    { "angle brackets", "Link: <https://x.org/path?q=1&r=2>\r\n", { "https://x.org/path?q=1&r=2" } },
    { "quotes", "He said \"https://x.org/q\" and left.", { "https://x.org/q" } },
    { "several per line", "a http://x.org/1 b HTTPS://X.ORG/2 c Http://x.org/3\n",
      { "http://x.org/1", "HTTPS://X.ORG/2", "Http://x.org/3" } },
    { "format=flowed", "Visit our shop at https://x.org/shop \r\nand blog at \r\n"
      "https://x.org/blog \r\nsoon.\r\n", { "https://x.org/shop", "https://x.org/blog" } },
    { "LF only", "one https://x.org/1\ntwo https://x.org/2\n",
      { "https://x.org/1", "https://x.org/2" } },
    { "query, fragment, escapes", "https://x.org/a%20b?x=1&y=%C3%A9#top-1",
      { "https://x.org/a%20b?x=1&y=%C3%A9#top-1" } },
    { "scheme alone", "http:// and https:// and http:///x are not links\n", { NULL } },
    { "not at a word boundary", "xhttp://x.org/a git+https://x.org/b\n", { NULL } },
    { "other schemes", "mailto:a@x.org ftp://x.org/f tel:+123 news:x\n", { NULL } },
    { "non-ASCII continues the URL", "https://b\xc3\xbc" "cher.x.org/ and https://x.org/caf\xc3\xa9\n",
      { NULL } },
    { "tracking domain and unsubscribe", "https://t.example.net/o/abc.gif https://x.org/unsubscribe?u=1\n",
      { NULL } },
    { "URL at the very end", "end https://x.org/z", { "https://x.org/z" } },
};

static size_t token_end(const char *s, size_t from)
{
    while (s[from] && (g_ascii_isalnum(s[from]) || s[from] == '-' || s[from] == '_'))
        from++;
    return from;
}

START_TEST(text_cases)
{
    const struct text_case *tc = &cases[_i];
    struct pb_link_ctx ctx;
    struct tu_undo undo;
    GString *out = g_string_new(NULL);
    const char *prefix = "https://t.example.net/c/";
    size_t in_len = strlen(tc->in), want = 0;
    while (tc->urls[want])
        want++;
    tu_link_ctx(&ctx, &tu_conf, &tu_ring);
    int changes = pb_text_rewrite(&ctx, tc->in, in_len, 3, out);
    ck_assert_msg(changes == (int)want, "%s: %d changes, want %zu", tc->name, changes, want);
    tu_undo_start(&undo, &tu_conf, &tu_ring, out->str);
    for (size_t n = 0;; n++) {
        const char *hit = strstr(out->str + undo.pos, prefix);
        if (hit == NULL) {
            ck_assert_uint_eq(n, want);
            break;
        }
        size_t at = (size_t)(hit - out->str), end = token_end(out->str, at + strlen(prefix));
        unsigned index;
        ck_assert_uint_lt(n, want);
        char *dest = tu_undo_link(&undo, at, end, NULL, tc->urls[n], tc->urls[n],
                                  strlen(tc->urls[n]), &index);
        ck_assert_msg(dest != NULL, "%s: URL %zu: %s", tc->name, n, undo.why);
        ck_assert_str_eq(dest, tc->urls[n]);
        ck_assert_uint_eq(index, 3 + n);
        free(dest);
    }
    GString *undone = tu_undo_finish(&undo, out->len);
    ck_assert_str_eq(undone->str, tc->in);
    if (want == 0)
        ck_assert_str_eq(out->str, tc->in);
    g_string_free(out, TRUE);
    g_string_free(undone, TRUE);
}
END_TEST

START_TEST(utm_added_for_listed_domains)
{
    const char *in = "Sale: https://shop.example.org/sale?ref=txt#now.";
    struct pb_link_ctx ctx;
    GString *out = g_string_new(NULL);
    tu_link_ctx(&ctx, &tu_conf, &tu_ring);
    ck_assert_int_eq(pb_text_rewrite(&ctx, in, strlen(in), 0, out), 1);
    ck_assert(g_str_has_prefix(out->str, "Sale: https://t.example.net/c/"));
    ck_assert(g_str_has_suffix(out->str, "."));
    unsigned index;
    char *dest = tu_click_dest(&tu_conf, &tu_ring, out->str + 6, out->len - 7, &index);
    ck_assert_ptr_nonnull(dest);
    ck_assert_str_eq(dest, "https://shop.example.org/sale?ref=txt&utm_source=newsletter"
                     "&utm_medium=email&utm_campaign=spring-sale&utm_content=link-1#now");
    free(dest);
    g_string_free(out, TRUE);
}
END_TEST

START_TEST(clicks_off_leaves_text_alone)
{
    const char *in = "https://x.org/a\n";
    struct pb_link_ctx ctx;
    GString *out = g_string_new(NULL);
    tu_conf.milter.track_clicks = 0;
    tu_link_ctx(&ctx, &tu_conf, &tu_ring);
    ck_assert_int_eq(pb_text_rewrite(&ctx, in, strlen(in), 0, out), 0);
    ck_assert_str_eq(out->str, in);
    g_string_free(out, TRUE);
}
END_TEST

START_TEST(corpus_text_parts)
{
    static const char *const names[] = {
        "html/postmark-templates/example/content.txt",
        "html/postmark-templates/receipt/content.txt",
        "html/postmark-templates/welcome/content.txt",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        size_t len;
        char *in = tu_read_file(tu_corpus_path(names[i]), &len);
        ck_assert_msg(in != NULL, "cannot read %s", names[i]);
        struct pb_link_ctx ctx;
        GString *out = g_string_new(NULL);
        tu_link_ctx(&ctx, &tu_conf, &tu_ring);
        int changes = pb_text_rewrite(&ctx, in, len, 0, out);
        ck_assert_int_ge(changes, 0);
        /* same line structure: only URL text changed */
        size_t lines_in = 0, lines_out = 0;
        for (size_t j = 0; j < len; j++)
            lines_in += in[j] == '\n';
        for (size_t j = 0; j < out->len; j++)
            lines_out += out->str[j] == '\n';
        ck_assert_uint_eq(lines_in, lines_out);
        ck_assert_uint_eq(ctx.links_tracked, (unsigned)changes);
        g_string_free(out, TRUE);
        free(in);
    }
}
END_TEST

static Suite *text_suite(void)
{
    Suite *s = suite_create("text_rewrite");
    TCase *tc = tcase_create("text");
    tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
    tcase_add_loop_test(tc, text_cases, 0, G_N_ELEMENTS(cases));
    tcase_add_test(tc, utm_added_for_listed_domains);
    tcase_add_test(tc, clicks_off_leaves_text_alone);
    tcase_add_test(tc, corpus_text_parts);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(text_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
