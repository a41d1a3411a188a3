/*
 * unsubscribe.c - /u/<token>: GET (and HEAD) shows the unsubscribe page and
 * never unsubscribes, because mail scanners fetch every link; POST
 * unsubscribes at once (RFC 8058 one-click) and answers 200 with the
 * confirmation. The POST body must carry List-Unsubscribe=One-Click,
 * form-urlencoded (what the page's own form and most mailbox providers
 * send) or as a multipart/form-data field. A token that does not verify
 * gets the "not valid" page with 404.
 */
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <glib.h>
#include "routes.h"
#include "unsub_page.h"

/* 1 if the body of a multipart/form-data POST has a List-Unsubscribe
 * field whose value is One-Click. */
static int multipart_one_click(const char *body)
{
    const char *p = body;

    while ((p = strcasestr(p, "name=\"List-Unsubscribe\"")) != NULL) {
        const char *value = strstr(p, "\r\n\r\n");
        if (value != NULL && strncmp(value + 4, "One-Click\r\n", 11) == 0)
            return 1;
        p++;
    }
    return 0;
}

/* 1 if the POST body asks for a one-click unsubscribe. */
static int asks_one_click(struct evhttp_request *req)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    const char *type = evhttp_find_header(evhttp_request_get_input_headers(req),
                                          "Content-Type");
    size_t len = evbuffer_get_length(in);
    char *body = g_malloc(len + 1);
    struct evkeyvalq fields;
    const char *value;
    int yes = 0;

    evbuffer_copyout(in, body, len);
    body[len] = '\0';
    if (strlen(body) != len) {
        yes = 0;                /* a NUL byte: not a form */
    } else if (type != NULL && strncasecmp(type, "multipart/form-data", 19) == 0) {
        yes = multipart_one_click(body);
    } else {
        TAILQ_INIT(&fields);
        if (evhttp_parse_query_str(body, &fields) == 0) {
            value = evhttp_find_header(&fields, "List-Unsubscribe");
            yes = value != NULL && strcmp(value, "One-Click") == 0;
        }
        evhttp_clear_headers(&fields);
    }
    g_free(body);
    return yes;
}

static void page(struct pb_request *r, int status, enum pb_unsub_page which,
                 const char *campaign)
{
    GString *html = g_string_new(NULL);

    pb_unsub_page(html, r->gen->conf.tracker.language, which, campaign);
    pb_reply_html(r, status, html->str, html->len);
    g_string_free(html, TRUE);
}

void pb_route_unsubscribe(struct pb_request *r)
{
    uint8_t buf[PB_TOKEN_MAX];
    struct pb_token tok;

    if (pb_request_token(r, PB_TOKEN_UNSUB, buf, &tok) != PB_TOKEN_OK) {
        page(r, 404, PB_UNSUB_INVALID, NULL);
        return;
    }
    if (r->method != EVHTTP_REQ_POST) {
        page(r, 200, PB_UNSUB_ASK, tok.campaign);
        return;
    }
    if (!asks_one_click(r->req)) {
        page(r, 400, PB_UNSUB_ASK, tok.campaign);
        return;
    }
    pb_record_event(r, PB_EV_UNSUBSCRIBE, &tok);
    page(r, 200, PB_UNSUB_DONE, NULL);
}
