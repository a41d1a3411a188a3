/*
 * link.c - turn one link into a tracked link (link.h): decide whether it is
 * tracked at all, add UTM parameters to the destination, sign a click token
 * and append "<tracking_url>/c/<token>". Also the open-pixel and one-click
 * unsubscribe URLs, the latter also where a rendered template has the
 * {{unsubscribe_url}} placeholder (unsub_link.h). This runs for every link of every message, so it keeps
 * the token on the stack, parses the URL once and allocates nothing of
 * its own: the UTM'd destination is built in the caller's output string.
 */
#include <string.h>
#include <glib.h>
#include "b64url.h"      /* PB_TOKEN_MAX needs PB_B64URL_LEN */
#include "link.h"
#include "unsub_link.h"
#include "url.h"

#define HOST_MAX 256
#define CONTENT_MAX 64          /* utm_content slug, incl. NUL */
#define URL_LOWER_MAX 2048      /* URLs up to this long are lowercased on the stack */
#define PATTERN_LOWER_MAX 128

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static void trim(const char **s, size_t *len)
{
    while (*len > 0 && is_space(**s)) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && is_space((*s)[*len - 1]))
        (*len)--;
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c;
}

/* 1 if text contains pattern, ASCII case-insensitively. */
static int contains_nocase(const char *text, size_t len, const char *pattern)
{
    size_t plen = strlen(pattern), j;
    char first;

    if (plen == 0 || plen > len)
        return 0;
    first = lower(pattern[0]);
    for (size_t i = 0; i + plen <= len; i++) {
        if (lower(text[i]) != first)
            continue;
        for (j = 1; j < plen && lower(text[i + j]) == lower(pattern[j]); j++)
            ;
        if (j == plen)
            return 1;
    }
    return 0;
}

/* Lowercase copy of s into out (len bytes). */
static void copy_lower(const char *s, size_t len, char *out)
{
    for (size_t i = 0; i < len; i++)
        out[i] = lower(s[i]);
}

/* 1 if text holds pattern (plen > 0); memchr for its first byte, which
 * beats memmem's set-up on URLs this short. */
static int find_plain(const char *text, size_t len, const char *pattern, size_t plen)
{
    const char *p = text, *last;

    if (plen > len)
        return 0;
    last = text + len - plen;
    while (p <= last && (p = memchr(p, pattern[0], (size_t)(last - p) + 1)) != NULL) {
        if (memcmp(p + 1, pattern + 1, plen - 1) == 0)
            return 1;
        p++;
    }
    return 0;
}

/* The URL is lowercased once and each pattern found with find_plain(); URLs or
 * patterns too long for the stack buffers take the slow byte loop. */
static int is_unsubscribe(const struct pb_conf *conf, const char *url, size_t len)
{
    const struct pb_strlist *patterns = &conf->milter.unsubscribe_patterns;
    char url_low[URL_LOWER_MAX], pat_low[PATTERN_LOWER_MAX];
    int fast = len <= sizeof(url_low);

    if (fast)
        copy_lower(url, len, url_low);
    for (size_t i = 0; i < patterns->count; i++) {
        const char *pat = patterns->items[i];
        size_t plen = pat ? strlen(pat) : 0;

        if (plen == 0)
            continue;
        if (!fast || plen > sizeof(pat_low)) {
            if (contains_nocase(url, len, pat))
                return 1;
            continue;
        }
        copy_lower(pat, plen, pat_low);
        if (find_plain(url_low, len, pat_low, plen))
            return 1;
    }
    return 0;
}

/* The tracking URL's host is parsed once per thread and configuration,
 * not for every link; the cache is keyed by the URL text itself, so a
 * reloaded configuration is noticed. */
