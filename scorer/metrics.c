/*
 * metrics.c - the scorer's counters by label (metrics.h): the label
 * tables, the counter index of an entry, and the counts the scripts
 * answer with (segment entries and exits, follow-up log entries).
 *
 * Event types: the six the programs write (sent, open, click,
 * unsubscribe, profile, signup), "other", then every custom type the
 * configuration names (rules' event, workflows' trigger and exit
 * events), up to PB_SC_TYPE_LABELS in all; a type none of these names
 * counts as "other", so an event type a sender makes up cannot grow the
 * metrics without bound. A reload adds the types and segments it names;
 * none is removed (a counter never goes back).
 */
#include <string.h>
#include "log.h"
#include "metrics.h"
#include "rules.h"

#define TYPE_OTHER 6            /* the index of "other" among the types */
#define TYPES_FULL "event types counted as \"other\""
#define SEGMENTS_FULL "segments counted in the total only"

/* an entry's counter index fits in a byte, PB_SC_NO_LABEL aside */
G_STATIC_ASSERT(PB_SC_TYPE_LABELS * PB_SC_CLASSES <= PB_SC_NO_LABEL);
G_STATIC_ASSERT(PB_SC_TYPE_LABELS <= PB_SC_SEG_LABELS);     /* the names array holds them */

const char *const pb_sc_wf_status_names[PB_SC_WF_STATUSES] = {
    "queued", "sent", "done", "skipped", "deferred", "retry", "failed", "uncertain", "exited",
    "other"
};

static const char *const fixed_types[] = {
    "sent", "open", "click", "unsubscribe", "profile", "signup", "other", NULL
};

static void labels_init(struct pb_sc_labels *l, size_t max)
{
    memset(l, 0, sizeof(*l));
    l->max = max;
    l->index = g_hash_table_new(g_str_hash, g_str_equal);
}

static void labels_free(struct pb_sc_labels *l)
{
    if (l->index != NULL)
        g_hash_table_destroy(l->index);
    for (size_t i = 0; i < l->count; i++)
        g_free(l->names[i]);
    memset(l, 0, sizeof(*l));
}

/* The index of name, added if new and there is room; -1 if there is not
 * (logged once: what the ones left out are counted as). */
static int label_add(struct pb_sc_labels *l, const char *name, const char *instead)
{
    gpointer found = g_hash_table_lookup(l->index, name);

    if (found != NULL)
        return GPOINTER_TO_INT(found) - 1;
    if (l->count >= l->max) {
        if (!l->full_logged++)
            pb_log(LOG_NOTICE, "metrics: all %zu labels are taken: \"%s\" and later names "
                   "are %s", l->max, name, instead);
        return -1;
    }
    l->names[l->count] = g_strdup(name);
    g_hash_table_insert(l->index, l->names[l->count], GINT_TO_POINTER((int)l->count + 1));
    return (int)l->count++;
}

void pb_sc_metrics_init(struct pb_sc_metrics *m)
{
    memset(m, 0, sizeof(*m));
    labels_init(&m->types, PB_SC_TYPE_LABELS);
    labels_init(&m->segments, PB_SC_SEG_LABELS);
    for (size_t i = 0; fixed_types[i]; i++)
        label_add(&m->types, fixed_types[i], TYPES_FULL);
}

void pb_sc_metrics_free(struct pb_sc_metrics *m)
{
    labels_free(&m->types);
    labels_free(&m->segments);
}

void pb_sc_metrics_configure(struct pb_sc_metrics *m, const struct pb_rules *rules)
{
    const struct pb_workflows *w = &rules->wf;

    for (size_t i = 0; i < rules->count; i++)
        label_add(&m->types, rules->items[i].event, TYPES_FULL);
    for (size_t i = 0; i < w->count; i++) {
        if (w->items[i].trigger == PB_WF_EVENT)
            label_add(&m->types, w->items[i].event, TYPES_FULL);
        for (size_t e = 0; w->items[i].exit_events && w->items[i].exit_events[e]; e++)
            label_add(&m->types, w->items[i].exit_events[e], TYPES_FULL);
    }
    for (size_t i = 0; i < rules->segs.count; i++)
        label_add(&m->segments, rules->segs.items[i].name, SEGMENTS_FULL);
}

unsigned char pb_sc_metrics_label(const struct pb_sc_metrics *m, const char *typ,
                                  const char *cls)
{
    gpointer found = g_hash_table_lookup(m->types.index, typ);
    int t = found != NULL ? GPOINTER_TO_INT(found) - 1 : TYPE_OTHER;
    int c = strcmp(cls, "human") == 0 ? 1 : strcmp(cls, "machine") == 0 ? 2 : 0;

    return (unsigned char)(t * PB_SC_CLASSES + c);
}

/* The integer at element i of a script's answer (Lua numbers come as
 * integers), else 0. */
static unsigned long long count_at(const redisReply *r, size_t i)
{
    const redisReply *e = r->element[i];

    return e->type == REDIS_REPLY_INTEGER && e->integer > 0 ? (unsigned long long)e->integer : 0;
}

unsigned long long pb_sc_metrics_segments(struct pb_sc_metrics *m, const redisReply *r)
{
    unsigned long long total = 0;

    if (r == NULL || r->type != REDIS_REPLY_ARRAY)
        return 0;
    for (size_t i = 0; i + 2 < r->elements; i += 3) {
        unsigned long long in = count_at(r, i + 1), out = count_at(r, i + 2);
        int seg = r->element[i]->type == REDIS_REPLY_STRING
                  ? label_add(&m->segments, r->element[i]->str, SEGMENTS_FULL) : -1;
        if (seg >= 0) {
            m->counts.segments[seg][0] += in;
            m->counts.segments[seg][1] += out;
        }
        total += in + out;
    }
    return total;
}

void pb_sc_metrics_followups(struct pb_sc_metrics *m, const redisReply *r)
{
    if (r == NULL || r->type != REDIS_REPLY_ARRAY)
        return;
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        int st = PB_SC_WF_OTHER;
        for (int k = 0; k < PB_SC_WF_OTHER && r->element[i]->type == REDIS_REPLY_STRING; k++)
            if (strcmp(r->element[i]->str, pb_sc_wf_status_names[k]) == 0)
                st = k;
        m->counts.followups[st] += count_at(r, i + 1);
    }
}
