/*
 * check_unsub_page.c - unit tests for tracker/unsub_page.c, read back with
 * gumbo (an HTML5 parser, not the code under test): for every language and
 * page (the placeholder's "not completed" one too), <html lang>, one
 * <main> holding one <h1>, the ask page's <form method="post"> posting
 * List-Unsubscribe=One-Click with a real <button>; campaign names
 * escaped (no markup gets through, the text reads back unchanged); valid
 * UTF-8; and a Content-Security-Policy whose style hash is the hash of
 * the page's <style> block.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <gumbo.h>
#include <openssl/evp.h>
#include "testutil.h"
#include "unsub_page.h"

static const char *const langs[] = { "en", "de", "fr" };
static const char *const ask_button[] = { "Unsubscribe", "Abmelden", "Me d\xc3\xa9sabonner" };

/* Every element with this tag, depth first. */
static void find_all(GumboNode *node, GumboTag tag, GPtrArray *out)
{
    if (node->type != GUMBO_NODE_ELEMENT)
        return;
    if (node->v.element.tag == tag)
        g_ptr_array_add(out, node);
    for (unsigned i = 0; i < node->v.element.children.length; i++)
        find_all(node->v.element.children.data[i], tag, out);
}

static GumboNode *only(GumboNode *root, GumboTag tag)
{
    GPtrArray *all = g_ptr_array_new();
    GumboNode *node;

    find_all(root, tag, all);
    ck_assert_msg(all->len == 1, "%u <%s> elements", all->len, gumbo_normalized_tagname(tag));
    node = g_ptr_array_index(all, 0);
    g_ptr_array_free(all, TRUE);
    return node;
}

static int count(GumboNode *root, GumboTag tag)
{
    GPtrArray *all = g_ptr_array_new();
    int n;

    find_all(root, tag, all);
    n = (int)all->len;
    g_ptr_array_free(all, TRUE);
    return n;
}

static const char *attr(GumboNode *node, const char *name)
{
    GumboAttribute *a = gumbo_get_attribute(&node->v.element.attributes, name);

    return a ? a->value : NULL;
}

/* All text below node. */
static void text_of(GumboNode *node, GString *out)
{
    if (node->type == GUMBO_NODE_TEXT || node->type == GUMBO_NODE_WHITESPACE) {
        g_string_append(out, node->v.text.text);
        return;
    }
    if (node->type != GUMBO_NODE_ELEMENT)
        return;
    for (unsigned i = 0; i < node->v.element.children.length; i++)
        text_of(node->v.element.children.data[i], out);
}

static char *text(GumboNode *node)
{
    GString *s = g_string_new(NULL);

    text_of(node, s);
    return g_string_free(s, FALSE);
}

static GumboOutput *render(const char *lang, enum pb_unsub_page which, const char *campaign,
                           GString *html)
{
    g_string_truncate(html, 0);
    pb_unsub_page(html, lang, which, campaign);
    ck_assert(g_utf8_validate(html->str, (gssize)html->len, NULL));
    ck_assert(g_str_has_prefix(html->str, "<!DOCTYPE html>\n"));
    return gumbo_parse(html->str);
}

static void check_common(GumboOutput *doc, const char *lang)
{
    GumboNode *main_el = only(doc->root, GUMBO_TAG_MAIN), *h1;
    char *title, *heading;

    ck_assert_str_eq(attr(doc->root, "lang"), lang);
    h1 = only(main_el, GUMBO_TAG_H1);
    ck_assert_int_eq(count(doc->root, GUMBO_TAG_H1), 1);
    ck_assert_int_eq(count(doc->root, GUMBO_TAG_SCRIPT), 0);
    ck_assert_int_eq(count(doc->root, GUMBO_TAG_IMG), 0);
    title = text(only(doc->root, GUMBO_TAG_TITLE));
    heading = text(h1);
    ck_assert(strlen(heading) > 3);
    ck_assert_str_eq(title, heading);
    g_free(title);
    g_free(heading);
}

