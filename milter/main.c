/*
 * main.c - postbeacon-milter: command line and start-up order.
 *
 * Start-up: load the configuration and keys, register with libmilter,
 * open the socket (as root, if started so) and set its mode and owner,
 * detach, write the pidfile, drop privileges, start the Redis recorder
 * and the SIGUSR1 reload thread, then hand over to smfi_main(). It
 * returns on SIGTERM, SIGINT or SIGHUP; then the recorder is flushed and
 * the pidfile and socket are removed. Exit status: 0 after a clean stop
 * or a good -n check, 1 for a bad configuration or a start-up failure,
 * 2 for a bad command line.
 */
#include "config.h"
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libmilter/mfapi.h>
#include "callbacks.h"
#include "daemon.h"
#include "log.h"
#include "record.h"

#define RECORD_STOP_MS 2000

struct options {
    const char *conf_path;
    const char *socket;         /* -p, or NULL */
    int foreground, check_only, verbose;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: " PB_MILTER_NAME " [-c file] [-f] [-n] [-v] [-p socket]\n"
            "       " PB_MILTER_NAME " -h | --help | -V | --version\n"
            "  -c file    configuration file (default " PB_DEFAULT_CONF ")\n"
            "  -f         stay in the foreground and log to stderr\n"
            "  -n         check the configuration and keys, then exit\n"
            "  -v         verbose: log debug messages too\n"
            "  -p socket  listen here instead of milter.socket\n"
            "             (unix:/path or inet:port@host)\n"
            "  -h         this help;  -V  version\n"
            "Signals: SIGUSR1 reloads the configuration and keys; SIGTERM stops.\n"
            "See postbeacon-milter(8).\n");
}

static void version(void)
{
    unsigned int major = 0, minor = 0, patch = 0;

    smfi_version(&major, &minor, &patch);
    printf(PB_MILTER_NAME " %s (libmilter %u.%u.%u)\n", PACKAGE_VERSION, major, minor, patch);
}

