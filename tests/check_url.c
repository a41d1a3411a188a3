/*
 * check_url.c - unit tests for URL facts (lib/url.c) and UTM tagging and
 * slugs (lib/utm.c): hosts of messy real-world URLs, refusal of authority
 * tricks, domain lists, and UTM insertion that leaves every other byte
 * alone. The same program runs the link tracking tests (check_link.c).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include "check_url.h"
#include "testutil.h"
#include "url.h"

#define UTM_STD "utm_source=newsletter&utm_medium=email&utm_campaign=spring&utm_content=link-1"

static struct pb_conf conf;

static void conf_setup(void)
{
    tu_test_conf(&conf);
}

static void conf_teardown(void)
{
    pb_conf_free(&conf);
}

/* ---- pb_url_is_http ------------------------------------------------------ */

START_TEST(test_is_http)
{
    static const char *const yes[] = {
        "http://example.com", "https://example.com/x", "HTTPS://EXAMPLE.COM", "hTtP://a", "http://",
    };
    static const char *const no[] = {
        "", "http", "http:/example.com", "https:\\\\evil.com", "ftp://example.com",
        "mailto:a@example.com", "javascript:alert(1)", "//example.com/x", "httpx://example.com",
        " http://example.com",  /* callers trim first */
    };

    for (size_t i = 0; i < G_N_ELEMENTS(yes); i++)
        ck_assert_msg(pb_url_is_http(yes[i], strlen(yes[i])) == 1, "%s", yes[i]);
    for (size_t i = 0; i < G_N_ELEMENTS(no); i++)
        ck_assert_msg(pb_url_is_http(no[i], strlen(no[i])) == 0, "%s", no[i]);
    /* Only len bytes count. */
    ck_assert_int_eq(pb_url_is_http("http://x", 6), 0);
    ck_assert_int_eq(pb_url_is_http("https://x", 7), 0);
}
END_TEST

/* ---- pb_url_host --------------------------------------------------------- */

static const char *host_of(const char *url)
{
    static char host[256];
    return pb_url_host(url, strlen(url), host, sizeof(host)) == 0 ? host : NULL;
}

START_TEST(test_host_extraction)
{
    static const char *const cases[][2] = {
        { "http://example.com", "example.com" },
        { "https://WWW.Example.COM/Path?Q=1", "www.example.com" },
        { "https://example.com?x=1", "example.com" },
        { "https://example.com#frag", "example.com" },
        { "http://example.com:8080/a", "example.com" },
        { "http://user:pw@host.example:8443/x", "host.example" },
        { "http://good.com@evil.com/", "evil.com" },
        { "http://192.168.0.1/", "192.168.0.1" },
        { "http://[2001:DB8::1]:8080/a", "2001:db8::1" },
        { "http://[::1]/", "::1" },
        { "http://b\xc3\xbc" "cher.example/stra\xc3\x9f" "e?q=\xc3\xa4",
          "b\xc3\xbc" "cher.example" },
        { "http://B%C3%BC" "cher.Example/", "b\xc3\xbc" "cher.example" },
        { "https://shop.example.org/a b|c[d]{e}^f\\g`h\"i<j>?x=[1]&y=a b#f#g",
          "shop.example.org" },
        { "http://example.com/100%/off?p=50%", "example.com" },
        { "http://example.com/%7Euser/%E2%82%AC", "example.com" },
        { "http://example.com./", "example.com." },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        const char *host = host_of(cases[i][0]);
        ck_assert_msg(host != NULL, "no host for %s", cases[i][0]);
        ck_assert_str_eq(host, cases[i][1]);
    }
}
END_TEST

