/*
 * template_text.c - the placeholders of a template: a text is split once,
 * at load time, into literals and {{name|default}} placeholders whose
 * names are checked against the known ones (an unknown or malformed one
 * is an error with file:line, so `config check` finds it before any mail
 * is made), and expanded per contact into the place it goes: as it is
 * (text part), HTML-escaped (HTML part) or as one line (a header).
 */
#include <stdio.h>
#include <string.h>
#include "template_int.h"

/* Contact fields (docs/scorer.md, "Contacts"); "email" has its own source. */
static const char *const contact_fields[] = {
    "first_name", "last_name", "city", "country", "language", "birthday", "timezone", NULL
};
/* What the caller gives (struct pb_tpl_input.extra); "campaign" has its own. */
static const char *const extra_fields[] = {
    "unsubscribe_url", "score", "grade", "segment", "history", NULL
};

#define KNOWN_NAMES "email, first_name, last_name, city, country, language, birthday, " \
    "timezone, attr:<name>, campaign, unsubscribe_url, score, grade, segment, history, " \
    "event:<name>"

static int in_list(const char *const *list, const char *name)
{
    for (; *list != NULL; list++)
        if (strcmp(*list, name) == 0)
            return 1;
    return 0;
}

/* "<prefix><name>" with name 1..64 of [a-z0-9_]. */
static int prefixed_name(const char *name, const char *prefix)
{
    size_t pl = strlen(prefix), n;

    if (strncmp(name, prefix, pl) != 0)
        return 0;
    n = strspn(name + pl, "abcdefghijklmnopqrstuvwxyz0123456789_");
    return n > 0 && n <= 64 && name[pl + n] == '\0';
}

/* The source of a placeholder name; -1 if the name is unknown. */
static int name_source(const char *name)
{
    if (strcmp(name, "email") == 0)
        return PB_TS_EMAIL;
    if (strcmp(name, "campaign") == 0)
        return PB_TS_CAMPAIGN;
    if (in_list(contact_fields, name) || prefixed_name(name, "attr:"))
        return PB_TS_CONTACT;
    if (in_list(extra_fields, name) || prefixed_name(name, "event:"))
        return PB_TS_EXTRA;
    return -1;
}

/* ---- compiling --------------------------------------------------------- */

static unsigned line_of(const struct pb_tpl_where *w, const char *s, const char *at)
{
    unsigned line = w->line;

    if (w->mapped)
        for (const char *p = s; p < at; p++)
            line += *p == '\n';
    return line;
}

static int fail(const struct pb_tpl_where *w, const char *s, const char *at, char *err,
                size_t errlen, const char *fmt, const char *arg)
{
    /* no path: a text of the caller's, who says where it is (a subject of postbeacon.conf) */
    int n = w->path == NULL ? 0 : snprintf(err, errlen, "%s:%u: %s: ", w->path,
                                           line_of(w, s, at), w->what);

    if (n >= 0 && (size_t)n < errlen)
        snprintf(err + n, errlen - (size_t)n, fmt, arg);
    return -1;
}

static void add_seg(struct pb_tpl_text *out, const struct pb_tpl_seg *seg)
{
    out->seg = g_renew(struct pb_tpl_seg, out->seg, out->n + 1);
    out->seg[out->n++] = *seg;
}

static void add_literal(struct pb_tpl_text *out, const char *s, size_t len)
{
    struct pb_tpl_seg seg = { .lit = NULL, .len = len };

    if (len == 0)
        return;
    seg.lit = g_strndup(s, len);
    add_seg(out, &seg);
}

/* The placeholder in body[0..len) ("name" or "name|default"). */
static int add_placeholder(struct pb_tpl_text *out, const char *body, size_t len,
                           const struct pb_tpl_where *w, const char *s, const char *at,
                           char *err, size_t errlen)
{
    const char *bar = memchr(body, '|', len);
    char *name = g_strstrip(g_strndup(body, bar ? (size_t)(bar - body) : len));
    int source = name_source(name);
    struct pb_tpl_seg seg = { .source = (enum pb_tpl_source)source };

    if (source < 0) {
        fail(w, s, at, err, errlen, "{{%s}}: unknown placeholder (known: " KNOWN_NAMES ")",
             name);
        g_free(name);
        return -1;
    }
    seg.name = name;
    if (bar != NULL)
        seg.def = g_strstrip(g_strndup(bar + 1, len - (size_t)(bar + 1 - body)));
    add_seg(out, &seg);
    return 0;
}

int pb_tpl_compile(const char *s, size_t len, const struct pb_tpl_where *w,
                   struct pb_tpl_text *out, char *err, size_t errlen)
{
    const char *p = s, *end = s + len;

