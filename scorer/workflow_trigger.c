/*
 * workflow_trigger.c - the workflow triggers beyond segments, signups and
 * plain events (workflows.h): reading them from a trigger group, matching
 * entries against them in C, and the batch script's Lua that ends a
 * not_opened workflow. Kept apart from workflow_conf.c so that each kind
 * of trigger is one place (dates: workflow_date.c).
 *
 *   { not_opened = "spring-*"; within_days = 14; }
 *       a sent of a matching campaign to the contact starts it; its first
 *       step is due within_days after the send (plus its delay); a human
 *       open or click of that same campaign (the one the contact hash
 *       remembers in wfc:<workflow>) before then ends it (exit), so the
 *       resend goes only to those who did not open. A machine open
 *       (Apple's privacy proxy) does not count; an imputed open (the
 *       tracker's open entry for a human click) does.
 *   { opened = "invite-*"; }, { clicked = "invite-*"; url = "..."; }
 *       the same as event = "open" / "click" with that campaign pattern.
 *   { date = "birthday"; hour = 9; }
 *       read here, run by workflow_date.c.
 * docs/scorer.md ("Workflows").
 */
#include <fnmatch.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include "rule_ctx.h"
#include "segments.h"
#include "workflows.h"

#define DEFAULT_HOUR 9
#define YEAR_MAX 9999           /* the last year of an occurrence name <workflow>@<year> */

static int has(const struct pb_rule_ctx *r, const char *name)
{
    return config_setting_get_member(r->group, name) != NULL;
}

/* How many of the trigger kinds the group names. */
static int kinds(const struct pb_rule_ctx *r)
{
    static const char *const all[] = {
        "segment", "signup", "event", "not_opened", "opened", "clicked", "date", NULL
    };
    int n = 0;

    for (size_t i = 0; all[i]; i++)
        n += has(r, all[i]);
    return n;
}

/* A campaign pattern member: present and not empty. */
static int read_pattern(struct pb_rule_ctx *r, const char *name, char **out)
{
    const char *v;

    if (pb_rc_get_str(r, name, &v) != 0)
        return -1;
    if (v == NULL || *v == '\0')
        return pb_rc_fail_member(r, name, "%s", "give a campaign or a pattern, e.g. "
                                 "\"spring-sale\" or \"spring-*\"");
    *out = g_strdup(v);
    return 0;
}

static int read_not_opened(struct pb_rule_ctx *r, struct pb_workflow *w)
{
    int days;

    if (!has(r, "within_days"))
        return pb_rc_fail_member(r, NULL, "%s", "not_opened needs within_days = N; (the days "
                                 "an open has before the first step is due)");
    if (read_pattern(r, "not_opened", &w->campaign) != 0
        || pb_rc_get_days(r, "within_days", &days) != 0)
        return -1;
    w->trigger = PB_WF_NOT_OPENED;
    w->within_ms = days * 86400000LL;
    return 0;
}

/* opened = "x"; is event = "open"; campaign = "x"; clicked likewise. */
static int read_alias(struct pb_rule_ctx *r, struct pb_workflow *w, const char *kind)
{
    const char *url;

    if (read_pattern(r, kind, &w->campaign) != 0 || pb_rc_get_str(r, "url", &url) != 0)
        return -1;      /* a url with opened is refused before */
    w->trigger = PB_WF_EVENT;
    w->event = g_strdup(strcmp(kind, "opened") == 0 ? "open" : "click");
    w->url = g_strdup(url);
    return 0;
}

static int read_date(struct pb_rule_ctx *r, struct pb_workflow *w)
{
    const char *attr;
    double hour = DEFAULT_HOUR;
    int present, from = -1, to = -1;

    if (pb_rc_get_str(r, "date", &attr) != 0 || pb_rc_get_number(r, "hour", &hour, &present) != 0)
        return -1;
    if (strcmp(attr, "birthday") != 0
        && (strncmp(attr, "attr:", 5) != 0
            || !pb_rc_only_chars(attr + 5, "abcdefghijklmnopqrstuvwxyz0123456789_", PB_NAME_MAX)))
        return pb_rc_fail_member(r, "date", "\"%s\" is not a date attribute: \"birthday\" or "
                                 "\"attr:<name>\" (a-z, 0-9, _), holding YYYY-MM-DD or --MM-DD",
                                 attr);
    if (hour < 0 || hour > 23 || hour != (int)hour)
        return pb_rc_fail_member(r, "hour", "%s", "the local hour is a whole number 0..23, "
                                 "e.g. hour = 9;");
    config_lookup_int(r->group->config, "scorer.quiet_from", &from);
    config_lookup_int(r->group->config, "scorer.quiet_to", &to);
    if (pb_wf_quiet_hour((int)hour, from, to)) {
        char msg[200];
        snprintf(msg, sizeof(msg), "%d is within the quiet hours (scorer.quiet_from = %d, "
                 "quiet_to = %d): the mail would wait until they end, after its day; choose "
                 "an hour outside them", (int)hour, from, to);
        return pb_rc_fail_member(r, "hour", "%s", msg);
    }
    w->trigger = PB_WF_DATE;
    w->date_attr = g_strdup(attr);
    w->hour = (int)hour;
    return 0;
}

