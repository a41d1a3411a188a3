/*
 * check_token.c - unit tests for signed tokens (lib/token.c) and contact
 * ids (lib/contact.c): round trips, tampering, truncation, wrong keys, key
 * rotation, kinds, limits, and payloads that carry a valid MAC but break
 * the layout (the decoder must still refuse them).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "b64url.h"
#include "contact.h"
#include "testutil.h"
#include "token.h"

#define KEY1 "1111111111111111111111111111111111111111111111111111111111111111"
#define KEY2 "2222222222222222222222222222222222222222222222222222222222222222"
#define CONTACT "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static struct pb_keyring ring;          /* test ring: keys 1 and 2, 2 signs */
static char token[PB_TOKEN_MAX];
static uint8_t buf[PB_TOKEN_MAX];

static void setup(void)
{
    tu_test_keyring(&ring);
}

static void teardown(void)
{
    pb_keys_free(&ring);
}

/* A ring from key-file text, through the real loader. */
static void load_ring(struct pb_keyring *r, const char *text)
{
    char path[300], err[512];

    snprintf(path, sizeof(path), "%s/keys", tu_tmpdir());
    ck_assert_int_eq(tu_write_file(path, text, strlen(text)), 0);
    if (pb_keys_load(path, 1, r, err, sizeof(err)) != 0)
        ck_abort_msg("load %s: %s", path, err);
    unlink(path);
    *strrchr(path, '/') = '\0';
    rmdir(path);
}

static struct pb_token sample(enum pb_token_kind kind, int has_contact, const char *url)
{
    struct pb_token t;

    memset(&t, 0, sizeof(t));
    t.kind = kind;
    t.sent_at = 1700000000u;
    memcpy(t.msg_id, "\x01\x02\x03\x04\xfd\xfe\xff\x00", PB_MSGID_LEN);
    t.has_contact = has_contact;
    if (has_contact)
        memcpy(t.contact, "\xa0\xa1\xa2\xa3\xa4\xa5\xa6\xa7", PB_CONTACT_LEN);
    snprintf(t.campaign, sizeof(t.campaign), "spring-sale_2024");
    if (kind == PB_TOKEN_CLICK) {
        t.link_index = 513;
        t.url = url;
        t.url_len = strlen(url);
    }
    return t;
}

static long encode(const struct pb_keyring *r, const struct pb_token *t)
{
    return pb_token_encode(r, t, token, sizeof(token));
}

static enum pb_token_status decode(const struct pb_keyring *r, const char *s, size_t len,
                                   int kind, struct pb_token *out)
{
    return pb_token_decode(r, s, len, kind, buf, out);
}

/* Sign an arbitrary payload with ring key `id` and base64url it, so tests
 * can hand the decoder well-signed but malformed tokens. */
static size_t sign_raw(const struct pb_keyring *r, uint8_t id, uint8_t *payload, size_t n)
{
    uint8_t mac[32];

    payload[2] = id;
    pb_keys_hmac(pb_keys_find(r, id), payload, n, mac);
    memcpy(payload + n, mac, PB_MAC_LEN);
    return pb_b64url_encode(payload, n + PB_MAC_LEN, token);
}

/* Header of a v1 open token without contact: 16 bytes, then campaign. */
static size_t raw_header(uint8_t *p, uint8_t kind)
{
    memset(p, 0, 16);
    p[0] = 1;
    p[1] = kind;
    p[2] = 2;
    return 16;
}

