/*
 * check_link.c - unit tests for link tracking (milter/link.c), part of the
 * check_url program: which links are tracked, and tracked URLs whose
 * tokens decode back to the destination plus exactly the expected UTM
 * parameters, index, campaign and contact. Open and unsubscribe URLs too.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include "b64url.h"      /* PB_TOKEN_MAX needs PB_B64URL_LEN */
#include "check_url.h"
#include "link.h"
#include "testutil.h"
#include "token.h"

#define TRACKING "https://t.example.net"

static struct pb_conf conf;
static struct pb_keyring ring;
static struct pb_link_ctx ctx;
static uint8_t decode_buf[PB_TOKEN_MAX];

static void link_setup(void)
{
    tu_test_conf(&conf);
    tu_test_keyring(&ring);
    memset(&ctx, 0, sizeof(ctx));
    ctx.conf = &conf;
    ctx.keys = &ring;
    memcpy(ctx.msg_id, "\x01\x02\x03\x04\x05\x06\x07\x08", PB_MSGID_LEN);
    ctx.has_contact = 1;
    memcpy(ctx.contact, "\xc0\xc1\xc2\xc3\xc4\xc5\xc6\xc7", PB_CONTACT_LEN);
    snprintf(ctx.campaign, sizeof(ctx.campaign), "spring");
    ctx.sent_at = 1700000000u;
}

static void link_teardown(void)
{
    pb_keys_free(&ring);
    pb_conf_free(&conf);
}

/* The token of a tracking URL "<TRACKING>/<kind>/<token><suffix>",
 * decoded and verified as `kind`; fails the test otherwise. */
static struct pb_token decode_tracked(const char *tracked, char kind, const char *suffix)
{
    char prefix[64];
    size_t plen, slen = strlen(suffix), len = strlen(tracked);
    struct pb_token tok;
    enum pb_token_status st;

    snprintf(prefix, sizeof(prefix), TRACKING "/%c/", kind);
    plen = strlen(prefix);
    ck_assert_msg(strncmp(tracked, prefix, plen) == 0, "%s does not start with %s", tracked,
                  prefix);
    ck_assert_uint_gt(len, plen + slen);
    ck_assert_str_eq(tracked + len - slen, suffix);
    st = pb_token_decode(&ring, tracked + plen, len - plen - slen, kind, decode_buf, &tok);
    ck_assert_msg(st == PB_TOKEN_OK, "%s: %s", tracked, pb_token_status_str(st));
    ck_assert_int_eq(tok.kind, kind);
    ck_assert_uint_eq(tok.sent_at, 1700000000u);
    ck_assert_mem_eq(tok.msg_id, ctx.msg_id, PB_MSGID_LEN);
    ck_assert_int_eq(tok.has_contact, ctx.has_contact);
    if (ctx.has_contact)
        ck_assert_mem_eq(tok.contact, ctx.contact, PB_CONTACT_LEN);
    ck_assert_str_eq(tok.campaign, ctx.campaign);
    return tok;
}

/* Track url as link `index`; assert it is tracked and that its token
 * carries `destination`. */
static void assert_tracked(const char *url, const char *anchor, unsigned index,
                           const char *destination)
{
    GString *out = g_string_new(NULL);
    unsigned before = ctx.links_tracked;
    enum pb_link_verdict v = pb_link_track(&ctx, url, strlen(url), anchor,
                                           anchor ? strlen(anchor) : 0, index, out);
    struct pb_token tok;

    ck_assert_msg(v == PB_LINK_TRACKED, "%s: verdict %d", url, v);
    ck_assert_uint_eq(ctx.links_tracked, before + 1);
    tok = decode_tracked(out->str, 'c', "");
    ck_assert_uint_eq(tok.link_index, index);
    ck_assert_uint_eq(tok.url_len, strlen(destination));
    ck_assert_str_eq(tok.url, destination);
    g_string_free(out, TRUE);
}

static void assert_verdict(const char *url, size_t len, enum pb_link_verdict expect)
{
    GString *out = g_string_new(NULL);
    unsigned before = ctx.links_tracked;
    enum pb_link_verdict v = pb_link_track(&ctx, url, len, "anchor", 6, 0, out);

    ck_assert_msg(v == expect, "%.60s: verdict %d, wanted %d", url, v, expect);
    ck_assert_uint_eq(out->len, 0);
    ck_assert_uint_eq(ctx.links_tracked, before);
    g_string_free(out, TRUE);
}

