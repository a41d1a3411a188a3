/*
 * html_rewrite.c - pb_html_rewrite(): tracked links and the open pixel in
 * one decoded HTML part.
 *
 * One pass of pb_html_scan() collects the candidate links (the href value
 * span of <a>, <area> and VML tags, the decoded href, the anchor text) and
 * where <body> and </body> are. Then every link is put through
 * pb_link_track(), which decides whether it is tracked; the output is the
 * input with the href values replaced (each by a double-quoted, escaped
 * value) and the pixel inserted, copied in large runs. Nothing else moves.
 * A message gets one open pixel: the first HTML part rewritten with the
 * context takes it (ctx->pixel_placed), later ones get none. With
 * milter.honeypot_link a hidden link (link index PB_LINK_HONEYPOT) goes
 * in next to the pixel (where the pixel would go when there is none), in
 * every HTML part.
 *
 * Links are left alone when pb_link_track() says so (not http, tracking
 * domain, unsubscribe URL...), when they carry the no-track attribute, and
 * when their anchor text matches an unsubscribe pattern.
 *
 * A link whose href is the template renderer's {{unsubscribe_url}}
 * placeholder (unsub_link.h) gets the message's own unsubscribe URL
 * instead (pb_link_unsub_placeholder), whatever else is set: no-track
 * attribute, track_clicks off, "Unsubscribe" as its text. It takes no
 * link index and is never a click link. Finding it costs nothing extra:
 * the links are collected anyway, and an href that does not end in "-"
 * is told apart by its last byte (with track_clicks, pixel and honeypot
 * all off, a memmem for "/u/-" decides whether to scan at all).
 *
 * Link indexes: links outside Outlook conditional comments are numbered in
 * document order as they get tracked; a link inside one (in_mso) takes the
 * tracked URL of the first outside link with the same href, its twin (the
 * VML button and the <a> button shown to other clients), and only a link
 * without a twin gets an index of its own after all the others.
 */
#include <string.h>
#include "rewrite.h"
#include "html_scan.h"
#include "unsub_link.h"

#define ANCHOR_RAW_MAX 512      /* raw bytes of anchor text looked at */
#define ANCHOR_MAX 128          /* collapsed anchor text kept */
#define UNSUB_PATH ("/u/" PB_UNSUB_PLACEHOLDER_TOKEN)

/* The honeypot link: hidden, out of the tab order and of the
 * accessibility tree, no text: only software that follows every href
 * finds it. */
static const char honeypot_head[] = "<a href=\"";
static const char honeypot_tail[] =
    "\" style=\"display:none !important\" aria-hidden=\"true\" tabindex=\"-1\"></a>";
static const char pixel_head[] = "<img src=\"";
static const char pixel_tail[] =
    "\" width=\"1\" height=\"1\" alt=\"\" border=\"0\" style=\"height:1px !important;"
    "width:1px !important;border:0 !important;margin:0 !important;padding:0 !important\" />";

struct html_link {
    size_t span_off, span_len;  /* href value in the input, with its quotes */
    size_t href_off, href_len;  /* decoded, trimmed href in the pool */
    size_t text_from, text_to;  /* raw anchor text in the input (<a> only) */
    size_t alt_off, alt_len;    /* decoded alt text in the pool (<area> only) */
    unsigned in_mso : 1;
    unsigned unsub_only : 1;    /* not tracked (no-track, track_clicks off): the placeholder */
    unsigned tracked : 1;       /* replaced: a click link, or the unsubscribe URL */
    size_t repl_off, repl_len;  /* escaped tracked URL in the replacement pool */
};

struct collect {
    const struct pb_conf *conf;
    int want_unsub;             /* the placeholder gets replaced (the message has a contact) */
    GArray *links;              /* struct html_link */
    GString *pool;              /* decoded hrefs and alt texts, NUL-separated */
    long open_anchor[2];        /* link whose anchor text runs, per in_mso; -1 none */
    int have_body, have_body_end;
    int ends_in_text;           /* something appended at the end stays markup */
    size_t body_after;          /* offset just after the first <body ...> */
    size_t body_end;            /* offset of the last </body> */
};

/* Decode an attribute value into the pool; returns 0, or -1 if it holds a
 * reference we cannot decode. Leading/trailing spaces and controls are
 * dropped, as browsers drop them from URLs. */
