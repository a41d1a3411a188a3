/*
 * admin.c - the scorer's admin listener (admin.h): a thread of its own
 * runs a libevent evhttp server on the sockets of scorer.admin_listen
 * (opened before privileges are dropped), so that serving /metrics never
 * holds up the scorer's blocking loop and the loop never holds up a
 * scrape. The two threads share one snapshot under a mutex: the scorer
 * copies its counters in after each step (pb_sc_admin_publish), the
 * admin thread copies them out per request; nothing else is shared.
 *
 * GET (or HEAD) /metrics: the counters (metrics_render.c) and the gauges
 * read from Redis (gauges.c). GET /healthz: 200 while the scorer's own
 * Redis connection is up and Redis answers this thread too, else 503.
 * Other paths 404, other methods on these two 405.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <event2/event.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include "admin.h"
#include "listen.h"
#include "log.h"

#define MAX_ADMIN_LISTENERS 16
#define REQUEST_TIMEOUT_S 10

struct pb_sc_admin {
    int fds[MAX_ADMIN_LISTENERS];
    size_t nfds;
    int wake[2];                /* the stop pipe: written by pb_sc_admin_stop */
    pthread_t thread;
    int running;
    struct event_base *base;
    struct evhttp *http;
    struct event *stop_ev;
    struct pb_sc_gauges *gauges;    /* the admin thread's only */
    char *consumer, *group;

    pthread_mutex_t lock;       /* guards what follows */
    struct pb_sc_snapshot snap;
    char **segments;            /* configured now, for the gauges (NULL-terminated) */
};

int pb_sc_admin_bind(const struct pb_strlist *addrs, struct pb_sc_admin **out, char *err,
                     size_t errlen)
{
    struct pb_sc_admin *a;

    *out = NULL;
    if (addrs->count == 0)
        return 0;
    if (addrs->count > MAX_ADMIN_LISTENERS) {
        snprintf(err, errlen, "scorer.admin_listen: more than %d addresses",
                 MAX_ADMIN_LISTENERS);
        return -1;
    }
    a = g_new0(struct pb_sc_admin, 1);
    a->wake[0] = a->wake[1] = -1;
    pthread_mutex_init(&a->lock, NULL);
    a->segments = g_new0(char *, 1);
    for (size_t i = 0; i < addrs->count; i++) {
        int fd = pb_listen_open(addrs->items[i], "scorer.admin_listen", err, errlen);
        if (fd < 0) {
            pb_sc_admin_stop(a);
            return -1;
        }
        a->fds[a->nfds++] = fd;
    }
    *out = a;
    return 0;
}

/* ---- the admin thread --------------------------------------------------------- */

/* The snapshot and the segments, copied out under the lock. */
static void take(struct pb_sc_admin *a, struct pb_sc_snapshot *snap, char ***segments)
{
    pthread_mutex_lock(&a->lock);
    *snap = a->snap;
    *segments = g_strdupv(a->segments);
    pthread_mutex_unlock(&a->lock);
}

static void reply(struct evhttp_request *req, int code, const char *reason, const char *type,
                  const GString *body)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);

    evhttp_add_header(h, "Content-Type", type);
    evhttp_add_header(h, "Cache-Control", "no-store");
    evbuffer_add(evhttp_request_get_output_buffer(req), body->str, body->len);
    evhttp_send_reply(req, code, reason, NULL);
}

static void healthz(struct pb_sc_admin *a, struct evhttp_request *req)
{
    struct pb_sc_snapshot snap;
    char **segments;
    GString *body = g_string_new(NULL);
    int up, ok;

    take(a, &snap, &segments);
    up = pb_sc_gauges_update(a->gauges, segments);
    ok = up && snap.connected;
    g_string_append_printf(body, "%s\nredis: %s%s%s\nscorer: %s\n", ok ? "ok" : "unavailable",
                           up ? "up" : "down (", up ? "" : pb_sc_gauges_error(a->gauges),
                           up ? "" : ")", snap.connected ? "connected"
                                                         : "reconnecting to Redis");
    reply(req, ok ? 200 : 503, ok ? "OK" : "Service Unavailable", "text/plain; charset=utf-8",
          body);
    g_string_free(body, TRUE);
    g_strfreev(segments);
}

static void metrics(struct pb_sc_admin *a, struct evhttp_request *req)
{
    struct pb_sc_snapshot snap;
    char **segments;
    GString *body = g_string_sized_new(16384);

    take(a, &snap, &segments);
    pb_sc_gauges_update(a->gauges, segments);
    pb_sc_render_counters(&snap, body);
    pb_sc_gauges_render(a->gauges, body);
    reply(req, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", body);
    g_string_free(body, TRUE);
    g_strfreev(segments);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct pb_sc_admin *a = arg;
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    enum evhttp_cmd_type method = evhttp_request_get_command(req);
    int is_metrics = path != NULL && strcmp(path, "/metrics") == 0;
    int is_healthz = path != NULL && strcmp(path, "/healthz") == 0;
    GString *body;

    if ((is_metrics || is_healthz) && (method == EVHTTP_REQ_GET || method == EVHTTP_REQ_HEAD)) {
        if (is_metrics)
            metrics(a, req);
        else
            healthz(a, req);
        return;
    }
    body = g_string_new(is_metrics || is_healthz ? "Method not allowed.\n" : "Not found.\n");
    if (is_metrics || is_healthz) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
        reply(req, 405, "Method Not Allowed", "text/plain; charset=utf-8", body);
    } else {
        reply(req, 404, "Not Found", "text/plain; charset=utf-8", body);
    }
    g_string_free(body, TRUE);
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    event_base_loopbreak(arg);
}

