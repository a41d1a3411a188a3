/*
 * fuzz_rewrite.c - libFuzzer target for the content rewriters: the HTML
 * scanner (checked against its invariants), pb_html_rewrite() and
 * pb_text_rewrite() on the same input.
 *
 * The first input byte picks the configuration (pixel position, clicks,
 * opens, utm_content mode); the rest is the document.
 *
 * Build (clang only, in a build directory of its own):
 *   mkdir -p /work/build-fuzz && cd /work/build-fuzz
 *   /work/main/configure --enable-fuzzing CC=clang -q
 *   make tests/fuzz/fuzz-rewrite
 * Seed from the corpus and the golden inputs (a 0 byte first: default
 * configuration), then run:
 *   mkdir -p seeds fuzz-work
 *   find /work/main/tests/data/corpus/html /work/main/tests/data/html -name '*.html' |
 *     while read -r f; do (printf '\0'; cat "$f") > "seeds/$(echo "$f" | tr / _)"; done
 *   ./tests/fuzz/fuzz-rewrite -dict=/work/main/tests/fuzz/html.dict -max_len=65536 \
 *       -timeout=5 -rss_limit_mb=2048 fuzz-work seeds
 * (fuzz-work collects new inputs; crashes land in ./crash-*; replay one with
 *  ./tests/fuzz/fuzz-rewrite crash-...). "-runs=N" or "-max_total_time=S" bounds a run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include "html_scan.h"
#include "rewrite.h"

static struct pb_conf conf;
static struct pb_keyring ring;

#define CHECK(cond) do { if (!(cond)) { \
        fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
        abort(); } } while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const char keys[] =
        "contact 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"
        "1 1111111111111111111111111111111111111111111111111111111111111111\n";
    static char *domains[] = { "example.com", "shop.example.org", NULL };
    char dir[] = "/tmp/fuzz-rewrite.XXXXXX", path[64], err[512];
    if (mkdtemp(dir) == NULL)
        abort();
    snprintf(path, sizeof(path), "%s/keys", dir);
    FILE *fp = fopen(path, "w");
    if (fp == NULL || fputs(keys, fp) < 0 || fclose(fp) != 0
        || pb_keys_load(path, 0, &ring, err, sizeof(err)) != 0) {
        fprintf(stderr, "fuzz keys: %s\n", err);
        abort();
    }
    unlink(path);
    rmdir(dir);
    pb_conf_defaults(&conf);
    free(conf.tracking_url);
    conf.tracking_url = strdup("https://t.example.net");
    conf.utm.domains.items = domains;
    conf.utm.domains.count = 2;
    return 0;
}

/* ---- scanner invariants --------------------------------------------- */

struct scan_state {
    size_t len;
    size_t last_end;
    GString *kinds;             /* kind and in_mso of every tag, for the rescan */
};

static void check_attr(const char *html, const struct pb_html_tag *tag,
                       const struct pb_html_attr *a)
{
    size_t tag_end = tag->off + tag->len;
    CHECK(a->name_len > 0 && a->name_off > tag->off && a->name_off + a->name_len < tag_end);
    if (!a->has_value) {
        CHECK(a->span_len == 0 && a->value_len == 0);
        return;
    }
    CHECK(a->value_off >= a->name_off + a->name_len && a->value_off + a->value_len < tag_end);
    if (a->quote) {
        CHECK(a->span_len == a->value_len + 2 && a->span_off + 1 == a->value_off);
        CHECK(html[a->span_off] == a->quote && html[a->span_off + a->span_len - 1] == a->quote);
        CHECK(memchr(html + a->value_off, a->quote, a->value_len) == NULL);
    } else {
        CHECK(a->span_len == a->value_len && a->span_off == a->value_off && a->value_len > 0);
        for (size_t i = 0; i < a->value_len; i++)
            CHECK(!strchr(" \t\n\r\f>", html[a->value_off + i]) || html[a->value_off + i] == 0);
    }
    size_t cap = a->value_len * 3 + 4, used = 0;
    char *out = malloc(cap);
    if (pb_html_decode_attr(html + a->value_off, a->value_len, out, cap, &used) == 0)
        CHECK(used < cap);
    free(out);
}

