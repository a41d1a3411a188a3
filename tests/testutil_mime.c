/*
 * testutil_mime.c - helpers of the MIME rewriting tests and the rewrite
 * benchmark (see testutil_mime.h). Everything here looks at messages
 * independently of the code under test: GMime's own decoders and tree,
 * and byte comparisons between boundary delimiter lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include <gmime/gmime.h>
#include "testutil.h"
#include "testutil_mime.h"
#include "link.h"

/* ---- messages from the corpus ----------------------------------------- */

void tu_mime_conf(struct pb_conf *conf)
{
    tu_test_conf(conf);
    size_t n = conf->utm.domains.count;
    conf->utm.domains.items = realloc(conf->utm.domains.items, (n + 2) * sizeof(char *));
    conf->utm.domains.items[n] = strdup("postmarkapp.com");
    conf->utm.domains.items[n + 1] = NULL;
    conf->utm.domains.count = n + 1;
}

char *tu_render(const char *tpl, int html)
{
    GString *out = g_string_new(NULL);
    const char *p = tpl;
    for (;;) {
        const char *open = strstr(p, "{{"), *close = open ? strstr(open, "}}") : NULL;
        if (close == NULL)
            break;
        char *name = g_strstrip(g_strndup(open + 2, (size_t)(close - open - 2)));
        g_string_append_len(out, p, open - p);
        if (g_str_has_suffix(name, "_url"))
            g_string_append_printf(out, "https://app.postmarkapp.com/%s?id=42%ssrc=mail", name,
                                   html ? "&amp;" : "&");
        else if (strcmp(name, "support_email") == 0)
            g_string_append(out, "support@postmarkapp.com");
        else
            g_string_append_len(out, open, close + 2 - open);
        g_free(name);
        p = close + 2;
    }
    g_string_append(out, p);
    return g_string_free(out, FALSE);
}

