/*
 * events.h - the Redis writes for each kind of event, as single RESP
 * commands (an EVAL of one Lua script each) so that a command can be sent
 * now or kept in the journal and replayed later with the same effect.
 * Every event carries a random event id; the script writes it at most once.
 * Key names and fields: docs/redis-schema.md.
 */
#ifndef PB_EVENTS_H
#define PB_EVENTS_H

#include <stddef.h>
#include <stdint.h>
#include <glib.h>
#include "token.h"

/* What the milter records for each tracked message. */
struct pb_sent_record {
    uint8_t msg_id[PB_MSGID_LEN];
    int has_contact;
    uint8_t contact[PB_CONTACT_LEN];
    const char *email;          /* recipient (normalised again here); NULL for campaign-level */
    const char *campaign;
    const char *message_id;     /* Message-ID header, may be NULL */
    const char *queue_id;       /* Postfix queue id, may be NULL */
    const char *subject;        /* may be NULL */
    uint32_t sent_at;
    unsigned links;             /* tracked links */
    unsigned recipients;
};

/* Append one RESP-encoded EVAL command that records a sent message
 * (send record, contact mapping, campaign counter, `sent` stream entry).
 * prefix: key prefix ("pb:"); retention_days: TTL of the send record. */
void pb_event_sent_command(const char *prefix, int retention_days,
                           const struct pb_sent_record *rec, GString *out);

/* The same, trimming the events stream as kept says (the tracker's
 * settings: MAXLEN ~ stream_maxlen and/or MINID ~ now - stream_max_age_days;
 * 0 turns a limit off) and keeping the send record kept->msg_days. The
 * form above uses MAXLEN ~ PB_EVENTS_MAXLEN and no age limit. */
struct pb_track_retention;
void pb_event_sent_command_kept(const char *prefix, const struct pb_track_retention *kept,
                                const struct pb_sent_record *rec, GString *out);

/* A connection may send a `sent` command as EVALSHA with the script's SHA1
 * (40 hex + NUL into sha): Redis then reads 40 bytes instead of the
 * script. evalsha writes that form of cmd into out (replacing its
 * contents) and returns 0, or -1 if cmd is not a `sent` command of this
 * build. Redis answers NOSCRIPT while the script is not in its cache (a
 * new or restarted server, SCRIPT FLUSH): send the EVAL form then, which
 * caches it. The journal always keeps the EVAL form. */
void pb_event_sent_sha(char sha[41]);
int pb_event_sent_evalsha(const char *cmd, size_t len, const char sha[41], GString *out);

/* The same for any script: its SHA1, and the EVALSHA form of an EVAL of it. */
void pb_event_script_sha(const char *script, size_t script_len, char sha[41]);
int pb_event_evalsha_of(const char *script, size_t script_len, const char *cmd, size_t len,
                        const char sha[41], GString *out);

/* 32 hex chars of randomness for an event id. */
/* nbytes (at most 32) random bytes as 2 * nbytes hex digits and a NUL in out. */
void pb_random_hex(size_t nbytes, char *out);
void pb_event_new_id(char out[33]);

/* ---- shared by every event writer (milter now, tracker next) ---------- */

/* Key names after the configured prefix; the only place they are spelled.
 * Types, fields and TTLs: docs/redis-schema.md. */
