/*
 * unsub_link.c - the {{unsubscribe_url}} placeholder URL (unsub_link.h):
 * written by the template renderer, recognised by the milter (which puts
 * the message's own unsubscribe URL in its place) and by the tracker
 * (which explains it to whoever opens it).
 */
#include <string.h>
#include "unsub_link.h"

static const char path[] = "/u/" PB_UNSUB_PLACEHOLDER_TOKEN;

/* base_url's length without trailing '/'. */
static size_t base_len(const char *base_url)
{
    size_t n = strlen(base_url);

    while (n > 0 && base_url[n - 1] == '/')
        n--;
    return n;
}

void pb_unsub_placeholder(const char *base_url, GString *out)
{
    g_string_append_len(out, base_url, (gssize)base_len(base_url));
    g_string_append(out, path);
}

int pb_unsub_is_placeholder(const char *base_url, const char *url, size_t len)
{
    size_t n;

    if (base_url == NULL || !pb_unsub_maybe_placeholder(url, len))
        return 0;
    n = base_len(base_url);
    return len == n + sizeof(path) - 1 && memcmp(url, base_url, n) == 0
           && memcmp(url + n, path, sizeof(path) - 1) == 0;
}

int pb_unsub_placeholder_token(const char *token, size_t len)
{
    return len == sizeof(PB_UNSUB_PLACEHOLDER_TOKEN) - 1
           && memcmp(token, PB_UNSUB_PLACEHOLDER_TOKEN, len) == 0;
}
