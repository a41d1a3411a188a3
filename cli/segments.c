/*
 * segments.c - postbeacon segments: every segment of scorer.segments, in
 * the configuration's order, with its kind in a few words, its size
 * (ZCARD of <p>segment:<name>, pipelined) and the entries and exits of
 * the last days from <p>segment-log. The log's stream ids are the times
 * the scorer wrote them, so XREVRANGE from + down to the window's start
 * reads only the window, LOG_PAGE entries a round trip. Also the one
 * place the CLI reads the segment definitions (pb_cli_rules).
 */
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "events.h"
#include "rules.h"
#include "table.h"

#define LOG_PAGE 10000          /* segment-log entries a round trip */
#define DAY_MS 86400000LL

static const struct pb_cli_opts opts = {
    .usage = "segments [--days N] [--json|--csv]",
    .help = "Lists the segments of scorer.segments in their order: kind, members now\n"
            "(the scorer's <prefix>segment:<name>), and how many contacts entered and\n"
            "left each in the last N days (default 7), counted from <prefix>segment-log\n"
            "(only the entries of those days are read).\n"
            "  --days N  the window for entered/left, 1..3650 days\n",
    .shortopts = "d:",
    .longopts = (const struct option[]){ { "days", required_argument, NULL, 'd' },
                                         { NULL, 0, NULL, 0 } },
    .formats = 1,
};

int pb_cli_rules(struct pb_cli *cli, struct pb_rules *rules)
{
    char err[1024];

    if (pb_cli_conf(cli) != 0)
        return -1;
    if (pb_rules_load(cli->conf_path, rules, err, sizeof(err)) != 0) {
        pb_cli_error("%s", err);
        return -1;
    }
    return 0;
}

/* ---- the kind in a few words -------------------------------------------- */

static void names(GString *s, const char *word, const int *refs, const struct pb_segdefs *d)
{
    if (refs == NULL)
        return;
    g_string_append_printf(s, "%s%s ", s->len ? "; " : "", word);
    for (int i = 0; refs[i] >= 0; i++)
        g_string_append_printf(s, "%s%s", i ? ", " : "", d->items[refs[i]].name);
}

static void describe_cond(GString *s, const struct pb_cond *c)
{
    switch (c->kind) {
    case PB_COND_EQUALS:
        g_string_append_printf(s, "%s = %s", c->attribute, c->values[0]);
        break;
    case PB_COND_IN:
        g_string_append_printf(s, "%s in ", c->attribute);
        for (int i = 0; c->values[i]; i++)
            g_string_append_printf(s, "%s%s", i ? ", " : "", c->values[i]);
        break;
    case PB_COND_RANGE:
        g_string_append_printf(s, "%s %g..%g", c->attribute, c->min, c->max);
        break;
    case PB_COND_TAG:
        g_string_append_printf(s, "tag %s", c->attribute);
        break;
    case PB_COND_AGE:
        g_string_append_printf(s, "age %g..%g", c->min, c->max);
        break;
    case PB_COND_BIRTHDAY:
        g_string_append_printf(s, "birthday within %d days", c->days);
        break;
    }
}

static void describe_interest(GString *s, const struct pb_segment *g)
{
    g_string_append(s, "clicked");
    if (g->url)
        g_string_append_printf(s, " %s", g->url);
    if (g->campaign)
        g_string_append_printf(s, " in %s", g->campaign);
    g_string_append_printf(s, " within %d days", g->days);
}

/* "behaviour ≥ 50", "dormant 90 days", "all of mql; not suppressed" */
static char *describe(const struct pb_segment *g, const struct pb_segdefs *d)
{
    GString *s = g_string_new(NULL);

    switch (g->kind) {
    case PB_SEG_BEHAVIOUR: case PB_SEG_FIT:
        g_string_printf(s, "%s %s %g", g->kind == PB_SEG_FIT ? "fit" : "behaviour",
                        g->below ? "<" : "≥", g->threshold);
        break;
    case PB_SEG_GRADE:
        g_string_append(s, "grade ");
        for (int i = 0; g->grades[i]; i++)
            g_string_append_printf(s, "%s%s", i ? ", " : "", g->grades[i]);
        break;
    case PB_SEG_INTEREST:
        describe_interest(s, g);
        break;
    case PB_SEG_ATTRIBUTE:
        describe_cond(s, &g->cond);
        break;
    case PB_SEG_DORMANT:
        g_string_printf(s, "dormant %d days", g->days);
        break;
    case PB_SEG_ACTIVE:
        g_string_printf(s, "active within %d days", g->days);
        break;
    case PB_SEG_SUPPRESSED:
        g_string_assign(s, "suppressed");
        break;
    case PB_SEG_COMBINATION:
        names(s, "all of", g->all, d);
        names(s, "any of", g->any, d);
        names(s, "not", g->none, d);
        break;
    }
    return g_string_free(s, FALSE);
}

/* ---- sizes and the log -------------------------------------------------- */

