/*
 * mime_codec.c - transfer encodings for the MIME splicer: decode one
 * part's content (quoted-printable by a tight loop that gives what
 * GMime's decoder gives; base64 by GMime's, after a strict check that it
 * is clean), and encode rewritten content again
 * in the same encoding with the part's own line breaks (CRLF or LF), in
 * one pass. Where the encoding cannot carry the new content (a line over
 * 998 octets, 8-bit bytes in a 7bit part) we say so and the part stays as
 * it was.
 */
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <gmime/gmime.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include "mime_codec.h"

static const struct {
    const char *name;
    enum pb_cte cte;
} cte_names[] = {
    { "7bit", PB_CTE_7BIT }, { "8bit", PB_CTE_8BIT }, { "binary", PB_CTE_BINARY },
    { "quoted-printable", PB_CTE_QP }, { "base64", PB_CTE_BASE64 },
};

int pb_cte_parse(const char *value, enum pb_cte *cte)
{
    if (value == NULL) {
        *cte = PB_CTE_7BIT;
        return 0;
    }
    while (*value == ' ' || *value == '\t')
        value++;
    size_t len = strlen(value);
    while (len > 0 && (value[len - 1] == ' ' || value[len - 1] == '\t'
                       || value[len - 1] == '\r' || value[len - 1] == '\n'))
        len--;
    for (size_t i = 0; i < G_N_ELEMENTS(cte_names); i++) {
        if (strlen(cte_names[i].name) == len && strncasecmp(value, cte_names[i].name, len) == 0) {
            *cte = cte_names[i].cte;
            return 0;
        }
    }
    return -1;
}

const char *pb_cte_name(enum pb_cte cte)
{
    for (size_t i = 0; i < G_N_ELEMENTS(cte_names); i++)
        if (cte_names[i].cte == cte)
            return cte_names[i].name;
    return "?";
}

enum pb_eol pb_eol_detect(const char *src, size_t len, const char *after, size_t after_len)
{
    const char *nl = memchr(src, '\n', len);
    if (nl != NULL)
        return nl > src && nl[-1] == '\r' ? PB_EOL_CRLF : PB_EOL_LF;
    nl = memchr(after, '\n', after_len);
    if (nl == NULL)
        return PB_EOL_LF;
    if (nl > after)
        return nl[-1] == '\r' ? PB_EOL_CRLF : PB_EOL_LF;
    return len > 0 && src[len - 1] == '\r' ? PB_EOL_CRLF : PB_EOL_LF;
}

/* ---- decoding ---------------------------------------------------------- */

enum { B64_BAD = 0, B64_DATA, B64_PAD, B64_SPACE };

static unsigned char b64_class[256];

static void b64_class_init(void)
{
    static gsize done;
    if (g_once_init_enter(&done)) {
        const char *alphabet =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for (const char *p = alphabet; *p; p++)
            b64_class[(unsigned char)*p] = B64_DATA;
        b64_class['='] = B64_PAD;
        b64_class[' '] = b64_class['\t'] = b64_class['\r'] = b64_class['\n'] = B64_SPACE;
        g_once_init_leave(&done, 1);
    }
}

/* Base64 that decodes to exactly one byte string: only the alphabet and
 * white space, padding only at the end, whole quanta (unpadded tails of
 * 2 or 3 characters are accepted, a lone sixth of a byte is not). NULL if
 * so; else what is wrong, *where at which byte. */
static const char *b64_problem(const unsigned char *s, size_t len, size_t *where)
{
    size_t data = 0, pad = 0, first_pad = 0, i;
    const char *problem = NULL;
    b64_class_init();
    for (i = 0; i < len && problem == NULL; i++) {
        switch (b64_class[s[i]]) {
        case B64_DATA:
            if (pad > 0)
                problem = "base64 data after the '=' padding";
            data++;
            break;
        case B64_PAD:
            if (pad++ == 0)
                first_pad = i;
            break;
        case B64_SPACE:
            break;
        default:
            problem = "a byte outside the base64 alphabet";
            break;
        }
    }
    if (problem != NULL) {
        *where = i - 1;
        return problem;
    }
    *where = first_pad;
    if (pad > 2)
        return "more than two '=' padding characters";
    if (pad > 0 && (data + pad) % 4 != 0)
        return "'=' padding that does not end a group of four";
    *where = len;
    if (pad == 0 && data % 4 == 1)
        return "a last group of one base64 character (not a whole byte)";
    return NULL;
}

