/*
 * apply.c - the scorer's one script per batch (apply.h): the only place
 * the scorer writes. For each entry it first runs XACK: 1 means the entry
 * was pending and is now done, so its effects are applied in this same
 * script; 0 means it was done before (delivered twice, or claimed by a
 * second consumer) and nothing happens. Acknowledging and applying are
 * thus one atomic step: no crash can leave an entry applied but pending,
 * or acknowledged but not applied (docs/scorer.md).
 *
 * Rules are matched in C (batch.c); the script is told each effect (rule,
 * points, repeat policy and scope) and keeps the repeat state, the
 * decayed score and the history. Every key it touches is in KEYS.
 */
#include <stdio.h>
#include <string.h>
#include "apply.h"
#include "events.h"
#include "segment_lua.h"
#include "workflows.h"

/* KEYS: stream, wake, segment log, suppressed, by-email, the segments'
 * sets, the workflows' due-step queue and log; then per contact: contact
 * hash, history list, repeat hash.
 * ARGV: 1 group, 2 now ms, 3 half-life ms, 4 floor, 5 cap ("" none),
 * 6 history ms, 7 history max, 8 entries, 9 segment log length; per
 * entry: kind, id, contact, contact key index (0 none), ts, eid, type,
 * human, attributes (n, then name value ...), interest segments (n,
 * numbers), workflows whose event trigger matched (n, numbers), not_opened
 * workflows a human open may end (n, numbers), the campaign ("" unless a
 * workflow needs it), effects (n; per effect: rule, points, repeat letter, scope,
 * limit). Answer: {one char per entry, last refusal, segment changes
 * (segment, entries, exits, ...), follow-up log entries (status, n, ...)}.
 * Between head and tail: the generated part (segment_lua.c). */
static const char script_head[] =
    "local stream,group=KEYS[1],ARGV[1]\n"
    "local now,hl=tonumber(ARGV[2]),tonumber(ARGV[3])\n"
    "local floor,cap=tonumber(ARGV[4]),tonumber(ARGV[5])\n"
    "local keep,hmax,n=tonumber(ARGV[6]),tonumber(ARGV[7]),tonumber(ARGV[8])\n"
    "local logmax=ARGV[9]\n"
    "local function fmt(x) return string.format('%.10g',x) end\n"
    "local function decay(v,dt)\n"
    "  if hl<=0 or dt<=0 then return v end\n"
    "  return v*math.pow(2,-dt/hl)\n"
    "end\n"
    /* repeat policy: may this rule score for this event? */
    "local function allowed(r,rule,mode,scope,lim,ts)\n"
    "  if mode=='e' then return true end\n"
    "  if mode=='o' then return redis.call('HSETNX',r,rule,1)==1 end\n"
    "  if mode=='m' or mode=='c' then\n"
    "    return redis.call('HSETNX',r,rule..'|'..mode..'|'..scope,1)==1 end\n"
    "  local f,day=rule..'|d',math.floor(ts/86400000)\n"
    "  local v=redis.call('HGET',r,f)\n"
    "  local d,c=-1,0\n"
    "  if v then local p=string.find(v,':')\n"
    "    d,c=tonumber(string.sub(v,1,p-1)),tonumber(string.sub(v,p+1)) end\n"
    "  if day<d then return true end\n"        /* a late event of a past day */
    "  if day>d then c=0 end\n"
    "  if c>=lim then return false end\n"
    "  redis.call('HSET',r,f,string.format('%d:%d',day,c+1))\n"
    "  return true\n"
    "end\n"
    /* points at time ts added to the lazily decayed score s as of t0 */
    "local function add(s,t0,pts,ts)\n"
    "  if ts>=t0 then s=decay(s,ts-t0)+pts t0=ts else s=s+decay(pts,t0-ts) end\n"
    "  if s<floor then s=floor end\n"
    "  if cap and s>cap then s=cap end\n"
    "  return s,t0\n"
    "end\n"
    /* the history: newest first, at most hmax, none older than keep */
    "local function log(h,lines)\n"
    "  if redis.call('LPUSH',h,unpack(lines))>hmax then redis.call('LTRIM',h,0,hmax-1) end\n"
    "  for j=1,4 do\n"
    "    local last=redis.call('LINDEX',h,-1)\n"
    "    if not last or tonumber(string.match(last,'^%d+'))>=now-keep then break end\n"
    "    redis.call('RPOP',h)\n"
    "  end\n"
    "end\n"
    /* one entry's effects: the rules its repeat state allows, one score
     * write and one history push for all of them */
    /* the contact hash as a table, read once per entry when there are
     * segments; h below is that table (kept current) or nil */
    "local function hash(ck)\n"
    "  local raw,h=redis.call('HGETALL',ck),{}\n"
    "  for j=1,#raw,2 do h[raw[j]]=raw[j+1] end\n"
    "  return h\n"
    "end\n"
    "local function effects(k,fx,nfx,ts,eid,h)\n"
    "  local c,s,t0,lines=KEYS[k],nil,nil,{}\n"
    "  for f=0,nfx-1 do\n"
    "    local b=fx+5*f\n"
    "    local rule,pts=ARGV[b],tonumber(ARGV[b+1])\n"
    "    if allowed(KEYS[k+2],rule,ARGV[b+2],ARGV[b+3],tonumber(ARGV[b+4]),ts) then\n"
    "      if s==nil then\n"
    "        local cur=h and {h['score'],h['score_at']} or redis.call('HMGET',c,'score','score_at')\n"
    "        s,t0=tonumber(cur[1]) or 0,tonumber(cur[2]) or ts\n"
    "      end\n"
    "      s,t0=add(s,t0,pts,ts)\n"
    "      lines[#lines+1]=string.format('%d',ts)..' '..rule..' '..fmt(pts)..' '..fmt(s)..' '..eid\n"
    "    end\n"
    "  end\n"
    "  if s==nil then return false end\n"
    "  local sv,tv=fmt(s),string.format('%d',t0)\n"
    "  redis.call('HSET',c,'score',sv,'score_at',tv)\n"
    "  if h then h['score'],h['score_at']=sv,tv end\n"
    "  log(KEYS[k+1],lines)\n"
    "  return true\n"
    "end\n";

