/*
 * inert.c - the stream entries that cannot change anything for their
 * contact, so that the batch script only acknowledges them instead of
 * reading the contact and evaluating its segments (docs/scorer.md, "The
 * batch script"). On a newsletter's traffic these are the machine opens
 * of privacy proxies (a third of all opens) and most scanner clicks.
 *
 * Decided in C from what the configuration gives the entry, never from a
 * guess about its type: an entry is inert when
 *   - its class is "machine" (only those: a sent may be the first entry
 *     of its contact, a human open or click moves the activity segments'
 *     last_human, an unsubscribe the suppressed one, a custom event sets
 *     attributes or ends workflows);
 *   - no scoring rule matched it (a rule with class = "machine" or "any"
 *     scores machine events: then it is not inert);
 *   - it matched no interest segment and no workflow trigger (machine
 *     clicks never do: pb_segdefs_interest, pb_wf_starts and
 *     pb_workflows_opened count human ones only), and sets no
 *     attributes;
 *   - its type is no workflow's exit event (an exit does not look at the
 *     class).
 * Everything else an evaluation at the entry's time could change is a
 * timed change (decay, an activity window ending, a birthday), and each
 * of those already has its wake-up in <p>wake from the contact's last
 * evaluation: it happens then, at its own time, instead of at this
 * entry's.
 */
#include <string.h>
#include "scorer.h"

static int exit_event(const struct pb_workflows *w, const char *type)
{
    for (size_t i = 0; i < w->count; i++)
        for (size_t e = 0; w->items[i].exit_events && w->items[i].exit_events[e]; e++)
            if (strcmp(w->items[i].exit_events[e], type) == 0)
                return 1;
    return 0;
}

int pb_sc_entry_inert(const struct pb_rules *rules, const struct pb_sc_event *ev,
                      const struct pb_apply_entry *e)
{
    return strcmp(ev->cls, "machine") == 0 && e->kind == PB_APPLY_EVENT && e->nrules == 0
           && e->nattrs == 0 && !e->human && e->ninterest == 0 && e->nwf == 0
           && e->nwf_open == 0 && !exit_event(&rules->wf, ev->type);
}
