/*
 * cond_conf.c - an attribute condition of postbeacon.conf, shared by fit
 * rules and attribute segments (segments.h): attribute with equals, in
 * or range; tag; age; birthday_within_days. Mistakes name file, line and
 * fix through the loader's message function.
 */
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include "rule_ctx.h"
#include "segments.h"

#define DAYS_MAX 3650

/* The contact fields a condition may read besides attr:<name>. */
static const char *const attributes[] = {
    "email", "first_name", "last_name", "birthday", "city", "country", "language",
    "timezone", "created_at", NULL
};

static int attribute_ok(const char *name)
{
    if (strncmp(name, "attr:", 5) == 0)
        return pb_rc_only_chars(name + 5, "abcdefghijklmnopqrstuvwxyz0123456789_", 64);
    for (const char *const *a = attributes; *a; a++)
        if (strcmp(*a, name) == 0)
            return 1;
    return 0;
}

int pb_rc_get_strings(struct pb_rule_ctx *r, const char *name, char ***out, int lower)
{
    const config_setting_t *s = config_setting_get_member(r->group, name);
    int n = s ? config_setting_length(s) : 0;

    *out = NULL;
    if (s == NULL || (!config_setting_is_array(s) && !config_setting_is_list(s)) || n == 0)
        return pb_rc_fail_member(r, name, "%s", "expected a list of strings, e.g. "
                                 "[ \"Berlin\", \"Hamburg\" ]");
    *out = g_new0(char *, (size_t)n + 1);
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        if (config_setting_type(e) != CONFIG_TYPE_STRING) {
            g_strfreev(*out);
            *out = NULL;
            return pb_rc_fail_member(r, name, "%s", "expected a list of strings in double "
                                     "quotes, e.g. [ \"Berlin\", \"Hamburg\" ]");
        }
        (*out)[i] = lower ? g_ascii_strdown(config_setting_get_string(e), -1)
                          : g_strdup(config_setting_get_string(e));
    }
    return 0;
}

/* [ min, max ] of member name, numbers with min <= max. */
static int get_range(struct pb_rule_ctx *r, const char *name, double *min, double *max)
{
    const config_setting_t *s = config_setting_get_member(r->group, name);
    double v[2];

    if (s == NULL || config_setting_length(s) != 2
        || (!config_setting_is_array(s) && !config_setting_is_list(s)))
        return pb_rc_fail_member(r, name, "%s", "expected [ min, max ], e.g. [ 25, 55 ]");
    for (unsigned i = 0; i < 2; i++) {
        const config_setting_t *e = config_setting_get_elem(s, i);
        int t = config_setting_type(e);
        if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64 && t != CONFIG_TYPE_FLOAT)
            return pb_rc_fail_member(r, name, "%s", "expected two numbers [ min, max ], e.g. "
                                     "[ 25, 55 ]");
        v[i] = t == CONFIG_TYPE_FLOAT ? config_setting_get_float(e)
                                      : (double)config_setting_get_int64(e);
    }
    if (v[0] > v[1])
        return pb_rc_fail_member(r, name, "%s", "min is above max: write [ min, max ]");
    *min = v[0];
    *max = v[1];
    return 0;
}

/* attribute with one of equals, in, range. */
static int read_attribute(struct pb_rule_ctx *r, struct pb_cond *c, const char *attribute)
{
    const char *equals;
    int has_in = config_setting_get_member(r->group, "in") != NULL;
    int has_range = config_setting_get_member(r->group, "range") != NULL;

    if (!attribute_ok(attribute))
        return pb_rc_fail_member(r, "attribute", "\"%s\" is not an attribute (city, country, "
                                 "language, first_name, last_name, birthday, timezone, email, "
                                 "created_at, or attr:<name> with a-z, 0-9, _)", attribute);
    if (pb_rc_get_str(r, "equals", &equals) != 0)
        return -1;
    if ((equals != NULL) + has_in + has_range != 1)
        return pb_rc_fail_member(r, "attribute", "\"%s\" needs exactly one of equals = "
                                 "\"...\", in = [ ... ] or range = [ min, max ]", attribute);
    c->attribute = g_strdup(attribute);
    if (equals != NULL) {
        c->kind = PB_COND_EQUALS;
        c->values = g_new0(char *, 2);
        c->values[0] = g_ascii_strdown(equals, -1);
        return 0;
    }
    if (has_in) {
        c->kind = PB_COND_IN;
        return pb_rc_get_strings(r, "in", &c->values, 1);
    }
    c->kind = PB_COND_RANGE;
    return get_range(r, "range", &c->min, &c->max);
}

int pb_rc_get_days(struct pb_rule_ctx *r, const char *name, int *days)
{
    const config_setting_t *s = config_setting_get_member(r->group, name);

    if (s == NULL || config_setting_type(s) != CONFIG_TYPE_INT
        || config_setting_get_int(s) < 1 || config_setting_get_int(s) > DAYS_MAX)
        return pb_rc_fail_member(r, name, "%s", "expected a whole number of days within "
                                 "1..3650, e.g. 7");
    *days = config_setting_get_int(s);
    return 0;
}

int pb_cond_read(struct pb_rule_ctx *r, struct pb_cond *c, int birthday)
{
    const char *attribute, *tag;
    int has_age = config_setting_get_member(r->group, "age") != NULL;
    int has_bday = config_setting_get_member(r->group, "birthday_within_days") != NULL;

    memset(c, 0, sizeof(*c));
    if (pb_rc_get_str(r, "attribute", &attribute) != 0 || pb_rc_get_str(r, "tag", &tag) != 0)
        return -1;
    if (has_bday && !birthday)
        return pb_rc_fail_member(r, "birthday_within_days", "%s", "is for segments (a fit "
                                 "rule may use age = [ min, max ])");
    if ((attribute != NULL) + (tag != NULL) + has_age + has_bday > 1)
        return pb_rc_fail_member(r, NULL, "%s", "give one condition: attribute, tag, age or "
                                 "birthday_within_days (combine segments with all = [ ... ])");
    if (attribute != NULL)
        return read_attribute(r, c, attribute);
    if (tag != NULL) {
        if (*tag == '\0' || strchr(tag, ',') != NULL)
            return pb_rc_fail_member(r, "tag", "\"%s\" must be a non-empty tag without ','",
                                     tag);
        c->kind = PB_COND_TAG;
        c->attribute = g_ascii_strdown(tag, -1);
        return 0;
    }
    c->attribute = g_strdup("birthday");
    if (has_age) {
        c->kind = PB_COND_AGE;
        return get_range(r, "age", &c->min, &c->max);
    }
    if (has_bday) {
        c->kind = PB_COND_BIRTHDAY;
        return pb_rc_get_days(r, "birthday_within_days", &c->days);
    }
    g_free(c->attribute);
    c->attribute = NULL;
    return 1;
}

void pb_cond_free(struct pb_cond *c)
{
    g_free(c->attribute);
    g_strfreev(c->values);
    memset(c, 0, sizeof(*c));
}