START_TEST(test_round_trip_all_kinds)
{
    static const enum pb_token_kind kinds[] = { PB_TOKEN_CLICK, PB_TOKEN_OPEN, PB_TOKEN_UNSUB };
    const char *url = "https://www.example.com/p?a=1&b=%20x#frag";

    for (size_t k = 0; k < 3; k++) {
        for (int contact = 0; contact <= 1; contact++) {
            struct pb_token in = sample(kinds[k], contact, url), out;
            long n = encode(&ring, &in);
            ck_assert_int_gt(n, 0);
            ck_assert_uint_eq(strlen(token), (size_t)n);
            ck_assert_uint_eq(strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                            "0123456789-_"), (size_t)n);
            ck_assert_int_eq(decode(&ring, token, (size_t)n, kinds[k], &out), PB_TOKEN_OK);
            ck_assert_int_eq(out.kind, kinds[k]);
            ck_assert_int_eq(out.key_id, 2);
            ck_assert_uint_eq(out.sent_at, 1700000000u);
            ck_assert(memcmp(out.msg_id, in.msg_id, PB_MSGID_LEN) == 0);
            ck_assert_int_eq(out.has_contact, contact);
            if (contact)
                ck_assert(memcmp(out.contact, in.contact, PB_CONTACT_LEN) == 0);
            ck_assert_str_eq(out.campaign, "spring-sale_2024");
            if (kinds[k] == PB_TOKEN_CLICK) {
                ck_assert_uint_eq(out.link_index, 513);
                ck_assert_uint_eq(out.url_len, strlen(url));
                ck_assert_str_eq(out.url, url);     /* NUL-terminated in buf */
            } else {
                ck_assert_ptr_null(out.url);
                ck_assert_uint_eq(out.url_len, 0);
            }
            ck_assert_int_eq(decode(&ring, token, (size_t)n, 0, &out), PB_TOKEN_OK);
        }
    }
}
END_TEST

START_TEST(test_empty_campaign_and_extremes)
{
    struct pb_token in = sample(PB_TOKEN_CLICK, 1, "http://x"), out;
    long n;

    in.campaign[0] = '\0';
    in.sent_at = 0xffffffffu;
    in.link_index = 0xffff;
    n = encode(&ring, &in);
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(decode(&ring, token, (size_t)n, PB_TOKEN_CLICK, &out), PB_TOKEN_OK);
    ck_assert_str_eq(out.campaign, "");
    ck_assert_uint_eq(out.sent_at, 0xffffffffu);
    ck_assert_uint_eq(out.link_index, 0xffff);

    memset(in.campaign, 'c', PB_CAMPAIGN_MAX);
    in.campaign[PB_CAMPAIGN_MAX] = '\0';
    n = encode(&ring, &in);
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(decode(&ring, token, (size_t)n, PB_TOKEN_CLICK, &out), PB_TOKEN_OK);
    ck_assert_uint_eq(strlen(out.campaign), PB_CAMPAIGN_MAX);
}
END_TEST

START_TEST(test_url_limits)
{
    char *url = malloc(PB_URL_MAX + 2);
    struct pb_token in, out;
    long n;

    memcpy(url, "https://example.com/", 20);
    memset(url + 20, 'a', PB_URL_MAX + 1 - 20);
    url[PB_URL_MAX] = '\0';
    in = sample(PB_TOKEN_CLICK, 1, url);
    ck_assert_uint_eq(in.url_len, PB_URL_MAX);
    n = encode(&ring, &in);
    ck_assert_int_gt(n, 0);
    ck_assert_int_lt(n, PB_TOKEN_MAX);
    ck_assert_int_eq(decode(&ring, token, (size_t)n, PB_TOKEN_CLICK, &out), PB_TOKEN_OK);
    ck_assert_uint_eq(out.url_len, PB_URL_MAX);
    ck_assert(memcmp(out.url, url, PB_URL_MAX) == 0);

    url[PB_URL_MAX] = 'a';
    url[PB_URL_MAX + 1] = '\0';
    in = sample(PB_TOKEN_CLICK, 1, url);
    ck_assert_int_eq(encode(&ring, &in), -PB_TOKEN_TOO_LONG);

    /* output buffer too small for this URL */
    in = sample(PB_TOKEN_CLICK, 1, "https://example.com/a-fairly-long-path");
    ck_assert_int_eq(pb_token_encode(&ring, &in, token, 40), -PB_TOKEN_TOO_LONG);
    free(url);
}
END_TEST

