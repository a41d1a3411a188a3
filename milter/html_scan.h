/*
 * html_scan.h - a focused HTML tokenizer for the hot path: it walks the
 * source once and reports the start tags whose attributes matter to us
 * (a, area, body, v:* with href) and </body>, each attribute with its
 * byte offsets, so the rewriter can splice new values in place without
 * re-serialising anything. Comments, <script>, <style>, <textarea>,
 * <title> are skipped as the HTML5 tokenizer would; Outlook conditional
 * comments (<!--[if mso]> ... <![endif]-->) are scanned, flagged in_mso.
 * Tested against gumbo as the reference (tests/check_html_scan.c).
 */
#ifndef PB_HTML_SCAN_H
#define PB_HTML_SCAN_H

#include <stddef.h>

#define PB_HTML_MAX_ATTRS 32

struct pb_html_attr {
    size_t name_off, name_len;          /* attribute name */
    size_t value_off, value_len;        /* raw value, without quotes; len 0 if valueless */
    size_t span_off, span_len;          /* whole value incl. quotes (0 len if valueless) */
    char quote;                         /* '"', '\'', or 0 for unquoted/valueless */
    int has_value;
};

enum pb_html_tag_kind { PB_TAG_A, PB_TAG_AREA, PB_TAG_BODY, PB_TAG_BODY_END, PB_TAG_VML, PB_TAG_A_END };

struct pb_html_tag {
    enum pb_html_tag_kind kind;
    size_t off, len;                    /* whole tag "<...>" */
    int in_mso;                         /* inside an Outlook conditional comment */
    int nattrs;
    int attrs_dropped;                  /* more than PB_HTML_MAX_ATTRS distinct attributes:
                                         * the later ones are missing, leave the tag alone */
    struct pb_html_attr attrs[PB_HTML_MAX_ATTRS];
};

/* Calls fn for every reported tag in document order; stops early if fn
 * returns non-zero (and returns that value). Returns 0 after a full scan. */
typedef int (*pb_html_tag_fn)(void *arg, const char *html, const struct pb_html_tag *tag);
int pb_html_scan(const char *html, size_t len, pb_html_tag_fn fn, void *arg);

/* As pb_html_scan; also sets *ends_in_text to 1 if the input ends in plain
 * text (not inside a tag, comment, raw-text element or other markup, and
 * not stopped early), so that markup appended to it is parsed as markup. */
int pb_html_scan_ex(const char *html, size_t len, pb_html_tag_fn fn, void *arg,
                    int *ends_in_text);

/* Find attribute by lowercase name; NULL if absent. */
const struct pb_html_attr *pb_html_attr_find(const char *html, const struct pb_html_tag *tag,
                                             const char *name);

/* Decode character references (&amp; &#38; &#x26; and the named ones that
 * occur in URLs) in an attribute value into out; returns 0, or -1 if the
 * value holds a reference we cannot decode (caller leaves the link alone). */
int pb_html_decode_attr(const char *s, size_t len, char *out, size_t outlen, size_t *outlen_used);

#endif
