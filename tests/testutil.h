/*
 * testutil.h - helpers shared by the Check unit tests: reading fixture
 * files, temporary directories, and a key ring / configuration that the
 * rewriting tests can use without touching /etc.
 */
#ifndef PB_TESTUTIL_H
#define PB_TESTUTIL_H

#include <stddef.h>
#include "conf.h"
#include "keys.h"

/* Whole file into a malloc'd, NUL-terminated buffer; NULL if unreadable. */
char *tu_read_file(const char *path, size_t *len);
/* Write len bytes to path (mode 0600); 0 on success. */
int tu_write_file(const char *path, const void *data, size_t len);
/* A fresh directory under $TMPDIR (or /tmp); static buffer. */
const char *tu_tmpdir(void);
/* A key ring with two keys (ids 1 and 2, 2 signs) and a contact key, from
 * fixed test secrets; written to a file in a temp dir and loaded through
 * pb_keys_load so tests exercise the real loader. */
void tu_test_keyring(struct pb_keyring *ring);
/* Defaults plus tracking_url "https://t.example.net" and UTM domains
 * example.com and shop.example.org. */
void tu_test_conf(struct pb_conf *conf);
/* Path under the tests source dir (TESTS_DIR) / corpus dir; static buffer. */
const char *tu_test_path(const char *rel);
const char *tu_corpus_path(const char *rel);

#endif
