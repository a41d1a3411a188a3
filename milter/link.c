/*
 * link.c - turn one link into a tracked link (link.h): decide whether it is
 * tracked at all, add UTM parameters to the destination, sign a click token
 * and append "<tracking_url>/c/<token>". Also the open-pixel and one-click
 * unsubscribe URLs. This runs for every link of every message, so it keeps
 * the token on the stack and allocates only the UTM'd destination.
 */
#include <stdio.h>
#include <string.h>
#include <glib.h>
#include "b64url.h"      /* PB_TOKEN_MAX needs PB_B64URL_LEN */
#include "link.h"
#include "url.h"

#define HOST_MAX 256
#define CONTENT_MAX 64          /* utm_content slug, incl. NUL */

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

static int is_unsubscribe(const struct pb_conf *conf, const char *url, size_t len)
{
    const struct pb_strlist *patterns = &conf->milter.unsubscribe_patterns;

    for (size_t i = 0; i < patterns->count; i++)
        if (patterns->items[i] != NULL && contains_nocase(url, len, patterns->items[i]))
            return 1;
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
    snprintf(buf, buflen, "link-%u", index + 1);
    return buf;
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

/* Append tracking_url + path + token + suffix; the token's status on failure. */
static enum pb_token_status append_tracked(const struct pb_link_ctx *ctx,
                                           const struct pb_token *tok, const char *path,
                                           const char *suffix, GString *out)
{
    const char *base = ctx->conf->tracking_url;
    size_t base_len;
    char token[PB_TOKEN_MAX];
    long n;

    if (base == NULL)
        return PB_TOKEN_MALFORMED;
    base_len = strlen(base);
    n = pb_token_encode(ctx->keys, tok, token, sizeof(token));
    if (n < 0)
        return (enum pb_token_status)-n;
    while (base_len > 0 && base[base_len - 1] == '/')
        base_len--;
    g_string_append_len(out, base, (gssize)base_len);
    g_string_append(out, path);
    g_string_append_len(out, token, n);
    g_string_append(out, suffix);
    return PB_TOKEN_OK;
}

/* The destination with UTM parameters when its host is on the UTM list;
 * NULL when the URL is signed as it is. */
static GString *utm_destination(const struct pb_link_ctx *ctx, const char *host,
                                const char *url, size_t len, const char *anchor,
                                size_t anchor_len, unsigned index)
{
    const struct pb_utm_conf *utm = &ctx->conf->utm;
    char content_buf[CONTENT_MAX];
    const char *content;
    GString *dest;

    if (!utm->enabled || !pb_host_in_domains(host, &utm->domains))
        return NULL;
    content = link_content(ctx->conf, anchor, anchor_len, index, content_buf,
                           sizeof(content_buf));
    dest = g_string_sized_new(len + 128);
    if (pb_utm_apply(utm, ctx->campaign, content, url, len, dest) < 0) {
        g_string_free(dest, TRUE);      /* not reached: the caller parsed the host */
        return NULL;
    }
    return dest;
}

enum pb_link_verdict pb_link_track(struct pb_link_ctx *ctx, const char *url, size_t len,
                                   const char *anchor, size_t anchor_len,
                                   unsigned index, GString *out)
{
    char host[HOST_MAX];
    struct pb_token tok;
    enum pb_token_status st;
    GString *dest;

    trim(&url, &len);
    if (!pb_url_is_http(url, len))
        return PB_LINK_NOT_HTTP;
    if (pb_url_host(url, len, host, sizeof(host)) != 0)
        return PB_LINK_UNPARSEABLE;
    if (is_tracking_host(ctx->conf, host))
        return PB_LINK_TRACKING_DOMAIN;
    if (is_unsubscribe(ctx->conf, url, len))
        return PB_LINK_UNSUBSCRIBE;

    dest = utm_destination(ctx, host, url, len, anchor, anchor_len, index);
    token_init(ctx, PB_TOKEN_CLICK, &tok);
    tok.link_index = (uint16_t)index;
    tok.url = dest ? dest->str : url;
    tok.url_len = dest ? dest->len : len;
    st = tok.url_len > PB_URL_MAX ? PB_TOKEN_TOO_LONG
                                  : append_tracked(ctx, &tok, "/c/", "", out);
    if (dest != NULL)
        g_string_free(dest, TRUE);
    if (st == PB_TOKEN_OK) {
        ctx->links_tracked++;
        return PB_LINK_TRACKED;
    }
    return st == PB_TOKEN_TOO_LONG ? PB_LINK_TOO_LONG : PB_LINK_UNPARSEABLE;
}

int pb_link_open_url(const struct pb_link_ctx *ctx, GString *out)
{
    struct pb_token tok;

    token_init(ctx, PB_TOKEN_OPEN, &tok);
    return append_tracked(ctx, &tok, "/o/", ".gif", out) == PB_TOKEN_OK ? 0 : -1;
}

int pb_link_unsubscribe_url(const struct pb_link_ctx *ctx, GString *out)
{
    struct pb_token tok;

    token_init(ctx, PB_TOKEN_UNSUB, &tok);
    return append_tracked(ctx, &tok, "/u/", "", out) == PB_TOKEN_OK ? 0 : -1;
}