void tu_encode(GString *out, const char *cte, const char *data, size_t len, int b64_line)
{
    if (strcmp(cte, "base64") == 0) {
        gchar *b64 = g_base64_encode((const guchar *)data, len);
        size_t n = strlen(b64), step = b64_line > 0 ? (size_t)b64_line : 76;
        for (size_t i = 0; i < n; i += step) {
            g_string_append_len(out, b64 + i, (gssize)(n - i < step ? n - i : step));
            g_string_append_c(out, '\n');
        }
        g_free(b64);
    } else if (strcmp(cte, "quoted-printable") == 0) {
        GMimeEncoding enc;
        g_mime_init();
        g_mime_encoding_init_encode(&enc, GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
        size_t start = out->len;
        g_string_set_size(out, start + g_mime_encoding_outlen(&enc, len));
        size_t n = g_mime_encoding_flush(&enc, data, len, out->str + start);
        g_string_set_size(out, start + n);
    } else {
        g_string_append_len(out, data, (gssize)len);
    }
}

void tu_crlf(GString *s, size_t from)
{
    GString *out = g_string_sized_new(s->len + s->len / 8);
    g_string_append_len(out, s->str, (gssize)from);
    for (size_t i = from; i < s->len; i++) {
        if (s->str[i] == '\n' && (i == 0 || s->str[i - 1] != '\r'))
            g_string_append_c(out, '\r');
        g_string_append_c(out, s->str[i]);
    }
    g_string_truncate(s, 0);
    g_string_append_len(s, out->str, (gssize)out->len);
    g_string_free(out, TRUE);
}

static void alt_part(GString *m, const char *type, const char *data, const char *cte,
                     const char *charset)
{
    g_string_append_printf(m, "--alt-b\nContent-Type: %s; charset=\"%s\"\n"
                           "Content-Transfer-Encoding: %s\n\n", type, charset, cte);
    tu_encode(m, cte, data, strlen(data), 0);
    if (m->str[m->len - 1] != '\n')
        g_string_append_c(m, '\n');
}

GString *tu_alternative(const char *text, const char *html, const char *cte,
                        const char *charset, int crlf, size_t *body_off)
{
    GString *m = g_string_new("From: News <news@example.com>\nTo: reader@example.org\n"
                              "Subject: wrapped corpus mail\nMIME-Version: 1.0\n"
                              "Content-Type: multipart/alternative; boundary=\"alt-b\"\n\n");
    g_string_append(m, "This is a multi-part message in MIME format.\n\n");
    if (text)
        alt_part(m, "text/plain", text, cte, charset);
    alt_part(m, "text/html", html, cte, charset);
    g_string_append(m, "--alt-b--\n");
    if (crlf)
        tu_crlf(m, 0);
    const char *sep = strstr(m->str, crlf ? "\r\n\r\n" : "\n\n");
    *body_off = (size_t)(sep - m->str) + (crlf ? 4 : 2);
    return m;
}

/* ---- checking tracked links ---- */

static int host_on_list(const struct pb_conf *conf, const char *url)
{
    const char *h = strstr(url, "://");
    if (h == NULL)
        return 0;
    h += 3;
    size_t n = strcspn(h, "/?#:");
    for (size_t i = 0; i < conf->utm.domains.count; i++) {
        const char *d = conf->utm.domains.items[i];
        size_t dl = strlen(d);
        if ((n == dl || (n > dl && h[n - dl - 1] == '.'))
            && g_ascii_strncasecmp(h + n - dl, d, dl) == 0)
            return 1;
    }
    return 0;
}

/* 1 if c can go on a URL that reached it: a URL byte (RFC 3986), except
 * the quote and closing brackets that end URLs in HTML and in text. */
static int continues_url(unsigned char c)
{
    return g_ascii_isalnum(c) || (c != '\0' && strchr("-._~:/?#[@!$&*+,;=%(", c) != NULL);
}

/* url written in text, followed by something that ends a URL. */
static int written_in(const char *text, size_t len, const char *url)
{
    size_t ul = strlen(url);
    const char *p = text, *end = text + len;
    while ((p = memmem(p, (size_t)(end - p), url, ul)) != NULL) {
        /* trailing punctuation stays outside a URL in text ("see x.com/a.") */
        const char *after = p + ul;
        while (after < end && *after != '\0' && strchr(".,;:!?", *after))
            after++;
        if (after == end || !continues_url((unsigned char)*after))
            return 1;
        p++;
    }
    return 0;
}

static int url_in_original(const char *orig, size_t len, const char *url)
{
    if (written_in(orig, len, url))
        return 1;
    GString *amp = g_string_new(NULL);
    for (const char *p = url; *p; p++) {
        if (*p == '&')
            g_string_append(amp, "&amp;");
        else
            g_string_append_c(amp, *p);
    }
    int found = written_in(orig, len, amp->str);
    g_string_free(amp, TRUE);
    return found;
}

/* url with the "/" of a root path dropped when nothing but a query or
 * fragment follows it ("https://host/?q" -> "https://host?q"): how the
 * original may have written a URL the rewriter gave a "/". NULL if url
 * has no such slash. */
static char *without_root_slash(const char *url)
{
    size_t end = strcspn(url, "?#");
    GString *out;

    if (end == 0 || url[end - 1] != '/' || tu_empty_path_at(url, end - 1) != end - 1)
        return NULL;
    out = g_string_new_len(url, (gssize)end - 1);
    g_string_append(out, url + end);
    return g_string_free(out, FALSE);
}

static const char *check_dest(const struct pb_conf *conf, const char *orig, size_t orig_len,
                              const char *dest)
{
    char *plain = tu_strip_utm(dest), *bare = NULL;
    const char *bad = NULL;
    int tagged = strstr(dest, "utm_") != NULL;   /* plain may differ by a "/" alone */
    if (host_on_list(conf, dest)) {
        if (!strstr(dest, "utm_source=newsletter") || !strstr(dest, "utm_medium=email")
            || !strstr(dest, "utm_campaign=spring-sale"))
            bad = "UTM parameters missing on a UTM domain";
    } else if (tagged && !url_in_original(orig, orig_len, dest)) {
        bad = "UTM parameters added outside the UTM domains";
    }
    if (bad == NULL && !url_in_original(orig, orig_len, plain) && !url_in_original(orig, orig_len, dest)
        && ((bare = without_root_slash(plain)) == NULL || !url_in_original(orig, orig_len, bare)))
        bad = "destination is not a URL of the original";
    free(plain);
    g_free(bare);
    return bad;
}

int tu_check_tracked(const struct pb_conf *conf, const struct pb_keyring *ring,
                     const char *orig, size_t orig_len, const char *new_text, size_t new_len,
                     unsigned *idx_min, unsigned *idx_max, char *why, size_t whylen)
{
    GString *prefix = g_string_new(conf->tracking_url);
    g_string_append(prefix, "/c/");
    const char *p = new_text, *end = new_text + new_len;
    int count = 0;
    unsigned lo = ~0u, hi = 0;
    while ((p = memmem(p, (size_t)(end - p), prefix->str, prefix->len)) != NULL) {
        const char *tok = p + prefix->len, *t = tok;
        while (t < end && (g_ascii_isalnum(*t) || *t == '-' || *t == '_'))
            t++;
        unsigned index = 0;
        char *dest = tu_click_dest(conf, ring, p, (size_t)(t - p), &index);
        const char *bad = dest ? check_dest(conf, orig, orig_len, dest) : "token does not verify";
        if (bad) {
            snprintf(why, whylen, "%s: %.*s -> %s", bad, (int)(t - p), p, dest ? dest : "?");
            free(dest);
            g_string_free(prefix, TRUE);
            return -1;
        }
        free(dest);
        lo = index < lo ? index : lo;
        hi = index > hi ? index : hi;
        count++;
        p = t;
    }
    g_string_free(prefix, TRUE);
    if (idx_min)
        *idx_min = lo;
    if (idx_max)
        *idx_max = hi;
    return count;
}

/* ---- comparing bodies outside the text parts ---- */

struct tu_seg {
    size_t off, len;            /* segment */
    size_t delim_off, delim_len;        /* the delimiter line after it (len 0: none) */
    int after_open;             /* follows an opening (not closing) delimiter */
};

/* Length of the delimiter line at body[at] (with its line break), or 0. */
static size_t delimiter_at(const char *body, size_t len, size_t at,
                           const char *const *boundaries, int *closing)
{
    if (at > 0 && body[at - 1] != '\n')
        return 0;
    for (const char *const *b = boundaries; *b; b++) {
        size_t bl = strlen(*b);
        if (len - at < bl + 2 || body[at] != '-' || body[at + 1] != '-'
            || memcmp(body + at + 2, *b, bl) != 0)
            continue;
        size_t e = at + 2 + bl;
        *closing = len - e >= 2 && body[e] == '-' && body[e + 1] == '-';
        const char *nl = memchr(body + e, '\n', len - e);
        return (nl ? (size_t)(nl - body) + 1 : len) - at;
    }
    return 0;
}

static GArray *split_body(const char *body, size_t len, const char *const *boundaries)
{
    GArray *segs = g_array_new(FALSE, TRUE, sizeof(struct tu_seg));
    struct tu_seg cur = { 0 };
    for (size_t at = 0; at < len; at++) {
        int closing = 0;
        size_t dl = boundaries ? delimiter_at(body, len, at, boundaries, &closing) : 0;
        if (dl == 0)
            continue;
        cur.len = at - cur.off;
        cur.delim_off = at;
        cur.delim_len = dl;
        g_array_append_val(segs, cur);
        memset(&cur, 0, sizeof(cur));
        cur.off = at + dl;
        cur.after_open = !closing;
        at += dl - 1;
    }
    cur.len = len - cur.off;
    g_array_append_val(segs, cur);
    return segs;
}

/* End of the header block of a part segment (after its blank line). */
static size_t header_end(const char *s, size_t len)
{
    if (len >= 1 && s[0] == '\n')
        return 1;               /* no headers at all */
    if (len >= 2 && s[0] == '\r' && s[1] == '\n')
        return 2;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '\n')
            continue;
        if (i + 1 < len && s[i + 1] == '\n')
            return i + 2;
        if (i + 2 < len && s[i + 1] == '\r' && s[i + 2] == '\n')
            return i + 3;
    }
    return len;
}

