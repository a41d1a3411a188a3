/*
 * mime_issue.c - why a message GMime finds a structural problem in is
 * left alone, in words that name the real cause (see mime_issue.h).
 *
 * GMime's warning says what its parser ran into, not why. "Truncated
 * message" comes from a multipart whose end boundary is missing, and also
 * from the headers of a last part that run into the end boundary on the
 * message's last line: the header scan takes the boundary for a header
 * and meets the end of the message. "Invalid header name" comes from a
 * stray line inside a header block, and also from content that starts
 * right after a part's headers, without the empty line between them. So
 * each warning is read together with GMime's tree (the multiparts and
 * their boundaries) and the bytes around its offset. This runs only for
 * messages that are left alone, never on the rewrite path.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "mime_issue.h"
#include "mime_parts.h"

#define MAX_BOUNDS 64
#define LINE_SHOWN 40           /* bytes of a line quoted in the reason */

/* ---- which warnings count --------------------------------------------- */

/* Problems that make the structure ambiguous: other software may see
 * different parts than GMime does, so we do not touch the message. */
static int structural(GMimeParserWarning code, const char *item)
{
    switch (code) {
    case GMIME_WARN_MALFORMED_MULTIPART:
    case GMIME_WARN_TRUNCATED_MESSAGE:
    case GMIME_WARN_MALFORMED_MESSAGE:
    case GMIME_CRIT_INVALID_HEADER_NAME:
    case GMIME_CRIT_CONFLICTING_PARAMETER:
    case GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY:
    case GMIME_CRIT_NESTING_OVERFLOW:
    case GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT:
        return 1;
    case GMIME_CRIT_CONFLICTING_HEADER:
        return item && (g_ascii_strncasecmp(item, "Content-", 8) == 0
                        || g_ascii_strcasecmp(item, "MIME-Version") == 0);
    default:
        return 0;
    }
}

void pb_issues_note(struct pb_parse_issues *is, gint64 offset, GMimeParserWarning code,
                    const char *item)
{
    if (is->count == PB_ISSUES_MAX || !structural(code, item))
        return;
    struct pb_parse_issue *i = &is->issue[is->count++];
    i->code = code;
    i->offset = offset;
    pb_mime_printable(i->item, sizeof(i->item), item ? item : "", item ? strlen(item) : 0,
                      LINE_SHOWN);
}

/* ---- the multiparts GMime built --------------------------------------- */

struct bounds {
    const char *boundary[MAX_BOUNDS];
    const char *subtype[MAX_BOUNDS];
    unsigned count;
};

static void collect(GMimeObject *obj, struct bounds *b, int depth)
{
    if (obj == NULL || depth > MAX_BOUNDS)
        return;
    if (GMIME_IS_MESSAGE_PART(obj)) {
        GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
        collect(inner ? g_mime_message_get_mime_part(inner) : NULL, b, depth + 1);
        return;
    }
    if (!GMIME_IS_MULTIPART(obj))
        return;
    const char *boundary = g_mime_multipart_get_boundary(GMIME_MULTIPART(obj));
    if (boundary != NULL && b->count < MAX_BOUNDS) {
        b->boundary[b->count] = boundary;
        b->subtype[b->count++] = g_mime_content_type_get_media_subtype(
            g_mime_object_get_content_type(obj));
    }
    int n = g_mime_multipart_get_count(GMIME_MULTIPART(obj));
    for (int i = 0; i < n; i++)
        collect(g_mime_multipart_get_part(GMIME_MULTIPART(obj), i), b, depth + 1);
}

/* ---- lines ---------------------------------------------------------------- */

struct text {
    const char *start, *end;
};

/* End of the line at p (its '\n', or the end of the text). */
static const char *eol(const struct text *t, const char *p)
{
    const char *nl = memchr(p, '\n', (size_t)(t->end - p));
    return nl ? nl : t->end;
}

static const char *next_line(const struct text *t, const char *p)
{
    const char *e = eol(t, p);
    return e < t->end ? e + 1 : t->end;
}

static int blank_line(const char *p, const char *e)
{
    return e == p || (e == p + 1 && *p == '\r');
}

/* 1 if [p, e) is "--" boundary, then "--" too if closing, then only
 * blanks (a delimiter line as RFC 2046 and GMime read it). */
static int delimiter_is(const char *p, const char *e, const char *boundary, int closing)
{
    size_t bl = strlen(boundary);

    if ((size_t)(e - p) < 2 + bl || p[0] != '-' || p[1] != '-' || memcmp(p + 2, boundary, bl))
        return 0;
    p += 2 + bl;
    if (closing) {
        if (e - p < 2 || p[0] != '-' || p[1] != '-')
            return 0;
        p += 2;
    }
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\r'))
        p++;
    return p == e;
}

