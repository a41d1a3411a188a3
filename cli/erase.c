/*
 * erase.c - postbeacon contacts erase EMAIL (GDPR erasure,
 * docs/redis-schema.md "Erasing a contact"): every place that names the
 * contact by id or address (places.c) is removed - its keys (the hash,
 * score history, rule state, any later per-contact key), its members of
 * sets and sorted sets (suppression list, uniq sets, segments), hash
 * fields (the address mapping, the contact of its send records) and its
 * stream entries - and the address is kept suppressed as a keyed hash in
 * <p>erased (pb_contact_erased_id: not the contact id), so a later
 * import of it is suppressed again. Campaign counters stay: they are
 * anonymous aggregates.
 */
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "contact.h"
#include "custom_event.h"
#include "events.h"
#include "places.h"

static const struct pb_cli_opts opts = {
    .usage = "contacts erase [--yes] EMAIL",
    .help = "Removes everything stored about the person: contact, address mapping,\n"
            "score history, rule state, memberships, send records' contact, stream\n"
            "entries. Keeps a keyed hash of the address so that it stays suppressed\n"
            "if it is imported again. Counters per campaign stay (anonymous).\n"
            "Asks on a terminal; --yes (-y) for scripts.\n"
            "Erase after the milter's and tracker's journals are empty: records still\n"
            "in a journal would bring the mapping back when replayed.\n",
};

/* What to remove, collected during the walk (which must not read replies). */
struct removal {
    GPtrArray *cmds;            /* GPtrArray of argv (GPtrArray of char *) */
};

static void add_cmd(struct removal *rm, const char *a, const char *b, const char *c)
{
    GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);

    g_ptr_array_add(argv, g_strdup(a));
    g_ptr_array_add(argv, g_strdup(b));
    if (c)
        g_ptr_array_add(argv, g_strdup(c));
    g_ptr_array_add(rm->cmds, argv);
}

static void on_place(const struct place *p, void *data)
{
    struct removal *rm = data;

    switch (p->kind) {
    case PLACE_KEY:
        add_cmd(rm, "DEL", p->key, NULL);
        break;
    case PLACE_MEMBER:
        add_cmd(rm, strcmp(p->type, "zset") == 0 ? "ZREM" : "SREM", p->key, p->item);
        break;
    case PLACE_FIELD:
        add_cmd(rm, "HDEL", p->key, p->item);
        break;
    case PLACE_ENTRY:
        add_cmd(rm, "XDEL", p->key, p->item);
        break;
    case PLACE_ITEM:
        add_cmd(rm, "LREM", p->key, NULL);
        g_ptr_array_add(g_ptr_array_index(rm->cmds, rm->cmds->len - 1), g_strdup("0"));
        g_ptr_array_add(g_ptr_array_index(rm->cmds, rm->cmds->len - 1), g_strdup(p->item));
        break;
    }
}

static int run_removal(struct pb_cli *cli, struct removal *rm)
{
    int rc = 0;

    for (guint i = 0; i < rm->cmds->len; i++) {
        GPtrArray *argv = g_ptr_array_index(rm->cmds, i);
        redisAppendCommandArgv(cli->redis, (int)argv->len, (const char **)argv->pdata, NULL);
    }
    for (guint i = 0; i < rm->cmds->len; i++) {
        redisReply *r = pb_cli_reply(cli, "erasing");
        if (r == NULL)
            rc = -1;
        else
            freeReplyObject(r);
    }
    return rc;
}

static int erase(struct pb_cli *cli, const char *email)
{
    char id[17], addr[PB_CEV_EMAIL_MAX + 1], mark[33], *erased;
    struct removal rm = { g_ptr_array_new_with_free_func((GDestroyNotify)g_ptr_array_unref) };
    redisReply *r = NULL;
    int rc;

    if (pb_cli_find_contact(cli, email, id, addr) != 0)
        return PB_EXIT_ERROR;
    if (!cli->assume_yes) {
        char *q = g_strdup_printf("Erase everything about %s (contact %s)? This cannot be "
                                  "undone.", addr, id);
        int yes = pb_cli_confirm(q);
        g_free(q);
        if (!yes) {
            pb_cli_error("not erased (%s)", isatty(0) ? "answered no"
                         : "no terminal to ask: add --yes");
            g_ptr_array_free(rm.cmds, TRUE);
            return isatty(0) ? PB_EXIT_ERROR : PB_EXIT_USAGE;
        }
    }
    pb_contact_erased_id(&cli->keys, addr, mark);
    erased = pb_cli_key(cli, PB_KEY_ERASED, NULL);
    rc = pb_places_walk(cli, id, addr, on_place, &rm);
    if (rc == 0)
        rc = run_removal(cli, &rm);
    if (rc == 0)
        r = pb_cli_cmd(cli, "keeping the address suppressed", "SADD %s %s", erased, mark);
    if (r)
        printf("erased %s: %u place%s removed; the address stays suppressed\n", addr,
               rm.cmds->len, rm.cmds->len == 1 ? "" : "s");
    if (r)
        freeReplyObject(r);
    g_free(erased);
    g_ptr_array_free(rm.cmds, TRUE);
    return r ? PB_EXIT_OK : PB_EXIT_ERROR;
}

int pb_contacts_erase(struct pb_cli *cli, int argc, char **argv)
{
    return pb_cli_run_email(cli, &opts, argc, argv, erase);
}
