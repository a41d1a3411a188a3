/*
 * workflow_quiet.c - quiet hours (scorer.quiet_from .. quiet_to) in the
 * contact's time zone (its timezone field, else scorer.timezone): a
 * follow-up due at night for the contact is shifted to the next allowed
 * time, not skipped (workflow_run.c). GLib's time zone database does the
 * conversion, daylight saving included; the contact's zone is found here
 * for the date workflows too (workflow_date.c).
 */
#include "workflow_run.h"

int pb_wf_quiet_hour(int h, int from, int to)
{
    if (from < 0 || to < 0 || from == to)
        return 0;
    return from < to ? h >= from && h < to : h >= from || h < to;
}

GTimeZone *pb_wf_zone(const struct pb_scorer_conf *sc, const char *zone)
{
    GTimeZone *tz = NULL;

    if (zone != NULL && *zone != '\0')
        tz = g_time_zone_new_identifier(zone);
    if (tz == NULL && (tz = g_time_zone_new_identifier(sc->timezone)) == NULL)
        tz = g_time_zone_new_utc();
    return tz;
}

long long pb_wf_quiet_until(const struct pb_scorer_conf *sc, const char *zone, long long now_ms)
{
    GTimeZone *tz;
    GDateTime *utc, *local, *end;
    long long until = 0;

    if (sc->quiet_from < 0 || sc->quiet_to < 0 || sc->quiet_from == sc->quiet_to)
        return 0;
    tz = pb_wf_zone(sc, zone);
    utc = g_date_time_new_from_unix_utc(now_ms / 1000);
    local = g_date_time_to_timezone(utc, tz);
    if (pb_wf_quiet_hour(g_date_time_get_hour(local), sc->quiet_from, sc->quiet_to)) {
        GDateTime *day = g_date_time_new(tz, g_date_time_get_year(local),
                                         g_date_time_get_month(local),
                                         g_date_time_get_day_of_month(local), sc->quiet_to, 0, 0);
        /* the end of the window is today at quiet_to, or tomorrow once past it */
        end = g_date_time_get_hour(local) >= sc->quiet_to ? g_date_time_add_days(day, 1)
                                                          : g_date_time_ref(day);
        until = (long long)g_date_time_to_unix(end) * 1000;
        g_date_time_unref(end);
        g_date_time_unref(day);
    }
    g_date_time_unref(local);
    g_date_time_unref(utc);
    g_time_zone_unref(tz);
    return until;
}
