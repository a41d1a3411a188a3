/*
 * segment_lua.c - the part of the batch script that the configuration
 * decides: fit rules, grade bands and segments of scorer.fit,
 * scorer.grade and scorer.segments turned into Lua (segment_lua.h), so
 * that the batch script evaluates a contact's whole state in the same
 * run that changes it, and no definition travels with each batch. A
 * reload generates it again: a new script text, a new SHA.
 *
 * What it defines for the batch script (apply.c): EVAL (whether there is
 * anything to evaluate), SEGNAME (the segments' names, configuration
 * order; their sets are KEYS[5 + i]) and evaluate(k, cid, t, tss, cause,
 * ceid, h, stale), which recomputes fit, grade and every membership of
 * the contact whose hash is KEYS[k] (h: as read, or nil to read it),
 * records each entry and exit at t (tss: the same as text; the cause is
 * cause, or "event <cause> <ceid>") through segment_changed (the hook: it
 * calls the workflows' wf_segment, and counts them by segment in SEGCHG
 * for the script's answer) and sets the contact's next wake-up in
 * <p>wake; it writes the hash through the caller's put (apply.c).
 * A hook text given by the caller (the date workflows' wf_dates,
 * workflow_date.c) goes after the helpers, which it may use, and evaluate
 * calls it before the wake-up is set.
 * docs/scorer.md ("Segments").
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include "segment_lua.h"

/* Helpers every generated script has: dates, the next wake-up, tags. */
static const char helpers[] =
    "local DAY=86400000\n"
    "local nxt\n"
    "local function at(t) if t>now and (nxt==nil or t<nxt) then nxt=t end end\n"
    "local function dfc(y,m,d)\n"          /* days since 1970 of a civil date */
    "  if m<=2 then y=y-1 end\n"
    "  local era=math.floor(y/400) local yoe=y-era*400\n"
    "  local doy=math.floor((153*((m+9)%12)+2)/5)+d-1\n"
    "  return era*146097+yoe*365+math.floor(yoe/4)-math.floor(yoe/100)+doy-719468\n"
    "end\n"
    "local function year_of(z)\n"          /* the civil year of day z */
    "  z=z+719468\n"
    "  local era=math.floor(z/146097) local doe=z-era*146097\n"
    "  local yoe=math.floor((doe-math.floor(doe/1460)+math.floor(doe/36524)"
    "-math.floor(doe/146096))/365)\n"
    "  local doy=doe-(365*yoe+math.floor(yoe/4)-math.floor(yoe/100))\n"
    "  local mp=math.floor((5*doy+2)/153)\n"
    "  if mp>=10 then return yoe+era*400+1 end\n"
    "  return yoe+era*400\n"
    "end\n"
    "local function ymd(b)\n"             /* YYYY-MM-DD or --MM-DD: y (or nil), m, d */
    "  if not b then return nil end\n"
    "  local y,m,d=string.match(b,'^(%d%d%d%d)%-(%d%d)%-(%d%d)$')\n"
    "  if not y then m,d=string.match(b,'^%-%-(%d%d)%-(%d%d)$') end\n"
    "  if not m then return nil end\n"
    "  return tonumber(y),tonumber(m),tonumber(d)\n"
    "end\n"
    "local function bday(h) return ymd(h['birthday']) end\n"
    "local function next_bday(m,d,from)\n"  /* day of the next birthday on or after from */
    "  local y=year_of(from) local n=dfc(y,m,d)\n"
    "  if n<from then n=dfc(y+1,m,d) end\n"
    "  return n\n"
    "end\n"
    "local function bday_within(h,days)\n"
    "  local _,m,d=bday(h) if not m then return false end\n"
    "  local today=math.floor(now/DAY) local nb=next_bday(m,d,today)\n"
    "  if nb-today<days then at((nb+1)*DAY) return true end\n"
    "  at((nb-days+1)*DAY) return false\n"
    "end\n"
    "local function age_in(h,lo,hi)\n"
    "  local y,m,d=bday(h) if not y then return false end\n"
    "  local today=math.floor(now/DAY) local ty=year_of(today) local a=ty-y\n"
    "  if dfc(ty,m,d)>today then a=a-1 end\n"
    "  at(next_bday(m,d,today+1)*DAY)\n"
    "  return a>=lo and a<=hi\n"
    "end\n"
    "local function lower(v) return v and string.lower(v) end\n"
    "local function inr(v,lo,hi) v=tonumber(v) return v~=nil and v>=lo and v<=hi end\n"
    "local function has_tag(tags,t)\n"
    "  if not tags then return false end\n"
    "  for x in string.gmatch(string.lower(tags),'[^,]+') do\n"
    "    if string.match(x,'^%s*(.-)%s*$')==t then return true end\n"
    "  end\n"
    "  return false\n"
    "end\n"
    "local function since(t,days)\n"      /* time t + days is still ahead */
    "  if t==nil or now>=t+days*DAY then return false end\n"
    "  at(t+days*DAY) return true\n"
    "end\n"
    /* lh: last_human as a number (or nil) */
    "local function dormant(h,lh,days)\n"
    "  local r=lh\n"
    "  if r==nil and tonumber(h['first_seen']) then r=tonumber(h['first_seen'])*1000 end\n"
    "  if r==nil and tonumber(h['created_at']) then r=tonumber(h['created_at'])*1000 end\n"
    "  if r==nil then return false end\n"
    "  if now>=r+days*DAY then return true end\n"
    "  at(r+days*DAY) return false\n"
    "end\n"
    /* the next time decay takes the score s (as of t0) across a
     * threshold: BTP holds the positive ones, largest first, BTN the
     * negative ones, farthest from 0 first, so their crossing times
     * come in order and the first after now is the wake-up */
    "local LN2=math.log(2)\n"
    "local function crossings(s,t0)\n"
    "  if hl<=0 or s==0 then return end\n"
    "  local L=s>0 and BTP or BTN\n"
    "  for j=1,#L do\n"
    "    local T=L[j]\n"
    "    if (s>0 and s>=T) or (s<0 and s<=T) then\n"
    "      local c=math.floor(t0+hl*math.log(s/T)/LN2)+1\n"
    "      if c>now then at(c) return end\n"
    "    end\n"
    "  end\n"
    "end\n"
    /* the hook: every entry and exit passes here (workflows add theirs);
     * SEGCHG counts them by segment for the answer: {entries, exits} */
    "local SEGCHG,SEGORD={},{}\n"
    "local function segment_changed(ck,cid,seg,op,t,since,cause)\n"
    "  local a={'MAXLEN','~',logmax,'*','segment',seg,'contact',cid,'op',op,'at',t}\n"
    "  if since then a[#a+1]='since' a[#a+1]=since end\n"
    "  a[#a+1]='cause' a[#a+1]=cause\n"
    "  if CAMP then a[#a+1]='campaign' a[#a+1]=CAMP end\n"
    "  redis.call('XADD',KEYS[3],unpack(a))\n"
    "  local c=SEGCHG[seg]\n"
    "  if not c then c={0,0} SEGCHG[seg]=c SEGORD[#SEGORD+1]=seg end\n"
    "  if op=='enter' then c[1]=c[1]+1 else c[2]=c[2]+1 end\n"
    "  wf_segment(ck,cid,seg,op,t)\n"
    "end\n"
    /* contact cid enters (in_) or leaves segment i at ts (ms, as text);
     * the cause is "event <cause> <ceid>" when ceid is given (made here,
     * so that an evaluation that changes nothing makes no string) */
    "local function change(ck,cid,h,i,in_,ts,cause,ceid)\n"
    "  local f=SEGFN[i]\n"
    "  if ceid then cause='event '..cause..' '..ceid end\n"
    "  if in_ then\n"
    "    redis.call('ZADD',KEYS[5+i],ts,cid) put(h,f,ts)\n"
    "    segment_changed(ck,cid,SEGNAME[i],'enter',ts,nil,cause)\n"
    "  else\n"
    "    local was=h[f]\n"
    "    redis.call('ZREM',KEYS[5+i],cid) put(h,f,nil)\n"
    "    segment_changed(ck,cid,SEGNAME[i],'leave',ts,was,cause)\n"
    "  end\n"
    "  return 1\n"
    "end\n";

