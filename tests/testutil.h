/*
 * testutil.h - helpers shared by the Check unit tests: reading fixture
 * files, temporary directories, and a key ring / configuration that the
 * rewriting tests can use without touching /etc.
 */
#ifndef PB_TESTUTIL_H
#define PB_TESTUTIL_H

#include <stddef.h>
#include <glib.h>
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
/* Path under the tests source dir (TESTS_DIR) / the in-tree corpus
 * (CORPUS_DIR: tests/data/corpus); static buffer. */
const char *tu_test_path(const char *rel);
const char *tu_corpus_path(const char *rel);

/* A private redis-server listening only on the unix socket `socket_path`
 * (no TCP port, no persistence), run as a child that dies with the test;
 * its log goes to socket_path + ".log". Waits until it accepts
 * connections. Returns its pid, 0 if redis-server is not installed, -1 if
 * it did not come up. */
int tu_redis_start(const char *socket_path);
/* The same with more redis-server arguments (a NULL-terminated list). */
int tu_redis_start_with(const char *socket_path, const char *const *extra);
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
 * destination must equal once UTM tagging is undone. An empty path
 * becomes "/", as the rewriter makes it when it adds UTM parameters. */
char *tu_strip_utm(const char *url);
/* Where "/" goes for an empty path of url[0..end) ("https://host?q"), or 0. */
size_t tu_empty_path_at(const char *url, size_t end);

/* ---- the configuration and key ring of a test (Check fixture) --------- */
/* tcase_add_checked_fixture(tc, tu_setup, tu_teardown): before each test
 * tu_conf is made by tu_setup_conf (tu_test_conf, unless the program sets
 * another, e.g. tu_mime_conf, before it runs its suite) and tu_ring by
 * tu_test_keyring; after it both are freed. */
extern struct pb_conf tu_conf;
extern struct pb_keyring tu_ring;
extern void (*tu_setup_conf)(struct pb_conf *conf);
void tu_setup(void);
void tu_teardown(void);

/* ---- undoing a rewrite link by link (check_html, check_text) ---------- */
/* A reader's check of a rewrite: every tracked link verifies and leads to
 * the URL it replaced, and with each original put back in its place the
 * output is the input again, byte for byte. */
struct tu_undo {
    const struct pb_conf *conf;
    const struct pb_keyring *ring;
    const char *out;            /* the rewrite */
    size_t pos;                 /* out[0..pos) is in text */
    GString *text;              /* out, with the links so far put back */
    char why[512];              /* why tu_undo_link refused a link */
};
void tu_undo_start(struct tu_undo *u, const struct pb_conf *conf,
                   const struct pb_keyring *ring, const char *out);
/* out[at..end) is a tracked link, its click URL `url` (NULL: those bytes
 * as they are), put in place of orig[0..orig_len) of the input, a link to
 * `want`. If its token verifies (tu_click_dest) and leads to want, utm_*
 * parameters aside (tu_strip_utm), orig goes back in its place and the
 * destination (malloc'd; free it) and link index are returned. Otherwise
 * NULL, with the reason in u->why. */
char *tu_undo_link(struct tu_undo *u, size_t at, size_t end, const char *url, const char *want,
                   const char *orig, size_t orig_len, unsigned *index);
/* The rest of out (out_len bytes in all) copied: the undone text, which
 * the caller frees (g_string_free). */
GString *tu_undo_finish(struct tu_undo *u, size_t out_len);

/* ---- Redis streams (check_events, check_store) ----------------------- */
struct redisContext;
struct redisReply;
/* XRANGE key - + : the whole stream, an array of entries [id, [field,
 * value, ...]] (freeReplyObject it); NULL if Redis did not answer one. */
struct redisReply *tu_stream_range(struct redisContext *c, const char *key);
/* The value of field `name` of one entry of it, or NULL. */
const char *tu_stream_field(const struct redisReply *entry, const char *name);

#endif
