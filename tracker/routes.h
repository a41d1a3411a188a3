/*
 * routes.h - what the tracker's request handlers share: the request as the
 * handlers see it, the answers (reply.c: security headers, HEAD without a
 * body, metrics) and recording an event (classification + the store).
 *
 * Handlers: click.c (/c/<token>), open.c (/o/<token>[.gif|.png]),
 * unsubscribe.c (/u/<token>), event_route.c (POST /e: custom events). server.c parses the request into a struct
 * pb_request and calls one of them; each answers before it returns.
 */
#ifndef PB_TRACKER_ROUTES_H
#define PB_TRACKER_ROUTES_H

#include <stddef.h>
#include "clientip.h"
#include "http.h"
#include "metrics.h"
#include "server.h"
#include "store.h"
#include "token.h"

#define PB_REPLY_HEADERS 6      /* headers a handler may add to its answer */

struct pb_request {
    struct pb_http_request *req;
    const struct pb_tracker_gen *gen;   /* configuration, keys, bots, proxies */
    enum pb_route route;
    int method;                 /* enum http_method: HTTP_GET, HTTP_HEAD, HTTP_POST, ... */
    int head;                   /* method is HEAD: headers only */
    const char *token;          /* the path after "/c/", "/o/", "/u/" (may be "") */
    size_t token_len;
    const char *user_agent;     /* NULL if none */
    struct pb_ipaddr client;    /* the client's full address */
    char client_text[PB_IPADDR_TEXT];   /* as stored: truncated unless full_ip */
    long long now_ms;
    struct {                    /* added to the answer (pb_reply_header) */
        const char *name, *value;
    } headers[PB_REPLY_HEADERS];
    int nheaders;
};

/* ---- handlers ---------------------------------------------------------- */
void pb_route_click(struct pb_request *r);
void pb_route_open(struct pb_request *r);
void pb_route_unsubscribe(struct pb_request *r);
void pb_route_event(struct pb_request *r);
/* The JSON answer to a POST /e the HTTP server refused (413, 400). */
void pb_event_reply_error(struct pb_request *r, int status);

/* ---- answers (reply.c) --------------------------------------------------- */

/* Add a header to the answer about to be sent (name and value must live
 * until then; a value with CR or LF is never sent). */
void pb_reply_header(struct pb_request *r, const char *name, const char *value);

/* Send status with body (len bytes) as content_type. Adds
 * X-Content-Type-Options, Referrer-Policy, Content-Length, and
 * "Connection: close" while draining; a HEAD request gets the same
 * headers and no body. Counts the request in the metrics. */
void pb_reply(struct pb_request *r, int status, const char *content_type,
              const void *body, size_t len);
/* Short text/plain answers. */
void pb_reply_text(struct pb_request *r, int status, const char *text);
/* 404 "not found", the answer to every token that does not verify. */
void pb_reply_not_found(struct pb_request *r);
/* 405 with "Allow: <allow>". */
void pb_reply_method_not_allowed(struct pb_request *r, const char *allow);
/* An HTML page with the strict Content-Security-Policy and no-store. */
void pb_reply_html(struct pb_request *r, int status, const char *html, size_t len);

/* Decode r->token as kind into tok (buf: at least r->token_len bytes).
 * Not OK: logged (rate-limited) and counted by route and reason. */
enum pb_token_status pb_request_token(struct pb_request *r, enum pb_token_kind kind,
                                      uint8_t *buf, struct pb_token *tok);

/* Classify (unless type is unsubscribe) and hand the event to the store;
 * counts it in the metrics. */
void pb_record_event(struct pb_request *r, enum pb_ev_type type, const struct pb_token *tok);

#endif
