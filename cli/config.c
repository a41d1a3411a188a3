/*
 * config.c - postbeacon config check: every check the daemons make with
 * -n, for all sections at once (milter, tracker, scorer and the key file,
 * the webhook steps' secrets in it), and the mail templates (those the workflows send and every one in
 * templates.dir), so that one command tells whether every program would
 * start and every template render. Each
 * failure names the file, the line and the fix (the loaders' messages);
 * all failures are listed, not only the first.
 */
#include <string.h>
#include "cli.h"
#include "classify.h"
#include "clientip.h"
#include "http_tls.h"
#include "report.h"
#include "rules.h"
#include "template.h"
#include "workflows.h"

static const struct pb_cli_opts opts = {
    .usage = "config check [-c FILE]",
    .help = "Checks postbeacon.conf (all sections), the key file, the tracker's bots file,\n"
            "trusted proxies, TLS certificate and key, the scorer's rules, and the mail\n"
            "templates (those the workflows send, every one in templates.dir), as\n"
            "postbeacon-milter -n, postbeacon-tracker -n and postbeacon-scorer -n do.\n",
};

/* The tracker's checks beyond the file itself (tracker/main.c, gen_load). */
static int check_tracker(const struct pb_conf *conf, const struct pb_keyring *keys)
{
    char err[1024], why[256];
    struct pb_bots *bots = pb_bots_load(conf->tracker.bots_file, err, sizeof(err));
    struct pb_netlist proxies;
    int bad = 0;

    if (bots == NULL) {
        pb_cli_error("tracker: %s", err);
        bad++;
    } else {
        pb_bots_free(bots);
    }
    if (pb_netlist_parse(&conf->tracker.trusted_proxies, &proxies, why, sizeof(why)) != 0) {
        pb_cli_error("%s: tracker.trusted_proxies: %s", conf->path, why);
        bad++;
    } else {
        pb_netlist_free(&proxies);
    }
    if (keys && (conf->tracker.events_listen.count > 0 || conf->tracker.events_on_public)
        && keys->events_count == 0) {
        pb_cli_error("%s: tracker.events_listen or tracker.events_on_public serves custom "
                     "events, but %s has no \"events\" line (add one: postbeacon keys "
                     "rotate --events)", conf->path, conf->keys_file);
        bad++;
    }
    if (conf->tracker.tls_listen.count > 0) {
        SSL_CTX *tls = pb_tls_ctx_load(conf->tracker.tls_cert, conf->tracker.tls_key, why,
                                       sizeof(why));
        if (tls == NULL) {
            pb_cli_error("%s: %s", conf->path, why);
            bad++;
        } else {
            SSL_CTX_free(tls);
        }
    }
    return bad;
}

/* The mail templates: those the workflows name must load (as the scorer
 * loads them at start), and so must every other one in templates.dir (a
 * campaign's, for a send). The number of problems (each said). */
static int check_templates(struct pb_cli *cli, struct pb_rules *rules)
{
    const struct pb_conf *c = &cli->conf;
    struct pb_tpl_opts o = { .from = c->submit.from, .reply_to = c->submit.reply_to,
                             .campaign_header = c->milter.campaign_header,
                             .tracking_url = c->tracking_url };
    char err[4096];
    int bad = 0;

    if (pb_workflows_load_templates(&rules->wf, c, err, sizeof(err)) != 0) {
        pb_cli_error("scorer: %s", err);
        bad++;
    }
    if (g_file_test(c->templates.dir, G_FILE_TEST_IS_DIR)
        && pb_tpl_check_dir(c->templates.dir, &o, err, sizeof(err)) != 0) {
        char **lines = g_strsplit(err, "\n", -1);
        for (char **l = lines; *l; l++)
            if (**l)
                pb_cli_error("%s", *l);
        g_strfreev(lines);
        bad++;
    }
    return bad;
}

/* Every webhook step's secret is in the key file (as the scorer checks
 * at start): 1 problem or 0. */
static int check_webhooks(struct pb_cli *cli, const struct pb_rules *rules, int keys_ok)
{
    char err[1024];

    if (pb_workflows_check_secrets(&rules->wf, keys_ok ? &cli->keys : NULL, cli->conf.keys_file,
                                   "it does not load (above)", err, sizeof(err)) == 0)
        return 0;
    pb_cli_error("scorer: %s", err);
    return 1;
}

static int check_all(struct pb_cli *cli)
{
    struct pb_rules rules = { 0 };
    char err[1024];
    int bad = 0, keys_ok;

    if (pb_cli_conf(cli) != 0)
        return PB_EXIT_ERROR;   /* the sections cannot be read without the file */
    keys_ok = pb_cli_keys(cli) == 0;
    bad += !keys_ok;
    bad += check_tracker(&cli->conf, keys_ok ? &cli->keys : NULL);
    if (pb_rules_load(cli->conf_path, &rules, err, sizeof(err)) != 0) {
        pb_cli_error("scorer: %s", err);
        bad++;
    } else {
        bad += check_templates(cli, &rules);
        bad += check_webhooks(cli, &rules, keys_ok);
        if (pb_rep_conf_check(cli->conf_path, &cli->conf, &rules.segs, err, sizeof(err)) != 0) {
            pb_cli_error("report: %s", err);
            bad++;
        }
    }
    if (bad)
        return PB_EXIT_ERROR;
    printf(PB_CLI_NAME ": configuration OK (%s; keys %s: %zu signing key%s, %zu events "
           "secret%s, %zu webhook secret%s; %zu scoring rule%s)\n", cli->conf_path,
           cli->conf.keys_file, cli->keys.count, cli->keys.count == 1 ? "" : "s",
           cli->keys.events_count, cli->keys.events_count == 1 ? "" : "s",
           cli->keys.webhooks_count, cli->keys.webhooks_count == 1 ? "" : "s", rules.count,
           rules.count == 1 ? "" : "s");
    pb_rules_free(&rules);
    return PB_EXIT_OK;
}

static int config_check(struct pb_cli *cli, int argc, char **argv)
{
    int rc = pb_cli_parse_simple(cli, &opts, argc, argv);

    if (rc >= 0)
        return rc;
    if (optind < argc)
        return pb_cli_usage_error(&opts, "unexpected argument %s", argv[optind]);
    return check_all(cli);
}

int pb_cmd_config(struct pb_cli *cli, int argc, char **argv)
{
    static const struct pb_cli_cmd cmds[] = {
        { "check", "check the configuration, keys and rules (as the daemons' -n)", config_check },
        { NULL, NULL, NULL },
    };
    return pb_cli_dispatch(cli, "config", cmds, argc, argv);
}
