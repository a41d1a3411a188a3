/*
 * http_parse.c - http_parser's callbacks for the tracker's HTTP server
 * (http_conn.h): where the request target, the few headers the tracker
 * reads (User-Agent, Content-Type, X-Forwarded-For, Expect, and the
 * custom-event signature's X-Postbeacon-Timestamp and -Signature) and the
 * body are in the read buffer, the body size limit (its own for /e), the framing rules of RFC
 * 9112 that http_parser leaves to us (no whitespace before a header's
 * colon, no Transfer-Encoding in HTTP/1.0), and the hand-over of a
 * complete request to http_conn.c.
 *
 * Pieces of one field arrive contiguously in the read buffer (the parser
 * is fed consecutive bytes), except a header folded over several lines,
 * whose line breaks become spaces, and a chunked body, which is moved
 * together in place over its chunk framing (bytes already consumed).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <glib.h>
#include "http_conn.h"

static const struct pb_http_span unset = { PB_SPAN_UNSET, PB_SPAN_UNSET };

static struct pb_http_conn *conn_of(http_parser *p)
{
    return p->data;
}

static int is_set(const struct pb_http_span *s)
{
    return s->off != PB_SPAN_UNSET;
}

static void span_add(struct pb_http_conn *c, struct pb_http_span *s, const char *at, size_t len)
{
    if (!is_set(s))
        s->off = (uint32_t)(at - c->in);
    s->end = (uint32_t)(at + len - c->in);
}

void pb_http_request_reset(struct pb_http_conn *c)
{
    c->url = c->path = c->field = c->user_agent = c->content_type = c->expect = unset;
    c->body = c->pb_timestamp = c->pb_signature = unset;
    c->path_known = 0;
    c->nxff = 0;
    c->value = NULL;
    c->in_value = 0;
    c->transfer_encoding = 0;
    c->headers_done = 0;
    c->error_status = 0;
    g_free(c->joined_xff);
    c->joined_xff = NULL;
    memset(&c->req, 0, sizeof(c->req));
    c->req.conn = c;
    c->req.admin = c->admin == PB_HTTP_ADMIN;
    c->req.events_listener = c->admin == PB_HTTP_EVENTS;
    c->req.peer = (const struct sockaddr *)&c->peer;
}

size_t pb_http_request_start(const struct pb_http_conn *c)
{
    return c->in_message && is_set(&c->url) ? c->url.off : c->in_parsed;
}

static void shift_span(struct pb_http_span *s, size_t shift)
{
    if (is_set(s)) {
        s->off -= (uint32_t)shift;
        s->end -= (uint32_t)shift;
    }
}

void pb_http_request_shift(struct pb_http_conn *c, size_t shift)
{
    struct pb_http_span *spans[] = { &c->url, &c->path, &c->field, &c->user_agent,
                                     &c->content_type, &c->expect, &c->body,
                                     &c->pb_timestamp, &c->pb_signature };

    for (size_t i = 0; i < sizeof(spans) / sizeof(spans[0]); i++)
        shift_span(spans[i], shift);
    for (int i = 0; i < c->nxff; i++)
        shift_span(&c->xff[i], shift);
}

/* ---- headers ------------------------------------------------------------------ */

static int name_is(const char *name, size_t len, const char *want, size_t want_len)
{
    return len == want_len && strncasecmp(name, want, len) == 0;
}

/* Where the value of the header just named goes; NULL to ignore it. The
 * first User-Agent, Content-Type and Expect count (as a lookup would find
 * them); every X-Forwarded-For is kept, the right-most ones if too many. */
static struct pb_http_span *value_slot(struct pb_http_conn *c)
{
    const char *name = c->in + c->field.off;
    size_t len = c->field.end - c->field.off;
    struct pb_http_span *slot = NULL;

    if (name_is(name, len, "User-Agent", 10))
        slot = &c->user_agent;
    else if (name_is(name, len, "Content-Type", 12))
        slot = &c->content_type;
    else if (name_is(name, len, "Expect", 6))
        slot = &c->expect;
    else if (name_is(name, len, "X-Postbeacon-Timestamp", 22))
        slot = &c->pb_timestamp;
    else if (name_is(name, len, "X-Postbeacon-Signature", 22))
        slot = &c->pb_signature;
    else if (name_is(name, len, "Transfer-Encoding", 17))
        c->transfer_encoding = 1;
    else if (name_is(name, len, "X-Forwarded-For", 15)) {
        if (c->nxff == PB_HTTP_MAX_XFF) {
            memmove(&c->xff[0], &c->xff[1], sizeof(c->xff[0]) * (PB_HTTP_MAX_XFF - 1));
            c->nxff--;
        }
        c->xff[c->nxff] = unset;
        return &c->xff[c->nxff++];
    }
    return slot != NULL && !is_set(slot) ? slot : NULL;
}

