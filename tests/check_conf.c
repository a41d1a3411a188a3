/*
 * check_conf.c - unit tests for postbeacon.conf loading (lib/conf.c and
 * lib/conf_schema.c): the shipped sample, defaults, and for each broken
 * fixture in tests/data/conf/ the exact "file:line: setting: ..." message
 * a user would see; size suffixes and socket modes. The tracker
 * section's tests: check_conf_tracker.c.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "conf.h"
#include "testutil.h"
#include "check_conf.h"

START_TEST(test_sample_config)
{
    struct pb_conf c;
    const char *path = tu_test_path("../config/postbeacon.conf");

    load_fixture("../config/postbeacon.conf", &c);
    ck_assert_str_eq(c.path, path);
    ck_assert_str_eq(c.tracking_url, "https://t.example.com");
    ck_assert_str_eq(c.keys_file, "/etc/postbeacon/keys");
    ck_assert_str_eq(c.log_facility, "mail");

    ck_assert_str_eq(c.redis.host, "127.0.0.1");
    ck_assert_int_eq(c.redis.port, 6379);
    ck_assert_ptr_null(c.redis.socket);
    ck_assert_ptr_null(c.redis.password);
    ck_assert_int_eq(c.redis.db, 0);
    ck_assert_int_eq(c.redis.timeout_ms, 200);
    ck_assert_str_eq(c.redis.prefix, "pb:");
    ck_assert_str_eq(c.redis.journal, "/var/lib/postbeacon/milter.journal");
    ck_assert_int_eq(c.redis.journal_fsync, PB_FSYNC_SECOND);
    ck_assert_int_eq(c.redis.queue_max, 10000);
    ck_assert_int_eq(c.redis.retention_days, 180);

    ck_assert_int_eq(c.utm.enabled, 1);
    ck_assert_str_eq(c.utm.source, "newsletter");
    ck_assert_str_eq(c.utm.medium, "email");
    ck_assert_ptr_null(c.utm.term);
    ck_assert_int_eq(c.utm.content, PB_UTM_CONTENT_POSITION);
    ck_assert_uint_eq(c.utm.domains.count, 2);
    ck_assert_str_eq(c.utm.domains.items[0], "example.com");
    ck_assert_str_eq(c.utm.domains.items[1], "shop.example.com");
    ck_assert_ptr_null(c.utm.domains.items[2]);

    ck_assert_str_eq(c.milter.socket, "unix:/run/postbeacon/milter.sock");
    ck_assert_int_eq(c.milter.socket_mode, 0660);
    ck_assert_str_eq(c.milter.user, "postbeacon");
    ck_assert_ptr_null(c.milter.group);
    ck_assert_str_eq(c.milter.pidfile, "/run/postbeacon/milter.pid");
    ck_assert_int_eq(c.milter.workers_timeout, 30);
    ck_assert_uint_eq(c.milter.daemon_names.count, 1);
    ck_assert_str_eq(c.milter.daemon_names.items[0], "ORIGINATING");
    ck_assert_int_eq(c.milter.authenticated, 1);
    ck_assert_uint_eq(c.milter.senders.count, 1);
    ck_assert(pb_strlist_has(&c.milter.senders, "NEWS@example.com"));
    ck_assert_str_eq(c.milter.campaign_header, "X-Campaign");
    ck_assert_int_eq(c.milter.strip_campaign_header, 1);
    ck_assert_str_eq(c.milter.skip_header, "X-Postbeacon-Skip");
    ck_assert_uint_eq(c.milter.exclude_rcpt_domains.count, 0);
    ck_assert_str_eq(c.milter.default_campaign, "newsletter");
    ck_assert_int_eq(c.milter.multi_recipient, PB_MULTI_CAMPAIGN);
    ck_assert_int_eq(c.milter.track_clicks, 1);
    ck_assert_int_eq(c.milter.track_opens, 1);
    ck_assert_int_eq(c.milter.list_unsubscribe, 1);
    ck_assert_ptr_null(c.milter.unsubscribe_mailto);
    ck_assert_int_eq(c.milter.pixel_position, PB_PIXEL_AFTER_BODY);
    ck_assert_str_eq(c.milter.notrack_attribute, "data-pb-notrack");
    ck_assert_uint_eq(c.milter.unsubscribe_patterns.count, 3);
    ck_assert_str_eq(c.milter.unsubscribe_patterns.items[2], "opt-out");
    ck_assert_uint_eq(c.milter.max_message_size, 10 * 1024 * 1024);
    pb_conf_free(&c);
}
END_TEST

START_TEST(test_defaults)
{
    struct pb_conf c;

    pb_conf_defaults(&c);
    ck_assert_ptr_null(c.tracking_url);
    ck_assert_str_eq(c.keys_file, "/etc/postbeacon/keys");
    ck_assert_str_eq(c.redis.host, "127.0.0.1");
    ck_assert_int_eq(c.redis.port, 6379);
    ck_assert_int_eq(c.redis.journal_fsync, PB_FSYNC_SECOND);
    ck_assert_int_eq(c.milter.socket_mode, 0660);
    ck_assert_int_eq(c.milter.pixel_position, PB_PIXEL_AFTER_BODY);
    ck_assert_uint_eq(c.milter.max_message_size, 10 * 1024 * 1024);
    /* lists start empty, except the documented unsubscribe patterns */
    ck_assert_ptr_null(c.utm.domains.items);
    ck_assert_uint_eq(c.utm.domains.count, 0);
    ck_assert_ptr_null(c.milter.daemon_names.items);
    ck_assert_ptr_null(c.milter.senders.items);
    ck_assert_ptr_null(c.milter.exclude_rcpt_domains.items);
    ck_assert_uint_eq(c.milter.unsubscribe_patterns.count, 3);
    ck_assert(pb_strlist_has(&c.milter.unsubscribe_patterns, "OptOut"));
    ck_assert(!pb_strlist_has(&c.milter.unsubscribe_patterns, "opt"));
    ck_assert(!pb_strlist_has(&c.utm.domains, "example.com"));
    pb_conf_free(&c);
    pb_conf_free(&c);           /* freeing twice is harmless: all zeroed */

    tu_test_conf(&c);
    ck_assert_str_eq(c.tracking_url, "https://t.example.net");
    ck_assert(pb_strlist_has(&c.utm.domains, "shop.example.org"));
    pb_conf_free(&c);
}
END_TEST