    memset(out, 0, sizeof(*out));
    while (p < end) {
        const char *open = g_strstr_len(p, end - p, "{{");
        if (open == NULL)
            break;
        const char *close = g_strstr_len(open + 2, end - open - 2, "}}");
        const char *nl = memchr(open, '\n', (size_t)(end - open));
        if (close == NULL || (nl != NULL && nl < close)) {
            pb_tpl_text_free(out);
            return fail(w, s, open, err, errlen, "%s", "\"{{\" without \"}}\" on the same "
                        "line (write a placeholder as {{first_name|default}})");
        }
        add_literal(out, p, (size_t)(open - p));
        if (add_placeholder(out, open + 2, (size_t)(close - open - 2), w, s, open, err,
                            errlen) != 0) {
            pb_tpl_text_free(out);
            return -1;
        }
        p = close + 2;
    }
    add_literal(out, p, (size_t)(end - p));
    return 0;
}

int pb_tpl_uses(const struct pb_tpl_text *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->seg[i].name != NULL && strcmp(t->seg[i].name, name) == 0)
            return 1;
    return 0;
}

int pb_tpl_has_placeholders(const struct pb_tpl_text *t)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->seg[i].name != NULL)
            return 1;
    return 0;
}

void pb_tpl_text_free(struct pb_tpl_text *t)
{
    for (size_t i = 0; i < t->n; i++) {
        g_free(t->seg[i].lit);
        g_free(t->seg[i].name);
        g_free(t->seg[i].def);
    }
    g_free(t->seg);
    t->seg = NULL;
    t->n = 0;
}

/* ---- expanding --------------------------------------------------------- */

static const char *find(const struct pb_tpl_value *v, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].name != NULL && strcmp(v[i].name, name) == 0)
            return v[i].value;
    return NULL;
}

static const char *lookup(const struct pb_tpl_seg *seg, const struct pb_tpl_input *in)
{
    const char *v = NULL;

    switch (seg->source) {
    case PB_TS_EMAIL:
        v = find(in->contact, in->ncontact, "email");
        return v != NULL && *v != '\0' ? v : in->to;
    case PB_TS_CONTACT:
        return find(in->contact, in->ncontact, seg->name);
    case PB_TS_EXTRA:
        return find(in->extra, in->nextra, seg->name);
    case PB_TS_CAMPAIGN:
        return in->campaign;
    }
    return NULL;
}

int pb_tpl_blank(const char *v)
{
    if (v == NULL)
        return 1;
    for (; *v != '\0'; v++)
        if (!g_ascii_isspace(*v))
            return 0;
    return 1;
}

static void append_html(GString *out, const char *v, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        switch (v[i]) {
        case '&': g_string_append(out, "&amp;"); break;
        case '<': g_string_append(out, "&lt;"); break;
        case '>': g_string_append(out, "&gt;"); break;
        case '"': g_string_append(out, "&quot;"); break;
        case '\'': g_string_append(out, "&#39;"); break;
        default: g_string_append_c(out, v[i]);
        }
    }
}

/* One line: each control character (CR, LF, TAB, ...) a space. */
static void append_header(GString *out, const char *v, size_t len, unsigned *controls)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c < 0x20 || c == 0x7f) {
            (*controls)++;
            c = ' ';
        }
        g_string_append_c(out, (char)c);
    }
}

static void append_value(GString *out, enum pb_tpl_context ctx, const char *v,
                         unsigned *controls)
{
    size_t len = strlen(v);
    char *valid = NULL;

    if (!g_utf8_validate(v, (gssize)len, NULL)) {
        valid = g_utf8_make_valid(v, (gssize)len);     /* bad bytes become U+FFFD */
        v = valid;
        len = strlen(v);
    }
    if (ctx == PB_TC_HTML)
        append_html(out, v, len);
    else if (ctx == PB_TC_HEADER)
        append_header(out, v, len, controls);
    else
        g_string_append_len(out, v, (gssize)len);
    g_free(valid);
}

void pb_tpl_expand(const struct pb_tpl_text *t, enum pb_tpl_context ctx,
                   const struct pb_tpl_input *in, GString *out, unsigned *controls)
{
    for (size_t i = 0; i < t->n; i++) {
        const struct pb_tpl_seg *seg = &t->seg[i];
        if (seg->name == NULL) {
            g_string_append_len(out, seg->lit, (gssize)seg->len);
            continue;
        }
        const char *v = lookup(seg, in);
        if (pb_tpl_blank(v))
            v = seg->def;
        if (v != NULL)
            append_value(out, ctx, v, controls);
    }
}
