/*
 * check_classify.c - unit tests for tracker/classify.c: the bots file
 * (the shipped config/bots.conf and broken files with their messages) and
 * the machine/human rules in their order: HEAD, honeypot link, bots file
 * class (any/all), click too soon after the send; unsubscribes are human.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "classify.h"
#include "testutil.h"

#define SENT 1700000000u
#define APPLE_UA "Mozilla/5.0"
#define BROWSER_UA "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"
#define GMAIL_UA "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com " \
                 "GoogleImageProxy)"

static char err[512];

static struct pb_bots *shipped(void)
{
    struct pb_bots *bots = pb_bots_load(tu_test_path("../config/bots.conf"), err, sizeof(err));

    if (bots == NULL)
        ck_abort_msg("config/bots.conf: %s", err);
    return bots;
}

/* Load `text` as a bots file; NULL with err set. */
static struct pb_bots *load_text(const char *text)
{
    char path[400], dir[300];
    struct pb_bots *bots;

    snprintf(dir, sizeof(dir), "%s", tu_tmpdir());
    snprintf(path, sizeof(path), "%s/bots.conf", dir);
    ck_assert_int_eq(tu_write_file(path, text, strlen(text)), 0);
    bots = pb_bots_load(path, err, sizeof(err));
    unlink(path);
    rmdir(dir);
    return bots;
}

static struct pb_ipaddr ip(const char *s)
{
    struct pb_ipaddr a;

    ck_assert_int_eq(pb_ipaddr_parse(s, strlen(s), &a), 0);
    return a;
}

/* The reason for an open (or "human"). */
static const char *classify(const struct pb_bots *bots, enum pb_token_kind kind, int head,
                            const char *ua, const char *addr, long long now_ms,
                            unsigned link)
{
    struct pb_ipaddr a = ip(addr);
    struct pb_classify_input in = { kind, head, ua, &a, SENT, (uint16_t)link, now_ms, 5 };
    const char *reason = "unset";
    enum pb_ev_class cls = pb_classify(bots, &in, &reason);

    if (cls == PB_CLASS_HUMAN) {
        ck_assert_ptr_null(reason);
        return "human";
    }
    ck_assert_int_eq(cls, PB_CLASS_MACHINE);
    ck_assert_ptr_nonnull(reason);
    return reason;
}

#define LATER ((long long)SENT * 1000 + 3600 * 1000)      /* an hour after the send */

START_TEST(test_shipped_file)
{
    struct pb_bots *bots = shipped();

    ck_assert_uint_ge(pb_bots_count(bots), 8);
    /* Apple MPP: the bare UA from Apple's network; either alone is not enough */
    ck_assert_str_eq(classify(bots, PB_TOKEN_OPEN, 0, APPLE_UA, "17.58.1.2", LATER, 0),
                     "apple-mpp");
    ck_assert_str_eq(classify(bots, PB_TOKEN_OPEN, 0, APPLE_UA, "2620:149:a::1", LATER, 0),
                     "apple-mpp");
    ck_assert_str_eq(classify(bots, PB_TOKEN_OPEN, 0, APPLE_UA, "198.51.100.1", LATER, 0),
                     "human");
    ck_assert_str_eq(classify(bots, PB_TOKEN_OPEN, 0, BROWSER_UA, "17.58.1.2", LATER, 0),
                     "human");
    ck_assert_str_eq(classify(bots, PB_TOKEN_OPEN, 0, "mozilla/5.0", "17.58.1.2", LATER, 0),
                     "human");
    /* Gmail's proxy by UA from anywhere, or from its network with any UA */
    ck_assert_str_eq(classify(bots, PB_TOKEN_OPEN, 0, GMAIL_UA, "198.51.100.1", LATER, 0),
                     "google-proxy");
    ck_assert_str_eq(classify(bots, PB_TOKEN_OPEN, 0, BROWSER_UA, "66.102.8.3", LATER, 0),
                     "google-proxy");
    /* scanners by address and by UA (any case) */
    ck_assert_str_eq(classify(bots, PB_TOKEN_CLICK, 0, BROWSER_UA, "40.107.22.1", LATER, 1),
                     "scanner:microsoft");
    ck_assert_str_eq(classify(bots, PB_TOKEN_CLICK, 0,
                              "Microsoft Office Existence Discovery", "198.51.100.1", LATER, 1),
                     "scanner:microsoft");
    ck_assert_str_eq(classify(bots, PB_TOKEN_CLICK, 0, BROWSER_UA, "148.163.130.5", LATER, 1),
                     "scanner:proofpoint");
    ck_assert_str_eq(classify(bots, PB_TOKEN_CLICK, 0, BROWSER_UA, "205.139.110.9", LATER, 1),
                     "scanner:mimecast");
    ck_assert_str_eq(classify(bots, PB_TOKEN_CLICK, 0, "barracuda link check", "198.51.100.1",
                              LATER, 1), "scanner:barracuda");
    ck_assert_str_eq(classify(bots, PB_TOKEN_CLICK, 0, BROWSER_UA, "68.232.140.1", LATER, 1),
                     "scanner:cisco");
    ck_assert_str_eq(classify(bots, PB_TOKEN_CLICK, 0, "python-requests/2.31", "198.51.100.1",
                              LATER, 1), "script");
    /* a UA longer than the matcher's stack copy, the scanner's name in
     * another case at its end */
    char long_ua[2100];
    memset(long_ua, 'x', 2000);
    strcpy(long_ua + 2000, " BARRACUDA Link Check");
    ck_assert_str_eq(classify(bots, PB_TOKEN_CLICK, 0, long_ua, "198.51.100.1", LATER, 1),
                     "scanner:barracuda");
    /* a person */
    ck_assert_str_eq(classify(bots, PB_TOKEN_CLICK, 0, BROWSER_UA, "198.51.100.1", LATER, 1),
                     "human");
    ck_assert_str_eq(classify(bots, PB_TOKEN_OPEN, 0, NULL, "198.51.100.1", LATER, 0), "human");
    pb_bots_free(bots);
}
END_TEST

