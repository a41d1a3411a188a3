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

int pb_attr_birthday_valid(const char *s)
{
    int y = 2000, m, d;
    char tail;

    if (strlen(s) == 7 && sscanf(s, "--%2d-%2d%c", &m, &d, &tail) == 2 && s[4] == '-')
        ;
    else if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3
             || s[4] != '-' || s[7] != '-' || !g_ascii_isdigit(s[0]))
        return 0;
    return g_date_valid_dmy((GDateDay)d, (GDateMonth)m, (GDateYear)(y ? y : 2000));
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
