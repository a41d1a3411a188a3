/*
 * report_svg.c - the charts of the HTML report as inline SVG (no script,
 * no external font or image, so the file reads offline and prints):
 * opens or clicks over time (human and machine lines, the part a trimmed
 * stream no longer covers greyed out), horizontal bars (links, funnel),
 * grouped bars (variants, campaigns) and one stacked bar (active and
 * dormant contacts). Every text is escaped: labels are user data
 * (campaign names, URLs). Inline SVG in HTML needs no namespace
 * declaration, so the page holds no address but the tracked URLs.
 */
#include <math.h>
#include <string.h>
#include <time.h>
#include "report.h"

#define W 720
#define COLOURS { "#1f6feb", "#8c959f", "#2da44e" }

static const char *const colour[] = COLOURS;

void pb_rep_esc(GString *out, const char *s)
{
    char *e = g_markup_escape_text(s ? s : "", -1);

    g_string_append(out, e);
    g_free(e);
}

static void open_svg(GString *out, const char *title, int h)
{
    g_string_append_printf(out, "<svg viewBox=\"0 0 %d %d\" "
                           "width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"", W, h, W, h);
    pb_rep_esc(out, title);
    g_string_append(out, "\"><title>");
    pb_rep_esc(out, title);
    g_string_append(out, "</title>\n");
}

static void text_at(GString *out, double x, double y, const char *anchor, const char *s)
{
    g_string_append_printf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">", x, y, anchor);
    pb_rep_esc(out, s);
    g_string_append(out, "</text>\n");
}

/* 2, 4, 6, 8 or 10 times a power of ten (at least 2), at least v: its
 * half, the middle grid line, is a whole number too. */
static double nice_max(double v)
{
    double p;

    if (v <= 2)
        return 2;
    p = pow(10, floor(log10(v)));
    for (int k = 2; k <= 10; k += 2)
        if (v <= k * p)
            return k * p;
    return 10 * p;
}

static void legend(GString *out, double x, double y, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++, x += 110) {
        g_string_append_printf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"10\" height=\"10\" "
                               "fill=\"%s\"/>\n", x, y - 9, colour[i % 3]);
        text_at(out, x + 14, y, "start", names[i]);
    }
}

/* ---- over time ------------------------------------------------------------------- */

static char *bucket_label(const struct pb_rep_series *s, int i)
{
    time_t t = (time_t)((s->from_ms + (long long)i * s->step_ms) / 1000);
    struct tm tm;
    char buf[32];

    localtime_r(&t, &tm);
    strftime(buf, sizeof(buf), s->step_ms < 86400000LL ? "%m-%d %H:%M" : "%Y-%m-%d", &tm);
    return g_strdup(buf);
}

static const char *step_name(const struct pb_report *r, long long step)
{
    static const struct { long long ms; const char *en; } names[] = {
        { 3600000LL, "per hour" }, { 3 * 3600000LL, "per 3 hours" },
        { 6 * 3600000LL, "per 6 hours" }, { 12 * 3600000LL, "per 12 hours" },
        { 86400000LL, "per day" }, { 7 * 86400000LL, "per week" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
        if (names[i].ms == step)
            return pb_rep_t(r, names[i].en);
    return pb_rep_t(r, "per 30 days");
}

static void polyline(GString *out, const long long *v, int n, double x0, double pw, double y0,
                     double ph, double max, int k)
{
    g_string_append_printf(out, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s "
                           "points=\"", colour[k], k ? " stroke-dasharray=\"5 3\"" : "");
    for (int i = 0; i < n; i++)
        g_string_append_printf(out, "%.1f,%.1f ", x0 + (i + 0.5) * pw / n,
                               y0 + ph - ph * (double)v[i] / max);
    g_string_append(out, "\"/>\n");
    for (int i = 0; i < n; i++)
        g_string_append_printf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>\n",
                               x0 + (i + 0.5) * pw / n, y0 + ph - ph * (double)v[i] / max,
                               colour[k]);
}

/* The part of the chart before the stream's first entry, if it was trimmed. */
static void trimmed(GString *out, const struct pb_report *r, double x0, double pw, double y0,
                    double ph)
{
    const struct pb_rep_series *s = &r->series;
    double span = (double)s->n * s->step_ms, w;

    if (r->events_need < 0 || pb_rep_covers(&r->events, s->from_ms) || r->events.empty)
        return;
    w = MIN(pw, pw * (double)(r->events.first_ms - s->from_ms) / span);
    g_string_append_printf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                           "fill=\"#eaeef2\"/>\n", x0, y0, w, ph);
    text_at(out, x0 + w / 2, y0 + ph / 2, "middle", pb_rep_t(r, "no events"));
}