static int is_tracking_host(const struct pb_conf *conf, const char *host)
{
    static _Thread_local char cached_url[512], cached_host[HOST_MAX];
    const char *base = conf->tracking_url;
    size_t base_len;

    if (base == NULL)
        return 0;
    base_len = strlen(base);
    if (base_len >= sizeof(cached_url)) {
        char tracking_host[HOST_MAX];
        return pb_url_host(base, base_len, tracking_host, sizeof(tracking_host)) == 0
               && strcmp(host, tracking_host) == 0;
    }
    if (strcmp(base, cached_url) != 0) {
        if (pb_url_host(base, base_len, cached_host, sizeof(cached_host)) != 0)
            cached_host[0] = '\0';
        memcpy(cached_url, base, base_len + 1);
    }
    return cached_host[0] != '\0' && strcmp(host, cached_host) == 0;
}

/* "link-N" into buf (the per-link snprintf showed in profiles). */
static const char *position_content(unsigned number, char *buf, size_t buflen)
{
    char digits[16];
    size_t n = 0;

    do {
        digits[n++] = (char)('0' + number % 10);
        number /= 10;
    } while (number > 0);
    if (buflen < sizeof("link-") + n)
        return NULL;
    memcpy(buf, "link-", 5);
    for (size_t i = 0; i < n; i++)
        buf[5 + i] = digits[n - 1 - i];
    buf[5 + n] = '\0';
    return buf;
}

/* utm_content for link number index (0-based), per utm.content; NULL = none. */
static const char *link_content(const struct pb_conf *conf, const char *anchor,
                                size_t anchor_len, unsigned index, char *buf, size_t buflen)
{
    switch (conf->utm.content) {
    case PB_UTM_CONTENT_NONE:
        return NULL;
    case PB_UTM_CONTENT_ANCHOR:
        if (anchor != NULL && pb_slug(anchor, anchor_len, buf, buflen) > 0)
            return buf;
        break;
    case PB_UTM_CONTENT_POSITION:
        break;
    }
    return position_content(index + 1, buf, buflen);
}

/* The fields every token of this message shares. */
static void token_init(const struct pb_link_ctx *ctx, enum pb_token_kind kind,
                       struct pb_token *tok)
{
    memset(tok, 0, sizeof(*tok));
    tok->kind = kind;
    tok->sent_at = ctx->sent_at;
    memcpy(tok->msg_id, ctx->msg_id, PB_MSGID_LEN);
    tok->has_contact = ctx->has_contact;
    if (ctx->has_contact)
        memcpy(tok->contact, ctx->contact, PB_CONTACT_LEN);
    memcpy(tok->campaign, ctx->campaign, sizeof(tok->campaign));
    tok->campaign[PB_CAMPAIGN_MAX] = '\0';
}

/* Sign tok, cut out back to keep bytes (tok->url may point past them),
 * then append tracking_url + path + token + suffix; the token's status on
 * failure, out then holds its first keep bytes. */
static enum pb_token_status append_tracked(const struct pb_link_ctx *ctx,
                                           const struct pb_token *tok, const char *path,
                                           const char *suffix, size_t keep, GString *out)
{
    const char *base = ctx->conf->tracking_url;
    size_t base_len;
    char token[PB_TOKEN_MAX];
    long n;

    n = base == NULL ? -(long)PB_TOKEN_MALFORMED
                     : pb_token_encode(ctx->keys, tok, token, sizeof(token));
    g_string_truncate(out, keep);
    if (n < 0)
        return (enum pb_token_status)-n;
    base_len = strlen(base);
    while (base_len > 0 && base[base_len - 1] == '/')
        base_len--;
    g_string_append_len(out, base, (gssize)base_len);
    g_string_append(out, path);
    g_string_append_len(out, token, n);
    g_string_append(out, suffix);
    return PB_TOKEN_OK;
}

/* When the host is on the UTM list, append the destination with UTM
 * parameters to out (the caller's scratch space past its text) and
 * return 1; 0 when the URL is signed as it is. */
static int utm_destination(const struct pb_link_ctx *ctx, const char *host, const char *url,
                           size_t len, const char *anchor, size_t anchor_len, unsigned index,
                           GString *out)
{
    const struct pb_utm_conf *utm = &ctx->conf->utm;
    char content_buf[CONTENT_MAX];
    const char *content;

    if (!utm->enabled || !pb_host_in_domains(host, &utm->domains))
        return 0;
    content = link_content(ctx->conf, anchor, anchor_len, index, content_buf,
                           sizeof(content_buf));
    pb_utm_append(utm, ctx->campaign, content, url, len, out);
    return 1;
}