START_TEST(test_minimal_file_normalised)
{
    struct pb_conf c;

    load_fixture("data/conf/minimal.conf", &c);
    ck_assert_str_eq(c.tracking_url, "https://t.example.net");
    ck_assert_str_eq(c.milter.socket, "unix:/run/postbeacon/milter.sock");
    ck_assert_int_eq(c.utm.enabled, 1);
    pb_conf_free(&c);
}
END_TEST

START_TEST(test_reserved_sections)
{
    struct pb_conf c;

    load_fixture("data/conf/reserved.conf", &c);
    ck_assert_int_eq(c.scorer.half_life_days, 14);
    ck_assert_int_eq(c.scorer.batch, 256);
    ck_assert_str_eq(c.scorer.consumer_group, "scorer");
    pb_conf_free(&c);
}
END_TEST

static const struct {
    const char *file;
    const char *message;        /* expected after "<path>" */
} bad_files[] = {
    { "syntax.conf", ":4: syntax error" },
    { "bad_enum.conf",
      ":4: milter.pixel_position: \"middle\" is not one of after-body, before-body-end, none" },
    { "typo_setting.conf",
      ":3: unknown setting milter.pixle_position (did you mean pixel_position?)" },
    { "unknown_setting.conf",
      ":4: unknown setting redis.frobnicate; known settings in redis: host, port, socket," },
    { "unknown_section.conf", ":3: unknown section miltr (did you mean milter?)" },
    { "wrong_type.conf", ":3: redis.port: expected an integer, got a string" },
    { "wrong_type_bool.conf", ":2: utm.enabled: expected a boolean, got a string" },
    { "out_of_range.conf", ":4: redis.port: 70000 is out of range (use 1..65535" },
    { "no_base_url.conf", ":2: tracking.base_url is required" },
    { "no_tracking.conf", ": tracking.base_url is required (add tracking = {" },
    { "base_url_path.conf", ":2: tracking.base_url: \"https://t.example.com/track\" has a path" },
    { "base_url_scheme.conf", ":1: tracking.base_url: \"ftp://t.example.com\" is not an http" },
    { "base_url_query.conf", ":1: tracking.base_url: \"https://t.example.com?x=1\" has a user "
      "name, query or fragment" },
    { "bad_sender.conf", ":4: milter.senders[1]: \"bogus\" is not \"user@example.com\"" },
    { "list_not_array.conf", ":3: utm.domains: expected an array of strings" },
    { "bad_size.conf", ":2: milter.max_message_size: \"10X\" is not a size" },
    { "bad_mode.conf", ":3: milter.socket_mode: \"0999\" is not a file mode" },
    { "section_not_group.conf", ":2: milter: expected a group, got an integer" },
    { "bad_facility.conf", ":2: log.facility: \"mial\" is not a syslog facility" },
    { "bad_socket.conf", ":2: milter.socket: \"/\" is not a milter socket" },
    { "bad_fsync.conf", ":2: redis.journal_fsync: expected a string, got an integer "
      "(one of always, second, never)" },
    { "bad_header.conf", ":2: milter.campaign_header: \"X-Campaign:\" is not a header name" },
};