int pb_wf_read_trigger_kind(struct pb_rule_ctx *r, struct pb_workflow *w)
{
    int opened = has(r, "opened"), clicked = has(r, "clicked");

    if (!has(r, "not_opened") && !opened && !clicked && !has(r, "date")) {
        if (has(r, "within_days") || has(r, "hour"))
            return pb_rc_fail_member(r, has(r, "hour") ? "hour" : "within_days", "%s",
                                     "within_days goes with not_opened, hour with date");
        return 1;
    }
    if (kinds(r) != 1 || has(r, "on"))
        return pb_rc_fail_member(r, NULL, "%s", "give exactly one kind: segment = \"mql\"; on "
                                 "= \"enter\"; or signup = true; or event = \"...\"; or "
                                 "opened = \"...\"; or clicked = \"...\"; or not_opened = "
                                 "\"...\"; within_days = 14; or date = \"birthday\"; hour = 9;");
    if (has(r, "campaign"))
        return pb_rc_fail_member(r, "campaign", "%s", "goes with event = \"...\"; only "
                                 "(opened, clicked and not_opened name the campaign themselves)");
    if (has(r, "url") && !clicked)
        return pb_rc_fail_member(r, "url", "%s", "only a click has a URL: it goes with "
                                 "clicked = \"...\"; or event = \"click\";");
    if ((has(r, "within_days") && !has(r, "not_opened")) || (has(r, "hour") && !has(r, "date")))
        return pb_rc_fail_member(r, has(r, "hour") ? "hour" : "within_days", "%s",
                                 "within_days goes with not_opened, hour with date");
    if (has(r, "not_opened"))
        return read_not_opened(r, w);
    if (opened || clicked)
        return read_alias(r, w, opened ? "opened" : "clicked");
    return read_date(r, w);
}

int pb_wf_check_trigger_steps(struct pb_rule_ctx *r, const struct pb_workflow *wf)
{
    if (wf->trigger != PB_WF_DATE || wf->steps[0].kind == PB_WF_SEND
        || wf->steps[0].kind == PB_WF_NOTIFY)
        return 0;
    return pb_rc_fail_member(r, "steps", "%s", "a date workflow starts with a send or notify "
                             "step (its local time is decided when it is due); put tag steps "
                             "after it");
}

int pb_wf_starts(const struct pb_workflow *wf, const struct pb_sc_event *ev)
{
    if (strcmp(ev->cls, "machine") == 0)
        return 0;
    if (wf->trigger == PB_WF_NOT_OPENED)
        return strcmp(ev->type, "sent") == 0 && ev->campaign[0] != '\0'
               && fnmatch(wf->campaign, ev->campaign, 0) == 0;
    return wf->trigger == PB_WF_EVENT && strcmp(wf->event, ev->type) == 0
           && (wf->campaign == NULL || fnmatch(wf->campaign, ev->campaign, 0) == 0)
           && (wf->url == NULL || fnmatch(wf->url, ev->url, FNM_CASEFOLD) == 0);
}

size_t pb_workflows_opened(const struct pb_workflows *w, const struct pb_sc_event *ev, int *out,
                           size_t max)
{
    size_t n = 0;

    if (strcmp(ev->cls, "machine") == 0 || ev->campaign[0] == '\0'
        || (strcmp(ev->type, "open") != 0 && strcmp(ev->type, "click") != 0))
        return 0;
    for (size_t i = 0; i < w->count && n < max; i++)
        if (w->items[i].trigger == PB_WF_NOT_OPENED
            && fnmatch(w->items[i].campaign, ev->campaign, 0) == 0)
            out[n++] = (int)i;
    return n;
}

/* WFNO[workflow] = the ms an open has. wf_opened: for each workflow the
 * open may end (numbers from ARGV[b..b+n-1]), an exit if it started with
 * this very campaign (wfc:) and the open came before its time was up. */
static const char opened_lua[] =
    "local function wf_opened(ck,cid,ts,camp,b,n)\n"
    "  for j=0,n-1 do\n"
    "    local w=WFLIST[tonumber(ARGV[b+j])][1]\n"
    "    local st=tonumber(redis.call('HGET',ck,'wf:'..w))\n"
    "    if st and ts<st+WFNO[w] and redis.call('HGET',ck,'wfc:'..w)==camp and "
    "redis.call('HSETNX',ck,'wfx:'..w,string.format('%d',ts))==1 then\n"
    "      wf_log(cid,w,'-','exited','opened '..camp,ts)\n"
    "    end\n"
    "  end\n"
    "end\n";

void pb_wf_opened_lua(const struct pb_workflows *w, GString *out)
{
    g_string_append(out, "local WFNO={");
    for (size_t i = 0; i < w->count; i++)
        if (w->items[i].trigger == PB_WF_NOT_OPENED)
            /* names are [a-z0-9_-]: a quoted key needs no escaping */
            g_string_append_printf(out, "['%s']=%lld,", w->items[i].name, w->items[i].within_ms);
    g_string_append(out, "}\n");
    g_string_append(out, opened_lua);
}

/* A queue member's workflow part: a workflow's name, or <workflow>@<year>
 * for a date workflow's occurrence (workflow_date.c). */
const struct pb_workflow *pb_wf_instance_find(const struct pb_workflows *w, const char *instance,
                                              int *occurrence)
{
    const char *at = strchr(instance, '@');
    const struct pb_workflow *wf;
    char name[80], *end;
    long year;

    *occurrence = 0;
    if (at == NULL)
        return pb_workflow_find(w, instance);
    year = strtol(at + 1, &end, 10);
    if ((size_t)(at - instance) >= sizeof(name) || *end != '\0' || end == at + 1 || year < 1
        || year > YEAR_MAX || !g_ascii_isdigit(at[1]))
        return NULL;
    memcpy(name, instance, (size_t)(at - instance));
    name[at - instance] = '\0';
    wf = pb_workflow_find(w, name);
    if (wf == NULL || wf->trigger != PB_WF_DATE)
        return NULL;
    *occurrence = (int)year;
    return wf;
}
