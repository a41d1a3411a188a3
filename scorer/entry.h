/*
 * entry.h - one entry of <p>events as the scorer needs it, read from a
 * hiredis reply (XREADGROUP / XAUTOCLAIM: [id, [field, value, ...]]).
 */
#ifndef PB_SCORER_ENTRY_H
#define PB_SCORER_ENTRY_H

#include <stddef.h>
#include <hiredis/hiredis.h>

#define PB_SC_ATTRS_MAX 32      /* attributes one profile or signup event may set */

struct pb_sc_event {
    const char *id;             /* stream entry id "<ms>-<seq>" */
    int trimmed;                /* pending, but trimmed from the stream: no fields */
    const char *type;           /* "" if missing */
    const char *eid, *msg, *contact, *campaign, *url, *cls;    /* "" if missing */
    const char *email;          /* profile, signup: the address ("" if missing) */
    const char *source;         /* custom events: http, cli, import ("" if missing) */
    const char *welcome;        /* an import's signup: p:welcome, "1" with --welcome */
    long long ts;               /* event time (ms); the id's time if missing or bad */
    const char *attrs[2 * (PB_SC_ATTRS_MAX + 1)];  /* attribute fields: name, value, ... (room for one more) */
    size_t nattrs;
};

/* Fill ev from one entry of a reply; pointers are into the reply. -1 if
 * the entry is not [id, fields]; a trimmed entry (nil fields) is 0 with
 * ev->trimmed set. */
int pb_sc_event_parse(const redisReply *entry, struct pb_sc_event *ev);
/* A type whose fields are a contact's attributes (profile, signup). */
int pb_sc_event_has_attrs(const struct pb_sc_event *ev);

#endif
