/*
 * unsub_link.h - the stand-in for {{unsubscribe_url}} in mail that
 * postbeacon renders itself (docs/templates.md, "The unsubscribe link").
 * The renderer cannot know the real unsubscribe URL: its token names the
 * message id, contact, campaign and send time, which only the milter
 * knows when the message passes through Postfix. So the renderer writes
 * a fixed URL on the tracking domain, "<tracking.base_url>/u/-" ("-" can
 * never be a token: one base64url character is never a whole one), and
 * the milter replaces exactly that URL by the message's own /u/<token>
 * URL. Mail that went out without the milter keeps it, and the tracker
 * answers it with a page that says what happened (tracker/unsubscribe.c).
 * The renderer, the milter and the tracker all use these, so the three
 * agree on the one spelling.
 */
#ifndef PB_UNSUB_LINK_H
#define PB_UNSUB_LINK_H

#include <stddef.h>
#include <glib.h>

/* The token part of the placeholder: the path is "/u/" PB_UNSUB_PLACEHOLDER_TOKEN. */
#define PB_UNSUB_PLACEHOLDER_TOKEN "-"

/* Append "<base_url>/u/-" to out (trailing '/' of base_url dropped). */
void pb_unsub_placeholder(const char *base_url, GString *out);

/* 1 if url[0..len) is exactly pb_unsub_placeholder(base_url), else 0
 * (also for a NULL base_url). */
int pb_unsub_is_placeholder(const char *base_url, const char *url, size_t len);

/* 0 if url[0..len) cannot be the placeholder: its last byte says so for
 * nearly every link, so the milter asks this first, without a call. */
static inline int pb_unsub_maybe_placeholder(const char *url, size_t len)
{
    return len > 4 && url[len - 1] == PB_UNSUB_PLACEHOLDER_TOKEN[0];
}

/* 1 if a /u/ request's token (the path after "/u/") is the placeholder's. */
int pb_unsub_placeholder_token(const char *token, size_t len);

#endif
