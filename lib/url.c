/*
 * url.c - the facts postbeacon needs about a link's URL: is it http(s),
 * which host does it point at, and is that host on a domain list.
 *
 * Newsletter URLs are often not strict RFC 3986: raw UTF-8 (IDN hosts,
 * non-ASCII paths), spaces, '|', '[' ']' or '{' '}' in paths and queries,
 * stray '%' signs. uriparser only accepts strict syntax, so a URL that
 * holds such bytes is parsed from a temporary copy in which each of them
 * is percent-encoded; the host is percent-decoded again when returned.
 * The original text is never changed here. The usual authority, a plain
 * host name with perhaps a port, is checked by a simple scan instead
 * (simple_host): uriparser would accept it and say the same.
 *
 * What is refused (and so left untouched by the milter): control bytes
 * anywhere, whitespace or a backslash in the authority ("https://a.com\@b.com"
 * means b.com to RFC 3986 but a.com to browsers), and hosts that decode to
 * characters no browser accepts in a host.
 */
#include <string.h>
#include <glib.h>
#include <uriparser/Uri.h>
#include "url.h"

#define COPY_STACK 2048         /* URLs up to this size are escaped on the stack */

/* Callers trim surrounding ASCII whitespace first: " http://a" is not http. */
int pb_url_is_http(const char *url, size_t len)
{
    if (len < 7 || (url[0] | 0x20) != 'h' || (url[1] | 0x20) != 't'
        || (url[2] | 0x20) != 't' || (url[3] | 0x20) != 'p')
        return 0;
    if (url[4] == ':')
        return url[5] == '/' && url[6] == '/';
    return len >= 8 && (url[4] | 0x20) == 's' && url[5] == ':' && url[6] == '/' && url[7] == '/';
}

/* What a URL byte means before uriparser sees it. */
enum byte_class {
    BYTE_ESCAPE = 0,            /* not allowed by RFC 3986: percent-encode it */
    BYTE_PLAIN,                 /* allowed somewhere in a URI, kept */
    BYTE_CONTEXT,               /* '%', '[', ']', '#', space, backslash */
    BYTE_REFUSED                /* control byte: the URL is refused */
};

static const unsigned char byte_class[256] = {
    [0x00 ... 0x1f] = BYTE_REFUSED, [0x7f] = BYTE_REFUSED,
    ['a' ... 'z'] = BYTE_PLAIN, ['A' ... 'Z'] = BYTE_PLAIN, ['0' ... '9'] = BYTE_PLAIN,
    ['-'] = BYTE_PLAIN, ['.'] = BYTE_PLAIN, ['_'] = BYTE_PLAIN, ['~'] = BYTE_PLAIN,
    [':'] = BYTE_PLAIN, ['/'] = BYTE_PLAIN, ['?'] = BYTE_PLAIN, ['@'] = BYTE_PLAIN,
    ['!'] = BYTE_PLAIN, ['$'] = BYTE_PLAIN, ['&'] = BYTE_PLAIN, ['\''] = BYTE_PLAIN,
    ['('] = BYTE_PLAIN, [')'] = BYTE_PLAIN, ['*'] = BYTE_PLAIN, ['+'] = BYTE_PLAIN,
    [','] = BYTE_PLAIN, [';'] = BYTE_PLAIN, ['='] = BYTE_PLAIN,
    ['%'] = BYTE_CONTEXT, ['['] = BYTE_CONTEXT, [']'] = BYTE_CONTEXT, ['#'] = BYTE_CONTEXT,
    [' '] = BYTE_CONTEXT, ['\\'] = BYTE_CONTEXT,
};

/* Bytes of a plain host name (RFC 3986 unreserved). */
static const unsigned char host_char[256] = {
    ['a' ... 'z'] = 1, ['A' ... 'Z'] = 1, ['0' ... '9'] = 1,
    ['-'] = 1, ['.'] = 1, ['_'] = 1, ['~'] = 1,
};

