/*
 * workflow_conf.c - scorer.workflows of postbeacon.conf (workflows.h),
 * read with libconfig after the segments, which a trigger or a step's
 * condition may name. Every mistake names the file, the line, the item
 * and the fix, as for the rules and segments; the templates the steps
 * name are loaded separately (pb_workflows_load_templates) because they
 * need the templates and submit sections. A send step's A/B variants are
 * read by workflow_variant.c.
 */
#include <stdio.h>
#include <string.h>
#include <glib.h>
#include "rule_ctx.h"
#include "segments.h"
#include "entry.h"
#include "template.h"
#include "workflow_variant.h"
#include "workflows.h"

#define DELAY_MAX_DAYS 3650.0

static const char *const wf_fields[] = { "name", "trigger", "exit_events", "steps", NULL };
static const char *const trigger_fields[] = {
    "segment", "on", "signup", "event", "campaign", "url", "not_opened", "within_days", "opened",
    "clicked", "date", "hour", NULL
};
static const char *const step_fields[] = {
    "name", "send", "notify", "template", "tag", "untag", "webhook", "secret", "timeout",
    "delay_minutes", "delay_hours", "delay_days", "if_segment", "variants", NULL
};

static int segment_index(const struct pb_segdefs *d, const char *name)
{
    for (size_t i = 0; i < d->count; i++)
        if (strcmp(d->items[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* A segment member naming a configured segment: its index into *out. */
static int read_segment_ref(struct pb_rule_ctx *r, const struct pb_segdefs *d, const char *name,
                            int *out)
{
    const char *v;

    *out = -1;
    if (pb_rc_get_str(r, name, &v) != 0)
        return -1;
    if (v == NULL)
        return 0;
    if ((*out = segment_index(d, v)) < 0)
        return pb_rc_fail_member(r, name, "\"%s\" is not a segment of scorer.segments "
                                 "(define it there first)", v);
    return 0;
}

/* An event trigger's campaign and url patterns (optional). */
static int read_patterns(struct pb_rule_ctx *r, struct pb_workflow *w)
{
    const char *campaign, *url;

    if (pb_rc_get_str(r, "campaign", &campaign) != 0 || pb_rc_get_str(r, "url", &url) != 0)
        return -1;
    if (url != NULL && strcmp(w->event, "click") != 0)
        return pb_rc_fail_member(r, "url", "%s", "only a click has a URL: write event = "
                                 "\"click\"; or leave url out");
    w->campaign = g_strdup(campaign);
    w->url = g_strdup(url);
    return 0;
}

static int read_trigger(struct pb_rule_ctx *wr, const struct pb_segdefs *d, struct pb_workflow *w)
{
    const config_setting_t *g = config_setting_get_member(wr->group, "trigger");
    struct pb_rule_ctx r = *wr;
    const char *on, *event;
    const config_setting_t *su;
    int kind;

    if (g == NULL || config_setting_type(g) != CONFIG_TYPE_GROUP)
        return pb_rc_fail_member(wr, g ? "trigger" : NULL, "%s", "a trigger is required: "
                                 "trigger = { segment = \"mql\"; on = \"enter\"; }; or "
                                 "{ signup = true; } or { event = \"cart_abandoned\"; }");
    r.group = g;
    if (g_strlcpy(r.where, wr->where, sizeof(r.where) - 8) < sizeof(r.where) - 8)
        g_strlcat(r.where, ".trigger", sizeof(r.where));
    if (pb_rc_check_members(&r, trigger_fields, "segment, on, signup, event, campaign, url, "
                            "not_opened, within_days, opened, clicked, date, hour") != 0)
        return -1;
    if ((kind = pb_wf_read_trigger_kind(&r, w)) <= 0)    /* workflow_trigger.c */
        return kind;
    if (read_segment_ref(&r, d, "segment", &w->segment) != 0
        || pb_rc_get_str(&r, "on", &on) != 0 || pb_rc_get_str(&r, "event", &event) != 0)
        return -1;
    su = config_setting_get_member(g, "signup");
    if (event == NULL && (config_setting_get_member(g, "campaign") != NULL
                          || config_setting_get_member(g, "url") != NULL))
        return pb_rc_fail_member(&r, NULL, "%s", "campaign and url go with event = \"...\"; "
                                 "only");
    if (w->segment >= 0 && event == NULL && su == NULL) {
        if (on == NULL || (strcmp(on, "enter") != 0 && strcmp(on, "leave") != 0))
            return pb_rc_fail_member(&r, on ? "on" : NULL, "%s", "a segment trigger needs "
                                     "on = \"enter\"; or on = \"leave\";");
        w->trigger = on[0] == 'e' ? PB_WF_ENTER : PB_WF_LEAVE;
        w->segment_name = g_strdup(d->items[w->segment].name);
        return 0;
    }
    if (su != NULL && w->segment < 0 && event == NULL && on == NULL) {
        if (config_setting_type(su) != CONFIG_TYPE_BOOL || !config_setting_get_bool(su))
            return pb_rc_fail_member(&r, "signup", "%s", "write signup = true;");
        w->trigger = PB_WF_SIGNUP;
        return 0;
    }
    if (event != NULL && w->segment < 0 && su == NULL && on == NULL) {
        if (!pb_rc_only_chars(event, PB_NAME_CHARS, PB_NAME_MAX))
            return pb_rc_fail_member(&r, "event", "\"%s\" is not an event type (a-z, 0-9, _, -)",
                                     event);
        w->trigger = PB_WF_EVENT;
        w->event = g_strdup(event);
        return read_patterns(&r, w);
    }
    return pb_rc_fail_member(&r, NULL, "%s", "give exactly one kind: segment = \"mql\"; on = "
                             "\"enter\"; or signup = true; or event = \"cart_abandoned\"; (or "
                             "opened, clicked, not_opened, date)");
}

/* delay_minutes + delay_hours + delay_days, in ms. */
static int read_delay(struct pb_rule_ctx *r, long long *ms)
{
    static const struct { const char *name; double unit; } parts[] = {
        { "delay_minutes", 60000.0 }, { "delay_hours", 3600000.0 }, { "delay_days", 86400000.0 },
    };
    double total = 0, v = 0;
    int present;

    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        if (pb_rc_get_number(r, parts[i].name, &v, &present) != 0)
            return -1;
        if (present && v < 0)
            return pb_rc_fail_member(r, parts[i].name, "%s", "must not be negative");
        total += present ? v * parts[i].unit : 0;
    }
    if (total > DELAY_MAX_DAYS * 86400000.0)
        return pb_rc_fail_member(r, NULL, "%s", "the delay is over 3650 days");
    *ms = (long long)total;
    return 0;
}

int pb_wf_check_template_name(struct pb_rule_ctx *r, const char *member, const char *file)
{
    if (strchr(file, '/') || file[0] == '.' || file[0] == '\0')
        return pb_rc_fail_member(r, member, "\"%s\": name a file of templates.dir, e.g. "
                                 "\"welcome-1.en.eml\"", file);
    return 0;
}

/* Exactly one of send, notify (with template), tag, untag, webhook. */
static int read_action(struct pb_rule_ctx *r, struct pb_wf_step *st)
{
    const char *send, *notify, *tpl, *tag, *untag, *hook;

    if (pb_rc_get_str(r, "send", &send) != 0 || pb_rc_get_str(r, "notify", &notify) != 0
        || pb_rc_get_str(r, "template", &tpl) != 0 || pb_rc_get_str(r, "tag", &tag) != 0
        || pb_rc_get_str(r, "untag", &untag) != 0 || pb_rc_get_str(r, "webhook", &hook) != 0)
        return -1;
    if ((send != NULL) + (notify != NULL) + (tag != NULL) + (untag != NULL) + (hook != NULL) != 1)
        return pb_rc_fail_member(r, NULL, "%s", "a step does one thing: send = \"welcome-1.en."
                                 "eml\"; or notify = \"sales@example.com\"; template = \"mql-"
                                 "handoff.eml\"; or tag = \"vip\"; or untag = \"vip\"; or "
                                 "webhook = \"https://crm.example.com/hook\"; secret = \"crm\";");
    if (pb_wf_read_webhook(r, st, hook) != 0)
        return -1;
    if (hook != NULL)
        return 0;
    if ((tpl != NULL) != (notify != NULL))
        return pb_rc_fail_member(r, tpl ? "template" : "notify", "%s", "notify and template "
                                 "go together: notify = \"sales@example.com\"; template = "
                                 "\"mql-handoff.eml\";");
    if (notify != NULL && strchr(notify, '@') == NULL)
        return pb_rc_fail_member(r, "notify", "\"%s\" is not an address, e.g. "
                                 "\"sales@example.com\"", notify);
    if ((tag || untag) && (strchr(tag ? tag : untag, ',') || !*(tag ? tag : untag)))
        return pb_rc_fail_member(r, tag ? "tag" : "untag", "\"%s\": a tag is not empty and "
                                 "has no \",\"", tag ? tag : untag);
    st->kind = send ? PB_WF_SEND : notify ? PB_WF_NOTIFY : tag ? PB_WF_TAG : PB_WF_UNTAG;
    st->template_file = g_strdup(send ? send : tpl);
    st->to = g_strdup(notify);
    st->tag = g_strdup(tag ? tag : untag);
    if (st->template_file)
        return pb_wf_check_template_name(r, send ? "send" : "template", st->template_file);
    return 0;
}

static int read_step(struct pb_conf_ctx *ctx, const config_setting_t *g, const char *wfwhere,
                     int i, const struct pb_segdefs *d, struct pb_workflow *w)
{
    struct pb_wf_step *st = &w->steps[i];
    struct pb_rule_ctx r;
    char what[160];
    const char *name;

    snprintf(what, sizeof(what), "%s.steps", wfwhere);
    st->if_segment = -1;
    if (pb_rc_start(&r, ctx, g, what, i, "a step { name = \"first\"; send = \"x.eml\"; }") != 0
        || pb_rc_read_name(&r, "first", &name) != 0)
        return -1;
    st->name = g_strdup(name);
    for (int j = 0; j < i; j++)
        if (strcmp(w->steps[j].name, name) == 0)
            return pb_rc_fail_member(&r, "name", "\"%s\" is used by an earlier step", name);
    if (pb_rc_check_members(&r, step_fields, "name, send, notify, template, tag, untag, "
                            "webhook, secret, timeout, delay_minutes, delay_hours, delay_days, "
                            "if_segment, variants") != 0
        || read_delay(&r, &st->delay_ms) != 0 || read_action(&r, st) != 0
        || pb_wf_read_variants(&r, w, st) != 0)
        return -1;
    return read_segment_ref(&r, d, "if_segment", &st->if_segment);
}

static int read_steps(struct pb_rule_ctx *r, const struct pb_segdefs *d, struct pb_workflow *w)
{
    const config_setting_t *l = config_setting_get_member(r->group, "steps");
    int n = l ? config_setting_length(l) : 0;

    if (l == NULL || config_setting_type(l) != CONFIG_TYPE_LIST || n == 0)
        return pb_rc_fail_member(r, l ? "steps" : NULL, "%s", "steps are required: a list "
                                 "( { name = \"first\"; send = \"welcome-1.en.eml\"; }, ... )");
    w->steps = g_new0(struct pb_wf_step, (size_t)n);
    for (int i = 0; i < n; i++) {
        w->nsteps = (size_t)i + 1;
        if (read_step(r->conf, config_setting_get_elem(l, (unsigned)i), r->where, i, d, w) != 0)
            return -1;
    }
    return 0;
}

static int read_workflow(struct pb_rule_ctx *r, const struct pb_segdefs *d,
                         const struct pb_workflows *ws, struct pb_workflow *w)
{
    const char *name;

    w->segment = -1;
    if (pb_rc_read_name(r, "welcome", &name) != 0
        || pb_rc_check_members(r, wf_fields, "name, trigger, exit_events, steps") != 0)
        return -1;
    if (pb_workflow_find(ws, name) != NULL)
        return pb_rc_fail_member(r, "name", "\"%s\" is used by an earlier workflow", name);
    w->name = g_strdup(name);
    if (read_trigger(r, d, w) != 0)
        return -1;
    if (config_setting_get_member(r->group, "exit_events") != NULL
        && pb_rc_get_strings(r, "exit_events", &w->exit_events, 0) != 0)
        return -1;
    for (size_t i = 0; w->exit_events && w->exit_events[i]; i++)
        if (!pb_rc_only_chars(w->exit_events[i], PB_NAME_CHARS, PB_NAME_MAX))
            return pb_rc_fail_member(r, "exit_events", "\"%s\" is not an event type (a-z, 0-9, "
                                     "_, -)", w->exit_events[i]);
    if (read_steps(r, d, w) != 0)
        return -1;
    return pb_wf_check_trigger_steps(r, w);
}

int pb_workflows_read(struct pb_conf_ctx *ctx, const struct config_t *cfg,
                      const struct pb_segdefs *d, struct pb_workflows *w)
{
    const config_setting_t *l = config_lookup(cfg, "scorer.workflows");
    int n;

    memset(w, 0, sizeof(*w));
    if (l == NULL)
        return 0;
    if (config_setting_type(l) != CONFIG_TYPE_LIST)
        return pb_conf_fail_at(ctx, l, "scorer.workflows: expected a list ( { name = "
                               "\"welcome\"; trigger = { signup = true; }; steps = ( ... ); }, "
                               "... )");
    n = config_setting_length(l);
    w->items = g_new0(struct pb_workflow, (size_t)n + 1);
    for (int i = 0; i < n; i++) {
        struct pb_rule_ctx r;
        if (pb_rc_start(&r, ctx, config_setting_get_elem(l, (unsigned)i), "scorer.workflows", i,
                        "a workflow { name = ...; trigger = { ... }; steps = ( ... ); }") != 0
            || read_workflow(&r, d, w, &w->items[i]) != 0) {
            w->count = (size_t)i + 1;
            return -1;
        }
        w->count = (size_t)i + 1;
    }
    return 0;
}

void pb_workflows_free(struct pb_workflows *w)
{
    for (size_t i = 0; i < w->count; i++) {
        struct pb_workflow *wf = &w->items[i];
        for (size_t j = 0; j < wf->nsteps; j++) {
            struct pb_wf_step *st = &wf->steps[j];
            g_free(st->name);
            g_free(st->template_file);
            g_free(st->to);
            g_free(st->tag);
            pb_wf_webhook_free(st->webhook);
            if (st->tpl != NULL)
                pb_tpl_free(st->tpl);
            pb_wf_variants_free(st);
        }
        g_free(wf->steps);
        g_free(wf->name);
        g_free(wf->event);
        g_free(wf->campaign);
        g_free(wf->url);
        g_free(wf->segment_name);
        g_free(wf->date_attr);
        g_strfreev(wf->exit_events);
    }
    g_free(w->items);
    memset(w, 0, sizeof(*w));
}

/* Load file of templates.dir into *tpl unless it is loaded (or no file). */
static int load_template(const struct pb_conf *conf, const struct pb_tpl_opts *opts,
                         const char *file, struct pb_template **tpl, char *err, size_t errlen)
{
    char *path;

    if (file == NULL || *tpl != NULL)
        return 0;
    path = g_build_filename(conf->templates.dir, file, NULL);
    *tpl = pb_tpl_load(path, opts, err, errlen);
    g_free(path);
    return *tpl != NULL ? 0 : -1;
}

int pb_workflows_load_templates(struct pb_workflows *w, const struct pb_conf *conf, char *err,
                                size_t errlen)
{
    struct pb_tpl_opts opts = {
        .from = conf->submit.from, .reply_to = conf->submit.reply_to,
        .campaign_header = conf->milter.campaign_header, .id_domain = NULL,
        .tracking_url = conf->tracking_url,
    };

    for (size_t i = 0; i < w->count; i++)
        for (size_t j = 0; j < w->items[i].nsteps; j++) {
            struct pb_wf_step *st = &w->items[i].steps[j];
            if (load_template(conf, &opts, st->template_file, &st->tpl, err, errlen) != 0)
                return -1;
            for (size_t k = 0; k < st->nvariants; k++)
                if (load_template(conf, &opts, st->variants[k].template_file,
                                  &st->variants[k].tpl, err, errlen) != 0)
                    return -1;
        }
    return 0;
}

size_t pb_workflows_match(const struct pb_workflows *w, const struct pb_sc_event *ev, int *out,
                          size_t max)
{
    size_t n = 0;

    for (size_t i = 0; i < w->count && n < max; i++) {
        const struct pb_workflow *wf = &w->items[i];
        if (pb_wf_starts(wf, ev))      /* workflow_trigger.c */
            out[n++] = (int)i;
    }
    return n;
}

const struct pb_workflow *pb_workflow_find(const struct pb_workflows *w, const char *name)
{
    for (size_t i = 0; i < w->count; i++)
        if (w->items[i].name != NULL && strcmp(w->items[i].name, name) == 0)
            return &w->items[i];
    return NULL;
}

const struct pb_wf_step *pb_wf_step_find(const struct pb_workflow *wf, const char *name,
                                         size_t *index)
{
    for (size_t i = 0; i < wf->nsteps; i++)
        if (strcmp(wf->steps[i].name, name) == 0) {
            *index = i;
            return &wf->steps[i];
        }
    return NULL;
}
