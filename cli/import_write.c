/*
 * import_write.c - an import's rows into Redis (import.h), a batch at a
 * time, in three pipelined round trips: read what each contact has
 * (HMGET of the fields the row gives, and whether its address was erased
 * before), write the changes, and keep erased addresses suppressed.
 *
 * A change is written as a custom event through the tracker's batch
 * script (lib/events_tracker.c via lib/events_custom.c): type `signup`
 * for a contact without created_at (new), `profile` for one whose fields
 * changed, `attrs` naming the changed fields, source `import`, and with
 * --welcome `p:welcome 1` on a new contact's entry. One definition of
 * the entry and of how attributes reach the contact hash, for the
 * tracker's POST /e and the import alike (docs/redis-schema.md). A row
 * that changes nothing writes nothing, so importing a file twice changes
 * nothing the second time.
 */
#include <string.h>
#include <jansson.h>
#include "import.h"

int imp_write_start(struct importer *imp)
{
    GString *load = g_string_new(NULL);
    redisReply *r;

    if (pb_cli_redis(imp->cli) == NULL)
        return -1;
    pb_event_tracker_script_load(load);
    redisAppendFormattedCommand(imp->cli->redis, load->str, load->len);
    g_string_free(load, TRUE);
    r = pb_cli_reply(imp->cli, "loading the event script");
    if (r == NULL)
        return -1;
    freeReplyObject(r);
    pb_event_tracker_sha(imp->sha);
    pb_event_tracker_run_init(&imp->run);
    return 0;
}

int imp_write_add(struct importer *imp, struct imp_row *row)
{
    if (g_hash_table_contains(imp->in_batch, row->contact) && imp_write_flush(imp) != 0) {
        imp_row_free(row);
        return -1;
    }
    g_ptr_array_add(imp->rows, row);
    g_hash_table_add(imp->in_batch, row->contact);
    return imp->rows->len >= IMP_BATCH ? imp_write_flush(imp) : 0;
}

/* Round trip 1: each row's stored fields, then which addresses were erased. */
static void append_reads(struct importer *imp)
{
    struct pb_cli *cli = imp->cli;
    GPtrArray *argv = g_ptr_array_new();
    char *key, *erased = pb_cli_key(cli, PB_KEY_ERASED, NULL);

    for (guint i = 0; i < imp->rows->len; i++) {
        struct imp_row *row = g_ptr_array_index(imp->rows, i);
        key = pb_cli_key(cli, PB_KEY_CONTACT, row->contact);
        g_ptr_array_set_size(argv, 0);
        g_ptr_array_add(argv, "HMGET");
        g_ptr_array_add(argv, key);
        g_ptr_array_add(argv, "created_at");
        for (guint j = 0; j < row->pairs->len; j += 2)
            g_ptr_array_add(argv, g_ptr_array_index(row->pairs, j));
        redisAppendCommandArgv(cli->redis, (int)argv->len, (const char **)argv->pdata, NULL);
        g_free(key);
    }
    g_ptr_array_set_size(argv, 0);
    g_ptr_array_add(argv, "SMISMEMBER");
    g_ptr_array_add(argv, erased);
    for (guint i = 0; i < imp->rows->len; i++)
        g_ptr_array_add(argv, ((struct imp_row *)g_ptr_array_index(imp->rows, i))->erased);
    redisAppendCommandArgv(cli->redis, (int)argv->len, (const char **)argv->pdata, NULL);
    g_ptr_array_free(argv, TRUE);
    g_free(erased);
}

/* 1 if the stored tags already hold every tag of new. */
static int tags_held(const char *stored, const char *new_tags)
{
    char **want = g_strsplit(new_tags, ",", -1), **have = g_strsplit(stored, ",", -1);
    int held = 1;

    for (int i = 0; want[i] && held; i++)
        held = g_strv_contains((const char *const *)have, want[i]);
    g_strfreev(want);
    g_strfreev(have);
    return held;
}

/* The fields of row that differ from what Redis has (r: created_at, then
 * the row's fields) as pairs in ev; 1 if there are any or it is new. */
static int changes_of(struct importer *imp, const struct imp_row *row, const redisReply *r,
                      struct pb_custom_event *ev)
{
    int created = r->element[0]->type != REDIS_REPLY_STRING;
    json_t *pairs = json_array();

    for (guint j = 0; j < row->pairs->len; j += 2) {
        const char *f = g_ptr_array_index(row->pairs, j), *v = g_ptr_array_index(row->pairs, j + 1);
        const redisReply *old = r->element[1 + j / 2];
        int same = old->type == REDIS_REPLY_STRING
            && (strcmp(f, "tags") == 0 ? tags_held(old->str, v) : strcmp(old->str, v) == 0);
        if (same && !created)
            continue;
        json_array_append_new(pairs, json_string(f));
        json_array_append_new(pairs, json_string(v));
        g_string_append_printf(ev->attr_names, "%s%s", ev->attr_names->len ? "," : "", f);
    }
    if (json_array_size(pairs) > 0) {
        char *text = json_dumps(pairs, JSON_COMPACT);
        g_string_assign(ev->attrs, text);
        free(text);
    }
    json_decref(pairs);
    strcpy(ev->type, created ? "signup" : "profile");
    if (created && imp->welcome)
        g_string_assign(ev->props, "[\"" PB_CEV_PROP_PREFIX "welcome\",\"1\"]");
    return created || ev->attr_names->len > 0;
}

