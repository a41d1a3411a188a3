/*
 * cli.c - the context every subcommand uses (cli.h): options, errors,
 * the configuration, keys and Redis connection loaded once on demand, and
 * finding a contact by address.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <glib.h>
#include "cli.h"
#include "contact.h"
#include "custom_event.h"
#include "events.h"
#include "redis_conn.h"
#include "score.h"
#include "time_text.h"

void pb_cli_error(const char *fmt, ...)
{
    va_list ap;

    fputs(PB_CLI_NAME ": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void pb_cli_print_help(const struct pb_cli_opts *o, FILE *fp)
{
    fprintf(fp, "usage: " PB_CLI_NAME " %s\n%s", o->usage, o->help ? o->help : "");
    fputs("common options: -c FILE (configuration, default " PB_DEFAULT_CONF ")", fp);
    if (o->formats)
        fputs(", --json, --csv", fp);
    fputs(", -h/--help\n", fp);
}

int pb_cli_usage_error(const struct pb_cli_opts *o, const char *fmt, ...)
{
    va_list ap;

    fputs(PB_CLI_NAME ": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nusage: " PB_CLI_NAME " %s (--help for more)\n", o->usage);
    return PB_EXIT_USAGE;
}

enum { OPT_JSON = 1000, OPT_CSV, OPT_YES, OPT_HELP };

int pb_cli_getopt(struct pb_cli *cli, const struct pb_cli_opts *o, int argc, char **argv,
                  int *help)
{
    static const struct option common[] = {
        { "json", no_argument, NULL, OPT_JSON }, { "csv", no_argument, NULL, OPT_CSV },
        { "yes", no_argument, NULL, OPT_YES }, { "help", no_argument, NULL, OPT_HELP },
    };
    struct option all[32];
    char shorts[64];
    size_t n = 0;
    int c;

    for (; o->longopts && o->longopts[n].name && n < 27; n++)
        all[n] = o->longopts[n];
    memcpy(all + n, common, sizeof(common));
    memset(all + n + 4, 0, sizeof(all[0]));
    g_snprintf(shorts, sizeof(shorts), "+:c:hy%s", o->shortopts ? o->shortopts : "");
    for (;;) {
        c = getopt_long(argc, argv, shorts, all, NULL);
        switch (c) {
        case 'c':
            cli->conf_path = optarg;
            continue;
        case 'y': case OPT_YES:
            cli->assume_yes = 1;
            continue;
        case 'h': case OPT_HELP:
            *help = 1;
            continue;
        case OPT_JSON: case OPT_CSV:
            if (!o->formats) {
                pb_cli_usage_error(o, "%s: no table to print as %s", argv[optind - 1],
                                   c == OPT_JSON ? "JSON" : "CSV");
                return '?';
            }
            cli->format = c == OPT_JSON ? PB_OUT_JSON : PB_OUT_CSV;
            continue;
        case ':':
            pb_cli_usage_error(o, "%s needs a value", argv[optind - 1]);
            return '?';
        case '?':
            pb_cli_usage_error(o, "unknown option %s", argv[optind - 1]);
            return '?';
        default:
            return c;
        }
    }
}

int pb_cli_parse_flag(struct pb_cli *cli, const struct pb_cli_opts *o, int argc, char **argv,
                      int *flag)
{
    int help = 0, c;

    while ((c = pb_cli_getopt(cli, o, argc, argv, &help)) != -1) {
        if (c == '?')
            return PB_EXIT_USAGE;
        if (flag == NULL)
            return pb_cli_usage_error(o, "unknown option %s", argv[optind - 1]);
        *flag = 1;
    }
    if (help) {
        pb_cli_print_help(o, stdout);
        return PB_EXIT_OK;
    }
    return -1;
}

int pb_cli_parse_simple(struct pb_cli *cli, const struct pb_cli_opts *o, int argc,
                        char **argv)
{
    return pb_cli_parse_flag(cli, o, argc, argv, NULL);
}

int pb_cli_run_email(struct pb_cli *cli, const struct pb_cli_opts *o, int argc, char **argv,
                     int (*fn)(struct pb_cli *cli, const char *email))
{
    int rc = pb_cli_parse_simple(cli, o, argc, argv);

    if (rc >= 0)
        return rc;
    if (argc - optind != 1)
        return pb_cli_usage_error(o, "give one address");
    return fn(cli, argv[optind]);
}

int pb_cli_separator(const struct pb_cli_opts *o, const char *arg, char *sep)
{
    if (strcmp(arg, ",") != 0 && strcmp(arg, ";") != 0)
        return pb_cli_usage_error(o, "--separator is \",\" or \";\"");
    *sep = arg[0];
    return 0;
}

int pb_cli_dispatch(struct pb_cli *cli, const char *group, const struct pb_cli_cmd *cmds,
                    int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : NULL;
    int asked = name && (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0);
    FILE *fp = asked ? stdout : stderr;

    for (int i = 0; name && !asked && cmds[i].name; i++)
        if (strcmp(cmds[i].name, name) == 0) {
            optind = 1;
            return cmds[i].run(cli, argc - 1, argv + 1);
        }
    if (name && !asked)
        pb_cli_error("unknown subcommand: %s %s", group, name);
    else if (!asked)
        pb_cli_error("%s: which subcommand?", group);
    fprintf(fp, "usage: " PB_CLI_NAME " %s SUBCOMMAND [--help] ...\n", group);
    for (int i = 0; cmds[i].name; i++)
        fprintf(fp, "  %-14s %s\n", cmds[i].name, cmds[i].summary);
    return asked ? PB_EXIT_OK : PB_EXIT_USAGE;
}

int pb_cli_conf(struct pb_cli *cli)
{
    char err[1024];

    if (cli->conf_loaded)
        return 0;
    if (pb_conf_load(cli->conf_path, &cli->conf, err, sizeof(err)) != 0) {
        pb_cli_error("%s", err);
        return -1;
    }
    cli->conf_loaded = 1;
    return 0;
}

int pb_cli_keys(struct pb_cli *cli)
{
    char err[1024];

    if (cli->keys_loaded)
        return 0;
    if (pb_cli_conf(cli) != 0)
        return -1;
    if (pb_keys_load(cli->conf.keys_file, 1, &cli->keys, err, sizeof(err)) != 0) {
        pb_cli_error("%s", err);
        return -1;
    }
    cli->keys_loaded = 1;
    return 0;
}

redisContext *pb_cli_redis(struct pb_cli *cli)
{
    char why[256];
    struct timeval tv;

    if (cli->redis)
        return cli->redis;
    if (pb_cli_conf(cli) != 0)
        return NULL;
    cli->redis = pb_redis_connect(&cli->conf.redis, why, sizeof(why));
    if (cli->redis == NULL) {
        char *target = pb_redis_target(&cli->conf.redis);
        pb_cli_error("cannot reach Redis at %s: %s (is redis-server running? see redis in %s)",
                     target, why, cli->conf_path);
        g_free(target);
        return NULL;
    }
    /* a command-line tool waits longer than a daemon's hot path: a big
     * import or an erase runs scripts and scans */
    tv.tv_sec = 60;
    tv.tv_usec = 0;
    redisSetTimeout(cli->redis, tv);
    return cli->redis;
}

