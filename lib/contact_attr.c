/*
 * contact_attr.c - attribute value checks (contact_attr.h). The time zone
 * is looked up in the system's zoneinfo through GLib: since GLib 2.68
 * g_time_zone_new_identifier() answers NULL for a name it cannot load,
 * so "Europe/Berlni" is refused instead of silently meaning UTC.
 */
#include <stdio.h>
#include <string.h>
#include <glib.h>
#include "contact_attr.h"

/* n digits at s as a number, or -1 */
static int digits(const char *s, int n)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (!g_ascii_isdigit(s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int pb_attr_date_md(const char *s, int *month, int *day)
{
    size_t n = strlen(s);
    int y = 2000, m, d;

    if (n == 7 && s[0] == '-' && s[1] == '-' && s[4] == '-') {
        m = digits(s + 2, 2);
        d = digits(s + 5, 2);
    } else if (n == 10 && s[4] == '-' && s[7] == '-') {
        y = digits(s, 4);
        m = digits(s + 5, 2);
        d = digits(s + 8, 2);
    } else
        return 0;
    /* without a year (or with 0000), 29 February is a date */
    if (y < 0 || m < 1 || d < 1
        || !g_date_valid_dmy((GDateDay)d, (GDateMonth)m, (GDateYear)(y ? y : 2000)))
        return 0;
    *month = m;
    *day = d;
    return 1;
}

int pb_attr_birthday_valid(const char *s)
{
    int m, d;

    return pb_attr_date_md(s, &m, &d);
}

int pb_attr_timezone_valid(const char *s)
{
    GTimeZone *tz;

    if (strcmp(s, "UTC") == 0)
        return 1;
    /* names only: no paths, no POSIX TZ strings such as "CET-1" */
    if (strchr(s, '/') == NULL || s[0] == '/' || strstr(s, "..") != NULL)
        return 0;
    for (const char *p = s; *p; p++)
        if (!g_ascii_isalnum(*p) && strchr("_+-/", *p) == NULL)
            return 0;
    tz = g_time_zone_new_identifier(s);
    if (tz == NULL)
        return 0;
    g_time_zone_unref(tz);
    return 1;
}

int pb_attr_text_valid(const char *s, size_t len, size_t max)
{
    if (len == 0 || len > max)
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return 1;
}
