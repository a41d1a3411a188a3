/*
 * check_html_scan.c - the focused HTML scanner (milter/html_scan.c)
 * against gumbo, a full HTML5 parser, as the reference:
 *  - every corpus HTML file and every golden input: the same <a>/<area>
 *    start tags (by source offset) with the same decoded href;
 *  - a few thousand random documents built from tricky fragments;
 *  - direct checks of offsets, MSO/VML reporting and entity decoding.
 * Tags inside Outlook conditional comments are comments to gumbo, so they
 * are left out of the comparison and checked directly instead. <svg> and
 * <math> come as whole blocks: how an end tag of an enclosing HTML element
 * closes them depends on the tree (see html_scan.c), which the scanner
 * does not build.
 */
#include <check.h>
#include <gumbo.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "html_scan.h"
#include "testutil.h"

/* One <a>/<area> start tag: where it ends, and its decoded href. */
struct found {
    size_t off;
    int has_href;
    int skipped;                /* scanner could not decode: any value is fine */
    char *href;
};

static void found_free(gpointer p)
{
    struct found *f = p;
    free(f->href);
    g_free(f);
}

static gint found_cmp(gconstpointer a, gconstpointer b)
{
    const struct found *x = *(struct found *const *)a, *y = *(struct found *const *)b;
    return x->off < y->off ? -1 : x->off > y->off;
}

/* ---- gumbo side ---------------------------------------------------- */

static void gumbo_collect(const GumboNode *node, const char *src, GPtrArray *out)
{
    if (node->type == GUMBO_NODE_DOCUMENT) {
        for (unsigned i = 0; i < node->v.document.children.length; i++)
            gumbo_collect(node->v.document.children.data[i], src, out);
        return;
    }
    if (node->type != GUMBO_NODE_ELEMENT && node->type != GUMBO_NODE_TEMPLATE)
        return;
    const GumboElement *el = &node->v.element;
    /* Elements the parser made itself (clones when it reopens an <a>)
     * have no start tag of their own: skip them. */
    if ((el->tag == GUMBO_TAG_A || el->tag == GUMBO_TAG_AREA)
        && el->tag_namespace == GUMBO_NAMESPACE_HTML
        && !(node->parse_flags & GUMBO_INSERTION_BY_PARSER) && el->original_tag.data) {
        struct found *f = g_new0(struct found, 1);
        const GumboAttribute *href = gumbo_get_attribute(&el->attributes, "href");
        /* the end of the tag: gumbo's start can include an ignored "</>" */
        f->off = (size_t)(el->original_tag.data - src) + el->original_tag.length;
        f->has_href = href != NULL;
        f->href = strdup(href ? href->value : "");
        g_ptr_array_add(out, f);
    }
    for (unsigned i = 0; i < el->children.length; i++)
        gumbo_collect(el->children.data[i], src, out);
}

static GPtrArray *gumbo_links(const char *html, size_t len)
{
    GPtrArray *out = g_ptr_array_new_with_free_func(found_free);
    GumboOutput *doc = gumbo_parse_with_options(&kGumboDefaultOptions, html, len);
    gumbo_collect(doc->document, html, out);
    gumbo_destroy_output(&kGumboDefaultOptions, doc);
    g_ptr_array_sort(out, found_cmp);       /* foster parenting moves nodes */
    return out;
}

/* ---- scanner side -------------------------------------------------- */

static int scan_collect(void *arg, const char *html, const struct pb_html_tag *tag)
{
    GPtrArray *out = arg;
    if ((tag->kind != PB_TAG_A && tag->kind != PB_TAG_AREA) || tag->in_mso)
        return 0;
    struct found *f = g_new0(struct found, 1);
    const struct pb_html_attr *href = pb_html_attr_find(html, tag, "href");
    f->off = tag->off + tag->len;
    f->has_href = href != NULL;
    f->skipped = tag->attrs_dropped;
    size_t cap = href ? href->value_len * 3 + 4 : 1, used = 0;
    f->href = calloc(1, cap);
    if (href && pb_html_decode_attr(html + href->value_off, href->value_len, f->href, cap,
                                    &used) != 0)
        f->skipped = 1;
    g_ptr_array_add(out, f);
    return 0;
}