static void gmime_decode(GMimeContentEncoding enc, const char *src, size_t len, GString *out)
{
    GMimeEncoding state;
    g_mime_encoding_init_decode(&state, enc);
    g_string_set_size(out, g_mime_encoding_outlen(&state, len));
    size_t n = g_mime_encoding_flush(&state, src, len, out->str);
    g_string_set_size(out, n);
}

/* ---- quoted-printable decoding -----------------------------------------
 * The same result as GMime's decoder (g_mime_encoding_quoted_decode_step
 * then flush), in one tight pass: "=XX" (either case) is the byte, "="
 * before LF or CRLF is a soft break, any other "=" is kept with the two
 * bytes after it, and an "=" or "=x" cut off by the end is dropped. Runs
 * without '=' are copied 16 bytes at a time (SSE2), else 8. The output is
 * never longer than the input. */

/* Value + 1 of each hex digit; 0 for any other byte. */
static const unsigned char qp_hex_value[256] = {
    ['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7, ['7'] = 8,
    ['8'] = 9, ['9'] = 10, ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15,
    ['F'] = 16, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
};

/* How many of the 8 bytes whose flags are given come before the first
 * flagged one. The lowest flag is exact on a little-endian machine;
 * elsewhere say 0 and let the byte loop look. */
static inline size_t qp_plain_prefix(uint64_t flags)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return (size_t)__builtin_ctzll(flags) >> 3;
#else
    (void)flags;
    return 0;
#endif
}

/* High bit set in the result for the bytes among the 8 at s that are
 * '=' (exact up to the first one; see qp_plain_prefix). */
static inline uint64_t qp_equals_flags(const unsigned char *s)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    uint64_t w;
    memcpy(&w, s, sizeof(w));
    w ^= ones * '=';
    return (w - ones) & ~w & highs;
}

#if defined(__SSE2__)
/* Bit i set for each byte s[i] of the 16 at s that is '='. */
static inline unsigned qp_equals_mask16(const unsigned char *s)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)s);
    return (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('=')));
}
#endif

/* Copy a block of width bytes from *s to *out (which has room for them)
 * and advance both by plain, the bytes of it that stand for themselves:
 * 1 if that was the whole block (go on), 0 if a byte that does not ends
 * the run. */
static inline int take_run(unsigned char **out, const unsigned char **s, size_t plain,
                           size_t width)
{
    memcpy(*out, *s, width);
    *out += plain;
    *s += plain;
    return plain == width;
}

/* Copy s up to the first '=' (or end) to *o; returns where it stopped. */
static inline const unsigned char *qp_copy_to_equals(const unsigned char *s,
                                                     const unsigned char *end, unsigned char **o)
{
    unsigned char *out = *o;    /* never ahead of s */
#if defined(__SSE2__)
    while (end - s >= 16) {
        unsigned mask = qp_equals_mask16(s);
        if (!take_run(&out, &s, mask ? (size_t)__builtin_ctz(mask) : 16, 16)) {
            *o = out;
            return s;
        }
    }
#endif
    while (end - s >= 8) {
        uint64_t flags = qp_equals_flags(s);
        if (!take_run(&out, &s, flags ? qp_plain_prefix(flags) : 8, 8))
            break;
    }
    while (s < end && *s != '=')
        *out++ = *s++;
    *o = out;
    return s;
}

