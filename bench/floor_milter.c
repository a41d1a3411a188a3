/*
 * floor_milter.c - the "floor" of bench/postfix-bench.sh: the least work
 * any body-rewriting milter must do. It buffers the body and, at end of
 * message, hands the very same bytes back with smfi_replacebody() in
 * 64 KB chunks. No parsing, no headers, no logging. Comparing
 * postbeacon-milter with this one measures what the rewriting itself costs
 * on top of the protocol round trips every body rewriter pays.
 *
 *   floor-milter unix:/path/to/socket
 *
 * The socket is made accessible to everyone (umask 0111) so Postfix,
 * running as user postfix, can connect. Stops on SIGTERM/SIGINT.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <libmilter/mfapi.h>

#define CHUNK (64 * 1024)

struct body {
    unsigned char *bytes;
    size_t len, cap;
};

static struct body *body_of(SMFICTX *ctx)
{
    struct body *b = smfi_getpriv(ctx);

    if (b == NULL) {
        b = calloc(1, sizeof(*b));
        if (b != NULL)
            smfi_setpriv(ctx, b);
    }
    return b;
}

static void body_reset(SMFICTX *ctx)
{
    struct body *b = smfi_getpriv(ctx);

    if (b != NULL)
        b->len = 0;
}

static int body_append(struct body *b, const unsigned char *chunk, size_t len)
{
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : CHUNK;
        unsigned char *grown;

        while (cap < b->len + len)
            cap *= 2;
        grown = realloc(b->bytes, cap);
        if (grown == NULL)
            return -1;
        b->bytes = grown;
        b->cap = cap;
    }
    memcpy(b->bytes + b->len, chunk, len);
    b->len += len;
    return 0;
}

static sfsistat floor_envfrom(SMFICTX *ctx, char **argv)
{
    (void)argv;
    body_reset(ctx);
    return body_of(ctx) ? SMFIS_CONTINUE : SMFIS_TEMPFAIL;
}

static sfsistat floor_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
    struct body *b = body_of(ctx);

    if (b == NULL || body_append(b, chunk, len) != 0)
        return SMFIS_TEMPFAIL;
    return SMFIS_CONTINUE;
}

static sfsistat floor_eom(SMFICTX *ctx)
{
    struct body *b = body_of(ctx);

    if (b == NULL)
        return SMFIS_TEMPFAIL;
    for (size_t off = 0; off < b->len; off += CHUNK) {
        size_t n = b->len - off < CHUNK ? b->len - off : CHUNK;

        if (smfi_replacebody(ctx, b->bytes + off, (int)n) != MI_SUCCESS)
            return SMFIS_TEMPFAIL;
    }
    b->len = 0;
    return SMFIS_CONTINUE;
}

static sfsistat floor_abort(SMFICTX *ctx)
{
    body_reset(ctx);
    return SMFIS_CONTINUE;
}

static sfsistat floor_close(SMFICTX *ctx)
{
    struct body *b = smfi_getpriv(ctx);

    if (b != NULL) {
        free(b->bytes);
        free(b);
        smfi_setpriv(ctx, NULL);
    }
    return SMFIS_CONTINUE;
}

static struct smfiDesc floor_desc = {
    .xxfi_name = "floor-milter",
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = SMFIF_CHGBODY,
    .xxfi_envfrom = floor_envfrom,
    .xxfi_body = floor_body,
    .xxfi_eom = floor_eom,
    .xxfi_abort = floor_abort,
    .xxfi_close = floor_close,
};

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: floor-milter unix:/path/to/socket\n");
        return 2;
    }
    umask(0111);
    if (smfi_setconn(argv[1]) != MI_SUCCESS || smfi_register(floor_desc) != MI_SUCCESS
        || smfi_opensocket(1) != MI_SUCCESS) {
        fprintf(stderr, "floor-milter: cannot listen on %s\n", argv[1]);
        return 1;
    }
    return smfi_main() == MI_SUCCESS ? 0 : 1;
}