/* The entries: attributes, activity, score, then the contact's segments. */
static const char script_tail[] =
    /* a profile or signup event's attributes ("" deletes one) */
    "local function set(ck,h,f,v)\n"
    "  if v=='' then redis.call('HDEL',ck,f) v=nil else redis.call('HSET',ck,f,v) end\n"
    "  if h then h[f]=v end\n"
    "end\n"
    "local function profile(ck,ab,na,kind,ts,cid,h)\n"
    "  for j=0,na-1 do\n"
    "    local f,v=ARGV[ab+2*j],ARGV[ab+2*j+1]\n"
    "    set(ck,h,f,v)\n"
    "    if kind=='s' and f=='email' and v~='' then redis.call('HSET',KEYS[5],v,cid) end\n"
    "  end\n"
    "  if kind=='s' and redis.call('HSETNX',ck,'created_at',string.format('%d',"
    "math.floor(ts/1000)))==1 and h then h['created_at']=string.format('%d',math.floor(ts/1000)) end\n"
    "end\n"
    /* field f of the contact hash := max(f, ts) */
    "local function latest(ck,h,f,ts)\n"
    "  local l\n"
    "  if h then l=tonumber(h[f]) else l=tonumber(redis.call('HGET',ck,f)) end\n"
    "  if not l or ts>l then set(ck,h,f,string.format('%d',ts)) end\n"
    "end\n"
    "local function entry(kind,cid,k,ts,eid,typ,human,ab,na,ib,ni,wb,fx,nfx)\n"
    "  local ck=KEYS[k]\n"
    "  local h=EVAL and hash(ck) or nil\n"
    "  if na>0 then profile(ck,ab,na,kind,ts,cid,h) end\n"
    "  if human=='1' then latest(ck,h,'last_human',ts) end\n"
    "  for j=0,ni-1 do latest(ck,h,'int:'..SEGNAME[tonumber(ARGV[ib+j])],ts) end\n"
    "  local scored=nfx>0 and effects(k,fx,nfx,ts,eid,h)\n"
    "  if EVAL then evaluate(k,cid,ts,'event '..typ..' '..eid,h) end\n"
    "  if WFON then wf_entry(ck,cid,kind,typ,ts,wb) end\n"
    "  return scored\n"
    "end\n"
    "local function wake(k,cid)\n"
    "  local due=redis.call('ZSCORE',KEYS[2],cid)\n"
    "  if not due or tonumber(due)>now then return false end\n"
    "  redis.call('ZREM',KEYS[2],cid) redis.call('HDEL',KEYS[k],'wake')\n"
    "  evaluate(k,cid,tonumber(due),'wake')\n"
    "  return true\n"
    "end\n"
    "local out,err,i={},'',10\n"
    "for e=1,n do\n"
    "  local kind,id,cid,k,ts,eid,typ,human=ARGV[i],ARGV[i+1],ARGV[i+2],tonumber(ARGV[i+3]),"
    "tonumber(ARGV[i+4]),ARGV[i+5],ARGV[i+6],ARGV[i+7]\n"
    "  local na=tonumber(ARGV[i+8]) local ab=i+9 i=ab+2*na\n"
    "  local ni=tonumber(ARGV[i]) local ib=i+1 i=ib+ni\n"
    "  local wb=i i=i+1+tonumber(ARGV[i]) i=i+2+tonumber(ARGV[i])\n"
    "  local nfx=tonumber(ARGV[i]) local fx=i+1 i=fx+5*nfx\n"
    "  local ok,a=true,false\n"
    "  if kind=='w' then ok,a=pcall(wake,k,cid) if ok and not a then out[e]='0' end\n"
    "  elseif kind=='r' then ok,a=pcall(evaluate,k,cid,now,'reload')\n"
    "  elseif redis.call('XACK',stream,group,id)==0 then out[e]='0'\n"
    "  elseif k>0 then ok,a=pcall(entry,kind,cid,k,ts,eid,typ,human,ab,na,ib,ni,wb,fx,nfx)\n"
    "  end\n"
    "  if not ok then out[e]='E' err=tostring(a and (a.err or a))\n"
    "  elseif not out[e] then out[e]=(kind=='e' or kind=='s') and a and '2' or '1' end\n"
    "end\n"
    /* the segment changes by segment and the follow-up log entries by status */
    "local sc,wc={},{}\n"
    "for _,g in ipairs(SEGORD) do sc[#sc+1]=g sc[#sc+1]=SEGCHG[g][1] sc[#sc+1]=SEGCHG[g][2] end\n"
    "for k,v in pairs(WFCNT) do wc[#wc+1]=k wc[#wc+1]=v end\n"
    "return {table.concat(out),err,sc,wc}\n";

