/*
 * show.c - postbeacon contacts show EMAIL: the contact's attributes, its
 * behaviour score decayed to now (lib/score.c, the one formula every
 * reader uses), whether it is suppressed, the segments it is in with
 * their entry times (the scorer's seg:<segment> fields of the contact
 * hash, docs/scorer.md), its score history with reasons
 * (<p>contact:<id>:scores, newest first) and its recent events: the
 * newest SHOW_SCAN entries of the stream are read (XREVRANGE with a
 * bound, so a big stream costs the same) and the contact's are shown;
 * then its follow-ups, done and scheduled (show_followups.c).
 */
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "custom_event.h"
#include "events.h"
#include "show.h"
#include "table.h"

#define SHOW_HISTORY 20         /* score history lines shown */
#define SHOW_EVENTS 20          /* events shown */
#define SHOW_SCAN 5000          /* newest stream entries searched for them */
#define SEG_FIELD "seg:"        /* + segment: unix ms the contact entered it */

static const struct pb_cli_opts opts = {
    .usage = "contacts show [--json|--csv] EMAIL",
    .help = "Shows the contact's attributes, decayed behaviour score, suppression,\n"
            "segments with their entry times, score history (why the score is what\n"
            "it is), recent events and follow-ups (each workflow step's state, its\n"
            "A/B variant, and when a queued one is due).\n",
    .formats = 1,
};

struct shown {
    redisReply *hash, *suppressed, *history, *stream;
    double score;
};

static const char *field_of(const redisReply *fields, const char *name)
{
    const char *v = pb_cli_field(fields, name);

    return v ? v : "";
}

static int load(struct pb_cli *cli, const char *id, struct shown *s)
{
    char *key = pb_cli_key(cli, PB_KEY_CONTACT, id), *scores = g_strconcat(key, ":scores", NULL);
    char *sup = pb_cli_key(cli, PB_KEY_SUPPRESSED, NULL), *ev = pb_cli_key(cli, PB_KEY_EVENTS, NULL);

    redisAppendCommand(cli->redis, "HGETALL %s", key);
    redisAppendCommand(cli->redis, "SISMEMBER %s %s", sup, id);
    redisAppendCommand(cli->redis, "LRANGE %s 0 %d", scores, SHOW_HISTORY - 1);
    redisAppendCommand(cli->redis, "XREVRANGE %s + - COUNT %d", ev, SHOW_SCAN);
    s->hash = pb_cli_reply(cli, "reading the contact");
    s->suppressed = pb_cli_reply(cli, "reading the suppression list");
    s->history = pb_cli_reply(cli, "reading the score history");
    s->stream = pb_cli_reply(cli, "reading the events");
    g_free(key);
    g_free(scores);
    g_free(sup);
    g_free(ev);
    if (!s->hash || !s->suppressed || !s->history || !s->stream)
        return -1;
    s->score = pb_cli_score_now(cli, s->hash);
    return 0;
}

static struct pb_table *attributes(const struct shown *s, const char *id)
{
    static const char *const cols[] = { "field", "value" };
    struct pb_table *t = pb_table_new(2, cols);
    char score[32];
    const char *row[2] = { "contact_id", id };

    pb_table_add(t, row);
    for (size_t i = 0; i + 1 < s->hash->elements; i += 2) {
        row[0] = s->hash->element[i]->str;
        row[1] = s->hash->element[i + 1]->str;
        if (strncmp(row[0], SEG_FIELD, strlen(SEG_FIELD)) != 0     /* segments(): own table */
            && !pb_show_is_followup_field(row[0]))                  /* ... and follow-ups */
            pb_table_add(t, row);
    }
    g_snprintf(score, sizeof(score), "%.2f", s->score);
    row[0] = "score_now";
    row[1] = score;
    pb_table_add(t, row);
    row[0] = "suppressed";
    row[1] = s->suppressed->integer ? "yes" : "no";
    pb_table_add(t, row);
    return t;
}

/* The segments the contact is in, from its seg:<segment> fields. */
static struct pb_table *segments(const struct shown *s)
{
    static const char *const cols[] = { "segment", "since" };
    struct pb_table *t = pb_table_new(2, cols);
    size_t prefix = strlen(SEG_FIELD);

    for (size_t i = 0; i + 1 < s->hash->elements; i += 2) {
        const char *field = s->hash->element[i]->str;
        char since[32];
        if (strncmp(field, SEG_FIELD, prefix) != 0 || field[prefix] == '\0')
            continue;
        pb_cli_time(strtoll(s->hash->element[i + 1]->str, NULL, 10), since);
        const char *row[2] = { field + prefix, since };
        pb_table_add(t, row);
    }
    return t;
}

