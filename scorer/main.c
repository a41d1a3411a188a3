/*
 * main.c - postbeacon-scorer: command line, configuration and rules,
 * signals, start-up order and the loop.
 *
 * Start-up: load the configuration and the rules (scorer.rules); detach
 * (unless -f or --once); write the pidfile; drop privileges to
 * scorer.user; connect to Redis (retried while it is away); then one
 * batch after another (scorer.h). SIGHUP loads the configuration and the
 * rules again and uses them from the next batch on (a bad file is logged
 * and the rules loaded before are kept); SIGTERM and SIGINT let the
 * current batch finish (it is acknowledged with its effects) and stop.
 * --once processes what is pending now and exits.
 * Exit status: 0 after a clean stop, a good -n check or a complete --once,
 * 1 for a bad configuration, a start-up failure or Redis failing during
 * --once, 2 for a bad command line.
 */
#include "config.h"
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <glib.h>
#include <hiredis/hiredis.h>
#include "admin.h"
#include "daemon.h"
#include "keys.h"
#include "log.h"
#include "rules.h"
#include "scorer.h"

#define PB_SCORER_NAME "postbeacon-scorer"
#define RECONNECT_MS 1000
#define PROGRESS_MS 60000

/* What one load of the file gives. */
struct gen {
    struct pb_conf conf;
    struct pb_rules rules;
};

/* The key file: the contact key, for signup events that carry only an
 * address, and the webhook steps' secrets. NULL: not read. */
static struct pb_keyring *ring;
/* The admin listener (scorer.admin_listen), NULL without one or with --once. */
static struct pb_sc_admin *admin;

static volatile sig_atomic_t stop_signal, reload_wanted;

static void print_version(void)
{
    printf(PB_SCORER_NAME " %s (hiredis %d.%d.%d)\n", PACKAGE_VERSION, HIREDIS_MAJOR,
           HIREDIS_MINOR, HIREDIS_PATCH);
}

static const struct pb_daemon_cli scorer_cli = {
    .name = PB_SCORER_NAME,
    .check_what = "the configuration and the scoring rules",
    .extra_option = 'i',
    .extra_synopsis = " [-i consumer] [--once] [--time-scale N]",
    .extra_help = "  -i name    consumer name in the group (default scorer.consumer, else the\n"
                  "             host name); each scorer process needs its own\n"
                  "  --once     process what is pending now, then exit (stays in the foreground)\n"
                  "  --time-scale N  the clock runs N times as fast as real time (demos, tests)\n",
    .footer = "Signals: SIGHUP reloads the configuration and the rules;\n"
              "SIGTERM finishes and acknowledges the current batch and stops.\n",
    .print_version = print_version,
};

/* ---- configuration ------------------------------------------------------- */

static void gen_free(struct gen *g)
{
    if (g == NULL)
        return;
    pb_rules_free(&g->rules);
    pb_conf_free(&g->conf);
    free(g);
}

static struct gen *gen_load(const char *path, char *err, size_t errlen)
{
    struct gen *g = calloc(1, sizeof(*g));

    if (g == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (pb_conf_load(path, &g->conf, err, errlen) != 0) {
        free(g);
        return NULL;
    }
    if (pb_rules_load(path, &g->rules, err, errlen) != 0
        || pb_workflows_load_templates(&g->rules.wf, &g->conf, err, errlen) != 0) {
        gen_free(g);
        return NULL;
    }
    return g;
}

/* "3 scoring rules" and, when there are any, ", 2 fit rules, 8 segments, grade". */
static void describe(const struct pb_rules *r, char *buf, size_t len)
{
    const struct pb_segdefs *d = &r->segs;
    int n = snprintf(buf, len, "%zu scoring rule%s", r->count, r->count == 1 ? "" : "s");

    if (n > 0 && (size_t)n < len && (d->nfit > 0 || d->count > 0 || d->has_grade))
        n += snprintf(buf + n, len - (size_t)n, ", %zu fit rule%s, %zu segment%s%s", d->nfit,
                      d->nfit == 1 ? "" : "s", d->count, d->count == 1 ? "" : "s",
                      d->has_grade ? ", grade" : "");
    if (n > 0 && (size_t)n < len && r->wf.count > 0)
        snprintf(buf + n, len - (size_t)n, ", %zu workflow%s", r->wf.count,
                 r->wf.count == 1 ? "" : "s");
}

/* The key file read into a new ring (*out; NULL and why when it cannot
 * be read), and g's webhook steps checked against it, or against
 * fallback when it cannot be read. 0, or -1 with err. */
static int keys_for(const struct gen *g, const struct pb_keyring *fallback,
                    struct pb_keyring **out, char *why, size_t whylen, char *err, size_t errlen)
{
    struct pb_keyring *k = g_new0(struct pb_keyring, 1);

