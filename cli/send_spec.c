/*
 * send_spec.c - the values of `postbeacon send`'s options into what the
 * job will send (send.h, lib/campaign_send.h): A/B variants ("subject=..."
 * or "template=...", one change each, lettered a, b, ... in order), the
 * test share ("20%", "12.5"), the time until the winner ("4h", "1h30m",
 * "2d"), what decides it, the job's own rate and its start time (ISO
 * 8601, lib/time_text.c). Each bad value is a usage error naming it.
 */
#include <stdlib.h>
#include <string.h>
#include "events.h"
#include "send.h"
#include "time_text.h"

#define AFTER_MAX_MS (365LL * 86400000LL)

int pb_send_opt_ab(const struct pb_cli_opts *o, struct pb_csend_spec *spec, const char *arg)
{
    const char *eq = strchr(arg, '=');
    struct pb_csend_variant *v;
    size_t klen = eq ? (size_t)(eq - arg) : 0;
    int subject = klen == 7 && strncmp(arg, "subject", 7) == 0;

    if (!subject && !(klen == 8 && strncmp(arg, "template", 8) == 0))
        return pb_cli_usage_error(o, "--ab %s: write subject=TEXT or template=NAME (one change "
                                  "per variant)", arg);
    if (eq[1] == '\0' || strpbrk(eq + 1, "\r\n") != NULL)
        return pb_cli_usage_error(o, "--ab %s: the %s must be one line, not empty", arg,
                                  subject ? "subject" : "template");
    if (spec->nvariants == PB_CSEND_VARIANTS)
        return pb_cli_usage_error(o, "--ab: at most %d variants (a..z)", PB_CSEND_VARIANTS);
    v = &spec->var[spec->nvariants];
    v->letter[0] = (char)('a' + spec->nvariants++);
    if (subject)
        v->subject = g_strdup(eq + 1);
    else
        v->template = g_strdup(eq + 1);
    return 0;
}

int pb_send_opt_share(const struct pb_cli_opts *o, struct pb_csend_spec *spec, const char *arg)
{
    char *end;
    double pct = g_ascii_strtod(arg, &end);

    if (*end == '%')
        end++;
    if (end == arg || *end != '\0' || !(pct >= 0.01 && pct <= 100))
        return pb_cli_usage_error(o, "--test-share %s: a percentage of the segment, 0.01 to "
                                  "100, e.g. 20%%", arg);
    spec->test_share_bp = (unsigned)(pct * 100 + 0.5);
    return 0;
}

/* "4h", "1h30m", "90s", "2d" in ms; -1 if not such a duration. */
static long long duration_ms(const char *s)
{
    long long total = 0;

    while (*s) {
        char *end;
        long long n = strtoll(s, &end, 10), unit;
        if (end == s || n < 0)
            return -1;
        switch (*end) {
        case 's': unit = 1000; break;
        case 'm': unit = 60000; break;
        case 'h': unit = 3600000; break;
        case 'd': unit = 86400000; break;
        default: return -1;
        }
        if (n > AFTER_MAX_MS / unit)
            return -1;
        total += n * unit;
        s = end + 1;
    }
    return total;
}

int pb_send_opt_after(const struct pb_cli_opts *o, struct pb_csend_spec *spec, const char *arg)
{
    long long ms = duration_ms(arg);

    if (ms <= 0 || ms > AFTER_MAX_MS)
        return pb_cli_usage_error(o, "--winner-after %s: a time after the test mails, e.g. 4h, "
                                  "90m, 1h30m or 2d (at most 365d)", arg);
    spec->winner_after_ms = ms;
    return 0;
}

int pb_send_opt_by(const struct pb_cli_opts *o, struct pb_csend_spec *spec, const char *arg)
{
    if (strcmp(arg, "clicks") != 0 && strcmp(arg, "opens") != 0)
        return pb_cli_usage_error(o, "--winner-by %s: clicks or opens (unique human ones)", arg);
    spec->winner_by_opens = arg[0] == 'o';
    return 0;
}

int pb_send_opt_rate(const struct pb_cli_opts *o, struct pb_csend_spec *spec, const char *arg)
{
    char *end;
    long n = strtol(arg, &end, 10);

    if (*arg == '\0' || *end != '\0' || n < 1 || n > 100000)
        return pb_cli_usage_error(o, "--rate %s: messages per second, 1..100000 (it can only "
                                  "lower submit.rate)", arg);
    spec->rate = n;
    return 0;
}

int pb_send_opt_at(const struct pb_cli_opts *o, struct pb_csend_spec *spec, const char *arg)
{
    char why[256];
    long long ms;

    if (pb_time_parse(arg, &ms, why, sizeof(why)) != 0)
        return pb_cli_usage_error(o, "--at: %s", why);
    if (ms <= pb_event_now_ms())
        return pb_cli_usage_error(o, "--at %s is in the past (leave --at out to send now)", arg);
    spec->due_at = ms;
    return 0;
}

static void absolute(char **name)
{
    char *abs;

    if (*name == NULL || strchr(*name, '/') == NULL || (*name)[0] == '/')
        return;
    abs = g_canonicalize_filename(*name, NULL);
    g_free(*name);
    *name = abs;
}

void pb_send_absolute_templates(struct pb_csend_spec *spec)
{
    absolute(&spec->template);
    for (int i = 0; i < spec->nvariants; i++)
        absolute(&spec->var[i].template);
}
