/*
 * send.c - postbeacon send: a campaign to a segment (lib/campaign_send.h).
 * The command line: TEMPLATE with --segment and --campaign (options may
 * come before or after it), the A/B test's options, --at, --rate,
 * --dry-run; or --resume, --status, --cancel of a campaign. What each
 * does is in the other send_*.c files and postbeacon(1).
 */
#include <string.h>
#include "send.h"

enum {
    OPT_SEGMENT = 1100, OPT_CAMPAIGN, OPT_RATE, OPT_AT, OPT_DRY, OPT_AB, OPT_SHARE,
    OPT_AFTER, OPT_BY, OPT_RESUME, OPT_STATUS, OPT_CANCEL
};

static const struct pb_cli_opts opts = {
    .usage = "send TEMPLATE --segment NAME --campaign NAME [--rate N] [--at TIME] [--dry-run]\n"
             "         [--ab subject=TEXT|template=NAME]... [--test-share P%] "
             "[--winner-after 4h]\n"
             "         [--winner-by clicks|opens]\n"
             "       " PB_CLI_NAME " send --resume|--status|--cancel CAMPAIGN",
    .help = "Sends TEMPLATE (a name in templates.dir, or a path) to every member of the\n"
            "segment, one personalised message each, with the campaign header set to\n"
            "the campaign, at submit.rate; suppressed contacts and those without an\n"
            "address get nothing; nobody gets a campaign twice, and a run that was\n"
            "interrupted goes on where it stopped when run again.\n"
            "  --segment NAME       one of scorer.segments: its members when the send starts\n"
            "  --campaign NAME      the campaign's name (a-z 0-9 _ -, at most 62)\n"
            "  --rate N             at most N messages a second (lowers submit.rate)\n"
            "  --at TIME            start then (ISO 8601, local time or with its zone):\n"
            "                       postbeacon-scorer sends it\n"
            "  --dry-run            counts and one rendered sample; nothing is sent\n"
            "  --ab CHANGE          an A/B variant (give two or more): subject=TEXT or\n"
            "                       template=NAME; variants a, b, ... in order\n"
            "  --test-share P%      the share of the segment in the test (default 20%)\n"
            "  --winner-after TIME  from the test mails to the decision (default 4h)\n"
            "  --winner-by WHAT     clicks (default) or opens: unique human ones\n"
            "  --resume CAMPAIGN    go on with a campaign (the winner's remainder when due)\n"
            "  --status CAMPAIGN    the campaign's record (--json, --csv)\n"
            "  --cancel CAMPAIGN    stop it: nothing more is sent\n",
    .longopts = (const struct option[]){
        { "segment", required_argument, NULL, OPT_SEGMENT },
        { "campaign", required_argument, NULL, OPT_CAMPAIGN },
        { "rate", required_argument, NULL, OPT_RATE },
        { "at", required_argument, NULL, OPT_AT },
        { "dry-run", no_argument, NULL, OPT_DRY },
        { "ab", required_argument, NULL, OPT_AB },
        { "test-share", required_argument, NULL, OPT_SHARE },
        { "winner-after", required_argument, NULL, OPT_AFTER },
        { "winner-by", required_argument, NULL, OPT_BY },
        { "resume", required_argument, NULL, OPT_RESUME },
        { "status", required_argument, NULL, OPT_STATUS },
        { "cancel", required_argument, NULL, OPT_CANCEL },
        { NULL, 0, NULL, 0 } },
    .formats = 1,
};

struct parsed {
    struct pb_send_args a;
    const char *status, *cancel;
    int test_opts;              /* --test-share, --winner-after or --winner-by given */
};

