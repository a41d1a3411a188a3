/*
 * event.c - postbeacon event EMAIL TYPE [NAME=VALUE...]: a custom event
 * from the command line, checked by the same code as the tracker's
 * POST /e (lib/custom_event*.c, pb_custom_event_from_args) and written
 * by the same script run, as a record of the same form (lib/events_custom.c,
 * lib/events_tracker.c), with source "cli": once, under a fresh run id.
 */
#include <string.h>
#include "cli.h"
#include "custom_event.h"
#include "events.h"

static const struct pb_cli_opts opts = {
    .usage = "event EMAIL TYPE [NAME=VALUE...]",
    .help = "Records a custom event (docs/custom-events.md) for the contact EMAIL:\n"
            "TYPE as in POST /e (purchase, cart_abandoned, ...), properties as\n"
            "NAME=VALUE. The address becomes a contact if it is not one yet.\n",
};

/* ev written once by the tracker's batch script (one record, a fresh
 * run id); its event id into eid. PB_EXIT_OK, or PB_EXIT_ERROR (said). */
int pb_cli_write_event(struct pb_cli *cli, const struct pb_custom_event *ev, char eid[33])
{
    struct pb_track_retention ret = {
        .msg_days = cli->conf.redis.retention_days,
        .stream_maxlen = cli->conf.tracker.stream_maxlen,
        .stream_max_age_days = cli->conf.tracker.stream_max_age_days,
    };
    struct pb_track_run run;
    struct pb_track_batch b;
    GString *rec = g_string_new(NULL), *cmd = g_string_new(NULL);
    redisReply *r = NULL;

    pb_event_tracker_run_init(&run);
    g_snprintf(eid, 33, "%s%016llx", run.id, (unsigned long long)run.seq + 1);
    pb_event_custom_record(cli->conf.redis.prefix, &run, ev, "cli", rec);
    pb_track_batch_init(&b);
    pb_track_batch_add(&b, rec->str, rec->len);
    pb_track_batch_command(&b, &ret, NULL, cmd);
    if (pb_cli_redis(cli)) {
        redisAppendFormattedCommand(cli->redis, cmd->str, cmd->len);
        r = pb_cli_reply(cli, "writing the event");
    }
    if (r && (r->type != REDIS_REPLY_ARRAY || r->elements != 2
              || strcmp(r->element[0]->str, "1") != 0)) {
        pb_cli_error("Redis did not write the event: %s", r->type == REDIS_REPLY_ARRAY
                     && r->elements == 2 ? r->element[1]->str : "unexpected answer");
        freeReplyObject(r);
        r = NULL;
    }
    pb_track_batch_free(&b);
    g_string_free(rec, TRUE);
    g_string_free(cmd, TRUE);
    if (r)
        freeReplyObject(r);
    return r ? PB_EXIT_OK : PB_EXIT_ERROR;
}

int pb_cmd_event(struct pb_cli *cli, int argc, char **argv)
{
    struct pb_custom_event ev;
    struct pb_cev_error err;
    struct pb_cev_ctx ctx;
    int rc = pb_cli_parse_simple(cli, &opts, argc, argv);

    if (rc >= 0)
        return rc;
    if (argc - optind < 2)
        return pb_cli_usage_error(&opts, "give an address and an event type");
    if (pb_cli_keys(cli) != 0)
        return PB_EXIT_ERROR;
    /* a time ahead of the clock as far as the tracker allows (events_window) */
    ctx = (struct pb_cev_ctx){ &cli->keys, pb_event_now_ms(),
                               (long long)cli->conf.tracker.events_window * 1000 };
    pb_custom_event_init(&ev);
    if (pb_custom_event_from_args(&ctx, argv[optind], argv[optind + 1], argc - optind - 2,
                                  argv + optind + 2, &ev, &err) != 0) {
        pb_cli_error("%s: %s", strcmp(err.field, "email") == 0 ? argv[optind]
                     : strcmp(err.field, "type") == 0 ? argv[optind + 1] : err.field,
                     err.message);
        pb_custom_event_clear(&ev);
        return PB_EXIT_ERROR;
    }
    char eid[33];
    if ((rc = pb_cli_write_event(cli, &ev, eid)) == PB_EXIT_OK)
        printf("%s %s %s\n", ev.type, ev.email, eid);
    pb_custom_event_clear(&ev);
    return rc;
}
