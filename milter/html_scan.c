/*
 * html_scan.c - the focused HTML tokenizer behind html_scan.h: tags,
 * attributes, comments (the raw text of <style>, <script>... is skipped by
 * html_rawtext.c).
 *
 * It follows the HTML5 tokenizer closely enough to agree with a full
 * parser (gumbo, tests/check_html_scan.c) on which <a>/<area> start tags
 * exist and what their attributes are, without building a tree and
 * without allocating: memchr() jumps from '<' to '<', and only the tags
 * we report get their attributes recorded.
 *
 * Handled as HTML5 does: tag open / end tag open / tag name / attribute
 * name / the three kinds of attribute value / self-closing; comments
 * (including "<!-->", "<!--->" and "--!>"), bogus comments ("<?", "</"
 * + non-letter, "<!" + anything else), DOCTYPE; the raw text of <style>,
 * <xmp>, <iframe>, <noembed>, <noframes>, the RCDATA of <textarea> and
 * <title>, <script> with its escaped and double-escaped states, and
 * <plaintext>. The first of duplicate attributes wins. A tag cut off by
 * the end of the input is dropped, as HTML5 drops it.
 *
 * Foreign content (<svg>, <math>) is tracked approximately: inside it
 * <style> and friends are not raw text, CDATA sections are real, no
 * a/area/body is reported (they are SVG/MathML elements), and the HTML
 * "breakout" start tags end it. Not modelled: integration points
 * (<foreignObject>, <desc>, <title> in SVG) and end tags of enclosing HTML
 * elements closing an <svg> early; tree-builder rules that drop tags
 * (<a> inside <select> or <frameset>) are not modelled either.
 *
 * Outlook conditional comments: a comment whose text starts with "[if "
 * is scanned again from after its "]>" to its "<![endif]", with in_mso
 * set. The comment still ends where HTML5 ends it (first "-->"), so the
 * downlevel-revealed form "<!--[if !mso]><!-- -->" ... "<!--<![endif]-->"
 * needs no special case: its content is ordinary HTML.
 */
#include <string.h>
#include "html_scan.h"
#include "html_scan_int.h"

enum tag_class {
    TC_OTHER, TC_A, TC_AREA, TC_BODY, TC_VML, TC_SVG, TC_MATH, TC_FONT,
    TC_RAWTEXT, TC_SCRIPT, TC_PLAINTEXT, TC_BREAKOUT
};

struct scanner {
    const char *base;           /* the document: offsets are relative to it */
    const char *end;            /* end of the region being scanned */
    int in_mso;
    int foreign;                /* TC_SVG or TC_MATH while in foreign content, else 0 */
    int foreign_depth;          /* open elements named like the foreign root */
    pb_html_tag_fn fn;
    void *arg;
    int cut;                    /* the input ended inside markup or raw text */
    struct pb_html_tag tag;     /* the tag being recorded (reused) */
};

#define NAME_BUF 16             /* longest tag name we need to recognise, plus one */

#define HC_SPACE (PB_HC_WS | PB_HC_TAG_NAME_END | PB_HC_ATTR_NAME_END | PB_HC_UNQUOTED_END)
const unsigned char pb_html_byte_class[256] = {
    [' '] = HC_SPACE, ['\t'] = HC_SPACE, ['\n'] = HC_SPACE, ['\f'] = HC_SPACE, ['\r'] = HC_SPACE,
    ['/'] = PB_HC_TAG_NAME_END | PB_HC_ATTR_NAME_END,
    ['>'] = PB_HC_TAG_NAME_END | PB_HC_ATTR_NAME_END | PB_HC_UNQUOTED_END,
    ['='] = PB_HC_ATTR_NAME_END,
};

/* Position after the next c at or after p, or end (setting *cut): how
 * bogus comments, DOCTYPEs and "</" + non-letter end. */
static const char *skip_past(const char *p, const char *end, char c, int *cut)
{
    const char *hit = memchr(p, c, (size_t)(end - p));
    if (hit == NULL)
        *cut = 1;
    return hit ? hit + 1 : end;
}

static int name_is(const char *lname, size_t len, const char *s)
{
    return strlen(s) == len && memcmp(lname, s, len) == 0;
}

/* Tag names that end foreign content when they start inside it. */
static int is_breakout(const char *n, size_t len)
{
    static const char *const names[] = {
        "b", "big", "blockquote", "br", "center", "code", "dd", "div", "dl", "dt", "em",
        "embed", "h1", "h2", "h3", "h4", "h5", "h6", "head", "hr", "i", "img", "li",
        "listing", "menu", "meta", "nobr", "ol", "p", "pre", "ruby", "s", "small", "span",
        "strong", "strike", "sub", "sup", "table", "tt", "u", "ul", "var", NULL
    };
    for (int i = 0; names[i]; i++)
        if (name_is(n, len, names[i]))
            return 1;
    return 0;
}

