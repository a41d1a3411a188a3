/*
 * token_tool.c - command-line window on lib/token.c and lib/contact.c for
 * the shell tests and the demo: verifies a token from a delivered message
 * and prints what it carries, or computes the contact id of an address.
 *
 *   token-tool verify KEYFILE TOKEN     kind, key, time, ids, campaign, url
 *   token-tool contact KEYFILE ADDRESS  the 16 hex digit contact id
 *   token-tool mint KEYFILE KIND [NAME=VALUE ...]
 *                                       a token (click, open, unsubscribe)
 *   token-tool mint-raw KEYFILE KIND [NAME=VALUE ...]
 *                                       the same bytes built by hand, without
 *                                       the encoder's checks: what a holder of
 *                                       the key could sign (e.g. CR/LF in a URL)
 * NAMEs: key (signing key id; default the newest), sent_at (default now),
 * msg (16 hex; default 0102030405060708), contact (16 hex, or empty for
 * campaign-level; default a0a1a2a3a4a5a6a7), campaign (default "test"),
 * link (default 0), url (clicks; default https://example.com/).
 *
 * Output is "name=value" lines so scripts can grep them. Exit status 0 on
 * success, 1 when the token does not verify, 2 on a usage or key error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "b64url.h"
#include "contact.h"
#include "keys.h"
#include "token.h"

static const char *kind_name(enum pb_token_kind kind)
{
    switch (kind) {
    case PB_TOKEN_CLICK:
        return "click";
    case PB_TOKEN_OPEN:
        return "open";
    case PB_TOKEN_UNSUB:
        return "unsubscribe";
    }
    return "unknown";
}

static void print_token(const struct pb_token *tok)
{
    char hex[2 * PB_MSGID_LEN + 1];

    printf("kind=%s\n", kind_name(tok->kind));
    printf("key_id=%u\n", (unsigned)tok->key_id);
    printf("sent_at=%lu\n", (unsigned long)tok->sent_at);
    pb_hex(tok->msg_id, PB_MSGID_LEN, hex);
    printf("msg_id=%s\n", hex);
    if (tok->has_contact) {
        pb_hex(tok->contact, PB_CONTACT_LEN, hex);
        printf("contact=%s\n", hex);
    } else {
        printf("contact=\n");
    }
    printf("campaign=%s\n", tok->campaign);
    if (tok->kind == PB_TOKEN_CLICK) {
        printf("link_index=%u\n", (unsigned)tok->link_index);
        printf("url=%.*s\n", (int)tok->url_len, tok->url);
    }
}

static int verify(const struct pb_keyring *ring, const char *token)
{
    size_t len = strlen(token);
    uint8_t *buf = malloc(len + 1);
    struct pb_token tok;
    enum pb_token_status st;

    if (buf == NULL) {
        perror("token-tool");
        return 2;
    }
    st = pb_token_decode(ring, token, len, 0, buf, &tok);
    if (st == PB_TOKEN_OK)
        print_token(&tok);
    else
        fprintf(stderr, "token-tool: token does not verify: %s\n", pb_token_status_str(st));
    free(buf);
    return st == PB_TOKEN_OK ? 0 : 1;
}

static int contact(const struct pb_keyring *ring, const char *address)
{
    uint8_t id[PB_CONTACT_LEN];
    char hex[2 * PB_CONTACT_LEN + 1];

    pb_contact_id(ring, address, id);
    pb_hex(id, PB_CONTACT_LEN, hex);
    printf("%s\n", hex);
    return 0;
}


/* ---- mint ------------------------------------------------------------------ */

struct mint_args {
    struct pb_token tok;
    int key_id;                 /* 0 = the ring's signing key */
};

