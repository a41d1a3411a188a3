/*
 * segments_conf.c - scorer.fit, scorer.grade and scorer.segments of
 * postbeacon.conf (segments.h), read with libconfig after the scoring
 * rules (rules.c calls pb_segdefs_read on the same parse). A segment's
 * kind follows from the members it has; every mistake names the file,
 * the line, the item and the fix.
 */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include "rule_ctx.h"
#include "segments.h"

#define POINTS_MAX 1000000.0

static const char *const fit_fields[] = {
    "name", "points", "attribute", "equals", "in", "range", "tag", "age", NULL
};

static const char *const segment_fields[] = {
    "name", "behaviour_at_least", "behaviour_below", "fit_at_least", "fit_below", "grade",
    "clicked", "clicked_campaign", "within_days", "attribute", "equals", "in", "range", "tag",
    "age", "birthday_within_days", "dormant_days", "active_days", "suppressed", "all", "any",
    "not", NULL
};

#define SEGMENT_KINDS "behaviour_at_least, behaviour_below, fit_at_least, fit_below, grade, " \
    "clicked (with within_days), an attribute condition, dormant_days, active_days, " \
    "suppressed, all/any/not"

/* ---- fit rules ---------------------------------------------------------- */

static int read_fit_rule(struct pb_rule_ctx *r, const struct pb_segdefs *d,
                         struct pb_fit_rule *f)
{
    const char *name;
    int present;

    if (pb_rc_read_name(r, "berlin", &name) != 0
        || pb_rc_check_members(r, fit_fields, "name, points, attribute, equals, in, range, "
                               "tag, age") != 0)
        return -1;
    for (size_t i = 0; i < d->nfit; i++)
        if (strcmp(d->fit[i].name, name) == 0)
            return pb_rc_fail_member(r, "name", "\"%s\" is used by an earlier fit rule", name);
    f->name = g_strdup(name);
    if (pb_rc_get_number(r, "points", &f->points, &present) != 0)
        return -1;
    if (!present || f->points == 0 || f->points > POINTS_MAX || f->points < -POINTS_MAX)
        return pb_rc_fail_member(r, "points", "%s", "is required: a non-zero number within "
                                 "-1000000..1000000, e.g. points = 10;");
    switch (pb_cond_read(r, &f->cond, 0)) {
    case 0:
        return 0;
    case 1:
        return pb_rc_fail_member(r, NULL, "%s", "a fit rule needs a condition: attribute = "
                                 "\"city\"; in = [ \"Berlin\" ]; or tag = \"vip\"; or age = "
                                 "[ 25, 55 ];");
    default:
        return -1;
    }
}

/* ---- grade -------------------------------------------------------------- */

static int read_bands(struct pb_conf_ctx *ctx, const config_setting_t *g, const char *name,
                      double out[PB_GRADE_BANDS])
{
    const config_setting_t *s = config_setting_get_member(g, name);

    if (s == NULL || config_setting_length(s) != PB_GRADE_BANDS)
        return pb_conf_fail_at(ctx, s ? s : g, "scorer.grade.%s: expected three descending "
                               "thresholds, e.g. %s = [ 60, 40, 20 ];", name, name);
    for (unsigned i = 0; i < PB_GRADE_BANDS; i++) {
        const config_setting_t *e = config_setting_get_elem(s, i);
        int t = config_setting_type(e);
        if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64 && t != CONFIG_TYPE_FLOAT)
            return pb_conf_fail_at(ctx, s, "scorer.grade.%s: expected numbers, e.g. "
                                   "[ 60, 40, 20 ]", name);
        out[i] = t == CONFIG_TYPE_FLOAT ? config_setting_get_float(e)
                                        : (double)config_setting_get_int64(e);
        if (i > 0 && out[i] >= out[i - 1])
            return pb_conf_fail_at(ctx, s, "scorer.grade.%s: thresholds must descend (band "
                                   "A or 1 first), e.g. [ 60, 40, 20 ]", name);
    }
    return 0;
}

