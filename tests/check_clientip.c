/*
 * check_clientip.c - unit tests for tracker/clientip.c: address and
 * network parsing, CIDR matching, the client address behind trusted
 * proxies (X-Forwarded-For read from the right, only from a trusted peer),
 * and the truncation stored in events (IPv4 /24, IPv6 /48).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "clientip.h"
#include "testutil.h"

static struct pb_ipaddr addr(const char *s)
{
    struct pb_ipaddr a;

    if (pb_ipaddr_parse(s, strlen(s), &a) != 0)
        ck_abort_msg("cannot parse %s", s);
    return a;
}

static const char *text(const struct pb_ipaddr *a, int full)
{
    static char buf[PB_IPADDR_TEXT];

    pb_ipaddr_format(a, full, buf, sizeof(buf));
    return buf;
}

START_TEST(test_parse_addresses)
{
    struct pb_ipaddr a;
    static const char *bad[] = { "", "1.2.3", "1.2.3.4.5", "256.1.1.1", "example.com",
                                 "1.2.3.4 ", "[1.2.3.4", "::g", "1.2.3.4/24", "[]" };

    a = addr("192.0.2.33");
    ck_assert_int_eq(a.family, AF_INET);
    ck_assert_str_eq(text(&a, 1), "192.0.2.33");
    a = addr("2001:DB8::1");
    ck_assert_int_eq(a.family, AF_INET6);
    ck_assert_str_eq(text(&a, 1), "2001:db8::1");
    a = addr("[2001:db8::2]");
    ck_assert_str_eq(text(&a, 1), "2001:db8::2");
    /* an IPv4-mapped peer on a dual-stack socket is the IPv4 address */
    a = addr("::ffff:198.51.100.7");
    ck_assert_int_eq(a.family, AF_INET);
    ck_assert_str_eq(text(&a, 1), "198.51.100.7");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(pb_ipaddr_parse(bad[i], strlen(bad[i]), &a) != 0, "accepted \"%s\"",
                      bad[i]);
}
END_TEST

START_TEST(test_truncation)
{
    struct pb_ipaddr a = addr("203.0.113.77");

    ck_assert_str_eq(text(&a, 0), "203.0.113.0");
    ck_assert_str_eq(text(&a, 1), "203.0.113.77");
    a = addr("2001:db8:abcd:1234:5678::9");
    ck_assert_str_eq(text(&a, 0), "2001:db8:abcd::");
    ck_assert_str_eq(text(&a, 1), "2001:db8:abcd:1234:5678::9");
    a = addr("2001:db8:ab:ffff::1");
    ck_assert_str_eq(text(&a, 0), "2001:db8:ab::");
    memset(&a, 0, sizeof(a));
    ck_assert_str_eq(text(&a, 0), "");
}
END_TEST

START_TEST(test_cidr)
{
    struct pb_cidr c;
    struct pb_ipaddr in = addr("10.20.30.40"), out = addr("11.0.0.1");
    static const char *bad[] = { "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/x", "10.0.0.0/8x",
                                 "2001:db8::/129", "[2001:db8::]/32", "::ffff:10.0.0.0/104",
                                 "x/8", "" };

    ck_assert_int_eq(pb_cidr_parse("10.0.0.0/8", &c), 0);
    ck_assert(pb_cidr_match(&c, &in));
    ck_assert(!pb_cidr_match(&c, &out));
    /* host bits in the network are ignored */
    ck_assert_int_eq(pb_cidr_parse("10.20.30.99/24", &c), 0);
    ck_assert(pb_cidr_match(&c, &in));
    ck_assert_int_eq(pb_cidr_parse("10.20.31.0/24", &c), 0);
    ck_assert(!pb_cidr_match(&c, &in));
    /* odd prefix lengths */
    ck_assert_int_eq(pb_cidr_parse("10.20.28.0/22", &c), 0);
    ck_assert(pb_cidr_match(&c, &in));
    ck_assert_int_eq(pb_cidr_parse("10.20.32.0/22", &c), 0);
    ck_assert(!pb_cidr_match(&c, &in));
    /* a single address; /0 matches its whole family only */
    ck_assert_int_eq(pb_cidr_parse("10.20.30.40", &c), 0);
    ck_assert(pb_cidr_match(&c, &in));
    ck_assert(!pb_cidr_match(&c, &out));
    ck_assert_int_eq(pb_cidr_parse("0.0.0.0/0", &c), 0);
    ck_assert(pb_cidr_match(&c, &out));
    in = addr("2001:db8::1");
    ck_assert(!pb_cidr_match(&c, &in));
    ck_assert_int_eq(pb_cidr_parse("2001:db8::/33", &c), 0);
    ck_assert(pb_cidr_match(&c, &in));
    in = addr("2001:db8:8000::1");
    ck_assert(!pb_cidr_match(&c, &in));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(pb_cidr_parse(bad[i], &c) != 0, "accepted \"%s\"", bad[i]);
}
END_TEST

