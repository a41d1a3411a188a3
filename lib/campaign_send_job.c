/*
 * campaign_send_job.c - the record of a campaign send, <p>send:<campaign>
 * (campaign_send.h; fields in docs/redis-schema.md, "Campaign sends"):
 * what a job sends written as its fields when it is created, read back
 * by whoever runs it or shows it, and cancelled. The one place the
 * field names are spelled, besides the script (campaign_send_lua.c).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "campaign_send_int.h"

#define NAME_CHARS "abcdefghijklmnopqrstuvwxyz0123456789_-"

int pb_csend_name_check(const char *name, char *why, size_t whylen)
{
    size_t n = strspn(name, NAME_CHARS);

    if (n == 0 || name[n] != '\0' || n > PB_CSEND_NAME_MAX) {
        snprintf(why, whylen, "campaign \"%s\": a name of 1..%d characters a-z, 0-9, _ and - "
                 "(e.g. spring-sale)", name, PB_CSEND_NAME_MAX);
        return -1;
    }
    return 0;
}

void pb_csend_share_text(unsigned bp, char out[16])
{
    if (bp % 100 == 0)
        snprintf(out, 16, "%u", bp / 100);
    else if (bp % 10 == 0)
        snprintf(out, 16, "%u.%u", bp / 100, bp % 100 / 10);
    else
        snprintf(out, 16, "%u.%02u", bp / 100, bp % 100);
}

void pb_csend_spec_free(struct pb_csend_spec *spec)
{
    g_free(spec->template);
    g_free(spec->segment);
    for (int i = 0; i < PB_CSEND_VARIANTS; i++) {
        g_free(spec->var[i].subject);
        g_free(spec->var[i].template);
    }
    memset(spec, 0, sizeof(*spec));
}

static int same_str(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

int pb_csend_spec_same(const struct pb_csend_spec *a, const struct pb_csend_spec *b)
{
    if (!same_str(a->template, b->template) || !same_str(a->segment, b->segment)
        || a->nvariants != b->nvariants)
        return 0;
    if (a->nvariants == 0)
        return 1;
    for (int i = 0; i < a->nvariants; i++)
        if (!same_str(a->var[i].subject, b->var[i].subject)
            || !same_str(a->var[i].template, b->var[i].template))
            return 0;
    return a->test_share_bp == b->test_share_bp && a->winner_by_opens == b->winner_by_opens
        && a->winner_after_ms == b->winner_after_ms;
}

void pb_csend_job_free(struct pb_csend_job *job)
{
    pb_csend_spec_free(&job->spec);
    g_free(job->decision);
    g_free(job->uncertain_ids);
    g_free(job->cursor);
    g_free(job->runner);
    memset(job, 0, sizeof(*job));
}

/* ---- creating ---------------------------------------------------------------- */

static void add(GPtrArray *a, const char *field, const char *value)
{
    g_ptr_array_add(a, g_strdup(field));
    g_ptr_array_add(a, g_strdup(value));
}

static void add_ll(GPtrArray *a, const char *field, long long v)
{
    g_ptr_array_add(a, g_strdup(field));
    g_ptr_array_add(a, g_strdup_printf("%lld", v));
}

static void variant_fields(GPtrArray *a, const char *campaign, const struct pb_csend_spec *s)
{
    GString *letters = g_string_new(NULL);
    char share[16], f[64];

    for (int i = 0; i < s->nvariants; i++) {
        const struct pb_csend_variant *v = &s->var[i];
        char *name = g_strdup_printf("%s:%s", campaign, v->letter);
        g_string_append_printf(letters, "%s%s", i ? "," : "", v->letter);
        if (v->subject) {
            snprintf(f, sizeof(f), "variant:%s:subject", v->letter);
            add(a, f, v->subject);
        }
        if (v->template) {
            snprintf(f, sizeof(f), "variant:%s:template", v->letter);
            add(a, f, v->template);
        }
        snprintf(f, sizeof(f), "variant:%s:campaign", v->letter);
        add(a, f, name);
        snprintf(f, sizeof(f), "variant:%s:sent", v->letter);
        add(a, f, "0");
        g_free(name);
    }
    add(a, "variants", letters->str);
    pb_csend_share_text(s->test_share_bp, share);
    add(a, "test_share", share);
    add(a, "winner_by", s->winner_by_opens ? "opens" : "clicks");
    add_ll(a, "winner_after", s->winner_after_ms);
    g_string_free(letters, TRUE);
}

