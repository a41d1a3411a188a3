/*
 * check_html.c - pb_html_rewrite() (milter/html_rewrite.c).
 *
 * Golden files: tests/data/html/NAME.in.html rewritten with the fixed test
 * context must equal NAME.out.html byte for byte (the .out files were
 * read and checked by hand; PB_UPDATE_GOLDEN=1 rewrites them after a
 * deliberate change). Beyond the bytes, every rewrite is checked the way a
 * user would: each changed href is a click token that verifies and leads
 * to the original destination (plus UTM), everything else is unchanged,
 * and the pixel is where the configuration says.
 */
#include <check.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "html_scan.h"
#include "rewrite.h"
#include "testutil.h"

/* ---- what a rewrite did, link by link ------------------------------ */

struct href {
    enum pb_html_tag_kind kind;
    int in_mso;
    size_t span_off, span_len;  /* value with quotes, in its document */
    char *value;                /* decoded, NULL if undecodable/absent */
};

static int collect_href(void *arg, const char *html, const struct pb_html_tag *tag)
{
    if (tag->kind != PB_TAG_A && tag->kind != PB_TAG_AREA && tag->kind != PB_TAG_VML)
        return 0;
    struct href h = { .kind = tag->kind, .in_mso = tag->in_mso };
    const struct pb_html_attr *a = pb_html_attr_find(html, tag, "href");
    if (a) {
        size_t cap = a->value_len * 3 + 4;
        h.span_off = a->span_off;
        h.span_len = a->span_len;
        h.value = malloc(cap);
        if (pb_html_decode_attr(html + a->value_off, a->value_len, h.value, cap, NULL) != 0) {
            free(h.value);
            h.value = NULL;
        }
    }
    g_array_append_val((GArray *)arg, h);
    return 0;
}

static void href_clear(gpointer p)
{
    free(((struct href *)p)->value);
}

static GArray *hrefs(const char *html, size_t len)
{
    GArray *a = g_array_new(FALSE, TRUE, sizeof(struct href));
    g_array_set_clear_func(a, href_clear);
    pb_html_scan(html, len, collect_href, a);
    return a;
}

/* One tracked link of a rewrite: its destination and index. */
struct tracked {
    char *dest;
    unsigned index;
    int in_mso;
};

static void tracked_clear(gpointer p)
{
    free(((struct tracked *)p)->dest);
}

static const char pixel_prefix[] = "<img src=\"https://t.example.net/o/";

/*
 * Checks that out is in with some href values replaced by verifying click
 * tokens to the same destinations (UTM aside), plus at most one pixel.
 * Returns the tracked links in document order; *pixel_at: where the pixel
 * is in the input (-1 if none).
 */
static GArray *verify_rewrite(const char *in, size_t in_len, const char *out, size_t out_len,
                              long *pixel_at)
{
    GArray *hi = hrefs(in, in_len), *ho = hrefs(out, out_len);
    GArray *tracked = g_array_new(FALSE, TRUE, sizeof(struct tracked));
    g_array_set_clear_func(tracked, tracked_clear);
    struct tu_undo u;
    tu_undo_start(&u, &tu_conf, &tu_ring, out);
    ck_assert_uint_eq(hi->len, ho->len);
    for (guint i = 0; i < hi->len; i++) {
        struct href *a = &g_array_index(hi, struct href, i), *b = &g_array_index(ho, struct href, i);
        ck_assert_int_eq(a->kind, b->kind);
        if (a->span_len == b->span_len
            && memcmp(in + a->span_off, out + b->span_off, a->span_len) == 0)
            continue;
        ck_assert_msg(out[b->span_off] == '"', "rewritten value not double-quoted");
        ck_assert_ptr_nonnull(a->value);
        ck_assert_ptr_nonnull(b->value);
        struct tracked t = { .in_mso = b->in_mso };
        t.dest = tu_undo_link(&u, b->span_off, b->span_off + b->span_len, b->value,
                              g_strstrip(a->value), in + a->span_off, a->span_len, &t.index);
        ck_assert_msg(t.dest != NULL, "href: %s", u.why);
        g_array_append_val(tracked, t);
    }
    GString *undo = tu_undo_finish(&u, out_len);
    /* Take the pixel out again: what is left must be the input. */
    const char *pixel = strstr(undo->str, pixel_prefix);
    *pixel_at = -1;
    if (pixel) {
        const char *pixel_end = strstr(pixel, "/>");
        ck_assert_ptr_nonnull(pixel_end);
        *pixel_at = (long)(pixel - undo->str);
        g_string_erase(undo, *pixel_at, pixel_end + 2 - pixel);
        ck_assert_ptr_null(strstr(undo->str, pixel_prefix));
    }
    ck_assert_uint_eq(undo->len, in_len);
    ck_assert(memcmp(undo->str, in, in_len) == 0);
    g_string_free(undo, TRUE);
    g_array_free(hi, TRUE);
    g_array_free(ho, TRUE);
    return tracked;
}