static int any_delimiter(const struct bounds *b, const char *p, const char *e)
{
    for (unsigned i = 0; i < b->count; i++)
        if (delimiter_is(p, e, b->boundary[i], 0) || delimiter_is(p, e, b->boundary[i], 1))
            return 1;
    return 0;
}

/* 1 if some line of t is the closing delimiter of boundary. */
static int has_closing(const struct text *t, const char *boundary)
{
    for (const char *p = t->start; p < t->end; p = next_line(t, p))
        if (delimiter_is(p, eol(t, p), boundary, 1))
            return 1;
    return 0;
}

/* 1 if [line, e) is a delimiter of a boundary parameter given in the
 * header block that line is in (from the empty line before it): a
 * multipart whose headers run straight into its first boundary, which
 * GMime then reads as a header, so its tree has no such multipart. */
static int declared_delimiter(const struct text *t, const char *line, const char *e)
{
    static const char param[] = "boundary=";
    const char *start = line, *p;
    char value[80];

    while (start > t->start) {  /* back to the line after an empty one */
        const char *prev = start - 1;
        while (prev > t->start && prev[-1] != '\n')
            prev--;
        if (blank_line(prev, start - 1))
            break;
        start = prev;
    }
    for (p = start; p + sizeof(param) - 1 < line; p++) {
        if (g_ascii_strncasecmp(p, param, sizeof(param) - 1) != 0)
            continue;
        const char *v = p + sizeof(param) - 1, *vend;
        int quoted = *v == '"';
        v += quoted;
        for (vend = v; vend < line && (quoted ? *vend != '"' : *vend != ';' && *vend != ' '
                                       && *vend != '\r' && *vend != '\n'); vend++)
            ;
        if (vend > v && (size_t)(vend - v) < sizeof(value)) {
            memcpy(value, v, (size_t)(vend - v));
            value[vend - v] = '\0';
            if (delimiter_is(line, e, value, 0) || delimiter_is(line, e, value, 1))
                return 1;
        }
    }
    return 0;
}

/* ---- the reasons -------------------------------------------------------- */