void pb_svg_series(GString *out, const struct pb_report *r, const char *title, int clicks)
{
    const struct pb_rep_series *s = &r->series;
    const long long *v[2] = { clicks ? s->clicks[0] : s->opens[0],
                              clicks ? s->clicks[1] : s->opens[1] };
    const char *names[2] = { pb_rep_t(r, "human"), pb_rep_t(r, "machine") };
    double x0 = 60, y0 = 30, pw = W - 80, ph = 150, max = 0;
    char *label;

    for (int k = 0; k < 2; k++)
        for (int i = 0; i < s->n; i++)
            max = MAX(max, (double)v[k][i]);
    max = nice_max(max);
    open_svg(out, title, 230);
    legend(out, x0, 16, names, 2);
    text_at(out, W - 10, 16, "end", step_name(r, s->step_ms));
    trimmed(out, r, x0, pw, y0, ph);
    for (int g = 0; g <= 2; g++) {
        double y = y0 + ph - ph * g / 2.0;
        char *n = pb_rep_int(r, (long long)(max * g / 2));
        g_string_append_printf(out, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" "
                               "stroke=\"#d0d7de\"/>\n", x0, x0 + pw, y, y);
        text_at(out, x0 - 6, y + 4, "end", n);
        g_free(n);
    }
    for (int k = 0; k < 2; k++)
        polyline(out, v[k], s->n, x0, pw, y0, ph, max, k);
    for (int i = 0; i < s->n; i += MAX(1, (s->n - 1) / 4)) {
        double x = x0 + (i + 0.5) * pw / s->n;
        label = bucket_label(s, i);
        text_at(out, x, y0 + ph + 18, x > W - 60 ? "end" : x < 60 ? "start" : "middle", label);
        g_free(label);
        if (s->n == 1)
            break;
    }
    g_string_append(out, "</svg>\n");
}

/* ---- bars ------------------------------------------------------------------------- */

/* At most max characters of s (UTF-8), with "…" when cut. */
static char *shorten(const char *s, glong max)
{
    if (g_utf8_strlen(s, -1) <= max)
        return g_strdup(s);
    {
        char *head = g_utf8_substring(s, 0, max - 1), *out = g_strconcat(head, "…", NULL);
        g_free(head);
        return out;
    }
}

void pb_svg_bars(GString *out, const char *title, const struct pb_svg_bar *bars, size_t n)
{
    double max = 0, x0 = 270, bw = W - x0 - 90;

    for (size_t i = 0; i < n; i++)
        max = MAX(max, bars[i].value);
    max = max > 0 ? max : 1;
    open_svg(out, title, (int)(n * 24 + 10));
    for (size_t i = 0; i < n; i++) {
        double y = 6 + i * 24, w = bw * bars[i].value / max;
        char *label = shorten(bars[i].label, 38);
        g_string_append(out, "<g><title>");
        pb_rep_esc(out, bars[i].label);
        g_string_append(out, "</title>\n");
        text_at(out, x0 - 8, y + 14, "end", label);
        g_string_append_printf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"18\" "
                               "fill=\"%s\"/>\n", x0, y, MAX(w, 1), colour[bars[i].part % 3]);
        text_at(out, x0 + MAX(w, 1) + 6, y + 14, "start", bars[i].text);
        g_string_append(out, "</g>\n");
        g_free(label);
    }
    g_string_append(out, "</svg>\n");
}

void pb_svg_grouped(GString *out, const char *title, const char *const *groups, size_t ngroups,
                    const char *const *series, size_t nseries, const double *values,
                    const char *const *texts)
{
    double max = 0, x0 = 20, y0 = 40, ph = 150, gw = (W - 2 * x0) / (double)MAX(ngroups, 1);
    double bw = MIN(60, (gw - 20) / (double)MAX(nseries, 1));

    for (size_t i = 0; i < ngroups * nseries; i++)
        max = MAX(max, isnan(values[i]) ? 0 : values[i]);
    max = nice_max(max);
    open_svg(out, title, 240);
    legend(out, x0, 16, series, nseries);
    g_string_append_printf(out, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" "
                           "stroke=\"#8c959f\"/>\n", x0, W - x0, y0 + ph, y0 + ph);
    for (size_t g = 0; g < ngroups; g++) {
        double gx = x0 + g * gw + (gw - bw * nseries) / 2;
        char *label = shorten(groups[g], (glong)(gw / 7));
        for (size_t k = 0; k < nseries; k++) {
            double v = values[g * nseries + k], h = isnan(v) ? 0 : ph * v / max;
            g_string_append_printf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                                   "height=\"%.1f\" fill=\"%s\"/>\n", gx + k * bw, y0 + ph - h,
                                   bw - 4, h, colour[k % 3]);
            text_at(out, gx + k * bw + (bw - 4) / 2, y0 + ph - h - 4, "middle",
                    texts[g * nseries + k]);
        }
        text_at(out, x0 + g * gw + gw / 2, y0 + ph + 18, "middle", label);
        g_free(label);
    }
    g_string_append(out, "</svg>\n");
}

void pb_svg_stack(GString *out, const char *title, const struct pb_svg_bar *parts, size_t n)
{
    double total = 0, x = 20, bw = W - 40;

    for (size_t i = 0; i < n; i++)
        total += parts[i].value;
    open_svg(out, title, 80);
    for (size_t i = 0; i < n; i++) {
        double w = total > 0 ? bw * parts[i].value / total : 0;
        char *label = g_strdup_printf("%s: %s", parts[i].label, parts[i].text);
        g_string_append_printf(out, "<rect x=\"%.1f\" y=\"10\" width=\"%.1f\" height=\"26\" "
                               "fill=\"%s\"/>\n", x, w, colour[parts[i].part % 3]);
        g_string_append_printf(out, "<rect x=\"%.1f\" y=\"52\" width=\"10\" height=\"10\" "
                               "fill=\"%s\"/>\n", 20 + i * 220.0, colour[parts[i].part % 3]);
        text_at(out, 34 + i * 220.0, 61, "start", label);
        g_free(label);
        x += w;
    }
    if (total <= 0)
        g_string_append_printf(out, "<rect x=\"20\" y=\"10\" width=\"%.1f\" height=\"26\" "
                               "fill=\"#eaeef2\"/>\n", bw);
    g_string_append(out, "</svg>\n");
}
