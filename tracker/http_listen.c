/*
 * http_listen.c - accepting connections for the tracker's HTTP server
 * (http.h): the listening sockets, the connection limit (public
 * connections: the configured maximum, or else the open-file limit, raised
 * to its hard maximum, minus a reserve for Redis, the journal and the
 * admin listeners, which have a small allowance of their own; a configured
 * maximum above that is cut to it), a 503 for a connection over the limit
 * (TLS listeners just close it: a plain answer would be garbage there),
 * a short pause when the process runs out of file descriptors, and the
 * TLS context that new connections on TLS listeners get.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include "http_conn.h"
#include "log.h"

#define MAX_LISTENERS 32
#define ACCEPT_BATCH 64
#define ACCEPT_PAUSE_MS 100     /* after running out of file descriptors */
#define FD_RESERVE 48           /* descriptors kept for Redis, the journal, admin connections */
#define ADMIN_CONNECTIONS 16
#define NOFILE_MAX 65536

struct listener {
    int fd;
    int admin;                  /* the kind: PB_HTTP_PUBLIC, _ADMIN or _EVENTS */
    int tls;
    struct event *ev;
};

static struct {
    struct event_base *base;
    struct listener listeners[MAX_LISTENERS];
    size_t nlisteners;
    struct event *accept_timer;
    size_t max_connections;     /* the public limit in effect */
    size_t max_asked;           /* the last pb_http_set_max_connections (0: none) */
    unsigned long refused;
    SSL_CTX *tls_ctx;
} lst;

static const char refused_answer[] =
    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
    "X-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n"
    "Cache-Control: no-store\r\nRetry-After: 1\r\nConnection: close\r\n"
    "Content-Length: 18\r\n\r\nToo many clients.\n";

static void refuse(int fd, int tls)
{
    static struct pb_log_limit limit;

    lst.refused++;
    pb_log_limited(&limit, 6, LOG_WARNING, "connection limit (%zu) reached: refusing new "
                   "connections with 503", lst.max_connections);
    if (!tls)
        (void)!send(fd, refused_answer, sizeof(refused_answer) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    close(fd);
}

static void listen_all(int on)
{
    for (size_t i = 0; i < lst.nlisteners; i++) {
        if (on)
            event_add(lst.listeners[i].ev, NULL);
        else
            event_del(lst.listeners[i].ev);
    }
}

static void on_accept_timer(evutil_socket_t fd, short what, void *arg)
{
    if (!pb_http_draining())
        listen_all(1);
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
    static struct pb_log_limit limit;
    struct listener *l = arg;

    for (int i = 0; i < ACCEPT_BATCH; i++) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        int fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            pb_log_limited(&limit, 6, LOG_WARNING, "cannot accept a connection: %s",
                           strerror(errno));
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                struct timeval pause = { 0, ACCEPT_PAUSE_MS * 1000 };
                listen_all(0);
                event_add(lst.accept_timer, &pause);
            }
            return;
        }
        if (pb_http_open(l->admin == PB_HTTP_ADMIN)
            >= (l->admin == PB_HTTP_ADMIN ? ADMIN_CONNECTIONS : lst.max_connections))
            refuse(fd, l->tls);
        else if (pb_http_conn_new(fd, &ss, l->admin, l->tls) != 0)
            close(fd);
    }
}

/* The open-file soft limit, raised first towards want files (at most the
 * hard limit); at most want. */
static rlim_t open_file_limit(rlim_t want)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 1024;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want)
        want = rl.rlim_max;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
        rl.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > want ? want : rl.rlim_cur;
}

/* The public connections an open-file limit of files leaves room for. */
static size_t connections_for(rlim_t files)
{
    return files > FD_RESERVE + 1 ? (size_t)(files - FD_RESERVE) : 1;
}

size_t pb_http_set_max_connections(size_t max)
{
    rlim_t want = NOFILE_MAX, files;
    size_t allowed;

    if (max > NOFILE_MAX - FD_RESERVE)     /* above the usual cap: ask for more files */
        want = (rlim_t)max + FD_RESERVE;
    files = open_file_limit(want);
    allowed = connections_for(files);
    if (max > allowed && max != lst.max_asked)
        pb_log(LOG_WARNING, "tracker.max_connections = %zu is more than the open-file limit "
               "allows: %llu files leave %zu public connections (%d are kept for Redis, the "
               "journal and admin connections), so at most %zu are served; raise LimitNOFILE= "
               "in the systemd unit (or ulimit -n) to at least %zu", max,
               (unsigned long long)files, allowed, FD_RESERVE, allowed, max + FD_RESERVE);
    lst.max_asked = max;
    lst.max_connections = max > 0 && max < allowed ? max : allowed;
    return lst.max_connections;
}

int pb_http_listen_init(struct event_base *base, char *errbuf, size_t errlen)
{
    memset(&lst, 0, sizeof(lst));
    lst.base = base;
    lst.max_connections = connections_for(open_file_limit(NOFILE_MAX));
    lst.accept_timer = evtimer_new(base, on_accept_timer, NULL);
    if (lst.accept_timer == NULL) {
        snprintf(errbuf, errlen, "cannot create the HTTP server (out of memory)");
        return -1;
    }
    return 0;
}

int pb_http_listen(int fd, int admin, int tls, char *errbuf, size_t errlen)
{
    struct listener *l;

    if (lst.nlisteners >= MAX_LISTENERS) {
        snprintf(errbuf, errlen, "more than %d listening sockets", MAX_LISTENERS);
        close(fd);
        return -1;
    }
    l = &lst.listeners[lst.nlisteners];
    l->fd = fd;
    l->admin = admin;
    l->tls = tls;
    l->ev = event_new(lst.base, fd, EV_READ | EV_PERSIST, on_accept, l);
    if (l->ev == NULL || event_add(l->ev, NULL) != 0) {
        snprintf(errbuf, errlen, "cannot watch a listening socket");
        if (l->ev != NULL)
            event_free(l->ev);
        close(fd);
        return -1;
    }
    lst.nlisteners++;
    return 0;
}

void pb_http_listen_close(void)
{
    for (size_t i = 0; i < lst.nlisteners; i++) {
        event_free(lst.listeners[i].ev);
        close(lst.listeners[i].fd);
    }
    lst.nlisteners = 0;
    if (lst.accept_timer != NULL)
        event_free(lst.accept_timer);
    lst.accept_timer = NULL;
    pb_http_set_tls(NULL);
}

void pb_http_set_tls(SSL_CTX *ctx)
{
    if (ctx != NULL)
        SSL_CTX_up_ref(ctx);
    SSL_CTX_free(lst.tls_ctx);
    lst.tls_ctx = ctx;
}

SSL_CTX *pb_http_tls_ctx(void)
{
    return lst.tls_ctx;
}

void pb_http_listen_stats(struct pb_http_stats *out)
{
    out->refused = lst.refused;
    out->max_connections = lst.max_connections;
}
