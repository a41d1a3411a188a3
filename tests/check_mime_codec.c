/*
 * check_mime_codec.c - unit tests of the transfer encoders behind
 * pb_mime_rewrite() (milter/mime_codec.c): quoted-printable and base64
 * written with the part's own line breaks, and the limits of 7bit/8bit.
 * Random content full of the hard cases must come back unchanged through
 * GMime's decoders, in lines an MTA accepts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <check.h>
#include <gmime/gmime.h>
#include "testutil_mime.h"
#include "mime_codec.h"

static void assert_lines(const GString *s, size_t max, int crlf)
{
    char why[128];
    ck_assert_msg(tu_lines_ok(s->str, s->len, max, crlf, why, sizeof(why)) == 0, "%s", why);
}

/* Content rich in what an encoder must get right: '=', blanks before line
 * breaks, CR and LF alone, 8-bit and NUL bytes, "From " opening a line,
 * lines far over 76 characters. */
static void random_content(GRand *rnd, GString *s)
{
    static const char *const pieces[] = {
        "=", " ", "\t", "\r", "\n", "\r\n", "From ", "x", "abc def", "\xe9", "\xff", ".",
        "==", "  \n", " \r\n", "\t\r\n", "https://example.com/a?b=c&d", "\0",
    };
    g_string_truncate(s, 0);
    for (int n = g_rand_int_range(rnd, 0, 120); n > 0; n--) {
        if (g_rand_int_range(rnd, 0, 4) == 0) {
            for (int k = g_rand_int_range(rnd, 1, 200); k > 0; k--)
                g_string_append_c(s, (char)g_rand_int_range(rnd, 'a', 'z' + 1));
        } else {
            int p = g_rand_int_range(rnd, 0, (gint32)G_N_ELEMENTS(pieces));
            g_string_append_len(s, pieces[p], p == 17 ? 1 : (gssize)strlen(pieces[p]));
        }
    }
}

START_TEST(test_qp_encoder)
{
    enum pb_eol eol = _i ? PB_EOL_CRLF : PB_EOL_LF;
    GRand *rnd = g_rand_new_with_seed(7 + (guint32)_i);
    GString *data = g_string_new(NULL), *enc = g_string_new(NULL);
    for (int round = 0; round < 1000; round++) {
        random_content(rnd, data);
        g_string_truncate(enc, 0);
        const char *why = NULL;
        ck_assert_int_eq(pb_mime_encode(PB_CTE_QP, eol, "", 0, data->str, data->len, enc, &why), 0);
        /* GMime's decoder gives back exactly the input */
        char *dec = g_malloc(enc->len + 1);
        int state = 0;
        guint32 save = 0;
        size_t n = g_mime_encoding_quoted_decode_step((const unsigned char *)enc->str, enc->len,
                                                      (unsigned char *)dec, &state, &save);
        ck_assert_msg(n == data->len && memcmp(dec, data->str, n) == 0, "round %d: round trip", round);
        g_free(dec);
        /* 76-character lines of the part's own breaks, no blank before a
         * break or at the end, no line opening with "From " */
        assert_lines(enc, 76, eol == PB_EOL_CRLF);
        for (size_t i = 0; i < enc->len; i++) {
            int brk = enc->str[i] == '\n' || (enc->str[i] == '\r' && i + 1 < enc->len && enc->str[i + 1] == '\n');
            if ((brk || i + 1 == enc->len) && i > 0)
                ck_assert_msg(enc->str[brk ? i - 1 : i] != ' ' && enc->str[brk ? i - 1 : i] != '\t',
                              "round %d: blank at a line end", round);
            if (i == 0 || enc->str[i - 1] == '\n')
                ck_assert_msg(strncmp(enc->str + i, "From ", 5) != 0, "round %d: From line", round);
        }
    }
    g_string_free(data, TRUE);
    g_string_free(enc, TRUE);
    g_rand_free(rnd);
}
END_TEST

