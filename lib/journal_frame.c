/*
 * journal_frame.c - the journal's file format (see journal_frame.h): the
 * frame around each record, its checksum, and reading and writing whole
 * frames with pread/writev, retrying short transfers.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <limits.h>
#include <unistd.h>
#include "journal_frame.h"

/* Version 1: FNV-1a, 32 bits. One multiplication per byte, each waiting
 * for the one before: about 4 cycles a byte, most of what an append cost
 * the tracker, which appends every event before answering it. */
static uint32_t fnv1a(const char *p, size_t n)
{
    uint32_t h = 2166136261u;

    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)p[i];
        h *= 16777619u;
    }
    return h;
}

/* Version 2: the same idea eight bytes at a time (xor a 64-bit word in,
 * rotate so high bits reach the low ones, multiply by the 64-bit FNV
 * prime), the length mixed in first, folded to 32 bits. Like FNV-1a it
 * only has to tell a torn or zero-filled frame from a whole one. */
#define WORDS64_PRIME 1099511628211u

/* One word into the state: xor, rotate, multiply. */
static inline uint64_t words64_mix(uint64_t h, uint64_t w)
{
    h ^= w;
    return ((h << 29) | (h >> 35)) * WORDS64_PRIME;
}

static uint32_t words64(const char *p, size_t n)
{
    uint64_t h = 14695981039346656037u ^ (uint64_t)n, w;
    size_t i = 0;

    for (; i + 8 <= n; i += 8) {
        memcpy(&w, p + i, 8);
        h = words64_mix(h, w);
    }
    if (i < n) {
        w = 0;                  /* the last bytes, zero-padded to a word */
        memcpy(&w, p + i, n - i);
        h = words64_mix(h, w);
    }
    h ^= h >> 32;
    return (uint32_t)(h * WORDS64_PRIME);
}

uint32_t pb_jframe_checksum(int version, const char *p, size_t n)
{
    return version == 1 ? fnv1a(p, n) : words64(p, n);
}

/* "PBJ2 <len> <8 hex>\n" without printf (the tracker writes one per
 * event). */
int pb_jframe_header(char *out, size_t outlen, const char *rec, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    char digits[20];
    size_t nd = 0, magic = sizeof(FRAME_MAGIC) - 1, o = 0;
    uint32_t sum = words64(rec, len);

    do
        digits[nd++] = (char)('0' + len % 10);
    while ((len /= 10) > 0);
    if (outlen < magic + nd + 1 + 8 + 2)
        return -1;
    memcpy(out, FRAME_MAGIC, magic);
    o = magic;
    while (nd > 0)
        out[o++] = digits[--nd];
    out[o++] = ' ';
    for (int shift = 28; shift >= 0; shift -= 4)
        out[o++] = hex[(sum >> shift) & 15];
    out[o++] = '\n';
    out[o] = '\0';
    return (int)o;
}

size_t pb_jframe_size(size_t len)
{
    size_t digits = 1;

    for (size_t v = len; v >= 10; v /= 10)
        digits++;
    return sizeof(FRAME_MAGIC) - 1 + digits + 1 + 8 + 1 + len + 1;
}

/* Read exactly n bytes at off; 1 done, 0 short (end of file), -1 error. */
int pb_jframe_pread_full(int fd, void *buf, size_t n, off_t off)
{
    size_t got = 0;

    while (got < n) {
        ssize_t r = pread(fd, (char *)buf + got, n - got, off + (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            return 0;
        got += (size_t)r;
    }
    return 1;
}

/* Parse a frame header; returns its length and sets *len, *sum and
 * *version (if not NULL), or 0. */
size_t pb_jframe_parse_header(const char *h, size_t n, size_t *len, uint32_t *sum, int *version)
{
    size_t i = sizeof(FRAME_MAGIC) - 1, digits = 0, hex = 0;
    unsigned long long v = 0;
    uint32_t s = 0;
    int ver;

    if (n >= i && memcmp(h, FRAME_MAGIC, i) == 0)
        ver = 2;
    else if (n >= i && memcmp(h, FRAME_MAGIC_V1, i) == 0)
        ver = 1;
    else
        return 0;
    for (; i < n && h[i] >= '0' && h[i] <= '9' && digits < 20; i++, digits++)
        v = v * 10 + (unsigned)(h[i] - '0');
    if (digits == 0 || i >= n || h[i++] != ' ' || v > RECORD_MAX)
        return 0;
    for (; i < n && g_ascii_isxdigit(h[i]) && hex < 8; i++, hex++)
        s = (s << 4) | (uint32_t)g_ascii_xdigit_value(h[i]);
    if (hex != 8 || i >= n || h[i] != '\n')
        return 0;
    *len = (size_t)v;
    *sum = s;
    if (version != NULL)
        *version = ver;
    return i + 1;
}

/*
 * Read the frame at off (which must end by limit) into body (the record
 * bytes, NUL-terminated). Returns 1 and *next, 0 if no complete, valid
 * frame starts at off, -1 on a read error.
 */
int pb_jframe_read(int fd, off_t off, off_t limit, GString *body, off_t *next)
{
    char h[HEADER_MAX];
    size_t want = (size_t)MIN((off_t)sizeof(h), limit - off), hlen, len;
    uint32_t sum;
    int r, version;

    if (want == 0 || (r = pb_jframe_pread_full(fd, h, want, off)) <= 0)
        return want == 0 ? 0 : r;
    if ((hlen = pb_jframe_parse_header(h, want, &len, &sum, &version)) == 0)
        return 0;
    if (off + (off_t)hlen + (off_t)len + 1 > limit)
        return 0;
    g_string_set_size(body, len + 1);
    if ((r = pb_jframe_pread_full(fd, body->str, len + 1, off + (off_t)hlen)) <= 0)
        return r;
    if (body->str[len] != '\n' || pb_jframe_checksum(version, body->str, len) != sum)
        return 0;
    g_string_truncate(body, len);
    *next = off + (off_t)hlen + (off_t)len + 1;
    return 1;
}

/* writev until everything is written; -1 with errno on failure. *done
 * (if not NULL) receives the bytes written either way. */
int pb_jframe_writev_full(int fd, struct iovec *iov, int iovcnt, size_t *done)
{
    size_t total = 0;
    int rc = 0;

    while (iovcnt > 0) {
        ssize_t n = writev(fd, iov, MIN(iovcnt, IOV_MAX));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -1;
            break;
        }
        total += (size_t)n;
        while (iovcnt > 0 && (size_t)n >= iov->iov_len) {
            n -= (ssize_t)iov->iov_len;
            iov++;
            iovcnt--;
        }
        if (iovcnt > 0) {
            iov->iov_base = (char *)iov->iov_base + n;
            iov->iov_len -= (size_t)n;
        }
    }
    if (done)
        *done = total;
    return rc;
}