    why[0] = '\0';
    if (pb_keys_load(g->conf.keys_file, 1, k, why, whylen) != 0) {
        g_free(k);
        k = NULL;
    }
    if (pb_workflows_check_secrets(&g->rules.wf, k ? k : fallback, g->conf.keys_file, why, err,
                                   errlen) != 0) {
        if (k != NULL)
            pb_keys_free(k);
        g_free(k);
        return -1;
    }
    *out = k;
    return 0;
}

static void ring_free(struct pb_keyring *k)
{
    if (k != NULL)
        pb_keys_free(k);
    g_free(k);
}

static int check_config(const char *path)
{
    char err[1024], why[1024], what[160];
    struct gen *g = gen_load(path, err, sizeof(err));
    struct pb_keyring *k = NULL;

    if (g == NULL || keys_for(g, NULL, &k, why, sizeof(why), err, sizeof(err)) != 0) {
        fprintf(stderr, PB_SCORER_NAME ": %s\n", err);
        gen_free(g);
        return 1;
    }
    ring_free(k);
    describe(&g->rules, what, sizeof(what));
    printf(PB_SCORER_NAME ": configuration OK (%s; %s)\n", path, what);
    gen_free(g);
    return 0;
}

/* ---- signals ---------------------------------------------------------------- */

static void on_stop(int sig)
{
    stop_signal = sig;
}

static void on_hup(int sig)
{
    reload_wanted = 1;
}

static void set_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_hup;
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static int same_list(const struct pb_strlist *a, const struct pb_strlist *b)
{
    if (a->count != b->count)
        return 0;
    for (size_t i = 0; i < a->count; i++)
        if (strcmp(a->items[i], b->items[i]) != 0)
            return 0;
    return 1;
}

/* Load again; the scorer switches to the new rules, the old ones are
 * freed (not the first generation: the connection's settings are its). */
static void reload(const char *path, struct pb_scorer *s, struct gen *boot, struct gen **current)
{
    char err[1024], why[1024], what[160];
    struct gen *g = gen_load(path, err, sizeof(err));
    struct pb_keyring *k = NULL;

    reload_wanted = 0;
    if (g == NULL || keys_for(g, ring, &k, why, sizeof(why), err, sizeof(err)) != 0) {
        pb_log(LOG_ERR, "reload failed, keeping the rules loaded before: %s", err);
        s->metrics.counts.reloads_failed++;
        gen_free(g);
        return;
    }
    if (k != NULL) {            /* the key file read again: its secrets from now on */
        s->ring = k;
        ring_free(ring);
        ring = k;
    } else if (ring != NULL) {
        pb_log(LOG_NOTICE, "reload: the key file was not read again (%s); the keys read at "
               "start stay", why);
    }
    describe(&g->rules, what, sizeof(what));
    pb_log(LOG_INFO, "configuration reloaded from %s: %s (Redis and stream settings take "
           "effect after a restart)", path, what);
    if (!same_list(&boot->conf.scorer.admin_listen, &g->conf.scorer.admin_listen))
        pb_log(LOG_NOTICE, "scorer.admin_listen changed: takes effect after a restart");
    pb_scorer_set_rules(s, &g->conf.scorer, &g->rules);
    s->metrics.counts.reloads_ok++;
    if (*current != boot)
        gen_free(*current);
    *current = g;
}

/* ---- the loop ------------------------------------------------------------------ */

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);       /* a signal cuts it short */
}

/* Connected, or stopped by a signal (-1). */
static int connect_until_stopped(struct pb_scorer *s)
{
    char err[512];
    int logged = 0;

    while (!stop_signal) {
        if (pb_scorer_connect(s, err, sizeof(err)) == 0) {
            if (logged)
                pb_log(LOG_INFO, "connected to Redis again");
            return 0;
        }
        if (!logged++)
            pb_log(LOG_ERR, "%s; retrying every %d ms", err, RECONNECT_MS);
        sleep_ms(RECONNECT_MS);
    }
    return -1;
}

static void log_totals(const struct pb_scorer *s, const char *what)
{
    const struct pb_sc_stats *st = &s->stats;

    pb_log(LOG_INFO, "%s: %llu entries done (%llu scored, %llu without contact, %llu trimmed "
           "while pending, %llu refused), %llu duplicates skipped, %llu claimed, %llu batches, "
           "%llu wake-ups, %llu segment changes, %llu contacts re-evaluated; follow-ups: %llu "
           "sent, %llu skipped, %llu retried, %llu failed, %llu uncertain, %llu deferred by the "
           "send rate",
           what, st->done, st->scored, st->no_contact, st->trimmed, st->refused, st->duplicates,
           st->claimed, st->batches, st->wakes, st->changes, st->reevaluated, st->wf_sent,
           st->wf_skipped, st->wf_retried, st->wf_failed, st->wf_uncertain,
           st->wf_rate_deferred);
}