static int pool_decode(GString *pool, const char *value, size_t len, size_t *off, size_t *outlen)
{
    size_t start = pool->len, cap = len * 3 + 4, used = 0;
    g_string_set_size(pool, start + cap);
    if (pb_html_decode_attr(value, len, pool->str + start, cap, &used) != 0) {
        g_string_set_size(pool, start);
        return -1;
    }
    const char *s = pool->str + start;
    size_t lead = 0;
    while (lead < used && (unsigned char)s[lead] <= 0x20)
        lead++;
    while (used > lead && (unsigned char)s[used - 1] <= 0x20)
        used--;
    memmove(pool->str + start, s + lead, used - lead);
    g_string_set_size(pool, start + used - lead + 1);
    pool->str[start + used - lead] = '\0';
    *off = start;
    *outlen = used - lead;
    return 0;
}

static void close_anchor(struct collect *c, int in_mso, size_t at)
{
    long i = c->open_anchor[in_mso];
    if (i >= 0)
        g_array_index(c->links, struct html_link, i).text_to = at;
    c->open_anchor[in_mso] = -1;
}

static void add_link(struct collect *c, const char *html, const struct pb_html_tag *tag)
{
    const struct pb_html_attr *href = pb_html_attr_find(html, tag, "href");
    const char *notrack = c->conf->milter.notrack_attribute;
    if (href == NULL || !href->has_value || href->value_len == 0 || tag->attrs_dropped)
        return;
    struct html_link link = { .span_off = href->span_off, .span_len = href->span_len,
                              .in_mso = tag->in_mso != 0 };
    link.unsub_only = !c->conf->milter.track_clicks
                      || (notrack && *notrack && pb_html_attr_find(html, tag, notrack));
    if (link.unsub_only && !c->want_unsub)
        return;
    if (pool_decode(c->pool, html + href->value_off, href->value_len, &link.href_off,
                    &link.href_len) != 0 || link.href_len == 0)
        return;
    if (link.unsub_only && !pb_unsub_is_placeholder(c->conf->tracking_url,
                                                    c->pool->str + link.href_off, link.href_len))
        return;                 /* as before: not collected at all */
    if (tag->kind == PB_TAG_A) {
        link.text_from = link.text_to = tag->off + tag->len;
        c->open_anchor[tag->in_mso] = (long)c->links->len;
    } else if (tag->kind == PB_TAG_AREA) {
        const struct pb_html_attr *alt = pb_html_attr_find(html, tag, "alt");
        if (alt && alt->has_value
            && pool_decode(c->pool, html + alt->value_off, alt->value_len, &link.alt_off,
                           &link.alt_len) != 0)
            link.alt_len = 0;
    }
    g_array_append_val(c->links, link);
}

static int on_tag(void *arg, const char *html, const struct pb_html_tag *tag)
{
    struct collect *c = arg;
    switch (tag->kind) {
    case PB_TAG_A:
        close_anchor(c, tag->in_mso, tag->off);     /* a new <a> ends the previous one */
        /* fall through */
    case PB_TAG_AREA:
    case PB_TAG_VML:
        if (c->conf->milter.track_clicks || c->want_unsub)
            add_link(c, html, tag);
        break;
    case PB_TAG_A_END:
        close_anchor(c, tag->in_mso, tag->off);
        break;
    case PB_TAG_BODY:
        if (!tag->in_mso && !c->have_body) {
            c->have_body = 1;
            c->body_after = tag->off + tag->len;
        }
        break;
    case PB_TAG_BODY_END:
        if (!tag->in_mso) {
            c->have_body_end = 1;
            c->body_end = tag->off;
        }
        break;
    }
    return 0;
}

/* Anchor text with tags left out and white space collapsed, into buf. */
static size_t anchor_text(const char *html, const struct html_link *link, char *buf)
{
    size_t from = link->text_from, to = link->text_to, n = 0;
    if (to - from > ANCHOR_RAW_MAX)
        to = from + ANCHOR_RAW_MAX;
    int in_tag = 0, space = 0;
    for (size_t i = from; i < to && n < ANCHOR_MAX; i++) {
        unsigned char ch = (unsigned char)html[i];
        if (in_tag) {
            in_tag = ch != '>';
        } else if (ch == '<') {
            in_tag = 1;                     /* "Sh<b>op</b>" reads "Shop" */
        } else if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f') {
            space = n > 0;
        } else {
            if (space && n < ANCHOR_MAX - 1)
                buf[n++] = ' ';
            space = 0;
            buf[n++] = (char)ch;
        }
    }
    /* entities: "Shop &amp; save" should read "Shop & save" */
    char decoded[ANCHOR_MAX * 3 + 4];
    size_t used;
    if (pb_html_decode_attr(buf, n, decoded, sizeof(decoded), &used) == 0 && used <= n) {
        memcpy(buf, decoded, used);
        n = used;
    }
    return n;
}

