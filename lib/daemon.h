/*
 * daemon.h - the parts of a postbeacon daemon's life that every daemon
 * shares: the command line, the pidfile, detaching from the terminal
 * (with the parent waiting for the child's start-up verdict), and
 * dropping root privileges to a configured user and group.
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

/* ---- the command line ---------------------------------------------------- */

/* What one daemon adds to the options every daemon has (-c file, -f, -n,
 * -v, -h/--help, -V/--version). */
struct pb_daemon_cli {
    const char *name;           /* "postbeacon-milter": usage and messages */
    const char *check_what;     /* what -n checks, e.g. "the configuration and keys" */
    char extra_option;          /* one more option taking an argument ('p'), or 0 */
    const char *extra_synopsis; /* its part of the usage line, e.g. " [-p socket]", or "" */
    const char *extra_help;     /* its help lines (each ending in \n), or "" */
    const char *footer;         /* lines after the options: signals, man page */
    void (*print_version)(void);        /* -V: one line on stdout */
};

struct pb_daemon_options {
    const char *conf_path;      /* -c, default PB_DEFAULT_CONF */
    int foreground;             /* -f */
    int check_only;             /* -n */
    int verbose;                /* -v */
    const char *extra_arg;      /* the extra option's argument, or NULL */
};

#define PB_DAEMON_GO_ON (-1)

/* Parse argv into opt. PB_DAEMON_GO_ON to start; otherwise the program
 * exits with the status returned: 0 after -h or -V (usage or version on
 * stdout), 2 for a bad command line (the problem and the usage on
 * stderr). */
int pb_daemon_parse_options(int argc, char **argv, const struct pb_daemon_cli *cli,
                            struct pb_daemon_options *opt);

#endif