/* Attribute names equal, ASCII case-insensitively (NUL bytes included). */
static int same_name(const char *html, const struct pb_html_attr *a, const struct pb_html_attr *b)
{
    if (a->name_len != b->name_len)
        return 0;
    for (size_t i = 0; i < a->name_len; i++)
        if (g_ascii_tolower(html[a->name_off + i]) != g_ascii_tolower(html[b->name_off + i]))
            return 0;
    return 1;
}

static int check_tag(void *arg, const char *html, const struct pb_html_tag *tag)
{
    struct scan_state *st = arg;
    CHECK(tag->off >= st->last_end && tag->len >= 3 && tag->off + tag->len <= st->len);
    CHECK(html[tag->off] == '<' && html[tag->off + tag->len - 1] == '>');
    int end_tag = tag->kind == PB_TAG_A_END || tag->kind == PB_TAG_BODY_END;
    CHECK((html[tag->off + 1] == '/') == end_tag);
    CHECK(tag->nattrs >= 0 && tag->nattrs <= PB_HTML_MAX_ATTRS);
    CHECK(!end_tag || tag->nattrs == 0);
    for (int i = 0; i < tag->nattrs; i++) {
        check_attr(html, tag, &tag->attrs[i]);
        for (int j = 0; j < i; j++)
            CHECK(!same_name(html, &tag->attrs[i], &tag->attrs[j]));
    }
    if (tag->kind == PB_TAG_VML)
        CHECK(pb_html_attr_find(html, tag, "href") != NULL);
    st->last_end = tag->off + tag->len;
    if (tag->kind != PB_TAG_BODY && tag->kind != PB_TAG_BODY_END) {
        g_string_append_c(st->kinds, (char)('0' + tag->kind));
        g_string_append_c(st->kinds, (char)('0' + tag->in_mso));
    }
    return 0;
}

static GString *scan_checked(const char *html, size_t len)
{
    struct scan_state st = { .len = len, .kinds = g_string_new(NULL) };
    CHECK(pb_html_scan(html, len, check_tag, &st) == 0);
    return st.kinds;
}

static size_t count_lf(const char *s, size_t len)
{
    size_t n = 0;
    for (const char *p = s; (p = memchr(p, '\n', len - (size_t)(p - s))) != NULL; p++)
        n++;
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t opt = data[0];
    const char *doc = (const char *)data + 1;
    size_t len = size - 1;
    conf.milter.pixel_position = (enum pb_pixel_position)(opt % 3);
    conf.milter.track_clicks = !(opt & 0x04);
    conf.milter.track_opens = !(opt & 0x08);
    conf.utm.content = (enum pb_utm_content_mode)((opt >> 4) % 3);

    struct pb_link_ctx ctx = { .conf = &conf, .keys = &ring, .has_contact = opt & 0x40,
                               .campaign = "fuzz", .sent_at = 1700000000 };
    GString *kinds_in = scan_checked(doc, len);

    GString *out = g_string_new(NULL);
    int changes = pb_html_rewrite(&ctx, doc, len, out);
    CHECK(changes >= 0);
    if (changes == 0)
        CHECK(out->len == len && memcmp(out->str, doc, len) == 0);
    /* the splices never change which links exist or where comments end */
    GString *kinds_out = scan_checked(out->str, out->len);
    CHECK(g_string_equal(kinds_in, kinds_out));
    /* only a replaced multi-line href value can take line breaks away */
    CHECK(count_lf(out->str, out->len) <= count_lf(doc, len));

    g_string_truncate(out, 0);
    unsigned before = ctx.links_tracked;
    changes = pb_text_rewrite(&ctx, doc, len, 0, out);
    CHECK(changes >= 0 && ctx.links_tracked == before + (unsigned)changes);
    if (changes == 0)
        CHECK(out->len == len && memcmp(out->str, doc, len) == 0);
    CHECK(count_lf(out->str, out->len) == count_lf(doc, len));

    g_string_free(out, TRUE);
    g_string_free(kinds_in, TRUE);
    g_string_free(kinds_out, TRUE);
    return 0;
}
