/*
 * report_fmt.c - how `postbeacon report` writes for people in
 * report.language: the labels (English is the key, German beside it in
 * one table, so a label cannot be missing in one language), numbers with
 * thousands separators (12,345 / 12.345), rates with one decimal (12.5% /
 * 12,5 %), durations, local times with their zone, and the --since and
 * --until values it reads.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "report.h"
#include "time_text.h"

struct label {
    const char *en, *de;
};

static const struct label labels[] = {
    { "Campaign", "Kampagne" },
    { "Campaigns", "Kampagnen" },
    { "Report", "Bericht" },
    { "Type", "Art" },
    { "campaign send", "Kampagnenversand" },
    { "follow-up", "Folgemail" },
    { "mail of other software", "Mail anderer Software" },
    { "Template", "Vorlage" },
    { "Segment", "Segment" },
    { "State", "Status" },
    { "First sent", "Erster Versand" },
    { "Last sent", "Letzter Versand" },
    { "Period", "Zeitraum" },
    { "whole campaign (counters)", "gesamte Kampagne (Zähler)" },
    { "all time (counters)", "gesamter Zeitraum (Zähler)" },
    { "Generated", "Erstellt" },
    { "Mailing", "Versand" },
    { "Figure", "Kennzahl" },
    { "Value", "Wert" },
    { "Sent by postbeacon", "Von postbeacon versendet" },
    { "Delivered to Postfix", "An Postfix übergeben" },
    { "Recipients", "Empfänger" },
    { "Suppressed", "Unterdrückt" },
    { "Failed", "Fehlgeschlagen" },
    { "Uncertain", "Ungewiss" },
    { "not sent by postbeacon", "nicht von postbeacon versendet" },
    { "Engagement", "Reaktionen" },
    { "total", "gesamt" },
    { "unique", "eindeutig" },
    { "rate", "Quote" },
    { "Opens, human", "Öffnungen, Menschen" },
    { "of which imputed", "davon erschlossen" },
    { "Opens, machine", "Öffnungen, Maschinen" },
    { "Clicks, human", "Klicks, Menschen" },
    { "Clicks, machine (scanners)", "Klicks, Maschinen (Scanner)" },
    { "Unsubscribes", "Abmeldungen" },
    { "Rates", "Quoten" },
    { "Rate", "Quote" },
    { "human", "Menschen" },
    { "machine", "Maschinen" },
    { "Open rate", "Öffnungsrate" },
    { "Click rate (CTR)", "Klickrate (CTR)" },
    { "Click-to-open rate (CTOR)", "Klick-zu-Öffnungsrate (CTOR)" },
    { "Unsubscribe rate", "Abmelderate" },
    { "Links", "Links" },
    { "Position", "Position" },
    { "URL", "URL" },
    { "Clicks", "Klicks" },
    { "A/B test", "A/B-Test" },
    { "Variant", "Variante" },
    { "Subject", "Betreff" },
    { "Sent", "Versendet" },
    { "Delivered", "Übergeben" },
    { "Unique human opens", "Eindeutige Öffnungen (Menschen)" },
    { "Unique human clicks", "Eindeutige Klicks (Menschen)" },
    { "Unique machine opens", "Eindeutige Öffnungen (Maschinen)" },
    { "remainder", "Rest" },
    { "Winner", "Gewinner" },
    { "not decided yet", "noch nicht entschieden" },
    { "due", "fällig am" },
    { "by clicks", "nach Klicks" },
    { "by opens", "nach Öffnungen" },
    { "Decision", "Entscheidung" },
    { "Segment entries caused by the campaign", "Segmenteintritte durch die Kampagne" },
    { "Entered", "Eingetreten" },
    { "Left", "Ausgetreten" },
    { "Follow-ups sent", "Versendete Folgemails" },
    { "Follow-up", "Folgemail" },
    { "Workflow", "Workflow" },
    { "Step", "Schritt" },
    { "Funnel (all contacts)", "Trichter (alle Kontakte)" },
    { "Stage", "Stufe" },
    { "Contacts", "Kontakte" },
    { "all contacts", "alle Kontakte" },
    { "Conversion", "Konversion" },
    { "Median time", "Mediane Zeit" },
    { "Measured", "Gemessen" },
    { "sample", "Stichprobe" },
    { "Entered in period", "Eingetreten im Zeitraum" },
    { "Reactivated", "Reaktiviert" },
    { "Active", "Aktiv" },
    { "Dormant", "Inaktiv" },
    { "Other", "Übrige" },
    { "Active and dormant contacts", "Aktive und inaktive Kontakte" },
    { "Opens over time", "Öffnungen im Zeitverlauf" },
    { "Clicks over time", "Klicks im Zeitverlauf" },
    { "Clicks per link (human)", "Klicks je Link (Menschen)" },
    { "Variants side by side", "Varianten im Vergleich" },
    { "Open rate and CTR per campaign", "Öffnungsrate und CTR je Kampagne" },
    { "none", "keine" },
    { "Note", "Hinweis" },
    { "per hour", "je Stunde" },
    { "per 3 hours", "je 3 Stunden" },
    { "per 6 hours", "je 6 Stunden" },
    { "per 12 hours", "je 12 Stunden" },
    { "per day", "je Tag" },
    { "per week", "je Woche" },
    { "per 30 days", "je 30 Tage" },
    { "no events", "keine Ereignisse" },
    { "left the dormant segment through an event", "durch ein Ereignis aus dem inaktiven Segment" },
    { "the event stream begins at", "der Ereignisstrom beginnt am" },
    { "the segment log begins at", "das Segment-Protokoll beginnt am" },
    { "the follow-up log begins at", "das Folgemail-Protokoll beginnt am" },
    { "older entries were trimmed: the figures of the period are incomplete",
      "ältere Einträge wurden gekürzt: die Zahlen des Zeitraums sind unvollständig" },
    { "this mail was not sent by postbeacon: only the milter's count of mail delivered to "
      "Postfix is known",
      "diese Mail wurde nicht von postbeacon versendet: bekannt ist nur die Zahl der an "
      "Postfix übergebenen Mails (Milter)" },
    { "figures of the period from the event stream", "Zahlen des Zeitraums aus dem Ereignisstrom" },
    { "last 30 days", "letzte 30 Tage" },
};

const char *pb_rep_t(const struct pb_report *r, const char *en)
{
    if (strcmp(r->lang, "de") != 0)
        return en;
    for (size_t i = 0; i < G_N_ELEMENTS(labels); i++)
        if (strcmp(labels[i].en, en) == 0)
            return labels[i].de;
    return en;                  /* a label missing from the table: English */
}

