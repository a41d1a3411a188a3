/*
 * check_template.h - what the template tests (check_template.c,
 * check_template_errors.c) share: writing a template to a file and
 * loading it, rendering it with a fixed date and campaign, and reading
 * the result back with GMime (check_template_util.c).
 */
#ifndef PB_CHECK_TEMPLATE_H
#define PB_CHECK_TEMPLATE_H

#include <stddef.h>
#include <glib.h>
#include <gmime/gmime.h>
#include "template.h"

/* multipart/alternative: a link whose title is {{first_name}}, umlauts. */
#define CT_ALT_TEMPLATE \
    "From: Shop <news@example.com>\n" \
    "To: {{first_name}} {{last_name}}\n" \
    "Subject: Grüße, {{first_name|Kunde}}!\n" \
    "MIME-Version: 1.0\n" \
    "Content-Type: multipart/alternative; boundary=\"b1\"\n\n" \
    "--b1\nContent-Type: text/plain; charset=utf-8\n\n" \
    "Hallo {{first_name}}, schön: https://shop.example.com/sale\n" \
    "--b1\nContent-Type: text/html; charset=utf-8\n\n" \
    "<html><body><p>Hallo {{first_name}}, schön!</p>\n" \
    "<a href=\"https://shop.example.com/sale\" title=\"{{first_name}}\">Sale</a></body></html>\n" \
    "--b1--\n"

/* A rendered message, read back by GMime. */
struct ct_msg {
    GString *raw;
    size_t header_len;          /* bytes before the blank line */
    size_t body_off;
    GMimeMessage *msg;
    char *subject, *to_name, *to_addr;
    char *text, *html;          /* decoded parts, NULL if none */
    struct pb_tpl_info info;
};

/* src written to a fresh file ("template.eml" in a temp dir) and loaded;
 * the test fails if it does not load. */
struct pb_template *ct_load(const char *src);
struct pb_template *ct_load_opts(const char *src, const struct pb_tpl_opts *opts);
/* The path ct_write used last. */
const char *ct_write(const char *src);
/* Render with campaign "welcome:1" and date 1700000000; fails the test if
 * the render fails or GMime cannot read the result. */
void ct_render(const struct pb_template *t, const char *to, const struct pb_tpl_value *c,
               size_t nc, const struct pb_tpl_value *x, size_t nx, struct ct_msg *m);
void ct_msg_free(struct ct_msg *m);
/* A header's value as GMime decodes it ("" if absent). */
const char *ct_header(const struct ct_msg *m, const char *name);
/* A header's raw value as it is in the message ("" if absent). */
const char *ct_raw_header(const struct ct_msg *m, const char *name);
/* Part i's header (the top part for a single-part message). */
const char *ct_part_header(const struct ct_msg *m, int i, const char *name);
/* Every header line of the raw message is one of the names (blank-
 * separated) or a continuation line, and no line has a bare CR. */
void ct_assert_headers_only(const struct ct_msg *m, const char *names);
/* Addresses GMime finds in header name (To, Cc, Bcc). */
int ct_count_addresses(const struct ct_msg *m, const char *name);

#endif
