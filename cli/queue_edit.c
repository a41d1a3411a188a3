/*
 * queue_edit.c - postbeacon queue cancel and queue resolve: the two ways
 * an operator changes the scorer's follow-up queue, each one Lua script
 * so that it cannot interleave with the scorer's claim (a step is either
 * claimed by the scorer or changed here, never both):
 *
 *   cancel EMAIL [WORKFLOW [STEP]]   the contact's queued steps out of
 *       <p>wf:due, state skipped ("cancelled by operator", logged): the
 *       next steps are queued only after a step is settled, so the
 *       workflow ends there for the contact
 *   resolve EMAIL WORKFLOW STEP --sent | --not-sent   an uncertain step
 *       (<p>wf:uncertain) recorded as sent and its next step queued, as
 *       the settle script does, or put back into the queue, due now
 *
 * The scripts share the scorer's Lua for the log and the next step
 * (pb_wf_script_common, scorer/workflow_script.c).
 */
#include <stdlib.h>
#include <string.h>
#include "events.h"
#include "queue.h"
#include "redis_script.h"
#include "workflows.h"

#define CANCEL_REASON "cancelled by operator"

static const struct pb_cli_opts cancel_opts = {
    .usage = "queue cancel EMAIL [WORKFLOW [STEP]]",
    .help = "Takes the contact's queued follow-up steps (of WORKFLOW, only STEP) out of the\n"
            "queue for good: state skipped, \"" CANCEL_REASON "\" in the log. The steps\n"
            "after them are not queued either. A step being sent now is not touched.\n",
};
static const struct pb_cli_opts resolve_opts = {
    .usage = "queue resolve EMAIL WORKFLOW STEP --sent|--not-sent",
    .help = "Settles a step the scorer found in flight after a crash (queue list\n"
            "--uncertain), once you have checked the mail log or the receiver:\n"
            "  --sent      it went out: recorded as sent, the next step queued\n"
            "  --not-sent  it did not: back into the queue, due now\n",
    .longopts = (const struct option[]){ { "sent", no_argument, NULL, 's' },
                                         { "not-sent", no_argument, NULL, 'N' },
                                         { NULL, 0, NULL, 0 } },
};

/* KEYS: due, log, contact hash. ARGV: now, log length, contact id,
 * workflow ("" any), step ("" any), reason. Answer: the state of the
 * step asked for when it was not cancelled ("" otherwise), then the
 * <workflow>|<step> of each step cancelled. */
static const char cancel_body[] =
    "local DUE,WLOG,ck=KEYS[1],KEYS[2],KEYS[3]\n"
    "%s"
    "local cid,wf,st,why=ARGV[3],ARGV[4],ARGV[5],ARGV[6]\n"
    "local out,h={''},redis.call('HGETALL',ck)\n"
    "for i=1,#h,2 do\n"
    "  local w,s=string.match(h[i],'^wfs:([^|]+)|([^|]+)$')\n"
    "  if w and h[i+1]=='queued' and (wf=='' or w==wf) and (st=='' or s==st) then\n"
    "    redis.call('ZREM',DUE,cid..'|'..w..'|'..s) redis.call('HSET',ck,h[i],'skipped')\n"
    "    log(cid,w,s,'skipped',why) out[#out+1]=w..'|'..s\n"
    "  end\n"
    "end\n"
    "if #out==1 and st~='' then out[1]=redis.call('HGET',ck,'wfs:'..wf..'|'..st) or 'none' end\n"
    "return out\n";

/* KEYS: due, log, uncertain, contact hash. ARGV: now, log length,
 * member, "sent" or "not-sent", next step, its delay. Answer: {"1"}
 * settled, or {"-", state} when the step is not uncertain. */
static const char resolve_body[] =
    "local DUE,WLOG,UNC,ck=KEYS[1],KEYS[2],KEYS[3],KEYS[4]\n"
    "%s"
    "local m,mode,nx,nd=ARGV[3],ARGV[4],ARGV[5],ARGV[6]\n"
    "local cid,wf,st=split(m)\n"
    "local sf='wfs:'..wf..'|'..st\n"
    "local state=redis.call('HGET',ck,sf)\n"
    "if state~='uncertain' then return {'-',state or 'none'} end\n"
    "redis.call('ZREM',UNC,m)\n"
    "if mode=='sent' then\n"
    "  redis.call('HSET',ck,sf,'sent') log(cid,wf,st,'sent','resolved by operator: sent')\n"
    "  queue_next(ck,cid,wf,st,nx,nd)\n"
    "else\n"
    "  redis.call('HSET',ck,sf,'queued') redis.call('ZADD',DUE,ARGV[1],m)\n"
    "  log(cid,wf,st,'queued','resolved by operator: not sent')\n"
    "end\n"
    "return {'1'}\n";

