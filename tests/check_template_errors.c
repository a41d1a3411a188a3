/*
 * check_template_errors.c - templates that must not load, each with the
 * file:line of the mistake and what is wrong, and renders that must be
 * refused (a recipient or campaign that would break the message).
 */
#include <stdio.h>
#include <string.h>
#include <check.h>
#include "check_template.h"
#include "testutil.h"

/* src does not load; the error is "<path>:<line>: ..." (line 0: no line)
 * and holds want. */
static void assert_refused(const char *src, unsigned line, const char *want)
{
    char err[1024], prefix[600];
    const char *path = ct_write(src);
    struct pb_template *t = pb_tpl_load(path, NULL, err, sizeof(err));

    ck_assert_msg(t == NULL, "loaded: %s", src);
    if (line > 0)
        snprintf(prefix, sizeof(prefix), "%s:%u: ", path, line);
    else
        snprintf(prefix, sizeof(prefix), "%s: ", path);
    ck_assert_msg(g_str_has_prefix(err, prefix), "\"%s\" does not start with \"%s\"", err,
                  prefix);
    ck_assert_msg(strstr(err, want) != NULL, "\"%s\" lacks \"%s\"", err, want);
}

#define HDRS "From: Shop <news@example.com>\nSubject: Hi\n"

START_TEST(test_unknown_placeholder)
{
    assert_refused(HDRS "Content-Type: text/plain\n\nline 4\nline 5\nHallo {{frist_name}}\n",
                   7, "{{frist_name}}: unknown placeholder (known: email, first_name");
    assert_refused("From: Shop <news@example.com>\nSubject: Hi {{firstname|x}}\n\nbody\n", 2,
                   "the Subject header: {{firstname}}: unknown placeholder");
    assert_refused(HDRS "X-Note: {{attr:Plan}}\n\nbody\n", 3, "unknown placeholder");
    assert_refused(HDRS "\n{{event:}}\n", 4, "unknown placeholder");
}
END_TEST

START_TEST(test_placeholder_in_multipart_line)
{
    /* the HTML part's content starts on line 13; the mistake is on 14 */
    const char *src = "From: Shop <news@example.com>\nSubject: Hi\nMIME-Version: 1.0\n"
        "Content-Type: multipart/alternative; boundary=\"b\"\n\n--b\n"
        "Content-Type: text/plain\n\nHallo {{first_name}}\n--b\n"
        "Content-Type: text/html\n\n<p>Hallo\n{{last_nam}}</p>\n--b--\n";
    assert_refused(src, 14, "the text/html part: {{last_nam}}: unknown placeholder");
}
END_TEST

START_TEST(test_unterminated)
{
    assert_refused(HDRS "\nHallo {{first_name\n}}\n", 4, "\"{{\" without \"}}\"");
}
END_TEST

START_TEST(test_structure)
{
    assert_refused("From: Shop <news@example.com>\n\nbody\n", 0, "no Subject header");
    assert_refused("Subject: Hi\n\nbody\n", 0, "no From header and submit.from is not set");
    assert_refused(HDRS "Bcc: all@example.com\n\nbody\n", 3, "Bcc would add recipients");
    assert_refused(HDRS "Cc: x@example.com\n\nbody\n", 3, "Cc would add recipients");
    assert_refused(HDRS "Date: Mon, 1 Jan 2024 00:00:00 +0000\n\nbody\n", 3, "Date is written");
    assert_refused(HDRS "X-Campaign: spring\n\nbody\n", 3, "the campaign header");
    assert_refused("From: {{first_name}} <news@example.com>\nSubject: Hi\n\nbody\n", 1,
                   "From: no placeholders");
    assert_refused("From: not an address\nSubject: Hi\n\nbody\n", 1, "From: not one address");
    assert_refused(HDRS "To: max@example.com\n\nbody\n", 3, "the display name only");
    assert_refused(HDRS "Subject: again\n\nbody\n", 3, "a second Subject");
    assert_refused(HDRS "To:\nTo: {{first_name}}\n\nbody\n", 4, "a second To");
    assert_refused(HDRS "Content-Type: text/plain; charset=iso-8859-1\n\nbody\n", 5,
                   "charset iso-8859-1");
    assert_refused(HDRS "Content-Type: image/png\n\nbody\n", 5, "a png part");
    assert_refused(HDRS "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
                   "Content-Type: text/plain\n\nx\n--b--\n", 0, "multipart/mixed");
    assert_refused(HDRS "\nGr\xfc\xdf" "e\n", 4, "not UTF-8");
}
END_TEST