START_TEST(test_campaign_limits)
{
    struct pb_token in = sample(PB_TOKEN_OPEN, 0, NULL);

    memset(in.campaign, 'x', sizeof(in.campaign));      /* 65 chars, no NUL */
    ck_assert_int_eq(encode(&ring, &in), -PB_TOKEN_TOO_LONG);
    snprintf(in.campaign, sizeof(in.campaign), "caf\xc3\xa9");
    ck_assert_int_eq(encode(&ring, &in), -PB_TOKEN_MALFORMED);
    snprintf(in.campaign, sizeof(in.campaign), "a\tb");
    ck_assert_int_eq(encode(&ring, &in), -PB_TOKEN_MALFORMED);
}
END_TEST

START_TEST(test_url_control_characters)
{
    static const char *bad[] = { "https://x/\r\nSet-Cookie: a=b", "https://x/\n", "\x7f",
                                 "https://x/\x01" };
    struct pb_token in, out;
    uint8_t payload[256];
    size_t n, len;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        in = sample(PB_TOKEN_CLICK, 0, bad[i]);
        ck_assert_int_eq(encode(&ring, &in), -PB_TOKEN_MALFORMED);
    }
    in = sample(PB_TOKEN_CLICK, 0, "https://x/\0hidden");
    in.url_len = 17;
    ck_assert_int_eq(encode(&ring, &in), -PB_TOKEN_MALFORMED);
    in = sample(PB_TOKEN_CLICK, 0, "");
    ck_assert_int_eq(encode(&ring, &in), -PB_TOKEN_MALFORMED);

    /* Signed with a valid key, but with CR LF in the URL: still refused. */
    n = raw_header(payload, 'c');
    payload[n++] = 0;                       /* campaign length */
    memcpy(payload + n, "\x00\x01\x00\x0b" "https://x/\n", 15);
    n += 15;
    len = sign_raw(&ring, 2, payload, n);
    ck_assert_int_eq(decode(&ring, token, len, 0, &out), PB_TOKEN_MALFORMED);
    /* and a signed click with an empty URL */
    n = raw_header(payload, 'c');
    payload[n++] = 0;
    memcpy(payload + n, "\x00\x01\x00\x00", 4);
    len = sign_raw(&ring, 2, payload, n + 4);
    ck_assert_int_eq(decode(&ring, token, len, 0, &out), PB_TOKEN_MALFORMED);
}
END_TEST

START_TEST(test_signed_but_malformed_layouts)
{
    struct pb_token out;
    uint8_t payload[256];
    size_t n, len;

    /* a valid open token as built by hand: the layout matches the docs */
    n = raw_header(payload, 'o');
    payload[n++] = 2;
    memcpy(payload + n, "ab", 2);
    len = sign_raw(&ring, 2, payload, n + 2);
    ck_assert_int_eq(decode(&ring, token, len, PB_TOKEN_OPEN, &out), PB_TOKEN_OK);
    ck_assert_str_eq(out.campaign, "ab");

    /* one byte of trailing garbage */
    n = raw_header(payload, 'o');
    payload[n++] = 2;
    memcpy(payload + n, "abX", 3);
    len = sign_raw(&ring, 2, payload, n + 3);
    ck_assert_int_eq(decode(&ring, token, len, 0, &out), PB_TOKEN_MALFORMED);

    /* campaign length beyond the end, and beyond the limit */
    n = raw_header(payload, 'o');
    payload[n++] = 40;
    len = sign_raw(&ring, 2, payload, n + 2);
    ck_assert_int_eq(decode(&ring, token, len, 0, &out), PB_TOKEN_MALFORMED);
    n = raw_header(payload, 'o');
    payload[n++] = 65;
    memset(payload + n, 'a', 65);
    len = sign_raw(&ring, 2, payload, n + 65);
    ck_assert_int_eq(decode(&ring, token, len, 0, &out), PB_TOKEN_MALFORMED);

    /* contact flag set but no room for the contact id */
    n = raw_header(payload, 'u');
    payload[15] = 1;
    payload[n++] = 0;
    len = sign_raw(&ring, 2, payload, n);
    ck_assert_int_eq(decode(&ring, token, len, 0, &out), PB_TOKEN_MALFORMED);

    /* unknown flag bits, unknown kind */
    n = raw_header(payload, 'o');
    payload[15] = 2;
    payload[n++] = 0;
    len = sign_raw(&ring, 2, payload, n);
    ck_assert_int_eq(decode(&ring, token, len, 0, &out), PB_TOKEN_MALFORMED);
    n = raw_header(payload, 'x');
    payload[n++] = 0;
    len = sign_raw(&ring, 2, payload, n);
    ck_assert_int_eq(decode(&ring, token, len, 0, &out), PB_TOKEN_MALFORMED);

    /* click whose URL length disagrees with the bytes present */
    n = raw_header(payload, 'c');
    payload[n++] = 0;
    memcpy(payload + n, "\x00\x01\x00\x0a" "http://x/", 13);
    len = sign_raw(&ring, 2, payload, n + 13);
    ck_assert_int_eq(decode(&ring, token, len, 0, &out), PB_TOKEN_MALFORMED);
    memcpy(payload + n, "\x00\x01\x00\x07" "http://x/", 13);
    len = sign_raw(&ring, 2, payload, n + 13);
    ck_assert_int_eq(decode(&ring, token, len, 0, &out), PB_TOKEN_MALFORMED);
    memcpy(payload + n, "\x00\x01\x00\x08" "http://x", 12);
    len = sign_raw(&ring, 2, payload, n + 12);
    ck_assert_int_eq(decode(&ring, token, len, 0, &out), PB_TOKEN_OK);
    ck_assert_str_eq(out.url, "http://x");
}
END_TEST