/* The contact's state, then the memberships (m, in the configuration's
 * order), then the changes; every write of the contact
 * hash goes through put (apply.c), which the caller flushes. */
static const char evaluate_head[] =
    "local function evaluate(k,cid,t,tss,cause,ceid,h,stale)\n"
    "  local ck=KEYS[k]\n"
    "  if not h then h=hash(ck) stale=stale_of(h) end\n"
    "  if next(h)==nil then return 0 end\n"
    "  if stale then for _,f in ipairs(stale) do put(h,f,nil) end end\n"
    "  nxt=nil\n"
    "  local s0,t0=tonumber(h['score']) or 0,tonumber(h['score_at']) or now\n"
    "  local v=decay(s0,now-t0)\n"
    "  crossings(s0,t0)\n"
    "  local fit=fit_of(h)\n"
    "  if HASFIT and tonumber(h['fit'])~=fit then put(h,'fit',fmt(fit)) end\n"
    "  local grade=grade_of(fit,v)\n"
    "  if grade and h['grade']~=grade then put(h,'grade',grade) end\n"
    "  local lh=tonumber(h['last_human'])\n";

static const char evaluate_tail[] =
    "  if nxt~=tonumber(h['wake']) then\n"
    "    local w=nxt and string.format('%d',nxt)\n"
    "    if w then redis.call('ZADD',KEYS[2],w,cid) else redis.call('ZREM',KEYS[2],cid) end\n"
    "    put(h,'wake',w)\n"
    "  end\n"
    "  return c\n"
    "end\n";

