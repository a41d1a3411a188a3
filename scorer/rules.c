/*
 * rules.c - scorer.rules: the behaviour scoring rules, read from
 * postbeacon.conf with libconfig (the general loader, lib/conf.c, accepts
 * the list and leaves it to us) and matched against events.
 *
 * A rule is a group in the list:
 *   { name = "pricing-click"; event = "click"; points = 15;
 *     url = "*\/pricing*"; repeat = "once-per-campaign"; }
 * Every mistake names the file, the line, the rule and what would fix it,
 * through the loader's own message function (pb_conf_fail_at), so a rule
 * in an @included file is reported there.
 */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libconfig.h>
#include "rule_ctx.h"
#include "rules.h"

#define EVENT_NAME_MAX 32
#define POINTS_MAX 1000000.0

static const char *const rule_fields[] = {
    "name", "event", "points", "campaign", "url", "class", "repeat", "per_day", NULL
};

static const struct { const char *word; enum pb_rule_repeat repeat; } repeat_words[] = {
    { "every-time", PB_REPEAT_EVERY }, { "once-per-message", PB_REPEAT_MESSAGE },
    { "once-per-campaign", PB_REPEAT_CAMPAIGN }, { "once", PB_REPEAT_ONCE },
    { "per-day", PB_REPEAT_DAILY },
};

static const struct { const char *word; enum pb_rule_class cls; } class_words[] = {
    { "human", PB_RULE_HUMAN }, { "machine", PB_RULE_MACHINE }, { "any", PB_RULE_ANY },
};

static int read_name(struct pb_rule_ctx *r, const struct pb_rules *done, struct pb_rule *rule)
{
    const char *name;

    if (pb_rc_read_name(r, "pricing-click", &name) != 0)
        return -1;
    for (size_t i = 0; i < done->count; i++)
        if (strcmp(done->items[i].name, name) == 0)
            return pb_rc_fail_member(r, "name", "\"%s\" is used by an earlier rule (names "
                                     "must be unique: the repeat state and the history use "
                                     "them)", name);
    rule->name = strdup(name);
    return 0;
}

static int read_event(struct pb_rule_ctx *r, struct pb_rule *rule)
{
    const char *event;

    if (pb_rc_get_str(r, "event", &event) != 0)
        return -1;
    if (event == NULL)
        return pb_conf_fail_at(r->conf, r->group, "%s: event is required (add e.g. event = "
                               "\"click\"; sent, open, click, unsubscribe or a custom event "
                               "name)", r->where);
    if (!pb_rc_only_chars(event, "abcdefghijklmnopqrstuvwxyz0123456789_", EVENT_NAME_MAX))
        return pb_rc_fail_member(r, "event", "\"%s\" is not an event type (sent, open, click, "
                           "unsubscribe or a custom name of a-z, 0-9 and _)", event);
    rule->event = strdup(event);
    return 0;
}

static int read_points(struct pb_rule_ctx *r, struct pb_rule *rule)
{
    int present;

    if (pb_rc_get_number(r, "points", &rule->points, &present) != 0)
        return -1;
    if (!present)
        return pb_conf_fail_at(r->conf, r->group, "%s: points is required (add e.g. points = "
                               "10; or -20 for an unsubscribe)", r->where);
    if (rule->points == 0 || rule->points > POINTS_MAX || rule->points < -POINTS_MAX)
        return pb_conf_fail_at(r->conf, config_setting_get_member(r->group, "points"),
                               "%s: points: %g is out of range (use a non-zero number within "
                               "-1000000..1000000)", r->where, rule->points);
    return 0;
}

static int read_patterns(struct pb_rule_ctx *r, struct pb_rule *rule)
{
    const char *campaign, *url;

    if (pb_rc_get_str(r, "campaign", &campaign) != 0 || pb_rc_get_str(r, "url", &url) != 0)
        return -1;
    if (campaign != NULL && *campaign == '\0')
        return pb_rc_fail_member(r, "campaign", "\"%s\" is empty (leave campaign out to match every "
                           "campaign, or give a pattern such as \"spring-*\")", campaign);
    if (url != NULL && (*url == '\0' || strcmp(rule->event, "click") != 0))
        return pb_rc_fail_member(r, "url", "\"%s\": a url pattern needs event = \"click\" and must "
                           "not be empty (e.g. \"*/pricing*\")", url);
    rule->campaign = campaign ? strdup(campaign) : NULL;
    rule->url = url ? strdup(url) : NULL;
    return 0;
}

