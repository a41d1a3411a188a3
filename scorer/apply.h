/*
 * apply.h - the batch script: for each entry of a batch, acknowledge it
 * in the consumer group and, if it was still pending, apply its effects
 * (behaviour score with lazy decay, repeat state, score history), all in
 * one script run. docs/scorer.md ("The batch script").
 */
#ifndef PB_SCORER_APPLY_H
#define PB_SCORER_APPLY_H

#include <stddef.h>
#include <glib.h>
#include "rules.h"

/* How scores change: from the scorer section (reloadable). */
struct pb_apply_settings {
    long long half_life_ms;     /* 0 = no decay */
    int floor;
    int cap;                    /* 0 = none */
    long long history_ms;       /* history kept */
    int history_max;
};

/* One batch's command being built. */
struct pb_apply {
    GPtrArray *keys;            /* KEYS (g_strdup'd) */
    GPtrArray *args;            /* ARGV after the fixed part */
    GHashTable *contact_key;    /* contact id -> its first key's index in KEYS (1-based) */
    const char *prefix;
    size_t entries;
};

void pb_apply_init(struct pb_apply *a, const char *prefix, const char *stream_key);
void pb_apply_free(struct pb_apply *a);

/* Add one entry: its stream id, contact ("" = none), event time, event
 * id, and the rules it matched (n of them) with its message and campaign
 * for their repeat scope. An entry without effects is acknowledged only. */
void pb_apply_add(struct pb_apply *a, const char *id, const char *contact, long long ts,
                  const char *eid, const char *msg, const char *campaign,
                  const struct pb_rule *const *rules, size_t n);

/* The EVALSHA command (argv of argc strings, g_free each with
 * g_strfreev): group, now, settings, then the entries added. */
char **pb_apply_command(const struct pb_apply *a, const char sha[41], const char *group,
                        long long now_ms, const struct pb_apply_settings *set, int *argc);

/* The script's text and its SHA1. */
const char *pb_apply_script(void);
void pb_apply_sha(char sha[41]);

#endif
