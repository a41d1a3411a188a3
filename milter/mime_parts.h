/*
 * mime_parts.h - the MIME walk behind pb_mime_rewrite(): which leaf parts
 * of a parsed message are bodies we may rewrite, where their encoded
 * bytes lie in the original message, and which parts are left alone and
 * why, named by part number for the log line (private to mime_*.c).
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
/* A part number: IMAP section numbers (RFC 3501 6.4.5), "1", "2.1", ... */
#define PB_PART_NUM_MAX 40

enum pb_part_kind { PB_PART_HTML, PB_PART_TEXT };

/* One rewritable body part: its encoded content is msg[off, off + len). */
struct pb_mime_part {
    size_t off, len;
    enum pb_part_kind kind;
    enum pb_cte cte;
    enum pb_eol eol;
    char num[PB_PART_NUM_MAX];
};

struct pb_mime_parts {
    struct pb_mime_part part[PB_MIME_MAX_PARTS];
    unsigned count;
    unsigned left_alone;        /* parts left alone for a reason: the walk's and the splicer's */
    unsigned listed;            /* ... of which named in left */
    char left[400];             /* "part 2 message/rfc822 (attached message), ..." */
    unsigned attachments;       /* HTML and text parts not taken: attachments */
    unsigned empty;             /* ... and parts without content */
    const char *boundary[PB_MIME_MAX_BOUNDARIES];       /* of every multipart (GMime's) */
    unsigned boundaries;
};

enum pb_walk_status {
    PB_WALK_OK,
    PB_WALK_REFUSED,            /* a report, a signed or encrypted message, too many multiparts */
    PB_WALK_MALFORMED,          /* the message's structure is ambiguous */
    PB_WALK_ERROR               /* GMime's tree is not what the splicer relies on */
};

/* Walk the tree under top (the message's MIME part). buf is the byte
 * array the parser read (every content range must lie in it, at or after
 * body_off). Fills parts in document order. On anything but OK, why says
 * what. */
enum pb_walk_status pb_mime_collect(GMimeObject *top, const GByteArray *buf, size_t body_off,
                                    struct pb_mime_parts *parts, char *why, size_t whylen);

/* Note part num (of type, e.g. "text/html") as left alone, the reason
 * formatted from fmt. Named in parts->left while there is room. */
void pb_mime_leave_alone(struct pb_mime_parts *parts, const char *num, const char *type,
                         const char *fmt, ...) G_GNUC_PRINTF(4, 5);

/* "left alone: part 2 message/rfc822 (attached message), ..." (", and N
 * more" when not all fit), or "" when no part was left alone. */
void pb_mime_left_summary(const struct pb_mime_parts *parts, char *out, size_t outlen);

/* 1 if a line of s[0..len) (s starts a line) begins with "--" and one of
 * the boundaries: a parser, strict or lenient, could end the part there. */
int pb_mime_boundary_line(const struct pb_mime_parts *parts, const char *s, size_t len);

/* 1 if text in this charset can be rewritten byte-wise: every ASCII byte
 * in it stands for that ASCII character (NULL = us-ascii). */
int pb_charset_ascii_safe(const char *charset);

/* Copy at most max bytes of s[0..len) to out for a log line: printable
 * ASCII kept, CR, LF and tab as \r \n \t, other bytes as '?', "..." when
 * cut. Always NUL-terminated. */
void pb_mime_printable(char *out, size_t outlen, const char *s, size_t len, size_t max);

#endif
