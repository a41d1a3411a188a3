/*
 * mime_parts.c - walk a message parsed by GMime and pick the body parts
 * we may rewrite: text/html and text/plain leaves that are not
 * attachments (any disposition but inline), in a charset where ASCII
 * bytes mean ASCII characters, in a transfer encoding we can re-encode.
 * Signed or encrypted parts and attached messages are never entered. For
 * each chosen part we take the byte range of its encoded content in the
 * original message from the persisted substream GMime built for it, and
 * check that range is sane: inside the body, ending at the line break of
 * the next delimiter, and with no line in it that starts like any of the
 * message's boundaries.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "mime_parts.h"

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

/* Line by line with memchr: encoded lines are short (76 octets for
 * quoted-printable and base64), and memchr's vector loop over one line
 * costs a fraction of what memmem spends setting up a 3-byte search. */
int pb_mime_boundary_line(const struct pb_mime_parts *parts, const char *s, size_t len)
{
    const char *end = s + len, *p = s;
    if (parts->boundaries == 0)
        return 0;
    if (starts_boundary(parts, s, len))
        return 1;
    while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        p++;
        if (end - p >= 2 && p[0] == '-' && p[1] == '-'
            && starts_boundary(parts, p, (size_t)(end - p)))
            return 1;
    }
    return 0;
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

static int is_sealed(GMimeObject *obj)
{
    GMimeContentType *ct = g_mime_object_get_content_type(obj);
    return GMIME_IS_MULTIPART_SIGNED(obj) || GMIME_IS_MULTIPART_ENCRYPTED(obj)
        || GMIME_IS_APPLICATION_PKCS7_MIME(obj)
        || g_mime_content_type_is_type(ct, "multipart", "signed")
        || g_mime_content_type_is_type(ct, "multipart", "encrypted")
        || g_mime_content_type_is_type(ct, "application", "pkcs7-mime")
        || g_mime_content_type_is_type(ct, "application", "x-pkcs7-mime");
}

static void leave_alone(struct walk *w, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void leave_alone(struct walk *w, const char *fmt, ...)
{
    struct pb_mime_parts *parts = w->parts;
    if (parts->left_alone++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(parts->why_left, sizeof(parts->why_left), fmt, ap);
        va_end(ap);
    }
}

static void malformed(struct walk *w, const char *what)
{
    if (w->status == PB_WALK_OK) {
        w->status = PB_WALK_MALFORMED;
        snprintf(w->why, w->whylen, "%s", what);
    }
}

/* Where the encoded content of part lies in the message: 0; 1 if the
 * part has no content (or an empty one); -1 after marking the walk
 * malformed. */
static int content_range(struct walk *w, GMimePart *part, size_t *off, size_t *len)
{
    GMimeDataWrapper *wrapper = g_mime_part_get_content(part);
    GMimeStream *stream = wrapper ? g_mime_data_wrapper_get_stream(wrapper) : NULL;
    if (stream == NULL) {
        *off = *len = 0;
        return 1;
    }
    if (!GMIME_IS_STREAM_MEM(stream)
        || g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(stream)) != w->buf) {
        malformed(w, "part content is not a range of the message");
        return -1;
    }
    gint64 start = stream->bound_start;
    gint64 end = stream->bound_end < 0 ? (gint64)w->buf->len : stream->bound_end;
    if (start < (gint64)w->body_off || start > end || end > (gint64)w->buf->len
        || (size_t)start < w->last_end) {
        malformed(w, "part range outside the body");
        return -1;
    }
    /* The line break before a boundary belongs to the boundary; GMime
     * leaves its CR in the content when the closing boundary is the last
     * line without a line break of its own. Never cut a CRLF in two. */
    const guint8 *data = w->buf->data;
    if (end > start && end < (gint64)w->buf->len && data[end] == '\n' && data[end - 1] == '\r')
        end--;
    if (start > 0 && start < (gint64)w->buf->len && data[start] == '\n' && data[start - 1] == '\r') {
        malformed(w, "part content starts inside a line break");
        return -1;
    }
    if (end == start)
        return 1;               /* nothing to rewrite, and no line of its own */
    if (end < (gint64)w->buf->len && data[end] != '\r' && data[end] != '\n') {
        malformed(w, "part content runs into a boundary");
        return -1;
    }
    *off = (size_t)start;
    *len = (size_t)(end - start);
    return 0;
}

