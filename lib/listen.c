/*
 * listen.c - listen addresses (listen.h): "IPv4:port" or "[IPv6]:port"
 * with a port of 1..65535, parsed with inet_pton, and the listening
 * sockets opened on them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "listen.h"

#define HOST_MAX 64

int pb_listen_addr(const char *spec, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[HOST_MAX];
    const char *colon = strrchr(spec, ':');
    size_t hlen = colon ? (size_t)(colon - spec) : 0;
    char *end = NULL;
    long port = colon ? strtol(colon + 1, &end, 10) : 0;

    memset(ss, 0, sizeof(*ss));
    if (colon == NULL || colon[1] < '0' || colon[1] > '9' || *end != '\0' || port < 1
        || port > 65535 || hlen < 1 || hlen >= sizeof(host))
        return -1;
    memcpy(host, spec, hlen);
    host[hlen] = '\0';
    if (host[0] == '[' && host[hlen - 1] == ']') {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
        host[hlen - 1] = '\0';
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*sin6);
        return inet_pton(AF_INET6, host + 1, &sin6->sin6_addr) == 1 ? 0 : -1;
    }
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t)port);
    *len = sizeof(*sin);
    return inet_pton(AF_INET, host, &sin->sin_addr) == 1 ? 0 : -1;
}

int pb_listen_open(const char *spec, const char *setting, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int fd, one = 1;

    if (pb_listen_addr(spec, &ss, &len) != 0) {
        snprintf(err, errlen, "%s: \"%s\" is not an address and port", setting, spec);
        return -1;
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0
        || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0
        || (ss.ss_family == AF_INET6
            && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0)
        || bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 1024) != 0) {
        snprintf(err, errlen, "cannot listen on %s (%s): %s", spec, setting, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}
