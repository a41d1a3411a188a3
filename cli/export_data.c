/*
 * export_data.c - postbeacon contacts export-data EMAIL: everything stored
 * about one person as one JSON document (a GDPR access request). The
 * places are those contacts erase removes (places.c), so what is shown
 * and what is erased cannot drift apart: the keys named after the
 * contact with their whole content, memberships of sets and sorted sets,
 * fields of other hashes (address mapping, send records) and the stream
 * entries with all their fields.
 */
#include <string.h>
#include <jansson.h>
#include "cli.h"
#include "custom_event.h"
#include "places.h"
#include "table.h"

static const struct pb_cli_opts opts = {
    .usage = "contacts export-data EMAIL",
    .help = "Prints everything stored about the person as JSON: the contact's keys\n"
            "with their content, memberships, fields of other hashes and events.\n",
};

struct found {
    GPtrArray *keys;            /* key names (g_free) named after the contact */
    GPtrArray *key_types;
    json_t *memberships, *fields, *events;
};

static json_t *pairs_object(const redisReply *r)
{
    json_t *o = json_object();

    for (size_t i = 0; r && i + 1 < r->elements; i += 2)
        json_object_set_new(o, r->element[i]->str, json_stringn(r->element[i + 1]->str,
                                                                r->element[i + 1]->len));
    return o;
}

static void on_place(const struct place *p, void *data)
{
    struct found *f = data;
    json_t *o = json_object();

    json_object_set_new(o, "key", json_string(p->key));
    switch (p->kind) {
    case PLACE_KEY:
        g_ptr_array_add(f->keys, g_strdup(p->key));
        g_ptr_array_add(f->key_types, g_strdup(p->type));
        json_decref(o);
        return;
    case PLACE_MEMBER: case PLACE_ITEM:
        json_object_set_new(o, "type", json_string(p->type));
        json_object_set_new(o, "member", json_string(p->item));
        json_array_append_new(f->memberships, o);
        return;
    case PLACE_FIELD:
        json_object_set_new(o, "field", json_string(p->item));
        json_object_set_new(o, "value", json_string(p->value));
        json_array_append_new(f->fields, o);
        return;
    case PLACE_ENTRY:
        json_object_set_new(o, "id", json_string(p->item));
        json_object_set_new(o, "fields", pairs_object(p->entry));
        json_array_append_new(f->events, o);
        return;
    }
}

/* A key's whole content as JSON, by its type. */
static json_t *content_of(struct pb_cli *cli, const char *key, const char *type)
{
    const char *cmd = strcmp(type, "hash") == 0 ? "HGETALL" : strcmp(type, "list") == 0
        ? "LRANGE" : strcmp(type, "set") == 0 ? "SMEMBERS" : strcmp(type, "zset") == 0
        ? "ZRANGE" : strcmp(type, "string") == 0 ? "GET" : NULL;
    redisReply *r;
    json_t *v;

    if (cmd == NULL)
        return json_string("(a stream named after the contact: not shown)");
    if (cmd[0] == 'L' || cmd[0] == 'Z')
        r = pb_cli_cmd(cli, "reading a key", "%s %s 0 -1%s", cmd, key,
                       cmd[0] == 'Z' ? " WITHSCORES" : "");
    else
        r = pb_cli_cmd(cli, "reading a key", "%s %s", cmd, key);
    if (r == NULL)
        return NULL;
    if (cmd[0] == 'H' || cmd[0] == 'Z') {
        v = pairs_object(r);
    } else if (r->type == REDIS_REPLY_ARRAY) {
        v = json_array();
        for (size_t i = 0; i < r->elements; i++)
            json_array_append_new(v, json_stringn(r->element[i]->str, r->element[i]->len));
    } else {
        v = r->type == REDIS_REPLY_STRING ? json_stringn(r->str, r->len) : json_null();
    }
    freeReplyObject(r);
    return v;
}

static int export_data(struct pb_cli *cli, const char *email)
{
    char id[17], addr[PB_CEV_EMAIL_MAX + 1];
    struct found f = { g_ptr_array_new_with_free_func(g_free),
                       g_ptr_array_new_with_free_func(g_free), json_array(), json_array(),
                       json_array() };
    json_t *doc = NULL, *keys = json_object();
    int rc = -1;

    if (pb_cli_find_contact(cli, email, id, addr) == 0)
        rc = pb_places_walk(cli, id, addr, on_place, &f);
    for (guint i = 0; rc == 0 && i < f.keys->len; i++) {
        json_t *v = content_of(cli, g_ptr_array_index(f.keys, i),
                               g_ptr_array_index(f.key_types, i));
        if (v == NULL)
            rc = -1;
        else
            json_object_set_new(keys, g_ptr_array_index(f.keys, i), v);
    }
    if (rc == 0) {
        doc = json_pack("{s:s, s:s, s:o, s:O, s:O, s:O}", "email", addr, "contact_id", id,
                        "keys", keys, "memberships", f.memberships, "fields", f.fields,
                        "events", f.events);
        pb_json_print(doc, stdout);
    } else {
        json_decref(keys);
    }
    json_decref(f.memberships);
    json_decref(f.fields);
    json_decref(f.events);
    g_ptr_array_free(f.keys, TRUE);
    g_ptr_array_free(f.key_types, TRUE);
    return rc == 0 ? PB_EXIT_OK : PB_EXIT_ERROR;
}

int pb_contacts_export_data(struct pb_cli *cli, int argc, char **argv)
{
    return pb_cli_run_email(cli, &opts, argc, argv, export_data);
}
