/*
 * report_html.c - postbeacon report --html FILE: the report as one
 * self-contained HTML file: inline CSS (with a print stylesheet), inline
 * SVG charts (report_svg.c), no script, no external font, image or
 * link, so it reads offline, prints, and makes no request when opened.
 * The tables are the text report's (report_text.c: pb_rep_tables), every
 * text escaped (campaign names and URLs are user data; URLs are shown as
 * text, never as links); the charts follow the tables they draw. Times
 * are local with their zone. Written to FILE.tmp and renamed.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "config.h"
#include "report.h"

static const char css[] =
    "body{font:14px/1.45 system-ui,-apple-system,\"Segoe UI\",Roboto,\"DejaVu Sans\",sans-serif;"
    "color:#1f2328;background:#fff;margin:2em auto;max-width:980px;padding:0 1em}\n"
    "h1{font-size:1.6em;margin:0 0 .3em}\n"
    "h2{font-size:1.15em;margin:1.8em 0 .5em;border-bottom:1px solid #d0d7de;padding-bottom:.2em}\n"
    "dl.meta{display:grid;grid-template-columns:max-content auto;gap:.1em 1em;margin:0}\n"
    "dl.meta dt{color:#656d76}dl.meta dd{margin:0}\n"
    ".note{background:#fff8c5;border:1px solid #d4a72c;padding:.5em .8em;margin:.8em 0;"
    "border-radius:4px}\n"
    ".cards{display:flex;flex-wrap:wrap;gap:.8em;margin:1.2em 0}\n"
    ".card{border:1px solid #d0d7de;border-radius:6px;padding:.6em .9em;min-width:8.5em}\n"
    ".card .v{display:block;font-size:1.5em;font-weight:600}\n"
    ".card .l{color:#656d76}\n"
    ".t{overflow-x:auto}\n"
    "table{border-collapse:collapse;margin:.3em 0 1em;font-size:.95em}\n"
    "th,td{padding:.25em .7em;border-bottom:1px solid #eaeef2;text-align:left;vertical-align:top}\n"
    "th{background:#f6f8fa}\n"
    ".n{text-align:right;font-variant-numeric:tabular-nums}\n"
    "td.n{white-space:nowrap}\n"
    "td.w{word-break:break-all;max-width:30em}\n"
    "svg{max-width:100%;height:auto;display:block;margin:.5em 0 1em}\n"
    "svg text{font:12px system-ui,\"DejaVu Sans\",sans-serif;fill:#1f2328}\n"
    "footer{color:#656d76;margin-top:2.5em;font-size:.9em}\n"
    "@media print{body{margin:0;max-width:none;font-size:10.5pt}"
    "h2{break-after:avoid}table,svg,.card,.note{break-inside:avoid}.t{overflow:visible}"
    ".note{background:none;border:1px solid #000}th{background:none}}\n";

struct page {
    struct pb_report *r;
    GString *out;
};

static void heading(struct page *p, const char *en)
{
    g_string_append(p->out, "<h2>");
    pb_rep_esc(p->out, pb_rep_t(p->r, en));
    g_string_append(p->out, "</h2>\n");
}

/* ---- the header and its cards ------------------------------------------------------ */

static void card(struct page *p, const char *en, char *value)
{
    g_string_append(p->out, "<div class=\"card\"><span class=\"v\">");
    pb_rep_esc(p->out, value);
    g_string_append(p->out, "</span><span class=\"l\">");
    pb_rep_esc(p->out, pb_rep_t(p->r, en));
    g_string_append(p->out, "</span></div>\n");
    g_free(value);
}