/* n: the lowercased tag name, len its full length (only the first NAME_BUF
 * bytes are in n: longer names are none of ours, except "v:..."). */
static enum tag_class classify(const char *n, size_t len, int foreign)
{
    if (len >= 2 && n[0] == 'v' && n[1] == ':')
        return TC_VML;
    if (len >= NAME_BUF)
        return TC_OTHER;
    switch (n[0]) {
    case 'a':
        return len == 1 ? TC_A : name_is(n, len, "area") ? TC_AREA : TC_OTHER;
    case 'b':
        if (name_is(n, len, "body"))
            return TC_BODY;
        break;
    case 'f':
        if (name_is(n, len, "font"))
            return TC_FONT;
        break;
    case 'i':
        if (name_is(n, len, "iframe"))
            return TC_RAWTEXT;
        break;
    case 'm':
        if (name_is(n, len, "math"))
            return TC_MATH;
        break;
    case 'n':
        if (name_is(n, len, "noembed") || name_is(n, len, "noframes"))
            return TC_RAWTEXT;
        break;
    case 'p':
        if (name_is(n, len, "plaintext"))
            return TC_PLAINTEXT;
        break;
    case 's':
        if (name_is(n, len, "svg"))
            return TC_SVG;
        if (name_is(n, len, "style"))
            return TC_RAWTEXT;
        if (name_is(n, len, "script"))
            return TC_SCRIPT;
        break;
    case 't':
        if (name_is(n, len, "textarea") || name_is(n, len, "title"))
            return TC_RAWTEXT;
        break;
    case 'x':
        if (name_is(n, len, "xmp"))
            return TC_RAWTEXT;
        break;
    }
    return foreign && is_breakout(n, len) ? TC_BREAKOUT : TC_OTHER;
}

/* Keep the first of duplicate attributes, as HTML5 does. */
static void record_attr(const char *base, struct pb_html_tag *t, const char *name,
                        size_t name_len, const char *value, size_t value_len, char quote,
                        int has_value)
{
    for (int i = 0; i < t->nattrs; i++)
        if (t->attrs[i].name_len == name_len
            && ieq(base + t->attrs[i].name_off, name, name_len))
            return;
    if (t->nattrs == PB_HTML_MAX_ATTRS) {
        t->attrs_dropped = 1;
        return;
    }
    struct pb_html_attr *a = &t->attrs[t->nattrs++];
    a->name_off = (size_t)(name - base);
    a->name_len = name_len;
    a->value_off = (size_t)(value - base);
    a->value_len = value_len;
    a->span_off = a->value_off - (quote ? 1 : 0);
    a->span_len = has_value ? value_len + (quote ? 2 : 0) : 0;
    a->quote = quote;
    a->has_value = has_value;
}

/*
 * The attribute states of the tokenizer, from just after the tag name to
 * the closing '>'. Returns the position after '>', or NULL if the input
 * ends inside the tag. Records attributes into rec unless it is NULL.
 */
const char *pb_html_scan_attrs(const char *base, const char *p, const char *end,
                              struct pb_html_tag *rec, int *self_closing)
{
    *self_closing = 0;
    for (;;) {
        while (p < end && is_ws((unsigned char)*p))             /* before attribute name */
            p++;
        if (p >= end)
            return NULL;
        if (*p == '>')
            return p + 1;
        if (*p == '/') {                                        /* self-closing start tag */
            if (++p >= end)
                return NULL;
            if (*p == '>') {
                *self_closing = 1;
                return p + 1;
            }
            continue;                                           /* reconsume: before attr name */
        }
        const char *name = p++;                                 /* attribute name ('=' may start it) */
        while (p < end && !ends_run((unsigned char)*p, PB_HC_ATTR_NAME_END))
            p++;
        size_t name_len = (size_t)(p - name);
        while (p < end && is_ws((unsigned char)*p))             /* after attribute name */
            p++;
        if (p >= end)
            return NULL;
        if (*p != '=') {
            if (rec)
                record_attr(base, rec, name, name_len, p, 0, 0, 0);
            continue;
        }
        p++;
        while (p < end && is_ws((unsigned char)*p))             /* before attribute value */
            p++;
        if (p >= end)
            return NULL;
        if (*p == '"' || *p == '\'') {
            char quote = *p;
            const char *value = p + 1;
            const char *close = memchr(value, quote, (size_t)(end - value));
            if (close == NULL)
                return NULL;
            if (rec)
                record_attr(base, rec, name, name_len, value, (size_t)(close - value), quote, 1);
            p = close + 1;                                      /* after attribute value (quoted) */
        } else if (*p == '>') {                                 /* "href=>": empty value */
            if (rec)
                record_attr(base, rec, name, name_len, p, 0, 0, 0);
            return p + 1;
        } else {
            const char *value = p;                              /* unquoted */
            while (p < end && !ends_run((unsigned char)*p, PB_HC_UNQUOTED_END))
                p++;
            if (p >= end)
                return NULL;
            if (rec)
                record_attr(base, rec, name, name_len, value, (size_t)(p - value), 0, 1);
        }
    }
}

