/*
 * send_dry.c - postbeacon send ... --dry-run: what the send would do,
 * without writing anything: the members (of the segment now, or the
 * job's count when it has started), how many are suppressed (in
 * <p>suppressed or without an address), sent before (a mark in
 * <p>send:<c>:to), to send, and per A/B variant; and the message the
 * first member to send would get, rendered as the send renders it. The
 * segment is walked with ZSCAN as the send walks it, 1000 members a
 * round trip, each page's marks, suppression and addresses pipelined.
 */
#include <stdlib.h>
#include <string.h>
#include "events.h"
#include "send.h"
#include "table.h"
#include "time_text.h"

#define PAGE 1000

struct dry {
    struct pb_cli *cli;
    const char *campaign;
    const struct pb_csend_spec *spec;
    const struct pb_csend_job *job;     /* NULL: a new campaign */
    struct pb_csend_plan plan;
    long long cutoff;                   /* members entered by then */
    long long members, suppressed, sent_before, failed_before, to_send, remainder;
    long long var[PB_CSEND_VARIANTS];
    char *sample;                       /* the first member to send */
    int sample_v, sample_test;
};

/* Which variant a member to send gets now: *test 1 for a test mail. */
static int variant_of(const struct dry *d, const char *id, int *test)
{
    const char *st = d->job ? d->job->state : "scheduled";
    int v = -1;

    *test = 0;
    if (d->spec->nvariants == 0)
        return -1;
    if (strcmp(st, "scheduled") == 0 || strcmp(st, "testing") == 0)
        v = pb_csend_plan_variant(&d->plan, id);
    if (v >= 0) {
        *test = 1;
        return v;
    }
    return d->job && d->job->winner >= 0 ? d->job->winner : 0;
}

static void count(struct dry *d, const char *id, const redisReply *mark, const redisReply *sup,
                  const redisReply *email)
{
    const char *m = mark && mark->type == REDIS_REPLY_STRING ? mark->str : NULL;
    int test, v;

    if (m && (g_str_has_prefix(m, "sent ") || g_str_has_prefix(m, "claimed ")
              || g_str_has_prefix(m, "uncertain ")))
        d->sent_before++;
    else if (m && g_str_has_prefix(m, "failed "))
        d->failed_before++;
    else if (m || (sup && sup->integer == 1) || email == NULL
             || email->type != REDIS_REPLY_STRING || !email->str[0])
        d->suppressed++;
    else {
        d->to_send++;
        v = variant_of(d, id, &test);
        if (test)
            d->var[v]++;
        else if (d->spec->nvariants)
            d->remainder++;
        if (d->sample == NULL) {
            d->sample = g_strdup(id);
            d->sample_v = v;
            d->sample_test = test;
        }
    }
}

/* One page's members (id, score pairs): 0, or -1 (reported). */
static int page(struct dry *d, const redisReply *pairs)
{
    const char *p = d->cli->conf.redis.prefix;
    GPtrArray *ids = g_ptr_array_new();
    int rc = 0;

    for (size_t i = 0; i + 1 < pairs->elements; i += 2)
        if (strtod(pairs->element[i + 1]->str, NULL) <= (double)d->cutoff)
            g_ptr_array_add(ids, pairs->element[i]->str);
    for (guint i = 0; i < ids->len; i++) {
        redisAppendCommand(d->cli->redis, "HGET %s%s%s:to %s", p, PB_KEY_SEND, d->campaign,
                           (char *)ids->pdata[i]);
        redisAppendCommand(d->cli->redis, "SISMEMBER %s%s %s", p, PB_KEY_SUPPRESSED,
                           (char *)ids->pdata[i]);
        redisAppendCommand(d->cli->redis, "HGET %s%s%s email", p, PB_KEY_CONTACT,
                           (char *)ids->pdata[i]);
    }
    for (guint i = 0; i < ids->len; i++) {
        redisReply *m = pb_cli_reply(d->cli, "reading the campaign's marks");
        redisReply *s = pb_cli_reply(d->cli, "reading the suppression list");
        redisReply *e = pb_cli_reply(d->cli, "reading the members' addresses");
        if (m && s && e)
            count(d, ids->pdata[i], m, s, e);
        else
            rc = -1;
        d->members++;
        if (m) freeReplyObject(m);
        if (s) freeReplyObject(s);
        if (e) freeReplyObject(e);
    }
    g_ptr_array_free(ids, TRUE);
    return rc;
}

static int scan(struct dry *d)
{
    char cursor[32] = "0", *key = pb_cli_key(d->cli, PB_KEY_SEGMENT, d->spec->segment);
    int rc = 0;

    do {
        redisReply *r = pb_cli_cmd(d->cli, "reading the segment", "ZSCAN %s %s COUNT %d", key,
                                   cursor, PAGE);
        if (r == NULL || r->elements != 2) {
            rc = -1;
            if (r) freeReplyObject(r);
            break;
        }
        g_strlcpy(cursor, r->element[0]->str, sizeof(cursor));
        rc = page(d, r->element[1]);
        freeReplyObject(r);
    } while (rc == 0 && strcmp(cursor, "0") != 0);
    g_free(key);
    return rc;
}

/* ---- printing ----------------------------------------------------------------------- */

