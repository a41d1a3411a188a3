/*
 * main.c - postbeacon, the administrator's and marketer's command line:
 * the global options and the subcommand groups (one file each: config.c,
 * keys.c, contacts.c, event.c, segments.c, segment.c, template.c,
 * queue.c, report.c). Exit
 * codes: 0 ok, 1 error, 2 usage (cli.h; postbeacon(1)).
 */
#include <string.h>
#include "cli.h"
#include "config.h"

static const struct pb_cli_cmd groups[] = {
    { "config", "check the configuration of every program (config check)", pb_cmd_config },
    { "keys", "generate, list, rotate and retire the token keys", pb_cmd_keys },
    { "contacts", "import, export, show, unsubscribe, erase contacts", pb_cmd_contacts },
    { "event", "record a custom event for a contact", pb_cmd_event },
    { "segments", "the segments with their sizes", pb_cmd_segments },
    { "segment", "the members of a segment", pb_cmd_segment },
    { "template", "render a template for a contact (template render)", pb_cmd_template },
    { "queue", "follow-ups due and uncertain: list, cancel, resolve", pb_cmd_queue },
    { "report", "a campaign's figures, or every campaign's (--all); --html", pb_cmd_report },
    { "send", "send a campaign to a segment, A/B tests, scheduled sends", pb_cmd_send },
    { NULL, NULL, NULL },
};

static const struct pb_cli_opts top = {
    .usage = "[-c FILE] COMMAND [SUBCOMMAND] [OPTIONS] ...",
    .help = "commands:\n"
            "  config check                     the configuration, keys and rules\n"
            "  keys generate|list|rotate|retire the key file (docs/tokens.md)\n"
            "  contacts import FILE.csv         add and update contacts\n"
            "  contacts export                  all contacts as CSV\n"
            "  contacts show EMAIL              attributes, score, history, events\n"
            "  contacts unsubscribe|resubscribe EMAIL\n"
            "  contacts erase EMAIL             remove everything about a person (GDPR)\n"
            "  contacts export-data EMAIL       everything stored about a person, JSON\n"
            "  event EMAIL TYPE [NAME=VALUE...] record a custom event\n"
            "  segments                         the segments: kind, size, entries, exits\n"
            "  segment NAME                     a segment's members with entry times\n"
            "  template render TEMPLATE EMAIL   the mail a contact would get\n"
            "  queue list [--uncertain]         follow-up steps due (or uncertain)\n"
            "  queue cancel EMAIL [WF [STEP]]   take queued follow-ups out for good\n"
            "  queue resolve EMAIL WF STEP --sent|--not-sent  settle an uncertain one\n"
            "  report CAMPAIGN | --all          figures, rates, funnel; --html FILE\n"
            "  send TEMPLATE --segment NAME --campaign NAME   a campaign to a segment\n"
            "every command takes --help; exit status 0 ok, 1 error, 2 usage error\n",
    .formats = 1,
};

int main(int argc, char **argv)
{
    struct pb_cli cli = { .conf_path = PB_DEFAULT_CONF };
    int rc, help = 0;

    if (argc > 1 && (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0)) {
        printf(PB_CLI_NAME " " PACKAGE_VERSION "\n");
        return PB_EXIT_OK;
    }
    if (pb_cli_getopt(&cli, &top, argc, argv, &help) == '?')
        return PB_EXIT_USAGE;
    if (help) {
        pb_cli_print_help(&top, stdout);
        return PB_EXIT_OK;
    }
    if (optind >= argc)
        return pb_cli_usage_error(&top, "which command?");
    rc = -1;
    for (int i = 0; groups[i].name; i++)
        if (strcmp(groups[i].name, argv[optind]) == 0) {
            int first = optind;
            optind = 1;
            rc = groups[i].run(&cli, argc - first, argv + first);
            break;
        }
    if (rc < 0)
        rc = pb_cli_usage_error(&top, "unknown command: %s", argv[optind]);
    pb_cli_free(&cli);
    return rc;
}