static size_t qp_decode(const unsigned char *s, size_t len, unsigned char *out)
{
    const unsigned char *end = s + len;
    unsigned char *o = out;
    while (s < end) {
        s = qp_copy_to_equals(s, end, &o);
        if (end - s < 3) {
            if (end - s == 2 && s[1] == '\n')
                s += 2;                     /* soft break at the very end */
            break;                          /* a cut-off "=" or "=x" is dropped */
        }
        int high = qp_hex_value[s[1]], low = qp_hex_value[s[2]];
        if (s[1] == '\n') {
            s += 2;                         /* soft break, LF */
            continue;
        }
        if (high && low)
            *o++ = (unsigned char)((high - 1) << 4 | (low - 1));
        else if (s[1] != '\r' || s[2] != '\n') {
            o[0] = '=';                     /* not an escape: kept as it is */
            o[1] = s[1];
            o[2] = s[2];
            o += 3;
        }
        s += 3;
    }
    return (size_t)(o - out);
}

int pb_mime_decode(enum pb_cte cte, const char *src, size_t len, GString *scratch,
                   const char **data, size_t *dlen, const char **why, size_t *where)
{
    switch (cte) {
    case PB_CTE_QP:
        g_string_set_size(scratch, len);
        g_string_set_size(scratch, qp_decode((const unsigned char *)src, len,
                                             (unsigned char *)scratch->str));
        break;
    case PB_CTE_BASE64:
        if ((*why = b64_problem((const unsigned char *)src, len, where)) != NULL)
            return -1;
        gmime_decode(GMIME_CONTENT_ENCODING_BASE64, src, len, scratch);
        break;
    default:
        *data = src;
        *dlen = len;
        return 0;
    }
    *data = scratch->str;
    *dlen = scratch->len;
    return 0;
}

/* ---- encoding ---------------------------------------------------------- */

/* Longest line in s, without its line break. */
static size_t longest_line(const char *s, size_t len)
{
    size_t longest = 0;
    const char *end = s + len;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t line = (size_t)((nl ? nl : end) - s);
        if (nl && line > 0 && nl[-1] == '\r')
            line--;
        if (line > longest)
            longest = line;
        if (nl == NULL)
            break;
        s = nl + 1;
    }
    return longest;
}

static int has_8bit(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] >= 0x80)
            return 1;
    return 0;
}

/* ---- quoted-printable (RFC 2045 6.7) ----------------------------------
 * GMime's encoder writes LF line breaks only (a CRLF part would need a
 * second pass) and runs at a third of the speed the milter needs, so this
 * one writes the part's own line breaks directly: CRLF (or LF in an
 * LF-only part) is a hard break, any other CR or LF is encoded, lines are
 * at most 76 characters with '=' soft breaks. Runs of characters that
 * stand for themselves are copied 16 bytes at a time (SSE2), else 8. */

#define QP_MAX_LINE 76
enum { QP_ESCAPE = 0, QP_LITERAL, QP_BLANK };

static unsigned char qp_class[256];
static const char hex_digits[] = "0123456789ABCDEF";

static void qp_class_init(void)
{
    static gsize done;
    if (g_once_init_enter(&done)) {
        for (int c = 33; c <= 126; c++)
            qp_class[c] = QP_LITERAL;
        qp_class['='] = QP_ESCAPE;
        qp_class[' '] = qp_class['\t'] = QP_BLANK;
        g_once_init_leave(&done, 1);
    }
}

/* Length of the hard line break at s (0 if none). */
static size_t hard_break(const unsigned char *s, const unsigned char *end, enum pb_eol eol)
{
    if (eol == PB_EOL_LF)
        return *s == '\n';
    return *s == '\r' && s + 1 < end && s[1] == '\n' ? 2 : 0;
}

/* Whether c at s must be written as =XX: not printable, '=', blanks at
 * the end of a line, and the F of "From " opening a line. */
