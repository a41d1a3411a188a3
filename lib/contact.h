/*
 * contact.h - opaque contact ids: HMAC-SHA256(contact key, lowercased
 * address) truncated to 8 bytes, shown as 16 hex digits in Redis.
 */
#ifndef PB_CONTACT_H
#define PB_CONTACT_H

#include <stddef.h>
#include <stdint.h>
#include "keys.h"
#include "token.h"

/* Address is normalised: surrounding <> and spaces removed, lowercased. */
void pb_contact_id(const struct pb_keyring *ring, const char *address,
                   uint8_t out[PB_CONTACT_LEN]);
/* Lowercase hex of n bytes into out (2n+1 bytes). */
void pb_hex(const uint8_t *in, size_t n, char *out);
/* Exactly 2n hex digits (either case) into n bytes; -1 if hex is not that. */
int pb_unhex(const char *hex, uint8_t *out, size_t n);
/* Normalised address into out (outlen incl. NUL); returns length or -1. */
long pb_address_normalise(const char *address, char *out, size_t outlen);

/* The mark an erased address leaves in <p>erased (docs/redis-schema.md,
 * "Erasing a contact"): HMAC-SHA256 with the contact key over "erased",
 * a NUL and the normalised address, 16 bytes as 32 hex. Not the contact
 * id (another input, another length), so no key left behind names the
 * erased contact's id; a later import of the same address finds it. */
#define PB_ERASED_LEN 16
#define PB_ERASED_TAG "erased"
void pb_contact_erased_id(const struct pb_keyring *ring, const char *normalised,
                          char out[2 * PB_ERASED_LEN + 1]);

#endif