static GPtrArray *scan_links(const char *html, size_t len)
{
    GPtrArray *out = g_ptr_array_new_with_free_func(found_free);
    ck_assert_int_eq(pb_html_scan(html, len, scan_collect, out), 0);
    return out;
}

/* How many hrefs were compared / left out as undecodable, in total. */
static unsigned compared_hrefs, skipped_hrefs;

/* Same tags at the same offsets with the same hrefs? Describes the first
 * difference in why. */
static int same_links(const char *html, size_t len, char *why, size_t whylen)
{
    GPtrArray *g = gumbo_links(html, len), *s = scan_links(html, len);
    int ok = 1;
    for (guint i = 0; ok && (i < g->len || i < s->len); i++) {
        const struct found *gf = i < g->len ? g->pdata[i] : NULL;
        const struct found *sf = i < s->len ? s->pdata[i] : NULL;
        if (!gf || !sf || gf->off != sf->off) {
            snprintf(why, whylen, "link %u: gumbo tag ends at %ld, scanner at %ld", i,
                     gf ? (long)gf->off : -1L, sf ? (long)sf->off : -1L);
            ok = 0;
        } else if (!sf->skipped && (gf->has_href != sf->has_href || strcmp(gf->href, sf->href))) {
            snprintf(why, whylen, "link %u at %zu: gumbo href [%s], scanner [%s]", i, gf->off,
                     gf->href, sf->href);
            ok = 0;
        } else if (sf->skipped) {
            skipped_hrefs++;
        } else {
            compared_hrefs++;
        }
    }
    g_ptr_array_free(g, TRUE);
    g_ptr_array_free(s, TRUE);
    return ok;
}

/* ---- corpus and golden inputs -------------------------------------- */

static void html_files(const char *dir, const char *suffix, GPtrArray *out)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    if (d == NULL)
        return;
    const char *name;
    while ((name = g_dir_read_name(d)) != NULL) {
        char *path = g_build_filename(dir, name, NULL);
        if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
            html_files(path, suffix, out);
            g_free(path);
        } else if (g_str_has_suffix(name, suffix)) {
            g_ptr_array_add(out, path);
        } else {
            g_free(path);
        }
    }
    g_dir_close(d);
}

/* Every file under dir ending in suffix agrees with gumbo; returns how
 * many links they hold. */
static unsigned check_dir(const char *dir, const char *suffix, guint min_files)
{
    GPtrArray *files = g_ptr_array_new_with_free_func(g_free);
    unsigned links = 0;
    html_files(dir, suffix, files);
    ck_assert_uint_ge(files->len, min_files);
    for (guint i = 0; i < files->len; i++) {
        size_t len;
        char why[512];
        char *html = tu_read_file(files->pdata[i], &len);
        ck_assert_msg(html != NULL, "cannot read %s", (char *)files->pdata[i]);
        ck_assert_msg(same_links(html, len, why, sizeof(why)), "%s: %s",
                      (char *)files->pdata[i], why);
        GPtrArray *s = scan_links(html, len);
        links += s->len;
        g_ptr_array_free(s, TRUE);
        free(html);
    }
    g_ptr_array_free(files, TRUE);
    return links;
}

START_TEST(corpus_matches_gumbo)
{
    ck_assert_uint_ge(check_dir(tu_corpus_path("html"), ".html", 13), 40);
}
END_TEST

START_TEST(golden_inputs_match_gumbo)
{
    ck_assert_uint_ge(check_dir(tu_test_path("data/html"), ".in.html", 10), 60);
}
END_TEST

/* ---- random documents ---------------------------------------------- */

