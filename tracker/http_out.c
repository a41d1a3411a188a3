/*
 * http_out.c - answers of the tracker's HTTP server (http.h): the status
 * line, a Date header (formatted once a second), Connection when the
 * connection ends or is HTTP/1.0 keep-alive, headers, Content-Length and
 * the body (none for HEAD), appended to the connection's output buffer,
 * which http_conn.c sends; and how a connection's buffers (output and
 * read) grow off their inline arrays and shrink back to them.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <glib.h>
#include "http_conn.h"
#include "log.h"

void pb_http_buf_grow(char **buf, size_t *cap, char *inline_buf, size_t used, size_t new_cap)
{
    if (*buf == inline_buf) {
        *buf = g_malloc(new_cap);
        memcpy(*buf, inline_buf, used);
    } else {
        *buf = g_realloc(*buf, new_cap);
    }
    *cap = new_cap;
}

void pb_http_buf_shrink(char **buf, size_t *cap, char *inline_buf, size_t used)
{
    if (used == 0 && *buf != inline_buf) {
        g_free(*buf);
        *buf = inline_buf;
        *cap = PB_HTTP_INLINE;
    }
}

static void out_reserve(struct pb_http_conn *c, size_t more)
{
    size_t need = c->out_len + more;
    size_t cap = c->out_cap;

    if (need <= cap)
        return;
    while (cap < need)
        cap *= 2;
    pb_http_buf_grow(&c->out, &c->out_cap, c->out_inline, c->out_len, cap);
}

void pb_http_out_append(struct pb_http_conn *c, const void *data, size_t len)
{
    out_reserve(c, len);
    memcpy(c->out + c->out_len, data, len);
    c->out_len += len;
}

void pb_http_out_shrink(struct pb_http_conn *c)
{
    pb_http_buf_shrink(&c->out, &c->out_cap, c->out_inline, c->out_len);
}

static void append_str(struct pb_http_conn *c, const char *s)
{
    pb_http_out_append(c, s, strlen(s));
}

/* "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n", made again when the second changes. */
static const char *date_line(size_t *len)
{
    static char line[64];
    static size_t line_len;
    static time_t made;
    time_t now = time(NULL);
    struct tm tm;

    if (now != made || line_len == 0) {
        gmtime_r(&now, &tm);
        line_len = strftime(line, sizeof(line), "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
        made = now;
    }
    *len = line_len;
    return line;
}

/* Decimal digits of v at the end of buf (size 24); returns where they start. */
static char *decimal(char *end, size_t v)
{
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    return end;
}

void pb_http_begin(struct pb_http_request *req, int status)
{
    struct pb_http_conn *c = req->conn;
    char code[4];
    const char *reason, *date;
    size_t date_len;

    if (status < 100 || status > 999)
        status = 500;
    code[0] = (char)('0' + status / 100);
    code[1] = (char)('0' + status / 10 % 10);
    code[2] = (char)('0' + status % 10);
    code[3] = ' ';
    reason = http_status_str((enum http_status)status);
    pb_http_out_append(c, "HTTP/1.1 ", 9);
    pb_http_out_append(c, code, 4);
    append_str(c, reason);
    pb_http_out_append(c, "\r\n", 2);
    date = date_line(&date_len);
    pb_http_out_append(c, date, date_len);
    if (!c->keep_alive || pb_http_draining())
        c->closing = 1;
    if (c->closing)
        append_str(c, "Connection: close\r\n");
    else if (req->http_minor == 0)
        append_str(c, "Connection: keep-alive\r\n");
}

void pb_http_header(struct pb_http_request *req, const char *name, const char *value)
{
    static struct pb_log_limit limit;
    struct pb_http_conn *c = req->conn;
    size_t name_len = strlen(name), value_len = strlen(value);

    if (memchr(value, '\r', value_len) != NULL || memchr(value, '\n', value_len) != NULL) {
        pb_log_limited(&limit, 10, LOG_ERR, "answer header %s with a line break not sent",
                       name);
        return;
    }
    out_reserve(c, name_len + value_len + 4);
    memcpy(c->out + c->out_len, name, name_len);
    memcpy(c->out + c->out_len + name_len, ": ", 2);
    memcpy(c->out + c->out_len + name_len + 2, value, value_len);
    memcpy(c->out + c->out_len + name_len + 2 + value_len, "\r\n", 2);
    c->out_len += name_len + value_len + 4;
}

void pb_http_end(struct pb_http_request *req, const void *body, size_t len)
{
    struct pb_http_conn *c = req->conn;
    char digits[24];
    char *start = decimal(digits + sizeof(digits), len);

    pb_http_out_append(c, "Content-Length: ", 16);
    pb_http_out_append(c, start, (size_t)(digits + sizeof(digits) - start));
    pb_http_out_append(c, "\r\n\r\n", 4);
    if (req->method != HTTP_HEAD && len > 0)
        pb_http_out_append(c, body, len);
    c->answered = 1;
}

void pb_http_answer_plain(struct pb_http_conn *c, int status, const char *text)
{
    pb_http_begin(&c->req, status);
    pb_http_header(&c->req, "Content-Type", "text/plain; charset=utf-8");
    pb_http_header(&c->req, "X-Content-Type-Options", "nosniff");
    pb_http_end(&c->req, text, strlen(text));
}
