/*
 * utm.c - add Google Analytics UTM parameters to a destination URL, and
 * turn anchor text into a utm_content slug.
 *
 * The URL text is changed only by inserting "utm_x=value&..." at the end
 * of the query (just before a '#' fragment), and a "/" for an empty path
 * ("https://example.com?utm_..." reads badly and some servers mishandle it;
 * for http(s) an empty path means "/" anyway, RFC 3986 6.2.3), so every
 * other byte of it (entities are already decoded by the caller; IDN hosts,
 * '()', '@', '[ ]', %-escapes) stays exactly as the sender wrote it. A
 * utm_* parameter that is already present is never replaced or repeated.
 */
#include <string.h>
#include <glib.h>
#include "url.h"

#define HOST_MAX 256
#define UTM_KEY_MAX 12          /* strlen("utm_campaign") */

enum utm_field { UTM_SOURCE, UTM_MEDIUM, UTM_CAMPAIGN, UTM_CONTENT, UTM_TERM, UTM_FIELDS };

static const char *const utm_names[UTM_FIELDS] = {
    "utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term"
};

/* Percent-decode a query key into out (UTM_KEY_MAX + 1 bytes); -1 if it
 * cannot be one of the utm_* names because it is too long. */
static int decode_key(const char *key, size_t len, char *out)
{
    size_t n = 0;

    for (size_t i = 0; i < len; n++) {
        if (n >= UTM_KEY_MAX)
            return -1;
        if (key[i] == '%' && i + 2 < len && g_ascii_isxdigit(key[i + 1])
            && g_ascii_isxdigit(key[i + 2])) {
            out[n] = (char)(g_ascii_xdigit_value(key[i + 1]) << 4
                            | g_ascii_xdigit_value(key[i + 2]));
            i += 3;
        } else {
            out[n] = key[i++];
        }
    }
    out[n] = '\0';
    return 0;
}

/* Bit set of the utm_* keys present in the query text (without '?'). */
static unsigned present_keys(const char *query, size_t len)
{
    unsigned present = 0;
    size_t i = 0;

    while (i < len) {
        size_t start = i, key_end;
        char key[UTM_KEY_MAX + 1];

        while (i < len && query[i] != '&')
            i++;
        key_end = start;
        while (key_end < i && query[key_end] != '=')
            key_end++;
        if (decode_key(query + start, key_end - start, key) == 0)
            for (int f = 0; f < UTM_FIELDS; f++)
                if (strcmp(key, utm_names[f]) == 0)
                    present |= 1u << f;
        i++;                    /* past the '&' */
    }
    return present;
}

/* Append "name=escaped value" to out: every byte but the RFC 3986
 * unreserved ones (letters, digits, '-', '.', '_', '~') as %XX. */
static void append_param(GString *out, const char *name, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t vlen = strlen(value), at;
    char *o;

    g_string_append(out, name);
    g_string_append_c(out, '=');
    at = out->len;
    g_string_set_size(out, at + 3 * vlen);      /* room for the worst case */
    o = out->str + at;
    for (size_t i = 0; i < vlen; i++) {
        unsigned char c = (unsigned char)value[i];
        if (g_ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            *o++ = (char)c;
        } else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    g_string_truncate(out, (size_t)(o - out->str));
}

static int wanted(const char *value)
{
    return value != NULL && value[0] != '\0';
}

int pb_utm_apply(const struct pb_utm_conf *utm, const char *campaign,
                 const char *content, const char *url, size_t len, GString *out)
{
    char host[HOST_MAX];

    if (!utm->enabled || utm->domains.count == 0) {
        g_string_append_len(out, url, (gssize)len);
        return 0;
    }
    if (pb_url_host(url, len, host, sizeof(host)) != 0)
        return -1;
    if (!pb_host_in_domains(host, &utm->domains)) {
        g_string_append_len(out, url, (gssize)len);
        return 0;
    }
    return pb_utm_append(utm, campaign, content, url, len, out);
}

/* Where "/" goes if the URL has an authority ("//host") and an empty path:
 * the end of the authority; else 0. end: where the query or fragment
 * starts (or the length). */
static size_t empty_path_at(const char *url, size_t end)
{
    size_t i = 0;

    while (i < end && url[i] != ':' && url[i] != '/')
        i++;                    /* the scheme */
    if (i + 3 > end || url[i] != ':' || url[i + 1] != '/' || url[i + 2] != '/')
        return 0;
    for (i += 3; i < end; i++)
        if (url[i] == '/')
            return 0;
    return end;
}

int pb_utm_append(const struct pb_utm_conf *utm, const char *campaign,
                  const char *content, const char *url, size_t len, GString *out)
{
    const char *values[UTM_FIELDS] = { utm->source, utm->medium, campaign, content, utm->term };
    const char *hash, *query;
    size_t frag, added = 0, slash;
    unsigned present, todo = 0;

    hash = memchr(url, '#', len);
    frag = hash ? (size_t)(hash - url) : len;
    query = memchr(url, '?', frag);
    present = query ? present_keys(query + 1, frag - (size_t)(query + 1 - url)) : 0;
    for (int f = 0; f < UTM_FIELDS; f++)
        if (wanted(values[f]) && !(present & (1u << f)))
            todo |= 1u << f;
    if (todo == 0) {
        g_string_append_len(out, url, (gssize)len);
        return 0;
    }

    slash = empty_path_at(url, query ? (size_t)(query - url) : frag);
    if (slash > 0) {
        g_string_append_len(out, url, (gssize)slash);
        g_string_append_c(out, '/');
    }
    g_string_append_len(out, url + slash, (gssize)(frag - slash));
    for (int f = 0; f < UTM_FIELDS; f++) {
        if (!(todo & (1u << f)))
            continue;
        if (added > 0)
            g_string_append_c(out, '&');
        else if (query == NULL)
            g_string_append_c(out, '?');
        else if (url[frag - 1] != '?' && url[frag - 1] != '&')
            g_string_append_c(out, '&');
        append_param(out, utm_names[f], values[f]);
        added++;
    }
    g_string_append_len(out, url + frag, (gssize)(len - frag));
    return (int)added;
}

size_t pb_slug(const char *text, size_t len, char *out, size_t outlen)
{
    size_t n = 0, cap, i;
    int gap = 0;                /* non-alphanumerics seen since the last word char */

    if (outlen == 0)
        return 0;
    cap = outlen - 1;
    for (i = 0; i < len; i++) {
        char c = text[i];

        if (!g_ascii_isalnum(c)) {
            gap = 1;
            continue;
        }
        if (gap && n > 0) {
            if (n + 2 > cap)
                break;
            out[n++] = '-';
        }
        gap = 0;
        if (n + 1 > cap)
            break;
        out[n++] = g_ascii_tolower(c);
    }
    /* Out of room in the middle of a word: cut back to the last word
     * boundary when there is one. */
    if (i < len && !gap) {
        size_t dash = n;
        while (dash > 0 && out[dash - 1] != '-')
            dash--;
        if (dash > 0)
            n = dash;
    }
    while (n > 0 && out[n - 1] == '-')
        n--;
    out[n] = '\0';
    return n;
}
