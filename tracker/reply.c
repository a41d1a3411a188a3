/*
 * reply.c - how the tracker answers (routes.h): the headers every response
 * carries, HEAD without a body, the shared error answers, token checking
 * with rate-limited logging, and recording an event.
 */
#include <stdio.h>
#include <string.h>
#include "classify.h"
#include "log.h"
#include "routes.h"
#include "unsub_page.h"

void pb_reply_header(struct pb_request *r, const char *name, const char *value)
{
    static struct pb_log_limit limit;

    if (r->nheaders >= PB_REPLY_HEADERS) {
        pb_log_limited(&limit, 10, LOG_ERR, "too many answer headers; %s not sent", name);
        return;
    }
    r->headers[r->nheaders].name = name;
    r->headers[r->nheaders].value = value;
    r->nheaders++;
}

void pb_reply(struct pb_request *r, int status, const char *content_type,
              const void *body, size_t len)
{
    pb_http_begin(r->req, status);
    pb_http_header(r->req, "Content-Type", content_type);
    pb_http_header(r->req, "X-Content-Type-Options", "nosniff");
    pb_http_header(r->req, "Referrer-Policy", "no-referrer");
    for (int i = 0; i < r->nheaders; i++)
        pb_http_header(r->req, r->headers[i].name, r->headers[i].value);
    pb_metrics_request(r->route, status);
    pb_http_end(r->req, body, len);
}

void pb_reply_text(struct pb_request *r, int status, const char *text)
{
    pb_reply_header(r, "Cache-Control", "no-store");
    pb_reply(r, status, "text/plain; charset=utf-8", text, strlen(text));
}

void pb_reply_not_found(struct pb_request *r)
{
    pb_reply_text(r, 404, "Not found.\n");
}

void pb_reply_method_not_allowed(struct pb_request *r, const char *allow)
{
    pb_reply_header(r, "Allow", allow);
    pb_reply_text(r, 405, "Method not allowed.\n");
}

void pb_reply_html(struct pb_request *r, int status, const char *html, size_t len)
{
    pb_reply_header(r, "Cache-Control", "no-store");
    pb_reply_header(r, "Content-Security-Policy", pb_unsub_page_csp());
    pb_reply(r, status, "text/html; charset=utf-8", html, len);
}

enum pb_token_status pb_request_token(struct pb_request *r, enum pb_token_kind kind,
                                      uint8_t *buf, struct pb_token *tok)
{
    static struct pb_log_limit limit;
    enum pb_token_status st = PB_TOKEN_MALFORMED;

    if (r->token_len > 0 && r->token_len < PB_TOKEN_MAX)
        st = pb_token_decode(&r->gen->keys, r->token, r->token_len, kind, buf, tok);
    if (st == PB_TOKEN_OK)
        return st;
    pb_metrics_invalid_token(r->route, st);
    pb_log_limited(&limit, 20, LOG_NOTICE, "%s: token rejected (%s) from %s, %zu characters",
                   pb_route_name(r->route), pb_token_status_str(st), r->client_text,
                   r->token_len);
    return st;
}

void pb_record_event(struct pb_request *r, enum pb_ev_type type, const struct pb_token *tok)
{
    struct pb_classify_input in = {
        .kind = tok->kind, .head = r->head, .user_agent = r->user_agent,
        .addr = &r->client, .sent_at = tok->sent_at, .link_index = tok->link_index,
        .now_ms = r->now_ms,
        .machine_click_seconds = r->gen->conf.tracker.machine_click_seconds,
    };
    struct pb_tracker_event ev = {
        .type = type, .ts_ms = r->now_ms, .tok = tok, .user_agent = r->user_agent,
        .client_ip = r->client_text,
    };

    ev.class = pb_classify(r->gen->bots, &in, &ev.class_reason);
    pb_store_submit(&ev);
    pb_metrics_event(type, ev.class, ev.class_reason);
    pb_log(LOG_DEBUG, "%s recorded: %s%s%s, %s", pb_route_name(r->route),
           ev.class == PB_CLASS_MACHINE ? "machine" : "human", ev.class_reason ? " " : "",
           ev.class_reason ? ev.class_reason : "", r->client_text);
}
