/*
 * keys.c - postbeacon keys generate|list|rotate|retire: the key file of
 * docs/tokens.md (signing keys, the contact key, events secrets, webhook
 * secrets)
 * through lib/keys.c and lib/keys_edit.c (one parser, one
 * writer: mode 0600, written whole and renamed into place). Secrets are
 * never printed unless asked for with --show-secrets; list shows a short
 * fingerprint (SHA-256 of the secret) to tell keys apart.
 */
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include "cli.h"
#include "contact.h"
#include "table.h"

static const struct pb_cli_opts gen_opts = {
    .usage = "keys generate [-c FILE]",
    .help = "Creates keys.file (mode 0600) with a contact key and signing key 1.\n"
            "Refuses a file that exists: use keys rotate to add a key.\n",
};
static const struct pb_cli_opts list_opts = {
    .usage = "keys list [--show-secrets] [--json|--csv]",
    .help = "Lists the keys: id, line, role, length and a fingerprint.\n"
            "  --show-secrets  also print each secret (hex)\n",
    .longopts = (const struct option[]){ { "show-secrets", no_argument, NULL, 's' },
                                         { NULL, 0, NULL, 0 } },
    .formats = 1,
};
static const struct pb_cli_opts rot_opts = {
    .usage = "keys rotate [--events | --webhook NAME]",
    .help = "Appends a new random signing key with the next free id; it signs new\n"
            "tokens once the milter and tracker reload. Old keys keep verifying.\n"
            "  --events        add a custom-event secret (an \"events\" line) instead\n"
            "  --webhook NAME  a new secret for the webhook steps with secret = \"NAME\"\n"
            "                  (a \"webhook NAME\" line, added or replaced); reload the\n"
            "                  scorer and give the receiver the new secret\n",
    .shortopts = "w:",
    .longopts = (const struct option[]){ { "events", no_argument, NULL, 'e' },
                                         { "webhook", required_argument, NULL, 'w' },
                                         { NULL, 0, NULL, 0 } },
};
static const struct pb_cli_opts ret_opts = {
    .usage = "keys retire ID | keys retire --webhook NAME",
    .help = "Removes key ID from the key file: tokens it signed stop verifying.\n"
            "The signing key (the last one) cannot be retired: rotate first.\n"
            "  --webhook NAME  remove the webhook secret NAME instead\n",
    .shortopts = "w:",
    .longopts = (const struct option[]){ { "webhook", required_argument, NULL, 'w' },
                                         { NULL, 0, NULL, 0 } },
};

static int keys_path(struct pb_cli *cli, const char **path)
{
    if (pb_cli_conf(cli) != 0)
        return -1;
    *path = cli->conf.keys_file;
    return 0;
}

static int keys_generate(struct pb_cli *cli, int argc, char **argv)
{
    char err[1024];
    const char *path;
    int rc = pb_cli_parse_simple(cli, &gen_opts, argc, argv);

    if (rc >= 0)
        return rc;
    if (optind < argc)
        return pb_cli_usage_error(&gen_opts, "unexpected argument %s", argv[optind]);
    if (keys_path(cli, &path) != 0)
        return PB_EXIT_ERROR;
    if (pb_keys_create(path, err, sizeof(err)) != 0) {
        pb_cli_error("%s", err);
        return PB_EXIT_ERROR;
    }
    printf("created %s (mode 0600): contact key and signing key 1\n", path);
    return PB_EXIT_OK;
}

static void fingerprint(const uint8_t *secret, size_t len, char out[17])
{
    GChecksum *c = g_checksum_new(G_CHECKSUM_SHA256);
    uint8_t digest[32];
    gsize n = sizeof(digest);

    g_checksum_update(c, secret, (gssize)len);
    g_checksum_get_digest(c, digest, &n);
    g_checksum_free(c);
    pb_hex(digest, 8, out);
}

static void add_key_row(struct pb_table *t, const char *id, int line, const char *role,
                        const uint8_t *secret, size_t len, int show)
{
    char fp[17], ln[16], bits[16], *hex = g_malloc(2 * len + 1);
    const char *row[6] = { id, ln, role, bits, fp, hex };

    fingerprint(secret, len, fp);
    g_snprintf(ln, sizeof(ln), "%d", line);
    g_snprintf(bits, sizeof(bits), "%zu", len * 8);
    pb_hex(secret, len, hex);
    if (!show)
        row[5] = NULL;
    pb_table_add(t, row);
    memset(hex, 0, 2 * len);
    g_free(hex);
}

static int keys_list(struct pb_cli *cli, int argc, char **argv)
{
    static const char *const cols[] = { "id", "line", "role", "bits", "fingerprint", "secret" };
    int show = 0, rc = pb_cli_parse_flag(cli, &list_opts, argc, argv, &show);
    struct pb_table *t;

    if (rc >= 0)
        return rc;
    if (optind < argc)
        return pb_cli_usage_error(&list_opts, "unexpected argument %s", argv[optind]);
    if (pb_cli_keys(cli) != 0)
        return PB_EXIT_ERROR;
    t = pb_table_new(show ? 6 : 5, cols);
    add_key_row(t, "contact", cli->keys.contact_line, "contact ids", cli->keys.contact_key,
                cli->keys.contact_key_len, show);
    for (size_t i = 0; i < cli->keys.count; i++) {
        const struct pb_key *k = &cli->keys.keys[i];
        char id[8];
        g_snprintf(id, sizeof(id), "%u", k->id);
        add_key_row(t, id, k->line, (int)i == cli->keys.signing ? "signs, verifies" : "verifies",
                    k->secret, k->len, show);
    }
    for (size_t i = 0; i < cli->keys.events_count; i++)
        add_key_row(t, "events", cli->keys.events[i].line, "custom events",
                    cli->keys.events[i].secret, cli->keys.events[i].len, show);
    for (size_t i = 0; i < cli->keys.webhooks_count; i++) {
        const struct pb_webhook_key *w = &cli->keys.webhooks[i];
        char id[PB_WEBHOOK_NAME_MAX + 16];
        g_snprintf(id, sizeof(id), "webhook:%s", w->name);
        add_key_row(t, id, w->key.line, "signs webhooks", w->key.secret, w->key.len, show);
    }
    pb_table_print(t, cli->format, stdout);
    pb_table_free(t);
    return PB_EXIT_OK;
}

