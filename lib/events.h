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
    const char *email;          /* normalised recipient; NULL for campaign-level */
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

#endif