static int on_message_begin(http_parser *p)
{
    struct pb_http_conn *c = conn_of(p);

    pb_http_request_reset(c);
    c->in_message = 1;
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    span_add(conn_of(p), &conn_of(p)->url, at, len);
    return 0;
}

/* RFC 9112 section 5.1: "No whitespace is allowed between the field name
 * and colon ... A server MUST reject, with a response status code of 400
 * (Bad Request), any received request message that contains whitespace
 * between a header field name and colon." http_parser (2.9, not built
 * strict) takes a space as part of the name: "Content-Length : 5" would
 * be a header named "Content-Length " to us and a Content-Length to the
 * parser or to a proxy in front. A tab the parser refuses itself. No
 * whitespace is valid anywhere in a name, so any piece with one refuses
 * the request. */
static int name_has_space(const char *at, size_t len)
{
    return memchr(at, ' ', len) != NULL || memchr(at, '\t', len) != NULL;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    struct pb_http_conn *c = conn_of(p);

    if (name_has_space(at, len)) {
        c->error_status = 400;
        return -1;
    }
    if (c->in_value) {          /* a new header */
        c->field = unset;
        c->in_value = 0;
    }
    span_add(c, &c->field, at, len);
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    struct pb_http_conn *c = conn_of(p);

    if (!c->in_value) {
        c->in_value = 1;
        c->value = is_set(&c->field) ? value_slot(c) : NULL;
    }
    if (c->value != NULL)
        span_add(c, c->value, at, len);
    return 0;
}

/* The span as a C string, in place: line breaks of folded lines become
 * spaces, trailing blanks go (the span ends there). The byte after the
 * span (a consumed CR, LF or space) takes the NUL. */
static void terminate(struct pb_http_conn *c, struct pb_http_span *s)
{
    char *start, *end;

    if (!is_set(s))
        return;
    start = c->in + s->off;
    end = c->in + s->end;
    if (memchr(start, '\n', (size_t)(end - start)) != NULL) {
        for (char *q = start; q < end; q++)
            if (*q == '\r' || *q == '\n')
                *q = ' ';
    }
    while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    *end = '\0';
    s->end = (uint32_t)(end - c->in);
}

static const char *string_at(const struct pb_http_conn *c, const struct pb_http_span *s)
{
    return is_set(s) ? c->in + s->off : NULL;
}

/* The path of the request target: origin form "/p?q", or the path of an
 * absolute form "http://host/p"; none (path stays unset) otherwise. */
static void set_path(struct pb_http_conn *c, http_parser *p)
{
    struct http_parser_url u;
    char *target;
    size_t len;

    c->path_known = 1;
    terminate(c, &c->url);
    if (!is_set(&c->url))
        return;
    target = c->in + c->url.off;
    if (target[0] == '/') {
        c->path.off = c->url.off;
    } else {
        http_parser_url_init(&u);
        if (http_parser_parse_url(target, c->url.end - c->url.off, p->method == HTTP_CONNECT,
                                  &u) != 0 || !(u.field_set & (1 << UF_PATH)))
            return;
        c->path.off = c->url.off + u.field_data[UF_PATH].off;
    }
    len = strcspn(c->in + c->path.off, "?#");
    c->in[c->path.off + len] = '\0';
    c->path.end = c->path.off + (uint32_t)len;
}

/* The request line is complete once the parser has consumed the LF after
 * the target (a header line may be refused before any header name was
 * handed over). */
void pb_http_request_path_so_far(struct pb_http_conn *c)
{
    if (!c->path_known && is_set(&c->url) && c->in_parsed > c->url.end
        && memchr(c->in + c->url.end, '\n', c->in_parsed - c->url.end) != NULL)
        set_path(c, &c->parser);
}

static void set_forwarded_for(struct pb_http_conn *c)
{
    GString *joined;

    for (int i = 0; i < c->nxff; i++)
        terminate(c, &c->xff[i]);
    if (c->nxff <= 1)
        return;
    joined = g_string_new(NULL);
    for (int i = 0; i < c->nxff; i++)
        g_string_append_printf(joined, "%s%s", i ? "," : "", string_at(c, &c->xff[i]) ?: "");
    c->joined_xff = g_string_free(joined, FALSE);
}