START_TEST(test_error_in_included_file)
{
    struct pb_conf c;
    char expect[1200];

    ck_assert_int_eq(pb_conf_load(tu_test_path("data/conf/include.conf"), &c, conf_err, sizeof(conf_err)),
                     -1);
    snprintf(expect, sizeof(expect), "%s:3: utm.content: \"everything\" is not one of position, "
             "anchor, none", tu_test_path("data/conf/include_part.inc"));
    ck_assert_str_eq(conf_err, expect);
}
END_TEST

START_TEST(test_bad_fixture)
{
    struct pb_conf c;
    char rel[128], expect[1200];
    const char *path;

    snprintf(rel, sizeof(rel), "data/conf/%s", bad_files[_i].file);
    path = tu_test_path(rel);
    snprintf(expect, sizeof(expect), "%s%s", path, bad_files[_i].message);
    ck_assert_int_eq(pb_conf_load(path, &c, conf_err, sizeof(conf_err)), -1);
    if (strncmp(conf_err, expect, strlen(expect)) != 0)
        ck_abort_msg("%s:\n  got  %s\n  want %s...", bad_files[_i].file, conf_err, expect);
    /* a failed load leaves nothing allocated */
    ck_assert_ptr_null(c.path);
    ck_assert_ptr_null(c.redis.host);
    ck_assert_ptr_null(c.milter.unsubscribe_patterns.items);
}
END_TEST

START_TEST(test_missing_file)
{
    struct pb_conf c;

    ck_assert_int_eq(pb_conf_load("/nonexistent/postbeacon.conf", &c, conf_err, sizeof(conf_err)), -1);
    ck_assert_str_eq(conf_err, "/nonexistent/postbeacon.conf: cannot open: No such file or directory");
}
END_TEST

START_TEST(test_size_suffixes)
{
    static const struct { const char *value; size_t bytes; } good[] = {
        { "\"10M\"", 10u << 20 }, { "\"512K\"", 512u << 10 }, { "\"1G\"", 1u << 30 },
        { "\"2m\"", 2u << 20 },   { "\"20MB\"", 20u << 20 },  { "\"4096\"", 4096 },
        { "1048576", 1048576 },   { "2097152L", 2097152 },
    };
    static const char *bad[] = { "\"0\"", "\"2G\"", "\"-1M\"", "\"10 M\"", "\"M\"",
                                 "\"1T\"", "100", "\"99999999999999999999\"", "1.5", "true" };
    char text[256];
    struct pb_conf c;

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        snprintf(text, sizeof(text), "milter = { max_message_size = %s; };", good[i].value);
        if (load_text(text, &c) != 0)
            ck_abort_msg("%s: %s", good[i].value, conf_err);
        ck_assert_uint_eq(c.milter.max_message_size, good[i].bytes);
        pb_conf_free(&c);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(text, sizeof(text), "milter = {\n max_message_size = %s; };", bad[i]);
        if (load_text(text, &c) == 0)
            ck_abort_msg("%s accepted", bad[i]);
        ck_assert_ptr_nonnull(strstr(conf_err, ":3: milter.max_message_size: "));
    }
}
END_TEST

START_TEST(test_socket_modes)
{
    static const struct { const char *value; int mode; } good[] = {
        { "\"0660\"", 0660 }, { "\"660\"", 0660 }, { "0660", 0660 }, { "0600", 0600 },
        { "0x1b0", 0660 },    { "\"0777\"", 0777 }, { "\"0\"", 0 },
    };
    static const char *bad[] = { "\"0999\"", "\"01777\"", "\"rw-rw----\"", "0999", "1000",
                                 "\"\"", "true" };
    char text[256];
    struct pb_conf c;

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        snprintf(text, sizeof(text), "milter = { socket_mode = %s; };", good[i].value);
        if (load_text(text, &c) != 0)
            ck_abort_msg("%s: %s", good[i].value, conf_err);
        ck_assert_int_eq(c.milter.socket_mode, good[i].mode);
        pb_conf_free(&c);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(text, sizeof(text), "milter = { socket_mode = %s; };", bad[i]);
        if (load_text(text, &c) == 0)
            ck_abort_msg("%s accepted", bad[i]);
        ck_assert_ptr_nonnull(strstr(conf_err, ":2: milter.socket_mode: "));
    }
}
END_TEST

