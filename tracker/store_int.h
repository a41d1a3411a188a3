/*
 * store_int.h - the state the two halves of the tracker's event store
 * share: store.c (the interface: submit, commit, start, stop,
 * statistics; the connection's hooks) and store_send.c (what goes on the
 * wire: batches of live events, journal replays, their replies, and what
 * leaves memory when the journal must go first). Private to them; store.h is the interface.
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
    GList link;                 /* in st.uncommitted, st.waiting or its batch */
    unsigned in_journal : 1;    /* the journal has it too (else only memory does) */
    size_t len;
    char data[];
};

enum batch_kind { BATCH_LIVE, BATCH_REPLAY };

/* One command on the wire: a script run of n events (or, replaying, one
 * journal record of an older format, sent as it is). */
struct batch {
    GList link;                 /* live: in st.sent or st.failed */
    enum batch_kind kind;
    int ours;                   /* its events are of this process' run: an answer
                                   "written before" is one whose reply was lost */
    unsigned n;                 /* events (replay: journal records) */
    unsigned journaled;         /* live: of its events, how many the journal has */
    GQueue items;               /* live: its events, in order */
};

struct store {
    int running, stopping;
    struct event_base *base;
    struct pb_conn *conn;
    struct pb_journal *journal; /* NULL: none configured */
    struct event *tick;         /* once a second: pump */
    struct event *flush;        /* after a loop pass that submitted events: commit, pump */
    int flush_pending;
    char *prefix;
    struct pb_track_run run;    /* this process' run id and event numbers */
    char sha[41];               /* of the batch script, for EVALSHA */
    struct pb_track_batch batch;    /* the batch being built */
    GString *cmd;               /* the command being sent */
    struct pb_track_retention retention;
    unsigned queue_max;

    GQueue uncommitted;         /* submitted this pass, not yet in the journal */
    GQueue waiting;             /* items not sent yet; oldest first */
    GQueue sent;                /* live batches on the wire, in send order */
    GQueue failed;              /* live batches sent, not answered (connection lost) */
    size_t live_events;         /* events in the batches of sent and failed */

    /* The journal holds records that memory does not (Redis was away,
     * memory was full, the tracker restarted): they are replayed, oldest
     * first, before any waiting event is sent. Otherwise the journal
     * holds exactly the journaled events in memory, in the same order,
     * and each answered live batch drops its events from its head. */
    int spill;
    unsigned replay_batches;    /* of the replay round on the wire */
    unsigned replay_done;       /* ... answered or failed so far */
    size_t replay_ok;           /* records answered before the first failure */
    int replay_failed;
    int replay_broken;          /* journal unreadable: appended to, never replayed
                                   or dropped from, until restart */
    unsigned long replayed_run; /* since the backlog was last empty */

    struct pb_store_stats stats;
};

extern struct store st;

/* Events in memory: uncommitted, waiting, and in live batches. */
size_t store_live_count(void);
/* The journal holds what memory does not (or a replay is on the wire): it goes first. */
int store_journal_first(void);
/* Send what may go now: the journal first, else waiting events in batches. */
void store_pump(void);
/* The journal has records memory does not: drop from memory the waiting
 * events it has (live batches on the wire keep theirs until answered). */
void store_spill(void);
/* Connection lost: the events of failed batches and the waiting ones that
 * the journal has leave memory (it replays them); the others (no journal,
 * or a journal that refused them) go back in front of the waiting ones,
 * in order, to be sent again. */
void store_requeue_failed(void);
/* The connection's reply hook. */
void store_on_reply(void *owner, void *cmd, const redisReply *r);

#endif