static void cards(struct page *p)
{
    struct pb_report *r = p->r;
    struct pb_rep_counts sum = { 0 };
    long long sent = 0;

    for (guint i = 0; i < r->campaigns->len; i++) {
        const struct pb_rep_campaign *c = r->campaigns->pdata[i];
        pb_rep_counts_add(&sum, &c->c);
        sent += MAX(c->sent.sent, 0);
    }
    g_string_append(p->out, "<section class=\"cards\">\n");
    if (r->all)
        card(p, "Campaigns", pb_rep_int(r, r->campaigns->len));
    else
        card(p, "Sent by postbeacon", ((struct pb_rep_campaign *)r->campaigns->pdata[0])->sent.sent
             >= 0 ? pb_rep_int(r, sent) : g_strdup("–"));
    card(p, "Delivered to Postfix", pb_rep_int(r, sum.delivered));
    card(p, "Open rate", pb_rep_pct(r, sum.uopens[0], sum.delivered));
    card(p, "Click rate (CTR)", pb_rep_pct(r, sum.uclicks[0], sum.delivered));
    card(p, "Click-to-open rate (CTOR)", pb_rep_pct(r, sum.uclicks[0], sum.uopens[0]));
    card(p, "Unsubscribes", pb_rep_int(r, sum.unsubscribes));
    g_string_append(p->out, "</section>\n");
    pb_rep_counts_clear(&sum);
}

static void header(struct page *p, const struct pb_rep_table *t)
{
    GString *notes = g_string_new(NULL);

    g_string_append(p->out, "<header><h1>");
    pb_rep_esc(p->out, p->r->all ? pb_rep_t(p->r, "Campaigns")
                          : ((struct pb_rep_campaign *)p->r->campaigns->pdata[0])->name);
    g_string_append(p->out, "</h1>\n<dl class=\"meta\">\n");
    for (guint i = 0; i < t->text->len; i++) {
        char **row = t->text->pdata[i], **key = t->csv->pdata[i];
        GString *to = strcmp(key[0], "note") == 0 ? notes : p->out;
        g_string_append(to, to == notes ? "<p class=\"note\">" : "<dt>");
        pb_rep_esc(to, row[0]);
        g_string_append(to, to == notes ? ": " : "</dt><dd>");
        pb_rep_esc(to, row[1]);
        g_string_append(to, to == notes ? "</p>\n" : "</dd>\n");
    }
    g_string_append(p->out, "</dl></header>\n");
    g_string_append_len(p->out, notes->str, (gssize)notes->len);
    g_string_free(notes, TRUE);
    cards(p);
    heading(p, "Opens over time");
    pb_svg_series(p->out, p->r, pb_rep_t(p->r, "Opens over time"), 0);
    heading(p, "Clicks over time");
    pb_svg_series(p->out, p->r, pb_rep_t(p->r, "Clicks over time"), 1);
}

/* ---- tables ------------------------------------------------------------------------ */

static void table(struct page *p, const struct pb_rep_table *t)
{
    if (t->title)
        heading(p, t->title);
    g_string_append(p->out, "<div class=\"t\"><table>\n");
    if (!t->kv) {
        g_string_append(p->out, "<thead><tr>");
        for (int i = 0; i < t->ncols; i++) {
            g_string_append_printf(p->out, "<th%s>", t->right >> i & 1 ? " class=\"n\"" : "");
            pb_rep_esc(p->out, pb_rep_t(p->r, t->labels[i]));
            g_string_append(p->out, "</th>");
        }
        g_string_append(p->out, "</tr></thead>\n");
    }
    g_string_append(p->out, "<tbody>\n");
    for (guint r = 0; r < t->text->len; r++) {
        char **row = t->text->pdata[r];
        g_string_append(p->out, "<tr>");
        for (int i = 0; i < t->ncols; i++) {
            g_string_append_printf(p->out, "<td%s>", t->right >> i & 1 ? " class=\"n\""
                                   : strlen(row[i]) > 40 ? " class=\"w\"" : "");
            pb_rep_esc(p->out, row[i]);
            g_string_append(p->out, "</td>");
        }
        g_string_append(p->out, "</tr>\n");
    }
    g_string_append(p->out, "</tbody></table></div>\n");
}

/* ---- the charts after their tables --------------------------------------------------- */

