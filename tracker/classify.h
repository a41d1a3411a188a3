/*
 * classify.h - machine or human: the class of each open and click.
 *
 * Machine traffic: HEAD requests, clicks on the honeypot link (link index
 * PB_HONEYPOT_LINK, see docs/tokens.md), user agents and addresses listed
 * in the bots file (config/bots.conf: Apple Mail Privacy Protection, the
 * Google image proxy, link scanners), and clicks within
 * tracker.machine_click_seconds of the send. Everything else is human.
 * Unsubscribes are always human: RFC 8058 one-click POSTs come from the
 * mailbox provider on the reader's behalf and GET never unsubscribes.
 */
#ifndef PB_TRACKER_CLASSIFY_H
#define PB_TRACKER_CLASSIFY_H

#include <stddef.h>
#include <stdint.h>
#include "clientip.h"
#include "store.h"
#include "token.h"

/* The link index the milter gives a hidden honeypot link: no person
 * clicks it, so every click on it is a machine's. */
#define PB_HONEYPOT_LINK 0xFFFF

#define PB_BOTS_CLASS_MAX 64    /* longest class name, with NUL */

/* The bots file, loaded. */
struct pb_bots;

/* Load path (NULL: no bots file, an empty set). NULL with
 * "file:line: what is wrong (fix)" in errbuf. */
struct pb_bots *pb_bots_load(const char *path, char *errbuf, size_t errlen);
void pb_bots_free(struct pb_bots *bots);
/* Number of classes (for the start-up log line). */
size_t pb_bots_count(const struct pb_bots *bots);
/* The first class (in file order) that matches, or NULL. ua may be NULL,
 * addr may have family 0 (unknown). */
const char *pb_bots_match(const struct pb_bots *bots, const char *ua,
                          const struct pb_ipaddr *addr);

/* What is known about one request. */
struct pb_classify_input {
    enum pb_token_kind kind;    /* PB_TOKEN_CLICK, _OPEN or _UNSUB */
    int head;                   /* a HEAD request */
    const char *user_agent;     /* NULL if none */
    const struct pb_ipaddr *addr;   /* the full client address (not truncated) */
    uint32_t sent_at;           /* from the token */
    uint16_t link_index;        /* clicks */
    long long now_ms;
    int machine_click_seconds;  /* 0 = rule off */
};

/* The class, and in *reason why it is machine ("head", "honeypot", a bots
 * file class such as "apple-mpp" or "scanner:proofpoint", "too-fast"),
 * NULL for human. Rules are tried in that order. */
enum pb_ev_class pb_classify(const struct pb_bots *bots, const struct pb_classify_input *in,
                             const char **reason);

#endif