static void take_leaf(struct walk *w, GMimePart *part)
{
    GMimeObject *obj = GMIME_OBJECT(part);
    GMimeContentType *ct = g_mime_object_get_content_type(obj);
    enum pb_part_kind kind;
    if (g_mime_content_type_is_type(ct, "text", "html"))
        kind = PB_PART_HTML;
    else if (g_mime_content_type_is_type(ct, "text", "plain"))
        kind = PB_PART_TEXT;
    else
        return;
    /* RFC 2183: a disposition other than inline counts as attachment (and
     * so does one we cannot read) */
    const char *disposition = g_mime_object_get_disposition(obj);
    if (g_mime_object_get_header(obj, "Content-Disposition") != NULL
        && (disposition == NULL || g_ascii_strcasecmp(disposition, "inline") != 0))
        return;

    const char *type = kind == PB_PART_HTML ? "text/html" : "text/plain";
    const char *charset = g_mime_object_get_content_type_parameter(obj, "charset");
    enum pb_cte cte;
    if (!pb_charset_ascii_safe(charset)) {
        leave_alone(w, "%s part in charset %s left alone (not ASCII-compatible)", type, charset);
        return;
    }
    const char *cte_value = g_mime_object_get_header(obj, "Content-Transfer-Encoding");
    if (pb_cte_parse(cte_value, &cte) != 0) {
        leave_alone(w, "%s part in transfer encoding %s left alone", type, cte_value);
        return;
    }
    size_t off, len;
    if (content_range(w, part, &off, &len) != 0)
        return;
    struct pb_mime_parts *parts = w->parts;
    if (parts->count == PB_MIME_MAX_PARTS) {
        leave_alone(w, "more than %d body parts", PB_MIME_MAX_PARTS);
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
    w->last_end = off + len;
}

/* Every multipart's boundary, signed ones and attached messages too. */
static void collect_boundaries(struct walk *w, GMimeObject *obj, int depth)
{
    if (w->status != PB_WALK_OK || depth > MAX_DEPTH)
        return;
    if (GMIME_IS_MESSAGE_PART(obj)) {
        GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
        GMimeObject *body = inner ? g_mime_message_get_mime_part(inner) : NULL;
        if (body)
            collect_boundaries(w, body, depth + 1);
        return;
    }
    if (!GMIME_IS_MULTIPART(obj))
        return;
    GMimeMultipart *mp = GMIME_MULTIPART(obj);
    const char *boundary = g_mime_multipart_get_boundary(mp);
    if (boundary == NULL) {
        malformed(w, "multipart without boundary");
        return;
    }
    if (w->parts->boundaries == PB_MIME_MAX_BOUNDARIES) {
        w->status = PB_WALK_REFUSED;
        snprintf(w->why, w->whylen, "more than %d multiparts", PB_MIME_MAX_BOUNDARIES);
        return;
    }
    w->parts->boundary[w->parts->boundaries++] = boundary;
    int n = g_mime_multipart_get_count(mp);
    for (int i = 0; i < n; i++)
        collect_boundaries(w, g_mime_multipart_get_part(mp, i), depth + 1);
}

static void walk(struct walk *w, GMimeObject *obj, int depth)
{
    if (w->status != PB_WALK_OK)
        return;
    if (depth > MAX_DEPTH) {
        malformed(w, "MIME nesting too deep");
        return;
    }
    GMimeContentType *ct = g_mime_object_get_content_type(obj);
    if (is_sealed(obj)) {
        leave_alone(w, "signed/encrypted part left alone");
    } else if (GMIME_IS_MULTIPART(obj)) {
        GMimeMultipart *mp = GMIME_MULTIPART(obj);
        int n = g_mime_multipart_get_count(mp);
        for (int i = 0; i < n && w->status == PB_WALK_OK; i++)
            walk(w, g_mime_multipart_get_part(mp, i), depth + 1);
    } else if (GMIME_IS_MESSAGE_PART(obj) || g_mime_content_type_is_type(ct, "message", "*")) {
        leave_alone(w, "attached message left alone");
    } else if (GMIME_IS_PART(obj)) {
        take_leaf(w, GMIME_PART(obj));
    }
}

enum pb_walk_status pb_mime_collect(GMimeObject *top, const GByteArray *buf, size_t body_off,
                                    struct pb_mime_parts *parts, char *why, size_t whylen)
{
    struct walk w = {
        .buf = buf, .body_off = body_off, .last_end = body_off, .parts = parts,
        .status = PB_WALK_OK, .why = why, .whylen = whylen,
    };
    parts->count = 0;
    parts->boundaries = 0;
    parts->left_alone = 0;
    parts->why_left[0] = '\0';
    if (top == NULL) {
        malformed(&w, "message has no MIME part");
        return w.status;
    }
    if (is_sealed(top)) {
        snprintf(why, whylen, "signed/encrypted message");
        return PB_WALK_REFUSED;
    }
    collect_boundaries(&w, top, 0);
    walk(&w, top, 0);
    /* content where a line starts like any boundary is read differently
     * by different parsers: not ours to touch */
    for (unsigned i = 0; i < parts->count && w.status == PB_WALK_OK; i++)
        if (pb_mime_boundary_line(parts, (const char *)buf->data + parts->part[i].off,
                                  parts->part[i].len))
            malformed(&w, "a line inside a part starts like a boundary");
    return w.status;
}