START_TEST(test_host_refusals)
{
    static const char *const cases[] = {
        "https:\\\\evil.com",
        "https://evil.com\\@good.com",
        "https://evil.com\\.good.com/",
        "https://ev il.com/",
        "https://evil.com /x",
        "http://exa\tmple.com/",
        "http://exa\nmple.com/",
        "http://example.com/a\r\nb",
        "http://example.com/a\tb",
        "http://example.com/\x01",
        "http://example.com/\x7f",
        "http://good.com%2Fevil.com/",
        "http://good.com%40evil.com/",
        "http://a%00b.com/",
        "http://",
        "http:///path",
        "http://:80/",
        "http://example.com:80ab/",
        "http://[2001:db8::1/",
        "http://exa[mple.com/",
        "mailto:a@example.com",
        "/relative/path",
        "",
    };
    char small[8];

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
        ck_assert_msg(host_of(cases[i]) == NULL, "accepted %s", cases[i]);
    /* A host longer than the buffer is refused, not cut. */
    ck_assert_int_eq(pb_url_host("http://example.com", 18, small, sizeof(small)), -1);
    ck_assert_int_eq(pb_url_host("http://example.com", 18, small, 0), -1);
    ck_assert_int_eq(pb_url_host("http://abc.de/", 14, small, sizeof(small)), 0);
    ck_assert_str_eq(small, "abc.de");
}
END_TEST

START_TEST(test_host_ignores_bytes_past_len)
{
    const char *url = "http://example.com/x\\@evil.com";
    char host[64];

    ck_assert_int_eq(pb_url_host(url, 18, host, sizeof(host)), 0);
    ck_assert_str_eq(host, "example.com");
}
END_TEST

/* ---- pb_host_in_domains -------------------------------------------------- */

START_TEST(test_domain_matching)
{
    char *items[] = { "example.com", ".shop.example.org", "*.news.example.net", NULL };
    struct pb_strlist list = { items, 3 }, empty = { NULL, 0 };

    static const char *const in[] = {
        "example.com", "www.example.com", "a.b.example.com", "WWW.EXAMPLE.COM", "example.com.",
        "shop.example.org", "x.shop.example.org", "news.example.net", "a.news.example.net",
    };
    static const char *const out[] = {
        "badexample.com", "example.com.evil.net", "com", "example.org", "myshop.example.org",
        "example.net", "",
    };

    for (size_t i = 0; i < G_N_ELEMENTS(in); i++)
        ck_assert_msg(pb_host_in_domains(in[i], &list) == 1, "%s", in[i]);
    for (size_t i = 0; i < G_N_ELEMENTS(out); i++)
        ck_assert_msg(pb_host_in_domains(out[i], &list) == 0, "%s", out[i]);
    ck_assert_int_eq(pb_host_in_domains("example.com", &empty), 0);
}
END_TEST

/* ---- pb_utm_apply -------------------------------------------------------- */

/* Assert that url, tagged with campaign "spring" and content "link-1",
 * becomes exactly `expect` with `added` parameters added. */
static void assert_utm(const char *url, const char *expect, int added)
{
    GString *out = g_string_new(NULL);
    int rc = pb_utm_apply(&conf.utm, "spring", "link-1", url, strlen(url), out);

    ck_assert_msg(strcmp(out->str, expect) == 0, "%s\n  got    %s\n  wanted %s", url,
                  out->str, expect);
    ck_assert_int_eq(rc, added);
    g_string_free(out, TRUE);
}

START_TEST(test_utm_query_shapes)
{
    assert_utm("https://example.com", "https://example.com/?" UTM_STD, 4);
    assert_utm("https://example.com/p", "https://example.com/p?" UTM_STD, 4);
    assert_utm("https://example.com/p?", "https://example.com/p?" UTM_STD, 4);
    assert_utm("https://example.com/p?a=1&", "https://example.com/p?a=1&" UTM_STD, 4);
    assert_utm("https://example.com/p?a=1&b=2", "https://example.com/p?a=1&b=2&" UTM_STD, 4);
    assert_utm("https://example.com/p#top", "https://example.com/p?" UTM_STD "#top", 4);
    assert_utm("https://example.com/p?a=1#sec?x=1&y",
               "https://example.com/p?a=1&" UTM_STD "#sec?x=1&y", 4);
    assert_utm("https://example.com/p?#", "https://example.com/p?" UTM_STD "#", 4);
    assert_utm("https://www.example.com/", "https://www.example.com/?" UTM_STD, 4);
}
END_TEST