START_TEST(test_ask_page)
{
    GString *html = g_string_new(NULL);
    GumboOutput *doc = render(langs[_i], PB_UNSUB_ASK, "spring-sale", html);
    GumboNode *form, *input, *button;
    char *label;

    check_common(doc, langs[_i]);
    form = only(doc->root, GUMBO_TAG_FORM);
    ck_assert_str_eq(attr(form, "method"), "post");
    ck_assert_ptr_null(attr(form, "action"));   /* posts back to the same URL */
    input = only(form, GUMBO_TAG_INPUT);
    ck_assert_str_eq(attr(input, "type"), "hidden");
    ck_assert_str_eq(attr(input, "name"), "List-Unsubscribe");
    ck_assert_str_eq(attr(input, "value"), "One-Click");
    button = only(form, GUMBO_TAG_BUTTON);
    ck_assert_str_eq(attr(button, "type"), "submit");
    label = text(button);
    ck_assert_str_eq(label, ask_button[_i]);
    g_free(label);
    ck_assert_ptr_nonnull(strstr(html->str, "<strong>spring-sale</strong>"));
    gumbo_destroy_output(&kGumboDefaultOptions, doc);
    g_string_free(html, TRUE);
}
END_TEST

START_TEST(test_done_and_invalid_pages)
{
    GString *html = g_string_new(NULL);
    enum pb_unsub_page pages[] = { PB_UNSUB_DONE, PB_UNSUB_INVALID, PB_UNSUB_PLACEHOLDER };
    char *headings[3];

    for (int p = 0; p < 3; p++) {
        GumboOutput *doc = render(langs[_i], pages[p], "ignored", html);
        check_common(doc, langs[_i]);
        ck_assert_int_eq(count(doc->root, GUMBO_TAG_FORM), 0);
        ck_assert_int_eq(count(doc->root, GUMBO_TAG_BUTTON), 0);
        ck_assert_ptr_null(strstr(html->str, "ignored"));
        headings[p] = text(only(doc->root, GUMBO_TAG_H1));
        gumbo_destroy_output(&kGumboDefaultOptions, doc);
    }
    ck_assert_str_ne(headings[0], headings[1]);
    ck_assert_str_ne(headings[0], headings[2]);
    ck_assert_str_ne(headings[1], headings[2]);
    for (int p = 0; p < 3; p++)
        g_free(headings[p]);
    g_string_free(html, TRUE);
}
END_TEST

/* The placeholder's page says what happened and what to do instead. */
START_TEST(test_placeholder_page)
{
    GString *html = g_string_new(NULL);
    GumboOutput *doc = render("en", PB_UNSUB_PLACEHOLDER, NULL, html);
    char *h = text(only(doc->root, GUMBO_TAG_H1)), *all = text(doc->root);

    ck_assert_str_eq(h, "This link was not completed");
    ck_assert_ptr_nonnull(strstr(all, "nothing was changed"));
    ck_assert_ptr_nonnull(strstr(all, "reply to the e-mail and ask to be unsubscribed"));
    g_free(h);
    g_free(all);
    gumbo_destroy_output(&kGumboDefaultOptions, doc);
    g_string_free(html, TRUE);
}
END_TEST

START_TEST(test_languages_differ)
{
    GString *html = g_string_new(NULL);
    char *h[3];

    for (int l = 0; l < 3; l++) {
        GumboOutput *doc = render(langs[l], PB_UNSUB_DONE, NULL, html);
        h[l] = text(only(doc->root, GUMBO_TAG_H1));
        gumbo_destroy_output(&kGumboDefaultOptions, doc);
    }
    ck_assert_str_eq(h[0], "You are unsubscribed");
    ck_assert_str_eq(h[1], "Sie sind abgemeldet");
    ck_assert_str_eq(h[2], "Vous \xc3\xaates d\xc3\xa9sabonn\xc3\xa9");
    /* an unknown language falls back to English */
    g_string_truncate(html, 0);
    pb_unsub_page(html, "xx", PB_UNSUB_DONE, NULL);
    ck_assert_ptr_nonnull(strstr(html->str, "<html lang=\"en\">"));
    g_string_truncate(html, 0);
    pb_unsub_page(html, NULL, PB_UNSUB_DONE, NULL);
    ck_assert_ptr_nonnull(strstr(html->str, "<h1>You are unsubscribed</h1>"));
    for (int l = 0; l < 3; l++)
        g_free(h[l]);
    g_string_free(html, TRUE);
}
END_TEST

