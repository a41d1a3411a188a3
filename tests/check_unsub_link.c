/*
 * check_unsub_link.c - the {{unsubscribe_url}} placeholder of rendered
 * templates ("<tracking_url>/u/-", lib/unsub_link.h) in the milter's
 * rewriters: in an HTML href (however it is written) and in a text part
 * it becomes the message's own unsubscribe URL - the List-Unsubscribe
 * one, a /u/ token that verifies and names the message, contact,
 * campaign and send time - never a click link, and it takes no link
 * index; URLs that only look like it stay as they were; without a
 * contact it is left alone. The MIME encodings and the whole path from
 * the template renderer: check_unsub_mime.c.
 */
#include <check.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>
#include "check_unsub_link.h"
#include "rewrite.h"
#include "testutil.h"
#include "unsub_link.h"

#define BASE "https://t.example.net"
#define PLACEHOLDER BASE "/u/-"

/* ---- shared checks (check_unsub_link.h) ------------------------------- */

char *ul_expected_url(const struct pb_link_ctx *ctx)
{
    GString *u = g_string_new(NULL);

    ck_assert_int_eq(pb_link_unsubscribe_url(ctx, u), 0);
    return g_string_free(u, FALSE);
}

/* The next token after prefix in [*p, end): decoded as kind into got
 * (the test fails unless it verifies); 0 when there is none. what names
 * the kind in the failure message. */
static int next_token(const char **p, const char *end, const char *prefix,
                      enum pb_token_kind kind, const char *what, uint8_t *buf,
                      struct pb_token *got)
{
    size_t plen = strlen(prefix);
    const char *at = memmem(*p, (size_t)(end - *p), prefix, plen), *tok, *t;

    if (at == NULL)
        return 0;
    tok = t = at + plen;
    while (t < end && (g_ascii_isalnum(*t) || *t == '-' || *t == '_'))
        t++;
    ck_assert_msg(pb_token_decode(&tu_ring, tok, (size_t)(t - tok), kind, buf, got)
                  == PB_TOKEN_OK, "not %s token that verifies: %.*s", what, (int)(t - at), at);
    *p = t;
    return 1;
}

unsigned ul_count_unsub(const struct pb_link_ctx *ctx, const char *s, size_t len)
{
    uint8_t buf[PB_TOKEN_MAX];
    struct pb_token got;
    const char *end = s + len;
    unsigned n = 0;

    while (next_token(&s, end, BASE "/u/", PB_TOKEN_UNSUB, "an unsubscribe", buf, &got)) {
        ck_assert(got.has_contact && ctx->has_contact);
        ck_assert_mem_eq(got.msg_id, ctx->msg_id, PB_MSGID_LEN);
        ck_assert_mem_eq(got.contact, ctx->contact, PB_CONTACT_LEN);
        ck_assert_str_eq(got.campaign, ctx->campaign);
        ck_assert_uint_eq(got.sent_at, ctx->sent_at);
        n++;
    }
    return n;
}

void ul_assert_no_click_to_unsub(const char *s, size_t len)
{
    uint8_t buf[PB_TOKEN_MAX];
    struct pb_token got;
    const char *end = s + len;

    while (next_token(&s, end, BASE "/c/", PB_TOKEN_CLICK, "a click", buf, &got))
        ck_assert_msg(memmem(got.url, got.url_len, "/u/", 3) == NULL,
                      "click-tracked unsubscribe link: %.*s", (int)got.url_len, got.url);
}

/* ---- HTML --------------------------------------------------------------- */

static struct pb_link_ctx ctx;

static void ul_setup(void)
{
    tu_setup();
    tu_conf.milter.track_opens = 0;     /* no pixel: the output is the links alone */
    tu_link_ctx(&ctx, &tu_conf, &tu_ring);
}

/* in with every "@U@" replaced by the message's unsubscribe URL. */
static char *with_unsub(const char *in)
{
    char *url = ul_expected_url(&ctx);
    gchar **parts = g_strsplit(in, "@U@", -1);
    char *out = g_strjoinv(url, parts);

    g_strfreev(parts);
    g_free(url);
    return out;
}