/* An empty path becomes "/" when parameters are added, and only then;
 * everything else about the URL stays as written. */
START_TEST(test_utm_empty_path_gets_slash)
{
    assert_utm("https://example.com?a=1", "https://example.com/?a=1&" UTM_STD, 4);
    assert_utm("https://example.com#top", "https://example.com/?" UTM_STD "#top", 4);
    assert_utm("https://example.com?#x", "https://example.com/?" UTM_STD "#x", 4);
    assert_utm("HTTP://Example.COM:8080", "HTTP://Example.COM:8080/?" UTM_STD, 4);
    assert_utm("https://user:pw@example.com?q", "https://user:pw@example.com/?q&" UTM_STD, 4);
    assert_utm("https://example.com?x=a/b", "https://example.com/?x=a/b&" UTM_STD, 4);
    /* all four present: nothing added, so no slash either */
    assert_utm("https://example.com?utm_source=a&utm_medium=b&utm_campaign=c&utm_content=d",
               "https://example.com?utm_source=a&utm_medium=b&utm_campaign=c&utm_content=d", 0);
}
END_TEST

START_TEST(test_utm_never_overrides)
{
    assert_utm("https://example.com/?utm_source=partner&x=1",
               "https://example.com/?utm_source=partner&x=1"
               "&utm_medium=email&utm_campaign=spring&utm_content=link-1", 3);
    assert_utm("https://example.com/?x=1&utm_campaign=&utm_content=hero",
               "https://example.com/?x=1&utm_campaign=&utm_content=hero"
               "&utm_source=newsletter&utm_medium=email", 2);
    /* Percent-encoded key names count as present. */
    assert_utm("https://example.com/?utm%5Fsource=p&utm_%6Dedium=m",
               "https://example.com/?utm%5Fsource=p&utm_%6Dedium=m"
               "&utm_campaign=spring&utm_content=link-1", 2);
    /* Key names are case-sensitive (as in Google Analytics); a value that
     * merely contains a utm_ name is not a key. */
    assert_utm("https://example.com/?UTM_SOURCE=x&q=utm_medium",
               "https://example.com/?UTM_SOURCE=x&q=utm_medium&" UTM_STD, 4);
    /* A utm_ key in the fragment is not in the query. */
    assert_utm("https://example.com/#utm_source=x",
               "https://example.com/?" UTM_STD "#utm_source=x", 4);

    const char *all = "https://example.com/?utm_source=a&utm_medium=b&utm_campaign=c"
                      "&utm_content=d#f";
    assert_utm(all, all, 0);

    free(conf.utm.term);
    conf.utm.term = strdup("t");
    assert_utm(all, "https://example.com/?utm_source=a&utm_medium=b&utm_campaign=c"
               "&utm_content=d&utm_term=t#f", 1);
    const char *with_term = "https://example.com/?utm_term=x&utm_source=a&utm_medium=b"
                            "&utm_campaign=c&utm_content=d";
    assert_utm(with_term, with_term, 0);
}
END_TEST