char *pb_apply_script_new(const struct pb_rules *rules)
{
    GString *text = g_string_new(script_head);
    char *dates = pb_wf_date_lua(&rules->wf);      /* workflow_date.c */

    pb_workflow_lua(&rules->wf, rules->segs.count, text);
    pb_segment_lua(&rules->segs, dates, text);
    g_free(dates);
    g_string_append(text, script_tail);
    return g_string_free(text, FALSE);
}

void pb_apply_sha(const char *script, char sha[41])
{
    pb_event_script_sha(script, strlen(script), sha);
}

void pb_apply_init(struct pb_apply *a, const char *prefix, const char *stream_key,
                   const struct pb_rules *rules)
{
    const struct pb_segdefs *defs = &rules->segs;

    a->keys = g_ptr_array_new_with_free_func(g_free);
    a->args = g_ptr_array_new_with_free_func(g_free);
    a->contact_key = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    a->prefix = prefix;
    a->evaluate = defs->count > 0 || defs->nfit > 0 || defs->has_grade || rules->wf.count > 0;
    a->entries = 0;
    g_ptr_array_add(a->keys, g_strdup(stream_key));
    g_ptr_array_add(a->keys, g_strconcat(prefix, PB_KEY_WAKE, NULL));
    g_ptr_array_add(a->keys, g_strconcat(prefix, PB_KEY_SEGMENT_LOG, NULL));
    g_ptr_array_add(a->keys, g_strconcat(prefix, PB_KEY_SUPPRESSED, NULL));
    g_ptr_array_add(a->keys, g_strconcat(prefix, PB_KEY_BY_EMAIL, NULL));
    for (size_t i = 0; i < defs->count; i++)
        g_ptr_array_add(a->keys, g_strconcat(prefix, PB_KEY_SEGMENT, defs->items[i].name, NULL));
    g_ptr_array_add(a->keys, g_strconcat(prefix, PB_KEY_WF_DUE, NULL));
    g_ptr_array_add(a->keys, g_strconcat(prefix, PB_KEY_WF_LOG, NULL));
}

void pb_apply_free(struct pb_apply *a)
{
    g_ptr_array_free(a->keys, TRUE);
    g_ptr_array_free(a->args, TRUE);
    g_hash_table_destroy(a->contact_key);
    memset(a, 0, sizeof(*a));
}

/* The index in KEYS (1-based) of the contact's first key, added if new. */
static unsigned contact_keys(struct pb_apply *a, const char *contact)
{
    gpointer found = g_hash_table_lookup(a->contact_key, contact);
    unsigned first;

    if (found != NULL)
        return GPOINTER_TO_UINT(found);
    first = a->keys->len + 1;
    g_ptr_array_add(a->keys, g_strconcat(a->prefix, PB_KEY_CONTACT, contact, NULL));
    g_ptr_array_add(a->keys, g_strconcat(a->prefix, PB_KEY_CONTACT, contact, ":scores", NULL));
    g_ptr_array_add(a->keys, g_strconcat(a->prefix, PB_KEY_CONTACT, contact, ":rules", NULL));
    g_hash_table_insert(a->contact_key, g_strdup(contact), GUINT_TO_POINTER(first));
    return first;
}

static const char *repeat_scope(const struct pb_rule *rule, const char *msg,
                                const char *campaign)
{
    if (rule->repeat == PB_REPEAT_MESSAGE)
        return msg;
    if (rule->repeat == PB_REPEAT_CAMPAIGN)
        return campaign;
    return "";
}