static void link_chart(struct page *p)
{
    const struct pb_rep_counts *c = &((struct pb_rep_campaign *)p->r->campaigns->pdata[0])->c;
    struct pb_svg_bar *bars = g_new0(struct pb_svg_bar, c->links->len);
    char **labels = g_new0(char *, c->links->len * 2 + 1);

    for (guint i = 0; i < c->links->len; i++) {
        const struct pb_rep_link *l = &g_array_index(c->links, struct pb_rep_link, i);
        labels[2 * i] = g_strdup_printf("%d. %s", l->index + 1, l->url ? l->url : "");
        labels[2 * i + 1] = pb_rep_int(p->r, l->clicks[0]);
        bars[i] = (struct pb_svg_bar){ labels[2 * i], (double)l->clicks[0], labels[2 * i + 1], 0 };
    }
    pb_svg_bars(p->out, pb_rep_t(p->r, "Clicks per link (human)"), bars, c->links->len);
    g_strfreev(labels);
    g_free(bars);
}

/* Open rate and CTR (human) side by side for each of n rows. */
static void rate_chart(struct page *p, const char *title, const char *const *names,
                       const struct pb_rep_counts *const *n, size_t count)
{
    const char *series[2] = { pb_rep_t(p->r, "Open rate"), pb_rep_t(p->r, "Click rate (CTR)") };
    double *v = g_new(double, 2 * count + 1);
    char **texts = g_new0(char *, 2 * count + 1);

    for (size_t i = 0; i < count; i++) {
        v[2 * i] = pb_rep_rate(n[i]->uopens[0], n[i]->delivered);
        v[2 * i + 1] = pb_rep_rate(n[i]->uclicks[0], n[i]->delivered);
        texts[2 * i] = pb_rep_pct(p->r, n[i]->uopens[0], n[i]->delivered);
        texts[2 * i + 1] = pb_rep_pct(p->r, n[i]->uclicks[0], n[i]->delivered);
    }
    pb_svg_grouped(p->out, pb_rep_t(p->r, title), names, count, series, 2, v,
                   (const char *const *)texts);
    g_strfreev(texts);
    g_free(v);
}

static void variant_chart(struct page *p)
{
    const struct pb_rep_campaign *c = p->r->campaigns->pdata[0];
    const char **names = g_new(const char *, c->variants->len + 1);
    const struct pb_rep_counts **n = g_new(const struct pb_rep_counts *, c->variants->len + 1);
    size_t k = 0;

    for (; k < c->variants->len; k++) {
        names[k] = ((struct pb_rep_variant *)c->variants->pdata[k])->letter;
        n[k] = &((struct pb_rep_variant *)c->variants->pdata[k])->c;
    }
    if (c->base.delivered > 0) {
        names[k] = pb_rep_t(p->r, "remainder");
        n[k++] = &c->base;
    }
    heading(p, "Variants side by side");
    rate_chart(p, "Variants side by side", names, n, k);
    g_free(names);
    g_free(n);
}

static void campaign_chart(struct page *p)
{
    guint count = MIN(p->r->campaigns->len, 12);   /* the newest */
    const char **names = g_new(const char *, count + 1);
    const struct pb_rep_counts **n = g_new(const struct pb_rep_counts *, count + 1);

    for (guint i = 0; i < count; i++) {
        names[i] = ((struct pb_rep_campaign *)p->r->campaigns->pdata[i])->name;
        n[i] = &((struct pb_rep_campaign *)p->r->campaigns->pdata[i])->c;
    }
    heading(p, "Open rate and CTR per campaign");
    rate_chart(p, "Open rate and CTR per campaign", names, n, count);
    g_free(names);
    g_free(n);
}

static void funnel_chart(struct page *p)
{
    const struct pb_rep_funnel *f = &p->r->funnel;
    struct pb_svg_bar *bars = g_new0(struct pb_svg_bar, f->n);
    char **texts = g_new0(char *, f->n + 1);

    for (size_t i = 0; i < f->n; i++) {
        char *n = pb_rep_int(p->r, f->stages[i].count), *c = i ? pb_rep_pct(
            p->r, f->stages[i].count, f->stages[i - 1].count) : NULL;
        texts[i] = c ? g_strdup_printf("%s (%s)", n, c) : g_strdup(n);
        bars[i] = (struct pb_svg_bar){ i ? f->stages[i].name : pb_rep_t(p->r, "all contacts"),
                                       (double)f->stages[i].count, texts[i], i ? 0 : 1 };
        g_free(n);
        g_free(c);
    }
    pb_svg_bars(p->out, pb_rep_t(p->r, "Funnel (all contacts)"), bars, f->n);
    g_strfreev(texts);
    g_free(bars);
}