int pb_csend_create(redisContext *c, const char *prefix, const char *campaign,
                    const struct pb_csend_spec *spec, long long now_ms, char *why, size_t whylen)
{
    static const char *const zero[] = { "members", "sent", "suppressed", "failed", "uncertain" };
    GPtrArray *a = g_ptr_array_new_with_free_func(g_free);
    long long due = spec->due_at > now_ms ? spec->due_at : now_ms;
    char *job = pb_csend_key(prefix, PB_KEY_SEND, campaign);
    char *sends = pb_csend_key(prefix, PB_KEY_SENDS, NULL);
    const char *keys[2] = { job, sends };
    redisReply *r;
    int rc = -1;

    g_ptr_array_add(a, g_strdup(campaign));
    g_ptr_array_add(a, g_strdup_printf("%lld", due));
    g_ptr_array_add(a, NULL);   /* the number of fields, when known */
    add(a, "template", spec->template);
    add(a, "segment", spec->segment);
    add(a, "state", "scheduled");
    add_ll(a, "created_at", now_ms);
    add_ll(a, "due_at", due);
    add_ll(a, "rate", spec->rate);
    for (size_t i = 0; i < G_N_ELEMENTS(zero); i++)
        add(a, zero[i], "0");
    if (spec->nvariants > 0)
        variant_fields(a, campaign, spec);
    a->pdata[2] = g_strdup_printf("%u", (a->len - 3) / 2);
    r = pb_csend_script(c, "create", now_ms, 2, keys, (int)a->len,
                        (const char *const *)a->pdata, why, whylen);
    if (r != NULL) {
        rc = (int)pb_csend_reply_ll(r);
        freeReplyObject(r);
    }
    g_ptr_array_free(a, TRUE);
    g_free(job);
    g_free(sends);
    return rc;
}

int pb_csend_cancel(redisContext *c, const char *prefix, const char *campaign,
                    long long now_ms, char state[16], char *why, size_t whylen)
{
    char *job = pb_csend_key(prefix, PB_KEY_SEND, campaign);
    char *sends = pb_csend_key(prefix, PB_KEY_SENDS, NULL);
    const char *keys[2] = { job, sends }, *args[1] = { campaign };
    redisReply *r = pb_csend_script(c, "cancel", now_ms, 2, keys, 1, args, why, whylen);
    int rc = -1;

    if (r != NULL && r->type == REDIS_REPLY_STRING) {
        snprintf(state, 16, "%s", r->str);
        if (strcmp(r->str, "ok") == 0)
            rc = 1;
        else if (strcmp(r->str, "none") == 0)
            snprintf(why, whylen, "no campaign send \"%s\"", campaign);
        else
            rc = 0;
    }
    if (r != NULL)
        freeReplyObject(r);
    g_free(job);
    g_free(sends);
    return rc;
}

/* ---- reading ------------------------------------------------------------------ */

static long long ll(const char *s)
{
    return g_ascii_strtoll(s, NULL, 10);
}

static int letters(struct pb_csend_spec *s, const char *list)
{
    char **p = g_strsplit(list, ",", PB_CSEND_VARIANTS + 1);
    int n = (int)g_strv_length(p), rc = n >= 2 && n <= PB_CSEND_VARIANTS ? 0 : -1;

    for (int i = 0; rc == 0 && i < n; i++) {
        if (strlen(p[i]) != 1 || p[i][0] != 'a' + i)
            rc = -1;
        else
            s->var[i].letter[0] = p[i][0];
    }
    s->nvariants = rc == 0 ? n : 0;
    g_strfreev(p);
    return rc;
}

/* "variant:<v>:<what>": the variant's index, -1 if not such a field. */
static int variant_field(const char *f, const char **what)
{
    if (strncmp(f, "variant:", 8) != 0 || f[8] < 'a' || f[8] > 'z' || f[9] != ':')
        return -1;
    *what = f + 10;
    return f[8] - 'a';
}

static void variant_value(struct pb_csend_job *job, int i, const char *what, const char *v)
{
    if (strcmp(what, "subject") == 0)
        job->spec.var[i].subject = g_strdup(v);
    else if (strcmp(what, "template") == 0)
        job->spec.var[i].template = g_strdup(v);
    else if (strcmp(what, "sent") == 0)
        job->var_sent[i] = ll(v);
}

