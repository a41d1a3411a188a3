/*
 * server.c - listening sockets, routing and the drain (server.h), on the
 * HTTP server of http.h.
 *
 * Requests are answered synchronously, so a drain only has to wait for
 * requests still arriving and answers still being sent: it closes idle
 * connections at once, gives connections that have not sent a byte yet a
 * short grace to send their request, and stops when nothing is left or
 * the time is up.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include "events.h"
#include "http.h"
#include "listen.h"
#include "log.h"
#include "routes.h"
#include "server.h"

#define MAX_LISTENERS 32
#define DRAIN_TICK_MS 20
#define DRAIN_GRACE_MS 1000     /* wait for requests on fresh connections */

struct listener {
    int fd;
    int admin;
    int tls;
    char spec[64];
};

static struct {
    struct listener listeners[MAX_LISTENERS];
    size_t nlisteners;
    struct event_base *base;
    const struct pb_tracker_gen *gen;
    int started, draining;
    struct event *drain_timer;
    long long drain_start_ms, drain_deadline_ms;
    void (*drain_done)(void *);
    void *drain_arg;
} srv;

/* ---- listening sockets ------------------------------------------------------ */

/* The setting a listener comes from, for messages. */
static const char *listen_setting(int kind, int tls)
{
    return kind == PB_HTTP_ADMIN ? "tracker.admin_listen"
         : kind == PB_HTTP_EVENTS ? "tracker.events_listen"
         : tls ? "tracker.tls_listen" : "tracker.listen";
}

static int open_listener(const char *spec, int admin, int tls, char *errbuf, size_t errlen)
{
    struct listener *l;
    int fd;

    if (srv.nlisteners >= MAX_LISTENERS) {
        snprintf(errbuf, errlen, "more than %d listen addresses", MAX_LISTENERS);
        return -1;
    }
    fd = pb_listen_open(spec, listen_setting(admin, tls), errbuf, errlen);
    if (fd < 0)
        return -1;
    l = &srv.listeners[srv.nlisteners++];
    l->fd = fd;
    l->admin = admin;
    l->tls = tls;
    snprintf(l->spec, sizeof(l->spec), "%s", spec);
    return 0;
}

int pb_server_bind(const struct pb_tracker_conf *tc, char *errbuf, size_t errlen)
{
    if (tc->listen.count == 0 && tc->tls_listen.count == 0) {
        snprintf(errbuf, errlen, "tracker.listen and tracker.tls_listen are empty: give at "
                 "least one address");
        return -1;
    }
    for (size_t i = 0; i < tc->listen.count; i++)
        if (open_listener(tc->listen.items[i], 0, 0, errbuf, errlen) != 0)
            return -1;
    for (size_t i = 0; i < tc->tls_listen.count; i++)
        if (open_listener(tc->tls_listen.items[i], 0, 1, errbuf, errlen) != 0)
            return -1;
    for (size_t i = 0; i < tc->admin_listen.count; i++)
        if (open_listener(tc->admin_listen.items[i], PB_HTTP_ADMIN, 0, errbuf, errlen) != 0)
            return -1;
    for (size_t i = 0; i < tc->events_listen.count; i++)
        if (open_listener(tc->events_listen.items[i], PB_HTTP_EVENTS, 0, errbuf, errlen) != 0)
            return -1;
    return 0;
}

/* ---- routing -------------------------------------------------------------------- */

static void fill_request(struct pb_request *r, struct pb_http_request *req)
{
    struct pb_ipaddr peer;

    r->req = req;
    r->gen = srv.gen;
    r->route = PB_ROUTE_OTHER;
    r->method = (int)req->method;
    r->head = req->method == HTTP_HEAD;
    r->token = "";
    r->token_len = 0;
    r->user_agent = req->user_agent;
    r->now_ms = pb_event_now_ms();
    r->nheaders = 0;
    if (pb_ipaddr_from_sockaddr(req->peer, &peer) != 0)
        memset(&peer, 0, sizeof(peer));
    pb_client_addr(&peer, req->forwarded_for, &srv.gen->proxies, &r->client);
    pb_ipaddr_format(&r->client, srv.gen->conf.tracker.full_ip, r->client_text,
                     sizeof(r->client_text));
}