/* body (with the shared Lua) run on keys (NULL-terminated names under
 * the prefix; a name ending in ':' gets the contact id) and args after now
 * and the log length (lib/redis_script.h: EVALSHA, EVAL when Redis lacks it). */
static redisReply *run(struct pb_cli *cli, const char *body, const char *const *keys,
                       const char *cid, const char *const *args, const char *what)
{
    GPtrArray *v = g_ptr_array_new_with_free_func(g_free);
    struct pb_script script;
    size_t nkeys = 0;
    redisReply *r;

    pb_script_init(&script, g_strdup_printf(body, pb_wf_script_common));
    while (keys[nkeys])
        nkeys++;
    for (size_t i = 0; i < nkeys; i++)
        g_ptr_array_add(v, pb_cli_key(cli, keys[i], g_str_has_suffix(keys[i], ":") ? cid : NULL));
    g_ptr_array_add(v, g_strdup_printf("%lld", pb_event_now_ms()));
    g_ptr_array_add(v, g_strdup_printf("%ld", cli->conf.scorer.segment_log_maxlen));
    for (size_t i = 0; args[i]; i++)
        g_ptr_array_add(v, g_strdup(args[i]));
    r = pb_script_run(cli->redis, &script, (int)nkeys, (int)v->len, (const char *const *)v->pdata);
    g_ptr_array_free(v, TRUE);
    g_free((char *)script.text);
    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        pb_cli_error("Redis: %s: %s", what, r ? r->str : cli->redis->errstr);
        if (r)
            freeReplyObject(r);
        return NULL;
    }
    return r;
}

/* The contact (it must exist), the rules with the workflow and step
 * named (either may be NULL); -1 after an error (said). */
static int prepare(struct pb_cli *cli, const char *email, const char *wf, const char *step,
                   struct pb_rules *rules, char cid[17], char *addr, const struct pb_workflow **w,
                   const struct pb_wf_step **st, size_t *index)
{
    if (pb_queue_rules(cli, rules, wf, step, w, st, index) != 0)
        return -1;
    if (pb_cli_find_contact(cli, email, cid, addr) != 0 || pb_cli_redis(cli) == NULL) {
        pb_rules_free(rules);
        return -1;
    }
    return 0;
}

static int cancelled(const redisReply *r, const char *addr, const char *wf, const char *step)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
        pb_cli_error("Redis: cancelling: an answer that is not the script's");
        return PB_EXIT_ERROR;
    }
    if (r->elements == 1 && step != NULL) {
        pb_cli_error("%s|%s of %s is not queued (state: %s): nothing cancelled", wf, step, addr,
                     r->element[0]->str);
        return PB_EXIT_ERROR;
    }
    if (r->elements == 1) {
        pb_cli_error("%s has no queued follow-up step%s%s: nothing cancelled", addr,
                     wf ? " of workflow " : "", wf ? wf : "");
        return PB_EXIT_ERROR;
    }
    printf("%s: cancelled", addr);
    for (size_t i = 1; i < r->elements; i++)
        printf("%s %s", i > 1 ? "," : "", r->element[i]->str);
    printf(" (skipped, \"" CANCEL_REASON "\")\n");
    return PB_EXIT_OK;
}

static int cancel(struct pb_cli *cli, const char *email, const char *wf, const char *step)
{
    static const char *const keys[] = { PB_KEY_WF_DUE, PB_KEY_WF_LOG, PB_KEY_CONTACT, NULL };
    struct pb_rules rules = { 0 };
    const struct pb_workflow *w = NULL;
    const struct pb_wf_step *st = NULL;
    char cid[17], addr[300];
    size_t index;
    redisReply *r;
    int rc;

    if (prepare(cli, email, wf, step, &rules, cid, addr, &w, &st, &index) != 0)
        return PB_EXIT_ERROR;
    r = run(cli, cancel_body, keys, cid, (const char *const[]){ cid, wf ? wf : "",
            step ? step : "", CANCEL_REASON, NULL }, "cancelling");
    rc = r ? cancelled(r, addr, wf, step) : PB_EXIT_ERROR;
    if (r)
        freeReplyObject(r);
    pb_rules_free(&rules);
    return rc;
}