static inline int qp_needs_escape(const unsigned char *s, const unsigned char *end, enum pb_eol eol,
                           size_t col)
{
    switch (qp_class[*s]) {
    case QP_LITERAL:
        return col == 0 && *s == 'F' && end - s >= 5 && memcmp(s, "From ", 5) == 0;
    case QP_BLANK:
        return s + 1 == end || hard_break(s + 1, end, eol) > 0;
    default:
        return 1;
    }
}

/* The bytes among the 8 at s that are not printable ASCII or space, or
 * are '=', have their high bit set in the result (0: all 8 stand for
 * themselves). Bits above the first such byte may be set wrongly, never
 * below it: see qp_plain_prefix. */
static inline uint64_t qp_word_flags(const unsigned char *s)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    uint64_t w, eq;
    memcpy(&w, s, sizeof(w));
    eq = w ^ (ones * '=');
    /* w | (w + ones): a byte of 0x7f or more (no carry crosses a byte
     * unless one is 0xff, and then w has its high bit anyway) */
    return (((w - ones * 0x20) & ~w) | w | (w + ones) | ((eq - ones) & ~eq)) & highs;
}

#if defined(__SSE2__)
/* Bit i set for each byte s[i] of the 16 at s that qp_class calls
 * QP_ESCAPE: all but printable ASCII, space and tab, and '='. b is in
 * 0x20..0x7e exactly when (signed char)(b + 0x60) is at most -34. */
static inline unsigned qp_escape_mask16(const unsigned char *s)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)s);
    __m128i outside = _mm_cmpgt_epi8(_mm_add_epi8(v, _mm_set1_epi8(0x60)), _mm_set1_epi8(-34));
    __m128i tab = _mm_cmpeq_epi8(v, _mm_set1_epi8('\t'));
    __m128i equals = _mm_cmpeq_epi8(v, _mm_set1_epi8('='));
    return (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_andnot_si128(tab, outside), equals));
}
#endif

/* Copy the characters from s that stand for themselves (blanks and tabs
 * included), up to lim (at most end), to *o; returns where it stopped.
 * *o has room for 16 bytes more than it keeps (3 for each byte left). */
static inline const unsigned char *qp_copy_literal(const unsigned char *s,
                                                   const unsigned char *lim,
                                                   const unsigned char *end, char **o)
{
    unsigned char *out = (unsigned char *)*o;
#if defined(__SSE2__)
    while (s < lim && end - s >= 16) {      /* 16 bytes readable, even past lim */
        unsigned mask = qp_escape_mask16(s);
        size_t plain = mask ? (size_t)__builtin_ctz(mask) : 16, left = (size_t)(lim - s);
        if (!take_run(&out, &s, plain < left ? plain : left, 16)) {
            *o = (char *)out;       /* at an escape, or at lim */
            return s;
        }
    }
#else
    (void)end;                  /* only the 16-byte loop reads past lim */
#endif
    while (s + 8 <= lim) {
        uint64_t flags = qp_word_flags(s);
        if (!take_run(&out, &s, flags ? qp_plain_prefix(flags) : 8, 8))
            break;
    }
    while (s < lim && qp_class[*s] != QP_ESCAPE)
        *out++ = *s++;
    *o = (char *)out;
    return s;
}

