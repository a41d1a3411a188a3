/*
 * apply.c - the scorer's one script per batch (apply.h): the only place
 * the scorer writes. For each entry it first runs XACK: 1 means the entry
 * was pending and is now done, so its effects are applied in this same
 * script; 0 means it was done before (delivered twice, or claimed by a
 * second consumer) and nothing happens. Acknowledging and applying are
 * thus one atomic step: no crash can leave an entry applied but pending,
 * or acknowledged but not applied (docs/scorer.md).
 *
 * Rules are matched in C (batch.c); the script is told each effect (the
 * rule's number in its RULES table, generated here from the
 * configuration, and the scope) and keeps the repeat state, the decayed
 * score and the history. Every key it touches is in KEYS. What an entry
 * changes in the contact hash is written once, at its end (put/flush).
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
 * 6 history ms, 7 history max, 8 entries, 9 segment log length; then per
 * entry a head and what it announces. The head's first byte is the kind:
 *   a  acknowledge only: then the stream id;
 *   w, r  a wake-up, a re-evaluation: then contact, contact key index;
 *   e, s  an event, a signup: seven more bytes, human ('1' a human open
 *      or click) and the counts of attributes, interest segments,
 *      workflows started, not_opened workflows ended, effects and effects
 *      of rules limited per message or campaign, each as '0' + n (one
 *      string.byte reads them all); then stream id, contact, contact key
 *      index, ts, eid, type, the attributes (name, value ...), the
 *      interest segments' numbers, the workflows' numbers, the not_opened
 *      ones' numbers, the campaign ("" none: the segment-log and wf:log
 *      entries the event causes name it, and not_opened workflows need it)
 *      and per effect the rule's number in RULES, followed for
 *      a rule limited per message or campaign by its repeat field.
 * Answer: {one char per entry, last refusal, segment changes (segment,
 * entries, exits, ...), follow-up log entries (status, n, ...)}.
 * Between head and tail: the generated part (segment_lua.c). */
