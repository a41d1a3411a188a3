/*
 * html_rawtext.c - the parts of an HTML document that are text, not
 * markup, for the tokenizer in html_scan.c: RAWTEXT and RCDATA elements
 * (<style>, <xmp>, <iframe>, <noembed>, <noframes>, <textarea>, <title>)
 * up to their end tag, script data with the HTML5 escaped and
 * double-escaped states ("<!--", "<!--<script>") up to the </script> that
 * really ends it, and CDATA sections in foreign content. No tag inside
 * them is reported: a link in a <script> string is not a link.
 */
#include <string.h>
#include "html_scan_int.h"

/* If p (just after "</") starts the end tag lname (an "appropriate end
 * tag"), returns the position after that tag (end, setting *cut, if it is
 * cut off); otherwise NULL: the text goes on. */
static const char *end_tag_at(const char *base, const char *p, const char *end,
                              const char *lname, size_t len, int *cut)
{
    if ((size_t)(end - p) <= len || !ieq(p, lname, len))
        return NULL;
    unsigned char c = (unsigned char)p[len];
    if (!is_ws(c) && c != '/' && c != '>')
        return NULL;
    int self_closing;
    const char *after = pb_html_scan_attrs(base, p + len, end, NULL, &self_closing);
    if (after == NULL)
        *cut = 1;
    return after ? after : end;
}

/* RAWTEXT / RCDATA: everything up to the matching end tag is text. */
const char *pb_html_skip_raw(const char *base, const char *p, const char *end,
                            const char *lname, size_t len, int *cut)
{
    while (p < end) {
        const char *lt = memchr(p, '<', (size_t)(end - p));
        if (lt == NULL || lt + 1 >= end)
            break;
        p = lt + 1;
        if (*p == '/') {
            const char *after = end_tag_at(base, p + 1, end, lname, len, cut);
            if (after)
                return after;
        }
    }
    *cut = 1;
    return end;
}

/* Letters at p form "script" followed by whitespace, '/' or '>'? Sets
 * *next to the position after the delimiter (or at the first non-letter). */
static int script_word(const char *p, const char *end, const char **next)
{
    const char *w = p;
    while (p < end && is_alpha((unsigned char)*p))
        p++;
    if (p >= end || !(is_ws((unsigned char)*p) || *p == '/' || *p == '>')) {
        *next = p;
        return -1;                          /* reconsume p in the current state */
    }
    *next = p + 1;
    return p - w == 6 && ieq(w, "script", 6);
}

enum script_state { SD_DATA, SD_ESC, SD_ESC_DASH, SD_ESC_DASH2, SD_DESC, SD_DESC_DASH, SD_DESC_DASH2 };

/* Script data with its escaped ("<!--") and double-escaped ("<!--<script>")
 * states: returns the position after the </script> that ends it. */
const char *pb_html_skip_script(const char *base, const char *p, const char *end, int *cut)
{
    enum script_state st = SD_DATA;
    while (p < end) {
        if (st == SD_DATA) {
            const char *lt = memchr(p, '<', (size_t)(end - p));
            if (lt == NULL || lt + 1 >= end)
                break;
            p = lt + 1;
            if (*p == '/') {
                const char *after = end_tag_at(base, p + 1, end, "script", 6, cut);
                if (after)
                    return after;
            } else if (end - p >= 3 && p[0] == '!' && p[1] == '-' && p[2] == '-') {
                p += 3;
                st = SD_ESC_DASH2;
            }
            continue;
        }
        int dbl = st >= SD_DESC;
        char c = *p++;
        if (c == '-') {
            st = (st == SD_ESC || st == SD_DESC) ? (dbl ? SD_DESC_DASH : SD_ESC_DASH)
                                                 : (dbl ? SD_DESC_DASH2 : SD_ESC_DASH2);
            continue;
        }
        if (c == '>' && (st == SD_ESC_DASH2 || st == SD_DESC_DASH2)) {
            st = SD_DATA;
            continue;
        }
        st = dbl ? SD_DESC : SD_ESC;
        if (c != '<' || p >= end)
            continue;
        const char *next;
        if (!dbl && *p == '/') {                        /* escaped end tag open */
            const char *after = end_tag_at(base, p + 1, end, "script", 6, cut);
            if (after)
                return after;
        } else if (!dbl && is_alpha((unsigned char)*p)) {       /* double escape start */
            if (script_word(p, end, &next) == 1)
                st = SD_DESC;
            p = next;
        } else if (dbl && *p == '/') {                  /* double escape end */
            if (script_word(p + 1, end, &next) == 1)
                st = SD_ESC;
            p = next;
        }
    }
    *cut = 1;
    return end;
}

/* "<![CDATA[" inside foreign content: text up to "]]>". */
const char *pb_html_skip_cdata(const char *p, const char *end, int *cut)
{
    while (p < end) {
        const char *r = memchr(p, ']', (size_t)(end - p));
        if (r == NULL || end - r < 3)
            break;
        if (r[1] == ']' && r[2] == '>')
            return r + 3;
        p = r + 1;
    }
    *cut = 1;
    return end;
}