static int read_grade(struct pb_conf_ctx *ctx, const config_setting_t *g, struct pb_segdefs *d)
{
    if (config_setting_type(g) != CONFIG_TYPE_GROUP || config_setting_length(g) != 2)
        return pb_conf_fail_at(ctx, g, "scorer.grade: expected { fit = [ 60, 40, 20 ]; "
                               "behaviour = [ 100, 50, 20 ]; }");
    if (read_bands(ctx, g, "fit", d->grade_fit) != 0
        || read_bands(ctx, g, "behaviour", d->grade_behaviour) != 0)
        return -1;
    d->has_grade = 1;
    return 0;
}

/* ---- segments ----------------------------------------------------------- */

static int has(const struct pb_rule_ctx *r, const char *name)
{
    return config_setting_get_member(r->group, name) != NULL;
}

static int read_threshold(struct pb_rule_ctx *r, struct pb_segment *seg)
{
    static const struct { const char *name; enum pb_seg_kind kind; int below; } words[] = {
        { "behaviour_at_least", PB_SEG_BEHAVIOUR, 0 }, { "behaviour_below", PB_SEG_BEHAVIOUR, 1 },
        { "fit_at_least", PB_SEG_FIT, 0 }, { "fit_below", PB_SEG_FIT, 1 },
    };
    int present;

    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (!has(r, words[i].name))
            continue;
        seg->kind = words[i].kind;
        seg->below = words[i].below;
        return pb_rc_get_number(r, words[i].name, &seg->threshold, &present);
    }
    return 1;
}

static int read_interest(struct pb_rule_ctx *r, struct pb_segment *seg)
{
    const char *url, *campaign;

    if (pb_rc_get_str(r, "clicked", &url) != 0
        || pb_rc_get_str(r, "clicked_campaign", &campaign) != 0)
        return -1;
    if ((url && !*url) || (campaign && !*campaign))
        return pb_rc_fail_member(r, url && !*url ? "clicked" : "clicked_campaign", "%s",
                                 "must not be empty (e.g. \"*/sofas*\")");
    seg->kind = PB_SEG_INTEREST;
    seg->url = g_strdup(url);
    seg->campaign = g_strdup(campaign);
    if (!has(r, "within_days"))
        return pb_rc_fail_member(r, NULL, "%s", "an interest segment needs within_days = N;");
    return pb_rc_get_days(r, "within_days", &seg->days);
}

/* grade = [ "A1", ... ]: needs scorer.grade (read before the segments). */
static int read_grades(struct pb_rule_ctx *r, const struct pb_segdefs *d, struct pb_segment *seg)
{
    seg->kind = PB_SEG_GRADE;
    if (!d->has_grade)
        return pb_rc_fail_member(r, "grade", "%s", "needs scorer.grade = { fit = [ ... ]; "
                                 "behaviour = [ ... ]; } to define the grades");
    if (pb_rc_get_strings(r, "grade", &seg->grades, 0) != 0)
        return -1;
    for (char **g = seg->grades; *g; g++)
        if (strlen(*g) != 2 || (*g)[0] < 'A' || (*g)[0] > 'D' || (*g)[1] < '1' || (*g)[1] > '4')
            return pb_rc_fail_member(r, "grade", "\"%s\" is not a grade (A1 .. D4: fit band "
                                     "A-D, behaviour band 1-4)", *g);
    return 0;
}

