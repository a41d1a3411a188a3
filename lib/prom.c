/*
 * prom.c - the Prometheus text format's lines (prom.h). Escaping follows
 * the exposition format: in help text a backslash and a newline are
 * written \\ and \n; in a label value a double quote too (\"). Every
 * other byte (UTF-8 included) is written as it is.
 */
#include "prom.h"

static void escaped(GString *out, const char *s, int quote)
{
    for (; *s; s++) {
        if (*s == '\n') {
            g_string_append(out, "\\n");
            continue;
        }
        if (*s == '\\' || (quote && *s == '"'))
            g_string_append_c(out, '\\');
        g_string_append_c(out, *s);
    }
}

void pb_prom_header(GString *out, const char *name, const char *type, const char *help)
{
    g_string_append_printf(out, "# HELP %s ", name);
    escaped(out, help, 0);
    g_string_append_printf(out, "\n# TYPE %s %s\n", name, type);
}

void pb_prom_label_value(GString *out, const char *s)
{
    escaped(out, s, 1);
}

static void name_and_labels(GString *out, const char *name, const char *const *labels)
{
    g_string_append(out, name);
    if (labels == NULL || labels[0] == NULL)
        return;
    for (size_t i = 0; labels[i] != NULL && labels[i + 1] != NULL; i += 2) {
        g_string_append_printf(out, "%c%s=\"", i == 0 ? '{' : ',', labels[i]);
        pb_prom_label_value(out, labels[i + 1]);
        g_string_append_c(out, '"');
    }
    g_string_append_c(out, '}');
}

void pb_prom_sample(GString *out, const char *name, const char *const *labels,
                    unsigned long long v)
{
    name_and_labels(out, name, labels);
    g_string_append_printf(out, " %llu\n", v);
}

void pb_prom_sample_signed(GString *out, const char *name, const char *const *labels,
                           long long v)
{
    name_and_labels(out, name, labels);
    g_string_append_printf(out, " %lld\n", v);
}

void pb_prom_counter(GString *out, const char *name, const char *help, unsigned long long v)
{
    pb_prom_header(out, name, "counter", help);
    pb_prom_sample(out, name, NULL, v);
}

void pb_prom_gauge(GString *out, const char *name, const char *help, long long v)
{
    pb_prom_header(out, name, "gauge", help);
    pb_prom_sample_signed(out, name, NULL, v);
}
