/*
 * export.c - postbeacon contacts export: every contact with an address
 * (<p>contacts:by-email, read with HSCAN; the hashes pipelined a page at
 * a time) as CSV with the import's columns, sorted by address, custom attributes as their
 * own columns (attr:<name> written <name>), so that the file imports back
 * unchanged (import.c). Quoting by table.c's pb_csv_field.
 */
#include <string.h>
#include "cli.h"
#include "events.h"
#include "table.h"

#define PAGE 1000

static const struct pb_cli_opts opts = {
    .usage = "contacts export [--separator C] [-o FILE]",
    .help = "Writes all contacts as CSV (email, first_name, last_name, birthday, city,\n"
            "country, language, timezone, tags, then the custom attributes), which\n"
            "contacts import reads back.\n"
            "  --separator C  \",\" (default) or \";\"\n"
            "  -o FILE        write to FILE instead of standard output\n",
    .shortopts = "o:s:",
    .longopts = (const struct option[]){ { "separator", required_argument, NULL, 's' },
                                         { "output", required_argument, NULL, 'o' },
                                         { NULL, 0, NULL, 0 } },
};

static const char *const fixed[] = { "email", "first_name", "last_name", "birthday", "city",
                                     "country", "language", "timezone", "tags", NULL };

/* All contacts' hashes (HGETALL replies), by address order of the mapping. */
static int read_all(struct pb_cli *cli, GPtrArray *hashes)
{
    char *by_email = pb_cli_key(cli, PB_KEY_BY_EMAIL, NULL), cursor[32] = "0";
    int rc = 0;

    do {
        redisReply *r = pb_cli_cmd(cli, "reading the addresses", "HSCAN %s %s COUNT %d",
                                   by_email, cursor, PAGE);
        size_t n;
        if (r == NULL) {
            rc = -1;
            break;
        }
        g_strlcpy(cursor, r->element[0]->str, sizeof(cursor));
        n = r->element[1]->elements / 2;
        for (size_t i = 0; i < n; i++)
            redisAppendCommand(cli->redis, "HGETALL %s%s%s", cli->conf.redis.prefix,
                               PB_KEY_CONTACT, r->element[1]->element[2 * i + 1]->str);
        for (size_t i = 0; i < n && rc == 0; i++) {
            redisReply *h = pb_cli_reply(cli, "reading contacts");
            if (h == NULL)
                rc = -1;
            else
                g_ptr_array_add(hashes, h);
        }
        freeReplyObject(r);
    } while (rc == 0 && strcmp(cursor, "0") != 0);
    g_free(by_email);
    return rc;
}

static const char *get(const redisReply *h, const char *field)
{
    for (size_t j = 0; j + 1 < h->elements; j += 2)
        if (strcmp(h->element[j]->str, field) == 0)
            return h->element[j + 1]->str;
    return "";
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int by_email(const void *a, const void *b)
{
    return strcmp(get(*(redisReply *const *)a, "email"), get(*(redisReply *const *)b, "email"));
}

/* The custom attribute fields of all hashes, sorted. */
static GPtrArray *attr_columns(GPtrArray *hashes)
{
    GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
    GPtrArray *cols = g_ptr_array_new();

    for (guint i = 0; i < hashes->len; i++) {
        const redisReply *h = g_ptr_array_index(hashes, i);
        for (size_t j = 0; j + 1 < h->elements; j += 2)
            if (g_str_has_prefix(h->element[j]->str, "attr:")
                && g_hash_table_add(seen, h->element[j]->str))
                g_ptr_array_add(cols, h->element[j]->str);
    }
    g_ptr_array_sort(cols, by_name);
    g_hash_table_destroy(seen);
    return cols;
}


static void write_csv(FILE *fp, GPtrArray *hashes, GPtrArray *attrs, char sep)
{
    for (int i = 0; fixed[i]; i++) {
        if (i)
            fputc(sep, fp);
        pb_csv_field(fp, fixed[i], sep);
    }
    for (guint i = 0; i < attrs->len; i++) {
        const char *field = g_ptr_array_index(attrs, i);
        fputc(sep, fp);
        /* "plan" for attr:plan; "attr:city" where the name is a column's */
        pb_csv_field(fp, g_strv_contains(fixed, field + 5) ? field : field + 5, sep);
    }
    fputs("\r\n", fp);
    for (guint r = 0; r < hashes->len; r++) {
        const redisReply *h = g_ptr_array_index(hashes, r);
        if (*get(h, "email") == '\0')
            continue;           /* a mapping whose hash is gone */
        for (int i = 0; fixed[i]; i++) {
            if (i)
                fputc(sep, fp);
            pb_csv_field(fp, get(h, fixed[i]), sep);
        }
        for (guint i = 0; i < attrs->len; i++) {
            fputc(sep, fp);
            pb_csv_field(fp, get(h, g_ptr_array_index(attrs, i)), sep);
        }
        fputs("\r\n", fp);
    }
}

static int export_to(struct pb_cli *cli, const char *out, char sep)
{
    GPtrArray *hashes = g_ptr_array_new_with_free_func((GDestroyNotify)freeReplyObject);
    GPtrArray *attrs;
    FILE *fp = stdout;
    int rc = PB_EXIT_ERROR;

    if (pb_cli_redis(cli) == NULL || read_all(cli, hashes) != 0)
        goto done;
    if (out && (fp = fopen(out, "w")) == NULL) {
        pb_cli_error("%s: cannot create: %m", out);
        goto done;
    }
    g_ptr_array_sort(hashes, by_email);
    attrs = attr_columns(hashes);
    write_csv(fp, hashes, attrs, sep);
    g_ptr_array_free(attrs, TRUE);
    rc = PB_EXIT_OK;
    if ((fp != stdout ? fclose(fp) : fflush(fp)) != 0) {
        pb_cli_error("%s: cannot write: %m", out ? out : "standard output");
        rc = PB_EXIT_ERROR;
    }
done:
    g_ptr_array_free(hashes, TRUE);
    return rc;
}

int pb_contacts_export(struct pb_cli *cli, int argc, char **argv)
{
    int help = 0, c;
    const char *out = NULL;
    char sep = ',';

    while ((c = pb_cli_getopt(cli, &opts, argc, argv, &help)) != -1) {
        if (c == '?')
            return PB_EXIT_USAGE;
        if (c == 'o')
            out = optarg;
        else if (pb_cli_separator(&opts, optarg, &sep) != 0)
            return PB_EXIT_USAGE;
    }
    if (help) {
        pb_cli_print_help(&opts, stdout);
        return PB_EXIT_OK;
    }
    if (optind < argc)
        return pb_cli_usage_error(&opts, "unexpected argument %s", argv[optind]);
    return export_to(cli, out, sep);
}