int pb_queue_cancel(struct pb_cli *cli, int argc, char **argv)
{
    int rc = pb_cli_parse_simple(cli, &cancel_opts, argc, argv), n;

    if (rc >= 0)
        return rc;
    n = argc - optind;
    if (n < 1 || n > 3)
        return pb_cli_usage_error(&cancel_opts, "give an address, and a workflow and step "
                                  "if you like");
    return cancel(cli, argv[optind], n > 1 ? argv[optind + 1] : NULL,
                  n > 2 ? argv[optind + 2] : NULL);
}

static int resolved(const redisReply *r, const char *member, const char *addr, int sent,
                    const struct pb_workflow *w, size_t index)
{
    char at[32];

    if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
        pb_cli_error("Redis: resolving: an answer that is not the script's");
        return PB_EXIT_ERROR;
    }
    if (r->element[0]->str[0] == '-') {
        pb_cli_error("%s of %s is not uncertain (state: %s): nothing to resolve", member, addr,
                     r->elements > 1 ? r->element[1]->str : "?");
        return PB_EXIT_ERROR;
    }
    if (!sent)
        printf("%s of %s: not sent, back in the queue, due now\n", member, addr);
    else if (index + 1 < w->nsteps) {
        pb_cli_time(pb_event_now_ms() + w->steps[index + 1].delay_ms, at);
        printf("%s of %s: recorded as sent; the next step, %s, is due %s\n", member, addr,
               w->steps[index + 1].name, at);
    } else
        printf("%s of %s: recorded as sent (the workflow's last step)\n", member, addr);
    return PB_EXIT_OK;
}

static int resolve(struct pb_cli *cli, const char *email, const char *wf, const char *step,
                   int sent)
{
    static const char *const keys[] = {
        PB_KEY_WF_DUE, PB_KEY_WF_LOG, PB_KEY_WF_UNCERTAIN, PB_KEY_CONTACT, NULL
    };
    struct pb_rules rules = { 0 };
    const struct pb_workflow *w = NULL;
    const struct pb_wf_step *st = NULL;
    char cid[17], addr[300], *member, *delay;
    size_t index = 0;
    redisReply *r;
    int rc, last;

    if (prepare(cli, email, wf, step, &rules, cid, addr, &w, &st, &index) != 0)
        return PB_EXIT_ERROR;
    last = index + 1 >= w->nsteps;
    member = g_strdup_printf("%s|%s|%s", cid, wf, step);
    delay = g_strdup_printf("%lld", last ? 0 : w->steps[index + 1].delay_ms);
    r = run(cli, resolve_body, keys, cid, (const char *const[]){ member, sent ? "sent" : "not-sent",
            last ? "" : w->steps[index + 1].name, delay, NULL }, "resolving");
    rc = r ? resolved(r, member, addr, sent, w, index) : PB_EXIT_ERROR;
    if (r)
        freeReplyObject(r);
    g_free(member);
    g_free(delay);
    pb_rules_free(&rules);
    return rc;
}

int pb_queue_resolve(struct pb_cli *cli, int argc, char **argv)
{
    int help = 0, sent = 0, not_sent = 0, c;

    while ((c = pb_cli_getopt(cli, &resolve_opts, argc, argv, &help)) != -1) {
        if (c == '?')
            return PB_EXIT_USAGE;
        if (c == 's')
            sent = 1;
        else
            not_sent = 1;
    }
    if (help) {
        pb_cli_print_help(&resolve_opts, stdout);
        return PB_EXIT_OK;
    }
    if (sent == not_sent)
        return pb_cli_usage_error(&resolve_opts, "say what happened: --sent or --not-sent");
    if (argc - optind != 3)
        return pb_cli_usage_error(&resolve_opts, "give the address, the workflow and the step");
    return resolve(cli, argv[optind], argv[optind + 1], argv[optind + 2], sent);
}
