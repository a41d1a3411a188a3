/*
 * events_custom.c - a custom event (custom_event.h) as a tracker event
 * record (events.h): the same RESP array as an open or a click, so that
 * it is queued, journaled, batched and written exactly once by the same
 * code and the same script run (lib/events_tracker.c) as they are, and
 * survives a crash of the tracker the same way. Only the meaning of the
 * 13 event fields differs (events.h, pb_event_custom_record).
 */
#include "custom_event.h"
#include "events.h"

#define RECORD_MAGIC "pbev1"    /* as lib/events_tracker.c: one record format */

void pb_event_custom_record(const char *prefix, struct pb_track_run *run,
                            const struct pb_custom_event *ev, const char *source,
                            GString *out)
{
    struct pb_argv a;
    char seq[17];

    pb_event_tracker_number(run, seq);
    pb_argv_init(&a);
    pb_argv_add(&a, RECORD_MAGIC);
    pb_argv_add(&a, prefix);
    pb_argv_addlen(&a, run->id, 16);
    pb_argv_addlen(&a, seq, 16);
    pb_argv_add(&a, "custom");
    pb_argv_add(&a, ev->type);
    pb_argv_addll(&a, ev->ts_ms > 0 ? ev->ts_ms : pb_event_now_ms());
    pb_argv_add(&a, ev->eid);
    pb_argv_add(&a, ev->contact);
    pb_argv_add(&a, source);
    pb_argv_addlen(&a, ev->attr_names->str, ev->attr_names->len);
    pb_argv_add(&a, ev->email);
    pb_argv_addlen(&a, ev->props->str, ev->props->len);
    pb_argv_addlen(&a, ev->attrs->str, ev->attrs->len);
    pb_argv_add(&a, "");
    pb_argv_add(&a, "");
    pb_argv_format(&a, out);
    pb_argv_free(&a);
}