static int is_pct_escape(const char *p, size_t left)
{
    return left >= 3 && p[0] == '%' && g_ascii_isxdigit(p[1]) && g_ascii_isxdigit(p[2]);
}

/* 1 if byte i of url must be percent-encoded before uriparser sees it.
 * in_auth: i lies in the authority; past_hash: a '#' came before i. */
static int needs_escape(const char *url, size_t len, size_t i, int in_auth, int past_hash)
{
    unsigned char c = (unsigned char)url[i];

    switch (byte_class[c]) {
    case BYTE_PLAIN:
        return 0;
    case BYTE_CONTEXT:
        if (c == '%')
            return !is_pct_escape(url + i, len - i);
        if (c == '[' || c == ']')
            return !in_auth;    /* only an IP literal host may use them */
        if (c == '#')
            return past_hash;   /* a fragment cannot hold another '#' */
        return 1;               /* space and backslash outside the authority */
    default:
        return 1;
    }
}

/* Where the authority ends: the first '/', '?' or '#' after "//". */
static size_t authority_end(const char *url, size_t len, size_t start)
{
    size_t i = start;

    while (i < len && url[i] != '/' && url[i] != '?' && url[i] != '#')
        i++;
    return i;
}

/* Check the bytes and count those to escape; -1 if the URL is refused. */
static long count_escapes(const char *url, size_t len, size_t auth_start, size_t auth_stop)
{
    long count = 0;
    int past_hash = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)url[i];
        int in_auth;

        if (byte_class[c] == BYTE_PLAIN)
            continue;
        in_auth = i >= auth_start && i < auth_stop;
        if (byte_class[c] == BYTE_REFUSED)
            return -1;
        if (in_auth && (c == ' ' || c == '\\'))
            return -1;
        if (needs_escape(url, len, i, in_auth, past_hash))
            count++;
        if (c == '#')
            past_hash = 1;
    }
    return count;
}

/* Copy url into out with the bytes uriparser would refuse percent-encoded;
 * out holds len + 2 * escapes bytes. */
static void escape_copy(const char *url, size_t len, size_t auth_start, size_t auth_stop,
                        char *out)
{
    static const char hex[] = "0123456789ABCDEF";
    int past_hash = 0;
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)url[i];

        if (needs_escape(url, len, i, i >= auth_start && i < auth_stop, past_hash)) {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        } else {
            out[o++] = (char)c;
        }
        if (c == '#')
            past_hash = 1;
    }
}

/* Characters that may not appear in a host once it is percent-decoded
 * (the WHATWG URL standard's forbidden host code points, plus '%'). */
static int forbidden_in_host(unsigned char c)
{
    return c <= 0x20 || c == 0x7f || strchr("#%/:<>?@[\\]^|", c) != NULL;
}

/* Percent-decode and lowercase the host text into out; -1 if it is empty,
 * too long or decodes to something that is not a host name. */
static int copy_host(const UriUriA *uri, char *out, size_t outlen)
{
    const char *p = uri->hostText.first, *end = uri->hostText.afterLast;
    int literal = uri->hostData.ip6 != NULL || uri->hostData.ipFuture.first != NULL;
    size_t n = 0;

    if (p == NULL || p >= end)
        return -1;
    while (p < end) {
        unsigned char c = (unsigned char)*p;

        if (!literal && is_pct_escape(p, (size_t)(end - p))) {
            c = (unsigned char)(g_ascii_xdigit_value(p[1]) << 4 | g_ascii_xdigit_value(p[2]));
            p += 3;
            if (forbidden_in_host(c))
                return -1;
        } else {
            p++;
        }
        if (n + 1 >= outlen)
            return -1;
        out[n++] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
    }
    out[n] = '\0';
    return 0;
}

static int parse_host(const char *text, size_t len, char *out, size_t outlen)
{
    UriUriA uri;
    const char *error_pos;
    int rc;

    if (uriParseSingleUriExA(&uri, text, text + len, &error_pos) != URI_SUCCESS)
        return -1;
    rc = copy_host(&uri, out, outlen);
    uriFreeUriMembersA(&uri);
    return rc;
}