static void activity_chart(struct page *p)
{
    const struct pb_rep_funnel *f = &p->r->funnel;
    long long all = f->stages[0].count, active = MAX(f->active, 0), dormant = MAX(f->dormant, 0);
    long long other = MAX(all - active - dormant, 0);
    char *t[3] = { pb_rep_int(p->r, active), pb_rep_int(p->r, dormant), pb_rep_int(p->r, other) };
    struct pb_svg_bar parts[3] = {
        { pb_rep_t(p->r, "Active"), (double)active, t[0], 0 },
        { pb_rep_t(p->r, "Dormant"), (double)dormant, t[1], 1 },
        { pb_rep_t(p->r, "Other"), (double)other, t[2], 2 },
    };

    heading(p, "Active and dormant contacts");
    pb_svg_stack(p->out, pb_rep_t(p->r, "Active and dormant contacts"), parts, 3);
    for (int i = 0; i < 3; i++)
        g_free(t[i]);
}

static void emit(const struct pb_rep_table *t, void *arg)
{
    struct page *p = arg;
    const struct pb_rep_campaign *c = p->r->campaigns->len ? p->r->campaigns->pdata[0] : NULL;

    if (strcmp(t->id, "header") == 0) {
        header(p, t);
        return;
    }
    table(p, t);
    if (strcmp(t->id, "links") == 0 && c && c->c.links && c->c.links->len)
        link_chart(p);
    else if (strcmp(t->id, "ab") == 0)
        variant_chart(p);
    else if (strcmp(t->id, "campaigns") == 0 && p->r->campaigns->len)
        campaign_chart(p);
    else if (strcmp(t->id, "funnel") == 0) {
        funnel_chart(p);
        if (p->r->funnel.active >= 0 || p->r->funnel.dormant >= 0)
            activity_chart(p);
    }
}

/* ---- the page ----------------------------------------------------------------------- */

static void page(struct pb_report *r, GString *out)
{
    struct page p = { r, out };
    struct pb_rep_emit e = { emit, &p };
    char *now = pb_rep_time(r->now);

    g_string_append_printf(out, "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n<meta charset="
                           "\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width\">\n"
                           "<title>", r->lang);
    pb_rep_esc(out, pb_rep_t(r, "Report"));
    g_string_append(out, ": ");
    pb_rep_esc(out, r->all ? pb_rep_t(r, "Campaigns")
                    : ((struct pb_rep_campaign *)r->campaigns->pdata[0])->name);
    g_string_append_printf(out, "</title>\n<style>\n%s</style>\n</head>\n<body>\n", css);
    pb_rep_tables(r, &e);
    g_string_append(out, "<footer>postbeacon " PACKAGE_VERSION " · ");
    pb_rep_esc(out, pb_rep_t(r, "Generated"));
    g_string_append(out, " ");
    pb_rep_esc(out, now);
    g_string_append(out, "</footer>\n</body>\n</html>\n");
    g_free(now);
}

/* All of out written to fp, and fp closed (always, also after a short
 * write); 0 with errno set if either failed. */
static int written_and_closed(FILE *fp, const GString *out)
{
    int ok = fwrite(out->str, 1, out->len, fp) == out->len;

    if (fclose(fp) != 0)
        ok = 0;
    return ok;
}

int pb_rep_write_html(struct pb_report *r, const char *path)
{
    GString *out = g_string_new(NULL);
    char *tmp = g_strconcat(path, ".tmp", NULL);
    FILE *fp;
    int rc = -1;

    page(r, out);
    fp = fopen(tmp, "w");
    if (fp == NULL)
        pb_cli_error("%s: %s (--html: a file in a folder that exists and may be written)", tmp,
                     strerror(errno));
    else if (!written_and_closed(fp, out)) {
        pb_cli_error("%s: %s", tmp, strerror(errno));
        unlink(tmp);
    } else if (rename(tmp, path) != 0) {
        pb_cli_error("%s: %s", path, strerror(errno));
        unlink(tmp);
    } else {
        rc = 0;
    }
    g_free(tmp);
    g_string_free(out, TRUE);
    return rc;
}
