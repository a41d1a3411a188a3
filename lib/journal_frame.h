/*
 * journal_frame.h - the journal's file format, private to lib/journal.c:
 * a sequence of frames
 *
 *     "PBJ2 <length> <checksum of the bytes, 8 hex>\n" <bytes> "\n"
 *
 * and the I/O helpers that read and write them. Frames of journals written
 * before 2026-12-03 start "PBJ1 " and carry the byte-wise FNV-1a; they are
 * still read (a journal left by the previous version is replayed after an
 * upgrade), never written.
 */
#ifndef PB_JOURNAL_FRAME_H
#define PB_JOURNAL_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <glib.h>

#define FRAME_MAGIC "PBJ2 "            /* what is written */
#define FRAME_MAGIC_V1 "PBJ1 "         /* still read */
#define HEADER_MAX 48                   /* "PBJ2 " + 20 digits + " " + 8 hex + "\n" */
#define RECORD_MAX (64u * 1024 * 1024)  /* sanity limit for one record */

/* The checksum of n bytes in a frame of version 2 (written) or 1 (read
 * only: FNV-1a, 32 bits). */
uint32_t pb_jframe_checksum(int version, const char *p, size_t n);
/* The frame header of rec into out; its length. */
int pb_jframe_header(char *out, size_t outlen, const char *rec, size_t len);
/* The size of the whole frame of a record of len bytes. */
size_t pb_jframe_size(size_t len);
/* Read exactly n bytes at off; 1 done, 0 short (end of file), -1 error. */
int pb_jframe_pread_full(int fd, void *buf, size_t n, off_t off);
/* Parse a frame header of n bytes; its length (and *len, *sum, *version
 * if not NULL), or 0. */
size_t pb_jframe_parse_header(const char *h, size_t n, size_t *len, uint32_t *sum, int *version);
/* Read the frame at off (ending by limit) into body: 1 and *next, 0 if no
 * complete, valid frame starts there, -1 on a read error. */
int pb_jframe_read(int fd, off_t off, off_t limit, GString *body, off_t *next);
/* writev everything (iov is consumed); -1 with errno on failure; *done
 * (may be NULL) gets the bytes written either way. */
int pb_jframe_writev_full(int fd, struct iovec *iov, int iovcnt, size_t *done);

#endif
