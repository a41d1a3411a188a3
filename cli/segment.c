/*
 * segment.c - postbeacon segment NAME: the members of one configured
 * segment, newest entry first, with their entry time and address. The
 * sorted set <p>segment:<name> (member contact id, score entry ms) is
 * read PAGE members a round trip (zpage.h), so that a million members
 * never make one reply and a member is listed once even while the scorer
 * changes the set; each page's addresses are read with pipelined HGETs
 * and its rows printed before the next page is read (table.h, pb_rows).
 */
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "events.h"
#include "rules.h"
#include "table.h"
#include "zpage.h"

#define PAGE 10000              /* members a round trip */

static const struct pb_cli_opts opts = {
    .usage = "segment [--limit N] [--json|--csv [--separator C]] NAME",
    .help = "Lists the members of segment NAME (one of scorer.segments), newest entry\n"
            "first: entry time (UTC), contact id and address.\n"
            "  --limit N      the newest N members only (default all)\n"
            "  --separator C  the CSV separator: \",\" (default) or \";\" (spreadsheets\n"
            "                 set to German); implies --csv\n",
    .shortopts = "n:s:",
    .longopts = (const struct option[]){ { "limit", required_argument, NULL, 'n' },
                                         { "separator", required_argument, NULL, 's' },
                                         { NULL, 0, NULL, 0 } },
    .formats = 1,
};

static const char *const cols[] = { "entered", "contact", "email" };
static const int widths[] = { 20, 16, 0 };

struct lister {
    struct pb_cli *cli;
    char *key;                  /* <p>segment:<name> */
    long long limit;            /* 0 = all */
    struct pb_rows out;
    struct pb_zpage page;       /* newest entry first */
};

/* Rows for n members of page r (id, score pairs), with their addresses. */
static int print_page(struct lister *l, const redisReply *r, size_t n)
{
    int rc = 0;

    for (size_t i = 0; i < n; i++)
        redisAppendCommand(l->cli->redis, "HGET %s%s%s email", l->cli->conf.redis.prefix,
                           PB_KEY_CONTACT, r->element[2 * i]->str);
    for (size_t i = 0; i < n; i++) {
        redisReply *e = pb_cli_reply(l->cli, "reading the members' addresses");
        char at[32];
        const char *row[3] = { at, r->element[2 * i]->str, NULL };
        if (e == NULL) {
            rc = -1;            /* the other replies are still read */
            continue;
        }
        pb_cli_time((long long)strtod(r->element[2 * i + 1]->str, NULL), at);
        row[2] = e->type == REDIS_REPLY_STRING ? e->str : NULL;
        if (rc == 0)
            pb_rows_add(&l->out, row);
        freeReplyObject(e);
    }
    return rc;
}

/* One page: its number of members when more may follow, 0 at the end, -1
 * after an error (reported). */
static long long next_page(struct lister *l)
{
    long long want = PAGE, n;
    redisReply *r;

    if (l->limit > 0 && l->limit - l->out.count < want)
        want = l->limit - l->out.count;
    if (want <= 0)
        return 0;
    if ((r = pb_zpage_next(&l->page, want, "reading the segment")) == NULL)
        return -1;
    n = (long long)(r->elements / 2);
    if (n > 0 && print_page(l, r, (size_t)n) != 0)
        n = -1;
    freeReplyObject(r);
    if (n < 0)
        return -1;
    return n == want ? n : 0;       /* a short page is the last */
}

int pb_cli_segment_configured(struct pb_cli *cli, const char *name)
{
    struct pb_rules rules = { 0 };
    GString *all;
    int found = 0;

    if (pb_cli_rules(cli, &rules) != 0)
        return -1;
    all = g_string_new(NULL);
    for (size_t i = 0; i < rules.segs.count; i++) {
        found |= strcmp(rules.segs.items[i].name, name) == 0;
        g_string_append_printf(all, "%s%s", i ? ", " : "", rules.segs.items[i].name);
    }
    if (!found)
        pb_cli_error("no segment \"%s\" in %s (%s%s)", name, cli->conf_path,
                     all->len ? "configured: " : "scorer.segments defines none", all->str);
    g_string_free(all, TRUE);
    pb_rules_free(&rules);
    return found ? 0 : -1;
}

/* "25000 members" or "10 of 25000 members" after a text listing. */
static int total(struct lister *l)
{
    redisReply *r = pb_cli_cmd(l->cli, "reading the segment's size", "ZCARD %s", l->key);

    if (r == NULL)
        return -1;
    if (r->integer != l->out.count)
        printf("%ld of %lld members\n", l->out.count, r->integer);
    else
        printf("%ld member%s\n", l->out.count, l->out.count == 1 ? "" : "s");
    freeReplyObject(r);
    return 0;
}

static int list(struct pb_cli *cli, const char *name, long long limit, char sep)
{
    struct lister l = { .cli = cli, .limit = limit };
    long long n;
    int rc;

    if (pb_cli_segment_configured(cli, name) != 0 || pb_cli_redis(cli) == NULL)
        return PB_EXIT_ERROR;
    l.key = pb_cli_key(cli, PB_KEY_SEGMENT, name);
    pb_zpage_init(&l.page, cli, l.key, 1);
    l.out = (struct pb_rows){ .fp = stdout, .format = cli->format, .ncols = 3, .cols = cols,
                              .widths = widths, .sep = sep };
    pb_rows_start(&l.out);
    while ((n = next_page(&l)) > 0)
        ;
    pb_rows_end(&l.out);
    rc = n < 0 || (cli->format == PB_OUT_TEXT && total(&l) != 0) ? PB_EXIT_ERROR : PB_EXIT_OK;
    if (fflush(stdout) != 0) {
        pb_cli_error("cannot write to standard output: %m");
        rc = PB_EXIT_ERROR;
    }
    g_free(l.key);
    return rc;
}

static int limit_of(const char *arg, long long *limit)
{
    char *end;

    *limit = strtoll(arg, &end, 10);
    return *arg != '\0' && *end == '\0' && *limit > 0 ? 0 : -1;
}

int pb_cmd_segment(struct pb_cli *cli, int argc, char **argv)
{
    int help = 0, c;
    long long limit = 0;
    char sep = 0;

    while ((c = pb_cli_getopt(cli, &opts, argc, argv, &help)) != -1) {
        if (c == '?')
            return PB_EXIT_USAGE;
        if (c == 'n' && limit_of(optarg, &limit) != 0)
            return pb_cli_usage_error(&opts, "--limit: a number of members, 1 or more");
        if (c == 's' && pb_cli_separator(&opts, optarg, &sep) != 0)
            return PB_EXIT_USAGE;
    }
    if (help) {
        pb_cli_print_help(&opts, stdout);
        return PB_EXIT_OK;
    }
    if (sep && cli->format == PB_OUT_JSON)
        return pb_cli_usage_error(&opts, "--separator is for CSV, not --json");
    if (sep)
        cli->format = PB_OUT_CSV;
    if (argc - optind != 1)
        return pb_cli_usage_error(&opts, "give one segment name");
    return list(cli, argv[optind], limit, sep);
}
