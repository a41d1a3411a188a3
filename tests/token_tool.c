/*
 * token_tool.c - command-line window on lib/token.c and lib/contact.c for
 * the shell tests and the demo: verifies a token from a delivered message
 * and prints what it carries, or computes the contact id of an address.
 *
 *   token-tool verify KEYFILE TOKEN     kind, key, time, ids, campaign, url
 *   token-tool contact KEYFILE ADDRESS  the 16 hex digit contact id
 *
 * Output is "name=value" lines so scripts can grep them. Exit status 0 on
 * success, 1 when the token does not verify, 2 on a usage or key error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static int usage(void)
{
    fprintf(stderr, "usage: token-tool verify KEYFILE TOKEN\n"
                    "       token-tool contact KEYFILE ADDRESS\n");
    return 2;
}

int main(int argc, char **argv)
{
    struct pb_keyring *ring;
    char err[512];
    int status;

    if (argc != 4 || (strcmp(argv[1], "verify") != 0 && strcmp(argv[1], "contact") != 0))
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
    if (strcmp(argv[1], "verify") == 0)
        status = verify(ring, argv[3]);
    else
        status = contact(ring, argv[3]);
    pb_keys_free(ring);
    free(ring);
    return status;
}
