/*
 * server.c - listening sockets, evhttp set-up, routing and the drain
 * (server.h).
 *
 * Connections are followed from their first request on (a close callback
 * on the evhttp connection) and every response from being queued to being
 * sent (the request's on-complete callback), so that a drain knows when
 * nothing is in flight. Connections accepted but without a request yet
 * are counted through the bufferevent callback; a drain gives them a
 * short grace to send it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/queue.h>
#include <unistd.h>
#include <event2/bufferevent.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <glib.h>
#include "events.h"
#include "log.h"
#include "routes.h"
#include "server.h"

#define MAX_LISTENERS 32
#define DRAIN_TICK_MS 20
#define DRAIN_GRACE_MS 1000     /* wait for requests on fresh connections */
#define ANSWERED_METHODS (EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST)

struct listener {
    int fd;
    int admin;
    char spec[64];
    struct evhttp_bound_socket *handle;
};

static struct {
    struct listener listeners[MAX_LISTENERS];
    size_t nlisteners;
    struct event_base *base;
    struct evhttp *public_http, *admin_http;
    const struct pb_tracker_gen *gen;
    GHashTable *conns;          /* evhttp_connection * -> pending responses */
    unsigned long accepted, seen;   /* connections accepted / with a first request */
    int draining;
    struct event *drain_timer;
    long long drain_start_ms, drain_deadline_ms;
    void (*drain_done)(void *);
    void *drain_arg;
} srv;

/* ---- listening sockets ------------------------------------------------------ */

static int parse_spec(const char *spec, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[64];
    const char *colon = strrchr(spec, ':');
    size_t hlen = colon ? (size_t)(colon - spec) : 0;
    long port = colon ? strtol(colon + 1, NULL, 10) : 0;

    memset(ss, 0, sizeof(*ss));
    if (colon == NULL || hlen < 1 || hlen >= sizeof(host) || port < 1 || port > 65535)
        return -1;
    memcpy(host, spec, hlen);
    host[hlen] = '\0';
    if (host[0] == '[' && host[hlen - 1] == ']') {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
        host[hlen - 1] = '\0';
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*sin6);
        return inet_pton(AF_INET6, host + 1, &sin6->sin6_addr) == 1 ? 0 : -1;
    }
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t)port);
    *len = sizeof(*sin);
    return inet_pton(AF_INET, host, &sin->sin_addr) == 1 ? 0 : -1;
}

static int open_listener(const char *spec, int admin, char *errbuf, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int fd, one = 1;
    struct listener *l;

    if (srv.nlisteners >= MAX_LISTENERS) {
        snprintf(errbuf, errlen, "more than %d listen addresses", MAX_LISTENERS);
        return -1;
    }
    if (parse_spec(spec, &ss, &len) != 0) {
        snprintf(errbuf, errlen, "tracker.%slisten: \"%s\" is not an address and port",
                 admin ? "admin_" : "", spec);
        return -1;
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0
        || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0
        || (ss.ss_family == AF_INET6
            && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0)
        || bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 1024) != 0) {
        snprintf(errbuf, errlen, "cannot listen on %s (tracker.%slisten): %s", spec,
                 admin ? "admin_" : "", strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    l = &srv.listeners[srv.nlisteners++];
    l->fd = fd;
    l->admin = admin;
    snprintf(l->spec, sizeof(l->spec), "%s", spec);
    return 0;
}

int pb_server_bind(const struct pb_tracker_conf *tc, char *errbuf, size_t errlen)
{
    if (tc->listen.count == 0) {
        snprintf(errbuf, errlen, "tracker.listen is empty: give at least one address");
        return -1;
    }
    for (size_t i = 0; i < tc->listen.count; i++)
        if (open_listener(tc->listen.items[i], 0, errbuf, errlen) != 0)
            return -1;
    for (size_t i = 0; i < tc->admin_listen.count; i++)
        if (open_listener(tc->admin_listen.items[i], 1, errbuf, errlen) != 0)
            return -1;
    return 0;
}

/* ---- connections and responses in flight ------------------------------------ */

static struct bufferevent *new_connection(struct event_base *base, void *arg)
{
    srv.accepted++;
    return bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
}

static void connection_closed(struct evhttp_connection *evcon, void *arg)
{
    if (srv.conns != NULL)
        g_hash_table_remove(srv.conns, evcon);
}

static void follow_connection(struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);

    if (evcon == NULL || g_hash_table_contains(srv.conns, evcon))
        return;
    srv.seen++;
    g_hash_table_insert(srv.conns, evcon, GINT_TO_POINTER(0));
    evhttp_connection_set_closecb(evcon, connection_closed, NULL);
}

static void response_sent(struct evhttp_request *req, void *arg)
{
    struct evhttp_connection *evcon = arg;
    gpointer pending;

    if (g_hash_table_lookup_extended(srv.conns, evcon, NULL, &pending))
        g_hash_table_insert(srv.conns, evcon, GINT_TO_POINTER(GPOINTER_TO_INT(pending) - 1));
}

