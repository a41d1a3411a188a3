/*
 * workflow_lua.c - the part of the batch script that starts and ends
 * workflows (workflows.h): generated from scorer.workflows like the
 * segments (segment_lua.c), so that a workflow starts in the same script
 * run as the segment change, signup or event that triggers it, and hence
 * exactly once: an entry delivered twice is acknowledged before and
 * changes nothing (docs/scorer.md, "Workflows").
 *
 * Starting writes, in the contact hash, wf:<workflow> (the start time,
 * HSETNX: a workflow runs once per contact) and wfs:<workflow>|<step> =
 * queued, and adds <contact>|<workflow>|<step> to the due-step queue at
 * the trigger's time plus the first step's delay. An exit event writes
 * wfx:<workflow>; the claim script (workflow_claim.c) skips what follows.
 * Event triggers are matched in C (patterns: pb_workflows_match), which
 * passes the numbers of the workflows an entry starts, and of the
 * not_opened workflows a human open may end, with the entry's campaign
 * (workflow_trigger.c). A date workflow's occurrence is the instance
 * <workflow>@<year> (workflow_date.c); its exit events end the latest one
 * (wfo:<workflow>).
 */
#include <stdio.h>
#include <string.h>
#include "workflows.h"

static const char log_function[] =
    "local WFCNT={}\n"              /* log entries by status, for the answer */
    "local function wf_log(cid,wf,st,status,why,t,camp)\n"
    "  local a={'MAXLEN','~',logmax,'*','contact',cid,'workflow',wf,"
    "'step',st,'status',status,'reason',why,'at',string.format('%d',t)}\n"
    "  if camp then a[#a+1]='campaign' a[#a+1]=camp end\n"
    "  redis.call('XADD',WFLOG,unpack(a))\n"
    "  WFCNT[status]=(WFCNT[status] or 0)+1\n"
    "end\n";

/* wf_start: the workflows of list (with the campaign that starts them,
 * remembered for a not_opened one); the number started. */
static const char functions[] =
    "local function wf_start(ck,cid,list,t,why,camp)\n"
    "  local n=0\n"
    "  for _,w in ipairs(list) do\n"
    "    if redis.call('HSETNX',ck,'wf:'..w[1],string.format('%d',t))==1 then\n"
    "      local due=t+w[3]\n"
    "      n=n+1\n"
    "      if camp and WFNO[w[1]] then redis.call('HSET',ck,'wfc:'..w[1],camp) end\n"
    "      redis.call('HSET',ck,'wfs:'..w[1]..'|'..w[2],'queued')\n"
    "      redis.call('ZADD',WFDUE,string.format('%d',due),cid..'|'..w[1]..'|'..w[2])\n"
    "      wf_log(cid,w[1],w[2],'queued',why,due,CAMP)\n"
    "    end\n"
    "  end\n"
    "  return n\n"
    "end\n"
    "local function wf_segment(ck,cid,seg,op,t)\n"
    "  local l=WFSEG[seg..'|'..op]\n"
    "  if l then wf_start(ck,cid,l,tonumber(t),op..' '..seg) end\n"
    "end\n";

/* wf_entry: exits, then starts; the numbers of the workflows the entry
 * starts are ARGV[wb..wb+nw-1], of the not_opened ones it may end
 * ARGV[ob..ob+no-1]; camp: the entry's campaign (nil unless one of the
 * two lists is not empty). */
static const char entry_function[] =
    "local function wf_entry(ck,cid,signup,typ,ts,wb,nw,ob,no,camp)\n"
    "  local x=WFEXIT[typ]\n"
    "  if x then for _,w in ipairs(x) do\n"
    "    local i=w\n"
    "    if WFOCC[w] then local o=redis.call('HGET',ck,'wfo:'..w) i=o and w..'@'..o end\n"
    "    if i and redis.call('HEXISTS',ck,'wf:'..i)==1 and "
    "redis.call('HSETNX',ck,'wfx:'..i,string.format('%d',ts))==1 then\n"
    "      wf_log(cid,i,'-','exited','event '..typ,ts)\n"
    "    end\n"
    "  end end\n"
    "  if no>0 then wf_opened(ck,cid,ts,camp,ob,no) end\n"
    "  if signup and #WFSIGNUP>0 then wf_start(ck,cid,WFSIGNUP,ts,'signup') end\n"
    "  if nw>0 then\n"
    "    local l={}\n"
    "    for j=0,nw-1 do l[#l+1]=WFLIST[tonumber(ARGV[wb+j])] end\n"
    "    wf_start(ck,cid,l,ts,'event '..typ,camp)\n"
    "  end\n"
    "end\n";