static void arg(struct pb_apply *a, const char *s)
{
    g_ptr_array_add(a->args, g_strdup(s));
}

/* Whether the entry needs its contact's keys at all. */
static int needs_contact(const struct pb_apply *a, const struct pb_apply_entry *e)
{
    if (e->contact[0] == '\0' || e->ack_only)
        return 0;           /* campaign-level tracking, or inert: nothing per contact */
    return e->nrules > 0 || e->nattrs > 0 || a->evaluate || e->kind == PB_APPLY_WAKE
           || e->kind == PB_APPLY_REEVAL;
}

void pb_apply_add(struct pb_apply *a, const struct pb_apply_entry *e)
{
    int with = needs_contact(a, e);
    size_t nrules = with ? e->nrules : 0, nattrs = with ? e->nattrs : 0;
    size_t ninterest = with ? e->ninterest : 0;

    g_ptr_array_add(a->args, g_strdup_printf("%c", (char)e->kind));
    arg(a, e->id);
    arg(a, e->contact);
    g_ptr_array_add(a->args, g_strdup_printf("%u", with ? contact_keys(a, e->contact) : 0));
    g_ptr_array_add(a->args, g_strdup_printf("%lld", e->ts));
    arg(a, e->eid[0] ? e->eid : "-");
    arg(a, e->type[0] ? e->type : "-");
    arg(a, e->human ? "1" : "0");
    g_ptr_array_add(a->args, g_strdup_printf("%zu", nattrs));
    for (size_t i = 0; i < 2 * nattrs; i++)
        arg(a, e->attrs[i]);
    g_ptr_array_add(a->args, g_strdup_printf("%zu", ninterest));
    for (size_t i = 0; i < ninterest; i++)
        g_ptr_array_add(a->args, g_strdup_printf("%d", e->interest[i] + 1));
    g_ptr_array_add(a->args, g_strdup_printf("%zu", with ? e->nwf : 0));
    for (size_t i = 0; with && i < e->nwf; i++)
        g_ptr_array_add(a->args, g_strdup_printf("%d", e->wf[i] + 1));
    g_ptr_array_add(a->args, g_strdup_printf("%zu", with ? e->nwf_open : 0));
    for (size_t i = 0; with && i < e->nwf_open; i++)
        g_ptr_array_add(a->args, g_strdup_printf("%d", e->wf_open[i] + 1));
    arg(a, with && e->nwf + e->nwf_open > 0 && e->campaign ? e->campaign : "");
    g_ptr_array_add(a->args, g_strdup_printf("%zu", nrules));
    for (size_t i = 0; i < nrules; i++) {
        const struct pb_rule *r = e->rules[i];
        arg(a, r->name);
        g_ptr_array_add(a->args, g_strdup_printf("%.10g", r->points));
        g_ptr_array_add(a->args, g_strdup_printf("%c", (char)r->repeat));
        arg(a, repeat_scope(r, e->msg, e->campaign));
        g_ptr_array_add(a->args, g_strdup_printf("%d", r->per_day));
    }
    a->entries++;
}

char **pb_apply_command(const struct pb_apply *a, const char sha[41], const char *group,
                        long long now_ms, const struct pb_apply_settings *set, int *argc)
{
    GPtrArray *v = g_ptr_array_new();

    g_ptr_array_add(v, g_strdup("EVALSHA"));
    g_ptr_array_add(v, g_strdup(sha));
    g_ptr_array_add(v, g_strdup_printf("%u", a->keys->len));
    for (unsigned i = 0; i < a->keys->len; i++)
        g_ptr_array_add(v, g_strdup(a->keys->pdata[i]));
    g_ptr_array_add(v, g_strdup(group));
    g_ptr_array_add(v, g_strdup_printf("%lld", now_ms));
    g_ptr_array_add(v, g_strdup_printf("%lld", set->half_life_ms));
    g_ptr_array_add(v, g_strdup_printf("%d", set->floor));
    g_ptr_array_add(v, set->cap > 0 ? g_strdup_printf("%d", set->cap) : g_strdup(""));
    g_ptr_array_add(v, g_strdup_printf("%lld", set->history_ms));
    g_ptr_array_add(v, g_strdup_printf("%d", set->history_max));
    g_ptr_array_add(v, g_strdup_printf("%zu", a->entries));
    g_ptr_array_add(v, g_strdup_printf("%ld", set->segment_log_max));
    for (unsigned i = 0; i < a->args->len; i++)
        g_ptr_array_add(v, g_strdup(a->args->pdata[i]));
    *argc = (int)v->len;
    g_ptr_array_add(v, NULL);
    return (char **)g_ptr_array_free(v, FALSE);
}
