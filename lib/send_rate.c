/*
 * send_rate.c - the global send rate as one GCRA script on <p>send-rate
 * (send_rate.h). The caller's clock is passed in, so the scorer's
 * injectable test clock and the CLI share one notion of "now" per
 * process; processes on one host agree to the millisecond.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "redis_script.h"
#include "send_rate.h"

/* KEYS[1] <p>send-rate; ARGV: now (us), interval (us), burst (us), want.
 * Returns { granted, next grant time (us) }. */
static const char rate_lua[] =
    "local now = tonumber(ARGV[1]); local iv = tonumber(ARGV[2])\n"
    "local burst = tonumber(ARGV[3]); local want = tonumber(ARGV[4])\n"
    "local tat = tonumber(redis.call('GET', KEYS[1]) or '0')\n"
    "if tat < now then tat = now end\n"
    "local room = math.floor((now + burst - tat) / iv)\n"
    "if room < 0 then room = 0 end\n"
    "local granted = math.min(want, room)\n"
    "tat = tat + granted * iv\n"
    "if granted > 0 then\n"
    "  redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX',\n"
    "             math.ceil((tat - now) / 1000) + 1000)\n"
    "end\n"
    "local next_us = now\n"
    "if granted < want then next_us = tat + iv - burst end\n"
    "return { granted, string.format('%.0f', next_us) }\n";

static struct pb_script rate_script;

long pb_send_rate_take(redisContext *c, const char *key, long rate_per_s, long long now_ms,
                       long want, long long *retry_ms, char *why, size_t whylen)
{
    char now_us[32], iv_us[32], burst_us[32], want_text[32];
    const char *args[5] = { key, now_us, iv_us, burst_us, want_text };
    redisReply *r;
    long granted = -1;
    double iv;

    *retry_ms = now_ms;
    if (rate_per_s <= 0 || want <= 0)
        return want > 0 ? want : 0;
    if (rate_script.text == NULL)
        pb_script_init(&rate_script, rate_lua);
    iv = 1e6 / (double)rate_per_s;
    snprintf(now_us, sizeof(now_us), "%lld", now_ms * 1000);
    snprintf(iv_us, sizeof(iv_us), "%.3f", iv);
    /* one second's worth, and at least one message */
    snprintf(burst_us, sizeof(burst_us), "%.3f", iv > 1e6 ? iv : 1e6);
    snprintf(want_text, sizeof(want_text), "%ld", want);
    r = pb_script_run(c, &rate_script, 1, 5, args);
    if (r == NULL)
        snprintf(why, whylen, "redis: %s", c->errstr);
    else if (r->type == REDIS_REPLY_ERROR)
        snprintf(why, whylen, "redis: %s", r->str);
    else if (r->type != REDIS_REPLY_ARRAY || r->elements != 2
             || r->element[0]->type != REDIS_REPLY_INTEGER
             || r->element[1]->type != REDIS_REPLY_STRING)
        snprintf(why, whylen, "redis: unexpected reply to the send-rate script");
    else {
        granted = (long)r->element[0]->integer;
        if (granted < want)
            *retry_ms = (strtoll(r->element[1]->str, NULL, 10) + 999) / 1000;
    }
    if (r != NULL)
        freeReplyObject(r);
    return granted;
}