/* A Lua string literal: every byte but letters and digits escaped. */
static void quote(GString *out, const char *s)
{
    g_string_append_c(out, '"');
    for (; *s; s++)
        if (g_ascii_isalnum(*s))
            g_string_append_c(out, *s);
        else
            g_string_append_printf(out, "\\%03u", (unsigned)(unsigned char)*s);
    g_string_append_c(out, '"');
}

static void number(GString *out, double v)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];

    g_string_append(out, g_ascii_formatd(buf, sizeof(buf), "%.17g", v));
}

/* The script being generated: sets go into pre (top-level locals, made
 * once per run), expressions into out. */
struct gen {
    GString *pre, *out;
    unsigned sets;
};

/* A top-level set {[v1]=true, ...}; its name into g->out. */
static void string_set(struct gen *g, char *const *values)
{
    g_string_append_printf(g->pre, "local S%u={", ++g->sets);
    for (size_t i = 0; values[i]; i++) {
        g_string_append_c(g->pre, '[');
        quote(g->pre, values[i]);
        g_string_append(g->pre, "]=true,");
    }
    g_string_append(g->pre, "}\n");
    g_string_append_printf(g->out, "S%u", g->sets);
}

/* fn(h[attribute], min, max), or fn(h, min, max) without an attribute. */
static void range_call(GString *out, const char *fn, const char *attribute,
                       const struct pb_cond *c)
{
    g_string_append_printf(out, "%s(h", fn);
    if (attribute != NULL) {
        g_string_append_c(out, '[');
        quote(out, attribute);
        g_string_append_c(out, ']');
    }
    g_string_append_c(out, ',');
    number(out, c->min);
    g_string_append_c(out, ',');
    number(out, c->max);
    g_string_append_c(out, ')');
}

/* A condition as a Lua expression on the hash h. */
static void condition(struct gen *g, const struct pb_cond *c)
{
    GString *out = g->out;

    switch (c->kind) {
    case PB_COND_EQUALS:
    case PB_COND_IN:
        string_set(g, c->values);
        g_string_append(out, "[lower(h[");
        quote(out, c->attribute);
        g_string_append(out, "]) or '\\001']==true");
        break;
    case PB_COND_RANGE:
        range_call(out, "inr", c->attribute, c);
        break;
    case PB_COND_TAG:
        g_string_append(out, "has_tag(h['tags'],");
        quote(out, c->attribute);
        g_string_append_c(out, ')');
        break;
    case PB_COND_AGE:           /* no birthday: not met, and no wake-up */
        g_string_append(out, "(h['birthday']~=nil and ");
        range_call(out, "age_in", NULL, c);
        g_string_append_c(out, ')');
        break;
    case PB_COND_BIRTHDAY:
        g_string_append_printf(out, "(h['birthday']~=nil and bday_within(h,%d))", c->days);
        break;
    }
}