static const struct public_route {
    const char *prefix;
    enum pb_route route;
    const char *allow;
    void (*handler)(struct pb_request *);
} public_routes[] = {
    { "/c/", PB_ROUTE_CLICK, "GET, HEAD", pb_route_click },
    { "/o/", PB_ROUTE_OPEN, "GET, HEAD", pb_route_open },
    { "/u/", PB_ROUTE_UNSUBSCRIBE, "GET, HEAD, POST", pb_route_unsubscribe },
};

static const struct public_route *find_public_route(const char *path)
{
    for (size_t i = 0; path != NULL && i < sizeof(public_routes) / sizeof(public_routes[0]); i++)
        if (strncmp(path, public_routes[i].prefix, 3) == 0)
            return &public_routes[i];
    return NULL;
}

static enum pb_route admin_route(const char *path)
{
    if (path != NULL && strcmp(path, "/healthz") == 0)
        return PB_ROUTE_HEALTHZ;
    if (path != NULL && strcmp(path, "/metrics") == 0)
        return PB_ROUTE_METRICS;
    return PB_ROUTE_OTHER;
}

/* 1 if the request is for the custom-event endpoint and it is served here. */
static int is_event_request(const struct pb_http_request *req)
{
    return req->path != NULL && strcmp(req->path, PB_HTTP_EVENTS_PATH) == 0
           && (req->events_listener || srv.gen->conf.tracker.events_on_public);
}

static void public_request(struct pb_request *r, struct pb_http_request *req)
{
    const struct public_route *route = find_public_route(req->path);

    if (is_event_request(req)) {
        r->route = PB_ROUTE_EVENT;
        pb_route_event(r);
        return;
    }
    if (req->events_listener) {     /* serves /e only */
        pb_reply_not_found(r);
        return;
    }

    if (route == NULL) {
        pb_reply_not_found(r);
        return;
    }
    r->route = route->route;
    r->token = req->path + 3;
    r->token_len = req->path_len - 3;
    if (req->method != HTTP_GET && req->method != HTTP_HEAD && req->method != HTTP_POST)
        pb_reply_method_not_allowed(r, route->allow);
    else
        route->handler(r);
}

static void admin_request(struct pb_request *r, struct pb_http_request *req)
{
    struct pb_store_stats stats;
    struct pb_http_stats http_stats;
    GString *body;

    r->route = admin_route(req->path);
    if (r->route == PB_ROUTE_OTHER) {
        pb_reply_not_found(r);
        return;
    }
    if (req->method != HTTP_GET && req->method != HTTP_HEAD) {
        pb_reply_method_not_allowed(r, "GET, HEAD");
        return;
    }
    pb_store_stats(&stats);
    body = g_string_new(NULL);
    if (r->route == PB_ROUTE_HEALTHZ) {
        g_string_append(body, "ok\nredis: ");
        if (stats.refusing)
            g_string_append_printf(body, "refusing writes (%s; events wait in the journal)",
                                   stats.refusing);
        else
            g_string_append(body, stats.redis_up ? "up" : "down (events wait in the journal)");
        g_string_append_printf(body, "\njournal backlog: %zu\nconfiguration generation: %lu\n",
                               stats.backlog, srv.gen->number);
        pb_reply(r, 200, "text/plain; charset=utf-8", body->str, body->len);
    } else {
        pb_http_stats(&http_stats);
        pb_metrics_render(body, &stats, &http_stats);
        pb_reply(r, 200, "text/plain; version=0.0.4; charset=utf-8", body->str, body->len);
    }
    g_string_free(body, TRUE);
}

static void handle_request(struct pb_http_request *req)
{
    struct pb_request r;

    fill_request(&r, req);
    if (req->admin)
        admin_request(&r, req);
    else
        public_request(&r, req);
}

