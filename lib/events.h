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

/* 32 hex chars of randomness for an event id. */
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
    long stream_maxlen;         /* XADD MAXLEN ~ ; 0 none */
    int stream_max_age_days;    /* XTRIM MINID ~ (now - age); 0 none */
};

/* Append one RESP-encoded EVAL command that records the event: its stream
 * entry (and an imputed open for a human click on a message without a
 * human open), campaign, per-link, message and contact counters, the
 * suppression list for an unsubscribe. eid (may be NULL) receives the
 * event id. See docs/redis-schema.md. */
void pb_event_tracker_command(const char *prefix, const struct pb_track_retention *ret,
                              const struct pb_track_record *rec, char eid[33], GString *out);

/* A connection that has run SCRIPT LOAD (script_load appends that command
 * to out) may send a tracker command as EVALSHA, with the script's SHA1
 * (40 hex + NUL into sha) instead of its 3 kB. evalsha writes that form
 * of cmd into out (replacing its contents) and returns 0, or -1 if cmd is
 * not a tracker command of this build (send it as it is). The journal
 * always keeps the EVAL form, which needs no loaded script. */
void pb_event_tracker_script_load(GString *out);
void pb_event_tracker_sha(char sha[41]);
int pb_event_tracker_evalsha(const char *cmd, size_t len, const char sha[41], GString *out);

#endif