static int scan_from(struct scanner *sc, const char *p);

static int report(struct scanner *sc, enum pb_html_tag_kind kind, const char *lt, const char *after)
{
    sc->tag.kind = kind;
    sc->tag.off = (size_t)(lt - sc->base);
    sc->tag.len = (size_t)(after - lt);
    sc->tag.in_mso = sc->in_mso;
    return sc->fn(sc->arg, sc->base, &sc->tag);
}

/* A comment; q is just after "<!--". Conditional comments are scanned
 * again, flagged in_mso (not recursively: an inner one ends at the same
 * "-->" as the outer one anyway). */
static const char *comment(struct scanner *sc, const char *q, int *stop)
{
    const char *end = sc->end, *body_end = end, *after = NULL;
    if (q < end && *q == '>') {
        body_end = q;
        after = q + 1;
    } else if (end - q >= 2 && q[0] == '-' && q[1] == '>') {
        body_end = q;
        after = q + 2;
    } else {
        for (const char *r = q; (r = memchr(r, '-', (size_t)(end - r))) != NULL; r++) {
            if (end - r >= 3 && r[1] == '-' && r[2] == '>') {
                body_end = r;
                after = r + 3;
                break;
            }
            if (end - r >= 4 && r[1] == '-' && r[2] == '!' && r[3] == '>') {
                body_end = r;
                after = r + 4;
                break;
            }
        }
    }
    if (after == NULL) {
        sc->cut = 1;
        after = end;
    }
    if (sc->in_mso || body_end - q < 4 || q[0] != '[' || !ieq(q + 1, "if", 2)
        || !is_ws((unsigned char)q[3]))
        return after;
    const char *open = memmem(q, (size_t)(body_end - q), "]>", 2);
    if (open == NULL)
        return after;
    const char *region_end = body_end;
    if (region_end - (open + 2) >= 9 && ieq(region_end - 9, "<![endif]", 9))
        region_end -= 9;
    struct scanner sub = { .base = sc->base, .end = region_end, .in_mso = 1,
                           .fn = sc->fn, .arg = sc->arg };
    *stop = scan_from(&sub, open + 2);
    return after;
}

/* "<!" at p - 1: comment, DOCTYPE, CDATA or bogus comment. */
static const char *markup_decl(struct scanner *sc, const char *p, int *stop)
{
    const char *end = sc->end, *q = p + 1;
    if (end - q >= 2 && q[0] == '-' && q[1] == '-')
        return comment(sc, q + 2, stop);
    if (sc->foreign && end - q >= 7 && memcmp(q, "[CDATA[", 7) == 0)
        return pb_html_skip_cdata(q + 7, end, &sc->cut);
    return skip_past(q, end, '>', &sc->cut);    /* DOCTYPE and bogus comments alike */
}

static int font_breaks_out(const struct scanner *sc)
{
    return pb_html_attr_find(sc->base, &sc->tag, "color") != NULL
        || pb_html_attr_find(sc->base, &sc->tag, "face") != NULL
        || pb_html_attr_find(sc->base, &sc->tag, "size") != NULL;
}

static const char *start_tag(struct scanner *sc, enum tag_class cls, const char *lname,
                             size_t len, const char *lt, const char *after,
                             int self_closing, int *stop)
{
    if (sc->foreign) {
        if (cls != TC_BREAKOUT && cls != TC_BODY && !(cls == TC_FONT && font_breaks_out(sc))) {
            if ((int)cls == sc->foreign && !self_closing)
                sc->foreign_depth++;
            return after;
        }
        sc->foreign = 0;
        sc->foreign_depth = 0;
    }
    switch (cls) {
    case TC_A:
        *stop = report(sc, PB_TAG_A, lt, after);
        break;
    case TC_AREA:
        *stop = report(sc, PB_TAG_AREA, lt, after);
        break;
    case TC_BODY:
        *stop = report(sc, PB_TAG_BODY, lt, after);
        break;
    case TC_VML:
        if (pb_html_attr_find(sc->base, &sc->tag, "href"))
            *stop = report(sc, PB_TAG_VML, lt, after);
        break;
    case TC_SVG:
    case TC_MATH:
        if (!self_closing) {
            sc->foreign = (int)cls;
            sc->foreign_depth = 1;
        }
        break;
    case TC_RAWTEXT:
        return pb_html_skip_raw(sc->base, after, sc->end, lname, len, &sc->cut);
    case TC_SCRIPT:
        return pb_html_skip_script(sc->base, after, sc->end, &sc->cut);
    case TC_PLAINTEXT:
        sc->cut = 1;
        return sc->end;
    default:
        break;
    }
    return after;
}