START_TEST(test_link_verdicts)
{
    static const struct { const char *url; enum pb_link_verdict v; } cases[] = {
        { "mailto:sales@example.com", PB_LINK_NOT_HTTP },
        { "tel:+4930123456", PB_LINK_NOT_HTTP },
        { "#top", PB_LINK_NOT_HTTP },
        { "javascript:alert(1)", PB_LINK_NOT_HTTP },
        { "data:text/html,<b>x</b>", PB_LINK_NOT_HTTP },
        { "/relative/page", PB_LINK_NOT_HTTP },
        { "page.html", PB_LINK_NOT_HTTP },
        { "//example.com/x", PB_LINK_NOT_HTTP },
        { "ftp://example.com/f", PB_LINK_NOT_HTTP },
        { "", PB_LINK_NOT_HTTP },
        { " \t\r\n", PB_LINK_NOT_HTTP },
        { "https:\\\\evil.com", PB_LINK_NOT_HTTP },
        { "https://t.example.net/c/abc", PB_LINK_TRACKING_DOMAIN },
        { "HTTP://T.Example.NET/x", PB_LINK_TRACKING_DOMAIN },
        { "https://user@t.example.net:443/", PB_LINK_TRACKING_DOMAIN },
        { "https://example.com/Unsubscribe?id=1", PB_LINK_UNSUBSCRIBE },
        { "https://other.net/list/opt-out", PB_LINK_UNSUBSCRIBE },
        { "https://other.net/x?action=OPTOUT", PB_LINK_UNSUBSCRIBE },
        { "https://evil.com\\@good.com/", PB_LINK_UNPARSEABLE },
        { "https://exa mple.com/", PB_LINK_UNPARSEABLE },
        { "http:///path", PB_LINK_UNPARSEABLE },
        { "https://example.com/a\nb", PB_LINK_UNPARSEABLE },
        { "https://good.com%2F.example.com/", PB_LINK_UNPARSEABLE },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
        assert_verdict(cases[i].url, strlen(cases[i].url), cases[i].v);
    /* Only len bytes are looked at. */
    assert_verdict("https://example.com/", 5, PB_LINK_NOT_HTTP);

    /* Sub-domains of the tracking host are ordinary links. */
    assert_tracked("https://www.t.example.net/", NULL, 0, "https://www.t.example.net/");

    /* Patterns come from the configuration. */
    char *patterns[] = { "leave-list", NULL };
    struct pb_strlist saved = conf.milter.unsubscribe_patterns;
    conf.milter.unsubscribe_patterns = (struct pb_strlist){ patterns, 1 };
    assert_verdict("https://other.net/Leave-List", 28, PB_LINK_UNSUBSCRIBE);
    assert_tracked("https://other.net/unsubscribe", NULL, 0, "https://other.net/unsubscribe");
    conf.milter.unsubscribe_patterns = saved;

    /* A new tracking URL (configuration reload) is noticed at once. */
    free(conf.tracking_url);
    conf.tracking_url = strdup("https://clicks.example.org");
    assert_verdict("https://Clicks.Example.org/c/x", 30, PB_LINK_TRACKING_DOMAIN);
    GString *out = g_string_new(NULL);
    ck_assert_int_eq(pb_link_track(&ctx, "https://t.example.net/x", 23, NULL, 0, 0, out),
                     PB_LINK_TRACKED);
    ck_assert(g_str_has_prefix(out->str, "https://clicks.example.org/c/"));
    g_string_free(out, TRUE);
}
END_TEST

START_TEST(test_link_too_long)
{
    GString *url = g_string_new("https://other.net/");

    while (url->len < PB_URL_MAX)
        g_string_append_c(url, 'a');
    assert_tracked(url->str, NULL, 1, url->str);     /* exactly the limit still fits */
    g_string_append_c(url, 'a');
    assert_verdict(url->str, url->len, PB_LINK_TOO_LONG);

    /* A URL that fits until UTM parameters are added is too long as well. */
    g_string_assign(url, "https://example.com/");
    while (url->len < PB_URL_MAX - 20)
        g_string_append_c(url, 'a');
    assert_verdict(url->str, url->len, PB_LINK_TOO_LONG);
    g_string_free(url, TRUE);
}
END_TEST

START_TEST(test_link_index_below_honeypot)
{
    GString *out = g_string_new(NULL);

    /* Link 65534 is the last a message can have: 65535 is the honeypot's. */
    ck_assert_int_eq(pb_link_track(&ctx, "https://other.net/a", 19, NULL, 0,
                                   PB_LINK_HONEYPOT - 1, out), PB_LINK_TRACKED);
    g_string_truncate(out, 0);
    ck_assert_int_eq(pb_link_track(&ctx, "https://other.net/a", 19, NULL, 0,
                                   PB_LINK_HONEYPOT, out), PB_LINK_TOO_MANY);
    ck_assert_uint_eq(out->len, 0);
    ck_assert_int_eq(pb_link_track(&ctx, "https://other.net/a", 19, NULL, 0,
                                   70000, out), PB_LINK_TOO_MANY);
    g_string_free(out, TRUE);
}
END_TEST

START_TEST(test_link_tracked_destination)
{
    assert_tracked("  https://example.com/p?a=1&b=2#frag \r\n", "Shop now", 2,
                   "https://example.com/p?a=1&b=2&utm_source=newsletter&utm_medium=email"
                   "&utm_campaign=spring&utm_content=link-3#frag");
    assert_tracked("https://other.net/x?y=1&utm_source=z", NULL, 0,
                   "https://other.net/x?y=1&utm_source=z");
    assert_tracked("https://shop.example.org/?utm_source=partner", NULL, 9,
                   "https://shop.example.org/?utm_source=partner&utm_medium=email"
                   "&utm_campaign=spring&utm_content=link-10");
    assert_tracked("https://b\xc3\xbc" "cher.example.com/(a)@b[c]?d=%20", NULL, 0,
                   "https://b\xc3\xbc" "cher.example.com/(a)@b[c]?d=%20&utm_source=newsletter"
                   "&utm_medium=email&utm_campaign=spring&utm_content=link-1");
    ck_assert_uint_eq(ctx.links_tracked, 4);

    /* Campaign-level tracking: no contact in the token. */
    ctx.has_contact = 0;
    assert_tracked("https://other.net/", NULL, 0, "https://other.net/");

    /* No campaign: no utm_campaign. */
    ctx.campaign[0] = '\0';
    assert_tracked("https://example.com/", NULL, 0,
                   "https://example.com/?utm_source=newsletter&utm_medium=email"
                   "&utm_content=link-1");
}
END_TEST

START_TEST(test_link_content_modes)
{
    conf.utm.content = PB_UTM_CONTENT_ANCHOR;
    assert_tracked("https://example.com/", "Shop now!", 0,
                   "https://example.com/?utm_source=newsletter&utm_medium=email"
                   "&utm_campaign=spring&utm_content=shop-now");
    assert_tracked("https://example.com/", "\xe2\x86\x92 !!", 4,
                   "https://example.com/?utm_source=newsletter&utm_medium=email"
                   "&utm_campaign=spring&utm_content=link-5");
    assert_tracked("https://example.com/", NULL, 6,
                   "https://example.com/?utm_source=newsletter&utm_medium=email"
                   "&utm_campaign=spring&utm_content=link-7");

    conf.utm.content = PB_UTM_CONTENT_NONE;
    assert_tracked("https://example.com/", "Shop now!", 0,
                   "https://example.com/?utm_source=newsletter&utm_medium=email"
                   "&utm_campaign=spring");

    conf.utm.enabled = 0;
    assert_tracked("https://example.com/", "Shop now!", 0, "https://example.com/");
}
END_TEST

START_TEST(test_link_tracking_url_trailing_slash)
{
    GString *out = g_string_new(NULL);

    free(conf.tracking_url);
    conf.tracking_url = strdup(TRACKING "/");
    ck_assert_int_eq(pb_link_track(&ctx, "https://other.net/", 18, NULL, 0, 0, out),
                     PB_LINK_TRACKED);
    decode_tracked(out->str, 'c', "");
    g_string_free(out, TRUE);
}
END_TEST

START_TEST(test_open_and_unsubscribe_urls)
{
    GString *out = g_string_new(NULL);
    struct pb_token tok;
    size_t plen = strlen(TRACKING "/o/");

    ck_assert_int_eq(pb_link_open_url(&ctx, out), 0);
    tok = decode_tracked(out->str, 'o', ".gif");
    ck_assert_ptr_null(tok.url);
    /* An open token is not a click token. */
    ck_assert_int_eq(pb_token_decode(&ring, out->str + plen, out->len - plen - 4,
                                     PB_TOKEN_CLICK, decode_buf, &tok), PB_TOKEN_WRONG_KIND);

    g_string_truncate(out, 0);
    ck_assert_int_eq(pb_link_unsubscribe_url(&ctx, out), 0);
    decode_tracked(out->str, 'u', "");
    ck_assert_int_eq(pb_token_decode(&ring, out->str + plen, out->len - plen,
                                     PB_TOKEN_OPEN, decode_buf, &tok), PB_TOKEN_WRONG_KIND);

    /* Campaign-level: still valid, without a contact. */
    ctx.has_contact = 0;
    g_string_truncate(out, 0);
    ck_assert_int_eq(pb_link_unsubscribe_url(&ctx, out), 0);
    tok = decode_tracked(out->str, 'u', "");
    ck_assert_int_eq(tok.has_contact, 0);
    ck_assert_uint_eq(ctx.links_tracked, 0);
    g_string_free(out, TRUE);
}
END_TEST

Suite *link_suite(void)
{
    Suite *s = suite_create("link");
    TCase *tc = tcase_create("link");

    tcase_add_checked_fixture(tc, link_setup, link_teardown);
    tcase_add_test(tc, test_link_verdicts);
    tcase_add_test(tc, test_link_too_long);
    tcase_add_test(tc, test_link_index_below_honeypot);
    tcase_add_test(tc, test_link_tracked_destination);
    tcase_add_test(tc, test_link_content_modes);
    tcase_add_test(tc, test_link_tracking_url_trailing_slash);
    tcase_add_test(tc, test_open_and_unsubscribe_urls);
    suite_add_tcase(s, tc);
    return s;
}
