/*
 * mime_parts.h - the MIME walk behind pb_mime_rewrite(): which leaf parts
 * of a parsed message are bodies we may rewrite, where their encoded
 * bytes lie in the original message, and why the others are left alone
 * (private to mime_*.c).
 */
#ifndef PB_MIME_PARTS_H
#define PB_MIME_PARTS_H

#include <stddef.h>
#include <gmime/gmime.h>
#include "mime_codec.h"

/* More body parts than this in one message: the rest are left alone. */
#define PB_MIME_MAX_PARTS 32
/* More multiparts than this: the message is left alone. */
#define PB_MIME_MAX_BOUNDARIES 32

enum pb_part_kind { PB_PART_HTML, PB_PART_TEXT };

/* One rewritable body part: its encoded content is msg[off, off + len). */
struct pb_mime_part {
    size_t off, len;
    enum pb_part_kind kind;
    enum pb_cte cte;
    enum pb_eol eol;
};

struct pb_mime_parts {
    struct pb_mime_part part[PB_MIME_MAX_PARTS];
    unsigned count;
    unsigned left_alone;        /* text bodies not taken, for a reason (why_left) */
    char why_left[160];         /* the first such reason */
    const char *boundary[PB_MIME_MAX_BOUNDARIES];       /* of every multipart (GMime's) */
    unsigned boundaries;
};

enum pb_walk_status { PB_WALK_OK, PB_WALK_REFUSED, PB_WALK_MALFORMED };

/* Walk the tree under top (the message's MIME part). buf is the byte
 * array the parser read (every content range must lie in it, at or after
 * body_off). Fills parts in document order. On REFUSED / MALFORMED, why
 * says what. */
enum pb_walk_status pb_mime_collect(GMimeObject *top, const GByteArray *buf, size_t body_off,
                                    struct pb_mime_parts *parts, char *why, size_t whylen);

/* 1 if a line of s[0..len) (s starts a line) begins with "--" and one of
 * the boundaries: a parser, strict or lenient, could end the part there. */
int pb_mime_boundary_line(const struct pb_mime_parts *parts, const char *s, size_t len);

/* 1 if text in this charset can be rewritten byte-wise: every ASCII byte
 * in it stands for that ASCII character (NULL = us-ascii). */
int pb_charset_ascii_safe(const char *charset);

#endif