/* Once a minute when there was work: what was done, and how far behind
 * the group is. */
static void log_progress(struct pb_scorer *s, long long *next_ms, struct pb_sc_stats *last)
{
    long long now = pb_scorer_real_now_ms(), pending, lag;
    unsigned long long done = s->stats.done - last->done;

    if (now < *next_ms)
        return;
    *next_ms = now + PROGRESS_MS;
    if (done == 0 && s->stats.duplicates == last->duplicates)
        return;
    pb_scorer_group_info(s, &pending, &lag);
    pb_log(LOG_INFO, "last %d s: %llu entries done (%llu scored), %llu duplicates; group %s: "
           "%lld pending, lag %lld", PROGRESS_MS / 1000, done, s->stats.scored - last->scored,
           s->stats.duplicates - last->duplicates, s->conf->scorer.consumer_group, pending, lag);
    *last = s->stats;
}

static int run_loop(const char *path, struct pb_scorer *s, struct gen *boot)
{
    struct gen *current = boot;
    struct pb_sc_stats last = s->stats;
    long long next_progress = pb_scorer_real_now_ms() + PROGRESS_MS;

    while (!stop_signal) {
        if (reload_wanted)
            reload(path, s, boot, &current);
        log_progress(s, &next_progress, &last);
        pb_sc_admin_publish(admin, s);
        if (s->c == NULL && connect_until_stopped(s) != 0)
            break;
        pb_sc_admin_publish(admin, s);
        if (pb_scorer_step(s, 1) < 0 && !stop_signal) {
            pb_sc_admin_publish(admin, s);
            sleep_ms(RECONNECT_MS);
        }
    }
    pb_log(LOG_INFO, "signal %d: stopping", (int)stop_signal);
    if (s->c != NULL && pb_scorer_flush(s) != 0)
        pb_log(LOG_NOTICE, "the entries read ahead stay pending for the next start");
    log_totals(s, "stopped");
    if (current != boot)
        gen_free(current);
    return 0;
}

static int run_once(struct pb_scorer *s)
{
    char err[512];
    int rc;

    if (pb_scorer_connect(s, err, sizeof(err)) != 0) {
        pb_log(LOG_ERR, "%s", err);
        return 1;
    }
    rc = pb_scorer_drain(s);
    log_totals(s, rc == 0 ? "--once: done" : "--once: stopped by a Redis failure");
    return rc == 0 ? 0 : 1;
}

/* The pidfile of this process: scorer.pidfile, with "-<consumer>" before
 * its ".pid" when -i names the consumer, so that several scorers on one
 * host (one per -i name) share one configuration file. NULL: none. */
static char *pidfile_path(const char *pidfile, const char *consumer)
{
    size_t n;

    if (pidfile == NULL)
        return NULL;
    if (consumer == NULL)
        return g_strdup(pidfile);
    n = strlen(pidfile);
    if (n > 4 && strcmp(pidfile + n - 4, ".pid") == 0)
        n -= 4;
    return g_strdup_printf("%.*s-%s.pid", (int)n, pidfile, consumer);
}

/* The demo's compressed clock (--time-scale N): from the start, the
 * scorer's clock runs N times as fast as real time, so delays of hours
 * (a cart abandoned 3 h ago, an A/B winner after 4 h) come due in
 * seconds. Scores, segments and the queues use this clock; Redis's idle
 * times (claiming) stay in real time. */
static long long time_scale = 1, time_origin_ms;

static long long scaled_now_ms(void)
{
    return time_origin_ms + (pb_scorer_real_now_ms() - time_origin_ms) * time_scale;
}

