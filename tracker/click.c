/*
 * click.c - GET/HEAD /c/<token>: verify the click token and redirect to
 * the URL it signs; record the click.
 *
 * Never an open redirector: only a token that verifies with a listed key,
 * is a click token, and signs an absolute http(s) URL with a host and no
 * control characters gets a Location header. Everything else is 404 with
 * a short text and no Location at all. A HEAD request gets the same
 * headers (and is recorded as a machine click).
 */
#include <string.h>
#include <strings.h>
#include "log.h"
#include "routes.h"
#include "url.h"

/* 1 if url may go into a Location header: "http(s)://" followed by a host
 * (not another slash or a backslash), no control bytes, no backslash
 * before the path (browsers read it as a slash), and a host uriparser
 * accepts. The MAC already guarantees we signed it; this keeps a leaked
 * key from turning the tracker into a redirector to odd places. */
static int safe_location(const char *url, size_t len)
{
    size_t scheme = strncasecmp(url, "https://", 8) == 0 ? 8
                  : strncasecmp(url, "http://", 7) == 0 ? 7 : 0;
    size_t authority_end;
    char host[256];

    if (scheme == 0 || len <= scheme || url[scheme] == '/' || url[scheme] == '\\')
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)url[i] < 0x20 || url[i] == 0x7f)
            return 0;
    authority_end = scheme + strcspn(url + scheme, "/?#");
    if (memchr(url + scheme, '\\', authority_end - scheme) != NULL)
        return 0;
    return pb_url_host(url, len, host, sizeof(host)) == 0 && host[0] != '\0';
}

void pb_route_click(struct pb_request *r)
{
    static struct pb_log_limit limit;
    uint8_t buf[PB_TOKEN_MAX];
    struct pb_token tok;

    if (r->method == HTTP_POST) {
        pb_reply_method_not_allowed(r, "GET, HEAD");
        return;
    }
    if (pb_request_token(r, PB_TOKEN_CLICK, buf, &tok) != PB_TOKEN_OK) {
        pb_reply_not_found(r);
        return;
    }
    if (!safe_location(tok.url, tok.url_len)) {
        pb_log_limited(&limit, 20, LOG_WARNING, "click: a verified token signs a URL that "
                       "is not a plain http(s) URL; not redirecting (from %s)", r->client_text);
        pb_metrics_unsafe_url(r->route);
        pb_reply_not_found(r);
        return;
    }
    pb_record_event(r, PB_EV_CLICK, &tok);
    pb_reply_header(r, "Location", tok.url);
    pb_reply_text(r, 302, "");
}
