/*
 * template_variant.c - what a campaign's A/B variant changes in a loaded
 * template (template.h): its Subject, given on the command line
 * (`postbeacon send --ab "subject=..."`) and kept with the job, checked
 * like a Subject header of the file (every placeholder known) so that a
 * variant that loads renders for every contact; and where a template
 * named on the command line or in a job is (templates.dir).
 */
#include <string.h>
#include "template_int.h"

int pb_tpl_set_subject(struct pb_template *t, const char *subject, const char *where,
                       char *err, size_t errlen)
{
    struct pb_tpl_where w = { where, 1, 0, "the subject" };
    struct pb_tpl_text text;

    if (pb_tpl_compile(subject, strlen(subject), &w, &text, err, errlen) != 0)
        return -1;
    pb_tpl_text_free(&t->subject);
    t->subject = text;
    return 0;
}

char *pb_tpl_resolve(const char *dir, const char *name)
{
    if (strchr(name, '/'))
        return g_strdup(name);
    return g_strconcat(dir, "/", name, g_str_has_suffix(name, ".eml") ? "" : ".eml", NULL);
}
