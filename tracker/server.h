/*
 * server.h - the tracker's HTTP side: listening sockets (public and
 * admin, each a list of IPv4/IPv6 addresses), the HTTP server (http.h)
 * with the configured limits, routing to the handlers, and the graceful
 * drain on SIGTERM. Single-threaded: everything runs on one event loop.
 */
#ifndef PB_TRACKER_SERVER_H
#define PB_TRACKER_SERVER_H

#include <stddef.h>
#include <event2/event.h>
#include "classify.h"
#include "clientip.h"
#include "conf.h"
#include "keys.h"

/* One loaded configuration: what every request is answered with. Replaced
 * as a whole on SIGHUP (main.c); requests are answered synchronously, so
 * no request outlives the generation it started with. */
struct pb_tracker_gen {
    unsigned long number;       /* 1, 2, ... in load order */
    struct pb_conf conf;
    struct pb_keyring keys;
    struct pb_bots *bots;
    struct pb_netlist proxies;  /* tracker.trusted_proxies */
    struct ssl_ctx_st *tls;     /* from tracker.tls_cert and tls_key; NULL without tls_listen */
};

/* Open the listening sockets of tracker.listen, tls_listen and admin_listen
 * (before privileges are dropped; no event loop needed). 0, or -1 with
 * errbuf naming the address. */
int pb_server_bind(const struct pb_tracker_conf *tc, char *errbuf, size_t errlen);
/* Serve the bound sockets on base, answering with gen. 0 or -1. */
int pb_server_start(struct event_base *base, const struct pb_tracker_gen *gen,
                    char *errbuf, size_t errlen);
/* Answer with gen from now on (limits are applied again). */
void pb_server_set_gen(const struct pb_tracker_gen *gen);
/* Stop accepting; let requests in flight finish, close idle keep-alive
 * connections, then (or after max_seconds) free the server and call
 * done(arg). */
void pb_server_drain(int max_seconds, void (*done)(void *), void *arg);
int pb_server_draining(void);
/* Close everything (also after a failed start). */
void pb_server_free(void);

#endif