/* 0 to go on, otherwise exit status + 1 (help and version exit 0). */
static int parse_options(int argc, char **argv, struct options *opt)
{
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    int ch;

    memset(opt, 0, sizeof(*opt));
    opt->conf_path = PB_DEFAULT_CONF;
    while ((ch = getopt_long(argc, argv, "c:fnvp:hV", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c': opt->conf_path = optarg; break;
        case 'f': opt->foreground = 1; break;
        case 'n': opt->check_only = 1; break;
        case 'v': opt->verbose = 1; break;
        case 'p': opt->socket = optarg; break;
        case 'h': usage(stdout); return 1;
        case 'V': version(); return 1;
        default: usage(stderr); return 3;
        }
    }
    if (optind < argc) {
        fprintf(stderr, PB_MILTER_NAME ": unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        return 3;
    }
    return 0;
}

static int check_config(const struct options *opt)
{
    char err[1024];
    struct pb_generation *gen = pb_generation_load(opt->conf_path, opt->socket, err,
                                                   sizeof(err));

    if (gen == NULL) {
        fprintf(stderr, PB_MILTER_NAME ": %s\n", err);
        return 1;
    }
    printf(PB_MILTER_NAME ": configuration OK (%s)\n", opt->conf_path);
    pb_generation_release(gen);
    return 0;
}

/* Register, open and secure the socket. 0 on success. */
static int open_socket(const struct pb_conf *conf, char *err, size_t errlen)
{
    const char *spec = conf->milter.socket;

    if (pb_callbacks_register() != 0) {
        snprintf(err, errlen, "smfi_register failed");
        return -1;
    }
    if (smfi_setconn((char *)spec) != MI_SUCCESS
        || smfi_settimeout(conf->milter.workers_timeout) != MI_SUCCESS) {
        snprintf(err, errlen, "milter.socket \"%s\" not accepted by libmilter", spec);
        return -1;
    }
    if (pb_daemon_check_socket(spec, err, errlen) != 0)
        return -1;
    if (smfi_opensocket(1) != MI_SUCCESS) {
        snprintf(err, errlen, "cannot open milter socket %s: %s", spec,
                 errno ? strerror(errno) : "see the libmilter message in syslog");
        return -1;
    }
    return pb_daemon_secure_socket(spec, &conf->milter, err, errlen);
}

/* Everything from the pidfile to the threads; 0 on success. */
static int become_daemon(const struct options *opt, const char *conf_path,
                         const struct pb_conf *conf, char *err, size_t errlen)
{
    if (!opt->foreground) {
        if (pb_daemon_detach(err, errlen) != 0)
            return -1;
        pb_log_init(PB_MILTER_NAME, 0, conf->log_facility);
    }
    if (pb_daemon_write_pidfile(conf->milter.pidfile, err, errlen) != 0
        || pb_daemon_drop_privileges("milter", conf->milter.user, conf->milter.group,
                                     err, errlen) != 0
        || pb_record_start(conf, err, errlen) != 0)
        return -1;
    if (pb_daemon_start_reloader(conf_path, opt->socket, err, errlen) != 0) {
        pb_record_stop(0);
        return -1;
    }
    return 0;
}

/* After smfi_main(): flush, clean up. */
static void shut_down(const struct pb_conf *conf)
{
    pb_daemon_stop_reloader();
    pb_record_stop(RECORD_STOP_MS);
    pb_daemon_remove_pidfile(conf->milter.pidfile);
    pb_daemon_remove_socket(conf->milter.socket);
}

static int run(const struct options *opt, const char *conf_path)
{
    char err[1024];
    struct pb_generation *gen = pb_generation_load(conf_path, opt->socket, err, sizeof(err));
    int rc;

    if (gen == NULL) {
        fprintf(stderr, PB_MILTER_NAME ": %s\n", err);
        return 1;
    }
    pb_generation_install(gen);     /* gen stays valid: main holds it to the end */
    gen = pb_generation_acquire();
    if (pb_daemon_check_pidfile(gen->conf.milter.pidfile, err, sizeof(err)) != 0
        || open_socket(&gen->conf, err, sizeof(err)) != 0) {
        fprintf(stderr, PB_MILTER_NAME ": %s\n", err);
        pb_generation_release(gen);
        pb_generation_shutdown();
        return 1;
    }
    if (become_daemon(opt, conf_path, &gen->conf, err, sizeof(err)) != 0) {
        pb_log(LOG_ERR, "%s", err);
        pb_daemon_ready(1);
        pb_daemon_remove_pidfile(gen->conf.milter.pidfile);
        pb_daemon_remove_socket(gen->conf.milter.socket);
        pb_generation_release(gen);
        pb_generation_shutdown();
        return 1;
    }
    pb_log(LOG_INFO, "started: listening on %s, configuration %s", gen->conf.milter.socket,
           conf_path);
    pb_daemon_ready(0);
    rc = smfi_main();
    pb_log(LOG_INFO, "stopping");
    shut_down(&gen->conf);
    pb_generation_release(gen);
    pb_generation_shutdown();
    return rc == MI_SUCCESS ? 0 : 1;
}

int main(int argc, char **argv)
{
    struct options opt;
    char resolved[PATH_MAX];
    int rc = parse_options(argc, argv, &opt);

    if (rc != 0)
        return rc - 1;
    pb_log_init(PB_MILTER_NAME, 1, NULL);
    pb_log_set_verbose(opt.verbose);
    if (opt.check_only)
        return check_config(&opt);
    /* Reloads happen after chdir("/"): remember where the file really is. */
    if (opt.conf_path[0] != '/' && realpath(opt.conf_path, resolved) != NULL)
        opt.conf_path = resolved;
    signal(SIGPIPE, SIG_IGN);
    pb_daemon_block_reload_signal();
    return run(&opt, opt.conf_path);
}
