/*
 * submit_smtp.c - pb_submit_smtp(): submit a message over SMTP with
 * libcurl (smtp:// or smtps://, MAIL FROM, one RCPT TO, DATA). The
 * message is sent with CRLF line breaks (libcurl dot-stuffs CRLF lines);
 * the server's last reply code decides the class (4xx temporary, 5xx
 * permanent, pb_submit_classify_smtp), and no reply at all (refused
 * connection, timeout) is temporary.
 */
#include <stdio.h>
#include <string.h>
#include <curl/curl.h>
#include <glib.h>
#include "submit.h"

struct upload {
    GString *data;
    size_t off;
};

static gpointer init_curl(gpointer unused)
{
    (void)unused;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return NULL;
}

void pb_submit_curl_init(void)
{
    static GOnce once = G_ONCE_INIT;

    g_once(&once, init_curl, NULL);
}

static size_t read_cb(char *buf, size_t size, size_t nitems, void *arg)
{
    struct upload *u = arg;
    size_t n = MIN(size * nitems, u->data->len - u->off);

    memcpy(buf, u->data->str + u->off, n);
    u->off += n;
    return n;
}

/* msg with every line break CRLF. */
static GString *crlf_copy(const char *msg, size_t len)
{
    GString *s = g_string_sized_new(len + len / 32 + 2);

    for (size_t i = 0; i < len; i++) {
        if (msg[i] == '\n' && (i == 0 || msg[i - 1] != '\r'))
            g_string_append_c(s, '\r');
        g_string_append_c(s, msg[i]);
    }
    if (s->len > 0 && s->str[s->len - 1] != '\n')
        g_string_append(s, "\r\n");
    return s;
}

/* "smtp://host:port" for "host:port"; URLs as they are. */
static char *server_url(const char *server)
{
    if (g_str_has_prefix(server, "smtp://") || g_str_has_prefix(server, "smtps://"))
        return g_strdup(server);
    return g_strdup_printf("smtp://%s", server);
}

static int address_ok(const char *a)
{
    for (; a && *a; a++)
        if ((unsigned char)*a <= 0x20 || *a == 0x7f || *a == '<' || *a == '>')
            return 0;
    return a != NULL;
}

static void set_options(CURL *c, const char *url, int timeout_ms, const char *from,
                        struct curl_slist *rcpt, struct upload *u, char *errbuf)
{
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(c, CURLOPT_READDATA, u);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)u->data->len);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(timeout_ms > 0 ? timeout_ms : 60000));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
}

enum pb_submit_status pb_submit_smtp(const char *server, int timeout_ms, const char *sender,
                                     const char *recipient, const char *msg, size_t len,
                                     char *why, size_t whylen)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    long code = 0;

    if (!address_ok(sender) || !address_ok(recipient) || *recipient == '\0') {
        snprintf(why, whylen, "envelope address \"%s\" or \"%s\" has a space, control "
                 "character or <>", sender ? sender : "", recipient ? recipient : "");
        return PB_SUBMIT_PERMANENT;
    }
    pb_submit_curl_init();
    CURL *c = curl_easy_init();
    if (c == NULL) {
        snprintf(why, whylen, "smtp %s: libcurl could not start", server);
        return PB_SUBMIT_TEMPORARY;
    }
    char *url = server_url(server), *from = g_strdup_printf("<%s>", sender);
    char *to = g_strdup_printf("<%s>", recipient);
    struct curl_slist *rcpt = curl_slist_append(NULL, to);
    struct upload u = { crlf_copy(msg, len), 0 };

    set_options(c, url, timeout_ms, from, rcpt, &u, errbuf);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    enum pb_submit_status st = rc == CURLE_OK ? PB_SUBMIT_OK
        : code >= 400 ? pb_submit_classify_smtp(code) : PB_SUBMIT_TEMPORARY;
    if (st != PB_SUBMIT_OK)
        snprintf(why, whylen, "smtp %s: %s%s%s (reply %ld)", server, curl_easy_strerror(rc),
                 errbuf[0] ? ": " : "", errbuf, code);
    else
        why[0] = '\0';
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(c);
    g_string_free(u.data, TRUE);
    g_free(url);
    g_free(from);
    g_free(to);
    return st;
}
