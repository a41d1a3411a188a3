/*
 * journal_consume.c - dropping records from the head of the journal once
 * Redis has them (lib/journal.h: consume, consume_known), and keeping the
 * file small: truncated when nothing is left, rewritten to what is left
 * (temp file + rename) when a replay stops early or when a busy writer's
 * consumed head has grown large. Split from journal.c (open, append,
 * fsync, peek and replay), which shares the state through journal_int.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/uio.h>
#include <unistd.h>
#include <glib.h>
#include "journal.h"
#include "journal_frame.h"
#include "journal_int.h"

/* Copy [head, end) to a new file and put it in place of the journal. */
int pb_journal_compact_locked(struct pb_journal *j)
{
    char *tmp = g_strconcat(j->path, ".tmp", NULL);
    int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), in, saved, rc;
    enum { BUF_SIZE = 65536 };
    char *buf = g_malloc(BUF_SIZE);
    off_t off = j->head;

    if (out < 0)
        goto fail;
    while (off < j->end) {
        size_t n = (size_t)MIN((off_t)BUF_SIZE, j->end - off);
        struct iovec iov = { buf, n };
        int r = pb_jframe_pread_full(j->fd, buf, n, off);
        if (r != 1) {
            if (r == 0)
                errno = EIO;
            goto fail;
        }
        if (pb_jframe_writev_full(out, &iov, 1, NULL) != 0)
            goto fail;
        off += (off_t)n;
    }
    rc = j->policy != PB_FSYNC_NEVER ? fdatasync(out) : 0;
    saved = errno;
    if (close(out) != 0 || rc != 0) {
        out = -1;
        if (rc != 0)
            errno = saved;
        goto fail;
    }
    out = -1;
    if ((in = open(tmp, O_RDWR | O_APPEND | O_CLOEXEC)) < 0)
        goto fail;
    if (flock(in, LOCK_EX | LOCK_NB) != 0 || rename(tmp, j->path) != 0) {
        saved = errno;
        close(in);
        errno = saved;
        goto fail;
    }
    if (j->policy != PB_FSYNC_NEVER)
        (void)pb_journal_sync_dir(j->path);
    close(j->fd);
    j->fd = in;
    j->end -= j->head;
    j->head = 0;
    j->dirty = 0;
    g_free(tmp);
    g_free(buf);
    return 0;

fail:
    saved = errno;
    if (out >= 0)
        close(out);
    unlink(tmp);
    g_free(tmp);
    g_free(buf);
    errno = saved;
    return -1;
}

/* Drop the records before new_head (n of them). */
int pb_journal_consume_locked(struct pb_journal *j, size_t n, off_t new_head, int compact)
{
    j->head = new_head;
    __atomic_store_n(&j->backlog, j->backlog - n, __ATOMIC_RELAXED);
    if (j->head == j->end) {
        if (ftruncate(j->fd, 0) != 0)
            return -1;
        j->head = j->end = 0;
        j->dirty = 1;
        /* "second": the syncing thread (an old record replayed again after
         * a crash is skipped by Redis) */
        return j->policy == PB_FSYNC_SECOND && j->syncer_running ? 0 : pb_journal_sync_locked(j);
    }
    /* A journal that is never empty (each answer comes after newer
     * records were appended: a busy tracker) would grow for ever: once
     * its consumed head is large and what is left small, the rest is
     * copied to a new file. */
    if (j->head > 0 && (compact || (j->head >= COMPACT_HEAD && j->end - j->head <= COMPACT_REST)))
        return pb_journal_compact_locked(j);
    return 0;
}

/* Offset just after the first n records from head (read and checked
 * before, so only their headers are read, a window of the file at a time:
 * one read for many records, as a tracker drops each batch it wrote);
 * -1 on error. */
static off_t skip_records(struct pb_journal *j, size_t n)
{
    enum { WINDOW = 65536 };
    char *win = g_malloc(WINDOW);
    off_t off = j->head, win_off = 0;
    size_t win_len = 0;

    for (size_t i = 0; i < n && off < j->end; i++) {
        size_t want = (size_t)MIN((off_t)HEADER_MAX, j->end - off), hlen, len;
        uint32_t sum;

        if (off < win_off || off + (off_t)want > win_off + (off_t)win_len) {
            win_off = off;
            win_len = (size_t)MIN((off_t)WINDOW, j->end - off);
            int r = pb_jframe_pread_full(j->fd, win, win_len, win_off);
            if (r != 1) {
                g_free(win);
                if (r == 0)
                    errno = EIO;
                return -1;
            }
        }
        hlen = pb_jframe_parse_header(win + (off - win_off), want, &len, &sum, NULL);
        if (hlen == 0) {
            g_free(win);
            errno = EIO;
            return -1;
        }
        off += (off_t)(hlen + len + 1);
    }
    g_free(win);
    return off;
}

/* A frame header at off, or the end of the records. */
static int frame_starts_at(struct pb_journal *j, off_t off)
{
    char h[HEADER_MAX];
    size_t want = (size_t)MIN((off_t)sizeof(h), j->end - off), len;
    uint32_t sum;

    if (off == j->end)
        return 1;
    return pb_jframe_pread_full(j->fd, h, want, off) == 1
        && pb_jframe_parse_header(h, want, &len, &sum, NULL) > 0;
}

int pb_journal_consume(struct pb_journal *j, size_t n, int compact)
{
    off_t off;
    int rc = -1;

    pthread_mutex_lock(&j->lock);
    if (n > j->backlog)
        n = j->backlog;
    if ((off = skip_records(j, n)) >= 0)
        rc = pb_journal_consume_locked(j, n, off, compact);
    pthread_mutex_unlock(&j->lock);
    return rc;
}

int pb_journal_consume_known(struct pb_journal *j, const size_t *lens, size_t n)
{
    off_t off;
    int rc = -1;

    pthread_mutex_lock(&j->lock);
    if (n > j->backlog)
        n = j->backlog;
    off = j->head;
    for (size_t i = 0; i < n; i++)
        off += (off_t)pb_jframe_size(lens[i]);
    if (off > j->end || !frame_starts_at(j, off))
        off = skip_records(j, n);       /* not what the head holds: read it instead */
    if (off >= 0)
        rc = pb_journal_consume_locked(j, n, off, 0);
    pthread_mutex_unlock(&j->lock);
    return rc;
}
