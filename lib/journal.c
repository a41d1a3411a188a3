/*
 * journal.c - append-only local file of Redis commands that could not be
 * written yet, replayed in order when Redis is back.
 *
 * File format: a sequence of frames
 *
 *     "PBJ1 <length> <fnv1a-32 of the bytes, 8 hex>\n" <bytes> "\n"
 *
 * A crash in the middle of an append leaves a frame whose header, length,
 * checksum or trailing newline does not add up; pb_journal_open() finds
 * the first such frame, logs it, and cuts the file there, so the torn
 * record is ignored and later appends follow the last good one.
 *
 * The records between `head` and `end` are the backlog. Replaying moves
 * `head` forward in memory; the file shrinks when the backlog is empty
 * (truncated to zero) or is rewritten to the remaining records (temp file
 * + rename) when a replay stops early, and when 16 MB of it were consumed
 * while at most 1 MB is left (a writer that appends every record before
 * sending it, as the tracker does, seldom finds it empty). A crash between a write to Redis
 * and that bookkeeping replays a record again: harmless, because every
 * command is idempotent (events.h).
 *
 * Dropping answered records and compacting: journal_consume.c (the state
 * both share: journal_int.h).
 *
 * The file is flock()ed: one process per journal file.
 *
 * fsync policies: "always" syncs every append before it returns;
 * "second" leaves it to a thread of the journal's own (started by the
 * first append) that syncs once a second when anything was appended, so
 * a writer never waits for the disk; "never" leaves it to the kernel.
 *
 * Thread safety: an internal mutex serialises appends, peeks and
 * bookkeeping, so threads may append while one consumer replays.
 * pb_journal_replay() calls fn without the lock (fn may take long: it
 * talks to Redis); only one thread may replay or consume at a time.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <limits.h>
#include <unistd.h>
#include <glib.h>
#include "journal.h"
#include "journal_frame.h"
#include "journal_int.h"
#include "log.h"

/* Count the good frames of a freshly opened file; cut a torn tail. */
static int scan_file(struct pb_journal *j, char *errbuf, size_t errlen)
{
    struct stat st;
    GString *body = g_string_sized_new(4096);
    off_t off = 0, next = 0;
    int r = 0;

    if (fstat(j->fd, &st) != 0) {
        snprintf(errbuf, errlen, "journal %s: fstat: %s", j->path, strerror(errno));
        g_string_free(body, TRUE);
        return -1;
    }
    while (off < st.st_size && (r = pb_jframe_read(j->fd, off, st.st_size, body, &next)) == 1) {
        j->backlog++;
        off = next;
    }
    g_string_free(body, TRUE);
    if (r < 0) {
        snprintf(errbuf, errlen, "journal %s: read: %s", j->path, strerror(errno));
        return -1;
    }
    if (off < st.st_size) {
        pb_log(LOG_WARNING, "journal %s: incomplete record at offset %lld "
               "(%lld bytes, interrupted write) discarded",
               j->path, (long long)off, (long long)(st.st_size - off));
        if (ftruncate(j->fd, off) != 0) {
            snprintf(errbuf, errlen, "journal %s: truncate: %s", j->path, strerror(errno));
            return -1;
        }
    }
    j->end = off;
    return 0;
}