START_TEST(test_utm_values_and_config)
{
    GString *out = g_string_new("keep:");
    int rc;

    /* Values are escaped; term is added when configured; order is fixed. */
    free(conf.utm.term);
    conf.utm.term = strdup("spring sale & more");
    free(conf.utm.source);
    conf.utm.source = strdup("news/letter");
    rc = pb_utm_apply(&conf.utm, "Fr\xc3\xbchling 24", "a=b", "https://example.com/x", 21, out);
    ck_assert_int_eq(rc, 5);
    ck_assert_str_eq(out->str, "keep:https://example.com/x?utm_source=news%2Fletter"
                     "&utm_medium=email&utm_campaign=Fr%C3%BChling%2024&utm_content=a%3Db"
                     "&utm_term=spring%20sale%20%26%20more");

    /* NULL or empty values are left out. */
    free(conf.utm.medium);
    conf.utm.medium = strdup("");
    free(conf.utm.term);
    conf.utm.term = NULL;
    g_string_truncate(out, 0);
    rc = pb_utm_apply(&conf.utm, NULL, NULL, "https://example.com/x", 21, out);
    ck_assert_int_eq(rc, 1);
    ck_assert_str_eq(out->str, "https://example.com/x?utm_source=news%2Fletter");
    g_string_truncate(out, 0);
    rc = pb_utm_apply(&conf.utm, "", "", "https://example.com/x", 21, out);
    ck_assert_int_eq(rc, 1);

    /* Nothing configured at all: unchanged. */
    free(conf.utm.source);
    conf.utm.source = NULL;
    g_string_truncate(out, 0);
    rc = pb_utm_apply(&conf.utm, NULL, NULL, "https://example.com/x#y", 23, out);
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(out->str, "https://example.com/x#y");
    g_string_free(out, TRUE);
}
END_TEST

START_TEST(test_utm_only_for_listed_domains)
{
    assert_utm("https://other.net/?a=1", "https://other.net/?a=1", 0);
    assert_utm("https://badexample.com/", "https://badexample.com/", 0);
    assert_utm("https://shop.example.org/cart", "https://shop.example.org/cart?" UTM_STD, 4);
    assert_utm("https://eu.shop.example.org/", "https://eu.shop.example.org/?" UTM_STD, 4);
    assert_utm("https://example.org/", "https://example.org/", 0);
    /* A non-listed host is appended as is even when uriparser needs help. */
    assert_utm("https://other.net/a b|c", "https://other.net/a b|c", 0);

    conf.utm.enabled = 0;
    assert_utm("https://example.com/", "https://example.com/", 0);
}
END_TEST

START_TEST(test_utm_refuses_unparseable)
{
    static const char *const bad[] = {
        "https://example.com\\@evil.com/", "https://exa mple.com/", "http:///x",
        "https://example.com/\r\n", "mailto:a@example.com",
    };

    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        GString *out = g_string_new("untouched");
        ck_assert_int_eq(pb_utm_apply(&conf.utm, "c", "d", bad[i], strlen(bad[i]), out), -1);
        ck_assert_str_eq(out->str, "untouched");
        g_string_free(out, TRUE);
    }
}
END_TEST

/* url must come out as url[0..at) + sep + UTM_STD + url[at..]. */
static void assert_inserted(const char *url, size_t at, const char *sep)
{
    char *expect = g_strdup_printf("%.*s%s%s%s", (int)at, url, sep, UTM_STD, url + at);

    assert_utm(url, expect, 4);
    g_free(expect);
}

START_TEST(test_utm_special_characters_survive)
{
    static const char *const urls[] = {
        "https://example.com/a_(b)/@user/~x/%7Efoo?q=(1)&at=a@b.c&arr[]=1&e=%26%3D#frag(x)",
        "https://example.com/wiki/Foo_(bar)",
        "https://user:p%40ss@example.com:8443/p;x=1?a=%F0%9F%98%80",
        "https://b\xc3\xbc" "cher.example.com/stra\xc3\x9f" "e?x=\xc3\xa4#\xc3\xbc",
        "https://example.com/search?q=a b|c{d}^e\\f`g&x=[y]",
        "https://example.com/100%/off?p=50%&q=%zz",
        "https://example.com/p?a='x'&b=*&c=$,!;+",
        "HTTPS://EXAMPLE.COM/UPPER?A=B",
    };

    for (size_t i = 0; i < G_N_ELEMENTS(urls); i++) {
        const char *url = urls[i], *hash = strchr(url, '#');
        size_t at = hash ? (size_t)(hash - url) : strlen(url);
        assert_inserted(url, at, memchr(url, '?', at) ? "&" : "?");
    }
}
END_TEST