START_TEST(test_all_enum_words)
{
    static const struct { const char *text; size_t offset; int value; } cases[] = {
        { "milter = { pixel_position = \"before-body-end\"; };",
          offsetof(struct pb_conf, milter.pixel_position), PB_PIXEL_BEFORE_BODY_END },
        { "milter = { pixel_position = \"none\"; };",
          offsetof(struct pb_conf, milter.pixel_position), PB_PIXEL_NONE },
        { "milter = { multi_recipient = \"skip\"; };",
          offsetof(struct pb_conf, milter.multi_recipient), PB_MULTI_SKIP },
        { "utm = { content = \"anchor\"; };", offsetof(struct pb_conf, utm.content),
          PB_UTM_CONTENT_ANCHOR },
        { "utm = { content = \"none\"; };", offsetof(struct pb_conf, utm.content),
          PB_UTM_CONTENT_NONE },
        { "redis = { journal_fsync = \"always\"; };", offsetof(struct pb_conf, redis.journal_fsync),
          PB_FSYNC_ALWAYS },
        { "redis = { journal_fsync = \"never\"; };", offsetof(struct pb_conf, redis.journal_fsync),
          PB_FSYNC_NEVER },
    };
    struct pb_conf c;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (load_text(cases[i].text, &c) != 0)
            ck_abort_msg("%s: %s", cases[i].text, conf_err);
        ck_assert_int_eq(*(int *)(void *)((char *)&c + cases[i].offset), cases[i].value);
        pb_conf_free(&c);
    }
    ck_assert_int_eq(load_text("utm = { content = \"Position\"; };", &c), -1);
    ck_assert_ptr_nonnull(strstr(conf_err, "\"Position\" is not one of position, anchor, none"));
}
END_TEST

/* redis.journal = "" turns the milter's journal off (no write-ahead). */
START_TEST(test_journal_off)
{
    struct pb_conf c;

    if (load_text("redis = { journal = \"\"; };", &c) != 0)
        ck_abort_msg("journal = \"\": %s", conf_err);
    ck_assert_ptr_null(c.redis.journal);
    pb_conf_free(&c);
}
END_TEST

