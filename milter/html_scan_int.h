/*
 * html_scan_int.h - what the two halves of the HTML tokenizer share
 * (html_scan.c: tags, attributes, comments; html_rawtext.c: the raw text
 * of <style>, <textarea>, <script>... and CDATA): ASCII helpers and the
 * functions each calls in the other. Not for use outside milter/html_*.
 */
#ifndef PB_HTML_SCAN_INT_H
#define PB_HTML_SCAN_INT_H

#include <stddef.h>
#include "html_scan.h"

/* What ends the runs the tokenizer steps over byte by byte, one bit per
 * kind of run, so that each step is one table look-up (html_scan.c). */
enum {
    PB_HC_WS = 1,               /* white space: space, \t, \n, \f, \r */
    PB_HC_TAG_NAME_END = 2,     /* white space, '/', '>' */
    PB_HC_ATTR_NAME_END = 4,    /* white space, '/', '>', '=' */
    PB_HC_UNQUOTED_END = 8      /* white space, '>' */
};
extern const unsigned char pb_html_byte_class[256];

static inline int is_ws(unsigned char c)
{
    return pb_html_byte_class[c] & PB_HC_WS;
}

/* 1 if c ends a run of the kind given (PB_HC_*). */
static inline int ends_run(unsigned char c, unsigned kind)
{
    return (pb_html_byte_class[c] & kind) != 0;
}

static inline int is_alpha(unsigned char c)
{
    return (unsigned char)((c | 0x20) - 'a') < 26;
}

static inline unsigned char to_lower(unsigned char c)
{
    return (unsigned char)(c - 'A') < 26 ? (unsigned char)(c | 0x20) : c;
}

/* Case-insensitive ASCII comparison (NUL bytes are compared too). */
static inline int ieq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (to_lower((unsigned char)a[i]) != to_lower((unsigned char)b[i]))
            return 0;
    return 1;
}

/*
 * The attribute states of the tokenizer, from just after the tag name to
 * the closing '>'. Returns the position after '>', or NULL if the input
 * ends inside the tag. Records attributes into rec unless it is NULL.
 */
const char *pb_html_scan_attrs(const char *base, const char *p, const char *end,
                               struct pb_html_tag *rec, int *self_closing);

/* The positions after the text that ends at the end tag lname (RAWTEXT,
 * RCDATA), at </script> (script data with its escaped states) or at "]]>"
 * (CDATA in foreign content); end, setting *cut, if the input ends first. */
const char *pb_html_skip_raw(const char *base, const char *p, const char *end,
                             const char *lname, size_t len, int *cut);
const char *pb_html_skip_script(const char *base, const char *p, const char *end, int *cut);
const char *pb_html_skip_cdata(const char *p, const char *end, int *cut);

#endif