void pb_cli_free(struct pb_cli *cli)
{
    if (cli->redis)
        redisFree(cli->redis);
    if (cli->keys_loaded)
        pb_keys_free(&cli->keys);
    if (cli->conf_loaded)
        pb_conf_free(&cli->conf);
    cli->redis = NULL;
    cli->keys_loaded = cli->conf_loaded = 0;
}

static redisReply *checked(struct pb_cli *cli, redisReply *r, const char *what)
{
    if (r == NULL) {
        pb_cli_error("Redis: %s: %s", what, cli->redis->errstr[0] ? cli->redis->errstr
                     : "connection lost");
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        pb_cli_error("Redis: %s: %s", what, r->str);
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

redisReply *pb_cli_cmd(struct pb_cli *cli, const char *what, const char *fmt, ...)
{
    redisContext *c = pb_cli_redis(cli);
    va_list ap;
    redisReply *r;

    if (c == NULL)
        return NULL;
    va_start(ap, fmt);
    r = redisvCommand(c, fmt, ap);
    va_end(ap);
    return checked(cli, r, what);
}

redisReply *pb_cli_reply(struct pb_cli *cli, const char *what)
{
    void *r = NULL;

    if (redisGetReply(cli->redis, &r) != REDIS_OK)
        r = NULL;
    return checked(cli, r, what);
}

void pb_cli_time(long long ms, char out[32])
{
    pb_time_text(ms, out);
}

const char *pb_cli_field(const redisReply *hash, const char *field)
{
    for (size_t i = 0; i + 1 < hash->elements; i += 2)
        if (strcmp(hash->element[i]->str, field) == 0)
            return hash->element[i + 1]->str;
    return NULL;
}

double pb_cli_score_now(const struct pb_cli *cli, const redisReply *hash)
{
    const char *score = pb_cli_field(hash, "score"), *at = pb_cli_field(hash, "score_at");

    return pb_score_at(score ? strtod(score, NULL) : 0, at ? strtoll(at, NULL, 10) : 0,
                       pb_event_now_ms(),
                       (long long)cli->conf.scorer.half_life_days * 86400000LL);
}

char *pb_cli_key(const struct pb_cli *cli, const char *name, const char *id)
{
    return g_strconcat(cli->conf.redis.prefix, name, id, NULL);
}

int pb_cli_contact_of(struct pb_cli *cli, const char *email, char id[17], char *email_out)
{
    struct pb_custom_event ev;
    struct pb_cev_error err;
    struct pb_cev_ctx ctx = { .keys = &cli->keys };
    int rc;

    if (pb_cli_keys(cli) != 0)
        return -1;
    pb_custom_event_init(&ev);
    rc = pb_cev_set_email(&ev, &ctx, email, "EMAIL", &err);
    if (rc != 0)
        pb_cli_error("\"%s\": %s", email, err.message);
    else {
        memcpy(id, ev.contact, 17);
        strcpy(email_out, ev.email);
    }
    pb_custom_event_clear(&ev);
    return rc;
}

int pb_cli_find_contact(struct pb_cli *cli, const char *email, char id[17], char *email_out)
{
    char *by_email, *contact;
    redisReply *r;
    int found;

    if (pb_cli_contact_of(cli, email, id, email_out) != 0 || pb_cli_redis(cli) == NULL)
        return -1;
    by_email = pb_cli_key(cli, PB_KEY_BY_EMAIL, NULL);
    contact = pb_cli_key(cli, PB_KEY_CONTACT, id);
    r = pb_cli_cmd(cli, "looking up the contact", "HEXISTS %s %s", by_email, email_out);
    found = r && r->integer == 1;
    if (r && !found) {
        freeReplyObject(r);
        r = pb_cli_cmd(cli, "looking up the contact", "HEXISTS %s email", contact);
        found = r && r->integer == 1;
    }
    if (r && !found)
        pb_cli_error("no contact %s (not imported, never sent to, or erased)", email_out);
    if (r)
        freeReplyObject(r);
    g_free(by_email);
    g_free(contact);
    return found ? 0 : -1;
}

int pb_cli_confirm(const char *question)
{
    char answer[16];

    if (!isatty(STDIN_FILENO))
        return 0;
    fprintf(stderr, "%s [y/N] ", question);
    fflush(stderr);
    if (fgets(answer, sizeof(answer), stdin) == NULL)
        return 0;
    return answer[0] == 'y' || answer[0] == 'Y';
}
