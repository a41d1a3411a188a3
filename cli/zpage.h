/*
 * zpage.h - a big sorted set read page by page in score order
 * (postbeacon segment NAME, queue list): each page starts at the last
 * page's final score and skips the members of that score listed already,
 * so a member is listed once even while the set changes between pages
 * (a rank offset would skip or repeat members then), and a million
 * members never make one reply.
 */
#ifndef PB_CLI_ZPAGE_H
#define PB_CLI_ZPAGE_H

#include "cli.h"

struct pb_zpage {
    struct pb_cli *cli;
    const char *key;
    int rev;                    /* highest score first */
    char bound[64];             /* the next page's first score ("-inf" / "+inf" first) */
    long long skip;             /* members of score bound listed already */
};

void pb_zpage_init(struct pb_zpage *p, struct pb_cli *cli, const char *key, int rev);
/* The next page: up to want member, score pairs (a ZRANGE ... WITHSCORES
 * reply; freeReplyObject it), none at the end; NULL after an error
 * (reported with what). */
redisReply *pb_zpage_next(struct pb_zpage *p, long long want, const char *what);

#endif