static void one_field(struct pb_csend_job *job, const char *f, const char *v)
{
    struct { const char *name; long long *to; } nums[] = {
        { "created_at", &job->created_at }, { "started_at", &job->started_at },
        { "winner_at", &job->winner_at }, { "decided_at", &job->decided_at },
        { "finished_at", &job->finished_at }, { "members", &job->members },
        { "sent", &job->sent }, { "suppressed", &job->suppressed }, { "failed", &job->failed },
        { "uncertain", &job->uncertain }, { "left", &job->left },
        { "due_at", &job->spec.due_at }, { "winner_after", &job->spec.winner_after_ms },
    };
    const char *what;
    int i;

    for (size_t k = 0; k < G_N_ELEMENTS(nums); k++)
        if (strcmp(f, nums[k].name) == 0) {
            *nums[k].to = ll(v);
            return;
        }
    if ((i = variant_field(f, &what)) >= 0)
        variant_value(job, i, what, v);
    else if (strcmp(f, "template") == 0)
        job->spec.template = g_strdup(v);
    else if (strcmp(f, "segment") == 0)
        job->spec.segment = g_strdup(v);
    else if (strcmp(f, "state") == 0)
        snprintf(job->state, sizeof(job->state), "%s", v);
    else if (strcmp(f, "rate") == 0)
        job->spec.rate = (long)ll(v);
    else if (strcmp(f, "test_share") == 0)
        job->spec.test_share_bp = (unsigned)(g_ascii_strtod(v, NULL) * 100 + 0.5);
    else if (strcmp(f, "winner_by") == 0)
        job->spec.winner_by_opens = strcmp(v, "opens") == 0;
    else if (strcmp(f, "winner") == 0 && v[0] >= 'a' && v[0] <= 'z')
        job->winner = v[0] - 'a';
    else if (strcmp(f, "decision") == 0)
        job->decision = g_strdup(v);
    else if (strcmp(f, "uncertain_ids") == 0)
        job->uncertain_ids = g_strdup(v);
    else if (strcmp(f, "cursor") == 0)
        job->cursor = g_strdup(v);
    else if (strcmp(f, "runner") == 0)
        job->runner = g_strdup(v);
}

int pb_csend_job_parse(const redisReply *hash, struct pb_csend_job *job, char *why,
                       size_t whylen)
{
    const char *list = NULL;

    memset(job, 0, sizeof(*job));
    job->winner = -1;
    for (size_t i = 0; i + 1 < hash->elements; i += 2) {
        const char *f = hash->element[i]->str, *v = hash->element[i + 1]->str;
        if (f == NULL || v == NULL)
            continue;
        if (strcmp(f, "variants") == 0)
            list = v;
        one_field(job, f, v);
    }
    if (job->spec.template == NULL || job->spec.segment == NULL || job->state[0] == '\0'
        || (list != NULL && letters(&job->spec, list) != 0)
        || job->winner >= job->spec.nvariants) {
        snprintf(why, whylen, "not a campaign send record (template, segment, state or "
                 "variants missing or wrong)");
        pb_csend_job_free(job);
        return -1;
    }
    return 0;
}

int pb_csend_job_read(redisContext *c, const char *prefix, const char *campaign,
                      struct pb_csend_job *job, char *why, size_t whylen)
{
    redisReply *r = redisCommand(c, "HGETALL %s%s%s", prefix, PB_KEY_SEND, campaign);
    int rc = -1;

    if (r == NULL)
        snprintf(why, whylen, "Redis: %s", c->errstr[0] ? c->errstr : "connection lost");
    else if (r->type != REDIS_REPLY_ARRAY)
        snprintf(why, whylen, "Redis: %s", r->type == REDIS_REPLY_ERROR ? r->str
                 : "unexpected reply to HGETALL");
    else if (r->elements == 0)
        rc = 0;
    else if (pb_csend_job_parse(r, job, why, whylen) == 0)
        rc = 1;
    if (r != NULL)
        freeReplyObject(r);
    return rc;
}

int pb_csend_runner_dead(const char *runner)
{
    char host[256], *end;
    const char *name, *pid_text;
    size_t n;
    long pid;

    if (runner == NULL || strncmp(runner, "cli ", 4) != 0 || gethostname(host, sizeof(host)) != 0)
        return 0;
    host[sizeof(host) - 1] = '\0';
    name = runner + 4;
    pid_text = strrchr(name, ' ');
    n = strlen(host);
    if (pid_text == NULL || (size_t)(pid_text - name) != n || strncmp(name, host, n) != 0)
        return 0;
    pid = strtol(pid_text + 1, &end, 10);
    if (*end != '\0' || pid <= 0 || pid == (long)getpid())
        return 0;
    return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}