/* The common authority, "host.name" or "host.name:port", needs no
 * uriparser: host letters, digits, '-', '.', '_', '~' and an optional
 * port of 1-5 digits up to 65535. Everything after the authority is valid
 * once the bytes count_escapes() found are escaped, so for such a URL the
 * host is all uriparser would tell. 0 or -1 as pb_url_host; HOST_UNSURE
 * for anything else (userinfo, '%', IP literals, odd ports), which goes
 * through uriparser. */
#define HOST_UNSURE 1

static int simple_host(const char *url, size_t auth_start, size_t auth_stop, char *out,
                       size_t outlen)
{
    size_t i = auth_start, n = 0;

    for (; i < auth_stop && url[i] != ':'; i++)
        if (!host_char[(unsigned char)url[i]])
            return HOST_UNSURE;
    if (i == auth_start)
        return HOST_UNSURE;
    if (i < auth_stop) {
        size_t digits = auth_stop - i - 1;
        unsigned long port = 0;
        if (digits == 0 || digits > 5)
            return HOST_UNSURE;
        for (size_t d = i + 1; d < auth_stop; d++) {
            if (url[d] < '0' || url[d] > '9')
                return HOST_UNSURE;
            port = port * 10 + (unsigned long)(url[d] - '0');
        }
        if (port > 65535)
            return HOST_UNSURE;
    }
    if (i - auth_start + 1 > outlen)
        return -1;
    for (size_t h = auth_start; h < i; h++) {
        char c = url[h];
        out[n++] = c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c;
    }
    out[n] = '\0';
    return 0;
}

int pb_url_host(const char *url, size_t len, char *out, size_t outlen)
{
    size_t auth_start, auth_stop;
    char stack_copy[COPY_STACK];
    char *copy;
    long escapes;
    int rc;

    if (outlen == 0 || !pb_url_is_http(url, len))
        return -1;
    auth_start = url[4] == ':' ? 7 : 8;        /* after "http://" or "https://" */
    auth_stop = authority_end(url, len, auth_start);
    escapes = count_escapes(url, len, auth_start, auth_stop);
    if (escapes < 0)
        return -1;
    rc = simple_host(url, auth_start, auth_stop, out, outlen);
    if (rc != HOST_UNSURE)
        return rc;
    if (escapes == 0)
        return parse_host(url, len, out, outlen);

    size_t copy_len = len + 2 * (size_t)escapes;
    copy = copy_len <= sizeof(stack_copy) ? stack_copy : g_malloc(copy_len);
    escape_copy(url, len, auth_start, auth_stop, copy);
    rc = parse_host(copy, copy_len, out, outlen);
    if (copy != stack_copy)
        g_free(copy);
    return rc;
}

/* 1 if host is domain or ends with "." + domain (both without a final dot). */
static int host_matches(const char *host, size_t host_len, const char *domain)
{
    size_t dlen;

    if (domain[0] == '*' && domain[1] == '.')
        domain += 2;
    else if (domain[0] == '.')
        domain++;
    dlen = strlen(domain);
    if (dlen > 0 && domain[dlen - 1] == '.')
        dlen--;
    if (dlen == 0 || dlen > host_len)
        return 0;
    if (g_ascii_strncasecmp(host + host_len - dlen, domain, dlen) != 0)
        return 0;
    return dlen == host_len || host[host_len - dlen - 1] == '.';
}

int pb_host_in_domains(const char *host, const struct pb_strlist *domains)
{
    size_t host_len = strlen(host);

    if (host_len > 0 && host[host_len - 1] == '.')
        host_len--;
    if (host_len == 0 || domains->items == NULL)
        return 0;
    for (size_t i = 0; i < domains->count; i++)
        if (domains->items[i] != NULL && host_matches(host, host_len, domains->items[i]))
            return 1;
    return 0;
}
