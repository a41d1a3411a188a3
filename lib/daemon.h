/*
 * daemon.h - the parts of a postbeacon daemon's life that every daemon
 * shares: the pidfile, detaching from the terminal (with the parent
 * waiting for the child's start-up verdict), and dropping root
 * privileges to a configured user and group.
 *
 * Used by postbeacon-milter (milter/daemon.c adds what only libmilter
 * needs) and postbeacon-tracker.
 */
#ifndef PB_LIB_DAEMON_H
#define PB_LIB_DAEMON_H

#include <stddef.h>
#include <sys/types.h>

/* Refuse if the pidfile names a live process. 0 if free (or path NULL). */
int pb_daemon_check_pidfile(const char *path, char *errbuf, size_t errlen);
int pb_daemon_write_pidfile(const char *path, char *errbuf, size_t errlen);
void pb_daemon_remove_pidfile(const char *path);

/* Fork into the background. Returns in the child (new session, stdio on
 * /dev/null, cwd /); the parent waits for pb_daemon_ready() and exits
 * with the child's start-up status. -1 with errbuf if fork fails. */
int pb_daemon_detach(char *errbuf, size_t errlen);
/* Tell a waiting parent that start-up succeeded (0) or failed (1). */
void pb_daemon_ready(int status);

/* Resolve user and group names (NULL or "" = leave as it is: -1).
 * section names the configuration section in messages ("milter",
 * "tracker"). 0 on success. */
int pb_daemon_lookup_ids(const char *section, const char *user, const char *group,
                         uid_t *uid, gid_t *gid, char *errbuf, size_t errlen);

/* As root with user set: initgroups, setgid, setuid to that user (group:
 * the user's primary group unless set). Otherwise stays as it is
 * (logged). 0 on success. */
int pb_daemon_drop_privileges(const char *section, const char *user, const char *group,
                              char *errbuf, size_t errlen);

#endif