static int read_class(struct pb_rule_ctx *r, struct pb_rule *rule)
{
    const char *word;

    rule->cls = PB_RULE_HUMAN;
    if (pb_rc_get_str(r, "class", &word) != 0)
        return -1;
    if (word == NULL)
        return 0;
    for (size_t i = 0; i < sizeof(class_words) / sizeof(class_words[0]); i++)
        if (strcmp(word, class_words[i].word) == 0) {
            rule->cls = class_words[i].cls;
            return 0;
        }
    return pb_rc_fail_member(r, "class", "\"%s\" is not one of human, machine, any", word);
}

static int read_repeat(struct pb_rule_ctx *r, struct pb_rule *rule)
{
    const config_setting_t *per_day = config_setting_get_member(r->group, "per_day");
    const char *word;
    int found = 0;

    rule->repeat = PB_REPEAT_EVERY;
    if (pb_rc_get_str(r, "repeat", &word) != 0)
        return -1;
    for (size_t i = 0; word != NULL && i < sizeof(repeat_words) / sizeof(repeat_words[0]); i++)
        if (strcmp(word, repeat_words[i].word) == 0) {
            rule->repeat = repeat_words[i].repeat;
            found = 1;
        }
    if (word != NULL && !found)
        return pb_rc_fail_member(r, "repeat", "\"%s\" is not one of every-time, once-per-message, "
                           "once-per-campaign, once, per-day", word);
    if (rule->repeat != PB_REPEAT_DAILY && per_day != NULL)
        return pb_conf_fail_at(r->conf, per_day, "%s: per_day needs repeat = \"per-day\"",
                               r->where);
    if (rule->repeat != PB_REPEAT_DAILY)
        return 0;
    if (per_day == NULL)
        return pb_conf_fail_at(r->conf, r->group, "%s: repeat = \"per-day\" needs per_day "
                               "(add e.g. per_day = 3;)", r->where);
    if (config_setting_type(per_day) != CONFIG_TYPE_INT
        || config_setting_get_int(per_day) < 1 || config_setting_get_int(per_day) > 1000000)
        return pb_conf_fail_at(r->conf, per_day, "%s: per_day: expected an integer within "
                               "1..1000000 (e.g. per_day = 3;)", r->where);
    rule->per_day = config_setting_get_int(per_day);
    return 0;
}

static void rule_free(struct pb_rule *rule)
{
    free(rule->name);
    free(rule->event);
    free(rule->campaign);
    free(rule->url);
    memset(rule, 0, sizeof(*rule));
}

static int read_rule(struct pb_conf_ctx *conf, const config_setting_t *group, int index,
                     const struct pb_rules *done, struct pb_rule *rule)
{
    struct pb_rule_ctx r;

    memset(rule, 0, sizeof(*rule));
    if (pb_rc_start(&r, conf, group, "scorer.rules", index, "a rule { name = ...; event = "
                    "...; points = ...; }") != 0)
        return -1;
    if (read_name(&r, done, rule) != 0
        || pb_rc_check_members(&r, rule_fields, "name, event, points, campaign, url, class, "
                               "repeat, per_day") != 0
        || read_event(&r, rule) != 0
        || read_points(&r, rule) != 0 || read_patterns(&r, rule) != 0
        || read_class(&r, rule) != 0 || read_repeat(&r, rule) != 0) {
        rule_free(rule);
        return -1;
    }
    return 0;
}

static int read_list(struct pb_conf_ctx *ctx, const config_setting_t *list, struct pb_rules *rules)
{
    int n = config_setting_length(list);

    rules->items = calloc((size_t)n + 1, sizeof(struct pb_rule));
    if (rules->items == NULL)
        return pb_conf_fail_at(ctx, list, "scorer.rules: out of memory");
    for (int i = 0; i < n; i++) {
        if (read_rule(ctx, config_setting_get_elem(list, (unsigned)i), i, rules,
                      &rules->items[rules->count]) != 0)
            return -1;
        rules->count++;
    }
    return 0;
}

