/*
 * check_keys.c - unit tests for the key ring (lib/keys.c): file modes,
 * parse errors with file:line, duplicates, which key signs, generating and
 * rotating key files, editing them (keys_edit.c: create, rotate, events
 * secrets, retire; other lines and the mode kept), and the precomputed
 * HMAC against OpenSSL's HMAC().
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <glib.h>
#include "keys.h"
#include "testutil.h"

#define HEX64 "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define KEY1 "1111111111111111111111111111111111111111111111111111111111111111"
#define KEY2 "2222222222222222222222222222222222222222222222222222222222222222"

static char dir[256], path[300], err[512];

static void setup(void)
{
    snprintf(dir, sizeof(dir), "%s", tu_tmpdir());
    snprintf(path, sizeof(path), "%s/keys", dir);
    err[0] = '\0';
}

static void teardown(void)
{
    unlink(path);
    rmdir(dir);
}

static void write_keys(const char *text, mode_t mode)
{
    ck_assert_int_eq(tu_write_file(path, text, strlen(text)), 0);
    ck_assert_int_eq(chmod(path, mode), 0);
}

/* Load `text`; expect failure with "<path><where>" in the message. */
static void expect_error(const char *text, const char *where, const char *what)
{
    struct pb_keyring ring;
    char expect[800];

    write_keys(text, 0600);
    ck_assert_int_eq(pb_keys_load(path, 1, &ring, err, sizeof(err)), -1);
    snprintf(expect, sizeof(expect), "%s%s", path, where);
    if (strncmp(err, expect, strlen(expect)) != 0 || strstr(err, what) == NULL)
        ck_abort_msg("for %s: got \"%s\", want \"%s ...%s\"", text, err, expect, what);
    ck_assert_uint_eq(ring.count, 0);
}

START_TEST(test_mode_checked)
{
    struct pb_keyring ring;
    char expect[800];
    static const char text[] = "contact " HEX64 "\n1 " KEY1 "\n";

    write_keys(text, 0644);
    ck_assert_int_eq(pb_keys_load(path, 1, &ring, err, sizeof(err)), -1);
    snprintf(expect, sizeof(expect), "%s: mode 0644 is readable by others; run chmod 600 %s",
             path, path);
    ck_assert_str_eq(err, expect);
    write_keys(text, 0604);
    ck_assert_int_eq(pb_keys_load(path, 1, &ring, err, sizeof(err)), -1);
    write_keys(text, 0601);
    ck_assert_int_eq(pb_keys_load(path, 1, &ring, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "run chmod 600"));
    /* without the check (tests, tools that only read) it loads */
    write_keys(text, 0644);
    ck_assert_int_eq(pb_keys_load(path, 0, &ring, err, sizeof(err)), 0);
    pb_keys_free(&ring);

    write_keys(text, 0600);
    ck_assert_int_eq(pb_keys_load(path, 1, &ring, err, sizeof(err)), 0);
    pb_keys_free(&ring);
    write_keys(text, 0640);
    ck_assert_int_eq(pb_keys_load(path, 1, &ring, err, sizeof(err)), 0);
    pb_keys_free(&ring);
}
END_TEST

START_TEST(test_missing_file)
{
    struct pb_keyring ring;

    ck_assert_int_eq(pb_keys_load(path, 1, &ring, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "cannot open: No such file or directory"));
}
END_TEST

START_TEST(test_parses_comments_blank_lines_crlf)
{
    struct pb_keyring ring;

    write_keys("# postbeacon keys\n\n   \ncontact " HEX64 "\r\n"
               "  3   " KEY1 "   # retired soon\n"
               "\t7\t" KEY2 "\n", 0600);
    ck_assert_int_eq(pb_keys_load(path, 1, &ring, err, sizeof(err)), 0);
    ck_assert_uint_eq(ring.count, 2);
    ck_assert_uint_eq(ring.contact_key_len, 32);
    ck_assert_uint_eq(ring.contact_key[1], 0x11);
    ck_assert_int_eq(pb_keys_signing(&ring)->id, 7);
    ck_assert_uint_eq(pb_keys_signing(&ring)->secret[0], 0x22);
    ck_assert_uint_eq(pb_keys_find(&ring, 3)->len, 32);
    ck_assert_uint_eq(pb_keys_find(&ring, 3)->secret[31], 0x11);
    ck_assert_ptr_null(pb_keys_find(&ring, 1));
    pb_keys_free(&ring);
}
END_TEST