static int is_regular(int fd)
{
    struct stat st;

    return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

struct pb_journal *pb_journal_open(const char *path, enum pb_fsync_policy policy,
                                   char *errbuf, size_t errlen)
{
    struct pb_journal *j = g_new0(struct pb_journal, 1);

    j->path = g_strdup(path);
    j->policy = policy;
    pthread_mutex_init(&j->lock, NULL);
    pthread_cond_init(&j->wake, NULL);
    j->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (j->fd < 0) {
        snprintf(errbuf, errlen, "journal %s: open: %s", path, strerror(errno));
        pb_journal_close(j);
        return NULL;
    }
    /* One writer per file: a second program (or a second milter) on the
     * same journal would lose records when either rewrites it. */
    if (is_regular(j->fd) && flock(j->fd, LOCK_EX | LOCK_NB) != 0) {
        snprintf(errbuf, errlen, "journal %s: %s", path, errno == EWOULDBLOCK
                 ? "in use by another process (give each program its own journal)"
                 : strerror(errno));
        pb_journal_close(j);
        return NULL;
    }
    if (scan_file(j, errbuf, errlen) != 0) {
        pb_journal_close(j);
        return NULL;
    }
    return j;
}

/* fsync the directory so a rename or a new file survives a crash. */
int pb_journal_sync_dir(const char *path)
{
    char *dir = g_path_get_dirname(path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = -1;

    g_free(dir);
    if (fd < 0)
        return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

int pb_journal_sync_locked(struct pb_journal *j)
{
    if (j->policy == PB_FSYNC_NEVER || !j->dirty)
        return 0;
    if (fdatasync(j->fd) != 0)
        return -1;
    j->dirty = 0;
    j->syncs++;
    return 0;
}

/*
 * Policy "second": a thread fsyncs once a second when anything was
 * appended, so that no writer (the tracker's event loop) ever waits for
 * the disk. It syncs a dup of the descriptor without the lock, so appends
 * go on meanwhile (they set dirty again); a compaction that replaces the
 * file syncs the new one itself.
 */
static void *syncer_main(void *arg)
{
    struct pb_journal *j = arg;

    pthread_mutex_lock(&j->lock);
    while (!j->syncer_stop) {
        struct timespec until;
        int fd;

        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        if (pthread_cond_timedwait(&j->wake, &j->lock, &until) == 0 || !j->dirty
            || (fd = dup(j->fd)) < 0)
            continue;
        j->dirty = 0;
        pthread_mutex_unlock(&j->lock);
        if (fdatasync(fd) != 0) {
            static struct pb_log_limit lim;
            pb_log_limited(&lim, 6, LOG_ERR, "journal %s: fsync: %s", j->path, strerror(errno));
            pthread_mutex_lock(&j->lock);
            j->dirty = 1;
        } else {
            pthread_mutex_lock(&j->lock);
            j->syncs++;
        }
        close(fd);
    }
    pthread_mutex_unlock(&j->lock);
    return NULL;
}

/* Start the syncing thread (lock held); if it cannot start, every append
 * syncs itself. */
static void syncer_start_locked(struct pb_journal *j)
{
    if (j->syncer_running || j->syncer_stop)
        return;
    if (pthread_create(&j->syncer, NULL, syncer_main, j) == 0)
        j->syncer_running = 1;
    else
        j->syncer_stop = 1;
}

static void syncer_stop(struct pb_journal *j)
{
    pthread_mutex_lock(&j->lock);
    j->syncer_stop = 1;
    pthread_cond_signal(&j->wake);
    pthread_mutex_unlock(&j->lock);
    if (j->syncer_running)
        pthread_join(j->syncer, NULL);
    j->syncer_running = 0;
}


#define APPEND_CHUNK 128        /* records per writev */

/*
 * Write up to APPEND_CHUNK frames at the end. Returns the frames written
 * completely; on an error the partial frame is cut off again and -1 is
 * returned through *failed (errno set).
 */
static size_t append_chunk(struct pb_journal *j, const char *const *recs,
                           const size_t *lens, size_t n, int *failed)
{
    static char newline[] = "\n";
    char headers[APPEND_CHUNK][HEADER_MAX];
    struct iovec iov[3 * APPEND_CHUNK];
    size_t frame[APPEND_CHUNK], written = 0, complete = 0;
    off_t good;

    for (size_t i = 0; i < n; i++) {
        int hlen = pb_jframe_header(headers[i], HEADER_MAX, recs[i], lens[i]);
        iov[3 * i] = (struct iovec){ headers[i], (size_t)hlen };
        iov[3 * i + 1] = (struct iovec){ (void *)recs[i], lens[i] };
        iov[3 * i + 2] = (struct iovec){ newline, 1 };
        frame[i] = (size_t)hlen + lens[i] + 1;
    }
    j->dirty = 1;
    *failed = pb_jframe_writev_full(j->fd, iov, (int)(3 * n), &written);
    good = j->end;
    for (size_t i = 0; i < n && written >= frame[i]; i++) {
        written -= frame[i];
        good += (off_t)frame[i];
        complete++;
    }
    if (*failed) {
        /* Cut a partial frame off again so the file stays well-formed. */
        int saved = errno;
        if (ftruncate(j->fd, good) != 0)
            pb_log(LOG_ERR, "journal %s: cannot cut a failed append: %s",
                   j->path, strerror(errno));
        errno = saved;
    }
    j->end = good;
    __atomic_store_n(&j->backlog, j->backlog + complete, __ATOMIC_RELAXED);
    return complete;
}

/* After appending: fsync as the policy says ("second": the syncing
 * thread's job). -1 only for "always". */
static int append_sync(struct pb_journal *j)
{
    if (j->policy == PB_FSYNC_ALWAYS)
        return pb_journal_sync_locked(j);
    if (j->policy == PB_FSYNC_SECOND)
        syncer_start_locked(j);
    if (j->policy == PB_FSYNC_SECOND && !j->syncer_running && pb_journal_sync_locked(j) != 0) {
        static struct pb_log_limit lim;
        pb_log_limited(&lim, 6, LOG_ERR, "journal %s: fsync: %s", j->path, strerror(errno));
    }
    return 0;
}

size_t pb_journal_append_many(struct pb_journal *j, const char *const *recs,
                              const size_t *lens, size_t n)
{
    size_t done = 0;
    off_t start;
    int failed = 0, saved;

    for (size_t i = 0; i < n; i++)
        if (lens[i] > RECORD_MAX) {
            n = i;              /* append what comes before, then fail */
            failed = EFBIG;
            break;
        }
    pthread_mutex_lock(&j->lock);
    start = j->end;
    while (done < n) {
        size_t chunk = MIN(n - done, (size_t)APPEND_CHUNK);
        int err = 0;
        done += append_chunk(j, recs + done, lens + done, chunk, &err);
        if (err) {
            failed = errno;
            break;
        }
    }
    if (done > 0 && append_sync(j) != 0) {
        /* "always" promises durable records: take back what is not. */
        failed = errno;
        if (ftruncate(j->fd, start) == 0) {
            __atomic_store_n(&j->backlog, j->backlog - done, __ATOMIC_RELAXED);
            j->end = start;
            done = 0;
        }
    }
    saved = failed;
    pthread_mutex_unlock(&j->lock);
    if (saved)
        errno = saved;
    return done;
}

int pb_journal_append(struct pb_journal *j, const char *rec, size_t len)
{
    return pb_journal_append_many(j, &rec, &len, 1) == 1 ? 0 : -1;
}

unsigned long pb_journal_syncs(struct pb_journal *j)
{
    unsigned long n;

    pthread_mutex_lock(&j->lock);
    n = j->syncs;
    pthread_mutex_unlock(&j->lock);
    return n;
}

int pb_journal_sync(struct pb_journal *j)
{
    int rc;

    pthread_mutex_lock(&j->lock);
    rc = pb_journal_sync_locked(j);
    pthread_mutex_unlock(&j->lock);
    return rc;
}

long pb_journal_peek(struct pb_journal *j, size_t max,
                     int (*fn)(void *arg, const char *rec, size_t len), void *arg)
{
    GString *body = g_string_sized_new(4096);
    off_t off, next;
    long count = 0;

    pthread_mutex_lock(&j->lock);
    for (off = j->head; (size_t)count < max && off < j->end; off = next) {
        int r = pb_jframe_read(j->fd, off, j->end, body, &next);
        if (r != 1) {
            if (r == 0)
                errno = EIO;    /* was valid when written: the file was changed under us */
            count = -1;
            break;
        }
        if (fn(arg, body->str, body->len) != 0)
            break;
        count++;
    }
    pthread_mutex_unlock(&j->lock);
    g_string_free(body, TRUE);
    return count;
}

long pb_journal_replay(struct pb_journal *j,
                       int (*fn)(void *arg, const char *rec, size_t len), void *arg)
{
    GString *body = g_string_sized_new(4096);
    long done = 0;
    off_t off, next = 0;
    int r = 1, stopped = 0, rc;

    pthread_mutex_lock(&j->lock);
    off = j->head;
    pthread_mutex_unlock(&j->lock);
    for (;;) {
        pthread_mutex_lock(&j->lock);
        r = off < j->end ? pb_jframe_read(j->fd, off, j->end, body, &next) : 2;
        pthread_mutex_unlock(&j->lock);
        if (r != 1)
            break;
        if (fn(arg, body->str, body->len) != 0) {
            stopped = 1;
            break;
        }
        off = next;
        done++;
    }
    g_string_free(body, TRUE);
    pthread_mutex_lock(&j->lock);
    rc = pb_journal_consume_locked(j, (size_t)done, off, stopped);
    pthread_mutex_unlock(&j->lock);
    if (r == 0)
        errno = EIO;
    return (r == 0 || r == -1 || rc != 0) ? -1 : done;
}

size_t pb_journal_backlog(const struct pb_journal *j)
{
    return __atomic_load_n(&j->backlog, __ATOMIC_RELAXED);
}

void pb_journal_close(struct pb_journal *j)
{
    if (j == NULL)
        return;
    syncer_stop(j);
    if (j->fd >= 0) {
        pthread_mutex_lock(&j->lock);
        if (j->head > 0 && pb_journal_compact_locked(j) != 0)
            pb_log(LOG_WARNING, "journal %s: cannot drop replayed records (%s); "
                   "they will be replayed again, without effect", j->path, strerror(errno));
        if (pb_journal_sync_locked(j) != 0)
            pb_log(LOG_ERR, "journal %s: fsync: %s", j->path, strerror(errno));
        pthread_mutex_unlock(&j->lock);
        close(j->fd);
    }
    pthread_mutex_destroy(&j->lock);
    pthread_cond_destroy(&j->wake);
    g_free(j->path);
    g_free(j);
}