/* A Lua string literal: names are [a-z0-9_-], but quote anything else. */
static void quote(GString *out, const char *s)
{
    g_string_append_c(out, '\'');
    for (; *s; s++)
        if (g_ascii_isalnum(*s) || *s == '_' || *s == '-' || *s == '|')
            g_string_append_c(out, *s);
        else
            g_string_append_printf(out, "\\%03u", (unsigned)(unsigned char)*s);
    g_string_append_c(out, '\'');
}

/* {workflow, first step, its delay}: a not_opened one's counts from
 * the end of the time an open has */
static void start_item(GString *out, const struct pb_workflow *wf)
{
    g_string_append_c(out, '{');
    quote(out, wf->name);
    g_string_append_c(out, ',');
    quote(out, wf->steps[0].name);
    g_string_append_printf(out, ",%lld},", wf->steps[0].delay_ms
                           + (wf->trigger == PB_WF_NOT_OPENED ? wf->within_ms : 0));
}

/* name = { workflows whose trigger has this key } for every distinct key. */
static void keyed_table(GString *out, const char *table, const struct pb_workflows *w,
                        char *(*key_of)(const struct pb_workflow *))
{
    GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

    g_string_append_printf(out, "local %s={", table);
    for (size_t i = 0; i < w->count; i++) {
        char *key = key_of(&w->items[i]);
        if (key == NULL || g_hash_table_contains(seen, key)) {
            g_free(key);
            continue;
        }
        g_string_append_c(out, '[');
        quote(out, key);
        g_string_append(out, "]={");
        for (size_t j = i; j < w->count; j++) {
            char *other = key_of(&w->items[j]);
            if (other != NULL && strcmp(other, key) == 0)
                start_item(out, &w->items[j]);
            g_free(other);
        }
        g_string_append(out, "},");
        g_hash_table_add(seen, key);
    }
    g_string_append(out, "}\n");
    g_hash_table_destroy(seen);
}

static char *segment_key(const struct pb_workflow *wf)
{
    if (wf->trigger != PB_WF_ENTER && wf->trigger != PB_WF_LEAVE)
        return NULL;
    return g_strdup_printf("%s|%s", wf->segment_name, wf->trigger == PB_WF_ENTER ? "enter"
                                                                              : "leave");
}

static char *signup_key(const struct pb_workflow *wf)
{
    return wf->trigger == PB_WF_SIGNUP ? g_strdup("s") : NULL;
}

/* WFEXIT[type] = { workflows it ends } */
static void exit_table(GString *out, const struct pb_workflows *w)
{
    GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);

    g_string_append(out, "local WFEXIT={");
    for (size_t i = 0; i < w->count; i++)
        for (size_t e = 0; w->items[i].exit_events && w->items[i].exit_events[e]; e++) {
            const char *typ = w->items[i].exit_events[e];
            if (g_hash_table_contains(seen, typ))
                continue;
            g_hash_table_add(seen, (gpointer)typ);
            g_string_append_c(out, '[');
            quote(out, typ);
            g_string_append(out, "]={");
            for (size_t j = i; j < w->count; j++)
                if (w->items[j].exit_events
                    && g_strv_contains((const char *const *)w->items[j].exit_events, typ)) {
                    quote(out, w->items[j].name);
                    g_string_append_c(out, ',');
                }
            g_string_append(out, "},");
        }
    g_string_append(out, "}\n");
    g_hash_table_destroy(seen);
}

void pb_workflow_lua(const struct pb_workflows *w, size_t nseg, GString *out)
{
    GString *sig = g_string_new(NULL);

    g_string_append_printf(out, "local WFDUE,WFLOG=KEYS[%zu],KEYS[%zu]\nlocal WFON=%s\n",
                           6 + nseg, 7 + nseg, w->count > 0 ? "true" : "false");
    keyed_table(out, "WFSEG", w, segment_key);
    g_string_append(out, "local WFLIST={");      /* by number: the event triggers C matched */
    for (size_t i = 0; i < w->count; i++)
        start_item(out, &w->items[i]);
    g_string_append(out, "}\n");
    keyed_table(sig, "WFS", w, signup_key);
    /* WFS={['s']={...}}: the list alone is what wf_start takes */
    g_string_append_printf(out, "%slocal WFSIGNUP=WFS['s'] or {}\n", sig->str);
    exit_table(out, w);
    g_string_append(out, "local WFOCC={");     /* date workflows: instances per occurrence */
    for (size_t i = 0; i < w->count; i++)
        if (w->items[i].trigger == PB_WF_DATE) {
            g_string_append_c(out, '[');
            quote(out, w->items[i].name);
            g_string_append(out, "]=true,");
        }
    g_string_append(out, "}\n");
    g_string_append(out, log_function);
    pb_wf_opened_lua(w, out);   /* workflow_trigger.c: WFNO, wf_opened (before wf_start) */
    g_string_append(out, functions);
    g_string_append(out, entry_function);
    g_string_free(sig, TRUE);
}