START_TEST(test_base64_and_identity_encoders)
{
    enum pb_eol eol = (_i & 1) ? PB_EOL_CRLF : PB_EOL_LF;
    const char *orig = (_i & 2) ? "QUJD\n" : "QUJD";
    GRand *rnd = g_rand_new_with_seed(11 + (guint32)_i);
    GString *data = g_string_new(NULL), *enc = g_string_new(NULL);
    const char *why = NULL;
    for (int round = 0; round < 300; round++) {
        random_content(rnd, data);
        g_string_truncate(enc, 0);
        ck_assert_int_eq(pb_mime_encode(PB_CTE_BASE64, eol, orig, strlen(orig), data->str,
                                        data->len, enc, &why), 0);
        gsize n;
        guchar *dec = g_base64_decode(enc->str, &n);
        ck_assert_msg(n == data->len && memcmp(dec, data->str, n) == 0, "round %d", round);
        g_free(dec);
        assert_lines(enc, 76, eol == PB_EOL_CRLF);
        int ends = enc->len > 0 && enc->str[enc->len - 1] == '\n';
        ck_assert_int_eq(ends, data->len > 0 && (_i & 2));      /* like the original */
    }
    /* 7bit: no 8-bit bytes where there were none; 8bit/7bit: 998 octets */
    g_string_assign(enc, "");
    ck_assert_int_eq(pb_mime_encode(PB_CTE_7BIT, eol, "ascii", 5, "caf\xe9", 4, enc, &why), -1);
    ck_assert(strstr(why, "8-bit") != NULL);
    ck_assert_int_eq(pb_mime_encode(PB_CTE_7BIT, eol, "caf\xe9", 4, "caf\xe9!", 5, enc, &why), 0);
    g_string_assign(data, "");
    for (int k = 0; k < 999; k++)
        g_string_append_c(data, 'a');
    ck_assert_int_eq(pb_mime_encode(PB_CTE_8BIT, eol, "", 0, data->str, data->len, enc, &why), -1);
    ck_assert(strstr(why, "998") != NULL);
    ck_assert_int_eq(pb_mime_encode(PB_CTE_BINARY, eol, "", 0, data->str, data->len, enc, &why), 0);
    g_string_free(data, TRUE);
    g_string_free(enc, TRUE);
    g_rand_free(rnd);
}
END_TEST

/* Our quoted-printable decoder gives what GMime's gives, on input full of
 * broken escapes, soft breaks of both kinds and escapes cut off at the
 * end. */
START_TEST(test_qp_decoder_matches_gmime)
{
    static const char *const pieces[] = {
        "=", "=3D", "=3d", "=\r\n", "=\n", "=4", "=ZZ", "=a", "\r\n", "\n", "x", " ", "=\r",
        "==", "=0D", "=Fe", "abcdefghijklmnop", "=\r\r\n", "=  \n", "\xe9", "=\n=\n",
    };
    GRand *rnd = g_rand_new_with_seed(3);
    GString *in = g_string_new(NULL), *ours = g_string_new(NULL);
    for (int round = 0; round < 3000; round++) {
        g_string_truncate(in, 0);
        for (int n = g_rand_int_range(rnd, 0, 60); n > 0; n--)
            g_string_append(in, pieces[g_rand_int_range(rnd, 0, (gint32)G_N_ELEMENTS(pieces))]);
        const char *data, *bad = NULL;
        size_t dlen, where = 0;
        ck_assert_int_eq(pb_mime_decode(PB_CTE_QP, in->str, in->len, ours, &data, &dlen, &bad,
                                        &where), 0);
        GMimeEncoding state;
        g_mime_encoding_init_decode(&state, GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
        char *ref = g_malloc(g_mime_encoding_outlen(&state, in->len) + 1);
        size_t n = g_mime_encoding_flush(&state, in->str, in->len, ref);
        ck_assert_msg(n == dlen && memcmp(ref, data, n) == 0, "round %d: decoders differ on %s",
                      round, in->str);
        g_free(ref);
    }
    g_string_free(in, TRUE);
    g_string_free(ours, TRUE);
    g_rand_free(rnd);
}
END_TEST

static Suite *codec_suite(void)
{
    Suite *s = suite_create("mime_codec");
    TCase *tc = tcase_create("encoders");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_qp_encoder, 0, 2);
    tcase_add_test(tc, test_qp_decoder_matches_gmime);
    tcase_add_loop_test(tc, test_base64_and_identity_encoders, 0, 4);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    g_mime_init();
    SRunner *sr = srunner_create(codec_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