static size_t qp_encode(const unsigned char *s, size_t len, enum pb_eol eol, char *out)
{
    const unsigned char *end = s + len;
    char *o = out;
    size_t col = 0;
    qp_class_init();
    while (s < end) {
        /* fast path: a run of characters that stand for themselves, up
         * to the soft-break column; blanks that end it before a line break
         * and an F opening a line ("From ") are left to the slow path */
        if (col > 0 || *s != 'F') {
            size_t room = QP_MAX_LINE - 1 - col, avail = (size_t)(end - s);
            const unsigned char *run = qp_copy_literal(s, s + (room < avail ? room : avail), end,
                                                       &o);
            if (run == end || *run == '\r' || *run == '\n')
                while (run > s && qp_class[run[-1]] == QP_BLANK) {
                    run--;          /* copied already: take it back */
                    o--;
                }
            col += (size_t)(run - s);
            s = run;
            if (s == end)
                break;
        }
        int escape = 1;
        if (*s == '\r' || *s == '\n') {
            size_t brk = hard_break(s, end, eol);
            if (brk) {
                *o++ = (char)*s++;
                if (brk == 2)
                    *o++ = (char)*s++;
                col = 0;
                continue;
            }
        } else if (qp_class[*s] != QP_ESCAPE) {
            escape = qp_needs_escape(s, end, eol, col);     /* blank, "From " */
        }
        size_t need = escape ? 3 : 1;
        if (col + need > QP_MAX_LINE - 1) {
            *o++ = '=';
            if (eol == PB_EOL_CRLF)
                *o++ = '\r';
            *o++ = '\n';
            col = 0;
            escape = qp_needs_escape(s, end, eol, col);         /* "From " */
            need = escape ? 3 : 1;
        }
        if (escape) {
            *o++ = '=';
            *o++ = hex_digits[*s >> 4];
            *o++ = hex_digits[*s & 15];
        } else {
            *o++ = (char)*s;
        }
        col += need;
        s++;
    }
    return (size_t)(o - out);
}

/* ---- base64: 76-character lines with the part's own line breaks -------- */

#define B64_LINE_IN 57          /* bytes per 76-character line */

static size_t b64_encode(const unsigned char *s, size_t len, enum pb_eol eol, int final_eol,
                         char *out)
{
    char *o = out;
    for (size_t done = 0; done < len; done += B64_LINE_IN) {
        size_t n = len - done < B64_LINE_IN ? len - done : B64_LINE_IN;
        gint state = 0, save = 0;
        if (done > 0) {
            if (eol == PB_EOL_CRLF)
                *o++ = '\r';
            *o++ = '\n';
        }
        o += g_base64_encode_step(s + done, n, FALSE, o, &state, &save);
        o += g_base64_encode_close(FALSE, o, &state, &save);
    }
    if (final_eol && o > out) {
        if (eol == PB_EOL_CRLF)
            *o++ = '\r';
        *o++ = '\n';
    }
    return (size_t)(o - out);
}

static int ends_with_lf(const char *s, size_t len)
{
    return len > 0 && s[len - 1] == '\n';
}

static int encode_identity(enum pb_cte cte, const char *orig, size_t orig_len,
                           const char *data, size_t len, GString *out, const char **why)
{
    if (cte != PB_CTE_BINARY && longest_line(data, len) > PB_MAX_LINE) {
        *why = "a line would exceed 998 octets";
        return -1;
    }
    if (cte == PB_CTE_7BIT && has_8bit(data, len) && !has_8bit(orig, orig_len)) {
        *why = "8-bit bytes in a 7bit part";
        return -1;
    }
    g_string_append_len(out, data, (gssize)len);
    return 0;
}

int pb_mime_encode(enum pb_cte cte, enum pb_eol eol, const char *orig, size_t orig_len,
                   const char *data, size_t len, GString *out, const char **why)
{
    size_t start = out->len, room, n;
    const unsigned char *udata = (const unsigned char *)data;

    switch (cte) {
    case PB_CTE_QP:
        /* 3 characters a byte, plus a 3-character soft break after every
         * line of at least 73 */
        room = len * 3 + (len * 3 / (QP_MAX_LINE - 4) + 2) * 3;
        g_string_set_size(out, start + room);
        n = qp_encode(udata, len, eol, out->str + start);
        break;
    case PB_CTE_BASE64:
        room = (len / B64_LINE_IN + 1) * (4 * B64_LINE_IN / 3 + 2) + 2;
        g_string_set_size(out, start + room);
        n = b64_encode(udata, len, eol, ends_with_lf(orig, orig_len), out->str + start);
        break;
    default:
        return encode_identity(cte, orig, orig_len, data, len, out, why);
    }
    g_string_set_size(out, start + n);
    return 0;
}