START_TEST(test_campaign_escaped)
{
    static const char *hostile[] = {
        "<script>alert(1)</script>",
        "\"><img src=x onerror=alert(1)>",
        "' onmouseover='x",
        "a&amp;b &lt;c&gt;",
        "</strong></p></main><form action=//evil>",
    };
    GString *html = g_string_new(NULL);

    for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
        GumboOutput *doc = render("en", PB_UNSUB_ASK, hostile[i], html);
        GumboNode *strong = only(doc->root, GUMBO_TAG_STRONG);
        char *shown = text(strong);
        ck_assert_str_eq(shown, hostile[i]);        /* reads back as plain text */
        ck_assert_int_eq(count(doc->root, GUMBO_TAG_SCRIPT), 0);
        ck_assert_int_eq(count(doc->root, GUMBO_TAG_IMG), 0);
        ck_assert_int_eq(count(doc->root, GUMBO_TAG_FORM), 1);
        ck_assert_int_eq(count(strong, GUMBO_TAG_FORM), 0);
        ck_assert_ptr_null(strstr(html->str, hostile[i]));
        g_free(shown);
        gumbo_destroy_output(&kGumboDefaultOptions, doc);
    }
    g_string_truncate(html, 0);
    pb_html_escape(html, "<a href=\"x\">'&'</a>");
    ck_assert_str_eq(html->str, "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    /* no campaign: no campaign line */
    g_string_truncate(html, 0);
    pb_unsub_page(html, "en", PB_UNSUB_ASK, "");
    ck_assert_ptr_null(strstr(html->str, "<strong>"));
    g_string_free(html, TRUE);
}
END_TEST

START_TEST(test_csp_matches_style)
{
    GString *html = g_string_new(NULL);
    GumboOutput *doc = render("de", PB_UNSUB_ASK, "x", html);
    char *style = text(only(doc->root, GUMBO_TAG_STYLE));
    unsigned char digest[EVP_MAX_MD_SIZE], b64[64];
    unsigned int len = 0;
    char expect[128];
    const char *csp = pb_unsub_page_csp();

    EVP_Digest(style, strlen(style), digest, &len, EVP_sha256(), NULL);
    EVP_EncodeBlock(b64, digest, (int)len);
    snprintf(expect, sizeof(expect), "style-src 'sha256-%s';", b64);
    ck_assert_ptr_nonnull(strstr(csp, expect));
    ck_assert(g_str_has_prefix(csp, "default-src 'none'; "));
    ck_assert_ptr_nonnull(strstr(csp, "form-action 'self'"));
    ck_assert_ptr_nonnull(strstr(csp, "frame-ancestors 'none'"));
    ck_assert_ptr_null(strstr(csp, "unsafe"));
    ck_assert_ptr_eq(pb_unsub_page_csp(), csp);
    g_free(style);
    gumbo_destroy_output(&kGumboDefaultOptions, doc);
    g_string_free(html, TRUE);
}
END_TEST

static Suite *unsub_page_suite(void)
{
    Suite *s = suite_create("unsub_page");
    TCase *tc = tcase_create("core");

    tcase_add_loop_test(tc, test_ask_page, 0, 3);
    tcase_add_loop_test(tc, test_done_and_invalid_pages, 0, 3);
    tcase_add_test(tc, test_placeholder_page);
    tcase_add_test(tc, test_languages_differ);
    tcase_add_test(tc, test_campaign_escaped);
    tcase_add_test(tc, test_csp_matches_style);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(unsub_page_suite());
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
