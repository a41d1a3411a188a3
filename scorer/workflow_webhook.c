/*
 * workflow_webhook.c - a claimed webhook step (workflow_run.h): the
 * contact as one JSON document (jansson), POSTed and signed by
 * lib/webhook.c with the step's secret from the key file. The document's
 * "id" is the step's identity <contact>|<workflow>|<step> (also the
 * X-Postbeacon-Id header), the same on every attempt, so a receiver that
 * got an attempt whose answer was lost drops the retry. Claimed, settled
 * and never re-posted after a crash exactly like a send step
 * (workflow_run.c); docs/scorer.md ("Webhook steps") has the fields.
 */
#include "config.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "keys.h"
#include "score.h"
#include "webhook.h"
#include "workflow_run.h"

/* The contact fields that go into the document as they are stored. */
static const char *const profile[] = {
    "email", "first_name", "last_name", "birthday", "city", "country", "language", "timezone",
    NULL
};

/* unix ms as RFC 3339 UTC, e.g. "2027-01-15T08:00:00.000Z". */
static json_t *iso_time(long long ms)
{
    GDateTime *t = g_date_time_new_from_unix_utc(ms / 1000);
    char *s = g_date_time_format(t, "%Y-%m-%dT%H:%M:%S");
    json_t *v = json_sprintf("%s.%03dZ", s, (int)(ms % 1000));

    g_free(s);
    g_date_time_unref(t);
    return v;
}

static json_t *number_or_null(const char *s)
{
    char *end;
    double d;

    if (s == NULL || *s == '\0')
        return json_null();
    d = g_ascii_strtod(s, &end);
    return *end == '\0' ? json_real(d) : json_string(s);
}

static json_t *tag_list(const char *tags)
{
    json_t *a = json_array();
    char **l = g_strsplit(tags, ",", -1);

    for (char **t = l; *t; t++)
        if (*g_strstrip(*t))
            json_array_append_new(a, json_string(*t));
    g_strfreev(l);
    return a;
}

/* One field of the contact hash into c (profile, tags, attr:, seg:, times). */
static void contact_field(json_t *c, json_t *attrs, json_t *segs, const char *name,
                          const char *value)
{
    if (g_strv_contains(profile, name))
        json_object_set_new(c, name, json_string(value));
    else if (strcmp(name, "tags") == 0)
        json_object_set_new(c, "tags", tag_list(value));
    else if (g_str_has_prefix(name, "attr:"))
        json_object_set_new(attrs, name + 5, json_string(value));
    else if (g_str_has_prefix(name, "seg:"))
        json_object_set_new(segs, name + 4, iso_time(g_ascii_strtoll(value, NULL, 10)));
    else if (strcmp(name, "created_at") == 0 || strcmp(name, "first_seen") == 0
             || strcmp(name, "last_sent") == 0)
        json_object_set_new(c, name, iso_time(g_ascii_strtoll(value, NULL, 10) * 1000));
}

static json_t *contact(const struct pb_wf_item *it)
{
    json_t *c = json_pack("{s:s}", "id", it->cid), *attrs = json_object(), *segs = json_object();

    for (unsigned i = 0; i + 1 < it->hash->len; i += 2)
        contact_field(c, attrs, segs, it->hash->pdata[i], it->hash->pdata[i + 1]);
    json_object_set_new(c, "attributes", attrs);
    json_object_set_new(c, "segments", segs);
    return c;
}

/* What started the workflow, as configured, and when it started. */
static json_t *trigger(const struct pb_wf_item *it)
{
    const struct pb_workflow *wf = it->wf;
    char field[96];
    const char *started;
    json_t *t;

    if (wf->trigger == PB_WF_ENTER || wf->trigger == PB_WF_LEAVE)
        t = json_pack("{s:s,s:s}", "segment", wf->segment_name, "on",
                      wf->trigger == PB_WF_ENTER ? "enter" : "leave");
    else if (wf->trigger == PB_WF_SIGNUP)
        t = json_pack("{s:b}", "signup", 1);
    else {
        t = json_pack("{s:s}", "event", wf->event);
        if (wf->campaign)
            json_object_set_new(t, "campaign", json_string(wf->campaign));
        if (wf->url)
            json_object_set_new(t, "url", json_string(wf->url));
    }
    snprintf(field, sizeof(field), "wf:%s", wf->name);
    started = pb_wf_item_field(it, field);
    json_object_set_new(t, "started_at", started ? iso_time(g_ascii_strtoll(started, NULL, 10))
                                                 : json_null());
    return t;
}

