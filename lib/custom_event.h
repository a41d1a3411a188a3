/*
 * custom_event.h - custom events from a shop or website (cart_abandoned,
 * purchase, signup, webinar_registered, any name): the one place where
 * such an event is validated and turned into what the event stream gets,
 * for every way in (the tracker's POST /e; the CLI's `postbeacon event`).
 *
 * An event is a contact address, a type, a time and properties. What goes
 * to Redis is the contact id, never the address in the stream; the address
 * (and, for a signup, the contact's attributes) goes to the contact's hash
 * in the same script run as the stream entry. Format, fields and limits:
 * docs/custom-events.md; the stream entry: docs/redis-schema.md.
 *
 * Files: custom_event.c (the fields: type, address, time, id, the event's
 * id), custom_event_json.c (a JSON object or batch into events, with
 * jansson), custom_event_contact.c (a signup's attributes), custom_sig.c (the request signature), events_custom.c (the
 * record the tracker queues and journals).
 */
#ifndef PB_CUSTOM_EVENT_H
#define PB_CUSTOM_EVENT_H

#include <stddef.h>
#include <glib.h>
#include "keys.h"
#include "token.h"

#define PB_CEV_TYPE_MAX   64    /* bytes of a type name */
#define PB_CEV_EMAIL_MAX  254   /* bytes of an address (RFC 5321 path limit) */
#define PB_CEV_ID_MAX     128   /* bytes of an idempotency key */
#define PB_CEV_NAME_MAX   64    /* bytes of a property or attribute name */
#define PB_CEV_VALUE_MAX  4096  /* bytes of a property or attribute value */
#define PB_CEV_PROPS_MAX  64    /* properties (and attributes) per event */
#define PB_CEV_BATCH_MAX  500   /* events per request */
#define PB_CEV_PROP_PREFIX "p:" /* before a property's name in the stream */

struct pb_custom_event {
    char type[PB_CEV_TYPE_MAX + 1];
    char email[PB_CEV_EMAIL_MAX + 1];           /* normalised (pb_address_normalise) */
    char contact[2 * PB_CONTACT_LEN + 1];       /* pb_contact_id, 16 hex */
    long long ts_ms;                            /* when it happened, unix ms */
    char eid[33];               /* 32 hex; "" = the writer numbers it (tracker: run id + number) */
    GString *props;             /* JSON array of strings "p:<name>", value, ...: "[]" for none */
    GString *attrs;             /* signup: JSON array "<field>", value, ...; "" for none */
    GString *attr_names;        /* the attribute fields given, ","-separated; "" for none */
};

/* Why an event was refused: the field (JSON path, e.g. "events[2].email")
 * and what is wrong with it, for the 400 answer. */
struct pb_cev_error {
    char field[96];
    char message[200];
};

/* What the checks need: the contact key, the time now, and how far in the
 * future an event's time may be (a clock a little ahead). */
struct pb_cev_ctx {
    const struct pb_keyring *keys;
    long long now_ms;
    long long max_future_ms;
};

void pb_custom_event_init(struct pb_custom_event *ev);
void pb_custom_event_clear(struct pb_custom_event *ev);
/* A GPtrArray of events that frees them with itself. */
GPtrArray *pb_custom_events_new(void);

/* ---- the fields (custom_event.c) ---------------------------------------- */

/* Each sets its field of ev, or fills err (for field `path`) and returns -1. */
int pb_cev_set_type(struct pb_custom_event *ev, const char *type, const char *path,
                    struct pb_cev_error *err);
int pb_cev_set_email(struct pb_custom_event *ev, const struct pb_cev_ctx *ctx,
                     const char *email, const char *path, struct pb_cev_error *err);
/* RFC 3339 text ("2026-12-03T17:10:00Z", "...+01:00", fractions). */
int pb_cev_set_time_text(struct pb_custom_event *ev, const struct pb_cev_ctx *ctx,
                         const char *text, const char *path, struct pb_cev_error *err);
