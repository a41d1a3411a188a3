/*
 * mime_codec.h - decoding one MIME part's content for the rewriters and
 * encoding the rewritten content again in the part's own transfer
 * encoding and line-ending style (private to mime_*.c).
 */
#ifndef PB_MIME_CODEC_H
#define PB_MIME_CODEC_H

#include <stddef.h>
#include <glib.h>

/* The transfer encodings we can decode and re-encode. */
enum pb_cte { PB_CTE_7BIT, PB_CTE_8BIT, PB_CTE_BINARY, PB_CTE_QP, PB_CTE_BASE64 };

/* Line endings of an encoded part. */
enum pb_eol { PB_EOL_LF, PB_EOL_CRLF };

/* SMTP line limit without the line break (RFC 5321 4.5.3.1.6). */
#define PB_MAX_LINE 998

/* Content-Transfer-Encoding header value (NULL: absent, i.e. 7bit) to
 * enum; -1 for anything that is not exactly one of the five names. */
int pb_cte_parse(const char *value, enum pb_cte *cte);
const char *pb_cte_name(enum pb_cte cte);

/* Line endings of the encoded bytes src[0..len): those of the first line
 * break in it, else of the first one in after[0..after_len), else LF. */
enum pb_eol pb_eol_detect(const char *src, size_t len, const char *after, size_t after_len);

/* Decode src[0..len). data and dlen receive the decoded bytes: src itself
 * for 7bit/8bit/binary, else scratch (its contents replaced). 0 on
 * success; -1 when the content does not decode cleanly (base64 with a
 * foreign byte, broken padding or a dangling character): *why then says
 * which, *where at which byte of src. */
int pb_mime_decode(enum pb_cte cte, const char *src, size_t len, GString *scratch,
                   const char **data, size_t *dlen, const char **why, size_t *where);

/* Append data encoded in cte with eol line endings to out. orig/orig_len
 * is the part's original encoded content: whether it ended with a line
 * break, and (for 7bit) whether it was 7-bit clean. Returns 0, or -1 when
 * the content cannot go out in that encoding (line over 998 octets, 8-bit
 * bytes in a 7bit part); *why then says which, out is left as it was. */
int pb_mime_encode(enum pb_cte cte, enum pb_eol eol, const char *orig, size_t orig_len,
                   const char *data, size_t len, GString *out, const char **why);

#endif