START_TEST(test_rule_order)
{
    struct pb_bots *bots = shipped();
    long long soon = (long long)SENT * 1000 + 4999, late_enough = (long long)SENT * 1000 + 5000;

    /* HEAD first, for opens and clicks alike */
    ck_assert_str_eq(classify(bots, PB_TOKEN_OPEN, 1, BROWSER_UA, "198.51.100.1", LATER, 0),
                     "head");
    ck_assert_str_eq(classify(bots, PB_TOKEN_CLICK, 1, GMAIL_UA, "198.51.100.1", LATER, 2),
                     "head");
    /* the honeypot link, before the bots file */
    ck_assert_str_eq(classify(bots, PB_TOKEN_CLICK, 0, GMAIL_UA, "198.51.100.1", LATER,
                              PB_HONEYPOT_LINK), "honeypot");
    ck_assert_str_eq(classify(bots, PB_TOKEN_CLICK, 0, BROWSER_UA, "198.51.100.1", LATER,
                              PB_HONEYPOT_LINK), "honeypot");
    ck_assert_str_eq(classify(bots, PB_TOKEN_CLICK, 0, BROWSER_UA, "198.51.100.1", LATER,
                              PB_HONEYPOT_LINK - 1), "human");
    /* bots file before "too fast" */
    ck_assert_str_eq(classify(bots, PB_TOKEN_CLICK, 0, BROWSER_UA, "40.107.1.1", soon, 1),
                     "scanner:microsoft");
    /* clicks within 5 s of the send; the boundary is exclusive */
    ck_assert_str_eq(classify(bots, PB_TOKEN_CLICK, 0, BROWSER_UA, "198.51.100.1", soon, 1),
                     "too-fast");
    ck_assert_str_eq(classify(bots, PB_TOKEN_CLICK, 0, BROWSER_UA, "198.51.100.1",
                              (long long)SENT * 1000 - 60000, 1), "too-fast");
    ck_assert_str_eq(classify(bots, PB_TOKEN_CLICK, 0, BROWSER_UA, "198.51.100.1",
                              late_enough, 1), "human");
    /* the timing rule is for clicks only; unsubscribes are always human */
    ck_assert_str_eq(classify(bots, PB_TOKEN_OPEN, 0, BROWSER_UA, "198.51.100.1", soon, 0),
                     "human");
    ck_assert_str_eq(classify(bots, PB_TOKEN_UNSUB, 1, GMAIL_UA, "40.107.1.1", soon, 0),
                     "human");
    pb_bots_free(bots);
}
END_TEST

START_TEST(test_timing_rule_off)
{
    struct pb_ipaddr a = ip("198.51.100.1");
    struct pb_classify_input in = { PB_TOKEN_CLICK, 0, BROWSER_UA, &a, SENT, 1,
                                    (long long)SENT * 1000, 0 };
    const char *reason;

    ck_assert_int_eq(pb_classify(NULL, &in, &reason), PB_CLASS_HUMAN);
    in.machine_click_seconds = 1;
    ck_assert_int_eq(pb_classify(NULL, &in, &reason), PB_CLASS_MACHINE);
    ck_assert_str_eq(reason, "too-fast");
}
END_TEST