static void *serve(void *arg)
{
    struct pb_sc_admin *a = arg;

    event_base_dispatch(a->base);
    return NULL;
}

/* ---- start, publish, stop ---------------------------------------------------------- */

/* The event loop, the HTTP server on the sockets and the stop pipe. */
static int make_server(struct pb_sc_admin *a, char *err, size_t errlen)
{
    a->base = event_base_new();
    a->http = a->base ? evhttp_new(a->base) : NULL;
    if (a->http == NULL || pipe2(a->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        snprintf(err, errlen, "cannot create the admin listener: %s",
                 a->http == NULL ? "out of memory" : strerror(errno));
        return -1;
    }
    evhttp_set_allowed_methods(a->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD
                               | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS
                               | EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
    evhttp_set_timeout(a->http, REQUEST_TIMEOUT_S);
    evhttp_set_max_headers_size(a->http, 16384);
    evhttp_set_max_body_size(a->http, 4096);
    evhttp_set_gencb(a->http, on_request, a);
    for (size_t i = 0; i < a->nfds; i++) {
        if (evhttp_accept_socket_with_handle(a->http, a->fds[i]) == NULL) {
            snprintf(err, errlen, "cannot serve the admin listener");
            return -1;
        }
        a->fds[i] = -1;         /* evhttp closes it now */
    }
    a->stop_ev = event_new(a->base, a->wake[0], EV_READ, on_stop, a->base);
    if (a->stop_ev == NULL || event_add(a->stop_ev, NULL) != 0) {
        snprintf(err, errlen, "cannot create the admin listener: out of memory");
        return -1;
    }
    return 0;
}

int pb_sc_admin_start(struct pb_sc_admin *a, const struct pb_conf *conf, const char *consumer,
                      char *err, size_t errlen)
{
    sigset_t all, old;
    int rc;

    if (a == NULL)
        return 0;
    a->consumer = g_strdup(consumer);
    a->group = g_strdup(conf->scorer.consumer_group);
    a->snap.consumer = a->consumer;
    a->snap.group = a->group;
    a->gauges = pb_sc_gauges_new(conf);
    if (make_server(a, err, errlen) != 0)
        return -1;
    /* signals stay with the scorer's thread: its loop checks their flags */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    rc = pthread_create(&a->thread, NULL, serve, a);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the admin thread: %s", strerror(rc));
        return -1;
    }
    a->running = 1;
    return 0;
}

/* Whether names are the segments of d, in their order (a reload may
 * change them). */
static int same_segments(char *const *names, const struct pb_segdefs *d)
{
    size_t i = 0;

    for (; names[i] != NULL && i < d->count; i++)
        if (strcmp(names[i], d->items[i].name) != 0)
            return 0;
    return names[i] == NULL && i == d->count;
}

void pb_sc_admin_publish(struct pb_sc_admin *a, const struct pb_scorer *s)
{
    if (a == NULL)
        return;
    pthread_mutex_lock(&a->lock);
    a->snap.stats = s->stats;
    a->snap.counts = s->metrics.counts;
    a->snap.types = s->metrics.types.names;
    a->snap.ntypes = s->metrics.types.count;
    a->snap.segnames = s->metrics.segments.names;
    a->snap.nsegnames = s->metrics.segments.count;
    a->snap.connected = s->c != NULL;
    if (!same_segments(a->segments, &s->rules->segs)) {
        g_strfreev(a->segments);
        a->segments = g_new0(char *, s->rules->segs.count + 1);
        for (size_t i = 0; i < s->rules->segs.count; i++)
            a->segments[i] = g_strdup(s->rules->segs.items[i].name);
    }
    pthread_mutex_unlock(&a->lock);
}

void pb_sc_admin_stop(struct pb_sc_admin *a)
{
    if (a == NULL)
        return;
    if (a->running) {
        (void)!write(a->wake[1], "", 1);
        pthread_join(a->thread, NULL);
    }
    if (a->stop_ev != NULL)
        event_free(a->stop_ev);
    if (a->http != NULL)
        evhttp_free(a->http);
    if (a->base != NULL)
        event_base_free(a->base);
    for (size_t i = 0; i < a->nfds; i++)
        if (a->fds[i] >= 0)
            close(a->fds[i]);
    for (int i = 0; i < 2; i++)
        if (a->wake[i] >= 0)
            close(a->wake[i]);
    pb_sc_gauges_free(a->gauges);
    g_strfreev(a->segments);
    g_free(a->consumer);
    g_free(a->group);
    pthread_mutex_destroy(&a->lock);
    g_free(a);
}
