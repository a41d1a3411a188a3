/*
 * daemon.c - the process around libmilter: configuration generations and
 * their SIGUSR1 reload thread, and the unix socket's file. The pidfile,
 * detaching and dropping root privileges are shared with the tracker
 * (lib/daemon.c).
 *
 * Signals: libmilter's own thread takes SIGTERM, SIGINT and SIGHUP (all
 * three stop smfi_main). SIGUSR1 is blocked in every thread and taken by
 * sigwait() in the reload thread, which loads a new generation and swaps
 * it in; messages in progress keep the generation they started with.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <glib.h>
#include "daemon.h"
#include "log.h"

/* ---- configuration generations ------------------------------------------ */

static pthread_mutex_t generation_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pb_generation *current_generation;
static unsigned long generation_count;

struct pb_generation *pb_generation_load(const char *path, const char *socket,
                                         char *errbuf, size_t errlen)
{
    struct pb_generation *gen = calloc(1, sizeof(*gen));

    if (gen == NULL) {
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    if (pb_conf_load(path, &gen->conf, errbuf, errlen) != 0) {
        free(gen);
        return NULL;
    }
    if (socket != NULL) {
        free(gen->conf.milter.socket);
        gen->conf.milter.socket = strdup(socket);
    }
    if (gen->conf.milter.socket == NULL
        || pb_keys_load(gen->conf.keys_file, 1, &gen->keys, errbuf, errlen) != 0) {
        if (gen->conf.milter.socket == NULL)
            snprintf(errbuf, errlen, "out of memory");
        pb_conf_free(&gen->conf);
        free(gen);
        return NULL;
    }
    gen->refs = 1;
    return gen;
}

void pb_generation_release(struct pb_generation *gen)
{
    if (gen == NULL || __atomic_sub_fetch(&gen->refs, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    pb_keys_free(&gen->keys);
    pb_conf_free(&gen->conf);
    free(gen);
}

void pb_generation_install(struct pb_generation *gen)
{
    struct pb_generation *old;

    pthread_mutex_lock(&generation_lock);
    gen->number = ++generation_count;
    old = current_generation;
    current_generation = gen;
    pthread_mutex_unlock(&generation_lock);
    pb_generation_release(old);
}

struct pb_generation *pb_generation_acquire(void)
{
    struct pb_generation *gen;

    pthread_mutex_lock(&generation_lock);
    gen = current_generation;
    if (gen != NULL)
        __atomic_add_fetch(&gen->refs, 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&generation_lock);
    return gen;
}

void pb_generation_shutdown(void)
{
    struct pb_generation *old;

    pthread_mutex_lock(&generation_lock);
    old = current_generation;
    current_generation = NULL;
    pthread_mutex_unlock(&generation_lock);
    pb_generation_release(old);
}

/* ---- the listening socket's file -------------------------------------- */

const char *pb_daemon_unix_path(const char *spec)
{
    if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0)
        return strchr(spec, ':') + 1;
    return spec[0] == '/' ? spec : NULL;
}

/* 1 if something accepts connections on the unix socket at path. */
static int socket_answers(const char *path)
{
    struct sockaddr_un sun;
    int fd, rc;

    if (strlen(path) >= sizeof(sun.sun_path))
        return 0;
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    strcpy(sun.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
    close(fd);
    return rc == 0;
}

int pb_daemon_check_socket(const char *spec, char *errbuf, size_t errlen)
{
    const char *path = pb_daemon_unix_path(spec);
    struct stat st;

    if (path == NULL || lstat(path, &st) != 0)
        return 0;
    if (!S_ISSOCK(st.st_mode)) {
        snprintf(errbuf, errlen, "%s exists and is not a socket; remove it or choose "
                 "another milter.socket", path);
        return -1;
    }
    if (socket_answers(path)) {
        snprintf(errbuf, errlen, "another milter is already listening on %s", path);
        return -1;
    }
    pb_log(LOG_DEBUG, "removing stale socket %s", path);
    return 0;
}

int pb_daemon_secure_socket(const char *spec, const struct pb_milter_conf *mc,
                            char *errbuf, size_t errlen)
{
    const char *path = pb_daemon_unix_path(spec);
    uid_t uid;
    gid_t gid;

    if (path == NULL)
        return 0;
    if (chmod(path, (mode_t)mc->socket_mode) != 0) {
        snprintf(errbuf, errlen, "chmod %o %s: %s", (unsigned)mc->socket_mode, path,
                 strerror(errno));
        return -1;
    }
    if (pb_daemon_lookup_ids("milter", mc->user, mc->group, &uid, &gid, errbuf, errlen) != 0)
        return -1;
    if (geteuid() != 0)
        uid = (uid_t)-1;        /* only root gives files away */
    if ((uid != (uid_t)-1 || gid != (gid_t)-1) && chown(path, uid, gid) != 0) {
        snprintf(errbuf, errlen, "chown %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

void pb_daemon_remove_socket(const char *spec)
{
    const char *path = pb_daemon_unix_path(spec);

    if (path != NULL && unlink(path) != 0 && errno != ENOENT)
        pb_log(LOG_NOTICE, "cannot remove socket %s: %s", path, strerror(errno));
}

/* ---- SIGUSR1 reload thread --------------------------------------------- */

static struct {
    pthread_t thread;
    int running;
    volatile sig_atomic_t stopping;
    char *path, *socket;
} reloader;

void pb_daemon_block_reload_signal(void)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/* Settings read only at start-up: say so when a reload changes them. */
static void note_restart_settings(const struct pb_conf *old, const struct pb_conf *new)
{
    static const struct { const char *name; size_t off; } fields[] = {
        { "milter.socket", offsetof(struct pb_conf, milter.socket) },
        { "milter.user", offsetof(struct pb_conf, milter.user) },
        { "milter.group", offsetof(struct pb_conf, milter.group) },
        { "milter.pidfile", offsetof(struct pb_conf, milter.pidfile) },
        { "redis.host", offsetof(struct pb_conf, redis.host) },
        { "redis.socket", offsetof(struct pb_conf, redis.socket) },
        { "redis.journal", offsetof(struct pb_conf, redis.journal) },
        { "redis.prefix", offsetof(struct pb_conf, redis.prefix) },
        { "log.facility", offsetof(struct pb_conf, log_facility) },
    };

    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        const char *a = *(char *const *)((const char *)old + fields[i].off);
        const char *b = *(char *const *)((const char *)new + fields[i].off);
        if (g_strcmp0(a, b) != 0)
            pb_log(LOG_NOTICE, "%s changed: takes effect after a restart", fields[i].name);
    }
    if (old->redis.port != new->redis.port || old->redis.db != new->redis.db
        || old->milter.socket_mode != new->milter.socket_mode)
        pb_log(LOG_NOTICE, "redis.port, redis.db or milter.socket_mode changed: takes "
               "effect after a restart");
}

static void reload(void)
{
    char err[1024];
    struct pb_generation *gen = pb_generation_load(reloader.path, reloader.socket, err,
                                                   sizeof(err));
    struct pb_generation *old;

    if (gen == NULL) {
        old = pb_generation_acquire();
        pb_log(LOG_ERR, "reload failed, keeping configuration generation %lu: %s",
               old ? old->number : 0, err);
        pb_generation_release(old);
        return;
    }
    old = pb_generation_acquire();
    if (old != NULL)
        note_restart_settings(&old->conf, &gen->conf);
    pb_generation_release(old);
    pb_generation_install(gen);
    pb_log(LOG_INFO, "configuration reloaded from %s (generation %lu)", reloader.path,
           gen->number);
}

static void *reloader_main(void *unused)
{
    sigset_t set;
    int sig;

    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    while (!reloader.stopping) {
        if (sigwait(&set, &sig) != 0)
            continue;
        if (!reloader.stopping)
            reload();
    }
    return NULL;
}

int pb_daemon_start_reloader(const char *path, const char *socket, char *errbuf,
                             size_t errlen)
{
    sigset_t all, old;
    int rc;

    reloader.path = strdup(path);
    reloader.socket = socket ? strdup(socket) : NULL;
    reloader.stopping = 0;
    /* The thread takes no asynchronous signals: SIGTERM and friends belong to
     * libmilter's signal thread, SIGUSR1 only reaches it through sigwait(). */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&reloader.thread, NULL, reloader_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        snprintf(errbuf, errlen, "cannot start the reload thread: %s", strerror(rc));
        return -1;
    }
    reloader.running = 1;
    return 0;
}

void pb_daemon_stop_reloader(void)
{
    if (reloader.running) {
        reloader.stopping = 1;
        pthread_kill(reloader.thread, SIGUSR1);
        pthread_join(reloader.thread, NULL);
        reloader.running = 0;
    }
    free(reloader.path);
    free(reloader.socket);
    reloader.path = reloader.socket = NULL;
}
