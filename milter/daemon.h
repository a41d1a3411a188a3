/*
 * daemon.h - the life of the postbeacon-milter process around libmilter:
 * configuration generations (reloaded on SIGUSR1 without disturbing
 * messages in flight), the listening socket's file, pidfile, detaching
 * from the terminal, and dropping root privileges (the last three shared
 * with the tracker: lib/daemon.h, included here).
 */
#ifndef PB_DAEMON_H
#define PB_DAEMON_H

#include <stddef.h>
#include "conf.h"
#include "keys.h"
#include "../lib/daemon.h"      /* pidfile, detach, privileges (shared) */

/* One loaded configuration and key ring. Read-only once installed;
 * every message holds a reference to the generation it started with. */
struct pb_generation {
    int refs;                   /* atomic */
    unsigned long number;       /* 1, 2, ... in load order */
    struct pb_conf conf;
    struct pb_keyring keys;
};

/* Load path and its key file (refused if world-readable). socket, if not
 * NULL, replaces milter.socket (the -p option). NULL with errbuf set. */
struct pb_generation *pb_generation_load(const char *path, const char *socket,
                                         char *errbuf, size_t errlen);
/* Make gen the current generation (takes over the caller's reference). */
void pb_generation_install(struct pb_generation *gen);
/* A new reference to the current generation (NULL before the first install). */
struct pb_generation *pb_generation_acquire(void);
void pb_generation_release(struct pb_generation *gen);
/* Drop the current generation (at exit). */
void pb_generation_shutdown(void);

/* The file behind a "unix:/path" or "local:/path" or "/path" socket spec;
 * NULL for inet sockets. Points into spec. */
const char *pb_daemon_unix_path(const char *spec);
/* Before opening: refuse when another milter answers on the unix socket
 * or the path is not a socket (a stale socket file is removed by
 * smfi_opensocket). 0 if it may be opened. */
int pb_daemon_check_socket(const char *spec, char *errbuf, size_t errlen);
/* After opening: chmod the unix socket to milter.socket_mode and chown it
 * to milter.user / milter.group where allowed. 0 on success. */
int pb_daemon_secure_socket(const char *spec, const struct pb_milter_conf *mc,
                            char *errbuf, size_t errlen);
void pb_daemon_remove_socket(const char *spec);

/* Block SIGUSR1 in the calling thread; call before any thread starts so
 * that every thread inherits the mask. */
void pb_daemon_block_reload_signal(void);
/* Start the thread that reloads path (with the -p socket override) on
 * SIGUSR1; stop it at exit. 0 on success. */
int pb_daemon_start_reloader(const char *path, const char *socket, char *errbuf,
                             size_t errlen);
void pb_daemon_stop_reloader(void);

#endif