static int start(const struct pb_daemon_options *opt, int once, const struct gen *g,
                 const char *pidfile, char *err, size_t errlen)
{
    const struct pb_scorer_conf *sc = &g->conf.scorer;
    char why[1024];

    if (!once && (pb_daemon_check_pidfile(pidfile, err, errlen) != 0
                  || pb_sc_admin_bind(&sc->admin_listen, &admin, err, errlen) != 0))
        return -1;
    if (!once && !opt->foreground) {
        if (pb_daemon_detach(err, errlen) != 0)
            return -1;
        pb_log_init(PB_SCORER_NAME, 0, g->conf.log_facility);
    }
    if (!once && pb_daemon_write_pidfile(pidfile, err, errlen) != 0)
        return -1;
    if (keys_for(g, NULL, &ring, why, sizeof(why), err, errlen) != 0) {
        pb_daemon_remove_pidfile(pidfile);
        return -1;
    }
    if (ring == NULL)
        pb_log(LOG_NOTICE, "no contact key (%s): signup and profile events without a contact "
               "id are acknowledged and change nothing", why);
    if (pb_daemon_drop_privileges("scorer", sc->user, sc->group, err, errlen) != 0) {
        pb_daemon_remove_pidfile(pidfile);
        return -1;
    }
    return 0;
}

static int run(const char *path, const struct pb_daemon_options *opt, int once)
{
    char err[1024];
    struct gen *boot = gen_load(path, err, sizeof(err));
    struct pb_scorer s;
    char *pidfile;
    int rc;

    if (boot == NULL) {
        fprintf(stderr, PB_SCORER_NAME ": %s\n", err);
        return 1;
    }
    pidfile = once ? NULL : pidfile_path(boot->conf.scorer.pidfile, opt->extra_arg);
    if (start(opt, once, boot, pidfile, err, sizeof(err)) != 0) {
        pb_log(LOG_ERR, "%s", err);
        pb_daemon_ready(1);
        pb_sc_admin_stop(admin);
        g_free(pidfile);
        gen_free(boot);
        return 1;
    }
    set_signals();
    pb_scorer_init(&s, &boot->conf, &boot->rules, opt->extra_arg);
    if (time_scale > 1) {
        time_origin_ms = pb_scorer_real_now_ms();
        s.now_ms = scaled_now_ms;
        pb_log(LOG_WARNING, "the clock runs %lld times as fast as real time (--time-scale)",
               time_scale);
    }
    s.ring = ring;
    pb_sc_admin_publish(admin, &s);
    if (pb_sc_admin_start(admin, &boot->conf, s.consumer, err, sizeof(err)) != 0) {
        pb_log(LOG_ERR, "%s", err);
        pb_daemon_ready(1);
        rc = 1;
    } else {
        describe(&boot->rules, err, sizeof(err));
        pb_log(LOG_INFO, "started: consumer %s in group %s on %s, %s%s%s", s.consumer,
               boot->conf.scorer.consumer_group, s.stream, err, once ? ", --once" : "",
               admin ? ", /metrics on scorer.admin_listen" : "");
        pb_daemon_ready(0);
        rc = once ? run_once(&s) : run_loop(path, &s, boot);
    }
    pb_sc_admin_stop(admin);
    admin = NULL;
    pb_scorer_free(&s);
    ring_free(ring);
    ring = NULL;
    pb_daemon_remove_pidfile(pidfile);
    g_free(pidfile);
    gen_free(boot);
    return rc;
}

/* --once and --time-scale N are this program's own long options: taken
 * out before the shared parser sees the rest. -1 after a bad value. */
static int take_long_options(int *argc, char **argv, int *once)
{
    int j = 1;
    char *end;

    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            while (i < *argc)
                argv[j++] = argv[i++];
            break;
        }
        if (strcmp(argv[i], "--once") == 0)
            *once = 1;
        else if (strcmp(argv[i], "--time-scale") == 0 && i + 1 < *argc) {
            time_scale = strtoll(argv[++i], &end, 10);
            if (*end != '\0' || time_scale < 1 || time_scale > 1000000) {
                fprintf(stderr, PB_SCORER_NAME ": --time-scale: \"%s\" is not a whole number "
                        "from 1 to 1000000 (how many times faster than real time the clock runs)\n",
                        argv[i]);
                return -1;
            }
        } else
            argv[j++] = argv[i];
    }
    *argc = j;
    argv[j] = NULL;
    return 0;
}

int main(int argc, char **argv)
{
    struct pb_daemon_options opt;
    char resolved[PATH_MAX];
    const char *path;
    int once = 0, rc;

    if (take_long_options(&argc, argv, &once) != 0)
        return 2;
    rc = pb_daemon_parse_options(argc, argv, &scorer_cli, &opt);
    if (rc != PB_DAEMON_GO_ON)
        return rc;
    pb_log_init(PB_SCORER_NAME, 1, NULL);
    pb_log_set_verbose(opt.verbose);
    if (opt.check_only)
        return check_config(opt.conf_path);
    /* Reloads happen after chdir("/"): remember where the file really is. */
    path = opt.conf_path;
    if (path[0] != '/' && realpath(path, resolved) != NULL)
        path = resolved;
    return run(path, &opt, once);
}