static void fit_and_grade(struct gen *g, const struct pb_segdefs *d)
{
    GString *out = g->out;

    g_string_append_printf(out, "local HASFIT=%s\n", d->nfit > 0 ? "true" : "false");
    g_string_append(out, "local function fit_of(h)\n  local f=0\n");
    for (size_t i = 0; i < d->nfit; i++) {
        g_string_append(out, "  if ");
        condition(g, &d->fit[i].cond);
        g_string_append(out, " then f=f+");
        number(out, d->fit[i].points);
        g_string_append(out, " end\n");
    }
    g_string_append(out, "  return f\nend\nlocal function grade_of(fit,v)\n");
    if (!d->has_grade) {
        g_string_append(out, "  return nil\nend\n");
        return;
    }
    g_string_append(out, "  local a,b='D','4'\n");
    for (int i = PB_GRADE_BANDS - 1; i >= 0; i--) {
        g_string_append(out, "  if fit>=");
        number(out, d->grade_fit[i]);
        g_string_append_printf(out, " then a='%c' end\n", 'A' + i);
        g_string_append(out, "  if v>=");
        number(out, d->grade_behaviour[i]);
        g_string_append_printf(out, " then b='%c' end\n", '1' + i);
    }
    g_string_append(out, "  return a..b\nend\n");
}

static int by_size_desc(const void *a, const void *b)
{
    double x = fabs(*(const double *)a), y = fabs(*(const double *)b);

    return x < y ? 1 : x > y ? -1 : 0;
}

/* name={...}: the thresholds of t (n of them) of this sign, farthest
 * from 0 first, each once. */
static void threshold_list(GString *out, const char *name, double *t, size_t n, int positive)
{
    qsort(t, n, sizeof(*t), by_size_desc);
    g_string_append_printf(out, "local %s={", name);
    for (size_t i = 0; i < n; i++)
        if ((positive ? t[i] > 0 : t[i] < 0) && (i == 0 || t[i] != t[i - 1])) {
            number(out, t[i]);
            g_string_append_c(out, ',');
        }
    g_string_append(out, "}\n");
}

/* BTP, BTN: every behaviour threshold decay can cross; SEGNAME, the
 * segments' fields SEGFN (seg:) and INTF (int:), SEGF (a configured
 * seg: field: apply.c's hash() finds the others), EVAL. */
static void tables(GString *out, const struct pb_segdefs *d, int hook)
{
    double *t = g_new(double, d->count + PB_GRADE_BANDS);
    size_t n = 0;

    for (size_t i = 0; i < d->count; i++)
        if (d->items[i].kind == PB_SEG_BEHAVIOUR)
            t[n++] = d->items[i].threshold;
    for (int i = 0; d->has_grade && i < PB_GRADE_BANDS; i++)
        t[n++] = d->grade_behaviour[i];
    threshold_list(out, "BTP", t, n, 1);
    threshold_list(out, "BTN", t, n, 0);
    g_free(t);
    g_string_append(out, "local SEGNAME={");
    for (size_t i = 0; i < d->count; i++) {
        quote(out, d->items[i].name);
        g_string_append_c(out, ',');
    }
    g_string_append(out, "}\nlocal SEGFN,INTF={},{}\n"
                    "for i,g in ipairs(SEGNAME) do SEGFN[i]='seg:'..g INTF[i]='int:'..g "
                    "SEGF[SEGFN[i]]=true end\n");
    /* M: the memberships of the contact being evaluated (one table for
     * every evaluation of the run; each sets all of it) */
    g_string_append(out, "local M={");
    for (size_t i = 0; i < d->count; i++)
        g_string_append(out, "false,");
    g_string_append(out, "}\n");
    g_string_append_printf(out, "local EVAL=%s\n",
                           d->count > 0 || d->nfit > 0 || d->has_grade || hook ? "true" : "false");
}

