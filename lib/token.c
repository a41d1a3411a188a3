/*
 * token.c - build and verify signed tracking tokens (token.h).
 *
 * Binary layout, version 1 (all integers big-endian; docs/tokens.md):
 *
 *   0      version (1)
 *   1      kind: 'c' click, 'o' open, 'u' unsubscribe
 *   2      key id that made the MAC
 *   3..6   sent_at, unix seconds
 *   7..14  message id (8 bytes)
 *   15     flags: bit 0 = a contact id follows; other bits must be 0
 *   [8]    contact id, only when flag bit 0 is set
 *   1+n    campaign: length (0..64) then n printable ASCII bytes
 *   click only: link index (2), URL length (2, 1..8192), URL bytes
 *   16     MAC: HMAC-SHA256(key, all bytes above) truncated to 16 bytes
 *
 * The whole is base64url without padding. Decoding checks the version and
 * key id, then the MAC (in constant time) before it trusts any length
 * field; every read is still bounds-checked and the total length must
 * match exactly. The kind asked for is compared only once the MAC holds,
 * so a forged token cannot learn anything from the answer.
 */
#include <string.h>
#include <openssl/crypto.h>
#include "b64url.h"
#include "token.h"

#define HEADER_LEN 16
#define FLAG_CONTACT 0x01
#define PAYLOAD_MAX (HEADER_LEN + PB_CONTACT_LEN + 1 + PB_CAMPAIGN_MAX + 4 + PB_URL_MAX \
                     + PB_MAC_LEN)
/* Shortest valid payload: header, empty campaign, MAC. */
#define PAYLOAD_MIN (HEADER_LEN + 1 + PB_MAC_LEN)

static int valid_kind(int kind)
{
    return kind == PB_TOKEN_CLICK || kind == PB_TOKEN_OPEN || kind == PB_TOKEN_UNSUB;
}

static int printable_ascii(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7e)
            return 0;
    return 1;
}

/* URLs may hold any byte except controls: the tracker puts it in a
 * Location header, so CR/LF/NUL must never get through. */
static int url_bytes_ok(const uint8_t *s, size_t n)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    size_t i = 0;

    /* 8 bytes at a time: flags a byte below 0x20 or equal to 0x7f */
    for (; i + 8 <= n; i += 8) {
        uint64_t w, del;
        memcpy(&w, s + i, sizeof(w));
        del = w ^ (ones * 0x7f);
        if ((((w - ones * 0x20) & ~w) | ((del - ones) & ~del)) & highs)
            return 0;
    }
    for (; i < n; i++)
        if (s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return 1;
}

