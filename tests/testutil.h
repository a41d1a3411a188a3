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

/* A private redis-server listening only on the unix socket `socket_path`
 * (no TCP port, no persistence), run as a child that dies with the test;
 * its log goes to socket_path + ".log". Waits until it accepts
 * connections. Returns its pid, 0 if redis-server is not installed, -1 if
 * it did not come up. */
int tu_redis_start(const char *socket_path);
/* Stop it (SIGTERM) and reap it. */
void tu_redis_stop(int pid);
/* 1 if a redis-server binary is installed (tests that need one skip
 * themselves, with a message, when not). */
int tu_redis_available(void);

/* ---- tracked links (check_html, check_text, ...) ---------------------- */
struct pb_link_ctx;
/* The fixed context of the rewriting tests: msg id 01..08, contact
 * c0..c7, campaign "spring-sale", sent_at 1700000000, no links yet. */
void tu_link_ctx(struct pb_link_ctx *ctx, const struct pb_conf *conf,
                 const struct pb_keyring *ring);
/* If url (len bytes) is conf's tracking URL + "/c/" + a click token that
 * verifies with ring and carries tu_link_ctx's message fields: its
 * destination (malloc'd, NUL-terminated; free it) and link index.
 * Otherwise NULL. */
char *tu_click_dest(const struct pb_conf *conf, const struct pb_keyring *ring,
                    const char *url, size_t len, unsigned *index);
/* url without its utm_* query parameters (malloc'd): what a tracked
 * destination must equal once UTM tagging is undone. */
char *tu_strip_utm(const char *url);

#endif
