/*
 * send_status.c - postbeacon send --status CAMPAIGN (the job's record,
 * <p>send:<campaign>, as a table of fields or --json / --csv, with the
 * addresses of the members recorded as uncertain) and --cancel CAMPAIGN
 * (nothing more is sent: a runner stops at its next member); and the
 * few lines that say what became of a send after a run.
 */
#include <stdlib.h>
#include <string.h>
#include "events.h"
#include "send.h"
#include "table.h"
#include "time_text.h"

/* The fields in the order people read them; the rest follow as Redis has them. */
static const char *const order[] = {
    "state", "template", "segment", "created_at", "due_at", "started_at", "members", "sent",
    "suppressed", "failed", "uncertain", "left", "finished_at", "rate", "variants",
    "test_share", "winner_by", "winner_after", "winner_at", "winner", "decided_at", "decision",
};

static int listed(const char *f)
{
    for (size_t i = 0; i < G_N_ELEMENTS(order); i++)
        if (strcmp(order[i], f) == 0)
            return 1;
    return 0;
}

static int by_name(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The fields not in order (but uncertain_ids, listed apart), sorted:
 * the variants' a, b, ... together. */
static GPtrArray *others(const redisReply *h)
{
    GPtrArray *rest = g_ptr_array_new();

    for (size_t i = 0; i + 1 < h->elements; i += 2)
        if (!listed(h->element[i]->str) && strcmp(h->element[i]->str, "uncertain_ids") != 0)
            g_ptr_array_add(rest, h->element[i]->str);
    g_ptr_array_sort(rest, by_name);
    return rest;
}

/* A time field shown with its date: "1796119200000 (2026-12-01 10:00:00Z)". */
static char *shown(const char *field, const char *value, enum pb_out_format fmt)
{
    char at[32];

    if (fmt != PB_OUT_TEXT || !g_str_has_suffix(field, "_at") || atoll(value) <= 0)
        return g_strdup(value);
    pb_time_text(atoll(value), at);
    return g_strdup_printf("%s (%s)", value, at);
}

static void add_row(struct pb_table *t, json_t *obj, const char *f, const char *v,
                    enum pb_out_format fmt)
{
    char *value = shown(f, v, fmt);
    const char *row[2] = { f, value };

    if (obj)
        json_object_set_new(obj, f, json_string(v));
    else
        pb_table_add(t, row);
    g_free(value);
}

/* Each uncertain member's id and address, as rows or into a JSON array. */
static void uncertain(struct pb_cli *cli, const char *ids, struct pb_table *t, json_t *arr)
{
    char **id = g_strsplit(ids ? ids : "", " ", -1);

    for (int i = 0; id[i]; i++) {
        if (!id[i][0])
            continue;
        redisReply *r = pb_cli_cmd(cli, "reading an uncertain member's address",
                                   "HGET %s%s%s email", cli->conf.redis.prefix, PB_KEY_CONTACT,
                                   id[i]);
        const char *email = r && r->type == REDIS_REPLY_STRING ? r->str : "";
        const char *row[2] = { id[i], email };
        if (arr)
            json_array_append_new(arr, json_pack("{s:s,s:s}", "contact", id[i], "email", email));
        else
            pb_table_add(t, row);
        if (r)
            freeReplyObject(r);
    }
    g_strfreev(id);
}

static void print_status(struct pb_cli *cli, const redisReply *h)
{
    static const char *const cols[2] = { "field", "value" };
    json_t *obj = cli->format == PB_OUT_JSON ? json_object() : NULL;
    struct pb_table *t = pb_table_new(2, cols), *u = pb_table_new(2, (const char *[]){
                                                                   "uncertain", "email" });
    GPtrArray *rest = others(h);
    const char *v;

    for (size_t i = 0; i < G_N_ELEMENTS(order); i++)
        if ((v = pb_cli_field(h, order[i])) != NULL)
            add_row(t, obj, order[i], v, cli->format);
    for (guint i = 0; i < rest->len; i++)
        add_row(t, obj, rest->pdata[i], pb_cli_field(h, rest->pdata[i]), cli->format);
    g_ptr_array_free(rest, TRUE);
    if (obj) {
        json_t *arr = json_array();
        uncertain(cli, pb_cli_field(h, "uncertain_ids"), NULL, arr);
        json_object_set_new(obj, "uncertain_contacts", arr);
        pb_json_print(obj, stdout);
    } else {
        pb_table_print(t, cli->format, stdout);
        uncertain(cli, pb_cli_field(h, "uncertain_ids"), u, NULL);
        if (cli->format == PB_OUT_TEXT && pb_cli_field(h, "uncertain_ids")) {
            printf("\nuncertain: being submitted when a send stopped; not resent (check the "
                   "mail log)\n");
            pb_table_print(u, cli->format, stdout);
        }
    }
    pb_table_free(t);
    pb_table_free(u);
}

int pb_send_status(struct pb_cli *cli, const char *campaign)
{
    char *key;
    redisReply *r;
    int rc = PB_EXIT_ERROR;

    if (pb_cli_redis(cli) == NULL)
        return PB_EXIT_ERROR;
    key = pb_cli_key(cli, PB_KEY_SEND, campaign);
    r = pb_cli_cmd(cli, "reading the campaign send", "HGETALL %s", key);
    g_free(key);
    if (r != NULL && r->elements == 0)
        pb_cli_error("no campaign send \"%s\"", campaign);
    else if (r != NULL) {
        print_status(cli, r);
        rc = PB_EXIT_OK;
    }
    if (r != NULL)
        freeReplyObject(r);
    return rc;
}

int pb_send_cancel(struct pb_cli *cli, const char *campaign)
{
    char state[16] = "", why[256];
    int rc;

    if (pb_cli_redis(cli) == NULL)
        return PB_EXIT_ERROR;
    rc = pb_csend_cancel(cli->redis, cli->conf.redis.prefix, campaign, pb_event_now_ms(), state,
                         why, sizeof(why));
    if (rc < 0)
        pb_cli_error("%s", why);
    else if (rc == 0)
        pb_cli_error("campaign %s is %s: nothing to cancel", campaign, state);
    else
        printf("campaign %s cancelled: nothing more is sent (a send running now stops after "
               "the message in hand)\n", campaign);
    return rc == 1 ? PB_EXIT_OK : PB_EXIT_ERROR;
}

void pb_send_summary(struct pb_cli *cli, const char *campaign, const struct pb_csend_job *job)
{
    printf("campaign %s (%s): %lld sent, %lld suppressed, %lld failed, %lld uncertain of %lld "
           "members", campaign, job->state, job->sent, job->suppressed, job->failed,
           job->uncertain, job->members);
    if (job->left > 0)
        printf("; %lld left the segment before their turn", job->left);
    putchar('\n');
    if (job->spec.nvariants > 0) {
        printf("test mails:");
        for (int i = 0; i < job->spec.nvariants; i++)
            printf(" %s %lld%s", job->spec.var[i].letter, job->var_sent[i],
                   i + 1 < job->spec.nvariants ? "," : "\n");
    }
    if (job->decision)
        printf("winner: %s\n", job->decision);
    if (job->uncertain_ids) {
        struct pb_table *u = pb_table_new(2, (const char *[]){ "uncertain", "email" });
        printf("uncertain: being submitted when a send stopped; not resent (check the mail "
               "log)\n");
        uncertain(cli, job->uncertain_ids, u, NULL);
        pb_table_print(u, PB_OUT_TEXT, stdout);
        pb_table_free(u);
    }
}