void pb_server_response_queued(struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    gpointer pending;

    if (evcon == NULL || !g_hash_table_lookup_extended(srv.conns, evcon, NULL, &pending))
        return;
    g_hash_table_insert(srv.conns, evcon, GINT_TO_POINTER(GPOINTER_TO_INT(pending) + 1));
    evhttp_request_set_on_complete_cb(req, response_sent, evcon);
    if (srv.draining)
        evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
}

/* ---- routing -------------------------------------------------------------------- */

/* All X-Forwarded-For values, joined with ","; NULL if none. */
static char *forwarded_for(struct evkeyvalq *headers)
{
    GString *joined = NULL;
    struct evkeyval *h;

    TAILQ_FOREACH(h, headers, next) {
        if (g_ascii_strcasecmp(h->key, "X-Forwarded-For") != 0)
            continue;
        if (joined == NULL)
            joined = g_string_new(h->value);
        else
            g_string_append_printf(joined, ",%s", h->value);
    }
    return joined ? g_string_free(joined, FALSE) : NULL;
}

static void fill_request(struct pb_request *r, struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct evkeyvalq *headers = evhttp_request_get_input_headers(req);
    struct pb_ipaddr peer;
    char *xff;

    memset(r, 0, sizeof(*r));
    r->req = req;
    r->gen = srv.gen;
    r->route = PB_ROUTE_OTHER;
    r->method = (int)evhttp_request_get_command(req);
    r->head = r->method == EVHTTP_REQ_HEAD;
    r->token = "";
    r->user_agent = evhttp_find_header(headers, "User-Agent");
    r->now_ms = pb_event_now_ms();
    if (evcon == NULL || pb_ipaddr_from_sockaddr(evhttp_connection_get_addr(evcon), &peer) != 0)
        memset(&peer, 0, sizeof(peer));
    xff = forwarded_for(headers);
    pb_client_addr(&peer, xff, &srv.gen->proxies, &r->client);
    g_free(xff);
    pb_ipaddr_format(&r->client, srv.gen->conf.tracker.full_ip, r->client_text,
                     sizeof(r->client_text));
}

static void public_request(struct evhttp_request *req, void *arg)
{
    static const struct { const char *prefix; enum pb_route route; const char *allow;
                          void (*handler)(struct pb_request *); } routes[] = {
        { "/c/", PB_ROUTE_CLICK, "GET, HEAD", pb_route_click },
        { "/o/", PB_ROUTE_OPEN, "GET, HEAD", pb_route_open },
        { "/u/", PB_ROUTE_UNSUBSCRIBE, "GET, HEAD, POST", pb_route_unsubscribe },
    };
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    struct pb_request r;

    follow_connection(req);
    fill_request(&r, req);
    for (size_t i = 0; path != NULL && i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (strncmp(path, routes[i].prefix, 3) != 0)
            continue;
        r.route = routes[i].route;
        r.token = path + 3;
        r.token_len = strlen(r.token);
        if ((r.method & ANSWERED_METHODS) == 0)
            pb_reply_method_not_allowed(&r, routes[i].allow);
        else
            routes[i].handler(&r);
        return;
    }
    pb_reply_not_found(&r);
}

static void admin_request(struct evhttp_request *req, void *arg)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    struct pb_store_stats stats;
    struct pb_request r;
    GString *body;

    follow_connection(req);
    fill_request(&r, req);
    if (path == NULL || (strcmp(path, "/healthz") != 0 && strcmp(path, "/metrics") != 0)) {
        pb_reply_not_found(&r);
        return;
    }
    r.route = strcmp(path, "/healthz") == 0 ? PB_ROUTE_HEALTHZ : PB_ROUTE_METRICS;
    if (r.method != EVHTTP_REQ_GET && r.method != EVHTTP_REQ_HEAD) {
        pb_reply_method_not_allowed(&r, "GET, HEAD");
        return;
    }
    pb_store_stats(&stats);
    body = g_string_new(NULL);
    if (r.route == PB_ROUTE_HEALTHZ) {
        g_string_append_printf(body, "ok\nredis: %s\njournal backlog: %zu\n"
                               "configuration generation: %lu\n",
                               stats.redis_up ? "up" : "down (events go to the journal)",
                               stats.backlog, srv.gen->number);
        pb_reply(&r, 200, "text/plain; charset=utf-8", body->str, body->len);
    } else {
        pb_metrics_render(body, &stats);
        pb_reply(&r, 200, "text/plain; version=0.0.4; charset=utf-8", body->str, body->len);
    }
    g_string_free(body, TRUE);
}

/* ---- start, reload, drain --------------------------------------------------------- */

