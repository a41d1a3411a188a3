/*
 * campaign_send_page.c - the members of a campaign send, a page at a
 * time (campaign_send_int.h). The segment's sorted set is walked with
 * ZSCAN, whose cursor is a number the job keeps (`cursor`), so another
 * runner or a restart goes on from the page in hand: every member there
 * from the start to the end of the walk is seen (some twice: the marks
 * in <p>send:<c>:to make that harmless), without copying the segment.
 * Members are those who entered the segment by the job's start (entry
 * time, the score, at most started_at): who joins during a long send is
 * not in this campaign. A page keeps the members still to be handled in
 * this phase: in the test phase those of the test share; then everyone
 * without a mark (one HMGET of the marks per page).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "campaign_send_int.h"

#define PAGE 500                /* ZSCAN COUNT: members looked at a round trip */

void pb_csend_scan_reset(struct pb_csend *j, const char *cursor)
{
    snprintf(j->cursor, sizeof(j->cursor), "%s", cursor && *cursor ? cursor : "0");
    j->next[0] = '\0';
    j->have_page = 0;
    g_ptr_array_set_size(j->page, 0);
    j->pos = 0;
    j->tries = 0;
}

/* A contact id as it may be part of a key: 1..64 of 0-9, a-z. */
static int id_ok(const char *s)
{
    size_t n = s ? strspn(s, "0123456789abcdefghijklmnopqrstuvwxyz") : 0;

    return n > 0 && n <= 64 && s[n] == '\0';
}

/* The candidates of one ZSCAN reply's member, score pairs. */
static GPtrArray *candidates(struct pb_csend *j, const redisReply *pairs)
{
    GPtrArray *c = g_ptr_array_new_with_free_func(g_free);
    int testing = strcmp(j->job.state, "testing") == 0;

    for (size_t i = 0; i + 1 < pairs->elements; i += 2) {
        const char *id = pairs->element[i]->str;
        double entered = pairs->element[i + 1]->str ? strtod(pairs->element[i + 1]->str, NULL) : 0;
        if (!id_ok(id) || entered > (double)j->job.started_at)
            continue;
        if (testing && pb_csend_plan_variant(&j->plan, id) < 0)
            continue;
        g_ptr_array_add(c, g_strdup(id));
    }
    return c;
}

/* Keep in j->page those of c without a mark. 0, or -1 (why). */
static int unmarked(struct pb_csend *j, GPtrArray *c, char *why, size_t whylen)
{
    const char **argv = g_new(const char *, c->len + 2);
    redisReply *r;
    int rc = -1;

    argv[0] = "HMGET";
    argv[1] = j->to_key;
    for (guint i = 0; i < c->len; i++)
        argv[i + 2] = c->pdata[i];
    r = redisCommandArgv(j->env.c, (int)c->len + 2, argv, NULL);
    g_free(argv);
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != c->len)
        snprintf(why, whylen, "Redis: %s (reading the campaign's marks)",
                 r == NULL ? j->env.c->errstr : r->type == REDIS_REPLY_ERROR ? r->str
                 : "unexpected reply");
    else {
        for (guint i = 0; i < c->len; i++)
            if (r->element[i]->type == REDIS_REPLY_NIL)
                g_ptr_array_add(j->page, g_strdup(c->pdata[i]));
        rc = 0;
    }
    if (r != NULL)
        freeReplyObject(r);
    return rc;
}

/* The scan moves on to next: kept in the job, so a restart goes on there. */
static int advance(struct pb_csend *j, char *why, size_t whylen)
{
    char lease[32];
    const char *args[3] = { j->env.runner, lease, j->next };
    redisReply *r;

    snprintf(lease, sizeof(lease), "%lld", j->lease_ms);
    r = pb_csend_script(j->env.c, "cursor", j->env.now_ms(), 1, (const char *const *)&j->job_key,
                        3, args, why, whylen);
    if (r == NULL)
        return -1;
    freeReplyObject(r);     /* 0 (not ours any more): the next claim says so */
    snprintf(j->cursor, sizeof(j->cursor), "%s", j->next);
    return 0;
}

int pb_csend_next_page(struct pb_csend *j, char *why, size_t whylen)
{
    redisReply *r;
    GPtrArray *c;
    int rc;

    if (j->have_page && strcmp(j->next, "0") == 0)
        return 0;
    if (j->have_page && advance(j, why, whylen) != 0)
        return -1;
    r = redisCommand(j->env.c, "ZSCAN %s %s COUNT %d", j->seg_key, j->cursor, PAGE);
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2
        || r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_ARRAY) {
        snprintf(why, whylen, "Redis: %s (reading segment %s)", r == NULL ? j->env.c->errstr
                 : r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply to ZSCAN",
                 j->job.spec.segment);
        if (r != NULL)
            freeReplyObject(r);
        return -1;
    }
    snprintf(j->next, sizeof(j->next), "%s", r->element[0]->str);
    c = candidates(j, r->element[1]);
    freeReplyObject(r);
    g_ptr_array_set_size(j->page, 0);
    j->pos = 0;
    j->tries = 0;
    j->have_page = 1;
    rc = c->len > 0 ? unmarked(j, c, why, whylen) : 0;
    g_ptr_array_free(c, TRUE);
    return rc < 0 ? -1 : 1;
}