#define PB_KEY_EVENTS    "events"             /* stream */
#define PB_KEY_EID       "eid:"               /* + event id: at-most-once marker */
#define PB_KEY_MSG       "msg:"               /* + 16 hex message id: hash */
#define PB_KEY_CONTACT   "contact:"           /* + 16 hex contact id: hash */
#define PB_KEY_BY_EMAIL  "contacts:by-email"  /* hash address -> contact id */
#define PB_KEY_CAMPAIGNS "campaigns"          /* set of campaign names */
#define PB_KEY_CAMPAIGN  "campaign:"          /* + name: hash of counters */
/* The scorer's global keys (docs/scorer.md, "Segments"). */
#define PB_KEY_SEGMENT     "segment:"         /* + segment name: zset contact id -> entry ms */
#define PB_KEY_SEGMENT_LOG "segment-log"      /* stream of segment entries and exits */
#define PB_KEY_WAKE        "wake"             /* zset contact id -> next timed change ms */
#define PB_KEY_WF_DUE      "wf:due"           /* zset contact|workflow|step -> due ms */
#define PB_KEY_WF_INFLIGHT "wf:inflight"      /* hash contact|workflow|step -> "<scorer> <ms>" */
#define PB_KEY_WF_LOG      "wf:log"           /* stream of follow-up steps and what became of them */
#define PB_KEY_WF_UNCERTAIN "wf:uncertain"    /* zset contact|workflow|step -> ms found in flight */
/* Campaign sends (docs/redis-schema.md, "Campaign sends"; lib/campaign_send.h). */
#define PB_KEY_SEND        "send:"            /* + campaign: hash, the job; + ":to": contact -> mark */
#define PB_KEY_SENDS       "sends"            /* zset campaign -> ms of its next due work */
#define PB_KEY_SEND_RATE   "send-rate"        /* the global rate; + ":" + campaign: a job's own */

#define PB_EVENT_ID_TTL  604800     /* seconds an event id is remembered (7 days) */
#define PB_EVENTS_MAXLEN 1000000    /* approximate stream length kept (XADD MAXLEN ~) */

/* The arguments of one Redis command, copied as they are added. */
struct pb_argv {
    GString *bytes;             /* all arguments, back to back */
    GArray *spans;              /* (offset, length) of each argument */
};

void pb_argv_init(struct pb_argv *a);
void pb_argv_free(struct pb_argv *a);
/* Add len bytes / a C string (NULL adds an empty argument) / a number. */
void pb_argv_addlen(struct pb_argv *a, const char *s, size_t len);
void pb_argv_add(struct pb_argv *a, const char *s);
void pb_argv_addll(struct pb_argv *a, long long v);
/* Add the key prefix + name + id (id may be NULL). */
void pb_argv_addkey(struct pb_argv *a, const char *prefix, const char *name, const char *id);
/* Append the command in RESP (what Redis and the journal take) to out. */
void pb_argv_format(const struct pb_argv *a, GString *out);

/* Event time: unix milliseconds. */
long long pb_event_now_ms(void);

/* ---- tracker events (events_tracker.c) -------------------------------- */

#define PB_KEY_CAMPAIGN_LINKS "campaign-links:"  /* + campaign name: per-link counters */
#define PB_KEY_UNIQ       "uniq:"             /* + set name + ":" + campaign: who was counted */
#define PB_KEY_SUPPRESSED "suppressed"        /* set of unsubscribed contact ids */
#define PB_KEY_ERASED     "erased"            /* set of erased addresses' marks (pb_contact_erased_id) */
#define PB_EVENT_UA_MAX   512                 /* User-Agent bytes kept in an event */

enum pb_track_type { PB_TRACK_OPEN, PB_TRACK_CLICK, PB_TRACK_UNSUBSCRIBE };

/* One open, click or unsubscribe, as the tracker saw it. */
struct pb_track_record {
    enum pb_track_type type;
    int machine;                /* classified as machine traffic */
    long long ts_ms;            /* when it happened; 0 = now */
    const struct pb_token *tok; /* verified: msg, contact, campaign, sent_at; link + url (click) */
    const char *user_agent;     /* may be NULL; cut to PB_EVENT_UA_MAX bytes */
    const char *client_ip;      /* as it is to be stored (truncated); may be NULL */
    const char *reason;         /* why machine; may be NULL */
};

/* How long what the tracker writes is kept. */
struct pb_track_retention {
    int msg_days;               /* TTL for a msg hash the tracker creates (redis.retention_days); 0 none */
    long stream_maxlen;         /* XADD MAXLEN ~ (tracker: XTRIM MAXLEN ~); 0 none */
    int stream_max_age_days;    /* XTRIM MINID ~ (now - age); 0 none */
};