START_TEST(test_too_large)
{
    GString *big = g_string_new(HDRS "\n");

    while (big->len <= 1024 * 1024)
        g_string_append(big, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\n");
    assert_refused(big->str, 0, "over 1 MB");
    g_string_free(big, TRUE);
}
END_TEST

START_TEST(test_missing_file)
{
    char err[512];
    ck_assert_ptr_null(pb_tpl_load("/nonexistent/x.eml", NULL, err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/x.eml: cannot read"));
}
END_TEST

/* check_dir reports every bad file, each with its name and line. */
START_TEST(test_check_dir)
{
    char dir[512], path[600], err[4096];

    snprintf(dir, sizeof(dir), "%s", tu_tmpdir());
    snprintf(path, sizeof(path), "%s/good.eml", dir);
    tu_write_file(path, HDRS "\nok {{first_name}}\n", strlen(HDRS) + 19);
    snprintf(path, sizeof(path), "%s/bad1.eml", dir);
    tu_write_file(path, HDRS "\n{{nope}}\n", strlen(HDRS) + 10);
    snprintf(path, sizeof(path), "%s/bad2.eml", dir);
    tu_write_file(path, "Subject: x\n\nbody\n", 17);
    snprintf(path, sizeof(path), "%s/notes.txt", dir);
    tu_write_file(path, "{{nope}}", 8);
    ck_assert_int_eq(pb_tpl_check_dir(dir, NULL, err, sizeof(err)), 2);
    ck_assert_ptr_nonnull(strstr(err, "bad1.eml:4: "));
    ck_assert_ptr_nonnull(strstr(err, "bad2.eml: no From"));
    ck_assert_ptr_null(strstr(err, "good.eml"));
    ck_assert_ptr_null(strstr(err, "notes.txt"));
}
END_TEST

/* A render whose recipient or campaign would break the message is refused. */
START_TEST(test_bad_input)
{
    struct pb_template *t = ct_load(HDRS "\nbody\n");
    const char *bad_to[] = { "a b@example.com", "max@example.com\r\nBcc: x@y", "-oQ@example.com",
                             "noat", "x@", "<x@example.com>", "a@b@c", "", NULL };
    GString *out = g_string_new("old");
    char err[256];

    for (size_t i = 0; i < sizeof(bad_to) / sizeof(bad_to[0]); i++) {
        struct pb_tpl_input in = { .to = bad_to[i], .campaign = "c" };
        ck_assert_msg(pb_tpl_render(t, &in, out, NULL, err, sizeof(err)) == -1, "to %s",
                      bad_to[i]);
        ck_assert_ptr_nonnull(strstr(err, "not a plain address"));
        ck_assert_uint_eq(out->len, 0);
    }
    const char *bad_campaign[] = { "", " lead", "a\nb", "caf\xc3\xa9",
                                   "0123456789012345678901234567890123456789012345678901234567890"
                                   "12345", NULL };
    for (size_t i = 0; i < sizeof(bad_campaign) / sizeof(bad_campaign[0]); i++) {
        struct pb_tpl_input in = { .to = "x@example.com", .campaign = bad_campaign[i] };
        ck_assert_int_eq(pb_tpl_render(t, &in, out, NULL, err, sizeof(err)), -1);
        ck_assert_ptr_nonnull(strstr(err, "campaign"));
    }
    g_string_free(out, TRUE);
    pb_tpl_free(t);
}
END_TEST

Suite *template_errors_suite(void);

Suite *template_errors_suite(void)
{
    Suite *s = suite_create("template errors");
    TCase *tc = tcase_create("load");

    tcase_add_test(tc, test_unknown_placeholder);
    tcase_add_test(tc, test_placeholder_in_multipart_line);
    tcase_add_test(tc, test_unterminated);
    tcase_add_test(tc, test_structure);
    tcase_add_test(tc, test_too_large);
    tcase_add_test(tc, test_missing_file);
    tcase_add_test(tc, test_check_dir);
    tcase_add_test(tc, test_bad_input);
    suite_add_tcase(s, tc);
    return s;
}
