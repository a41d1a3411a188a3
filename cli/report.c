/*
 * report.c - postbeacon report CAMPAIGN | --all: the command line and the
 * order of the steps (docs/reports.md). Without --since/--until a
 * campaign's figures are its counters (hashes, no stream read); with a
 * period they are counted from the period's entries of <p>events. The
 * HTML report also reads the stream for its charts over time. The logs
 * of the scorer give what a campaign caused (segment entries,
 * follow-ups), the segment sets the funnel.
 */
#include <stdlib.h>
#include <string.h>
#include "events.h"
#include "report.h"
#include "table.h"

enum { OPT_SINCE = 's', OPT_UNTIL = 'u', OPT_ALL = 'a', OPT_HTML = 'H', OPT_SEP = 'S' };

static const struct pb_cli_opts opts = {
    .usage = "report [--since TIME] [--until TIME] [--json | --csv [--separator C] | "
             "--html FILE] CAMPAIGN | --all",
    .help = "The figures of a campaign (or of every campaign with --all): sent, delivered\n"
            "to Postfix, opens and clicks (human and machine, unique, imputed), per-link\n"
            "clicks, open rate, CTR, CTOR, unsubscribes, A/B variants and the winner,\n"
            "segment entries and follow-ups it caused, and the funnel of report.funnel.\n"
            "Labels and numbers in report.language.\n"
            "  --since TIME   only events from TIME on (YYYY-MM-DD or YYYY-MM-DD HH:MM,\n"
            "                 local time, or ISO 8601 with a zone)\n"
            "  --until TIME   only events before TIME (a date alone: to the end of that day)\n"
            "  --all          every campaign, one line each\n"
            "  --html FILE    one self-contained HTML file with charts, instead of text\n"
            "  --separator C  the CSV separator: \",\" (default) or \";\"; implies --csv\n",
    .shortopts = "",
    .longopts = (const struct option[]){ { "since", required_argument, NULL, OPT_SINCE },
                                         { "until", required_argument, NULL, OPT_UNTIL },
                                         { "all", no_argument, NULL, OPT_ALL },
                                         { "html", required_argument, NULL, OPT_HTML },
                                         { "separator", required_argument, NULL, OPT_SEP },
                                         { NULL, 0, NULL, 0 } },
    .formats = 1,
};

long long pb_rep_until(const struct pb_report *r)
{
    return r->has_until ? r->until : r->now + 1;
}

static int time_option(const char *arg, int end, long long *out)
{
    *out = pb_rep_parse_time(arg, end);
    if (*out < 0)
        return pb_cli_usage_error(&opts, "%s: not a date or time (write e.g. 2026-12-01 or "
                                  "\"2026-12-01 14:30\")", arg);
    return 0;
}

static int parse(struct pb_report *r, int argc, char **argv)
{
    int help = 0, c, sep_given = 0;

    while ((c = pb_cli_getopt(r->cli, &opts, argc, argv, &help)) != -1) {
        if (c == '?')
            return PB_EXIT_USAGE;
        if ((c == OPT_SINCE && time_option(optarg, 0, &r->since))
            || (c == OPT_UNTIL && time_option(optarg, 1, &r->until))
            || (c == OPT_SEP && pb_cli_separator(&opts, optarg, &r->sep)))
            return PB_EXIT_USAGE;
        r->has_since |= c == OPT_SINCE;
        r->has_until |= c == OPT_UNTIL;
        r->all |= c == OPT_ALL;
        sep_given |= c == OPT_SEP;
        if (c == OPT_HTML)
            r->html = optarg;
    }
    if (help) {
        pb_cli_print_help(&opts, stdout);
        return PB_EXIT_OK;
    }
    if (sep_given && r->cli->format == PB_OUT_JSON)
        return pb_cli_usage_error(&opts, "--separator is for --csv, not --json");
    if (sep_given)
        r->cli->format = PB_OUT_CSV;
    if (r->html && r->cli->format != PB_OUT_TEXT)
        return pb_cli_usage_error(&opts, "--html writes a file: no --json or --csv with it");
    if (r->has_since && r->has_until && r->until <= r->since)
        return pb_cli_usage_error(&opts, "--until must be after --since");
    if (r->all == (argc - optind == 1) || argc - optind > 1)
        return pb_cli_usage_error(&opts, "give one CAMPAIGN or --all");
    return -1;
}

/* Newest first: the latest start on top. */
static int newest_first(const void *a, const void *b)
{
    const struct pb_rep_campaign *x = *(struct pb_rep_campaign *const *)a;
    const struct pb_rep_campaign *y = *(struct pb_rep_campaign *const *)b;

    if (x->start_ms != y->start_ms)
        return x->start_ms < y->start_ms ? 1 : -1;
    return strcmp(x->name, y->name);
}

