/*
 * template.c - postbeacon template render TEMPLATE EMAIL: the message a
 * contact would get from a follow-up step or a campaign, made exactly as
 * the senders make it (lib/template.h: loaded with submit.from,
 * submit.reply_to and milter.campaign_header, rendered for the contact's
 * hash) and printed to standard output instead of being submitted.
 * TEMPLATE is a path when it has a '/', else a name in templates.dir
 * (".eml" added when missing). --subject previews an A/B variant's subject
 * (a workflow step's variants, docs/scorer.md) with the template. The
 * body's unsubscribe link is the placeholder (lib/unsub_link.h) as the
 * senders hand it to Postfix; a note on stderr says so.
 */
#include <string.h>
#include "cli.h"
#include "custom_event.h"
#include "events.h"
#include "template.h"
#include "unsub_link.h"

static const struct pb_cli_opts render_opts = {
    .usage = "template render [--campaign NAME] [--subject TEXT] [--set NAME=VALUE]... "
             "TEMPLATE EMAIL",
    .help = "Prints the mail that the contact EMAIL would get from TEMPLATE (a file\n"
            "path with a '/', or a name in templates.dir, e.g. welcome-1.de): every\n"
            "header, the campaign header included, and the parts as they would be\n"
            "submitted. The placeholders are filled from the contact's attributes,\n"
            "its behaviour score decayed to now (rounded) and its grade.\n"
            "{{unsubscribe_url}} is the placeholder TRACKING_URL/u/- that\n"
            "postbeacon-milter replaces by each message's own unsubscribe link\n"
            "(a note on standard error says so).\n"
            "  --campaign NAME    the campaign header's value (default \"preview\"),\n"
            "                     e.g. WORKFLOW:STEP:VARIANT\n"
            "  --subject TEXT     a Subject in place of the template's, with its\n"
            "                     placeholders (a variant's subject)\n"
            "  --set NAME=VALUE   a value a sender gives (unsubscribe_url, segment,\n"
            "                     history, event:NAME) or an attribute overridden;\n"
            "                     may be repeated\n",
    .longopts = (const struct option[]){ { "campaign", required_argument, NULL, 'C' },
                                         { "subject", required_argument, NULL, 'U' },
                                         { "set", required_argument, NULL, 'S' },
                                         { NULL, 0, NULL, 0 } },
};

struct render {
    const char *campaign;
    const char *subject;        /* --subject, or NULL */
    GArray *set;                /* struct pb_tpl_value: --set, pointing into argv */
};

static struct pb_template *load(struct pb_cli *cli, const char *arg)
{
    struct pb_tpl_opts o = { 0 };
    char err[1024], *path;
    struct pb_template *t;

    if (pb_cli_conf(cli) != 0)
        return NULL;
    o.from = cli->conf.submit.from;
    o.reply_to = cli->conf.submit.reply_to;
    o.campaign_header = cli->conf.milter.campaign_header;
    o.tracking_url = cli->conf.tracking_url;
    path = pb_tpl_resolve(cli->conf.templates.dir, arg);
    t = pb_tpl_load(path, &o, err, sizeof(err));
    if (t == NULL)
        pb_cli_error("%s", err);
    g_free(path);
    return t;
}

/* values: the --set ones first (the renderer takes the first of a name),
 * then the hash's fields. */
static GArray *contact_values(const struct render *rd, const redisReply *hash)
{
    GArray *v = g_array_new(FALSE, FALSE, sizeof(struct pb_tpl_value));

    g_array_append_vals(v, rd->set->data, rd->set->len);
    for (size_t i = 0; i + 1 < hash->elements; i += 2) {
        struct pb_tpl_value f = { hash->element[i]->str, hash->element[i + 1]->str };
        g_array_append_val(v, f);
    }
    return v;
}

/* What a sender adds: --set, the decayed score and the grade. */
static GArray *extra_values(const struct render *rd, const redisReply *hash, char score[32])
{
    GArray *v = g_array_new(FALSE, FALSE, sizeof(struct pb_tpl_value));
    struct pb_tpl_value s = { "score", score }, g = { "grade", pb_cli_field(hash, "grade") };

    g_array_append_vals(v, rd->set->data, rd->set->len);
    g_array_append_val(v, s);
    if (g.value)
        g_array_append_val(v, g);
    return v;
}

/* The preview is not the mail as it arrives: its unsubscribe link is
 * made per message by the milter. */
static void note_placeholder(const struct pb_cli *cli)
{
    GString *url = g_string_new(NULL);

    pb_unsub_placeholder(cli->conf.tracking_url, url);
    fprintf(stderr, PB_CLI_NAME ": note: {{unsubscribe_url}} is the placeholder %s here; "
            "postbeacon-milter puts each message's own unsubscribe link in its place "
            "(--set unsubscribe_url=URL shows another)\n", url->str);
    g_string_free(url, TRUE);
}