/* Rewrite one string with the test context. */
static int rewrite(const char *in, size_t len, GString *out)
{
    struct pb_link_ctx ctx;
    tu_link_ctx(&ctx, &tu_conf, &tu_ring);
    return pb_html_rewrite(&ctx, in, len, out);
}

/* ---- golden files --------------------------------------------------- */

struct golden {
    const char *name;
    enum pb_pixel_position pixel;
    enum pb_utm_content_mode content;
    int tracked;                /* links that must be tracked */
};

static const struct golden goldens[] = {
    { "attrs", PB_PIXEL_AFTER_BODY, PB_UTM_CONTENT_POSITION, 10 },
    { "entities", PB_PIXEL_AFTER_BODY, PB_UTM_CONTENT_POSITION, 7 },
    { "misnested", PB_PIXEL_AFTER_BODY, PB_UTM_CONTENT_POSITION, 8 },
    { "rawtext", PB_PIXEL_AFTER_BODY, PB_UTM_CONTENT_POSITION, 4 },
    { "mso", PB_PIXEL_AFTER_BODY, PB_UTM_CONTENT_POSITION, 5 },
    { "untouched", PB_PIXEL_AFTER_BODY, PB_UTM_CONTENT_POSITION, 1 },
    { "pixel_after_body", PB_PIXEL_AFTER_BODY, PB_UTM_CONTENT_POSITION, 1 },
    { "pixel_before_body_end", PB_PIXEL_BEFORE_BODY_END, PB_UTM_CONTENT_POSITION, 1 },
    { "pixel_no_body", PB_PIXEL_AFTER_BODY, PB_UTM_CONTENT_POSITION, 1 },
    { "pixel_no_body_end", PB_PIXEL_BEFORE_BODY_END, PB_UTM_CONTENT_POSITION, 1 },
    { "lf_only", PB_PIXEL_AFTER_BODY, PB_UTM_CONTENT_POSITION, 2 },
    { "crlf", PB_PIXEL_AFTER_BODY, PB_UTM_CONTENT_POSITION, 2 },
    { "anchor_slug", PB_PIXEL_NONE, PB_UTM_CONTENT_ANCHOR, 4 },
    { "newsletter", PB_PIXEL_AFTER_BODY, PB_UTM_CONTENT_POSITION, 2 },
};

/* Rewrites golden case g; returns its tracked links. */
static GArray *run_golden(const struct golden *g, char **in_p, GString *out, long *pixel_at)
{
    char path[256];
    size_t in_len;
    tu_conf.milter.pixel_position = g->pixel;
    tu_conf.utm.content = g->content;
    snprintf(path, sizeof(path), "data/html/%s.in.html", g->name);
    char *in = tu_read_file(tu_test_path(path), &in_len);
    ck_assert_msg(in != NULL, "cannot read %s", path);
    int changes = rewrite(in, in_len, out);
    GArray *tracked = verify_rewrite(in, in_len, out->str, out->len, pixel_at);
    ck_assert_int_eq(tracked->len, g->tracked);
    ck_assert_int_eq(changes, g->tracked + (*pixel_at >= 0));
    ck_assert_int_eq(*pixel_at >= 0, g->pixel != PB_PIXEL_NONE);
    *in_p = in;
    return tracked;
}

