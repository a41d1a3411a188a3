/*
 * places.c - finding every place that names a contact (places.h). One
 * SCAN of the prefix's keys, a page at a time; per page one pipelined
 * TYPE per key, then by type: a key whose name holds the id or address
 * is a place as a whole; sets and sorted sets are searched with
 * SSCAN/ZSCAN MATCH, hashes and short strings read in one pipeline per
 * page, streams and lists read whole (XRANGE in pages of 1000). Other
 * contacts' own keys (<p>contact:<other id>...) are skipped: nothing in
 * them names someone else.
 */
#include <string.h>
#include <glib.h>
#include "events.h"
#include "places.h"

#define PAGE 1000

struct walk {
    struct pb_cli *cli;
    const char *id, *email;
    char *contact_prefix;       /* "<p>contact:" */
    void (*fn)(const struct place *p, void *data);
    void *data;
};

static int names(const struct walk *w, const char *s, size_t len)
{
    return s && (g_strstr_len(s, (gssize)len, w->id) || g_strstr_len(s, (gssize)len, w->email));
}

static void emit(struct walk *w, enum place_kind kind, const char *key, const char *type,
                 const char *item, const char *value, const redisReply *entry)
{
    struct place p = { kind, key, type, item, value, entry };

    w->fn(&p, w->data);
}

/* SSCAN or ZSCAN with MATCH for the id and the address. */
static int scan_members(struct walk *w, const char *key, const char *type)
{
    const char *cmd = strcmp(type, "set") == 0 ? "SSCAN" : "ZSCAN";
    const char *pats[2] = { w->id, w->email };

    for (int k = 0; k < 2; k++) {
        char *pat = g_strdup_printf("*%s*", pats[k]), cursor[32] = "0";
        do {
            redisReply *r = pb_cli_cmd(w->cli, "searching a set", "%s %s %s MATCH %s COUNT %d",
                                       cmd, key, cursor, pat, PAGE);
            if (r == NULL) {
                g_free(pat);
                return -1;
            }
            g_strlcpy(cursor, r->element[0]->str, sizeof(cursor));
            for (size_t i = 0; i < r->element[1]->elements; i += cmd[0] == 'Z' ? 2 : 1)
                emit(w, PLACE_MEMBER, key, type, r->element[1]->element[i]->str, NULL, NULL);
            freeReplyObject(r);
        } while (strcmp(cursor, "0") != 0);
        g_free(pat);
    }
    return 0;
}

static int scan_stream(struct walk *w, const char *key)
{
    char start[64] = "-";

    for (;;) {
        redisReply *r = pb_cli_cmd(w->cli, "reading the stream", "XRANGE %s %s + COUNT %d",
                                   key, start, PAGE);
        size_t n;
        if (r == NULL)
            return -1;
        n = r->elements;
        for (size_t i = 0; i < n; i++) {
            const redisReply *e = r->element[i], *f = e->element[1];
            for (size_t j = 1; f->type == REDIS_REPLY_ARRAY && j < f->elements; j += 2)
                if (names(w, f->element[j]->str, f->element[j]->len)) {
                    emit(w, PLACE_ENTRY, key, "stream", e->element[0]->str, NULL, f);
                    break;
                }
        }
        if (n > 0)
            g_snprintf(start, sizeof(start), "(%s", r->element[n - 1]->element[0]->str);
        freeReplyObject(r);
        if (n < PAGE)
            return 0;
    }
}

static int scan_list(struct walk *w, const char *key)
{
    redisReply *r = pb_cli_cmd(w->cli, "reading a list", "LRANGE %s 0 -1", key);

    if (r == NULL)
        return -1;
    for (size_t i = 0; i < r->elements; i++)
        if (names(w, r->element[i]->str, r->element[i]->len))
            emit(w, PLACE_ITEM, key, "list", r->element[i]->str, NULL, NULL);
    freeReplyObject(r);
    return 0;
}

static void hash_places(struct walk *w, const char *key, const redisReply *all)
{
    for (size_t i = 0; i + 1 < all->elements; i += 2) {
        const redisReply *f = all->element[i], *v = all->element[i + 1];
        if (names(w, f->str, f->len) || names(w, v->str, v->len))
            emit(w, PLACE_FIELD, key, "hash", f->str, v->str, NULL);
    }
}

