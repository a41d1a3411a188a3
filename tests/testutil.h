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

/* ---- MIME test messages (check_mime, check_corpus) -------------------- */
#include <glib.h>

/* A corpus template rendered as a sending application renders it: each
 * {{x_url}} (or {{ x_url }}) becomes https://app.postmarkapp.com/x?id=42&src=mail
 * ('&' written "&amp;" when html), {{support_email}} an address. g_free it. */
char *tu_render(const char *tpl, int html);
/* Append data in transfer encoding cte ("7bit", "8bit", "quoted-printable",
 * "base64") with LF line breaks; base64 lines of b64_line characters
 * (0: 76). GMime's encoders, not the code under test. */
void tu_encode(GString *out, const char *cte, const char *data, size_t len, int b64_line);
/* Every LF in s from offset `from` on that has no CR before it gets one. */
void tu_crlf(GString *s, size_t from);
/* A whole message: headers, then multipart/alternative (boundary "alt-b")
 * with the text part (unless NULL) and the html part, both in cte and
 * charset, LF or CRLF line breaks. *body_off: where the body starts. */
GString *tu_alternative(const char *text, const char *html, const char *cte,
                        const char *charset, int crlf, size_t *body_off);
/* Every tracked link (tracking_url + "/c/" + token) in new[0..new_len)
 * must verify (tu_click_dest) and lead to a URL written in orig (raw or
 * with &amp;), plus utm_* parameters exactly when its host is on the UTM
 * list. Returns how many there are, or -1 with why. idx_min/idx_max (may
 * be NULL) receive the range of their link indexes. */
int tu_check_tracked(const struct pb_conf *conf, const struct pb_keyring *ring,
                     const char *orig, size_t orig_len, const char *new_text, size_t new_len,
                     unsigned *idx_min, unsigned *idx_max, char *why, size_t whylen);
/* Split both bodies at the delimiter lines of the boundaries (NULL-ended)
 * and compare: same delimiters and segments, except that a segment whose
 * Content-Type is text/html or text/plain may change after its header
 * block (top_text: the body without boundaries is such a segment).
 * Returns the number of segments that changed, or -1 with why. */
int tu_same_outside_text(const char *orig, size_t orig_len, const char *new_body,
                         size_t new_len, const char *const *boundaries, int top_text,
                         char *why, size_t whylen);

/* A message as GMime (not the code under test) sees it: the decoded
 * text/html and text/plain bodies outside attached messages and
 * attachments, in document order; the boundaries of its multiparts (not
 * those inside attached messages); whether the top part is text; how
 * many leaf parts. NULL if GMime finds no message. Free with
 * tu_outline_free. */
struct tu_text_part {
    int html;
    GString *data;
};
struct tu_outline {
    GPtrArray *texts;           /* struct tu_text_part * */
    GPtrArray *boundaries;      /* char *, NULL-terminated */
    int top_text;
    unsigned leaves;
};
struct tu_outline *tu_outline(const char *msg, size_t len);
/* Where the body of msg starts: after the first empty line (CRLF or LF). */
size_t tu_body_offset(const char *msg, size_t len);
void tu_outline_free(struct tu_outline *o);

#endif