static GString *html_rewrite(const char *html, int *changes)
{
    GString *out = g_string_new(NULL);

    *changes = pb_html_rewrite(&ctx, html, strlen(html), out);
    ck_assert_int_ge(*changes, 0);
    return out;
}

/* The placeholder however an author (or the renderer) writes the href:
 * each input's @U@ is where the unsubscribe URL must be, the rest as it was. */
static const struct { const char *in, *want; } html_cases[] = {
    { "<a href=\"" PLACEHOLDER "\">Unsubscribe</a>", "<a href=\"@U@\">Unsubscribe</a>" },
    { "<a href='" PLACEHOLDER "'>x</a>", "<a href=\"@U@\">x</a>" },
    { "<a href=" PLACEHOLDER ">x</a>", "<a href=\"@U@\">x</a>" },
    { "<a href=\" " PLACEHOLDER "\n\">x</a>", "<a href=\"@U@\">x</a>" },
    { "<a href=\"https:&#x2F;&#x2F;t.example.net&#47;u&#47;&#45;\">x</a>",
      "<a href=\"@U@\">x</a>" },
    { "<a data-pb-notrack href=\"" PLACEHOLDER "\">Opt out</a>",
      "<a data-pb-notrack href=\"@U@\">Opt out</a>" },
    { "<map><area href=\"" PLACEHOLDER "\" alt=\"Unsubscribe\"></map>",
      "<map><area href=\"@U@\" alt=\"Unsubscribe\"></map>" },
};

START_TEST(test_html_placeholder_spellings)
{
    int changes;
    GString *out = html_rewrite(html_cases[_i].in, &changes);
    char *want = with_unsub(html_cases[_i].want);

    ck_assert_str_eq(out->str, want);
    ck_assert_int_eq(changes, 1);
    ck_assert_uint_eq(ctx.links_tracked, 0);           /* not a click link */
    ck_assert_uint_eq(ul_count_unsub(&ctx, out->str, out->len), 1);
    g_free(want);
    g_string_free(out, TRUE);
}
END_TEST

/* Beside tracked links: they keep indexes 0, 1, 2 in document order, the
 * placeholder takes none and is the List-Unsubscribe URL. */
START_TEST(test_html_beside_click_links)
{
    static const char in[] =
        "<p><a href=\"https://x.org/a\">Shop</a> <a href=\"" PLACEHOLDER "\">Unsubscribe</a>"
        " <a href=\"https://x.org/b\">Blog</a></p>"
        "<!--[if mso]><v:roundrect href=\"" PLACEHOLDER "\">x</v:roundrect><![endif]-->"
        "<p><a href=\"https://x.org/c\">More</a></p>";
    int changes;
    GString *out = html_rewrite(in, &changes);
    const char *p = out->str;

    ck_assert_int_eq(changes, 5);
    ck_assert_uint_eq(ctx.links_tracked, 3);
    ck_assert_uint_eq(ul_count_unsub(&ctx, out->str, out->len), 2);   /* the VML twin too */
    ck_assert_ptr_null(strstr(out->str, "/u/-"));
    ul_assert_no_click_to_unsub(out->str, out->len);
    for (unsigned want = 0; want < 3; want++) {
        unsigned index;
        const char *c = strstr(p, BASE "/c/");
        ck_assert_ptr_nonnull(c);
        size_t n = strcspn(c, "\"");
        char *dest = tu_click_dest(&tu_conf, &tu_ring, c, n, &index);
        ck_assert_ptr_nonnull(dest);
        ck_assert_uint_eq(index, want);
        free(dest);
        p = c + n;
    }
    g_string_free(out, TRUE);
}
END_TEST

/* What only looks like the placeholder is an ordinary link: on the
 * tracking domain left alone, elsewhere tracked as a click. */
