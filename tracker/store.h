/*
 * store.h - the tracker's side of Redis: every answered request becomes one
 * event record (lib/events.h); the records go to Redis in batches, one
 * script run each, written exactly once, through hiredis async on the
 * tracker's libevent loop, pipelined. While Redis is down or slow, records
 * go to the tracker's journal and are replayed in order, exactly once,
 * when it is back. Never blocks a request.
 */
#ifndef PB_TRACKER_STORE_H
#define PB_TRACKER_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>
#include "conf.h"
#include "token.h"

enum pb_ev_type { PB_EV_CLICK, PB_EV_OPEN, PB_EV_UNSUBSCRIBE };
enum pb_ev_class { PB_CLASS_HUMAN, PB_CLASS_MACHINE };

/* One event, as the HTTP side saw it. Strings are copied by submit. */
struct pb_tracker_event {
    enum pb_ev_type type;
    long long ts_ms;
    const struct pb_token *tok;     /* verified token (msg, contact, campaign, link, url, sent_at) */
    const char *user_agent;         /* may be NULL */
    const char *client_ip;          /* already truncated per config */
    enum pb_ev_class class;
    const char *class_reason;       /* "apple-mpp", "google-proxy", "head", "scanner:...", "too-fast", "honeypot" or NULL */
};

/* Start on base; connecting happens in the background. 0 or -1 + errbuf
 * (journal cannot be opened). */
int pb_store_start(struct event_base *base, const struct pb_conf *conf,
                   char *errbuf, size_t errlen);
/* Queue the event's command (never blocks; past the in-memory limit it
 * goes straight to the journal). */
void pb_store_submit(const struct pb_tracker_event *ev);
/* Stop: flush what Redis takes within timeout_ms, journal the rest.
 * Waiting runs the event loop, so call it after the loop has returned;
 * called from inside a loop callback it cannot wait and journals at once.
 * (pb_store_start ignores SIGPIPE: a write to a Redis that went away must
 * fail, not kill the tracker.) */
void pb_store_stop(int timeout_ms);

struct pb_store_stats {
    unsigned long written, journaled, replayed, journal_errors, dropped;
    size_t queued, backlog;
    int redis_up;
};
void pb_store_stats(struct pb_store_stats *out);

#endif