/* The value of header `name` (lowercase, with ':') in a lowercased header
 * block, or NULL: only at the start of a line. */
static const char *header_value(const char *head, const char *name)
{
    size_t n = strlen(name);
    for (const char *line = head; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, name, n) == 0) {
            line += n;
            for (;;) {          /* blanks, and line breaks that fold the header */
                if (*line == ' ' || *line == '\t')
                    line++;
                else if (line[0] == '\r' && line[1] == '\n' && (line[2] == ' ' || line[2] == '\t'))
                    line += 2;
                else if (line[0] == '\n' && (line[1] == ' ' || line[1] == '\t'))
                    line++;
                else
                    return line;
            }
        }
    }
    return NULL;
}

/* A part whose headers make it a text body: text/html or text/plain (or
 * no Content-Type), and inline (no disposition, or "inline"). */
static int segment_is_text(const char *s, size_t len)
{
    char *head = g_ascii_strdown(s, (gssize)header_end(s, len));
    /* GMime reads a stray CR (one without LF) in a header as nothing */
    char *to = head;
    for (const char *from = head; *from; from++)
        if (*from != '\r' || from[1] == '\n')
            *to++ = *from;
    *to = '\0';
    const char *ct = header_value(head, "content-type:");
    const char *disp = header_value(head, "content-disposition:");
    int text = ct == NULL || g_str_has_prefix(ct, "text/html") || g_str_has_prefix(ct, "text/plain");
    if (disp && !g_str_has_prefix(disp, "inline"))
        text = 0;
    g_free(head);
    return text;
}

