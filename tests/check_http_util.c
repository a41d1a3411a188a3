/*
 * check_http_util.c - the harness of the HTTP server unit tests
 * (check_http.h): the server on a private event loop with a recording
 * handler and error handler, raw client sockets, running the loop in
 * bounded passes, and reading the answers the clients received.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include "check_http.h"
#include "log.h"

#define MAX_PASSES 100          /* a bound on waiting, never a time to assert on */
#define WAKE_MS 20              /* a pass ends after this when the server has nothing to do */

struct th_seen th_seen[TH_MAX];
int th_nseen;
int th_error_status[TH_MAX];
char *th_error_path[TH_MAX];
int th_nerrors;
const char *th_extra_value;
size_t th_answer_size;
int th_no_answer;

static struct event_base *base;
static struct event *wake;
static int port;
static struct th_client *clients[TH_MAX];
static int nclients;

/* ---- the server's handlers ----------------------------------------------- */

static char *copy_or_null(const char *s)
{
    return s != NULL ? g_strdup(s) : NULL;
}

static void record(const struct pb_http_request *req)
{
    struct th_seen *s;

    if (th_nseen++ >= TH_MAX)
        return;
    s = &th_seen[th_nseen - 1];
    s->method = req->method;
    s->path = req->path != NULL ? g_strndup(req->path, req->path_len) : NULL;
    s->user_agent = copy_or_null(req->user_agent);
    s->content_type = copy_or_null(req->content_type);
    s->forwarded_for = copy_or_null(req->forwarded_for);
    if (req->body != NULL) {
        s->body = g_strndup(req->body, req->body_len);
        s->body_len = req->body_len;
    }
    s->http_minor = req->http_minor;
    s->admin = req->admin;
}

static void handler(struct pb_http_request *req)
{
    record(req);
    if (th_no_answer)
        return;
    pb_http_begin(req, 200);
    pb_http_header(req, "Content-Type", "text/plain");
    if (th_extra_value != NULL)
        pb_http_header(req, "X-Extra", th_extra_value);
    if (th_answer_size > 0) {
        char *big = g_malloc(th_answer_size);

        memset(big, 'x', th_answer_size);
        pb_http_end(req, big, th_answer_size);
        g_free(big);
    } else {
        char *text = g_strdup_printf("%s %s", http_method_str(req->method),
                                     req->path != NULL ? req->path : "-");

        pb_http_end(req, text, strlen(text));
        g_free(text);
    }
}

static void error_handler(struct pb_http_request *req, int status)
{
    char text[32];

    ck_assert_int_lt(th_nerrors, TH_MAX);
    th_error_status[th_nerrors] = status;
    th_error_path[th_nerrors++] = req->path != NULL ? g_strndup(req->path, req->path_len)
                                                    : NULL;
    snprintf(text, sizeof(text), "refused %d", status);
    pb_http_begin(req, status);
    pb_http_header(req, "Content-Type", "text/plain");
    pb_http_end(req, text, strlen(text));
}

/* ---- the server ------------------------------------------------------------ */

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
}

int th_listen(int admin)
{
    struct sockaddr_in sin = { .sin_family = AF_INET };
    socklen_t len = sizeof(sin);
    char err[256] = "";
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    ck_assert_int_ge(fd, 0);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    ck_assert_int_eq(listen(fd, 16), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    ck_assert_msg(pb_http_listen(fd, admin, 0, err, sizeof(err)) == 0, "listen: %s", err);
    return ntohs(sin.sin_port);
}

void th_start(const struct pb_http_limits *limits)
{
    char err[256] = "";

    pb_log_init("check_http", 1, NULL);
    base = event_base_new();
    ck_assert_ptr_nonnull(base);
    wake = evtimer_new(base, on_wake, NULL);
    ck_assert_msg(pb_http_init(base, handler, error_handler, err, sizeof(err)) == 0, "init: %s",
                  err);
    if (limits != NULL)
        pb_http_set_limits(limits);
    port = th_listen(0);
}

static void response_free(struct th_response *r)
{
    g_free(r->head);
    g_free(r->body);
}

static void seen_free(struct th_seen *s)
{
    g_free(s->path);
    g_free(s->user_agent);
    g_free(s->content_type);
    g_free(s->forwarded_for);
    g_free(s->body);
    memset(s, 0, sizeof(*s));
}

void th_stop(void)
{
    pb_http_free();
    for (int i = 0; i < nclients; i++) {
        if (clients[i]->fd >= 0)
            close(clients[i]->fd);
        for (int j = 0; j < clients[i]->nresp; j++)
            response_free(&clients[i]->resp[j]);
        g_string_free(clients[i]->in, TRUE);
        g_free(clients[i]);
    }
    nclients = 0;
    for (int i = 0; i < th_nseen && i < TH_MAX; i++)
        seen_free(&th_seen[i]);
    th_nseen = 0;
    for (int i = 0; i < th_nerrors; i++)
        g_free(th_error_path[i]);
    th_nerrors = 0;
    th_extra_value = NULL;
    th_answer_size = 0;
    th_no_answer = 0;
    event_free(wake);
    event_base_free(base);
    base = NULL;
}

int th_port(void)
{
    return port;
}

/* ---- clients ---------------------------------------------------------------------- */

static void client_read(struct th_client *cl)
{
    char buf[16384];

    while (!cl->eof && cl->fd >= 0) {
        ssize_t n = read(cl->fd, buf, sizeof(buf));

        if (n > 0)
            g_string_append_len(cl->in, buf, n);
        else if (n == 0 || (errno != EAGAIN && errno != EINTR))
            cl->eof = 1;
        else if (errno == EAGAIN)
            break;
    }
}

void th_pass(void)
{
    struct timeval tv = { 0, WAKE_MS * 1000 };

    evtimer_add(wake, &tv);
    event_base_loop(base, EVLOOP_ONCE);
    evtimer_del(wake);
    for (int i = 0; i < nclients; i++)
        client_read(clients[i]);
}

struct th_client *th_connect(void)
{
    return th_connect_to(port);
}

struct th_client *th_connect_to(int to_port)
{
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)to_port) };
    struct pb_http_stats before, now;
    struct th_client *cl;
    int one = 1;

    ck_assert_int_lt(nclients, TH_MAX);
    cl = g_new0(struct th_client, 1);
    cl->in = g_string_new(NULL);
    cl->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(cl->fd, 0);
    clients[nclients++] = cl;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(cl->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    ck_assert_int_eq(fcntl(cl->fd, F_SETFL, O_NONBLOCK), 0);
    /* every write goes out at once (no waiting for the server's delayed ACK) */
    ck_assert_int_eq(setsockopt(cl->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)), 0);
    pb_http_stats(&before);
    now = before;
    for (int i = 0; i < MAX_PASSES && now.accepted + now.refused == before.accepted
                                                                 + before.refused; i++) {
        th_pass();
        pb_http_stats(&now);
    }
    ck_assert_uint_eq(now.accepted + now.refused, before.accepted + before.refused + 1);
    return cl;
}

