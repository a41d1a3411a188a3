/*
 * template_names.c - the names around templates: the campaign name of a
 * workflow step (what the milter records, so the reports can tell steps
 * and variants apart) and checking every template of a folder at once
 * (`config check`, the scorer's -n), so a bad template is found before
 * the first follow-up is due; and where a template named on the command
 * line or in a campaign send is (templates.dir).
 */
#include <stdio.h>
#include <string.h>
#include <glib.h>
#include "template.h"

static int name_ok(const char *s)
{
    size_t n = s ? strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") : 0;

    return n > 0 && s[n] == '\0';
}

int pb_tpl_campaign(const char *workflow, const char *step, const char *variant,
                    char out[65], char *err, size_t errlen)
{
    int n;

    if (!name_ok(workflow) || !name_ok(step) || (variant != NULL && !name_ok(variant))) {
        snprintf(err, errlen, "workflow \"%s\", step \"%s\"%s%s%s: names are [a-z0-9_-]+",
                 workflow ? workflow : "", step ? step : "", variant ? ", variant \"" : "",
                 variant ? variant : "", variant ? "\"" : "");
        return -1;
    }
    n = variant ? snprintf(out, 65, "%s:%s:%s", workflow, step, variant)
                : snprintf(out, 65, "%s:%s", workflow, step);
    if (n < 0 || n > 64) {
        snprintf(err, errlen, "campaign name for workflow \"%s\" step \"%s\" is over 64 "
                 "characters (shorten the names)", workflow, step);
        out[0] = '\0';
        return -1;
    }
    return 0;
}

int pb_tpl_check_dir(const char *dir, const struct pb_tpl_opts *opts, char *err, size_t errlen)
{
    GError *gerr = NULL;
    GDir *d = g_dir_open(dir, 0, &gerr);
    GString *msgs = g_string_new(NULL);
    const char *name;
    int failed = 0;

    if (d == NULL) {
        snprintf(err, errlen, "%s: cannot open: %s", dir, gerr->message);
        g_error_free(gerr);
        g_string_free(msgs, TRUE);
        return 1;
    }
    while ((name = g_dir_read_name(d)) != NULL) {
        if (!g_str_has_suffix(name, ".eml"))
            continue;
        char *path = g_build_filename(dir, name, NULL), why[1024];
        struct pb_template *t = pb_tpl_load(path, opts, why, sizeof(why));
        if (t == NULL) {
            g_string_append_printf(msgs, "%s%s", msgs->len ? "\n" : "", why);
            failed++;
        }
        pb_tpl_free(t);
        g_free(path);
    }
    g_dir_close(d);
    snprintf(err, errlen, "%s", msgs->str);
    g_string_free(msgs, TRUE);
    return failed;
}

char *pb_tpl_resolve(const char *dir, const char *name)
{
    if (strchr(name, '/'))
        return g_strdup(name);
    return g_strconcat(dir, "/", name, g_str_has_suffix(name, ".eml") ? "" : ".eml", NULL);
}
