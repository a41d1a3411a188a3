/*
 * clientip.c - client addresses, networks and X-Forwarded-For (see
 * clientip.h). Everything is numeric: no name is ever resolved.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "clientip.h"

static const uint8_t v4_mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static void set_v6(struct pb_ipaddr *out, const uint8_t bytes[16])
{
    memset(out, 0, sizeof(*out));
    if (memcmp(bytes, v4_mapped_prefix, sizeof(v4_mapped_prefix)) == 0) {
        out->family = AF_INET;
        memcpy(out->bytes, bytes + 12, 4);
    } else {
        out->family = AF_INET6;
        memcpy(out->bytes, bytes, 16);
    }
}

int pb_ipaddr_parse(const char *s, size_t len, struct pb_ipaddr *out)
{
    char text[INET6_ADDRSTRLEN + 1];
    uint8_t bytes[16];

    if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
        s++;
        len -= 2;
    }
    memset(out, 0, sizeof(*out));
    if (len == 0 || len >= sizeof(text))
        return -1;
    memcpy(text, s, len);
    text[len] = '\0';
    if (inet_pton(AF_INET, text, bytes) == 1) {
        out->family = AF_INET;
        memcpy(out->bytes, bytes, 4);
        return 0;
    }
    if (inet_pton(AF_INET6, text, bytes) == 1) {
        set_v6(out, bytes);
        return 0;
    }
    return -1;
}

int pb_ipaddr_from_sockaddr(const struct sockaddr *sa, struct pb_ipaddr *out)
{
    memset(out, 0, sizeof(*out));
    if (sa == NULL)
        return -1;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)sa;
        out->family = AF_INET;
        memcpy(out->bytes, &sin->sin_addr, 4);
        return 0;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(const void *)sa;
        set_v6(out, sin6->sin6_addr.s6_addr);
        return 0;
    }
    return -1;
}

/* Clear every bit after the first `bits`. */
static void mask_bits(uint8_t *bytes, size_t n, int bits)
{
    for (size_t i = 0; i < n; i++) {
        int keep = bits - (int)(i * 8);
        if (keep <= 0)
            bytes[i] = 0;
        else if (keep < 8)
            bytes[i] &= (uint8_t)(0xff << (8 - keep));
    }
}

int pb_cidr_parse(const char *s, struct pb_cidr *out)
{
    const char *slash = strchr(s, '/');
    size_t hlen = slash ? (size_t)(slash - s) : strlen(s);
    int max;
    char *end;
    long bits;

    memset(out, 0, sizeof(*out));
    if (s[0] == '[' || pb_ipaddr_parse(s, hlen, &out->net) != 0)
        return -1;
    /* "::ffff:10.0.0.0/104" would be an IPv4 network written as IPv6. */
    if (out->net.family == AF_INET && memchr(s, ':', hlen) != NULL)
        return -1;
    max = out->net.family == AF_INET ? 32 : 128;
    bits = max;
    if (slash != NULL) {
        if (slash[1] < '0' || slash[1] > '9')
            return -1;
        bits = strtol(slash + 1, &end, 10);
        if (*end != '\0' || bits > max)
            return -1;
    }
    out->bits = (int)bits;
    mask_bits(out->net.bytes, max / 8, out->bits);
    return 0;
}

/* Byte by byte, stopping at the first that differs (the first, for most
 * networks of a list): every request's address meets every bot network. */
int pb_cidr_match(const struct pb_cidr *cidr, const struct pb_ipaddr *addr)
{
    int bits = cidr->bits;

    if (addr->family == 0 || addr->family != cidr->net.family)
        return 0;
    for (size_t i = 0; bits > 0; i++, bits -= 8) {
        uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));
        if ((addr->bytes[i] & mask) != cidr->net.bytes[i])
            return 0;
    }
    return 1;
}

int pb_netlist_add(struct pb_netlist *list, const char *text)
{
    struct pb_cidr cidr, *items;

    if (pb_cidr_parse(text, &cidr) != 0)
        return -1;
    items = realloc(list->items, (list->count + 1) * sizeof(*items));
    if (items == NULL)
        return -1;
    list->items = items;
    list->items[list->count++] = cidr;
    return 0;
}