/* The client for peer + X-Forwarded-For with trusted proxies 127.0.0.1,
 * 10.0.0.0/8 and 2001:db8:ffff::/48. */
static const char *client(const char *peer, const char *xff)
{
    static const char *items[] = { "127.0.0.1", "10.0.0.0/8", "2001:db8:ffff::/48" };
    struct pb_strlist list = { (char **)items, 3 };
    struct pb_netlist trusted;
    struct pb_ipaddr p = addr(peer), c;
    char err[128];

    ck_assert_int_eq(pb_netlist_parse(&list, &trusted, err, sizeof(err)), 0);
    pb_client_addr(&p, xff, &trusted, &c);
    pb_netlist_free(&trusted);
    return text(&c, 1);
}

START_TEST(test_forwarded_for)
{
    /* an untrusted peer's header is never read */
    ck_assert_str_eq(client("198.51.100.1", "203.0.113.5"), "198.51.100.1");
    ck_assert_str_eq(client("198.51.100.1", NULL), "198.51.100.1");
    /* a trusted proxy without the header: the proxy itself */
    ck_assert_str_eq(client("127.0.0.1", NULL), "127.0.0.1");
    /* one hop */
    ck_assert_str_eq(client("127.0.0.1", "203.0.113.5"), "203.0.113.5");
    /* the right-most untrusted hop wins; what the client wrote to the left
     * of it (a forged address) is ignored */
    ck_assert_str_eq(client("127.0.0.1", "1.1.1.1, 203.0.113.5"), "203.0.113.5");
    ck_assert_str_eq(client("127.0.0.1", "1.1.1.1, 203.0.113.5, 10.1.2.3"), "203.0.113.5");
    ck_assert_str_eq(client("127.0.0.1", "1.1.1.1,203.0.113.5,10.1.2.3,10.9.9.9"),
                     "203.0.113.5");
    /* every hop trusted: the left-most */
    ck_assert_str_eq(client("127.0.0.1", "10.1.1.1, 10.2.2.2"), "10.1.1.1");
    /* garbage stops the walk at the last good address */
    ck_assert_str_eq(client("127.0.0.1", "unknown"), "127.0.0.1");
    ck_assert_str_eq(client("127.0.0.1", "203.0.113.5, bogus"), "127.0.0.1");
    ck_assert_str_eq(client("127.0.0.1", "bogus, 10.1.2.3"), "10.1.2.3");
    ck_assert_str_eq(client("127.0.0.1", "203.0.113.5,"), "127.0.0.1");
    ck_assert_str_eq(client("127.0.0.1", ""), "127.0.0.1");
    /* ports and brackets, IPv6 hops and proxies */
    ck_assert_str_eq(client("127.0.0.1", "203.0.113.5:4711"), "203.0.113.5");
    ck_assert_str_eq(client("127.0.0.1", "[2001:db8:1::5]:4711"), "2001:db8:1::5");
    ck_assert_str_eq(client("127.0.0.1", " 2001:db8:1::6 "), "2001:db8:1::6");
    ck_assert_str_eq(client("2001:db8:ffff::2", "203.0.113.9"), "203.0.113.9");
    ck_assert_str_eq(client("::ffff:127.0.0.1", "203.0.113.9"), "203.0.113.9");
    ck_assert_str_eq(client("2001:db8:fffe::2", "203.0.113.9"), "2001:db8:fffe::2");
    /* several headers joined by the caller */
    ck_assert_str_eq(client("10.0.0.1", "1.2.3.4,203.0.113.5,10.0.0.2"), "203.0.113.5");
}
END_TEST

START_TEST(test_netlist_errors)
{
    static const char *items[] = { "10.0.0.0/8", "10.0.0.0/40" };
    struct pb_strlist list = { (char **)items, 2 };
    struct pb_netlist nets;
    char err[128];

    ck_assert_int_eq(pb_netlist_parse(&list, &nets, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "\"10.0.0.0/40\" is not an address or network");
    ck_assert_ptr_null(nets.items);
    list.count = 1;
    ck_assert_int_eq(pb_netlist_parse(&list, &nets, err, sizeof(err)), 0);
    ck_assert_uint_eq(nets.count, 1);
    pb_netlist_free(&nets);
}
END_TEST

static Suite *clientip_suite(void)
{
    Suite *s = suite_create("clientip");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_parse_addresses);
    tcase_add_test(tc, test_truncation);
    tcase_add_test(tc, test_cidr);
    tcase_add_test(tc, test_forwarded_for);
    tcase_add_test(tc, test_netlist_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(clientip_suite());
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
