/*
 * time_text.h - times as people read and write them: unix ms printed as
 * "YYYY-MM-DD HH:MM:SSZ" (UTC, how every program shows a time), and an
 * ISO 8601 date and time read (`postbeacon send --at`), in the local
 * time zone unless it names its own.
 */
#ifndef PB_TIME_TEXT_H
#define PB_TIME_TEXT_H

#include <stddef.h>

/* ms as "2026-12-05 09:00:00Z". */
void pb_time_text(long long ms, char out[32]);

/* "2026-12-05T09:00", "2026-12-05 09:00:30", "2026-12-05T09:00+01:00",
 * "2026-12-05T08:00Z" into unix ms: 0, or -1 with why. */
int pb_time_parse(const char *text, long long *ms, char *why, size_t whylen);

#endif
