/*
 * places.h - every place in Redis that names one contact, by its id or
 * its address: found by walking the whole keyspace of the prefix (SCAN),
 * so that keys added by later programs (segments, queues) are found too.
 * Used by contacts erase (to remove them) and contacts export-data (to
 * show them); docs/redis-schema.md, "Erasing a contact".
 */
#ifndef PB_CLI_PLACES_H
#define PB_CLI_PLACES_H

#include <hiredis/hiredis.h>
#include "cli.h"

enum place_kind {
    PLACE_KEY,                  /* a key whose name names the contact: all of it */
    PLACE_MEMBER,               /* a member of a set or sorted set */
    PLACE_FIELD,                /* a field of a hash (its name or value names the contact) */
    PLACE_ENTRY,                /* an entry of a stream */
    PLACE_ITEM,                 /* an element of a list */
};

struct place {
    enum place_kind kind;
    const char *key;
    const char *type;           /* "hash", "set", "zset", "stream", "list", "string" */
    const char *item;           /* member, field, entry id or element; NULL for a key */
    const char *value;          /* a hash field's value; NULL otherwise */
    const redisReply *entry;    /* a stream entry's fields (array); NULL otherwise */
};

/* Call fn for every place naming id or email. 0, or -1 after a Redis error
 * (reported). fn may queue commands but must not read replies. */
int pb_places_walk(struct pb_cli *cli, const char *id, const char *email,
                   void (*fn)(const struct place *p, void *data), void *data);

#endif