static const char *const urls[] = {
    "http://example.com/a?x=1&amp;y=2", "https://shop.example.org/p#frag", "mailto:a@b.c",
    "#top", "javascript:alert(1)", "/relative", "", " https://x.com/ ", "http://x.com/\"q",
    "https://x.com/it's", "HTTP://X.COM/UP", "https://x.com/a>b", "https://x.com/?a=1&copy=2",
    "https://x.com/?a&not-b", "https://x.com/&notit;", "https://x.com/&hellip;",
    "https://x.com/&#38;&#x26;&#0;&#x80;&#", "https://x.com/&bogus;", "javascript&colon;x",
    "https://x.com/&amp;amp;&AMP;&Amp;", "https://x.com/&lt&gt=&quot", "a\r\nb\rc",
    "https://x.com/&nbsp;&euro;&rsquo;&apos;", "https://x.com/a b", "https://x.com/`=<",
};

static const char *const fragments[] = {
    "<a href=\"@\">", "<a href='@'>", "<a href=@>", "<A HREF=\"@\">", "<a href>", "<a href=>",
    "<a href = \"@\" >", "<a\nhref=\"@\"\r\n>", "<a title=\"x>y\" href=\"@\">",
    "<a href=\"@\" href=\"dup\">", "<a HREF=@ href=dup>", "<a/href=\"@\">", "<a href=\"@\"/>",
    "<a href=\"@\"title=x>", "<a =href=x href=@>", "<area href=\"@\">", "<AREA shape=rect href=@>",
    "<div href=\"@\">", "<img src=x href=\"@\">", "<ab href=@>", "<a:b href=@>",
    "</a href=\"@\">", "</a>", "</A >", "<p>", "</p>", "<b>", "</b>", "<table>", "<tr><td>",
    "</table>", "<div>", "</div>", "<i>", "text", " x < y ", "a<3", "<<a href=@>", "<",
    "< a href=@>", "<!-- <a href=@> -->", "<!-->", "<!--->", "<!---->", "<!-- -- -->",
    "<!-- --!>", "<!--", "-->", "--!>", "<!DOCTYPE html>", "<!doctype x '>'>", "<?xml <a href=@>?>",
    "</ <a href=@>>", "</>", "</3 <a href=@>", "<!x <a href=@>>", "<![CDATA[ <a href=@> ]]>", "<![CDATA[ > <a href=@> ]]>",
    "<script>if (a<b) x='<a href=\"@\">'</script>", "<script><!--<a href=@>--></script>",
    "<script><!--<script><a href=@></script><a href=@>--></script>", "<SCRIPT type=x>",
    "</SCRIPT >", "<script>a<!--b</script>", "<script><!--<script>x--></script>",
    "<style>a{} <a href=@></style>", "<style><!--</style><a href=@>-->", "<textarea>",
    "</textarea>", "<title><a href=@></title>", "<xmp><a href=@></xmp>", "<iframe><a href=@>",
    "</iframe>", "<noembed><a href=@></noembed>", "<noframes><a href=@></noframes>",
    "<noscript><a href=@></noscript>", "</script>", "</style>", "<style/>", "</style x='>'>",
    "<svg><a href=@></a><style><a href=@></style><![CDATA[<a href=@> > ]]></svg>",
    "<svg><p><a href=@>", "<math><a href=@></math>", "<svg/><a href=@>",
    "<svg><![CDATA[ > </svg> ]]><a href=@></svg>",
    "<svg><font color=red><a href=@>", "<svg><font><a href=@></font></svg>",
    "<svg><svg></svg><a href=@></a></svg><a href=@>", "<SVG><g><path d=\"M0\"/></g></SVG>",
    "</svg>", "<!--[if mso]><a href=@>x</a><![endif]-->", "<!--[if !mso]><!-- --><a href=@><!--<![endif]-->",
    "<!--[if gte mso 9]><v:roundrect href=\"@\"><![endif]-->", "<template><a href=@></template>",
    "\r\n", "\r", "<a href=\"@\" data-x='y' class=btn style=\"color:red\">Click</a>",
    "<body>", "</body>", "<li><a href=@>", "<h1>", "<span>", "</span>", "<form>", "</form>",
};

