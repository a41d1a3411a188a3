/*
 * send_rate.h - the global send rate (submit.rate): at most that many
 * messages per second leave postbeacon, over every process that sends
 * (the scorer's follow-ups and notifications, `postbeacon send`), so a
 * campaign and a burst of follow-ups together never exceed what the
 * administrator allowed Postfix and the receiving providers.
 *
 * Shared through one Redis key, <p>send-rate, by a generic cell rate
 * algorithm (GCRA) in one script: the key holds the theoretical arrival
 * time (unix microseconds) of the next message; each grant moves it on
 * by 1/rate s, and a request is granted while it is no more than one
 * second (the burst) ahead of now. Nothing accumulates while nobody
 * sends, so an idle hour does not allow a burst of an hour's worth.
 * docs/redis-schema.md.
 */
#ifndef PB_SEND_RATE_H
#define PB_SEND_RATE_H

#include <hiredis/hiredis.h>

#define PB_KEY_SEND_RATE "send-rate"    /* after the prefix: the one key of the rate */

/* Take up to want messages at now_ms from the rate of rate_per_s
 * messages per second (<= 0: unlimited, want is granted without asking
 * Redis) under key (<p>send-rate). The number granted (0..want), with
 * *retry_ms set to the time (unix ms, on the same clock as now_ms) at
 * which the next one will be granted when fewer than want were (else
 * now_ms); -1 if Redis failed, with the reason in why. */
long pb_send_rate_take(redisContext *c, const char *key, long rate_per_s, long long now_ms,
                       long want, long long *retry_ms, char *why, size_t whylen);

#endif
