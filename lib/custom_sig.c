/*
 * custom_sig.c - the signature of a custom-event request (custom_event.h):
 *
 *   X-Postbeacon-Timestamp: <unix seconds>
 *   X-Postbeacon-Signature: hex(HMAC-SHA256(secret, <timestamp> "." <body>))
 *
 * the convention of Stripe's webhooks (a timestamp signed with the body,
 * so a captured request cannot be replayed after the window), with the
 * two values in headers of their own. The secret is an "events" line of
 * the key file; every such line verifies (rotation). Compared in constant
 * time. The scorer's webhook steps sign their requests the same way with
 * a "webhook" line (lib/webhook.c), so a receiver verifies them with
 * pb_sig_check, the tracker's own check. docs/custom-events.md has a curl + openssl example.
 */
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include "contact.h"
#include "custom_event.h"

#define TIMESTAMP_MAX 12        /* digits of a timestamp we read */

/* The MAC of timestamp "." body with key. */
static void sig_mac(const struct pb_key *key, const char *timestamp, const char *body,
                    size_t len, uint8_t mac[32])
{
    size_t tlen = strlen(timestamp);
    char *data = g_malloc(tlen + 1 + len + 1);

    memcpy(data, timestamp, tlen);
    data[tlen] = '.';
    if (len > 0)
        memcpy(data + tlen + 1, body, len);
    pb_keys_hmac(key, data, tlen + 1 + len, mac);
    g_free(data);
}

void pb_custom_sig_make(const struct pb_key *key, const char *timestamp, const char *body,
                        size_t len, char out[65])
{
    uint8_t mac[32];

    sig_mac(key, timestamp, body, len, mac);
    pb_hex(mac, sizeof(mac), out);
}

/* A timestamp of 1..TIMESTAMP_MAX decimal digits; -1 otherwise. */
static long long timestamp_value(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > TIMESTAMP_MAX || strspn(s, "0123456789") != n)
        return -1;
    return strtoll(s, NULL, 10);
}

enum pb_sig_status pb_custom_sig_check(const struct pb_keyring *ring, const char *timestamp,
                                       const char *signature, const char *body, size_t len,
                                       long long now_s, int window_s)
{
    return pb_sig_check(ring->events, ring->events_count, timestamp, signature, body, len,
                        now_s, window_s);
}

enum pb_sig_status pb_sig_check(const struct pb_key *keys, size_t n, const char *timestamp,
                                const char *signature, const char *body, size_t len,
                                long long now_s, int window_s)
{
    uint8_t want[32], mac[32];
    long long ts;

    if (n == 0)
        return PB_SIG_NO_SECRET;
    if (timestamp == NULL || signature == NULL)
        return PB_SIG_MISSING;
    if ((ts = timestamp_value(timestamp)) < 0)
        return PB_SIG_BAD_TIMESTAMP;
    if (ts < now_s - window_s || ts > now_s + window_s)
        return PB_SIG_EXPIRED;
    if (pb_unhex(signature, want, sizeof(want)) != 0)    /* 64 hex digits, either case */
        return PB_SIG_MALFORMED;
    for (size_t i = 0; i < n; i++) {
        sig_mac(&keys[i], timestamp, body, len, mac);
        if (CRYPTO_memcmp(mac, want, sizeof(mac)) == 0)
            return PB_SIG_OK;
    }
    return PB_SIG_BAD;
}

const char *pb_sig_status_str(enum pb_sig_status st)
{
    switch (st) {
    case PB_SIG_OK:
        return "ok";
    case PB_SIG_MISSING:
        return "missing X-Postbeacon-Timestamp or X-Postbeacon-Signature";
    case PB_SIG_BAD_TIMESTAMP:
        return "X-Postbeacon-Timestamp is not unix seconds";
    case PB_SIG_EXPIRED:
        return "X-Postbeacon-Timestamp is outside the replay window";
    case PB_SIG_MALFORMED:
        return "X-Postbeacon-Signature is not 64 hex digits";
    case PB_SIG_BAD:
        return "X-Postbeacon-Signature does not match";
    default:
        return "no events secret in the key file";
    }
}
