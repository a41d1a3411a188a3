/*
 * event_route.c - POST /e: custom events from a shop or website
 * (docs/custom-events.md). The request's signature is checked first
 * (lib/custom_sig.c: a timestamp within tracker.events_window and an
 * HMAC of timestamp and body with an "events" secret of the key file),
 * then that it was not accepted before (replay.c), then the body
 * (lib/custom_event_json.c, all events of a batch or none); the events go
 * to the store as records of the same batches as clicks (store.h), so an
 * answered event is in the journal before its 202 leaves and is written
 * to Redis exactly once.
 *
 * Answers are JSON: 202 {"accepted": n, "ids": [...]}; 400 {"error":
 * "invalid", "field": ..., "message": ...}; 401 {"error": "unauthorized",
 * "message": ...}; 405, 413 and 503 likewise. Every refusal is counted by
 * reason in the metrics and logged (rate-limited) with the client.
 */
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "custom_event.h"
#include "log.h"
#include "replay.h"
#include "routes.h"

#define RETRY_AFTER "5"         /* seconds, with a 503 */

/* Send obj (taken) as the JSON answer. */
static void reply_json(struct pb_request *r, int status, json_t *obj)
{
    char *text = json_dumps(obj, JSON_COMPACT);

    pb_reply_header(r, "Cache-Control", "no-store");
    pb_reply(r, status, "application/json", text ? text : "{}", text ? strlen(text) : 2);
    free(text);
    json_decref(obj);
}

static void refuse(struct pb_request *r, int status, enum pb_cev_refusal why,
                   const char *error, const char *field, const char *message)
{
    static struct pb_log_limit limit;
    json_t *obj = json_pack("{s:s}", "error", error);

    if (field != NULL)
        json_object_set_new(obj, "field", json_string(field));
    json_object_set_new(obj, "message", json_string(message));
    pb_metrics_custom_refused(why);
    pb_log_limited(&limit, 20, LOG_NOTICE, "custom event refused (%d) from %s: %s%s%s",
                   status, r->client_text, field ? field : "", field ? ": " : "", message);
    reply_json(r, status, obj);
}

void pb_event_reply_error(struct pb_request *r, int status)
{
    if (status == 413)
        refuse(r, 413, PB_CEV_TOO_LARGE, "too_large", NULL,
               "the body is larger than tracker.events_max_body");
    else
        refuse(r, status, PB_CEV_INVALID, "bad_request", NULL, "not a valid HTTP request");
}

static const enum pb_cev_refusal sig_refusal[] = {
    [PB_SIG_MISSING] = PB_CEV_SIG_MISSING, [PB_SIG_BAD_TIMESTAMP] = PB_CEV_BAD_TIMESTAMP,
    [PB_SIG_EXPIRED] = PB_CEV_EXPIRED, [PB_SIG_MALFORMED] = PB_CEV_SIG_MALFORMED,
    [PB_SIG_BAD] = PB_CEV_SIG_BAD, [PB_SIG_NO_SECRET] = PB_CEV_NO_SECRET,
};

/* 0 if the request is signed, fresh and new; else answered (401). */
static int check_signature(struct pb_request *r, long long now_s)
{
    const struct pb_http_request *req = r->req;
    enum pb_sig_status st = pb_custom_sig_check(&r->gen->keys, req->pb_timestamp,
                                                req->pb_signature, req->body,
                                                req->body_len, now_s,
                                                r->gen->conf.tracker.events_window);

    if (st != PB_SIG_OK) {
        refuse(r, 401, sig_refusal[st], "unauthorized", NULL, pb_sig_status_str(st));
        return -1;
    }
    if (pb_replay_seen(req->pb_signature, now_s)) {
        refuse(r, 401, PB_CEV_REPLAYED, "unauthorized", NULL,
               "this signed request was accepted before: sign each request anew (with its "
               "own timestamp), and give an event an \"id\" to retry it safely");
        return -1;
    }
    return 0;
}

/* 202 with the ids of the events taken. */
static void accepted(struct pb_request *r, GPtrArray *events)
{
    json_t *ids = json_array();

    for (guint i = 0; i < events->len; i++)
        json_array_append_new(ids, json_string(((struct pb_custom_event *)
                                                events->pdata[i])->eid));
    pb_metrics_custom_accepted(events->len);
    reply_json(r, 202, json_pack("{s:i,s:o}", "accepted", (json_int_t)events->len, "ids", ids));
}

/* Queue every event, or none when the store has no room for them all. */
static int submit_all(GPtrArray *events)
{
    if (!pb_store_room(events->len))
        return -1;
    for (guint i = 0; i < events->len; i++)
        if (pb_store_submit_custom(events->pdata[i], "http") != 0)
            return -1;          /* cannot happen after pb_store_room; logged there */
    return 0;
}

void pb_route_event(struct pb_request *r)
{
    const struct pb_http_request *req = r->req;
    long long now_s = r->now_ms / 1000;
    struct pb_cev_ctx ctx = {
        .keys = &r->gen->keys, .now_ms = r->now_ms,
        .max_future_ms = (long long)r->gen->conf.tracker.events_window * 1000,
    };
    struct pb_cev_error err;
    GPtrArray *events;
    char sig[65];

    if (r->method != HTTP_POST) {
        pb_reply_header(r, "Allow", "POST");
        refuse(r, 405, PB_CEV_METHOD, "method_not_allowed", NULL,
               "POST a JSON body to /e");
        return;
    }
    if (check_signature(r, now_s) != 0)
        return;
    g_strlcpy(sig, req->pb_signature, sizeof(sig));     /* 64 hex: checked */
    for (char *p = sig; *p; p++)
        *p = g_ascii_tolower(*p);
    events = pb_custom_events_new();
    if (pb_custom_events_parse(&ctx, req->body ? req->body : "", req->body_len, sig, events,
                               &err) != 0) {
        refuse(r, 400, PB_CEV_INVALID, "invalid", err.field, err.message);
    } else if (submit_all(events) != 0) {
        pb_reply_header(r, "Retry-After", RETRY_AFTER);
        refuse(r, 503, PB_CEV_UNAVAILABLE, "unavailable", NULL,
               "the tracker cannot keep more events now; retry later");
    } else {
        pb_replay_add(sig, strtoll(req->pb_timestamp, NULL, 10)
                                         + r->gen->conf.tracker.events_window);
        accepted(r, events);
    }
    g_ptr_array_unref(events);
}