static void apply_limits(struct evhttp *http, const struct pb_tracker_conf *tc)
{
    evhttp_set_max_headers_size(http, tc->max_header_size);
    evhttp_set_max_body_size(http, tc->max_body_size);
    evhttp_set_timeout(http, tc->timeout);
    /* GET, HEAD and POST are served; the other common methods reach the
     * handlers too, which answer 405 with an Allow header (better than
     * libevent's 501, and every request is followed for the drain). */
    evhttp_set_allowed_methods(http, ANSWERED_METHODS | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE
                                         | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
    evhttp_set_default_content_type(http, "text/plain; charset=utf-8");
}

static struct evhttp *new_http(struct event_base *base, const struct pb_tracker_conf *tc,
                               void (*cb)(struct evhttp_request *, void *))
{
    struct evhttp *http = evhttp_new(base);

    if (http == NULL)
        return NULL;
    apply_limits(http, tc);
    evhttp_set_gencb(http, cb, NULL);
    evhttp_set_bevcb(http, new_connection, NULL);
    return http;
}

int pb_server_start(struct event_base *base, const struct pb_tracker_gen *gen,
                    char *errbuf, size_t errlen)
{
    srv.base = base;
    srv.gen = gen;
    srv.conns = g_hash_table_new(g_direct_hash, g_direct_equal);
    srv.public_http = new_http(base, &gen->conf.tracker, public_request);
    srv.admin_http = new_http(base, &gen->conf.tracker, admin_request);
    if (srv.public_http == NULL || srv.admin_http == NULL) {
        snprintf(errbuf, errlen, "cannot create the HTTP server (out of memory)");
        return -1;
    }
    for (size_t i = 0; i < srv.nlisteners; i++) {
        struct listener *l = &srv.listeners[i];
        l->handle = evhttp_accept_socket_with_handle(l->admin ? srv.admin_http
                                                              : srv.public_http, l->fd);
        if (l->handle == NULL) {
            snprintf(errbuf, errlen, "cannot serve %s", l->spec);
            return -1;
        }
        l->fd = -1;             /* evhttp owns it now */
    }
    return 0;
}

void pb_server_set_gen(const struct pb_tracker_gen *gen)
{
    srv.gen = gen;
    apply_limits(srv.public_http, &gen->conf.tracker);
    apply_limits(srv.admin_http, &gen->conf.tracker);
}

int pb_server_draining(void)
{
    return srv.draining;
}

/* Free idle keep-alive connections; 1 when nothing is left in flight. */
static int drain_step(long long now)
{
    GHashTableIter iter;
    gpointer key, pending;
    GPtrArray *idle = g_ptr_array_new();
    int busy = 0;

    g_hash_table_iter_init(&iter, srv.conns);
    while (g_hash_table_iter_next(&iter, &key, &pending)) {
        if (GPOINTER_TO_INT(pending) > 0)
            busy = 1;
        else
            g_ptr_array_add(idle, key);
    }
    for (guint i = 0; i < idle->len; i++)
        evhttp_connection_free(g_ptr_array_index(idle, i));
    g_ptr_array_free(idle, TRUE);
    if (busy)
        return 0;
    /* Accepted connections that have not sent a request yet. */
    return srv.accepted == srv.seen || now - srv.drain_start_ms >= DRAIN_GRACE_MS;
}

static void drain_tick(evutil_socket_t fd, short what, void *arg)
{
    long long now = pb_event_now_ms();

    if (!drain_step(now) && now < srv.drain_deadline_ms)
        return;
    event_del(srv.drain_timer);
    pb_server_free();
    if (srv.drain_done != NULL)
        srv.drain_done(srv.drain_arg);
}

void pb_server_drain(int max_seconds, void (*done)(void *), void *arg)
{
    struct timeval tick = { 0, DRAIN_TICK_MS * 1000 };

    if (srv.draining)
        return;
    srv.draining = 1;
    srv.drain_done = done;
    srv.drain_arg = arg;
    srv.drain_start_ms = pb_event_now_ms();
    srv.drain_deadline_ms = srv.drain_start_ms + (long long)max_seconds * 1000;
    for (size_t i = 0; i < srv.nlisteners; i++) {
        struct listener *l = &srv.listeners[i];
        if (l->handle != NULL)
            evhttp_del_accept_socket(l->admin ? srv.admin_http : srv.public_http, l->handle);
        l->handle = NULL;
    }
    pb_log(LOG_INFO, "draining: no new connections; %u open", g_hash_table_size(srv.conns));
    srv.drain_timer = event_new(srv.base, -1, EV_PERSIST, drain_tick, NULL);
    event_add(srv.drain_timer, &tick);
}

void pb_server_free(void)
{
    for (size_t i = 0; i < srv.nlisteners; i++)
        if (srv.listeners[i].fd >= 0)
            close(srv.listeners[i].fd);
    srv.nlisteners = 0;
    if (srv.public_http != NULL)
        evhttp_free(srv.public_http);
    if (srv.admin_http != NULL)
        evhttp_free(srv.admin_http);
    srv.public_http = srv.admin_http = NULL;
    if (srv.drain_timer != NULL)
        event_free(srv.drain_timer);
    srv.drain_timer = NULL;
    if (srv.conns != NULL)
        g_hash_table_destroy(srv.conns);
    srv.conns = NULL;
}