static void row(struct pb_table *t, const char *what, long long n, const char *note)
{
    char num[24];
    const char *cells[3] = { what, num, note };

    g_snprintf(num, sizeof(num), "%lld", n);
    pb_table_add(t, cells);
}

static struct pb_table *counts(const struct dry *d)
{
    static const char *const cols[3] = { "what", "contacts", "note" };
    struct pb_table *t = pb_table_new(3, cols);
    char at[32], *note;

    pb_time_text(d->cutoff, at);
    note = g_strdup_printf("in segment %s by %s", d->spec->segment, at);
    row(t, "members", d->job && d->job->started_at ? d->job->members : d->members, note);
    g_free(note);
    row(t, "suppressed", d->suppressed, "unsubscribed or without an address: never sent");
    row(t, "already sent", d->sent_before, d->job ? "sent (or uncertain) before" : "");
    if (d->failed_before)
        row(t, "failed before", d->failed_before, "not tried again");
    row(t, "to send", d->to_send, "");
    for (int i = 0; i < d->spec->nvariants; i++) {
        const struct pb_csend_variant *v = &d->spec->var[i];
        note = g_strdup_printf("campaign %s:%s, %s %s", d->campaign, v->letter,
                               v->subject ? "subject" : "template",
                               v->subject ? v->subject : v->template);
        char what[16];
        g_snprintf(what, sizeof(what), "variant %s", v->letter);
        row(t, what, d->var[i], note);
        g_free(note);
    }
    if (d->spec->nvariants) {
        note = d->job && d->job->winner >= 0
            ? g_strdup_printf("variant %s won; campaign %s",
                              d->spec->var[d->job->winner].letter, d->campaign)
            : g_strdup_printf("the winner, after the test; campaign %s", d->campaign);
        row(t, "remainder", d->remainder, note);
        g_free(note);
    }
    return t;
}

/* The sample message, or NULL (nobody to send, or reported). */
static GString *sample(struct dry *d, const char **to)
{
    char *key = pb_cli_key(d->cli, PB_KEY_CONTACT, d->sample);
    redisReply *h = pb_cli_cmd(d->cli, "reading the sample member", "HGETALL %s", key);
    GString *msg = g_string_new(NULL);
    char err[1024];

    g_free(key);
    if (h == NULL || pb_csend_plan_render(&d->plan, d->sample_v, d->sample_test, h,
                                          pb_event_now_ms(), msg, to, err, sizeof(err)) != 0) {
        if (h)
            pb_cli_error("%s", err);
        g_string_free(msg, TRUE);
        msg = NULL;
    }
    if (h) {
        *to = *to ? g_intern_string(*to) : NULL;
        freeReplyObject(h);
    }
    return msg;
}

static int print(struct dry *d)
{
    struct pb_table *t = counts(d);
    const char *to = NULL;
    GString *msg = d->sample ? sample(d, &to) : NULL;
    char v[24] = "";

    if (d->sample_v >= 0 && d->spec->nvariants)
        g_snprintf(v, sizeof(v), ", variant %s", d->spec->var[d->sample_v].letter);
    if (d->cli->format == PB_OUT_JSON) {
        json_t *o = json_pack("{s:s,s:b,s:o}", "campaign", d->campaign, "dry_run", 1, "counts",
                              pb_table_json(t));
        if (msg)
            json_object_set_new(o, "sample", json_pack("{s:s,s:s}", "to", to, "message",
                                                       msg->str));
        pb_json_print(o, stdout);
    } else {
        pb_table_print(t, d->cli->format, stdout);
        if (d->cli->format == PB_OUT_TEXT && msg)
            printf("\nsample, the message to %s (%s%s), nothing sent:\n%s", to,
                   d->sample_test ? "test mail" : "campaign", v, msg->str);
        else if (d->cli->format == PB_OUT_TEXT)
            printf("\nnobody to send to: no sample\n");
    }
    pb_table_free(t);
    if (msg)
        g_string_free(msg, TRUE);
    return d->sample && msg == NULL ? -1 : 0;
}

int pb_send_dry(struct pb_cli *cli, struct pb_send_args *a)
{
    struct pb_csend_job job;
    struct dry d = { .cli = cli, .campaign = a->campaign, .sample_v = -1 };
    char err[1024];
    int rc = PB_EXIT_ERROR, found;

    if (pb_cli_conf(cli) != 0 || pb_cli_redis(cli) == NULL)
        return PB_EXIT_ERROR;
    /* a command line's plan is the job's too when it exists (the same send) */
    if (a->template && pb_send_check_new(cli, a, &d.plan) != 0)
        return PB_EXIT_ERROR;
    if ((found = pb_send_existing(cli, a, &job)) < 0) {
        if (a->template)
            pb_csend_plan_free(&d.plan);
        return PB_EXIT_ERROR;
    }
    d.job = found ? &job : NULL;
    d.spec = found ? &job.spec : &a->spec;
    d.cutoff = found && job.started_at ? job.started_at : pb_event_now_ms();
    if (!a->template && pb_csend_plan_load(&d.plan, &cli->conf, a->campaign, d.spec, err,
                                           sizeof(err)) != 0)
        pb_cli_error("%s", err);
    else {
        if (scan(&d) == 0 && print(&d) == 0)
            rc = PB_EXIT_OK;
        pb_csend_plan_free(&d.plan);
    }
    g_free(d.sample);
    if (found)
        pb_csend_job_free(&job);
    return rc;
}
