/*
 * conf_value.c - one postbeacon.conf value of each schema type (string,
 * list, integer, boolean, enum, file mode, size) checked and stored in its
 * field of struct pb_conf. Messages name the setting, what is wrong and the
 * setting's help text, e.g.
 *   milter.max_message_size: "12Q" is not a size (bytes, or a string ...)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libconfig.h>
#include "conf.h"
#include "conf_schema.h"
#include "conf_value.h"

/* Copy a string value, run its checker; *out is NULL for an unset "". */
static int get_string(struct pb_conf_ctx *ctx, const config_setting_t *s, const char *where,
                      const struct pb_conf_setting *set, char **out)
{
    char why[512];
    char *value;

    if (config_setting_type(s) != CONFIG_TYPE_STRING)
        return pb_conf_wrong_type(ctx, s, where, "a string in double quotes", set);
    *out = NULL;
    value = strdup(config_setting_get_string(s));
    if (value == NULL)
        return pb_conf_fail_at(ctx, s, "%s: out of memory", where);
    if (*value == '\0' && (set->flags & PB_CF_EMPTY_NULL)) {
        free(value);
        return 0;
    }
    if (set->check != NULL && set->check(value, why, sizeof(why)) != 0) {
        free(value);
        return pb_conf_fail_at(ctx, s, "%s: %s", where, why);
    }
    *out = value;
    return 0;
}

static int get_list(struct pb_conf_ctx *ctx, const config_setting_t *s, const char *where,
                    const struct pb_conf_setting *set, struct pb_strlist *list)
{
    int type = config_setting_type(s), n = config_setting_length(s);
    char item_where[160];

    if (type != CONFIG_TYPE_ARRAY && type != CONFIG_TYPE_LIST)
        return pb_conf_wrong_type(ctx, s, where, "an array of strings [ \"...\", ... ]", set);
    pb_conf_free_list(list);
    list->items = calloc((size_t)n + 1, sizeof(char *));
    if (list->items == NULL)
        return pb_conf_fail_at(ctx, s, "%s: out of memory", where);
    for (int i = 0; i < n; i++) {
        const config_setting_t *item = config_setting_get_elem(s, (unsigned)i);
        char *value = NULL;
        snprintf(item_where, sizeof(item_where), "%s[%d]", where, i);
        if (get_string(ctx, item, item_where, set, &value) != 0)
            return -1;
        if (value == NULL)
            return pb_conf_fail_at(ctx, item, "%s: must not be empty (%s)", item_where, set->help);
        list->items[list->count++] = value;
    }
    return 0;
}

/* An integer within the setting's range, stored as an int (PB_CT_INT) or
 * a long (PB_CT_LONG). */
static int get_integer(struct pb_conf_ctx *ctx, const config_setting_t *s, const char *where,
                       const struct pb_conf_setting *set, void *out)
{
    long long v;
    int type = config_setting_type(s);

    if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64)
        return pb_conf_wrong_type(ctx, s, where, "an integer", set);
    v = config_setting_get_int64(s);
    if (v < set->min || v > set->max)
        return pb_conf_fail_at(ctx, s, "%s: %lld is out of range (use %lld..%lld: %s)", where, v,
                               set->min, set->max, set->help);
    if (set->type == PB_CT_LONG)
        *(long *)out = (long)v;
    else
        *(int *)out = (int)v;
    return 0;
}

static int get_bool(struct pb_conf_ctx *ctx, const config_setting_t *s, const char *where,
                    const struct pb_conf_setting *set, int *out)
{
    if (config_setting_type(s) != CONFIG_TYPE_BOOL)
        return pb_conf_wrong_type(ctx, s, where, "a boolean", set);
    *out = config_setting_get_bool(s) ? 1 : 0;
    return 0;
}

static int get_enum(struct pb_conf_ctx *ctx, const config_setting_t *s, const char *where,
                    const struct pb_conf_setting *set, int *out)
{
    char words[256];
    size_t len = 0;
    const char *value;

    words[0] = '\0';
    for (const struct pb_conf_word *w = set->words; w->word && len < sizeof(words); w++)
        len += (size_t)snprintf(words + len, sizeof(words) - len, "%s%s",
                                w == set->words ? "" : ", ", w->word);
    if (config_setting_type(s) != CONFIG_TYPE_STRING)
        return pb_conf_fail_at(ctx, s, "%s: expected a string, got %s (one of %s)", where,
                               pb_conf_type_name(config_setting_type(s)), words);
    value = config_setting_get_string(s);
    for (const struct pb_conf_word *w = set->words; w->word; w++) {
        if (strcmp(w->word, value) == 0) {
            *out = w->value;
            return 0;
        }
    }
    return pb_conf_fail_at(ctx, s, "%s: \"%s\" is not one of %s", where, value, words);
}