static int parse_mint_args(const char *kind, int argc, char **argv, struct mint_args *m)
{
    static const uint8_t msg[PB_MSGID_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    static const uint8_t contact[PB_CONTACT_LEN] = { 0xa0, 0xa1, 0xa2, 0xa3,
                                                     0xa4, 0xa5, 0xa6, 0xa7 };

    memset(m, 0, sizeof(*m));
    if (strcmp(kind, "click") == 0)
        m->tok.kind = PB_TOKEN_CLICK;
    else if (strcmp(kind, "open") == 0)
        m->tok.kind = PB_TOKEN_OPEN;
    else if (strcmp(kind, "unsubscribe") == 0)
        m->tok.kind = PB_TOKEN_UNSUB;
    else
        return -1;
    m->tok.sent_at = (uint32_t)time(NULL);
    memcpy(m->tok.msg_id, msg, sizeof(msg));
    m->tok.has_contact = 1;
    memcpy(m->tok.contact, contact, sizeof(contact));
    strcpy(m->tok.campaign, "test");
    m->tok.url = "https://example.com/";
    for (int i = 0; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        const char *v = eq ? eq + 1 : "";
        size_t nlen = eq ? (size_t)(eq - argv[i]) : strlen(argv[i]);
        int ok = eq != NULL;
        if (ok && strncmp(argv[i], "key", nlen) == 0 && nlen == 3)
            m->key_id = atoi(v);
        else if (ok && strncmp(argv[i], "sent_at", nlen) == 0 && nlen == 7)
            m->tok.sent_at = (uint32_t)strtoul(v, NULL, 10);
        else if (ok && strncmp(argv[i], "msg", nlen) == 0 && nlen == 3)
            ok = pb_unhex(v, m->tok.msg_id, PB_MSGID_LEN) == 0;
        else if (ok && strncmp(argv[i], "contact", nlen) == 0 && nlen == 7)
            ok = (m->tok.has_contact = *v != '\0') == 0
                 || pb_unhex(v, m->tok.contact, PB_CONTACT_LEN) == 0;
        else if (ok && strncmp(argv[i], "campaign", nlen) == 0 && nlen == 8)
            ok = strlen(v) < sizeof(m->tok.campaign) && strcpy(m->tok.campaign, v) != NULL;
        else if (ok && strncmp(argv[i], "link", nlen) == 0 && nlen == 4)
            m->tok.link_index = (uint16_t)strtoul(v, NULL, 10);
        else if (ok && strncmp(argv[i], "url", nlen) == 0 && nlen == 3)
            m->tok.url = v;
        else
            ok = 0;
        if (!ok) {
            fprintf(stderr, "token-tool: bad argument \"%s\"\n", argv[i]);
            return -1;
        }
    }
    m->tok.url_len = strlen(m->tok.url);
    return 0;
}

/* The key to sign with: key=ID, or the ring's signing key. */
static const struct pb_key *mint_key(const struct pb_keyring *ring, int key_id)
{
    const struct pb_key *key = key_id > 0 && key_id < 256
                             ? pb_keys_find(ring, (uint8_t)key_id) : pb_keys_signing(ring);

    if (key == NULL)
        fprintf(stderr, "token-tool: no key %d in the key file\n", key_id);
    return key;
}

static int mint(struct pb_keyring *ring, const struct mint_args *m)
{
    const struct pb_key *key = mint_key(ring, m->key_id);
    char *out = malloc(PB_TOKEN_MAX);
    long n;

    if (key == NULL || out == NULL) {
        free(out);
        return 2;
    }
    ring->signing = (int)(key - ring->keys);
    n = pb_token_encode(ring, &m->tok, out, PB_TOKEN_MAX);
    if (n < 0)
        fprintf(stderr, "token-tool: cannot encode: %s\n",
                pb_token_status_str((enum pb_token_status)-n));
    else
        printf("%s\n", out);
    free(out);
    return n < 0 ? 1 : 0;
}

/* The docs/tokens.md layout built byte by byte, MAC'd with the key. */
static int mint_raw(const struct pb_keyring *ring, const struct mint_args *m)
{
    const struct pb_token *t = &m->tok;
    const struct pb_key *key = mint_key(ring, m->key_id);
    size_t clen = strlen(t->campaign), n = 0;
    uint8_t *p = malloc(64 + PB_CAMPAIGN_MAX + t->url_len), mac[32];
    char *out;

    if (key == NULL || p == NULL) {
        free(p);
        return 2;
    }
    p[n++] = PB_TOKEN_VERSION;
    p[n++] = (uint8_t)t->kind;
    p[n++] = key->id;
    for (int shift = 24; shift >= 0; shift -= 8)
        p[n++] = (uint8_t)(t->sent_at >> shift);
    memcpy(p + n, t->msg_id, PB_MSGID_LEN);
    n += PB_MSGID_LEN;
    p[n++] = t->has_contact ? 1 : 0;
    if (t->has_contact) {
        memcpy(p + n, t->contact, PB_CONTACT_LEN);
        n += PB_CONTACT_LEN;
    }
    p[n++] = (uint8_t)clen;
    memcpy(p + n, t->campaign, clen);
    n += clen;
    if (t->kind == PB_TOKEN_CLICK) {
        p[n++] = (uint8_t)(t->link_index >> 8);
        p[n++] = (uint8_t)t->link_index;
        p[n++] = (uint8_t)(t->url_len >> 8);
        p[n++] = (uint8_t)t->url_len;
        memcpy(p + n, t->url, t->url_len);
        n += t->url_len;
    }
    pb_keys_hmac(key, p, n, mac);
    memcpy(p + n, mac, PB_MAC_LEN);
    n += PB_MAC_LEN;
    out = malloc(PB_B64URL_LEN(n) + 1);
    if (out != NULL) {
        pb_b64url_encode(p, n, out);
        printf("%s\n", out);
    }
    free(out);
    free(p);
    return out != NULL ? 0 : 2;
}

static int usage(void)
{
    fprintf(stderr, "usage: token-tool verify KEYFILE TOKEN\n"
                    "       token-tool contact KEYFILE ADDRESS\n"
                    "       token-tool mint|mint-raw KEYFILE click|open|unsubscribe "
                    "[NAME=VALUE ...]\n");
    return 2;
}

int main(int argc, char **argv)
{
    struct pb_keyring *ring;
    char err[512];
    int status;
    struct mint_args margs;
    int minting = argc >= 4 && (strcmp(argv[1], "mint") == 0
                                || strcmp(argv[1], "mint-raw") == 0);

    if (minting && parse_mint_args(argv[3], argc - 4, argv + 4, &margs) != 0)
        return usage();
    if (!minting
        && (argc != 4 || (strcmp(argv[1], "verify") != 0 && strcmp(argv[1], "contact") != 0)))
        return usage();
    ring = calloc(1, sizeof(*ring));
    if (ring == NULL) {
        perror("token-tool");
        return 2;
    }
    if (pb_keys_load(argv[2], 1, ring, err, sizeof(err)) != 0) {
        fprintf(stderr, "token-tool: %s\n", err);
        free(ring);
        return 2;
    }
    if (strcmp(argv[1], "mint") == 0)
        status = mint(ring, &margs);
    else if (strcmp(argv[1], "mint-raw") == 0)
        status = mint_raw(ring, &margs);
    else if (strcmp(argv[1], "verify") == 0)
        status = verify(ring, argv[3]);
    else
        status = contact(ring, argv[3]);
    pb_keys_free(ring);
    free(ring);
    return status;
}