static int load_campaigns(struct pb_report *r, const char *name)
{
    if (r->all) {
        if (pb_rep_campaigns_all(r) != 0)
            return -1;
    } else {
        struct pb_rep_campaign *c = pb_rep_campaign_load(r, name);
        if (c == NULL)
            return -1;
        g_ptr_array_add(r->campaigns, c);
    }
    if (pb_rep_counters(r, !r->all) != 0)
        return -1;
    g_ptr_array_sort(r->campaigns, newest_first);
    for (guint i = 0; (r->has_since || r->has_until) && i < r->campaigns->len; i++) {
        struct pb_rep_campaign *c = r->campaigns->pdata[i];
        if (c->kind == PB_REP_SEND && pb_rep_sent_in_period(r, c) != 0)
            return -1;
    }
    return 0;
}

/* The span of the charts over time: the period, or the campaign's
 * (its start to now), or the last 30 days. */
static void chart_span(struct pb_report *r)
{
    long long from = r->now - PB_REP_WINDOW_MS;

    if (r->has_since)
        from = r->since;
    else if (!r->all && ((struct pb_rep_campaign *)r->campaigns->pdata[0])->start_ms > 0)
        from = ((struct pb_rep_campaign *)r->campaigns->pdata[0])->start_ms;
    pb_rep_series_init(&r->series, from, pb_rep_until(r));
}

/* Where the event stream must reach back to for what the report counts
 * from it: the period's start, or the campaigns' (a second later: their
 * first send is kept in seconds), or the charts'. */
static long long events_need(const struct pb_report *r, int period)
{
    long long need = -1;

    if (r->has_since)
        return r->since;
    for (guint i = 0; period && i < r->campaigns->len; i++) {
        long long s = ((struct pb_rep_campaign *)r->campaigns->pdata[i])->start_ms;
        need = need < 0 ? s : MIN(need, s);
    }
    if (r->series.n > 0)
        need = need < 0 ? r->series.from_ms : MIN(need, r->series.from_ms);
    return MAX(need, 0) + 999;
}

static int gather(struct pb_report *r, const char *name)
{
    int period = r->has_since || r->has_until;

    if (!r->has_since)
        r->since = 0;
    r->window_from = period ? r->since : r->now - PB_REP_WINDOW_MS;
    r->window_to = pb_rep_until(r);
    if (load_campaigns(r, name) != 0)
        return -1;
    if (r->html)
        chart_span(r);
    r->events_need = period || r->html ? events_need(r, period) : -1;
    if (r->events_need >= 0 && (pb_rep_reach(r, PB_KEY_EVENTS, &r->events) != 0
                                || pb_rep_scan_events(r, period) != 0))
        return -1;
    if (pb_rep_reach(r, PB_KEY_SEGMENT_LOG, &r->seglog) != 0
        || pb_rep_reach(r, PB_KEY_WF_LOG, &r->wflog) != 0)
        return -1;
    if (pb_rep_funnel(r) != 0 || pb_rep_scan_logs(r) != 0)
        return -1;
    return 0;
}

static int output(struct pb_report *r)
{
    if (r->html)
        return pb_rep_write_html(r, r->html) == 0 ? PB_EXIT_OK : PB_EXIT_ERROR;
    if (r->cli->format == PB_OUT_JSON)
        pb_rep_print_json(r, stdout);
    else
        pb_rep_print_text(r, stdout);
    return PB_EXIT_OK;
}

int pb_cmd_report(struct pb_cli *cli, int argc, char **argv)
{
    struct pb_report r = { .cli = cli, .sep = ',', .now = pb_event_now_ms() };
    char err[1024];
    int rc = parse(&r, argc, argv);

    if (rc >= 0)
        return rc;
    if (pb_cli_rules(cli, &r.rules) != 0)
        return PB_EXIT_ERROR;
    r.lang = cli->conf.report.language;
    r.campaigns = g_ptr_array_new_with_free_func((GDestroyNotify)pb_rep_campaign_free);
    rc = PB_EXIT_ERROR;
    if (pb_rep_conf_check(cli->conf_path, &cli->conf, &r.rules.segs, err, sizeof(err)) != 0)
        pb_cli_error("%s", err);
    else if (pb_cli_redis(cli) != NULL && gather(&r, argv[optind]) == 0)
        rc = output(&r);
    g_ptr_array_free(r.campaigns, TRUE);
    pb_rep_series_free(&r.series);
    pb_rep_funnel_free(&r.funnel);
    pb_rules_free(&r.rules);
    return rc;
}
