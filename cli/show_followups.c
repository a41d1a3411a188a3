/*
 * show_followups.c - the follow-up part of `postbeacon contacts show`: each
 * workflow step the contact has a state for (the scorer's wfs:<workflow
 * or occurrence>|<step> fields of the contact hash, docs/scorer.md), with
 * its A/B variant (wfv:) and, for a step still queued, when it is due
 * (its member's score in <p>wf:due, read in one pipeline). So "what will
 * this person get next, and what did they get" has one answer.
 */
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "events.h"
#include "show.h"

#define STATE_FIELD "wfs:"
#define VARIANT_FIELD "wfv:"

/* The value of field in the HGETALL reply, or "". */
static const char *hash_value(const redisReply *hash, const char *field)
{
    for (size_t i = 0; i + 1 < hash->elements; i += 2)
        if (strcmp(hash->element[i]->str, field) == 0)
            return hash->element[i + 1]->str;
    return "";
}

int pb_show_is_followup_field(const char *field)
{
    return strncmp(field, STATE_FIELD, strlen(STATE_FIELD)) == 0
           || strncmp(field, VARIANT_FIELD, strlen(VARIANT_FIELD)) == 0;
}

/* The due time of each queued step (ZSCORE of <id>|<workflow>|<step>),
 * asked for all at once; NULL entries for the others. */
static redisReply **due_times(struct pb_cli *cli, const redisReply *hash, const char *id)
{
    size_t n = hash->elements / 2, plen = strlen(STATE_FIELD);
    redisReply **due = g_new0(redisReply *, n + 1);
    char *key = pb_cli_key(cli, PB_KEY_WF_DUE, NULL);

    for (size_t i = 0; i < n; i++) {
        const char *f = hash->element[2 * i]->str, *v = hash->element[2 * i + 1]->str;
        if (strncmp(f, STATE_FIELD, plen) == 0 && strcmp(v, "queued") == 0)
            redisAppendCommand(cli->redis, "ZSCORE %s %s|%s", key, id, f + plen);
    }
    for (size_t i = 0; i < n; i++) {
        const char *f = hash->element[2 * i]->str, *v = hash->element[2 * i + 1]->str;
        if (strncmp(f, STATE_FIELD, plen) == 0 && strcmp(v, "queued") == 0
            && (due[i] = pb_cli_reply(cli, "reading the due follow-ups")) == NULL)
            break;
    }
    g_free(key);
    return due;
}

struct pb_table *pb_show_followups(struct pb_cli *cli, const redisReply *hash, const char *id)
{
    static const char *const cols[] = { "workflow", "step", "state", "variant", "due" };
    struct pb_table *t = pb_table_new(5, cols);
    size_t plen = strlen(STATE_FIELD);
    redisReply **due = due_times(cli, hash, id);

    for (size_t i = 0; i + 1 < hash->elements; i += 2) {
        const char *f = hash->element[i]->str, *bar;
        char wf[160], vfield[200], when[32] = "";
        if (strncmp(f, STATE_FIELD, plen) != 0 || (bar = strrchr(f, '|')) == NULL
            || (size_t)(bar - f - plen) >= sizeof(wf))
            continue;
        memcpy(wf, f + plen, (size_t)(bar - f - plen));
        wf[bar - f - plen] = '\0';
        g_snprintf(vfield, sizeof(vfield), VARIANT_FIELD "%s", f + plen);
        if (due[i / 2] != NULL && due[i / 2]->type == REDIS_REPLY_STRING)
            pb_cli_time(strtoll(due[i / 2]->str, NULL, 10), when);
        const char *row[5] = { wf, bar + 1, hash->element[i + 1]->str, hash_value(hash, vfield),
                               when };
        pb_table_add(t, row);
    }
    for (size_t i = 0; i < hash->elements / 2; i++)
        if (due[i])
            freeReplyObject(due[i]);
    g_free(due);
    return t;
}