/* 400, 413 and 431 from the HTTP server, counted like every answer. */
static void handle_error(struct pb_http_request *req, int status)
{
    const struct public_route *route;
    struct pb_request r;

    fill_request(&r, req);
    if (req->admin) {
        r.route = admin_route(req->path);
    } else if (is_event_request(req)) {
        r.route = PB_ROUTE_EVENT;
        pb_event_reply_error(&r, status);
        return;
    } else if ((route = find_public_route(req->path)) != NULL) {
        r.route = route->route;
    }
    pb_reply_text(&r, status, status == 413 ? "Request body too large.\n"
                              : status == 431 ? "Request header fields too large.\n"
                              : "Bad request.\n");
}

/* ---- start, reload, drain --------------------------------------------------------- */

/* The request limits and the connection limit (new connections only). */
static void apply_limits(const struct pb_tracker_conf *tc)
{
    struct pb_http_limits limits = {
        .max_header_size = (size_t)tc->max_header_size,
        .max_body_size = (size_t)tc->max_body_size,
        .max_events_body_size = tc->events_listen.count > 0 || tc->events_on_public
                                ? (size_t)tc->events_max_body : 0,
        .timeout = tc->timeout,
    };

    pb_http_set_limits(&limits);
    if (srv.started)
        pb_http_set_max_connections((size_t)tc->max_connections);
}

/* The HTTP barrier: no answer leaves before its event is in the journal. */
static int events_uncommitted(void *arg)
{
    (void)arg;
    return pb_store_uncommitted();
}

static void commit_events(void *arg)
{
    (void)arg;
    pb_store_commit();
}

int pb_server_start(struct event_base *base, const struct pb_tracker_gen *gen,
                    char *errbuf, size_t errlen)
{
    srv.base = base;
    srv.gen = gen;
    if (pb_http_init(base, handle_request, handle_error, errbuf, errlen) != 0)
        return -1;
    pb_http_set_barrier(events_uncommitted, commit_events, NULL);
    srv.started = 1;
    apply_limits(&gen->conf.tracker);
    pb_http_set_tls(gen->tls);
    for (size_t i = 0; i < srv.nlisteners; i++) {
        struct listener *l = &srv.listeners[i];
        int fd = l->fd;

        l->fd = -1;             /* the HTTP server owns it now, even on failure */
        if (pb_http_listen(fd, l->admin, l->tls, errbuf, errlen) != 0)
            return -1;
    }
    return 0;
}

void pb_server_set_gen(const struct pb_tracker_gen *gen)
{
    srv.gen = gen;
    apply_limits(&gen->conf.tracker);
    if (srv.started)
        pb_http_set_tls(gen->tls);
}

int pb_server_draining(void)
{
    return srv.draining;
}

static void drain_tick(evutil_socket_t fd, short what, void *arg)
{
    long long now = pb_event_now_ms();
    size_t busy = pb_http_close_idle(now - srv.drain_start_ms >= DRAIN_GRACE_MS);

    if (busy > 0 && now < srv.drain_deadline_ms)
        return;
    event_del(srv.drain_timer);
    pb_server_free();
    if (srv.drain_done != NULL)
        srv.drain_done(srv.drain_arg);
}

void pb_server_drain(int max_seconds, void (*done)(void *), void *arg)
{
    struct timeval tick = { 0, DRAIN_TICK_MS * 1000 };
    struct pb_http_stats stats;

    if (srv.draining)
        return;
    srv.draining = 1;
    srv.drain_done = done;
    srv.drain_arg = arg;
    srv.drain_start_ms = pb_event_now_ms();
    srv.drain_deadline_ms = srv.drain_start_ms + (long long)max_seconds * 1000;
    pb_http_drain();
    pb_http_close_idle(0);
    pb_http_stats(&stats);
    pb_log(LOG_INFO, "draining: no new connections; %zu open", stats.open);
    srv.drain_timer = event_new(srv.base, -1, EV_PERSIST, drain_tick, NULL);
    event_add(srv.drain_timer, &tick);
}

void pb_server_free(void)
{
    for (size_t i = 0; i < srv.nlisteners; i++)
        if (srv.listeners[i].fd >= 0)
            close(srv.listeners[i].fd);
    srv.nlisteners = 0;
    if (srv.started)
        pb_http_free();
    srv.started = 0;
    if (srv.drain_timer != NULL)
        event_free(srv.drain_timer);
    srv.drain_timer = NULL;
}
