/*
 * unsubscribe.c - /u/<token>: GET (and HEAD) shows the unsubscribe page and
 * never unsubscribes, because mail scanners fetch every link; POST
 * unsubscribes at once (RFC 8058 one-click) and answers 200 with the
 * confirmation. The POST body must carry List-Unsubscribe=One-Click,
 * form-urlencoded (what the page's own form and most mailbox providers
 * send) or as a multipart/form-data field. A token that does not verify
 * gets the "not valid" page with 404.
 *
 * /u/- is the {{unsubscribe_url}} placeholder of a rendered template
 * (lib/unsub_link.h) that reached a reader without passing through the
 * milter, which would have put the message's own link in its place. It
 * is not a token at all: whatever the method, it gets the page that says
 * so (404, nothing recorded) and the operator a log line, because it
 * means mail went out around postbeacon-milter.
 */
#include <string.h>
#include <strings.h>
#include <glib.h>
#include "log.h"
#include "routes.h"
#include "unsub_link.h"
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

/* 1 if a form-urlencoded body has List-Unsubscribe=One-Click. */
static int form_one_click(const char *body)
{
    GHashTable *fields = g_uri_parse_params(body, -1, "&", G_URI_PARAMS_WWW_FORM, NULL);
    const char *value;
    int yes;

    if (fields == NULL)
        return 0;
    value = g_hash_table_lookup(fields, "List-Unsubscribe");
    yes = value != NULL && strcmp(value, "One-Click") == 0;
    g_hash_table_destroy(fields);
    return yes;
}

/* 1 if the POST body asks for a one-click unsubscribe. */
static int asks_one_click(const struct pb_http_request *req)
{
    const char *type = req->content_type;
    char *body;
    int yes;

    if (req->body == NULL || memchr(req->body, '\0', req->body_len) != NULL)
        return 0;               /* no body, or a NUL byte: not a form */
    body = g_strndup(req->body, req->body_len);
    if (type != NULL && strncasecmp(type, "multipart/form-data", 19) == 0)
        yes = multipart_one_click(body);
    else
        yes = form_one_click(body);
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

/* /u/-: the mail was rendered by postbeacon but not tracked. */
static void placeholder(struct pb_request *r)
{
    static struct pb_log_limit limit;

    pb_log_limited(&limit, 20, LOG_NOTICE, "/u/: the unsubscribe placeholder was opened "
                   "from %s: a message rendered from a template went out without passing "
                   "through postbeacon-milter (or with more than one recipient)",
                   r->client_text);
    page(r, 404, PB_UNSUB_PLACEHOLDER, NULL);
}

void pb_route_unsubscribe(struct pb_request *r)
{
    uint8_t buf[PB_TOKEN_MAX];
    struct pb_token tok;

    if (pb_unsub_placeholder_token(r->token, r->token_len)) {
        placeholder(r);
        return;
    }
    if (pb_request_token(r, PB_TOKEN_UNSUB, buf, &tok) != PB_TOKEN_OK) {
        page(r, 404, PB_UNSUB_INVALID, NULL);
        return;
    }
    if (r->method != HTTP_POST) {
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
