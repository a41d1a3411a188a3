/*
 * template_subject.c - a Subject given apart from a template (an A/B
 * variant's subject in postbeacon.conf, `template render --subject`):
 * checked once when it is read, with the placeholders of templates
 * (template_text.c), and rendered in place of the template's Subject by
 * pb_tpl_render, as one header line like every header value. The text
 * itself must already be one line of UTF-8: a line break in the
 * configuration is a mistake to report, not something to mend.
 */
#include <stdio.h>
#include <string.h>
#include "template_int.h"

static int one_line(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 0;
    return 1;
}

static int blank(const char *s)
{
    for (; *s; s++)
        if (!g_ascii_isspace(*s))
            return 0;
    return 1;
}

struct pb_tpl_subject *pb_tpl_subject_new(const char *text, char *err, size_t errlen)
{
    struct pb_tpl_where w = { NULL, 0, 0, NULL };
    struct pb_tpl_subject *s;

    if (!g_utf8_validate(text, -1, NULL)) {
        snprintf(err, errlen, "not UTF-8 (save the file as UTF-8)");
        return NULL;
    }
    if (!one_line(text)) {
        snprintf(err, errlen, "a control character (a line break, a tab): a subject is one "
                 "line of text");
        return NULL;
    }
    if (blank(text)) {
        snprintf(err, errlen, "empty (write a subject, or leave it out to keep the "
                 "template's)");
        return NULL;
    }
    s = g_new0(struct pb_tpl_subject, 1);
    if (pb_tpl_compile(text, strlen(text), &w, &s->text, err, errlen) != 0) {
        g_free(s);
        return NULL;
    }
    return s;
}

void pb_tpl_subject_free(struct pb_tpl_subject *s)
{
    if (s == NULL)
        return;
    pb_tpl_text_free(&s->text);
    g_free(s);
}
