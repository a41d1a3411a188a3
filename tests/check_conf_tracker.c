/*
 * check_conf_tracker.c - unit tests for the tracker section of
 * postbeacon.conf: its defaults, the shipped sample, every setting read,
 * max_connections, and the messages of refused values; and the scorer's
 * admin listener, written and checked like the tracker's. Part of
 * check_conf (see check_conf.h).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "conf.h"
#include "testutil.h"
#include "check_conf.h"

START_TEST(test_tracker_defaults)
{
    struct pb_conf c;

    pb_conf_defaults(&c);
    ck_assert_uint_eq(c.tracker.listen.count, 1);
    ck_assert_str_eq(c.tracker.listen.items[0], "127.0.0.1:8080");
    ck_assert_uint_eq(c.tracker.admin_listen.count, 1);
    ck_assert_str_eq(c.tracker.admin_listen.items[0], "127.0.0.1:9464");
    ck_assert_str_eq(c.tracker.user, "postbeacon");
    ck_assert_ptr_null(c.tracker.group);
    ck_assert_str_eq(c.tracker.pidfile, "/run/postbeacon/tracker.pid");
    ck_assert_str_eq(c.tracker.journal, "/var/lib/postbeacon/tracker.journal");
    ck_assert_int_eq(c.tracker.queue_max, 10000);
    ck_assert_int_eq(c.tracker.max_header_size, 16384);
    ck_assert_int_eq(c.tracker.max_body_size, 4096);
    ck_assert_int_eq(c.tracker.timeout, 10);
    ck_assert_int_eq(c.tracker.max_connections, 0);     /* from the open-file limit */
    ck_assert_uint_eq(c.tracker.trusted_proxies.count, 0);
    ck_assert_int_eq(c.tracker.full_ip, 0);
    ck_assert_str_eq(c.tracker.language, "en");
    ck_assert_ptr_nonnull(strstr(c.tracker.bots_file, "/postbeacon/bots.conf"));
    ck_assert_int_eq(c.tracker.machine_click_seconds, 5);
    ck_assert_int_eq(c.tracker.stream_max_age_days, 90);
    ck_assert_int_eq(c.tracker.stream_maxlen, 1000000);
    pb_conf_free(&c);
}
END_TEST

START_TEST(test_tracker_sample)
{
    struct pb_conf c;

    load_fixture("../config/postbeacon.conf", &c);
    ck_assert_uint_eq(c.tracker.listen.count, 2);
    ck_assert_str_eq(c.tracker.listen.items[0], "127.0.0.1:8080");
    ck_assert_str_eq(c.tracker.listen.items[1], "[::1]:8080");
    ck_assert_str_eq(c.tracker.admin_listen.items[0], "127.0.0.1:9464");
    ck_assert_str_eq(c.tracker.trusted_proxies.items[0], "127.0.0.1");
    ck_assert_str_eq(c.tracker.bots_file, "/etc/postbeacon/bots.conf");
    ck_assert_str_eq(c.tracker.language, "en");
    ck_assert_int_eq(c.tracker.max_header_size, 16384);
    ck_assert_int_eq(c.tracker.max_connections, 0);     /* the sample's line is a comment */
    pb_conf_free(&c);
}
END_TEST