/* Unix seconds (a fraction keeps milliseconds). */
int pb_cev_set_time_seconds(struct pb_custom_event *ev, const struct pb_cev_ctx *ctx,
                            double seconds, const char *path, struct pb_cev_error *err);
/* The event's id from a key that names it (the sender's idempotency key,
 * or the request signature and the event's place): the same type and key
 * give the same id, and Redis writes an id once. */
void pb_cev_set_eid(struct pb_custom_event *ev, const char *key, size_t key_len);
/* An idempotency key: 1..PB_CEV_ID_MAX printable ASCII bytes. */
int pb_cev_check_id(const char *id, const char *path, struct pb_cev_error *err);
/* A property or custom attribute name: 1..PB_CEV_NAME_MAX of [A-Za-z0-9_.-]
 * (attr: lowercase [a-z0-9_] only, as docs/scorer.md has it). */
int pb_cev_check_name(const char *name, int attr, const char *path, struct pb_cev_error *err);
void pb_cev_error_set(struct pb_cev_error *err, const char *path, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

/* ---- JSON (custom_event_json.c) ----------------------------------------- */

/* A request body: one event object, or {"events": [ ... ]} with 1 to
 * PB_CEV_BATCH_MAX of them. All or nothing: 0 with every event appended
 * to out (a pb_custom_events_new array), or -1 with err naming the first
 * field that is wrong (out unchanged). Events without an "id" get their
 * eid from sig_key (the request's signature) and their place in it. */
int pb_custom_events_parse(const struct pb_cev_ctx *ctx, const char *body, size_t len,
                           const char *sig_key, GPtrArray *out, struct pb_cev_error *err);

/* The CLI's form: address, type and "name=value" properties (strings),
 * through the same checks; a property "id=..." is not special. 0 or -1. */
int pb_custom_event_from_args(const struct pb_cev_ctx *ctx, const char *email,
                              const char *type, int nprops, char *const *props,
                              struct pb_custom_event *ev, struct pb_cev_error *err);

/* ---- the request signature (custom_sig.c) ------------------------------- */

enum pb_sig_status {
    PB_SIG_OK,
    PB_SIG_MISSING,             /* no timestamp or no signature header */
    PB_SIG_BAD_TIMESTAMP,       /* not a decimal number of seconds */
    PB_SIG_EXPIRED,             /* further than the window from now */
    PB_SIG_MALFORMED,           /* not 64 hex digits */
    PB_SIG_BAD,                 /* no events secret makes it */
    PB_SIG_NO_SECRET,           /* the key file has no events line */
};

#define PB_SIG_TIMESTAMP_HEADER "X-Postbeacon-Timestamp"
#define PB_SIG_SIGNATURE_HEADER "X-Postbeacon-Signature"

/* X-Postbeacon-Signature: hex HMAC-SHA256(secret, timestamp "." body),
 * with any "events" secret of ring; the timestamp (unix seconds) at most
 * window_s from now_s either way. */
enum pb_sig_status pb_custom_sig_check(const struct pb_keyring *ring, const char *timestamp,
                                       const char *signature, const char *body, size_t len,
                                       long long now_s, int window_s);
/* The same check with any of the n keys (PB_SIG_NO_SECRET when n is 0):
 * what a receiver of the scorer's webhooks (lib/webhook.h) runs with its
 * secret, as the tracker runs it for POST /e. */
enum pb_sig_status pb_sig_check(const struct pb_key *keys, size_t n, const char *timestamp,
                                const char *signature, const char *body, size_t len,
                                long long now_s, int window_s);
/* The signature of body at timestamp with key, as 64 hex + NUL (the
 * scorer's webhooks, lib/webhook.c; tests). */
void pb_custom_sig_make(const struct pb_key *key, const char *timestamp, const char *body,
                        size_t len, char out[65]);
/* A short reason for logs, metrics and the 401 answer. */
const char *pb_sig_status_str(enum pb_sig_status st);

#endif
