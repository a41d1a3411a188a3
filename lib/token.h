/*
 * token.h - signed, stateless tracking tokens (click, open, unsubscribe).
 *
 * A click token carries everything the tracker needs to redirect, so a click
 * works with Redis down. No personal data in clear: the contact is an opaque
 * 8-byte keyed hash (contact.h). Binary layout, versioning and MAC rules are
 * documented in docs/tokens.md; base64url on the wire.
 */
#ifndef PB_TOKEN_H
#define PB_TOKEN_H

#include <stddef.h>
#include <stdint.h>
#include "b64url.h"
#include "keys.h"

#define PB_TOKEN_VERSION 1
#define PB_MSGID_LEN 8
#define PB_CONTACT_LEN 8
#define PB_CAMPAIGN_MAX 64
#define PB_URL_MAX 8192
#define PB_MAC_LEN 16
/* Longest possible encoded token, plus NUL. */
#define PB_TOKEN_MAX (PB_B64URL_LEN(32 + PB_CAMPAIGN_MAX + PB_URL_MAX + PB_MAC_LEN) + 8)

enum pb_token_kind { PB_TOKEN_CLICK = 'c', PB_TOKEN_OPEN = 'o', PB_TOKEN_UNSUB = 'u' };

struct pb_token {
    enum pb_token_kind kind;
    uint8_t key_id;             /* set by decode; encode uses the signing key */
    uint32_t sent_at;           /* unix time the message was sent */
    uint8_t msg_id[PB_MSGID_LEN];
    int has_contact;            /* 0 for campaign-level tracking */
    uint8_t contact[PB_CONTACT_LEN];
    char campaign[PB_CAMPAIGN_MAX + 1];
    uint16_t link_index;        /* click only */
    const char *url;            /* click only; decode points into caller's buffer */
    size_t url_len;
};

enum pb_token_status {
    PB_TOKEN_OK = 0,
    PB_TOKEN_MALFORMED,         /* not base64url, truncated, bad lengths */
    PB_TOKEN_BAD_VERSION,
    PB_TOKEN_UNKNOWN_KEY,       /* key id not (or no longer) in the ring */
    PB_TOKEN_BAD_MAC,
    PB_TOKEN_WRONG_KIND,        /* verified, but not the kind asked for */
    PB_TOKEN_TOO_LONG           /* encode: URL or campaign over the limits */
};

/* Encode with the ring's signing key; returns length written to out (NUL
 * terminated) or -(status) on failure. out must hold PB_TOKEN_MAX bytes
 * (less is fine when the URL is short: outlen is checked). */
long pb_token_encode(const struct pb_keyring *ring, const struct pb_token *tok,
                     char *out, size_t outlen);

/* Decode and verify. expect_kind 0 = any. buf (>= len bytes) receives the
 * decoded payload; tok->url points into it and is NUL-terminated there.
 * On WRONG_KIND the (verified) fields are still filled in. */
enum pb_token_status pb_token_decode(const struct pb_keyring *ring, const char *s,
                                     size_t len, int expect_kind, uint8_t *buf,
                                     struct pb_token *tok);

const char *pb_token_status_str(enum pb_token_status st);

#endif
