/*
 * check_conf_submit.c - the submit and templates sections of
 * postbeacon.conf: defaults, the shipped sample, every setting read, and
 * bad values refused with file:line and the fix.
 */
#include <check.h>
#include <string.h>
#include "conf.h"
#include "check_conf.h"

START_TEST(test_submit_defaults)
{
    struct pb_conf c;

    pb_conf_defaults(&c);
    ck_assert_str_eq(c.submit.command, "/usr/sbin/sendmail -t -i -f ${sender}");
    ck_assert_ptr_null(c.submit.smtp);
    ck_assert_ptr_null(c.submit.from);
    ck_assert_ptr_null(c.submit.reply_to);
    ck_assert_ptr_null(c.submit.envelope_sender);
    ck_assert_int_eq(c.submit.timeout, 60);
    ck_assert_str_eq(c.templates.dir, SYSCONFDIR "/postbeacon/templates");
    pb_conf_free(&c);
}
END_TEST

START_TEST(test_submit_sample)
{
    struct pb_conf c;

    load_fixture("../config/postbeacon.conf", &c);
    ck_assert_str_eq(c.submit.command, "/usr/sbin/sendmail -t -i -f ${sender}");
    ck_assert_ptr_null(c.submit.smtp);
    ck_assert_str_eq(c.submit.from, "Example Shop <news@example.com>");
    ck_assert_str_eq(c.templates.dir, "/etc/postbeacon/templates");
    pb_conf_free(&c);
}
END_TEST

START_TEST(test_submit_every_setting)
{
    struct pb_conf c;

    ck_assert_msg(load_text("submit = { command = \"/usr/local/bin/msmtp -t\"; "
                            "smtp = \"127.0.0.1:2525\"; from = \"Shop <news@example.com>\"; "
                            "reply_to = \"help@example.com\"; envelope_sender = "
                            "\"bounces@example.com\"; timeout = 5; };\n"
                            "templates = { dir = \"/srv/templates\"; };", &c) == 0, "%s",
                  conf_err);
    ck_assert_str_eq(c.submit.command, "/usr/local/bin/msmtp -t");
    ck_assert_str_eq(c.submit.smtp, "127.0.0.1:2525");
    ck_assert_str_eq(c.submit.from, "Shop <news@example.com>");
    ck_assert_str_eq(c.submit.reply_to, "help@example.com");
    ck_assert_str_eq(c.submit.envelope_sender, "bounces@example.com");
    ck_assert_int_eq(c.submit.timeout, 5);
    ck_assert_str_eq(c.templates.dir, "/srv/templates");
    pb_conf_free(&c);
    ck_assert_int_eq(load_text("submit = { smtp = \"smtps://mail.example.com:465\"; "
                               "from = \"\"; };", &c), 0);
    ck_assert_str_eq(c.submit.smtp, "smtps://mail.example.com:465");
    ck_assert_ptr_null(c.submit.from);
    pb_conf_free(&c);
}
END_TEST

START_TEST(test_submit_rejects)
{
    static const struct reject cases[] = {
        { "submit = { command = \"sendmail -t\"; };",
          "submit.command: \"sendmail -t\" does not start with an absolute program path" },
        { "submit = { smtp = \"mail.example.com\"; };",
          "submit.smtp: \"mail.example.com\" is not \"host:port\" or an smtp:// URL" },
        { "submit = { smtp = \"host:25x\"; };", "is not \"host:port\"" },
        { "submit = { from = \"news\"; };", "submit.from: \"news\" is not one address" },
        { "submit = { reply_to = \"a@example.com, b@example.com\"; };", "is not one address" },
        { "submit = { envelope_sender = \"<b@example.com>\"; };",
          "submit.envelope_sender: \"<b@example.com>\" is not a plain address" },
        { "submit = { timeout = 0; };", "submit.timeout" },
        { "templates = { dir = \"templates\"; };",
          "templates.dir: \"templates\" is not an absolute path" },
        { "submit = { timout = 5; };",
          "unknown setting submit.timout (did you mean timeout?)" },
    };
    assert_rejected(cases, sizeof(cases) / sizeof(cases[0]));
}
END_TEST

TCase *submit_conf_tcase(void)
{
    TCase *tc = tcase_create("submit");

    tcase_add_test(tc, test_submit_defaults);
    tcase_add_test(tc, test_submit_sample);
    tcase_add_test(tc, test_submit_every_setting);
    tcase_add_test(tc, test_submit_rejects);
    return tc;
}