START_TEST(test_last_line_signs)
{
    struct pb_keyring ring;

    /* ids need not be in order: the last line is the newest key */
    write_keys("contact " HEX64 "\n200 " KEY1 "\n5 " KEY2 "\n", 0600);
    ck_assert_int_eq(pb_keys_load(path, 1, &ring, err, sizeof(err)), 0);
    ck_assert_int_eq(pb_keys_signing(&ring)->id, 5);
    ck_assert_ptr_nonnull(pb_keys_find(&ring, 200));
    pb_keys_free(&ring);
}
END_TEST

START_TEST(test_long_secret)
{
    struct pb_keyring ring;

    write_keys("contact " HEX64 HEX64 "\n255 " HEX64 HEX64 "\n", 0600);
    ck_assert_int_eq(pb_keys_load(path, 1, &ring, err, sizeof(err)), 0);
    ck_assert_uint_eq(pb_keys_signing(&ring)->len, 64);
    ck_assert_uint_eq(ring.contact_key_len, 64);
    pb_keys_free(&ring);
}
END_TEST

START_TEST(test_bad_lines)
{
    expect_error("contact " HEX64 "\n0 " KEY1 "\n", ":2: ", "key ids are numbers 1..255");
    expect_error("contact " HEX64 "\n256 " KEY1 "\n", ":2: ", "1..255");
    expect_error("contact " HEX64 "\n-1 " KEY1 "\n", ":2: ", "1..255");
    expect_error("contact " HEX64 "\nkey1 " KEY1 "\n", ":2: ", "\"key1\" is neither");
    expect_error("# c\ncontact " HEX64 "\n1 abcd\n", ":3: ", "64 to 128 hex digits");
    expect_error("contact " HEX64 "\n1 " KEY1 "1\n", ":2: ", "an even number");
    expect_error("contact " HEX64 "\n1 " HEX64 HEX64 "00\n", ":2: ", "64 to 128");
    expect_error("contact " HEX64 "\n1 zz" KEY1 "\n", ":2: ", "not a hex digit");
    expect_error("contact " HEX64 "\n1 " KEY1 " extra\n", ":2: ", "expected two fields");
    expect_error("contact\n1 " KEY1 "\n", ":1: ", "expected two fields");
    expect_error("contact 1234\n1 " KEY1 "\n", ":1: ", "openssl rand -hex 32");
}
END_TEST

START_TEST(test_duplicates)
{
    expect_error("contact " HEX64 "\n1 " KEY1 "\n\n1 " KEY2 "\n", ":4: ",
                 "duplicate key id 1 (first on line 2)");
    expect_error("contact " HEX64 "\n1 " KEY1 "\ncontact " HEX64 "\n", ":3: ",
                 "second contact line (the first is on line 1)");
}
END_TEST

START_TEST(test_missing_parts)
{
    expect_error("1 " KEY1 "\n", ": ", "no contact line");
    expect_error("contact " HEX64 "\n# no keys yet\n", ": ", "no signing key");
    expect_error("", ": ", "no signing key");
}
END_TEST

START_TEST(test_generate_new_file)
{
    struct pb_keyring ring;
    struct stat st;

    ck_assert_int_eq(pb_keys_generate(path, err, sizeof(err)), 0);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    ck_assert_int_eq(pb_keys_load(path, 1, &ring, err, sizeof(err)), 0);
    ck_assert_uint_eq(ring.count, 1);
    ck_assert_int_eq(pb_keys_signing(&ring)->id, 1);
    ck_assert_uint_eq(pb_keys_signing(&ring)->len, 32);
    ck_assert_uint_eq(ring.contact_key_len, 32);
    ck_assert(memcmp(ring.contact_key, pb_keys_signing(&ring)->secret, 32) != 0);
    pb_keys_free(&ring);
}
END_TEST

