/*
 * webhook.h - POST one JSON document to an http(s) URL, signed as custom
 * events to the tracker's POST /e are (docs/custom-events.md: timestamp
 * and HMAC-SHA256 hex over "<timestamp>.<body>" in X-Postbeacon-Timestamp
 * and X-Postbeacon-Signature), with an idempotency id, and say how it
 * went: done (2xx), a temporary failure (408, 429, 5xx, a timeout, no
 * connection: retry later) or a permanent one (any other answer,
 * redirects included: retrying cannot help). The scorer's webhook steps
 * use it (scorer/workflow_webhook.c); a receiver verifies the signature
 * with pb_sig_check (custom_event.h).
 *
 * Nothing here retries or logs: the caller owns the retry policy and the
 * log line, as for lib/submit.h, whose outcome classes it shares.
 */
#ifndef PB_WEBHOOK_H
#define PB_WEBHOOK_H

#include <stddef.h>
#include "keys.h"
#include "submit.h"

#define PB_WEBHOOK_ID_HEADER "X-Postbeacon-Id"
#define PB_WEBHOOK_ATTEMPT_HEADER "X-Postbeacon-Attempt"

struct pb_webhook_req {
    const char *url;            /* http:// or https:// (pb_webhook_url_check) */
    const struct pb_key *key;   /* signs */
    const char *id;             /* X-Postbeacon-Id: the same for every attempt */
    int attempt;                /* X-Postbeacon-Attempt: 1, 2, ... */
    const char *body;           /* JSON */
    size_t len;
    long long timestamp;        /* unix seconds, signed with the body */
    int timeout_ms;             /* the whole request, connection included */
    const char *user_agent;     /* "postbeacon/<version>" */
};

struct pb_webhook_res {
    long status;                /* the HTTP status, 0 when there was no answer */
    long long retry_after_s;    /* the answer's Retry-After in seconds, -1 when none */
    char why[400];              /* what happened, one line (also on success) */
};

/* Send req; res filled in. */
enum pb_submit_status pb_webhook_post(const struct pb_webhook_req *req,
                                      struct pb_webhook_res *res);

/* The class of an HTTP status: 2xx ok; 408, 429 and 5xx temporary;
 * anything else (3xx, other 4xx, 1xx) permanent. */
enum pb_submit_status pb_webhook_classify(long status);

/* 0 if url is an http:// or https:// URL with a host that libcurl
 * parses, else -1 with the reason in why. */
int pb_webhook_url_check(const char *url, char *why, size_t whylen);

#endif
