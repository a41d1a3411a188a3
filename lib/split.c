/*
 * split.c - A/B buckets (split.h): the first 8 bytes of SHA-256("pbab1",
 * NUL, salt, NUL, contact) as a big-endian number, modulo 10000. The
 * modulo bias of 2^64 mod 10000 is below 1e-15 per bucket.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include "split.h"

#define SPLIT_TAG "pbab1"

unsigned pb_split_bucket(const char *salt, const char *contact)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    uint64_t v = 0;

    if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1
        || EVP_DigestUpdate(ctx, SPLIT_TAG, sizeof(SPLIT_TAG)) != 1    /* with its NUL */
        || EVP_DigestUpdate(ctx, salt, strlen(salt) + 1) != 1
        || EVP_DigestUpdate(ctx, contact, strlen(contact)) != 1
        || EVP_DigestFinal_ex(ctx, md, &mdlen) != 1)
        abort();                /* out of memory inside OpenSSL: nothing sensible to do */
    EVP_MD_CTX_free(ctx);
    for (int i = 0; i < 8; i++)
        v = v << 8 | md[i];
    return (unsigned)(v % PB_SPLIT_BUCKETS);
}

int pb_split_pick(unsigned bucket, const unsigned *shares, size_t n)
{
    unsigned end = 0;

    for (size_t i = 0; i < n; i++) {
        end += shares[i];
        if (bucket < end)
            return (int)i;
    }
    return -1;
}
