/*
 * main.c - postbeacon-tracker: command line, configuration generations,
 * signals and start-up order.
 *
 * Start-up: load the configuration, keys, bots file, trusted proxies and
 * the TLS certificate and key (with tracker.tls_listen);
 * open the listening sockets (as root, if started so); detach; write the
 * pidfile; drop privileges to tracker.user; start the HTTP server and the
 * store (Redis + journal) on one libevent loop. SIGHUP loads everything
 * again and swaps it in (a bad file is logged and the old configuration
 * kept); SIGTERM and SIGINT drain: no new connections, requests in flight
 * are finished, the store flushes or journals what it holds, exit 0.
 * Exit status: 0 after a clean stop or a good -n check, 1 for a bad
 * configuration or a start-up failure, 2 for a bad command line.
 */
#include "config.h"
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>
#include <glib.h>
#include "daemon.h"
#include "http_tls.h"
#include "log.h"
#include "metrics.h"
#include "replay.h"
#include "server.h"
#include "store.h"

#define PB_TRACKER_NAME "postbeacon-tracker"
#define STORE_STOP_MS 3000

static struct {
    const char *conf_path;
    struct pb_tracker_gen *boot;        /* the store keeps using its configuration */
    struct pb_tracker_gen *current;
    unsigned long generations;
    struct event_base *base;
    int pidfile_written;
} app;

static void print_version(void)
{
    printf(PB_TRACKER_NAME " %s (libevent %s)\n", PACKAGE_VERSION, event_get_version());
}

/* The command line: the daemons' common options, nothing more. */
static const struct pb_daemon_cli tracker_cli = {
    .name = PB_TRACKER_NAME,
    .check_what = "the configuration, keys, bots file and TLS certificate",
    .extra_option = 0,
    .extra_synopsis = "",
    .extra_help = "",
    .footer = "Signals: SIGHUP reloads the configuration, keys, bots file and TLS\n"
              "certificate;\n"
              "SIGTERM finishes the requests in flight and stops.\n",
    .print_version = print_version,
};

/* ---- configuration generations ----------------------------------------- */

static void gen_free(struct pb_tracker_gen *gen)
{
    if (gen == NULL)
        return;
    pb_bots_free(gen->bots);
    pb_netlist_free(&gen->proxies);
    SSL_CTX_free(gen->tls);
    pb_keys_free(&gen->keys);
    pb_conf_free(&gen->conf);
    g_free(gen);
}

/* Everything a request is answered with, loaded and checked. */
static struct pb_tracker_gen *gen_load(const char *path, char *err, size_t errlen)
{
    struct pb_tracker_gen *gen = g_new0(struct pb_tracker_gen, 1);
    char why[256];

    if (pb_conf_load(path, &gen->conf, err, errlen) != 0) {
        g_free(gen);
        return NULL;
    }
    if (pb_keys_load(gen->conf.keys_file, 1, &gen->keys, err, errlen) != 0
        || (gen->bots = pb_bots_load(gen->conf.tracker.bots_file, err, errlen)) == NULL) {
        gen_free(gen);
        return NULL;
    }
    if (pb_netlist_parse(&gen->conf.tracker.trusted_proxies, &gen->proxies, why,
                         sizeof(why)) != 0) {
        snprintf(err, errlen, "%s: tracker.trusted_proxies: %s", path, why);
        gen_free(gen);
        return NULL;
    }
    if ((gen->conf.tracker.events_listen.count > 0 || gen->conf.tracker.events_on_public)
        && gen->keys.events_count == 0) {
        snprintf(err, errlen, "%s: tracker.events_listen or tracker.events_on_public serves "
                 "custom events, but %s has no \"events\" line (add \"events $(openssl rand "
                 "-hex 32)\" and give the shop that secret)", path, gen->conf.keys_file);
        gen_free(gen);
        return NULL;
    }
    if (gen->conf.tracker.tls_listen.count > 0
        && (gen->tls = pb_tls_ctx_load(gen->conf.tracker.tls_cert, gen->conf.tracker.tls_key,
                                       why, sizeof(why))) == NULL) {
        snprintf(err, errlen, "%s: %s", path, why);
        gen_free(gen);
        return NULL;
    }
    gen->number = ++app.generations;
    return gen;
}

static void retire(struct pb_tracker_gen *gen)
{
    if (gen != app.boot)
        gen_free(gen);
}

