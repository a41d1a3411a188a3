/*
 * contact.c - opaque contact ids, so no address appears in a URL.
 *
 * contact id = first 8 bytes of HMAC-SHA256(contact key, normalised address).
 * Normalising strips surrounding whitespace and one pair of angle brackets
 * and lowercases the WHOLE address, local part included. RFC 5321 lets the
 * local part be case-sensitive, but no real mailbox relies on that, and
 * treating "Ann@x" and "ann@x" as two contacts would split one person's
 * history; we choose one id per mailbox as people see it. The contact key
 * must never change, or every contact gets a new id.
 */
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <glib.h>
#include "contact.h"

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

long pb_address_normalise(const char *address, char *out, size_t outlen)
{
    const char *start = address, *end = address + strlen(address);
    size_t n;

    while (start < end && is_space(*start))
        start++;
    while (end > start && is_space(end[-1]))
        end--;
    if (start < end && *start == '<')
        start++;
    if (end > start && end[-1] == '>')
        end--;
    while (start < end && is_space(*start))
        start++;
    while (end > start && is_space(end[-1]))
        end--;
    n = (size_t)(end - start);
    if (n == 0 || n + 1 > outlen)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char c = start[i];
        out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    out[n] = '\0';
    return (long)n;
}

void pb_contact_id(const struct pb_keyring *ring, const char *address,
                   uint8_t out[PB_CONTACT_LEN])
{
    char local[512];
    size_t cap = strlen(address) + 1;
    char *norm = cap <= sizeof(local) ? local : malloc(cap);
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    const char *data = "";
    long n = -1;

    /* An empty address (null sender "<>") still gets a stable id; a huge
     * one when memory is short is hashed as given rather than not at all. */
    if (norm == NULL) {
        data = address;
        n = (long)(cap - 1);
    } else if ((n = pb_address_normalise(address, norm, cap)) > 0) {
        data = norm;
    } else {
        n = 0;
    }
    HMAC(EVP_sha256(), ring->contact_key, (int)ring->contact_key_len,
         (const unsigned char *)data, (size_t)n, mac, &maclen);
    memcpy(out, mac, PB_CONTACT_LEN);
    if (norm != local)
        free(norm);
}

void pb_hex(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

int pb_unhex(const char *hex, uint8_t *out, size_t n)
{
    if (strlen(hex) != 2 * n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int hi = g_ascii_xdigit_value(hex[2 * i]), lo = g_ascii_xdigit_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

void pb_contact_erased_id(const struct pb_keyring *ring, const char *normalised,
                          char out[2 * PB_ERASED_LEN + 1])
{
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    size_t n = strlen(normalised);
    unsigned char *data = malloc(sizeof(PB_ERASED_TAG) + n);

    /* another input than the contact id's: the erased mark names no contact id */
    if (data == NULL)
        abort();
    memcpy(data, PB_ERASED_TAG, sizeof(PB_ERASED_TAG));
    memcpy(data + sizeof(PB_ERASED_TAG), normalised, n);
    HMAC(EVP_sha256(), ring->contact_key, (int)ring->contact_key_len, data,
         sizeof(PB_ERASED_TAG) + n, mac, &maclen);
    free(data);
    pb_hex(mac, PB_ERASED_LEN, out);
}