static int sizes(struct pb_cli *cli, const struct pb_segdefs *d, long long *size)
{
    int rc = 0;

    for (size_t i = 0; i < d->count; i++)
        redisAppendCommand(cli->redis, "ZCARD %s%s%s", cli->conf.redis.prefix, PB_KEY_SEGMENT,
                           d->items[i].name);
    for (size_t i = 0; i < d->count; i++) {
        redisReply *r = pb_cli_reply(cli, "reading a segment's size");
        if (r == NULL)
            rc = -1;            /* the other replies are still read */
        else {
            size[i] = r->integer;
            freeReplyObject(r);
        }
    }
    return rc;
}

/* One log entry: counted for its segment, if configured. */
static void count_entry(const redisReply *fields, const struct pb_segdefs *d, long long *in,
                        long long *out)
{
    const char *seg, *op;

    if (fields->type != REDIS_REPLY_ARRAY || (seg = pb_cli_field(fields, "segment")) == NULL
        || (op = pb_cli_field(fields, "op")) == NULL)
        return;
    for (size_t i = 0; i < d->count; i++)
        if (strcmp(d->items[i].name, seg) == 0) {
            in[i] += strcmp(op, "enter") == 0;
            out[i] += strcmp(op, "leave") == 0;
            return;
        }
}

/* Entries and exits of the log whose ids are at or after since_ms. */
static int changes(struct pb_cli *cli, const struct pb_segdefs *d, long long since_ms,
                   long long *in, long long *out)
{
    char *key = pb_cli_key(cli, PB_KEY_SEGMENT_LOG, NULL), end[48] = "+";
    size_t n;
    int rc = 0;

    do {
        redisReply *r = pb_cli_cmd(cli, "reading the segment log", "XREVRANGE %s %s %lld-0 "
                                   "COUNT %d", key, end, since_ms, LOG_PAGE);
        if (r == NULL) {
            rc = -1;
            break;
        }
        n = r->elements;
        for (size_t i = 0; i < n; i++)
            count_entry(r->element[i]->element[1], d, in, out);
        if (n > 0)
            g_snprintf(end, sizeof(end), "(%s", r->element[n - 1]->element[0]->str);
        freeReplyObject(r);
    } while (n == LOG_PAGE);
    g_free(key);
    return rc;
}

static void print_list(struct pb_cli *cli, const struct pb_segdefs *d, const long long *size,
                       const long long *in, const long long *out, int days)
{
    char c_in[32], c_out[32];
    const char *cols[] = { "segment", "kind", "members", c_in, c_out };
    struct pb_table *t;

    g_snprintf(c_in, sizeof(c_in), "entered_%dd", days);
    g_snprintf(c_out, sizeof(c_out), "left_%dd", days);
    t = pb_table_new(5, cols);
    for (size_t i = 0; i < d->count; i++) {
        char *kind = describe(&d->items[i], d), n[3][24];
        const char *row[5] = { d->items[i].name, kind, n[0], n[1], n[2] };
        g_snprintf(n[0], sizeof(n[0]), "%lld", size[i]);
        g_snprintf(n[1], sizeof(n[1]), "%lld", in[i]);
        g_snprintf(n[2], sizeof(n[2]), "%lld", out[i]);
        pb_table_add(t, row);
        g_free(kind);
    }
    pb_table_print(t, cli->format, stdout);
    pb_table_free(t);
}

static int list(struct pb_cli *cli, int days)
{
    struct pb_rules rules = { 0 };
    long long *size = NULL, *in = NULL, *out = NULL;
    int rc = PB_EXIT_ERROR;

    if (pb_cli_rules(cli, &rules) != 0)
        return PB_EXIT_ERROR;
    if (rules.segs.count == 0)
        pb_cli_error("%s defines no scorer.segments", cli->conf_path);
    else if (pb_cli_redis(cli) != NULL) {
        size = g_new0(long long, rules.segs.count);
        in = g_new0(long long, rules.segs.count);
        out = g_new0(long long, rules.segs.count);
        if (sizes(cli, &rules.segs, size) == 0
            && changes(cli, &rules.segs, pb_event_now_ms() - days * DAY_MS, in, out) == 0) {
            print_list(cli, &rules.segs, size, in, out, days);
            rc = PB_EXIT_OK;
        }
    }
    g_free(size);
    g_free(in);
    g_free(out);
    pb_rules_free(&rules);
    return rc;
}

int pb_cmd_segments(struct pb_cli *cli, int argc, char **argv)
{
    int help = 0, c;
    long days = 7;
    char *end;

    while ((c = pb_cli_getopt(cli, &opts, argc, argv, &help)) != -1) {
        if (c == '?')
            return PB_EXIT_USAGE;
        days = strtol(optarg, &end, 10);
        if (*optarg == '\0' || *end != '\0' || days < 1 || days > 3650)
            return pb_cli_usage_error(&opts, "--days: a whole number of days, 1..3650");
    }
    if (help) {
        pb_cli_print_help(&opts, stdout);
        return PB_EXIT_OK;
    }
    if (optind < argc)
        return pb_cli_usage_error(&opts, "unexpected argument %s", argv[optind]);
    return list(cli, (int)days);
}
