/*
 * store.h - the tracker's side of Redis: every answered request becomes one
 * event record (lib/events.h), appended to the tracker's journal before
 * the answer leaves; the records go to Redis in batches, one script run
 * each, written exactly once, through hiredis async on the tracker's
 * libevent loop, pipelined, and leave the journal once Redis has them.
 * While Redis is down or slow, the journal keeps them and replays them
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
/* Queue the event's record (never blocks). With a journal it is appended
 * there at the next commit, before its answer may leave. */
void pb_store_submit(const struct pb_tracker_event *ev);
/* Queue a custom event (lib/custom_event.h) the same way, as one record
 * of the same batches; source names the way in ("http", "cli"). 0, or -1
 * if it could not be queued (not running; no journal and memory full):
 * lost and counted, so the caller must not answer that it was taken. */
struct pb_custom_event;
int pb_store_submit_custom(const struct pb_custom_event *ev, const char *source);
/* 1 if pb_store_submit_custom would take n events now. */
int pb_store_room(size_t n);
/* Events submitted and not yet in the journal: their answers must wait
 * for pb_store_commit (the HTTP server's barrier, http.h). */
int pb_store_uncommitted(void);
/* Append what was submitted to the journal (one write), then send what
 * may go. Runs by itself after each loop pass that submitted events. */
void pb_store_commit(void);
/* Stop: flush what Redis takes within timeout_ms, journal the rest.
 * Waiting runs the event loop, so call it after the loop has returned;
 * called from inside a loop callback it cannot wait and journals at once.
 * (pb_store_start ignores SIGPIPE: a write to a Redis that went away must
 * fail, not kill the tracker.) */
void pb_store_stop(int timeout_ms);

struct pb_store_stats {
    unsigned long written, journaled, replayed, journal_errors, dropped;
    unsigned long duplicates;   /* custom events whose id Redis had written before */
    size_t queued, backlog;     /* events in memory; records in the journal (both until
                                   Redis has them: an event may be in both) */
    size_t pending;             /* events not yet written, each counted once */
    int redis_up;
    const char *refusing;       /* Redis' "not now" code ("OOM", "READONLY"...) while it
                                   refuses writes, else NULL */
};
void pb_store_stats(struct pb_store_stats *out);

#endif