static int option(struct parsed *p, int c, const char *arg)
{
    struct pb_csend_spec *s = &p->a.spec;

    switch (c) {
    case OPT_SEGMENT: g_free(s->segment); s->segment = g_strdup(arg); return 0;
    case OPT_CAMPAIGN: p->a.campaign = arg; return 0;
    case OPT_RATE: p->a.have_rate = 1; return pb_send_opt_rate(&opts, s, arg);
    case OPT_AT: return pb_send_opt_at(&opts, s, arg);
    case OPT_DRY: p->a.dry_run = 1; return 0;
    case OPT_AB: return pb_send_opt_ab(&opts, s, arg);
    case OPT_SHARE: p->test_opts = 1; return pb_send_opt_share(&opts, s, arg);
    case OPT_AFTER: p->test_opts = 1; return pb_send_opt_after(&opts, s, arg);
    case OPT_BY: p->test_opts = 1; return pb_send_opt_by(&opts, s, arg);
    case OPT_RESUME: p->a.resume = 1; p->a.campaign = arg; return 0;
    case OPT_STATUS: p->status = arg; return 0;
    case OPT_CANCEL: p->cancel = arg; return 0;
    }
    return PB_EXIT_USAGE;
}

/* Options anywhere: getopt stops at TEMPLATE, which is taken, then on. */
static int parse(struct pb_cli *cli, int argc, char **argv, struct parsed *p, int *help)
{
    int c;

    for (;;) {
        while ((c = pb_cli_getopt(cli, &opts, argc, argv, help)) != -1)
            if (c == '?' || option(p, c, optarg) != 0)
                return PB_EXIT_USAGE;
        if (optind >= argc)
            return 0;
        if (p->a.template != NULL)
            return pb_cli_usage_error(&opts, "unexpected argument %s", argv[optind]);
        p->a.template = argv[optind++];
    }
}

/* What goes together: 0, or a usage error. */
static int check(const struct pb_cli *cli, struct parsed *p)
{
    struct pb_send_args *a = &p->a;
    int modes = (a->template != NULL) + (p->status != NULL) + (p->cancel != NULL) + a->resume;

    if (modes != 1)
        return pb_cli_usage_error(&opts, modes ? "give one of TEMPLATE, --resume, --status and "
                                  "--cancel" : "give a template (or --resume, --status, --cancel)");
    if (a->template != NULL && (a->spec.segment == NULL || a->campaign == NULL))
        return pb_cli_usage_error(&opts, "give --segment and --campaign with the template");
    if (a->template == NULL && (a->spec.segment || a->spec.nvariants || p->test_opts
                                || a->spec.due_at))
        return pb_cli_usage_error(&opts, "--segment, --at and the A/B options go with a "
                                  "template (a campaign keeps its own)");
    if ((p->status || p->cancel) && (a->dry_run || a->have_rate))
        return pb_cli_usage_error(&opts, "--status and --cancel take no other options");
    if (a->spec.nvariants == 1)
        return pb_cli_usage_error(&opts, "--ab: give two variants or more");
    if (p->test_opts && a->spec.nvariants == 0)
        return pb_cli_usage_error(&opts, "--test-share, --winner-after and --winner-by are for "
                                  "an A/B test: give --ab twice or more");
    if (cli->format != PB_OUT_TEXT && p->status == NULL && !a->dry_run)
        return pb_cli_usage_error(&opts, "--json and --csv are for --status and --dry-run");
    return 0;
}

int pb_cmd_send(struct pb_cli *cli, int argc, char **argv)
{
    struct parsed p = { .a.spec = { .test_share_bp = 2000, .winner_after_ms = 4 * 3600000LL } };
    int help = 0, rc = parse(cli, argc, argv, &p, &help);

    if (rc == 0 && help) {
        pb_cli_print_help(&opts, stdout);
        rc = PB_EXIT_OK;
    } else if (rc == 0 && (rc = check(cli, &p)) == 0) {
        p.a.spec.template = p.a.template ? g_strdup(p.a.template) : NULL;
        pb_send_absolute_templates(&p.a.spec);
        if (p.status)
            rc = pb_send_status(cli, p.status);
        else if (p.cancel)
            rc = pb_send_cancel(cli, p.cancel);
        else if (p.a.dry_run)
            rc = pb_send_dry(cli, &p.a);
        else
            rc = pb_send_run(cli, &p.a);
    }
    pb_csend_spec_free(&p.a.spec);
    return rc;
}