static const char script_head[] =
    /* replies as RESP3: a hash comes as a table of its fields, a missing
     * value as nil, a score as {double=...} */
    "redis.setresp(3)\n"
    "local stream,group=KEYS[1],ARGV[1]\n"
    "local now,hl=tonumber(ARGV[2]),tonumber(ARGV[3])\n"
    "local floor,cap=tonumber(ARGV[4]),tonumber(ARGV[5])\n"
    "local keep,hmax,n=tonumber(ARGV[6]),tonumber(ARGV[7]),tonumber(ARGV[8])\n"
    "local logmax=ARGV[9]\n"
    /* the campaign of the event being applied (nil for wake-ups, reloads
     * and events without one): segment-log and wf:log entries it causes
     * name it, so that reports can attribute them */
    "local CAMP\n"
    "local function fmt(x) return string.format('%.10g',x) end\n"
    "for _,r in ipairs(RULES) do r[5]=fmt(r[2]) end\n"
    "local function decay(v,dt)\n"
    "  if hl<=0 or dt<=0 then return v end\n"
    "  return v*math.pow(2,-dt/hl)\n"
    "end\n"
    /* the contact hash's writes of one entry (or evaluation): kept in P
     * (field -> value, false: delete) and made by flush in one HSET and
     * one HDEL; h, the hash as read (or nil), is kept current */
    "local P,PF,PN={},{},0\n"
    "local function put(h,f,v)\n"
    "  if h then h[f]=v end\n"
    "  if P[f]==nil then PN=PN+1 PF[PN]=f end\n"
    "  P[f]=v or false\n"
    "end\n"
    "local function unput() for j=1,PN do P[PF[j]]=nil PF[j]=nil end PN=0 end\n"
    "local FW,FD={},{}\n"
    "local function flush(ck)\n"
    "  if PN==0 then return end\n"
    "  local nw,nd=0,0\n"
    "  for j=1,PN do\n"
    "    local f=PF[j] local v=P[f]\n"
    "    if v then FW[nw+1]=f FW[nw+2]=v nw=nw+2 else nd=nd+1 FD[nd]=f end\n"
    "  end\n"
    "  unput()\n"
    "  if nw>0 then redis.call('HSET',ck,unpack(FW,1,nw)) end\n"
    "  if nd>0 then redis.call('HDEL',ck,unpack(FD,1,nd)) end\n"
    "end\n"
    /* repeat policy: may rule R (of RULES) score for this event? f: its
     * field in the repeat hash r (for m and c: passed with the effect) */
    "local function allowed(r,R,f,ts)\n"
    "  local mode=R[3]\n"
    "  if mode=='e' then return true end\n"
    "  if mode~='d' then return redis.call('HSETNX',r,f,'1')==1 end\n"
    "  local day=math.floor(ts/86400000)\n"
    "  local v=redis.call('HGET',r,f)\n"
    "  local d,c=-1,0\n"
    "  if v then local p=string.find(v,':')\n"
    "    d,c=tonumber(string.sub(v,1,p-1)),tonumber(string.sub(v,p+1)) end\n"
    "  if day<d then return true end\n"        /* a late event of a past day */
    "  if day>d then c=0 end\n"
    "  if c>=R[4] then return false end\n"
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
    /* the history: newest first, at most hmax, none older than keep; a
     * list that holds only these lines (of time ts) has no old end yet */
    "local function log(hk,lines,ts)\n"
    "  local len=redis.call('LPUSH',hk,unpack(lines))\n"
    "  if len>hmax then redis.call('LTRIM',hk,0,hmax-1) end\n"
    "  if len==#lines and ts>=now-keep then return end\n"
    "  for j=1,4 do\n"
    "    local last=redis.call('LINDEX',hk,'-1')\n"
    "    if not last or tonumber(string.match(last,'^%d+'))>=now-keep then break end\n"
    "    redis.call('RPOP',hk)\n"
    "  end\n"
    "end\n"
    /* the contact hash as a table (RESP3: Redis makes it), read once per
     * entry when there are segments; h below is that table (kept
     * current) or nil */
    "local function hash(ck) return redis.call('HGETALL',ck).map end\n"
    /* its seg: fields of segments no longer configured (or nil): looked
     * for by wake-ups and re-evaluations (every contact's after a
     * reload that removed a segment), not by each entry */
    "local SEGF={}\n"
    "local function stale_of(h)\n"
    "  local stale\n"
    "  for f in pairs(h) do\n"
    "    if string.byte(f)==115 and not SEGF[f] and string.find(f,'^seg:') then\n"
    "      stale=stale or {} stale[#stale+1]=f end\n"
    "  end\n"
    "  return stale\n"
    "end\n"
    /* one entry's effects: the rules its repeat state allows, one score
     * write and one history push for all of them */
    "local function effects(k,fb,nfx,ts,tss,eid,h)\n"
    "  local c,s,t0,t1,lines,sv,j=KEYS[k],nil,nil,nil,{},nil,fb\n"
    "  for _=1,nfx do\n"
    "    local r=RULES[ARGV[j]+0]\n"
    "    local f=r[6]\n"
    "    if r[7] then f=ARGV[j+1] j=j+2 else j=j+1 end\n"
    "    if allowed(KEYS[k+2],r,f,ts) then\n"
    "      if s==nil then\n"
    "        local a,b\n"
    "        if h then a,b=h['score'],h['score_at'] else\n"
    "          local cur=redis.call('HMGET',c,'score','score_at') a,b=cur[1],cur[2] end\n"
    "        s,t0=tonumber(a) or 0,tonumber(b)\n"
    "        t1=t0 or ts\n"
    "      end\n"
    "      s,t1=add(s,t1,r[2],ts)\n"
    "      sv=fmt(s)\n"
    "      lines[#lines+1]=tss..' '..r[1]..' '..r[5]..' '..sv..' '..eid\n"
    "    end\n"
    "  end\n"
    "  if s==nil then return false end\n"
    /* score_at moves to ts, or stays (an event replayed late) */
    "  put(h,'score',sv)\n"
    "  if t1~=t0 then put(h,'score_at',tss) end\n"
    "  log(KEYS[k+1],lines,ts)\n"
    "  return true\n"
    "end\n";

