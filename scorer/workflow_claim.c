/*
 * workflow_claim.c - the two scripts a due follow-up step passes through
 * (workflow_run.h), so that it is never sent twice: the claim moves it
 * from <p>wf:due into <p>wf:inflight (with the scorer's name and time)
 * after re-checking its conditions, before anything is submitted; the
 * settle records the outcome and removes the in-flight mark, only if
 * the mark is still the one this scorer wrote. A mark found later (the
 * scorer died while submitting) is settled as uncertain by the runner,
 * never resent. Both are sent by their SHA1 (lib/redis_script.h). A
 * variant step's variant is recorded in the contact hash at the claim
 * (wfv:<workflow>|<step>) and named in its log entries.
 * docs/scorer.md ("Workflows").
 */
#include <stdio.h>
#include <string.h>
#include "events.h"
#include "redis_script.h"
#include "workflow_run.h"


/* KEYS: due, in flight, suppressed, log; per item: contact hash, the
 * condition's segment set (the queue when none). ARGV: now, log length,
 * owner, n, frequency cap (0 none), its period ms; per item: member,
 * kind, tag, next step, its delay, condition's segment name or "",
 * variant or "". Answer per item: {code, reason, contact hash}, then the
 * log entries written by status (status, n, ...). A send
 * step within the cap reserves its place in the contact's wfcap (times
 * of recent sends); one over it goes back into the queue for when the
 * oldest send leaves the period (code 'f'). A claimed send step's
 * variant is written to wfv:<workflow>|<step> (removed for a plain one). */
static const char claim_body[] =
    "local DUE,INF,SUP,WLOG=KEYS[1],KEYS[2],KEYS[3],KEYS[4]\n"
    "%s"
    "local function tags(ck,tag,add)\n"
    "  local l,found={},false\n"
    "  for x in string.gmatch(redis.call('HGET',ck,'tags') or '','[^,]+') do\n"
    "    local t=string.match(x,'^%%s*(.-)%%s*$')\n"
    "    if string.lower(t)==string.lower(tag) then found=true if add then l[#l+1]=t end\n"
    "    elseif t~='' then l[#l+1]=t end\n"
    "  end\n"
    "  if add and not found then l[#l+1]=tag end\n"
    "  if #l==0 then redis.call('HDEL',ck,'tags')\n"
    "  else redis.call('HSET',ck,'tags',table.concat(l,',')) end\n"
    "end\n"
    "local CAP,PER=tonumber(ARGV[5]),tonumber(ARGV[6])\n"
    "local function capped(ck,m,cid,wf,st,var)\n"
    "  local keep,oldest={},nil\n"
    "  for x in string.gmatch(redis.call('HGET',ck,'wfcap') or '','[^,]+') do\n"
    "    local t=tonumber(x)\n"
    "    if t and t>now-PER then keep[#keep+1]=x if not oldest or t<oldest then oldest=t end end\n"
    "  end\n"
    "  if #keep>=CAP then\n"
    "    redis.call('ZADD',DUE,string.format('%%d',oldest+PER),m)\n"
    "    log(cid,wf,st,'deferred','frequency cap',var) return true\n"
    "  end\n"
    "  keep[#keep+1]=string.match(ARGV[3],'(%%d+)$')\n"      /* the owner's time */
    "  redis.call('HSET',ck,'wfcap',table.concat(keep,','))\n"
    "  return false\n"
    "end\n"
    "local function one(i,b)\n"
    "  local m,kind,tag,nx,nd,hs,var=ARGV[b],ARGV[b+1],ARGV[b+2],ARGV[b+3],ARGV[b+4],ARGV[b+5],"
    "ARGV[b+6]\n"
    "  local ck,sk=KEYS[3+2*i],KEYS[4+2*i]\n"
    "  local d=redis.call('ZSCORE',DUE,m)\n"
    "  if not d or tonumber(d)>now then return {'-',''} end\n"
    "  redis.call('ZREM',DUE,m)\n"
    "  local cid,wf,st=split(m)\n"
    "  local sf='wfs:'..wf..'|'..st\n"
    "  if redis.call('HGET',ck,sf)~='queued' then return {'-',''} end\n"
    "  local why\n"
    "  if kind=='x' then why='workflow or step no longer configured'\n"
    "  elseif redis.call('SISMEMBER',SUP,cid)==1 then why='suppressed'\n"
    "  elseif redis.call('HEXISTS',ck,'wfx:'..wf)==1 then why='exited'\n"
    "  elseif hs~='' and not redis.call('ZSCORE',sk,cid) then why='not in segment '..hs end\n"
    "  if why then\n"
    "    redis.call('HSET',ck,sf,'skipped') log(cid,wf,st,'skipped',why)\n"
    "    if string.sub(why,1,4)=='not ' then queue_next(ck,cid,wf,st,nx,nd) end\n"
    "    return {'k',why}\n"
    "  end\n"
    "  if kind=='t' or kind=='u' then\n"
    "    tags(ck,tag,kind=='t') redis.call('HSET',ck,sf,'done')\n"
    "    log(cid,wf,st,'done',(kind=='t' and 'tag ' or 'untag ')..tag)\n"
    "    queue_next(ck,cid,wf,st,nx,nd) return {'d',''}\n"
    "  end\n"
    "  if kind=='s' and CAP>0 and capped(ck,m,cid,wf,st,var) then return {'f',''} end\n"
    "  if var~='' then redis.call('HSET',ck,'wfv:'..wf..'|'..st,var)\n"
    "  elseif kind=='s' then redis.call('HDEL',ck,'wfv:'..wf..'|'..st) end\n"
    "  redis.call('HSET',ck,sf,'inflight') redis.call('HSET',INF,m,ARGV[3])\n"
    "  return {'c','',redis.call('HGETALL',ck)}\n"
    "end\n"
    "local out,b={},7\n"
    "for i=1,tonumber(ARGV[4]) do out[i]=one(i,b) b=b+7 end\n"
    "out[#out+1]=counts()\n"
    "return out\n";

