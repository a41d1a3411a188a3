/*
 * text_rewrite.c - pb_text_rewrite(): bare http(s) URLs in a decoded
 * text/plain part become tracked links.
 *
 * A URL starts with "http://" or "https://" (any case) at a word boundary
 * and runs over the characters RFC 3986 allows in a URI plus '%'. Then
 * sentence punctuation (. , ; : ! ? ') at its end is left outside, and so
 * is a closing ')' or ']' that has no partner inside the URL:
 * "(see https://x.com/a_(b))." tracks "https://x.com/a_(b)". '<', '>',
 * '"', '{', '}' and white space cannot be part of a URL, so "<https://x>"
 * and quoted URLs work without a special case.
 *
 * A URL that runs into a non-ASCII byte (an IDN host or a UTF-8 path
 * written raw) is left alone: cutting it there would send the reader
 * somewhere else.
 *
 * Only the URL text is replaced; no line break is ever added or removed,
 * so the line structure survives, including the soft breaks of
 * format=flowed (a space before the line end: the space ends the URL and
 * stays where it was). With "delsp=yes", though, a generator may split a
 * long word, a URL too, at such a soft break; only its first piece would
 * be seen here, so the caller should leave delsp=yes parts alone.
 *
 * A URL that is the template renderer's {{unsubscribe_url}} placeholder
 * (unsub_link.h) becomes the message's own unsubscribe URL
 * (pb_link_unsub_placeholder), also with track_clicks off; it takes no
 * link index and is never a click link.
 */
#include <string.h>
#include "rewrite.h"

static inline int is_alnum(unsigned char c)
{
    return (unsigned char)((c | 0x20) - 'a') < 26 || (unsigned char)(c - '0') < 10;
}

/* RFC 3986 unreserved, reserved, and '%'. */
static inline int is_url_char(unsigned char c)
{
    if (is_alnum(c))
        return 1;
    switch (c) {
    case '-': case '.': case '_': case '~': case ':': case '/': case '?': case '#':
    case '[': case ']': case '@': case '!': case '$': case '&': case '\'': case '(':
    case ')': case '*': case '+': case ',': case ';': case '=': case '%':
        return 1;
    }
    return 0;
}

static int ieq(const char *s, const char *lc, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((s[i] | 0x20) != lc[i])
            return 0;
    return 1;
}

/* ':' at colon: if it is the ':' of "http://" or "https://" at a word
 * boundary, returns where the scheme starts; otherwise -1. */
static long scheme_start(const char *text, size_t len, size_t colon)
{
    if (len - colon < 3 || text[colon + 1] != '/' || text[colon + 2] != '/')
        return -1;
    size_t start;
    if (colon >= 5 && ieq(text + colon - 5, "https", 5))
        start = colon - 5;
    else if (colon >= 4 && ieq(text + colon - 4, "http", 4))
        start = colon - 4;
    else
        return -1;
    if (start > 0) {
        unsigned char before = (unsigned char)text[start - 1];
        if (is_alnum(before) || before == '+' || before == '-' || before == '.')
            return -1;
    }
    return (long)start;
}

/* Leave trailing punctuation and unbalanced closing brackets outside. */
static size_t trim_url(const char *url, size_t len)
{
    long paren = 0, bracket = 0;            /* opened minus closed */
    for (size_t i = 0; i < len; i++) {
        paren += url[i] == '(' ? 1 : url[i] == ')' ? -1 : 0;
        bracket += url[i] == '[' ? 1 : url[i] == ']' ? -1 : 0;
    }
    while (len > 0) {
        char last = url[len - 1];
        if (last == ')' && paren < 0)
            paren++;
        else if (last == ']' && bracket < 0)
            bracket++;
        else if (last == '\0' || !strchr(".,;:!?'", last))
            break;
        len--;
    }
    return len;
}

int pb_text_rewrite(struct pb_link_ctx *ctx, const char *text, size_t len,
                    unsigned first_index, GString *out)
{
    size_t pos = 0, copied = 0;
    int changes = 0, track = ctx->conf->milter.track_clicks;
    unsigned tracked = 0;               /* click links: their indexes */
    GString *url = g_string_new(NULL);
    while (pos < len) {
        const char *colon = memchr(text + pos, ':', len - pos);
        if (colon == NULL)
            break;
        size_t c = (size_t)(colon - text);
        pos = c + 1;
        long start = track || ctx->has_contact ? scheme_start(text, len, c) : -1;
        if (start < 0)
            continue;
        size_t end = c + 3;
        while (end < len && is_url_char((unsigned char)text[end]))
            end++;
        pos = end;
        if (end < len && (unsigned char)text[end] >= 0x80)
            continue;                       /* runs into non-ASCII: leave it */
        size_t url_len = trim_url(text + start, end - (size_t)start);
        if (url_len <= c + 3 - (size_t)start)
            continue;                       /* "http://" alone */
        unsigned char host = (unsigned char)text[c + 3];
        if (!is_alnum(host) && host != '[')
            continue;                       /* no host */
        g_string_truncate(url, 0);
        if (pb_link_unsub_placeholder(ctx, text + start, url_len, url))
            ;                               /* the unsubscribe URL, no index */
        else if (track && pb_link_track(ctx, text + start, url_len, NULL, 0,
                                        first_index + tracked, url) == PB_LINK_TRACKED)
            tracked++;
        else
            continue;
        g_string_append_len(out, text + copied, (gssize)((size_t)start - copied));
        g_string_append_len(out, url->str, (gssize)url->len);
        copied = (size_t)start + url_len;
        changes++;
    }
    g_string_append_len(out, text + copied, (gssize)(len - copied));
    g_string_free(url, TRUE);
    return changes;
}
