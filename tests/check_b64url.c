/*
 * check_b64url.c - unit tests for base64url (lib/b64url.c): RFC 4648
 * vectors, round trips of every length 0..64 against OpenSSL's base64 as
 * an independent reference, and the strict decoder's rejects.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include "b64url.h"

/* OpenSSL base64, turned into base64url without padding. */
static size_t reference_encode(const uint8_t *in, size_t n, char *out)
{
    size_t len = (size_t)EVP_EncodeBlock((unsigned char *)out, in, (int)n);

    while (len > 0 && out[len - 1] == '=')
        out[--len] = '\0';
    for (size_t i = 0; i < len; i++) {
        if (out[i] == '+')
            out[i] = '-';
        else if (out[i] == '/')
            out[i] = '_';
    }
    return len;
}

static long decode_str(const char *s, uint8_t *out)
{
    return pb_b64url_decode(s, strlen(s), out);
}

START_TEST(test_rfc4648_vectors)
{
    static const struct { const char *plain, *encoded; } vectors[] = {
        { "", "" }, { "f", "Zg" }, { "fo", "Zm8" }, { "foo", "Zm9v" },
        { "foob", "Zm9vYg" }, { "fooba", "Zm9vYmE" }, { "foobar", "Zm9vYmFy" },
    };
    char out[32];
    uint8_t back[32];

    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        size_t n = strlen(vectors[i].plain);
        ck_assert_uint_eq(pb_b64url_encode((const uint8_t *)vectors[i].plain, n, out),
                          strlen(vectors[i].encoded));
        ck_assert_str_eq(out, vectors[i].encoded);
        ck_assert_int_eq(decode_str(vectors[i].encoded, back), (long)n);
        ck_assert(memcmp(back, vectors[i].plain, n) == 0);
    }
}
END_TEST

START_TEST(test_url_alphabet)
{
    static const uint8_t bytes[] = { 0xfb, 0xff, 0xbf };
    char out[8];
    uint8_t back[8];

    pb_b64url_encode(bytes, 3, out);
    ck_assert_str_eq(out, "-_-_");
    ck_assert_int_eq(decode_str("-_-_", back), 3);
    ck_assert(memcmp(back, bytes, 3) == 0);
    pb_b64url_encode(bytes, 2, out);
    ck_assert_str_eq(out, "-_8");
}
END_TEST

START_TEST(test_round_trip_all_lengths)
{
    uint8_t data[64], back[64];
    char out[PB_B64URL_LEN(64) + 1], ref[128];
    unsigned seed = 12345;

    for (size_t n = 0; n <= 64; n++) {
        for (int round = 0; round < 20; round++) {
            for (size_t i = 0; i < n; i++)
                data[i] = (uint8_t)(rand_r(&seed) >> 7);
            size_t len = pb_b64url_encode(data, n, out);
            ck_assert_uint_eq(len, PB_B64URL_LEN(n));
            ck_assert_uint_eq(strlen(out), len);
            reference_encode(data, n, ref);
            ck_assert_str_eq(out, ref);
            memset(back, 0xaa, sizeof(back));
            ck_assert_int_eq(pb_b64url_decode(out, len, back), (long)n);
            ck_assert(memcmp(back, data, n) == 0);
        }
    }
}
END_TEST

START_TEST(test_rejects_padding_and_whitespace)
{
    uint8_t out[32];

    ck_assert_int_eq(decode_str("Zg==", out), -1);
    ck_assert_int_eq(decode_str("Zm8=", out), -1);
    ck_assert_int_eq(decode_str("Zm9v Yg", out), -1);
    ck_assert_int_eq(decode_str("Zm9v\nYg", out), -1);
    ck_assert_int_eq(decode_str(" Zm9v", out), -1);
    ck_assert_int_eq(decode_str("Zm9v\r", out), -1);
    ck_assert_int_eq(pb_b64url_decode("Zm\0v", 4, out), -1);
}
END_TEST

START_TEST(test_rejects_other_alphabets)
{
    uint8_t out[32];

    ck_assert_int_eq(decode_str("+/+/", out), -1);     /* standard base64 */
    ck_assert_int_eq(decode_str("ab.c", out), -1);
    ck_assert_int_eq(decode_str("ab%c", out), -1);
    ck_assert_int_eq(decode_str("ab\x80" "c", out), -1);
    ck_assert_int_eq(decode_str("ab\xff" "c", out), -1);
    /* every byte outside the alphabet, in every position of a quad */
    for (int c = 0; c < 256; c++) {
        if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", c)
            && c != 0)
            continue;
        for (int pos = 0; pos < 4; pos++) {
            char quad[4] = { 'A', 'A', 'A', 'A' };
            quad[pos] = (char)c;
            ck_assert_int_eq(pb_b64url_decode(quad, 4, out), -1);
        }
    }
}
END_TEST

START_TEST(test_rejects_impossible_lengths)
{
    uint8_t out[32];

    ck_assert_int_eq(decode_str("Z", out), -1);
    ck_assert_int_eq(decode_str("Zm9vY", out), -1);
    ck_assert_int_eq(decode_str("Zm9vYmFyZ", out), -1);
    ck_assert_int_eq(decode_str("", out), 0);
}
END_TEST

START_TEST(test_rejects_non_canonical_tail)
{
    static const char *alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint8_t out[8];
    int accepted2 = 0, accepted3 = 0;

    ck_assert_int_eq(decode_str("Zh", out), -1);        /* "f" is Zg */
    ck_assert_int_eq(decode_str("Zm9", out), -1);       /* "fo" is Zm8 */
    /* Of the 64 possible last characters only those with the unused bits
     * clear decode: 4 of 64 after one full char, 16 of 64 after two. */
    for (int i = 0; i < 64; i++) {
        char two[2] = { 'Q', alphabet[i] }, three[3] = { 'Q', 'Q', alphabet[i] };
        long n2 = pb_b64url_decode(two, 2, out);
        long n3 = pb_b64url_decode(three, 3, out);
        ck_assert(n2 == -1 || n2 == 1);
        ck_assert(n3 == -1 || n3 == 2);
        ck_assert_int_eq(n2 == 1, (i & 15) == 0);
        ck_assert_int_eq(n3 == 2, (i & 3) == 0);
        accepted2 += n2 == 1;
        accepted3 += n3 == 2;
    }
    ck_assert_int_eq(accepted2, 4);
    ck_assert_int_eq(accepted3, 16);
}
END_TEST

static Suite *b64url_suite(void)
{
    Suite *s = suite_create("b64url");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_rfc4648_vectors);
    tcase_add_test(tc, test_url_alphabet);
    tcase_add_test(tc, test_round_trip_all_lengths);
    tcase_add_test(tc, test_rejects_padding_and_whitespace);
    tcase_add_test(tc, test_rejects_other_alphabets);
    tcase_add_test(tc, test_rejects_impossible_lengths);
    tcase_add_test(tc, test_rejects_non_canonical_tail);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(b64url_suite());
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
