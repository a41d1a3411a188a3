/*
 * mime_parts.c - walk a message parsed by GMime and pick the body parts
 * we may rewrite: text/html and text/plain leaves that are not
 * attachments (any disposition but inline), in a charset where ASCII
 * bytes mean ASCII characters, in a transfer encoding we can re-encode.
 * Signed or encrypted parts and attached messages are never entered, and
 * a report (multipart/report) anywhere makes the whole message refused.
 * Every part left alone for a reason is named by its part number (IMAP
 * section numbers) for the log line. For each chosen part we take the
 * byte range of its encoded content in the original message from the
 * persisted substream GMime built for it, and check that range is sane:
 * inside the body, ending at the line break of the next delimiter, and
 * with no line in it that starts like any of the message's boundaries.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "mime_parts.h"

#if defined(__SSE2__)
#include <emmintrin.h>
static inline __m128i load16(const char *p)
{
    return _mm_loadu_si128((const __m128i *)(const void *)p);
}
#endif

#define MAX_DEPTH 64

/* ---- charsets ---------------------------------------------------------- */

/* Names whose every byte below 0x80 is that ASCII character, and whose
 * multibyte sequences (if any) use only bytes >= 0x80. Anything else
 * (UTF-16/32, UTF-7, ISO-2022-*, HZ, EBCDIC, Shift_JIS, Big5, GBK,
 * GB18030, UHC/ks_c_5601-1987, unknown names) is not rewritten. */
static const char *const safe_names[] = {
    "us-ascii", "ascii", "us", "ansi_x3.4-1968", "iso646-us", "utf-8", "utf8",
    "gb2312", "euc-cn", "euccn", "eucjp", "euckr", "tis-620", "windows-874", "cp874",
    NULL
};
static const char *const safe_prefixes[] = {
    "iso-8859-", "iso8859-", "iso_8859-", "latin", "windows-125", "cp125", "x-cp125",
    "koi8-", "euc-", NULL
};

static int is_name_tail(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s; s++)
        if (!g_ascii_isalnum(*s) && *s != '-' && *s != '_' && *s != ':')
            return 0;
    return 1;
}

int pb_charset_ascii_safe(const char *charset)
{
    if (charset == NULL || *charset == '\0')
        return 1;
    for (size_t i = 0; safe_names[i]; i++)
        if (g_ascii_strcasecmp(charset, safe_names[i]) == 0)
            return 1;
    for (size_t i = 0; safe_prefixes[i]; i++) {
        size_t n = strlen(safe_prefixes[i]);
        if (g_ascii_strncasecmp(charset, safe_prefixes[i], n) == 0 && is_name_tail(charset + n))
            return 1;
    }
    return 0;
}

/* ---- boundaries inside content ----------------------------------------- */

/* 1 if line (len bytes to the end of the content) starts with "--" and
 * one of the boundaries. */
static int starts_boundary(const struct pb_mime_parts *parts, const char *line, size_t len)
{
    if (len < 2 || line[0] != '-' || line[1] != '-')
        return 0;
    for (unsigned i = 0; i < parts->boundaries; i++) {
        size_t bl = strlen(parts->boundary[i]);
        if (len - 2 >= bl && memcmp(line + 2, parts->boundary[i], bl) == 0)
            return 1;
    }
    return 0;
}

/* The next line start after p that begins with "--" (a line break at p
 * or later, two dashes after it), or NULL. With SSE2, 32 positions at a
 * time for a line break and a dash: encoded lines are short (76 octets
 * for quoted-printable and base64), and a memchr call per line cost more
 * than its line. */
static const char *next_dash_line(const char *p, const char *end)
{
#if defined(__SSE2__)
    const __m128i nl = _mm_set1_epi8('\n'), dash = _mm_set1_epi8('-');
    for (; end - p >= 34; p += 32) {
        __m128i lo = _mm_and_si128(_mm_cmpeq_epi8(load16(p), nl), _mm_cmpeq_epi8(load16(p + 1), dash));
        __m128i hi = _mm_and_si128(_mm_cmpeq_epi8(load16(p + 16), nl),
                                   _mm_cmpeq_epi8(load16(p + 17), dash));
        unsigned mask = (unsigned)_mm_movemask_epi8(lo) | (unsigned)_mm_movemask_epi8(hi) << 16;
        for (; mask != 0; mask &= mask - 1) {
            const char *q = p + __builtin_ctz(mask) + 1;        /* "\n-" just before q + 1 */
            if (q[1] == '-')
                return q;
        }
    }
#endif
    while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        p++;
        if (end - p >= 2 && p[0] == '-' && p[1] == '-')
            return p;
    }
    return NULL;
}