START_TEST(test_bad_version)
{
    struct pb_token in = sample(PB_TOKEN_OPEN, 1, NULL), out;
    uint8_t payload[256];
    long n = encode(&ring, &in);
    long raw = pb_b64url_decode(token, (size_t)n, payload);

    ck_assert_int_gt(raw, PB_MAC_LEN);
    payload[0] = 2;
    n = (long)sign_raw(&ring, 2, payload, (size_t)raw - PB_MAC_LEN);
    ck_assert_int_eq(decode(&ring, token, (size_t)n, 0, &out), PB_TOKEN_BAD_VERSION);
}
END_TEST

START_TEST(test_every_bit_flip_fails)
{
    struct pb_token in = sample(PB_TOKEN_CLICK, 1, "https://example.com/landing?x=1"), out;
    uint8_t payload[512];
    char copy[PB_TOKEN_MAX];
    long n = encode(&ring, &in), raw;

    /* flips of the encoded text */
    for (long i = 0; i < n; i++) {
        for (int bit = 0; bit < 8; bit++) {
            memcpy(copy, token, (size_t)n + 1);
            copy[i] ^= (char)(1 << bit);
            ck_assert_int_ne(decode(&ring, copy, (size_t)n, PB_TOKEN_CLICK, &out), PB_TOKEN_OK);
        }
    }
    /* flips of the binary payload, re-encoded: each must break the MAC
     * (or the version / key id it covers) */
    raw = pb_b64url_decode(token, (size_t)n, payload);
    ck_assert_int_gt(raw, 0);
    for (long i = 0; i < raw; i++) {
        for (int bit = 0; bit < 8; bit++) {
            payload[i] ^= (uint8_t)(1 << bit);
            size_t len = pb_b64url_encode(payload, (size_t)raw, copy);
            enum pb_token_status st = decode(&ring, copy, len, PB_TOKEN_CLICK, &out);
            if (i == 0)
                ck_assert_int_eq(st, PB_TOKEN_BAD_VERSION);
            else if (i == 2)
                ck_assert(st == PB_TOKEN_UNKNOWN_KEY || st == PB_TOKEN_BAD_MAC);
            else
                ck_assert_int_eq(st, PB_TOKEN_BAD_MAC);
            payload[i] ^= (uint8_t)(1 << bit);
        }
    }
}
END_TEST