static guint32 rng_state = 12345;

static guint32 rnd(guint32 n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state % n;
}

static void random_doc(GString *doc)
{
    g_string_truncate(doc, 0);
    guint32 n = 1 + rnd(40);
    int has_foreign = 0, has_empty_end = 0;
    for (guint32 i = 0; i < n; i++) {
        const char *frag = fragments[rnd(G_N_ELEMENTS(fragments))];
        /* gumbo 0.10 bug: after "</>" (which HTML5 ignores) it no longer
         * closes <svg>/<math> on their end tags; keep the two apart. */
        int foreign = strstr(frag, "<svg") || strstr(frag, "<SVG") || strstr(frag, "<math");
        int empty_end = strstr(frag, "</>") != NULL;
        if ((foreign && has_empty_end) || (empty_end && has_foreign))
            continue;
        has_foreign |= foreign;
        has_empty_end |= empty_end;
        for (const char *c = frag; *c; c++) {
            if (*c == '@')
                g_string_append(doc, urls[rnd(G_N_ELEMENTS(urls))]);
            else
                g_string_append_c(doc, *c);
        }
    }
    if (rnd(5) == 0)                        /* cut off anywhere: EOF in every state */
        g_string_truncate(doc, rnd((guint32)doc->len + 1));
}

START_TEST(random_documents_match_gumbo)
{
    GString *doc = g_string_new(NULL);
    compared_hrefs = skipped_hrefs = 0;
    gint64 deadline = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
    unsigned done = 0;
    for (; done < 5000 && g_get_monotonic_time() < deadline; done++) {
        char why[512];
        random_doc(doc);
        ck_assert_msg(same_links(doc->str, doc->len, why, sizeof(why)),
                      "document %u: %s\n---\n%s\n---", done, why, doc->str);
    }
    ck_assert_uint_ge(done, 1000);
    ck_assert_uint_ge(compared_hrefs, 2 * done);
    ck_assert_uint_le(skipped_hrefs, compared_hrefs / 4);
    fprintf(stderr, "random: %u documents, %u hrefs compared, %u undecodable\n", done,
            compared_hrefs, skipped_hrefs);
    g_string_free(doc, TRUE);
}
END_TEST

/* ---- direct checks ------------------------------------------------- */

struct tags {
    struct pb_html_tag t[16];
    int n;
};

static int keep_tag(void *arg, const char *html, const struct pb_html_tag *tag)
{
    struct tags *tags = arg;
    if (tags->n < 16)
        tags->t[tags->n++] = *tag;
    return 0;
}

static void scan_all(const char *html, struct tags *tags)
{
    tags->n = 0;
    ck_assert_int_eq(pb_html_scan(html, strlen(html), keep_tag, tags), 0);
}

static char *attr_text(const char *html, const struct pb_html_tag *tag, const char *name,
                       int span)
{
    static char buf[256];
    const struct pb_html_attr *a = pb_html_attr_find(html, tag, name);
    if (a == NULL)
        return NULL;
    size_t off = span ? a->span_off : a->value_off, len = span ? a->span_len : a->value_len;
    snprintf(buf, sizeof(buf), "%.*s", (int)len, html + off);
    return buf;
}