START_TEST(test_any_and_all)
{
    struct pb_bots *bots = load_text(
        "# comment\n\n"
        "class both all\n"
        "  ua-exact Exact UA\n"
        "  net 192.0.2.0/24\n"
        "class uaonly all\n"
        "ua  needle with spaces  \n"
        "class netonly all\n"
        "net 2001:db8::/32 198.51.100.0/25\n"
        "class either\n"
        "ua #hash\n"
        "net 203.0.113.0/24\n"
        "class utf8\n"
        "ua Pr\xc3\xbc" "fer\n");

    ck_assert_ptr_nonnull(bots);
    ck_assert_uint_eq(pb_bots_count(bots), 5);
    ck_assert_str_eq(classify(bots, PB_TOKEN_OPEN, 0, "Exact UA", "192.0.2.9", LATER, 0), "both");
    ck_assert_str_eq(classify(bots, PB_TOKEN_OPEN, 0, "Exact UA", "192.0.3.9", LATER, 0), "human");
    ck_assert_str_eq(classify(bots, PB_TOKEN_OPEN, 0, "Exact UA!", "192.0.2.9", LATER, 0),
                     "human");
    ck_assert_str_eq(classify(bots, PB_TOKEN_OPEN, 0, "a NEEDLE WITH SPACES b", "192.0.3.9",
                              LATER, 0), "uaonly");
    ck_assert_str_eq(classify(bots, PB_TOKEN_OPEN, 0, "x", "2001:db8:5::1", LATER, 0), "netonly");
    ck_assert_str_eq(classify(bots, PB_TOKEN_OPEN, 0, "x", "198.51.100.127", LATER, 0),
                     "netonly");
    ck_assert_str_eq(classify(bots, PB_TOKEN_OPEN, 0, "x", "198.51.100.128", LATER, 0), "human");
    ck_assert_str_eq(classify(bots, PB_TOKEN_OPEN, 0, "x #HASH y", "192.0.3.9", LATER, 0),
                     "either");
    ck_assert_str_eq(classify(bots, PB_TOKEN_OPEN, 0, NULL, "203.0.113.1", LATER, 0), "either");
    /* bytes above 127 in a rule and a User-Agent (ASCII letters in any case) */
    ck_assert_str_eq(classify(bots, PB_TOKEN_OPEN, 0, "x PR\xc3\xbc" "FER/1", "192.0.3.9", LATER, 0),
                     "utf8");
    ck_assert_str_eq(classify(bots, PB_TOKEN_OPEN, 0, "x PRUFER/1", "192.0.3.9", LATER, 0), "human");
    pb_bots_free(bots);
    ck_assert_uint_eq(pb_bots_count(NULL), 0);
    ck_assert_ptr_null(pb_bots_match(NULL, "x", NULL));
}
END_TEST

START_TEST(test_bad_files)
{
    static const struct { const char *text, *message; } cases[] = {
        { "ua GoogleImageProxy\n", ":1: rule before the first \"class NAME\" line" },
        { "class a\nua\n", ":2: ua and ua-exact need the User-Agent text" },
        { "class a\nnet 10.0.0.0/33\n", ":2: \"10.0.0.0/33\" is not a network" },
        { "class a\nnet\n", ":2: net needs at least one network" },
        { "class Apple\n", ":1: class needs a name of lowercase letters" },
        { "class\n", ":1: class needs a name" },
        { "class a some\n", ":1: write \"class NAME\", \"class NAME any\" or" },
        { "class a any extra\n", ":1: write \"class NAME\"" },
        { "class a\nclass b\nclass a\n", ":3: this class is already defined above" },
        { "class a\nagent x\n", ":2: unknown keyword (use class, ua, ua-exact or net)" },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct pb_bots *bots = load_text(cases[i].text);
        if (bots != NULL)
            ck_abort_msg("accepted: %s", cases[i].text);
        if (strstr(err, "/bots.conf") == NULL || strstr(err, cases[i].message) == NULL)
            ck_abort_msg("%s\n  got  %s\n  want ...%s", cases[i].text, err, cases[i].message);
    }
    ck_assert_ptr_null(pb_bots_load("/nonexistent/bots.conf", err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/bots.conf: cannot open: No such file"));
}
END_TEST

START_TEST(test_no_file)
{
    struct pb_bots *bots = pb_bots_load(NULL, err, sizeof(err));

    ck_assert_ptr_nonnull(bots);
    ck_assert_uint_eq(pb_bots_count(bots), 0);
    ck_assert_str_eq(classify(bots, PB_TOKEN_OPEN, 0, APPLE_UA, "17.1.1.1", LATER, 0), "human");
    pb_bots_free(bots);
}
END_TEST

static Suite *classify_suite(void)
{
    Suite *s = suite_create("classify");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_shipped_file);
    tcase_add_test(tc, test_rule_order);
    tcase_add_test(tc, test_timing_rule_off);
    tcase_add_test(tc, test_any_and_all);
    tcase_add_test(tc, test_bad_files);
    tcase_add_test(tc, test_no_file);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(classify_suite());
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
