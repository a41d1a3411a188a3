/*
 * check_unsub_link.h - what the tests of the {{unsubscribe_url}}
 * placeholder share (check_unsub_link.c: the HTML and text rewriters;
 * check_unsub_mime.c: the MIME encodings and the renderer-to-milter path).
 * They run with tu_conf and tu_ring (tu_setup).
 */
#ifndef PB_CHECK_UNSUB_LINK_H
#define PB_CHECK_UNSUB_LINK_H

#include <stddef.h>
#include <check.h>
#include "link.h"

/* The message's unsubscribe URL, as List-Unsubscribe carries it (g_free it). */
char *ul_expected_url(const struct pb_link_ctx *ctx);
/* How many tracking-domain /u/ URLs s holds; each must be an unsubscribe
 * token that verifies and carries ctx's message id, contact, campaign
 * and send time (the test fails otherwise). */
unsigned ul_count_unsub(const struct pb_link_ctx *ctx, const char *s, size_t len);
/* Every click link in s verifies, and none leads to a /u/ URL. */
void ul_assert_no_click_to_unsub(const char *s, size_t len);

Suite *unsub_mime_suite(void);

#endif