START_TEST(test_tracker_every_setting)
{
    struct pb_conf c;
    const char *text =
        "tracker = {\n"
        "  listen = [ \"0.0.0.0:80\", \"[::]:80\", \"[2001:db8::1]:8080\" ];\n"
        "  admin_listen = [ ]; user = \"\"; group = \"www-data\"; pidfile = \"\";\n"
        "  journal = \"/tmp/t.journal\"; queue_max = 7; max_header_size = 2048;\n"
        "  max_body_size = 128; timeout = 3; max_connections = 5000;\n"
        "  trusted_proxies = [ \"10.0.0.0/8\", \"2001:db8::/32\", \"192.0.2.1\" ];\n"
        "  full_ip = true; language = \"DE\"; bots_file = \"\";\n"
        "  machine_click_seconds = 0; stream_max_age_days = 0; stream_maxlen = 1500000000;\n"
        "};\n";

    if (load_text(text, &c) != 0)
        ck_abort_msg("%s", conf_err);
    ck_assert_uint_eq(c.tracker.listen.count, 3);
    ck_assert_str_eq(c.tracker.listen.items[2], "[2001:db8::1]:8080");
    ck_assert_uint_eq(c.tracker.admin_listen.count, 0);
    ck_assert_ptr_null(c.tracker.user);
    ck_assert_str_eq(c.tracker.group, "www-data");
    ck_assert_ptr_null(c.tracker.pidfile);
    ck_assert_str_eq(c.tracker.journal, "/tmp/t.journal");
    ck_assert_int_eq(c.tracker.queue_max, 7);
    ck_assert_int_eq(c.tracker.max_header_size, 2048);
    ck_assert_int_eq(c.tracker.max_body_size, 128);
    ck_assert_int_eq(c.tracker.timeout, 3);
    ck_assert_int_eq(c.tracker.max_connections, 5000);
    ck_assert_uint_eq(c.tracker.trusted_proxies.count, 3);
    ck_assert_int_eq(c.tracker.full_ip, 1);
    ck_assert_str_eq(c.tracker.language, "de");
    ck_assert_ptr_null(c.tracker.bots_file);
    ck_assert_int_eq(c.tracker.machine_click_seconds, 0);
    ck_assert_int_eq(c.tracker.stream_max_age_days, 0);
    ck_assert(c.tracker.stream_maxlen == 1500000000L);
    pb_conf_free(&c);
}
END_TEST

/* tracker.max_connections: 0 (automatic) to 1000000; more than the open
 * files allow is cut at run time, not refused here. */
START_TEST(test_tracker_max_connections)
{
    static const int good[] = { 0, 1, 1000000 };
    char text[96];
    struct pb_conf c;

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        snprintf(text, sizeof(text), "tracker = { max_connections = %d; };", good[i]);
        ck_assert_msg(load_text(text, &c) == 0, "%d: %s", good[i], conf_err);
        ck_assert_int_eq(c.tracker.max_connections, good[i]);
        pb_conf_free(&c);
    }
}
END_TEST

/* tracker.journal = "" turns the tracker's journal off (no write-ahead:
 * events wait in memory only). */
START_TEST(test_tracker_journal_off)
{
    struct pb_conf c;

    if (load_text("tracker = { journal = \"\"; };", &c) != 0)
        ck_abort_msg("journal = \"\": %s", conf_err);
    ck_assert_ptr_null(c.tracker.journal);
    pb_conf_free(&c);
}
END_TEST