static int german(const struct pb_report *r)
{
    return strcmp(r->lang, "de") == 0;
}

char *pb_rep_int(const struct pb_report *r, long long v)
{
    char digits[32];
    GString *s = g_string_new(v < 0 ? "-" : "");
    int n;

    g_snprintf(digits, sizeof(digits), "%llu", v < 0 ? 0ULL - (unsigned long long)v
                                                     : (unsigned long long)v);
    n = (int)strlen(digits);
    for (int i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            g_string_append_c(s, german(r) ? '.' : ',');
        g_string_append_c(s, digits[i]);
    }
    return g_string_free(s, FALSE);
}

double pb_rep_rate(long long num, long long den)
{
    if (den <= 0)
        return NAN;
    return round(1000.0 * (double)num / (double)den) / 10.0;
}

/* One decimal with the language's mark. */
static char *one_decimal(const struct pb_report *r, double v)
{
    char *s = g_strdup_printf("%.1f", v);

    if (german(r))
        g_strdelimit(s, ".", ',');
    return s;
}

char *pb_rep_pct(const struct pb_report *r, long long num, long long den)
{
    double v = pb_rep_rate(num, den);
    char *n, *out;

    if (isnan(v))
        return g_strdup("–");
    n = one_decimal(r, v);
    out = g_strconcat(n, german(r) ? " %" : "%", NULL);
    g_free(n);
    return out;
}

char *pb_rep_csv_rate(const struct pb_report *r, long long num, long long den)
{
    double v = pb_rep_rate(num, den);

    return isnan(v) ? g_strdup("") : one_decimal(r, v);
}

char *pb_rep_duration(const struct pb_report *r, long long ms)
{
    char *n, *out;

    if (ms < 0)
        return g_strdup("–");
    if (ms < 3600000LL)
        return g_strdup_printf("%lld min", (ms + 30000) / 60000);
    if (ms < 48 * 3600000LL) {
        n = one_decimal(r, (double)ms / 3600000.0);
        out = g_strconcat(n, german(r) ? " Std." : " h", NULL);
    } else {
        n = one_decimal(r, (double)ms / 86400000.0);
        out = g_strconcat(n, german(r) ? " Tage" : " days", NULL);
    }
    g_free(n);
    return out;
}

char *pb_rep_time(long long ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char buf[64];

    localtime_r(&t, &tm);
    strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M %Z", &tm);
    return g_strdup(buf);
}

long long pb_rep_parse_time(const char *s, int end)
{
    char why[256];
    int y, m, d, used = 0;
    GDateTime *dt = NULL;
    GTimeZone *local = g_time_zone_new_local();
    long long ms = -1;

    if (sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &used) == 3 && s[used] == '\0') {
        dt = g_date_time_new(local, y, m, d, 0, 0, 0);
        if (dt && end) {
            GDateTime *next = g_date_time_add_days(dt, 1);
            g_date_time_unref(dt);
            dt = next;
        }
    } else if (pb_time_parse(s, &ms, why, sizeof(why)) != 0)
        ms = -1;    /* a date and time as --at reads it (lib/time_text.c) */
    if (dt) {
        ms = g_date_time_to_unix(dt) * 1000 + g_date_time_get_microsecond(dt) / 1000;
        g_date_time_unref(dt);
    }
    g_time_zone_unref(local);
    return ms;
}

const char *pb_rep_kind_name(const struct pb_report *r, const struct pb_rep_campaign *c)
{
    switch (c->kind) {
    case PB_REP_SEND:
        return pb_rep_t(r, "campaign send");
    case PB_REP_FOLLOWUP:
        return pb_rep_t(r, "follow-up");
    case PB_REP_OTHER:
        break;
    }
    return pb_rep_t(r, "mail of other software");
}