START_TEST(test_every_setting_written)
{
    struct pb_conf c;
    const char *text =
        "keys = { file = \"/tmp/k\"; };\n"
        "log = { facility = \"local3\"; };\n"
        "redis = { socket = \"/run/r.sock\"; password = \"pw\"; db = 3; timeout_ms = 50;\n"
        "  prefix = \"x:\"; journal = \"/tmp/j\"; queue_max = 5; retention_days = 7;\n"
        "  host = \"redis.internal\"; port = 6380; };\n"
        "utm = { enabled = false; source = \"s\"; medium = \"m\"; term = \"t\";\n"
        "  domains = [ \"Example.COM\" ]; };\n"
        "milter = { socket = \"inet:8891@127.0.0.1\"; user = \"\"; group = \"mail\";\n"
        "  pidfile = \"\"; timeout = 9; daemon_names = [ \"smtpd\", \"pickup\" ];\n"
        "  authenticated = false; senders = [ \"@Mail.Example.com\" ];\n"
        "  campaign_header = \"X-Camp\"; strip_campaign_header = false;\n"
        "  skip_header = \"X-No\"; exclude_recipient_domains = ( \"corp.example\" );\n"
        "  default_campaign = \"weekly news\"; track_clicks = false; track_opens = false;\n"
        "  list_unsubscribe = false; unsubscribe_mailto = \"u@example.com\";\n"
        "  notrack_attribute = \"Data-NoTrack\"; unsubscribe_patterns = [ ];\n"
        "};\n";

    if (load_text(text, &c) != 0)
        ck_abort_msg("%s", conf_err);
    ck_assert_str_eq(c.keys_file, "/tmp/k");
    ck_assert_str_eq(c.log_facility, "local3");
    ck_assert_str_eq(c.redis.socket, "/run/r.sock");
    ck_assert_str_eq(c.redis.password, "pw");
    ck_assert_int_eq(c.redis.db, 3);
    ck_assert_int_eq(c.redis.timeout_ms, 50);
    ck_assert_str_eq(c.redis.prefix, "x:");
    ck_assert_str_eq(c.redis.journal, "/tmp/j");
    ck_assert_int_eq(c.redis.queue_max, 5);
    ck_assert_int_eq(c.redis.retention_days, 7);
    ck_assert_str_eq(c.redis.host, "redis.internal");
    ck_assert_int_eq(c.redis.port, 6380);
    ck_assert_int_eq(c.utm.enabled, 0);
    ck_assert_str_eq(c.utm.term, "t");
    ck_assert_str_eq(c.utm.domains.items[0], "example.com");
    ck_assert_str_eq(c.milter.socket, "inet:8891@127.0.0.1");
    ck_assert_ptr_null(c.milter.user);
    ck_assert_str_eq(c.milter.group, "mail");
    ck_assert_ptr_null(c.milter.pidfile);
    ck_assert_int_eq(c.milter.workers_timeout, 9);
    ck_assert_uint_eq(c.milter.daemon_names.count, 2);
    ck_assert_int_eq(c.milter.authenticated, 0);
    ck_assert_str_eq(c.milter.senders.items[0], "@mail.example.com");
    ck_assert_str_eq(c.milter.campaign_header, "X-Camp");
    ck_assert_int_eq(c.milter.strip_campaign_header, 0);
    ck_assert_str_eq(c.milter.skip_header, "X-No");
    ck_assert_str_eq(c.milter.exclude_rcpt_domains.items[0], "corp.example");
    ck_assert_str_eq(c.milter.default_campaign, "weekly news");
    ck_assert_int_eq(c.milter.track_clicks + c.milter.track_opens + c.milter.list_unsubscribe, 0);
    ck_assert_str_eq(c.milter.unsubscribe_mailto, "u@example.com");
    ck_assert_str_eq(c.milter.notrack_attribute, "data-notrack");
    ck_assert_uint_eq(c.milter.unsubscribe_patterns.count, 0);
    ck_assert_ptr_nonnull(c.milter.unsubscribe_patterns.items);
    ck_assert_ptr_null(c.milter.unsubscribe_patterns.items[0]);
    pb_conf_free(&c);
}
END_TEST

START_TEST(test_more_rejects)
{
    static const struct reject cases[] = {
        { "milter = { default_campaign = \"\"; };", "milter.default_campaign: \"\" must be 1..64" },
        { "milter = { senders = [ \"\" ]; };", "milter.senders[0]: \"\" is not" },
        { "milter = { senders = [ 1 ]; };", "milter.senders[0]: expected a string" },
        { "milter = { unsubscribe_mailto = \"mailto:u@x\"; };", "without mailto:" },
        { "milter = { notrack_attribute = \"a b\"; };", "not an HTML attribute name" },
        { "utm = { domains = [ \"*.example.com\" ]; };", "subdomains are included" },
        { "redis = { journal = \"relative/path\"; };", "redis.journal: \"relative/path\" is not "
          "an absolute path" },
        { "redis = { port = 1.5; };", "redis.port: expected an integer, got a number" },
        { "tracker = 1;", "tracker: expected a group" },
        { "milter = { timeout = 0; };", "milter.timeout: 0 is out of range (use 1..86400" },
        { "base_url = \"https://x\";", "unknown section base_url; known sections: tracking, keys" },
    };
    assert_rejected(cases, sizeof(cases) / sizeof(cases[0]));
}
END_TEST

/* ---- the tracker section ------------------------------------------------ */

static Suite *conf_suite(void)
{
    Suite *s = suite_create("conf");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_sample_config);
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_minimal_file_normalised);
    tcase_add_test(tc, test_reserved_sections);
    tcase_add_loop_test(tc, test_bad_fixture, 0, sizeof(bad_files) / sizeof(bad_files[0]));
    tcase_add_test(tc, test_error_in_included_file);
    tcase_add_test(tc, test_missing_file);
    tcase_add_test(tc, test_size_suffixes);
    tcase_add_test(tc, test_socket_modes);
    tcase_add_test(tc, test_all_enum_words);
    tcase_add_test(tc, test_journal_off);
    tcase_add_test(tc, test_every_setting_written);
    tcase_add_test(tc, test_more_rejects);
    suite_add_tcase(s, tc);
    suite_add_tcase(s, tracker_conf_tcase());
    suite_add_tcase(s, submit_conf_tcase());
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(conf_suite());
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