static int print_message(struct pb_cli *cli, const struct render *rd,
                         const struct pb_template *t, const char *addr, const redisReply *hash)
{
    char score[32], err[1024];
    GArray *contact = contact_values(rd, hash), *extra;
    struct pb_tpl_subject *subject = NULL;
    struct pb_tpl_info info;
    GString *msg = g_string_new(NULL);
    int rc = PB_EXIT_OK;

    g_snprintf(score, sizeof(score), "%.0f", pb_cli_score_now(cli, hash));
    extra = extra_values(rd, hash, score);
    struct pb_tpl_input in = {
        .to = addr, .contact = (struct pb_tpl_value *)contact->data, .ncontact = contact->len,
        .extra = (struct pb_tpl_value *)extra->data, .nextra = extra->len,
        .campaign = rd->campaign,
    };
    if (rd->subject != NULL
        && (in.subject = subject = pb_tpl_subject_new(rd->subject, err, sizeof(err))) == NULL) {
        pb_cli_error("--subject: %s", err);
        rc = PB_EXIT_ERROR;
    } else if (pb_tpl_render(t, &in, msg, &info, err, sizeof(err)) != 0) {
        pb_cli_error("%s: %s", pb_tpl_path(t), err);
        rc = PB_EXIT_ERROR;
    } else if (fwrite(msg->str, 1, msg->len, stdout) != msg->len || fflush(stdout) != 0) {
        pb_cli_error("cannot write to standard output: %m");
        rc = PB_EXIT_ERROR;
    } else if (info.unsub_placeholder) {
        note_placeholder(cli);
    }
    pb_tpl_subject_free(subject);
    g_string_free(msg, TRUE);
    g_array_free(contact, TRUE);
    g_array_free(extra, TRUE);
    return rc;
}

static int render(struct pb_cli *cli, const struct render *rd, const char *tpl,
                  const char *email)
{
    char id[17], addr[PB_CEV_EMAIL_MAX + 1], *key, *sup;
    struct pb_template *t = load(cli, tpl);
    redisReply *hash = NULL, *suppressed = NULL;
    int rc = PB_EXIT_ERROR;

    if (t == NULL || pb_cli_find_contact(cli, email, id, addr) != 0)
        goto done;
    key = pb_cli_key(cli, PB_KEY_CONTACT, id);
    sup = pb_cli_key(cli, PB_KEY_SUPPRESSED, NULL);
    redisAppendCommand(cli->redis, "HGETALL %s", key);
    redisAppendCommand(cli->redis, "SISMEMBER %s %s", sup, id);
    hash = pb_cli_reply(cli, "reading the contact");
    suppressed = pb_cli_reply(cli, "reading the suppression list");
    g_free(key);
    g_free(sup);
    if (hash && suppressed) {
        rc = print_message(cli, rd, t, addr, hash);
        if (rc == PB_EXIT_OK && suppressed->integer)
            fprintf(stderr, PB_CLI_NAME ": note: %s is suppressed (unsubscribed): no sender "
                    "mails it\n", addr);
    }
done:
    if (hash)
        freeReplyObject(hash);
    if (suppressed)
        freeReplyObject(suppressed);
    if (t)
        pb_tpl_free(t);
    return rc;
}

/* NAME=VALUE of --set into rd->set (argv is changed: '=' ends NAME). */
static int add_set(const struct pb_cli_opts *o, struct render *rd, char *arg)
{
    char *eq = strchr(arg, '=');
    struct pb_tpl_value v;

    if (eq == NULL || eq == arg)
        return pb_cli_usage_error(o, "--set %s: write NAME=VALUE, e.g. event:cart_url=https://...",
                                  arg);
    *eq = '\0';
    v.name = arg;
    v.value = eq + 1;
    g_array_append_val(rd->set, v);
    return 0;
}

static int template_render(struct pb_cli *cli, int argc, char **argv)
{
    struct render rd = { .campaign = "preview",
                         .set = g_array_new(FALSE, FALSE, sizeof(struct pb_tpl_value)) };
    int help = 0, c, rc = -1;

    while (rc < 0 && (c = pb_cli_getopt(cli, &render_opts, argc, argv, &help)) != -1) {
        if (c == '?')
            rc = PB_EXIT_USAGE;
        else if (c == 'C')
            rd.campaign = optarg;
        else if (c == 'U')
            rd.subject = optarg;
        else if (add_set(&render_opts, &rd, optarg) != 0)
            rc = PB_EXIT_USAGE;
    }
    if (rc < 0 && help) {
        pb_cli_print_help(&render_opts, stdout);
        rc = PB_EXIT_OK;
    }
    if (rc < 0 && argc - optind != 2)
        rc = pb_cli_usage_error(&render_opts, "give a template and an address");
    if (rc < 0)
        rc = render(cli, &rd, argv[optind], argv[optind + 1]);
    g_array_free(rd.set, TRUE);
    return rc;
}

int pb_cmd_template(struct pb_cli *cli, int argc, char **argv)
{
    static const struct pb_cli_cmd cmds[] = {
        { "render", "the mail a contact would get from a template", template_render },
        { NULL, NULL, NULL },
    };
    return pb_cli_dispatch(cli, "template", cmds, argc, argv);
}
