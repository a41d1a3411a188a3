/*
 * daemon.c - command line, pidfile, detaching and dropping privileges,
 * shared by the postbeacon daemons (see daemon.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "conf.h"
#include "daemon.h"
#include "log.h"

/* ---- pidfile -------------------------------------------------------------- */

int pb_daemon_check_pidfile(const char *path, char *errbuf, size_t errlen)
{
    FILE *fp;
    long pid = 0;

    if (path == NULL || (fp = fopen(path, "r")) == NULL)
        return 0;
    if (fscanf(fp, "%ld", &pid) != 1)
        pid = 0;
    fclose(fp);
    if (pid > 0 && pid != (long)getpid() && (kill((pid_t)pid, 0) == 0 || errno == EPERM)) {
        snprintf(errbuf, errlen, "already running as pid %ld (pidfile %s)", pid, path);
        return -1;
    }
    return 0;
}

int pb_daemon_write_pidfile(const char *path, char *errbuf, size_t errlen)
{
    char line[32];
    int fd, n;

    if (path == NULL)
        return 0;
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(errbuf, errlen, "cannot create pidfile %s: %s", path, strerror(errno));
        return -1;
    }
    n = snprintf(line, sizeof(line), "%ld\n", (long)getpid());
    if (write(fd, line, (size_t)n) != n || close(fd) != 0) {
        snprintf(errbuf, errlen, "cannot write pidfile %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

void pb_daemon_remove_pidfile(const char *path)
{
    if (path != NULL && unlink(path) != 0 && errno != ENOENT)
        pb_log(LOG_NOTICE, "cannot remove pidfile %s: %s (make its directory writable "
               "by the configured user)", path, strerror(errno));
}

/* ---- detaching ------------------------------------------------------------ */

static int ready_fd = -1;       /* the child's end of the start-up pipe */

int pb_daemon_detach(char *errbuf, size_t errlen)
{
    int pipefd[2], fd;
    pid_t pid;
    char status = 1;

    if (pipe(pipefd) != 0 || (pid = fork()) < 0) {
        snprintf(errbuf, errlen, "cannot fork into the background: %s", strerror(errno));
        return -1;
    }
    if (pid > 0) {
        close(pipefd[1]);
        if (read(pipefd[0], &status, 1) != 1)
            status = 1;         /* the child died before it was ready */
        _exit(status == 0 ? 0 : 1);
    }
    close(pipefd[0]);
    ready_fd = pipefd[1];
    fcntl(ready_fd, F_SETFD, FD_CLOEXEC);
    setsid();
    if (chdir("/") != 0)
        pb_log(LOG_WARNING, "chdir /: %s", strerror(errno));
    fd = open("/dev/null", O_RDWR);
    if (fd >= 0) {
        dup2(fd, STDIN_FILENO);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        if (fd > STDERR_FILENO)
            close(fd);
    }
    return 0;
}

void pb_daemon_ready(int status)
{
    char c = (char)(status == 0 ? 0 : 1);

    if (ready_fd < 0)
        return;
    if (write(ready_fd, &c, 1) != 1)
        pb_log(LOG_DEBUG, "start-up pipe: %s", strerror(errno));
    close(ready_fd);
    ready_fd = -1;
}

/* ---- privileges ------------------------------------------------------------ */

int pb_daemon_lookup_ids(const char *section, const char *user, const char *group,
                         uid_t *uid, gid_t *gid, char *errbuf, size_t errlen)
{
    *uid = (uid_t)-1;
    *gid = (gid_t)-1;
    if (user != NULL && user[0] != '\0') {
        struct passwd *pw = getpwnam(user);
        if (pw == NULL) {
            snprintf(errbuf, errlen, "%s.user: no such user \"%s\"", section, user);
            return -1;
        }
        *uid = pw->pw_uid;
        *gid = pw->pw_gid;
    }
    if (group != NULL && group[0] != '\0') {
        struct group *gr = getgrnam(group);
        if (gr == NULL) {
            snprintf(errbuf, errlen, "%s.group: no such group \"%s\"", section, group);
            return -1;
        }
        *gid = gr->gr_gid;
    }
    return 0;
}

int pb_daemon_drop_privileges(const char *section, const char *user, const char *group,
                              char *errbuf, size_t errlen)
{
    uid_t uid;
    gid_t gid;

    if (geteuid() != 0) {
        pb_log(LOG_DEBUG, "not started as root: running as uid %ld, %s.user not used",
               (long)geteuid(), section);
        return 0;
    }
    if (user == NULL || user[0] == '\0') {
        pb_log(LOG_NOTICE, "%s.user is empty: running as root", section);
        return 0;
    }
    if (pb_daemon_lookup_ids(section, user, group, &uid, &gid, errbuf, errlen) != 0)
        return -1;
    if (initgroups(user, gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0) {
        snprintf(errbuf, errlen, "cannot switch to user %s: %s", user, strerror(errno));
        return -1;
    }
    if (uid != 0 && setuid(0) == 0) {
        snprintf(errbuf, errlen, "could regain root after switching to %s", user);
        return -1;
    }
    pb_log(LOG_DEBUG, "running as user %s (uid %ld, gid %ld)", user, (long)uid, (long)gid);
    return 0;
}

/* ---- the command line ---------------------------------------------------- */

static void usage(FILE *out, const struct pb_daemon_cli *cli)
{
    fprintf(out,
            "usage: %s [-c file] [-f] [-n] [-v]%s\n"
            "       %s -h | --help | -V | --version\n"
            "  -c file    configuration file (default " PB_DEFAULT_CONF ")\n"
            "  -f         stay in the foreground and log to stderr\n"
            "  -n         check %s, then exit\n"
            "  -v         verbose: log debug messages too\n"
            "%s"
            "  -h         this help;  -V  version\n"
            "%s"
            "See %s(8).\n",
            cli->name, cli->extra_synopsis, cli->name, cli->check_what, cli->extra_help,
            cli->footer, cli->name);
}

int pb_daemon_parse_options(int argc, char **argv, const struct pb_daemon_cli *cli,
                            struct pb_daemon_options *opt)
{
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    char optstring[16];
    int ch;

    memset(opt, 0, sizeof(*opt));
    opt->conf_path = PB_DEFAULT_CONF;
    if (cli->extra_option)
        snprintf(optstring, sizeof(optstring), "c:fnv%c:hV", cli->extra_option);
    else
        snprintf(optstring, sizeof(optstring), "c:fnvhV");
    while ((ch = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
        switch (ch) {
        case 'c': opt->conf_path = optarg; break;
        case 'f': opt->foreground = 1; break;
        case 'n': opt->check_only = 1; break;
        case 'v': opt->verbose = 1; break;
        case 'h': usage(stdout, cli); return 0;
        case 'V': cli->print_version(); return 0;
        default:
            if (ch == '?' || ch != cli->extra_option) {
                usage(stderr, cli);
                return 2;
            }
            opt->extra_arg = optarg;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument \"%s\"\n", cli->name, argv[optind]);
        usage(stderr, cli);
        return 2;
    }
    return PB_DAEMON_GO_ON;
}
