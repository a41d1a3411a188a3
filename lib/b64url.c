/*
 * b64url.c - base64url without padding (RFC 4648 section 5), the wire form
 * of tracking tokens. The decoder is strict so that every token has exactly
 * one spelling: no '=', no whitespace, no characters outside the alphabet,
 * no impossible lengths and no set bits in the unused tail of the last
 * character (non-canonical encodings are rejected, not silently accepted).
 */
#include "b64url.h"

static const char alphabet[64] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Value + 1 of each alphabet character; 0 marks a character not in it. */
#define V(c, v) [(unsigned char)(c)] = (v) + 1
static const uint8_t decode_table[256] = {
    V('A', 0),  V('B', 1),  V('C', 2),  V('D', 3),  V('E', 4),  V('F', 5),
    V('G', 6),  V('H', 7),  V('I', 8),  V('J', 9),  V('K', 10), V('L', 11),
    V('M', 12), V('N', 13), V('O', 14), V('P', 15), V('Q', 16), V('R', 17),
    V('S', 18), V('T', 19), V('U', 20), V('V', 21), V('W', 22), V('X', 23),
    V('Y', 24), V('Z', 25), V('a', 26), V('b', 27), V('c', 28), V('d', 29),
    V('e', 30), V('f', 31), V('g', 32), V('h', 33), V('i', 34), V('j', 35),
    V('k', 36), V('l', 37), V('m', 38), V('n', 39), V('o', 40), V('p', 41),
    V('q', 42), V('r', 43), V('s', 44), V('t', 45), V('u', 46), V('v', 47),
    V('w', 48), V('x', 49), V('y', 50), V('z', 51), V('0', 52), V('1', 53),
    V('2', 54), V('3', 55), V('4', 56), V('5', 57), V('6', 58), V('7', 59),
    V('8', 60), V('9', 61), V('-', 62), V('_', 63),
};
#undef V

size_t pb_b64url_encode(const uint8_t *in, size_t n, char *out)
{
    char *o = out;
    size_t i = 0;

    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *o++ = alphabet[v >> 18];
        *o++ = alphabet[(v >> 12) & 63];
        *o++ = alphabet[(v >> 6) & 63];
        *o++ = alphabet[v & 63];
    }
    if (n - i == 1) {
        *o++ = alphabet[in[i] >> 2];
        *o++ = alphabet[(in[i] & 3) << 4];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 8 | in[i + 1];
        *o++ = alphabet[v >> 10];
        *o++ = alphabet[(v >> 4) & 63];
        *o++ = alphabet[(v & 15) << 2];
    }
    *o = '\0';
    return (size_t)(o - out);
}

long pb_b64url_decode(const char *in, size_t len, uint8_t *out)
{
    const unsigned char *s = (const unsigned char *)in;
    uint8_t *o = out;
    size_t full = len / 4 * 4;
    size_t tail = len - full;
    uint32_t v = 0;

    if (tail == 1)
        return -1;              /* 6 bits cannot make a byte */
    for (size_t i = 0; i < full; i += 4) {
        uint8_t a = decode_table[s[i]], b = decode_table[s[i + 1]];
        uint8_t c = decode_table[s[i + 2]], d = decode_table[s[i + 3]];
        if (!a || !b || !c || !d)
            return -1;
        v = (uint32_t)(a - 1) << 18 | (uint32_t)(b - 1) << 12
            | (uint32_t)(c - 1) << 6 | (uint32_t)(d - 1);
        *o++ = (uint8_t)(v >> 16);
        *o++ = (uint8_t)(v >> 8);
        *o++ = (uint8_t)v;
    }
    if (tail == 0)
        return (long)(o - out);

    v = 0;
    for (size_t i = 0; i < tail; i++) {
        uint8_t x = decode_table[s[full + i]];
        if (!x)
            return -1;
        v = v << 6 | (uint32_t)(x - 1);
    }
    if (tail == 2) {            /* 12 bits: 1 byte + 4 unused bits */
        if (v & 15)
            return -1;
        *o++ = (uint8_t)(v >> 4);
    } else {                    /* 18 bits: 2 bytes + 2 unused bits */
        if (v & 3)
            return -1;
        *o++ = (uint8_t)(v >> 10);
        *o++ = (uint8_t)(v >> 2);
    }
    return (long)(o - out);
}
