/*
 * webhook.c - pb_webhook_post() (webhook.h): one signed JSON POST with
 * libcurl. The signature is the custom events' (pb_custom_sig_make over
 * "<timestamp>.<body>", lib/custom_sig.c), so one verification serves a
 * CRM and the tracker. Redirects are not followed (a POST to a moved URL
 * is a configuration to fix, not something to chase), the HTTP status
 * decides the class (pb_webhook_classify) and no answer at all (refused
 * connection, DNS, TLS, timeout) is temporary. The start of the answer's
 * body goes into the reason, so the log says what the receiver objected to.
 */
#include <stdio.h>
#include <string.h>
#include <curl/curl.h>
#include <glib.h>
#include "custom_event.h"
#include "webhook.h"

#define EXCERPT_MAX 200         /* bytes of an answer's body kept for the reason */

static size_t body_cb(char *p, size_t size, size_t n, void *arg)
{
    GString *excerpt = arg;
    size_t len = size * n;

    if (excerpt->len < EXCERPT_MAX)
        g_string_append_len(excerpt, p, (gssize)MIN(len, EXCERPT_MAX - excerpt->len));
    return len;
}

/* The signed headers of req. */
static struct curl_slist *headers(const struct pb_webhook_req *req)
{
    char ts[24], sig[65];
    struct curl_slist *h = NULL;
    char *line;

    snprintf(ts, sizeof(ts), "%lld", req->timestamp);
    pb_custom_sig_make(req->key, ts, req->body, req->len, sig);
    h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, "Expect:");       /* no 100-continue round trip */
    line = g_strdup_printf(PB_SIG_TIMESTAMP_HEADER ": %s", ts);
    h = curl_slist_append(h, line);
    g_free(line);
    line = g_strdup_printf(PB_SIG_SIGNATURE_HEADER ": %s", sig);
    h = curl_slist_append(h, line);
    g_free(line);
    line = g_strdup_printf(PB_WEBHOOK_ID_HEADER ": %s", req->id);
    h = curl_slist_append(h, line);
    g_free(line);
    line = g_strdup_printf(PB_WEBHOOK_ATTEMPT_HEADER ": %d", req->attempt);
    h = curl_slist_append(h, line);
    g_free(line);
    return h;
}

static void set_options(CURL *c, const struct pb_webhook_req *req, struct curl_slist *h,
                        GString *excerpt, char *errbuf)
{
    curl_easy_setopt(c, CURLOPT_URL, req->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_USERAGENT, req->user_agent);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->len);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, excerpt);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(req->timeout_ms > 0 ? req->timeout_ms : 10000));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
}

/* The answer's excerpt on one line: control characters as spaces. */
static void one_line(GString *s)
{
    for (size_t i = 0; i < s->len; i++)
        if ((unsigned char)s->str[i] < 0x20 || s->str[i] == 0x7f)
            s->str[i] = ' ';
    g_strstrip(s->str);
    s->len = strlen(s->str);
}

/* What an answer with an HTTP status means, into res. */
static enum pb_submit_status answered(CURL *c, struct pb_webhook_res *res, GString *excerpt)
{
    enum pb_submit_status st = pb_webhook_classify(res->status);
    curl_off_t after = -1;
    char *loc = NULL;

    if (curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &after) == CURLE_OK && after > 0)
        res->retry_after_s = (long long)after;
    one_line(excerpt);
    if (res->status >= 300 && res->status < 400) {
        curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &loc);
        snprintf(res->why, sizeof(res->why), "HTTP %ld: a redirect to %s, not followed "
                 "(configure the final URL)", res->status, loc ? loc : "(no Location)");
    } else if (st == PB_SUBMIT_OK) {
        snprintf(res->why, sizeof(res->why), "HTTP %ld", res->status);
    } else {
        snprintf(res->why, sizeof(res->why), "HTTP %ld%s%s", res->status,
                 excerpt->len ? ": " : "", excerpt->str);
    }
    return st;
}

enum pb_submit_status pb_webhook_post(const struct pb_webhook_req *req,
                                      struct pb_webhook_res *res)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    CURL *c;
    struct curl_slist *h;
    GString *excerpt;
    CURLcode rc;
    enum pb_submit_status st;

    res->status = 0;
    res->retry_after_s = -1;
    pb_submit_curl_init();
    if ((c = curl_easy_init()) == NULL) {
        snprintf(res->why, sizeof(res->why), "libcurl could not start");
        return PB_SUBMIT_TEMPORARY;
    }
    h = headers(req);
    excerpt = g_string_new(NULL);
    set_options(c, req, h, excerpt, errbuf);
    rc = curl_easy_perform(c);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &res->status);
        st = answered(c, res, excerpt);
    } else {
        st = rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL
            ? PB_SUBMIT_PERMANENT : PB_SUBMIT_TEMPORARY;
        snprintf(res->why, sizeof(res->why), "%s%s%s", curl_easy_strerror(rc),
                 errbuf[0] ? ": " : "", errbuf);
    }
    g_string_free(excerpt, TRUE);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return st;
}

enum pb_submit_status pb_webhook_classify(long status)
{
    if (status >= 200 && status < 300)
        return PB_SUBMIT_OK;
    if (status == 408 || status == 429 || (status >= 500 && status < 600))
        return PB_SUBMIT_TEMPORARY;
    return PB_SUBMIT_PERMANENT;
}

int pb_webhook_url_check(const char *url, char *why, size_t whylen)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;
    CURLUcode uc;
    int rc = -1;

    if (u == NULL) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    uc = curl_url_set(u, CURLUPART_URL, url, 0);
    if (uc != CURLUE_OK)
        snprintf(why, whylen, "\"%s\" is not a URL (%s)", url, curl_url_strerror(uc));
    else if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK
             || (g_ascii_strcasecmp(scheme, "http") != 0 && g_ascii_strcasecmp(scheme, "https") != 0))
        snprintf(why, whylen, "\"%s\": only http:// and https:// URLs", url);
    else if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || host[0] == '\0')
        snprintf(why, whylen, "\"%s\" has no host", url);
    else
        rc = 0;
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}
