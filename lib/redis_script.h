/*
 * redis_script.h - run a Lua script on a blocking hiredis connection by
 * its SHA1 (EVALSHA), loading it with EVAL only when Redis answers
 * NOSCRIPT (first use, or after a restart or SCRIPT FLUSH). The claim,
 * settle, send-rate and campaign-send scripts are a few kB each and run
 * many times a second; sending the text every time costs Redis a parse
 * and a copy per call.
 */
#ifndef PB_REDIS_SCRIPT_H
#define PB_REDIS_SCRIPT_H

#include <stddef.h>
#include <hiredis/hiredis.h>

struct pb_script {
    const char *text;           /* the Lua source (not owned; usually a literal) */
    char sha[41];               /* its SHA1, lowercase hex */
};

/* Compute s->sha for text. */
void pb_script_init(struct pb_script *s, const char *text);

/* EVALSHA sha nkeys args[0..nargs) (the keys first), and EVAL text ... if
 * Redis does not have it. The reply (an error reply included), or NULL
 * when the connection failed (c->errstr says why). freeReplyObject() it. */
redisReply *pb_script_run(redisContext *c, const struct pb_script *s, int nkeys,
                          int nargs, const char *const *args);

#endif