int tu_same_outside_text(const char *orig, size_t orig_len, const char *new_body,
                         size_t new_len, const char *const *boundaries, int top_text,
                         char *why, size_t whylen)
{
    GArray *a = split_body(orig, orig_len, boundaries), *b = split_body(new_body, new_len, boundaries);
    int changed = 0;
    if (a->len != b->len) {
        snprintf(why, whylen, "%u segments became %u", a->len, b->len);
        changed = -1;
    }
    for (guint i = 0; changed >= 0 && i < a->len; i++) {
        const struct tu_seg *x = &g_array_index(a, struct tu_seg, i);
        const struct tu_seg *y = &g_array_index(b, struct tu_seg, i);
        const char *xs = orig + x->off, *ys = new_body + y->off;
        if (x->delim_len != y->delim_len
            || memcmp(orig + x->delim_off, new_body + y->delim_off, x->delim_len) != 0) {
            snprintf(why, whylen, "delimiter %u differs", i);
            changed = -1;
        } else if (x->len == y->len && memcmp(xs, ys, x->len) == 0) {
            continue;
        } else if (a->len == 1 ? !top_text : !x->after_open || !segment_is_text(xs, x->len)) {
            snprintf(why, whylen, "segment %u (not a text part) differs: %.40s", i, xs);
            changed = -1;
        } else {
            size_t he = a->len == 1 ? 0 : header_end(xs, x->len);
            if (y->len < he || memcmp(xs, ys, he) != 0) {
                snprintf(why, whylen, "headers of segment %u differ", i);
                changed = -1;
            } else {
                changed++;
            }
        }
    }
    g_array_free(a, TRUE);
    g_array_free(b, TRUE);
    return changed;
}

/* ---- a message as GMime sees it ---- */

static int is_text_body(GMimeObject *obj, int *html)
{
    GMimeContentType *ct = g_mime_object_get_content_type(obj);
    const char *disp = g_mime_object_get_disposition(obj);
    if (g_mime_object_get_header(obj, "Content-Disposition") != NULL
        && (disp == NULL || g_ascii_strcasecmp(disp, "inline") != 0))
        return 0;
    *html = g_mime_content_type_is_type(ct, "text", "html");
    return *html || g_mime_content_type_is_type(ct, "text", "plain");
}

