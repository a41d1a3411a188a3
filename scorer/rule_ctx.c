/*
 * rule_ctx.c - the shared readers of one list item of postbeacon.conf
 * (rule_ctx.h): each mistake is reported through the loader's own message
 * function (pb_conf_fail_at), so an item in an @included file is reported
 * there, with its line.
 */
#include <stdio.h>
#include <string.h>
#include "rule_ctx.h"

int pb_rc_only_chars(const char *s, const char *allowed, size_t max)
{
    size_t n = strspn(s, allowed);

    return n > 0 && n <= max && s[n] == '\0';
}

int pb_rc_get_str(struct pb_rule_ctx *r, const char *name, const char **out)
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

int pb_rc_get_number(struct pb_rule_ctx *r, const char *name, double *out, int *present)
{
    const config_setting_t *s = config_setting_get_member(r->group, name);
    int type = s ? config_setting_type(s) : CONFIG_TYPE_NONE;

    *present = s != NULL;
    if (s == NULL)
        return 0;
    if (type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64)
        *out = (double)config_setting_get_int64(s);
    else if (type == CONFIG_TYPE_FLOAT)
        *out = config_setting_get_float(s);
    else
        return pb_conf_fail_at(r->conf, s, "%s: %s: expected a number, got %s (write e.g. "
                               "%s = 10;)", r->where, name, pb_conf_type_name(type), name);
    return 0;
}

int pb_rc_fail_member(struct pb_rule_ctx *r, const char *name, const char *fmt,
                      const char *value)
{
    const config_setting_t *s = name ? config_setting_get_member(r->group, name) : NULL;
    char msg[512];

    snprintf(msg, sizeof(msg), fmt, value);
    if (name == NULL)
        return pb_conf_fail_at(r->conf, r->group, "%s: %s", r->where, msg);
    return pb_conf_fail_at(r->conf, s ? s : r->group, "%s: %s: %s", r->where, name, msg);
}

int pb_rc_check_members(struct pb_rule_ctx *r, const char *const *fields, const char *list)
{
    int n = config_setting_length(r->group);

    for (int i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(r->group, (unsigned)i);
        const char *name = config_setting_name(s);
        int known = 0;
        for (const char *const *f = fields; *f && !known; f++)
            known = strcmp(*f, name) == 0;
        if (!known)
            return pb_conf_fail_at(r->conf, s, "%s: unknown setting %s (one of %s)",
                                   r->where, name, list);
    }
    return 0;
}

int pb_rc_read_name(struct pb_rule_ctx *r, const char *example, const char **out)
{
    size_t len;

    if (pb_rc_get_str(r, "name", out) != 0)
        return -1;
    if (*out == NULL)
        return pb_conf_fail_at(r->conf, r->group, "%s: name is required (add e.g. name = "
                               "\"%s\";)", r->where, example);
    if (!pb_rc_only_chars(*out, PB_NAME_CHARS, PB_NAME_MAX))
        return pb_rc_fail_member(r, "name", "\"%s\" must be 1..64 of a-z, 0-9, _ and -", *out);
    len = strlen(r->where);
    snprintf(r->where + len, sizeof(r->where) - len, " (\"%s\")", *out);
    return 0;
}

int pb_rc_start(struct pb_rule_ctx *r, struct pb_conf_ctx *conf, const config_setting_t *group,
                const char *what, int index, const char *expected)
{
    r->conf = conf;
    r->group = group;
    snprintf(r->where, sizeof(r->where), "%s[%d]", what, index);
    if (config_setting_type(group) != CONFIG_TYPE_GROUP)
        return pb_conf_fail_at(conf, group, "%s: expected %s, got %s", r->where, expected,
                               pb_conf_type_name(config_setting_type(group)));
    return 0;
}