/* KEYS: due, in flight, log, uncertain; per item: contact hash. ARGV:
 * now, log length, n; per item: member, owner, status, reason, retry at,
 * next step, its delay, its frequency-cap reservation ("" none: released
 * unless sent or uncertain). Answer: one character per item ('1'
 * settled, '-' its mark was not owner any more), the log entries written
 * by status (status, n, ...). The log entry names the variant the claim
 * recorded. */
static const char settle_body[] =
    "local DUE,INF,WLOG,UNC=KEYS[1],KEYS[2],KEYS[3],KEYS[4]\n"
    "%s"
    "local function release(ck,res)\n"
    "  local l,done={},false\n"
    "  for x in string.gmatch(redis.call('HGET',ck,'wfcap') or '','[^,]+') do\n"
    "    if x==res and not done then done=true else l[#l+1]=x end\n"
    "  end\n"
    "  if #l==0 then redis.call('HDEL',ck,'wfcap')\n"
    "  else redis.call('HSET',ck,'wfcap',table.concat(l,',')) end\n"
    "end\n"
    "local out,b={},4\n"
    "for i=1,tonumber(ARGV[3]) do\n"
    "  local m,own,status,why,at,nx,nd,res=ARGV[b],ARGV[b+1],ARGV[b+2],ARGV[b+3],ARGV[b+4],"
    "ARGV[b+5],ARGV[b+6],ARGV[b+7]\n"
    "  local ck=KEYS[4+i] b=b+8\n"
    "  if redis.call('HGET',INF,m)~=own then out[i]='-' else\n"
    "    out[i]='1' redis.call('HDEL',INF,m)\n"
    "    if res~='' and status~='sent' and status~='uncertain' then release(ck,res) end\n"
    "    local cid,wf,st=split(m)\n"
    "    local sf='wfs:'..wf..'|'..st\n"
    "    local var=redis.call('HGET',ck,'wfv:'..wf..'|'..st)\n"
    "    if status=='retry' or status=='deferred' then\n"
    "      redis.call('HSET',ck,sf,'queued')\n"
    "      if status=='retry' then redis.call('HINCRBY',ck,'wft:'..wf..'|'..st,1) end\n"
    "      redis.call('ZADD',DUE,at,m) log(cid,wf,st,status,why,var)\n"
    "    else\n"
    "      redis.call('HSET',ck,sf,status) log(cid,wf,st,status,why,var)\n"
    "      if status=='uncertain' then redis.call('ZADD',UNC,ARGV[1],m)\n"
    "      else queue_next(ck,cid,wf,st,nx,nd) end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return {table.concat(out),counts()}\n";

static struct pb_script claim_script, settle_script;

