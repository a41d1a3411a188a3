/*
 * check_mime_run.h - what the pb_mime_rewrite() tests share (check_mime,
 * check_mime_refuse, check_corpus): one call of the code under test with
 * the test configuration (tu_conf, tu_ring), and the checks of its result
 * made from the outside, with GMime and byte comparisons.
 */
#ifndef PB_CHECK_MIME_RUN_H
#define PB_CHECK_MIME_RUN_H

#include <stddef.h>
#include <check.h>
#include <glib.h>
#include "rewrite.h"
#include "testutil_mime.h"

/* Run s with tu_conf made by tu_mime_conf (s's test cases add the
 * tu_setup/tu_teardown fixture); EXIT_SUCCESS if every test passed. */
int mime_run_suite(Suite *s);

/* One call of the code under test. */
struct mime_run {
    GString *msg;
    size_t body_off;
    GString *out;               /* new body */
    GString *new_msg;           /* headers + new body, when rewritten */
    struct pb_link_ctx ctx;
    enum pb_mime_result rc;
    char why[256];
};

/* Rewrite r->msg (body at r->body_off) with a fresh tu_link_ctx. */
void mime_run(struct mime_run *r);
void mime_run_free(struct mime_run *r);
/* Where m's body starts. */
size_t mime_body_offset(const GString *m);
/* A fixture message from tests/data/mime into r: variant bit 0 = CRLF
 * line breaks, bit 1 = no line break after the last line. */
void mime_load_fixture(struct mime_run *r, const char *name, int variant);

/* Not rewritten: result want, no output, no links counted, why filled in
 * (and holding why_has, unless NULL). */
void mime_assert_passed_through(const struct mime_run *r, enum pb_mime_result want,
                                const char *why_has);
/* Every line of body at most max octets, line breaks CRLF (crlf) or LF. */
void mime_assert_lines(const GString *body, size_t max, int crlf);
/* The rewrite is valid: outside bytes identical (boundaries and top_text
 * as for tu_same_outside_text), line breaks in the message's style, and
 * mime_check_parts. Returns the tracked links. */
int mime_assert_rewritten(const struct mime_run *r, const char *const *boundaries, int top_text);
/* GMime parses msg and new_msg into the same parts, and every tracked link
 * in each text part of new_msg verifies and leads to a URL of the same
 * part of msg (tu_check_tracked). Failures name `name`. Returns the
 * tracked links; *orig (may be NULL) receives msg's outline (free it with
 * tu_outline_free). */
int mime_check_parts(const char *name, const GString *msg, const GString *new_msg,
                     struct tu_outline **orig);
/* The same check as a result, for a caller that goes on after a failure
 * (check_corpus): the tracked links, or -1 with why (*orig untouched). */
int mime_compare_parts(const GString *msg, const GString *new_msg, struct tu_outline **orig,
                       char *why, size_t whylen);

#endif