START_TEST(test_utm_ip_literal_hosts)
{
    char *items[] = { "2001:db8::1", "192.0.2.7", NULL };
    struct pb_strlist saved = conf.utm.domains;

    assert_utm("http://[2001:db8::1]:8080/x?y=1", "http://[2001:db8::1]:8080/x?y=1", 0);
    conf.utm.domains = (struct pb_strlist){ items, 2 };
    assert_inserted("http://[2001:db8::1]:8080/x?y=1#z", 31, "&");
    assert_inserted("http://192.0.2.7/", 17, "?");
    conf.utm.domains = saved;
}
END_TEST

START_TEST(test_utm_long_url)
{
    GString *url = g_string_new("https://example.com/");

    while (url->len < 8000)
        g_string_append(url, "seg|ment/");     /* '|' sends the parser copy to the heap */
    g_string_append(url, "?q=");
    while (url->len < 8150)
        g_string_append(url, "%41b");
    size_t at = url->len;
    g_string_append(url, "#end");
    assert_inserted(url->str, at, "&");
    g_string_free(url, TRUE);
}
END_TEST

/* ---- pb_slug ------------------------------------------------------------- */

static void assert_slug(const char *text, size_t outlen, const char *expect)
{
    char out[128];
    size_t n;

    memset(out, 'X', sizeof(out));
    n = pb_slug(text, strlen(text), out, outlen);
    ck_assert_msg(strcmp(out, expect) == 0, "slug(%s, %zu) = %s, wanted %s", text, outlen,
                  out, expect);
    ck_assert_uint_eq(n, strlen(expect));
    ck_assert_uint_lt(n, outlen);
}

START_TEST(test_slug)
{
    assert_slug("Shop now!", 64, "shop-now");
    assert_slug("  --Hello,   World--  ", 64, "hello-world");
    assert_slug("ABC123", 64, "abc123");
    assert_slug("B\xc3\xbc" "cher kaufen", 64, "b-cher-kaufen");
    assert_slug("Read more \xe2\x86\x92", 64, "read-more");
    assert_slug("50% off: today only", 64, "50-off-today-only");
    assert_slug("", 64, "");
    assert_slug("!!! ...", 64, "");
    assert_slug("\xe2\x82\xac", 64, "");
    /* Cut at a word boundary when there is one. */
    assert_slug("alpha beta gamma", 12, "alpha-beta");
    assert_slug("alpha beta gamma", 11, "alpha-beta");
    assert_slug("alpha beta gamma", 10, "alpha");
    assert_slug("alpha beta gamma", 9, "alpha");
    assert_slug("alpha beta", 11, "alpha-beta");
    assert_slug("abcdefghij", 5, "abcd");
    assert_slug("abcdefghij", 1, "");

    char none[1] = { 'X' };
    ck_assert_uint_eq(pb_slug("abc", 3, none, 0), 0);
    ck_assert_int_eq(none[0], 'X');
}
END_TEST

static Suite *url_suite(void)
{
    Suite *s = suite_create("url");
    TCase *tc = tcase_create("url");
    TCase *tu = tcase_create("utm");

    tcase_add_test(tc, test_is_http);
    tcase_add_test(tc, test_host_extraction);
    tcase_add_test(tc, test_host_refusals);
    tcase_add_test(tc, test_host_ignores_bytes_past_len);
    tcase_add_test(tc, test_domain_matching);
    tcase_add_test(tc, test_slug);
    suite_add_tcase(s, tc);

    tcase_add_checked_fixture(tu, conf_setup, conf_teardown);
    tcase_add_test(tu, test_utm_query_shapes);
    tcase_add_test(tu, test_utm_empty_path_gets_slash);
    tcase_add_test(tu, test_utm_never_overrides);
    tcase_add_test(tu, test_utm_values_and_config);
    tcase_add_test(tu, test_utm_only_for_listed_domains);
    tcase_add_test(tu, test_utm_refuses_unparseable);
    tcase_add_test(tu, test_utm_special_characters_survive);
    tcase_add_test(tu, test_utm_ip_literal_hosts);
    tcase_add_test(tu, test_utm_long_url);
    suite_add_tcase(s, tu);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(url_suite());
    int failed;

    srunner_add_suite(sr, link_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