/* The script of body (its text made once, kept for the process). */
static const struct pb_script *script_of(struct pb_script *sc, const char *body)
{
    if (sc->text == NULL)
        pb_script_init(sc, g_strdup_printf(body, pb_wf_script_common));
    return sc;
}

static void add(GPtrArray *v, const char *s)
{
    g_ptr_array_add(v, g_strdup(s));
}

static void key(GPtrArray *v, const struct pb_scorer *s, const char *name, const char *id)
{
    g_ptr_array_add(v, g_strconcat(s->conf->redis.prefix, name, id, NULL));
}

/* The script with keys, then args; its reply (NULL: logged, dropped). */
static redisReply *run(struct pb_scorer *s, const struct pb_script *sc, const GPtrArray *keys,
                       const GPtrArray *args, const char *what)
{
    const char **v = g_new(const char *, keys->len + args->len);
    redisReply *r;

    memcpy(v, keys->pdata, sizeof(*v) * keys->len);
    memcpy(v + keys->len, args->pdata, sizeof(*v) * args->len);
    r = pb_script_run(s->c, sc, (int)keys->len, (int)(keys->len + args->len), v);
    g_free(v);
    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        pb_scorer_fail(s, r, what);
        return NULL;
    }
    return r;
}

/* The next step's name and delay, "" and 0 after the last. */
static void next_args(GPtrArray *a, const struct pb_wf_item *it)
{
    int has = it->wf != NULL && !it->no_next && it->index + 1 < it->wf->nsteps;

    add(a, has ? it->wf->steps[it->index + 1].name : "");
    g_ptr_array_add(a, g_strdup_printf("%lld", has ? it->wf->steps[it->index + 1].delay_ms : 0));
}

static void claim_item_args(struct pb_scorer *s, GPtrArray *k, GPtrArray *a,
                            const struct pb_wf_item *it)
{
    const struct pb_wf_step *st = it->step;
    int seg = st ? st->if_segment : -1;

    key(k, s, PB_KEY_CONTACT, it->cid);
    if (seg >= 0)
        key(k, s, PB_KEY_SEGMENT, s->rules->segs.items[seg].name);
    else
        key(k, s, PB_KEY_WF_DUE, "");
    add(a, it->member);
    g_ptr_array_add(a, g_strdup_printf("%c", st ? (char)st->kind : 'x'));
    add(a, st && st->tag ? st->tag : "");
    next_args(a, it);
    add(a, seg >= 0 ? s->rules->segs.items[seg].name : "");
    add(a, it->variant ? it->variant->name : "");
}

static void claim_answer(struct pb_wf_item *it, const redisReply *e)
{
    it->code = '-';
    if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 || e->element[0]->type != REDIS_REPLY_STRING)
        return;
    it->code = e->element[0]->str[0];
    if (e->element[1]->type == REDIS_REPLY_STRING)
        snprintf(it->reason, sizeof(it->reason), "%s", e->element[1]->str);
    if (it->code != 'c' || e->elements < 3)
        return;
    it->hash = g_ptr_array_new_with_free_func(g_free);
    for (size_t j = 0; j < e->element[2]->elements; j++)
        add(it->hash, e->element[2]->element[j]->str ? e->element[2]->element[j]->str : "");
}

/* A script's keys and arguments started: the four global keys named,
 * now and the log length as the first arguments. */
static void start(const struct pb_scorer *s, const char *const names[4], GPtrArray **k,
                  GPtrArray **a)
{
    *k = g_ptr_array_new_with_free_func(g_free);
    *a = g_ptr_array_new_with_free_func(g_free);
    for (int i = 0; i < 4; i++)
        key(*k, s, names[i], "");
    g_ptr_array_add(*a, g_strdup_printf("%lld", s->now_ms()));
    g_ptr_array_add(*a, g_strdup_printf("%ld", s->conf->scorer.segment_log_maxlen));
}

