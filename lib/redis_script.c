/*
 * redis_script.c - EVALSHA with a fallback to EVAL on NOSCRIPT
 * (redis_script.h). One place for the rule, so every script of the
 * scorer and the CLI is sent as its 40-byte hash after its first run.
 */
#include <string.h>
#include <glib.h>
#include <openssl/sha.h>
#include "contact.h"
#include "redis_script.h"

void pb_script_init(struct pb_script *s, const char *text)
{
    unsigned char md[SHA_DIGEST_LENGTH];

    s->text = text;
    SHA1((const unsigned char *)text, strlen(text), md);
    pb_hex(md, sizeof(md), s->sha);
}

/* verb body nkeys args... as one argv, and send it. */
static redisReply *send_script(redisContext *c, const char *verb, const char *body, int nkeys,
                               int nargs, const char *const *args)
{
    const char **argv = g_new(const char *, nargs + 3);
    char nkeys_text[16];
    redisReply *r;

    g_snprintf(nkeys_text, sizeof(nkeys_text), "%d", nkeys);
    argv[0] = verb;
    argv[1] = body;
    argv[2] = nkeys_text;
    memcpy(argv + 3, args, sizeof(*args) * (size_t)nargs);
    r = redisCommandArgv(c, nargs + 3, argv, NULL);
    g_free(argv);
    return r;
}

redisReply *pb_script_run(redisContext *c, const struct pb_script *s, int nkeys,
                          int nargs, const char *const *args)
{
    redisReply *r = send_script(c, "EVALSHA", s->sha, nkeys, nargs, args);

    if (r != NULL && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0) {
        freeReplyObject(r);
        r = send_script(c, "EVAL", s->text, nkeys, nargs, args);
    }
    return r;
}
