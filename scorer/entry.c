/*
 * entry.c - a stream entry's fields picked out of its hiredis reply
 * (entry.h). Fields the scorer does not know are ignored, as
 * docs/redis-schema.md asks of every reader.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "entry.h"

/* The attribute fields of profile and signup events (docs/redis-schema.md). */
static const char *const attr_fields[] = {
    "first_name", "last_name", "birthday", "city", "country", "language", "timezone", "tags",
    NULL
};

static int attr_field(const char *name)
{
    if (strncmp(name, "attr:", 5) == 0)
        return name[5] != '\0'
               && name[5 + strspn(name + 5, "abcdefghijklmnopqrstuvwxyz0123456789_")] == '\0';
    for (const char *const *f = attr_fields; *f; f++)
        if (strcmp(*f, name) == 0)
            return 1;
    return 0;
}

int pb_sc_event_has_attrs(const struct pb_sc_event *ev)
{
    return strcmp(ev->type, "profile") == 0 || strcmp(ev->type, "signup") == 0;
}

static long long id_ms(const char *id)
{
    return strtoll(id, NULL, 10);
}

static void set_field(struct pb_sc_event *ev, const char *name, const char *value)
{
    static const struct { const char *name; size_t off; } fields[] = {
        { "type", offsetof(struct pb_sc_event, type) },
        { "eid", offsetof(struct pb_sc_event, eid) },
        { "msg", offsetof(struct pb_sc_event, msg) },
        { "contact", offsetof(struct pb_sc_event, contact) },
        { "campaign", offsetof(struct pb_sc_event, campaign) },
        { "url", offsetof(struct pb_sc_event, url) },
        { "class", offsetof(struct pb_sc_event, cls) },
        { "email", offsetof(struct pb_sc_event, email) },
        { "source", offsetof(struct pb_sc_event, source) },
        { "p:welcome", offsetof(struct pb_sc_event, welcome) },
    };

    if (strcmp(name, "ts") == 0) {
        char *end;
        long long ts = strtoll(value, &end, 10);
        if (end != value && *end == '\0' && ts > 0)
            ev->ts = ts;
        return;
    }
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (strcmp(name, fields[i].name) == 0) {
            *(const char **)(void *)((char *)ev + fields[i].off) = value;
            return;
        }
    if (attr_field(name) && ev->nattrs < PB_SC_ATTRS_MAX) {
        ev->attrs[2 * ev->nattrs] = name;
        ev->attrs[2 * ev->nattrs + 1] = value;
        ev->nattrs++;
    }
}

int pb_sc_event_parse(const redisReply *entry, struct pb_sc_event *ev)
{
    const redisReply *fields;

    memset(ev, 0, sizeof(*ev));
    ev->type = ev->eid = ev->msg = ev->contact = ev->campaign = ev->url = ev->cls = "";
    ev->source = ev->welcome = "";
    ev->email = "";
    if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2
        || entry->element[0]->type != REDIS_REPLY_STRING)
        return -1;
    ev->id = entry->element[0]->str;
    fields = entry->element[1];
    if (fields->type == REDIS_REPLY_NIL) {
        ev->trimmed = 1;
        return 0;
    }
    if (fields->type != REDIS_REPLY_ARRAY || fields->elements % 2 != 0)
        return -1;
    for (size_t i = 0; i + 1 < fields->elements; i += 2)
        if (fields->element[i]->type == REDIS_REPLY_STRING
            && fields->element[i + 1]->type == REDIS_REPLY_STRING)
            set_field(ev, fields->element[i]->str, fields->element[i + 1]->str);
    if (ev->ts == 0)
        ev->ts = id_ms(ev->id);
    return 0;
}