/* The score history's lines "<ts ms> <rule> <points> <score after> <event id>". */
static json_t *history(struct pb_scorer *s, const char *cid)
{
    redisReply *r = pb_wf_history(s, cid);
    json_t *a = json_array();

    for (size_t i = 0; r != NULL && i < r->elements; i++) {
        char **f = g_strsplit(r->element[i]->str, " ", 5);
        if (g_strv_length(f) == 5)
            json_array_append_new(a, json_pack("{s:o,s:s,s:o,s:o,s:s}", "at",
                                               iso_time(g_ascii_strtoll(f[0], NULL, 10)),
                                               "rule", f[1], "points", number_or_null(f[2]),
                                               "score", number_or_null(f[3]), "event", f[4]));
        g_strfreev(f);
    }
    if (r != NULL)
        freeReplyObject(r);
    return a;
}

char *pb_wf_webhook_body(struct pb_scorer *s, const struct pb_wf_item *it)
{
    const char *score = pb_wf_item_field(it, "score"), *at = pb_wf_item_field(it, "score_at");
    const char *grade = pb_wf_item_field(it, "grade");
    long long now = s->now_ms();
    double shown = pb_score_at(score ? g_ascii_strtod(score, NULL) : 0,
                               at ? g_ascii_strtoll(at, NULL, 10) : now, now,
                               s->set.half_life_ms);
    json_t *doc = json_pack("{s:s,s:s,s:s,s:o,s:o,s:f,s:o,s:o,s:o,s:o}",
                            "id", it->member, "workflow", it->wfname, "step", it->stepname,
                            "time", iso_time(now), "contact", contact(it),
                            "score", round(shown * 100) / 100,
                            "fit", number_or_null(pb_wf_item_field(it, "fit")),
                            "grade", grade ? json_string(grade) : json_null(),
                            "trigger", trigger(it), "history", history(s, it->cid));
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;

    json_decref(doc);
    return text;
}

enum pb_submit_status pb_wf_webhook_deliver(struct pb_scorer *s, struct pb_wf_item *it,
                                            int attempt, long long *retry_after_ms)
{
    const struct pb_wf_webhook *h = it->step->webhook;
    const struct pb_key *key = s->ring ? pb_keys_webhook(s->ring, h->secret) : NULL;
    struct pb_webhook_res res;
    enum pb_submit_status st;
    char *body;

    *retry_after_ms = 0;
    if (key == NULL) {
        snprintf(it->reason, sizeof(it->reason), "no \"webhook %s\" secret in the key file",
                 h->secret);
        return PB_SUBMIT_PERMANENT;
    }
    if ((body = pb_wf_webhook_body(s, it)) == NULL) {
        snprintf(it->reason, sizeof(it->reason), "the contact's fields are not UTF-8: no JSON "
                 "body");
        return PB_SUBMIT_PERMANENT;
    }
    {
        struct pb_webhook_req req = {
            .url = h->url, .key = key, .id = it->member, .attempt = attempt, .body = body,
            .len = strlen(body), .timestamp = s->now_ms() / 1000,
            .timeout_ms = h->timeout_s * 1000, .user_agent = "postbeacon/" PACKAGE_VERSION,
        };
        st = pb_webhook_post(&req, &res);
    }
    free(body);
    if (res.retry_after_s > 0)
        *retry_after_ms = res.retry_after_s * 1000;
    snprintf(it->reason, sizeof(it->reason), "webhook %.250s (try %d)", res.why, attempt);
    return st;
}
