/*
 * floor_milter.c - the "floor" of bench/postfix-bench.sh: the least work
 * any body-rewriting milter must do. It buffers the body and, at end of
 * message, hands the very same bytes back with smfi_replacebody() in
 * 64 KB chunks. No parsing, no headers, no logging. Comparing
 * postbeacon-milter with this one measures what the rewriting itself costs
 * on top of the protocol round trips every body rewriter pays.
 *
 * With -H it also takes what postbeacon-milter must see before the body
 * (connect, each recipient, each header, end of headers), with the same
 * no-reply steps negotiated, and copies the header fields in front of the
 * body as postbeacon-milter does to parse the message: the protocol cost
 * of a milter that reads headers, still without parsing or rewriting.
 *
 *   floor-milter [-H] unix:/path/to/socket
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

static int with_headers;        /* -H */

struct body {
    unsigned char *bytes;
    size_t len, cap;
    size_t header_len;          /* -H: the copied header block before the body */
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
        b->len = b->header_len = 0;
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

/* A step the MTA sends without waiting for an answer (-H negotiates them). */
static sfsistat no_reply(void)
{
    return with_headers ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat floor_envfrom(SMFICTX *ctx, char **argv)
{
    (void)argv;
    body_reset(ctx);
    return body_of(ctx) ? no_reply() : SMFIS_TEMPFAIL;
}

static sfsistat floor_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
    struct body *b = body_of(ctx);

    if (b == NULL || body_append(b, chunk, len) != 0)
        return SMFIS_TEMPFAIL;
    return no_reply();
}

/* ---- -H: the steps before the body ---------------------------------------- */

static sfsistat floor_negotiate(SMFICTX *ctx, unsigned long actions, unsigned long steps,
                                unsigned long f2, unsigned long f3, unsigned long *want_actions,
                                unsigned long *want_steps, unsigned long *want_f2,
                                unsigned long *want_f3)
{
    const unsigned long skipped = SMFIP_NOHELO | SMFIP_NOUNKNOWN | SMFIP_NODATA;
    const unsigned long noreply = SMFIP_NR_CONN | SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_HDR
                                  | SMFIP_NR_BODY;

    (void)ctx, (void)f2, (void)f3;
    *want_actions = actions & SMFIF_CHGBODY;
    *want_steps = steps & (skipped | noreply);
    *want_f2 = *want_f3 = 0;
    return SMFIS_CONTINUE;
}

static sfsistat floor_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *addr)
{
    (void)ctx, (void)host, (void)addr;
    return no_reply();
}

static sfsistat floor_envrcpt(SMFICTX *ctx, char **argv)
{
    (void)ctx, (void)argv;
    return no_reply();
}

static sfsistat floor_header(SMFICTX *ctx, char *name, char *value)
{
    struct body *b = body_of(ctx);

    if (b == NULL || body_append(b, (unsigned char *)name, strlen(name)) != 0
        || body_append(b, (const unsigned char *)": ", 2) != 0
        || body_append(b, (unsigned char *)value, strlen(value)) != 0
        || body_append(b, (const unsigned char *)"\r\n", 2) != 0)
        return SMFIS_TEMPFAIL;
    return no_reply();
}

/* The header copy stays where postbeacon-milter would parse it; the body
 * that follows is what gets replaced. */
static sfsistat floor_eoh(SMFICTX *ctx)
{
    struct body *b = body_of(ctx);

    if (b == NULL || body_append(b, (const unsigned char *)"\r\n", 2) != 0)
        return SMFIS_TEMPFAIL;
    b->header_len = b->len;
    return SMFIS_CONTINUE;
}

static sfsistat floor_eom(SMFICTX *ctx)
{
    struct body *b = body_of(ctx);

    if (b == NULL)
        return SMFIS_TEMPFAIL;
    for (size_t off = b->header_len; off < b->len; off += CHUNK) {
        size_t n = b->len - off < CHUNK ? b->len - off : CHUNK;

        if (smfi_replacebody(ctx, b->bytes + off, (int)n) != MI_SUCCESS)
            return SMFIS_TEMPFAIL;
    }
    b->len = b->header_len = 0;
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
    if (argc == 3 && strcmp(argv[1], "-H") == 0) {
        with_headers = 1;
        floor_desc.xxfi_negotiate = floor_negotiate;
        floor_desc.xxfi_connect = floor_connect;
        floor_desc.xxfi_envrcpt = floor_envrcpt;
        floor_desc.xxfi_header = floor_header;
        floor_desc.xxfi_eoh = floor_eoh;
        argv++, argc--;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: floor-milter [-H] unix:/path/to/socket\n");
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
