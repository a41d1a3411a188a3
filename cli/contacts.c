/*
 * contacts.c - postbeacon contacts ...: the subcommands (import*.c,
 * export.c, show.c, erase.c, export_data.c) and unsubscribe/resubscribe,
 * which change the suppression list <p>suppressed and the contact's
 * unsubscribed_at exactly as the tracker's unsubscribe does
 * (lib/events_tracker.c: SADD, HSETNX with unix seconds), then announce
 * the change with a `profile` entry naming unsubscribed_at, so that the
 * scorer moves the contact into or out of its suppression segment at once
 * (an `unsubscribe` entry belongs to a message the tracker saw).
 */
#include <string.h>
#include "cli.h"
#include "custom_event.h"
#include "events.h"

static const struct pb_cli_opts unsub_opts = {
    .usage = "contacts unsubscribe EMAIL",
    .help = "Puts the contact on the suppression list (nothing is sent to it) and\n"
            "records unsubscribed_at, as a click on an unsubscribe link does.\n",
};
static const struct pb_cli_opts resub_opts = {
    .usage = "contacts resubscribe EMAIL",
    .help = "Takes the contact off the suppression list and clears unsubscribed_at.\n"
            "Only with the person's consent.\n",
};

/* A profile entry for the contact naming unsubscribed_at (its value is
 * in the hash already): the scorer re-evaluates the contact's segments. */
static int announce(struct pb_cli *cli, const char *id, const char *addr)
{
    struct pb_custom_event ev;
    char eid[33];
    int rc;

    pb_custom_event_init(&ev);
    g_strlcpy(ev.type, "profile", sizeof(ev.type));
    g_strlcpy(ev.email, addr, sizeof(ev.email));
    g_strlcpy(ev.contact, id, sizeof(ev.contact));
    ev.ts_ms = pb_event_now_ms();
    g_string_assign(ev.attr_names, "unsubscribed_at");
    rc = pb_cli_write_event(cli, &ev, eid);
    pb_custom_event_clear(&ev);
    return rc;
}

static int set_suppressed(struct pb_cli *cli, const char *email, int on)
{
    char id[17], addr[PB_CEV_EMAIL_MAX + 1], *sup, *key;
    redisReply *r1, *r2 = NULL;

    if (pb_cli_find_contact(cli, email, id, addr) != 0)
        return PB_EXIT_ERROR;
    sup = pb_cli_key(cli, PB_KEY_SUPPRESSED, NULL);
    key = pb_cli_key(cli, PB_KEY_CONTACT, id);
    r1 = on ? pb_cli_cmd(cli, "suppressing", "SADD %s %s", sup, id)
            : pb_cli_cmd(cli, "removing the suppression", "SREM %s %s", sup, id);
    if (r1)
        r2 = on ? pb_cli_cmd(cli, "recording unsubscribed_at", "HSETNX %s unsubscribed_at %lld",
                             key, pb_event_now_ms() / 1000)
                : pb_cli_cmd(cli, "clearing unsubscribed_at", "HDEL %s unsubscribed_at", key);
    if (r2 && announce(cli, id, addr) != PB_EXIT_OK) {
        freeReplyObject(r2);
        r2 = NULL;
    }
    if (r2)
        printf("%s %s%s\n", addr, on ? "unsubscribed" : "resubscribed",
               r1->integer == 0 ? on ? " (it already was)" : " (it was not suppressed)" : "");
    g_free(sup);
    g_free(key);
    if (r1)
        freeReplyObject(r1);
    if (r2)
        freeReplyObject(r2);
    return r2 ? PB_EXIT_OK : PB_EXIT_ERROR;
}

static int unsubscribe(struct pb_cli *cli, const char *email)
{
    return set_suppressed(cli, email, 1);
}

static int resubscribe(struct pb_cli *cli, const char *email)
{
    return set_suppressed(cli, email, 0);
}

int pb_contacts_unsubscribe(struct pb_cli *cli, int argc, char **argv)
{
    return pb_cli_run_email(cli, &unsub_opts, argc, argv, unsubscribe);
}

int pb_contacts_resubscribe(struct pb_cli *cli, int argc, char **argv)
{
    return pb_cli_run_email(cli, &resub_opts, argc, argv, resubscribe);
}

int pb_cmd_contacts(struct pb_cli *cli, int argc, char **argv)
{
    static const struct pb_cli_cmd cmds[] = {
        { "import", "add and update contacts from a CSV file", pb_contacts_import },
        { "export", "all contacts as CSV (the import's columns)", pb_contacts_export },
        { "show", "one contact: attributes, score, history, events", pb_contacts_show },
        { "unsubscribe", "put a contact on the suppression list", pb_contacts_unsubscribe },
        { "resubscribe", "take a contact off the suppression list", pb_contacts_resubscribe },
        { "erase", "remove everything about a person (GDPR)", pb_contacts_erase },
        { "export-data", "everything stored about a person, as JSON", pb_contacts_export_data },
        { NULL, NULL, NULL },
    };
    return pb_cli_dispatch(cli, "contacts", cmds, argc, argv);
}