START_TEST(test_html_near_misses)
{
    static const char in[] =
        "<a href=\"" BASE "/u/-x\">a</a><a href=\"" BASE "/u/--\">b</a>"
        "<a href=\"" PLACEHOLDER "?lang=de\">c</a><a href=\"" BASE "/u/\">d</a>"
        "<a href=\"" BASE "/c/-\">e</a><a href=\"http://t.example.net:8080/u/-\">f</a>";
    int changes;
    GString *out = html_rewrite(in, &changes);

    ck_assert_int_eq(changes, 0);
    ck_assert_str_eq(out->str, in);
    g_string_truncate(out, 0);
    static const char other[] = "<a href=\"https://x.org/u/-\">x</a>";
    ck_assert_int_eq(pb_html_rewrite(&ctx, other, strlen(other), out), 1);
    ck_assert_uint_eq(ctx.links_tracked, 1);
    ck_assert_uint_eq(ul_count_unsub(&ctx, out->str, out->len), 0);
    g_string_free(out, TRUE);
}
END_TEST

/* Click tracking off (and no pixel or honeypot): the placeholder is still
 * replaced, every other link stays. */
START_TEST(test_html_clicks_off)
{
    static const char in[] = "<a href=\"https://x.org/a\">a</a> <a href=\"" PLACEHOLDER
                             "\">Unsubscribe</a>";
    int changes;
    GString *out;
    char *want = with_unsub("<a href=\"https://x.org/a\">a</a> <a href=\"@U@\">Unsubscribe</a>");

    tu_conf.milter.track_clicks = 0;
    out = html_rewrite(in, &changes);
    ck_assert_str_eq(out->str, want);
    ck_assert_int_eq(changes, 1);
    ck_assert_uint_eq(ctx.links_tracked, 0);
    g_string_truncate(out, 0);
    ck_assert_int_eq(pb_html_rewrite(&ctx, in, strlen("<a href=\"https://x.org/a\">a</a>"),
                                     out), 0);
    ck_assert_str_eq(out->str, "<a href=\"https://x.org/a\">a</a>");
    g_free(want);
    g_string_free(out, TRUE);
}
END_TEST

/* A message without a contact (several recipients) has no one to
 * unsubscribe: the placeholder stays and leads to the tracker's page. */
START_TEST(test_html_no_contact)
{
    static const char in[] = "<a href=\"" PLACEHOLDER "\">Unsubscribe</a> "
                             "<a href=\"https://x.org/a\">a</a>";
    int changes;
    GString *out;

    ctx.has_contact = 0;
    out = html_rewrite(in, &changes);
    ck_assert_int_eq(changes, 1);                       /* the click link only */
    ck_assert_ptr_nonnull(strstr(out->str, "<a href=\"" PLACEHOLDER "\">Unsubscribe</a>"));
    ck_assert_uint_eq(ctx.links_tracked, 1);
    ul_assert_no_click_to_unsub(out->str, out->len);
    g_string_free(out, TRUE);
}
END_TEST

/* ---- text/plain --------------------------------------------------------- */

START_TEST(test_text_placeholder)
{
    static const char in[] = "Shop: https://x.org/a.\nUnsubscribe: " PLACEHOLDER "\n"
                             "(or " PLACEHOLDER "). Again: <" PLACEHOLDER ">, "
                             BASE "/u/-x " PLACEHOLDER "?a=1\n";
    char *want = with_unsub("Shop: @C@.\nUnsubscribe: @U@\n(or @U@). Again: <@U@>, "
                            BASE "/u/-x " PLACEHOLDER "?a=1\n");
    GString *out = g_string_new(NULL);
    unsigned index;

    ck_assert_int_eq(pb_text_rewrite(&ctx, in, strlen(in), 4, out), 4);
    ck_assert_uint_eq(ctx.links_tracked, 1);
    const char *misses = strstr(out->str, BASE "/u/-x");
    ck_assert_ptr_nonnull(misses);
    ck_assert_uint_eq(ul_count_unsub(&ctx, out->str, (size_t)(misses - out->str)), 3);
    ul_assert_no_click_to_unsub(out->str, out->len);
    /* the click link is the first one, with the index given */
    size_t n = strcspn(out->str + 6, "\n") - 1;       /* "Shop: URL.\n" */
    char *dest = tu_click_dest(&tu_conf, &tu_ring, out->str + 6, n, &index);
    ck_assert_str_eq(dest, "https://x.org/a");
    ck_assert_uint_eq(index, 4);
    /* and everything else is as it was */
    ck_assert_str_eq(strchr(out->str, '\n'), strchr(want, '\n'));
    free(dest);
    g_free(want);
    g_string_free(out, TRUE);
}
END_TEST

