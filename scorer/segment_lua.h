/*
 * segment_lua.h - fit rules, grade and segments as the Lua the batch
 * script runs (segment_lua.c). The text needs, defined before it in the
 * script: now, hl, logmax, decay(v, dt), fmt(x), hash(key), stale_of(h),
 * put(h, field, value), the table SEGF (it fills it with the configured
 * seg: fields) and the workflows' wf_segment (workflow_lua.c), which
 * segment_changed calls.
 */
#ifndef PB_SCORER_SEGMENT_LUA_H
#define PB_SCORER_SEGMENT_LUA_H

#include <glib.h>
#include "segments.h"

/* Append the generated Lua for d to out. hook (or NULL): Lua placed
 * after the helpers (dates, at(t) for the next wake-up) that defines
 * wf_dates(ck, cid, h), which evaluate then calls for every contact
 * before its wake-up is set (workflow_date.c). */
void pb_segment_lua(const struct pb_segdefs *d, const char *hook, GString *out);

#endif