/* The options of rotate and retire: --events (*events), --webhook NAME
 * (*webhook). PB_EXIT_OK/USAGE when done, -1 to go on. */
static int parse_kind(struct pb_cli *cli, const struct pb_cli_opts *o, int argc, char **argv,
                      int *events, const char **webhook)
{
    int help = 0, c;

    while ((c = pb_cli_getopt(cli, o, argc, argv, &help)) != -1) {
        if (c == '?')
            return PB_EXIT_USAGE;
        if (c == 'e')
            *events = 1;
        else
            *webhook = optarg;
    }
    if (help) {
        pb_cli_print_help(o, stdout);
        return PB_EXIT_OK;
    }
    if (*events && *webhook)
        return pb_cli_usage_error(o, "--events or --webhook, not both");
    if (*webhook && !pb_keys_webhook_name_ok(*webhook))
        return pb_cli_usage_error(o, "--webhook: \"%s\" is not a name (1 to 64 of a-z, 0-9, _ "
                                  "and -)", *webhook);
    return -1;
}

static int rotate_webhook(const char *path, const char *name)
{
    char err[1024];
    int replaced = 0;

    if (pb_keys_set_webhook(path, name, &replaced, err, sizeof(err)) != 0) {
        pb_cli_error("%s", err);
        return PB_EXIT_ERROR;
    }
    printf("%s: %s the webhook secret %s (keys list --show-secrets prints it for the "
           "receiver); reload the scorer\n", path, replaced ? "replaced" : "added", name);
    return PB_EXIT_OK;
}

static int keys_rotate(struct pb_cli *cli, int argc, char **argv)
{
    int events = 0, id = 0, rc;
    const char *webhook = NULL, *path;
    char err[1024];

    if ((rc = parse_kind(cli, &rot_opts, argc, argv, &events, &webhook)) >= 0)
        return rc;
    if (optind < argc)
        return pb_cli_usage_error(&rot_opts, "unexpected argument %s", argv[optind]);
    if (keys_path(cli, &path) != 0)
        return PB_EXIT_ERROR;
    if (webhook)
        return rotate_webhook(path, webhook);
    if ((events ? pb_keys_add_events(path, err, sizeof(err))
                : pb_keys_rotate(path, &id, err, sizeof(err))) != 0) {
        pb_cli_error("%s", err);
        return PB_EXIT_ERROR;
    }
    if (events)
        printf("%s: added an events secret (keys list --show-secrets prints it for the "
               "shop)\n", path);
    else
        printf("%s: added key %d, which signs new tokens after a reload of the milter and "
               "the tracker\n", path, id);
    return PB_EXIT_OK;
}

static int retire_webhook(struct pb_cli *cli, int argc, const char *name)
{
    char err[1024];
    const char *path;

    if (optind < argc)
        return pb_cli_usage_error(&ret_opts, "%s", "give an ID or --webhook NAME, not both");
    if (keys_path(cli, &path) != 0)
        return PB_EXIT_ERROR;
    if (pb_keys_retire_webhook(path, name, err, sizeof(err)) != 0) {
        pb_cli_error("%s", err);
        return PB_EXIT_ERROR;
    }
    printf("%s: webhook secret %s retired; reload the scorer\n", path, name);
    return PB_EXIT_OK;
}

static int keys_retire(struct pb_cli *cli, int argc, char **argv)
{
    int none = 0, rc;
    const char *webhook = NULL, *path;
    char err[1024], *end;
    long id;

    if ((rc = parse_kind(cli, &ret_opts, argc, argv, &none, &webhook)) >= 0)
        return rc;
    if (webhook)
        return retire_webhook(cli, argc, webhook);
    if (argc - optind != 1)
        return pb_cli_usage_error(&ret_opts, "give one key id");
    id = strtol(argv[optind], &end, 10);
    if (*end || end == argv[optind] || id < 1 || id > 255)
        return pb_cli_usage_error(&ret_opts, "\"%s\" is not a key id (1..255)", argv[optind]);
    if (keys_path(cli, &path) != 0)
        return PB_EXIT_ERROR;
    if (pb_keys_retire(path, (int)id, err, sizeof(err)) != 0) {
        pb_cli_error("%s", err);
        return PB_EXIT_ERROR;
    }
    printf("%s: key %ld retired; reload the milter and the tracker\n", path, id);
    return PB_EXIT_OK;
}

int pb_cmd_keys(struct pb_cli *cli, int argc, char **argv)
{
    static const struct pb_cli_cmd cmds[] = {
        { "generate", "create the key file (contact key, key 1)", keys_generate },
        { "list", "list the keys (no secrets unless --show-secrets)", keys_list },
        { "rotate", "add a new signing key (or --events, --webhook NAME)", keys_rotate },
        { "retire", "remove an old key by id (or --webhook NAME)", keys_retire },
        { NULL, NULL, NULL },
    };
    return pb_cli_dispatch(cli, "keys", cmds, argc, argv);
}
