/*
 * unsub_page.h - the unsubscribe pages: the question with its button (GET
 * /u/<token>), the confirmation (POST), "this link is not valid", and
 * "this link was not completed" (the {{unsubscribe_url}} placeholder of a
 * rendered template that did not pass through the milter, /u/-), in
 * English, German or French (tracker.language). Plain, accessible HTML5:
 * <html lang>, <main>, one <h1>, a <form method="post"> whose hidden field
 * posts exactly the RFC 8058 body "List-Unsubscribe=One-Click", and a
 * real <button>. Every text that comes from a token is HTML-escaped. The
 * only style is an inline <style> block allowed by its hash in the
 * Content-Security-Policy, so the policy needs no 'unsafe-inline'.
 */
#ifndef PB_TRACKER_UNSUB_PAGE_H
#define PB_TRACKER_UNSUB_PAGE_H

#include <glib.h>

enum pb_unsub_page {
    PB_UNSUB_ASK,               /* "Do you want to unsubscribe?" + button */
    PB_UNSUB_DONE,              /* "You are unsubscribed" */
    PB_UNSUB_INVALID,           /* the link does not verify */
    PB_UNSUB_PLACEHOLDER        /* /u/-: the mail went out without its own link */
};

/* Append the page in lang ("en", "de", "fr"; anything else: "en").
 * campaign (may be NULL or "") is shown on the ASK page, escaped. */
void pb_unsub_page(GString *out, const char *lang, enum pb_unsub_page which,
                   const char *campaign);

/* The Content-Security-Policy header value for these pages. */
const char *pb_unsub_page_csp(void);

/* Append s with &, <, >, " and ' written as character references. */
void pb_html_escape(GString *out, const char *s);

#endif
