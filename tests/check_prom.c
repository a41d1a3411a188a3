/*
 * check_prom.c - unit tests for the Prometheus text format lines
 * (lib/prom.c) that the tracker's and the scorer's /metrics are made of:
 * HELP and TYPE lines, samples with and without labels, and the escaping
 * the exposition format asks for (backslash and newline in help text;
 * backslash, double quote and newline in label values; other bytes,
 * UTF-8 included, as they are), and the listen addresses both daemons'
 * listeners are opened on (lib/listen.c).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include "listen.h"
#include "prom.h"

static GString *out;

static void setup(void)
{
    out = g_string_new(NULL);
}

static void teardown(void)
{
    g_string_free(out, TRUE);
}

START_TEST(test_header)
{
    pb_prom_header(out, "pb_x_total", "counter", "Things done.");
    ck_assert_str_eq(out->str, "# HELP pb_x_total Things done.\n# TYPE pb_x_total counter\n");
}
END_TEST

START_TEST(test_help_escaped)
{
    pb_prom_header(out, "pb_x", "gauge", "a \\ b\nc \"q\"");
    ck_assert_str_eq(out->str, "# HELP pb_x a \\\\ b\\nc \"q\"\n# TYPE pb_x gauge\n");
}
END_TEST

START_TEST(test_label_value_escaped)
{
    static const struct { const char *in, *out; } cases[] = {
        { "plain", "plain" }, { "", "" }, { "a\"b", "a\\\"b" }, { "a\\b", "a\\\\b" },
        { "a\nb", "a\\nb" }, { "\\\"\n", "\\\\\\\"\\n" }, { "Grüße", "Grüße" },
        { "tab\there", "tab\there" },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        g_string_truncate(out, 0);
        pb_prom_label_value(out, cases[i].in);
        ck_assert_str_eq(out->str, cases[i].out);
    }
}
END_TEST

START_TEST(test_samples)
{
    const char *one[] = { "type", "click", NULL };
    const char *two[] = { "segment", "m\"q", "op", "enter", NULL };
    const char *cut[] = { "type", "sent", "class", NULL, NULL };    /* a NULL value ends them */

    pb_prom_sample(out, "pb_a", NULL, 0);
    pb_prom_sample(out, "pb_b", one, 18446744073709551615ULL);
    pb_prom_sample(out, "pb_c", two, 3);
    pb_prom_sample(out, "pb_d", cut, 1);
    pb_prom_sample_signed(out, "pb_e", NULL, -1);
    ck_assert_str_eq(out->str, "pb_a 0\n"
                               "pb_b{type=\"click\"} 18446744073709551615\n"
                               "pb_c{segment=\"m\\\"q\",op=\"enter\"} 3\n"
                               "pb_d{type=\"sent\"} 1\n"
                               "pb_e -1\n");
}
END_TEST

START_TEST(test_counter_and_gauge)
{
    pb_prom_counter(out, "pb_n_total", "N.", 7);
    pb_prom_gauge(out, "pb_g", "G.", 42);
    ck_assert_str_eq(out->str, "# HELP pb_n_total N.\n# TYPE pb_n_total counter\npb_n_total 7\n"
                               "# HELP pb_g G.\n# TYPE pb_g gauge\npb_g 42\n");
}
END_TEST

START_TEST(test_listen_addresses)
{
    static const char *const good[] = { "127.0.0.1:9465", "0.0.0.0:1", "[::1]:65535",
                                        "[2001:db8::1]:80" };
    static const char *const bad[] = { "127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536",
                                       "localhost:80", "::1:80", "[::1]", ":80",
                                       "127.0.0.1:80x", "127.0.0.1: 80", "[127.0.0.1]:80" };
    struct sockaddr_storage ss;
    socklen_t len;

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        ck_assert_msg(pb_listen_addr(good[i], &ss, &len) == 0, "%s refused", good[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(pb_listen_addr(bad[i], &ss, &len) == -1, "%s taken", bad[i]);
}
END_TEST

START_TEST(test_listen_open)
{
    char err[256];
    int fd = pb_listen_open("127.0.0.1:0x", "scorer.admin_listen", err, sizeof(err));

    ck_assert_int_eq(fd, -1);
    ck_assert_str_eq(err, "scorer.admin_listen: \"127.0.0.1:0x\" is not an address and port");
    /* a port taken by a listener of our own: opened once, refused the second time */
    for (int port = 20000; port < 20100; port++) {
        char spec[32], want[128];
        int second;
        snprintf(spec, sizeof(spec), "127.0.0.1:%d", port);
        if ((fd = pb_listen_open(spec, "scorer.admin_listen", err, sizeof(err))) < 0)
            continue;
        second = pb_listen_open(spec, "scorer.admin_listen", err, sizeof(err));
        close(fd);
        ck_assert_int_eq(second, -1);
        snprintf(want, sizeof(want), "cannot listen on %s (scorer.admin_listen): Address "
                 "already in use", spec);
        ck_assert_str_eq(err, want);
        return;
    }
    ck_abort_msg("no free port in 20000..20099");
}
END_TEST

static Suite *prom_suite(void)
{
    Suite *s = suite_create("prom");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_header);
    tcase_add_test(tc, test_help_escaped);
    tcase_add_test(tc, test_label_value_escaped);
    tcase_add_test(tc, test_samples);
    tcase_add_test(tc, test_counter_and_gauge);
    tcase_add_test(tc, test_listen_addresses);
    tcase_add_test(tc, test_listen_open);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(prom_suite());
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