static void put_u16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static unsigned get_u16(const uint8_t *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

/* Check the fields of tok; PB_TOKEN_OK or why they cannot be encoded. */
static enum pb_token_status check_fields(const struct pb_token *tok, size_t *campaign_len)
{
    size_t clen = strnlen(tok->campaign, sizeof(tok->campaign));

    if (!valid_kind(tok->kind))
        return PB_TOKEN_MALFORMED;
    if (clen > PB_CAMPAIGN_MAX)
        return PB_TOKEN_TOO_LONG;
    if (!printable_ascii((const uint8_t *)tok->campaign, clen))
        return PB_TOKEN_MALFORMED;
    *campaign_len = clen;
    if (tok->kind != PB_TOKEN_CLICK)
        return PB_TOKEN_OK;
    if (tok->url_len > PB_URL_MAX)
        return PB_TOKEN_TOO_LONG;
    if (tok->url == NULL || tok->url_len == 0
        || !url_bytes_ok((const uint8_t *)tok->url, tok->url_len))
        return PB_TOKEN_MALFORMED;
    return PB_TOKEN_OK;
}

/* Serialise everything the MAC covers; returns its length. */
static size_t build_payload(const struct pb_token *tok, uint8_t key_id, size_t campaign_len,
                            uint8_t *p)
{
    size_t n = 0;

    p[n++] = PB_TOKEN_VERSION;
    p[n++] = (uint8_t)tok->kind;
    p[n++] = key_id;
    p[n++] = (uint8_t)(tok->sent_at >> 24);
    p[n++] = (uint8_t)(tok->sent_at >> 16);
    p[n++] = (uint8_t)(tok->sent_at >> 8);
    p[n++] = (uint8_t)tok->sent_at;
    memcpy(p + n, tok->msg_id, PB_MSGID_LEN);
    n += PB_MSGID_LEN;
    p[n++] = tok->has_contact ? FLAG_CONTACT : 0;
    if (tok->has_contact) {
        memcpy(p + n, tok->contact, PB_CONTACT_LEN);
        n += PB_CONTACT_LEN;
    }
    p[n++] = (uint8_t)campaign_len;
    memcpy(p + n, tok->campaign, campaign_len);
    n += campaign_len;
    if (tok->kind == PB_TOKEN_CLICK) {
        put_u16(p + n, tok->link_index);
        put_u16(p + n + 2, (unsigned)tok->url_len);
        memcpy(p + n + 4, tok->url, tok->url_len);
        n += 4 + tok->url_len;
    }
    return n;
}

long pb_token_encode(const struct pb_keyring *ring, const struct pb_token *tok,
                     char *out, size_t outlen)
{
    const struct pb_key *key = pb_keys_signing(ring);
    uint8_t payload[PAYLOAD_MAX];
    uint8_t mac[32];
    size_t campaign_len = 0, n;
    enum pb_token_status st;

    if (key == NULL)
        return -(long)PB_TOKEN_UNKNOWN_KEY;
    st = check_fields(tok, &campaign_len);
    if (st != PB_TOKEN_OK)
        return -(long)st;
    n = build_payload(tok, key->id, campaign_len, payload);
    if (PB_B64URL_LEN(n + PB_MAC_LEN) + 1 > outlen)
        return -(long)PB_TOKEN_TOO_LONG;
    pb_keys_hmac(key, payload, n, mac);
    memcpy(payload + n, mac, PB_MAC_LEN);
    return (long)pb_b64url_encode(payload, n + PB_MAC_LEN, out);
}

/* Parse a payload whose MAC has been verified; body_len excludes the MAC. */
static enum pb_token_status parse_fields(uint8_t *buf, size_t body_len, struct pb_token *tok)
{
    size_t pos = HEADER_LEN;
    size_t clen;

    if (!valid_kind(buf[1]) || (buf[15] & ~FLAG_CONTACT) != 0)
        return PB_TOKEN_MALFORMED;
    tok->kind = (enum pb_token_kind)buf[1];
    tok->key_id = buf[2];
    tok->sent_at = (uint32_t)buf[3] << 24 | (uint32_t)buf[4] << 16
                   | (uint32_t)buf[5] << 8 | buf[6];
    memcpy(tok->msg_id, buf + 7, PB_MSGID_LEN);
    tok->has_contact = buf[15] & FLAG_CONTACT;
    if (tok->has_contact) {
        if (body_len - pos < PB_CONTACT_LEN)
            return PB_TOKEN_MALFORMED;
        memcpy(tok->contact, buf + pos, PB_CONTACT_LEN);
        pos += PB_CONTACT_LEN;
    }
    if (body_len - pos < 1)
        return PB_TOKEN_MALFORMED;
    clen = buf[pos++];
    if (clen > PB_CAMPAIGN_MAX || body_len - pos < clen || !printable_ascii(buf + pos, clen))
        return PB_TOKEN_MALFORMED;
    memcpy(tok->campaign, buf + pos, clen);
    tok->campaign[clen] = '\0';
    pos += clen;
    if (tok->kind != PB_TOKEN_CLICK)
        return pos == body_len ? PB_TOKEN_OK : PB_TOKEN_MALFORMED;

    if (body_len - pos < 4)
        return PB_TOKEN_MALFORMED;
    tok->link_index = (uint16_t)get_u16(buf + pos);
    tok->url_len = get_u16(buf + pos + 2);
    pos += 4;
    if (tok->url_len == 0 || tok->url_len > PB_URL_MAX || body_len - pos != tok->url_len
        || !url_bytes_ok(buf + pos, tok->url_len))
        return PB_TOKEN_MALFORMED;
    /* The MAC's first byte follows the URL; it is checked, so reuse it as
     * the terminator and hand out a C string. */
    buf[body_len] = '\0';
    tok->url = (const char *)buf + pos;
    return PB_TOKEN_OK;
}

enum pb_token_status pb_token_decode(const struct pb_keyring *ring, const char *s,
                                     size_t len, int expect_kind, uint8_t *buf,
                                     struct pb_token *tok)
{
    const struct pb_key *key;
    uint8_t mac[32];
    size_t body_len;
    long n;
    enum pb_token_status st;

    memset(tok, 0, sizeof(*tok));
    if (len == 0 || len > PB_B64URL_LEN(PAYLOAD_MAX))
        return PB_TOKEN_MALFORMED;
    n = pb_b64url_decode(s, len, buf);
    if (n < 1)
        return PB_TOKEN_MALFORMED;
    if (buf[0] != PB_TOKEN_VERSION)
        return PB_TOKEN_BAD_VERSION;
    if (n < PAYLOAD_MIN)
        return PB_TOKEN_MALFORMED;
    key = pb_keys_find(ring, buf[2]);
    if (key == NULL)
        return PB_TOKEN_UNKNOWN_KEY;
    body_len = (size_t)n - PB_MAC_LEN;
    pb_keys_hmac(key, buf, body_len, mac);
    if (CRYPTO_memcmp(mac, buf + body_len, PB_MAC_LEN) != 0)
        return PB_TOKEN_BAD_MAC;
    st = parse_fields(buf, body_len, tok);
    if (st != PB_TOKEN_OK) {
        memset(tok, 0, sizeof(*tok));
        return st;
    }
    if (expect_kind != 0 && expect_kind != (int)tok->kind)
        return PB_TOKEN_WRONG_KIND;
    return PB_TOKEN_OK;
}

const char *pb_token_status_str(enum pb_token_status st)
{
    switch (st) {
    case PB_TOKEN_OK:          return "ok";
    case PB_TOKEN_MALFORMED:   return "malformed token";
    case PB_TOKEN_BAD_VERSION: return "unknown token version";
    case PB_TOKEN_UNKNOWN_KEY: return "unknown key id (key removed from the key file?)";
    case PB_TOKEN_BAD_MAC:     return "bad signature";
    case PB_TOKEN_WRONG_KIND:  return "wrong token kind";
    case PB_TOKEN_TOO_LONG:    return "URL or campaign too long";
    }
    return "unknown token status";
}
