/*
 * zpage.c - reading a sorted set page by page in score order (zpage.h):
 * ZRANGE ... BYSCORE [REV] LIMIT from the last page's final score on,
 * skipping the members of that score already listed.
 */
#include <string.h>
#include <glib.h>
#include "zpage.h"

void pb_zpage_init(struct pb_zpage *p, struct pb_cli *cli, const char *key, int rev)
{
    p->cli = cli;
    p->key = key;
    p->rev = rev;
    g_strlcpy(p->bound, rev ? "+inf" : "-inf", sizeof(p->bound));
    p->skip = 0;
}

/* Where the next page starts: at the final score of this one, after the
 * members of that score listed so far. */
static void advance(struct pb_zpage *p, const redisReply *r, size_t n)
{
    const char *last = r->element[2 * n - 1]->str;
    long long same = 0;

    for (size_t i = n; i > 0 && strcmp(r->element[2 * i - 1]->str, last) == 0; i--)
        same++;
    p->skip = strcmp(last, p->bound) == 0 ? p->skip + same : same;
    g_strlcpy(p->bound, last, sizeof(p->bound));
}

redisReply *pb_zpage_next(struct pb_zpage *p, long long want, const char *what)
{
    redisReply *r;

    if (p->rev)
        r = pb_cli_cmd(p->cli, what, "ZRANGE %s %s -inf BYSCORE REV LIMIT %lld %lld WITHSCORES",
                       p->key, p->bound, p->skip, want);
    else
        r = pb_cli_cmd(p->cli, what, "ZRANGE %s %s +inf BYSCORE LIMIT %lld %lld WITHSCORES",
                       p->key, p->bound, p->skip, want);
    if (r != NULL && r->elements >= 2)
        advance(p, r, r->elements / 2);
    return r;
}