static void say(char *why, size_t whylen, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static void say(char *why, size_t whylen, const char *fmt, ...)
{
    char what[320];
    va_list ap;

    va_start(ap, fmt);
    g_vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    g_snprintf(why, whylen, "malformed MIME: %s", what);
}

/* " at byte N", or "" when GMime gave no offset. */
static const char *at(gint64 offset, char buf[32])
{
    if (offset < 0)
        return "";
    g_snprintf(buf, 32, " at byte %" G_GINT64_FORMAT, offset);
    return buf;
}

/* A multipart without its end boundary, or a header block the end of
 * the message cut: which one, from the lines. */
static void explain_truncated(const struct bounds *b, const struct text *t, char *why,
                              size_t whylen)
{
    char shown[64];

    for (unsigned i = 0; i < b->count; i++)
        if (!has_closing(t, b->boundary[i])) {
            pb_mime_printable(shown, sizeof(shown), b->boundary[i], strlen(b->boundary[i]),
                              LINE_SHOWN);
            say(why, whylen, "truncated message: multipart/%s has no end boundary (--%s--)",
                b->subtype[i], shown);
            return;
        }
    const char *last = t->end, *prev;
    while (last > t->start && last[-1] != '\n')
        last--;                 /* the last line, with no line break after it */
    for (prev = last > t->start ? last - 1 : last; prev > t->start && prev[-1] != '\n'; prev--)
        ;
    if (last < t->end && last > t->start && !blank_line(prev, last - 1))
        for (unsigned i = 0; i < b->count; i++)
            if (delimiter_is(last, t->end, b->boundary[i], 1)) {
                say(why, whylen, "the headers of the last part run into the end boundary on "
                    "the last line, without the empty line that ends them");
                return;
            }
    say(why, whylen, "a header block runs to the end of the message, without the empty "
        "line that ends it");
}

struct parse_issue_ctx {
    const struct bounds *b;
    const struct text *t;
    int no_message;             /* GMime returned no message: the top header block */
    char *why;
    size_t whylen;
};

/* A line GMime found no header in, at offset: stray, or content glued to
 * the headers before it. */
static void explain_not_header(const struct parse_issue_ctx *x, const struct pb_parse_issue *i)
{
    const struct text *t = x->t;
    char shown[64], where[32];

    if (i->offset < 0 || i->offset >= t->end - t->start) {
        say(x->why, x->whylen, "a line in a header block is not a header: \"%s\"", i->item);
        return;
    }
    const char *line = t->start + i->offset, *e = eol(t, line), *p;
    size_t shown_len = (size_t)(e - line);
    if (shown_len > 0 && line[shown_len - 1] == '\r')
        shown_len--;            /* the line break is not the line's */
    pb_mime_printable(shown, sizeof(shown), line, shown_len, LINE_SHOWN);
    if (x->no_message) {
        say(x->why, x->whylen, "the message does not start with a header line: \"%s\"", shown);
        return;
    }
    if (any_delimiter(x->b, line, e) || declared_delimiter(t, line, e)) {
        say(x->why, x->whylen, "the headers of a part are not followed by an empty line: the "
            "boundary line \"%s\"%s comes right after them", shown, at(i->offset, where));
        return;
    }
    /* up to the end of the block: content glued to the headers goes on
     * to a boundary line, a stray line to the empty line (or the end) */
    for (p = next_line(t, line); p < t->end; p = next_line(t, p))
        if (blank_line(p, eol(t, p)) || any_delimiter(x->b, p, eol(t, p)))
            break;
    if (p < t->end && !blank_line(p, eol(t, p)))
        say(x->why, x->whylen, "the headers of a part are not followed by an empty line: its "
            "content (\"%s\"%s) comes right after them", shown, at(i->offset, where));
    else
        say(x->why, x->whylen, "a line in a header block is not a header%s: \"%s\"",
            at(i->offset, where), shown);
}

/* The name of the header that starts at offset, for the reason. */
static void header_name(const struct text *t, gint64 offset, char out[64])
{
    const char *p = offset >= 0 && offset < t->end - t->start ? t->start + offset : t->end;
    const char *colon = memchr(p, ':', (size_t)(t->end - p));
    const char *e = eol(t, p);

    if (colon == NULL || colon > e)
        colon = p;
    pb_mime_printable(out, 64, p, (size_t)(colon - p), LINE_SHOWN);
}

static void explain(const struct parse_issue_ctx *x, const struct pb_parse_issue *i)
{
    char where[32], name[64];

    switch (i->code) {
    case GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT:
        say(x->why, x->whylen, "a boundary line follows the one before it directly%s: a part "
            "with neither headers nor content", at(i->offset, where));
        break;
    case GMIME_WARN_TRUNCATED_MESSAGE:
        explain_truncated(x->b, x->t, x->why, x->whylen);
        break;
    case GMIME_CRIT_INVALID_HEADER_NAME:
        explain_not_header(x, i);
        break;
    case GMIME_WARN_MALFORMED_MULTIPART:
        say(x->why, x->whylen, "multipart/%s%s ends at a boundary of the multipart around it, "
            "before its own end boundary", i->item, at(i->offset, where));
        break;
    case GMIME_CRIT_CONFLICTING_HEADER:
        say(x->why, x->whylen, "two different %s headers in one header block%s", i->item,
            at(i->offset, where));
        break;
    case GMIME_CRIT_CONFLICTING_PARAMETER:
        header_name(x->t, i->offset, name);
        say(x->why, x->whylen, "the %s header%s gives its %s parameter two different values",
            name, at(i->offset, where), i->item);
        break;
    case GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY:
        say(x->why, x->whylen, "multipart/%s%s has no usable boundary parameter", i->item,
            at(i->offset, where));
        break;
    case GMIME_CRIT_NESTING_OVERFLOW:
        say(x->why, x->whylen, "parts nested deeper than GMime reads%s", at(i->offset, where));
        break;
    default:                    /* GMIME_WARN_MALFORMED_MESSAGE, alone */
        say(x->why, x->whylen, "the message ends where a header block should begin");
        break;
    }
}

int pb_issues_explain(const struct pb_parse_issues *is, GMimeMessage *message,
                      const GByteArray *buf, char *why, size_t whylen)
{
    const char *bytes = buf->len > 0 ? (const char *)buf->data : "";    /* data may be NULL */
    struct text t = { bytes, bytes + buf->len };
    struct bounds b = { .count = 0 };
    struct parse_issue_ctx x = { &b, &t, message == NULL, why, whylen };

    if (is->count == 0) {
        if (message != NULL)
            return 0;
        say(why, whylen, "%s", buf->len == 0 ? "the message is empty"
                                             : "GMime finds no message in it");
        return 1;
    }
    if (message != NULL)
        collect(g_mime_message_get_mime_part(message), &b, 0);
    /* a part with neither headers nor content also looks like a header
     * line that is none (the second boundary line): say the former */
    const struct pb_parse_issue *pick = &is->issue[0];
    for (unsigned k = 0; k < is->count; k++)
        if (is->issue[k].code == GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT)
            pick = &is->issue[k];
    explain(&x, pick);
    return 1;
}