/* The batch script run of b (if it has events) appended to the pipeline. */
static void send_batch(struct importer *imp, struct pb_track_batch *b, int *pending)
{
    struct pb_track_retention ret = {
        .msg_days = imp->cli->conf.redis.retention_days,
        .stream_maxlen = imp->cli->conf.tracker.stream_maxlen,
        .stream_max_age_days = imp->cli->conf.tracker.stream_max_age_days,
    };
    GString *cmd;

    if (b->n == 0)
        return;
    cmd = g_string_new(NULL);
    pb_track_batch_command(b, &ret, imp->sha, cmd);
    redisAppendFormattedCommand(imp->cli->redis, cmd->str, cmd->len);
    g_string_free(cmd, TRUE);
    pb_track_batch_reset(b);
    (*pending)++;
}

/* A contact's changes as an event record into the batch (sent when full). */
static void add_event(struct importer *imp, const struct imp_row *row, const redisReply *r,
                      struct pb_track_batch *b, int *pending)
{
    struct pb_custom_event ev;
    GString *rec;

    pb_custom_event_init(&ev);
    memcpy(ev.email, row->email, sizeof(ev.email));
    memcpy(ev.contact, row->contact, sizeof(ev.contact));
    ev.ts_ms = pb_event_now_ms();
    if (!changes_of(imp, row, r, &ev)) {
        imp->n.unchanged++;
        pb_custom_event_clear(&ev);
        return;
    }
    strcmp(ev.type, "signup") == 0 ? imp->n.created++ : imp->n.changed++;
    rec = g_string_new(NULL);
    pb_event_custom_record(imp->cli->conf.redis.prefix, &imp->run, &ev, "import", rec);
    if (pb_track_batch_add(b, rec->str, rec->len) == 0) {
        send_batch(imp, b, pending);
        pb_track_batch_add(b, rec->str, rec->len);
    }
    g_string_free(rec, TRUE);
    pb_custom_event_clear(&ev);
}

/* An erased address imported again: on the suppression list at once. */
static void append_suppress(struct importer *imp, const struct imp_row *row, int *pending)
{
    char *sup = pb_cli_key(imp->cli, PB_KEY_SUPPRESSED, NULL);
    char *key = pb_cli_key(imp->cli, PB_KEY_CONTACT, row->contact);

    redisAppendCommand(imp->cli->redis, "SADD %s %s", sup, row->contact);
    redisAppendCommand(imp->cli->redis, "HSETNX %s unsubscribed_at %lld", key,
                       pb_event_now_ms() / 1000);
    *pending += 2;
    g_free(sup);
    g_free(key);
}

/* Round trip 2 and 3's replies: statuses of the batch scripts. */
static int read_writes(struct importer *imp, int pending)
{
    int rc = 0;

    for (int i = 0; i < pending; i++) {
        redisReply *r = pb_cli_reply(imp->cli, "writing contacts");
        if (r == NULL) {
            rc = -1;
            continue;
        }
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
            const char *st = r->element[0]->str;
            for (size_t j = 0; st && j < r->element[0]->len; j++)
                imp->n.refused += st[j] == 'E';
            if (st && strchr(st, 'E'))
                pb_cli_error("Redis refused some contacts: %s", r->element[1]->str);
        }
        freeReplyObject(r);
    }
    return rc;
}

int imp_write_flush(struct importer *imp)
{
    struct pb_track_batch b;
    redisReply **reads;
    redisReply *erased;
    int pending = 0, rc = 0;
    guint n = imp->rows->len;

    if (n == 0)
        return 0;
    append_reads(imp);
    reads = g_new0(redisReply *, n);
    for (guint i = 0; i < n && rc == 0; i++)
        rc = (reads[i] = pb_cli_reply(imp->cli, "reading contacts")) ? 0 : -1;
    erased = rc == 0 ? pb_cli_reply(imp->cli, "reading erased addresses") : NULL;
    pb_track_batch_init(&b);
    for (guint i = 0; erased && i < n; i++) {
        struct imp_row *row = g_ptr_array_index(imp->rows, i);
        add_event(imp, row, reads[i], &b, &pending);
        if (erased->element[i]->integer == 1) {
            imp->n.suppressed++;
            append_suppress(imp, row, &pending);
        }
    }
    send_batch(imp, &b, &pending);
    rc = erased ? read_writes(imp, pending) : -1;
    pb_track_batch_free(&b);
    for (guint i = 0; i < n; i++)
        if (reads[i])
            freeReplyObject(reads[i]);
    g_free(reads);
    if (erased)
        freeReplyObject(erased);
    g_hash_table_remove_all(imp->in_batch);
    g_ptr_array_set_size(imp->rows, 0);
    return rc;
}