START_TEST(test_text_clicks_off_and_no_contact)
{
    static const char in[] = "https://x.org/a " PLACEHOLDER "\n";
    GString *out = g_string_new(NULL);
    char *want = with_unsub("https://x.org/a @U@\n");

    tu_conf.milter.track_clicks = 0;
    ck_assert_int_eq(pb_text_rewrite(&ctx, in, strlen(in), 0, out), 1);
    ck_assert_str_eq(out->str, want);
    ck_assert_uint_eq(ctx.links_tracked, 0);
    ctx.has_contact = 0;
    g_string_truncate(out, 0);
    ck_assert_int_eq(pb_text_rewrite(&ctx, in, strlen(in), 0, out), 0);
    ck_assert_str_eq(out->str, in);
    g_free(want);
    g_string_free(out, TRUE);
}
END_TEST

/* ---- the spelling shared by renderer, milter and tracker ---------------- */

START_TEST(test_placeholder_spelling)
{
    GString *u = g_string_new(NULL);

    pb_unsub_placeholder("https://t.example.com/", u);
    ck_assert_str_eq(u->str, "https://t.example.com/u/-");
    ck_assert(pb_unsub_is_placeholder("https://t.example.com", u->str, u->len));
    ck_assert(pb_unsub_is_placeholder("https://t.example.com//", u->str, u->len));
    ck_assert(!pb_unsub_is_placeholder("https://t.example.co", u->str, u->len));
    ck_assert(!pb_unsub_is_placeholder(NULL, u->str, u->len));
    ck_assert(!pb_unsub_is_placeholder("https://t.example.com", u->str, u->len - 1));
    ck_assert(pb_unsub_placeholder_token("-", 1));
    ck_assert(!pb_unsub_placeholder_token("--", 2));
    ck_assert(!pb_unsub_placeholder_token("", 0));
    /* never a token: the decoder refuses a single character */
    {
        uint8_t buf[PB_TOKEN_MAX];
        struct pb_token tok;
        ck_assert_int_eq(pb_token_decode(&tu_ring, "-", 1, PB_TOKEN_UNSUB, buf, &tok),
                         PB_TOKEN_MALFORMED);
    }
    g_string_free(u, TRUE);
}
END_TEST

static Suite *unsub_link_suite(void)
{
    Suite *s = suite_create("unsub_link");
    TCase *tc = tcase_create("html");

    tcase_add_checked_fixture(tc, ul_setup, tu_teardown);
    tcase_add_loop_test(tc, test_html_placeholder_spellings, 0, G_N_ELEMENTS(html_cases));
    tcase_add_test(tc, test_html_beside_click_links);
    tcase_add_test(tc, test_html_near_misses);
    tcase_add_test(tc, test_html_clicks_off);
    tcase_add_test(tc, test_html_no_contact);
    suite_add_tcase(s, tc);
    tc = tcase_create("text");
    tcase_add_checked_fixture(tc, ul_setup, tu_teardown);
    tcase_add_test(tc, test_text_placeholder);
    tcase_add_test(tc, test_text_clicks_off_and_no_contact);
    tcase_add_test(tc, test_placeholder_spelling);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(unsub_link_suite());
    int failed;

    srunner_add_suite(sr, unsub_mime_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
