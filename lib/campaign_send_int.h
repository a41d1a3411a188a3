/*
 * campaign_send_int.h - inside the campaign sends: what the runner's files
 * share (campaign_send_run.c the job's lease and phases, campaign_send_page.c
 * the segment's pages, campaign_send_item.c one member) and the one Lua
 * script every change of a job goes through (campaign_send_lua.c).
 * Programs use campaign_send.h.
 */
#ifndef PB_CAMPAIGN_SEND_INT_H
#define PB_CAMPAIGN_SEND_INT_H

#include "campaign_send.h"

/* One job being run by this process. */
struct pb_csend {
    struct pb_csend_env env;
    char *campaign;
    char *job_key, *to_key, *seg_key, *sup_key, *sends_key, *rate_key, *own_rate_key;
    struct pb_csend_job job;
    struct pb_csend_plan plan;
    int plan_loaded;
    int held;                   /* the lease is ours */
    long long lease_ms;
    /* the segment's pages (ZSCAN) */
    char cursor[32];            /* where the page in hand came from */
    char next[32];              /* where the next page starts ("0": the scan is over) */
    int have_page;
    GPtrArray *page;            /* contact ids still to handle (g_free) */
    guint pos;
    /* the message in hand */
    int have_global, have_own;  /* rate grants taken and not used yet */
    int tries;                  /* temporary failures of the member at pos */
};

/* The script: EVALSHA of op with keys and args (after op and now). The
 * reply, or NULL with why (the connection failed or an error reply). */
redisReply *pb_csend_script(redisContext *c, const char *op, long long now_ms, int nkeys,
                            const char *const *keys, int nargs, const char *const *args,
                            char *why, size_t whylen);

/* A page of the segment's members into j->page: 1, 0 when the scan of
 * the phase is over, -1 (why) Redis failed. campaign_send_page.c */
int pb_csend_next_page(struct pb_csend *j, char *why, size_t whylen);
/* The phase's scan starts again from the beginning. */
void pb_csend_scan_reset(struct pb_csend *j, const char *cursor);

/* Handle the member at j->pos: PB_CSEND_MORE when done with it (pos
 * moved on), else WAIT (*until), STOPPED or ERROR (why). campaign_send_item.c */
enum pb_csend_status pb_csend_item(struct pb_csend *j, long long *until, char *why,
                                   size_t whylen);

/* The prefix + name + id (id may be NULL); g_free it. */
char *pb_csend_key(const char *prefix, const char *name, const char *id);
/* A reply's integer or number text, 0 when neither. */
long long pb_csend_reply_ll(const redisReply *r);

#endif
