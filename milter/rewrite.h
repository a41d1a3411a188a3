/*
 * rewrite.h - rewriting the content of one message: HTML parts
 * (html_rewrite.c), text/plain parts (text_rewrite.c), and the MIME walk
 * that decodes only those parts and splices them back (mime_splice.c).
 * No milter code here, so tests, benchmarks and fuzzers call it directly.
 */
#ifndef PB_REWRITE_H
#define PB_REWRITE_H

#include <stddef.h>
#include <glib.h>
#include "link.h"

/* Rewrite decoded HTML: links through pb_link_track, the open pixel per
 * config unless ctx->pixel_placed (then set: one pixel per message); an
 * href that is the {{unsubscribe_url}} placeholder becomes the message's
 * unsubscribe URL (pb_link_unsub_placeholder).
 * Appends the result to out. Returns the number of changes (0: out holds
 * an exact copy), or -1 on error (out unspecified). */
int pb_html_rewrite(struct pb_link_ctx *ctx, const char *html, size_t len, GString *out);

/* Rewrite decoded text/plain: bare http(s) URLs through pb_link_track,
 * the {{unsubscribe_url}} placeholder through pb_link_unsub_placeholder.
 * first_index: link index to start at (after the HTML part's links).
 * Returns the number of changes or -1. */
int pb_text_rewrite(struct pb_link_ctx *ctx, const char *text, size_t len,
                    unsigned first_index, GString *out);

enum pb_mime_result {
    PB_MIME_REWRITTEN = 0,      /* out_body holds the new body */
    PB_MIME_UNCHANGED,          /* nothing to change (why says what) */
    PB_MIME_REFUSED,            /* a report, signed/encrypted, every part left alone (why) */
    PB_MIME_MALFORMED,          /* why says what */
    PB_MIME_ERROR
};

/* msg: the whole message as the MTA gave it, headers then body, CRLF or
 * LF line endings; body_off: where the body starts, just after the empty
 * line that ends the header block. On PB_MIME_REWRITTEN out_body receives
 * the complete new body (everything after the header block),
 * byte-identical outside the rewritten parts, and why names the parts
 * left alone ("left alone: part 2 message/rfc822 (attached message), ...",
 * part numbers as in IMAP) or is empty. The open pixel goes into the
 * first rewritten HTML part only. On any other result out_body is left
 * empty and ctx->links_tracked and ctx->pixel_placed as they were: send
 * the message as it came. Safe to call from several threads at once (one
 * ctx per message). */
enum pb_mime_result pb_mime_rewrite(struct pb_link_ctx *ctx, const char *msg, size_t len,
                                    size_t body_off, GString *out_body,
                                    char *why, size_t whylen);

#endif