/* Append s to out, escaped for a double-quoted attribute value. */
static void append_attr_escaped(GString *out, const char *s, size_t len)
{
    if (memchr(s, '&', len) == NULL && memchr(s, '"', len) == NULL) {
        g_string_append_len(out, s, (gssize)len);      /* the usual tracked URL */
        return;
    }
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        const char *esc = s[i] == '&' ? "&amp;" : s[i] == '"' ? "&quot;" : NULL;
        if (esc == NULL)
            continue;
        g_string_append_len(out, s + run, (gssize)(i - run));
        g_string_append(out, esc);
        run = i + 1;
    }
    g_string_append_len(out, s + run, (gssize)(len - run));
}

static inline char ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c;
}

/* A link whose text says "Unsubscribe" is an unsubscribe link whatever its
 * URL looks like: pb_link_track() only sees the URL. */
static int is_unsubscribe_text(const struct pb_strlist *patterns, const char *text, size_t len)
{
    for (size_t i = 0; i < patterns->count; i++) {
        const char *pat = patterns->items[i];
        size_t plen = pat ? strlen(pat) : 0;
        char first = plen ? ascii_lower(pat[0]) : 0;
        for (size_t j = 0; plen && j + plen <= len; j++)
            if (ascii_lower(text[j]) == first && g_ascii_strncasecmp(text + j, pat, plen) == 0)
                return 1;
    }
    return 0;
}

/* link is replaced by url, written as a double-quoted attribute value. */
static void replace_with(struct html_link *link, const GString *url, GString *repl)
{
    link->tracked = 1;
    link->repl_off = repl->len;
    g_string_append_c(repl, '"');
    append_attr_escaped(repl, url->str, url->len);
    g_string_append_c(repl, '"');
    link->repl_len = repl->len - link->repl_off;
}

static void track_one(struct pb_link_ctx *ctx, const char *html, struct collect *c,
                      struct html_link *link, unsigned *next_index, GString *url, GString *repl)
{
    char anchor[ANCHOR_MAX];
    const char *anchor_p = NULL;
    size_t anchor_len = 0;
    g_string_truncate(url, 0);
    if (pb_link_unsub_placeholder(ctx, c->pool->str + link->href_off, link->href_len, url)) {
        replace_with(link, url, repl);  /* no index: not a click link */
        return;
    }
    if (link->unsub_only)
        return;
    if (link->text_to > link->text_from) {
        anchor_len = anchor_text(html, link, anchor);
        anchor_p = anchor;
    } else if (link->alt_len) {
        anchor_p = c->pool->str + link->alt_off;
        anchor_len = link->alt_len;
    }
    if (anchor_p && is_unsubscribe_text(&ctx->conf->milter.unsubscribe_patterns, anchor_p,
                                        anchor_len))
        return;
    if (pb_link_track(ctx, c->pool->str + link->href_off, link->href_len, anchor_p,
                      anchor_len, *next_index, url) != PB_LINK_TRACKED)
        return;
    (*next_index)++;
    replace_with(link, url, repl);
}

/* The first link outside conditional comments with each href. */
static GHashTable *twins_by_href(struct collect *c)
{
    GHashTable *twins = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < c->links->len; i++) {
        struct html_link *l = &g_array_index(c->links, struct html_link, i);
        if (!l->in_mso && !g_hash_table_contains(twins, c->pool->str + l->href_off))
            g_hash_table_insert(twins, c->pool->str + l->href_off, l);
    }
    return twins;
}

static void track_links(struct pb_link_ctx *ctx, const char *html, struct collect *c,
                        GString *repl)
{
    unsigned next_index = ctx->links_tracked;
    GString *url = g_string_new(NULL);
    int have_mso = 0;
    for (guint i = 0; i < c->links->len; i++) {
        struct html_link *l = &g_array_index(c->links, struct html_link, i);
        if (l->in_mso)
            have_mso = 1;
        else
            track_one(ctx, html, c, l, &next_index, url, repl);
    }
    GHashTable *twins = have_mso ? twins_by_href(c) : NULL;
    for (guint i = 0; have_mso && i < c->links->len; i++) {
        struct html_link *l = &g_array_index(c->links, struct html_link, i);
        if (!l->in_mso)
            continue;
        const struct html_link *twin = g_hash_table_lookup(twins, c->pool->str + l->href_off);
        if (twin == NULL) {
            track_one(ctx, html, c, l, &next_index, url, repl);
        } else if (twin->tracked) {
            l->tracked = 1;
            l->repl_off = twin->repl_off;
            l->repl_len = twin->repl_len;
        }
    }
    if (twins)
        g_hash_table_destroy(twins);
    g_string_free(url, TRUE);
}

/* Where the pixel goes: after <body ...>, or before </body>. Without the
 * tag: at the start (after a byte order mark and a DOCTYPE, so the page
 * keeps its encoding and rendering mode), or at the end - unless the
 * document ends inside a tag, comment or <textarea> that would swallow the
 * pixel or be closed by it: then as for after-body. */