/* The entries: attributes, activity, score, then the contact's segments. */
static const char script_tail[] =
    /* a profile or signup event's attributes ("" deletes one) */
    "local function profile(ck,ab,na,signup,ts,cid,h)\n"
    "  for j=0,na-1 do\n"
    "    local f,v=ARGV[ab+2*j],ARGV[ab+2*j+1]\n"
    "    put(h,f,v~='' and v or nil)\n"
    "    if signup and f=='email' and v~='' then redis.call('HSET',KEYS[5],v,cid) end\n"
    "  end\n"
    "  if signup and redis.call('HSETNX',ck,'created_at',string.format('%d',"
    "math.floor(ts/1000)))==1 and h then h['created_at']=string.format('%d',math.floor(ts/1000)) end\n"
    "end\n"
    /* field f of the contact hash := max(f, ts) */
    "local function latest(ck,h,f,ts,tss)\n"
    "  local l\n"
    "  if h then l=tonumber(h[f]) else l=tonumber(redis.call('HGET',ck,f)) end\n"
    "  if not l or ts>l then put(h,f,tss) end\n"
    "end\n"
    "local function entry(signup,cid,k,ts,tss,eid,typ,human,ab,na,ib,ni,wb,nw,ob,no,camp,fb,nfx)\n"
    "  local ck=KEYS[k]\n"
    "  local h\n"
    "  if EVAL then h=hash(ck) end\n"
    "  if na>0 then profile(ck,ab,na,signup,ts,cid,h) end\n"
    "  if human then latest(ck,h,'last_human',ts,tss) end\n"
    "  for j=0,ni-1 do latest(ck,h,INTF[ARGV[ib+j]+0],ts,tss) end\n"
    "  local scored=nfx>0 and effects(k,fb,nfx,ts,tss,eid,h)\n"
    "  if EVAL then evaluate(k,cid,ts,tss,typ,eid,h,nil) end\n"
    "  if WFON then wf_entry(ck,cid,signup,typ,ts,wb,nw,ob,no,camp) end\n"
    "  flush(ck)\n"
    "  return scored\n"
    "end\n"
    /* a due wake-up: its entry in <p>wake is replaced (or removed) by
     * the evaluation's next one (wake -1: never the next one) */
    "local function wake(k,cid)\n"
    "  local due=redis.call('ZSCORE',KEYS[2],cid)\n"
    "  due=due and due.double\n"
    "  if not due or due>now then return false end\n"
    "  local h=hash(KEYS[k])\n"
    "  if next(h)==nil then redis.call('ZREM',KEYS[2],cid) return true end\n"
    "  local stale=stale_of(h)\n"
    "  h['wake']='-1'\n"
    "  evaluate(k,cid,due,string.format('%d',due),'wake',nil,h,stale)\n"
    "  flush(KEYS[k])\n"
    "  return true\n"
    "end\n"
    "local function reeval(k,cid)\n"
    "  evaluate(k,cid,now,ARGV[2],'reload',nil)\n"
    "  flush(KEYS[k])\n"
    "end\n"
    "local out,err,i={},'',10\n"
    "for e=1,n do\n"
    "  local kb,hu,na,ni,nw,no,nf,ns=string.byte(ARGV[i],1,8)\n"
    "  local ok,a=true,false\n"
    "  if kb==97 then\n"                                        /* a */
    "    if redis.call('XACK',stream,group,ARGV[i+1])==0 then out[e]='0' end\n"
    "    i=i+2\n"
    "  elseif kb==119 or kb==114 then\n"                        /* w, r */
    "    local cid,k=ARGV[i+1],ARGV[i+2]+0 i=i+3\n"
    "    if kb==119 then ok,a=pcall(wake,k,cid) if ok and not a then out[e]='0' end\n"
    "    else ok,a=pcall(reeval,k,cid) end\n"
    "  else\n"                                                  /* e, s */
    "    local id,cid,k,tss,eid,typ=ARGV[i+1],ARGV[i+2],ARGV[i+3]+0,ARGV[i+4],ARGV[i+5],ARGV[i+6]\n"
    "    na,ni,nw,no,nf,ns=na-48,ni-48,nw-48,no-48,nf-48,ns-48\n"
    "    local ab=i+7 local ib=ab+2*na local wb=ib+ni local ob=wb+nw local fb=ob+no\n"
    "    local camp=ARGV[fb] fb=fb+1\n"
    "    if camp=='' then camp=nil end\n"
    "    i=fb+nf+ns\n"
    "    if redis.call('XACK',stream,group,id)==0 then out[e]='0'\n"
    "    else CAMP=camp\n"                                    /* named in the logs' entries */
    "      ok,a=pcall(entry,kb==115,cid,k,tss+0,tss,eid,typ,hu==49,ab,na,ib,ni,wb,nw,ob,no,"
    "camp,fb,nf) CAMP=nil end\n"
    "  end\n"
    "  if not ok then out[e]='E' err=tostring(a and (a.err or a)) unput()\n"
    "  elseif not out[e] then out[e]=(kb==101 or kb==115) and a and '2' or '1' end\n"
    "end\n"
    /* the segment changes by segment and the follow-up log entries by status */
    "local sc,wc={},{}\n"
    "for _,g in ipairs(SEGORD) do sc[#sc+1]=g sc[#sc+1]=SEGCHG[g][1] sc[#sc+1]=SEGCHG[g][2] end\n"
    "for k,v in pairs(WFCNT) do wc[#wc+1]=k wc[#wc+1]=v end\n"
    "return {table.concat(out),err,sc,wc}\n";

