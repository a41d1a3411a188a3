/*
 * store_int.h - the state the two halves of the tracker's event store
 * share: store.c (the interface: submit, start, stop, statistics; the
 * connection's hooks) and store_send.c (what goes on the wire: batches of
 * live events, journal replays, their replies, and moving what is in
 * memory to the journal). Private to them; store.h is the interface.
 */
#ifndef PB_TRACKER_STORE_INT_H
#define PB_TRACKER_STORE_INT_H

#include <stddef.h>
#include <glib.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>
#include "events.h"
#include "journal.h"
#include "store.h"
#include "store_conn.h"

#define LIVE_BATCHES 2          /* live batches on the wire at once */
#define REPLAY_RECORDS 1024     /* journal records per replay round */

/* One event: its record (lib/events_tracker.c), as queued and journaled. */
struct item {
    GList link;                 /* in st.waiting or in its batch */
    size_t len;
    char data[];
};

enum batch_kind { BATCH_LIVE, BATCH_REPLAY };

/* One command on the wire: a script run of n events (or, replaying, one
 * journal record of an older format, sent as it is). */
struct batch {
    GList link;                 /* live: in st.sent or st.failed */
    enum batch_kind kind;
    int detached;               /* live: its events went to the journal while on the wire */
    unsigned journaled;         /* detached: how many of them the journal has */
    unsigned n;                 /* events (replay: journal records) */
    GQueue items;               /* live, not detached: its events, in order */
};

struct store {
    int running, stopping;
    struct event_base *base;
    struct pb_conn *conn;
    struct pb_journal *journal; /* NULL: none configured */
    struct event *tick;         /* once a second: pump */
    struct event *flush;        /* after a loop pass that queued events: pump */
    int flush_pending;
    char *prefix;
    struct pb_track_run run;    /* this process' run id and event numbers */
    char sha[41];               /* of the batch script, for EVALSHA */
    struct pb_track_batch batch;    /* the batch being built */
    GString *cmd;               /* the command being sent */
    struct pb_track_retention retention;
    unsigned queue_max;

    GQueue waiting;             /* items not sent yet; oldest first */
    GQueue sent;                /* live batches on the wire, in send order */
    GQueue failed;              /* live batches sent, not answered (connection lost) */
    size_t live_events;         /* events in the batches of sent and failed */

    unsigned replay_batches;    /* of the replay round on the wire */
    unsigned replay_done;       /* ... answered or failed so far */
    size_t replay_ok;           /* records answered before the first failure */
    int replay_failed;
    int replay_broken;          /* journal unreadable: no replay until restart */
    /* The next event starts a new run: set when the journal stops being
     * replayed and whenever it gets records while it cannot be. Those
     * records reach Redis only at the next start, after newer events of
     * their run were written live, which the run's numbers would refuse. */
    int new_run;
    unsigned long replayed_run; /* since the backlog was last empty */

    struct pb_store_stats stats;
};

extern struct store st;

/* Events in memory: waiting, and in live batches not detached. */
size_t store_live_count(void);
/* The journal holds something (or a replay is on the wire): it goes first. */
int store_journal_first(void);
/* Send what may go now: the journal first, else waiting events in batches. */
void store_pump(void);
/* Append items in order to the journal; how many it took (errors counted). */
size_t store_journal_items(struct item **items, size_t n);
/* Move everything in memory to the journal, oldest first (live batches on
 * the wire stay there, detached, until their reply). */
void store_flush_live_to_journal(void);
/* Without a journal: put the events of failed batches back in front of
 * the waiting ones, in order, to be sent again. */
void store_requeue_failed(void);
/* The connection's reply hook. */
void store_on_reply(void *owner, void *cmd, const redisReply *r);

#endif