int pb_wf_claim(struct pb_scorer *s, GPtrArray *items, const char *owner)
{
    static const char *const names[4] = {
        PB_KEY_WF_DUE, PB_KEY_WF_INFLIGHT, PB_KEY_SUPPRESSED, PB_KEY_WF_LOG
    };
    GPtrArray *k, *a;
    redisReply *r;

    start(s, names, &k, &a);
    add(a, owner);
    g_ptr_array_add(a, g_strdup_printf("%u", items->len));
    g_ptr_array_add(a, g_strdup_printf("%d", s->conf->scorer.workflow_cap));
    g_ptr_array_add(a, g_strdup_printf("%lld", s->conf->scorer.workflow_cap_days * 86400000LL));
    for (unsigned i = 0; i < items->len; i++)
        claim_item_args(s, k, a, items->pdata[i]);
    r = run(s, script_of(&claim_script, claim_body), k, a, "the workflow claim script");
    g_ptr_array_free(k, TRUE);
    g_ptr_array_free(a, TRUE);
    if (r == NULL)
        return -1;
    for (unsigned i = 0; i < items->len; i++) {
        struct pb_wf_item *it = items->pdata[i];
        if (r->type == REDIS_REPLY_ARRAY && i < r->elements)
            claim_answer(it, r->element[i]);
        if (it->code == 'c')
            snprintf(it->owner, sizeof(it->owner), "%s", owner);
    }
    if (r->type == REDIS_REPLY_ARRAY && r->elements > items->len)
        pb_sc_metrics_followups(&s->metrics, r->element[items->len]);
    freeReplyObject(r);
    return 0;
}

/* The time a capped send step's claim reserved in wfcap (that of its
 * in-flight mark "<scorer> <ms>"), or "". */
static const char *reservation(const struct pb_scorer *s, const struct pb_wf_item *it)
{
    const char *sp = strrchr(it->owner, ' ');

    if (s->conf->scorer.workflow_cap <= 0 || it->step == NULL || it->step->kind != PB_WF_SEND
        || sp == NULL)
        return "";
    return sp + 1;
}

int pb_wf_settle(struct pb_scorer *s, GPtrArray *items)
{
    static const char *const names[4] = {
        PB_KEY_WF_DUE, PB_KEY_WF_INFLIGHT, PB_KEY_WF_LOG, PB_KEY_WF_UNCERTAIN
    };
    GPtrArray *k, *a;
    redisReply *r;

    start(s, names, &k, &a);
    g_ptr_array_add(a, g_strdup_printf("%u", items->len));
    for (unsigned i = 0; i < items->len; i++) {
        const struct pb_wf_item *it = items->pdata[i];
        key(k, s, PB_KEY_CONTACT, it->cid);
        add(a, it->member);
        add(a, it->owner);
        add(a, it->status);
        add(a, it->reason);
        g_ptr_array_add(a, g_strdup_printf("%lld", it->retry_at));
        next_args(a, it);
        add(a, reservation(s, it));
    }
    r = run(s, script_of(&settle_script, settle_body), k, a, "the workflow settle script");
    g_ptr_array_free(k, TRUE);
    g_ptr_array_free(a, TRUE);
    if (r == NULL)
        return -1;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2)
        pb_sc_metrics_followups(&s->metrics, r->element[1]);
    freeReplyObject(r);
    return 0;
}

void pb_wf_item_free(struct pb_wf_item *it)
{
    if (it == NULL)
        return;
    g_free(it->member);
    g_free(it->cid);
    g_free(it->wfname);
    g_free(it->stepname);
    if (it->hash != NULL)
        g_ptr_array_free(it->hash, TRUE);
    g_free(it);
}

int pb_wf_item_parse(struct pb_wf_item *it, const char *member, const struct pb_workflows *w)
{
    char **p = g_strsplit(member, "|", 4);

    if (g_strv_length(p) != 3 || !pb_scorer_contact_ok(p[0]) || !p[1][0] || !p[2][0]) {
        g_strfreev(p);
        return -1;
    }
    it->member = g_strdup(member);
    it->cid = p[0];
    it->wfname = p[1];
    it->stepname = p[2];
    g_free(p);
    it->wf = pb_wf_instance_find(w, it->wfname, &it->occurrence);     /* workflow_date.c */
    it->step = it->wf ? pb_wf_step_find(it->wf, it->stepname, &it->index) : NULL;
    if (it->step == NULL)
        it->wf = NULL;
    else
        it->variant = pb_wf_variant_pick(it->wf, it->step, it->cid);
    return 0;
}

const char *pb_wf_item_field(const struct pb_wf_item *it, const char *name)
{
    for (unsigned i = 0; it->hash != NULL && i + 1 < it->hash->len; i += 2)
        if (strcmp(it->hash->pdata[i], name) == 0)
            return it->hash->pdata[i + 1];
    return NULL;
}