START_TEST(test_generate_appends_rotation)
{
    struct pb_keyring first, later;
    uint8_t contact[PB_KEY_MAX], key1[PB_KEY_MAX];

    ck_assert_int_eq(pb_keys_generate(path, err, sizeof(err)), 0);
    ck_assert_int_eq(pb_keys_load(path, 1, &first, err, sizeof(err)), 0);
    memcpy(contact, first.contact_key, sizeof(contact));
    memcpy(key1, pb_keys_signing(&first)->secret, sizeof(key1));
    pb_keys_free(&first);

    ck_assert_int_eq(pb_keys_generate(path, err, sizeof(err)), 0);
    ck_assert_int_eq(pb_keys_generate(path, err, sizeof(err)), 0);
    ck_assert_int_eq(pb_keys_load(path, 1, &later, err, sizeof(err)), 0);
    ck_assert_uint_eq(later.count, 3);
    ck_assert_int_eq(pb_keys_signing(&later)->id, 3);
    ck_assert(memcmp(later.contact_key, contact, 32) == 0);       /* never changes */
    ck_assert(memcmp(pb_keys_find(&later, 1)->secret, key1, 32) == 0);
    ck_assert(memcmp(pb_keys_find(&later, 2)->secret, key1, 32) != 0);
    pb_keys_free(&later);
}
END_TEST

START_TEST(test_generate_wraps_and_skips_used_ids)
{
    struct pb_keyring ring;

    /* no final newline, newest id 255, id 1 still in use -> new id 2 */
    write_keys("contact " HEX64 "\n1 " KEY1 "\n255 " KEY2, 0600);
    ck_assert_int_eq(pb_keys_generate(path, err, sizeof(err)), 0);
    ck_assert_int_eq(pb_keys_load(path, 1, &ring, err, sizeof(err)), 0);
    ck_assert_uint_eq(ring.count, 3);
    ck_assert_int_eq(pb_keys_signing(&ring)->id, 2);
    ck_assert_ptr_nonnull(pb_keys_find(&ring, 255));
    pb_keys_free(&ring);
}
END_TEST

START_TEST(test_generate_refuses_bad_file)
{
    write_keys("contact " HEX64 "\n1 " KEY1 "\n", 0644);
    ck_assert_int_eq(pb_keys_generate(path, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "readable by others"));
    write_keys("contact " HEX64 "\n1 nothex\n", 0600);
    ck_assert_int_eq(pb_keys_generate(path, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, ":2: "));
}
END_TEST

/* ---- editing (keys_edit.c) ---------------------------------------------- */

static char *read_all(void)
{
    gchar *text = NULL;

    ck_assert(g_file_get_contents(path, &text, NULL, NULL));
    return text;
}

START_TEST(test_edit_create_refuses_existing)
{
    struct stat st;

    ck_assert_int_eq(pb_keys_create(path, err, sizeof(err)), 0);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    ck_assert_int_eq(pb_keys_create(path, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "exists already"));
}
END_TEST

START_TEST(test_edit_retire_keeps_the_rest)
{
    static const char text[] = "# keys\ncontact " HEX64 "\n1 " KEY1 "\n# old\n2 " KEY2 "\n";
    struct stat st;
    char *now;

    write_keys(text, 0640);
    ck_assert_int_eq(pb_keys_retire(path, 2, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, ":5: key 2 signs new tokens"));
    ck_assert_int_eq(pb_keys_retire(path, 9, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "no key 9"));
    now = read_all();
    ck_assert_str_eq(now, text);        /* refusals change nothing */
    g_free(now);
    ck_assert_int_eq(pb_keys_retire(path, 1, err, sizeof(err)), 0);
    now = read_all();
    ck_assert_str_eq(now, "# keys\ncontact " HEX64 "\n# old\n2 " KEY2 "\n");
    g_free(now);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0640);      /* the old file's mode */
}
END_TEST

