/*
 * workflow_date.c - date workflows (trigger = { date = "birthday"; hour
 * = 9; }): every year on the day of a contact's date attribute
 * (YYYY-MM-DD or --MM-DD), at that hour of its local time (its timezone
 * field, else scorer.timezone), without scans. docs/scorer.md
 * ("Workflows", "Date workflows").
 *
 * Each year's occurrence is an instance of its own, <workflow>@<year>
 * (the year of the date, not of the send): its fields wf:, wfs:, wft:,
 * wfx: in the contact hash and its queue members carry that name, so a
 * workflow that otherwise runs once per contact runs once per year.
 * wfo:<workflow> holds the latest year started and only ever grows: an
 * occurrence starts once (HSETNX), never for a year at or before the
 * latest, so two scorers, a crash or a changed date never give a
 * contact two in one year.
 *
 * Two halves, because Lua inside Redis has no time zone database:
 * - the batch script (wf_dates, generated here into the segments' Lua,
 *   run at each evaluation of the contact) knows the date but not the
 *   offset, so it works with the earliest instant the local hour can
 *   have anywhere (14 h before it in UTC): it schedules a wake-up for
 *   it and, when it comes, starts the occurrence with the first step
 *   due then;
 * - the runner (pb_wf_date_check, when that step is claimed, with the
 *   contact hash) computes the exact instant with GLib, daylight saving
 *   included, from the date and zone the contact has now, and defers
 *   the step to it, or skips it when its local day is over (a date
 *   changed to a day already past, a scorer that was down that day).
 * 29 February is 28 February in other years.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "contact_attr.h"
#include "workflow_run.h"

#define HOUR_MS 3600000LL

/* The date workflows' table and functions (see the top). WFDATE items:
 * {workflow, attribute, hour ms, first step, its delay, {step names}}. */
static const char date_lua[] =
    "local MDAYS={31,29,31,30,31,30,31,31,30,31,30,31}\n"
    "local function occ_day(y,m,d)\n"       /* the day of the date in year y */
    "  if m==2 and d==29 and not (y%4==0 and (y%100~=0 or y%400==0)) then d=28 end\n"
    "  return dfc(y,m,d)\n"
    "end\n"
    /* the fields of occurrence p, once none of its steps is pending */
    "local function wf_forget(ck,w,p)\n"
    "  local i=w[1]..'@'..p\n"
    "  local f={'wf:'..i,'wfx:'..i}\n"
    "  for _,st in ipairs(w[6]) do\n"
    "    local v=redis.call('HGET',ck,'wfs:'..i..'|'..st)\n"
    "    if v=='queued' or v=='inflight' or v=='uncertain' then return end\n"
    "    f[#f+1]='wfs:'..i..'|'..st f[#f+1]='wft:'..i..'|'..st\n"
    "  end\n"
    "  redis.call('HDEL',ck,unpack(f))\n"
    "end\n"
    /* t: the earliest instant of the local day and hour; the latest end
     * of the first step's local day is t + delay + 50 h */
    "local function wf_date(ck,cid,h,w)\n"
    "  local _,m,d=ymd(h[w[2]])\n"
    "  if not m or m<1 or m>12 or d<1 or d>MDAYS[m] then return end\n"
    "  local of='wfo:'..w[1]\n"
    "  local last=tonumber(h[of])\n"
    "  local y0=year_of(math.floor(now/DAY))\n"
    "  for y=y0-1,y0+2 do\n"
    "    local t=occ_day(y,m,d)*DAY+w[3]-14*3600000\n"
    "    if (not last or y>last) and now<t+w[5]+50*3600000 then\n"
    "      if now<t then at(t) return end\n"
    "      local ys=string.format('%d',y)\n"
    "      if wf_start(ck,cid,{{w[1]..'@'..ys,w[4],w[5]}},t,'date '..w[2]..' '..ys)==1 "
    "and last then wf_forget(ck,w,h[of]) end\n"
    "      redis.call('HSET',ck,of,ys) h[of]=ys last=y\n"
    "    end\n"
    "  end\n"
    "end\n"
    "local function wf_dates(ck,cid,h)\n"
    "  for _,w in ipairs(WFDATE) do wf_date(ck,cid,h,w) end\n"
    "end\n";

size_t pb_workflows_dates(const struct pb_workflows *w)
{
    size_t n = 0;

    for (size_t i = 0; i < w->count; i++)
        n += w->items[i].trigger == PB_WF_DATE;
    return n;
}

