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
#include "conf_value.h"
#include "rules.h"

#define RULE_NAME_MAX 64
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

/* One rule being read: where to report and what it is called so far. */
struct rule_ctx {
    struct pb_conf_ctx *conf;
    const config_setting_t *group;
    char where[96];             /* "scorer.rules[2]" or "scorer.rules[2] (\"name\")" */
};

static int only_chars(const char *s, const char *allowed, size_t max)
{
    size_t n = strspn(s, allowed);

    return n > 0 && n <= max && s[n] == '\0';
}

/* A string member of the rule, or NULL (absent); -1 if not a string. */
static int get_str(struct rule_ctx *r, const char *name, const char **out)
{
    const config_setting_t *s = config_setting_get_member(r->group, name);

    *out = NULL;
    if (s == NULL)
        return 0;
    if (config_setting_type(s) != CONFIG_TYPE_STRING)
        return pb_conf_fail_at(r->conf, s, "%s: %s: expected a string in double quotes, got %s",
                               r->where, name, pb_conf_type_name(config_setting_type(s)));
    *out = config_setting_get_string(s);
    return 0;
}

static int fail_member(struct rule_ctx *r, const char *name, const char *fmt, const char *value)
{
    const config_setting_t *s = config_setting_get_member(r->group, name);
    char msg[512];

    snprintf(msg, sizeof(msg), fmt, value);
    return pb_conf_fail_at(r->conf, s ? s : r->group, "%s: %s: %s", r->where, name, msg);
}

static int check_members(struct rule_ctx *r)
{
    int n = config_setting_length(r->group);

    for (int i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(r->group, (unsigned)i);
        const char *name = config_setting_name(s);
        int known = 0;
        for (const char *const *f = rule_fields; *f && !known; f++)
            known = strcmp(*f, name) == 0;
        if (!known)
            return pb_conf_fail_at(r->conf, s, "%s: unknown setting %s (a rule has name, event, "
                                   "points, campaign, url, class, repeat, per_day)",
                                   r->where, name);
    }
    return 0;
}

static int read_name(struct rule_ctx *r, const struct pb_rules *done, struct pb_rule *rule)
{
    const char *name;

    if (get_str(r, "name", &name) != 0)
        return -1;
    if (name == NULL)
        return pb_conf_fail_at(r->conf, r->group, "%s: name is required (add e.g. name = "
                               "\"pricing-click\";)", r->where);
    if (!only_chars(name, "abcdefghijklmnopqrstuvwxyz0123456789_-", RULE_NAME_MAX))
        return fail_member(r, "name", "\"%s\" must be 1..64 of a-z, 0-9, _ and -", name);
    for (size_t i = 0; i < done->count; i++)
        if (strcmp(done->items[i].name, name) == 0)
            return fail_member(r, "name", "\"%s\" is used by an earlier rule (names must be "
                               "unique: the repeat state and the history use them)", name);
    rule->name = strdup(name);
    snprintf(r->where + strlen(r->where), sizeof(r->where) - strlen(r->where), " (\"%s\")",
             name);
    return 0;
}

static int read_event(struct rule_ctx *r, struct pb_rule *rule)
{
    const char *event;

    if (get_str(r, "event", &event) != 0)
        return -1;
    if (event == NULL)
        return pb_conf_fail_at(r->conf, r->group, "%s: event is required (add e.g. event = "
                               "\"click\"; sent, open, click, unsubscribe or a custom event "
                               "name)", r->where);
    if (!only_chars(event, "abcdefghijklmnopqrstuvwxyz0123456789_", EVENT_NAME_MAX))
        return fail_member(r, "event", "\"%s\" is not an event type (sent, open, click, "
                           "unsubscribe or a custom name of a-z, 0-9 and _)", event);
    rule->event = strdup(event);
    return 0;
}

static int read_points(struct rule_ctx *r, struct pb_rule *rule)
{
    const config_setting_t *s = config_setting_get_member(r->group, "points");
    int type = s ? config_setting_type(s) : CONFIG_TYPE_NONE;

    if (s == NULL)
        return pb_conf_fail_at(r->conf, r->group, "%s: points is required (add e.g. points = "
                               "10; or -20 for an unsubscribe)", r->where);
    if (type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64)
        rule->points = (double)config_setting_get_int64(s);
    else if (type == CONFIG_TYPE_FLOAT)
        rule->points = config_setting_get_float(s);
    else
        return pb_conf_fail_at(r->conf, s, "%s: points: expected a number, got %s (write e.g. "
                               "points = 10;)", r->where, pb_conf_type_name(type));
    if (rule->points == 0 || rule->points > POINTS_MAX || rule->points < -POINTS_MAX)
        return pb_conf_fail_at(r->conf, s, "%s: points: %g is out of range (use a non-zero "
                               "number within -1000000..1000000)", r->where, rule->points);
    return 0;
}

static int read_patterns(struct rule_ctx *r, struct pb_rule *rule)
{
    const char *campaign, *url;

    if (get_str(r, "campaign", &campaign) != 0 || get_str(r, "url", &url) != 0)
        return -1;
    if (campaign != NULL && *campaign == '\0')
        return fail_member(r, "campaign", "\"%s\" is empty (leave campaign out to match every "
                           "campaign, or give a pattern such as \"spring-*\")", campaign);
    if (url != NULL && (*url == '\0' || strcmp(rule->event, "click") != 0))
        return fail_member(r, "url", "\"%s\": a url pattern needs event = \"click\" and must "
                           "not be empty (e.g. \"*/pricing*\")", url);
    rule->campaign = campaign ? strdup(campaign) : NULL;
    rule->url = url ? strdup(url) : NULL;
    return 0;
}

static int read_class(struct rule_ctx *r, struct pb_rule *rule)
{
    const char *word;

    rule->cls = PB_RULE_HUMAN;
    if (get_str(r, "class", &word) != 0)
        return -1;
    if (word == NULL)
        return 0;
    for (size_t i = 0; i < sizeof(class_words) / sizeof(class_words[0]); i++)
        if (strcmp(word, class_words[i].word) == 0) {
            rule->cls = class_words[i].cls;
            return 0;
        }
    return fail_member(r, "class", "\"%s\" is not one of human, machine, any", word);
}

static int read_repeat(struct rule_ctx *r, struct pb_rule *rule)
{
    const config_setting_t *per_day = config_setting_get_member(r->group, "per_day");
    const char *word;
    int found = 0;

    rule->repeat = PB_REPEAT_EVERY;
    if (get_str(r, "repeat", &word) != 0)
        return -1;
    for (size_t i = 0; word != NULL && i < sizeof(repeat_words) / sizeof(repeat_words[0]); i++)
        if (strcmp(word, repeat_words[i].word) == 0) {
            rule->repeat = repeat_words[i].repeat;
            found = 1;
        }
    if (word != NULL && !found)
        return fail_member(r, "repeat", "\"%s\" is not one of every-time, once-per-message, "
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
    struct rule_ctx r = { conf, group, "" };

    snprintf(r.where, sizeof(r.where), "scorer.rules[%d]", index);
    memset(rule, 0, sizeof(*rule));
    if (config_setting_type(group) != CONFIG_TYPE_GROUP)
        return pb_conf_fail_at(conf, group, "%s: expected a rule { name = ...; event = ...; "
                               "points = ...; }, got %s", r.where,
                               pb_conf_type_name(config_setting_type(group)));
    if (read_name(&r, done, rule) != 0 || check_members(&r) != 0 || read_event(&r, rule) != 0
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
    else if ((list = config_lookup(&cfg, "scorer.rules")) != NULL)
        rc = read_list(&ctx, list, rules);
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