START_TEST(golden_files)
{
    const struct golden *g = &goldens[_i];
    char path[256], *in;
    long pixel_at;
    GString *out = g_string_new(NULL);
    GArray *tracked = run_golden(g, &in, out, &pixel_at);
    snprintf(path, sizeof(path), "data/html/%s.out.html", g->name);
    if (getenv("PB_UPDATE_GOLDEN"))
        tu_write_file(tu_test_path(path), out->str, out->len);
    size_t want_len;
    char *want = tu_read_file(tu_test_path(path), &want_len);
    ck_assert_msg(want != NULL, "cannot read %s", path);
    ck_assert_msg(want_len == out->len && memcmp(want, out->str, want_len) == 0,
                  "%s: output differs from the golden file", g->name);
    free(want);
    free(in);
    g_array_free(tracked, TRUE);
    g_string_free(out, TRUE);
}
END_TEST

static const struct tracked *nth(GArray *tracked, guint i)
{
    ck_assert_uint_lt(i, tracked->len);
    return &g_array_index(tracked, struct tracked, i);
}

/* One golden case run by name, for the checks beyond its bytes. */
struct run {
    char *in;
    GString *out;
    GArray *t;                  /* struct tracked */
    long pixel_at;
};

static void run_named(const char *name, struct run *r)
{
    r->out = g_string_new(NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(goldens); i++)
        if (strcmp(goldens[i].name, name) == 0) {
            r->t = run_golden(&goldens[i], &r->in, r->out, &r->pixel_at);
            return;
        }
    ck_abort_msg("no golden case %s", name);
}

static void run_free(struct run *r)
{
    free(r->in);
    g_array_free(r->t, TRUE);
    g_string_free(r->out, TRUE);
}

START_TEST(mso_twins_share_link)
{
    struct run r;
    run_named("mso", &r);
    GArray *t = r.t;
    /* document order: VML button (mso), its <a> twin, blog, Outlook-only, blog again (mso) */
    ck_assert(nth(t, 0)->in_mso && !nth(t, 1)->in_mso && nth(t, 3)->in_mso && nth(t, 4)->in_mso);
    ck_assert_uint_eq(nth(t, 1)->index, 0);
    ck_assert_uint_eq(nth(t, 0)->index, 0);
    ck_assert_str_eq(nth(t, 0)->dest, nth(t, 1)->dest);
    ck_assert_str_eq(nth(t, 1)->dest, "https://shop.example.org/sale?from=mail&x=1&utm_source="
                     "newsletter&utm_medium=email&utm_campaign=spring-sale&utm_content=link-1");
    ck_assert_uint_eq(nth(t, 2)->index, 1);
    ck_assert_uint_eq(nth(t, 4)->index, 1);
    ck_assert_uint_eq(nth(t, 3)->index, 2);         /* no twin: after all the others */
    ck_assert(strstr(r.out->str, "<style>.btn { font-family: Arial, sans-serif; }</style>"));
    run_free(&r);
}
END_TEST