/* Hashes and strings of a page: one pipeline (by-email: its one field). */
static int read_values(struct walk *w, char **keys, const char **types, size_t n)
{
    char *by_email = pb_cli_key(w->cli, PB_KEY_BY_EMAIL, NULL);
    int rc = 0;

    for (size_t i = 0; i < n; i++)
        if (types[i] && strcmp(keys[i], by_email) == 0)
            redisAppendCommand(w->cli->redis, "HMGET %s %s", keys[i], w->email);
        else if (types[i] && strcmp(types[i], "hash") == 0)
            redisAppendCommand(w->cli->redis, "HGETALL %s", keys[i]);
        else if (types[i] && strcmp(types[i], "string") == 0)
            redisAppendCommand(w->cli->redis, "GETRANGE %s 0 1023", keys[i]);
    for (size_t i = 0; i < n; i++) {
        redisReply *r;
        if (!types[i] || (strcmp(types[i], "hash") != 0 && strcmp(types[i], "string") != 0))
            continue;
        if ((r = pb_cli_reply(w->cli, "reading values")) == NULL) {
            rc = -1;
            continue;
        }
        if (strcmp(keys[i], by_email) == 0 && r->element[0]->type == REDIS_REPLY_STRING)
            emit(w, PLACE_FIELD, keys[i], "hash", w->email, r->element[0]->str, NULL);
        else if (strcmp(keys[i], by_email) != 0 && strcmp(types[i], "hash") == 0)
            hash_places(w, keys[i], r);
        else if (strcmp(types[i], "string") == 0 && names(w, r->str, r->len))
            emit(w, PLACE_KEY, keys[i], "string", NULL, NULL, NULL);
        freeReplyObject(r);
    }
    g_free(by_email);
    return rc;
}

/* One SCAN page: types, then each key by its type. */
static int walk_page(struct walk *w, const redisReply *page)
{
    size_t n = page->elements;
    char **keys = g_new0(char *, n);
    const char **types = g_new0(const char *, n);
    redisReply **tr = g_new0(redisReply *, n);
    int rc = 0;

    for (size_t i = 0; i < n; i++) {
        keys[i] = page->element[i]->str;
        redisAppendCommand(w->cli->redis, "TYPE %s", keys[i]);
    }
    for (size_t i = 0; i < n; i++)
        if ((tr[i] = pb_cli_reply(w->cli, "reading key types")) == NULL)
            rc = -1;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const char *t = tr[i]->str;
        if (names(w, keys[i], strlen(keys[i])))
            emit(w, PLACE_KEY, keys[i], t, NULL, NULL, NULL);
        else if (g_str_has_prefix(keys[i], w->contact_prefix) || strcmp(t, "none") == 0)
            continue;           /* another contact's own key; or gone meanwhile */
        else if (strcmp(t, "set") == 0 || strcmp(t, "zset") == 0)
            rc = scan_members(w, keys[i], t);
        else if (strcmp(t, "stream") == 0)
            rc = scan_stream(w, keys[i]);
        else if (strcmp(t, "list") == 0)
            rc = scan_list(w, keys[i]);
        else
            types[i] = t;       /* hash, string: read together below */
    }
    if (rc == 0)
        rc = read_values(w, keys, types, n);
    for (size_t i = 0; i < n; i++)
        if (tr[i])
            freeReplyObject(tr[i]);
    g_free(tr);
    g_free(types);
    g_free(keys);
    return rc;
}

int pb_places_walk(struct pb_cli *cli, const char *id, const char *email,
                   void (*fn)(const struct place *p, void *data), void *data)
{
    struct walk w = { cli, id, email, pb_cli_key(cli, PB_KEY_CONTACT, NULL), fn, data };
    char *match = g_strconcat(cli->conf.redis.prefix, "*", NULL), cursor[32] = "0";
    int rc = 0;

    do {
        redisReply *r = pb_cli_cmd(cli, "scanning the keys", "SCAN %s MATCH %s COUNT %d",
                                   cursor, match, PAGE);
        if (r == NULL) {
            rc = -1;
            break;
        }
        g_strlcpy(cursor, r->element[0]->str, sizeof(cursor));
        rc = walk_page(&w, r->element[1]);
        freeReplyObject(r);
    } while (rc == 0 && strcmp(cursor, "0") != 0);
    g_free(match);
    g_free(w.contact_prefix);
    return rc;
}