/* Parse path as lib/conf.c does (include directory = the file's). */
static int read_config(const char *path, config_t *cfg, struct pb_conf_ctx *ctx)
{
    const char *slash = strrchr(path, '/');

    if (slash == NULL)
        snprintf(ctx->dir, sizeof(ctx->dir), ".");
    else
        snprintf(ctx->dir, sizeof(ctx->dir), "%.*s", slash == path ? 1 : (int)(slash - path),
                 path);
    config_set_include_dir(cfg, ctx->dir);
    if (config_read_file(cfg, path))
        return 0;
    /* pb_conf_load read this file a moment ago; say so if it changed since */
    snprintf(ctx->err, ctx->errlen, "%s:%d: %s (the file changed while it was read?)",
             config_error_file(cfg) ? config_error_file(cfg) : path, config_error_line(cfg),
             config_error_text(cfg));
    return -1;
}

/* What the general loader checks one setting at a time cannot see: a cap
 * below the floor. */
static int check_bounds(struct pb_conf_ctx *ctx, const config_t *cfg)
{
    const config_setting_t *cap = config_lookup(cfg, "scorer.score_cap");
    const config_setting_t *floor = config_lookup(cfg, "scorer.score_floor");
    long long cap_v = cap ? config_setting_get_int64(cap) : 0;
    long long floor_v = floor ? config_setting_get_int64(floor) : 0;

    if (cap_v > 0 && cap_v < floor_v)
        return pb_conf_fail_at(ctx, cap, "scorer.score_cap: %lld is below scorer.score_floor "
                               "(%lld): raise the cap, lower the floor, or use 0 for no cap",
                               cap_v, floor_v);
    return 0;
}

int pb_rules_load(const char *path, struct pb_rules *rules, char *err, size_t errlen)
{
    struct pb_conf_ctx ctx = { path, NULL, err, errlen, "." };
    const config_setting_t *list;
    config_t cfg;
    int rc = 0;

    memset(rules, 0, sizeof(*rules));
    config_init(&cfg);
    if (read_config(path, &cfg, &ctx) != 0 || check_bounds(&ctx, &cfg) != 0)
        rc = -1;
    else if ((list = config_lookup(&cfg, "scorer.rules")) != NULL
             && read_list(&ctx, list, rules) != 0)
        rc = -1;
    else
        rc = pb_segdefs_read(&ctx, &cfg, &rules->segs) != 0
             || pb_workflows_read(&ctx, &cfg, &rules->segs, &rules->wf) != 0 ? -1 : 0;
    config_destroy(&cfg);
    if (rc != 0)
        pb_rules_free(rules);
    return rc;
}

void pb_rules_free(struct pb_rules *rules)
{
    for (size_t i = 0; rules->items != NULL && i < rules->count; i++)
        rule_free(&rules->items[i]);
    free(rules->items);
    pb_segdefs_free(&rules->segs);
    pb_workflows_free(&rules->wf);
    memset(rules, 0, sizeof(*rules));
}

/* ---- matching ----------------------------------------------------------- */

static int class_matches(enum pb_rule_class want, const char *cls)
{
    if (want == PB_RULE_ANY)
        return 1;
    if (strcmp(cls, "machine") == 0)
        return want == PB_RULE_MACHINE;
    return want == PB_RULE_HUMAN;       /* "human", or no class (sent, custom events) */
}

static int rule_matches(const struct pb_rule *rule, const struct pb_sc_event *ev)
{
    return strcmp(rule->event, ev->type) == 0 && class_matches(rule->cls, ev->cls)
           && (rule->campaign == NULL || fnmatch(rule->campaign, ev->campaign, 0) == 0)
           && (rule->url == NULL || fnmatch(rule->url, ev->url, FNM_CASEFOLD) == 0);
}

size_t pb_rules_match(const struct pb_rules *rules, const struct pb_sc_event *ev,
                      const struct pb_rule **out, size_t max)
{
    size_t n = 0;

    for (size_t i = 0; i < rules->count && n < max; i++)
        if (rule_matches(&rules->items[i], ev))
            out[n++] = &rules->items[i];
    return n;
}