/* Names of earlier segments into a -1-terminated index list. */
static int read_refs(struct pb_rule_ctx *r, const struct pb_segdefs *d, const char *name,
                     int **out)
{
    char **names;
    size_t n;

    if (!has(r, name))
        return 0;
    if (pb_rc_get_strings(r, name, &names, 0) != 0)
        return -1;
    n = g_strv_length(names);
    *out = g_new(int, n + 1);
    (*out)[n] = -1;
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < d->count && strcmp(d->items[j].name, names[i]) != 0)
            j++;
        if (j == d->count) {
            pb_rc_fail_member(r, name, "\"%s\" is not a segment defined before this one "
                              "(define it first: combinations name earlier segments)", names[i]);
            g_strfreev(names);
            return -1;
        }
        (*out)[i] = (int)j;
    }
    g_strfreev(names);
    return 0;
}

static int read_flag_kinds(struct pb_rule_ctx *r, const struct pb_segdefs *d,
                           struct pb_segment *seg)
{
    const config_setting_t *s;

    if (has(r, "dormant_days") || has(r, "active_days")) {
        int dormant = has(r, "dormant_days");
        seg->kind = dormant ? PB_SEG_DORMANT : PB_SEG_ACTIVE;
        return pb_rc_get_days(r, dormant ? "dormant_days" : "active_days", &seg->days);
    }
    if ((s = config_setting_get_member(r->group, "suppressed")) != NULL) {
        if (config_setting_type(s) != CONFIG_TYPE_BOOL || !config_setting_get_bool(s))
            return pb_rc_fail_member(r, "suppressed", "%s", "write suppressed = true;");
        seg->kind = PB_SEG_SUPPRESSED;
        return 0;
    }
    if (has(r, "all") || has(r, "any") || has(r, "not")) {
        seg->kind = PB_SEG_COMBINATION;
        return read_refs(r, d, "all", &seg->all) != 0 || read_refs(r, d, "any", &seg->any) != 0
               || read_refs(r, d, "not", &seg->none) != 0 ? -1 : 0;
    }
    return 1;
}

/* How many kinds the members ask for: exactly one is allowed. */
static int kinds_named(const struct pb_rule_ctx *r)
{
    static const char *const groups[][4] = {
        { "behaviour_at_least", "behaviour_below", "fit_at_least", "fit_below" },
        { "grade" }, { "clicked", "clicked_campaign" },
        { "attribute", "tag", "age", "birthday_within_days" },
        { "dormant_days" }, { "active_days" }, { "suppressed" }, { "all", "any", "not" },
    };
    int n = 0;

    for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
        int found = 0;
        for (size_t j = 0; j < 4 && groups[i][j]; j++)
            found += has(r, groups[i][j]);
        n += found > 0 ? (i == 0 ? found : 1) : 0;
    }
    return n;
}

static int read_kind(struct pb_rule_ctx *r, const struct pb_segdefs *d, struct pb_segment *seg)
{
    int rc;

    if (kinds_named(r) != 1)
        return pb_rc_fail_member(r, NULL, "%s", "a segment needs exactly one kind: "
                                 SEGMENT_KINDS " (combine kinds with all = [ ... ])");
    if ((rc = read_threshold(r, seg)) != 1)
        return rc;
    if (has(r, "grade"))
        return read_grades(r, d, seg);
    if (has(r, "clicked") || has(r, "clicked_campaign"))
        return read_interest(r, seg);
    if (has(r, "within_days"))
        return pb_rc_fail_member(r, "within_days", "%s", "belongs to clicked = \"...\";");
    if ((rc = read_flag_kinds(r, d, seg)) != 1)
        return rc;
    seg->kind = PB_SEG_ATTRIBUTE;
    return pb_cond_read(r, &seg->cond, 1) == 0 ? 0 : -1;
}

static int read_segment(struct pb_rule_ctx *r, const struct pb_segdefs *d,
                        struct pb_segment *seg)
{
    const char *name;

    if (pb_rc_read_name(r, "mql", &name) != 0
        || pb_rc_check_members(r, segment_fields, SEGMENT_KINDS) != 0)
        return -1;
    for (size_t i = 0; i < d->count; i++)
        if (strcmp(d->items[i].name, name) == 0)
            return pb_rc_fail_member(r, "name", "\"%s\" is used by an earlier segment", name);
    seg->name = g_strdup(name);
    return read_kind(r, d, seg);
}

