/*
 * b64url.h - base64url without padding (RFC 4648 section 5) for tokens.
 */
#ifndef PB_B64URL_H
#define PB_B64URL_H

#include <stddef.h>
#include <stdint.h>

#define PB_B64URL_LEN(n) (((n) * 4 + 2) / 3)

/* Encode n bytes; writes PB_B64URL_LEN(n) chars plus NUL; returns length. */
size_t pb_b64url_encode(const uint8_t *in, size_t n, char *out);
/* Decode; returns bytes written or -1 on a bad character or length.
 * out must hold len*3/4 bytes. */
long pb_b64url_decode(const char *in, size_t len, uint8_t *out);

#endif
