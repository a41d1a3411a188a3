/*
 * fuzz_token.c - libFuzzer target for the token parser (lib/token.c).
 *
 * Build: ./configure --enable-fuzzing CC=clang && make tests/fuzz/fuzz-token
 * Run:   tests/fuzz/fuzz-token -max_len=12000 [corpus-dir]
 *
 * Each input is used two ways:
 *  1. as token text, straight into pb_token_decode (base64url and MAC
 *     checks; nothing past them can be reached without the key);
 *  2. as a binary payload that the harness signs with the test key, so the
 *     field parser behind the MAC is fuzzed too. Whatever decodes must
 *     re-encode to exactly the same token (one spelling per token).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "b64url.h"
#include "keys.h"
#include "token.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct pb_keyring ring;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const char keys[] =
        "contact 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"
        "1 1111111111111111111111111111111111111111111111111111111111111111\n"
        "2 2222222222222222222222222222222222222222222222222222222222222222\n";
    char path[] = "/tmp/fuzz-token-keys.XXXXXX", err[512];
    int fd = mkstemp(path);

    if (fd < 0 || write(fd, keys, sizeof(keys) - 1) != (ssize_t)(sizeof(keys) - 1)) {
        perror("fuzz_token: key file");
        abort();
    }
    close(fd);
    if (pb_keys_load(path, 1, &ring, err, sizeof(err)) != 0) {
        fprintf(stderr, "fuzz_token: %s\n", err);
        abort();
    }
    unlink(path);
    return 0;
}

/* Decoded tokens must re-encode to the very same text. */
static void check_round_trip(const char *text, size_t len, const struct pb_token *tok)
{
    static char again[PB_TOKEN_MAX];
    struct pb_keyring one = ring;       /* same keys, signing with tok's key */
    long n;

    for (size_t i = 0; i < ring.count; i++)
        if (ring.keys[i].id == tok->key_id)
            one.signing = (int)i;
    n = pb_token_encode(&one, tok, again, sizeof(again));
    if (n != (long)len || memcmp(again, text, len) != 0) {
        fprintf(stderr, "token does not round-trip (encode gave %ld)\n", n);
        abort();
    }
}

static void decode_text(const char *text, size_t len)
{
    static uint8_t buf[PB_TOKEN_MAX + 16384];
    struct pb_token tok;

    if (len > sizeof(buf))
        return;
    if (pb_token_decode(&ring, text, len, 0, buf, &tok) == PB_TOKEN_OK)
        check_round_trip(text, len, &tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t payload[16384 + PB_MAC_LEN];
    static char text[PB_B64URL_LEN(sizeof(payload)) + 1];
    uint8_t mac[32];
    size_t len;

    decode_text((const char *)data, size);

    if (size < 3 || size > sizeof(payload) - PB_MAC_LEN)
        return 0;
    memcpy(payload, data, size);
    payload[0] = PB_TOKEN_VERSION;
    payload[2] = (uint8_t)(1 + (data[2] & 1));          /* key 1 or 2 */
    pb_keys_hmac(pb_keys_find(&ring, payload[2]), payload, size, mac);
    memcpy(payload + size, mac, PB_MAC_LEN);
    len = pb_b64url_encode(payload, size + PB_MAC_LEN, text);
    decode_text(text, len);
    return 0;
}