START_TEST(entities_reach_the_signed_url)
{
    struct run r;
    run_named("entities", &r);
    GArray *t = r.t;
    ck_assert_str_eq(nth(t, 0)->dest, "https://example.com/search?q=shoes&size=42&color=red"
                     "&utm_source=newsletter&utm_medium=email&utm_campaign=spring-sale"
                     "&utm_content=link-1");
    ck_assert(g_str_has_prefix(nth(t, 1)->dest, "https://example.com/p?a=1&b=2&c=3&utm_"));
    ck_assert(g_str_has_prefix(nth(t, 2)->dest, "https://example.com/legacy?x=1&copy=2&amp=3&"));
    ck_assert_str_eq(nth(t, 3)->dest, "https://news.example.net/\"quoted\"/");   /* no UTM domain */
    ck_assert(g_str_has_prefix(nth(t, 4)->dest, "https://example.com/caf\xc3\xa9?utm_"));
    ck_assert(g_str_has_prefix(nth(t, 5)->dest, "https://example.com/colon-ref?utm_"));
    ck_assert(g_str_has_suffix(nth(t, 6)->dest, "utm_content=link-7#frag&ment"));
    /* the unknown reference stays exactly as written */
    ck_assert(strstr(r.out->str, "href=\"https://example.com/p?x=1&unknownentity;y=2\""));
    run_free(&r);
}
END_TEST

START_TEST(anchor_text_gives_utm_content)
{
    struct run r;
    run_named("anchor_slug", &r);
    ck_assert(g_str_has_suffix(nth(r.t, 0)->dest, "utm_content=shop-the-new-collection"));
    ck_assert(g_str_has_suffix(nth(r.t, 1)->dest, "utm_content=link-2"));   /* image only */
    ck_assert(g_str_has_suffix(nth(r.t, 2)->dest, "utm_content=caf-bar"));
    ck_assert(g_str_has_suffix(nth(r.t, 3)->dest, "utm_content=area-alt-text"));
    run_free(&r);
}
END_TEST

START_TEST(pixel_positions)
{
    static const struct { const char *name, *before; } cases[] = {
        { "pixel_after_body", "<body class=\"x\" style=\"margin:0\">" },
        { "pixel_before_body_end", "</p>\n" },
        { "pixel_no_body", "<!doctype html>" },
        { "pixel_no_body_end", "</table>\n" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        struct run r;
        run_named(cases[i].name, &r);
        const char *pixel = strstr(r.out->str, pixel_prefix);
        size_t blen = strlen(cases[i].before);
        ck_assert_ptr_nonnull(pixel);
        ck_assert_msg((size_t)(pixel - r.out->str) >= blen
                      && memcmp(pixel - blen, cases[i].before, blen) == 0,
                      "%s: pixel not after %s", cases[i].name, cases[i].before);
        const char *src = pixel + strlen("<img src=\""), *src_end = strchr(src, '"');
        size_t base = strlen("https://t.example.net/o/");
        ck_assert(src_end - src > (long)base + 4 && memcmp(src_end - 4, ".gif", 4) == 0);
        struct pb_token tok;
        uint8_t buf[512];
        ck_assert_int_eq(pb_token_decode(&tu_ring, src + base, (size_t)(src_end - src) - base - 4,
                                         PB_TOKEN_OPEN, buf, &tok), PB_TOKEN_OK);
        ck_assert(strstr(pixel, "width=\"1\" height=\"1\" alt=\"\" border=\"0\""));
        run_free(&r);
    }
}
END_TEST

START_TEST(pixel_never_swallowed)
{
    static const struct { const char *html; int at_end; } cases[] = {
        { "<p>fragment</p>\n", 1 },
        { "<p><a href=\"https://example.com/a", 0 },
        { "<p>text</p><textarea>notes", 0 },
        { "<p>text</p><!-- open comment", 0 },
        { "<p>text</p></", 0 },
    };
    tu_conf.milter.pixel_position = PB_PIXEL_BEFORE_BODY_END;
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        GString *out = g_string_new(NULL);
        size_t len = strlen(cases[i].html);
        ck_assert_int_ge(rewrite(cases[i].html, len, out), 1);
        const char *pixel = strstr(out->str, pixel_prefix);
        ck_assert_ptr_nonnull(pixel);
        if (cases[i].at_end)
            ck_assert(pixel == out->str + len && g_str_has_suffix(out->str, "/>"));
        else
            ck_assert_msg(pixel == out->str, "%s: pixel not at the start", cases[i].html);
        g_string_free(out, TRUE);
    }
}
END_TEST