char *pb_wf_date_lua(const struct pb_workflows *w)
{
    GString *out;

    if (pb_workflows_dates(w) == 0)
        return NULL;
    /* names are [a-z0-9_-], attributes birthday or attr:[a-z0-9_]: no escaping */
    out = g_string_new("local WFDATE={");
    for (size_t i = 0; i < w->count; i++) {
        const struct pb_workflow *wf = &w->items[i];
        if (wf->trigger != PB_WF_DATE)
            continue;
        g_string_append_printf(out, "{'%s','%s',%lld,'%s',%lld,{", wf->name, wf->date_attr,
                               wf->hour * HOUR_MS, wf->steps[0].name, wf->steps[0].delay_ms);
        for (size_t j = 0; j < wf->nsteps; j++)
            g_string_append_printf(out, "'%s',", wf->steps[j].name);
        g_string_append(out, "}},");
    }
    g_string_append(out, "}\n");
    g_string_append(out, date_lua);
    return g_string_free(out, FALSE);
}

/* Skipped for good: the occurrence is over for the contact. 1. */
static int skip(struct pb_scorer *s, struct pb_wf_item *it)
{
    it->status = "skipped";
    it->no_next = 1;
    s->stats.wf_skipped++;
    return 1;
}

/* The day of t in tz as year * 1000 + day of the year. */
static int local_day(GTimeZone *tz, long long t_ms)
{
    GDateTime *utc = g_date_time_new_from_unix_utc(t_ms / 1000);
    GDateTime *local = g_date_time_to_timezone(utc, tz);
    int day = g_date_time_get_year(local) * 1000 + g_date_time_get_day_of_year(local);

    g_date_time_unref(local);
    g_date_time_unref(utc);
    return day;
}

/* The exact time (ms) of the first step of occurrence year in tz, for
 * the date month-day (-1 if there is none); its local time as text
 * into shown. */
static long long exact_time(const struct pb_wf_item *it, GTimeZone *tz, int month, int day,
                            char *shown, size_t len)
{
    int year = it->occurrence;
    GDateTime *local;
    long long t;
    char *text;

    if (month == 2 && day == 29 && !g_date_is_leap_year((GDateYear)year))
        day = 28;
    /* an hour that does not exist that day (clocks forward) becomes the
     * first one after it; one that is there twice, the later */
    local = g_date_time_new(tz, year, month, day, it->wf->hour, 0, 0);
    if (local == NULL)          /* not a date GLib can hold: never due */
        return -1;
    t = g_date_time_to_unix(local) * 1000 + it->step->delay_ms;
    text = g_date_time_format(local, "%Y-%m-%d %H:%M");
    snprintf(shown, len, "%s %s", text, g_time_zone_get_identifier(tz));
    g_free(text);
    g_date_time_unref(local);
    return t;
}

int pb_wf_date_check(struct pb_scorer *s, struct pb_wf_item *it)
{
    const char *v;
    char shown[128];
    GTimeZone *tz;
    long long at, now = s->now_ms();
    int month, day, rc = 0;

    if (it->wf->trigger != PB_WF_DATE || it->index != 0 || it->occurrence <= 0)
        return 0;
    v = pb_wf_item_field(it, it->wf->date_attr);
    if (v == NULL || !pb_attr_date_md(v, &month, &day)) {
        snprintf(it->reason, sizeof(it->reason), "%s is no date any more", it->wf->date_attr);
        return skip(s, it);
    }
    tz = pb_wf_zone(&s->conf->scorer, pb_wf_item_field(it, "timezone"));
    at = exact_time(it, tz, month, day, shown, sizeof(shown));
    if (at < 0) {
        snprintf(it->reason, sizeof(it->reason), "%s %s has no time in year %d",
                 it->wf->date_attr, v, it->occurrence);
        rc = skip(s, it);
    } else if (now < at) {
        it->status = "deferred";
        it->retry_at = at;
        snprintf(it->reason, sizeof(it->reason), "until %s", shown);
        rc = 1;
    } else if (local_day(tz, now) != local_day(tz, at)) {
        snprintf(it->reason, sizeof(it->reason), "its day is over (%s %s, %s)",
                 it->wf->date_attr, v, shown);
        rc = skip(s, it);
    }
    g_time_zone_unref(tz);
    return rc;
}