START_TEST(test_truncation_fails)
{
    struct pb_token in = sample(PB_TOKEN_CLICK, 1, "https://example.com/x"), out;
    long n = encode(&ring, &in);

    for (long len = 0; len < n; len++)
        ck_assert_int_ne(decode(&ring, token, (size_t)len, 0, &out), PB_TOKEN_OK);
    /* and one extra character */
    token[n] = 'A';
    ck_assert_int_ne(decode(&ring, token, (size_t)n + 1, 0, &out), PB_TOKEN_OK);
}
END_TEST

START_TEST(test_wrong_secrets)
{
    struct pb_keyring other;
    struct pb_token in = sample(PB_TOKEN_CLICK, 1, "https://example.com/"), out;
    long n = encode(&ring, &in);

    load_ring(&other, "contact " CONTACT "\n"
              "1 3333333333333333333333333333333333333333333333333333333333333333\n"
              "2 4444444444444444444444444444444444444444444444444444444444444444\n");
    ck_assert_int_eq(decode(&other, token, (size_t)n, 0, &out), PB_TOKEN_BAD_MAC);
    pb_keys_free(&other);
}
END_TEST

START_TEST(test_rotation)
{
    struct pb_keyring old_ring, both, new_only;
    struct pb_token in = sample(PB_TOKEN_CLICK, 1, "https://example.com/r"), out;
    char old_token[PB_TOKEN_MAX];
    long old_len, n;

    load_ring(&old_ring, "contact " CONTACT "\n1 " KEY1 "\n");
    load_ring(&both, "contact " CONTACT "\n1 " KEY1 "\n2 " KEY2 "\n");
    load_ring(&new_only, "contact " CONTACT "\n2 " KEY2 "\n");

    old_len = pb_token_encode(&old_ring, &in, old_token, sizeof(old_token));
    ck_assert_int_gt(old_len, 0);
    ck_assert_int_eq(decode(&old_ring, old_token, (size_t)old_len, 0, &out), PB_TOKEN_OK);
    ck_assert_int_eq(out.key_id, 1);
    /* key 2 added: old tokens still verify, new ones use key 2 */
    ck_assert_int_eq(decode(&both, old_token, (size_t)old_len, 0, &out), PB_TOKEN_OK);
    ck_assert_int_eq(out.key_id, 1);
    n = encode(&both, &in);
    ck_assert_int_eq(decode(&both, token, (size_t)n, 0, &out), PB_TOKEN_OK);
    ck_assert_int_eq(out.key_id, 2);
    ck_assert_int_eq(decode(&old_ring, token, (size_t)n, 0, &out), PB_TOKEN_UNKNOWN_KEY);
    /* key 1 removed: its tokens are now unknown, key 2's still good */
    ck_assert_int_eq(decode(&new_only, old_token, (size_t)old_len, 0, &out),
                     PB_TOKEN_UNKNOWN_KEY);
    ck_assert_int_eq(decode(&new_only, token, (size_t)n, 0, &out), PB_TOKEN_OK);

    pb_keys_free(&old_ring);
    pb_keys_free(&both);
    pb_keys_free(&new_only);
}
END_TEST

START_TEST(test_wrong_kind)
{
    struct pb_token in = sample(PB_TOKEN_OPEN, 1, NULL), out;
    long n = encode(&ring, &in);

    ck_assert_int_eq(decode(&ring, token, (size_t)n, PB_TOKEN_CLICK, &out), PB_TOKEN_WRONG_KIND);
    ck_assert_int_eq(decode(&ring, token, (size_t)n, PB_TOKEN_UNSUB, &out), PB_TOKEN_WRONG_KIND);
    ck_assert_int_eq(decode(&ring, token, (size_t)n, PB_TOKEN_OPEN, &out), PB_TOKEN_OK);
    /* a forged token of the right kind reports the MAC, not the kind */
    token[n - 1] = token[n - 1] == 'A' ? 'Q' : 'A';
    ck_assert_int_eq(decode(&ring, token, (size_t)n, PB_TOKEN_CLICK, &out), PB_TOKEN_BAD_MAC);
}
END_TEST