/* m[i] or m[j] ... joined by op; "" if the list is empty. */
static void refs(GString *out, const int *list, const char *op, const char *empty)
{
    if (list == NULL || list[0] < 0) {
        g_string_append(out, empty);
        return;
    }
    g_string_append_c(out, '(');
    for (size_t i = 0; list[i] >= 0; i++)
        g_string_append_printf(out, "%sm[%d]", i ? op : "", list[i] + 1);
    g_string_append_c(out, ')');
}

static void threshold(GString *out, const char *value, const struct pb_segment *seg)
{
    g_string_append_printf(out, "%s%s", value, seg->below ? "<" : ">=");
    number(out, seg->threshold);
}

/* m[i]= the segment's predicate */
static void membership(struct gen *g, const struct pb_segment *seg, size_t i)
{
    GString *out = g->out;

    g_string_append_printf(out, "  m[%zu]=", i + 1);
    switch (seg->kind) {
    case PB_SEG_BEHAVIOUR: threshold(out, "v", seg); break;
    case PB_SEG_FIT: threshold(out, "fit", seg); break;
    case PB_SEG_GRADE:
        string_set(g, seg->grades);
        g_string_append(out, "[grade or '']==true");
        break;
    case PB_SEG_INTEREST: {
        char *field = g_strconcat("int:", seg->name, NULL);
        g_string_append(out, "since(tonumber(h[");
        quote(out, field);
        g_string_append_printf(out, "]),%d)", seg->days);
        g_free(field);
        break;
    }
    case PB_SEG_ATTRIBUTE: condition(g, &seg->cond); break;
    case PB_SEG_DORMANT: g_string_append_printf(out, "dormant(h,lh,%d)", seg->days); break;
    case PB_SEG_ACTIVE: g_string_append_printf(out, "since(lh,%d)", seg->days);
        break;
    case PB_SEG_SUPPRESSED:
        g_string_append(out, "redis.call('SISMEMBER',KEYS[4],cid)==1");
        break;
    case PB_SEG_COMBINATION:
        refs(out, seg->all, " and ", "true");
        g_string_append(out, " and ");
        refs(out, seg->any, " or ", "true");
        g_string_append(out, " and not ");
        refs(out, seg->none, " or ", "false");
        break;
    }
    g_string_append_c(out, '\n');
}

/* An entry into or exit from segment i when its membership m[i] differs
 * from the seg: field. */
static void change_of(GString *out, const struct pb_segment *seg, size_t i)
{
    char *field = g_strconcat("seg:", seg->name, NULL);
    GString *f = g_string_new(NULL);

    quote(f, field);
    g_string_append_printf(out, "  if m[%zu] then if not h[%s] then c=c+change(ck,cid,h,%zu,true,tss,"
                           "cause,ceid) end\n  elseif h[%s] then c=c+change(ck,cid,h,%zu,false,"
                           "tss,cause,ceid) end\n", i + 1, f->str, i + 1, f->str, i + 1);
    g_string_free(f, TRUE);
    g_free(field);
}

void pb_segment_lua(const struct pb_segdefs *d, const char *hook, GString *out)
{
    struct gen g = { g_string_new(NULL), g_string_new(NULL), 0 };

    fit_and_grade(&g, d);
    g_string_append(g.out, evaluate_head);
    g_string_append(g.out, "  local m=M\n");
    for (size_t i = 0; i < d->count; i++)
        membership(&g, &d->items[i], i);
    if (hook != NULL)
        g_string_append(g.out, "  wf_dates(ck,cid,h)\n");
    g_string_append(g.out, "  local c=0\n");
    for (size_t i = 0; i < d->count; i++)
        change_of(g.out, &d->items[i], i);
    g_string_append(g.out, evaluate_tail);
    tables(out, d, hook != NULL);
    g_string_append(out, helpers);
    if (hook != NULL)
        g_string_append(out, hook);
    g_string_append_len(out, g.pre->str, (gssize)g.pre->len);
    g_string_append_len(out, g.out->str, (gssize)g.out->len);
    g_string_free(g.pre, TRUE);
    g_string_free(g.out, TRUE);
}
