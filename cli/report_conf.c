/*
 * report_conf.c - what the loader of postbeacon.conf cannot check about
 * the report section alone: that report.funnel and report.dormant name
 * segments of scorer.segments (the scorer's part of the file, read by
 * scorer/segments_conf.c). Said with the file and line of the setting,
 * like every other configuration error; `postbeacon config check` and
 * `postbeacon report` both ask.
 */
#include <stdio.h>
#include <string.h>
#include <libconfig.h>
#include "conf_value.h"
#include "report.h"

static int is_segment(const struct pb_segdefs *d, const char *name)
{
    for (size_t i = 0; i < d->count; i++)
        if (strcmp(d->items[i].name, name) == 0)
            return 1;
    return 0;
}

/* "mql, sql, dormant" (or "none"), g_free it. */
static char *segment_names(const struct pb_segdefs *d)
{
    GString *s = g_string_new(NULL);

    for (size_t i = 0; i < d->count; i++)
        g_string_append_printf(s, "%s%s", i ? ", " : "", d->items[i].name);
    if (d->count == 0)
        g_string_assign(s, "none");
    return g_string_free(s, FALSE);
}

/* The first name of setting `where` (a string or a list) that is no segment, or NULL. */
static const config_setting_t *unknown(const config_setting_t *s, const struct pb_segdefs *d,
                                       const char **name)
{
    int n = config_setting_type(s) == CONFIG_TYPE_STRING ? 1 : config_setting_length(s);

    for (int i = 0; i < n; i++) {
        const config_setting_t *e = n == 1 && config_setting_type(s) == CONFIG_TYPE_STRING
                                    ? s : config_setting_get_elem(s, (unsigned)i);
        const char *v = e ? config_setting_get_string(e) : NULL;
        if (v && *v && !is_segment(d, v)) {
            *name = v;
            return e;
        }
    }
    return NULL;
}

int pb_rep_conf_check(const char *path, const struct pb_conf *conf, const struct pb_segdefs *d,
                      char *err, size_t errlen)
{
    struct pb_conf_ctx ctx = { path, NULL, err, errlen, "." };
    static const char *const settings[] = { "report.funnel", "report.dormant" };
    const char *slash = strrchr(path, '/');
    config_t cfg;
    int rc = 0;

    if (conf->report.funnel.count == 0 && conf->report.dormant == NULL)
        return 0;
    if (slash)
        g_snprintf(ctx.dir, sizeof(ctx.dir), "%.*s", slash == path ? 1 : (int)(slash - path),
                   path);
    config_init(&cfg);
    config_set_include_dir(&cfg, ctx.dir);
    if (!config_read_file(&cfg, path)) {
        g_snprintf(err, errlen, "%s:%d: %s", config_error_file(&cfg) ?: path,
                   config_error_line(&cfg), config_error_text(&cfg));
        rc = -1;
    }
    for (size_t i = 0; rc == 0 && i < G_N_ELEMENTS(settings); i++) {
        const config_setting_t *s = config_lookup(&cfg, settings[i]), *bad;
        const char *name = NULL;
        if (s && (bad = unknown(s, d, &name)) != NULL) {
            char *known = segment_names(d);
            rc = pb_conf_fail_at(&ctx, bad, "%s: \"%s\" is not a segment of scorer.segments "
                                 "(defined: %s; name one of them, or define it)", settings[i],
                                 name, known);
            g_free(known);
        }
    }
    config_destroy(&cfg);
    return rc;
}