START_TEST(nothing_to_do_gives_exact_copy)
{
    const char *html = "<body><a href=\"https://example.com/x\">x</a></body>";
    GString *out = g_string_new("kept:");
    tu_conf.milter.track_clicks = 0;
    tu_conf.milter.track_opens = 0;
    ck_assert_int_eq(rewrite(html, strlen(html), out), 0);
    ck_assert_str_eq(out->str, "kept:<body><a href=\"https://example.com/x\">x</a></body>");
    tu_conf.milter.track_opens = 1;
    g_string_truncate(out, 0);
    ck_assert_int_eq(rewrite(html, strlen(html), out), 1);        /* the pixel only */
    ck_assert(strstr(out->str, "<a href=\"https://example.com/x\">"));
    tu_conf.milter.track_clicks = 1;
    tu_conf.milter.track_opens = 0;
    g_string_truncate(out, 0);
    ck_assert_int_eq(rewrite("<p>no links</p>", 15, out), 0);
    ck_assert_str_eq(out->str, "<p>no links</p>");
    g_string_free(out, TRUE);
}
END_TEST

START_TEST(indexes_continue_after_earlier_links)
{
    const char *html = "<a href=\"https://example.com/a\">a</a><a href=\"https://example.com/b\">b</a>";
    struct pb_link_ctx ctx;
    GString *out = g_string_new(NULL);
    long pixel_at;
    tu_conf.milter.track_opens = 0;
    tu_link_ctx(&ctx, &tu_conf, &tu_ring);
    ctx.links_tracked = 5;
    ck_assert_int_eq(pb_html_rewrite(&ctx, html, strlen(html), out), 2);
    GArray *t = verify_rewrite(html, strlen(html), out->str, out->len, &pixel_at);
    ck_assert_uint_eq(nth(t, 0)->index, 5);
    ck_assert_uint_eq(nth(t, 1)->index, 6);
    ck_assert_uint_eq(ctx.links_tracked, 7);
    g_array_free(t, TRUE);
    g_string_free(out, TRUE);
}
END_TEST

/* Every corpus template: links that go somewhere get tracked and verify. */
START_TEST(corpus_templates)
{
    static const char *const names[] = {
        "html/leemunroe/email.html", "html/leemunroe/email-inlined.html",
        "html/postmark-templates/example/content.html",
        "html/postmark-templates/receipt/content.html",
        "html/postmark-templates/invoice/content.html",
        "html/postmark-templates/welcome/content.html",
        "html/postmark-templates/trial-expiring/content.html",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        size_t len;
        long pixel_at;
        char *in = tu_read_file(tu_corpus_path(names[i]), &len);
        ck_assert_msg(in != NULL, "cannot read %s", names[i]);
        GString *out = g_string_new(NULL);
        int changes = rewrite(in, len, out);
        GArray *t = verify_rewrite(in, len, out->str, out->len, &pixel_at);
        ck_assert_int_ge(t->len, 1);
        ck_assert_int_eq(changes, (int)t->len + 1);
        ck_assert_int_ge(pixel_at, 0);
        g_array_free(t, TRUE);
        g_string_free(out, TRUE);
        free(in);
    }
}
END_TEST

static Suite *html_suite(void)
{
    Suite *s = suite_create("html_rewrite");
    TCase *tc = tcase_create("golden");
    tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
    tcase_add_loop_test(tc, golden_files, 0, G_N_ELEMENTS(goldens));
    tcase_add_test(tc, mso_twins_share_link);
    tcase_add_test(tc, entities_reach_the_signed_url);
    tcase_add_test(tc, anchor_text_gives_utm_content);
    tcase_add_test(tc, pixel_positions);
    suite_add_tcase(s, tc);
    tc = tcase_create("behaviour");
    tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
    tcase_add_test(tc, pixel_never_swallowed);
    tcase_add_test(tc, nothing_to_do_gives_exact_copy);
    tcase_add_test(tc, indexes_continue_after_earlier_links);
    tcase_add_test(tc, corpus_templates);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(html_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