START_TEST(test_edit_rotate_and_events)
{
    static const char text[] = "contact " HEX64 "\n1 " KEY1;   /* no final newline */
    struct pb_keyring ring;
    int id = 0;
    char *now;

    write_keys(text, 0600);
    ck_assert_int_eq(pb_keys_rotate(path, &id, err, sizeof(err)), 0);
    ck_assert_int_eq(id, 2);
    now = read_all();
    ck_assert(strncmp(now, text, strlen(text)) == 0 && now[strlen(text)] == '\n');
    g_free(now);
    for (int i = 0; i < PB_EVENTS_KEYS_MAX; i++)
        ck_assert_int_eq(pb_keys_add_events(path, err, sizeof(err)), 0);
    ck_assert_int_eq(pb_keys_add_events(path, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "events lines"));
    ck_assert_int_eq(pb_keys_load(path, 1, &ring, err, sizeof(err)), 0);
    ck_assert_int_eq(pb_keys_signing(&ring)->id, 2);
    ck_assert_int_eq(pb_keys_signing(&ring)->line, 3);
    ck_assert_uint_eq(ring.events_count, PB_EVENTS_KEYS_MAX);
    ck_assert_int_eq(ring.contact_line, 1);
    pb_keys_free(&ring);
}
END_TEST

START_TEST(test_webhook_lines)
{
    static const char good[] = "contact " HEX64 "\n1 " KEY1 "\nwebhook crm " KEY2 "\n"
                               "webhook erp-2 " HEX64 " # comment\n";
    struct pb_keyring ring;

    expect_error("contact " HEX64 "\n1 " KEY1 "\nwebhook " KEY2 "\n", ":3: ",
                 "write \"webhook <name> <hex secret>\"");
    expect_error("contact " HEX64 "\n1 " KEY1 "\nwebhook CRM " KEY2 "\n", ":3: ",
                 "\"CRM\" is not a webhook secret name");
    expect_error("contact " HEX64 "\n1 " KEY1 "\nwebhook crm " KEY2 "\nwebhook crm " KEY1 "\n",
                 ":4: ", "a second webhook crm (the first is on line 3)");
    expect_error("contact " HEX64 "\n1 " KEY1 "\nwebhook crm 12ab\n", ":3: ", "64 to 128");
    write_keys(good, 0600);
    ck_assert_msg(pb_keys_load(path, 1, &ring, err, sizeof(err)) == 0, "%s", err);
    ck_assert_uint_eq(ring.webhooks_count, 2);
    ck_assert_int_eq(pb_keys_webhook(&ring, "crm")->line, 3);
    ck_assert_int_eq(pb_keys_webhook(&ring, "crm")->secret[0], 0x22);
    ck_assert_int_eq(pb_keys_webhook(&ring, "erp-2")->line, 4);
    ck_assert_ptr_null(pb_keys_webhook(&ring, "shop"));
    ck_assert_int_eq(pb_keys_signing(&ring)->id, 1);    /* not a signing key */
    pb_keys_free(&ring);
}
END_TEST

/* A webhook secret is added, replaced in its line, retired; the other lines stay. */
START_TEST(test_edit_webhook)
{
    static const char text[] = "contact " HEX64 "\n1 " KEY1 "\nwebhook crm " KEY2 "\n# end\n";
    struct pb_keyring ring;
    int replaced = -1;
    char *now;

    write_keys(text, 0600);
    ck_assert_int_eq(pb_keys_set_webhook(path, "crm", &replaced, err, sizeof(err)), 0);
    ck_assert_int_eq(replaced, 1);
    ck_assert_int_eq(pb_keys_set_webhook(path, "erp", &replaced, err, sizeof(err)), 0);
    ck_assert_int_eq(replaced, 0);
    ck_assert_int_eq(pb_keys_load(path, 1, &ring, err, sizeof(err)), 0);
    ck_assert_int_eq(pb_keys_webhook(&ring, "crm")->line, 3);
    ck_assert_int_ne(pb_keys_webhook(&ring, "crm")->secret[0], 0x22);   /* a new secret */
    ck_assert_int_eq(pb_keys_webhook(&ring, "erp")->line, 5);
    pb_keys_free(&ring);
    ck_assert_int_eq(pb_keys_retire_webhook(path, "crm", err, sizeof(err)), 0);
    ck_assert_int_eq(pb_keys_retire_webhook(path, "crm", err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "no webhook secret \"crm\""));
    ck_assert_int_eq(pb_keys_set_webhook(path, "Bad Name", &replaced, err, sizeof(err)), -1);
    now = read_all();
    ck_assert_msg(g_str_has_prefix(now, "contact " HEX64 "\n1 " KEY1 "\n# end\nwebhook erp "),
                  "%s", now);
    g_free(now);
}
END_TEST