/*
 * Tracker events go to Redis in batches: one script run (EVALSHA) writes
 * up to PB_TRACK_BATCH_MAX events, each with its stream entry (and an
 * imputed open before a human click on a message without a human open),
 * the campaign, per-link, message and contact counters, the suppression
 * list for an unsubscribe. Exactly once: every tracker run (process) has
 * a random run id and numbers its events 1, 2, 3...; Redis keeps a bit
 * per event number written (<p>seen:<run id>:<block>) and a batch skips
 * the events whose bit is set. So a batch sent twice (a lost reply, a
 * journal replay cut off, a refused batch retried after later ones were
 * written) writes nothing twice, in whatever order batches arrive.
 * docs/redis-schema.md.
 */
#define PB_KEY_SEEN        "seen:"            /* + run id + ":" + block: bitmap of numbers written */
#define PB_KEY_SEQ         "seq:"             /* + run id: an older tracker's last number written */
#define PB_TRACK_BATCH_MAX 256                /* events per script run */

/* One run of a tracker: its id and the last event number given out. */
struct pb_track_run {
    char id[17];                /* 16 hex, random */
    uint64_t seq;
};
void pb_event_tracker_run_init(struct pb_track_run *run);

/* Append the event to out as one record: the unit the tracker queues,
 * journals and batches (a RESP array: "pbev1", prefix, run id, the event
 * number and the event's fields). Takes the run's next number. eid (may
 * be NULL) receives the event's id (run id + number, 32 hex). */
void pb_event_tracker_record(const char *prefix, struct pb_track_run *run,
                             const struct pb_track_record *rec, char eid[33], GString *out);
/* The run's next event number, as 16 hex digits + NUL. */
void pb_event_tracker_number(struct pb_track_run *run, char seq[17]);

/* A custom event (custom_event.h) as a record of the same form, for the
 * same batches: the 13 event fields are number, "custom", the type, ts,
 * event id ("" = run id + number), contact, source ("http", "cli"), the
 * attribute names given, the address, the properties and the attributes
 * (JSON arrays of strings), "", "". The script writes the stream entry,
 * the address into <p>contacts:by-email and <p>contact:<id>, a signup's
 * attributes, and the event id at most once ('D': written before).
 * docs/redis-schema.md. */
struct pb_custom_event;
void pb_event_custom_record(const char *prefix, struct pb_track_run *run,
                            const struct pb_custom_event *ev, const char *source,
                            GString *out);

#define PB_TRACK_RUN_MAX   32                 /* bits per BITFIELD field */

/* A run of consecutive event numbers: its first bit in the block, how many. */
struct pb_track_bits {
    uint32_t first;
    unsigned width;
};

/* Records of one prefix, run and block, in order, to be written by one script run. */
struct pb_track_batch {
    GString *events;            /* the records' event fields, back to back */
    GString *prefix;
    char run[17];
    char seen[29];              /* "<run>:<block>": the bitmap key's suffix */
    unsigned n;
    struct pb_track_bits runs[PB_TRACK_BATCH_MAX];  /* their numbers' bits */
    unsigned nruns;
};
void pb_track_batch_init(struct pb_track_batch *b);
void pb_track_batch_reset(struct pb_track_batch *b);
void pb_track_batch_free(struct pb_track_batch *b);
/* Add a record: 1 added; 0 it does not fit (full, or another prefix,
 * run or block of numbers: send this batch first); -1 not an event record of this format
 * (e.g. a journal record of an older tracker: send it as it is). */
int pb_track_batch_add(struct pb_track_batch *b, const char *rec, size_t len);
/* The batch's script run into out (replacing it): EVALSHA sha, or EVAL
 * with the whole script when sha is NULL. Trims the stream as ret says.
 * Redis answers an array: a string with one character per event ('1'
 * written, '0' written before, 'D' a custom event whose id was written
 * before, 'E' refused as broken) and the error
 * message of the last refusal (or ""). */
void pb_track_batch_command(const struct pb_track_batch *b, const struct pb_track_retention *ret,
                            const char *sha, GString *out);

/* SCRIPT LOAD of the batch script (appended to out), and its SHA1. */
void pb_event_tracker_script_load(GString *out);
void pb_event_tracker_sha(char sha[41]);

#endif
