/*
 * check_headers.c - unit tests of milter/headers.c where it decides the
 * campaign header's fate: whether a DKIM-Signature's h= tag names a
 * header (RFC 6376 3.5 tag syntax: folding, blanks, case, ':' lists),
 * and removed, kept for a DKIM signature, or kept because the MTA allows
 * no header changes. The milter's side of it, over the protocol:
 * tests/milter_protocol.sh.
 */
#include <stdlib.h>
#include <check.h>
#include "headers.h"
#include "testutil.h"

static const struct {
    const char *value;
    int signs;
} dkim[] = {
    { "v=1; a=rsa-sha256; d=example.com; s=s1; h=from:to:x-campaign; bh=abc=; b=def=", 1 },
    { "v=1; a=rsa-sha256; d=example.com; s=s1; h=from:to:subject; bh=abc=; b=def=", 0 },
    /* case-insensitive names, blanks around ':' and '=', folded lines */
    { "v=1; d=example.com; h=From : To:\n\tSubject:X-CAMPAIGN ; b=x", 1 },
    { "v=1; d=example.com; h =\r\n from:\r\n x-Campaign; b=x", 1 },
    { " v=1;\n\th=from;\n\tb=x; h2=x-campaign", 0 },
    /* the last tag, without ';' after it */
    { "v=1; b=x; h=subject:x-campaign", 1 },
    /* names that only contain it, or another tag holding it */
    { "v=1; h=x-campaign-id:from; b=x", 0 },
    { "v=1; h=from:x-campaigns; b=x", 0 },
    { "v=1; h=from; z=x-campaign:from; b=x-campaign", 0 },
    /* tag names are case-sensitive: H= is not h= */
    { "v=1; H=x-campaign; b=x", 0 },
    { "h=x-campaign", 1 },
    { "", 0 },
    { "garbage without tags x-campaign", 0 },
};

START_TEST(test_dkim_signs)
{
    ck_assert_msg(pb_header_dkim_signs(dkim[_i].value, "X-Campaign") == dkim[_i].signs,
                  "h= in \"%s\": want %d", dkim[_i].value, dkim[_i].signs);
}
END_TEST

static void add_all(struct pb_headers *h, const char *const *pairs)
{
    for (size_t i = 0; pairs[i] != NULL; i += 2)
        pb_headers_add(h, pairs[i], pairs[i + 1]);
}

START_TEST(test_campaign_fate)
{
    struct pb_conf conf;
    struct pb_headers h;
    static const char *const plain[] = { "From", "news@example.com", "X-Campaign", "spring",
                                         NULL };
    static const char *const signed_other[] = {
        "X-Campaign", "spring", "DKIM-Signature", "v=1; d=example.com; h=from:to; b=x", NULL
    };
    static const char *const signed_it[] = {
        "X-Campaign", "spring", "DKIM-Signature", "v=1; d=example.com; h=from:to; b=x",
        "dkim-signature", "v=1; d=example.net; h=from:\n\tx-campaign; b=y", NULL
    };
    static const char *const none[] = { "From", "news@example.com", NULL };

    tu_test_conf(&conf);
    pb_headers_init(&h);
    add_all(&h, plain);
    ck_assert_int_eq(pb_headers_campaign_fate(&conf.milter, &h, 1), PB_CAMPAIGN_REMOVE);
    ck_assert_int_eq(pb_headers_campaign_fate(&conf.milter, &h, 0), PB_CAMPAIGN_KEPT_MTA);
    conf.milter.strip_campaign_header = 0;
    ck_assert_int_eq(pb_headers_campaign_fate(&conf.milter, &h, 1), PB_CAMPAIGN_NONE);
    conf.milter.strip_campaign_header = 1;
    pb_headers_clear(&h);

    pb_headers_init(&h);
    add_all(&h, signed_other);
    ck_assert_int_eq(pb_headers_campaign_fate(&conf.milter, &h, 1), PB_CAMPAIGN_REMOVE);
    pb_headers_clear(&h);

    pb_headers_init(&h);
    add_all(&h, signed_it);
    ck_assert_int_eq(pb_headers_campaign_fate(&conf.milter, &h, 1), PB_CAMPAIGN_KEPT_DKIM);
    ck_assert_int_eq(pb_headers_campaign_fate(&conf.milter, &h, 0), PB_CAMPAIGN_KEPT_DKIM);
    pb_headers_clear(&h);

    pb_headers_init(&h);
    add_all(&h, none);
    ck_assert_int_eq(pb_headers_campaign_fate(&conf.milter, &h, 1), PB_CAMPAIGN_NONE);
    pb_headers_clear(&h);
    pb_conf_free(&conf);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("headers");
    TCase *tc = tcase_create("campaign");
    tcase_add_loop_test(tc, test_dkim_signs, 0, (int)(sizeof(dkim) / sizeof(dkim[0])));
    tcase_add_test(tc, test_campaign_fate);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