/* RULES: per scoring rule (numbered from 1 in configuration order) its
 * name, points, repeat letter, per-day limit, the points as the history
 * writes them (set by the script), its field in the repeat hash (once:
 * the name; per day: <name>|d) and whether the field comes with each
 * effect instead (per message, per campaign: <name>|m|<message id>,
 * <name>|c|<campaign>). Names are [a-z0-9_-]. */
static void rules_table(const struct pb_rules *rules, GString *out)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];

    g_string_append(out, "local RULES={");
    for (size_t i = 0; i < rules->count; i++) {
        const struct pb_rule *r = &rules->items[i];
        int scoped = r->repeat == PB_REPEAT_MESSAGE || r->repeat == PB_REPEAT_CAMPAIGN;
        g_string_append_printf(out, "{'%s',%s,'%c',%d,false,'%s%s',%s},", r->name,
                               g_ascii_formatd(buf, sizeof(buf), "%.10g", r->points),
                               (char)r->repeat, r->per_day, r->name,
                               r->repeat == PB_REPEAT_DAILY ? "|d" : "",
                               scoped ? "true" : "false");
    }
    g_string_append(out, "}\n");
}

char *pb_apply_script_new(const struct pb_rules *rules)
{
    /* the globals the script uses as locals of its chunk: an upvalue is
     * found faster than a global */
    GString *text = g_string_new("local redis,string,math,table,tonumber,tostring,ipairs,pairs,"
                                 "next,unpack,pcall=redis,string,math,table,tonumber,tostring,"
                                 "ipairs,pairs,next,unpack,pcall\n");
    char *dates = pb_wf_date_lua(&rules->wf);      /* workflow_date.c */

    rules_table(rules, text);
    g_string_append(text, script_head);

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
    a->rules = rules;
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

/* The repeat hash field of a rule limited per message or campaign, NULL
 * for the others (the script knows their field). */
static char *repeat_field(const struct pb_rule *rule, const char *msg, const char *campaign)
{
    if (rule->repeat == PB_REPEAT_MESSAGE)
        return g_strdup_printf("%s|m|%s", rule->name, msg);
    if (rule->repeat == PB_REPEAT_CAMPAIGN)
        return g_strdup_printf("%s|c|%s", rule->name, campaign);
    return NULL;
}

static void arg(struct pb_apply *a, const char *s)
{
    g_ptr_array_add(a->args, g_strdup(s));
}

static void arg_number(struct pb_apply *a, long long v)
{
    g_ptr_array_add(a->args, g_strdup_printf("%lld", v));
}

/* Whether the entry needs its contact's keys at all. */
static int needs_contact(const struct pb_apply *a, const struct pb_apply_entry *e)
{
    if (e->contact[0] == '\0' || e->ack_only)
        return 0;           /* campaign-level tracking, or inert: nothing per contact */
    return e->nrules > 0 || e->nattrs > 0 || a->evaluate;
}

/* A count in the head: one byte, '0' + n; no count exceeds
 * PB_APPLY_COUNT_MAX (batch.c matches at most that many). */
G_STATIC_ASSERT(PB_SC_ATTRS_MAX + 1 <= PB_APPLY_COUNT_MAX);
static char count_byte(size_t n)
{
    return (char)('0' + n);
}

static void numbers(struct pb_apply *a, const int *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        arg_number(a, list[i] + 1);
}

/* e, s: the head, the entry, its attributes, interest segments,
 * workflows and effects (the layout: script_head's comment). */
static void add_event(struct pb_apply *a, const struct pb_apply_entry *e)
{
    char head[9] = { (char)e->kind, e->human ? '1' : '0', count_byte(e->nattrs),
                     count_byte(e->ninterest), count_byte(e->nwf), count_byte(e->nwf_open),
                     count_byte(e->nrules), '0', '\0' };
    size_t scoped = 0;

    for (size_t i = 0; i < e->nrules; i++)
        scoped += e->rules[i]->repeat == PB_REPEAT_MESSAGE
                  || e->rules[i]->repeat == PB_REPEAT_CAMPAIGN;
    head[7] = count_byte(scoped);

    arg(a, head);
    arg(a, e->id);
    arg(a, e->contact);
    arg_number(a, contact_keys(a, e->contact));
    arg_number(a, e->ts);
    arg(a, e->eid[0] ? e->eid : "-");
    arg(a, e->type[0] ? e->type : "-");
    for (size_t i = 0; i < 2 * e->nattrs; i++)
        arg(a, e->attrs[i]);
    numbers(a, e->interest, e->ninterest);
    numbers(a, e->wf, e->nwf);
    numbers(a, e->wf_open, e->nwf_open);
    arg(a, e->campaign ? e->campaign : "");     /* named in the logs' entries */
    for (size_t i = 0; i < e->nrules; i++) {
        char *field = repeat_field(e->rules[i], e->msg, e->campaign);
        arg_number(a, e->rules[i] - a->rules->items + 1);
        if (field != NULL)
            g_ptr_array_add(a->args, field);
    }
}

void pb_apply_add(struct pb_apply *a, const struct pb_apply_entry *e)
{
    if (e->kind == PB_APPLY_WAKE || e->kind == PB_APPLY_REEVAL) {
        arg(a, e->kind == PB_APPLY_WAKE ? "w" : "r");
        arg(a, e->contact);
        arg_number(a, contact_keys(a, e->contact));
    } else if (!needs_contact(a, e)) {
        arg(a, "a");
        arg(a, e->id);
    } else {
        add_event(a, e);
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
