/*
 * fuzz_mime.c - libFuzzer target for the whole message rewrite,
 * pb_mime_rewrite(): GMime parse, part selection, decode, rewrite,
 * re-encode and splice, with the corpus property test's checks on every
 * rewritten message:
 *   - anything but PB_MIME_REWRITTEN leaves the output empty;
 *   - the result still parses, with the same leaf parts, boundaries and
 *     text parts as the input (as GMime, not the code under test, sees it);
 *   - everything outside the text bodies is byte-identical;
 *   - every changed URL in a text body verifies and leads to the original
 *     (plus UTM), checked in messages that are ASCII throughout (the
 *     outline converts bodies to UTF-8, the rewriter keeps their bytes)
 *     and do not already hold tracking URLs (left alone, but they would
 *     look like tracked links to the check).
 *
 * The first input byte picks the configuration (bit 0: pixel before
 * </body>; bit 1: the honeypot link, whose extra link the URL check then
 * skips for HTML parts); the rest is the message, headers included.
 *
 * Build (clang only, in a build directory of its own):
 *   /work/main/configure --enable-fuzzing CC=clang -q && make tests/fuzz/fuzz-mime
 * Seed from the corpus messages (a 0 byte first), then run:
 *   mkdir -p seeds work
 *   find /work/main/tests/data/corpus/mime -name '*.eml' | while read -r f; do
 *       (printf '\0'; cat "$f") > "seeds/$(basename "$f")"; done
 *   ./tests/fuzz/fuzz-mime -max_len=262144 -timeout=10 -rss_limit_mb=2048 \
 *       -max_total_time=300 work seeds
 * (crashes land in ./crash-*; replay one with ./tests/fuzz/fuzz-mime crash-...).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include "testutil.h"
#include "testutil_mime.h"
#include "rewrite.h"

static struct pb_conf conf;
static struct pb_keyring ring;

#define CHECK(cond, ...) do { if (!(cond)) { \
        fprintf(stderr, "%s:%d: %s: ", __FILE__, __LINE__, #cond); \
        fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); abort(); } } while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    tu_test_conf(&conf);
    tu_test_keyring(&ring);
    return 0;
}

/* 1 if s holds no NUL and no byte above 0x7f. */
static int is_ascii(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] == '\0' || (unsigned char)s[i] >= 0x80)
            return 0;
    return 1;
}

/* The rewritten message against the original, as GMime sees both. */
static void check_rewrite(const char *msg, size_t len, size_t body_off, const GString *body,
                          int honeypot)
{
    GString *whole = g_string_new_len(msg, (gssize)body_off);
    int raw_ascii = is_ascii(msg, len);
    struct tu_outline *a, *b;
    char why[4096] = "";

    g_string_append_len(whole, body->str, (gssize)body->len);
    a = tu_outline(msg, len);
    b = tu_outline(whole->str, whole->len);
    CHECK(a != NULL && b != NULL, "a rewritten message GMime cannot parse");
    CHECK(a->leaves == b->leaves, "leaf parts %u -> %u", a->leaves, b->leaves);
    CHECK(a->texts->len == b->texts->len, "text parts %u -> %u", a->texts->len, b->texts->len);
    CHECK(a->boundaries->len == b->boundaries->len, "boundaries changed");
    for (guint i = 0; i + 1 < a->boundaries->len; i++)
        CHECK(strcmp(g_ptr_array_index(a->boundaries, i), g_ptr_array_index(b->boundaries, i))
              == 0, "boundary %u changed", i);
    CHECK(tu_same_outside_text(msg + body_off, len - body_off, body->str, body->len,
                               (const char *const *)a->boundaries->pdata, a->top_text, why,
                               sizeof(why)) >= 0, "outside the text bodies: %s", why);
    for (guint i = 0; i < a->texts->len; i++) {
        const struct tu_text_part *pa = g_ptr_array_index(a->texts, i);
        const struct tu_text_part *pb = g_ptr_array_index(b->texts, i);

        CHECK(pa->html == pb->html, "text part %u changed type", i);
        /* tu_outline gives the text converted to UTF-8 from the part's
         * charset (8-bit bytes in a us-ascii part become '?'), the
         * rewriter works on its bytes: compare URLs only where both are
         * the same, in messages that are ASCII throughout */
        if ((honeypot && pa->html) || !raw_ascii
            || memmem(pa->data->str, pa->data->len, conf.tracking_url,
                      strlen(conf.tracking_url)) != NULL)
            continue;
        CHECK(tu_check_tracked(&conf, &ring, pa->data->str, pa->data->len, pb->data->str,
                               pb->data->len, NULL, NULL, why, sizeof(why)) >= 0,
              "text part %u: %s", i, why);
    }
    tu_outline_free(a);
    tu_outline_free(b);
    g_string_free(whole, TRUE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *msg = (const char *)data + 1;
    size_t len, body_off;
    struct pb_link_ctx ctx;
    GString *body;
    enum pb_mime_result rc;
    char why[256];

    if (size < 1)
        return 0;
    len = size - 1;
    conf.milter.pixel_position = data[0] & 1 ? PB_PIXEL_BEFORE_BODY_END : PB_PIXEL_AFTER_BODY;
    conf.milter.honeypot_link = (data[0] & 2) != 0;
    body_off = tu_body_offset(msg, len);
    tu_link_ctx(&ctx, &conf, &ring);
    body = g_string_new(NULL);
    rc = pb_mime_rewrite(&ctx, msg, len, body_off, body, why, sizeof(why));
    if (rc == PB_MIME_REWRITTEN)
        check_rewrite(msg, len, body_off, body, conf.milter.honeypot_link);
    else
        CHECK(body->len == 0, "result %d with %zu bytes of output", (int)rc, body->len);
    g_string_free(body, TRUE);
    return 0;
}