enum pb_link_verdict pb_link_track(struct pb_link_ctx *ctx, const char *url, size_t len,
                                   const char *anchor, size_t anchor_len,
                                   unsigned index, GString *out)
{
    char host[HOST_MAX];
    struct pb_token tok;
    enum pb_token_status st;
    size_t keep = out->len;

    trim(&url, &len);
    if (!pb_url_is_http(url, len))
        return PB_LINK_NOT_HTTP;
    if (index >= PB_LINK_HONEYPOT)
        return PB_LINK_TOO_MANY;
    if (pb_url_host(url, len, host, sizeof(host)) != 0)
        return PB_LINK_UNPARSEABLE;
    if (is_tracking_host(ctx->conf, host))
        return PB_LINK_TRACKING_DOMAIN;
    if (is_unsubscribe(ctx->conf, url, len))
        return PB_LINK_UNSUBSCRIBE;

    token_init(ctx, PB_TOKEN_CLICK, &tok);
    tok.link_index = (uint16_t)index;
    tok.url = url;
    tok.url_len = len;
    /* the UTM'd destination is built in out past its text, and cut off
     * again once it is signed: no allocation per link */
    if (utm_destination(ctx, host, url, len, anchor, anchor_len, index, out)) {
        tok.url = out->str + keep;
        tok.url_len = out->len - keep;
    }
    if (tok.url_len > PB_URL_MAX) {
        g_string_truncate(out, keep);
        st = PB_TOKEN_TOO_LONG;
    } else {
        st = append_tracked(ctx, &tok, "/c/", "", keep, out);
    }
    if (st == PB_TOKEN_OK) {
        ctx->links_tracked++;
        return PB_LINK_TRACKED;
    }
    return st == PB_TOKEN_TOO_LONG ? PB_LINK_TOO_LONG : PB_LINK_UNPARSEABLE;
}

int pb_link_honeypot_url(const struct pb_link_ctx *ctx, GString *out)
{
    struct pb_token tok;
    char *dest;
    int rc;

    if (ctx->conf->tracking_url == NULL)
        return -1;
    dest = g_strconcat(ctx->conf->tracking_url, "/", NULL);
    token_init(ctx, PB_TOKEN_CLICK, &tok);
    tok.link_index = PB_LINK_HONEYPOT;
    tok.url = dest;
    tok.url_len = strlen(dest);
    rc = append_tracked(ctx, &tok, "/c/", "", out->len, out) == PB_TOKEN_OK ? 0 : -1;
    g_free(dest);
    return rc;
}

int pb_link_open_url(const struct pb_link_ctx *ctx, GString *out)
{
    struct pb_token tok;

    token_init(ctx, PB_TOKEN_OPEN, &tok);
    return append_tracked(ctx, &tok, "/o/", ".gif", out->len, out) == PB_TOKEN_OK ? 0 : -1;
}

int pb_link_unsubscribe_url(const struct pb_link_ctx *ctx, GString *out)
{
    struct pb_token tok;

    token_init(ctx, PB_TOKEN_UNSUB, &tok);
    return append_tracked(ctx, &tok, "/u/", "", out->len, out) == PB_TOKEN_OK ? 0 : -1;
}

int pb_link_unsub_placeholder(const struct pb_link_ctx *ctx, const char *url, size_t len,
                              GString *out)
{
    size_t keep = out->len;

    if (!pb_unsub_maybe_placeholder(url, len) || !ctx->has_contact   /* every other link */
        || !pb_unsub_is_placeholder(ctx->conf->tracking_url, url, len))
        return 0;
    if (pb_link_unsubscribe_url(ctx, out) != 0) {
        g_string_truncate(out, keep);
        return 0;
    }
    return 1;
}
