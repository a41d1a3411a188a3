/*
 * listen.h - listen addresses as postbeacon.conf writes them ("IPv4:port"
 * or "[IPv6]:port", numeric only): parsed in one place for the
 * configuration check (lib/conf_check.c) and opened as listening TCP
 * sockets by the daemons that serve HTTP (the tracker's listeners, the
 * admin listeners of the tracker and the scorer).
 */
#ifndef PB_LIB_LISTEN_H
#define PB_LIB_LISTEN_H

#include <stddef.h>
#include <sys/socket.h>

/* The address of spec into ss and len. 0, or -1 if spec is not one. */
int pb_listen_addr(const char *spec, struct sockaddr_storage *ss, socklen_t *len);

/* A non-blocking, close-on-exec listening socket on spec (SO_REUSEADDR;
 * an IPv6 one accepts IPv6 only). The descriptor, or -1 with "cannot
 * listen on <spec> (<setting>): <why>" in err (setting: where spec came
 * from, e.g. "scorer.admin_listen"). */
int pb_listen_open(const char *spec, const char *setting, char *err, size_t errlen);

#endif