START_TEST(test_hmac_matches_openssl)
{
    struct pb_keyring ring;
    uint8_t data[300], ours[32], theirs[EVP_MAX_MD_SIZE];
    unsigned int len;

    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 7 + 3);
    write_keys("contact " HEX64 "\n1 " KEY1 "\n2 " HEX64 HEX64 "\n", 0600);
    ck_assert_int_eq(pb_keys_load(path, 1, &ring, err, sizeof(err)), 0);
    for (size_t k = 0; k < ring.count; k++) {
        const struct pb_key *key = &ring.keys[k];
        for (size_t n = 0; n <= sizeof(data); n += (n < 130 ? 1 : 17)) {
            pb_keys_hmac(key, data, n, ours);
            HMAC(EVP_sha256(), key->secret, (int)key->len, data, n, theirs, &len);
            ck_assert_uint_eq(len, 32);
            ck_assert(memcmp(ours, theirs, 32) == 0);
        }
    }
    pb_keys_free(&ring);
}
END_TEST

struct hmac_job {
    const struct pb_key *key;
    int mismatches;
};

static void *hmac_worker(void *arg)
{
    struct hmac_job *job = arg;
    uint8_t data[200], ours[32], theirs[EVP_MAX_MD_SIZE];
    unsigned int len;

    for (int i = 0; i < 2000; i++) {
        memset(data, i & 0xff, sizeof(data));
        pb_keys_hmac(job->key, data, sizeof(data), ours);
        HMAC(EVP_sha256(), job->key->secret, (int)job->key->len, data, sizeof(data), theirs,
             &len);
        job->mismatches += memcmp(ours, theirs, 32) != 0;
    }
    return NULL;
}

START_TEST(test_hmac_concurrent)
{
    struct pb_keyring ring;
    pthread_t threads[4];
    struct hmac_job jobs[4];

    write_keys("contact " HEX64 "\n1 " KEY1 "\n", 0600);
    ck_assert_int_eq(pb_keys_load(path, 1, &ring, err, sizeof(err)), 0);
    for (int i = 0; i < 4; i++) {
        jobs[i].key = pb_keys_signing(&ring);
        jobs[i].mismatches = 0;
        ck_assert_int_eq(pthread_create(&threads[i], NULL, hmac_worker, &jobs[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
        ck_assert_int_eq(jobs[i].mismatches, 0);
    }
    pb_keys_free(&ring);
}
END_TEST

START_TEST(test_free_wipes)
{
    struct pb_keyring ring;

    write_keys("contact " HEX64 "\n1 " KEY1 "\n", 0600);
    ck_assert_int_eq(pb_keys_load(path, 1, &ring, err, sizeof(err)), 0);
    pb_keys_free(&ring);
    ck_assert_uint_eq(ring.count, 0);
    ck_assert_uint_eq(ring.keys[0].secret[0], 0);
    ck_assert_uint_eq(ring.contact_key[0], 0);
    ck_assert_ptr_null(pb_keys_signing(&ring));
}
END_TEST

static Suite *keys_suite(void)
{
    Suite *s = suite_create("keys");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_mode_checked);
    tcase_add_test(tc, test_missing_file);
    tcase_add_test(tc, test_parses_comments_blank_lines_crlf);
    tcase_add_test(tc, test_last_line_signs);
    tcase_add_test(tc, test_long_secret);
    tcase_add_test(tc, test_bad_lines);
    tcase_add_test(tc, test_duplicates);
    tcase_add_test(tc, test_missing_parts);
    tcase_add_test(tc, test_generate_new_file);
    tcase_add_test(tc, test_generate_appends_rotation);
    tcase_add_test(tc, test_generate_wraps_and_skips_used_ids);
    tcase_add_test(tc, test_generate_refuses_bad_file);
    tcase_add_test(tc, test_edit_create_refuses_existing);
    tcase_add_test(tc, test_edit_retire_keeps_the_rest);
    tcase_add_test(tc, test_edit_rotate_and_events);
    tcase_add_test(tc, test_webhook_lines);
    tcase_add_test(tc, test_edit_webhook);
    tcase_add_test(tc, test_hmac_matches_openssl);
    tcase_add_test(tc, test_hmac_concurrent);
    tcase_add_test(tc, test_free_wipes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(keys_suite());
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
