/*
 * keys.h - the HMAC-SHA256 key ring that signs and verifies tokens.
 *
 * The key file (keys.file, mode 0600 or 0640, never world-readable) holds
 * one key a line:  "<id> <secret as 64+ hex digits>", ids 1..255, and one
 * line "contact <hex>" for the stable key that turns addresses into contact
 * ids. The LAST key line signs new tokens; every listed key verifies, so a
 * key stays valid until its line is removed. Up to PB_EVENTS_KEYS_MAX lines
 * "events <hex>" hold the shared secrets that sign custom events sent to
 * the tracker's POST /e (docs/custom-events.md); each of them verifies, so
 * a shop can move to a new one while the old one is still listed. Lines
 * "webhook <name> <hex>" hold the secrets that sign the scorer's webhook
 * steps (one per name: a CRM verifies it as the tracker verifies POST /e).
 * Format: docs/tokens.md.
 */
#ifndef PB_KEYS_H
#define PB_KEYS_H

#include <stddef.h>
#include <stdint.h>

#define PB_KEY_MAX 64           /* secret bytes */
#define PB_KEY_MIN 32
#define PB_EVENTS_KEYS_MAX 4    /* "events" lines in a key file */
#define PB_WEBHOOK_KEYS_MAX 16  /* "webhook" lines in a key file */
#define PB_WEBHOOK_NAME_MAX 64  /* a webhook secret's name: [a-z0-9_-] */

struct pb_key {
    uint8_t id;                 /* 1..255 */
    uint8_t secret[PB_KEY_MAX];
    size_t len;
    void *mac_state;            /* precomputed HMAC ipad/opad state (keys.c) */
    int line;                   /* line of the key file it is on */
};

/* "webhook <name> <hex>": the secret a workflow's webhook step names. */
struct pb_webhook_key {
    char name[PB_WEBHOOK_NAME_MAX + 1];
    struct pb_key key;          /* id 0 */
};

struct pb_keyring {
    struct pb_key keys[255];
    size_t count;
    int signing;                /* index into keys[] of the newest key */
    uint8_t contact_key[PB_KEY_MAX];
    size_t contact_key_len;
    int contact_line;           /* line of the contact key */
    struct pb_key events[PB_EVENTS_KEYS_MAX];  /* custom-event secrets (id 0) */
    size_t events_count;
    struct pb_webhook_key webhooks[PB_WEBHOOK_KEYS_MAX];   /* webhook secrets, unique names */
    size_t webhooks_count;
};

/* Load; 0 on success, -1 with "file:line: what (fix)" in errbuf.
 * check_mode: refuse files readable by "other" (tests may pass 0). */
int pb_keys_load(const char *path, int check_mode, struct pb_keyring *ring,
                 char *errbuf, size_t errlen);
const struct pb_key *pb_keys_signing(const struct pb_keyring *ring);
const struct pb_key *pb_keys_find(const struct pb_keyring *ring, uint8_t id);
/* The webhook secret of this name, or NULL. */
const struct pb_key *pb_keys_webhook(const struct pb_keyring *ring, const char *name);
/* 1 if name can name a webhook secret: 1..PB_WEBHOOK_NAME_MAX of [a-z0-9_-]. */
int pb_keys_webhook_name_ok(const char *name);
void pb_keys_free(struct pb_keyring *ring);

/* HMAC-SHA256(key, data) into out[32], using the precomputed state. */
void pb_keys_hmac(const struct pb_key *key, const void *data, size_t len, uint8_t out[32]);

/* Write a fresh key file with one signing key and a contact key (mode 0600);
 * or, if it exists, append a new key with the next id. Used by `postbeacon keys`
 * and the demo/test scripts. 0 on success. */
int pb_keys_generate(const char *path, char *errbuf, size_t errlen);

/* ---- editing a key file (keys_edit.c) ------------------------------------
 * Each writes the whole new file to a temporary file beside it (mode 0600,
 * or the old file's mode and owner), fsyncs it and renames it over the
 * old one: a crash leaves the old file or the new one, never half of one.
 * Comments and the other lines stay as they were. 0, or -1 with errbuf. */

/* A new file: a contact key and key 1; refuses a file that exists. */
int pb_keys_create(const char *path, char *errbuf, size_t errlen);
/* Append a new random signing key (the next free id); *new_id gets it. */
int pb_keys_rotate(const char *path, int *new_id, char *errbuf, size_t errlen);
/* Append a new random "events" secret (custom events). */
int pb_keys_add_events(const char *path, char *errbuf, size_t errlen);
/* Remove the line of key id; refuses the signing key (the last key line). */
int pb_keys_retire(const char *path, int id, char *errbuf, size_t errlen);
/* A new random secret for webhook name: its line replaced in place, or
 * appended when there is none (*replaced says which). */
int pb_keys_set_webhook(const char *path, const char *name, int *replaced, char *errbuf,
                        size_t errlen);
/* Remove the line of webhook secret name. */
int pb_keys_retire_webhook(const char *path, const char *name, char *errbuf, size_t errlen);

#endif