static const char *end_tag(struct scanner *sc, enum tag_class cls, const char *lt,
                           const char *after, int *stop)
{
    if (sc->foreign) {
        if ((int)cls == sc->foreign && --sc->foreign_depth == 0)
            sc->foreign = 0;
        return after;
    }
    sc->tag.nattrs = 0;
    sc->tag.attrs_dropped = 0;
    if (cls == TC_A)
        *stop = report(sc, PB_TAG_A_END, lt, after);
    else if (cls == TC_BODY)
        *stop = report(sc, PB_TAG_BODY_END, lt, after);
    return after;
}

/* A start or end tag: lt at '<', p at the first letter of the name. */
static const char *tag(struct scanner *sc, const char *lt, const char *p, int is_end, int *stop)
{
    const char *end = sc->end;
    char lname[NAME_BUF];
    size_t len = 0;
    while (p < end && !ends_run((unsigned char)*p, PB_HC_TAG_NAME_END)) {
        if (len < NAME_BUF)
            lname[len] = (char)to_lower((unsigned char)*p);
        len++;
        p++;
    }
    if (p >= end) {
        sc->cut = 1;
        return end;
    }
    enum tag_class cls = classify(lname, len, sc->foreign);
    int record = !is_end && (cls == TC_A || cls == TC_AREA || cls == TC_BODY
                             || cls == TC_VML || (cls == TC_FONT && sc->foreign));
    if (record) {
        sc->tag.nattrs = 0;
        sc->tag.attrs_dropped = 0;
    }
    int self_closing;
    const char *after = pb_html_scan_attrs(sc->base, p, end, record ? &sc->tag : NULL, &self_closing);
    if (after == NULL) {
        sc->cut = 1;
        return end;
    }
    if (is_end)
        return end_tag(sc, cls, lt, after, stop);
    return start_tag(sc, cls, lname, len, lt, after, self_closing, stop);
}

static int scan_from(struct scanner *sc, const char *p)
{
    const char *end = sc->end;
    int stop = 0;
    while (p < end && !stop) {
        const char *lt = memchr(p, '<', (size_t)(end - p));
        if (lt == NULL || lt + 1 >= end)
            break;
        p = lt + 1;
        unsigned char c = (unsigned char)*p;
        if (is_alpha(c)) {
            p = tag(sc, lt, p, 0, &stop);
        } else if (c == '/') {
            if (++p >= end) {
                sc->cut = 1;            /* "</" at the end: text, but not to append to */
                break;
            }
            c = (unsigned char)*p;
            if (is_alpha(c))
                p = tag(sc, lt, p, 1, &stop);
            else if (c == '>')
                p++;
            else
                p = skip_past(p, end, '>', &sc->cut);
        } else if (c == '!') {
            p = markup_decl(sc, p, &stop);
        } else if (c == '?') {
            p = skip_past(p, end, '>', &sc->cut);
        }
    }
    return stop;
}

int pb_html_scan_ex(const char *html, size_t len, pb_html_tag_fn fn, void *arg,
                    int *ends_in_text)
{
    struct scanner sc = { .base = html, .end = html + len, .fn = fn, .arg = arg };
    int stop = scan_from(&sc, html);
    if (ends_in_text)
        *ends_in_text = !stop && !sc.cut;
    return stop;
}

int pb_html_scan(const char *html, size_t len, pb_html_tag_fn fn, void *arg)
{
    return pb_html_scan_ex(html, len, fn, arg, NULL);
}

const struct pb_html_attr *pb_html_attr_find(const char *html, const struct pb_html_tag *tag,
                                             const char *name)
{
    size_t len = strlen(name);
    for (int i = 0; i < tag->nattrs; i++)
        if (tag->attrs[i].name_len == len && ieq(html + tag->attrs[i].name_off, name, len))
            return &tag->attrs[i];
    return NULL;
}