START_TEST(offsets_of_each_value_kind)
{
    const char *html = "x<P><A title=t HREF='a&amp;b' id=\"i\"\n class=c>T</a >"
                       "<area href alt=>";
    struct tags tags;
    scan_all(html, &tags);
    ck_assert_int_eq(tags.n, 3);
    const struct pb_html_tag *a = &tags.t[0];
    ck_assert_int_eq(a->kind, PB_TAG_A);
    ck_assert_uint_eq(a->off, 4);
    ck_assert(html[a->off + a->len - 1] == '>' && html[a->off + a->len - 2] == 'c');
    ck_assert_int_eq(a->nattrs, 4);
    ck_assert_str_eq(attr_text(html, a, "href", 0), "a&amp;b");
    ck_assert_str_eq(attr_text(html, a, "href", 1), "'a&amp;b'");
    ck_assert_int_eq(pb_html_attr_find(html, a, "href")->quote, '\'');
    ck_assert_str_eq(attr_text(html, a, "id", 1), "\"i\"");
    ck_assert_str_eq(attr_text(html, a, "class", 1), "c");
    ck_assert_int_eq(pb_html_attr_find(html, a, "class")->quote, 0);
    ck_assert_int_eq(tags.t[1].kind, PB_TAG_A_END);
    ck_assert_str_eq(html + tags.t[1].off + tags.t[1].len, "<area href alt=>");
    const struct pb_html_tag *area = &tags.t[2];
    ck_assert_int_eq(area->kind, PB_TAG_AREA);
    ck_assert_int_eq(pb_html_attr_find(html, area, "href")->has_value, 0);
    ck_assert_uint_eq(pb_html_attr_find(html, area, "href")->span_len, 0);
    ck_assert_int_eq(pb_html_attr_find(html, area, "alt")->has_value, 0);
}
END_TEST

START_TEST(first_duplicate_wins)
{
    const char *html = "<a HREF=one href='two' Href=\"three\">";
    struct tags tags;
    scan_all(html, &tags);
    ck_assert_int_eq(tags.n, 1);
    ck_assert_int_eq(tags.t[0].nattrs, 1);
    ck_assert_str_eq(attr_text(html, &tags.t[0], "href", 0), "one");
}
END_TEST

START_TEST(too_many_attributes_are_flagged)
{
    GString *html = g_string_new("<a");
    for (int i = 0; i < PB_HTML_MAX_ATTRS + 3; i++)
        g_string_append_printf(html, " d%d=x", i);
    g_string_append(html, " href=late>");
    struct tags tags;
    scan_all(html->str, &tags);
    ck_assert_int_eq(tags.n, 1);
    ck_assert_int_eq(tags.t[0].nattrs, PB_HTML_MAX_ATTRS);
    ck_assert_int_eq(tags.t[0].attrs_dropped, 1);
    ck_assert_ptr_null(pb_html_attr_find(html->str, &tags.t[0], "href"));
    g_string_free(html, TRUE);
}
END_TEST

START_TEST(mso_and_vml_reported)
{
    const char *html = "<body class=x><!--[if mso]><v:roundrect href=\"https://v/\" arcsize=\"5%\">"
                       "<a href=m>m</a><![endif]--><!--[if !mso]><!-- --><a href=n>n</a>"
                       "<!--<![endif]--><v:rect fill=x><!-- <a href=c> --></body>";
    struct tags tags;
    scan_all(html, &tags);
    ck_assert_int_eq(tags.n, 7);
    ck_assert_int_eq(tags.t[0].kind, PB_TAG_BODY);
    ck_assert_int_eq(tags.t[0].in_mso, 0);
    ck_assert_int_eq(tags.t[1].kind, PB_TAG_VML);
    ck_assert_int_eq(tags.t[1].in_mso, 1);
    ck_assert_str_eq(attr_text(html, &tags.t[1], "href", 0), "https://v/");
    ck_assert_int_eq(tags.t[2].kind, PB_TAG_A);
    ck_assert_int_eq(tags.t[2].in_mso, 1);
    ck_assert_int_eq(tags.t[3].kind, PB_TAG_A_END);
    ck_assert_int_eq(tags.t[4].kind, PB_TAG_A);
    ck_assert_int_eq(tags.t[4].in_mso, 0);
    ck_assert_str_eq(attr_text(html, &tags.t[4], "href", 0), "n");
    ck_assert_int_eq(tags.t[5].kind, PB_TAG_A_END);
    ck_assert_int_eq(tags.t[6].kind, PB_TAG_BODY_END);
    ck_assert_str_eq(html + tags.t[6].off, "</body>");
}
END_TEST

static int stop_at_second(void *arg, const char *html, const struct pb_html_tag *tag)
{
    return ++*(int *)arg == 2 ? 7 : 0;
}

