/*
 * time_text.c - times printed and read (time_text.h). Reading is GLib's
 * ISO 8601 parser, with seconds made optional and a space allowed
 * between date and time, as people type them.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <glib.h>
#include "time_text.h"

void pb_time_text(long long ms, char out[32])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%d %H:%M:%SZ", &tm);
}

/* "HH:MM" after the date, with no seconds: ":00" put in before the zone. */
static char *with_seconds(const char *text)
{
    GString *s = g_string_new(text);
    size_t t = strcspn(s->str, "T "), n;

    if (t < s->len)
        s->str[t] = 'T';
    n = t + 1 + strspn(s->str + t + 1, "0123456789:");
    if (t < s->len && n - t - 1 == 5)
        g_string_insert(s, (gssize)n, ":00");
    return g_string_free(s, FALSE);
}

int pb_time_parse(const char *text, long long *ms, char *why, size_t whylen)
{
    char *fixed = with_seconds(text);
    GTimeZone *local = g_time_zone_new_local();
    GDateTime *dt = strlen(text) >= 16 ? g_date_time_new_from_iso8601(fixed, local) : NULL;

    g_free(fixed);
    g_time_zone_unref(local);
    if (dt == NULL) {
        snprintf(why, whylen, "\"%s\" is not an ISO 8601 date and time (write e.g. "
                 "2026-12-05T09:00, local time, or 2026-12-05T09:00+01:00)", text);
        return -1;
    }
    *ms = g_date_time_to_unix(dt) * 1000 + g_date_time_get_microsecond(dt) / 1000;
    g_date_time_unref(dt);
    return 0;
}
