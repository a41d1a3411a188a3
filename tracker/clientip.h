/*
 * clientip.h - who the client is: addresses and networks (CIDR), the
 * client address of a request (the peer, or X-Forwarded-For when the peer
 * is a trusted proxy), and the text stored in events (truncated to the
 * IPv4 /24 or IPv6 /48 unless the whole address is configured).
 */
#ifndef PB_TRACKER_CLIENTIP_H
#define PB_TRACKER_CLIENTIP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "conf.h"

#define PB_IPADDR_TEXT 48       /* room for any address as text, with NUL */

struct pb_ipaddr {
    int family;                 /* AF_INET, AF_INET6; 0 = none */
    uint8_t bytes[16];          /* network order; IPv4 uses the first 4 */
};

struct pb_cidr {
    struct pb_ipaddr net;       /* host bits already cleared */
    int bits;
};

struct pb_netlist {
    struct pb_cidr *items;
    size_t count;
};

/* A numeric address: "192.0.2.1", "2001:db8::1", "[2001:db8::1]"; an
 * IPv4-mapped IPv6 address (::ffff:192.0.2.1) becomes IPv4. 0 or -1. */
int pb_ipaddr_parse(const char *s, size_t len, struct pb_ipaddr *out);
int pb_ipaddr_from_sockaddr(const struct sockaddr *sa, struct pb_ipaddr *out);

/* "10.0.0.0/8", "2001:db8::/32", or one address (/32 or /128). 0 or -1. */
int pb_cidr_parse(const char *s, struct pb_cidr *out);
int pb_cidr_match(const struct pb_cidr *cidr, const struct pb_ipaddr *addr);

/* Every item of list as a network; 0, or -1 with the bad item in errbuf. */
int pb_netlist_parse(const struct pb_strlist *list, struct pb_netlist *out,
                     char *errbuf, size_t errlen);
/* Add one network ("x/n"); 0 or -1. */
int pb_netlist_add(struct pb_netlist *list, const char *cidr);
int pb_netlist_match(const struct pb_netlist *list, const struct pb_ipaddr *addr);
void pb_netlist_free(struct pb_netlist *list);

/* The client behind a request. peer: the TCP peer. xff: the values of
 * every X-Forwarded-For header, joined with "," in the order received
 * (NULL if none). Only when the peer is in trusted is xff read, from the
 * right: trusted hops are skipped and the first untrusted one is the
 * client; if every hop is trusted, the left-most one is. A hop that is not
 * an address stops the walk: the last good address (at worst the peer)
 * is taken, so a forged entry can never be chosen over a real hop. */
void pb_client_addr(const struct pb_ipaddr *peer, const char *xff,
                    const struct pb_netlist *trusted, struct pb_ipaddr *client);

/* The address as text; full = 0 clears all but the first 24 (IPv4) or 48
 * (IPv6) bits first: "203.0.113.0", "2001:db8:1::". */
void pb_ipaddr_format(const struct pb_ipaddr *addr, int full, char *out, size_t outlen);

#endif