/* "0660" as a string; unquoted 0660 reaches us as decimal 660 (libconfig
 * drops the leading 0), so decimal digits are read as octal like chmod. */
static int get_mode(struct pb_conf_ctx *ctx, const config_setting_t *s, const char *where,
                    const struct pb_conf_setting *set, int *out)
{
    char digits[32], *end;
    long v = -1;
    int type = config_setting_type(s);

    if (type == CONFIG_TYPE_STRING) {
        snprintf(digits, sizeof(digits), "%s", config_setting_get_string(s));
    } else if (type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64) {
        if (config_setting_get_format(s) == CONFIG_FORMAT_HEX)
            v = (long)config_setting_get_int64(s);
        snprintf(digits, sizeof(digits), "%lld", config_setting_get_int64(s));
    } else {
        return pb_conf_wrong_type(ctx, s, where, "a string", set);
    }
    if (v < 0 && digits[0] >= '0' && digits[0] <= '7' && strlen(digits) <= 4) {
        v = strtol(digits, &end, 8);
        if (*end != '\0')
            v = -1;
    }
    if (v < set->min || v > set->max)
        return pb_conf_fail_at(ctx, s, "%s: \"%s\" is not a file mode (%s)", where, digits,
                               set->help);
    *out = (int)v;
    return 0;
}

/* "<digits>[K|M|G][B]" in bytes; -1 if not written like that, `cap` + 1 if
 * larger than cap. */
static long long parse_size(const char *str, long long cap)
{
    long long v;
    char *end;
    int shift = 0;

    if (*str < '0' || *str > '9')
        return -1;
    errno = 0;
    v = strtoll(str, &end, 10);
    if (errno != 0)
        return cap + 1;
    if (*end == 'K' || *end == 'k')
        shift = 10;
    else if (*end == 'M' || *end == 'm')
        shift = 20;
    else if (*end == 'G' || *end == 'g')
        shift = 30;
    if (shift != 0)
        end++;
    if (*end == 'B' || *end == 'b')
        end++;
    if (*end != '\0')
        return -1;
    return v > (cap >> shift) ? cap + 1 : v << shift;
}

/* Integer bytes, or a string "<n>[K|M|G]" (optionally followed by B). */
static int get_size(struct pb_conf_ctx *ctx, const config_setting_t *s, const char *where,
                    const struct pb_conf_setting *set, size_t *out)
{
    int type = config_setting_type(s);
    long long v;

    if (type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64) {
        v = config_setting_get_int64(s);
    } else if (type == CONFIG_TYPE_STRING) {
        v = parse_size(config_setting_get_string(s), set->max);
        if (v < 0)
            return pb_conf_fail_at(ctx, s, "%s: \"%s\" is not a size (%s)", where,
                                   config_setting_get_string(s), set->help);
    } else {
        return pb_conf_wrong_type(ctx, s, where, "an integer or a string", set);
    }
    if (v < set->min || v > set->max)
        return pb_conf_fail_at(ctx, s, "%s: %lld bytes is out of range (use %lldK..%lldM: %s)",
                               where, v, set->min >> 10, set->max >> 20, set->help);
    *out = (size_t)v;
    return 0;
}

int pb_conf_apply_setting(struct pb_conf_ctx *ctx, const config_setting_t *s, const char *where,
                         const struct pb_conf_setting *set)
{
    char *field = (char *)ctx->conf + set->offset;

    switch (set->type) {
    case PB_CT_STRING: {
        char *value;
        if (get_string(ctx, s, where, set, &value) != 0)
            return -1;
        free(*(char **)(void *)field);
        *(char **)(void *)field = value;
        return 0;
    }
    case PB_CT_INT:
    case PB_CT_LONG: return get_integer(ctx, s, where, set, field);
    case PB_CT_BOOL: return get_bool(ctx, s, where, set, (int *)(void *)field);
    case PB_CT_ENUM: return get_enum(ctx, s, where, set, (int *)(void *)field);
    case PB_CT_MODE: return get_mode(ctx, s, where, set, (int *)(void *)field);
    case PB_CT_SIZE: return get_size(ctx, s, where, set, (size_t *)(void *)field);
    case PB_CT_LIST:
        return get_list(ctx, s, where, set, (struct pb_strlist *)(void *)field);
    case PB_CT_EXTERNAL:
        if ((set->flags & PB_CF_GROUP) && config_setting_type(s) != CONFIG_TYPE_GROUP)
            return pb_conf_wrong_type(ctx, s, where, "a group { ... }", set);
        if (!(set->flags & PB_CF_GROUP) && config_setting_type(s) != CONFIG_TYPE_LIST)
            return pb_conf_wrong_type(ctx, s, where, "a list ( { ... }, ... )", set);
        return 0;
    }
    return pb_conf_fail_at(ctx, s, "%s: internal error: unknown schema type", where);
}
