/*
 * keys_int.h - what keys.c (loading, generating) and keys_edit.c (editing
 * a key file in place) share. Private to them; keys.h is the interface.
 */
#ifndef PB_KEYS_INT_H
#define PB_KEYS_INT_H

#include <stddef.h>

/* n random bytes as lowercase hex into out (2n+1 bytes); 0 on success. */
int pb_keys_random_hex(size_t n, char *out);
/* Write text to fd and fsync it; 0, or -1 with errbuf naming path. */
int pb_keys_write_text(const char *path, int fd, const char *text, char *errbuf,
                       size_t errlen);
/* The text of a new key file (contact key, key 1) written to fd. */
int pb_keys_create_text(const char *path, int fd, char *errbuf, size_t errlen);

#endif