void th_send(struct th_client *cl, const char *data, size_t len)
{
    size_t sent = 0;

    for (int i = 0; sent < len && i < MAX_PASSES; i++) {
        ssize_t n = send(cl->fd, data + sent, len - sent, MSG_NOSIGNAL);

        if (n > 0)
            sent += (size_t)n;
        else if (errno != EAGAIN && errno != EINTR)
            break;              /* the server closed: the test looks at what it answered */
        else
            th_pass();
    }
}

void th_send_str(struct th_client *cl, const char *s)
{
    th_send(cl, s, strlen(s));
}

void th_send_bytewise(struct th_client *cl, const char *s)
{
    for (; *s != '\0'; s++) {
        th_send(cl, s, 1);
        th_pass();
    }
}

/* ---- answers ---------------------------------------------------------------------- */

static size_t content_length(const char *head)
{
    const char *v = th_header(&(struct th_response){ .head = (char *)head }, "Content-Length");

    return v != NULL ? strtoul(v, NULL, 10) : 0;
}

/* Make the next complete response out of the bytes received; 0 if there is none yet. */
static int parse_one(struct th_client *cl, int head)
{
    const char *start = cl->in->str + cl->parsed;
    const char *end = g_strstr_len(start, (gssize)(cl->in->len - cl->parsed), "\r\n\r\n");
    struct th_response *r = &cl->resp[cl->nresp];
    size_t head_len, body_len = 0;
    int status;

    if (end == NULL || cl->nresp == TH_MAX)
        return 0;
    head_len = (size_t)(end - start) + 2;
    ck_assert_msg(sscanf(start, "HTTP/1.1 %3d ", &status) == 1, "not a status line: %.40s",
                  start);
    r->head = g_strndup(start, head_len);
    if (status >= 200 && !head)
        body_len = content_length(r->head);
    if (cl->parsed + head_len + 2 + body_len > cl->in->len) {
        g_free(r->head);
        r->head = NULL;
        return 0;
    }
    r->status = status;
    r->body = g_strndup(end + 4, body_len);
    r->body_len = body_len;
    cl->parsed += head_len + 2 + body_len;
    cl->nresp++;
    return 1;
}

int th_wait(struct th_client *cl, int nresp, unsigned head_mask)
{
    for (int i = 0; i < MAX_PASSES; i++) {
        while (cl->nresp < nresp && parse_one(cl, (head_mask >> cl->nresp) & 1))
            ;
        if (cl->nresp >= nresp || cl->eof)
            break;
        th_pass();
    }
    return cl->nresp;
}

int th_wait_eof(struct th_client *cl)
{
    for (int i = 0; i < MAX_PASSES && !cl->eof; i++)
        th_pass();
    return cl->eof;
}

const char *th_header(const struct th_response *r, const char *name)
{
    static char value[1024];
    size_t name_len = strlen(name);
    const char *line = strstr(r->head, "\r\n");

    for (; line != NULL && line[2] != '\0'; line = strstr(line + 2, "\r\n")) {
        const char *field = line + 2;

        if (strncasecmp(field, name, name_len) == 0 && field[name_len] == ':') {
            const char *v = field + name_len + 1;
            size_t len = strcspn(v, "\r");

            while (*v == ' ')
                v++, len--;
            snprintf(value, sizeof(value), "%.*s", (int)len, v);
            return value;
        }
    }
    return NULL;
}