/* Settings read only at start-up: say so when a reload changes them. */
static void note_restart_settings(const struct pb_conf *old, const struct pb_conf *new)
{
    static const struct { const char *name; size_t off; } fields[] = {
        { "tracker.user", offsetof(struct pb_conf, tracker.user) },
        { "tracker.group", offsetof(struct pb_conf, tracker.group) },
        { "tracker.pidfile", offsetof(struct pb_conf, tracker.pidfile) },
        { "tracker.journal", offsetof(struct pb_conf, tracker.journal) },
        { "redis.host", offsetof(struct pb_conf, redis.host) },
        { "redis.socket", offsetof(struct pb_conf, redis.socket) },
        { "redis.prefix", offsetof(struct pb_conf, redis.prefix) },
        { "redis.password", offsetof(struct pb_conf, redis.password) },
        { "log.facility", offsetof(struct pb_conf, log_facility) },
    };
    static const char *const list_names[4] = { "listen", "admin_listen", "tls_listen",
                                               "events_listen" };
    const struct pb_strlist *lists[4][2] = {
        { &old->tracker.listen, &new->tracker.listen },
        { &old->tracker.admin_listen, &new->tracker.admin_listen },
        { &old->tracker.tls_listen, &new->tracker.tls_listen },
        { &old->tracker.events_listen, &new->tracker.events_listen },
    };

    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        const char *a = *(char *const *)((const char *)old + fields[i].off);
        const char *b = *(char *const *)((const char *)new + fields[i].off);
        if (g_strcmp0(a, b) != 0)
            pb_log(LOG_NOTICE, "%s changed: takes effect after a restart", fields[i].name);
    }
    for (int i = 0; i < 4; i++) {
        int same = lists[i][0]->count == lists[i][1]->count;
        for (size_t j = 0; same && j < lists[i][0]->count; j++)
            same = strcmp(lists[i][0]->items[j], lists[i][1]->items[j]) == 0;
        if (!same)
            pb_log(LOG_NOTICE, "tracker.%s changed: takes effect after a restart",
                   list_names[i]);
    }
    if (old->redis.port != new->redis.port || old->redis.db != new->redis.db
        || old->redis.journal_fsync != new->redis.journal_fsync
        || old->redis.timeout_ms != new->redis.timeout_ms
        || old->tracker.queue_max != new->tracker.queue_max
        || old->tracker.stream_max_age_days != new->tracker.stream_max_age_days
        || old->tracker.stream_maxlen != new->tracker.stream_maxlen)
        pb_log(LOG_NOTICE, "a redis setting, tracker.queue_max or the stream retention "
               "changed: takes effect after a restart");
}

/* ---- signals -------------------------------------------------------------- */

static void reload(evutil_socket_t sig, short what, void *arg)
{
    char err[1024];
    struct pb_tracker_gen *gen, *old = app.current;

    if (pb_server_draining())
        return;
    gen = gen_load(app.conf_path, err, sizeof(err));
    if (gen == NULL) {
        pb_log(LOG_ERR, "reload failed, keeping configuration generation %lu: %s",
               old->number, err);
        pb_metrics_reload(0);
        return;
    }
    note_restart_settings(&old->conf, &gen->conf);
    pb_server_set_gen(gen);
    app.current = gen;
    retire(old);
    pb_metrics_reload(1);
    pb_log(LOG_INFO, "configuration reloaded from %s (generation %lu, %zu key%s, %zu bot "
           "class%s)", app.conf_path, gen->number, gen->keys.count,
           gen->keys.count == 1 ? "" : "s", pb_bots_count(gen->bots),
           pb_bots_count(gen->bots) == 1 ? "" : "es");
}

static void drained(void *arg)
{
    event_base_loopexit(app.base, NULL);
}

static void stop(evutil_socket_t sig, short what, void *arg)
{
    if (pb_server_draining())
        return;
    pb_log(LOG_INFO, "signal %d: finishing requests in flight, then stopping", (int)sig);
    pb_server_drain(app.current->conf.tracker.timeout, drained, NULL);
}

/* ---- start and run ------------------------------------------------------------ */

