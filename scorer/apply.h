/*
 * apply.h - the batch script: for each entry of a batch, acknowledge it
 * in the consumer group and, if it was still pending, apply its effects
 * (attributes, behaviour score with lazy decay, repeat state, score
 * history) and evaluate the contact's fit, grade and segments, all in
 * one script run; wake-ups and re-evaluations of contacts ride in the
 * same batches. docs/scorer.md ("The batch script").
 */
#ifndef PB_SCORER_APPLY_H
#define PB_SCORER_APPLY_H

#include <stddef.h>
#include <glib.h>
#include "rules.h"
#include "segments.h"

/* How scores change: from the scorer section (reloadable). */
struct pb_apply_settings {
    long long half_life_ms;     /* 0 = no decay */
    int floor;
    int cap;                    /* 0 = none */
    long long history_ms;       /* history kept */
    int history_max;
    long segment_log_max;       /* <p>segment-log MAXLEN ~ */
};

/* The most rules, interest segments, workflows or attributes one entry
 * may pass: the batch script's entry head holds each count in a byte. */
#define PB_APPLY_COUNT_MAX 64

/* What an entry of the batch is. */
enum pb_apply_kind {
    PB_APPLY_EVENT = 'e',       /* a stream entry */
    PB_APPLY_SIGNUP = 's',      /* a stream entry that creates its contact */
    PB_APPLY_WAKE = 'w',        /* a due wake-up of a contact */
    PB_APPLY_REEVAL = 'r'       /* a contact re-evaluated after a reload */
};

struct pb_apply_entry {
    enum pb_apply_kind kind;
    const char *id;             /* stream id ("" for a wake-up or re-evaluation) */
    const char *contact;        /* "" = none */
    long long ts;
    const char *eid, *type, *msg, *campaign;
    int human;                  /* a human open or click (for activity segments) */
    const char *const *attrs;   /* name, value, ... (2 * nattrs): attributes to set */
    size_t nattrs;
    const int *interest;        /* interest segments the click matched (0-based) */
    size_t ninterest;
    const int *wf;              /* workflows whose event trigger it matched (0-based) */
    size_t nwf;
    const int *wf_open;         /* not_opened workflows the human open may end (0-based) */
    size_t nwf_open;
    const struct pb_rule *const *rules;     /* scoring rules matched */
    size_t nrules;
    int ack_only;               /* nothing to do but acknowledge it (inert.c) */
};

/* One batch's command being built. */
struct pb_apply {
    GPtrArray *keys;            /* KEYS (g_strdup'd) */
    GPtrArray *args;            /* ARGV after the fixed part */
    GHashTable *contact_key;    /* contact id -> its first key's index in KEYS (1-based) */
    const char *prefix;
    const struct pb_rules *rules;   /* not owned */
    int evaluate;               /* fit, grade or segments configured */
    size_t entries;
};

void pb_apply_init(struct pb_apply *a, const char *prefix, const char *stream_key,
                   const struct pb_rules *rules);
void pb_apply_free(struct pb_apply *a);

/* Add one entry. One without a contact, or without anything to do for
 * it, is acknowledged only. */
void pb_apply_add(struct pb_apply *a, const struct pb_apply_entry *e);

/* The EVALSHA command (argv of argc strings, g_free each with
 * g_strfreev): group, now, settings, then the entries added. */
char **pb_apply_command(const struct pb_apply *a, const char sha[41], const char *group,
                        long long now_ms, const struct pb_apply_settings *set, int *argc);

/* The script's text for these definitions (g_free it) and its SHA1. */
char *pb_apply_script_new(const struct pb_rules *rules);
void pb_apply_sha(const char *script, char sha[41]);

#endif