static void outline_walk(struct tu_outline *o, GMimeObject *obj)
{
    int html;
    if (GMIME_IS_MULTIPART(obj)) {
        GMimeMultipart *mp = GMIME_MULTIPART(obj);
        const char *b = g_mime_multipart_get_boundary(mp);
        if (b)
            g_ptr_array_add(o->boundaries, g_strdup(b));
        for (int i = 0; i < g_mime_multipart_get_count(mp); i++)
            outline_walk(o, g_mime_multipart_get_part(mp, i));
        return;
    }
    o->leaves++;
    if (!GMIME_IS_PART(obj) || !is_text_body(obj, &html))
        return;
    GMimeDataWrapper *w = g_mime_part_get_content(GMIME_PART(obj));
    struct tu_text_part *t = g_new0(struct tu_text_part, 1);
    t->html = html;
    t->data = g_string_new(NULL);
    if (w) {
        GMimeStream *mem = g_mime_stream_mem_new();
        g_mime_data_wrapper_write_to_stream(w, mem);
        GByteArray *arr = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
        g_string_append_len(t->data, (const char *)arr->data, (gssize)arr->len);
        g_object_unref(mem);
    }
    g_ptr_array_add(o->texts, t);
}

static void text_part_free(gpointer p)
{
    struct tu_text_part *t = p;
    g_string_free(t->data, TRUE);
    g_free(t);
}

struct tu_outline *tu_outline(const char *msg, size_t len)
{
    g_mime_init();
    GMimeStream *stream = g_mime_stream_mem_new_with_buffer(msg, len);
    GMimeParser *parser = g_mime_parser_new_with_stream(stream);
    GMimeMessage *m = g_mime_parser_construct_message(parser, NULL);
    g_object_unref(parser);
    g_object_unref(stream);
    if (m == NULL)
        return NULL;
    struct tu_outline *o = g_new0(struct tu_outline, 1);
    o->texts = g_ptr_array_new_with_free_func(text_part_free);
    o->boundaries = g_ptr_array_new_with_free_func(g_free);
    GMimeObject *top = g_mime_message_get_mime_part(m);
    int html;
    o->top_text = top && GMIME_IS_PART(top) && is_text_body(top, &html);
    if (top)
        outline_walk(o, top);
    g_ptr_array_add(o->boundaries, NULL);
    g_object_unref(m);
    return o;
}

void tu_outline_free(struct tu_outline *o)
{
    if (o == NULL)
        return;
    g_ptr_array_free(o->texts, TRUE);
    g_ptr_array_free(o->boundaries, TRUE);
    g_free(o);
}

size_t tu_body_offset(const char *msg, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (msg[i] != '\n' || (i > 0 && msg[i - 1] != '\n' && msg[i - 1] != '\r'))
            continue;
        /* msg[i] ends a line that is empty (i == 0, "\n\n" or "\r\n\r\n") */
        if (i == 0 || msg[i - 1] == '\n')
            return i + 1;
        if (i == 1 || msg[i - 2] == '\n')
            return i + 1;
    }
    return len;
}

int tu_lines_ok(const char *s, size_t len, size_t max, int crlf, char *why, size_t whylen)
{
    size_t line = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\n') {
            if (crlf != (i > 0 && s[i - 1] == '\r')) {
                snprintf(why, whylen, "line break style changed at %zu", i);
                return -1;
            }
            line = 0;
        } else if (s[i] != '\r' || i + 1 >= len || s[i + 1] != '\n') {
            if (s[i] == '\r' && !crlf) {
                snprintf(why, whylen, "CR in an LF-only text at %zu", i);
                return -1;
            }
            if (++line > max) {
                snprintf(why, whylen, "line over %zu octets at %zu", max, i);
                return -1;
            }
        }
    }
    return 0;
}