static int check_config(const char *path)
{
    char err[1024];
    struct pb_tracker_gen *gen = gen_load(path, err, sizeof(err));

    if (gen == NULL) {
        fprintf(stderr, PB_TRACKER_NAME ": %s\n", err);
        return 1;
    }
    printf(PB_TRACKER_NAME ": configuration OK (%s; %zu key%s, %zu bot class%s)\n", path,
           gen->keys.count, gen->keys.count == 1 ? "" : "s", pb_bots_count(gen->bots),
           pb_bots_count(gen->bots) == 1 ? "" : "es");
    gen_free(gen);
    return 0;
}

/* From the sockets to the running loop; 0 on success. */
static int start(const struct pb_daemon_options *opt, char *err, size_t errlen)
{
    const struct pb_tracker_conf *tc = &app.current->conf.tracker;

    if (pb_daemon_check_pidfile(tc->pidfile, err, errlen) != 0
        || pb_server_bind(tc, err, errlen) != 0)
        return -1;
    if (!opt->foreground) {
        if (pb_daemon_detach(err, errlen) != 0)
            return -1;
        pb_log_init(PB_TRACKER_NAME, 0, app.current->conf.log_facility);
    }
    if (pb_daemon_write_pidfile(tc->pidfile, err, errlen) != 0)
        return -1;
    app.pidfile_written = 1;
    if (pb_daemon_drop_privileges("tracker", tc->user, tc->group, err, errlen) != 0)
        return -1;
    app.base = event_base_new();
    if (app.base == NULL) {
        snprintf(err, errlen, "cannot create the event loop");
        return -1;
    }
    if (pb_server_start(app.base, app.current, err, errlen) != 0
        || pb_store_start(app.base, &app.boot->conf, err, errlen) != 0)
        return -1;
    return 0;
}

static int run(const struct pb_daemon_options *opt)
{
    char err[1024];
    struct event *signals[3] = { NULL, NULL, NULL };
    int rc = 0;

    app.boot = app.current = gen_load(app.conf_path, err, sizeof(err));
    if (app.current == NULL) {
        fprintf(stderr, PB_TRACKER_NAME ": %s\n", err);
        return 1;
    }
    if (start(opt, err, sizeof(err)) != 0) {
        pb_log(LOG_ERR, "%s", err);
        pb_daemon_ready(1);
        rc = 1;
    } else {
        signals[0] = evsignal_new(app.base, SIGTERM, stop, NULL);
        signals[1] = evsignal_new(app.base, SIGINT, stop, NULL);
        signals[2] = evsignal_new(app.base, SIGHUP, reload, NULL);
        for (int i = 0; i < 3; i++)
            event_add(signals[i], NULL);
        pb_log(LOG_INFO, "started: %zu listen address%s, TLS on %zu, admin on %zu, "
               "custom events on %zu%s, configuration %s",
               app.current->conf.tracker.listen.count,
               app.current->conf.tracker.listen.count == 1 ? "" : "es",
               app.current->conf.tracker.tls_listen.count,
               app.current->conf.tracker.admin_listen.count,
               app.current->conf.tracker.events_listen.count,
               app.current->conf.tracker.events_on_public ? " and the public ones" : "",
               app.conf_path);
        pb_daemon_ready(0);
        event_base_dispatch(app.base);
        pb_store_stop(STORE_STOP_MS);
        pb_log(LOG_INFO, "stopped");
    }
    for (int i = 0; i < 3; i++)
        if (signals[i] != NULL)
            event_free(signals[i]);
    pb_server_free();
    if (app.pidfile_written)
        pb_daemon_remove_pidfile(app.current->conf.tracker.pidfile);
    if (app.base != NULL)
        event_base_free(app.base);
    retire(app.current);
    gen_free(app.boot);
    pb_metrics_reset();
    pb_replay_free();
    return rc;
}

int main(int argc, char **argv)
{
    struct pb_daemon_options opt;
    char resolved[PATH_MAX];
    int rc = pb_daemon_parse_options(argc, argv, &tracker_cli, &opt);

    if (rc != PB_DAEMON_GO_ON)
        return rc;
    pb_log_init(PB_TRACKER_NAME, 1, NULL);
    pb_log_set_verbose(opt.verbose);
    if (opt.check_only)
        return check_config(opt.conf_path);
    /* Reloads happen after chdir("/"): remember where the file really is. */
    app.conf_path = opt.conf_path;
    if (opt.conf_path[0] != '/' && realpath(opt.conf_path, resolved) != NULL)
        app.conf_path = resolved;
    signal(SIGPIPE, SIG_IGN);
    return run(&opt);
}