START_TEST(test_non_ascii_url_bytes)
{
    const char *url = "https://b\xc3\xbc" "cher.example/\xe2\x82\xac?q=%C3%A9&x=(1)[2]@y";
    struct pb_token in = sample(PB_TOKEN_CLICK, 0, url), out;
    long n = encode(&ring, &in);

    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(decode(&ring, token, (size_t)n, PB_TOKEN_CLICK, &out), PB_TOKEN_OK);
    ck_assert_str_eq(out.url, url);
}
END_TEST

START_TEST(test_status_strings)
{
    for (int st = PB_TOKEN_OK; st <= PB_TOKEN_TOO_LONG; st++) {
        const char *s = pb_token_status_str((enum pb_token_status)st);
        ck_assert_ptr_nonnull(s);
        for (int other = PB_TOKEN_OK; other < st; other++)
            ck_assert_str_ne(s, pb_token_status_str((enum pb_token_status)other));
    }
}
END_TEST

/* ---- contact ids ------------------------------------------------------- */

START_TEST(test_address_normalise)
{
    char out[64];

    ck_assert_int_eq(pb_address_normalise("  <Ann.Lee@Example.COM> ", out, sizeof(out)), 19);
    ck_assert_str_eq(out, "ann.lee@example.com");
    ck_assert_int_eq(pb_address_normalise("Bob@X.org", out, sizeof(out)), 9);
    ck_assert_str_eq(out, "bob@x.org");
    ck_assert_int_eq(pb_address_normalise("<>", out, sizeof(out)), -1);
    ck_assert_int_eq(pb_address_normalise("   ", out, sizeof(out)), -1);
    ck_assert_int_eq(pb_address_normalise("a@b.example", out, 5), -1);
}
END_TEST

START_TEST(test_contact_id)
{
    uint8_t a[PB_CONTACT_LEN], b[PB_CONTACT_LEN], c[PB_CONTACT_LEN];
    uint8_t expect[32];
    unsigned int len = 0;
    char hex[2 * PB_CONTACT_LEN + 1];
    struct pb_keyring other;

    pb_contact_id(&ring, "<Ann@Example.com>", a);
    pb_contact_id(&ring, "ann@example.com", b);
    ck_assert(memcmp(a, b, PB_CONTACT_LEN) == 0);
    /* independent computation: HMAC-SHA256(contact key, address)[0..8) */
    HMAC(EVP_sha256(), ring.contact_key, (int)ring.contact_key_len,
         (const unsigned char *)"ann@example.com", 15, expect, &len);
    ck_assert(memcmp(a, expect, PB_CONTACT_LEN) == 0);
    pb_contact_id(&ring, "bob@example.com", c);
    ck_assert(memcmp(a, c, PB_CONTACT_LEN) != 0);

    load_ring(&other, "contact " KEY2 "\n1 " KEY1 "\n");
    pb_contact_id(&other, "ann@example.com", c);
    ck_assert(memcmp(a, c, PB_CONTACT_LEN) != 0);
    pb_keys_free(&other);

    pb_hex((const uint8_t *)"\x00\x0f\xa0\xff", 4, hex);
    ck_assert_str_eq(hex, "000fa0ff");
}
END_TEST

static Suite *token_suite(void)
{
    Suite *s = suite_create("token");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_round_trip_all_kinds);
    tcase_add_test(tc, test_empty_campaign_and_extremes);
    tcase_add_test(tc, test_url_limits);
    tcase_add_test(tc, test_campaign_limits);
    tcase_add_test(tc, test_url_control_characters);
    tcase_add_test(tc, test_signed_but_malformed_layouts);
    tcase_add_test(tc, test_bad_version);
    tcase_add_test(tc, test_every_bit_flip_fails);
    tcase_add_test(tc, test_truncation_fails);
    tcase_add_test(tc, test_wrong_secrets);
    tcase_add_test(tc, test_rotation);
    tcase_add_test(tc, test_wrong_kind);
    tcase_add_test(tc, test_non_ascii_url_bytes);
    tcase_add_test(tc, test_status_strings);
    tcase_add_test(tc, test_address_normalise);
    tcase_add_test(tc, test_contact_id);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(token_suite());
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