static size_t pixel_offset(const struct pb_conf *conf, const struct collect *c,
                           const char *html, size_t len)
{
    if (conf->milter.pixel_position == PB_PIXEL_BEFORE_BODY_END) {
        if (c->have_body_end)
            return c->body_end;
        if (c->ends_in_text)
            return len;
    }
    if (c->have_body)
        return c->body_after;
    size_t start = len >= 3 && memcmp(html, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
    if (len - start >= 9 && g_ascii_strncasecmp(html + start, "<!doctype", 9) == 0) {
        const char *gt = memchr(html + start, '>', len - start);
        return gt ? (size_t)(gt - html) + 1 : start;
    }
    return start;
}

/* What goes where the pixel goes: the pixel and/or the honeypot link. */
static int pixel_markup(const struct pb_link_ctx *ctx, int want_pixel, int want_honeypot,
                        GString *pixel)
{
    GString *url = g_string_new(NULL);
    int rc = 0;
    if (want_pixel && (rc = pb_link_open_url(ctx, url)) == 0) {
        g_string_append(pixel, pixel_head);
        append_attr_escaped(pixel, url->str, url->len);
        g_string_append(pixel, pixel_tail);
    }
    g_string_truncate(url, 0);
    if (rc == 0 && want_honeypot && (rc = pb_link_honeypot_url(ctx, url)) == 0) {
        g_string_append(pixel, honeypot_head);
        append_attr_escaped(pixel, url->str, url->len);
        g_string_append(pixel, honeypot_tail);
    }
    g_string_free(url, TRUE);
    return rc;
}

/* Copy html to out with the tracked values and the pixel spliced in. */
static int splice(const char *html, size_t len, const struct collect *c, const GString *repl,
                  const GString *pixel, size_t pixel_at, GString *out)
{
    size_t pos = 0;
    int changes = 0, pixel_done = pixel == NULL;
    for (guint i = 0; i < c->links->len; i++) {
        const struct html_link *l = &g_array_index(c->links, struct html_link, i);
        if (!l->tracked)
            continue;
        if (!pixel_done && pixel_at <= l->span_off) {
            g_string_append_len(out, html + pos, (gssize)(pixel_at - pos));
            g_string_append_len(out, pixel->str, (gssize)pixel->len);
            pos = pixel_at;
            pixel_done = 1;
            changes++;
        }
        g_string_append_len(out, html + pos, (gssize)(l->span_off - pos));
        g_string_append_len(out, repl->str + l->repl_off, (gssize)l->repl_len);
        pos = l->span_off + l->span_len;
        changes++;
    }
    if (!pixel_done) {
        g_string_append_len(out, html + pos, (gssize)(pixel_at - pos));
        g_string_append_len(out, pixel->str, (gssize)pixel->len);
        pos = pixel_at;
        changes++;
    }
    g_string_append_len(out, html + pos, (gssize)(len - pos));
    return changes;
}

int pb_html_rewrite(struct pb_link_ctx *ctx, const char *html, size_t len, GString *out)
{
    const struct pb_conf *conf = ctx->conf;
    int want_pixel = conf->milter.track_opens && conf->milter.pixel_position != PB_PIXEL_NONE
                     && !ctx->pixel_placed;
    int want_honeypot = conf->milter.honeypot_link;
    if (!conf->milter.track_clicks && !want_pixel && !want_honeypot
        && !(ctx->has_contact && memmem(html, len, UNSUB_PATH, sizeof(UNSUB_PATH) - 1) != NULL)) {
        g_string_append_len(out, html, (gssize)len);
        return 0;
    }
    struct collect c = { .conf = conf, .want_unsub = ctx->has_contact,
                         .open_anchor = { -1, -1 } };
    c.links = g_array_new(FALSE, FALSE, sizeof(struct html_link));
    c.pool = g_string_sized_new(256);
    GString *repl = g_string_sized_new(1024);
    GString *pixel = want_pixel || want_honeypot ? g_string_new(NULL) : NULL;
    int changes = -1;

    pb_html_scan_ex(html, len, on_tag, &c, &c.ends_in_text);
    track_links(ctx, html, &c, repl);
    if (pixel == NULL || pixel_markup(ctx, want_pixel, want_honeypot, pixel) == 0) {
        changes = splice(html, len, &c, repl, pixel, pixel ? pixel_offset(conf, &c, html, len) : 0,
                         out);
        ctx->pixel_placed |= want_pixel;
    }

    if (pixel)
        g_string_free(pixel, TRUE);
    g_string_free(repl, TRUE);
    g_string_free(c.pool, TRUE);
    g_array_free(c.links, TRUE);
    return changes;
}
