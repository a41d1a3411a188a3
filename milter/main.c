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

static void print_version(void)
{
    unsigned int major = 0, minor = 0, patch = 0;

    smfi_version(&major, &minor, &patch);
    printf(PB_MILTER_NAME " %s (libmilter %u.%u.%u)\n", PACKAGE_VERSION, major, minor, patch);
}

/* The command line: the daemons' common options plus -p socket, which
 * lands in extra_arg. */
static const struct pb_daemon_cli milter_cli = {
    .name = PB_MILTER_NAME,
    .check_what = "the configuration and keys",
    .extra_option = 'p',
    .extra_synopsis = " [-p socket]",
    .extra_help = "  -p socket  listen here instead of milter.socket\n"
                  "             (unix:/path or inet:port@host)\n",
    .footer = "Signals: SIGUSR1 reloads the configuration and keys; SIGTERM stops.\n",
    .print_version = print_version,
};

static int check_config(const struct pb_daemon_options *opt)
{
    char err[1024];
    struct pb_generation *gen = pb_generation_load(opt->conf_path, opt->extra_arg, err,
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
static int become_daemon(const struct pb_daemon_options *opt, const char *conf_path,
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
    if (pb_daemon_start_reloader(conf_path, opt->extra_arg, err, errlen) != 0) {
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

static int run(const struct pb_daemon_options *opt, const char *conf_path)
{
    char err[1024];
    struct pb_generation *gen = pb_generation_load(conf_path, opt->extra_arg, err, sizeof(err));
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
    struct pb_daemon_options opt;
    char resolved[PATH_MAX];
    int rc = pb_daemon_parse_options(argc, argv, &milter_cli, &opt);

    if (rc != PB_DAEMON_GO_ON)
        return rc;
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
