/*
 * link.h - the one place a link becomes a tracked link: decide whether a
 * URL is tracked, add UTM parameters to the destination, sign it into a
 * click token and build the redirect URL. Also builds the open-pixel and
 * unsubscribe URLs, and puts the real unsubscribe URL where a rendered
 * template has its placeholder. The HTML and text rewriters both call this.
 */
#ifndef PB_LINK_H
#define PB_LINK_H

#include <stddef.h>
#include <stdint.h>
#include <glib.h>
#include "conf.h"
#include "keys.h"
#include "token.h"

/* What every link of one message shares. */
struct pb_link_ctx {
    const struct pb_conf *conf;
    const struct pb_keyring *keys;
    uint8_t msg_id[PB_MSGID_LEN];
    int has_contact;
    uint8_t contact[PB_CONTACT_LEN];
    char campaign[PB_CAMPAIGN_MAX + 1];
    uint32_t sent_at;
    unsigned links_tracked;     /* incremented by pb_link_track */
    int pixel_placed;           /* the message's one open pixel is in (pb_html_rewrite) */
};

enum pb_link_verdict {
    PB_LINK_TRACKED = 0,        /* tracked URL appended to out */
    PB_LINK_NOT_HTTP,           /* mailto:, tel:, #, javascript:, data:, relative... */
    PB_LINK_TRACKING_DOMAIN,    /* already points at our tracker */
    PB_LINK_UNSUBSCRIBE,        /* matches an unsubscribe pattern */
    PB_LINK_UNPARSEABLE,        /* not a URL we can sign safely */
    PB_LINK_TOO_LONG,
    PB_LINK_TOO_MANY            /* index would reach PB_LINK_HONEYPOT: left as is */
};

/* url: the decoded destination (HTML entities already resolved), not
 * NUL-terminated. anchor: anchor text for a utm_content slug (may be NULL).
 * index: the link's position (0-based), for utm_content and the token.
 * On PB_LINK_TRACKED the redirect URL is appended to out; otherwise out is
 * untouched and the caller keeps the original. */
enum pb_link_verdict pb_link_track(struct pb_link_ctx *ctx, const char *url, size_t len,
                                   const char *anchor, size_t anchor_len,
                                   unsigned index, GString *out);

/* The link index of the hidden honeypot link (docs/tokens.md): no person
 * clicks it, so the tracker counts a click on it as machine traffic. */
#define PB_LINK_HONEYPOT 0xFFFF

/* Append the honeypot link's click URL (index PB_LINK_HONEYPOT, leading to
 * the tracking site's front page). 0 on success. */
int pb_link_honeypot_url(const struct pb_link_ctx *ctx, GString *out);

/* Append the open-pixel URL / the one-click unsubscribe URL. 0 on success. */
int pb_link_open_url(const struct pb_link_ctx *ctx, GString *out);
int pb_link_unsubscribe_url(const struct pb_link_ctx *ctx, GString *out);

/* url (not NUL-terminated, trimmed as the rewriters find it): if it is
 * the template renderer's {{unsubscribe_url}} placeholder
 * ("<tracking_url>/u/-", unsub_link.h) and the message has a contact,
 * append the message's unsubscribe URL (pb_link_unsubscribe_url: the
 * tracker's page with its button, the List-Unsubscribe URL) to out and
 * return 1. Otherwise 0 and out untouched: a placeholder in mail without
 * a contact stays, and leads to the tracker's explanation. Never a click
 * link, never counted in ctx->links_tracked. */
int pb_link_unsub_placeholder(const struct pb_link_ctx *ctx, const char *url, size_t len,
                              GString *out);

#endif