/* "<ts ms> <rule> <points> <score after> <event id>" (docs/scorer.md) */
static struct pb_table *history(const struct shown *s)
{
    static const char *const cols[] = { "time", "rule", "points", "score", "event" };
    struct pb_table *t = pb_table_new(5, cols);

    for (size_t i = 0; i < s->history->elements; i++) {
        char **f = g_strsplit(s->history->element[i]->str, " ", 5), at[32];
        if (g_strv_length(f) == 5) {
            const char *row[5] = { at, f[1], f[2], f[3], f[4] };
            pb_cli_time(strtoll(f[0], NULL, 10), at);
            pb_table_add(t, row);
        }
        g_strfreev(f);
    }
    return t;
}

static struct pb_table *events(const struct shown *s, const char *id)
{
    static const char *const cols[] = { "time", "type", "campaign", "class", "detail" };
    struct pb_table *t = pb_table_new(5, cols);
    int n = 0;

    for (size_t i = 0; i < s->stream->elements && n < SHOW_EVENTS; i++) {
        const redisReply *f = s->stream->element[i]->element[1];
        char at[32];
        const char *type, *detail, *row[5];
        if (f->type != REDIS_REPLY_ARRAY || strcmp(field_of(f, "contact"), id) != 0)
            continue;
        type = field_of(f, "type");
        detail = strcmp(type, "click") == 0 ? field_of(f, "url") : field_of(f, "attrs");
        pb_cli_time(strtoll(field_of(f, "ts"), NULL, 10), at);
        row[0] = at, row[1] = type, row[2] = field_of(f, "campaign");
        row[3] = field_of(f, "class"), row[4] = detail;
        pb_table_add(t, row);
        n++;
    }
    return t;
}

static void print_text(struct pb_table *a, struct pb_table *g, struct pb_table *h,
                       struct pb_table *e, struct pb_table *w, enum pb_out_format f)
{
    pb_table_print(a, f, stdout);
    printf("%s", f == PB_OUT_TEXT ? "\nsegments:\n" : "\n");
    pb_table_print(g, f, stdout);
    printf("%s", f == PB_OUT_TEXT ? "\nscore history (newest first):\n" : "\n");
    pb_table_print(h, f, stdout);
    printf("%s", f == PB_OUT_TEXT ? "\nrecent events (newest first):\n" : "\n");
    pb_table_print(e, f, stdout);
    printf("%s", f == PB_OUT_TEXT ? "\nfollow-ups:\n" : "\n");
    pb_table_print(w, f, stdout);
}

/* --json: the five tables as one object. */
static void print_json(struct pb_table *a, struct pb_table *g, struct pb_table *h,
                       struct pb_table *e, struct pb_table *w)
{
    json_t *obj = json_object();

    json_object_set_new(obj, "contact", pb_table_json(a));
    json_object_set_new(obj, "segments", pb_table_json(g));
    json_object_set_new(obj, "score_history", pb_table_json(h));
    json_object_set_new(obj, "events", pb_table_json(e));
    json_object_set_new(obj, "followups", pb_table_json(w));
    pb_json_print(obj, stdout);
}

static int show(struct pb_cli *cli, const char *email)
{
    char id[17], addr[PB_CEV_EMAIL_MAX + 1];
    struct shown s = { 0 };
    int rc = PB_EXIT_ERROR;

    if (pb_cli_find_contact(cli, email, id, addr) == 0 && load(cli, id, &s) == 0) {
        struct pb_table *a = attributes(&s, id), *g = segments(&s), *h = history(&s),
                        *e = events(&s, id), *w = pb_show_followups(cli, s.hash, id);
        if (cli->format == PB_OUT_JSON)
            print_json(a, g, h, e, w);
        else
            print_text(a, g, h, e, w, cli->format);
        pb_table_free(w);
        pb_table_free(a);
        pb_table_free(g);
        pb_table_free(h);
        pb_table_free(e);
        rc = PB_EXIT_OK;
    }
    redisReply *all[4] = { s.hash, s.suppressed, s.history, s.stream };
    for (int i = 0; i < 4; i++)
        if (all[i])
            freeReplyObject(all[i]);
    return rc;
}

int pb_contacts_show(struct pb_cli *cli, int argc, char **argv)
{
    return pb_cli_run_email(cli, &opts, argc, argv, show);
}