START_TEST(test_tracker_rejects)
{
    static const struct reject cases[] = {
        { "tracker = { listen = \"127.0.0.1:8080\"; };",
          "tracker.listen: expected an array of strings" },
        { "tracker = { listen = [ \"localhost:8080\" ]; };",
          "tracker.listen[0]: \"localhost:8080\" is not an address and port" },
        { "tracker = { listen = [ \"127.0.0.1\" ]; };", "\"127.0.0.1\" is not an address" },
        { "tracker = { listen = [ \"127.0.0.1:0\" ]; };", "is not an address and port" },
        { "tracker = { listen = [ \"127.0.0.1:65536\" ]; };", "is not an address and port" },
        { "tracker = { listen = [ \"::1:8080\" ]; };", "write \"127.0.0.1:8080\"" },
        { "tracker = { admin_listen = [ \"[::1]:x\" ]; };",
          "tracker.admin_listen[0]: \"[::1]:x\" is not" },
        { "tracker = { trusted_proxies = [ \"10.0.0.0/33\" ]; };",
          "tracker.trusted_proxies[0]: \"10.0.0.0/33\" is not an address or network" },
        { "tracker = { trusted_proxies = [ \"proxy.example.com\" ]; };",
          "is not an address or network" },
        { "tracker = { trusted_proxies = [ \"2001:db8::/129\" ]; };",
          "is not an address or network" },
        { "tracker = { language = \"es\"; };",
          "tracker.language: \"es\" is not a page language (use \"en\", \"de\" or \"fr\")" },
        { "tracker = { max_header_size = 100; };",
          "tracker.max_header_size: 100 is out of range (use 1024..1048576" },
        { "tracker = { timeout = 0; };", "tracker.timeout: 0 is out of range" },
        { "tracker = { max_connections = -1; };",
          "tracker.max_connections: -1 is out of range (use 0..1000000: public connections at "
          "once, e.g. 10000 (0 = as many as the open-file limit allows))" },
        { "tracker = { max_connections = 1000001; };",
          "tracker.max_connections: 1000001 is out of range (use 0..1000000" },
        { "tracker = { max_connections = \"10k\"; };",
          "tracker.max_connections: expected an integer, got a string" },
        { "tracker = { stream_maxlen = -1; };", "tracker.stream_maxlen: -1 is out of range" },
        { "tracker = { stream_maxlen = \"1M\"; };",
          "tracker.stream_maxlen: expected an integer, got a string" },
        { "tracker = { journal = \"tracker.journal\"; };", "is not an absolute path" },
        { "tracker = { bots_file = \"bots.conf\"; };", "is not an absolute path" },
        { "tracker = { full_ip = 1; };", "tracker.full_ip: expected a boolean" },
        { "tracker = { anything = [ 1, 2 ]; };", "unknown setting tracker.anything" },
    };
    assert_rejected(cases, sizeof(cases) / sizeof(cases[0]));
}
END_TEST

/* scorer.admin_listen: none by default, addresses as tracker.admin_listen. */
START_TEST(test_scorer_admin_listen)
{
    static const struct reject cases[] = {
        { "scorer = { admin_listen = [ \"localhost:9465\" ]; };",
          "scorer.admin_listen[0]: \"localhost:9465\" is not an address and port (write "
          "\"127.0.0.1:8080\", \"0.0.0.0:80\" or \"[::1]:8080\")" },
        { "scorer = { admin_listen = \"127.0.0.1:9465\"; };",
          "scorer.admin_listen: expected an array of strings" },
        { "scorer = { admin_listen = [ \"127.0.0.1:9465\", \"[::1]:0\" ]; };",
          "scorer.admin_listen[1]: \"[::1]:0\" is not an address and port" },
    };
    struct pb_conf c;

    pb_conf_defaults(&c);
    ck_assert_uint_eq(c.scorer.admin_listen.count, 0);
    pb_conf_free(&c);
    if (load_text("scorer = { admin_listen = [ \"127.0.0.1:9465\", \"[::1]:9465\" ]; };", &c)
        != 0)
        ck_abort_msg("admin_listen: %s", conf_err);
    ck_assert_uint_eq(c.scorer.admin_listen.count, 2);
    ck_assert_str_eq(c.scorer.admin_listen.items[1], "[::1]:9465");
    pb_conf_free(&c);
    assert_rejected(cases, sizeof(cases) / sizeof(cases[0]));
}
END_TEST

TCase *tracker_conf_tcase(void)
{
    TCase *tc = tcase_create("tracker");

    tcase_add_test(tc, test_tracker_defaults);
    tcase_add_test(tc, test_tracker_sample);
    tcase_add_test(tc, test_tracker_every_setting);
    tcase_add_test(tc, test_tracker_max_connections);
    tcase_add_test(tc, test_tracker_journal_off);
    tcase_add_test(tc, test_tracker_rejects);
    tcase_add_test(tc, test_scorer_admin_listen);
    return tc;
}