void pb_http_request_bind(struct pb_http_conn *c)
{
    struct pb_http_request *r = &c->req;

    if (c->path_known) {
        r->path = is_set(&c->path) ? c->in + c->path.off : "";
        r->path_len = is_set(&c->path) ? c->path.end - c->path.off : 0;
    }
    if (!c->headers_done)
        return;                 /* header values are C strings only from then on */
    r->user_agent = string_at(c, &c->user_agent);
    r->content_type = string_at(c, &c->content_type);
    r->pb_timestamp = string_at(c, &c->pb_timestamp);
    r->pb_signature = string_at(c, &c->pb_signature);
    r->forwarded_for = c->joined_xff ? c->joined_xff
                     : c->nxff == 1 ? string_at(c, &c->xff[0]) : NULL;
    if (is_set(&c->body)) {
        r->body = c->in + c->body.off;
        r->body_len = c->body.end - c->body.off;
    }
}

/* RFC 9112 section 6.1: "A server or client that receives an HTTP/1.0
 * message containing a Transfer-Encoding header field MUST treat the
 * message as if the framing is faulty, even if a Content-Length is
 * present, and close the connection after processing the message." A
 * request whose framing is faulty is answered 400 and the connection
 * closed (section 6.3: a request whose body length "cannot be determined
 * reliably" or whose Content-Length is invalid gets 400, then close): the
 * handler is not given a body that may not be the one the client or a
 * proxy in front of us meant (an unsubscribe acts on it), and nothing
 * after the headers is read as another request. (HTTP/1.1 with a
 * Transfer-Encoding whose last coding is not chunked, and with both
 * Transfer-Encoding and Content-Length, http_parser refuses itself: 400.) */
static int framing_faulty(const struct pb_http_conn *c, const http_parser *p)
{
    return c->transfer_encoding
           && (p->http_major == 0 || (p->http_major == 1 && p->http_minor == 0));
}

/* The body limit of the request whose headers are done: the custom-event
 * endpoint has its own. */
static size_t body_limit(const struct pb_http_conn *c)
{
    const struct pb_http_limits *l = pb_http_limits_now();

    if (l->max_events_body_size > 0 && is_set(&c->path)
        && strcmp(c->in + c->path.off, PB_HTTP_EVENTS_PATH) == 0)
        return l->max_events_body_size;
    return l->max_body_size;
}

static int on_headers_complete(http_parser *p)
{
    static const char continue_line[] = "HTTP/1.1 100 Continue\r\n\r\n";
    struct pb_http_conn *c = conn_of(p);
    const char *expect;

    c->headers_done = 1;
    c->req.method = (enum http_method)p->method;
    c->req.http_minor = p->http_minor;
    c->keep_alive = http_should_keep_alive(p) && !p->upgrade;
    set_path(c, p);
    terminate(c, &c->user_agent);
    terminate(c, &c->content_type);
    terminate(c, &c->expect);
    terminate(c, &c->pb_timestamp);
    terminate(c, &c->pb_signature);
    set_forwarded_for(c);
    if (framing_faulty(c, p)) {
        c->error_status = 400;
        return -1;
    }
    if ((p->flags & F_CONTENTLENGTH)
        && p->content_length > (uint64_t)body_limit(c)) {
        c->error_status = 413;
        return -1;
    }
    expect = string_at(c, &c->expect);
    if (expect != NULL && strcasecmp(expect, "100-continue") == 0 && p->http_major == 1
        && p->http_minor >= 1)
        pb_http_out_append(c, continue_line, sizeof(continue_line) - 1);
    return 0;
}

/* ---- body and the end of a request ---------------------------------------------- */

static int on_body(http_parser *p, const char *at, size_t len)
{
    struct pb_http_conn *c = conn_of(p);
    char *dst;

    if (!is_set(&c->body)) {
        c->body.off = c->body.end = (uint32_t)(at - c->in);
    }
    if (c->body.end - c->body.off + len > body_limit(c)) {
        c->error_status = 413;
        return -1;
    }
    dst = c->in + c->body.end;
    if (dst != at)
        memmove(dst, at, len);  /* de-chunk: over framing already consumed */
    c->body.end += (uint32_t)len;
    return 0;
}

static int on_message_complete(http_parser *p)
{
    struct pb_http_conn *c = conn_of(p);

    c->in_message = 0;
    pb_http_request_bind(c);
    pb_http_dispatch(c);
    if (c->closing || c->paused)
        http_parser_pause(p, 1);
    return 0;
}

const http_parser_settings pb_http_parser_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};