/* ---- the lists ---------------------------------------------------------- */

static void segment_free(struct pb_segment *seg)
{
    g_free(seg->name);
    g_strfreev(seg->grades);
    g_free(seg->url);
    g_free(seg->campaign);
    pb_cond_free(&seg->cond);
    g_free(seg->all);
    g_free(seg->any);
    g_free(seg->none);
}

static void fit_free(struct pb_fit_rule *f)
{
    g_free(f->name);
    pb_cond_free(&f->cond);
}

static int read_fit_list(struct pb_conf_ctx *ctx, const config_setting_t *list,
                         struct pb_segdefs *d)
{
    int n = config_setting_length(list);
    struct pb_rule_ctx r;

    d->fit = g_new0(struct pb_fit_rule, (size_t)n + 1);
    for (int i = 0; i < n; i++) {
        struct pb_fit_rule f = { 0 };
        if (pb_rc_start(&r, ctx, config_setting_get_elem(list, (unsigned)i), "scorer.fit", i,
                        "a fit rule { name = ...; points = ...; attribute = ...; ... }") != 0)
            return -1;
        if (read_fit_rule(&r, d, &f) != 0) {
            fit_free(&f);
            return -1;
        }
        d->fit[d->nfit++] = f;
    }
    return 0;
}

static int read_segment_list(struct pb_conf_ctx *ctx, const config_setting_t *list,
                             struct pb_segdefs *d)
{
    int n = config_setting_length(list);
    struct pb_rule_ctx r;

    d->items = g_new0(struct pb_segment, (size_t)n + 1);
    for (int i = 0; i < n; i++) {
        struct pb_segment seg = { 0 };
        if (pb_rc_start(&r, ctx, config_setting_get_elem(list, (unsigned)i), "scorer.segments",
                        i, "a segment { name = ...; ... }") != 0)
            return -1;
        if (read_segment(&r, d, &seg) != 0) {
            segment_free(&seg);
            return -1;
        }
        d->items[d->count++] = seg;
    }
    return 0;
}

int pb_segdefs_read(struct pb_conf_ctx *ctx, const struct config_t *cfg, struct pb_segdefs *d)
{
    const config_setting_t *s;

    memset(d, 0, sizeof(*d));
    if ((s = config_lookup(cfg, "scorer.fit")) != NULL && read_fit_list(ctx, s, d) != 0)
        return -1;
    if ((s = config_lookup(cfg, "scorer.grade")) != NULL && read_grade(ctx, s, d) != 0)
        return -1;
    if ((s = config_lookup(cfg, "scorer.segments")) != NULL
        && read_segment_list(ctx, s, d) != 0)
        return -1;
    return 0;
}

void pb_segdefs_free(struct pb_segdefs *d)
{
    for (size_t i = 0; i < d->nfit; i++)
        fit_free(&d->fit[i]);
    g_free(d->fit);
    for (size_t i = 0; i < d->count; i++)
        segment_free(&d->items[i]);
    g_free(d->items);
    memset(d, 0, sizeof(*d));
}

size_t pb_segdefs_interest(const struct pb_segdefs *d, const struct pb_sc_event *ev, int *out,
                           size_t max)
{
    size_t n = 0;

    if (strcmp(ev->type, "click") != 0 || strcmp(ev->cls, "machine") == 0)
        return 0;
    for (size_t i = 0; i < d->count && n < max; i++) {
        const struct pb_segment *seg = &d->items[i];
        if (seg->kind == PB_SEG_INTEREST
            && (seg->url == NULL || fnmatch(seg->url, ev->url, FNM_CASEFOLD) == 0)
            && (seg->campaign == NULL || fnmatch(seg->campaign, ev->campaign, 0) == 0))
            out[n++] = (int)i;
    }
    return n;
}