int pb_netlist_parse(const struct pb_strlist *list, struct pb_netlist *out, char *errbuf,
                     size_t errlen)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < list->count; i++) {
        if (pb_netlist_add(out, list->items[i]) != 0) {
            snprintf(errbuf, errlen, "\"%s\" is not an address or network", list->items[i]);
            pb_netlist_free(out);
            return -1;
        }
    }
    return 0;
}

int pb_netlist_match(const struct pb_netlist *list, const struct pb_ipaddr *addr)
{
    for (size_t i = 0; i < list->count; i++)
        if (pb_cidr_match(&list->items[i], addr))
            return 1;
    return 0;
}

void pb_netlist_free(struct pb_netlist *list)
{
    free(list->items);
    list->items = NULL;
    list->count = 0;
}

/* One X-Forwarded-For hop ("192.0.2.1", "[2001:db8::1]", "192.0.2.1:5678",
 * "[2001:db8::1]:5678"), surrounding spaces allowed. 0 or -1. */
static int parse_hop(const char *s, size_t len, struct pb_ipaddr *out)
{
    const char *colon;

    while (len > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (len > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (close == NULL || (close + 1 != s + len && close[1] != ':'))
            return -1;
        return pb_ipaddr_parse(s, (size_t)(close - s) + 1, out);
    }
    colon = memchr(s, ':', len);
    if (colon != NULL && memchr(colon + 1, ':', len - (size_t)(colon + 1 - s)) == NULL)
        len = (size_t)(colon - s);      /* IPv4 with a port */
    return pb_ipaddr_parse(s, len, out);
}

void pb_client_addr(const struct pb_ipaddr *peer, const char *xff,
                    const struct pb_netlist *trusted, struct pb_ipaddr *client)
{
    const char *end;

    *client = *peer;
    if (xff == NULL || trusted == NULL || !pb_netlist_match(trusted, peer))
        return;
    end = xff + strlen(xff);
    while (end > xff) {
        const char *start = end;
        struct pb_ipaddr hop;
        while (start > xff && start[-1] != ',')
            start--;
        if (parse_hop(start, (size_t)(end - start), &hop) != 0)
            return;             /* keep the last good address */
        *client = hop;
        if (!pb_netlist_match(trusted, &hop))
            return;
        end = start > xff ? start - 1 : xff;
    }
}

/* "a.b.c.d" without inet_ntop (on every request); 0, or -1 if outlen is short. */
static int format_v4(const uint8_t bytes[4], char *out, size_t outlen)
{
    char text[16], *p = text;

    for (int i = 0; i < 4; i++) {
        unsigned v = bytes[i];
        if (v >= 100)
            *p++ = (char)('0' + v / 100);
        if (v >= 10)
            *p++ = (char)('0' + v / 10 % 10);
        *p++ = (char)('0' + v % 10);
        *p++ = i < 3 ? '.' : '\0';
    }
    if ((size_t)(p - text) > outlen)
        return -1;
    memcpy(out, text, (size_t)(p - text));
    return 0;
}

void pb_ipaddr_format(const struct pb_ipaddr *addr, int full, char *out, size_t outlen)
{
    uint8_t bytes[16];
    char text[INET6_ADDRSTRLEN];

    if (addr->family != AF_INET && addr->family != AF_INET6) {
        snprintf(out, outlen, "%s", "");
        return;
    }
    memcpy(bytes, addr->bytes, sizeof(bytes));
    if (!full)
        mask_bits(bytes, addr->family == AF_INET ? 4 : 16, addr->family == AF_INET ? 24 : 48);
    if (addr->family == AF_INET && format_v4(bytes, out, outlen) == 0)
        return;
    if (inet_ntop(addr->family, bytes, text, sizeof(text)) == NULL)
        text[0] = '\0';
    snprintf(out, outlen, "%s", text);
}