int pb_mime_boundary_line(const struct pb_mime_parts *parts, const char *s, size_t len)
{
    const char *end = s + len, *p = s;
    if (parts->boundaries == 0)
        return 0;
    if (starts_boundary(parts, s, len))
        return 1;
    while ((p = next_dash_line(p, end)) != NULL)
        if (starts_boundary(parts, p, (size_t)(end - p)))
            return 1;
    return 0;
}

/* ---- what is left alone, for the log line ------------------------------ */

void pb_mime_printable(char *out, size_t outlen, const char *s, size_t len, size_t max)
{
    size_t o = 0, i;

    if (outlen == 0)
        return;
    for (i = 0; i < len && i < max && o + 3 < outlen; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = c == '\r' ? "\\r" : c == '\n' ? "\\n" : c == '\t' ? "\\t" : NULL;
        if (esc != NULL) {
            out[o++] = esc[0];
            out[o++] = esc[1];
        } else {
            out[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
        }
    }
    if (i < len && o + 3 < outlen) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

void pb_mime_leave_alone(struct pb_mime_parts *parts, const char *num, const char *type,
                         const char *fmt, ...)
{
    char reason[128], entry[224];
    va_list ap;

    parts->left_alone++;
    va_start(ap, fmt);
    g_vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    int n = g_snprintf(entry, sizeof(entry), "%spart %s %s (%s)", parts->listed ? ", " : "",
                       num, type, reason);
    size_t used = strlen(parts->left);
    /* room for ", and NNNNN more" after the last entry */
    if (n > 0 && used + (size_t)n + 20 < sizeof(parts->left)) {
        memcpy(parts->left + used, entry, (size_t)n + 1);
        parts->listed++;
    }
}

void pb_mime_left_summary(const struct pb_mime_parts *parts, char *out, size_t outlen)
{
    if (parts->left_alone == 0)
        g_snprintf(out, outlen, "%s", "");
    else if (parts->listed == parts->left_alone)
        g_snprintf(out, outlen, "left alone: %s", parts->left);
    else
        g_snprintf(out, outlen, "left alone: %s%sand %u more", parts->left,
                   parts->listed ? ", " : "", parts->left_alone - parts->listed);
}

/* ---- the walk ---------------------------------------------------------- */

struct walk {
    const GByteArray *buf;
    size_t body_off;
    size_t last_end;            /* end of the previous part taken */
    struct pb_mime_parts *parts;
    enum pb_walk_status status;
    char *why;
    size_t whylen;
};

/* Stop the walk with status; the first reason given is kept. */
static void stop(struct walk *w, enum pb_walk_status status, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

static void stop(struct walk *w, enum pb_walk_status status, const char *fmt, ...)
{
    va_list ap;

    if (w->status != PB_WALK_OK)
        return;
    w->status = status;
    va_start(ap, fmt);
    g_vsnprintf(w->why, w->whylen, fmt, ap);
    va_end(ap);
}

/* The number of child i (from 0) of a multipart numbered parent ("" for
 * a multipart at the top, whose children are 1, 2, ...). */
static void child_num(char out[PB_PART_NUM_MAX], const char *parent, int i)
{
    if (parent[0] == '\0')
        g_snprintf(out, PB_PART_NUM_MAX, "%d", i + 1);
    else
        g_snprintf(out, PB_PART_NUM_MAX, "%s.%d", parent, i + 1);
}

/* The number of the body of an attached message numbered num: a
 * multipart takes the message's own (its children are num.1, ...), a
 * single part is num.1. */
static void body_num(char out[PB_PART_NUM_MAX], const char *num, GMimeObject *body)
{
    if (GMIME_IS_MULTIPART(body))
        g_strlcpy(out, num, PB_PART_NUM_MAX);
    else
        child_num(out, num, 0);
}

static int is_type(GMimeObject *obj, const char *type, const char *subtype)
{
    return g_mime_content_type_is_type(g_mime_object_get_content_type(obj), type, subtype);
}

/* What makes obj sealed ("signed", "encrypted", ...), or NULL if it is not. */
static const char *sealed_kind(GMimeObject *obj)
{
    if (GMIME_IS_MULTIPART_SIGNED(obj) || is_type(obj, "multipart", "signed"))
        return "signed";
    if (GMIME_IS_MULTIPART_ENCRYPTED(obj) || is_type(obj, "multipart", "encrypted"))
        return "encrypted";
    if (!GMIME_IS_APPLICATION_PKCS7_MIME(obj) && !is_type(obj, "application", "pkcs7-mime")
        && !is_type(obj, "application", "x-pkcs7-mime"))
        return NULL;
    const char *smime = g_mime_object_get_content_type_parameter(obj, "smime-type");
    if (smime != NULL && g_ascii_strcasecmp(smime, "signed-data") == 0)
        return "S/MIME signed";
    if (smime != NULL && (g_ascii_strcasecmp(smime, "enveloped-data") == 0
                          || g_ascii_strcasecmp(smime, "authEnveloped-data") == 0))
        return "S/MIME encrypted";
    return "S/MIME signed or encrypted";
}

/* Note obj (numbered num) as left alone, under its own content type. */
static void leave_alone(struct walk *w, GMimeObject *obj, const char *num, const char *reason)
{
    char *type = g_mime_content_type_get_mime_type(g_mime_object_get_content_type(obj));
    char clean[64];

    pb_mime_printable(clean, sizeof(clean), type, strlen(type), 48);
    pb_mime_leave_alone(w->parts, num, clean, "%s", reason);
    g_free(type);
}

/* Where the encoded content of part lies in the message: 0; 1 if the
 * part has no content (or an empty one); -1 after stopping the walk. */
static int content_range(struct walk *w, GMimePart *part, const char *num, size_t *off,
                         size_t *len)
{
    GMimeDataWrapper *wrapper = g_mime_part_get_content(part);
    GMimeStream *stream = wrapper ? g_mime_data_wrapper_get_stream(wrapper) : NULL;
    if (stream == NULL) {
        *off = *len = 0;
        return 1;
    }
    /* What the splicer relies on: GMime's persisted stream is a range of
     * our copy, in the body, after the part before, at a line start (the
     * header check in mime_splice.c makes the body GMime's). */
    const guint8 *data = w->buf->data;
    gint64 start = stream->bound_start;
    gint64 end = stream->bound_end < 0 ? (gint64)w->buf->len : stream->bound_end;
    if (!GMIME_IS_STREAM_MEM(stream)
        || g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(stream)) != w->buf
        || start < (gint64)w->body_off || start > end || end > (gint64)w->buf->len
        || (size_t)start < w->last_end || (start > 0 && data[start - 1] != '\n')) {
        stop(w, PB_WALK_ERROR, "GMime's content of part %s is not a range of the body "
             "starting a line", num);
        return -1;
    }
    /* The line break before a boundary belongs to the boundary; GMime
     * leaves its CR in the content when the closing boundary is the last
     * line without a line break of its own. Never cut a CRLF in two. */
    if (end > start && end < (gint64)w->buf->len && data[end] == '\n' && data[end - 1] == '\r')
        end--;
    if (end == start)
        return 1;               /* nothing to rewrite, and no line of its own */
    if (end < (gint64)w->buf->len && data[end] != '\r' && data[end] != '\n') {
        /* GMime takes the boundary line's CRLF for the line break before
         * it, and cuts the content one byte short */
        stop(w, PB_WALK_MALFORMED, "mixed line endings: part %s ends with LF, the boundary "
             "line after it with CRLF", num);
        return -1;
    }
    *off = (size_t)start;
    *len = (size_t)(end - start);
    return 0;
}

/* 1 if obj is an attachment (RFC 2183: a disposition other than inline
 * counts as one, and so does one we cannot read). */
static int is_attachment(GMimeObject *obj)
{
    const char *disposition = g_mime_object_get_disposition(obj);
    return g_mime_object_get_header(obj, "Content-Disposition") != NULL
        && (disposition == NULL || g_ascii_strcasecmp(disposition, "inline") != 0);
}

/* A part we can decode and re-encode: 1 and *cte set, or 0 (left alone). */
static int rewritable(struct walk *w, GMimeObject *obj, const char *num, const char *type,
                      enum pb_cte *cte)
{
    const char *charset = g_mime_object_get_content_type_parameter(obj, "charset");
    const char *cte_value = g_mime_object_get_header(obj, "Content-Transfer-Encoding");
    char clean[48];

    if (!pb_charset_ascii_safe(charset)) {
        pb_mime_printable(clean, sizeof(clean), charset, strlen(charset), 32);
        pb_mime_leave_alone(w->parts, num, type, "charset %s, not ASCII-compatible", clean);
        return 0;
    }
    if (pb_cte_parse(cte_value, cte) != 0) {
        pb_mime_printable(clean, sizeof(clean), cte_value, strlen(cte_value), 32);
        pb_mime_leave_alone(w->parts, num, type, "transfer encoding %s, not one the milter "
                            "re-encodes", clean);
        return 0;
    }
    return 1;
}

static void take_leaf(struct walk *w, GMimePart *part, const char *num)
{
    GMimeObject *obj = GMIME_OBJECT(part);
    enum pb_part_kind kind;
    if (is_type(obj, "text", "html"))
        kind = PB_PART_HTML;
    else if (is_type(obj, "text", "plain"))
        kind = PB_PART_TEXT;
    else
        return;
    struct pb_mime_parts *parts = w->parts;
    const char *type = kind == PB_PART_HTML ? "text/html" : "text/plain";
    enum pb_cte cte;
    size_t off, len;
    if (is_attachment(obj)) {
        parts->attachments++;
        return;
    }
    if (!rewritable(w, obj, num, type, &cte))
        return;
    int rc = content_range(w, part, num, &off, &len);
    if (rc != 0) {
        parts->empty += rc > 0;
        return;
    }
    if (parts->count == PB_MIME_MAX_PARTS) {
        pb_mime_leave_alone(parts, num, type, "more than %d body parts", PB_MIME_MAX_PARTS);
        return;
    }
    const char *data = (const char *)w->buf->data;
    size_t after = w->buf->len - (off + len);
    struct pb_mime_part *p = &parts->part[parts->count++];
    p->off = off;
    p->len = len;
    p->kind = kind;
    p->cte = cte;
    p->eol = pb_eol_detect(data + off, len, data + off + len, after < 1024 ? after : 1024);
    g_strlcpy(p->num, num, sizeof(p->num));
    w->last_end = off + len;
}

/* Every multipart's boundary, signed ones and attached messages too; a
 * report anywhere stops the walk. Deeper than MAX_DEPTH only attached
 * messages nest (multiparts stop at PB_MIME_MAX_BOUNDARIES), and those
 * are never entered. */
static void collect_boundaries(struct walk *w, GMimeObject *obj, const char *num, int depth)
{
    char sub[PB_PART_NUM_MAX];

    if (w->status != PB_WALK_OK || depth > MAX_DEPTH)
        return;
    if (GMIME_IS_MESSAGE_PART(obj)) {
        GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
        GMimeObject *body = inner ? g_mime_message_get_mime_part(inner) : NULL;
        if (body) {
            body_num(sub, num, body);
            collect_boundaries(w, body, sub, depth + 1);
        }
        return;
    }
    if (!GMIME_IS_MULTIPART(obj))
        return;
    if (is_type(obj, "multipart", "report")) {
        stop(w, PB_WALK_REFUSED, "a delivery or feedback report (multipart/report)%s%s",
             num[0] ? " at part " : "", num);
        return;
    }
    GMimeMultipart *mp = GMIME_MULTIPART(obj);
    const char *boundary = g_mime_multipart_get_boundary(mp);
    if (boundary == NULL) {
        /* GMime reports it while parsing (mime_issue.c): never seen here */
        stop(w, PB_WALK_ERROR, "GMime's multipart at part %s has no boundary", num);
        return;
    }
    if (w->parts->boundaries == PB_MIME_MAX_BOUNDARIES) {
        stop(w, PB_WALK_REFUSED, "more than %d multiparts", PB_MIME_MAX_BOUNDARIES);
        return;
    }
    w->parts->boundary[w->parts->boundaries++] = boundary;
    int n = g_mime_multipart_get_count(mp);
    for (int i = 0; i < n; i++) {
        child_num(sub, num, i);
        collect_boundaries(w, g_mime_multipart_get_part(mp, i), sub, depth + 1);
    }
}

/* Attached messages and other message/ parts, as the log says them. */
static const char *message_kind(GMimeObject *obj)
{
    static const char *const attached[] = { "rfc822", "global", "news", "rfc2822" };
    for (size_t i = 0; i < G_N_ELEMENTS(attached); i++)
        if (is_type(obj, "message", attached[i]))
            return "attached message";
    if (is_type(obj, "message", "partial"))
        return "fragment of a split message";
    if (is_type(obj, "message", "external-body"))
        return "reference to an external body";
    return "not an HTML or text body";
}

/* Depth needs no limit: only multiparts are entered, and
 * collect_boundaries counted at most PB_MIME_MAX_BOUNDARIES of them. */
static void walk(struct walk *w, GMimeObject *obj, const char *num)
{
    const char *sealed = sealed_kind(obj);
    char sub[PB_PART_NUM_MAX];

    if (sealed != NULL) {
        leave_alone(w, obj, num, sealed);
    } else if (GMIME_IS_MULTIPART(obj)) {
        GMimeMultipart *mp = GMIME_MULTIPART(obj);
        int n = g_mime_multipart_get_count(mp);
        for (int i = 0; i < n && w->status == PB_WALK_OK; i++) {
            child_num(sub, num, i);
            walk(w, g_mime_multipart_get_part(mp, i), sub);
        }
    } else if (GMIME_IS_MESSAGE_PART(obj) || is_type(obj, "message", "*")) {
        leave_alone(w, obj, num, message_kind(obj));
    } else if (GMIME_IS_PART(obj)) {
        take_leaf(w, GMIME_PART(obj), num);
    }
}

enum pb_walk_status pb_mime_collect(GMimeObject *top, const GByteArray *buf, size_t body_off,
                                    struct pb_mime_parts *parts, char *why, size_t whylen)
{
    struct walk w = {
        .buf = buf, .body_off = body_off, .last_end = body_off, .parts = parts,
        .status = PB_WALK_OK, .why = why, .whylen = whylen,
    };
    memset(parts, 0, offsetof(struct pb_mime_parts, boundary));
    parts->boundaries = 0;
    if (top == NULL) {
        /* GMime always gives a message a MIME part */
        stop(&w, PB_WALK_ERROR, "GMime's message has no MIME part");
        return w.status;
    }
    const char *sealed = sealed_kind(top);
    const char *top_num = GMIME_IS_MULTIPART(top) ? "" : "1";
    if (sealed != NULL) {
        char *type = g_mime_content_type_get_mime_type(g_mime_object_get_content_type(top));
        stop(&w, PB_WALK_REFUSED, "%s message (%s)", sealed, type);
        g_free(type);
        return w.status;
    }
    collect_boundaries(&w, top, top_num, 0);
    if (w.status == PB_WALK_OK)
        walk(&w, top, top_num);
    /* content where a line starts like any boundary is read differently
     * by different parsers: not ours to touch */
    for (unsigned i = 0; i < parts->count && w.status == PB_WALK_OK; i++)
        if (pb_mime_boundary_line(parts, (const char *)buf->data + parts->part[i].off,
                                  parts->part[i].len))
            stop(&w, PB_WALK_MALFORMED, "a line inside part %s (%s) starts like a boundary",
                 parts->part[i].num,
                 parts->part[i].kind == PB_PART_HTML ? "text/html" : "text/plain");
    return w.status;
}