START_TEST(callback_stops_scan)
{
    int seen = 0;
    const char *html = "<a href=1><!--[if mso]><a href=2><![endif]--><a href=3>";
    ck_assert_int_eq(pb_html_scan(html, strlen(html), stop_at_second, &seen), 7);
    ck_assert_int_eq(seen, 2);
}
END_TEST

START_TEST(ends_in_text_or_not)
{
    static const struct { const char *html; int ends_in_text; } cases[] = {
        { "<p>text</p>", 1 }, { "text <", 1 }, { "<!-- c -->", 1 }, { "<a href=x>", 1 },
        { "<textarea>x</textarea >", 1 }, { "<a href=\"x", 0 }, { "<a href=x", 0 }, { "<p", 0 },
        { "<!-- open", 0 }, { "<!doctype html", 0 }, { "<textarea>x", 0 }, { "<script>x", 0 },
        { "<style>x</style", 0 }, { "<plaintext>", 0 }, { "</", 0 }, { "<?pi", 0 },
        { "<svg><![CDATA[ x", 0 }, { "<!--[if mso]><a href=x><![endif]-->", 1 },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        int ends_in_text = -1;
        struct tags tags;
        tags.n = 0;
        pb_html_scan_ex(cases[i].html, strlen(cases[i].html), keep_tag, &tags, &ends_in_text);
        ck_assert_msg(ends_in_text == cases[i].ends_in_text, "%s: %d", cases[i].html,
                      ends_in_text);
    }
}
END_TEST

static const char *decode(const char *s, int *rc)
{
    static char out[256];
    size_t used = 0;
    *rc = pb_html_decode_attr(s, strlen(s), out, sizeof(out), &used);
    out[*rc == 0 ? used : 0] = '\0';
    return out;
}

START_TEST(decode_attribute_references)
{
    int rc;
    ck_assert_str_eq(decode("a?x=1&amp;y=2&#38;z&#x26;w", &rc), "a?x=1&y=2&z&w");
    ck_assert_str_eq(decode("&amp&lt=&copy=1&copy2&not-x", &rc), "&&lt=&copy=1&copy2\xc2\xac-x");
    ck_assert_str_eq(decode("&#65&#x42;&#;&#x;&#0;", &rc), "AB&#;&#x;\xef\xbf\xbd");
    ck_assert_str_eq(decode("&#x80;&#x110000;&#xD800;", &rc),
                     "\xe2\x82\xac\xef\xbf\xbd\xef\xbf\xbd");
    ck_assert_str_eq(decode("&nbsp;&quot;&apos;&colon;&hellip;", &rc),
                     "\xc2\xa0\"':\xe2\x80\xa6");
    ck_assert_str_eq(decode("a\r\nb\rc & d", &rc), "a\nb\nc & d");
    ck_assert_int_eq(rc, 0);
    decode("https://x/&unknownname;", &rc);
    ck_assert_int_eq(rc, -1);
    char small[4];
    ck_assert_int_eq(pb_html_decode_attr("abcdef", 6, small, sizeof(small), NULL), -1);
}
END_TEST

static Suite *html_scan_suite(void)
{
    Suite *s = suite_create("html_scan");
    TCase *tc = tcase_create("gumbo");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, corpus_matches_gumbo);
    tcase_add_test(tc, golden_inputs_match_gumbo);
    tcase_add_test(tc, random_documents_match_gumbo);
    suite_add_tcase(s, tc);
    tc = tcase_create("direct");
    tcase_add_test(tc, offsets_of_each_value_kind);
    tcase_add_test(tc, first_duplicate_wins);
    tcase_add_test(tc, too_many_attributes_are_flagged);
    tcase_add_test(tc, mso_and_vml_reported);
    tcase_add_test(tc, callback_stops_scan);
    tcase_add_test(tc, ends_in_text_or_not);
    tcase_add_test(tc, decode_attribute_references);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(html_scan_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
