/*
 * testutil_mime.h - helpers of the MIME rewriting tests (check_mime,
 * check_corpus) and bench/rewrite-bench: building test messages from the
 * corpus templates, and checking a rewrite from the outside (GMime's view
 * of the parts, tracked links that verify, bytes outside the text parts).
 */
#ifndef PB_TESTUTIL_MIME_H
#define PB_TESTUTIL_MIME_H

#include <stddef.h>
#include <glib.h>
#include "conf.h"
#include "keys.h"

/* tu_test_conf plus postmarkapp.com on the UTM list: the domain of the
 * links tu_render writes. */
void tu_mime_conf(struct pb_conf *conf);
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
/* 0 if every line of s[0..len) has at most max octets (line break not
 * counted) and every line break is CRLF (crlf) or LF (!crlf); else -1
 * with why. */
int tu_lines_ok(const char *s, size_t len, size_t max, int crlf, char *why, size_t whylen);
/* Where the body of msg starts: after the first empty line (CRLF or LF). */
size_t tu_body_offset(const char *msg, size_t len);
void tu_outline_free(struct tu_outline *o);

#endif
